//! DHCPv6 building blocks of the engine (sans-IO): the responder's PXE over IPv6
//! (R-V6-1..4) and UEFI HTTP boot offers over IPv6 (R-HTTP-1).
//!
//! - [`wire`]: the RFC 8415 message format, client/server and relay messages, options
//!   kept as (code, bytes) in the sender's order; a strict decoder that says what is
//!   wrong and at which byte.
//! - [`request`]: what a boot request says: message type, client DUID, vendor class
//!   (16), client architecture (61), link-layer address (79), elapsed time (8), and the
//!   identity R-V6-2 reads from them.
//! - [`relay`]: Relay-Forward unwrapped, Relay-Reply wrapped with the Interface-ID
//!   echoed (R-V6-3).
//! - [`firmware`]: the firmware models of PXE over IPv6 (EDK2, iPXE), from the captures.
//! - [`ipxe_conf`]: iPXE's DHCPv6 after a router advertisement with M or O, during
//!   a boot over IPv4.
//! - [`relay_agent`]: a router's DHCPv6 relay agent (`ip_helpers6`, `interface_id6`).
//! - [`server`]: the built-in DHCPv6 address server (IA_NA from `pools6`).
//! - [`answer`]: the proxy Advertise / Reply (no address, vendor class echoed, server
//!   identifier, Boot File URL 59) and the Relay-Reply around it (R-V6-3).
//!
//! Why not `dhcproto`'s v6 module (0.15), which the IPv4 side also does not use for its
//! packets: its option 9 (Relay Message) decodes the relayed message as a relay header,
//! so the client's Solicit inside every ordinary Relay-Forward is lost (the option is
//! dropped without an error); malformed options are dropped silently with the rest of
//! the message; a top-level Relay-Forward decodes as a client message with a bogus
//! transaction id; and the options are kept sorted, not in the sender's order. The
//! format itself is a handful of TLVs, written here; `dhcproto` remains a cross-check
//! in the tests (it decodes our Advertise and Reply).

pub mod answer;
pub mod firmware;
pub mod http_firmware;
pub mod ipxe_conf;
pub mod relay;
pub mod relay_agent;
pub mod request;
pub mod server;
pub mod stack_firmware;
pub mod wire;

pub use answer::{answer, server_duid, Answer6, AnswerParams};
pub use relay::{unwrap_relays, wrap_relays, RelayLayer};
pub use request::{identity, BootKind, BootRequest6, Identity6, RequestError};
pub use wire::{Malformed6, Message6, Opt};

/// UDP port of DHCPv6 servers and relay agents (RFC 8415 section 7.2).
pub const SERVER_PORT: u16 = 547;
/// UDP port of DHCPv6 clients.
pub const CLIENT_PORT: u16 = 546;
/// UDP port of the PXE boot server, as over IPv4 (R-V6-1: "to port 547 or 4011").
pub const PXE_PORT: u16 = 4011;
/// The enterprise number of the PXE vendor class (Intel, RFC 5970 section 3.4.1).
pub const PXE_ENTERPRISE: u32 = 343;

/// Message types (RFC 8415 section 7.3).
pub mod msg {
    pub const SOLICIT: u8 = 1;
    pub const ADVERTISE: u8 = 2;
    pub const REQUEST: u8 = 3;
    pub const CONFIRM: u8 = 4;
    pub const RENEW: u8 = 5;
    pub const REBIND: u8 = 6;
    pub const REPLY: u8 = 7;
    pub const RELEASE: u8 = 8;
    pub const DECLINE: u8 = 9;
    pub const RECONFIGURE: u8 = 10;
    pub const INFORMATION_REQUEST: u8 = 11;
    pub const RELAY_FORW: u8 = 12;
    pub const RELAY_REPL: u8 = 13;
}

/// Option codes used here (RFC 8415, RFC 5970, RFC 6939).
pub mod opt {
    pub const CLIENTID: u16 = 1;
    pub const SERVERID: u16 = 2;
    pub const IA_NA: u16 = 3;
    pub const ORO: u16 = 6;
    pub const PREFERENCE: u16 = 7;
    pub const ELAPSED_TIME: u16 = 8;
    pub const RELAY_MSG: u16 = 9;
    pub const STATUS_CODE: u16 = 13;
    pub const USER_CLASS: u16 = 15;
    pub const VENDOR_CLASS: u16 = 16;
    pub const VENDOR_OPTS: u16 = 17;
    pub const INTERFACE_ID: u16 = 18;
    pub const BOOTFILE_URL: u16 = 59;
    pub const BOOTFILE_PARAM: u16 = 60;
    pub const CLIENT_ARCH_TYPE: u16 = 61;
    pub const NII: u16 = 62;
    pub const CLIENT_LINKLAYER_ADDR: u16 = 79;
}
