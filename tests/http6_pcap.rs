//! `pxelab run --pcap` of an HTTP boot over IPv6 (scenarios/http/http6-boot-from-dp.yaml):
//! the TCP segments are IPv6 frames between the leased address and the URL's
//! `[address]:port`, the firmware's SYNs offer MSS 1220 and the server's 1440 (as in the
//! http6 captures), the firmware's HEAD and GET and the boot program's GETs are on the
//! wire, and every TCP checksum is right.

mod common;

use common::{pxelab, run_ok, tmp};
use pcap_file::pcap::PcapReader;
use std::net::Ipv6Addr;
use std::path::PathBuf;

#[test]
fn http6_boot_on_the_wire() {
    let dir = tmp("http6-pcap");
    let scenario =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/http/http6-boot-from-dp.yaml");
    run_ok(pxelab().arg("run").arg("--pcap").arg(&dir).arg(&scenario));
    let mut r = PcapReader::new(std::fs::File::open(dir.join("hq.pcap")).unwrap()).unwrap();
    let server: Ipv6Addr = "fd10:10::5".parse().unwrap();
    let (mut syn_mss, mut requests, mut segments) = (Vec::new(), Vec::new(), 0);
    while let Some(p) = r.next_raw_packet() {
        let p = p.unwrap();
        let s = etherparse::SlicedPacket::from_ethernet(&p.data).unwrap();
        let Some(etherparse::TransportSlice::Tcp(t)) = &s.transport else {
            continue;
        };
        let Some(etherparse::NetSlice::Ipv6(ip)) = &s.net else {
            panic!("a TCP segment not over IPv6");
        };
        segments += 1;
        let (src, dst) = (ip.header().source_addr(), ip.header().destination_addr());
        let to_server = dst == server;
        assert!(to_server || src == server, "{src} -> {dst}");
        let port = if to_server {
            t.destination_port()
        } else {
            t.source_port()
        };
        assert_eq!(port, 8080, "the URL's port");
        let sum = t
            .calc_checksum_ipv6(ip.header().source(), ip.header().destination())
            .unwrap();
        assert_eq!(sum, t.checksum(), "TCP checksum");
        if t.syn() {
            for o in t.options_iterator().flatten() {
                if let etherparse::TcpOptionElement::MaximumSegmentSize(m) = o {
                    syn_mss.push((to_server, m));
                }
            }
        }
        if to_server && !t.payload().is_empty() {
            let line = String::from_utf8_lossy(t.payload());
            requests.push(line.lines().next().unwrap_or_default().to_string());
        }
    }
    assert!(segments > 100, "{segments} TCP segments");
    assert!(
        syn_mss.contains(&(true, 1220)) && syn_mss.contains(&(false, 1440)),
        "{syn_mss:?}"
    );
    let methods: Vec<&str> = requests
        .iter()
        .map(|r| r.split(' ').next().unwrap())
        .collect();
    assert_eq!(methods, ["HEAD", "GET", "GET", "GET"], "{requests:?}");
    assert!(requests[2].contains("/smstemp/"), "{requests:?}");
}
