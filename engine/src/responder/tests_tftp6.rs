//! R-V6-5: TFTP over IPv6 runs the transfers of R-TFTP-1..6 in the same table as IPv4,
//! answered over IPv6 from `address6`.

use super::tests_v6::{responder, ME6};
use super::*;
use crate::tftp::packet::{self as tp, Packet};
use std::net::Ipv6Addr;

fn client(port: u16) -> SocketAddrV6 {
    SocketAddrV6::new(
        Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x100),
        port,
        0,
        0,
    )
}

fn to(r: &mut Responder, now: Instant, from: SocketAddrV6, port: u16, p: &[u8]) -> Output {
    let mut out = Output::default();
    r.handle_datagram6(
        now,
        from,
        SocketAddrV6::new(ME6, port, 0, 0),
        None,
        p,
        &mut out,
    );
    out
}

#[test]
fn r_v6_5_a_read_request_over_ipv6_is_served_over_ipv6_from_a_transfer_port() {
    let mut r = responder(|_| {});
    let c = client(2000);
    let mut rrq = Vec::new();
    tp::encode_rrq(&mut rrq, b"smsboot/x.efi", "octet", &[("blksize", "1228")]);
    let out = to(&mut r, Instant::ZERO, c, 69, &rrq);
    assert!(out.transmits.is_empty(), "nothing over IPv4");
    assert_eq!(out.transmits6.len(), 1, "{:?}", out.logs);
    let oack = &out.transmits6[0];
    assert_eq!(oack.dst, c);
    assert_eq!(*oack.src.ip(), ME6);
    let tid = oack.src.port();
    assert!(tid >= 49152, "a transfer port, not 69: {tid}");
    assert!(matches!(
        Packet::parse(&oack.payload),
        Ok(Packet::Oack { .. })
    ));
    assert!(out.effects.iter().any(|e| matches!(e,
        Effect::TransferStarted { client, port, .. } if *client == SocketAddr::V6(c) && *port == tid)));
    // ACK 0 starts the data; the 3000-byte file is 3 blocks of 1228.
    let mut blocks = 0;
    let mut ack = 0u16;
    for _ in 0..10 {
        let mut a = Vec::new();
        tp::encode_ack(&mut a, ack);
        let out = to(&mut r, Instant::ZERO, c, tid, &a);
        if out
            .effects
            .iter()
            .any(|e| matches!(e, Effect::TransferDone { .. }))
        {
            break;
        }
        for t in &out.transmits6 {
            if let Ok(Packet::Data { block, data }) = Packet::parse(&t.payload) {
                assert!(data.len() <= 1228);
                blocks += 1;
                ack = block;
            }
        }
    }
    assert_eq!(blocks, 3);
    assert_eq!(r.active_transfers(), 0);
}

#[test]
fn r_v6_5_a_packet_from_another_family_is_not_part_of_the_transfer() {
    let mut r = responder(|_| {});
    let c = client(2000);
    let mut rrq = Vec::new();
    tp::encode_rrq(&mut rrq, b"smsboot/x.efi", "octet", &[]);
    let out = to(&mut r, Instant::ZERO, c, 69, &rrq);
    let tid = out.transmits6[0].src.port();
    // The same port number over IPv4 is another TID (RFC 1350).
    let mut a = Vec::new();
    tp::encode_ack(&mut a, 1);
    let mut out = Output::default();
    r.handle_datagram(
        Instant::ZERO,
        SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 2000),
        SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 5), tid),
        &a,
        &mut out,
    );
    assert!(out.transmits.is_empty() && out.transmits6.is_empty());
    assert_eq!(r.active_transfers(), 1);
}

#[test]
fn r_v6_5_a_missing_file_gets_an_error_over_ipv6() {
    let mut r = responder(|_| {});
    let mut rrq = Vec::new();
    tp::encode_rrq(&mut rrq, b"nope/x.efi", "octet", &[]);
    let out = to(&mut r, Instant::ZERO, client(2001), 69, &rrq);
    assert_eq!(out.transmits6.len(), 1);
    assert!(matches!(
        Packet::parse(&out.transmits6[0].payload),
        Ok(Packet::Error { code: 1, .. })
    ));
}
