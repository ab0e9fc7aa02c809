//! Writes the seed corpora of the fuzz targets (`scripts/fuzz.sh seed`):
//!
//! - `dhcp/`: every DHCP payload (ports 67, 68, 4011) of the real firmware captures in
//!   `tests/fixtures/firmware/*.pcap`, both directions.
//! - `tftp/`: every TFTP payload of the captures as is, and for each captured read
//!   request a [`TftpScript`] per block/window cap: the request, the client's captured
//!   datagrams, then ACKs, timeouts and an error.
//! - `responder/`: each capture's client datagrams in capture order and timing as a
//!   [`ResponderScript`] (for a distribution point and a peer), and whole boots built
//!   live against the fuzzed responder: the captured DISCOVER (or the firmware model's),
//!   the model's 4011 REQUEST, the boot program's read request with the captured
//!   options, every ACK, the parameters file, the boot image; for a peer also the
//!   membership datagrams of a second peer.
//!
//! Usage: `pxelab-fuzz-seed [FIXTURES_DIR] [OUT_DIR]` (defaults
//! `tests/fixtures/firmware` and `fuzz/corpus`, relative to the repository).

use pcap_file::pcap::PcapReader;
use pxelab_engine::bootfiles;
use pxelab_engine::dhcp::firmware::{self, FirmwareKind, Stack};
use pxelab_engine::dhcp::packet;
use pxelab_engine::election::PEER_PORT;
use pxelab_engine::fuzzing::{dst, flag, tftp_event, Harness, ResponderScript, TftpScript, ME};
use pxelab_engine::policy::{ClientClass, ResponderConfig, Role};
use pxelab_engine::responder::{Output, Responder, Transmit};
use pxelab_engine::state::MemoryStore;
use pxelab_engine::testkit::{self, CAPTURE_MAC, CAPTURE_UUID};
use pxelab_engine::tftp::packet::{self as tp, Packet};
use pxelab_engine::Instant;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

struct Udp {
    ts: Duration,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: Vec<u8>,
}

fn read_pcap(path: &Path) -> Vec<Udp> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = PcapReader::new(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    while let Some(pkt) = r.next_packet() {
        let Ok(pkt) = pkt else { break };
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&pkt.data) else {
            continue;
        };
        let Some(etherparse::NetSlice::Ipv4(ip)) = &s.net else {
            continue;
        };
        let (sip, dip) = (ip.header().source_addr(), ip.header().destination_addr());
        if let Some(etherparse::TransportSlice::Udp(u)) = &s.transport {
            out.push(Udp {
                ts: pkt.timestamp,
                src: SocketAddrV4::new(sip, u.source_port()),
                dst: SocketAddrV4::new(dip, u.destination_port()),
                payload: u.payload().to_vec(),
            });
        }
    }
    out
}

/// Writes `bytes` under `dir`, named by a hash of the content (duplicates collapse).
fn write(dir: &Path, bytes: &[u8], seen: &mut BTreeSet<u64>) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    if seen.insert(h) {
        std::fs::write(dir.join(format!("seed-{h:016x}")), bytes).expect("write a seed");
    }
}

/// The step byte closest to `d` (see `fuzzing::step`: b² × 4 ms).
fn step_of(d: Duration) -> u8 {
    let ms = d.as_millis() as f64;
    (ms / 4.0).sqrt().round().min(255.0) as u8
}

fn is_dhcp(u: &Udp) -> bool {
    [67, 68, 4011].contains(&u.src.port()) || [67, 68, 4011].contains(&u.dst.port())
}

/// Which TFTP server ports (TIDs) the capture shows: the sources of the server's DATA.
fn server_tids(cap: &[Udp]) -> BTreeSet<(Ipv4Addr, u16)> {
    cap.iter()
        .filter(|u| {
            !is_dhcp(u)
                && matches!(
                    Packet::parse(&u.payload),
                    Ok(Packet::Data { .. } | Packet::Oack { .. })
                )
        })
        .map(|u| (*u.src.ip(), u.src.port()))
        .collect()
}

