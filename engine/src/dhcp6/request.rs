//! What a DHCPv6 boot request says (RFC 8415, RFC 5970, RFC 6939), and who sent it
//! (R-V6-2).

use std::fmt;

use super::wire::Message6;
use super::{msg, opt, PXE_ENTERPRISE};
use crate::dhcp::PXE_CLIENT;
use crate::ids::{Guid, Mac};

/// The vendor class prefix of UEFI HTTP boot clients (R-HTTP-1).
pub const HTTP_CLIENT: &str = "HTTPClient";

/// Which kind of network boot a request asks for, from its vendor class (option 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootKind {
    /// Enterprise 343 and data beginning `PXEClient` (R-V6-1).
    Pxe,
    /// Data beginning `HTTPClient` (R-HTTP-1).
    Http,
}

/// A client's Solicit, Request or Information-request, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootRequest6 {
    pub msg_type: u8,
    pub xid: [u8; 3],
    /// Option 1, the client's DUID as sent.
    pub client_id: Option<Vec<u8>>,
    /// Option 2: the server the client addresses (a Request names one).
    pub server_id: Option<Vec<u8>>,
    /// Option 16 as sent (echoed in the answer), and what it asks for.
    pub vendor_class: Option<(Vec<u8>, Option<BootKind>)>,
    /// Option 61, every entry in order.
    pub arch: Vec<u16>,
    /// Option 8, in hundredths of a second; 0 when absent.
    pub elapsed_cs: u16,
}

/// A boot request's option that is not what its RFC says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError(pub String);

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RequestError {}

impl BootRequest6 {
    /// Read a client message. `None` for messages that are not boot requests a
    /// responder answers (Advertise, Reply, Renew...). Errors name the option.
    pub fn read(m: &Message6) -> Result<Option<BootRequest6>, RequestError> {
        let Message6::Client { msg_type, xid, .. } = m else {
            return Ok(None);
        };
        if !matches!(
            *msg_type,
            msg::SOLICIT | msg::REQUEST | msg::INFORMATION_REQUEST
        ) {
            return Ok(None);
        }
        let vendor_class = match m.option(opt::VENDOR_CLASS) {
            None => None,
            Some(v) => Some((v.to_vec(), boot_kind(v)?)),
        };
        let arch = match m.option(opt::CLIENT_ARCH_TYPE) {
            None => Vec::new(),
            Some(a) if a.is_empty() || a.len() % 2 != 0 => {
                return Err(RequestError(format!(
                    "option 61 (client architecture) is {} bytes long, not a list of 16-bit types",
                    a.len()
                )))
            }
            Some(a) => a
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
        };
        let elapsed_cs = match m.option(opt::ELAPSED_TIME) {
            None => 0,
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            Some(e) => {
                return Err(RequestError(format!(
                    "option 8 (elapsed time) is {} bytes long, not 2",
                    e.len()
                )))
            }
        };
        Ok(Some(BootRequest6 {
            msg_type: *msg_type,
            xid: *xid,
            client_id: m.option(opt::CLIENTID).map(<[u8]>::to_vec),
            server_id: m.option(opt::SERVERID).map(<[u8]>::to_vec),
            vendor_class,
            arch,
            elapsed_cs,
        }))
    }

    /// The boot the client asks for: `None` when it is neither a PXE nor an HTTP boot
    /// client (not the responder's business).
    pub fn kind(&self) -> Option<BootKind> {
        self.vendor_class.as_ref().and_then(|(_, k)| *k)
    }

    /// The transaction id as a number.
    pub fn xid(&self) -> u32 {
        u32::from_be_bytes([0, self.xid[0], self.xid[1], self.xid[2]])
    }
}

