//! The TFTP bench's points as CSV: every field of the JSON, one line a point, empty
//! cells for what a point does not have; the note quoted.

use crate::tftp::PointResult;
use std::fmt::Write as _;

pub fn tftp(points: &[PointResult]) -> String {
    let mut s = String::from(
        "mode,server,client,link,family,protocol,block_size,window_size,rate_bps,delay_s,loss,size,median_s,min_s,max_s,bound_s,ratio_to_bound,window_bound_s,ratio_to_window_bound,negotiated_block_size,negotiated_window_size,timeouts,failures,sim_s,lab_s,rel_error,mib_per_s,server_cpu_s_per_gib,note,p10_s,p90_s,runs,server_timeouts,server_logged,sim_p10_s,sim_p90_s,sim_runs,sim_timeouts,sim_server_timeouts,turnaround_s,sim_plain_s,sim_median_lo_s,sim_median_hi_s\n",
    );
    let o = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    let n = |v: Option<u32>| v.map_or(String::new(), |x| x.to_string());
    for p in points {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            p.mode,
            p.server,
            p.client,
            p.link,
            p.family,
            p.protocol,
            p.block_size,
            p.window_size,
            p.rate_bps.map_or(String::new(), |r| r.to_string()),
            p.delay_s,
            p.loss,
            p.size,
            o(p.median_s),
            o(p.min_s),
            o(p.max_s),
            o(p.bound_s),
            o(p.ratio_to_bound),
            o(p.window_bound_s),
            o(p.ratio_to_window_bound),
            p.negotiated_block_size,
            p.negotiated_window_size,
            p.timeouts,
            p.failures,
            o(p.sim_s),
            o(p.lab_s),
            o(p.rel_error),
            o(p.mib_per_s),
            o(p.server_cpu_s_per_gib),
            p.note.as_deref().unwrap_or("").replace('"', "'"),
            o(p.p10_s),
            o(p.p90_s),
            n(p.runs),
            o(p.server_timeouts),
            n(p.server_logged),
            o(p.sim_p10_s),
            o(p.sim_p90_s),
            n(p.sim_runs),
            o(p.sim_timeouts),
            o(p.sim_server_timeouts),
            o(p.turnaround_s),
            o(p.sim_plain_s),
            o(p.sim_median_lo_s),
            o(p.sim_median_hi_s),
        );
    }
    s
}
