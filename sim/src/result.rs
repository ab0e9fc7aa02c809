//! What a run produces: per boot ([`BootRecord`]), per `tftp_request` ([`ProbeRecord`]),
//! per lab process ([`ProcessPeak`], [`ProcessSample`]), per responder decision
//! ([`Decision`]) and per scenario ([`ScenarioResult`], the JSON `pxelab merge` reads).
//! The simulator and the lab fill the same types, so their results compare field by field.

use crate::world::{Held, Stats, Usage};
use pxelab_engine::Mac;
use pxelab_scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What a responder did with one request of a client (its `Silent` and `Answered`
/// effects), for `pxelab explain`.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// Seconds since scenario time 0.
    pub at: f64,
    pub responder: String,
    pub client: Mac,
    /// `None`: it answered; else the rule it stayed silent by and why.
    pub silent: Held,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BootRecord {
    pub client: String,
    pub boot: u32,
    pub outcome: Option<String>,
    pub boot_image: Option<String>,
    pub deployment: Option<String>,
    pub served_by: Option<String>,
    pub at_s: f64,
    pub took_s: Option<f64>,
    /// v1.1: the boot's network boot option when it is not `pxe4` (absent for PXE over
    /// IPv4, so v1 results are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netboot: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProbeRecord {
    pub index: usize,
    pub responder: String,
    pub file: String,
    /// `error`, `oack`, `data` or null (no answer).
    pub result: Option<String>,
    pub error_code: Option<u16>,
    pub oack: BTreeMap<String, String>,
}

/// A process's peak resident memory and open descriptors over a lab run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProcessPeak {
    pub process: String,
    pub peak_rss_kib: u64,
    pub peak_fds: u64,
    /// Samples taken (every 100 ms of the run).
    pub samples: u64,
}

/// One sample of a lab process's memory and descriptors, for a time series (the soak,
/// `pxelab bench soak`): a process's trend, not only its peak.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProcessSample {
    /// The lab's name for it (`responder-p1`, `swarm-floor`).
    pub process: String,
    /// A host started again (`up`) is a new process with a new PID.
    pub pid: u32,
    /// Seconds since scenario time 0.
    pub t_s: f64,
    /// Resident memory (`VmRSS`) and its anonymous part (`RssAnon`: the heap, without
    /// the mapped program), KiB.
    pub rss_kib: u64,
    pub anon_kib: u64,
    /// Open descriptors.
    pub fds: u64,
}

/// One scenario's result; its JSON is read back by `pxelab merge`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub file: String,
    pub scenario: String,
    pub mode: String,
    /// The scenario's tags (for the report's tallies; absent from older results).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub passed: bool,
    pub seed: u64,
    pub sim_time_s: f64,
    pub wall_time_s: f64,
    pub boots: Vec<BootRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tftp_requests: Vec<ProbeRecord>,
    pub failures: Vec<String>,
    pub packets: u64,
    pub events: u64,
    /// Lab only: peak memory and descriptors of the lab's long-running processes
    /// (responders, the modelled-client swarm), sampled while the scenario ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ProcessPeak>,
    /// Lab only: the same processes sampled once a second (not in the JSON results: a
    /// long run has thousands; `pxelab bench soak` reports their trends).
    #[serde(skip)]
    pub resource_series: Vec<ProcessSample>,
    #[serde(skip)]
    pub logs: Vec<(f64, String, String)>,
    /// What responders did with clients' requests (sim only).
    #[serde(skip)]
    pub decisions: Vec<Decision>,
    #[serde(skip)]
    pub traces: HashMap<String, Vec<(f64, String)>>,
    #[serde(skip)]
    pub stats: Stats,
    /// Bytes on the wire over virtual time (`pxelab bench storm`).
    #[serde(skip)]
    pub usage: Usage,
    /// Boots as message sequences, for `pxelab report` (a few per scenario, see
    /// `ladder::MAX_LADDERS`; absent from older results).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ladders: Vec<crate::ladder::Ladder>,
    /// The segment captures written (`--pcap`), as their paths were given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pcaps: Vec<String>,
    /// Lab: the wall clock (Unix seconds) at the run's time 0, which turns the segment
    /// captures' timestamps into the run's times (the simulator's captures are on its
    /// own clock already).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_s: Option<f64>,
    /// `pxelab run --lab --compare`: each boot's phases in the lab and the simulator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timing: Vec<crate::phases::BootTiming>,
    /// `--compare`: the lab overlay the simulator run it was compared with applied
    /// (`crate::lab_overlay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing_overlay: Option<crate::lab_overlay::OverlayApplied>,
}

impl ScenarioResult {
    /// A result with nothing in it yet, for a run of `sc` in `mode`.
    pub fn new(sc: &Scenario, mode: &str, seed: u64) -> ScenarioResult {
        ScenarioResult {
            file: sc.file.display().to_string(),
            scenario: sc.title.clone(),
            mode: mode.into(),
            tags: sc.tags.clone(),
            passed: false,
            seed,
            sim_time_s: 0.0,
            wall_time_s: 0.0,
            boots: Vec::new(),
            tftp_requests: Vec::new(),
            failures: Vec::new(),
            packets: 0,
            events: 0,
            resources: Vec::new(),
            resource_series: Vec::new(),
            logs: Vec::new(),
            decisions: Vec::new(),
            traces: HashMap::new(),
            stats: Stats::default(),
            usage: Default::default(),
            ladders: Vec::new(),
            pcaps: Vec::new(),
            started_unix_s: None,
            timing: Vec::new(),
            timing_overlay: None,
        }
    }
}

/// Seconds, rounded to the millisecond, as results give times.
pub(crate) fn secs(d: std::time::Duration) -> f64 {
    (d.as_nanos() as f64 / 1e6).round() / 1e3
}
