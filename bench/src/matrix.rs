//! The axes a bench sweeps, written as the flags take them (`--block-size 1432,8192`,
//! `--rate 100Mbit,veth`, `--delay 0,2ms`), parsed into lists, and the TFTP matrix
//! they make: every link × file size × block size × window size.

use pxelab_scenario::values::{parse_duration, parse_rate, parse_ratio, parse_size};
use std::time::Duration;

/// A point's link rate: emulated at a rate by the lab's switch, or the plain veth pair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    Bps(u64),
    /// The lab's veth pair, no emulation (lab only).
    Veth,
}

#[derive(Clone, Debug)]
pub struct Matrix {
    pub block_sizes: Vec<u16>,
    pub window_sizes: Vec<u16>,
    pub rates: Vec<Rate>,
    pub delays: Vec<Duration>,
    pub losses: Vec<f64>,
    pub sizes: Vec<u64>,
    pub repeat: u32,
}

impl Matrix {
    /// The links of the matrix: every rate × delay × loss; `veth` once, with no delay
    /// or loss (it has no emulation).
    pub fn links(&self) -> Vec<(Rate, Duration, f64)> {
        let mut out = Vec::new();
        for &r in &self.rates {
            match r {
                Rate::Veth => out.push((r, Duration::ZERO, 0.0)),
                Rate::Bps(_) => {
                    for &d in &self.delays {
                        for &l in &self.losses {
                            out.push((r, d, l));
                        }
                    }
                }
            }
        }
        out
    }

    pub fn points(&self) -> usize {
        self.links().len() * self.sizes.len() * self.block_sizes.len() * self.window_sizes.len()
    }
}

/// A comma-separated list, each item parsed by `f`; an error names the item.
pub fn list<T>(s: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    s.split(',')
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .map(|x| f(x).map_err(|e| format!("`{x}`: {e}")))
        .collect()
}

pub fn parse_u16_list(s: &str, what: &str, min: u16) -> Result<Vec<u16>, String> {
    list(s, |x| {
        x.parse::<u16>()
            .ok()
            .filter(|v| *v >= min)
            .ok_or_else(|| format!("{what} must be a whole number from {min} to 65535"))
    })
}

pub fn parse_u32_list(s: &str) -> Result<Vec<u32>, String> {
    list(s, |x| {
        x.parse::<u32>()
            .map_err(|_| "not a whole number".to_string())
    })
}

pub fn parse_rates(s: &str) -> Result<Vec<Rate>, String> {
    list(s, |x| {
        if x == "veth" {
            Ok(Rate::Veth)
        } else {
            parse_rate(x).map(Rate::Bps)
        }
    })
}

pub fn parse_delays(s: &str) -> Result<Vec<Duration>, String> {
    // A bare 0 is no delay (a duration needs a unit otherwise).
    list(s, |d| {
        if d.trim() == "0" {
            Ok(Duration::ZERO)
        } else {
            parse_duration(d)
        }
    })
}

pub fn parse_losses(s: &str) -> Result<Vec<f64>, String> {
    list(s, parse_ratio)
}

pub fn parse_sizes(s: &str) -> Result<Vec<u64>, String> {
    list(s, parse_size)
}

/// A flag's parse error as the command line says it: `--block-size `4`: ...`.
pub(crate) fn flag<T>(name: &str, r: Result<T, String>) -> Result<T, crate::Error> {
    r.map_err(|e| crate::Error::Usage(format!("{name} {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_say_what_is_wrong() {
        assert_eq!(
            parse_u16_list("512, 1432,4096", "block", 8).unwrap(),
            vec![512, 1432, 4096]
        );
        assert_eq!(parse_u16_list("1432,", "block", 8).unwrap(), vec![1432]);
        assert!(parse_u16_list("4", "block", 8)
            .unwrap_err()
            .contains("from 8"));
        assert_eq!(
            parse_rates("100Mbit,1Gbit, veth").unwrap(),
            vec![Rate::Bps(100_000_000), Rate::Bps(1_000_000_000), Rate::Veth]
        );
        assert!(parse_rates("fast").unwrap_err().contains("`fast`"));
        assert!(parse_sizes("12XB").is_err());
        assert_eq!(
            parse_delays("0,2ms").unwrap(),
            vec![Duration::ZERO, Duration::from_millis(2)]
        );
        assert_eq!(parse_losses("0.01,2%").unwrap(), vec![0.01, 0.02]);
        assert_eq!(parse_u32_list("1, 3").unwrap(), vec![1, 3]);
        assert!(parse_u32_list("x").unwrap_err().contains("`x`"));
    }

    #[test]
    fn veth_is_one_link_whatever_the_delays_and_losses() {
        let m = Matrix {
            block_sizes: vec![1432, 8192],
            window_sizes: vec![1, 4, 8],
            rates: vec![Rate::Bps(100_000_000), Rate::Veth],
            delays: vec![Duration::ZERO, Duration::from_millis(2)],
            losses: vec![0.0, 0.01],
            sizes: vec![1 << 20],
            repeat: 1,
        };
        let links = m.links();
        assert_eq!(links.len(), 4 + 1);
        assert_eq!(links[4], (Rate::Veth, Duration::ZERO, 0.0));
        assert_eq!(m.points(), 5 * 2 * 3);
    }
}
