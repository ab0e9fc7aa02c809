//! One client's UDP datagrams and TCP segments, over IPv4 and IPv6, from a segment
//! capture: what the phases of PXE over IPv6 and of UEFI HTTP boot are read from
//! (`six.rs`, `http.rs`), and the lab overlay for every boot
//! (`crate::lab_overlay::capture`). The phases of PXE over IPv4 read
//! [`crate::ladder_pcap::read`]'s IPv4 frames.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// How much of a TCP segment's payload is kept where it begins an HTTP head: the
/// client's request (`GET /path HTTP/1.1`) and the server's response head (its status
/// line and `Content-Length`, which the lab overlay reads). The server's other payloads
/// are only counted.
const HEAD_BYTES: usize = 512;

/// The transport of a [`Packet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// A UDP datagram or TCP segment to or from the client, as captured.
#[derive(Clone, Debug)]
pub struct Packet {
    /// On the run's clock.
    pub t: f64,
    pub from_client: bool,
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub transport: Transport,
    /// The UDP or TCP payload's length on the wire.
    pub len: usize,
    /// What the capture kept of the payload: a TFTP DATA block's first 4 bytes, a TCP
    /// payload from the client up to [`HEAD_BYTES`], from the server only a segment
    /// that begins a response (`HTTP/`), up to as many.
    pub payload: Vec<u8>,
    /// TCP: the segment's sequence and acknowledgement numbers.
    pub seq_ack: Option<(u32, u32)>,
}

/// The packets of `path` to or from `mac` (by Ethernet address, or the DHCP client
/// hardware address of a broadcast DHCPv4 answer), `clock0` subtracted from their
/// timestamps. Anything that is not UDP or TCP over IPv4 or IPv6 is left out, and so
/// is a fragment after an IP datagram's first.
pub fn read(path: &Path, clock0: f64, mac: [u8; 6]) -> Result<Vec<Packet>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r =
        pcap_file::pcap::PcapReader::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    let frac = if r.header().ts_resolution == pcap_file::TsResolution::NanoSecond {
        1e-9
    } else {
        1e-6
    };
    let mut out = Vec::new();
    // Raw records: a record cut at the snap length is still read (ladder_pcap.rs).
    while let Some(p) = r.next_raw_packet() {
        // A capture cut short keeps what came before.
        let Ok(p) = p else { break };
        let t = f64::from(p.ts_sec) + f64::from(p.ts_frac) * frac - clock0;
        out.extend(packet(&p.data, t, mac));
    }
    Ok(out)
}

/// One Ethernet frame's packet, if it is the client's.
pub fn packet(d: &[u8], t: f64, mac: [u8; 6]) -> Option<Packet> {
    let (src, dst, proto, l4, ip_payload_len) = match d.get(12..14)? {
        [0x08, 0x00] => ipv4(d.get(14..)?)?,
        [0x86, 0xdd] => ipv6(d.get(14..)?)?,
        _ => return None,
    };
    let port = |o: usize| Some(u16::from_be_bytes([*l4.get(o)?, *l4.get(o + 1)?]));
    let (sport, dport) = (port(0)?, port(2)?);
    let (transport, header, len) = match proto {
        17 => (Transport::Udp, 8, usize::from(port(4)?).saturating_sub(8)),
        6 => {
            let header = usize::from(*l4.get(12)? >> 4) * 4;
            (
                Transport::Tcp,
                header,
                ip_payload_len.saturating_sub(header),
            )
        }
        _ => return None,
    };
    let body = l4.get(header..).unwrap_or(&[]);
    let from_client = d.get(6..12)? == mac;
    // A DHCPv4 answer broadcast to the client names it in `chaddr`.
    let to_client = d.get(0..6)? == mac
        || (transport == Transport::Udp && dport == 68 && body.get(28..34) == Some(&mac[..]));
    if !from_client && !to_client {
        return None;
    }
    let keep = match transport {
        // A TFTP DATA block's bytes are not needed: its length is in the UDP header.
        Transport::Udp if body.starts_with(&[0, 3]) && !is_dhcp_port(sport, dport) => 4,
        Transport::Udp => body.len(),
        Transport::Tcp if from_client || body.starts_with(b"HTTP/") => HEAD_BYTES,
        Transport::Tcp => 0,
    };
    let word = |o: usize| Some(u32::from_be_bytes(l4.get(o..o + 4)?.try_into().ok()?));
    Some(Packet {
        t,
        from_client,
        src: (src, sport),
        dst: (dst, dport),
        transport,
        len,
        payload: body[..keep.min(body.len())].to_vec(),
        seq_ack: match transport {
            Transport::Tcp => word(4).zip(word(8)),
            Transport::Udp => None,
        },
    })
}

