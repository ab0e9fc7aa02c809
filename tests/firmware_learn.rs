//! `pxelab firmware learn` (docs/PROFILES.md) on every fixture capture of a PXE boot
//! (`tests/fixtures/firmware/{bios-x64,bios-x86,uefi-x64,uefi-ia32,uefi-arm64}.pcap`):
//! the learned profile has the built-in profile's DHCP and TFTP options, and the
//! simulator, given the learned profile and the capture's server set-up, sends the
//! capture's messages in the capture's order with the capture's options, each at the
//! capture's time within 10 % (see `TIME_FLOOR`), from the first DISCOVER and from the
//! message before it; and the learned `per_packet` is what `pxelab lab calibrate`
//! reads from the same capture.
//!
//! The captures were taken with QEMU's user-mode network (slirp), whose DHCP server
//! names the boot file itself (the `file` field) and serves it by TFTP: the replayed
//! scenario has a DHCP server with `option66` (itself) and `option67`, and a responder
//! at the same address that serves TFTP only (`listen_dhcp_port: false`). There is no
//! proxy and no port-4011 exchange in the captures, nor in the replay; a 4011 REQUEST
//! in either would be compared like the others.

mod common;

use common::fixture::path as fixture;
use common::{pxelab, run_ok, tmp};
use pcap_file::pcap::PcapReader;
use pxelab_engine::dhcp::firmware::{profile, FirmwareKind};
use pxelab_engine::dhcp::packet::{self, MessageType};
use pxelab_engine::tftp::packet::Packet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FIXTURES: [(&str, FirmwareKind); 5] = [
    ("bios-x64", FirmwareKind::BiosX64),
    ("bios-x86", FirmwareKind::BiosX86),
    ("uefi-x64", FirmwareKind::UefiX64),
    ("uefi-ia32", FirmwareKind::UefiIa32),
    ("uefi-arm64", FirmwareKind::UefiArm64),
];

/// The absolute tolerance below which 10 % is not asked of a time: a message whose
/// time (from the first DISCOVER, or from the message before it) is within 5 ms of the
/// capture's passes (QEMU under TCG moves a packet by a few milliseconds from one boot
/// to the next).
const TIME_FLOOR: Duration = Duration::from_millis(5);

/// One message the client sent: its kind (a DHCP message with its `secs`) and its options
/// (DHCP codes or TFTP names).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Message {
    kind: String,
    options: Vec<String>,
}

/// The client's messages of a capture with their times from its first DISCOVER, up to
/// its read of the boot program (after the size probe, when there is one).
fn client_messages(pcap: &Path) -> Vec<(Duration, Message)> {
    let file = std::fs::File::open(pcap).unwrap_or_else(|e| panic!("{}: {e}", pcap.display()));
    let mut r = PcapReader::new(file).unwrap();
    let mut out: Vec<(Duration, Message)> = Vec::new();
    while let Some(pkt) = r.next_packet() {
        let pkt = pkt.unwrap();
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&pkt.data) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Udp(u)) = s.transport else {
            continue;
        };
        let m = match (u.destination_port(), u.source_port()) {
            (dport @ (67 | 4011), _) => match packet::parse(u.payload()) {
                Ok(p) if p.op == 1 => Message {
                    // With its `secs`, which each firmware writes its own way.
                    kind: format!(
                        "{:?}{} secs {}",
                        p.message_type.unwrap_or(MessageType::Inform),
                        if dport == 4011 { " to 4011" } else { "" },
                        p.secs
                    ),
                    options: p.options.iter().map(|(c, _)| c.to_string()).collect(),
                },
                _ => continue,
            },
            (69, _) => match Packet::parse(u.payload()) {
                Ok(Packet::Rrq(rq)) => Message {
                    kind: "RRQ".into(),
                    options: rq.options.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                },
                // QEMU's TFTP server answers from port 69 itself.
                Ok(Packet::Error { code: 8, .. }) => Message {
                    kind: "ERROR 8".into(),
                    options: Vec::new(),
                },
                _ => continue,
            },
            // The size probe's abort, from the client's transfer port to the server's.
            (_, sport) if sport != 69 && sport != 67 => match Packet::parse(u.payload()) {
                Ok(Packet::Error { code: 8, .. }) => Message {
                    kind: "ERROR 8".into(),
                    options: Vec::new(),
                },
                _ => continue,
            },
            _ => continue,
        };
        out.push((pkt.timestamp, m));
    }
    // From the first DISCOVER of PXE (UEFI firmware may have tried something else
    // first) up to the boot program's read: the first, or the one after a probe.
    let start = out
        .iter()
        .position(|(_, m)| m.kind.starts_with("Discover "))
        .unwrap_or_else(|| panic!("{}: no DISCOVER", pcap.display()));
    let mut out = out.split_off(start);
    if let Some(i) = out.iter().position(|(_, m)| m.kind == "RRQ") {
        let end = if out.get(i + 1).is_some_and(|(_, m)| m.kind == "ERROR 8") {
            i + 3
        } else {
            i + 1
        };
        out.truncate(end);
    }
    let t0 = out[0].0;
    out.into_iter().map(|(t, m)| (t - t0, m)).collect()
}

