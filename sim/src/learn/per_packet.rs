//! `timing.per_datagram`, `per_packet` and `per_segment` from a capture: the
//! firmware's time per IP datagram and per Ethernet frame it takes in, as the simulator
//! models them (`world/firmware_cost.rs`) and as `pxelab lab calibrate` measures them,
//! fitted ([`phases::intake::fit`]) to the client's TFTP ACKs (the capture's frames
//! read as a lab capture's, [`ladder_pcap::frame`]: the first IPv4 fragment of a DATA
//! block stands for its datagram, which the UDP header sizes); and its time per TCP
//! segment of HTTP boot ([`phases::tcp_intake`]); over IPv6 (PXEv6's TFTP) the same
//! fit gives `per_datagram6` and `per_packet6`. Each answer's busy time counts from
//! its window's first block, and the fit is over their sum, so their mean, long tail
//! included (docs/MODEL.md), not the median gap per ACK.

use crate::ladder_pcap;
use crate::phases::{self, intake, six, tcp_intake, wire};
use pxelab_engine::Mac;
use std::time::Duration;

/// What a capture shows of the firmware's intake.
#[derive(Debug, PartialEq)]
pub(super) struct Intake {
    /// `(per_datagram, per_packet)`, from TFTP over IPv4.
    pub tftp: Option<(Duration, Duration)>,
    /// `(per_datagram6, per_packet6)`, from TFTP over IPv6 (PXEv6).
    pub tftp6: Option<(Duration, Duration)>,
    pub per_segment: Option<Duration>,
}

