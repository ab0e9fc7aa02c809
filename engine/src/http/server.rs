//! One HTTP/1.1 connection of the responder's file server (R-HTTP-2, R-HTTP-3), as a
//! sans-IO state machine (the TFTP transfers' shape): the driver hands it the bytes
//! it read ([`Connection::handle_input`]), asks it for the next request to open
//! ([`Connection::poll_request`], answered with [`Connection::respond`]), pulls what to
//! write when the socket can take it ([`Connection::poll_send`]), and wakes it at its
//! deadline ([`Connection::handle_timeout`]). Once [`Connection::is_closed`], the
//! driver closes the socket.
//!
//! R-HTTP-3, bounded: a connection holds at most `max_head` bytes of input (no request
//! body is ever read, a longer head is refused with 431), one response head, and the
//! body chunk being written (pulled from the file as the client reads: a slow reader
//! costs no buffer); one request is served at a time (pipelined ones wait their turn,
//! within the input cap). A head must arrive whole within `head_timeout` of its first
//! byte (slowloris), and a connection with no progress either way for `idle_timeout`
//! (a stalled reader, an idle keep-alive) is closed. Nothing else is shared between
//! connections, so one failing or stalled client leaves the others running.

use std::sync::Arc;
use std::time::Duration;

use super::request::{parse_head, Head, HeadError, Method};
use crate::tftp::server::FileSource;
use crate::time::Instant;

/// A connection's bounds (R-HTTP-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest request head (request line and headers), bytes.
    pub max_head: usize,
    /// A head must be whole this long after its first byte.
    pub head_timeout: Duration,
    /// No bytes in or out for this long closes the connection.
    pub idle_timeout: Duration,
    /// Most body bytes one [`Connection::poll_send`] produces.
    pub chunk: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head: 8 * 1024,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            chunk: 64 * 1024,
        }
    }
}

/// A response status the owner may answer a request with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    pub const NOT_FOUND: Status = Status(404);
    pub const FORBIDDEN: Status = Status(403);

    fn reason(self) -> &'static str {
        match self.0 {
            200 => "OK",
            206 => "Partial Content",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            416 => "Range Not Satisfiable",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        }
    }
}

struct Body {
    file: Arc<dyn FileSource>,
    /// Next byte to send and the end (exclusive).
    pos: u64,
    end: u64,
}

/// One client connection.
pub struct Connection {
    limits: HttpLimits,
    input: Vec<u8>,
    /// Input beyond `max_head` arrived: the head is refused (431) and the connection
    /// closed.
    overflow: bool,
    /// When the current head's first byte arrived.
    head_since: Option<Instant>,
    /// Last progress (bytes in or out).
    active: Instant,
    /// The request the owner is opening a file for.
    waiting: Option<Head>,
    /// Status line and headers (or a whole error response) not yet sent.
    pending: Vec<u8>,
    body: Option<Body>,
    /// Close once the current response is sent.
    close_after: bool,
    closed: bool,
    /// Requests answered (for logs and tests).
    pub responses: u64,
}

impl Connection {
    pub fn new(now: Instant, limits: HttpLimits) -> Connection {
        Connection {
            limits,
            input: Vec::new(),
            overflow: false,
            head_since: None,
            active: now,
            waiting: None,
            pending: Vec::new(),
            body: None,
            close_after: false,
            closed: false,
            responses: 0,
        }
    }