/// Option 16: enterprise number, then (length, data) items (RFC 8415 section 21.16).
fn boot_kind(v: &[u8]) -> Result<Option<BootKind>, RequestError> {
    let bad = |why: &str| RequestError(format!("option 16 (vendor class): {why}"));
    if v.len() < 4 {
        return Err(bad("shorter than its 4-byte enterprise number"));
    }
    let enterprise = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
    let mut items = &v[4..];
    let mut first: Option<&[u8]> = None;
    while !items.is_empty() {
        if items.len() < 2 {
            return Err(bad("a stray byte after the last class item"));
        }
        let len = usize::from(u16::from_be_bytes([items[0], items[1]]));
        let Some(data) = items.get(2..2 + len) else {
            return Err(bad(&format!(
                "a class item says {len} bytes, {} remain",
                items.len() - 2
            )));
        };
        first.get_or_insert(data);
        items = &items[2 + len..];
    }
    let first = first.unwrap_or_default();
    Ok(
        if enterprise == PXE_ENTERPRISE && first.starts_with(PXE_CLIENT.as_bytes()) {
            Some(BootKind::Pxe)
        } else if first.starts_with(HTTP_CLIENT.as_bytes()) {
            Some(BootKind::Http)
        } else {
            None
        },
    )
}

/// Who a request comes from (R-V6-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity6 {
    pub mac: Option<Mac>,
    /// From a DUID-UUID read in option 97's byte order (EDK2 writes it so).
    pub guid: Option<Guid>,
    /// The same 16 bytes read in network order (iPXE writes it so: the lab's captures,
    /// docs/MODEL.md); the responder takes it when the site knows that GUID and not
    /// the first.
    pub guid_network_order: Option<Guid>,
}

// R-V6-2: the MAC is the link-layer source of an on-link message, else (relayed) the
// Client Link-Layer Address option 79 the first relay added, else a DUID-LL or
// DUID-LLT of Ethernet; the SMBIOS GUID is a DUID-UUID's 16 bytes, in the byte order of
// R-ID-1 (option 97's, as EDK2 writes it) or, as iPXE writes it, in network order.
pub fn identity(req: &BootRequest6, link_src: Option<Mac>, relay_ll: Option<&[u8]>) -> Identity6 {
    let duid = req.client_id.as_deref().unwrap_or_default();
    let duid_type = duid.get(..2).map(|t| u16::from_be_bytes([t[0], t[1]]));
    let duid_mac = match duid_type {
        // DUID-LLT: type, hardware type, time, address.
        Some(1) => ethernet(duid.get(2..4), duid.get(8..)),
        // DUID-LL: type, hardware type, address.
        Some(3) => ethernet(duid.get(2..4), duid.get(4..)),
        _ => None,
    };
    let uuid = match (duid_type, duid.get(2..)) {
        (Some(4), Some(u)) if u.len() == 16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(u);
            Some(b)
        }
        _ => None,
    };
    // Option 79: link-layer type (2 bytes), then the address (RFC 6939 section 4).
    let opt79 = relay_ll.and_then(|o| ethernet(o.get(..2), o.get(2..)));
    Identity6 {
        mac: link_src.or(opt79).or(duid_mac),
        guid: uuid.map(Guid::from_pxe_bytes),
        guid_network_order: uuid.map(Guid),
    }
}

