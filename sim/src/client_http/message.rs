//! The HTTP messages of UEFI HTTP boot: the request the firmware writes, the boot file
//! URL it parses, and the response it reads (head by httparse, then the body).

use super::Conn;
use std::net::{IpAddr, SocketAddr};

/// The request line and headers as the firmware writes them (captures).
pub fn http_request(method: &str, path: &str, host: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nUser-Agent: UefiHttpBoot/1.0\r\n\r\n"
    )
    .into_bytes()
}

/// An `http://host[:port]/path` URL with an IPv4 host or an `[IPv6]` one (the
/// responder writes those).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub server: SocketAddr,
    /// `Host:` as the URL spells it (with the port when it is not 80).
    pub host: String,
    /// Starts with `/`.
    pub path: String,
}

impl Url {
    pub fn parse(url: &str) -> Option<Url> {
        let rest = url.strip_prefix("http://")?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (ip, port): (IpAddr, u16) = match host.strip_prefix('[') {
            Some(v6) => {
                let (a, after) = v6.split_once(']')?;
                let port = match after.strip_prefix(':') {
                    Some(p) => p.parse().ok()?,
                    None if after.is_empty() => 80,
                    None => return None,
                };
                (IpAddr::V6(a.parse().ok()?), port)
            }
            None => match host.rsplit_once(':') {
                Some((h, p)) => (IpAddr::V4(h.parse().ok()?), p.parse().ok()?),
                None => (IpAddr::V4(host.parse().ok()?), 80),
            },
        };
        Some(Url {
            server: SocketAddr::new(ip, port),
            host: host.to_string(),
            path: path.to_string(),
        })
    }

    /// Another file on the same server.
    pub(super) fn sibling(&self, path: &str) -> Url {
        Url {
            path: format!("/{}", path.trim_start_matches('/')),
            ..self.clone()
        }
    }
}

/// The response being read.
#[derive(Default)]
pub(super) struct Response {
    pub(super) head: Vec<u8>,
    pub(super) status: Option<u16>,
    pub(super) length: u64,
    /// HTTP/1.0 or `Connection: close`: the next request needs a new connection.
    pub(super) close: bool,
    pub(super) got: u64,
    pub(super) body: Vec<u8>,
    pub(super) crc: Option<crc32fast::Hasher>,
}

/// Feeds response bytes: the head (parsed with httparse once whole), then the body.
pub(super) fn read_response(c: &mut Conn, mut data: &[u8]) {
    let r = &mut c.resp;
    if r.status.is_none() {
        r.head.extend_from_slice(data);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(len)) = resp.parse(&r.head) else {
            return;
        };
        r.status = resp.code;
        r.close = resp.version == Some(0);
        for h in resp.headers.iter() {
            let v = String::from_utf8_lossy(h.value);
            if h.name.eq_ignore_ascii_case("content-length") {
                r.length = v.trim().parse().unwrap_or(0);
            } else if h.name.eq_ignore_ascii_case("connection") {
                r.close = v.trim().eq_ignore_ascii_case("close");
            }
        }
        let rest = r.head.split_off(len);
        r.head.clear();
        if c.head_only {
            return;
        }
        feed_body(r, &rest, c.keep_body);
        return;
    }
    if c.head_only {
        data = &[];
    }
    feed_body(r, data, c.keep_body);
}

fn feed_body(r: &mut Response, data: &[u8], keep: bool) {
    let take = (r.length.saturating_sub(r.got) as usize).min(data.len());
    let d = &data[..take];
    r.got += take as u64;
    if let Some(h) = &mut r.crc {
        h.update(d);
    }
    if keep {
        r.body.extend_from_slice(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_the_responder_parse() {
        let u = Url::parse("http://10.0.0.5/smsboot/x64/bootmgfw.efi").unwrap();
        assert_eq!(u.server, "10.0.0.5:80".parse().unwrap());
        assert_eq!(
            (u.host.as_str(), u.path.as_str()),
            ("10.0.0.5", "/smsboot/x64/bootmgfw.efi")
        );
        let u = Url::parse("http://10.0.0.5:8080/a").unwrap();
        assert_eq!(u.server, "10.0.0.5:8080".parse().unwrap());
        assert_eq!(u.host, "10.0.0.5:8080");
        assert_eq!(u.sibling("smstemp/x.var").path, "/smstemp/x.var");
        assert_eq!(
            Url::parse("http://boot.example/a"),
            None,
            "no DNS in the model"
        );
        assert_eq!(Url::parse("tftp://10.0.0.5/a"), None);
        let u = Url::parse("http://[fd10:10::5]/smsboot/x64/a.efi").unwrap();
        assert_eq!(u.server, "[fd10:10::5]:80".parse().unwrap());
        assert_eq!(
            (u.host.as_str(), u.path.as_str()),
            ("[fd10:10::5]", "/smsboot/x64/a.efi")
        );
        let u = Url::parse("http://[fd10:10::5]:8080/a").unwrap();
        assert_eq!(u.server, "[fd10:10::5]:8080".parse().unwrap());
        assert_eq!(Url::parse("http://[fd10:10::5]x/a"), None);
        assert_eq!(Url::parse("http://[zz]/a"), None);
    }

    #[test]
    fn the_request_is_the_firmwares() {
        assert_eq!(
            http_request("HEAD", "/boot.efi", "10.77.0.1"),
            b"HEAD /boot.efi HTTP/1.1\r\nHost: 10.77.0.1\r\nAccept: */*\r\nUser-Agent: UefiHttpBoot/1.0\r\n\r\n"
        );
    }
}
