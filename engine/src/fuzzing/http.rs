//! Fuzz targets `http_request` (one request head through the parser) and `http_server`
//! (a connection fed a script of input pieces, file answers, sends and time).
//!
//! Invariants of the server (R-HTTP-3): the input it holds never exceeds its head cap,
//! what it holds beyond that is one response head, and a closed connection sends
//! nothing more.

use super::bytes::Bytes;
use crate::http::{parse_head, Connection, HttpLimits, Status};
use crate::tftp::server::FileSource;
use crate::Instant;
use std::sync::Arc;
use std::time::Duration;

pub fn http_request(data: &[u8]) {
    if let Ok(h) = parse_head(data) {
        assert!(h.len <= data.len());
        assert!(
            !h.path.split('/').any(|p| p == ".." || p.is_empty()),
            "a confined path: {}",
            h.path
        );
        assert!(!h.path.starts_with('/'));
        if let Some(r) = h.range {
            for len in [0, 1, 100, u64::MAX] {
                if let Some((a, b)) = r.span(len) {
                    assert!(a <= b && b < len);
                }
            }
        }
    }
}

/// A file of `n` bytes whose byte i is i mod 251.
struct Counting(u64);

impl FileSource for Counting {
    fn len(&self) -> u64 {
        self.0
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = ((offset + i as u64) % 251) as u8;
        }
    }
}

const MAX_HEAD: usize = 1024;

/// Records: tag byte, then by `tag % 4`: 0 input (a u16-prefixed chunk), 1 send (u16
/// budget), 2 advance time (u8 seconds), 3 end of input.
pub fn http_server(data: &[u8]) {
    let mut b = Bytes { data };
    let limits = HttpLimits {
        max_head: MAX_HEAD,
        chunk: 4096,
        ..HttpLimits::default()
    };
    let mut now = Instant::ZERO;
    let mut c = Connection::new(now, limits);
    let mut out = Vec::new();
    let mut records = 0;
    while let Some(tag) = b.u8() {
        records += 1;
        if records > 2000 {
            break;
        }
        match tag % 4 {
            0 => {
                let piece = b.chunk().unwrap_or_default();
                c.handle_input(now, piece);
            }
            1 => {
                let budget = usize::from(b.u16().unwrap_or(0));
                out.clear();
                let was_closed = c.is_closed();
                let n = c.poll_send(now, budget, &mut out);
                assert!(n <= budget && n == out.len());
                assert!(!was_closed || n == 0, "a closed connection sends nothing");
            }
            2 => {
                now = now + Duration::from_secs(u64::from(b.u8().unwrap_or(0)));
                c.handle_timeout(now);
            }
            _ => c.handle_eof(),
        }
        if c.poll_request(now).is_some() {
            let size = u64::from(tag) * 97;
            c.respond(if tag % 5 == 0 {
                Err(Status::NOT_FOUND)
            } else {
                Ok(Arc::new(Counting(size)))
            });
        }
        assert!(c.buffered() <= MAX_HEAD + 512, "held {}", c.buffered());
    }
}
