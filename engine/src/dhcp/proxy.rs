//! The responder's proxy DHCP replies (R-ANS-1, R-ANS-3).
//!
//! # What a proxy offer must hold so that both firmwares come to port 4011
//!
//! Read from the sources (ipxe/ipxe `src/net/udp/dhcp.c`, `src/include/ipxe/dhcp.h`,
//! `src/net/dhcppkt.c`, `src/config/dhcp.h`; tianocore/edk2
//! `NetworkPkg/UefiPxeBcDxe/PxeBcDhcp4.c`, `PxeBcDhcp4.h`, `PxeBcBoot.c`,
//! `NetworkPkg/Dhcp4Dxe/Dhcp4Io.c`, `Dhcp4Option.c`, `Dhcp4Impl.c`):
//!
//! **iPXE** (`dhcp_discovery_rx`, `dhcp_request_rx`, `dhcp_proxy_tx`, `dhcp_proxy_rx`,
//! `dhcp_has_pxeopts`):
//! - an offer counts as a ProxyDHCP offer when option 60 begins with the 9 bytes
//!   `PXEClient` and it has a "pseudo server id": option 54, else siaddr, else the
//!   packet's source address. yiaddr does not matter.
//! - after its DHCP ACK, if the proxy offer already "has PXE options" (siaddr non-zero
//!   **and** a boot file name, from the `file` field or option 67, or a PXE boot menu
//!   43.9) iPXE takes it as is and never talks to 4011. Otherwise it unicasts a
//!   REQUEST to `pseudo-id:4011` carrying option 54 = that id, from port 68.
//! - the 4011 reply is accepted only from source port 4011, with type OFFER or ACK,
//!   with the same pseudo-id (so option 54 must be the responder's address), and
//!   with PXE options (siaddr + boot file). iPXE reads the file name from the `file`
//!   field first, option 67 second (`dhcppkt_fetch`).
//! - iPXE waits only `DHCP_DISC_PROXY_TIMEOUT_SEC` = 2 s after the first DHCP offer
//!   for a proxy offer (`config/dhcp.h`): a responder that delays more than that
//!   (R-ANS-5) is not heard by an iPXE client once the DHCP server has answered.
//!
//! **EDK2** (`PxeBcParseDhcp4Packet`, `PxeBcSelectDhcp4Offer`, `PxeBcHandleDhcp4Offer`,
//! `PxeBcRetryBinlOffer`, `PxeBcDhcp4Discover`; `PxeBcBoot.c`):
//! - `Dhcp4Dxe` drops, before PXE sees it, an OFFER without option 54
//!   (`DhcpHandleSelect` in `Dhcp4Io.c`): option 54 is mandatory for EDK2.
//! - an offer with yiaddr 0 is a proxy offer; with option 60 starting `PXEClient` it
//!   is a PXE offer. Its type is then: **PXE10** when option 43 holds any of the
//!   discovery sub-options 6, 7, 8, 9, 10 (it then goes to boot server discovery and
//!   menus), **WfM11a** when 43 holds the MTFTP sub-options 1..5 (dropped: multicast
//!   is not supported), else **BINL**. Option 53 must be present (else BOOTP).
//! - DhcpOnly offer (the DHCP server's) + ProxyBinl offer: after the DHCP ACK it sends
//!   a REQUEST to **siaddr of the proxy offer, or option 54 when siaddr is 0**, port
//!   4011, from its own port 4011 (unicast, flags 0, ciaddr = its address), and
//!   listens on 4011 for the answer. The answer must carry a boot file (option 67,
//!   or the `file` field when 67 is absent); it becomes the "proxy offer" in mode
//!   data. The TFTP server is then siaddr of that answer, else its option 54
//!   (`PxeBcDhcp4BootInfo` in `PxeBcBoot.c`).
//!
//! So the offer built here is a **BINL-style proxy offer**: op 2, yiaddr 0, siaddr =
//! the responder, **no boot file and no option 43**, option 53 OFFER, 54 = responder,
//! 60 `PXEClient`, 97 echoed, 82 echoed. Both firmwares then REQUEST on 4011 (this is
//! what WDS/ConfigMgr does). The ACK built here carries siaddr = TFTP server,
//! the boot file in both the `file` field and option 67, option 66 (the server as
//! text, for tools that read it), 53 ACK, 54, 60, 97, 82. Answer the 4011 REQUEST
//! to its source address and port (68 for iPXE, 4011 for EDK2).
//! [`ProxyParams::vendor_specific`] can add an option 43, but beware: sub-options
//! 6..10 turn EDK2 to boot server discovery and 9 stops iPXE from asking on 4011.

use std::net::Ipv4Addr;

use super::packet::{DhcpPacket, MessageType};
use super::wire::{Header, Writer};
use super::{opt, PXE_CLIENT};

