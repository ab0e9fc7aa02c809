//! The DHCPv6 message format (RFC 8415 sections 8, 9 and 21.1): a client/server
//! message (type, 3-byte transaction id, options) or a relay message (type, hop count,
//! link address, peer address, options). Options are (code, length, data) and are kept
//! in the sender's order, unparsed: [`super::request`] reads the ones it needs.
//!
//! The decoder is strict and total: any byte string gives a message or a
//! [`Malformed6`] naming the offset and what is wrong; it never panics and never
//! allocates more than the input's size.

use std::fmt;
use std::net::Ipv6Addr;

use super::msg;

/// One option, as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opt {
    pub code: u16,
    pub data: Vec<u8>,
}

/// A DHCPv6 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message6 {
    /// Solicit, Advertise, Request, Reply, Information-request... (not relay types).
    Client {
        msg_type: u8,
        xid: [u8; 3],
        options: Vec<Opt>,
    },
    /// Relay-Forward (12) or Relay-Reply (13).
    Relay {
        msg_type: u8,
        hop_count: u8,
        link_addr: Ipv6Addr,
        peer_addr: Ipv6Addr,
        options: Vec<Opt>,
    },
}

/// Why a datagram is not a DHCPv6 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed6 {
    /// Byte offset in the datagram (of the outermost message) where the problem is.
    pub offset: usize,
    pub what: String,
}

impl fmt::Display for Malformed6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.what)
    }
}

impl std::error::Error for Malformed6 {}

/// Relay messages may nest at most this deep (RFC 8415 section 7.6, HOP_COUNT_LIMIT).
pub const HOP_COUNT_LIMIT: u8 = 32;

impl Message6 {
    pub fn msg_type(&self) -> u8 {
        match self {
            Message6::Client { msg_type, .. } | Message6::Relay { msg_type, .. } => *msg_type,
        }
    }

    pub fn options(&self) -> &[Opt] {
        match self {
            Message6::Client { options, .. } | Message6::Relay { options, .. } => options,
        }
    }

    /// The first option with `code`.
    pub fn option(&self, code: u16) -> Option<&[u8]> {
        self.options()
            .iter()
            .find(|o| o.code == code)
            .map(|o| o.data.as_slice())
    }

    /// Decode a datagram.
    pub fn decode(b: &[u8]) -> Result<Message6, Malformed6> {
        decode_at(b, 0)
    }

    /// Encode. Options longer than 65535 bytes cannot be written: the builders here
    /// never make one (a boot file URL is bounded by its path), and such an option is
    /// cut to an empty one rather than written wrong.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        let options = match self {
            Message6::Client {
                msg_type,
                xid,
                options,
            } => {
                out.push(*msg_type);
                out.extend_from_slice(xid);
                options
            }
            Message6::Relay {
                msg_type,
                hop_count,
                link_addr,
                peer_addr,
                options,
            } => {
                out.push(*msg_type);
                out.push(*hop_count);
                out.extend_from_slice(&link_addr.octets());
                out.extend_from_slice(&peer_addr.octets());
                options
            }
        };
        for o in options {
            let data: &[u8] = if o.data.len() > usize::from(u16::MAX) {
                &[]
            } else {
                &o.data
            };
            out.extend_from_slice(&o.code.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(data);
        }
        out
    }
}

fn is_relay(t: u8) -> bool {
    t == msg::RELAY_FORW || t == msg::RELAY_REPL
}

/// Decode `b`, which starts at `base` in the outermost datagram (for offsets).
fn decode_at(b: &[u8], base: usize) -> Result<Message6, Malformed6> {
    let bad = |offset: usize, what: String| Malformed6 {
        offset: base + offset,
        what,
    };
    let Some(&msg_type) = b.first() else {
        return Err(bad(0, "empty datagram".into()));
    };
    if is_relay(msg_type) {
        if b.len() < 34 {
            return Err(bad(
                b.len(),
                format!(
                    "a relay message has a 34-byte header, this one is {} bytes long",
                    b.len()
                ),
            ));
        }
        let mut link = [0u8; 16];
        link.copy_from_slice(&b[2..18]);
        let mut peer = [0u8; 16];
        peer.copy_from_slice(&b[18..34]);
        Ok(Message6::Relay {
            msg_type,
            hop_count: b[1],
            link_addr: Ipv6Addr::from(link),
            peer_addr: Ipv6Addr::from(peer),
            options: options(&b[34..], base + 34)?,
        })
    } else {
        if b.len() < 4 {
            return Err(bad(
                b.len(),
                format!(
                    "a message has a 4-byte header (type, transaction id), this one is {} bytes long",
                    b.len()
                ),
            ));
        }
        Ok(Message6::Client {
            msg_type,
            xid: [b[1], b[2], b[3]],
            options: options(&b[4..], base + 4)?,
        })
    }
}

