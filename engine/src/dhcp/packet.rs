//! Strict DHCP/BOOTP parsing.
//!
//! [`parse`] reads the fixed header, checks the magic cookie, then walks every option
//! with its offset and refuses the packet ([`MalformedDhcp`]) at the first thing that
//! does not add up. Only a packet whose option area walked cleanly is decoded into
//! typed fields, and those fields are read from the raw option bytes here, not from
//! `dhcproto`'s typed map, whose decode is lossy for the options PXE cares about
//! (93 keeps one entry, 94 of a bad length trips a debug assertion, a malformed
//! option silently ends the walk, the map forgets the wire order).
//!
//! `dhcproto` is used for what it does safely: its borrowed [`Message`] reads the
//! fixed header fields (after our length checks) and its borrowed option iterator
//! gives the RFC 3396 view (consecutive instances of one option concatenated), which
//! we check against our own walk so that both readers agree on every packet we accept.
//!
//! Decisions:
//! - **Missing END**: tolerated when the option area ends exactly on an option
//!   boundary (or in pad bytes); [`DhcpPacket::end_missing`] records it. An option
//!   whose header or data runs past the end is an error.
//! - **Option overload (52)**: honoured (RFC 2132 section 9.3). The `file` field, then
//!   the `sname` field, are walked as further option areas with the same strictness,
//!   and [`DhcpPacket::file`]/[`DhcpPacket::sname`] are then empty. No firmware in the
//!   lab sends it; honouring it costs little and keeps every option visible.
//! - **Repeated options**: all instances of one code are concatenated in wire order
//!   (RFC 3396) before the typed decode; [`DhcpPacket::options`] keeps each instance.
//! - Bytes after END are padding and are ignored.
//!
//! [`Message`]: dhcproto::v4::borrowed::Message

use std::fmt;
use std::net::Ipv4Addr;

use dhcproto::v4::borrowed;

use super::{opt, BOOTP_HEADER_LEN, BROADCAST_FLAG, MAGIC_COOKIE, OPTIONS_OFFSET, PXE_CLIENT};
use crate::policy::ClientClass;
use crate::{Guid, Mac};

/// DHCP message type (option 53, RFC 2132 section 9.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Discover,
    Offer,
    Request,
    Decline,
    Ack,
    Nak,
    Release,
    Inform,
    /// Any other value (RFC 4388 and later types).
    Other(u8),
}

impl MessageType {
    pub fn from_u8(v: u8) -> MessageType {
        match v {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            o => MessageType::Other(o),
        }
    }
    pub fn to_u8(self) -> u8 {
        match self {
            MessageType::Discover => 1,
            MessageType::Offer => 2,
            MessageType::Request => 3,
            MessageType::Decline => 4,
            MessageType::Ack => 5,
            MessageType::Nak => 6,
            MessageType::Release => 7,
            MessageType::Inform => 8,
            MessageType::Other(o) => o,
        }
    }
}

/// Relay agent information (option 82, RFC 3046).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayAgentInfo {
    /// The option's data exactly as received, to be echoed unchanged.
    pub raw: Vec<u8>,
    /// Sub-option 1, agent circuit id.
    pub circuit_id: Option<Vec<u8>>,
    /// Sub-option 2, agent remote id.
    pub remote_id: Option<Vec<u8>>,
}

/// Owned summary of a DHCP/BOOTP message that passed [`parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpPacket {
    /// 1 BOOTREQUEST, 2 BOOTREPLY.
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub hops: u8,
    pub xid: u32,
    /// Seconds elapsed as the client wrote it (iPXE writes debug bits here, see
    /// [`super::firmware`]).
    pub secs: u16,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    /// The client's MAC, when htype is 1 (Ethernet) and hlen 6; `None` otherwise (EDK2
    /// may put the SMBIOS GUID there with hlen 16 when `SendGUID` is set).
    pub chaddr: Option<Mac>,
    /// The 16 bytes of the chaddr field.
    pub chaddr_raw: [u8; 16],
    /// Server host name field up to its first NUL (empty when overloaded).
    pub sname: Vec<u8>,
    /// Boot file field up to its first NUL (empty when overloaded).
    pub file: Vec<u8>,
    /// Option 53. `None` for BOOTP.
    pub message_type: Option<MessageType>,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 60, raw.
    pub vendor_class: Option<Vec<u8>>,
    /// Option 93, every entry in order (RFC 4578: a list of u16).
    pub client_arch: Vec<u16>,
    /// Option 94: type, major, minor.
    pub client_ndi: Option<[u8; 3]>,
    /// Option 97 (type 0 + 16 bytes in PXE byte order), as the scenario's GUID.
    pub client_guid: Option<Guid>,
    /// Option 77, raw.
    pub user_class: Option<Vec<u8>>,
    /// Option 55.
    pub param_request_list: Option<Vec<u8>>,
    /// Option 57.
    pub max_msg_size: Option<u16>,
    /// Option 82.
    pub relay_agent_info: Option<RelayAgentInfo>,
    /// Option 43, raw.
    pub vendor_specific: Option<Vec<u8>>,
    /// Option 52 (1 file, 2 sname, 3 both), honoured.
    pub overload: Option<u8>,
    /// The main option area had no END option (tolerated, see the module doc).
    pub end_missing: bool,
    /// Every option instance in wire order (main area, then file, then sname when
    /// overloaded); pad and END are not listed.
    pub options: Vec<(u8, Vec<u8>)>,
}

