//! A boot's phases from its segment capture, the same way for the lab and the
//! simulator (`pxelab run --lab --compare`, `pxelab lab calibrate`): power-on to the
//! first DISCOVER, the first DISCOVER to the boot program's first TFTP read, and the
//! two downloads (the boot program by the firmware, the boot image by the boot
//! program), plus the firmware's per-packet time (DATA to the ACK that answers it, per
//! frame taken in).
//!
//! Frames come from [`crate::ladder_pcap::read`], on the run's clock: a lab capture is
//! on the wall clock (subtract `started_unix_s`), the simulator's on virtual time (subtract
//! [`crate::run::WARMUP`]). The other network boot options' phases are read from all of
//! the client's UDP and TCP packets ([`wire`]): PXE over IPv6 in [`six`], UEFI HTTP boot
//! in [`http`].

#[cfg(test)]
mod firmware_tests;
pub mod http;
pub mod intake;
pub mod six;
pub mod tcp_intake;
pub mod wire;

use crate::ladder_pcap::Frame;
use pxelab_scenario::Netboot;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The phases compared of a boot by PXE over IPv4, in the order they happen.
pub const PHASES: [&str; 4] = [
    "power_on_to_discover",
    "discover_to_program",
    "nbp_download",
    "image_download",
];

/// The phases compared of a boot by `netboot`, in the order they happen: PXE over IPv6
/// as over IPv4 from the first Solicit; HTTP boot to the firmware's GET of the boot
/// program, then its download and the boot image's.
pub fn phase_names(netboot: Netboot) -> [&'static str; 4] {
    match netboot {
        Netboot::Pxe4 => PHASES,
        Netboot::Pxe6 => [
            "power_on_to_solicit",
            "solicit_to_program",
            "nbp_download",
            "image_download",
        ],
        Netboot::Http4 => [
            "power_on_to_discover",
            "discover_to_nbp_get",
            "nbp_download",
            "image_download",
        ],
        Netboot::Http6 => [
            "power_on_to_solicit",
            "solicit_to_nbp_get",
            "nbp_download",
            "image_download",
        ],
    }
}

/// One boot's phases, seconds; `None` where the boot did not get that far (or has no
/// such phase: its `netboot` names its phases, [`phase_names`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// The boot's network boot option.
    #[serde(skip)]
    pub netboot: Netboot,
    pub power_on_to_discover: Option<f64>,
    pub discover_to_program: Option<f64>,
    pub nbp_download: Option<f64>,
    pub image_download: Option<f64>,
    /// `pxe6`: power-on to the first Solicit; `http6`: to the HTTP boot option's first.
    pub power_on_to_solicit: Option<f64>,
    /// `pxe6`: the first Solicit to the boot program's first TFTP read.
    pub solicit_to_program: Option<f64>,
    /// `http4`, `http6`: the first DISCOVER or Solicit to the GET of the boot program.
    pub discover_to_nbp_get: Option<f64>,
    pub solicit_to_nbp_get: Option<f64>,
    /// The firmware's answer time: median of DATA to the client's ACK of that block.
    pub per_packet: Option<f64>,
    /// `http4`, `http6`: the firmware's time per TCP segment taken in
    /// ([`tcp_intake::per_segment`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_segment: Option<f64>,
    /// The firmware's `(per_datagram, per_packet)`, seconds, fitted to the boot's TFTP
    /// answers ([`intake::fit`]); for `pxe6` over IPv6 (`per_datagram6`, `per_packet6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake: Option<(f64, f64)>,
}

impl Phases {
    /// The phase named as in [`phase_names`].
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "power_on_to_discover" => self.power_on_to_discover,
            "discover_to_program" => self.discover_to_program,
            "nbp_download" => self.nbp_download,
            "image_download" => self.image_download,
            "power_on_to_solicit" => self.power_on_to_solicit,
            "solicit_to_program" => self.solicit_to_program,
            "discover_to_nbp_get" => self.discover_to_nbp_get,
            "solicit_to_nbp_get" => self.solicit_to_nbp_get,
            _ => None,
        }
    }
}