/// The client datagrams of a capture as responder records: (dst selector, src selector,
/// time since the previous one, payload).
fn client_records(cap: &[Udp]) -> Vec<(u8, u8, Duration, Vec<u8>)> {
    let tids = server_tids(cap);
    let mut out = Vec::new();
    let mut prev: Option<Duration> = None;
    for u in cap {
        let d = match u.dst.port() {
            67 => dst::DHCP,
            4011 => dst::PXE,
            69 => dst::TFTP,
            p if tids.contains(&(*u.dst.ip(), p)) => dst::TID_LAST,
            _ => continue, // the server's side
        };
        let s = if u.src.ip().is_unspecified() {
            0
        } else {
            match u.src.port() {
                68 => 1,
                4011 => 2,
                _ => 3,
            }
        };
        let gap = prev.map_or(Duration::ZERO, |p| u.ts.saturating_sub(p));
        prev = Some(u.ts);
        out.push((d, s, gap, u.payload.clone()));
    }
    out
}

/// A [`Harness`] that records what it is fed.
struct Live {
    h: Harness,
    s: ResponderScript,
}

impl Live {
    fn new(flags: u8, blk: u8, win: u8, seed: u8) -> Live {
        let s = ResponderScript::new(flags, blk, win, seed);
        let header = [s.bytes[0], s.bytes[1], s.bytes[2], s.bytes[3]];
        Live {
            h: Harness::new(header),
            s,
        }
    }
    fn send(&mut self, d: u8, src: u8, step: u8, payload: &[u8]) -> Vec<Transmit> {
        self.s.datagram(d, src, step, payload);
        self.h.datagram(d, src, step, payload)
    }
    fn advance(&mut self, step: u8) -> Vec<Transmit> {
        self.s.advance(step);
        self.h.advance(step)
    }
    fn timeout(&mut self) -> Vec<Transmit> {
        self.s.timeout();
        self.h.timeout()
    }

    /// A read request from source `src` (3 or 4), then an ACK for every window until
    /// the transfer ends. Returns the file's bytes.
    fn fetch(&mut self, src: u8, name: &str, options: &[(&str, &str)]) -> Vec<u8> {
        let mut rrq = Vec::new();
        tp::encode_rrq(&mut rrq, name.as_bytes(), "octet", options);
        let mut got = Vec::new();
        let mut out = self.send(dst::TFTP, src, 0, &rrq);
        let blksize = options
            .iter()
            .find(|(k, _)| *k == "blksize")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let mut blk = 512;
        for _ in 0..500 {
            let mut ack = None;
            let mut last = false;
            for t in &out {
                match Packet::parse(&t.payload) {
                    Ok(Packet::Oack { options }) => {
                        if let Some((_, v)) = options.iter().find(|(k, _)| k == "blksize") {
                            blk = v.parse().unwrap_or(512);
                        } else if blksize.is_some() {
                            blk = 512;
                        }
                        ack = Some(0);
                    }
                    Ok(Packet::Data { block, data }) => {
                        got.extend_from_slice(data);
                        last = data.len() < blk;
                        ack = Some(block);
                    }
                    _ => return got,
                }
            }
            let Some(block) = ack else { return got };
            let mut a = Vec::new();
            tp::encode_ack(&mut a, block);
            out = self.send(dst::TID_LAST, src, 0, &a);
            if last {
                return got;
            }
        }
        got
    }
}