fn options(mut b: &[u8], mut at: usize) -> Result<Vec<Opt>, Malformed6> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return Err(Malformed6 {
                offset: at,
                what: format!(
                    "{} stray byte(s) after the last option (an option has a 4-byte header)",
                    b.len()
                ),
            });
        }
        let code = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let Some(data) = b.get(4..4 + len) else {
            return Err(Malformed6 {
                offset: at,
                what: format!("option {code} says {len} bytes, {} remain", b.len() - 4),
            });
        };
        out.push(Opt {
            code,
            data: data.to_vec(),
        });
        b = &b[4 + len..];
        at += 4 + len;
    }
    Ok(out)
}

/// The message carried in a Relay Message option (9), decoded; `offset` is where the
/// option's data starts in the outermost datagram, for error messages.
pub fn decode_relayed(data: &[u8], offset: usize) -> Result<Message6, Malformed6> {
    decode_at(data, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solicit() -> Vec<u8> {
        vec![1, 0xaa, 0xbb, 0xcc, 0, 8, 0, 2, 0, 0]
    }

    #[test]
    fn a_client_message_round_trips_with_its_option_order() {
        let m = Message6::Client {
            msg_type: msg::SOLICIT,
            xid: [1, 2, 3],
            options: vec![
                Opt {
                    code: 16,
                    data: b"x".to_vec(),
                },
                Opt {
                    code: 1,
                    data: vec![0, 3, 0, 1, 1, 2, 3, 4, 5, 6],
                },
                Opt {
                    code: 8,
                    data: vec![0, 0],
                },
            ],
        };
        let b = m.encode();
        assert_eq!(Message6::decode(&b).unwrap(), m);
    }

    #[test]
    fn a_relay_forward_keeps_the_client_message() {
        let mut b = vec![msg::RELAY_FORW, 0];
        b.extend([0x20, 1, 0xd, 0xb8, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend([0, 18, 0, 6]);
        b.extend(b"vlan30");
        b.extend([0, 9, 0, solicit().len() as u8]);
        b.extend(solicit());
        let m = Message6::decode(&b).unwrap();
        let Message6::Relay {
            hop_count,
            link_addr,
            ..
        } = &m
        else {
            panic!("not a relay message: {m:?}")
        };
        assert_eq!(*hop_count, 0);
        assert_eq!(link_addr.to_string(), "2001:db8:30::1");
        assert_eq!(m.option(18), Some(&b"vlan30"[..]));
        let inner = decode_relayed(m.option(9).unwrap(), 0).unwrap();
        assert_eq!(inner.msg_type(), msg::SOLICIT);
        assert_eq!(m.encode(), b);
    }

    #[test]
    fn malformed_messages_are_located() {
        assert_eq!(
            Message6::decode(&[]).unwrap_err().to_string(),
            "at byte 0: empty datagram"
        );
        assert_eq!(
            Message6::decode(&[1, 2]).unwrap_err().to_string(),
            "at byte 2: a message has a 4-byte header (type, transaction id), this one is 2 bytes long"
        );
        assert_eq!(
            Message6::decode(&[1, 0, 0, 1, 0, 16, 0, 9, 1])
                .unwrap_err()
                .to_string(),
            "at byte 4: option 16 says 9 bytes, 1 remain"
        );
        assert_eq!(
            Message6::decode(&[1, 0, 0, 1, 0, 8, 0, 0, 7])
                .unwrap_err()
                .to_string(),
            "at byte 8: 1 stray byte(s) after the last option (an option has a 4-byte header)"
        );
        assert!(Message6::decode(&[12; 20]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_or_fail_without_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(m) = Message6::decode(&b) {
                // What decodes re-encodes to the same bytes.
                proptest::prop_assert_eq!(m.encode(), b);
            }
        }
    }
}