const OP_RRQ: u16 = 1;
pub(crate) const OP_DATA: u16 = 3;
pub(crate) const OP_ACK: u16 = 4;

pub(crate) fn opcode(f: &Frame) -> Option<u16> {
    let p = f.payload.get(0..2)?;
    Some(u16::from_be_bytes([p[0], p[1]]))
}

pub(crate) fn block(f: &Frame) -> Option<u16> {
    let p = f.payload.get(2..4)?;
    Some(u16::from_be_bytes([p[0], p[1]]))
}

/// Option 53 of a DHCP message (after the 236-byte header and the magic cookie).
fn dhcp_type(payload: &[u8]) -> Option<u8> {
    let mut i = 240;
    while i + 1 < payload.len() {
        match payload[i] {
            0 => i += 1,
            255 => return None,
            code => {
                let len = usize::from(payload[i + 1]);
                if code == 53 && len >= 1 {
                    return payload.get(i + 2).copied();
                }
                i += 2 + len;
            }
        }
    }
    None
}

pub(crate) fn rrq_file(f: &Frame) -> Option<String> {
    if !f.from_client || opcode(f) != Some(OP_RRQ) {
        return None;
    }
    let name = f.payload.get(2..)?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    // The boot image's path is written with `\` by some boot programs.
    Some(String::from_utf8_lossy(&name[..end]).replace('\\', "/"))
}

/// A file's reads: the first read request's time, the server, and the last DATA block
/// from that server to the client before the next file's read.
struct Read {
    file: String,
    requested: f64,
    server: Ipv4Addr,
    last_data: Option<f64>,
}

/// The phases of one boot: `frames` are the client's (from its power-on up to its next
/// one), `power_on` the boot's start on the same clock.
pub fn phases(frames: &[Frame], power_on: f64) -> Phases {
    let discover = frames.iter().find(|f| {
        f.from_client && f.dst.1 == 67 && dhcp_type(&f.payload) == Some(1) // DISCOVER
    });
    let mut reads: Vec<Read> = Vec::new();
    for f in frames {
        if let Some(file) = rrq_file(f) {
            if reads.last().is_none_or(|r| r.file != file) {
                reads.push(Read {
                    file,
                    requested: f.t,
                    server: f.dst.0,
                    last_data: None,
                });
            }
            continue;
        }
        if !f.from_client && opcode(f) == Some(OP_DATA) && f.dst.1 != 68 && f.src.1 != 67 {
            if let Some(r) = reads.last_mut().filter(|r| r.server == f.src.0) {
                r.last_data = Some(f.t);
            }
        }
    }
    let first_discover = discover.map(|d| d.t);
    let download = |r: Option<&Read>| r.and_then(|r| Some(r.last_data? - r.requested));
    Phases {
        power_on_to_discover: first_discover.map(|t| t - power_on),
        // The boot program's first read: the first of a file other than the NBP's.
        discover_to_program: first_discover.and_then(|d| reads.get(1).map(|r| r.requested - d)),
        nbp_download: download(reads.first()),
        image_download: download(reads.get(2)),
        per_packet: per_packet(frames),
        intake: intake::fit(&tftp_answers(frames)),
        ..Phases::default()
    }
}

/// The TFTP answers of a boot's IPv4 frames ([`intake::Answer`]).
pub fn tftp_answers(frames: &[Frame]) -> Vec<intake::Answer> {
    intake::tftp_answers(tftp_seen(frames))
}

fn tftp_seen(frames: &[Frame]) -> impl Iterator<Item = TftpSeen> + '_ {
    frames
        .iter()
        // DHCP (67/68) is not TFTP, whatever its first bytes read as.
        .filter(|f| f.from_client || (f.src.1 != 67 && f.dst.1 != 68))
        .map(|f| TftpSeen {
            from_client: f.from_client,
            opcode: opcode(f),
            block: block(f),
            t: f.t,
            frames: ipv4_frames(f.len),
        })
}

