//! pxelab's one pcap writer, for the simulator's segments and the lab's switches.
//!
//! - **Snap length** (tcpdump's habit): by default a record keeps the first
//!   [`DEFAULT_SNAPLEN`] bytes of each frame: every Ethernet, IPv4, UDP, DHCP and TFTP
//!   header, whole DHCP and TFTP control messages, and the first bytes of each TFTP
//!   DATA payload. The file header's snaplen says so, and a cut record's captured
//!   length is below its original length, so Wireshark shows it as truncated ("packet
//!   size limited during capture"), not malformed. [`FULL_SNAPLEN`] keeps everything.
//! - **Budget**: the captures of one run share a [`Budget`] of bytes on disk. The
//!   record that would cross it is not written; that capture stops there (a valid file)
//!   and the run goes on without further captures. [`Budget::reached`] says where.
//!
//! The simulator's frames are real Ethernet II / IPv4 / UDP bytes built with
//! `etherparse`; timestamps are virtual time, so the same seed gives byte-identical files.

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use pxelab_engine::{Instant, Mac};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The default snap length: 14 bytes of Ethernet header and a 576-byte IPv4 datagram,
/// the size every DHCP client must accept (RFC 2131), so that DHCP and proxy DHCP
/// messages are kept whole; a TFTP DATA packet keeps its headers and the first 544
/// bytes of its block.
pub const DEFAULT_SNAPLEN: u32 = 14 + 576;
/// `--pcap-full`: whole frames (libpcap's and tcpdump's largest snap length).
pub const FULL_SNAPLEN: u32 = 262_144;
/// The default budget of one run's captures: 1 GiB.
pub const DEFAULT_BUDGET: u64 = 1 << 30;

/// The global header and a record's header, in bytes.
const FILE_HEADER: u64 = 24;
const RECORD_HEADER: u64 = 16;

/// How captures are written: the snap length and the run's budget (none: no limit).
#[derive(Clone, Debug)]
pub struct CaptureOptions {
    pub snaplen: u32,
    pub budget: Option<Arc<Budget>>,
}

impl Default for CaptureOptions {
    fn default() -> CaptureOptions {
        CaptureOptions {
            snaplen: DEFAULT_SNAPLEN,
            budget: None,
        }
    }
}

impl CaptureOptions {
    /// The CLI's choice: whole payloads or the default snap length; a budget in bytes,
    /// 0 for none.
    pub fn new(full: bool, budget: u64) -> CaptureOptions {
        CaptureOptions {
            snaplen: if full { FULL_SNAPLEN } else { DEFAULT_SNAPLEN },
            budget: (budget > 0).then(|| Arc::new(Budget::new(budget))),
        }
    }

    /// The budget's message, the first time it is asked for after the budget was
    /// reached (for a caller that prints it once).
    pub fn take_notice(&self) -> Option<String> {
        self.budget.as_ref().and_then(|b| b.take_notice())
    }

    /// Whether a new capture should be started: not once the budget has been reached.
    pub fn open(&self) -> bool {
        self.budget.as_ref().is_none_or(|b| b.reached().is_none())
    }
}

/// The capture options for a scenario: a scenario with HTTP boot (a responder with
/// `http`) captures whole frames, as Wireshark cannot put an HTTP response together
/// from cut TCP segments (it reads the rest as malformed headers); the others keep the
/// run's choice.
pub fn for_scenario(opts: &CaptureOptions, sc: &pxelab_scenario::Scenario) -> CaptureOptions {
    let http = sc
        .network
        .responders
        .iter()
        .any(|r| r.config.http.is_some());
    CaptureOptions {
        snaplen: if http { FULL_SNAPLEN } else { opts.snaplen },
        budget: opts.budget.clone(),
    }
}

