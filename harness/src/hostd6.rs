//! The lab's own IPv6 host daemons (v1.1), thin I/O shells around the engine's DHCPv6
//! state machines, as `hostd.rs` is for IPv4:
//! - `pxelab lab dhcpd6 --spec FILE`: the built-in DHCPv6 address server
//!   (`engine: builtin` with `pools6`; `pxelab_engine::dhcp6::server::DhcpServer6`),
//! - `pxelab lab relay6 --spec FILE`: a router's `ip_helpers6`, the simulator's relay
//!   agent (`pxelab_engine::dhcp6::relay_agent::RelayAgent6`), which adds the client's
//!   link-layer address (option 79) that ISC's dhcrelay does not.
//!
//! The client's MAC for option 79 is read from its link-local address (EUI-64: EDK2
//! and iPXE form theirs from the MAC); a client whose link-local address is not
//! EUI-64 is relayed without it.

use pxelab_engine::dhcp6::relay_agent::{RelayAgent6, RelayIface6};
use pxelab_engine::dhcp6::server::{DhcpServer6, Pool6};
use pxelab_engine::ids::Mac;
use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

const ALL_DHCP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dhcpd6Spec {
    pub name: String,
    pub interface: String,
    /// The server's own segment's prefix.
    pub local: Option<(Ipv6Addr, u8)>,
    /// (prefix, first, last) per pool.
    pub pools: Vec<((Ipv6Addr, u8), Ipv6Addr, Ipv6Addr)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Relay6Spec {
    pub name: String,
    pub interfaces: Vec<Relay6IfaceSpec>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Relay6IfaceSpec {
    pub interface: String,
    /// The router's address on it (the Relay-Forward's link address).
    pub address: Ipv6Addr,
    pub helpers: Vec<Ipv6Addr>,
    pub interface_id: Option<String>,
}

fn ifindex(iface: &str) -> Result<u32, String> {
    pxelab_system::iface::index(iface).ok_or_else(|| format!("no interface {iface}"))
}

/// UDP port 547 on one interface (on all when `iface` is empty: routed by the
/// kernel), in the all-DHCP-agents group when `join`.
fn bind547(iface: &str, join: bool) -> Result<UdpSocket, String> {
    let s =
        Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).map_err(|e| e.to_string())?;
    s.set_only_v6(true).map_err(|e| e.to_string())?;
    s.set_reuse_address(true).map_err(|e| e.to_string())?;
    if !iface.is_empty() {
        s.bind_device(Some(iface.as_bytes()))
            .map_err(|e| format!("SO_BINDTODEVICE {iface}: {e}"))?;
    }
    s.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 547, 0, 0).into())
        .map_err(|e| format!("cannot bind UDP port 547 on {iface}: {e}"))?;
    if join {
        s.join_multicast_v6(&ALL_DHCP, ifindex(iface)?)
            .map_err(|e| format!("joining ff02::1:2 on {iface}: {e}"))?;
    }
    s.set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| e.to_string())?;
    Ok(s.into())
}

fn log(name: &str, t0: Instant, line: &str) {
    eprintln!("{:>9.3} {name}: {line}", t0.elapsed().as_secs_f64());
}

/// The built-in DHCPv6 server, until killed.
pub fn run_dhcpd6(spec: Dhcpd6Spec) -> Result<(), String> {
    let sock = bind547(&spec.interface, true)?;
    let index = ifindex(&spec.interface)?;
    let pools = spec
        .pools
        .iter()
        .map(|(prefix, first, last)| Pool6 {
            prefix: *prefix,
            first: *first,
            last: *last,
        })
        .collect();
    let mut server = DhcpServer6::new(&spec.name, spec.local, pools);
    let t0 = Instant::now();
    log(&spec.name, t0, "DHCPv6 server started");
    let mut buf = [0u8; 2048];
    loop {
        let Ok((n, SocketAddr::V6(src))) = sock.recv_from(&mut buf) else {
            continue;
        };
        for r in server.handle(src, &buf[..n]) {
            let mut dst = r.dst;
            // A link-local client is on this interface.
            if dst.ip().is_unicast_link_local() && dst.scope_id() == 0 {
                dst.set_scope_id(index);
            }
            if let Err(e) = sock.send_to(&r.payload, dst) {
                log(&spec.name, t0, &format!("send to {dst}: {e}"));
            }
        }
        for l in server.take_log() {
            log(&spec.name, t0, &l);
        }
    }
}

