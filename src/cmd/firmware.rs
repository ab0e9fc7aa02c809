//! `pxelab firmware learn`: a firmware profile from a capture of one machine's PXE boot
//! (docs/PROFILES.md; the work is in `pxelab_sim::learn`).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum FirmwareCmd {
    /// Write a firmware profile learned from a capture (pcap or pcapng) of one machine's
    /// network boot (PXE over IPv4 or IPv6, UEFI HTTP boot): the family, each DHCP and
    /// DHCPv6 message's options in order and their values, the DISCOVER and Solicit
    /// retransmission times, the offer collection, the TFTP options, size probe and
    /// timeout, the firmware's gaps before its reads and its time per packet. What the
    /// capture does not show comes from the built-in profile of the guessed firmware
    /// (the profile's first lines say what). A capture with no network boot, with
    /// several clients booting, or damaged, is an error and nothing is written.
    Learn {
        /// The capture (pcap or pcapng, Ethernet).
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
