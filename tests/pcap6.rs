//! `pxelab run --pcap` over IPv6 (docs/MODEL.md, "IPv6"): the relay scenario's captures
//! hold Ethernet / IPv6 / UDP frames that decode back, the client's Solicit goes to
//! ff02::1:2 from its link-local address, the relay's Relay-Forward carries Interface-ID
//! `vlan30` and option 79 (R-V6-3), TFTP runs over IPv6 with blksize 1228 (R-V6-5), and
//! the same seed gives byte-identical files.

mod common;

use common::{pxelab, run_ok, tmp};
use pcap_file::pcap::PcapReader;
use pxelab_engine::dhcp6::{msg, Message6};
use pxelab_engine::tftp::packet::Packet;
use std::path::Path;

const SCENARIO: &str = "scenarios/ipv6/relay-interface-id.yaml";

/// (source, destination, UDP destination port, payload) of each IPv6 datagram.
fn datagrams(path: &Path) -> Vec<(String, String, u16, Vec<u8>)> {
    let mut r = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        let s = etherparse::SlicedPacket::from_ethernet(&p.data).expect("a frame that parses");
        let Some(etherparse::NetSlice::Ipv6(ip)) = s.net else {
            panic!("{}: a frame that is not IPv6", path.display());
        };
        let Some(etherparse::TransportSlice::Udp(u)) = s.transport else {
            panic!("not UDP");
        };
        out.push((
            ip.header().source_addr().to_string(),
            ip.header().destination_addr().to_string(),
            u.destination_port(),
            u.payload().to_vec(),
        ));
    }
    out
}

#[test]
fn ipv6_captures_decode_and_show_the_relay_and_tftp_over_ipv6() {
    let dir = tmp("pcap6");
    let a = dir.join("a");
    let b = dir.join("b");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for d in [&a, &b] {
        run_ok(
            pxelab()
                .current_dir(root)
                .args(["run", "--pcap-full", "--pcap"])
                .arg(d)
                .arg(SCENARIO),
        );
    }
    let branch = datagrams(&a.join("br6.pcap"));
    let hq = datagrams(&a.join("hq6.pcap"));
    let (src, dst, port, payload) = &branch[0];
    assert!(src.starts_with("fe80::"), "{src}");
    assert_eq!((dst.as_str(), *port), ("ff02::1:2", 547));
    assert_eq!(Message6::decode(payload).unwrap().msg_type(), msg::SOLICIT);
    let fwd = hq
        .iter()
        .filter_map(|(_, _, p, d)| (*p == 547).then(|| Message6::decode(d).ok()).flatten())
        .find(|m| m.msg_type() == msg::RELAY_FORW)
        .expect("a Relay-Forward on the server side");
    assert_eq!(fwd.option(18), Some(&b"vlan30"[..]));
    assert_eq!(fwd.option(79).map(|o| o.len()), Some(8));
    let rrq = branch
        .iter()
        .find_map(|(_, _, p, d)| match Packet::parse(d) {
            Ok(Packet::Rrq(r)) if *p == 69 => Some(r.options.clone()),
            _ => None,
        })
        .expect("a TFTP read request over IPv6");
    assert!(
        rrq.contains(&("blksize".to_string(), "1228".to_string())),
        "{rrq:?}"
    );
    for f in ["br6.pcap", "hq6.pcap"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}: the same seed, the same bytes"
        );
    }
}
