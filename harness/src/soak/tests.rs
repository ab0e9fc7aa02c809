use super::*;

fn spec(minutes: u32) -> SoakSpec {
    SoakSpec {
        minutes,
        every: Duration::from_secs(2),
        image_size: 1 << 20,
        seed: 1,
    }
}

#[test]
fn the_slope_of_a_line_is_its_slope_and_needs_two_distinct_times() {
    let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 2.0)).collect();
    assert!((slope(&line).unwrap() - 3.0).abs() < 1e-12);
    let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 7.0)).collect();
    assert_eq!(slope(&flat), Some(0.0));
    assert_eq!(slope(&[]), None);
    assert_eq!(slope(&[(1.0, 2.0)]), None);
    assert_eq!(slope(&[(1.0, 2.0), (1.0, 5.0)]), None);
    // Noise about a line: the fit finds the line.
    let noisy: Vec<(f64, f64)> = (0..100)
        .map(|i| {
            let e = if i % 2 == 0 { 5.0 } else { -5.0 };
            (i as f64, 0.5 * i as f64 + e)
        })
        .collect();
    assert!((slope(&noisy).unwrap() - 0.5).abs() < 0.01);
}

#[test]
fn a_restart_at_a_lower_level_is_not_a_falling_slope() {
    // Two instances of one process: flat at 100 then, restarted, flat at 50.
    let a: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 100.0)).collect();
    let b: Vec<(f64, f64)> = (10..20).map(|i| (i as f64, 50.0)).collect();
    let all: Vec<(f64, f64)> = a.iter().chain(&b).copied().collect();
    assert!(slope(&all).unwrap() < -2.0, "one line through both falls");
    assert_eq!(pooled_slope(&[a, b]), Some(0.0));
    // Each instance leaking 2 a minute from its own level: 2.
    let c: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 10.0 + 2.0 * i as f64)).collect();
    let d: Vec<(f64, f64)> = (0..5)
        .map(|i| (20.0 + i as f64, 3.0 + 2.0 * i as f64))
        .collect();
    assert!((pooled_slope(&[c, d, vec![(99.0, 1.0)]]).unwrap() - 2.0).abs() < 1e-12);
}

#[test]
fn trends_leave_out_the_warm_up_of_each_instance() {
    let sample = |pid, t_s: f64, rss| ProcessSample {
        process: "responder-p1".into(),
        pid,
        t_s,
        rss_kib: rss,
        anon_kib: rss / 2,
        fds: 12,
    };
    // Growth in each instance's first minute, then flat; restarted at 100 s, lower.
    let series: Vec<ProcessSample> = (0..200u64)
        .map(|i| {
            let t = i as f64;
            if i < 100 {
                sample(1, t, 1000 + 10 * i.min(60) + 400)
            } else {
                sample(2, t, 300 + 25 * (i - 100).min(60))
            }
        })
        .collect();
    let tr = trends(&series, Duration::from_secs(60));
    assert_eq!(tr.len(), 1);
    let x = &tr[0];
    assert_eq!((x.instances, x.samples), (2, 40 + 40));
    assert_eq!(
        (x.first_rss_kib, x.last_rss_kib, x.peak_rss_kib),
        (2000, 1800, 2000)
    );
    assert_eq!(
        (x.rss_kib_per_min, x.anon_kib_per_min),
        (Some(0.0), Some(0.0))
    );
    assert_eq!(x.fds_per_min, Some(0.0));
    assert_eq!((x.first_fds, x.last_fds), (12, 12));
    assert!((x.span_s - 139.0).abs() < 1e-9);
    // A process that never got past its warm-up has no trend.
    assert!(trends(&series[..50], Duration::from_secs(60)).is_empty());
}

#[test]
fn the_plan_crashes_a_peer_a_minute_and_keeps_peer_boots_out_of_the_quiet_windows() {
    let p = plan(&spec(3)).unwrap();
    assert_eq!(p.crashes(), 3);
    assert_eq!(p.link_changes(), 3 * 4);
    assert_eq!(p.boots.len(), 90);
    let downs: Vec<(u64, &str)> = p
        .steps
        .iter()
        .filter_map(|(t, s)| match s {
            Step::Down(h) => Some((*t, *h)),
            _ => None,
        })
        .collect();
    assert_eq!(downs, [(48_000, "p1"), (108_000, "p2"), (168_000, "p1")]);
    assert!(p.steps.contains(&(180_000, Step::Up("p1"))));
    let lead = dhcp_lead_ms();
    for b in &p.boots {
        // The windows hold from the client's first DISCOVER.
        let t = (b.at_s * 1000.0).round() as u64 + lead;
        let m = t % 60_000;
        // Outside the quiet windows (before and after each up, around the outage,
        // before the crash), the peers serve; in them, the DP.
        let open = (29_500..40_000).contains(&m) || (48_000..58_000).contains(&m) || t < 5_000;
        assert_eq!(b.served_by == DP, !open, "{b:?}");
        // While p1 is down (48-60 s), unknown computers go to p2.
        if (48_000..60_000).contains(&t) && b.client.starts_with('u') {
            assert_eq!(b.served_by, "p2", "{b:?}");
        }
    }
    // Both peers serve, and clients reboot.
    for peer in PEERS {
        assert!(p.boots.iter().any(|b| b.served_by == peer), "{peer} serves");
    }
    assert!(p.boots.iter().any(|b| b.boot > 1));
    assert!(plan(&SoakSpec {
        minutes: 0,
        ..spec(1)
    })
    .is_err());
    assert!(plan(&SoakSpec {
        every: Duration::from_millis(100),
        ..spec(1)
    })
    .unwrap_err()
    .contains("--every"));
}

#[test]
fn two_minutes_end_as_planned_in_the_simulator() {
    let s = spec(2);
    let sc = scenario(&s, std::path::Path::new("<soak>")).unwrap();
    let r = pxelab_sim::run::run_scenario(&sc, &pxelab_sim::run::RunOptions::default());
    assert!(r.passed, "{:?}", r.failures);
    let rep = report(&s, Some(&r), None, Duration::from_secs(60)).unwrap();
    let m = rep.sim.as_ref().unwrap();
    assert_eq!((m.boots, m.ended, m.as_planned), (60, 60, 60), "{m:?}");
    assert!(rep.ok());
    // The simulator against itself agrees everywhere; a changed responder does not.
    let mut other = r.clone();
    let b = other
        .boots
        .iter_mut()
        .find(|b| b.served_by.as_deref() == Some("p1"))
        .unwrap();
    b.served_by = Some("p2".into());
    let a = compare(&r, &other);
    assert_eq!((a.compared, a.agree, a.disagreements.len()), (60, 59, 1));
    assert!(a.disagreements[0].contains("by p1, lab booted"), "{a:?}");
}
