//! The I/O edges of `pxelab serve`: what the sans-IO engine needs from a real machine.
//!
//! - [`store::SqliteStore`]: the required-deployment records (R-STATE-1..3) in SQLite
//!   (WAL, synchronous FULL), shared by every responder of a site that opens the same
//!   file, durable before the engine replies.
//! - [`root::FsRoot`]: the boot root on disk, read-only, case-insensitive, and confined
//!   (R-TFTP-3): no symlink that leaves the root, no device file, nothing but regular files.

pub mod audit;
pub mod audit_report;
pub mod reply6;
pub mod root;
pub mod serve;
pub mod serve6;
pub mod serve_http;
pub mod store;
