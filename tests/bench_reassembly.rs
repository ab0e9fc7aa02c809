//! The TFTP bench's namespaces reassemble whole datagrams while many incomplete ones are
//! held (harness/src/bench/reassembly.rs): what 8 KiB blocks at 2 % loss leave behind.
//!
//! In each direction over the bench's veth pair, the sender's namespace sends 3,000
//! first fragments whose datagrams never complete (about 7 MiB of reassembly memory in
//! the receiver, above the kernel's default 4 MiB), then one whole 8 KiB UDP datagram,
//! which the receiver must get. With the kernel's defaults it is dropped. Needs root;
//! traffic stays inside the bench's namespaces. Under a second.

mod common;

use common::netns::is_root;
use pxelab_harness::bench::BenchLab;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::time::Duration;

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 202, 0, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 202, 0, 2);
const PARTIALS: u16 = 3000;
const PORT: u16 = 6970;

/// The first 1,500-byte fragment (more fragments follow, none ever does) of an 8 KiB UDP
/// datagram with IP id `id`.
fn first_fragment(src: Ipv4Addr, dst: Ipv4Addr, id: u16) -> Vec<u8> {
    let mut p = vec![0u8; 1500];
    p[0] = 0x45; // IPv4, 20-byte header
    p[2..4].copy_from_slice(&1500u16.to_be_bytes());
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&0x2000u16.to_be_bytes()); // more fragments, offset 0
    p[8] = 64;
    p[9] = 17; // UDP
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    // The kernel fills in the header checksum (IPPROTO_RAW). UDP: to a port nobody
    // holds, claiming the whole 8 KiB.
    p[20..22].copy_from_slice(&40000u16.to_be_bytes());
    p[22..24].copy_from_slice(&9u16.to_be_bytes());
    p[24..26].copy_from_slice(&8200u16.to_be_bytes());
    p
}

/// The `FRAG:` line of the calling thread's namespace (`inuse N memory BYTES`).
fn held_fragments() -> String {
    std::fs::read_to_string("/proc/thread-self/net/sockstat")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("FRAG:"))
        .unwrap_or("FRAG: unknown")
        .to_string()
}

/// From `src_ns` (address `src`) to `dst_ns` (address `dst`): the partials, then one
/// whole datagram, which must arrive.
fn whole_datagram_arrives_past_partials(src_ns: &str, src: Ipv4Addr, dst_ns: &str, dst: Ipv4Addr) {
    let receiver = pxelab_system::netns::run_in(dst_ns, || {
        let s = UdpSocket::bind(SocketAddrV4::new(dst, PORT)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s
    })
    .unwrap();
    let whole: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
    pxelab_system::netns::run_in(src_ns, || {
        let raw = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(libc::IPPROTO_RAW)),
        )
        .unwrap();
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        for id in 1..=PARTIALS {
            raw.send_to(&first_fragment(src, dst, id), &to).unwrap();
            // Paced, so the receiving end's backlog (1,000 frames) never overflows.
            if id % 200 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
        let udp = UdpSocket::bind(SocketAddrV4::new(src, 0)).unwrap();
        udp.send_to(&whole, SocketAddrV4::new(dst, PORT)).unwrap();
    })
    .unwrap();
    let mut buf = vec![0u8; 65536];
    let got = receiver.recv_from(&mut buf);
    let held = pxelab_system::netns::run_in(dst_ns, held_fragments).unwrap();
    match got {
        Ok((n, _)) => assert_eq!(&buf[..n], &whole[..], "{dst_ns}: the datagram changed"),
        Err(e) => panic!(
            "{dst_ns}: the whole 8 KiB datagram from {src} was dropped ({e}) with {held} held"
        ),
    }
}

#[test]
fn bench_namespaces_take_whole_datagrams_while_thousands_of_partial_ones_are_held() {
    assert!(
        is_root(),
        "this test builds the bench's namespaces: run it as root (scripts/test-all.sh does)"
    );
    let mut bench = BenchLab::start(Path::new(env!("CARGO_BIN_EXE_pxelab"))).unwrap();
    let (srv, cli) = (bench.server_ns().to_string(), bench.client_ns().to_string());
    whole_datagram_arrives_past_partials(&srv, SERVER, &cli, CLIENT);
    whole_datagram_arrives_past_partials(&cli, CLIENT, &srv, SERVER);
    // IPv6 is sized alike (its fragments are not sent here).
    for ns in [&srv, &cli] {
        let high = pxelab_system::netns::run_in(ns, || {
            std::fs::read_to_string("/proc/sys/net/ipv6/ip6frag_high_thresh").unwrap()
        })
        .unwrap();
        assert_eq!(
            high.trim(),
            pxelab_harness::bench::reassembly::HIGH.to_string(),
            "{ns}"
        );
    }
    bench.teardown();
}