/// A whole boot of `kind` against the fuzzed responder (its DISCOVER from a capture
/// when there is one), then timeouts.
fn boot(
    live: &mut Live,
    kind: FirmwareKind,
    discover: Option<&[u8]>,
    rrq_options: &[(String, String)],
) {
    let m = firmware::model(kind);
    let own;
    let discover = match discover {
        Some(d) => d,
        None => {
            own = firmware::build_discover(m, CAPTURE_MAC, Some(CAPTURE_UUID), 0x1234, 0);
            &own
        }
    };
    let xid = packet::parse(discover).map(|p| p.xid).unwrap_or(0x1234);
    let mut offers = live.send(dst::DHCP, 0, 0, discover);
    for _ in 0..4 {
        if !offers.is_empty() {
            break;
        }
        // The response delay: the firmware retransmits its DISCOVER.
        offers = live.send(dst::DHCP, 0, 32, discover);
    }
    let client = Ipv4Addr::new(10, 10, 0, 100);
    let req = firmware::build_pxe_request(m, CAPTURE_MAC, Some(CAPTURE_UUID), xid, client, ME, 0);
    let src = if m.stack == Stack::Ipxe { 1 } else { 2 };
    let ack = live.send(dst::PXE, src, 2, &req);
    let nbp = ack
        .first()
        .and_then(|t| packet::parse(&t.payload).ok())
        .map(|p| p.file_lossy())
        .unwrap_or_else(|| "smsboot/PS100002/x64/bootmgfw.efi".into());
    let opts: Vec<(&str, &str)> = rrq_options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    live.fetch(3, &nbp, &opts);
    let class = match kind {
        FirmwareKind::BiosX64 => ClientClass::BiosX64,
        FirmwareKind::BiosX86 => ClientClass::BiosX86,
        FirmwareKind::UefiX64 => ClientClass::UefiX64,
        FirmwareKind::UefiIa32 => ClientClass::UefiIa32,
        FirmwareKind::UefiArm64 => ClientClass::UefiArm64,
    };
    let params = live.fetch(
        3,
        &bootfiles::params_path(CAPTURE_MAC, class),
        &[("tsize", "0")],
    );
    let image = String::from_utf8_lossy(&params)
        .lines()
        .find_map(|l| l.strip_prefix("image_path=").map(str::to_string))
        .unwrap_or_else(|| "smsimages/PS100002/boot.PS100002.wim".into());
    live.fetch(
        3,
        &image,
        &[("blksize", "8192"), ("windowsize", "4"), ("tsize", "0")],
    );
    // A second client asks for a file that is not there and one that leaves the root.
    live.fetch(4, "..\\windows\\win.ini", &[]);
    live.fetch(4, "boot.pxe", &[("blksize", "1468")]);
    live.advance(40);
    live.timeout();
}