impl DhcpPacket {
    /// Option 60 starts with `PXEClient`.
    pub fn is_pxe_client(&self) -> bool {
        self.vendor_class
            .as_deref()
            .is_some_and(|v| v.starts_with(PXE_CLIENT.as_bytes()))
    }
    /// Option 60 begins `HTTPClient`: a UEFI HTTP boot client (R-HTTP-1).
    pub fn is_http_client(&self) -> bool {
        self.vendor_class
            .as_deref()
            .is_some_and(|v| v.starts_with(crate::dhcp6::request::HTTP_CLIENT.as_bytes()))
    }
    /// The broadcast bit of `flags`.
    pub fn broadcast(&self) -> bool {
        self.flags & BROADCAST_FLAG != 0
    }
    /// All instances of `code` concatenated (RFC 3396), `None` when absent.
    pub fn option(&self, code: u8) -> Option<Vec<u8>> {
        concat(&self.options, code)
    }
    /// The client's first (preferred) architecture from option 93, as R-ID-2 reads it.
    pub fn first_arch(&self) -> Option<u16> {
        self.client_arch.first().copied()
    }
    /// R-ID-2: the client class from option 93 (absent means BIOS).
    pub fn client_class(&self) -> Option<ClientClass> {
        ClientClass::from_option93(self.first_arch())
    }
    /// The `file` field as text (lossy UTF-8).
    pub fn file_lossy(&self) -> String {
        String::from_utf8_lossy(&self.file).into_owned()
    }
    /// The `sname` field as text (lossy UTF-8).
    pub fn sname_lossy(&self) -> String {
        String::from_utf8_lossy(&self.sname).into_owned()
    }
    /// The message was relayed (giaddr set).
    pub fn is_relayed(&self) -> bool {
        !self.giaddr.is_unspecified()
    }
}

/// Where a [`MalformedDhcp`] went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MalformedKind {
    /// Shorter than the 236-byte header plus the 4-byte magic cookie.
    TooShort { len: usize },
    /// The 4 bytes at offset 236 are not 99.130.83.99.
    BadMagic { found: [u8; 4] },
    /// hlen larger than the 16-byte chaddr field.
    HlenTooLong { hlen: u8 },
    /// An option code is followed by no length byte.
    OptionHeaderTruncated,
    /// An option's length runs past the end of its area.
    OptionOverrun { len: usize, available: usize },
    /// An option with a fixed length had another one.
    BadLength { len: usize, expected: &'static str },
    /// Option 93 must hold a non-empty list of u16.
    ArchListLength { len: usize },
    /// Option 97 must be type 0 followed by 16 bytes.
    GuidLength { len: usize },
    /// Option 97 with a type other than 0.
    GuidType { ty: u8 },
    /// An option 82 sub-option runs past the end of option 82.
    RelaySubOptionOverrun { sub_offset: usize },
    /// Option 52 with a value other than 1, 2 or 3.
    BadOverload { value: u8 },
    /// Option 52 inside the `file` or `sname` field it overloads (it belongs in the
    /// main option area only).
    OverloadInOverloadedField,
    /// Our walk and dhcproto's borrowed walker disagree (a bug in one of them).
    WalkerDisagrees,
}

/// Why [`parse`] refused a payload, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedDhcp {
    /// Byte offset in the UDP payload of the field or option that is wrong.
    pub offset: usize,
    /// The option code, when the problem is in an option.
    pub option: Option<u8>,
    pub kind: MalformedKind,
}

