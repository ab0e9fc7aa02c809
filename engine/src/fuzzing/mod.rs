//! Fuzz target bodies, compiled only with the `fuzzing` feature: shared by the fuzzers
//! in `fuzz/` and the regression test that replays `fuzz/regressions/` and
//! `fuzz/seeds/` under a plain `cargo test` (`engine/tests/fuzz_regressions.rs`, which
//! turns the feature on). See docs/FUZZING.md.
//!
//! Each target takes the fuzzer's bytes and panics only when the engine broke a
//! promise: a panic inside the engine, or an invariant its rules guarantee.
//!
//! - [`dhcp()`]: one UDP payload through the strict DHCP parser, the proxy reply
//!   builders, the relay agent (both directions) and the built-in DHCP server.
//! - [`tftp()`]: a read request and a sequence of client events through the TFTP
//!   packet parser, path normalisation, option negotiation and a server transfer.
//! - [`responder()`]: a whole responder (distribution point or peer, chosen by the
//!   input) fed a sequence of datagrams to ports 67, 4011, 69, 4012 and its transfer
//!   ports, time advances and timeouts.
//!
//! - [`dhcp6()`]: one UDP payload through the DHCPv6 decoder, boot request reader,
//!   relay unwrapping and answers, and a responder over IPv6 (R-V6, R-HTTP-1).
//! - [`http_request()`]: one HTTP request head through the parser (R-HTTP-2).
//! - [`http_server()`]: an HTTP connection driven by a script (R-HTTP-2, R-HTTP-3).
//!
//! The sequence formats are written by [`ResponderScript`] and [`TftpScript`] (the
//! seeding tool uses them) and read leniently: whatever the bytes, they decode to
//! something, and a truncated record ends the sequence. The site, boot root and
//! machines the targets use are the engine's test kit ([`crate::testkit`]).

mod bytes;
pub mod dhcp;
pub mod dhcp6;
pub mod http;
pub mod responder;
pub mod tftp;

use std::net::Ipv4Addr;

/// The fuzzed responder's address.
pub const ME: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 5);

pub use dhcp::dhcp;
pub use dhcp6::dhcp6;
pub use http::{http_request, http_server};
pub use responder::{
    build_responder, dst, flag, fuzz_key, kind, responder, step, Harness, ResponderScript, SOURCES,
};
pub use tftp::{tftp, tftp_event, TftpScript, BLOCK_SIZES, WINDOW_SIZES};