/// What the responder puts in its replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyParams {
    /// The responder's address: option 54 and, in the offer, siaddr.
    pub server: Ipv4Addr,
    /// Boot file for the 4011 ACK (the `file` field and option 67).
    pub boot_file: Option<String>,
    /// TFTP server named in the ACK (siaddr, option 66); `None` means `server`.
    pub tftp_server: Option<Ipv4Addr>,
    /// Raw option 43 to add to both replies; `None` (the default) adds none.
    pub vendor_specific: Option<Vec<u8>>,
}

impl ProxyParams {
    pub fn new(server: Ipv4Addr, boot_file: Option<String>) -> ProxyParams {
        ProxyParams {
            server,
            boot_file,
            tftp_server: None,
            vendor_specific: None,
        }
    }
}

/// The BOOTREPLY header for `req`: its htype, hlen, xid, flags, giaddr and chaddr.
pub(crate) fn reply_header(req: &DhcpPacket) -> Header {
    let mut h = Header::new(2);
    h.htype = req.htype;
    h.hlen = req.hlen;
    h.xid = req.xid;
    h.flags = req.flags;
    h.giaddr = req.giaddr;
    h.chaddr = req.chaddr_raw;
    h
}

fn echo_client_options(w: &mut Writer, req: &DhcpPacket) {
    if let Some(g) = req.option(opt::CLIENT_GUID) {
        w.option(opt::CLIENT_GUID, &g);
    }
}

fn echo_relay(w: &mut Writer, req: &DhcpPacket) {
    if let Some(r) = &req.relay_agent_info {
        w.option(opt::RELAY_AGENT_INFO, &r.raw);
    }
}

/// The proxy offer answering a client's DISCOVER on port 67 (R-ANS-1). See the module
/// doc for why it holds exactly this. Send it to giaddr:67 when `req.giaddr` is set
/// (R-ANS-3), else broadcast to port 68.
pub fn build_proxy_offer(req: &DhcpPacket, p: &ProxyParams) -> Vec<u8> {
    let mut h = reply_header(req);
    h.siaddr = p.server;
    let mut w = Writer::new(&h);
    w.option(opt::MESSAGE_TYPE, &[MessageType::Offer.to_u8()]);
    w.ip(opt::SERVER_ID, p.server);
    w.option(opt::VENDOR_CLASS, PXE_CLIENT.as_bytes());
    echo_client_options(&mut w, req);
    if let Some(v) = &p.vendor_specific {
        w.option(opt::VENDOR_SPECIFIC, v);
    }
    echo_relay(&mut w, req);
    w.finish()
}

/// The ACK answering a client's REQUEST on port 4011: names the boot file and the
/// TFTP server. ciaddr is copied from the request; yiaddr stays 0.
pub fn build_proxy_ack(req: &DhcpPacket, p: &ProxyParams) -> Vec<u8> {
    let tftp = p.tftp_server.unwrap_or(p.server);
    let mut h = reply_header(req);
    h.ciaddr = req.ciaddr;
    h.siaddr = tftp;
    if let Some(f) = &p.boot_file {
        h.file = f.as_bytes().to_vec();
    }
    let mut w = Writer::new(&h);
    w.option(opt::MESSAGE_TYPE, &[MessageType::Ack.to_u8()]);
    w.ip(opt::SERVER_ID, p.server);
    w.option(opt::VENDOR_CLASS, PXE_CLIENT.as_bytes());
    w.option(opt::TFTP_SERVER_NAME, tftp.to_string().as_bytes());
    if let Some(f) = &p.boot_file {
        w.option(opt::BOOTFILE_NAME, f.as_bytes());
    }
    echo_client_options(&mut w, req);
    if let Some(v) = &p.vendor_specific {
        w.option(opt::VENDOR_SPECIFIC, v);
    }
    echo_relay(&mut w, req);
    w.finish()
}

/// R-HTTP-1 (IPv4): the proxy offer answering an HTTP boot client's DISCOVER: yiaddr 0,
/// siaddr and option 54 the responder, option 60 `HTTPClient`, the boot program's URL
/// in the `file` field and option 67, 97 and 82 echoed. EDK2's HTTP boot
/// (`NetworkPkg/HttpBootDxe/HttpBootDhcp4.c`) takes such an offer as a "proxy URI"
/// offer beside the DHCP server's address offer; the lab's firmware is the judge.
pub fn build_http_offer(req: &DhcpPacket, server: Ipv4Addr, url: &str) -> Vec<u8> {
    let mut h = reply_header(req);
    h.siaddr = server;
    // The file field holds 127 bytes: a longer URL would be cut, so it goes in option
    // 67 alone.
    if url.len() <= 127 {
        h.file = url.as_bytes().to_vec();
    }
    let mut w = Writer::new(&h);
    w.option(opt::MESSAGE_TYPE, &[MessageType::Offer.to_u8()]);
    w.ip(opt::SERVER_ID, server);
    w.option(
        opt::VENDOR_CLASS,
        crate::dhcp6::request::HTTP_CLIENT.as_bytes(),
    );
    w.option(opt::BOOTFILE_NAME, url.as_bytes());
    echo_client_options(&mut w, req);
    echo_relay(&mut w, req);
    w.finish()
}
