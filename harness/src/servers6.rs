//! The IPv6 side of the lab's real servers (v1.1): DHCPv6 address ranges for dnsmasq
//! (added to its one configuration, which also serves DHCPv4), Kea's DHCPv6 server
//! (`kea-dhcp6`, a process of its own), and ISC's `dhcrelay -6` for a router's
//! `ip_helpers6`. Addresses only, as over IPv4: no boot file URL, no vendor class —
//! the boot file is the responders' business. Router advertisements are `ra.rs`.

use crate::config_error::ConfigError;
use serde_json::json;
use std::net::Ipv6Addr;
use std::path::Path;
use std::process::Command;

/// One DHCPv6 address pool of a server: its segment (a tag) and prefix.
pub struct Pool6Conf {
    pub tag: String,
    pub prefix: (Ipv6Addr, u8),
    pub start: Ipv6Addr,
    pub end: Ipv6Addr,
}

/// dnsmasq's DHCPv6 lines: a range per pool (dnsmasq picks a relayed client's range
/// by the relay's link address). No `enable-ra`: the lab's own advertisements say
/// where addresses are managed.
pub fn dnsmasq_lines(pools: &[Pool6Conf]) -> String {
    let mut s = String::new();
    for p in pools {
        s.push_str(&format!(
            "dhcp-range=set:{}6,{},{},{},1h\n",
            p.tag, p.start, p.end, p.prefix.1
        ));
    }
    s
}

/// Kea's DHCPv6 configuration (JSON): a subnet per pool; the server's own segment's
/// subnet on its interface, the others reached through relays (chosen by the relay's
/// link address).
pub fn kea_conf(
    interface: &str,
    own: Option<(Ipv6Addr, u8)>,
    pools: &[Pool6Conf],
) -> serde_json::Value {
    let subnets: Vec<serde_json::Value> = pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut sn = json!({
                "id": i + 1,
                "subnet": format!("{}/{}", p.prefix.0, p.prefix.1),
                "pools": [{"pool": format!("{} - {}", p.start, p.end)}],
            });
            if own == Some(p.prefix) {
                sn["interface"] = json!(interface);
            }
            sn
        })
        .collect();
    json!({ "Dhcp6": {
        // Its sockets need the interface's link-local address: retry until it is there.
        "interfaces-config": {
            "interfaces": [interface],
            "service-sockets-max-retries": 30,
            "service-sockets-retry-wait-time": 500
        },
        // A DUID of its own, not kept in /var/lib/kea.
        "server-id": {"type": "LLT", "persist": false},
        "lease-database": {"type": "memfile", "persist": false},
        "preferred-lifetime": 3000,
        "valid-lifetime": 3600,
        "renew-timer": 1000,
        "rebind-timer": 2000,
        "subnet6": subnets,
        "loggers": [{
            "name": "kea-dhcp6",
            "output_options": [{"output": "stderr"}],
            "severity": "INFO"
        }]
    }})
}

/// `kea-dhcp6` in the foreground with its configuration, PID and lock files in `dir`.
pub fn kea_command(
    dir: &Path,
    interface: &str,
    own: Option<(Ipv6Addr, u8)>,
    pools: &[Pool6Conf],
) -> Result<Command, ConfigError> {
    std::fs::create_dir_all(dir).map_err(ConfigError::file(dir))?;
    let f = dir.join("kea-dhcp6.json");
    let text = serde_json::to_string_pretty(&kea_conf(interface, own, pools))?;
    std::fs::write(&f, text).map_err(ConfigError::file(&f))?;
    let mut cmd = Command::new("kea-dhcp6");
    cmd.arg("-c")
        .arg(&f)
        .env("KEA_PIDFILE_DIR", dir)
        .env("KEA_LOCKFILE_DIR", dir)
        .env("KEA_LOCKFILE_NAME", dir.join("kea6.lock"));
    Ok(cmd)
}

/// A router interface for `dhcrelay -6`: its name, and the relay destinations when
/// clients are on it (`ip_helpers6`).
pub struct Relay6Iface {
    pub interface: String,
    pub prefix: Option<(Ipv6Addr, u8)>,
    pub helpers: Vec<Ipv6Addr>,
    /// `interface_id6` asked for: dhcrelay inserts an Interface-ID, but its own (the
    /// interface's name), not the scenario's value.
    pub interface_id: bool,
}

