//! A small hand-written DHCP encoder that keeps options in the order they are written.

use std::net::Ipv4Addr;

use super::{opt, BOOTP_HEADER_LEN, MAGIC_COOKIE};

/// Minimum BOOTP message length (RFC 1542 section 2.1); shorter messages are padded.
pub const MIN_LEN: usize = 300;

/// The fixed header of a BOOTP/DHCP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub hops: u8,
    pub xid: u32,
    pub secs: u16,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub chaddr: [u8; 16],
    pub sname: Vec<u8>,
    pub file: Vec<u8>,
}

impl Header {
    /// An empty header with `op` (1 request, 2 reply), Ethernet htype/hlen, all
    /// addresses 0.0.0.0.
    pub fn new(op: u8) -> Header {
        Header {
            op,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid: 0,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: [0; 16],
            sname: Vec::new(),
            file: Vec::new(),
        }
    }
}

/// Writes a message: header, magic cookie, then options in call order, then END.
#[derive(Clone, Debug)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Starts a message with `h`. `sname` and `file` are cut to 63 and 127 bytes so
    /// that they stay NUL-terminated.
    pub fn new(h: &Header) -> Writer {
        let mut buf = Vec::with_capacity(MIN_LEN + 64);
        buf.extend_from_slice(&[h.op, h.htype, h.hlen, h.hops]);
        buf.extend_from_slice(&h.xid.to_be_bytes());
        buf.extend_from_slice(&h.secs.to_be_bytes());
        buf.extend_from_slice(&h.flags.to_be_bytes());
        for a in [h.ciaddr, h.yiaddr, h.siaddr, h.giaddr] {
            buf.extend_from_slice(&a.octets());
        }
        buf.extend_from_slice(&h.chaddr);
        let mut sname = [0u8; 64];
        let n = h.sname.len().min(63);
        sname[..n].copy_from_slice(&h.sname[..n]);
        buf.extend_from_slice(&sname);
        let mut file = [0u8; 128];
        let n = h.file.len().min(127);
        file[..n].copy_from_slice(&h.file[..n]);
        buf.extend_from_slice(&file);
        debug_assert_eq!(buf.len(), BOOTP_HEADER_LEN);
        buf.extend_from_slice(&MAGIC_COOKIE);
        Writer { buf }
    }

    /// Appends one option. Data longer than 255 bytes is split into several
    /// consecutive instances of the option (RFC 3396).
    pub fn option(&mut self, code: u8, data: &[u8]) -> &mut Self {
        if data.is_empty() {
            self.buf.extend_from_slice(&[code, 0]);
        }
        for chunk in data.chunks(255) {
            self.buf.push(code);
            self.buf.push(chunk.len() as u8);
            self.buf.extend_from_slice(chunk);
        }
        self
    }

    /// Appends raw, already encoded option bytes (code, length, data...).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    pub fn ip(&mut self, code: u8, a: Ipv4Addr) -> &mut Self {
        self.option(code, &a.octets())
    }

    pub fn u16(&mut self, code: u8, v: u16) -> &mut Self {
        self.option(code, &v.to_be_bytes())
    }

    pub fn u32(&mut self, code: u8, v: u32) -> &mut Self {
        self.option(code, &v.to_be_bytes())
    }

    /// Writes END and pads to the BOOTP minimum of 300 bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(opt::END);
        if self.buf.len() < MIN_LEN {
            self.buf.resize(MIN_LEN, 0);
        }
        self.buf
    }
}

/// chaddr field for an Ethernet address.
pub fn chaddr_of(mac: crate::Mac) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[..6].copy_from_slice(&mac.0);
    c
}