/// Every message at the capture's time from the first DISCOVER, and after the
/// message before it, within 10 % or `TIME_FLOOR`; the messages themselves compared
/// before.
fn assert_times(name: &str, sim: &[(Duration, Message)], real: &[(Duration, Message)]) {
    let near = |s: Duration, r: Duration| s.abs_diff(r) <= r.mul_f64(0.10).max(TIME_FLOOR);
    for (i, ((s, m), (r, _))) in sim.iter().zip(real).enumerate() {
        let gaps = (i > 0).then(|| (*s - sim[i - 1].0, *r - real[i - 1].0));
        eprintln!(
            "{name}: {:<10} capture {:>8.4} s (+{:>7.4}), simulator {:>8.4} s (+{:>7.4})",
            m.kind,
            r.as_secs_f64(),
            gaps.map_or(0.0, |g| g.1.as_secs_f64()),
            s.as_secs_f64(),
            gaps.map_or(0.0, |g| g.0.as_secs_f64()),
        );
        assert!(
            near(*s, *r),
            "{name}: {} at {:.4} s in the simulator, {:.4} s in the capture",
            m.kind,
            s.as_secs_f64(),
            r.as_secs_f64(),
        );
        if let Some((sg, rg)) = gaps {
            assert!(
                near(sg, rg),
                "{name}: {} {:.4} s after the message before it in the simulator, {:.4} s in the capture",
                m.kind,
                sg.as_secs_f64(),
                rg.as_secs_f64(),
            );
        }
    }
}

fn messages(v: &[(Duration, Message)]) -> Vec<&Message> {
    v.iter().map(|(_, m)| m).collect()
}

fn learn(name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{name}.yaml"));
    run_ok(
        pxelab()
            .args(["firmware", "learn"])
            .arg(fixture(name))
            .arg("-o")
            .arg(&out),
    );
    out
}