/// DHCPv4's and DHCPv6's ports (their messages may start with the bytes of TFTP DATA).
pub fn is_dhcp_port(sport: u16, dport: u16) -> bool {
    [67, 68, 546, 547].contains(&sport) || [67, 68, 546, 547].contains(&dport)
}

type Ip<'a> = (IpAddr, IpAddr, u8, &'a [u8], usize);

/// An IPv4 datagram's addresses, protocol, payload and payload length on the wire.
fn ipv4(ip: &[u8]) -> Option<Ip<'_>> {
    let ihl = usize::from(*ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    // A fragment after the first carries no transport header.
    if u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x1fff != 0 {
        return None;
    }
    let a = |o: usize| -> Option<IpAddr> {
        let b: [u8; 4] = ip.get(o..o + 4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(b)))
    };
    Some((
        a(12)?,
        a(16)?,
        *ip.get(9)?,
        ip.get(ihl..)?,
        total.saturating_sub(ihl),
    ))
}

/// An IPv6 packet's, through a fragment header (the first fragment only); other
/// extension headers are not followed (the captures' hop-by-hop headers are MLD's).
fn ipv6(ip: &[u8]) -> Option<Ip<'_>> {
    let a = |o: usize| -> Option<IpAddr> {
        let b: [u8; 16] = ip.get(o..o + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    };
    let mut next = *ip.get(6)?;
    let mut len = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
    let mut rest = ip.get(40..)?;
    if next == 44 {
        let offset = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]) >> 3;
        if offset != 0 {
            return None;
        }
        next = *rest.first()?;
        rest = rest.get(8..)?;
        len = len.saturating_sub(8);
    }
    Some((a(8)?, a(24)?, next, rest, len))
}

/// Ethernet frames (MTU 1500) an IP datagram of a `len`-byte UDP payload takes.
pub fn frames(len: usize, v6: bool) -> u32 {
    let udp = len + 8;
    // Per fragment: 1480 bytes over IPv4; over IPv6 1448 (1500 less the 40-byte
    // header and the 8-byte fragment header, a multiple of 8).
    let (header, per_fragment) = if v6 { (40, 1448) } else { (20, 1480) };
    if udp + header <= 1500 {
        1
    } else {
        u32::try_from(udp.div_ceil(per_fragment)).unwrap_or(u32::MAX)
    }
}