/// The firmware's time per frame it takes in (`FirmwareTiming::per_packet`): the time
/// from each window's last DATA block to the client's ACK of it, summed, over the frames
/// the DATA blocks since the previous ACK took (IPv4 fragments of 1480 bytes). Under
/// TCG the gaps have a long tail (median 0.2 ms, mean 1.1 ms for iPXE at load 14), so
/// this is their mean, which is what a download's length adds up; a gap of 0.5 s or
/// more is a retransmission, not processing, and is left out.
pub fn per_packet(frames: &[Frame]) -> Option<f64> {
    per_frame_mean(tftp_seen(frames))
}

/// One TFTP datagram of a capture as [`per_frame_mean`] reads it, over IPv4 or IPv6.
pub(crate) struct TftpSeen {
    pub from_client: bool,
    pub opcode: Option<u16>,
    pub block: Option<u16>,
    /// Capture time, seconds.
    pub t: f64,
    /// The Ethernet frames the datagram took (its IP fragments).
    pub frames: u32,
}

/// [`per_packet`]'s reading over TFTP datagrams of either IP version: each window's
/// last DATA block to the client's ACK of it, summed, over the frames the window took.
pub(crate) fn per_frame_mean(seen: impl IntoIterator<Item = TftpSeen>) -> Option<f64> {
    let mut last_data: Option<(u16, f64)> = None;
    let (mut busy, mut taken, mut window) = (0.0, 0u64, 0u64);
    for d in seen {
        match (d.from_client, d.opcode) {
            (false, Some(OP_DATA)) => {
                last_data = d.block.map(|b| (b, d.t));
                window += u64::from(d.frames);
            }
            (true, Some(OP_ACK)) => {
                if let (Some((b, t)), Some(a)) = (last_data, d.block) {
                    if a == b && a != 0 && d.t - t < 0.5 {
                        busy += d.t - t;
                        taken += window;
                    }
                }
                last_data = None;
                window = 0;
            }
            _ => {}
        }
    }
    (taken > 0).then(|| busy / taken as f64)
}

/// Ethernet frames of a UDP payload of `len` bytes over IPv4 (MTU 1500).
fn ipv4_frames(len: usize) -> u32 {
    let udp = len + 8;
    if udp + 20 <= 1500 {
        1
    } else {
        u32::try_from(udp.div_ceil(1480)).unwrap_or(u32::MAX)
    }
}

/// The median of some values (the lower middle one of an even count); `None` if none.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[(v.len() - 1) / 2])
}

/// The frames of the boot that started at `power_on`, up to the next one's start.
pub fn boot_frames(frames: &[Frame], power_on: f64, next: Option<f64>) -> Vec<Frame> {
    frames
        .iter()
        .filter(|f| f.t >= power_on && next.is_none_or(|n| f.t < n))
        .cloned()
        .collect()
}

/// The phases of a boot by `netboot` other than PXE over IPv4, from its packets.
pub fn netboot_phases(packets: &[wire::Packet], power_on: f64, netboot: Netboot) -> Phases {
    match netboot {
        Netboot::Pxe6 => six::phases(packets, power_on),
        Netboot::Http4 | Netboot::Http6 => http::phases(packets, power_on, netboot),
        // Read from ladder_pcap's frames (`phases`); from these, its TFTP as pxe6's.
        Netboot::Pxe4 => Phases::default(),
    }
}

