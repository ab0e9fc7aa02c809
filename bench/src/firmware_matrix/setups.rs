//! The server set-ups of the firmware matrix, each a scenario written from one
//! template: one segment (two behind a relay), a DHCP server, the responders the
//! set-up needs, and one client per firmware, all booting at once. Each firmware's
//! machine has a required deployment of the boot image of its class (x86 for bios-x86
//! and uefi-ia32, x64 for bios-x64 and uefi-x64, arm64 for uefi-arm64), so every cell
//! that gets its boot program boots.

use pxelab_scenario::Firmware;

/// One server set-up: its id (the matrix's column), what it is, and the `network`
/// section's DHCP servers, responders and routers for it.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub id: &'static str,
    pub title: &'static str,
    kind: Kind,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A proxy (distribution point) answering after this delay (R-ANS-5).
    Proxy { delay_s: u32 },
    /// The DHCP server sends option 60 and the responder shares its host, on 4011 only.
    Option60With4011,
    /// The DHCP server sends option 60, nothing listens on 4011.
    Option60No4011,
    /// The DHCP server names the boot file (66/67); the responder only serves TFTP.
    DhcpBootFile,
    /// 66/67 naming dp2 (TFTP only) and a proxy dp1 as well.
    DhcpBootFileAndProxy,
    /// Two proxies, dp1 and dp2, both answering at once.
    TwoProxies,
    /// The client behind a router whose IP helpers insert option 82.
    RelayOption82,
    /// The proxy offer carries option 43: discovery control 3 and a boot server list.
    ProxyOption43,
    /// A proxy at once, 2 % loss on the client's segment.
    Loss2,
}

const fn s(id: &'static str, title: &'static str, kind: Kind) -> Setup {
    Setup { id, title, kind }
}

/// Every set-up, in the matrix's column order.
pub const ALL: &[Setup] = &[
    s(
        "proxy-0s",
        "proxy DHCP answering at once",
        Kind::Proxy { delay_s: 0 },
    ),
    s(
        "proxy-1s",
        "proxy answering 1 s late (response_delay)",
        Kind::Proxy { delay_s: 1 },
    ),
    s(
        "proxy-3s",
        "proxy answering 3 s late",
        Kind::Proxy { delay_s: 3 },
    ),
    s(
        "proxy-6s",
        "proxy answering 6 s late",
        Kind::Proxy { delay_s: 6 },
    ),
    s(
        "opt60-4011",
        "DHCP server with option 60 PXEClient, responder on 4011 only (co-located)",
        Kind::Option60With4011,
    ),
    s(
        "opt60-no-4011",
        "option 60 PXEClient, nothing on 4011 (broken co-location)",
        Kind::Option60No4011,
    ),
    s(
        "dhcp-66-67",
        "DHCP server names the boot file (options 66/67), no proxy",
        Kind::DhcpBootFile,
    ),
    s(
        "66-67+proxy",
        "options 66/67 naming dp2, and proxy dp1: who wins",
        Kind::DhcpBootFileAndProxy,
    ),
    s(
        "two-proxies",
        "two proxies, dp1 and dp2, both at once",
        Kind::TwoProxies,
    ),
    s(
        "relay-82",
        "client behind a relay inserting option 82",
        Kind::RelayOption82,
    ),
    s(
        "proxy-opt43",
        "proxy offer with option 43 (discovery control 3, boot server list), no menu",
        Kind::ProxyOption43,
    ),
    s(
        "loss-2pct",
        "proxy at once, 2 % loss on the client's link",
        Kind::Loss2,
    ),
];

/// The set-ups CI runs in both modes (`tests/matrix.rs`): quick ones, each a different
/// way to the boot file.
pub const CI: &[&str] = &["proxy-0s", "opt60-4011", "dhcp-66-67", "proxy-opt43"];

impl Setup {
    /// Two responders answer the same DISCOVER at once: which one the firmware hears
    /// first is the lab's race (the simulator's is the scenario's order).
    pub fn racing(&self) -> bool {
        matches!(self.kind, Kind::TwoProxies)
    }

    /// The DHCP server and the proxy answer the same DISCOVER at once, and EDK2's
    /// outcome depends on which offer comes last (`edk2_accepts_pxe_copy`): the
    /// simulator runs it in both orders (`scenario_yaml_proxy_first`).
    pub fn offer_order_race(&self) -> bool {
        matches!(self.kind, Kind::DhcpBootFileAndProxy)
    }
}

pub fn find(id: &str) -> Option<Setup> {
    ALL.iter().copied().find(|s| s.id == id)
}

/// The client of a firmware in every set-up's scenario.
pub fn client_name(f: Firmware) -> String {
    format!("c-{}", f.as_str())
}

