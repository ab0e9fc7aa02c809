//! `pxelab run --pcap` of an HTTP boot (scenarios/http/http-boot-from-peer.yaml): what
//! goes on the wire, read back from the segment's pcap. The firmware's HEAD and GET on
//! one connection (the responder keeps it open), reset when the boot program is in; the
//! boot program's parameters and image on a second connection, reset when done; whole
//! frames (an HTTP scenario is captured whole), every TCP checksum right.

mod common;

use common::{pxelab, run_ok, tmp};
use pcap_file::pcap::PcapReader;
use std::path::PathBuf;

struct Tcp {
    from_client: bool,
    src_port: u16,
    syn: bool,
    rst: bool,
    payload: Vec<u8>,
}

#[test]
fn http_boot_on_the_wire() {
    let dir = tmp("http-pcap");
    let scenario =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/http/http-boot-from-peer.yaml");
    run_ok(pxelab().arg("run").arg("--pcap").arg(&dir).arg(&scenario));
    let mut r = PcapReader::new(std::fs::File::open(dir.join("hq.pcap")).unwrap()).unwrap();
    let mut tcp = Vec::new();
    while let Some(p) = r.next_raw_packet() {
        let p = p.unwrap();
        assert_eq!(p.incl_len, p.orig_len, "whole frames in an HTTP scenario");
        let s = etherparse::SlicedPacket::from_ethernet(&p.data).unwrap();
        let (Some(etherparse::NetSlice::Ipv4(ip)), Some(etherparse::TransportSlice::Tcp(t))) =
            (&s.net, &s.transport)
        else {
            continue;
        };
        let src = ip.header().source_addr();
        let dst = ip.header().destination_addr();
        assert_eq!(
            t.calc_checksum_ipv4(src.octets(), dst.octets()).unwrap(),
            t.checksum(),
            "TCP checksum"
        );
        tcp.push(Tcp {
            from_client: dst.octets() == [10, 10, 0, 5],
            src_port: if dst.octets() == [10, 10, 0, 5] {
                t.source_port()
            } else {
                t.destination_port()
            },
            syn: t.syn(),
            rst: t.rst(),
            payload: t.payload().to_vec(),
        });
    }
    let requests: Vec<(u16, String)> = tcp
        .iter()
        .filter(|t| t.from_client && !t.payload.is_empty())
        .map(|t| {
            let text = String::from_utf8_lossy(&t.payload);
            (t.src_port, text.lines().next().unwrap_or("").to_string())
        })
        .collect();
    let conns: Vec<u16> = tcp
        .iter()
        .filter(|t| t.from_client && t.syn)
        .map(|t| t.src_port)
        .collect();
    assert_eq!(
        conns.len(),
        2,
        "the firmware's connection and the boot program's"
    );
    assert_eq!(
        requests,
        [
            (
                conns[0],
                "HEAD /smsboot/PS100002/x64/bootmgfw.efi HTTP/1.1".to_string()
            ),
            (
                conns[0],
                "GET /smsboot/PS100002/x64/bootmgfw.efi HTTP/1.1".to_string()
            ),
            (
                conns[1],
                "GET /smstemp/525400000001.uefi-x64.var HTTP/1.1".to_string()
            ),
            (
                conns[1],
                "GET /smsimages/PS100002/boot.PS100002.wim HTTP/1.1".to_string()
            ),
        ]
    );
    let resets: Vec<u16> = tcp
        .iter()
        .filter(|t| t.rst)
        .map(|t| {
            assert!(t.from_client, "only the client resets");
            t.src_port
        })
        .collect();
    assert_eq!(
        resets, conns,
        "each connection reset by the client when done"
    );
    // The responder's segments carry at most one MSS.
    assert!(tcp
        .iter()
        .filter(|t| !t.from_client)
        .all(|t| t.payload.len() <= 1460));
}