#[test]
fn a_learned_profile_has_the_builtin_profiles_dhcp_and_tftp_options() {
    let dir = tmp("learn-options");
    for (name, kind) in FIXTURES {
        let path = learn(name, &dir);
        let text = std::fs::read_to_string(&path).unwrap();
        let learned = profile::parse(&text, &path, kind).unwrap_or_else(|e| panic!("{e}"));
        let (l, b) = (&learned.pxe4, &profile::builtin(kind).pxe4);
        assert_eq!(l.stack, b.stack, "{name}: family");
        assert_eq!(l.options_order, b.options_order, "{name}: DISCOVER");
        assert_eq!(
            l.request_options_order, b.request_options_order,
            "{name}: REQUEST"
        );
        assert_eq!(
            l.param_request_list, b.param_request_list,
            "{name}: option 55"
        );
        assert_eq!(
            (l.max_msg_size, l.request_max_msg_size),
            (b.max_msg_size, b.request_max_msg_size),
            "{name}: option 57"
        );
        assert_eq!(l.vendor_class, b.vendor_class, "{name}: option 60");
        assert_eq!(l.arch_option93, b.arch_option93, "{name}: option 93");
        assert_eq!(l.client_ndi, b.client_ndi, "{name}: option 94");
        assert_eq!(l.user_class, b.user_class, "{name}: option 77");
        assert_eq!(l.broadcast_flag, b.broadcast_flag, "{name}: broadcast flag");
        assert_eq!(l.tftp_options, b.tftp_options, "{name}: TFTP options");
        assert_eq!(l.tftp_size_probe, b.tftp_size_probe, "{name}: size probe");
        // The capture's DISCOVER gaps (one boot of each firmware retransmits).
        assert_eq!(
            l.retransmit[0], b.retransmit[0],
            "{name}: first retransmission"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `per_packet` is learned as the simulator models it and `pxelab lab calibrate` reads
/// it: the firmware's mean time per frame taken in, over the capture's DATA-to-ACK
/// gaps (`pxelab_sim::phases::per_packet` on the capture read as a lab one).
#[test]
fn a_learned_per_packet_is_what_lab_calibrate_reads_from_the_capture() {
    let dir = tmp("learn-per-frame");
    let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    for (name, kind) in FIXTURES {
        let path = learn(name, &dir);
        let text = std::fs::read_to_string(&path).unwrap();
        let learned = profile::parse(&text, &path, kind).unwrap_or_else(|e| panic!("{e}"));
        let frames = pxelab_sim::ladder_pcap::read(&fixture(name), 0.0, mac).unwrap();
        let calibrated = pxelab_sim::phases::per_packet(&frames).expect("DATA acknowledged");
        let got = learned.pxe4.timing.per_packet.as_secs_f64();
        // The profile holds whole microseconds; the capture's Unix times in f64 keep
        // about 0.2 µs.
        assert!(
            (got - calibrated).abs() <= 1e-6,
            "{name}: learned {got} s, calibrate's {calibrated} s"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Over IPv6 the firmware's intake is learned apart from IPv4's (`per_datagram6`,
/// `per_packet6`): each PXEv6 capture's one-frame TFTP blocks give the mean time from a
/// block to its ACK, which the lab comparison reads from the same capture
/// (`pxelab_sim::phases::six::per_packet`), not the built-in IPv4 figures.
#[test]
fn a_pxe6_capture_learns_the_firmwares_time_per_frame_over_ipv6() {
    let dir = tmp("learn-intake6");
    let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    for (name, kind) in [
        ("uefi-x64-pxe6", FirmwareKind::UefiX64),
        ("uefi-ia32-pxe6", FirmwareKind::UefiIa32),
        ("uefi-arm64-pxe6", FirmwareKind::UefiArm64),
    ] {
        let path = learn(name, &dir);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\n  per_packet6: "), "{name}: {text}");
        let t = profile::parse(&text, &path, kind)
            .unwrap_or_else(|e| panic!("{e}"))
            .pxe4
            .timing;
        let packets = pxelab_sim::phases::wire::read(&fixture(name), 0.0, mac).unwrap();
        let read = pxelab_sim::phases::six::per_packet(&packets).expect("DATA acknowledged");
        // One-frame blocks: no split, all of it per frame.
        assert_eq!(t.per_datagram6, Duration::ZERO, "{name}");
        let got = t.per_packet6.as_secs_f64();
        assert!(
            (got - read).abs() <= 1e-6,
            "{name}: learned {got} s, the capture's {read} s"
        );
        // The IPv4 keys stay the built-in profile's: the capture has no IPv4 TFTP.
        let b = profile::builtin(kind).pxe4.timing;
        assert_eq!(
            (t.per_datagram, t.per_packet),
            (b.per_datagram, b.per_packet)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The replay of a capture: its firmware with the learned profile, and QEMU's user
/// network's set-up: a DHCP server at 10.0.2.2 that names the boot file itself
/// (`option66`, `option67`) and serves it by TFTP (a responder at its address that
/// does not answer DHCP). Its turnaround is the simulator's own (the capture's was 20
/// to 70 microseconds: below what the comparison sees). QEMU's user network answers
/// router solicitations too (prefix fec0::/64, neither M nor O), which ends iPXE's IPv6
/// configuration before it reads the boot program: the segment has that `cidr6`.
fn scenario(dir: &Path, name: &str, kind: FirmwareKind, profile: &Path) -> PathBuf {
    scenario_with(dir, name, kind, profile, false)
}

/// `scenario`, or with `proxy` a proxy set-up instead: the DHCP server gives addresses
/// only and a responder at 10.0.2.5 answers PXE (a proxy offer, then port 4011).
fn scenario_with(
    dir: &Path,
    name: &str,
    kind: FirmwareKind,
    profile: &Path,
    proxy: bool,
) -> PathBuf {
    // A boot image the firmware can start (a BIOS client needs an x86 one, R-SEL-4),
    // and its boot program, which the DHCP server names.
    let (arch, program) = match kind {
        FirmwareKind::UefiX64 => ("x64", "smsboot/B1/x64/bootmgfw.efi"),
        FirmwareKind::UefiArm64 => ("arm64", "smsboot/B1/arm64/bootmgfw.efi"),
        FirmwareKind::UefiIa32 => ("x86", "smsboot/B1/x86/bootmgfw.efi"),
        _ => ("x86", "smsboot/B1/x86/wdsnbp.com"),
    };
    let (boot_file, dp) = if proxy {
        (
            String::new(),
            "10.0.2.5, role: distribution_point, images: [B1]",
        )
    } else {
        (
            format!(", option66: 10.0.2.2, option67: \"{program}\""),
            "10.0.2.2, role: distribution_point, images: [B1], listen_dhcp_port: false",
        )
    };
    let f = dir.join(format!("run-{name}.yaml"));
    std::fs::write(
        &f,
        format!(
            r#"scenario: {name} with its learned profile
site:
  boot_images:
    - {{id: B1, arch: {arch}, size: 64KiB}}
  machines:
    - {{name: M1, mac: "52:54:00:12:34:56", smbios_guid: "00112233-4455-6677-8899-aabbccddeeff"}}
  collections:
    - {{name: C1, members: [M1]}}
  deployments:
    - {{id: D1, collection: C1, boot_image: B1, purpose: required, available_to: media_pxe}}
network:
  segments:
    - {{name: lan, cidr: 10.0.2.0/24, cidr6: "fec0::/64"}}
  dhcp_servers:
    - {{name: dhcp, segment: lan, address: 10.0.2.2, pools: {{lan: 10.0.2.15-10.0.2.99}}{boot_file}}}
  responders:
    - {{name: dp, segment: lan, address: {dp}}}
  clients:
    - {{name: c1, segment: lan, machine: M1, firmware: {{family: {}, profile: {}}}}}
events:
  - {{at: 0s, boot: c1}}
expect:
  - {{client: c1, outcome: booted, boot_image: B1, served_by: dp}}
"#,
            kind.name(),
            profile.file_name().unwrap().to_string_lossy()
        ),
    )
    .unwrap();
    f
}

/// Runs a scenario with whole frames captured; the pcap's path.
fn run_captured(sc: &Path, pcaps: &Path) -> PathBuf {
    run_ok(
        pxelab()
            .args(["run", "--pcap-full", "--pcap"])
            .arg(pcaps)
            .arg(sc),
    );
    std::fs::read_dir(pcaps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pcap"))
        .expect("the run wrote a pcap")
}

#[test]
fn the_simulator_with_a_learned_profile_replays_the_captures_exchange() {
    let dir = tmp("learn-replay");
    for (name, kind) in FIXTURES {
        let profile = learn(name, &dir);
        let sc = scenario(&dir, name, kind, &profile);
        let sim = client_messages(&run_captured(&sc, &dir.join(format!("pcap-{name}"))));
        let real = client_messages(&fixture(name));
        assert_eq!(
            messages(&sim),
            messages(&real),
            "{name}: the simulator's messages against the capture's"
        );
        assert_times(name, &sim, &real);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A capture with a proxy and its port-4011 exchange (none of the fixtures has one):
/// the simulator's own, with the built-in profile, learned and replayed with the same
/// set-up: the 4011 REQUEST is compared like the other messages.
#[test]
fn a_capture_with_a_proxy_exchange_replays_with_it() {
    let dir = tmp("learn-proxy");
    for (name, kind) in [
        ("uefi-x64", FirmwareKind::UefiX64),
        ("bios-x64", FirmwareKind::BiosX64),
    ] {
        let builtin = dir.join(format!("builtin-{name}.yaml"));
        std::fs::write(&builtin, profile::builtin_text(kind)).unwrap();
        let made = scenario_with(&dir, &format!("made-{name}"), kind, &builtin, true);
        let capture = run_captured(&made, &dir.join(format!("pcap-made-{name}")));
        let learned = dir.join(format!("{name}.yaml"));
        run_ok(
            pxelab()
                .args(["firmware", "learn"])
                .arg(&capture)
                .arg("-o")
                .arg(&learned),
        );
        let sc = scenario_with(&dir, name, kind, &learned, true);
        let sim = client_messages(&run_captured(&sc, &dir.join(format!("pcap-{name}"))));
        let real = client_messages(&capture);
        assert!(
            real.iter()
                .any(|(_, m)| m.kind.starts_with("Request to 4011")),
            "{name}: {real:?}"
        );
        assert_eq!(messages(&sim), messages(&real), "{name}");
        assert_times(name, &sim, &real);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `pxelab firmware learn CAPTURE -o OUT` that must fail and write nothing: its
/// error output.
fn learn_refused(capture: &Path, out: &Path) -> String {
    let o = pxelab()
        .args(["firmware", "learn"])
        .arg(capture)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(!o.status.success(), "{o:?}");
    assert!(!out.exists(), "{} was written", out.display());
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_capture_without_a_pxe_boot_or_with_several_writes_nothing() {
    let dir = tmp("learn-refused");
    // The lab's capture of a boot image read has no DHCP: no PXE boot.
    let out = dir.join("none.yaml");
    let err = learn_refused(&fixture("lab-uefi-x64-rrq"), &out);
    assert!(err.contains("no PXE boot"), "{err}");
    // Two machines' boots in one capture.
    let two = dir.join("two.pcap");
    write_two_clients(&two);
    let err = learn_refused(&two, &out);
    assert!(
        err.contains("several clients") && err.contains("52:54:00:00:00:02"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bios-x64 capture followed by its own frames with another client MAC.
fn write_two_clients(path: &Path) {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let mut r = PcapReader::new(std::fs::File::open(fixture("bios-x64")).unwrap()).unwrap();
    let header = r.header();
    let mut frames = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        frames.push((p.timestamp, p.data.into_owned()));
    }
    let mut w = PcapWriter::with_header(std::fs::File::create(path).unwrap(), header).unwrap();
    for mac_last in [0x56u8, 0x02] {
        for (ts, data) in &frames {
            let mut d = data.clone();
            // chaddr: Ethernet 14 + IPv4 20 + UDP 8 + 28 bytes into BOOTP.
            let chaddr = 14 + 20 + 8 + 28;
            let is_dhcp = d.len() > chaddr + 6 && d[23] == 17 && {
                let dport = u16::from_be_bytes([d[36], d[37]]);
                dport == 67
            };
            if is_dhcp && mac_last == 0x02 {
                d[chaddr..chaddr + 6].copy_from_slice(&[0x52, 0x54, 0, 0, 0, 0x02]);
            }
            w.write_packet(&PcapPacket::new(*ts, d.len() as u32, &d))
                .unwrap();
        }
    }
}

#[test]
fn the_simulator_sends_what_a_scenarios_profile_says() {
    let dir = tmp("learn-played");
    let learned = learn("uefi-x64", &dir);
    let text = std::fs::read_to_string(&learned).unwrap();
    let built_in = "discover: [53, 57, 55, 97, 94, 93, 60]";
    assert!(text.contains(built_in), "{text}");
    let custom = dir.join("custom.yaml");
    std::fs::write(
        &custom,
        text.replace(built_in, "discover: [53, 60, 93, 94, 97, 55, 57]"),
    )
    .unwrap();
    let sc = scenario(&dir, "custom", FirmwareKind::UefiX64, &custom);
    let sent = client_messages(&run_captured(&sc, &dir.join("pcap")));
    assert_eq!(
        sent[0].1.options,
        ["53", "60", "93", "94", "97", "55", "57"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `fixture` rewritten as pcapng (one interface, nanosecond timestamps).
fn write_pcapng(name: &str, path: &Path) {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::{
        InterfaceDescriptionBlock, InterfaceDescriptionOption,
    };
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::DataLink;
    let mut r = PcapReader::new(std::fs::File::open(fixture(name)).unwrap()).unwrap();
    let mut w = PcapNgWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    let mut idb = InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535);
    idb.options.push(InterfaceDescriptionOption::IfTsResol(9));
    w.write_pcapng_block(idb).unwrap();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            // Written as a count of the interface's units (nanoseconds).
            timestamp: p.timestamp,
            original_len: p.orig_len,
            data: p.data,
            options: Vec::new(),
        })
        .unwrap();
    }
}

#[test]
fn a_pcapng_capture_learns_the_same_profile_as_its_pcap() {
    let dir = tmp("learn-pcapng");
    for name in ["uefi-x64", "bios-x64"] {
        let ng = dir.join(format!("{name}.pcapng"));
        write_pcapng(name, &ng);
        let from_ng = dir.join(format!("{name}-ng.yaml"));
        run_ok(
            pxelab()
                .args(["firmware", "learn"])
                .arg(&ng)
                .arg("-o")
                .arg(&from_ng),
        );
        let from_pcap = learn(name, &dir);
        // The same profile but for the comment and name lines that name the file.
        let body = |p: &Path| -> Vec<String> {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#') && !l.starts_with("name:"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(body(&from_ng), body(&from_pcap), "{name}");
    }
    // A pcapng cut short is a located error, and nothing is written.
    let ng = dir.join("uefi-x64.pcapng");
    let bytes = std::fs::read(&ng).unwrap();
    let cut = dir.join("cut.pcapng");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let out = dir.join("cut.yaml");
    let err = learn_refused(&cut, &out);
    assert!(
        err.contains("cut.pcapng") && err.contains("damaged"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_ipv6_or_http_boot_capture_learns_those_sections() {
    let dir = tmp("learn-six");
    for (name, kind) in [
        ("uefi-x64-pxe6", FirmwareKind::UefiX64),
        ("uefi-ia32-pxe6", FirmwareKind::UefiIa32),
        ("uefi-arm64-pxe6", FirmwareKind::UefiArm64),
        ("bios-x64-pxe6", FirmwareKind::BiosX64),
        ("uefi-x64-http4", FirmwareKind::UefiX64),
        ("uefi-ia32-http4", FirmwareKind::UefiIa32),
        ("uefi-arm64-http4", FirmwareKind::UefiArm64),
        ("uefi-x64-http6", FirmwareKind::UefiX64),
        ("uefi-ia32-http6", FirmwareKind::UefiIa32),
        ("uefi-arm64-http6", FirmwareKind::UefiArm64),
    ] {
        let path = learn(name, &dir);
        let text = std::fs::read_to_string(&path).unwrap();
        // The firmware is guessed from the capture alone (option 61 or 93).
        let learned = profile::parse(&text, &path, kind).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.contains(&format!("family {}", kind.name())),
            "{name}: {text}"
        );
        let b = profile::builtin(kind);
        if name.ends_with("pxe6") {
            let (l, b) = (&learned.pxe6, &b.pxe6);
            assert_eq!(l.solicit_order, b.solicit_order, "{name}: Solicit");
            assert_eq!(l.request_order, b.request_order, "{name}: Request");
            assert_eq!(
                (l.arch, l.vendor_class, l.nii, l.oro),
                (b.arch, b.vendor_class, b.nii, b.oro),
                "{name}: options 61, 16, 62, 6"
            );
            assert_eq!(l.user_class, b.user_class, "{name}: option 15");
            assert_eq!(l.solicit_t, b.solicit_t, "{name}: IA_NA T1");
            assert_eq!(l.request_elapsed, b.request_elapsed, "{name}: elapsed");
            assert_eq!(
                (l.tftp_probe, l.tftp_options),
                (b.tftp_probe, b.tftp_options),
                "{name}: TFTP over IPv6"
            );
            // EDK2 collects Advertises until its first retransmission time (4.1 to
            // 4.9 s in the captures); iPXE requests at once.
            match b.collect {
                Some(_) => assert!(
                    l.collect
                        .is_some_and(|c| c > Duration::from_secs(4) && c < Duration::from_secs(5)),
                    "{name}: {:?}",
                    l.collect
                ),
                None => assert_eq!(l.collect, None, "{name}"),
            }
            // EDK2's address wait: whole seconds of route checks (to the stack's
            // Release), then duplicate address detection; together the capture's
            // Reply to read (tests/firmware6_address_wait.rs).
            let (route, whole) = match name {
                "uefi-x64-pxe6" => (1, 3.311),
                "uefi-ia32-pxe6" => (3, 5.033),
                "uefi-arm64-pxe6" => (0, 1.824),
                _ => (0, l.address_ready.as_secs_f64()),
            };
            assert_eq!(
                l.route_wait,
                Duration::from_secs(route),
                "{name}: route wait"
            );
            let learned = (l.route_wait + l.address_ready).as_secs_f64();
            assert!((learned - whole).abs() < 0.01, "{name}: {learned:.3} s");
        } else if name.ends_with("http4") {
            let (l, b) = (learned.http4.unwrap(), b.http4.as_ref().unwrap());
            assert_eq!(
                (l.arch_option93, l.vendor_class, l.request_max_msg_size),
                (b.arch_option93, b.vendor_class, b.request_max_msg_size),
                "{name}: options 93, 60, 57"
            );
            assert_eq!(l.param_request_list, b.param_request_list, "{name}: 55");
        } else {
            let (l, b) = (learned.http6.unwrap(), b.http6.as_ref().unwrap());
            assert_eq!(
                (l.arch, l.vendor_class, l.solicit_order, l.request_order),
                (b.arch, b.vendor_class, b.solicit_order, b.request_order),
                "{name}: options 61, 16 and order"
            );
            // Requested after collecting Advertises (captured 4.07 to 5.35 s).
            assert!(
                l.collect
                    .is_some_and(|c| c > Duration::from_secs(4) && c < Duration::from_secs(6)),
                "{name}: {:?}",
                l.collect
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bios-x64 capture with its DHCP REQUEST resent 2 s and 6 s after it (the rest
/// moved on by 6 s).
fn write_request_resent(path: &Path) {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let mut r = PcapReader::new(std::fs::File::open(fixture("bios-x64")).unwrap()).unwrap();
    let header = r.header();
    let mut w = PcapWriter::with_header(std::fs::File::create(path).unwrap(), header).unwrap();
    let mut shift = Duration::ZERO;
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        let d = p.data.into_owned();
        let is_request = etherparse::SlicedPacket::from_ethernet(&d)
            .ok()
            .and_then(|s| match s.transport {
                Some(etherparse::TransportSlice::Udp(u)) if u.destination_port() == 67 => {
                    packet::parse(u.payload()).ok()
                }
                _ => None,
            })
            .is_some_and(|p| p.message_type == Some(MessageType::Request));
        let at = p.timestamp + shift;
        w.write_packet(&PcapPacket::new(at, d.len() as u32, &d))
            .unwrap();
        if is_request {
            for later in [2, 6] {
                let t = at + Duration::from_secs(later);
                w.write_packet(&PcapPacket::new(t, d.len() as u32, &d))
                    .unwrap();
            }
            shift = Duration::from_secs(6);
        }
    }
}

#[test]
fn a_resent_dhcp_request_gives_its_retransmission_timeouts() {
    let dir = tmp("learn-request");
    let capture = dir.join("resent.pcap");
    write_request_resent(&capture);
    let out = dir.join("resent.yaml");
    run_ok(
        pxelab()
            .args(["firmware", "learn"])
            .arg(&capture)
            .arg("-o")
            .arg(&out),
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let learned = profile::parse(&text, &out, FirmwareKind::BiosX64).unwrap();
    // 2 and 4 s seen; the later ones double the last.
    assert_eq!(learned.pxe4.request_retransmit, [2, 4, 8, 16], "{text}");
    // A capture without a resend keeps the built-in timeouts, and writes no key.
    let plain = std::fs::read_to_string(learn("bios-x64", &dir)).unwrap();
    assert!(
        !plain
            .lines()
            .any(|l| l.trim_start().starts_with("request_retransmit:")),
        "{plain}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