    /// Bytes the client sent. Beyond the head cap they are dropped (and the head
    /// refused): the connection never holds more than `max_head` bytes of input.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.closed || data.is_empty() {
            return;
        }
        self.active = now;
        if self.input.is_empty() {
            self.head_since = Some(now);
        }
        let room = self.limits.max_head.saturating_sub(self.input.len());
        if data.len() > room {
            self.overflow = true;
        }
        self.input.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// The client closed its side: what is being sent is finished, nothing more is
    /// read.
    pub fn handle_eof(&mut self) {
        self.close_after = true;
        if self.idle_response() {
            self.closed = true;
        }
    }

    fn idle_response(&self) -> bool {
        self.waiting.is_none() && self.pending.is_empty() && self.body.is_none()
    }

    /// The next request whose file the owner must open and give to
    /// [`Connection::respond`]; `None` while a response is under way or no whole head
    /// has arrived. Requests the connection answers itself (400, 403, 404 for names
    /// outside the root, 405, 431) are queued here too.
    pub fn poll_request(&mut self, now: Instant) -> Option<Head> {
        while !self.closed && !self.close_after && self.idle_response() && !self.input.is_empty() {
            match parse_head(&self.input) {
                Ok(head) => {
                    self.consume(head.len, now);
                    self.waiting = Some(head.clone());
                    return Some(head);
                }
                Err(HeadError::Partial)
                    if !self.overflow && self.input.len() < self.limits.max_head =>
                {
                    return None;
                }
                Err(HeadError::Partial) | Err(HeadError::TooManyHeaders) => {
                    self.error(Status(431), true);
                }
                Err(HeadError::Bad(_)) => self.error(Status(400), true),
                Err(HeadError::Method(_, len, keep)) => {
                    self.consume(len, now);
                    self.error_with(Status(405), !keep, "Allow: GET, HEAD\r\n");
                }
                Err(HeadError::Path(e, len, keep)) => {
                    self.consume(len, now);
                    // R-HTTP-2 (R-TFTP-3): 403 for an attempt to leave the root, 404 for
                    // a name that cannot name a file.
                    let status = if e.code() == crate::tftp::packet::ERR_ACCESS {
                        Status::FORBIDDEN
                    } else {
                        Status::NOT_FOUND
                    };
                    self.error(status, !keep);
                }
            }
        }
        None
    }

    fn consume(&mut self, n: usize, now: Instant) {
        self.input.drain(..n.min(self.input.len()));
        self.head_since = (!self.input.is_empty()).then_some(now);
    }

    fn error(&mut self, status: Status, close: bool) {
        self.error_with(status, close, "");
    }

    fn error_with(&mut self, status: Status, close: bool, extra: &str) {
        let body = format!("{} {}\n", status.0, status.reason());
        self.close_after |= close;
        if close {
            self.input.clear();
        }
        self.pending = self.head_bytes(status, body.len() as u64, extra, "text/plain");
        self.pending.extend_from_slice(body.as_bytes());
        self.responses += 1;
    }

    fn head_bytes(&self, status: Status, len: u64, extra: &str, ty: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {len}\r\nContent-Type: {ty}\r\nAccept-Ranges: bytes\r\n{extra}Connection: {}\r\n\r\n",
            status.0,
            status.reason(),
            if self.close_after { "close" } else { "keep-alive" }
        )
        .into_bytes()
    }

    // R-HTTP-2: 200 with Content-Length, 206 for one satisfiable range, 416 otherwise;
    // HEAD gets the same head and no body.
    /// The owner's answer to the request [`Connection::poll_request`] gave: the file, or
    /// the status to answer (404 when there is no such file).
    pub fn respond(&mut self, file: Result<Arc<dyn FileSource>, Status>) {
        let Some(head) = self.waiting.take() else {
            return;
        };
        self.close_after |= !head.keep_alive;
        let file = match file {
            Ok(f) => f,
            Err(status) => return self.error(status, !head.keep_alive),
        };
        let len = file.len();
        let (status, first, end, extra) = match head.range {
            None => (Status(200), 0, len, String::new()),
            Some(r) => match r.span(len) {
                Some((a, b)) => (
                    Status(206),
                    a,
                    b + 1,
                    format!("Content-Range: bytes {a}-{b}/{len}\r\n"),
                ),
                None => {
                    let extra = format!("Content-Range: bytes */{len}\r\n");
                    let body = "416 Range Not Satisfiable\n";
                    self.pending =
                        self.head_bytes(Status(416), body.len() as u64, &extra, "text/plain");
                    self.pending.extend_from_slice(body.as_bytes());
                    self.responses += 1;
                    return;
                }
            },
        };
        self.pending = self.head_bytes(status, end - first, &extra, "application/octet-stream");
        self.responses += 1;
        if head.method == Method::Get && end > first {
            self.body = Some(Body {
                file,
                pos: first,
                end,
            });
        }
    }

    /// Append up to `max` bytes to send to `out`; returns how many. Call when the
    /// socket can take more; 0 means nothing to send now.
    pub fn poll_send(&mut self, now: Instant, max: usize, out: &mut Vec<u8>) -> usize {
        if self.closed {
            return 0;
        }
        let mut n = self.pending.len().min(max);
        out.extend(self.pending.drain(..n));
        if self.pending.is_empty() {
            if let Some(b) = &mut self.body {
                let take = (b.end - b.pos)
                    .min((max - n) as u64)
                    .min(self.limits.chunk as u64) as usize;
                if take > 0 {
                    b.file.append_to(b.pos, take, out);
                    b.pos += take as u64;
                    n += take;
                }
                if b.pos >= b.end {
                    self.body = None;
                }
            }
        }
        if n > 0 {
            self.active = now;
        }
        if self.idle_response() && self.close_after {
            self.closed = true;
        }
        n
    }

    /// When [`Connection::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let idle = self.active + self.limits.idle_timeout;
        Some(match self.head_since {
            Some(t) if self.idle_response() => idle.min(t + self.limits.head_timeout),
            _ => idle,
        })
    }

    /// R-HTTP-3: a head not whole in time, or no progress for the idle timeout, closes
    /// the connection (whatever it was sending is dropped).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.closed = true;
            self.pending.clear();
            self.body = None;
            self.input = Vec::new();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes this connection holds beyond its fixed size (input, pending head), for
    /// the memory bound's tests.
    pub fn buffered(&self) -> usize {
        self.input.len() + self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file whose byte i is i mod 251.
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

    const T0: Instant = Instant::ZERO;

    fn at(s: u64) -> Instant {
        T0 + Duration::from_secs(s)
    }

    fn conn() -> Connection {
        Connection::new(T0, HttpLimits::default())
    }

    /// Send `req`, answer with a file of `len` bytes (or `status`), read everything.
    fn exchange(c: &mut Connection, req: &str, file: Result<u64, Status>) -> (String, Vec<u8>) {
        c.handle_input(T0, req.as_bytes());
        if let Some(_head) = c.poll_request(T0) {
            c.respond(file.map(|n| Arc::new(Counting(n)) as Arc<dyn FileSource>));
        }
        let mut out = Vec::new();
        while c.poll_send(T0, 1 << 20, &mut out) > 0 {}
        let split = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head")
            + 4;
        let body = out.split_off(split);
        (String::from_utf8(out).unwrap(), body)
    }

    fn expected(a: u64, b: u64) -> Vec<u8> {
        (a..b).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn r_http_2_get_serves_the_file_with_its_length() {
        let mut c = conn();
        let (head, body) = exchange(&mut c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", Ok(300_000));
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("Content-Length: 300000\r\n"));
        assert!(head.contains("Connection: keep-alive\r\n"));
        assert_eq!(body, expected(0, 300_000));
        assert!(!c.is_closed());
    }

    #[test]
    fn r_http_2_head_has_the_length_and_no_body() {
        let mut c = conn();
        let (head, body) = exchange(&mut c, "HEAD /a HTTP/1.1\r\n\r\n", Ok(1234));
        assert!(head.contains("Content-Length: 1234\r\n"), "{head}");
        assert!(body.is_empty());
    }

    #[test]
    fn r_http_2_a_range_gets_206_and_an_unsatisfiable_one_416() {
        let mut c = conn();
        let (head, body) = exchange(
            &mut c,
            "GET /a HTTP/1.1\r\nRange: bytes=100-199\r\n\r\n",
            Ok(1000),
        );
        assert!(
            head.starts_with("HTTP/1.1 206 Partial Content\r\n"),
            "{head}"
        );
        assert!(head.contains("Content-Range: bytes 100-199/1000\r\n"));
        assert!(head.contains("Content-Length: 100\r\n"));
        assert_eq!(body, expected(100, 200));
        let (head, _) = exchange(
            &mut c,
            "GET /a HTTP/1.1\r\nRange: bytes=-10\r\n\r\n",
            Ok(1000),
        );
        assert!(
            head.contains("Content-Range: bytes 990-999/1000\r\n"),
            "{head}"
        );
        let (head, _) = exchange(
            &mut c,
            "GET /a HTTP/1.1\r\nRange: bytes=1000-\r\n\r\n",
            Ok(1000),
        );
        assert!(head.starts_with("HTTP/1.1 416 "), "{head}");
        assert!(head.contains("Content-Range: bytes */1000\r\n"));
        assert_eq!(
            c.responses, 3,
            "keep-alive: three answers on one connection"
        );
    }

    #[test]
    fn r_http_2_outside_the_root_is_403_and_a_missing_file_404() {
        let mut c = conn();
        let (head, _) = exchange(&mut c, "GET /%2e%2e/etc/passwd HTTP/1.1\r\n\r\n", Ok(1));
        assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
        let (head, _) = exchange(&mut c, "GET /nope HTTP/1.1\r\n\r\n", Err(Status::NOT_FOUND));
        assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
        let (head, _) = exchange(&mut c, "DELETE /a HTTP/1.1\r\n\r\n", Ok(1));
        assert!(
            head.starts_with("HTTP/1.1 405 ") && head.contains("Allow: GET, HEAD"),
            "{head}"
        );
        assert!(!c.is_closed());
    }

    #[test]
    fn r_http_2_connection_close_and_http_1_0_close_after_the_response() {
        for req in [
            "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n",
            "GET /a HTTP/1.0\r\n\r\n",
        ] {
            let mut c = conn();
            let (head, _) = exchange(&mut c, req, Ok(10));
            assert!(head.contains("Connection: close\r\n"), "{head}");
            assert!(c.is_closed(), "{req}");
        }
    }

    #[test]
    fn r_http_2_pipelined_requests_are_answered_in_order() {
        let mut c = conn();
        c.handle_input(
            T0,
            b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nRange: bytes=0-0\r\n\r\n",
        );
        let first = c.poll_request(T0).unwrap();
        assert_eq!(first.path, "a");
        assert!(c.poll_request(T0).is_none(), "one response at a time");
        c.respond(Ok(Arc::new(Counting(5))));
        let mut out = Vec::new();
        while c.poll_send(T0, 1 << 20, &mut out) > 0 {}
        let second = c.poll_request(T0).unwrap();
        assert_eq!((second.path.as_str(), second.range.is_some()), ("b", true));
    }

    #[test]
    fn r_http_3_a_slow_reader_costs_one_chunk_not_the_file() {
        let mut c = conn();
        c.handle_input(T0, b"GET /big HTTP/1.1\r\n\r\n");
        c.poll_request(T0).unwrap();
        c.respond(Ok(Arc::new(Counting(1 << 30))));
        let mut out = Vec::new();
        let n = c.poll_send(T0, 1 << 30, &mut out);
        assert!(n <= 64 * 1024 + 200, "{n}");
        assert!(c.buffered() < 1024);
    }

    #[test]
    fn r_http_3_an_overlong_head_is_refused_with_431_and_input_stays_bounded() {
        let mut c = conn();
        let junk = vec![b'a'; 100_000];
        c.handle_input(T0, b"GET /a HTTP/1.1\r\nX: ");
        c.handle_input(T0, &junk);
        assert!(c.buffered() <= HttpLimits::default().max_head);
        assert!(c.poll_request(T0).is_none());
        let mut out = Vec::new();
        while c.poll_send(T0, 1 << 20, &mut out) > 0 {}
        assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 431 "));
        assert!(c.is_closed());
    }

    #[test]
    fn r_http_3_a_slowloris_head_times_out() {
        let mut c = conn();
        for s in 0..9 {
            c.handle_input(at(s), b"X");
        }
        assert_eq!(c.poll_timeout(), Some(at(10)), "the head's own deadline");
        c.handle_timeout(at(10));
        assert!(c.is_closed());
    }

    #[test]
    fn r_http_3_a_stalled_reader_and_an_idle_keep_alive_time_out() {
        let mut c = conn();
        c.handle_input(T0, b"GET /a HTTP/1.1\r\n\r\n");
        c.poll_request(T0).unwrap();
        c.respond(Ok(Arc::new(Counting(1 << 20))));
        let mut out = Vec::new();
        c.poll_send(at(1), 1000, &mut out);
        // The client stops reading: no progress for 30 s.
        c.handle_timeout(at(30));
        assert!(!c.is_closed());
        c.handle_timeout(at(31));
        assert!(c.is_closed() && c.buffered() == 0);
        assert_eq!(c.poll_send(at(32), 1000, &mut out), 0);

        let mut idle = conn();
        let _ = exchange(&mut idle, "GET /a HTTP/1.1\r\n\r\n", Ok(1));
        idle.handle_timeout(at(30));
        assert!(idle.is_closed());
    }

    #[test]
    fn r_http_3_a_request_body_is_refused_and_the_connection_closed() {
        let mut c = conn();
        let (head, _) = exchange(
            &mut c,
            "GET /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            Ok(1),
        );
        assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
        assert!(c.is_closed());
    }

    proptest::proptest! {
        /// Any input, in any pieces, with any file answers and send sizes: no panic,
        /// and the input held stays within the cap.
        #[test]
        fn r_http_3_any_input_never_panics_and_stays_bounded(
            pieces in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..600), 0..8),
            sizes in proptest::collection::vec(0u64..5000, 1..4),
            send in 1usize..5000,
        ) {
            let mut c = Connection::new(T0, HttpLimits { max_head: 1024, ..HttpLimits::default() });
            let mut out = Vec::new();
            for (i, p) in pieces.iter().enumerate() {
                c.handle_input(at(i as u64), p);
                proptest::prop_assert!(c.buffered() <= 1024 + 512);
                if c.poll_request(at(i as u64)).is_some() {
                    let n = sizes[i % sizes.len()];
                    c.respond(if n % 7 == 0 { Err(Status::NOT_FOUND) } else { Ok(Arc::new(Counting(n))) });
                }
                c.poll_send(at(i as u64), send, &mut out);
                c.handle_timeout(at(i as u64));
            }
        }
    }
}