/// An Ethernet address given with its hardware type (1, RFC 826's numbering).
fn ethernet(htype: Option<&[u8]>, addr: Option<&[u8]>) -> Option<Mac> {
    match (htype, addr) {
        (Some([0, 1]), Some(a)) if a.len() == 6 => {
            let mut m = [0u8; 6];
            m.copy_from_slice(a);
            Some(Mac(m))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp6::wire::Opt;

    fn vendor(enterprise: u32, class: &str) -> Vec<u8> {
        let mut v = enterprise.to_be_bytes().to_vec();
        v.extend((class.len() as u16).to_be_bytes());
        v.extend(class.as_bytes());
        v
    }

    fn solicit(options: Vec<(u16, Vec<u8>)>) -> Message6 {
        Message6::Client {
            msg_type: msg::SOLICIT,
            xid: [0, 0, 7],
            options: options
                .into_iter()
                .map(|(code, data)| Opt { code, data })
                .collect(),
        }
    }

    const MAC: Mac = Mac([0x52, 0x54, 0, 0, 0, 1]);

    #[test]
    fn r_v6_1_pxe_needs_enterprise_343_and_pxeclient() {
        let pxe = solicit(vec![(16, vendor(343, "PXEClient:Arch:00007:UNDI:003016"))]);
        let r = BootRequest6::read(&pxe).unwrap().unwrap();
        assert_eq!(r.kind(), Some(BootKind::Pxe));
        let other = solicit(vec![(16, vendor(311, "PXEClient"))]);
        assert_eq!(BootRequest6::read(&other).unwrap().unwrap().kind(), None);
        let none = solicit(vec![]);
        assert_eq!(BootRequest6::read(&none).unwrap().unwrap().kind(), None);
    }

    #[test]
    fn r_http_1_httpclient_is_an_http_boot_client() {
        let http = solicit(vec![(16, vendor(343, "HTTPClient:Arch:00016:UNDI:003016"))]);
        let r = BootRequest6::read(&http).unwrap().unwrap();
        assert_eq!(r.kind(), Some(BootKind::Http));
    }

    #[test]
    fn r_v6_2_architecture_and_elapsed_time() {
        let m = solicit(vec![(61, vec![0, 7, 0, 16]), (8, vec![1, 0])]);
        let r = BootRequest6::read(&m).unwrap().unwrap();
        assert_eq!(r.arch, vec![7, 16]);
        assert_eq!(r.elapsed_cs, 256);
        assert_eq!(
            BootRequest6::read(&solicit(vec![(61, vec![0, 7, 0])]))
                .unwrap_err()
                .to_string(),
            "option 61 (client architecture) is 3 bytes long, not a list of 16-bit types"
        );
        assert!(BootRequest6::read(&solicit(vec![(16, vec![0, 0, 1, 87, 0, 9, 80])])).is_err());
    }

    #[test]
    fn r_v6_2_the_mac_from_the_link_then_option_79_then_the_duid() {
        let llt = {
            let mut d = vec![0, 1, 0, 1, 0x2a, 0x2b, 0x2c, 0x2d];
            d.extend(MAC.0);
            d
        };
        let r = BootRequest6::read(&solicit(vec![(1, llt)]))
            .unwrap()
            .unwrap();
        let other = Mac([2, 0, 0, 0, 0, 9]);
        assert_eq!(identity(&r, None, None).mac, Some(MAC), "DUID-LLT");
        assert_eq!(
            identity(&r, Some(other), None).mac,
            Some(other),
            "link source first"
        );
        let mut o79 = vec![0, 1];
        o79.extend(other.0);
        assert_eq!(
            identity(&r, None, Some(&o79)).mac,
            Some(other),
            "option 79 before the DUID"
        );
        let mut ll = vec![0, 3, 0, 1];
        ll.extend(MAC.0);
        let r = BootRequest6::read(&solicit(vec![(1, ll)]))
            .unwrap()
            .unwrap();
        assert_eq!(identity(&r, None, None).mac, Some(MAC), "DUID-LL");
    }

    #[test]
    fn r_v6_2_the_guid_from_a_duid_uuid_in_option_97_byte_order() {
        let g: Guid = "11111111-2222-3333-4444-555555555555".parse().unwrap();
        let mut d = vec![0, 4];
        d.extend(g.to_pxe_bytes());
        let r = BootRequest6::read(&solicit(vec![(1, d)])).unwrap().unwrap();
        let id = identity(&r, None, None);
        assert_eq!(id.guid, Some(g));
        // iPXE writes the UUID in network order: the alternative reading.
        let mut d = vec![0, 4];
        d.extend(g.0);
        let ipxe = BootRequest6::read(&solicit(vec![(1, d)])).unwrap().unwrap();
        assert_eq!(identity(&ipxe, None, None).guid_network_order, Some(g));
        assert_eq!(id.mac, None, "a DUID-UUID carries no MAC");
    }

    proptest::proptest! {
        #[test]
        fn any_options_read_without_panic(
            opts in proptest::collection::vec(
                (proptest::sample::select(vec![1u16, 2, 8, 16, 61, 79]),
                 proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
                0..6),
            link in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..10)),
        ) {
            let m = solicit(opts);
            if let Ok(Some(r)) = BootRequest6::read(&m) {
                let _ = identity(&r, None, link.as_deref());
            }
        }
    }
}