impl fmt::Display for MalformedDhcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed DHCP: ")?;
        match &self.kind {
            MalformedKind::TooShort { len } => {
                write!(f, "{len} bytes, shorter than the 240-byte header")?
            }
            MalformedKind::BadMagic { found } => write!(f, "bad magic cookie {found:?}")?,
            MalformedKind::HlenTooLong { hlen } => write!(f, "hlen {hlen} exceeds 16")?,
            MalformedKind::OptionHeaderTruncated => f.write_str("option has no length byte")?,
            MalformedKind::OptionOverrun { len, available } => write!(
                f,
                "option length {len} runs past the end ({available} bytes left)"
            )?,
            MalformedKind::BadLength { len, expected } => {
                write!(f, "length {len}, expected {expected}")?
            }
            MalformedKind::ArchListLength { len } => write!(
                f,
                "client architecture list of length {len} (must be even and > 0)"
            )?,
            MalformedKind::GuidLength { len } => {
                write!(f, "client GUID of length {len} (must be 17)")?
            }
            MalformedKind::GuidType { ty } => write!(f, "client GUID type {ty} (must be 0)")?,
            MalformedKind::RelaySubOptionOverrun { sub_offset } => write!(
                f,
                "relay agent sub-option at byte {sub_offset} of the option runs past its end"
            )?,
            MalformedKind::BadOverload { value } => write!(f, "option overload value {value}")?,
            MalformedKind::OverloadInOverloadedField => {
                f.write_str("option overload inside an overloaded field")?
            }
            MalformedKind::WalkerDisagrees => {
                f.write_str("option walk disagrees with dhcproto's walker")?
            }
        }
        match self.option {
            Some(code) => write!(f, " (option {code} at byte {})", self.offset),
            None => write!(f, " (at byte {})", self.offset),
        }
    }
}

impl std::error::Error for MalformedDhcp {}

fn bad(offset: usize, option: Option<u8>, kind: MalformedKind) -> MalformedDhcp {
    MalformedDhcp {
        offset,
        option,
        kind,
    }
}

/// One option instance found by [`walk_area`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub code: u8,
    /// Offset of the code byte in the payload.
    pub offset: usize,
    /// Offset of the first data byte in the payload.
    pub data: std::ops::Range<usize>,
}

/// Result of walking one option area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Area {
    pub found: Vec<Found>,
    /// Offset of END, or of the byte after the last option when END is missing.
    pub end_offset: usize,
    pub end_missing: bool,
}

/// Walks `payload[start..stop]` as an option area: every option must fit.
pub(crate) fn walk_area(payload: &[u8], start: usize, stop: usize) -> Result<Area, MalformedDhcp> {
    let mut found = Vec::new();
    let mut i = start;
    let mut last_end = start;
    while i < stop {
        let code = payload[i];
        match code {
            opt::PAD => {
                i += 1;
                continue;
            }
            opt::END => {
                return Ok(Area {
                    found,
                    end_offset: i,
                    end_missing: false,
                })
            }
            _ => {}
        }
        if i + 1 >= stop {
            return Err(bad(i, Some(code), MalformedKind::OptionHeaderTruncated));
        }
        let len = payload[i + 1] as usize;
        let available = stop - (i + 2);
        if len > available {
            return Err(bad(
                i,
                Some(code),
                MalformedKind::OptionOverrun { len, available },
            ));
        }
        found.push(Found {
            code,
            offset: i,
            data: i + 2..i + 2 + len,
        });
        i += 2 + len;
        last_end = i;
    }
    Ok(Area {
        found,
        end_offset: last_end,
        end_missing: true,
    })
}

/// Checks the fixed header and walks the main option area (no overload handling).
pub(crate) fn walk_main(payload: &[u8]) -> Result<Area, MalformedDhcp> {
    check_header(payload)?;
    walk_area(payload, OPTIONS_OFFSET, payload.len())
}

fn check_header(payload: &[u8]) -> Result<(), MalformedDhcp> {
    if payload.len() < OPTIONS_OFFSET {
        return Err(bad(
            payload.len(),
            None,
            MalformedKind::TooShort { len: payload.len() },
        ));
    }
    let magic: [u8; 4] = [payload[236], payload[237], payload[238], payload[239]];
    if magic != MAGIC_COOKIE {
        return Err(bad(
            BOOTP_HEADER_LEN,
            None,
            MalformedKind::BadMagic { found: magic },
        ));
    }
    if payload[2] > 16 {
        return Err(bad(
            2,
            None,
            MalformedKind::HlenTooLong { hlen: payload[2] },
        ));
    }
    Ok(())
}

fn concat(options: &[(u8, Vec<u8>)], code: u8) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    for (c, d) in options {
        if *c == code {
            out.get_or_insert_with(Vec::new).extend_from_slice(d);
        }
    }
    out
}

