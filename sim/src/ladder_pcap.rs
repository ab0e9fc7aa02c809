//! A lab boot's DHCP, 4011 and TFTP arrows from its segment's capture: the lab has no
//! client timeline of packets (the firmware is real), but the switch captured every
//! frame, on the wall clock; [`read`] puts them on the run's clock and keeps one
//! client's, [`events`] names them as the ladder draws them.

use std::net::Ipv4Addr;
use std::path::Path;

/// A UDP datagram of one client's, as captured (its payload maybe cut at the snap
/// length).
#[derive(Clone, Debug)]
pub struct Frame {
    /// On the run's clock.
    pub t: f64,
    pub from_client: bool,
    pub src: (Ipv4Addr, u16),
    pub dst: (Ipv4Addr, u16),
    /// The UDP payload's length on the wire.
    pub len: usize,
    pub payload: Vec<u8>,
}

/// The frames of `path` to or from `mac` (by Ethernet address, or the DHCP client
/// hardware address of a broadcast answer), `started_unix_s` subtracted from their
/// timestamps. Frames that are not IPv4 UDP are left out.
pub fn read(path: &Path, started_unix_s: f64, mac: [u8; 6]) -> Result<Vec<Frame>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r =
        pcap_file::pcap::PcapReader::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    let nanos = r.header().ts_resolution == pcap_file::TsResolution::NanoSecond;
    let mut out = Vec::new();
    // Raw records: pcap-file's checked ones refuse a record longer on the wire than the
    // snap length, that is every truncated one (see daemon/src/audit/capture.rs).
    while let Some(p) = r.next_raw_packet() {
        // A capture cut short (its budget, a killed switch) keeps what came before.
        let Ok(p) = p else { break };
        let frac = if nanos { 1e-9 } else { 1e-6 };
        let t = f64::from(p.ts_sec) + f64::from(p.ts_frac) * frac - started_unix_s;
        if let Some(f) = frame(&p.data, t, mac) {
            out.push(f);
        }
    }
    Ok(out)
}

