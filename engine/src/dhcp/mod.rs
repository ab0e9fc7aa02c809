//! DHCP building blocks of the engine (sans-IO).
//!
//! - [`packet`]: a strict parser ([`parse`]) that turns a UDP payload into an owned
//!   [`DhcpPacket`] summary or a [`MalformedDhcp`] that says what is wrong and where.
//!   The engine never acts on a packet it only half read.
//! - [`proxy`]: the responder's proxy DHCP replies (R-ANS-1, R-ANS-3).
//! - [`server`]: the simulator's built-in DHCP server (R-ANS-2).
//! - [`relay`]: an RFC 1542/3046 relay agent, the routers' IP helpers (R-ANS-3).
//! - [`firmware`]: models of the real PXE clients (iPXE in SeaBIOS, EDK2 in OVMF/AAVMF)
//!   and builders that write their packets byte for byte in their option order.
//!
//! All builders write the options by hand (see [`wire`]): `dhcproto`'s encoder keeps
//! options in a map and so does not keep the order a sender chose.

pub mod firmware;
pub mod packet;
pub mod proxy;
pub mod pxe_options;
pub mod relay;
pub mod server;
pub mod wire;

pub use firmware::{FirmwareKind, FirmwareModel};
pub use packet::{parse, DhcpPacket, MalformedDhcp, MalformedKind, MessageType, RelayAgentInfo};
pub use proxy::{build_proxy_ack, build_proxy_offer, ProxyParams};
pub use relay::RelayAgent;
pub use server::{DhcpServer, Pool, Reply};

/// UDP port of DHCP servers (and of relay agents receiving server replies).
pub const SERVER_PORT: u16 = 67;
/// UDP port of DHCP clients.
pub const CLIENT_PORT: u16 = 68;
/// UDP port of the PXE boot server (proxy DHCP REQUEST/ACK, PXE spec 2.1).
pub const PXE_PORT: u16 = 4011;
/// The DHCP magic cookie (RFC 2131 section 3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Length of the fixed BOOTP header, without the magic cookie.
pub const BOOTP_HEADER_LEN: usize = 236;
/// Offset of the first option (after the magic cookie).
pub const OPTIONS_OFFSET: usize = 240;
/// The BOOTP broadcast flag (RFC 1542 section 2.2), in the `flags` field.
pub const BROADCAST_FLAG: u16 = 0x8000;
/// The vendor class prefix of PXE clients and of PXE servers' replies (option 60).
pub const PXE_CLIENT: &str = "PXEClient";

/// Option codes used here (RFC 2132, RFC 3046, RFC 4578).
pub mod opt {
    pub const PAD: u8 = 0;
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTER: u8 = 3;
    pub const VENDOR_SPECIFIC: u8 = 43;
    pub const REQUESTED_IP: u8 = 50;
    pub const LEASE_TIME: u8 = 51;
    pub const OVERLOAD: u8 = 52;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const PARAM_REQUEST_LIST: u8 = 55;
    pub const MAX_MSG_SIZE: u8 = 57;
    pub const VENDOR_CLASS: u8 = 60;
    pub const CLIENT_ID: u8 = 61;
    pub const TFTP_SERVER_NAME: u8 = 66;
    pub const BOOTFILE_NAME: u8 = 67;
    pub const USER_CLASS: u8 = 77;
    pub const RELAY_AGENT_INFO: u8 = 82;
    pub const CLIENT_ARCH: u8 = 93;
    pub const CLIENT_NDI: u8 = 94;
    pub const CLIENT_GUID: u8 = 97;
    pub const IPXE_ENCAP: u8 = 175;
    pub const END: u8 = 255;
}

#[cfg(test)]
mod tests;
