//! pxelab's benchmarks as a library: the TFTP matrix (`tftp`), boot storms (`storm`),
//! proxy DHCP under load (`dhcp`), the soak (`soak`) and the simulator's speed (`sim`); the axes they sweep
//! (`matrix`), their statistics (`stats`) and their reports (`report`: terminal table,
//! CSV, markdown, SVG plot). The lab side (namespaces, switch, real servers) is
//! `pxelab_harness::bench`, the TFTP predictor `pxelab_sim::tftp_bench`; the command
//! line and the progress bars are the binary's. Nothing here prints.

#![forbid(unsafe_code)]

pub mod bench_file;
pub mod dhcp;
pub mod error;
pub mod firmware_matrix;
pub mod matrix;
pub mod report;
pub mod sim;
pub mod soak;
pub mod stats;
pub mod storm;
pub mod tftp;
pub mod tftp_http;

pub use error::Error;

/// Where a bench runs: the simulator's prediction, the lab's measurement, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Sim,
    Lab,
    Both,
}

impl Mode {
    pub fn sim(self) -> bool {
        self != Mode::Lab
    }
    pub fn lab(self) -> bool {
        self != Mode::Sim
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sim => "sim",
            Mode::Lab => "lab",
            Mode::Both => "both",
        }
    }
}