/// Each boot of a result with its client's firmware and phases, from the result's
/// segment captures (`pcaps`, named after their segments). The lab's are on the wall
/// clock from `started_unix_s`, the simulator's on virtual time from its warm-up.
/// An error names a capture that cannot be read; boots without one are left out.
pub fn of_result(
    r: &crate::ScenarioResult,
    sc: &pxelab_scenario::Scenario,
) -> Result<Vec<(String, u32, String, Phases)>, String> {
    let clock0 = r.started_unix_s.unwrap_or(crate::run::WARMUP.as_secs_f64());
    let mut out = Vec::new();
    for c in &sc.network.clients {
        let Some(pcap) = r.pcaps.iter().find(|p| {
            std::path::Path::new(p)
                .file_stem()
                .is_some_and(|s| s.to_string_lossy() == c.segment)
        }) else {
            continue;
        };
        let frames = crate::ladder_pcap::read(std::path::Path::new(pcap), clock0, c.mac.0)?;
        // Every UDP and TCP packet, read once the client has a boot not by PXE over IPv4.
        let mut packets: Option<Vec<wire::Packet>> = None;
        let mut boots: Vec<&crate::result::BootRecord> =
            r.boots.iter().filter(|b| b.client == c.name).collect();
        boots.sort_by_key(|b| b.boot);
        for (k, b) in boots.iter().enumerate() {
            let next = boots.get(k + 1).map(|n| n.at_s);
            let netboot: Option<Netboot> = b.netboot.as_deref().and_then(|n| n.parse().ok());
            let p = match netboot.unwrap_or_default() {
                Netboot::Pxe4 => phases(&boot_frames(&frames, b.at_s, next), b.at_s),
                other => {
                    if packets.is_none() {
                        packets = Some(wire::read(std::path::Path::new(pcap), clock0, c.mac.0)?);
                    }
                    let all = packets.as_deref().unwrap_or_default();
                    netboot_phases(&wire::of_boot(all, b.at_s, next), b.at_s, other)
                }
            };
            out.push((c.name.clone(), b.boot, c.firmware.as_str().to_string(), p));
        }
    }
    Ok(out)
}

/// Compares the boots of a lab result and a simulator result of the same scenario,
/// matched by client and boot number.
pub fn compare_results(
    lab: &crate::ScenarioResult,
    sim: &crate::ScenarioResult,
    sc: &pxelab_scenario::Scenario,
) -> Result<Vec<BootTiming>, String> {
    let lab_p = of_result(lab, sc)?;
    let sim_p = of_result(sim, sc)?;
    Ok(lab_p
        .iter()
        .filter_map(|(c, n, fw, l)| {
            let (_, _, _, s) = sim_p.iter().find(|(sc, sn, ..)| sc == c && sn == n)?;
            Some(compare(c, *n, fw, l, s))
        })
        .collect())
}

/// One phase of one boot in both modes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseComparison {
    pub phase: String,
    pub lab_s: Option<f64>,
    pub sim_s: Option<f64>,
    /// sim − lab.
    pub diff_s: Option<f64>,
    /// Within 10 % of the lab's time, or 0.5 s for a phase under 5 s.
    pub within: Option<bool>,
}

/// One boot's phases in both modes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootTiming {
    pub client: String,
    pub boot: u32,
    pub firmware: String,
    /// The boot's network boot option when it is not `pxe4` (as in its `BootRecord`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netboot: Option<String>,
    pub phases: Vec<PhaseComparison>,
    pub lab_per_packet_s: Option<f64>,
    pub sim_per_packet_s: Option<f64>,
    /// HTTP boot: the firmware's time per TCP segment taken in, in each mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab_per_segment_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_per_segment_s: Option<f64>,
}

/// The tolerance a phase of `lab_s` seconds is held to: 10 %, or 0.5 s under 5 s.
pub fn tolerance(lab_s: f64) -> f64 {
    if lab_s < 5.0 {
        0.5
    } else {
        0.1 * lab_s
    }
}

/// Compares a boot's phases, lab against simulator.
pub fn compare(client: &str, boot: u32, firmware: &str, lab: &Phases, sim: &Phases) -> BootTiming {
    let phases = phase_names(lab.netboot)
        .iter()
        .map(|&name| {
            let (l, s) = (lab.get(name), sim.get(name));
            let diff = l.zip(s).map(|(l, s)| s - l);
            PhaseComparison {
                phase: name.to_string(),
                lab_s: l,
                sim_s: s,
                diff_s: diff,
                within: l.zip(diff).map(|(l, d)| d.abs() <= tolerance(l)),
            }
        })
        .collect();
    BootTiming {
        client: client.to_string(),
        boot,
        firmware: firmware.to_string(),
        netboot: (lab.netboot != Netboot::Pxe4).then(|| lab.netboot.as_str().to_string()),
        phases,
        lab_per_packet_s: lab.per_packet,
        sim_per_packet_s: sim.per_packet,
        lab_per_segment_s: lab.per_segment,
        sim_per_segment_s: sim.per_segment,
    }
}