/// The packets of the boot that started at `power_on`, up to the next one's start.
pub fn of_boot(packets: &[Packet], power_on: f64, next: Option<f64>) -> Vec<Packet> {
    packets
        .iter()
        .filter(|p| p.t >= power_on && next.is_none_or(|n| p.t < n))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

    fn ether(dst: [u8; 6], src: [u8; 6], ethertype: [u8; 2], rest: &[u8]) -> Vec<u8> {
        let mut d = dst.to_vec();
        d.extend(src);
        d.extend(ethertype);
        d.extend(rest);
        d
    }

    fn ipv6_udp(next_is_fragment: Option<u16>, payload: &[u8]) -> Vec<u8> {
        let mut udp = 546u16.to_be_bytes().to_vec();
        udp.extend(547u16.to_be_bytes());
        udp.extend(u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
        udp.extend([0, 0]);
        udp.extend(payload);
        let mut ip = vec![0x60, 0, 0, 0];
        let mut body = Vec::new();
        let next = match next_is_fragment {
            Some(offset) => {
                body.extend([17, 0]);
                body.extend((offset << 3).to_be_bytes());
                body.extend([0, 0, 0, 1]);
                44
            }
            None => 17,
        };
        body.extend(udp);
        ip.extend(u16::try_from(body.len()).unwrap().to_be_bytes());
        ip.extend([next, 64]);
        ip.extend(Ipv6Addr::new(0xfe80, 0, 0, 0, 0x5054, 0xff, 0xfe12, 0x3456).octets());
        ip.extend(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2).octets());
        ip.extend(body);
        ip
    }

    #[test]
    fn an_ipv6_datagram_of_the_client_is_read_through_a_first_fragment_only() {
        let solicit = [1, 0xc6, 0x8e, 0xda, 0, 8, 0, 2, 0, 0];
        let d = ether(
            [0x33, 0x33, 0, 1, 0, 2],
            MAC,
            [0x86, 0xdd],
            &ipv6_udp(None, &solicit),
        );
        let p = packet(&d, 1.5, MAC).expect("the client's");
        assert!(p.from_client && p.transport == Transport::Udp);
        assert_eq!((p.src.1, p.dst.1, p.len), (546, 547, solicit.len()));
        assert_eq!(p.dst.0, "ff02::1:2".parse::<IpAddr>().unwrap());
        assert_eq!(p.payload, solicit);
        let first = ether([0x33; 6], MAC, [0x86, 0xdd], &ipv6_udp(Some(0), &solicit));
        assert_eq!(packet(&first, 0.0, MAC).expect("first").payload, solicit);
        let later = ether([0x33; 6], MAC, [0x86, 0xdd], &ipv6_udp(Some(1), &solicit));
        assert!(packet(&later, 0.0, MAC).is_none());
        // Another host's frame, and a frame that is not IP.
        let other = ether([0x33; 6], [2; 6], [0x86, 0xdd], &ipv6_udp(None, &solicit));
        assert!(packet(&other, 0.0, MAC).is_none());
        assert!(packet(&ether(MAC, [2; 6], [0x08, 0x06], &[0; 28]), 0.0, MAC).is_none());
        // Cut short anywhere: no packet, no panic.
        for n in 0..d.len() - solicit.len() {
            let _ = packet(&d[..n], 0.0, MAC);
        }
    }

    #[test]
    fn a_tcp_segment_counts_its_payload_from_the_ip_length_and_keeps_the_http_heads() {
        let request = b"GET /boot.efi HTTP/1.1\r\n\r\n";
        let mut tcp = 1859u16.to_be_bytes().to_vec();
        tcp.extend(80u16.to_be_bytes());
        tcp.extend([0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend(request);
        let mut ip = vec![0x45, 0];
        ip.extend(u16::try_from(20 + tcp.len()).unwrap().to_be_bytes());
        ip.extend([0, 0, 0x40, 0, 64, 6, 0, 0, 10, 77, 0, 157, 10, 77, 0, 1]);
        ip.extend(&tcp);
        let d = ether([2; 6], MAC, [0x08, 0x00], &ip);
        let p = packet(&d, 0.0, MAC).expect("the client's");
        assert_eq!(p.transport, Transport::Tcp);
        assert_eq!((p.src.1, p.dst.1, p.len), (1859, 80, request.len()));
        assert_eq!(p.payload, request);
        // The server's answer: counted, not kept; its length from the IP header even
        // where the capture cut the frame.
        let mut answer = ip.clone();
        answer[12..20].copy_from_slice(&[10, 77, 0, 1, 10, 77, 0, 157]);
        let d = ether(MAC, [2; 6], [0x08, 0x00], &answer);
        let p = packet(&d[..14 + 20 + 20 + 4], 0.0, MAC).expect("to the client");
        assert!(!p.from_client && p.payload.is_empty());
        assert_eq!(p.len, request.len());
        // A segment that begins the server's response keeps its head (its length).
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 19456\r\n\r\n";
        let mut response = answer[..20].to_vec();
        response[2..4].copy_from_slice(&u16::try_from(40 + head.len()).unwrap().to_be_bytes());
        response.extend(&tcp[..20]);
        response.extend(head);
        let d = ether(MAC, [2; 6], [0x08, 0x00], &response);
        let p = packet(&d, 0.0, MAC).expect("to the client");
        assert_eq!(p.payload, head);
    }

    #[test]
    fn frames_count_the_fragments_of_each_family() {
        assert_eq!(frames(1232, true), 1);
        assert_eq!(frames(1472, false), 1);
        assert_eq!(frames(1473, false), 2);
        assert_eq!(frames(8196, false), 6);
        assert_eq!(frames(1453, true), 2);
        assert_eq!(frames(8196, true), 6);
    }
}
