//! Replays the fuzzers' inputs without a fuzzer: every file in `fuzz/regressions/TARGET/`
//! (inputs that once crashed a target, kept after the fix) and `fuzz/seeds/TARGET/` (the
//! seed corpora written from the firmware captures) goes through the function the fuzz
//! target `TARGET` calls (`pxelab_engine::fuzzing`), which panics when the engine
//! panics or breaks one of the invariants it checks. See docs/FUZZING.md.

use pxelab_engine::fuzzing;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn inputs(target: &str, kind: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `target`; returns how many regressions and seeds ran.
fn replay(target: &str, f: fn(&[u8])) -> (usize, usize) {
    let mut failed = Vec::new();
    let regressions = inputs(target, "regressions");
    let seeds = inputs(target, "seeds");
    for path in regressions.iter().chain(&seeds) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| f(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "fuzz target {target} fails on: {failed:#?}\n(reproduce with scripts/fuzz.sh repro {target} FILE)"
    );
    (regressions.len(), seeds.len())
}

#[test]
fn dhcp_regressions_and_seeds() {
    let (regressions, seeds) = replay("dhcp", fuzzing::dhcp);
    assert!(regressions >= 1, "the fixed crashes are kept");
    assert!(
        seeds >= 20,
        "the captures' DHCP payloads are seeds ({seeds})"
    );
}

#[test]
fn tftp_regressions_and_seeds() {
    let (_, seeds) = replay("tftp", fuzzing::tftp);
    assert!(
        seeds >= 20,
        "the captures' TFTP payloads are seeds ({seeds})"
    );
}

#[test]
fn responder_regressions_and_seeds() {
    let (_, seeds) = replay("responder", fuzzing::responder);
    assert!(
        seeds >= 20,
        "the capture replays and boots are seeds ({seeds})"
    );
}

#[test]
fn dhcp6_and_http_regressions_and_seeds() {
    let (_, dhcp6) = replay("dhcp6", fuzzing::dhcp6);
    let (_, request) = replay("http_request", fuzzing::http_request);
    let (_, server) = replay("http_server", fuzzing::http_server);
    assert!(
        dhcp6 >= 3 && request >= 3 && server >= 2,
        "hand-written seeds until the lab's IPv6 and HTTP captures exist ({dhcp6}, {request}, {server})"
    );
}

/// Bytes of every length up to 600 go through each target without a panic.
#[test]
fn targets_take_any_bytes() {
    let mut bytes = Vec::new();
    for n in 0..600u32 {
        bytes.push((n.wrapping_mul(2_654_435_761) >> 13) as u8);
        fuzzing::dhcp(&bytes);
        fuzzing::tftp(&bytes);
        fuzzing::responder(&bytes);
        fuzzing::dhcp6(&bytes);
        fuzzing::http_request(&bytes);
        fuzzing::http_server(&bytes);
    }
}