/// Bytes on disk that one run's captures may use, shared by all of them.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
    reached: Mutex<Option<String>>,
    /// Set with `reached`: every capture then stops at its next record.
    exhausted: AtomicBool,
    reported: AtomicBool,
}

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: AtomicU64::new(0),
            reached: Mutex::new(None),
            exhausted: AtomicBool::new(false),
            reported: AtomicBool::new(false),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used())
    }

    /// Counts bytes written elsewhere (the lab's switch processes, each given a share).
    pub fn charge(&self, bytes: u64) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Takes `bytes` if they fit and the budget has not been reached.
    fn take(&self, bytes: u64) -> bool {
        !self.exhausted.load(Ordering::Relaxed)
            && self
                .used
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                    (u + bytes <= self.limit).then_some(u + bytes)
                })
                .is_ok()
    }

    /// Records that the capture in `path` stopped at the budget (the first time only).
    pub fn stop_at(&self, path: &Path) {
        let mut r = self.reached.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_none() {
            *r = Some(format!(
                "pcap budget of {} for this run reached while writing {}: that capture stops \
                 there (a valid file without its later packets) and the run goes on without \
                 further captures; raise the budget with --pcap-budget SIZE (e.g. \
                 --pcap-budget 10GiB, 0 for no limit)",
                human_size(self.limit),
                path.display()
            ));
        }
        self.exhausted.store(true, Ordering::Relaxed);
    }

    /// The message, once the budget has been reached.
    pub fn reached(&self) -> Option<String> {
        self.reached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The message the first time it is asked for after the budget was reached, for a
    /// caller that prints it once.
    pub fn take_notice(&self) -> Option<String> {
        let msg = self.reached()?;
        (!self.reported.swap(true, Ordering::Relaxed)).then_some(msg)
    }
}

/// `1 GiB`, `512 MiB`, `1000 bytes`.
pub fn human_size(n: u64) -> String {
    for (unit, v) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= v && n.is_multiple_of(v) {
            return format!("{} {unit}", n / v);
        }
        if n >= v {
            return format!("{:.1} {unit}", n as f64 / v as f64);
        }
    }
    format!("{n} bytes")
}

/// Where a scenario's pcaps go under `--pcap DIR`: DIR itself when one scenario runs,
/// else a subdirectory named for the scenario file's path (`scenarios/a/b.yaml`:
/// `scenarios_a_b`), so that a suite's captures do not overwrite each other.
pub fn dir_for(base: &Path, scenario_file: &Path, several: bool) -> PathBuf {
    if !several {
        return base.to_path_buf();
    }
    let stem: String = scenario_file
        .with_extension("")
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("_");
    base.join(stem)
}

/// One pcap file (Ethernet), with a snap length and an optional budget.
pub struct PcapFile {
    writer: Option<PcapWriter<BufWriter<File>>>,
    path: PathBuf,
    snaplen: u32,
    budget: Option<Arc<Budget>>,
    /// The capture stopped at the budget.
    pub stopped: bool,
    /// A write failed (the capture stopped there).
    pub error: Option<String>,
}

impl PcapFile {
    pub fn create(path: &Path, opts: &CaptureOptions) -> Result<PcapFile, String> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            snaplen: opts.snaplen,
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(BufWriter::new(file), header)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(b) = &opts.budget {
            b.charge(FILE_HEADER);
        }
        Ok(PcapFile {
            writer: Some(writer),
            path: path.to_path_buf(),
            snaplen: opts.snaplen,
            budget: opts.budget.clone(),
            stopped: false,
            error: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one frame at `ts` (since the epoch, or virtual time), cut to the snap
    /// length. Returns false once the capture has stopped (budget or error).
    pub fn write(&mut self, ts: Duration, frame: &[u8]) -> bool {
        let Some(w) = self.writer.as_mut() else {
            return false;
        };
        let incl = frame.len().min(self.snaplen as usize);
        if let Some(b) = &self.budget {
            if !b.take(RECORD_HEADER + incl as u64) {
                b.stop_at(&self.path);
                self.stopped = true;
                self.finish();
                return false;
            }
        }
        let orig = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let pkt = PcapPacket::new(ts, orig, &frame[..incl]);
        if let Err(e) = w.write_packet(&pkt) {
            self.error = Some(e.to_string());
            self.finish();
            return false;
        }
        true
    }

    /// Writes out what is buffered; later frames are not captured.
    pub fn finish(&mut self) {
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.into_writer().flush() {
                self.error.get_or_insert(e.to_string());
            }
        }
    }
}

impl Drop for PcapFile {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A simulator segment's capture: builds each datagram's frame and writes it at its
/// virtual time.
pub struct SegmentCapture {
    file: PcapFile,
    frame: Vec<u8>,
}

impl SegmentCapture {
    pub fn create(path: &Path, opts: &CaptureOptions) -> Result<SegmentCapture, String> {
        Ok(SegmentCapture {
            file: PcapFile::create(path, opts)?,
            frame: Vec::with_capacity(2048),
        })
    }