/// The boot image of a firmware's deployment, and its boot program's path (what a DHCP
/// server's option 67 names).
fn image_and_program(f: Firmware) -> (&'static str, &'static str) {
    match f {
        Firmware::BiosX86 => ("PS100001", "smsboot/PS100001/x86/wdsnbp.com"),
        Firmware::BiosX64 => ("PS100002", "smsboot/PS100001/x86/wdsnbp.com"),
        Firmware::UefiX64 => ("PS100002", "smsboot/PS100002/x64/bootmgfw.efi"),
        Firmware::UefiIa32 => ("PS100001", "smsboot/PS100001/x86/bootmgfw.efi"),
        Firmware::UefiArm64 => ("PS100003", "smsboot/PS100003/arm64/bootmgfw.efi"),
    }
}

/// `option66`/`option67` for one firmware. A DHCP server gives one boot file per
/// architecture (option 93), as administrators configure it: the matrix writes one
/// scenario per set-up, so with 66/67 each firmware's boot file comes from its own DHCP
/// server entry: the clients of such a set-up sit on one segment each.
fn boot_file_keys(f: Firmware, tftp: &str) -> String {
    let (_, program) = image_and_program(f);
    format!(", option66: {tftp}, option67: \"{program}\"")
}

const DP: &str = "role: distribution_point, images: [PS100001, PS100002, PS100003]";

/// The scenario of a set-up for these firmware (one client each), as YAML.
pub fn scenario_yaml(setup: &Setup, firmware: &[Firmware], seed: u64) -> String {
    scenario_text(setup, firmware, seed, false)
}

/// The same with each DHCP server behind a relay 50 ms away, so that the proxy's offer
/// comes first (for `Setup::offer_order_race`).
pub fn scenario_yaml_proxy_first(setup: &Setup, firmware: &[Firmware], seed: u64) -> String {
    scenario_text(setup, firmware, seed, true)
}

fn scenario_text(setup: &Setup, firmware: &[Firmware], seed: u64, proxy_first: bool) -> String {
    let mut y = String::new();
    y.push_str(&format!(
        "scenario: \"firmware matrix: {}\"\ndescription: \"{}; generated by pxelab matrix\"\n",
        setup.id, setup.title
    ));
    y.push_str(&format!(
        "tags: [matrix]\nmodes: [sim, lab]\nseed: {seed}\n"
    ));
    y.push_str("site:\n  code: PS1\n  boot_images:\n");
    y.push_str("    - {id: PS100001, arch: x86, size: 1MiB}\n");
    y.push_str("    - {id: PS100002, arch: x64, size: 1MiB}\n");
    y.push_str("    - {id: PS100003, arch: arm64, size: 1MiB}\n");
    y.push_str("  machines:\n");
    for (i, _) in firmware.iter().enumerate() {
        y.push_str(&format!(
            "    - {{name: M{i}, mac: \"52:54:00:00:15:{:02x}\", smbios_guid: \"15151515-0000-4000-8000-0000000000{:02x}\"}}\n",
            i + 1,
            i + 1
        ));
    }
    y.push_str("  collections:\n");
    for (i, _) in firmware.iter().enumerate() {
        y.push_str(&format!("    - {{name: C{i}, members: [M{i}]}}\n"));
    }
    y.push_str("  deployments:\n");
    for (i, f) in firmware.iter().enumerate() {
        let (image, _) = image_and_program(*f);
        y.push_str(&format!(
            "    - {{id: PS12000{i}, collection: C{i}, boot_image: {image}, purpose: required, available_to: media_pxe}}\n"
        ));
    }
    y.push_str(&network(setup, firmware, proxy_first));
    y.push_str("events:\n");
    for f in firmware {
        y.push_str(&format!("  - {{at: 0s, boot: {}}}\n", client_name(*f)));
    }
    y.push_str("expect: []\n");
    y
}

