//! Where the audit's frames come from: pcap files, or an interface watched live (an
//! AF_PACKET socket), optionally probing as a client so that every server answers.

use super::*;

/// Feed every frame of a pcap file (Ethernet link type) to the audit; times are since
/// the file's first packet.
pub fn read_pcap(path: &Path, audit: &mut Audit) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r = pcap_file::pcap::PcapReader::new(file)
        .map_err(|e| format!("{}: not a pcap file: {e}", path.display()))?;
    if r.header().datalink != pcap_file::DataLink::ETHERNET {
        return Err(format!(
            "{}: link type {:?}; the audit reads Ethernet captures",
            path.display(),
            r.header().datalink
        ));
    }
    let nanos = r.header().ts_resolution == pcap_file::TsResolution::NanoSecond;
    let mut first = None;
    let mut n = 0;
    // Raw records: pcap-file's checked ones refuse a record longer on the wire than the
    // snap length, which is every truncated record of a capture with a snap length
    // (tcpdump's, or `pxelab run --pcap`'s default).
    while let Some(p) = r.next_raw_packet() {
        let p = p.map_err(|e| format!("{}: packet {}: {e}", path.display(), n + 1))?;
        let frac = if nanos {
            p.ts_frac
        } else {
            p.ts_frac.saturating_mul(1000)
        };
        let ts = Duration::new(u64::from(p.ts_sec), frac.min(999_999_999));
        let t0 = *first.get_or_insert(ts);
        audit.observe_frame(ts.saturating_sub(t0), &p.data);
        n += 1;
    }
    Ok(n)
}

/// Watch `interface` for `duration` (AF_PACKET, every frame the interface sees), feeding
/// the audit. With `probe`, send a PXE DHCPDISCOVER (UEFI x64) from port 68 every 2 s
/// so that every server on the segment has something to answer, as the MAC given there
/// (a machine a responder knows), or a random locally administered one. Needs root
/// (CAP_NET_RAW).
pub fn capture_live(
    interface: &str,
    duration: Duration,
    probe: Option<Option<Mac>>,
    audit: &mut Audit,
) -> Result<u64, String> {
    use pxelab_system::packet::{self, Framing, PacketSocket};
    let ifindex = pxelab_system::iface::index(interface)
        .ok_or_else(|| format!("no interface `{interface}`"))?;
    let sock = PacketSocket::open(Framing::Link, packet::ALL, ifindex, &[]).map_err(|e| {
        format!(
            "cannot open a packet socket on {interface}: {e} (the live audit needs root or CAP_NET_RAW)"
        )
    })?;
    let prober = match probe {
        Some(mac) => Some(Prober::new(interface, mac)?),
        None => None,
    };
    let start = std::time::Instant::now();
    let mut next_probe = start;
    let mut buf = vec![0u8; 65536];
    let mut n = 0;
    loop {
        let now = std::time::Instant::now();
        let elapsed = now - start;
        if elapsed >= duration {
            break;
        }
        if let Some(p) = &prober {
            if now >= next_probe {
                p.send()?;
                next_probe = now + Duration::from_secs(2);
            }
        }
        let mut wait = duration - elapsed;
        if prober.is_some() {
            wait = wait.min(next_probe.saturating_duration_since(now));
        }
        if !sock.wait_readable(wait).map_err(|e| format!("poll: {e}"))? {
            continue;
        }
        let Ok(len) = sock.recv(&mut buf) else {
            continue;
        };
        n += 1;
        audit.observe_frame(start.elapsed(), &buf[..len]);
    }
    Ok(n)
}

/// Sends PXE DISCOVERs as a UEFI x64 client would, from 0.0.0.0:68 on the interface.
struct Prober {
    sock: std::net::UdpSocket,
    mac: Mac,
}

impl Prober {
    fn new(interface: &str, mac: Option<Mac>) -> Result<Prober, String> {
        use socket2::{Domain, Protocol, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| format!("probe socket: {e}"))?;
        s.set_reuse_address(true).ok();
        s.set_broadcast(true)
            .map_err(|e| format!("probe socket: {e}"))?;
        s.bind_device(Some(interface.as_bytes()))
            .map_err(|e| format!("probe socket on {interface}: {e}"))?;
        let addr = std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68);
        s.bind(&addr.into()).map_err(|e| {
            format!("cannot bind UDP port 68 on {interface} to probe: {e} (is a DHCP client running there?)")
        })?;
        let mut seed = [0u8; 4];
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos()
            ^ std::process::id();
        seed.copy_from_slice(&t.to_be_bytes());
        // Locally administered, unicast.
        let mac = mac.unwrap_or(Mac([0x02, 0x50, seed[0], seed[1], seed[2], seed[3]]));
        Ok(Prober {
            sock: s.into(),
            mac,
        })
    }

    fn send(&self) -> Result<(), String> {
        use pxelab_engine::dhcp::firmware::{build_discover, model, FirmwareKind};
        let xid = u32::from_be_bytes([self.mac.0[2], self.mac.0[3], self.mac.0[4], self.mac.0[5]]);
        let d = build_discover(model(FirmwareKind::UefiX64), self.mac, None, xid, 0);
        self.sock
            .send_to(&d, (Ipv4Addr::BROADCAST, 67))
            .map_err(|e| format!("probe: {e}"))?;
        Ok(())
    }
}
