//! R-STATE-3: a crash (kill -9) at any moment loses no recorded state and corrupts
//! nothing. A child process records deployments in a loop and prints each one after
//! `record` returned (that is when the responder would reply); the parent kills it with
//! SIGKILL at varying moments, then checks that the database opens clean and holds every
//! record the child acknowledged.

use pxelab_daemon::store::SqliteStore;
use pxelab_engine::state::{DeviceKey, StateStore};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The child's loop; run only when the parent asks for it.
#[test]
#[ignore = "run by r_state_3_kill_9_loses_no_acknowledged_record as a child process"]
fn crash_child() {
    let path = std::env::var("PXELAB_CRASH_DB").expect("PXELAB_CRASH_DB");
    let first: u64 = std::env::var("PXELAB_CRASH_FIRST")
        .unwrap()
        .parse()
        .unwrap();
    let mut s = SqliteStore::open(path.as_ref()).unwrap();
    let out = std::io::stdout();
    for i in first.. {
        s.record(&DeviceKey::machine(&format!("WS{i:06}")), "PS120001")
            .unwrap();
        let mut o = out.lock();
        writeln!(o, "ack {i}").unwrap();
        o.flush().unwrap();
    }
}

#[test]
fn r_state_3_kill_9_loses_no_acknowledged_record() {
    let dir = std::env::temp_dir().join(format!("pxelab-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let exe = std::env::current_exe().unwrap();
    let rounds = 1000;
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("PXELAB_CRASH_DB", &db)
            .env("PXELAB_CRASH_FIRST", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Kill after a varying number of acknowledgements, or at once for some rounds
        // (a crash during opening or the first write).
        let wait_for = [0usize, 1, 3, 7, 20][round % 5];
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = 0;
        while seen < wait_for && Instant::now() < deadline {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(n) = l.strip_prefix("ack ") {
                        acked.push(n.parse().unwrap());
                        seen += 1;
                    }
                }
                _ => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
                               // Lines already written before the kill were acknowledged too.
        for l in lines.map_while(Result::ok) {
            if let Some(n) = l.strip_prefix("ack ") {
                acked.push(n.parse().unwrap());
            }
        }
        let _ = child.wait();
        next = acked.iter().max().map_or(next, |m| m + 1) + 1000;
        let s = SqliteStore::open(&db).unwrap();
        assert!(
            s.integrity_ok().unwrap(),
            "round {round}: integrity check failed"
        );
        for i in &acked {
            assert!(
                s.is_recorded(&DeviceKey::machine(&format!("WS{i:06}")), "PS120001"),
                "round {round}: acknowledged record {i} lost"
            );
        }
    }
    assert!(
        acked.len() > 1000,
        "only {} records acknowledged in {rounds} rounds",
        acked.len()
    );
    println!(
        "{rounds} kills, {} acknowledged records, none lost, integrity ok after each",
        acked.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
