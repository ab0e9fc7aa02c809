//! `timing.per_packet` from a capture: the firmware's time per Ethernet frame it takes
//! in, as the simulator models it (`world/firmware_cost.rs`) and as `pxelab lab
//! calibrate` measures it. The capture's frames are read as a lab capture's
//! ([`ladder_pcap::frame`]: the first IPv4 fragment of a DATA block stands for its
//! datagram, which the UDP header sizes) and [`phases::per_packet`] takes them: the
//! DATA-to-ACK times summed over the frames the DATA took, so their mean, long tail
//! included (docs/MODEL.md), not the median gap per ACK.

use crate::{ladder_pcap, phases};
use pxelab_engine::Mac;
use std::time::Duration;

/// The time per frame `mac` took in before it acknowledged a window, over the
/// capture's `frames` (time, Ethernet frame); `None` when no DATA was acknowledged.
pub(super) fn learn(frames: &[(Duration, Vec<u8>)], mac: Mac) -> Option<Duration> {
    // From the capture's start: a Unix time in f64 keeps only about 0.2 µs.
    let t0 = frames.first()?.0;
    let client: Vec<ladder_pcap::Frame> = frames
        .iter()
        .filter_map(|(at, d)| ladder_pcap::frame(d, at.saturating_sub(t0).as_secs_f64(), mac.0))
        .collect();
    let per = phases::per_packet(&client)?;
    // Whole microseconds, as a profile writes durations.
    Some(Duration::from_micros((per * 1e6).round() as u64))
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
    fn the_time_per_frame_is_the_mean_over_fragmented_windows_not_the_median_per_ack() {
        // A window of four 8 KiB blocks (six fragments each, as a real machine's capture
        // holds them), acknowledged 12 ms after the last: 0.5 ms a frame. Then two
        // one-frame blocks answered in 0.2 ms each. Per ACK the median is 0.2 ms; per
        // frame taken in the mean is 12.4 ms over 26 frames.
        let start = Duration::from_secs(1_764_547_200);
        let mut frames = Vec::new();
        for b in 1..=4u16 {
            let at = start + us(100 * u64::from(b));
            frames.push((at, data(b, 8192)));
            frames.push((at + us(10), later_fragment()));
        }
        frames.push((start + us(400 + 12_000), ack(4)));
        frames.push((start + us(20_000), data(5, 1000)));
        frames.push((start + us(20_200), ack(5)));
        frames.push((start + us(30_000), data(6, 1000)));
        frames.push((start + us(30_200), ack(6)));
        let got = learn(&frames, Mac(CLIENT_MAC));
        assert_eq!(got, Some(us(477)), "12.4 ms / 26 frames");
        // Another machine's frames are not this one's.
        assert_eq!(learn(&frames, Mac([2, 0, 0, 0, 0, 1])), None);
    }

    #[test]
    fn a_simulated_boot_with_8k_windows_gives_back_the_models_time_per_frame() {
        // OVMF reading 8 KiB blocks four to a window (scenarios/lab/large-image-uefi.yaml),
        // captured by the simulator and learned: the profile's per_packet again, within
        // the window's own arrival spread; the median gap per ACK was 24 frames' worth.
        // Its 64 MiB image cut to 2 MiB: 256 windows are plenty.
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
            .and_then(|f| phases::per_packet(&f));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(r.passed, "{:?}", r.failures);
        let got = learned.expect("learns").profile.pxe4.timing.per_packet;
        let model = profile::builtin(FirmwareKind::UefiX64)
            .pxe4
            .timing
            .per_packet;
        let off = got.as_secs_f64() / model.as_secs_f64() - 1.0;
        assert!(off.abs() < 0.10, "learned {got:?}, model {model:?}");
        // What `pxelab lab calibrate` reads from the same capture.
        let calibrated = calibrated.expect("DATA acknowledged");
        assert_eq!(got, us((calibrated * 1e6).round() as u64));
    }
}
