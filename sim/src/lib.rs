//! pxelab's simulator: discrete events in virtual time, seeded randomness, no wall
//! clock. It builds a scenario's network (segments, routers with IP helpers, DHCP
//! servers, responders running the engine, clients with firmware models) and runs
//! its timeline.

#![forbid(unsafe_code)]

mod block_crc;
pub mod build;
mod build6;
pub mod client;
pub mod client_http;
pub mod content;
mod deliver6;
mod event_queue;
pub mod expect;
pub mod http_host;
pub mod ipv6;
pub mod lab_overlay;
pub mod ladder;
pub mod ladder_pcap;
pub mod learn;
pub mod link;
pub mod merge;
pub mod parallel;
pub mod pcap;
pub mod phases;
pub mod result;
pub mod run;
pub mod tcp;
mod testbed;
pub mod tftp_bench;
pub mod timeline;
mod unreachable;
pub mod world;

pub use build::RunOptions;
pub use result::ScenarioResult;
pub use run::run_scenario;
