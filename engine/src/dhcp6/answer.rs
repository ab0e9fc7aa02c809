//! The responder's proxy answers over DHCPv6 (R-V6-1, R-HTTP-1): an Advertise to a
//! Solicit, a Reply to a Request or Information-request, each with no address (no
//! IA_NA: the DHCPv6 server leases addresses), the client's DUID echoed, the
//! responder's server identifier, the vendor class `PXEClient` (or `HTTPClient`) with
//! enterprise 343, and the boot program as a Boot File URL (option 59).
//!
//! EDK2's PXE over IPv6 (`NetworkPkg/UefiPxeBcDxe/PxeBcDhcp6.c`, `PxeBcParseDhcp6Packet`)
//! counts an offer as a PXE offer by that vendor class and takes the boot file from
//! option 59; the firmware in the lab is the judge (issue 14).

use sha2::{Digest, Sha256};

use super::request::{BootKind, BootRequest6, HTTP_CLIENT};
use super::wire::{Message6, Opt};
use super::{msg, opt, PXE_ENTERPRISE};
use crate::dhcp::PXE_CLIENT;

/// What the answer carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerParams {
    /// The responder's DUID (option 2), see [`server_duid`].
    pub server_duid: Vec<u8>,
    /// Option 59: `tftp://[address6]/path` (PXE) or `http://[address6]:port/path`.
    pub boot_file_url: String,
    pub kind: BootKind,
}

/// Whether the answer is an Advertise or a Reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer6 {
    Advertise,
    Reply,
}

/// A responder's DUID: a DUID-UUID (RFC 6355, type 4) whose 16 bytes are the first 16
/// of SHA-256 of its name, so a responder keeps its identifier across restarts and two
/// responders do not share one.
pub fn server_duid(name: &str) -> Vec<u8> {
    let h = Sha256::digest(format!("pxelab responder {name}").as_bytes());
    let mut d = vec![0, 4];
    d.extend_from_slice(&h[..16]);
    d
}

/// The vendor class option's data: enterprise 343 and one class item.
pub fn vendor_class(kind: BootKind) -> Vec<u8> {
    let class = match kind {
        BootKind::Pxe => PXE_CLIENT,
        BootKind::Http => HTTP_CLIENT,
    };
    let mut v = PXE_ENTERPRISE.to_be_bytes().to_vec();
    v.extend((class.len() as u16).to_be_bytes());
    v.extend(class.as_bytes());
    v
}

// R-V6-1, R-HTTP-1: the proxy answer (no address, the vendor class echoed, the server
// identifier, the boot program's URL in option 59).
pub fn answer(req: &BootRequest6, p: &AnswerParams) -> (Answer6, Message6) {
    let (kind, msg_type) = if req.msg_type == msg::SOLICIT {
        (Answer6::Advertise, msg::ADVERTISE)
    } else {
        (Answer6::Reply, msg::REPLY)
    };
    let mut options = Vec::new();
    if let Some(c) = &req.client_id {
        options.push(Opt {
            code: opt::CLIENTID,
            data: c.clone(),
        });
    }
    options.push(Opt {
        code: opt::SERVERID,
        data: p.server_duid.clone(),
    });
    options.push(Opt {
        code: opt::VENDOR_CLASS,
        data: vendor_class(p.kind),
    });
    options.push(Opt {
        code: opt::BOOTFILE_URL,
        data: p.boot_file_url.as_bytes().to_vec(),
    });
    (
        kind,
        Message6::Client {
            msg_type,
            xid: req.xid,
            options,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcproto::v6 as d;
    use dhcproto::{Decodable, Decoder};

    fn request(msg_type: u8) -> BootRequest6 {
        BootRequest6 {
            msg_type,
            xid: [9, 8, 7],
            client_id: Some(vec![0, 3, 0, 1, 0x52, 0x54, 0, 0, 0, 1]),
            server_id: None,
            vendor_class: None,
            arch: vec![7],
            elapsed_cs: 0,
        }
    }

    fn params() -> AnswerParams {
        AnswerParams {
            server_duid: server_duid("dp1"),
            boot_file_url: "tftp://[2001:db8:10::5]/smsboot/PS100002/x64/bootmgfw.efi".into(),
            kind: BootKind::Pxe,
        }
    }

    #[test]
    fn r_v6_1_advertise_to_solicit_reply_to_request() {
        assert_eq!(
            answer(&request(msg::SOLICIT), &params()).0,
            Answer6::Advertise
        );
        assert_eq!(answer(&request(msg::REQUEST), &params()).0, Answer6::Reply);
        assert_eq!(
            answer(&request(msg::INFORMATION_REQUEST), &params()).0,
            Answer6::Reply
        );
    }

    /// Cross-check with `dhcproto`: it reads our Advertise as we meant it.
    #[test]
    fn r_v6_1_the_answer_as_dhcproto_reads_it() {
        let (_, m) = answer(&request(msg::SOLICIT), &params());
        let b = m.encode();
        let their = d::Message::decode(&mut Decoder::new(&b)).unwrap();
        assert_eq!(their.msg_type(), d::MessageType::Advertise);
        assert_eq!(their.xid(), [9, 8, 7]);
        let opts: Vec<&d::DhcpOption> = their.opts().iter().collect();
        assert!(opts.contains(&&d::DhcpOption::ClientId(vec![
            0, 3, 0, 1, 0x52, 0x54, 0, 0, 0, 1
        ])));
        assert!(opts.contains(&&d::DhcpOption::ServerId(server_duid("dp1"))));
        assert!(opts.contains(&&d::DhcpOption::VendorClass(d::VendorClass {
            num: 343,
            data: vec![b"PXEClient".to_vec()],
        })));
        let url = opts.iter().find_map(|o| match o {
            d::DhcpOption::Unknown(u) if u16::from(u.code()) == 59 => Some(u.data().to_vec()),
            _ => None,
        });
        assert_eq!(
            url.as_deref(),
            Some(&b"tftp://[2001:db8:10::5]/smsboot/PS100002/x64/bootmgfw.efi"[..])
        );
        assert!(
            !opts.iter().any(|o| matches!(o, d::DhcpOption::IANA(_))),
            "no address: the DHCPv6 server leases them"
        );
    }

    #[test]
    fn r_http_1_the_http_answer_says_httpclient() {
        let mut p = params();
        p.kind = BootKind::Http;
        p.boot_file_url = "http://[2001:db8:10::5]:8080/smsboot/PS100002/x64/bootmgfw.efi".into();
        let (_, m) = answer(&request(msg::SOLICIT), &p);
        let vc = m.option(opt::VENDOR_CLASS).unwrap();
        assert_eq!(&vc[6..], b"HTTPClient");
        assert_eq!(
            m.option(opt::BOOTFILE_URL),
            Some(p.boot_file_url.as_bytes())
        );
    }

    #[test]
    fn server_duids_are_stable_and_distinct() {
        assert_eq!(server_duid("dp1"), server_duid("dp1"));
        assert_ne!(server_duid("dp1"), server_duid("dp2"));
        assert_eq!(server_duid("dp1").len(), 18);
    }
}
