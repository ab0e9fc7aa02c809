//! One HTTP/1.1 request head (RFC 9112), read with `httparse`.

use std::fmt;

use crate::tftp::path::{self, PathError};

/// The methods served (R-HTTP-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

/// A single byte range (RFC 9110 section 14.1.2): `first-last`, `first-` or `-suffix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// `first-last` (`last` inclusive) or `first-` (`None`).
    From { first: u64, last: Option<u64> },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The inclusive span of a file of `len` bytes, or `None` when unsatisfiable (416).
    pub fn span(self, len: u64) -> Option<(u64, u64)> {
        match self {
            ByteRange::From { first, .. } if first >= len => None,
            ByteRange::From { first, last } => {
                Some((first, last.map_or(len - 1, |l| l.min(len - 1))))
            }
            ByteRange::Suffix(0) => None,
            ByteRange::Suffix(_) if len == 0 => None,
            ByteRange::Suffix(n) => Some((len - n.min(len), len - 1)),
        }
    }
}

/// A request head that was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub method: Method,
    /// Normalised as TFTP names are (R-TFTP-3): relative, `/`-separated, lower-case.
    pub path: String,
    /// `Range`, when it names one range the server honours; other forms are ignored
    /// (RFC 9110 section 14.2 lets a server ignore Range).
    pub range: Option<ByteRange>,
    /// Whether the connection stays open after the response (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
    /// Bytes of the input the head took.
    pub len: usize,
}

/// Why a request head is refused, with the status to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Not yet a whole head: read more.
    Partial,
    /// 400: not HTTP, a request body, a bad percent-escape...
    Bad(String),
    /// 405: a method other than GET and HEAD (the connection may go on).
    Method(String, usize, bool),
    /// 431: more header lines than the server reads.
    TooManyHeaders,
    /// 404 or 403: a name outside the root or that cannot name a file (R-TFTP-3).
    Path(PathError, usize, bool),
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::Partial => f.write_str("incomplete request head"),
            HeadError::Bad(why) => write!(f, "bad request: {why}"),
            HeadError::Method(m, _, _) => write!(f, "method {m:.16} is not served (GET, HEAD)"),
            HeadError::TooManyHeaders => f.write_str("too many header lines"),
            HeadError::Path(e, _, _) => write!(f, "{e}"),
        }
    }
}

/// Most header lines read in a request.
pub const MAX_HEADERS: usize = 32;

