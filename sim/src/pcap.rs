//! One pcap file per segment, written from the simulator's frames. The frames are
//! real Ethernet II / IPv4 / UDP bytes built with `etherparse`; timestamps are virtual
//! time, so the same seed gives byte-identical files.

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use pxelab_engine::{Instant, Mac};
use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddrV4;
use std::path::Path;
use std::time::Duration;

pub struct SegmentCapture {
    writer: PcapWriter<BufWriter<File>>,
    frame: Vec<u8>,
    pub error: Option<String>,
}

impl SegmentCapture {
    pub fn create(path: &Path) -> Result<SegmentCapture, String> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(BufWriter::new(file), header)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(SegmentCapture {
            writer,
            frame: Vec::with_capacity(2048),
            error: None,
        })
    }

    pub fn write(
        &mut self,
        at: Instant,
        src_mac: Mac,
        dst_mac: Mac,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: &[u8],
    ) {
        if self.error.is_some() {
            return;
        }
        self.frame.clear();
        build_frame(&mut self.frame, src_mac, dst_mac, src, dst, payload);
        let ts = Duration::from_nanos(at.as_nanos());
        let pkt = PcapPacket::new(ts, self.frame.len() as u32, &self.frame);
        if let Err(e) = self.writer.write_packet(&pkt) {
            self.error = Some(e.to_string());
        }
    }
}

/// Ethernet II + IPv4 (TTL 64, DF clear) + UDP with checksum.
pub fn build_frame(
    out: &mut Vec<u8>,
    src_mac: Mac,
    dst_mac: Mac,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
) {
    let builder = etherparse::PacketBuilder::ethernet2(src_mac.0, dst_mac.0)
        .ipv4(src.ip().octets(), dst.ip().octets(), 64)
        .udp(src.port(), dst.port());
    // A payload too large for one IPv4 packet cannot come from the engine (blksize is
    // capped at 65464); write what fits rather than fail the run.
    let max = 65535 - 28;
    let payload = &payload[..payload.len().min(max)];
    if builder.write(out, payload).is_err() {
        out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_back_with_etherparse() {
        let mut f = Vec::new();
        let src = "10.0.0.5:4011".parse().unwrap();
        let dst = "255.255.255.255:68".parse().unwrap();
        build_frame(
            &mut f,
            Mac([2, 0, 0, 0, 0, 1]),
            Mac::BROADCAST,
            src,
            dst,
            b"hello",
        );
        let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        match p.transport {
            Some(etherparse::TransportSlice::Udp(u)) => {
                assert_eq!(u.source_port(), 4011);
                assert_eq!(u.destination_port(), 68);
                assert_eq!(u.payload(), b"hello");
            }
            other => panic!("not UDP: {other:?}"),
        }
    }
}