fn network(setup: &Setup, firmware: &[Firmware], proxy_first: bool) -> String {
    let pool = "pools: {hq: 10.10.0.100-10.10.0.199}";
    let mut segments = vec!["    - {name: hq, cidr: 10.10.0.0/24}".to_string()];
    let mut routers = Vec::new();
    let mut dhcp = Vec::new();
    let mut responders = Vec::new();
    let mut client_segment: fn(usize) -> String = |_| "hq".to_string();
    let dp1 = format!("    - {{name: dp1, segment: hq, address: 10.10.0.5, {DP}}}");
    match setup.kind {
        Kind::Proxy { delay_s } => {
            dhcp.push(format!(
                "    - {{name: dhcp, segment: hq, address: 10.10.0.2, {pool}}}"
            ));
            responders.push(format!(
                "    - {{name: dp1, segment: hq, address: 10.10.0.5, {DP}, response_delay: {delay_s}s}}"
            ));
        }
        Kind::Option60With4011 => {
            dhcp.push(format!(
                "    - {{name: dhcp, segment: hq, address: 10.10.0.2, {pool}, option60_pxeclient: true}}"
            ));
            responders.push(format!(
                "    - {{name: dp1, segment: hq, address: 10.10.0.2, {DP}, listen_dhcp_port: false}}"
            ));
        }
        Kind::Option60No4011 => {
            dhcp.push(format!(
                "    - {{name: dhcp, segment: hq, address: 10.10.0.2, {pool}, option60_pxeclient: true}}"
            ));
        }
        Kind::DhcpBootFile | Kind::DhcpBootFileAndProxy => {
            // One segment and DHCP server per firmware: each names its own boot file
            // (what per-architecture classes do on one real server).
            segments.clear();
            let with_proxy = matches!(setup.kind, Kind::DhcpBootFileAndProxy);
            let tftp = if with_proxy { "dp2" } else { "dp1" };
            for (i, f) in firmware.iter().enumerate() {
                let n = 10 + i;
                segments.push(format!("    - {{name: s{i}, cidr: 10.{n}.0.0/24}}"));
                let tftp_ip = format!("10.{n}.0.{}", if with_proxy { 6 } else { 5 });
                let (segment, address) = if proxy_first {
                    let m = n + 50;
                    segments.push(format!(
                        "    - {{name: d{i}, cidr: 10.{m}.0.0/24, link: {{delay: 50ms}}}}"
                    ));
                    routers.push(format!(
                        "    - {{name: r{i}, interfaces: {{s{i}: 10.{n}.0.1, d{i}: 10.{m}.0.1}}, ip_helpers: {{s{i}: [10.{m}.0.2]}}}}"
                    ));
                    (format!("d{i}"), format!("10.{m}.0.2"))
                } else {
                    (format!("s{i}"), format!("10.{n}.0.2"))
                };
                dhcp.push(format!(
                    "    - {{name: dhcp{i}, segment: {segment}, address: {address}, pools: {{s{i}: 10.{n}.0.100-10.{n}.0.199}}{}}}",
                    boot_file_keys(*f, &tftp_ip)
                ));
                if with_proxy {
                    responders.push(format!(
                        "    - {{name: dp1s{i}, segment: s{i}, address: 10.{n}.0.5, {DP}}}"
                    ));
                }
                responders.push(format!(
                    "    - {{name: {tftp}s{i}, segment: s{i}, address: {tftp_ip}, {DP}, listen_dhcp_port: false}}"
                ));
            }
            client_segment = |i: usize| format!("s{i}");
        }
        Kind::TwoProxies => {
            dhcp.push(format!(
                "    - {{name: dhcp, segment: hq, address: 10.10.0.2, {pool}}}"
            ));
            responders.push(dp1.clone());
            responders.push(format!(
                "    - {{name: dp2, segment: hq, address: 10.10.0.6, {DP}}}"
            ));
        }
        Kind::RelayOption82 => {
            segments.push("    - {name: branch, cidr: 10.20.0.0/24}".into());
            routers.push(
                "    - {name: r1, interfaces: {hq: 10.10.0.1, branch: 10.20.0.1}, ip_helpers: {branch: [10.10.0.2, 10.10.0.5]}, option82: {branch: {circuit_id: \"vlan20\", remote_id: \"r1\"}}}".to_string(),
            );
            dhcp.push(
                "    - {name: dhcp, segment: hq, address: 10.10.0.2, pools: {branch: 10.20.0.100-10.20.0.199, hq: 10.10.0.100-10.10.0.199}}".into(),
            );
            responders.push(dp1.clone());
            client_segment = |_| "branch".to_string();
        }
        Kind::ProxyOption43 => {
            dhcp.push(format!(
                "    - {{name: dhcp, segment: hq, address: 10.10.0.2, {pool}}}"
            ));
            responders.push(format!(
                "    - {{name: dp1, segment: hq, address: 10.10.0.5, {DP}, option43: {{discovery_control: 3, boot_servers: [10.10.0.5]}}}}"
            ));
        }
        Kind::Loss2 => {
            segments[0] = "    - {name: hq, cidr: 10.10.0.0/24, link: {loss: 2%}}".into();
            dhcp.push(format!(
                "    - {{name: dhcp, segment: hq, address: 10.10.0.2, {pool}}}"
            ));
            responders.push(dp1.clone());
        }
    }
    let mut y = String::from("network:\n  segments:\n");
    for s in &segments {
        y.push_str(s);
        y.push('\n');
    }
    if !routers.is_empty() {
        y.push_str("  routers:\n");
        for r in &routers {
            y.push_str(r);
            y.push('\n');
        }
    }
    y.push_str("  dhcp_servers:\n");
    for d in &dhcp {
        y.push_str(d);
        y.push('\n');
    }
    if !responders.is_empty() {
        y.push_str("  responders:\n");
        for r in &responders {
            y.push_str(r);
            y.push('\n');
        }
    }
    y.push_str("  clients:\n");
    for (i, f) in firmware.iter().enumerate() {
        y.push_str(&format!(
            "    - {{name: {}, segment: {}, firmware: {}, machine: M{i}}}\n",
            client_name(*f),
            client_segment(i),
            f.as_str()
        ));
    }
    y
}
