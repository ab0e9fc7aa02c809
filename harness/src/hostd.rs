//! The lab's own host daemons, each a thin I/O shell around an engine state machine,
//! run in a host's namespace:
//! - `pxelab lab dhcpd --spec FILE`: the built-in DHCP server (`engine: builtin`),
//! - `pxelab lab relay --spec FILE`: a router's IP helpers, the relay agent the
//!   simulator uses (`pxelab_engine::dhcp::relay::RelayAgent`).
//!
//! A reply unicast to an address the client does not hold yet (a relay answering a
//! client that cleared the broadcast flag, as iPXE does) cannot be resolved by ARP: as
//! ISC's relay and server do, the daemon writes the client's MAC into the neighbour
//! table first (SIOCSARP).

use pxelab_engine::dhcp::relay::RelayAgent;
use pxelab_engine::dhcp::server::{DhcpServer, Pool};
use pxelab_engine::Instant;
use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DhcpdSpec {
    pub name: String,
    pub interface: String,
    pub address: Ipv4Addr,
    /// The server's own segment.
    pub subnet: (Ipv4Addr, u8),
    pub pools: Vec<PoolSpec>,
    pub option60_pxeclient: bool,
    /// Options 66/67 (scenario `option66`, `option67`).
    #[serde(default)]
    pub tftp_server: Option<Ipv4Addr>,
    #[serde(default)]
    pub boot_file: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PoolSpec {
    pub subnet: (Ipv4Addr, u8),
    pub router: Option<Ipv4Addr>,
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RelaySpec {
    pub name: String,
    pub interfaces: Vec<RelayIface>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RelayIface {
    pub interface: String,
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub helpers: Vec<Ipv4Addr>,
    pub circuit_id: Option<String>,
    pub remote_id: Option<String>,
}

/// UDP port 67 on one interface, broadcast allowed.
fn bind67(iface: &str) -> Result<UdpSocket, String> {
    let s =
        Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(|e| e.to_string())?;
    s.set_reuse_address(true).map_err(|e| e.to_string())?;
    s.set_broadcast(true).map_err(|e| e.to_string())?;
    s.bind_device(Some(iface.as_bytes()))
        .map_err(|e| format!("SO_BINDTODEVICE {iface}: {e}"))?;
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 67).into())
        .map_err(|e| format!("cannot bind UDP port 67 on {iface}: {e}"))?;
    Ok(s.into())
}

/// Writes `ip -> mac` on `iface` into the neighbour table (SIOCSARP).
pub fn set_arp(sock: &UdpSocket, iface: &str, ip: Ipv4Addr, mac: [u8; 6]) -> Result<(), String> {
    // SAFETY: arpreq is plain data; zeroed is a valid value; the ioctl reads it only.
    unsafe {
        let mut req: libc::arpreq = std::mem::zeroed();
        let pa = &mut req.arp_pa as *mut libc::sockaddr as *mut libc::sockaddr_in;
        (*pa).sin_family = libc::AF_INET as libc::sa_family_t;
        (*pa).sin_addr.s_addr = u32::from_ne_bytes(ip.octets());
        req.arp_ha.sa_family = libc::ARPHRD_ETHER;
        for (i, b) in mac.iter().enumerate() {
            req.arp_ha.sa_data[i] = *b as libc::c_char;
        }
        req.arp_flags = libc::ATF_COM;
        for (i, b) in iface.bytes().take(15).enumerate() {
            req.arp_dev[i] = b as libc::c_char;
        }
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSARP, &req) != 0 {
            return Err(format!(
                "SIOCSARP {ip} on {iface}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

fn chaddr(payload: &[u8]) -> Option<[u8; 6]> {
    payload.get(28..34).map(|c| {
        let mut m = [0u8; 6];
        m.copy_from_slice(c);
        m
    })
}

fn send_to_client(sock: &UdpSocket, iface: &str, dst: SocketAddrV4, payload: &[u8]) {
    if !dst.ip().is_broadcast() && dst.port() == 68 {
        if let Some(mac) = chaddr(payload) {
            if let Err(e) = set_arp(sock, iface, *dst.ip(), mac) {
                eprintln!("{e}");
            }
        }
    }
    if let Err(e) = sock.send_to(payload, dst) {
        eprintln!("send to {dst} on {iface}: {e}");
    }
}

fn log(name: &str, t0: std::time::Instant, line: &str) {
    eprintln!("{:>9.3} {name}: {line}", t0.elapsed().as_secs_f64());
}

/// The built-in DHCP server, until killed.
pub fn run_dhcpd(spec: DhcpdSpec) -> Result<(), String> {
    let sock = bind67(&spec.interface)?;
    let pools = spec
        .pools
        .iter()
        .map(|p| Pool {
            subnet: p.subnet,
            router: p.router,
            start: p.start,
            end: p.end,
        })
        .collect();
    let mut server = DhcpServer::new(spec.address, pools, spec.option60_pxeclient)
        .with_boot_file(spec.tftp_server, spec.boot_file.clone());
    let t0 = std::time::Instant::now();
    log(
        &spec.name,
        t0,
        &format!("DHCP server started on {}", spec.interface),
    );
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, src) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) => {
                log(&spec.name, t0, &format!("receive: {e}"));
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let std::net::SocketAddr::V4(src) = src else {
            continue;
        };
        let now = Instant::from_nanos(t0.elapsed().as_nanos() as u64);
        let replies = server.handle(now, src, &buf[..n], spec.subnet);
        for l in server.take_log() {
            log(&spec.name, t0, &l);
        }
        for r in replies {
            send_to_client(&sock, &spec.interface, r.dst, &r.payload);
        }
    }
}

/// A router's relay agent, until killed: one socket per interface, port 67.
pub fn run_relay(spec: RelaySpec) -> Result<(), String> {
    let socks: Vec<UdpSocket> = spec
        .interfaces
        .iter()
        .map(|i| bind67(&i.interface))
        .collect::<Result<_, _>>()?;
    let mut helpers = BTreeMap::new();
    let mut o82 = BTreeMap::new();
    for (id, i) in spec.interfaces.iter().enumerate() {
        helpers.insert(id, i.helpers.clone());
        if i.circuit_id.is_some() || i.remote_id.is_some() {
            o82.insert(
                id,
                (
                    i.circuit_id.as_ref().map(|s| s.as_bytes().to_vec()),
                    i.remote_id.as_ref().map(|s| s.as_bytes().to_vec()),
                ),
            );
        }
    }
    let ifaces = spec
        .interfaces
        .iter()
        .enumerate()
        .map(|(id, i)| (id, i.address, i.prefix))
        .collect();
    let agent = std::sync::Mutex::new(RelayAgent::new(ifaces, helpers, o82));
    let t0 = std::time::Instant::now();
    log(&spec.name, t0, "DHCP relay agent started");
    // The interface whose subnet holds an address (to reach a helper).
    let towards = |ip: Ipv4Addr| {
        spec.interfaces
            .iter()
            .position(|i| pxelab_engine::dhcp::server::in_subnet(ip, (i.address, i.prefix)))
            .unwrap_or(0)
    };
    std::thread::scope(|s| {
        for (id, sock) in socks.iter().enumerate() {
            let (agent, socks, spec, towards) = (&agent, &socks, &spec, &towards);
            s.spawn(move || {
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = match sock.recv_from(&mut buf) {
                        Ok((n, _)) => n,
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(10));
                            continue;
                        }
                    };
                    let payload = &buf[..n];
                    let mut a = agent.lock().unwrap_or_else(|p| p.into_inner());
                    match payload.first() {
                        Some(1) => {
                            for (dst, _src, p) in a.from_client(id, payload) {
                                let via = towards(*dst.ip());
                                if let Err(e) = socks[via].send_to(&p, dst) {
                                    log(&spec.name, t0, &format!("send to {dst}: {e}"));
                                }
                            }
                        }
                        Some(2) => {
                            if let Some((out, dst, p)) = a.from_server(payload) {
                                let iface = &spec.interfaces[out].interface;
                                send_to_client(&socks[out], iface, dst, &p);
                            }
                        }
                        _ => {}
                    }
                    for l in a.take_log() {
                        log(&spec.name, t0, &l);
                    }
                }
            });
        }
    });
    Ok(())
}