/// Read a request head from the start of `buf`.
pub fn parse_head(buf: &[u8]) -> Result<Head, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(HeadError::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
        Err(e) => return Err(HeadError::Bad(e.to_string())),
    };
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Bad("incomplete request line".into()));
    };
    let headers: &[httparse::Header<'_>] = req.headers;
    let header = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    // No request body is read or buffered: a GET or HEAD with one is refused.
    if header("transfer-encoding").next().is_some()
        || header("content-length").any(|v| v.iter().any(|c| *c != b'0'))
    {
        return Err(HeadError::Bad("a request body is not accepted".into()));
    }
    let connection = |token: &str| {
        header("connection").any(|v| {
            v.split(|c| *c == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    };
    let keep_alive = if version >= 1 {
        !connection("close")
    } else {
        connection("keep-alive")
    };
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        other => return Err(HeadError::Method(other.to_string(), len, keep_alive)),
    };
    let raw = percent_decode(origin_path(target)?)?;
    let path = path::normalize(&raw).map_err(|e| HeadError::Path(e, len, keep_alive))?;
    let mut ranges = header("range");
    let range = match (ranges.next(), ranges.next()) {
        (Some(v), None) => parse_range(v),
        _ => None,
    };
    Ok(Head {
        method,
        path,
        range,
        keep_alive,
        len,
    })
}

/// The boot root path a request target names, as [`parse_head`] gives it (`Head::path`):
/// its path without the query, percent-decoded, normalised. `None` for a target that
/// names none. For readers of captured requests (the simulator's lab overlay).
pub fn target_path(target: &str) -> Option<String> {
    let raw = percent_decode(origin_path(target).ok()?).ok()?;
    path::normalize(&raw).ok()
}

/// The path of an origin-form (`/a/b?q`) or absolute-form (`http://h/a/b`) target,
/// without its query.
fn origin_path(target: &str) -> Result<&str, HeadError> {
    let t = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        rest.find('/').map_or("/", |i| &rest[i..])
    } else if target.starts_with('/') {
        target
    } else {
        return Err(HeadError::Bad(format!(
            "request target {target:.64} is not a path"
        )));
    };
    Ok(t.split(['?', '#']).next().unwrap_or_default())
}

fn percent_decode(s: &str) -> Result<Vec<u8>, HeadError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| HeadError::Bad("a `%` not followed by two hex digits".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// `bytes=first-last`, `bytes=first-`, `bytes=-n`; one range only (a list of several
/// is ignored: the whole file is served).
fn parse_range(v: &[u8]) -> Option<ByteRange> {
    let v = std::str::from_utf8(v).ok()?.trim();
    let spec = v.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.trim().split_once('-')?;
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.trim(), b.trim()) {
        ("", n) => num(n).map(ByteRange::Suffix),
        (f, "") => num(f).map(|first| ByteRange::From { first, last: None }),
        (f, l) => {
            let (first, last) = (num(f)?, num(l)?);
            (first <= last).then_some(ByteRange::From {
                first,
                last: Some(last),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &str) -> Result<Head, HeadError> {
        parse_head(s.as_bytes())
    }

    #[test]
    fn r_http_2_get_and_head_with_their_paths() {
        let h = head("GET /SMSBoot/PS100002/x64/bootmgfw.efi HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.path, "smsboot/ps100002/x64/bootmgfw.efi");
        assert!(h.keep_alive);
        let h = head("HEAD http://[2001:db8::5]:8080/a%20b?x=1 HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(
            (h.method, h.path.as_str(), h.keep_alive),
            (Method::Head, "a b", false)
        );
        assert!(matches!(
            head("PUT /a HTTP/1.1\r\n\r\n"),
            Err(HeadError::Method(..))
        ));
        assert_eq!(
            head("GET /a HTTP/1.1\r\nHost: x\r\n"),
            Err(HeadError::Partial)
        );
    }

    #[test]
    fn r_http_2_no_name_escapes_the_root() {
        for target in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/smsboot/%2E%2E/%2e%2e/x",
            "/a/..%5c..%5cwindows",
            "/a%00b",
            "/c:/windows",
            "/%2fetc%2fpasswd/..",
        ] {
            let r = head(&format!("GET {target} HTTP/1.1\r\n\r\n"));
            assert!(matches!(r, Err(HeadError::Path(..))), "{target}: {r:?}");
        }
        // An absolute path is read relative to the root, as TFTP names are.
        assert_eq!(
            head("GET //etc/passwd HTTP/1.1\r\n\r\n").unwrap().path,
            "etc/passwd"
        );
        assert!(matches!(
            head("GET /a%zz HTTP/1.1\r\n\r\n"),
            Err(HeadError::Bad(_))
        ));
        assert!(matches!(
            head("GET a HTTP/1.1\r\n\r\n"),
            Err(HeadError::Bad(_))
        ));
    }

    #[test]
    fn a_targets_path_is_the_one_its_request_head_gives() {
        for target in [
            "/SMSBoot/PS100002/x64/bootmgfw.efi",
            "http://[2001:db8::5]:8080/a%20b?x=1",
            "//etc/passwd",
        ] {
            let h = head(&format!("GET {target} HTTP/1.1\r\n\r\n")).unwrap();
            assert_eq!(target_path(target), Some(h.path), "{target}");
        }
        for target in ["/../etc/passwd", "/a%zz", "a", "/"] {
            assert_eq!(target_path(target), None, "{target}");
        }
    }

    #[test]
    fn r_http_2_single_ranges() {
        let r = |v: &str| {
            head(&format!("GET /a HTTP/1.1\r\nRange: {v}\r\n\r\n"))
                .unwrap()
                .range
        };
        assert_eq!(
            r("bytes=0-99"),
            Some(ByteRange::From {
                first: 0,
                last: Some(99)
            })
        );
        assert_eq!(
            r("bytes=100-"),
            Some(ByteRange::From {
                first: 100,
                last: None
            })
        );
        assert_eq!(r("bytes=-5"), Some(ByteRange::Suffix(5)));
        assert_eq!(r("bytes=0-1,5-6"), None, "several ranges: the whole file");
        assert_eq!(r("bytes=9-3"), None);
        assert_eq!(r("items=0-1"), None);
        assert_eq!(ByteRange::Suffix(5).span(3), Some((0, 2)));
        assert_eq!(
            ByteRange::From {
                first: 3,
                last: None
            }
            .span(3),
            None
        );
        assert_eq!(
            ByteRange::From {
                first: 1,
                last: Some(99)
            }
            .span(3),
            Some((1, 2))
        );
    }

    #[test]
    fn r_http_3_no_request_body_is_accepted() {
        assert!(matches!(
            head("GET /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
            Err(HeadError::Bad(_))
        ));
        assert!(matches!(
            head("GET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(HeadError::Bad(_))
        ));
        assert!(head("GET /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n").is_ok());
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(
            head(&format!("GET /a HTTP/1.1\r\n{many}\r\n")),
            Err(HeadError::TooManyHeaders)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_head(&b);
        }

        #[test]
        fn any_request_line_parses_or_fails_without_panic(
            method in "[A-Z]{1,8}", target in "[ -~]{0,80}", range in "[ -~]{0,30}",
        ) {
            let _ = parse_head(format!("{method} {target} HTTP/1.1\r\nRange: {range}\r\n\r\n").as_bytes());
        }
    }
}