fn in_prefix(ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

/// ISC's `dhcrelay -6`: client interfaces are lower (`-l`), each destination is upper
/// (`-u ADDRESS%INTERFACE`) on the interface whose prefix holds it, else the first
/// interface without clients. Like its IPv4 self it relays every client interface to
/// one destination list. `-I` adds the Interface-ID option.
pub fn dhcrelay6_command(
    ns: &str,
    ifaces: &[Relay6Iface],
    pid_file: &Path,
) -> Result<Command, ConfigError> {
    let down: Vec<&Relay6Iface> = ifaces.iter().filter(|i| !i.helpers.is_empty()).collect();
    let Some(first) = down.first() else {
        return Err(ConfigError::Relay(
            "dhcrelay -6 needs an interface with ip_helpers6",
        ));
    };
    if down.iter().any(|i| i.helpers != first.helpers) {
        return Err(ConfigError::Relay(
            "dhcrelay relays every client segment to one helper list; give them the same ip_helpers6",
        ));
    }
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, "dhcrelay", "-6", "-d", "-pf"])
        .arg(pid_file);
    if down.iter().any(|i| i.interface_id) {
        cmd.arg("-I");
    }
    for i in &down {
        cmd.args(["-l", &i.interface]);
    }
    for h in &first.helpers {
        let up = ifaces
            .iter()
            .find(|i| i.prefix.is_some_and(|p| in_prefix(*h, p)))
            .or_else(|| ifaces.iter().find(|i| i.helpers.is_empty()))
            .ok_or(ConfigError::NoUpstream(*h))?;
        cmd.args(["-u", &format!("{h}%{}", up.interface)]);
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools() -> Vec<Pool6Conf> {
        vec![
            Pool6Conf {
                tag: "hq".into(),
                prefix: ("2001:db8:10::".parse().unwrap(), 64),
                start: "2001:db8:10::100".parse().unwrap(),
                end: "2001:db8:10::1ff".parse().unwrap(),
            },
            Pool6Conf {
                tag: "branch".into(),
                prefix: ("2001:db8:20::".parse().unwrap(), 64),
                start: "2001:db8:20::100".parse().unwrap(),
                end: "2001:db8:20::1ff".parse().unwrap(),
            },
        ]
    }

    #[test]
    fn dnsmasq_gets_a_dhcpv6_range_per_pool_and_no_router_advertisements() {
        let t = dnsmasq_lines(&pools());
        assert!(
            t.contains("dhcp-range=set:branch6,2001:db8:20::100,2001:db8:20::1ff,64,1h\n"),
            "{t}"
        );
        assert!(!t.contains("enable-ra"));
    }

    #[test]
    fn kea_puts_only_its_own_subnet_on_its_interface() {
        let own = Some(("2001:db8:10::".parse().unwrap(), 64));
        let v = kea_conf("eth0", own, &pools());
        let s = &v["Dhcp6"]["subnet6"];
        assert_eq!(s[0]["interface"], "eth0");
        assert!(s[1].get("interface").is_none(), "a relayed subnet");
        assert_eq!(
            s[1]["pools"][0]["pool"],
            "2001:db8:20::100 - 2001:db8:20::1ff"
        );
    }

    #[test]
    fn dhcrelay6_sends_each_destination_out_of_the_interface_holding_it() {
        let ifaces = [
            Relay6Iface {
                interface: "eth0".into(),
                prefix: Some(("2001:db8:10::".parse().unwrap(), 64)),
                helpers: vec![],
                interface_id: false,
            },
            Relay6Iface {
                interface: "eth1".into(),
                prefix: Some(("2001:db8:20::".parse().unwrap(), 64)),
                helpers: vec![
                    "2001:db8:10::2".parse().unwrap(),
                    "2001:db8:10::5".parse().unwrap(),
                ],
                interface_id: true,
            },
        ];
        let c = dhcrelay6_command("ns", &ifaces, Path::new("/tmp/p")).unwrap();
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let line = args.join(" ");
        assert!(
            line.contains("dhcrelay -6 -d -pf /tmp/p -I -l eth1"),
            "{line}"
        );
        assert!(
            line.ends_with("-u 2001:db8:10::2%eth0 -u 2001:db8:10::5%eth0"),
            "{line}"
        );
    }
}
