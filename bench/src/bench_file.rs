//! The TFTP bench's settings: the command line's flags, else a bench file's keys
//! (`scenarios/bench/*.yaml`, each key the flag of the same name), else the defaults;
//! resolved into the matrix, the servers and clients, and what the mode allows.

use crate::matrix::{
    flag, list, parse_delays, parse_losses, parse_rates, parse_sizes, parse_u16_list, Matrix, Rate,
};
use crate::{Error, Mode};
use pxelab_harness::bench::{Client, Family, Server};
use serde::Deserialize;
use std::path::Path;

/// A bench file (`scenarios/bench/*.yaml`): the matrix and the run's settings, each key
/// as the flag of the same name (`block_size` is `--block-size`); a value is one item or
/// a list. Flags given on the command line override the file. Documented in
/// `scenario/REFERENCE.md`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchFile {
    /// A title, printed nowhere; for the reader.
    #[allow(dead_code)]
    pub bench: Option<String>,
    pub mode: Option<String>,
    pub servers: Option<Items>,
    pub clients: Option<Items>,
    pub family: Option<Items>,
    pub block_size: Option<Items>,
    pub window_size: Option<Items>,
    pub rate: Option<Items>,
    pub delay: Option<Items>,
    pub loss: Option<Items>,
    pub size: Option<Items>,
    pub repeat: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Items {
    Many(Vec<Item>),
    One(Item),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Item {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Items {
    /// The flag's form: items joined by commas.
    pub fn joined(&self) -> String {
        let one = |i: &Item| match i {
            Item::Int(v) => v.to_string(),
            Item::Float(v) => v.to_string(),
            Item::Text(v) => v.clone(),
        };
        match self {
            Items::One(i) => one(i),
            Items::Many(v) => v.iter().map(one).collect::<Vec<_>>().join(","),
        }
    }
}

impl BenchFile {
    pub fn load(path: &Path) -> Result<BenchFile, Error> {
        let file_error = |message: String| Error::BenchFile {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        serde_saphyr::from_str(&text).map_err(|e| {
            let e = e.to_string();
            file_error(e.trim_start_matches("error: ").to_string())
        })
    }
}

/// The flags a bench file's keys stand for; given, they win over the file.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TftpFlags {
    /// sim: the simulator's prediction; lab: real transfers between two network
    /// namespaces (root; the lab's switch emulates the link); both: the two, with the
    /// relative error per point. [default: sim]
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Servers to compare: pxelab, atftpd, tftpd-hpa, dnsmasq (lab; the simulator models
    /// pxelab's own); and over HTTP, the same file downloaded by curl, one point per
    /// link (no block or window size): pxelab-http (`pxelab serve`'s), lighttpd.
    /// [default: pxelab]
    #[arg(long, value_delimiter = ',', value_parser = Server::parse)]
    pub servers: Vec<Server>,
    /// Clients: pxelab (our own), atftp, and the firmware itself under QEMU: ovmf
    /// (blksize 1468, windowsize 4), ipxe (blksize 1432): one point each, whatever the
    /// block and window lists (lab). [default: pxelab]
    #[arg(long, value_delimiter = ',', value_parser = Client::parse)]
    pub clients: Vec<Client>,
    /// IP family of the transfers: 4, 6, or 4,6 for both, one after the other (lab:
    /// the simulator's link model counts IPv4 headers and fragments). IPv6 runs our own
    /// server and client only so far. [default: 4]
    #[arg(long, value_delimiter = ',', value_parser = Family::parse)]
    pub family: Vec<Family>,
    /// [default: 1432,4096,8192]
    #[arg(long)]
    pub block_size: Option<String>,
    /// [default: 1,4,8,16]
    #[arg(long)]
    pub window_size: Option<String>,
    /// Link rates, e.g. 100Mbit,1Gbit; `veth` is the lab's plain veth pair (no
    /// emulation, no delay or loss). [default: 1Gbit]
    #[arg(long)]
    pub rate: Option<String>,
    /// One-way delays. [default: 1ms]
    #[arg(long)]
    pub delay: Option<String>,
    /// Loss ratios (0.01 or 1%). [default: 0]
    #[arg(long)]
    pub loss: Option<String>,
    /// File sizes. [default: 16MiB]
    #[arg(long)]
    pub size: Option<String>,
    /// Runs per point (each with its own loss draws); median and spread reported.
    /// [default: 3]
    #[arg(long)]
    pub repeat: Option<u32>,
}

/// What a TFTP bench runs: where, against which servers and clients, over which matrix;
/// and the notes to show the user (what a bench file asked for that the mode leaves out).
#[derive(Debug)]
pub struct TftpSettings {
    pub mode: Mode,
    pub servers: Vec<Server>,
    pub clients: Vec<Client>,
    pub families: Vec<Family>,
    pub matrix: Matrix,
    pub notes: Vec<String>,
}

impl TftpFlags {
    /// The settings from these flags over the bench file `file` (if any) over the
    /// defaults; a refused value names its flag.
    pub fn resolve(&self, file: Option<&Path>) -> Result<TftpSettings, Error> {
        let f = match file {
            Some(p) => BenchFile::load(p)?,
            None => BenchFile::default(),
        };
        let pick = |cli: &Option<String>, file: &Option<Items>, default: &str| {
            cli.clone()
                .or_else(|| file.as_ref().map(|i| i.joined()))
                .unwrap_or_else(|| default.to_string())
        };
        let mode = match (self.mode, &f.mode) {
            (Some(m), _) => m,
            (None, Some(m)) => clap::ValueEnum::from_str(m, false)
                .map_err(|_| Error::Usage(format!("--mode {m}: use sim, lab or both")))?,
            (None, None) => Mode::Sim,
        };
        let servers = if self.servers.is_empty() {
            let names = pick(&None, &f.servers, "pxelab");
            flag("--servers", list(&names, Server::parse))?
        } else {
            self.servers.clone()
        };
        let clients = if self.clients.is_empty() {
            let names = pick(&None, &f.clients, "pxelab");
            flag("--clients", list(&names, Client::parse))?
        } else {
            self.clients.clone()
        };
        let families = if self.family.is_empty() {
            let names = pick(&None, &f.family, "4");
            flag("--family", list(&names, Family::parse))?
        } else {
            self.family.clone()
        };
        if families.contains(&Family::V6) {
            // The simulator's frames carry IPv4 headers and fragments: an IPv6 point
            // would be a different prediction, not modelled yet.
            if mode != Mode::Lab {
                return Err(Error::Usage(format!(
                    "--family 6 runs in the lab only (--mode lab): the simulator's link model counts IPv4 headers and fragments, not IPv6's 20 bytes more a frame (--mode {})",
                    mode.as_str()
                )));
            }
            if let Some(why) = servers.iter().find_map(|s| Family::V6.refuses(*s)) {
                return Err(Error::Usage(format!("--family 6: {why}")));
            }
            if let Some(c) = clients.iter().find(|c| **c != Client::Pxelab) {
                return Err(Error::Usage(format!(
                    "--family 6: the {} client is not run over IPv6 by the bench (only pxelab's is, so far)",
                    c.name()
                )));
            }
        }
        let block_size = pick(&self.block_size, &f.block_size, "1432,4096,8192");
        let window_size = pick(&self.window_size, &f.window_size, "1,4,8,16");
        let mut matrix = Matrix {
            block_sizes: flag(
                "--block-size",
                parse_u16_list(&block_size, "--block-size", 8),
            )?,
            window_sizes: flag(
                "--window-size",
                parse_u16_list(&window_size, "--window-size", 1),
            )?,
            rates: flag("--rate", parse_rates(&pick(&self.rate, &f.rate, "1Gbit")))?,
            delays: flag("--delay", parse_delays(&pick(&self.delay, &f.delay, "1ms")))?,
            losses: flag("--loss", parse_losses(&pick(&self.loss, &f.loss, "0")))?,
            sizes: flag("--size", parse_sizes(&pick(&self.size, &f.size, "16MiB")))?,
            repeat: self.repeat.or(f.repeat).unwrap_or(3),
        };
        let mut notes = Vec::new();
        if mode == Mode::Sim {
            // What only the lab has: an error when asked for on the command line; left
            // out, with a note, when it comes from a bench file run with --mode sim.
            if let Some(s) = servers.iter().find(|s| **s != Server::Pxelab) {
                if !self.servers.is_empty() {
                    return Err(Error::Usage(format!(
                        "--servers: `{}` runs only in the lab (--mode lab or both); the simulator models pxelab's own server",
                        s.name()
                    )));
                }
                notes.push("the simulator models pxelab's own server only; the other servers run in the lab (--mode lab or both)".to_string());
            }
            if matrix.rates.contains(&Rate::Veth) {
                if self.rate.is_some() {
                    return Err(Error::Usage(
                        "--rate veth: the veth pair is a lab link (--mode lab or both)".into(),
                    ));
                }
                notes.push(
                    "the veth link is left out: it is a lab link (--mode lab or both)".into(),
                );
                matrix.rates.retain(|r| *r != Rate::Veth);
                if matrix.rates.is_empty() {
                    return Err(Error::Usage(
                        "no link to simulate: the bench file has only veth".into(),
                    ));
                }
            }
        }
        if matrix.block_sizes.iter().any(|b| *b > 65464) {
            return Err(Error::Usage(
                "--block-size: at most 65464 (RFC 2348)".into(),
            ));
        }
        if servers.is_empty() || clients.is_empty() || matrix.points() == 0 {
            return Err(Error::Usage("the matrix is empty".into()));
        }
        Ok(TftpSettings {
            mode,
            servers,
            clients,
            families,
            matrix,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pxelab-bench-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join(name);
        std::fs::write(&f, text).unwrap();
        f
    }

    #[test]
    fn the_defaults_make_the_documented_matrix() {
        let s = TftpFlags::default().resolve(None).unwrap();
        assert_eq!(s.mode, Mode::Sim);
        assert_eq!(
            (s.servers, s.clients),
            (vec![Server::Pxelab], vec![Client::Pxelab])
        );
        let m = s.matrix;
        assert_eq!(m.block_sizes, [1432, 4096, 8192]);
        assert_eq!(m.window_sizes, [1, 4, 8, 16]);
        assert_eq!(m.rates, [Rate::Bps(1_000_000_000)]);
        assert_eq!((m.sizes[0], m.repeat), (16 << 20, 3));
        assert!(s.notes.is_empty());
    }

    #[test]
    fn flags_win_over_the_file_and_lab_only_items_become_notes() {
        let f = file(
            "lab.yaml",
            "bench: t\nservers: [pxelab, atftpd]\nrate: [100Mbit, veth]\nblock_size: [1432, 8192]\nwindow_size: 4\n",
        );
        let flags = TftpFlags {
            window_size: Some("1,2".into()),
            ..Default::default()
        };
        let s = flags.resolve(Some(&f)).unwrap();
        assert_eq!(s.matrix.block_sizes, [1432, 8192]);
        assert_eq!(s.matrix.window_sizes, [1, 2]);
        assert_eq!(s.matrix.rates, [Rate::Bps(100_000_000)]);
        assert_eq!(s.notes.len(), 2, "{:?}", s.notes);
        // The same on the command line is an error naming the flag.
        let flags = TftpFlags {
            rate: Some("veth".into()),
            ..Default::default()
        };
        let e = flags.resolve(None).unwrap_err().to_string();
        assert!(e.starts_with("--rate veth"), "{e}");
        let flags = TftpFlags {
            servers: vec![Server::Atftpd],
            ..Default::default()
        };
        let e = flags.resolve(None).unwrap_err().to_string();
        assert!(
            e.starts_with("--servers: `atftpd` runs only in the lab"),
            "{e}"
        );
    }

    #[test]
    fn ipv6_runs_in_the_lab_with_our_own_server_and_client_only() {
        let f = file("fam.yaml", "bench: f\nmode: lab\nfamily: [4, 6]\n");
        let s = TftpFlags::default().resolve(Some(&f)).unwrap();
        assert_eq!(s.families, [Family::V4, Family::V6]);
        assert_eq!(
            TftpFlags::default().resolve(None).unwrap().families,
            [Family::V4]
        );
        let v6 = |mode, servers: Vec<Server>| {
            TftpFlags {
                mode: Some(mode),
                family: vec![Family::V6],
                servers,
                ..Default::default()
            }
            .resolve(None)
        };
        let e = v6(Mode::Sim, vec![]).unwrap_err().to_string();
        assert!(e.starts_with("--family 6 runs in the lab only"), "{e}");
        let e = v6(Mode::Lab, vec![Server::Pxelab, Server::Dnsmasq])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--family 6: dnsmasq"), "{e}");
        assert!(v6(Mode::Lab, vec![Server::Pxelab]).is_ok());
    }

    #[test]
    fn bad_values_and_files_are_refused_with_where() {
        let flags = TftpFlags {
            block_size: Some("65465".into()),
            ..Default::default()
        };
        assert!(flags
            .resolve(None)
            .unwrap_err()
            .to_string()
            .contains("65464"));
        let f = file("typo.yaml", "bench: typo\nblock_sise: [512]\n");
        let e = TftpFlags::default()
            .resolve(Some(&f))
            .unwrap_err()
            .to_string();
        assert!(e.contains("typo.yaml") && e.contains("block_sise"), "{e}");
        let f = file("mode.yaml", "mode: lan\n");
        let e = TftpFlags::default()
            .resolve(Some(&f))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--mode lan: use sim, lab or both");
    }
}