/// The Ethernet frame `d`, captured at `t`, as one of `mac`'s datagrams: `None` when it
/// is not IPv4 UDP to or from that client, or is an IPv4 fragment after the first
/// (`pxelab firmware learn` reads its captures' frames so too).
pub fn frame(d: &[u8], t: f64, mac: [u8; 6]) -> Option<Frame> {
    if d.len() < 14 + 20 + 8 || d[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &d[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    // A fragment after the first carries no UDP header (its datagram is the first's).
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if ip[9] != 17 || ip.len() < ihl + 8 || fragment_offset != 0 {
        return None;
    }
    let addr = |o: usize| Ipv4Addr::new(ip[o], ip[o + 1], ip[o + 2], ip[o + 3]);
    let u = &ip[ihl..];
    let port = |o: usize| u16::from_be_bytes([u[o], u[o + 1]]);
    // A DATA block's bytes are not needed, its length is in the UDP header.
    let keep = if u.get(8..10) == Some(&[0, 3][..]) && port(0) != 67 && port(2) != 67 {
        12
    } else {
        u.len()
    };
    let payload = u[8..keep.min(u.len())].to_vec();
    let from_client = d[6..12] == mac;
    // A DHCP answer broadcast to the client names it in `chaddr`.
    let to_client = d[0..6] == mac || (port(2) == 68 && payload.get(28..34) == Some(&mac[..]));
    if !from_client && !to_client {
        return None;
    }
    Some(Frame {
        t,
        from_client,
        src: (addr(12), port(0)),
        dst: (addr(16), port(2)),
        len: usize::from(port(4)).saturating_sub(8),
        payload,
    })
}

/// The TFTP transfer under way: its server, block size (the first DATA's), totals,
/// and the current second's start and totals.
struct Xfer {
    server: Ipv4Addr,
    block: usize,
    blocks: u64,
    bytes: u64,
    sec_t: f64,
    sec_blocks: u64,
    sec_bytes: u64,
}

/// What the ladder draws of a frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A DHCP message from the client to port 67: DISCOVER, REQUEST (broadcast or not).
    ClientDhcp { label: String, to: Ipv4Addr },
    /// A DHCP answer: from the server it names (option 54) or its sender.
    ServerDhcp {
        label: String,
        from: Ipv4Addr,
        nak: bool,
    },
    /// The client's REQUEST on 4011.
    PxeRequest { to: Ipv4Addr },
    /// The responder's ACK on 4011, with the boot file.
    PxeAck { from: Ipv4Addr, file: String },
    /// A TFTP message other than DATA and the client's ACKs.
    Tftp {
        label: String,
        server: Ipv4Addr,
        from_client: bool,
        error: bool,
    },
    /// DATA from the server: one second of it, or the transfer's total at its end.
    Data {
        server: Ipv4Addr,
        blocks: u64,
        bytes: u64,
        total: bool,
    },
}

/// The frames' events in order, DATA summed per second of each transfer and in whole
/// at its end (the block shorter than the others).
pub fn events(frames: &[Frame]) -> Vec<(f64, Event)> {
    let mut out = Vec::new();
    let mut xfer: Option<Xfer> = None;
    let flush = |out: &mut Vec<(f64, Event)>, x: &Xfer| {
        if x.sec_blocks > 0 {
            let (server, blocks, bytes) = (x.server, x.sec_blocks, x.sec_bytes);
            out.push((
                x.sec_t,
                Event::Data {
                    server,
                    blocks,
                    bytes,
                    total: false,
                },
            ));
        }
    };
    for f in frames {
        let p = &f.payload;
        let (sport, dport) = (f.src.1, f.dst.1);
        if f.from_client && dport == 67 {
            let kind = dhcp_type(p).unwrap_or("DHCP");
            let label = match dhcp_option(p, 50).filter(|v| v.len() == 4) {
                Some(v) if kind == "REQUEST" => {
                    format!("REQUEST {}", Ipv4Addr::new(v[0], v[1], v[2], v[3]))
                }
                _ => kind.to_string(),
            };
            out.push((f.t, Event::ClientDhcp { label, to: f.dst.0 }));
        } else if !f.from_client && sport == 67 {
            let kind = dhcp_type(p).unwrap_or("DHCP");
            let yiaddr = p.get(16..20).map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]));
            let proxy = yiaddr == Some(Ipv4Addr::UNSPECIFIED) && kind == "OFFER";
            let label = match (proxy, yiaddr) {
                (true, _) => "proxy OFFER".to_string(),
                (false, Some(ip)) if kind != "NAK" => format!("{kind} {ip}"),
                _ => kind.to_string(),
            };
            let from = dhcp_option(p, 54)
                .filter(|v| v.len() == 4)
                .map_or(f.src.0, |v| Ipv4Addr::new(v[0], v[1], v[2], v[3]));
            out.push((
                f.t,
                Event::ServerDhcp {
                    label,
                    from,
                    nak: kind == "NAK",
                },
            ));
        } else if f.from_client && dport == 4011 {
            out.push((f.t, Event::PxeRequest { to: f.dst.0 }));
        } else if !f.from_client && sport == 4011 {
            let file = dhcp_option(p, 67)
                .map(|v| {
                    String::from_utf8_lossy(v)
                        .trim_end_matches('\0')
                        .to_string()
                })
                .or_else(|| p.get(108..236).map(cstr))
                .unwrap_or_default();
            out.push((
                f.t,
                Event::PxeAck {
                    from: f.src.0,
                    file,
                },
            ));
        } else if p.len() >= 2 && (dport == 69 || sport > 1023 || dport > 1023) {
            let server = if f.from_client { f.dst.0 } else { f.src.0 };
            let op = u16::from_be_bytes([p[0], p[1]]);
            match (op, f.from_client) {
                (1, true) => {
                    let name = p.get(2..).map(cstr).unwrap_or_default();
                    let label = format!("RRQ {}", name.rsplit(['/', '\\']).next().unwrap_or(""));
                    out.push((
                        f.t,
                        Event::Tftp {
                            label,
                            server,
                            from_client: true,
                            error: false,
                        },
                    ));
                }
                (3, false) => {
                    let bytes = f.len.saturating_sub(4);
                    let x = xfer.get_or_insert(Xfer {
                        server,
                        block: bytes,
                        blocks: 0,
                        bytes: 0,
                        sec_t: f.t,
                        sec_blocks: 0,
                        sec_bytes: 0,
                    });
                    if f.t - x.sec_t >= 1.0 {
                        flush(&mut out, x);
                        (x.sec_t, x.sec_blocks, x.sec_bytes) = (f.t, 0, 0);
                    }
                    x.blocks += 1;
                    x.bytes += bytes as u64;
                    x.sec_blocks += 1;
                    x.sec_bytes += bytes as u64;
                    // The last block is the short one (a first block under 512 too).
                    if bytes < x.block || (x.blocks == 1 && bytes < 512) {
                        // A transfer within its first second is its total alone.
                        if x.sec_blocks < x.blocks {
                            flush(&mut out, x);
                        }
                        let (blocks, bytes) = (x.blocks, x.bytes);
                        out.push((
                            f.t,
                            Event::Data {
                                server,
                                blocks,
                                bytes,
                                total: true,
                            },
                        ));
                        xfer = None;
                    }
                }
                (5, _) => {
                    let code = p.get(2..4).map_or(0, |c| u16::from_be_bytes([c[0], c[1]]));
                    let label = if f.from_client && code == 8 {
                        "ERROR 8 (abort)".to_string()
                    } else {
                        format!("ERROR {code}")
                    };
                    if let Some(x) = xfer.take() {
                        flush(&mut out, &x);
                    }
                    out.push((
                        f.t,
                        Event::Tftp {
                            label,
                            server,
                            from_client: f.from_client,
                            error: !f.from_client,
                        },
                    ));
                }
                (6, false) => {
                    let opts: Vec<String> = p[2..]
                        .split(|&b| b == 0)
                        .map(|s| String::from_utf8_lossy(s).to_string())
                        .collect::<Vec<_>>()
                        .chunks(2)
                        .filter(|c| c.len() == 2 && !c[0].is_empty())
                        .map(|c| format!("{}={}", c[0], c[1]))
                        .collect();
                    let label = format!("OACK {}", opts.join(" "));
                    out.push((
                        f.t,
                        Event::Tftp {
                            label: label.trim_end().into(),
                            server,
                            from_client: false,
                            error: false,
                        },
                    ));
                }
                _ => {}
            }
        }
    }
    if let Some(x) = xfer {
        flush(&mut out, &x);
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).to_string()
}

