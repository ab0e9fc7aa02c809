//! The server's own count of its resends, for `pxelab serve` only: it logs a line per
//! finished transfer (target `pxelab::tftp_done`, turned on by the bench) with the
//! timeouts that resent something and the blocks they resent. A transfer whose last
//! ACK was lost never finishes on the server's side before the client has gone: it
//! has no line, and the bench says how many transfers it counted.

use super::BenchLab;
use std::time::{Duration, Instant};

/// Where the server's log ends now: the next transfer's line comes after it.
#[derive(Clone, Copy, Debug)]
pub struct LogMark(u64);

/// What a finished transfer's line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerResends {
    pub timeouts: u64,
    pub resent_blocks: u64,
}

impl BenchLab {
    fn server_log(&self) -> std::path::PathBuf {
        self.dir.join("pxelab.err")
    }

    pub fn server_log_mark(&self) -> LogMark {
        LogMark(std::fs::metadata(self.server_log()).map_or(0, |m| m.len()))
    }

    /// The resends of the first transfer that finished after `mark`, waiting up to
    /// `wait` for its line (the server logs it when the last ACK arrives, which may
    /// come after the client has printed its result).
    pub fn server_resends_since(&self, mark: LogMark, wait: Duration) -> Option<ServerResends> {
        let until = Instant::now() + wait;
        loop {
            let text = std::fs::read(self.server_log()).unwrap_or_default();
            let new = text.get(mark.0 as usize..).unwrap_or_default();
            if let Some(r) = String::from_utf8_lossy(new)
                .lines()
                .find_map(parse_done_line)
            {
                return Some(r);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `... TFTP transfer done ... timeouts=3 resent_blocks=5`, colours or not.
pub fn parse_done_line(line: &str) -> Option<ServerResends> {
    let plain = strip_ansi(line);
    if !plain.contains("TFTP transfer done") {
        return None;
    }
    let field = |name: &str| -> Option<u64> {
        plain
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    Some(ServerResends {
        timeouts: field("timeouts")?,
        resent_blocks: field("resent_blocks")?,
    })
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, up to the final letter.
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_done_line_is_read_with_or_without_colours() {
        let plain = "2026-12-01T01:00:00Z DEBUG pxelab::tftp_done: TFTP transfer done responder=bench client=10.201.0.2:40000 port=50001 timeouts=3 resent_blocks=17";
        let want = Some(ServerResends {
            timeouts: 3,
            resent_blocks: 17,
        });
        assert_eq!(parse_done_line(plain), want);
        let coloured = "\u{1b}[2m2026\u{1b}[0m \u{1b}[34mDEBUG\u{1b}[0m TFTP transfer done \u{1b}[3mtimeouts\u{1b}[0m\u{1b}[2m=\u{1b}[0m3 \u{1b}[3mresent_blocks\u{1b}[0m\u{1b}[2m=\u{1b}[0m17";
        assert_eq!(parse_done_line(coloured), want);
        assert_eq!(parse_done_line("WARN send failed: timeouts=3"), None);
        assert_eq!(parse_done_line("TFTP transfer done timeouts=x"), None);
    }
}