/// Cross-checks our walk of the main area against dhcproto's borrowed walker: its
/// items must be our instances with consecutive same-code runs concatenated.
fn cross_check(payload: &[u8], main: &Area) -> Result<(), MalformedDhcp> {
    let msg = borrowed::Message::new(payload)
        .map_err(|_| bad(0, None, MalformedKind::WalkerDisagrees))?;
    let mut ours: Vec<(u8, Vec<u8>)> = Vec::new();
    // dhcproto merges only instances that follow each other with no pad in between.
    let mut prev_end = usize::MAX;
    for f in &main.found {
        match ours.last_mut() {
            Some((c, d)) if *c == f.code && f.offset == prev_end => {
                d.extend_from_slice(&payload[f.data.clone()])
            }
            _ => ours.push((f.code, payload[f.data.clone()].to_vec())),
        }
        prev_end = f.data.end;
    }
    let theirs: Vec<(u8, Vec<u8>)> = msg
        .opts()
        .map(|o| (u8::from(o.code()), o.data().to_vec()))
        .collect();
    if theirs != ours {
        return Err(bad(OPTIONS_OFFSET, None, MalformedKind::WalkerDisagrees));
    }
    Ok(())
}

fn exact<const N: usize>(
    data: &[u8],
    code: u8,
    at: usize,
    expected: &'static str,
) -> Result<[u8; N], MalformedDhcp> {
    data.try_into().map_err(|_| {
        bad(
            at,
            Some(code),
            MalformedKind::BadLength {
                len: data.len(),
                expected,
            },
        )
    })
}

/// Parses option 82's sub-options; each must fit inside the option.
pub fn parse_relay_agent_info(data: &[u8]) -> Result<RelayAgentInfo, usize> {
    let mut info = RelayAgentInfo {
        raw: data.to_vec(),
        circuit_id: None,
        remote_id: None,
    };
    let mut i = 0;
    while i < data.len() {
        if i + 1 >= data.len() {
            return Err(i);
        }
        let len = data[i + 1] as usize;
        if i + 2 + len > data.len() {
            return Err(i);
        }
        let v = data[i + 2..i + 2 + len].to_vec();
        match data[i] {
            1 => info.circuit_id = Some(v),
            2 => info.remote_id = Some(v),
            _ => {}
        }
        i += 2 + len;
    }
    Ok(info)
}

fn cstr(field: &[u8]) -> Vec<u8> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field[..end].to_vec()
}

