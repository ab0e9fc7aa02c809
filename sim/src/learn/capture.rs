//! The UDP datagrams of a capture, pcap or pcapng (Ethernet), over IPv4 and IPv6: what
//! `pxelab firmware learn` reads (docs/PROFILES.md).

use super::LearnError;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pxelab_engine::Mac;
use std::net::IpAddr;
use std::time::Duration;

/// One UDP datagram of the capture, or a TCP segment's ports and time (with no
/// payload: only when an address is first used is read from it).
#[derive(Clone, Debug)]
pub(super) struct Datagram {
    pub at: Duration,
    /// The Ethernet source (a DHCPv6 client's MAC).
    pub src_mac: Mac,
    pub src: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub payload: Vec<u8>,
}

/// pcapng's Section Header Block type: its first four bytes.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// The capture's frames (time, Ethernet frame) in file order. `file` names it in
/// errors.
pub(super) fn frames(file: &str, bytes: &[u8]) -> Result<Vec<(Duration, Vec<u8>)>, LearnError> {
    if bytes.starts_with(&PCAPNG_MAGIC) {
        pcapng_frames(file, bytes)
    } else {
        pcap_frames(file, bytes)
    }
}

/// The UDP datagrams of a capture's `frames`, in order.
pub(super) fn datagrams(frames: &[(Duration, Vec<u8>)]) -> Vec<Datagram> {
    frames
        .iter()
        .filter_map(|(at, data)| udp(*at, data))
        .collect()
}

fn read_error(file: &str, e: String) -> LearnError {
    LearnError::Read(file.to_string(), e)
}

/// (time, Ethernet frame) of a pcap file.
fn pcap_frames(file: &str, bytes: &[u8]) -> Result<Vec<(Duration, Vec<u8>)>, LearnError> {
    let mut r = pcap_file::pcap::PcapReader::new(bytes)
        .map_err(|e| read_error(file, format!("not a pcap or pcapng file ({e})")))?;
    let nanos = r.header().ts_resolution == pcap_file::TsResolution::NanoSecond;
    let mut out = Vec::new();
    // Raw records: a capture cut to a snap length (`tcpdump -s 590`) has records
    // shorter than their frames, which the checked reader refuses.
    while let Some(pkt) = r.next_raw_packet() {
        let pkt = pkt.map_err(|e| read_error(file, format!("a damaged record ({e})")))?;
        let frac = if nanos {
            pkt.ts_frac
        } else {
            pkt.ts_frac.saturating_mul(1000)
        };
        out.push((
            Duration::new(u64::from(pkt.ts_sec), frac),
            pkt.data.into_owned(),
        ));
    }
    Ok(out)
}

/// (time, Ethernet frame) of a pcapng file: Enhanced Packet Blocks, each timed by its
/// interface's `if_tsresol` (microseconds without one).
fn pcapng_frames(file: &str, bytes: &[u8]) -> Result<Vec<(Duration, Vec<u8>)>, LearnError> {
    let mut r = PcapNgReader::new(bytes)
        .map_err(|e| read_error(file, format!("not a pcapng file ({e})")))?;
    let mut out = Vec::new();
    let mut n = 0usize;
    // Each interface's if_tsresol, in the order of the section's descriptions.
    let mut resolutions: Vec<u8> = Vec::new();
    while let Some(block) = r.next_block() {
        n += 1;
        let block = block.map_err(|e| read_error(file, format!("block {n} is damaged ({e})")))?;
        let p = match block {
            Block::SectionHeader(_) => {
                resolutions.clear();
                continue;
            }
            Block::InterfaceDescription(i) => {
                resolutions.push(
                    i.options
                        .iter()
                        .find_map(|o| match o {
                            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                            _ => None,
                        })
                        .unwrap_or(6),
                );
                continue;
            }
            Block::EnhancedPacket(p) => p,
            _ => continue,
        };
        let resolution = resolutions
            .get(p.interface_id as usize)
            .copied()
            .unwrap_or(6);
        // pcap-file 2.0 hands the raw timestamp over as nanoseconds whatever the unit.
        let raw = p.timestamp.as_nanos();
        let at = timestamp(raw, resolution).ok_or_else(|| {
            read_error(
                file,
                format!("block {n}: if_tsresol {resolution} is not a time unit"),
            )
        })?;
        out.push((at, p.data.into_owned()));
    }
    Ok(out)
}

/// A pcapng timestamp in units of `if_tsresol` (10^-r, or 2^-r with the top bit set).
fn timestamp(raw: u128, resolution: u8) -> Option<Duration> {
    let exp = u32::from(resolution & 0x7f);
    let nanos = if resolution & 0x80 == 0 {
        if exp > 19 {
            return None;
        }
        let unit = 10u128.pow(exp);
        raw.checked_mul(1_000_000_000)? / unit
    } else {
        if exp > 63 {
            return None;
        }
        raw.checked_mul(1_000_000_000)? >> exp
    };
    Some(Duration::from_nanos(u64::try_from(nanos).ok()?))
}

fn udp(at: Duration, frame: &[u8]) -> Option<Datagram> {
    let s = etherparse::SlicedPacket::from_ethernet(frame).ok()?;
    let src_mac = match &s.link {
        Some(etherparse::LinkSlice::Ethernet2(e)) => Mac(e.source()),
        _ => return None,
    };
    let src = match &s.net {
        Some(etherparse::NetSlice::Ipv4(ip)) => IpAddr::V4(ip.header().source_addr()),
        Some(etherparse::NetSlice::Ipv6(ip)) => IpAddr::V6(ip.header().source_addr()),
        _ => return None,
    };
    let (sport, dport, payload) = match &s.transport {
        Some(etherparse::TransportSlice::Udp(u)) => {
            (u.source_port(), u.destination_port(), u.payload().to_vec())
        }
        Some(etherparse::TransportSlice::Tcp(t)) => {
            (t.source_port(), t.destination_port(), Vec::new())
        }
        _ => return None,
    };
    Some(Datagram {
        at,
        src_mac,
        src,
        sport,
        dport,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_timestamps_follow_the_interfaces_resolution() {
        assert_eq!(timestamp(1_500_000, 6), Some(Duration::from_millis(1500)));
        assert_eq!(
            timestamp(1_500_000_000, 9),
            Some(Duration::from_millis(1500))
        );
        // 2^-10 s units.
        assert_eq!(timestamp(1024, 0x8a), Some(Duration::from_secs(1)));
        assert_eq!(timestamp(1, 20), None);
    }
}
