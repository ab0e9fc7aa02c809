//! `pxelab bench sim`: the simulator's speed on one scenario, one row per run, as a
//! text line or JSON (`{"runs": [...]}`), so that scripts can track the figures.

use pxelab_sim::ScenarioResult;
use serde::Serialize;

/// One run of the scenario: what it did and how fast.
#[derive(Clone, Debug, Serialize)]
pub struct SimRun {
    pub run: u32,
    pub scenario: String,
    pub passed: bool,
    pub boots: usize,
    pub sim_time_s: f64,
    pub wall_time_s: f64,
    pub packets_sent: u64,
    pub packets_delivered: u64,
    pub events: u64,
    /// Delivered packets per wall-clock second.
    pub packet_events_per_s: f64,
}

impl SimRun {
    pub fn new(run: u32, r: &ScenarioResult) -> SimRun {
        SimRun {
            run,
            scenario: r.scenario.clone(),
            passed: r.passed,
            boots: r.boots.len(),
            sim_time_s: r.sim_time_s,
            wall_time_s: r.wall_time_s,
            packets_sent: r.stats.packets_sent,
            packets_delivered: r.stats.packets_delivered,
            events: r.stats.events,
            packet_events_per_s: r.stats.packets_delivered as f64 / r.wall_time_s.max(1e-9),
        }
    }

    /// The terminal line (as `pxelab bench sim` has always printed it).
    pub fn text(&self) -> String {
        format!(
            "run {}: {} — passed {}, {} boots, sim {:.1}s, wall {:.2}s, {} packets sent, {} delivered, {} events, {:.2} M packet events/s",
            self.run,
            self.scenario,
            self.passed,
            self.boots,
            self.sim_time_s,
            self.wall_time_s,
            self.packets_sent,
            self.packets_delivered,
            self.events,
            self.packet_events_per_s / 1e6
        )
    }
}

/// Every run as `{"runs": [...]}`.
pub fn json(runs: &[SimRun]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        runs: &'a [SimRun],
    }
    serde_json::to_string_pretty(&Doc { runs }).expect("plain data serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_every_run_with_its_figures() {
        let run = SimRun {
            run: 1,
            scenario: "s".into(),
            passed: true,
            boots: 3,
            sim_time_s: 1.5,
            wall_time_s: 2.0,
            packets_sent: 12,
            packets_delivered: 10,
            events: 20,
            packet_events_per_s: 5.0,
        };
        let v: serde_json::Value = serde_json::from_str(&json(&[run.clone(), run])).unwrap();
        assert_eq!(v["runs"].as_array().unwrap().len(), 2);
        assert_eq!(v["runs"][0]["packets_delivered"], 10);
        assert_eq!(v["runs"][1]["passed"], true);
        assert_eq!(v["runs"][0]["packet_events_per_s"], 5.0);
    }
}