/// A peer boot: a second peer (10.10.0.6) and the fuzzed one exchange hellos and SWIM
/// datagrams, then a client boots.
fn peer_boot(
    kind: FirmwareKind,
    discover: Option<&[u8]>,
    rrq_options: &[(String, String)],
) -> Vec<u8> {
    let mut live = Live::new(flag::PEER | (1 << flag::DELAY_SHIFT), 3, 0, 7);
    let other_addr = Ipv4Addr::new(10, 10, 0, 6);
    let mut cfg = ResponderConfig::new("peer2", other_addr, Role::Peer);
    cfg.images = vec!["PS100002".into()];
    let mut other = Responder::new(
        Instant::ZERO,
        cfg,
        Arc::new(testkit::site()),
        Box::new(MemoryStore::new()),
        Arc::new(testkit::PatternRoot),
        9,
    );
    let mut out = Output::default();
    other.handle_timeout(Instant::ZERO, &mut out);
    let mut to_fuzzed: Vec<Transmit> = out.transmits.drain(..).collect();
    for round in 0..12 {
        // The other peer's datagrams reach the fuzzed one, and back.
        let mut back = Vec::new();
        for t in to_fuzzed.drain(..) {
            back.extend(live.send(dst::PEER, 6, 0, &t.payload));
        }
        back.extend(if round % 3 == 2 {
            live.advance(16)
        } else {
            live.timeout()
        });
        let now = live.h.now;
        let mut out = Output::default();
        for t in back {
            if t.dst.port() == PEER_PORT && (t.dst.ip().is_broadcast() || *t.dst.ip() == other_addr)
            {
                other.handle_datagram(
                    now,
                    SocketAddrV4::new(ME, PEER_PORT),
                    t.dst,
                    &t.payload,
                    &mut out,
                );
            }
        }
        other.handle_timeout(now, &mut out);
        to_fuzzed.extend(
            out.transmits
                .drain(..)
                .filter(|t| t.dst.port() == PEER_PORT),
        );
    }
    boot(&mut live, kind, discover, rrq_options);
    live.s.bytes
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fixtures = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/fixtures/firmware"));
    let out = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("fuzz/corpus"));
    let dirs: Vec<PathBuf> = ["dhcp", "tftp", "responder"]
        .iter()
        .map(|t| out.join(t))
        .collect();
    for d in &dirs {
        std::fs::create_dir_all(d).expect("create a corpus directory");
    }
    let mut seen = [BTreeSet::new(), BTreeSet::new(), BTreeSet::new()];
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap_or_else(|e| panic!("{}: {e}", fixtures.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    assert!(!pcaps.is_empty(), "no captures in {}", fixtures.display());

    for path in &pcaps {
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let cap = read_pcap(path);
        let tids = server_tids(&cap);
        let mut discover = None;
        let mut rrq_options: Vec<(String, String)> = Vec::new();
        for u in &cap {
            if is_dhcp(u) {
                write(&dirs[0], &u.payload, &mut seen[0]);
                if let Ok(p) = packet::parse(&u.payload) {
                    if p.op == 1
                        && p.message_type == Some(packet::MessageType::Discover)
                        && discover.is_none()
                    {
                        discover = Some(u.payload.clone());
                    }
                }
                continue;
            }
            write(&dirs[1], &u.payload, &mut seen[1]);
            if u.dst.port() == 69 {
                if let Ok(Packet::Rrq(r)) = Packet::parse(&u.payload) {
                    rrq_options = r.options.clone();
                    // The request, then what the client sent the server's TID.
                    let client_sent: Vec<&Udp> = cap
                        .iter()
                        .filter(|x| x.src == u.src && tids.contains(&(*x.dst.ip(), x.dst.port())))
                        .collect();
                    for (blk, win, size, shift) in [
                        (3u8, 0u8, 3000u16, 0u8),
                        (0, 3, 40_000, 2),
                        (6, 4, 9000, 0),
                        (7, 0, 600, 0),
                    ] {
                        let mut s = TftpScript::new(blk, win, size, shift, &u.payload);
                        for x in &client_sent {
                            s.raw(&x.payload);
                        }
                        s.event(tftp_event::ACK_LAST)
                            .event(tftp_event::ACK_PREVIOUS)
                            .event(tftp_event::TIMEOUT)
                            .event(tftp_event::ACK_LAST)
                            .event(tftp_event::ACK_LAST_MANY)
                            .event(1)
                            .event(tftp_event::ADVANCE)
                            .event(200)
                            .event(tftp_event::ERROR);
                        write(&dirs[1], &s.bytes, &mut seen[1]);
                    }
                }
            }
        }
        // The capture replayed against a distribution point and a peer.
        let records = client_records(&cap);
        for flags in [
            0,
            flag::PEER,
            flag::UNKNOWN_SUPPORT | (2 << flag::DELAY_SHIFT),
        ] {
            let mut s = ResponderScript::new(flags, 3, 2, 1);
            for (d, src, gap, p) in &records {
                s.datagram(*d, *src, step_of(*gap), p);
            }
            s.timeout().advance(100).timeout();
            write(&dirs[2], &s.bytes, &mut seen[2]);
        }
        // Whole boots with this capture's DISCOVER and read request options.
        let kind = match name.as_str() {
            n if n.contains("bios-x86") => FirmwareKind::BiosX86,
            n if n.contains("bios") => FirmwareKind::BiosX64,
            n if n.contains("ia32") => FirmwareKind::UefiIa32,
            n if n.contains("arm64") => FirmwareKind::UefiArm64,
            _ => FirmwareKind::UefiX64,
        };
        for (flags, blk, win) in [(0u8, 3u8, 0u8), (0, 0, 3), (flag::EXCLUDE, 4, 4)] {
            let mut live = Live::new(flags, blk, win, 3);
            boot(&mut live, kind, discover.as_deref(), &rrq_options);
            write(&dirs[2], &live.s.bytes, &mut seen[2]);
        }
        write(
            &dirs[2],
            &peer_boot(kind, discover.as_deref(), &rrq_options),
            &mut seen[2],
        );
        println!("{name}: {} UDP datagrams", cap.len());
    }
    // The firmware models (every kind, also those without a capture) booting.
    for kind in FirmwareKind::ALL {
        let mut live = Live::new(0, 3, 2, 5);
        boot(
            &mut live,
            kind,
            None,
            &[
                ("blksize".into(), "1456".into()),
                ("tsize".into(), "0".into()),
            ],
        );
        write(&dirs[2], &live.s.bytes, &mut seen[2]);
        let m = firmware::model(kind);
        let d = firmware::build_discover(m, CAPTURE_MAC, Some(CAPTURE_UUID), 7, 3);
        write(&dirs[0], &d, &mut seen[0]);
        let r =
            firmware::build_pxe_request(m, CAPTURE_MAC, None, 7, Ipv4Addr::new(10, 10, 0, 100), ME, 0);
        write(&dirs[0], &r, &mut seen[0]);
    }
    for (t, s) in ["dhcp", "tftp", "responder"].iter().zip(&seen) {
        println!("{t}: {} seeds in {}", s.len(), out.join(t).display());
    }
}