/// The comparison as a table, one line per boot and phase.
pub fn table(file: &str, timings: &[BootTiming]) -> String {
    let mut s = String::new();
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    for t in timings {
        for p in &t.phases {
            let verdict = match p.within {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            s.push_str(&format!(
                "{file:<44} {:<8} {:>2} {:<10} {:<21} {:>8} {:>8} {:>8} {:>6}\n",
                t.client,
                t.boot,
                t.firmware,
                p.phase,
                f(p.lab_s),
                f(p.sim_s),
                p.diff_s.map_or("-".to_string(), |d| format!("{d:+.2}")),
                verdict
            ));
        }
    }
    s
}

/// The table's heading.
pub const TABLE_HEADING: &str = "file                                         client   boot firmware   phase                      lab s    sim s   diff s  within";

/// A duration as the profiles write one: whole milliseconds, or milliseconds with up to
/// three decimals (`6520ms`, `0.31ms`).
pub fn duration_text(secs: f64) -> String {
    let us = (secs * 1e6).round().max(0.0) as u64;
    if us.is_multiple_of(1000) {
        format!("{}ms", us / 1000)
    } else {
        let ms = format!("{:.3}", us as f64 / 1000.0);
        format!("{}ms", ms.trim_end_matches('0'))
    }
}

/// `pxelab lab calibrate`'s overlay for one firmware's profile: the `timing` keys it
/// measured, with a comment saying how (`note`).
pub fn overlay_yaml(
    firmware: &str,
    power_on_to_discover: f64,
    (per_datagram, per_packet): (f64, f64),
    note: &str,
) -> String {
    format!(
        "# pxelab lab calibrate: {firmware}, {note}\n# An overlay on the firmware's profile (profiles/{firmware}.yaml): these keys replace its own.\ntiming: {{power_on_to_discover: \"{}\", per_datagram: \"{}\", per_packet: \"{}\"}}\n",
        duration_text(power_on_to_discover),
        duration_text(per_datagram),
        duration_text(per_packet)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

    fn dhcp(t: f64, msg: u8, from_client: bool) -> Frame {
        let mut p = vec![0u8; 240];
        p.extend_from_slice(&[53, 1, msg, 255]);
        let (src, dst) = if from_client {
            ((Ipv4Addr::UNSPECIFIED, 68), (Ipv4Addr::BROADCAST, 67))
        } else {
            ((SERVER, 67), (Ipv4Addr::BROADCAST, 68))
        };
        frame(t, from_client, src, dst, p)
    }

    fn frame(
        t: f64,
        from_client: bool,
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        payload: Vec<u8>,
    ) -> Frame {
        Frame {
            t,
            from_client,
            src,
            dst,
            len: payload.len(),
            payload,
        }
    }

    fn rrq(t: f64, file: &str) -> Frame {
        let mut p = vec![0, 1];
        p.extend_from_slice(file.as_bytes());
        p.extend_from_slice(b"\0octet\0");
        frame(t, true, (CLIENT, 2070), (SERVER, 69), p)
    }

    fn data(t: f64, b: u16) -> Frame {
        let mut p = vec![0, 3];
        p.extend_from_slice(&b.to_be_bytes());
        frame(t, false, (SERVER, 50000), (CLIENT, 2070), p)
    }

    fn ack(t: f64, b: u16) -> Frame {
        let mut p = vec![0, 4];
        p.extend_from_slice(&b.to_be_bytes());
        frame(t, true, (CLIENT, 2070), (SERVER, 50000), p)
    }

    /// A boot: power-on at 10, DISCOVER at 16.5, the NBP probed and read from 21,
    /// the parameters at 22, the image from 22.5 to 25.
    fn boot() -> Vec<Frame> {
        vec![
            dhcp(16.5, 1, true),
            dhcp(16.6, 2, false),
            dhcp(20.5, 3, true),
            rrq(21.0, "smsboot/x64/bootmgfw.efi"),
            rrq(21.1, "smsboot/x64/bootmgfw.efi"),
            data(21.2, 1),
            ack(21.21, 1),
            data(21.4, 2),
            ack(21.43, 2),
            rrq(22.0, "smstemp/525400000001.uefi-x64.var"),
            data(22.1, 1),
            ack(22.11, 1),
            rrq(22.5, "smsimages\\PS100002\\boot.PS100002.wim"),
            data(24.0, 1),
            ack(24.05, 1),
            data(25.0, 2),
            ack(25.01, 2),
        ]
    }

    #[test]
    fn a_boots_phases_come_from_its_discover_reads_and_last_data() {
        let p = phases(&boot(), 10.0);
        let near = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert!(near(p.power_on_to_discover, 6.5), "{p:?}");
        assert!(near(p.discover_to_program, 5.5), "{p:?}");
        // From the size probe's request to the NBP's last block.
        assert!(near(p.nbp_download, 0.4), "{p:?}");
        assert!(near(p.image_download, 2.5), "{p:?}");
        // ACK gaps 0.01, 0.03, 0.01, 0.05, 0.01 over one frame each: their mean.
        assert!(near(p.per_packet, 0.022), "{p:?}");
    }

    #[test]
    fn the_per_packet_time_is_per_frame_taken_in_and_leaves_retransmissions_out() {
        // A window of four 8 KiB blocks (six IPv4 fragments each), ACKed 24 ms after
        // the last: 1 ms a frame. Then a one-frame block ACKed only a second later
        // (a lost ACK resent at its timeout).
        let big = |t: f64, b: u16| Frame {
            len: 8196,
            ..data(t, b)
        };
        let frames = vec![
            big(1.0, 1),
            big(1.0001, 2),
            big(1.0002, 3),
            big(1.0003, 4),
            ack(1.0243, 4),
            data(1.1, 5),
            ack(2.1, 5),
        ];
        let got = per_packet(&frames).expect("a gap");
        assert!((got - 0.001).abs() < 1e-9, "{got}");
    }

    #[test]
    fn a_boot_that_stopped_early_has_only_the_phases_it_reached() {
        let frames: Vec<Frame> = boot().into_iter().filter(|f| f.t < 21.3).collect();
        let p = phases(&frames, 10.0);
        assert!(p.power_on_to_discover.is_some());
        assert_eq!(p.discover_to_program, None);
        assert_eq!(p.image_download, None);
        let none = phases(&[], 0.0);
        assert_eq!(none, Phases::default());
    }

    #[test]
    fn frames_of_a_boot_stop_at_the_next_power_on() {
        let mut frames = boot();
        frames.push(dhcp(40.0, 1, true));
        assert_eq!(boot_frames(&frames, 10.0, Some(30.0)).len(), boot().len());
        assert_eq!(boot_frames(&frames, 30.0, None).len(), 1);
    }

    #[test]
    fn within_is_ten_percent_or_half_a_second_under_five() {
        let lab = Phases {
            power_on_to_discover: Some(6.0),
            discover_to_program: Some(4.0),
            nbp_download: Some(0.3),
            image_download: Some(20.0),
            ..Phases::default()
        };
        let sim = Phases {
            power_on_to_discover: Some(6.7), // 11.7 % off: out
            discover_to_program: Some(4.45), // 0.45 s under 5 s: in
            nbp_download: None,
            image_download: Some(21.9), // 9.5 %: in
            ..Phases::default()
        };
        let t = compare("c1", 1, "uefi-x64", &lab, &sim);
        let within: Vec<Option<bool>> = t.phases.iter().map(|p| p.within).collect();
        assert_eq!(within, [Some(false), Some(true), None, Some(true)]);
        assert!((t.phases[0].diff_s.unwrap() - 0.7).abs() < 1e-9);
        let text = table("f.yaml", &[t]);
        assert_eq!(text.lines().count(), 4);
        assert!(text.contains("NO"), "{text}");
    }

    fn root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn a_lab_results_phases_come_from_its_capture_on_the_wall_clock() {
        // A lab-like result (tests/fixtures/report/lab-ladder): its capture's times are
        // Unix seconds, `started_unix_s` puts them on the run's clock.
        let dir = root().join("tests/fixtures/report/lab-ladder");
        let text = std::fs::read_to_string(dir.join("results.json")).expect("fixture");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut r: crate::ScenarioResult =
            serde_json::from_value(v["scenarios"][0].clone()).expect("a result");
        let sc = pxelab_scenario::load_file(&root().join(&r.file)).expect("scenario loads");
        r.pcaps = vec![dir.join("hq.pcap").display().to_string()];
        let got = of_result(&r, &sc).expect("readable");
        assert_eq!(got.len(), 1);
        let (client, boot, fw, p) = &got[0];
        assert_eq!((client.as_str(), *boot, fw.as_str()), ("c1", 1, "uefi-x64"));
        // The fixture's boot took 5 ms in all, DISCOVER at its start.
        assert!(
            p.power_on_to_discover.is_some_and(|t| t.abs() < 0.001),
            "{p:?}"
        );
        for t in [p.discover_to_program, p.nbp_download, p.image_download] {
            assert!(t.is_some_and(|t| (0.0..0.01).contains(&t)), "{p:?}");
        }
        // Unreadable capture: a located error.
        r.pcaps = vec![dir.join("missing/hq.pcap").display().to_string()];
        let e = of_result(&r, &sc).expect_err("no such file");
        assert!(e.contains("missing/hq.pcap"), "{e}");
    }

    #[test]
    fn the_simulators_phases_follow_the_firmware_model() {
        // The simulator's own capture of scenarios/lab/uefi-x64.yaml: OVMF starts, sends
        // its DISCOVER after the model's start-up time and requests only when its 4 s
        // retransmission timeout expires (capture uefi-x64.pcap).
        let sc = pxelab_scenario::load_file(&root().join("scenarios/lab/uefi-x64.yaml"))
            .expect("scenario loads");
        let dir = std::env::temp_dir().join(format!("pxelab-phases-{}", std::process::id()));
        let opts = crate::RunOptions {
            pcap_dir: Some(dir.clone()),
            ..Default::default()
        };
        let r = crate::run_scenario(&sc, &opts);
        let got = of_result(&r, &sc);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(r.passed, "{:?}", r.failures);
        let got = got.expect("readable");
        let p = &got[0].3;
        let m = pxelab_engine::dhcp::firmware::model(
            pxelab_engine::dhcp::firmware::FirmwareKind::UefiX64,
        );
        let start = m.timing.power_on_to_discover.as_secs_f64();
        assert!(
            p.power_on_to_discover
                .is_some_and(|t| (t - start).abs() < 0.01),
            "{p:?}"
        );
        assert!(p.discover_to_program.is_some_and(|t| t >= 4.0), "{p:?}");
        assert!(
            p.nbp_download.is_some() && p.image_download.is_some(),
            "{p:?}"
        );
        let per = m.timing.per_packet.as_secs_f64();
        assert!(p.per_packet.is_some_and(|t| t >= per), "{p:?}");
    }

    #[test]
    fn the_overlay_writes_the_three_timing_keys_in_milliseconds() {
        assert_eq!(duration_text(6.52), "6520ms");
        assert_eq!(duration_text(0.000_31), "0.31ms");
        assert_eq!(duration_text(0.000_166_7), "0.167ms");
        let y = overlay_yaml("uefi-x64", 6.52, (0.000_11, 0.000_31), "3 boots");
        assert!(
            y.starts_with("# pxelab lab calibrate: uefi-x64, 3 boots\n"),
            "{y}"
        );
        assert!(
            y.ends_with(
                "timing: {power_on_to_discover: \"6520ms\", per_datagram: \"0.11ms\", per_packet: \"0.31ms\"}\n"
            ),
            "{y}"
        );
    }

    #[test]
    fn the_median_is_the_lower_middle() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.0));
        assert_eq!(median(&mut []), None);
    }
}
