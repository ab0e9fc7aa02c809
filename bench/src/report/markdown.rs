//! The TFTP bench's points as a markdown table (what BENCHMARKS.md pastes), then the
//! servers' notes as paragraphs.

use super::tftp_cells;
use crate::tftp::PointResult;
use std::fmt::Write as _;

pub fn tftp(points: &[PointResult]) -> String {
    let cells = tftp_cells(points);
    let mut s = String::new();
    let _ = writeln!(s, "| {} |", cells.head.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(cells.head.len()));
    for r in &cells.rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    for n in &cells.notes {
        let _ = writeln!(s, "\nnote: {n}");
    }
    s
}
