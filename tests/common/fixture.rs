//! The firmware captures in `tests/fixtures/firmware/`, read as UDP datagrams.

use pcap_file::pcap::PcapReader;
use std::path::{Path, PathBuf};

/// One UDP datagram of a capture.
pub struct Datagram {
    /// Seconds, the capture's clock.
    pub t: f64,
    pub ipv6: bool,
    pub dst_port: u16,
    pub payload: Vec<u8>,
}

/// `tests/fixtures/firmware/{name}.pcap`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/firmware/{name}.pcap"))
}

/// Every UDP datagram of `tests/fixtures/firmware/{name}.pcap`, in capture order;
/// frames that are not Ethernet/IP/UDP are passed over.
pub fn udp_datagrams(name: &str) -> Vec<Datagram> {
    udp_datagrams_in(&path(name))
}

/// One frame of a capture: seconds (the capture's clock), its length on the wire, the
/// bytes captured.
pub struct Frame {
    pub t: f64,
    pub wire_len: u32,
    pub data: Vec<u8>,
}

/// Every frame of the pcap at `path` (a fixture or a run's capture), in order.
pub fn frames_in(path: &Path) -> Vec<Frame> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = PcapReader::new(file).unwrap();
    let mut out = Vec::new();
    while let Some(pkt) = r.next_packet() {
        let pkt = pkt.unwrap();
        out.push(Frame {
            t: pkt.timestamp.as_secs_f64(),
            wire_len: pkt.orig_len,
            data: pkt.data.into_owned(),
        });
    }
    out
}

/// Every UDP datagram of the pcap at `path` (a fixture or a run's capture).
pub fn udp_datagrams_in(path: &Path) -> Vec<Datagram> {
    let mut out = Vec::new();
    for f in frames_in(path) {
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&f.data) else {
            continue;
        };
        if let Some(etherparse::TransportSlice::Udp(u)) = s.transport {
            out.push(Datagram {
                t: f.t,
                ipv6: matches!(s.net, Some(etherparse::NetSlice::Ipv6(_))),
                dst_port: u.destination_port(),
                payload: u.payload().to_vec(),
            });
        }
    }
    out
}
