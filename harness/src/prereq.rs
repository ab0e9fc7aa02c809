//! `pxelab lab check`: what the lab needs on this machine for some scenarios (root,
//! /dev/net/tun, programs by their Debian package: iproute2, the boot programs'
//! toolchain, the DHCP servers and relays they name, QEMU and firmware per client).

use crate::qemu;
use pxelab_scenario::{DhcpEngine, Firmware, Scenario};
use std::path::Path;

/// What `pxelab run --lab` needs on this machine for these scenarios: each missing
/// program or file with the Debian package that provides it.
pub fn missing_prerequisites(scenarios: &[&Scenario]) -> Vec<String> {
    let mut need: Vec<(&str, &str)> = vec![
        ("ip", "iproute2"),
        ("nasm", "nasm"),
        ("clang", "clang"),
        ("lld-link", "lld"),
    ];
    let mut fw: Vec<Firmware> = Vec::new();
    for sc in scenarios {
        for d in &sc.network.dhcp_servers {
            match d.engine {
                DhcpEngine::Dnsmasq => need.push(("dnsmasq", "dnsmasq-base")),
                DhcpEngine::Kea => need.push(("kea-dhcp4", "kea-dhcp4-server")),
                DhcpEngine::Builtin => {}
            }
            // v1.1: Kea's DHCPv6 server is a package of its own.
            if d.engine == DhcpEngine::Kea && !d.pools6.is_empty() {
                need.push(("kea-dhcp6", "kea-dhcp6-server"));
            }
        }
        if sc
            .network
            .routers
            .iter()
            .any(|r| r.relay == pxelab_scenario::RelayEngine::Dhcrelay)
        {
            need.push(("dhcrelay", "isc-dhcp-relay"));
        }
        for c in &sc.network.clients {
            if !fw.contains(&c.firmware) {
                fw.push(c.firmware);
            }
        }
    }
    for f in fw {
        need.extend(qemu::needs(f));
    }
    let mut missing = Vec::new();
    if !pxelab_system::process::is_root() {
        missing.push("root (network namespaces, tap devices): run as root".to_string());
    }
    if !Path::new("/dev/net/tun").exists() {
        missing.push("/dev/net/tun (kernel TUN/TAP support)".to_string());
    }
    let mut seen = Vec::new();
    for (what, pkg) in need {
        if seen.contains(&what) {
            continue;
        }
        seen.push(what);
        let found = if what.starts_with('/') {
            Path::new(what).exists()
        } else {
            std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(what).is_file()))
        };
        if !found {
            missing.push(format!("{what} (Debian package {pkg})"));
        }
    }
    missing
}
