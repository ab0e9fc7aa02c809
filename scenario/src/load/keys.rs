//! The allowed keys of each place in a scenario file: the loader refuses any other,
//! and the JSON Schema (`schema.rs`) is built from these same lists.

pub(crate) const TOP: &[&str] = &[
    "scenario",
    "description",
    "tags",
    "modes",
    "seed",
    "site",
    "network",
    "events",
    "expect",
];
pub(crate) const SITE: &[&str] = &[
    "code",
    "other_sites",
    "boot_images",
    "machines",
    "collections",
    "deployments",
    "duplicate_hardware_ids",
    "peer_key",
    "peer_key_file",
];
pub(crate) const IMAGE: &[&str] = &["id", "arch", "size", "pxe_enabled"];
pub(crate) const MACHINE: &[&str] = &["name", "mac", "smbios_guid", "assigned_site"];
pub(crate) const COLLECTION: &[&str] = &["name", "members"];
pub(crate) const DEPLOYMENT: &[&str] =
    &["id", "collection", "boot_image", "purpose", "available_to"];
pub(crate) const DUPLICATES: &[&str] = &["macs", "smbios_guids"];
pub(crate) const NETWORK: &[&str] = &[
    "segments",
    "routers",
    "dhcp_servers",
    "responders",
    "clients",
    "rogues",
];
pub(crate) const ROGUE: &[&str] = &["name", "segment", "address", "claims", "images", "peer_key"];
pub(crate) const SEGMENT: &[&str] = &["name", "cidr", "cidr6", "link"];
pub(crate) const LINK: &[&str] = &["rate", "delay", "loss"];
pub(crate) const ROUTER: &[&str] = &[
    "name",
    "interfaces",
    "ip_helpers",
    "option82",
    "relay",
    "interfaces6",
    "ip_helpers6",
    "interface_id6",
];
pub(crate) const OPTION82: &[&str] = &["circuit_id", "remote_id"];
pub(crate) const DHCP: &[&str] = &[
    "name",
    "segment",
    "address",
    "address6",
    "pools",
    "pools6",
    "option60_pxeclient",
    "option66",
    "option67",
    "engine",
];
pub(crate) const RESPONDER: &[&str] = &[
    "name",
    "segment",
    "address",
    "address6",
    "role",
    "site",
    "images",
    "unknown_computer_support",
    "listen_dhcp_port",
    "respond",
    "response_delay",
    "failover_step",
    "mac_exclusions",
    "mac_exclusion_file",
    "tftp",
    "http",
    "option43",
];
/// Extension: the PXE vendor options a responder adds to its proxy offer.
pub(crate) const OPTION43: &[&str] = &["discovery_control", "boot_servers"];
pub(crate) const TFTP: &[&str] = &["block_size", "window_size"];
/// v1.1: a responder's HTTP boot server (R-HTTP).
pub(crate) const HTTP: &[&str] = &["port"];
pub(crate) const CLIENT: &[&str] = &[
    "name",
    "segment",
    "firmware",
    "machine",
    "mac",
    "smbios_guid",
    "press_key",
    "netboot",
];
pub(crate) const EVENT: &[&str] = &[
    "at",
    "boot",
    "down",
    "up",
    "during",
    "clear_required",
    "link",
    "tftp_request",
    "reload_exclusions",
    "netboot",
];
pub(crate) const ACTIONS: &[&str] = &[
    "boot",
    "down",
    "up",
    "clear_required",
    "link",
    "tftp_request",
    "reload_exclusions",
];
/// Extension (REFERENCE.md): reload a responder's MAC exclusion list from a file.
pub(crate) const EVENT_RELOAD: &[&str] = &["responder", "file"];
/// Extension (REFERENCE.md): a one-off TFTP request at a responder.
pub(crate) const EVENT_TFTP: &[&str] = &["responder", "op", "file", "options"];
pub(crate) const EXPECT_TFTP: &[&str] = &[
    "tftp_request",
    "result",
    "error_code",
    "error_codes",
    "oack",
    "oack_absent",
];
pub(crate) const CLEAR: &[&str] = &["machine", "collection"];
pub(crate) const EVENT_LINK: &[&str] = &["segment", "rate", "delay", "loss"];
pub(crate) const EXPECT_BOOT: &[&str] = &[
    "client",
    "boot",
    "outcome",
    "boot_image",
    "deployment",
    "served_by",
    "within",
];
pub(crate) const EXPECT_LOG: &[&str] = &["responder", "logged"];