    pub fn error(&self) -> Option<&str> {
        self.file.error.as_deref()
    }

    /// Writes out what is buffered (a write error is then in [`Self::error`]).
    pub fn finish(&mut self) {
        self.file.finish();
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
        if self.file.writer.is_none() {
            return;
        }
        self.frame.clear();
        build_frame(&mut self.frame, src_mac, dst_mac, src, dst, payload);
        self.file
            .write(Duration::from_nanos(at.as_nanos()), &self.frame);
    }
}

impl SegmentCapture {
    /// Writes a frame built elsewhere (IPv6: `crate::ipv6::build_frame6`).
    pub fn write_frame(&mut self, at: Instant, frame: &[u8]) {
        if self.file.writer.is_none() {
            return;
        }
        self.file.write(Duration::from_nanos(at.as_nanos()), frame);
    }

    /// A TCP segment's frame (HTTP boot), written at its virtual time.
    pub fn write_tcp(
        &mut self,
        at: Instant,
        src_mac: Mac,
        dst_mac: Mac,
        seg: &crate::tcp::Segment,
    ) {
        if self.file.writer.is_none() {
            return;
        }
        self.frame.clear();
        build_tcp_frame(&mut self.frame, src_mac, dst_mac, seg);
        self.file
            .write(Duration::from_nanos(at.as_nanos()), &self.frame);
    }
}

/// Ethernet II + IPv4 (TTL 64, DF clear) or IPv6 (hop limit 64), by the segment's
/// addresses, + TCP with checksum and the MSS option.
pub fn build_tcp_frame(out: &mut Vec<u8>, src_mac: Mac, dst_mac: Mac, seg: &crate::tcp::Segment) {
    use crate::tcp::{ACK, FIN, PSH, RST, SYN};
    let mut h = etherparse::TcpHeader::new(seg.src.port(), seg.dst.port(), seg.seq, seg.window);
    h.syn = seg.has(SYN);
    h.fin = seg.has(FIN);
    h.rst = seg.has(RST);
    h.psh = seg.has(PSH);
    h.ack = seg.has(ACK);
    h.acknowledgment_number = seg.ack;
    if let Some(mss) = seg.mss {
        let _ = h.set_options(&[etherparse::TcpOptionElement::MaximumSegmentSize(mss)]);
    }
    let eth = etherparse::PacketBuilder::ethernet2(src_mac.0, dst_mac.0);
    let written = match (seg.src.ip(), seg.dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth
            .ipv4(s.octets(), d.octets(), 64)
            .tcp_header(h)
            .write(out, &seg.payload),
        // HTTP boot over IPv6 (hop limit 64 as the IPv6 datagrams' unicast).
        (IpAddr::V6(s), IpAddr::V6(d)) => eth
            .ipv6(s.octets(), d.octets(), 64)
            .tcp_header(h)
            .write(out, &seg.payload),
        _ => {
            out.clear();
            return;
        }
    };
    if written.is_err() {
        out.clear();
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
    use pcap_file::pcap::PcapReader;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pxelab-pcap-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn tcp_frame(src: &str, dst: &str) -> Vec<u8> {
        let seg = crate::tcp::Segment {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq: 7,
            ack: 0,
            flags: crate::tcp::SYN,
            window: 65535,
            mss: Some(1220),
            payload: Vec::new(),
        };
        let mut f = Vec::new();
        build_tcp_frame(
            &mut f,
            Mac([2, 0, 0, 0, 0, 1]),
            Mac([2, 0, 0, 0, 0, 2]),
            &seg,
        );
        f
    }

    #[test]
    fn a_tcp_segment_is_framed_in_its_family() {
        let f = tcp_frame("[fd10::100]:2561", "[fd10::5]:80");
        let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        let Some(etherparse::NetSlice::Ipv6(ip)) = &p.net else {
            panic!("not IPv6: {:?}", p.net);
        };
        assert_eq!(
            ip.header().destination_addr(),
            "fd10::5".parse::<std::net::Ipv6Addr>().unwrap()
        );
        let Some(etherparse::TransportSlice::Tcp(t)) = &p.transport else {
            panic!("not TCP");
        };
        assert!(t.syn() && t.destination_port() == 80);
        let f4 = tcp_frame("10.0.0.100:2561", "10.0.0.5:80");
        let p = etherparse::SlicedPacket::from_ethernet(&f4).unwrap();
        assert!(matches!(p.net, Some(etherparse::NetSlice::Ipv4(_))));
        assert_eq!(f.len(), f4.len() + 20, "an IPv6 header is 20 bytes longer");
        assert!(
            tcp_frame("10.0.0.100:2561", "[fd10::5]:80").is_empty(),
            "mixed families"
        );
    }

    fn data_frame(len: usize) -> Vec<u8> {
        let mut payload = vec![0, 3, 0, 1];
        payload.extend((0..len).map(|i| i as u8));
        let mut f = Vec::new();
        build_frame(
            &mut f,
            Mac([2, 0, 0, 0, 0, 1]),
            Mac([2, 0, 0, 0, 0, 2]),
            "10.0.0.5:50000".parse().unwrap(),
            "10.0.0.100:2070".parse().unwrap(),
            &payload,
        );
        f
    }

    /// (snaplen, [(incl_len, orig_len, data)]), read without pcap-file's check that
    /// orig_len <= snaplen (which refuses any truncated capture).
    fn read(path: &Path) -> (u32, Vec<(u32, u32, Vec<u8>)>) {
        let mut r = PcapReader::new(File::open(path).unwrap()).unwrap();
        let snaplen = r.header().snaplen;
        let mut v = Vec::new();
        while let Some(p) = r.next_raw_packet() {
            let p = p.unwrap();
            v.push((p.incl_len, p.orig_len, p.data.into_owned()));
        }
        (snaplen, v)
    }

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

    #[test]
    fn default_snaplen_cuts_big_frames_and_keeps_small_ones_whole() {
        let d = tmp("snap");
        let path = d.join("a.pcap");
        let mut c = PcapFile::create(&path, &CaptureOptions::default()).unwrap();
        let big = data_frame(4096);
        let small = data_frame(100);
        assert!(c.write(Duration::from_millis(1), &big));
        assert!(c.write(Duration::from_millis(2), &small));
        drop(c);
        let (snaplen, recs) = read(&path);
        assert_eq!(snaplen, DEFAULT_SNAPLEN);
        assert_eq!(recs[0].0, DEFAULT_SNAPLEN);
        assert_eq!(recs[0].1 as usize, big.len());
        assert_eq!(recs[0].2, big[..DEFAULT_SNAPLEN as usize]);
        assert_eq!(
            (recs[1].0, recs[1].1),
            (small.len() as u32, small.len() as u32)
        );
        // The headers of the cut record parse, and say how long the datagram was.
        let p = etherparse::LaxSlicedPacket::from_ethernet(&recs[0].2).unwrap();
        match p.net {
            Some(etherparse::LaxNetSlice::Ipv4(ip)) => {
                assert_eq!(ip.header().total_len() as usize, big.len() - 14)
            }
            other => panic!("not IPv4: {other:?}"),
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_budget_stops_captures_with_valid_files() {
        let d = tmp("budget");
        let frame = data_frame(1000);
        let rec = RECORD_HEADER + DEFAULT_SNAPLEN as u64;
        let opts = CaptureOptions {
            snaplen: DEFAULT_SNAPLEN,
            budget: Some(Arc::new(Budget::new(2 * FILE_HEADER + 5 * rec))),
        };
        let (a, b) = (d.join("a.pcap"), d.join("b.pcap"));
        let mut ca = PcapFile::create(&a, &opts).unwrap();
        let mut cb = PcapFile::create(&b, &opts).unwrap();
        for i in 0..3 {
            assert!(ca.write(Duration::from_secs(i), &frame));
        }
        assert!(cb.write(Duration::from_secs(3), &frame));
        assert!(cb.write(Duration::from_secs(4), &frame));
        assert!(opts.open());
        assert!(!cb.write(Duration::from_secs(5), &frame));
        assert!(cb.stopped && cb.error.is_none());
        assert!(
            !ca.write(Duration::from_secs(6), &frame),
            "the budget is shared"
        );
        let c = d.join("c.pcap");
        let mut cc = PcapFile::create(&c, &opts).unwrap();
        assert!(
            !cc.write(Duration::from_secs(7), &data_frame(1)),
            "no capture goes on once the budget is reached, even with room for a small record"
        );
        drop((ca, cb, cc));
        assert!(!opts.open());
        let budget = opts.budget.as_ref().unwrap();
        let msg = budget.reached().unwrap();
        assert!(msg.contains(&b.display().to_string()), "{msg}");
        assert!(msg.contains("--pcap-budget"), "{msg}");
        assert_eq!(budget.take_notice(), Some(msg));
        assert_eq!(budget.take_notice(), None);
        assert_eq!(read(&a).1.len(), 3);
        assert_eq!(read(&b).1.len(), 2);
        let total: u64 = [&a, &b, &c]
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum();
        assert_eq!(total, budget.used());
        assert!(total <= budget.limit() + FILE_HEADER);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn bytes_written_elsewhere_count() {
        // The lab: each switch writes its share, the run is charged the files' sizes.
        let opts = CaptureOptions::new(false, 1 << 20);
        let b = opts.budget.as_ref().unwrap();
        assert_eq!(b.remaining(), 1 << 20);
        b.charge(1 << 19);
        assert_eq!(b.remaining(), 1 << 19);
        b.charge(1 << 20);
        assert_eq!(b.remaining(), 0);
        assert!(
            opts.open(),
            "charged, not reached: only a stopped capture closes the run's"
        );
        b.stop_at(Path::new("hq.pcap"));
        assert!(!opts.open());
        assert!(CaptureOptions::new(false, 0).budget.is_none());
    }

    #[test]
    fn full_snaplen_keeps_whole_frames() {
        let d = tmp("full");
        let path = d.join("a.pcap");
        let mut c = PcapFile::create(&path, &CaptureOptions::new(true, 0)).unwrap();
        let big = data_frame(16384);
        assert!(c.write(Duration::ZERO, &big));
        drop(c);
        let (snaplen, recs) = read(&path);
        assert_eq!(snaplen, FULL_SNAPLEN);
        assert_eq!(recs[0].2, big);
        assert_eq!(recs[0].0, recs[0].1);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(1 << 30), "1 GiB");
        assert_eq!(human_size(3 << 19), "1.5 MiB");
        assert_eq!(human_size(100), "100 bytes");
    }

    #[test]
    fn a_suites_pcaps_go_in_a_directory_per_scenario() {
        let base = Path::new("out");
        let f = Path::new("./scenarios/sites/a.yaml");
        assert_eq!(dir_for(base, f, false), Path::new("out"));
        assert_eq!(dir_for(base, f, true), Path::new("out/scenarios_sites_a"));
    }
}