/// Parses a UDP payload as a DHCP/BOOTP message, strictly (see the module doc).
/// Never panics.
pub fn parse(payload: &[u8]) -> Result<DhcpPacket, MalformedDhcp> {
    let main = walk_main(payload)?;
    cross_check(payload, &main)?;
    let msg = borrowed::Message::new(payload).map_err(|_| {
        bad(
            payload.len(),
            None,
            MalformedKind::TooShort { len: payload.len() },
        )
    })?;

    // Option overload: 52 in the main area (RFC 2132 9.3), its instances concatenated
    // like every other option's (RFC 3396), one byte in all.
    let mut overload = None;
    let mut parts = main
        .found
        .iter()
        .filter(|f| f.code == opt::OVERLOAD)
        .peekable();
    if let Some(first) = parts.peek().map(|f| f.offset) {
        let d: Vec<u8> = parts
            .flat_map(|f| payload[f.data.clone()].iter().copied())
            .collect();
        let [v] = exact::<1>(&d, opt::OVERLOAD, first, "1")?;
        if !(1..=3).contains(&v) {
            return Err(bad(
                first,
                Some(opt::OVERLOAD),
                MalformedKind::BadOverload { value: v },
            ));
        }
        overload = Some(v);
    }
    let mut all: Vec<Found> = main.found.clone();
    if let Some(v) = overload {
        for (bit, start, stop) in [(1, 108, 236), (2, 44, 108)] {
            if v & bit == 0 {
                continue;
            }
            let area = walk_area(payload, start, stop)?;
            // An overloaded field says nothing about overloading.
            if let Some(f) = area.found.iter().find(|f| f.code == opt::OVERLOAD) {
                return Err(bad(
                    f.offset,
                    Some(opt::OVERLOAD),
                    MalformedKind::OverloadInOverloadedField,
                ));
            }
            all.extend(area.found);
        }
    }
    let options: Vec<(u8, Vec<u8>)> = all
        .iter()
        .map(|f| (f.code, payload[f.data.clone()].to_vec()))
        .collect();
    // Offset of an option's first instance, for error reports.
    let at = |code: u8| {
        all.iter()
            .find(|f| f.code == code)
            .map(|f| f.offset)
            .unwrap_or(OPTIONS_OFFSET)
    };

    let mut chaddr_raw = [0u8; 16];
    chaddr_raw.copy_from_slice(&payload[28..44]);
    let hlen = msg.hlen();
    let htype = u8::from(msg.htype());
    let chaddr = if htype == 1 && hlen == 6 {
        let mut m = [0u8; 6];
        m.copy_from_slice(&chaddr_raw[..6]);
        Some(Mac(m))
    } else {
        None
    };

    let mut p = DhcpPacket {
        op: payload[0],
        htype,
        hlen,
        hops: msg.hops(),
        xid: msg.xid(),
        secs: msg.secs(),
        flags: u16::from_be_bytes([payload[10], payload[11]]),
        ciaddr: msg.ciaddr(),
        yiaddr: msg.yiaddr(),
        siaddr: msg.siaddr(),
        giaddr: msg.giaddr(),
        chaddr,
        chaddr_raw,
        sname: if overload.is_some_and(|v| v & 2 != 0) {
            Vec::new()
        } else {
            cstr(&payload[44..108])
        },
        file: if overload.is_some_and(|v| v & 1 != 0) {
            Vec::new()
        } else {
            cstr(&payload[108..236])
        },
        message_type: None,
        requested_ip: None,
        server_id: None,
        vendor_class: None,
        client_arch: Vec::new(),
        client_ndi: None,
        client_guid: None,
        user_class: None,
        param_request_list: None,
        max_msg_size: None,
        relay_agent_info: None,
        vendor_specific: None,
        overload,
        end_missing: main.end_missing,
        options,
    };

    if let Some(d) = p.option(opt::MESSAGE_TYPE) {
        let [v] = exact::<1>(&d, opt::MESSAGE_TYPE, at(opt::MESSAGE_TYPE), "1")?;
        p.message_type = Some(MessageType::from_u8(v));
    }
    if let Some(d) = p.option(opt::REQUESTED_IP) {
        p.requested_ip =
            Some(exact::<4>(&d, opt::REQUESTED_IP, at(opt::REQUESTED_IP), "4")?.into());
    }
    if let Some(d) = p.option(opt::SERVER_ID) {
        p.server_id = Some(exact::<4>(&d, opt::SERVER_ID, at(opt::SERVER_ID), "4")?.into());
    }
    if let Some(d) = p.option(opt::MAX_MSG_SIZE) {
        p.max_msg_size = Some(u16::from_be_bytes(exact::<2>(
            &d,
            opt::MAX_MSG_SIZE,
            at(opt::MAX_MSG_SIZE),
            "2",
        )?));
    }
    if let Some(d) = p.option(opt::CLIENT_ARCH) {
        if d.is_empty() || d.len() % 2 != 0 {
            return Err(bad(
                at(opt::CLIENT_ARCH),
                Some(opt::CLIENT_ARCH),
                MalformedKind::ArchListLength { len: d.len() },
            ));
        }
        p.client_arch = d
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
    }
    if let Some(d) = p.option(opt::CLIENT_NDI) {
        p.client_ndi = Some(exact::<3>(&d, opt::CLIENT_NDI, at(opt::CLIENT_NDI), "3")?);
    }
    if let Some(d) = p.option(opt::CLIENT_GUID) {
        if d.len() != 17 {
            return Err(bad(
                at(opt::CLIENT_GUID),
                Some(opt::CLIENT_GUID),
                MalformedKind::GuidLength { len: d.len() },
            ));
        }
        if d[0] != 0 {
            return Err(bad(
                at(opt::CLIENT_GUID),
                Some(opt::CLIENT_GUID),
                MalformedKind::GuidType { ty: d[0] },
            ));
        }
        let mut g = [0u8; 16];
        g.copy_from_slice(&d[1..]);
        p.client_guid = Some(Guid::from_pxe_bytes(g));
    }
    if let Some(d) = p.option(opt::RELAY_AGENT_INFO) {
        let info = parse_relay_agent_info(&d).map_err(|sub_offset| {
            bad(
                at(opt::RELAY_AGENT_INFO),
                Some(opt::RELAY_AGENT_INFO),
                MalformedKind::RelaySubOptionOverrun { sub_offset },
            )
        })?;
        p.relay_agent_info = Some(info);
    }
    p.vendor_class = p.option(opt::VENDOR_CLASS);
    p.user_class = p.option(opt::USER_CLASS);
    p.param_request_list = p.option(opt::PARAM_REQUEST_LIST);
    p.vendor_specific = p.option(opt::VENDOR_SPECIFIC);
    Ok(p)
}

#[cfg(test)]
mod tests;
