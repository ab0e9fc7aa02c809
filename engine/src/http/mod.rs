//! The responder's HTTP/1.1 file server for UEFI HTTP boot (R-HTTP-2, R-HTTP-3),
//! sans-IO: bytes and time go in, bytes and deadlines come out.
//!
//! - [`request`]: one request head read with `httparse` (GET and HEAD, the target
//!   percent-decoded and confined to the boot root as TFTP names are, R-TFTP-3; a
//!   single byte range).
//! - [`server`]: one connection's state machine: bounded input (a capped request
//!   head, no request body), the response body pulled in chunks as the client reads
//!   it, keep-alive, and a deadline that closes idle or stalled connections.
//!
//! The owner (the responder, a daemon, the simulator) opens the files: a connection
//! says which path it wants ([`server::Connection::handle_input`]) and is given the
//! file or the status to answer ([`server::Connection::respond`]).

pub mod request;
pub mod server;

pub use request::{parse_head, ByteRange, Head, HeadError, Method};
pub use server::{Connection, HttpLimits, Status};
