//! R-STATE-1..3 on disk: SQLite in WAL mode with `synchronous = FULL`, so a record is
//! on stable storage when [`StateStore::record`] returns, and a `kill -9` at any moment
//! leaves a database that opens clean with every acknowledged record in it.

use pxelab_engine::state::{DeviceKey, StateError, StateStore};
use rusqlite::{params, Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    conn: Connection,
}

fn err(e: rusqlite::Error) -> StateError {
    StateError(e.to_string())
}

impl SqliteStore {
    /// Open (or create) the site's state database. Several responders may open the
    /// same file: writers wait up to 5 s for each other.
    pub fn open(path: &Path) -> Result<SqliteStore, StateError> {
        // Switching a new file to WAL and creating the table take locks for which
        // SQLite may answer "database is locked" at once instead of calling the busy
        // handler, when a site's responders start together (the lab starts them at
        // once). Such an open is tried again for up to 10 s.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match Self::try_open(path) {
                Ok(s) => return Ok(s),
                Err(e)
                    if matches!(
                        e.sqlite_error_code(),
                        Some(
                            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                        )
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(StateError(format!("{}: {e}", path.display()))),
            }
        }
    }

    fn try_open(path: &Path) -> Result<SqliteStore, rusqlite::Error> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS required_runs (
                 device TEXT NOT NULL,
                 deployment TEXT NOT NULL,
                 PRIMARY KEY (device, deployment)
             ) WITHOUT ROWID;",
        )?;
        Ok(SqliteStore { conn })
    }

    /// `PRAGMA integrity_check` says "ok".
    pub fn integrity_ok(&self) -> Result<bool, StateError> {
        let s: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(err)?;
        Ok(s == "ok")
    }

    /// Every record, ordered (for tests and `pxelab` reporting).
    pub fn records(&self) -> Result<Vec<(String, String)>, StateError> {
        let mut st = self
            .conn
            .prepare("SELECT device, deployment FROM required_runs ORDER BY device, deployment")
            .map_err(err)?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        Ok(rows)
    }
}

impl StateStore for SqliteStore {
    fn is_recorded(&self, device: &DeviceKey, deployment: &str) -> bool {
        self.conn
            .query_row(
                "SELECT 1 FROM required_runs WHERE device = ?1 AND deployment = ?2",
                params![device.to_string(), deployment],
                |_| Ok(()),
            )
            .is_ok()
    }

    /// R-STATE-1: durable (WAL, fsync) before this returns, hence before the reply.
    fn record(&mut self, device: &DeviceKey, deployment: &str) -> Result<(), StateError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO required_runs (device, deployment) VALUES (?1, ?2)",
                params![device.to_string(), deployment],
            )
            .map(|_| ())
            .map_err(err)
    }

    fn clear_device(&mut self, device: &DeviceKey) -> usize {
        self.conn
            .execute(
                "DELETE FROM required_runs WHERE device = ?1",
                params![device.to_string()],
            )
            .unwrap_or(0)
    }

    fn clear_unknown_devices(&mut self) -> usize {
        self.conn
            .execute(
                "DELETE FROM required_runs WHERE device LIKE 'unknown:%'",
                [],
            )
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("pxelab-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.join("state.db")
    }

    #[test]
    fn r_state_1_2_records_survive_reopen_and_clear() {
        let p = tmp("reopen");
        let ws01 = DeviceKey::machine("WS01");
        let unknown = DeviceKey::Unknown {
            mac: "52:54:00:00:00:09".parse().unwrap(),
            guid: None,
        };
        {
            let mut s = SqliteStore::open(&p).unwrap();
            s.record(&ws01, "PS120001").unwrap();
            s.record(&ws01, "PS120001").unwrap(); // idempotent
            s.record(&unknown, "PS120002").unwrap();
        }
        let mut s = SqliteStore::open(&p).unwrap();
        assert!(s.is_recorded(&ws01, "PS120001"));
        assert!(!s.is_recorded(&ws01, "PS120002"));
        assert_eq!(s.records().unwrap().len(), 2);
        assert_eq!(s.clear_unknown_devices(), 1);
        assert_eq!(s.clear_device(&ws01), 1);
        assert!(s.records().unwrap().is_empty());
        assert!(s.integrity_ok().unwrap());
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    #[test]
    fn two_responders_share_one_file() {
        let p = tmp("shared");
        let mut a = SqliteStore::open(&p).unwrap();
        let b = SqliteStore::open(&p).unwrap();
        a.record(&DeviceKey::machine("WS02"), "PS120003").unwrap();
        assert!(b.is_recorded(&DeviceKey::machine("WS02"), "PS120003"));
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }
}

#[cfg(test)]
mod open_tests {
    use super::*;

    /// A site's responders start together and open one database (the lab starts them
    /// at once): every open succeeds, also the first ones, which create it.
    #[test]
    fn responders_opening_a_new_database_at_once_all_succeed() {
        for round in 0..200 {
            let dir =
                std::env::temp_dir().join(format!("pxelab-open-{}-{round}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("state.db");
            let errors: Vec<String> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..6)
                    .map(|_| s.spawn(|| SqliteStore::open(&path).err().map(|e| e.to_string())))
                    .collect();
                hs.into_iter().filter_map(|h| h.join().unwrap()).collect()
            });
            let _ = std::fs::remove_dir_all(&dir);
            assert!(errors.is_empty(), "round {round}: {errors:?}");
        }
    }
}
