//! `pxelab firmware learn`: a firmware profile from a capture of one machine's PXE boot
//! (docs/PROFILES.md; the work is in `pxelab_sim::learn`).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum FirmwareCmd {
    /// Write a firmware profile learned from a capture (pcap) of one machine's PXE boot
    /// over IPv4: the family, each DHCP message's options in order and their values,
    /// the DISCOVER retransmission timeouts, the TFTP options and size probe, the time
    /// per packet. What the capture does not show comes from the built-in profile of the
    /// guessed firmware (the profile's first lines say what). A capture with no PXE boot,
    /// or with several clients booting, is an error and nothing is written.
    Learn {
        /// The capture (pcap, Ethernet).
        capture: PathBuf,
        /// Where to write the profile (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub fn firmware(what: FirmwareCmd) -> Result<ExitCode, crate::Error> {
    match what {
        FirmwareCmd::Learn { capture, output } => {
            let learned = pxelab_sim::learn::learn_file(&capture)?;
            for n in &learned.notes {
                eprintln!("note: {n}");
            }
            match output {
                Some(path) => {
                    std::fs::write(&path, &learned.yaml)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{}", learned.yaml),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