/// A DHCP message's option `code` (after the magic cookie at 236).
fn dhcp_option(p: &[u8], code: u8) -> Option<&[u8]> {
    if p.get(236..240) != Some(&[99, 130, 83, 99][..]) {
        return None;
    }
    let mut i = 240;
    while i < p.len() {
        match p[i] {
            0 => i += 1,
            255 => return None,
            c => {
                let len = usize::from(*p.get(i + 1)?);
                let v = p.get(i + 2..i + 2 + len)?;
                if c == code {
                    return Some(v);
                }
                i += 2 + len;
            }
        }
    }
    None
}

fn dhcp_type(p: &[u8]) -> Option<&'static str> {
    Some(match dhcp_option(p, 53)?.first()? {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(t: f64, block: u16, bytes: usize) -> Frame {
        let mut payload = vec![0, 3];
        payload.extend(block.to_be_bytes());
        Frame {
            t,
            from_client: false,
            src: (Ipv4Addr::new(10, 0, 0, 5), 50000),
            dst: (Ipv4Addr::new(10, 0, 0, 100), 2070),
            len: 4 + bytes,
            payload,
        }
    }

    #[test]
    fn data_is_summed_per_second_and_in_whole_at_the_short_block() {
        let frames = [
            data(0.0, 1, 512),
            data(0.5, 2, 512),
            data(1.2, 3, 512),
            data(1.3, 4, 100),
        ];
        let server = Ipv4Addr::new(10, 0, 0, 5);
        let got: Vec<(f64, u64, u64, bool)> = events(&frames)
            .into_iter()
            .map(|(t, e)| match e {
                Event::Data {
                    blocks,
                    bytes,
                    total,
                    server: s,
                } if s == server => (t, blocks, bytes, total),
                e => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                (0.0, 2, 1024, false),
                (1.2, 2, 612, false),
                (1.3, 4, 1636, true)
            ]
        );
    }
}
