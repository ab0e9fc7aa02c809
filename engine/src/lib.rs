//! pxelab responder engine: sans-IO state machines.
//!
//! Time and datagrams go in; datagrams, log lines and state changes come out.
//! No sockets, no clocks, no threads live here: the simulator (`pxelab-sim`) and
//! the daemon (`pxelab serve`) drive these machines.
//!
//! Every rule of the responder rules (`docs/RULES.md`) lives in one place that names
//! its id (search the source for `R-SEL-3` and so on).

#![forbid(unsafe_code)]

pub mod bootfiles;
pub mod dhcp;
pub mod dhcp6;
pub mod election;
pub mod exclusion;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod http;
pub mod ids;
pub mod policy;
pub mod responder;
pub mod select;
pub mod state;
/// Fixtures for tests, benches and fuzz targets (the `testkit` feature).
#[doc(hidden)]
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod tftp;
pub mod time;

pub use ids::{Guid, Mac};
pub use time::Instant;
