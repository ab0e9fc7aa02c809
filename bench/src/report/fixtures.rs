//! Hand-written results for the renderers' snapshot tests: fixed figures, so that a
//! snapshot changes only when a format does.

use crate::dhcp::DhcpPoint;
use crate::storm::StormResult;
use crate::tftp::PointResult;
use pxelab_sim::run::ProcessPeak;

/// A simulator point and a lab point (`both`) with a server's note, as a saved run
/// holds them (the fields a point lacks are left out).
pub fn tftp_points() -> Vec<PointResult> {
    let sim = serde_json::json!({
        "mode": "sim", "server": "pxelab", "client": "pxelab", "link": "emulated",
        "block_size": 1432, "window_size": 4, "rate_bps": 100_000_000, "delay_s": 0.002,
        "loss": 0.0, "size": 1 << 20, "median_s": 0.1234, "min_s": 0.12, "max_s": 0.13,
        "bound_s": 0.0839, "ratio_to_bound": 0.68, "window_bound_s": 0.1,
        "ratio_to_window_bound": 0.81, "negotiated_block_size": 1432,
        "negotiated_window_size": 4, "timeouts": 0, "failures": 0,
    });
    let lab = serde_json::json!({
        "mode": "both", "server": "tftpd-hpa", "client": "atftp", "link": "veth",
        "block_size": 8192, "window_size": 8, "rate_bps": null, "delay_s": 0.0,
        "loss": 0.0, "size": 1 << 20, "median_s": null, "min_s": null, "max_s": null,
        "bound_s": null, "ratio_to_bound": null, "negotiated_block_size": 8192,
        "negotiated_window_size": 1, "timeouts": 3, "failures": 1, "sim_s": 0.05,
        "lab_s": 0.04, "rel_error": 0.25, "mib_per_s": 25.0, "server_cpu_s_per_gib": 1.5,
        "note": "tftpd-hpa has no windowsize option (RFC 7440): ran with window 1",
    });
    serde_json::from_value(serde_json::json!([sim, lab])).expect("the fixtures are points")
}

/// A storm in the simulator and one in the lab with its resources and a failure.
pub fn storm_rows() -> Vec<StormResult> {
    let sim = StormResult {
        mode: "sim".into(),
        clients: 100,
        responders: 4,
        role: "peer",
        image_size: 100 << 20,
        rate_bps: 1_000_000_000,
        delay_s: 0.0,
        loss: 0.0,
        block_size: 4096,
        window_size: 1,
        spread_s: 0.0,
        booted: 100,
        not_booted: 0,
        all_booted_s: Some(42.25),
        boot_median_s: Some(30.0),
        boot_p95_s: Some(40.5),
        peak_responder_bps: 950e6,
        peak_responder_use: 0.95,
        peak_segment_bps: 3.8e9,
        packets: 123_456,
        wall_s: 1.5,
        resources: vec![],
        failures: vec![],
    };
    let lab = StormResult {
        mode: "lab".into(),
        booted: 99,
        not_booted: 1,
        all_booted_s: None,
        resources: vec![ProcessPeak {
            process: "r1".into(),
            peak_rss_kib: 10240,
            peak_fds: 12,
            samples: 50,
        }],
        failures: vec!["lab: r2 exited".into()],
        ..sim.clone()
    };
    vec![sim, lab]
}

pub fn dhcp_points() -> Vec<DhcpPoint> {
    vec![DhcpPoint {
        server: "pxelab".into(),
        firmware: "uefi-x64".into(),
        rate: 1000,
        clients: 1000,
        seconds: 5,
        sent: 5000,
        received: 4990,
        answers_per_s: 998.0,
        answered: 0.998,
        p50_ms: Some(0.25),
        p90_ms: Some(0.5),
        p99_ms: Some(1.25),
        max_ms: Some(3.0),
        cpu_us_per_answer: None,
    }]
}