/// The MAC inside an EUI-64 interface identifier (ff:fe in the middle, the U/L bit
/// flipped), if the address has one.
pub fn mac_from_eui64(a: Ipv6Addr) -> Option<Mac> {
    let o = a.octets();
    if o[11] != 0xff || o[12] != 0xfe {
        return None;
    }
    Some(Mac([o[8] ^ 0x02, o[9], o[10], o[13], o[14], o[15]]))
}

/// The relay agent, until killed.
pub fn run_relay6(spec: Relay6Spec) -> Result<(), String> {
    let t0 = Instant::now();
    let mut socks = Vec::new();
    let mut ifaces = BTreeMap::new();
    for (i, f) in spec.interfaces.iter().enumerate() {
        // Client interfaces hear ff02::1:2; every interface hears Relay-Replies.
        socks.push((
            bind547(&f.interface, !f.helpers.is_empty())?,
            ifindex(&f.interface)?,
        ));
        if !f.helpers.is_empty() {
            ifaces.insert(
                i,
                RelayIface6 {
                    address: f.address,
                    helpers: f.helpers.clone(),
                    interface_id: f.interface_id.as_ref().map(|s| s.as_bytes().to_vec()),
                    client_link_layer: true,
                },
            );
        }
    }
    let agent = RelayAgent6::new(ifaces);
    // Relay-Forwards go out routed (a client interface's socket reaches only its link),
    // from port 547; what comes back on it is handled as on the others.
    let up = bind547("", false)?;
    log(&spec.name, t0, "DHCPv6 relay started");
    let mut buf = [0u8; 2048];
    loop {
        for (i, sock) in socks.iter().map(|s| &s.0).chain([&up]).enumerate() {
            let Ok((n, SocketAddr::V6(src))) = sock.recv_from(&mut buf) else {
                continue;
            };
            let payload = &buf[..n];
            if src.port() == 546 && agent.relays_on(i) {
                let mac = mac_from_eui64(*src.ip());
                let Some(mac) = mac else {
                    log(
                        &spec.name,
                        t0,
                        &format!("{}: no EUI-64 MAC, not relayed", src.ip()),
                    );
                    continue;
                };
                for (dst, fwd) in agent.from_client(i, *src.ip(), mac, payload) {
                    if let Err(e) = up.send_to(&fwd, dst) {
                        log(&spec.name, t0, &format!("send to {dst}: {e}"));
                    }
                }
                log(
                    &spec.name,
                    t0,
                    &format!(
                        "relayed a message of {} on {}",
                        src.ip(),
                        spec.interfaces[i].interface
                    ),
                );
            } else if let Some((out, mut dst, inner)) = agent.from_server(payload) {
                let Some((osock, oindex)) = socks.get(out) else {
                    continue;
                };
                if dst.ip().is_unicast_link_local() {
                    dst.set_scope_id(*oindex);
                }
                if let Err(e) = osock.send_to(&inner, dst) {
                    log(&spec.name, t0, &format!("send to {dst}: {e}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_comes_back_from_an_eui64_link_local_address() {
        let a: Ipv6Addr = "fe80::5054:ff:fe00:601".parse().unwrap();
        assert_eq!(mac_from_eui64(a), Some(Mac([0x52, 0x54, 0, 0, 6, 1])));
        let not: Ipv6Addr = "fe80::1".parse().unwrap();
        assert_eq!(mac_from_eui64(not), None);
    }
}