/// The intake of `mac` over the capture's `frames` (time, Ethernet frame).
pub(super) fn learn(frames: &[(Duration, Vec<u8>)], mac: Mac) -> Intake {
    // From the capture's start: a Unix time in f64 keeps only about 0.2 µs.
    let Some(t0) = frames.first().map(|f| f.0) else {
        return Intake {
            tftp: None,
            tftp6: None,
            per_segment: None,
        };
    };
    let at = |t: &Duration| t.saturating_sub(t0).as_secs_f64();
    let client: Vec<ladder_pcap::Frame> = frames
        .iter()
        .filter_map(|(t, d)| ladder_pcap::frame(d, at(t), mac.0))
        .collect();
    let packets: Vec<wire::Packet> = frames
        .iter()
        .filter_map(|(t, d)| wire::packet(d, at(t), mac.0))
        .collect();
    // Whole microseconds, as a profile writes durations.
    let us = |s: f64| Duration::from_micros((s * 1e6).round() as u64);
    Intake {
        tftp: intake::fit(&phases::tftp_answers(&client)).map(|(d, f)| (us(d), us(f))),
        tftp6: intake::fit(&six::tftp_answers(&packets)).map(|(d, f)| (us(d), us(f))),
        per_segment: tcp_intake::per_segment(&packets).map(us),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxelab_engine::dhcp::firmware::{profile, FirmwareKind};
    use std::net::Ipv4Addr;
    use std::path::Path;

    const CLIENT_MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    const SERVER_MAC: [u8; 6] = [0x52, 0x55, 10, 0, 2, 2];
    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

    /// An Ethernet frame of an IPv4 UDP datagram, or of its first fragment (cut to the
    /// 1500-byte MTU, more fragments flagged) when it does not fit.
    fn datagram(to_client: bool, payload: &[u8]) -> Vec<u8> {
        let (smac, dmac, src, dst, sport, dport) = if to_client {
            (SERVER_MAC, CLIENT_MAC, SERVER, CLIENT, 50000u16, 2070u16)
        } else {
            (CLIENT_MAC, SERVER_MAC, CLIENT, SERVER, 2070, 50000)
        };
        let udp_len = 8 + payload.len();
        let fragmented = udp_len + 20 > 1500;
        let mut f = Vec::new();
        f.extend_from_slice(&dmac);
        f.extend_from_slice(&smac);
        f.extend_from_slice(&[0x08, 0x00]);
        let ip_len = if fragmented { 1500 } else { 20 + udp_len };
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&(ip_len as u16).to_be_bytes());
        f.extend_from_slice(&[0, 1]);
        // Flags: more fragments; offset 0.
        f.extend_from_slice(if fragmented { &[0x20, 0] } else { &[0, 0] });
        f.extend_from_slice(&[64, 17, 0, 0]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&(udp_len as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        f.truncate(14 + ip_len);
        f
    }

    /// A later fragment: no UDP header, offset 185 (1480 bytes in).
    fn later_fragment() -> Vec<u8> {
        let mut f = datagram(true, &[0; 8192 + 4]);
        f[20] = 0x20;
        f[21] = 185;
        f
    }

    fn data(block: u16, len: usize) -> Vec<u8> {
        let mut p = vec![0, 3];
        p.extend_from_slice(&block.to_be_bytes());
        p.resize(4 + len, 0xa5);
        datagram(true, &p)
    }

    fn ack(block: u16) -> Vec<u8> {
        let mut p = vec![0, 4];
        p.extend_from_slice(&block.to_be_bytes());
        datagram(false, &p)
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn windows_of_fragmented_blocks_split_per_datagram_and_per_frame() {
        // 0.1 ms a datagram and 0.05 ms a frame: a window of four 8 KiB blocks (six
        // fragments each, as a real machine's capture holds them) answered 1.6 ms
        // after its first block, two one-frame blocks 0.15 ms after theirs.
        let start = Duration::from_secs(1_764_547_200);
        let mut frames = Vec::new();
        for b in 1..=4u16 {
            let at = start + us(100 * u64::from(b));
            frames.push((at, data(b, 8192)));
            frames.push((at + us(10), later_fragment()));
        }
        frames.push((start + us(100 + 1600), ack(4)));
        frames.push((start + us(20_000), data(5, 1000)));
        frames.push((start + us(20_150), ack(5)));
        frames.push((start + us(30_000), data(6, 1000)));
        frames.push((start + us(30_150), ack(6)));
        let got = learn(&frames, Mac(CLIENT_MAC));
        assert_eq!(got.tftp, Some((us(100), us(50))));
        assert_eq!(got.per_segment, None);
        // Another machine's frames are not this one's.
        assert_eq!(learn(&frames, Mac([2, 0, 0, 0, 0, 1])).tftp, None);
    }

    #[test]
    fn a_simulated_boot_with_8k_windows_gives_back_the_models_times() {
        // OVMF reading 8 KiB blocks four to a window (scenarios/lab/large-image-uefi.yaml),
        // captured by the simulator and learned: the profile's per_datagram and
        // per_packet again, from its boot program's one-frame blocks and its image's
        // 24-frame windows. Its 64 MiB image cut to 2 MiB: 256 windows are plenty.
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/lab/large-image-uefi.yaml");
        let text = std::fs::read_to_string(&file).expect("scenario");
        let sc = pxelab_scenario::load_str(&text.replace("size: 64MiB", "size: 2MiB"), &file)
            .expect("scenario loads");
        let dir = std::env::temp_dir().join(format!("pxelab-learn-frame-{}", std::process::id()));
        let opts = crate::RunOptions {
            pcap_dir: Some(dir.clone()),
            ..Default::default()
        };
        let r = crate::run_scenario(&sc, &opts);
        let pcap = r.pcaps.first().cloned().expect("a capture");
        let learned = crate::learn::learn_file(Path::new(&pcap));
        let mac = sc.network.clients[0].mac;
        let calibrated = ladder_pcap::read(Path::new(&pcap), 0.0, mac.0)
            .ok()
            .and_then(|f| phases::phases(&f, 0.0).intake);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(r.passed, "{:?}", r.failures);
        let got = learned.expect("learns").profile.pxe4.timing;
        let model = profile::builtin(FirmwareKind::UefiX64).pxe4.timing;
        for (what, got, model) in [
            ("per_datagram", got.per_datagram, model.per_datagram),
            ("per_packet", got.per_packet, model.per_packet),
        ] {
            let off = got.as_secs_f64() / model.as_secs_f64() - 1.0;
            assert!(off.abs() < 0.10, "{what}: learned {got:?}, model {model:?}");
        }
        // What `pxelab lab calibrate` reads from the same capture.
        let (d, f) = calibrated.expect("DATA acknowledged");
        assert_eq!(
            (got.per_datagram, got.per_packet),
            (us((d * 1e6).round() as u64), us((f * 1e6).round() as u64))
        );
    }

    /// Each HTTP boot fixture's time per segment, learned, then played by the
    /// simulator's HTTPv4 boot of OVMF x64 with the learned time: the simulator's capture reads back the learned time within 10 % (the
    /// capture's own 5 segments, dear with the first response's work, over the
    /// simulated boot's thousands).
    #[test]
    fn a_learned_time_per_segment_is_what_the_simulated_http_boot_then_shows() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let scenario = root.join("scenarios/lab/http4-uefi-x64.yaml");
        let text = std::fs::read_to_string(&scenario).expect("scenario");
        let dir = std::env::temp_dir().join(format!("pxelab-learn-seg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        // The learned times in OVMF x64's profile: the scenario boots an x64 image.
        let x64 = std::fs::read_to_string(root.join("profiles/uefi-x64.yaml")).expect("profile");
        let builtin = profile::builtin(FirmwareKind::UefiX64).pxe4.timing;
        let keys = |s: Duration| {
            format!(
                "  per_segment: {}\n",
                phases::duration_text(s.as_secs_f64())
            )
        };
        let builtin_keys = keys(builtin.per_segment);
        assert!(x64.contains(&builtin_keys), "{builtin_keys}");
        for fixture in [
            "uefi-x64-http4",
            "uefi-ia32-http4",
            "uefi-arm64-http4",
            "uefi-x64-http6",
        ] {
            let pcap = root.join(format!("tests/fixtures/firmware/{fixture}.pcap"));
            let t = crate::learn::learn_file(&pcap)
                .expect("learns")
                .profile
                .pxe4
                .timing;
            let per = t.per_segment.as_secs_f64();
            let profile = dir.join(format!("{fixture}.yaml"));
            let text_p = x64.replace(&builtin_keys, &keys(t.per_segment));
            std::fs::write(&profile, text_p).expect("profile written");
            let firmware = format!(
                "firmware: {{family: uefi-x64, profile: {}}}",
                profile.display()
            );
            let sc = pxelab_scenario::load_str(
                &text.replace("firmware: uefi-x64", &firmware),
                &scenario,
            )
            .expect("scenario loads");
            let opts = crate::RunOptions {
                pcap_dir: Some(dir.join(fixture)),
                ..Default::default()
            };
            let r = crate::run_scenario(&sc, &opts);
            let boots = phases::of_result(&r, &sc).expect("capture read");
            let got = boots
                .first()
                .and_then(|b| b.3.per_segment)
                .unwrap_or_else(|| panic!("{fixture}: {:?} {:?}", r.failures, boots));
            let off = got / per - 1.0;
            assert!(
                off.abs() < 0.10,
                "{fixture}: learned {per} s, simulated {got} s"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
