//! `pxelab serve` over IPv6 and HTTP (R-V6, R-HTTP), both families at once, in network
//! namespaces this test creates and removes: a server namespace and a client namespace
//! joined by a veth pair with IPv6 on (DAD off, so addresses are usable at once). The
//! client side runs in a thread of this test moved into the client namespace. Needs root
//! (the README's test command runs as root); traffic stays inside the namespaces.

mod common;

use common::netns::{enter_namespace, ip, link_up, pattern, Lab};
use pxelab_engine::dhcp::firmware::{self, FirmwareKind};
use pxelab_engine::dhcp::packet::{parse, MessageType};
use pxelab_engine::dhcp6::wire::{Message6, Opt};
use pxelab_engine::dhcp6::{msg, opt};
use pxelab_engine::tftp::client::{ClientConfig, ClientStatus, ClientTransfer};
use pxelab_engine::tftp::packet::{self as tftp, Packet};
use pxelab_engine::{Instant, Mac};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpStream, UdpSocket,
};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const SERVER4: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 5);
const SERVER6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 5);
/// Another address of the server's host, not the responder's `address6`.
const SERVER6_OTHER: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 6);
/// The client's second address: not of EUI-64 form, so only the frame tells its MAC.
const CLIENT6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x100);
const MAC: &str = "52:54:00:12:34:56";
const HTTP_PORT: u16 = 8080;
const BIG: usize = 8 << 20;

const SCENARIO: &str = r#"
scenario: serve6 test site
site:
  code: PS1
  boot_images:
    - {id: PS100002, arch: x64, size: 300000}
  machines:
    - {name: WS01, mac: "52:54:00:12:34:56"}
  collections:
    - {name: Lab, members: [WS01]}
  deployments:
    - {id: PS120001, collection: Lab, boot_image: PS100002, purpose: required, available_to: media_pxe}
network:
  segments:
    - {name: hq, cidr: 10.10.0.0/24, cidr6: "fd77::/64"}
  responders:
    - {name: dp1, segment: hq, address: 10.10.0.5, address6: "fd77::5", role: distribution_point, images: [PS100002], http: {port: 8080}}
"#;

/// Runs `f` in a thread inside namespace `ns` and returns what it returns.
fn in_namespace<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        enter_namespace(&ns);
        f()
    })
    .join()
    .expect("client thread")
}

/// Both namespaces, dual-stack, `pxelab serve` running in the server one. Returns the
/// lab, the client namespace and the daemon's log file.
fn start_lab(name: &str) -> (Lab, String, PathBuf) {
    let tag = format!("pxelab6-{name}{}", std::process::id());
    let mut lab = Lab::new(&tag, SCENARIO, BIG);
    let (s, c) = lab.namespace_pair(&tag, true);
    // The client's MAC is the site's WS01: its link-local address is the EUI-64 one.
    ip(&["-n", &c, "link", "set", "eth0", "address", MAC]);
    ip(&[
        "-n",
        &s,
        "addr",
        "add",
        "fd77::5/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    ip(&[
        "-n",
        &s,
        "addr",
        "add",
        "fd77::6/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    ip(&[
        "-n",
        &c,
        "addr",
        "add",
        "fd77::100/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    link_up(&s, &c);
    let log = lab.start_serve(&s);
    // The client's link-local address (from its MAC) is there once the link is up.
    let ready = (0..100).any(|_| {
        let out = Command::new("ip")
            .args([
                "-n", &c, "-6", "addr", "show", "dev", "eth0", "scope", "link",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let up = text.contains("fe80::5054:ff:fe12:3456") && !text.contains("tentative");
        if !up {
            std::thread::sleep(Duration::from_millis(50));
        }
        up
    });
    assert!(ready, "no link-local address on the client");
    (lab, c, log)
}

fn vendor(class: &str) -> Vec<u8> {
    let mut v = 343u32.to_be_bytes().to_vec();
    v.extend((class.len() as u16).to_be_bytes());
    v.extend(class.as_bytes());
    v
}

/// A PXE Solicit as EDK2 writes it, with a DUID-UUID (no MAC in it: R-V6-2 needs the
/// link layer) or the DUID-LL of `mac`.
fn solicit(xid: u8, mac: Option<Mac>) -> Message6 {
    let duid = match mac {
        Some(m) => [&[0, 3, 0, 1][..], &m.0].concat(),
        None => [&[0, 4][..], &[0x33; 16]].concat(),
    };
    Message6::Client {
        msg_type: msg::SOLICIT,
        xid: [0, 0, xid],
        options: vec![
            Opt {
                code: opt::CLIENTID,
                data: duid,
            },
            Opt {
                code: opt::ELAPSED_TIME,
                data: vec![0, 0],
            },
            Opt {
                code: opt::VENDOR_CLASS,
                data: vendor("PXEClient:Arch:00007:UNDI:003016"),
            },
            Opt {
                code: opt::CLIENT_ARCH_TYPE,
                data: 7u16.to_be_bytes().to_vec(),
            },
        ],
    }
}

fn udp6(bind: SocketAddrV6) -> UdpSocket {
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_only_v6(true).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind_device(Some(b"eth0")).unwrap();
    s.bind(&bind.into()).unwrap();
    let u: UdpSocket = s.into();
    u.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    u
}

/// Sends `m` to `dst` until an answer with message type `want` comes (up to 10 tries).
fn exchange6(
    sock: &UdpSocket,
    dst: SocketAddrV6,
    m: &Message6,
    want: u8,
) -> Option<(Message6, SocketAddr)> {
    let mut buf = vec![0u8; 4096];
    for _ in 0..10 {
        sock.send_to(&m.encode(), dst).unwrap();
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            if let Ok(a) = Message6::decode(&buf[..n]) {
                if a.msg_type() == want {
                    return Some((a, from));
                }
            }
        }
    }
    None
}

fn url_of(m: &Message6) -> String {
    String::from_utf8_lossy(m.option(opt::BOOTFILE_URL).unwrap_or_default()).into_owned()
}

#[test]
fn serve_answers_dhcp6_relays_and_http_on_both_families() {
    let (mut lab, c, log) = start_lab("a");
    let serve_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let idx = {
        let c = c.clone();
        in_namespace(&c, || pxelab_daemon::serve6::if_index("eth0"))
    };
    let want_url = "tftp://[fd77::5]/smsboot/PS100002/x64/bootmgfw.efi";

    // R-V6-1, R-V6-2: a Solicit from the EUI-64 link-local address, multicast to
    // ff02::1:2, gets the proxy Advertise back from the responder's address6.
    let (adv, from) = in_namespace(&c, move || {
        let ll: Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
        let s = udp6(SocketAddrV6::new(ll, 546, 0, idx));
        let group = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, idx);
        exchange6(&s, group, &solicit(1, None), msg::ADVERTISE)
    })
    .unwrap_or_else(|| panic!("no Advertise from link-local\n{}", serve_log()));
    assert_eq!(url_of(&adv), want_url);
    assert_eq!(
        adv.option(opt::VENDOR_CLASS),
        Some(&vendor("PXEClient")[..])
    );
    assert_eq!(from.ip(), IpAddr::V6(SERVER6), "sent from address6");
    assert_eq!(from.port(), 547);

    // R-V6-2 through the packet socket: from an address that holds no MAC, with a
    // DUID-UUID, only the frame's source identifies WS01.
    let (adv, _) = in_namespace(&c, move || {
        let s = udp6(SocketAddrV6::new(CLIENT6, 546, 0, 0));
        let group = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, idx);
        exchange6(&s, group, &solicit(2, None), msg::ADVERTISE)
    })
    .unwrap_or_else(|| panic!("no Advertise to a non-EUI-64 source\n{}", serve_log()));
    assert_eq!(url_of(&adv), want_url);
    assert!(
        serve_log().contains("sent DHCPv6 proxy advertise"),
        "{}",
        serve_log()
    );

    // 4011 over IPv6: a Request (to this server's identifier) gets a Reply.
    let duid = adv.option(opt::SERVERID).unwrap().to_vec();
    let reply = in_namespace(&c, move || {
        let s = udp6(SocketAddrV6::new(CLIENT6, 0, 0, 0));
        let Message6::Client { options, .. } = solicit(3, None) else {
            unreachable!()
        };
        let mut options = options;
        options.insert(
            1,
            Opt {
                code: opt::SERVERID,
                data: duid,
            },
        );
        let req = Message6::Client {
            msg_type: msg::REQUEST,
            xid: [0, 0, 3],
            options,
        };
        exchange6(&s, SocketAddrV6::new(SERVER6, 4011, 0, 0), &req, msg::REPLY)
    })
    .unwrap_or_else(|| panic!("no Reply on 4011\n{}", serve_log()));
    assert_eq!(url_of(&reply.0), want_url);

    // R-V6-3: the client namespace as a relay: a Relay-Forward from port 547 with an
    // Interface-ID gets a Relay-Reply to the relay's port 547, Interface-ID echoed. The
    // relayed client (a DUID-LL with WS01's MAC) is identified by its DUID.
    let (rr, from) = in_namespace(&c, move || {
        let s = udp6(SocketAddrV6::new(CLIENT6, 547, 0, 0));
        let fwd = Message6::Relay {
            msg_type: msg::RELAY_FORW,
            hop_count: 0,
            link_addr: "2001:db8:30::1".parse().unwrap(),
            peer_addr: "fe80::1234".parse().unwrap(),
            options: vec![
                Opt {
                    code: opt::INTERFACE_ID,
                    data: b"vlan30".to_vec(),
                },
                Opt {
                    code: opt::RELAY_MSG,
                    data: solicit(4, Some(MAC.parse().unwrap())).encode(),
                },
            ],
        };
        exchange6(
            &s,
            SocketAddrV6::new(SERVER6, 547, 0, 0),
            &fwd,
            msg::RELAY_REPL,
        )
    })
    .unwrap_or_else(|| panic!("no Relay-Reply\n{}", serve_log()));
    assert_eq!(from, SocketAddr::V6(SocketAddrV6::new(SERVER6, 547, 0, 0)));
    assert_eq!(rr.option(opt::INTERFACE_ID), Some(&b"vlan30"[..]));
    let inner = Message6::decode(rr.option(opt::RELAY_MSG).expect("relay message")).unwrap();
    assert_eq!(inner.msg_type(), msg::ADVERTISE);
    assert_eq!(url_of(&inner), want_url);

    // `pxelab audit` live on the client's link lists dp1 as a DHCPv6 PXE server, named
    // (by its DUID), while Solicits go out for as long as it watches.
    let audit = Command::new("ip")
        .args(["netns", "exec", &c, env!("CARGO_BIN_EXE_pxelab"), "audit"])
        .args([
            "--interface",
            "eth0",
            "--duration",
            "3s",
            "--format",
            "json",
        ])
        .arg("--scenario")
        .arg(lab.dir.join("site.yaml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let audit_pid = audit.id();
    let solicits = std::thread::spawn({
        let c = c.clone();
        move || {
            in_namespace(&c, move || {
                let ll: Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
                let s = udp6(SocketAddrV6::new(ll, 546, 0, idx));
                let group = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, idx);
                // Until the audit is over (its process gone), one Solicit at a time.
                let mut xid = 10u8;
                while std::path::Path::new(&format!("/proc/{audit_pid}")).exists() {
                    xid = xid.wrapping_add(1);
                    let _ = exchange6(&s, group, &solicit(xid, None), msg::ADVERTISE);
                }
            })
        }
    });
    let out = audit.wait_with_output().unwrap();
    solicits.join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let dp1 = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["netboot"]
                .as_array()
                .is_some_and(|n| n.iter().any(|x| x == "pxe6"))
        })
        .unwrap_or_else(|| panic!("no pxe6 server in {v:#}"));
    assert_eq!(dp1["named"], "dp1", "{v:#}");
    assert_eq!(dp1["server"], "fd77::5", "{v:#}");
    assert_eq!(v["flagged"], 0, "{v:#}");

    // Both families at once: the IPv4 proxy offer comes too.
    assert_eq!(
        ipv4_offer(&c, 77, 10),
        Some(Some(SERVER4)),
        "{}",
        serve_log()
    );

    // R-V6-5: the boot program over TFTP over IPv6, with EDK2's options (blksize 1228,
    // windowsize 4, after a tsize probe), then its parameters (R-STATE-1 recorded by an
    // IPv6 boot, R-V6-4); an escape is refused.
    let tftp6 = in_namespace(&c, || -> Result<String, String> {
        let efi = "smsboot/PS100002/x64/bootmgfw.efi";
        let options = [("blksize", "1228"), ("windowsize", "4")];
        let (bytes, data) = tftp6_get(SERVER6, efi, &options)?;
        if data.as_deref() != Some(&pattern(100_000, 1)[..]) {
            return Err(format!("boot program: {bytes} bytes, content differs"));
        }
        // Asked at another of the host's addresses, the answers come from that one.
        let (bytes, data) = tftp6_get(SERVER6_OTHER, efi, &options)
            .map_err(|e| format!("from {SERVER6_OTHER}: {e}"))?;
        if data.as_deref() != Some(&pattern(100_000, 1)[..]) {
            return Err(format!(
                "boot program from {SERVER6_OTHER}: {bytes} bytes, content differs"
            ));
        }
        let (_, params) = tftp6_get(SERVER6, "smstemp/525400123456.uefi-x64.var", &[])?;
        let params = String::from_utf8_lossy(&params.unwrap_or_default()).into_owned();
        let mut rrq = Vec::new();
        tftp::encode_rrq(&mut rrq, b"..\\..\\secret", "octet", &[]);
        let s = udp6(SocketAddrV6::new(CLIENT6, 0, 0, 0));
        s.send_to(&rrq, SocketAddrV6::new(SERVER6, 69, 0, 0))
            .unwrap();
        let mut buf = [0u8; 1024];
        let (n, _) = s.recv_from(&mut buf).map_err(|e| format!("escape: {e}"))?;
        match Packet::parse(&buf[..n]) {
            Ok(Packet::Error { code, .. }) if code == 1 || code == 2 => Ok(params),
            other => Err(format!("escape answered {other:?}")),
        }
    });
    let params = tftp6.unwrap_or_else(|e| panic!("TFTP over IPv6: {e}\n{}", serve_log()));
    assert!(params.contains("PS120001"), "{params}");
    let db = pxelab_daemon::store::SqliteStore::open(&lab.dir.join("state.db")).unwrap();
    assert_eq!(
        db.records().unwrap(),
        vec![("machine:WS01".to_string(), "PS120001".to_string())]
    );

    // R-V6-4: the record made by the IPv6 boot keeps the deployment from an IPv4 one.
    assert_eq!(ipv4_offer(&c, 78, 2), None, "{}", serve_log());

    // R-HTTP-2 on both families.
    for host in [IpAddr::V4(SERVER4), IpAddr::V6(SERVER6)] {
        let r = in_namespace(&c, move || http_checks(host));
        if let Err(e) = r {
            panic!("HTTP over {host}: {e}\nserve log:\n{}", serve_log());
        }
    }
    // R-HTTP-3: a stalled reader and a slow head do not hold up another client.
    let r = in_namespace(&c, stalled_clients_do_not_block_another);
    if let Err(e) = r {
        panic!("{e}\nserve log:\n{}", serve_log());
    }
    assert!(
        lab.children[0].try_wait().unwrap().is_none(),
        "serve exited:\n{}",
        serve_log()
    );
}

/// The server identifier of the IPv4 proxy offer to a UEFI DISCOVER of WS01 (`tries`
/// DISCOVERs, half a second apart).
fn ipv4_offer(ns: &str, xid: u32, tries: usize) -> Option<Option<Ipv4Addr>> {
    in_namespace(ns, move || {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_reuse_address(true).unwrap();
        s.set_broadcast(true).unwrap();
        s.bind_device(Some(b"eth0")).unwrap();
        s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68).into())
            .unwrap();
        let u: UdpSocket = s.into();
        u.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let model = firmware::model(FirmwareKind::UefiX64);
        let d = firmware::build_discover(model, MAC.parse().unwrap(), None, xid, 0);
        let mut buf = vec![0u8; 2048];
        for _ in 0..tries {
            u.send_to(&d, SocketAddrV4::new(Ipv4Addr::BROADCAST, 67))
                .unwrap();
            while let Ok((n, _)) = u.recv_from(&mut buf) {
                if let Ok(p) = parse(&buf[..n]) {
                    if p.xid == xid && p.message_type == Some(MessageType::Offer) {
                        return Some(p.server_id);
                    }
                }
            }
        }
        None
    })
}

/// Downloads `file` over TFTP over IPv6 with the engine's client.
/// Every answer must come from `server_ip` (TFTP's transfer identifier): answers from
/// elsewhere are ignored, and the download then times out.
fn tftp6_get(
    server_ip: Ipv6Addr,
    file: &str,
    options: &[(&str, &str)],
) -> Result<(u64, Option<Vec<u8>>), String> {
    let sock = udp6(SocketAddrV6::new(CLIENT6, 0, 0, 0));
    let server = |port| SocketAddrV6::new(server_ip, port, 0, 0);
    let cfg = ClientConfig {
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        timeout: Duration::from_secs(1),
        max_retries: 5,
        verify: false,
        keep: true,
    };
    let t0 = std::time::Instant::now();
    let now = || Instant::from_nanos(t0.elapsed().as_nanos() as u64);
    let mut out = Vec::new();
    let mut tr = ClientTransfer::start(now(), file, &cfg, &mut out);
    for p in out.drain(..) {
        sock.send_to(&p, server(69)).unwrap();
    }
    let mut buf = vec![0u8; 70000];
    loop {
        match tr.status() {
            ClientStatus::Done { bytes, .. } => return Ok((*bytes, tr.data().map(<[u8]>::to_vec))),
            ClientStatus::Failed(f) => {
                return Err(format!("{file}: error {:?}: {}", f.code, f.message))
            }
            ClientStatus::Active => {}
        }
        match sock.recv_from(&mut buf) {
            Ok((n, SocketAddr::V6(src))) if *src.ip() == server_ip => {
                tr.handle_packet(now(), src.port(), &buf[..n], &mut out)
            }
            _ => tr.handle_timeout(now(), &mut out),
        }
        let port = tr.server_port().unwrap_or(69);
        for p in out.drain(..) {
            sock.send_to(&p, server(port)).unwrap();
        }
    }
}

/// One request on a new connection (closed after it): status, head and body.
fn http(host: IpAddr, request: &str) -> Result<(u16, String, Vec<u8>), String> {
    let mut s =
        TcpStream::connect_timeout(&SocketAddr::new(host, HTTP_PORT), Duration::from_secs(5))
            .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)
        .map_err(|e| format!("{request:?}: read: {e}"))?;
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            format!(
                "{request:?}: no head in {:?}",
                String::from_utf8_lossy(&all)
            )
        })?;
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    Ok((status, head, all[end + 4..].to_vec()))
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n")
}

fn http_checks(host: IpAddr) -> Result<(), String> {
    let efi = "/SMSBoot/PS100002/x64/bootmgfw.efi";
    let (st, head, body) = http(host, &get(efi, ""))?;
    if st != 200 || body != pattern(100_000, 1) || !head.contains("Content-Length: 100000") {
        return Err(format!("GET: {st} {head} ({} bytes)", body.len()));
    }
    let (st, head, body) = http(host, &get(efi, "").replacen("GET", "HEAD", 1))?;
    if st != 200 || !body.is_empty() || !head.contains("Content-Length: 100000") {
        return Err(format!("HEAD: {st} {head} ({} bytes)", body.len()));
    }
    let (st, head, body) = http(host, &get(efi, "Range: bytes=1000-1999\r\n"))?;
    if st != 206
        || body != pattern(100_000, 1)[1000..2000]
        || !head.contains("Content-Range: bytes 1000-1999/100000")
    {
        return Err(format!("Range: {st} {head}"));
    }
    let (st, _, _) = http(host, &get("/SMSBoot/nothing.efi", ""))?;
    if st != 404 {
        return Err(format!("missing file: {st}"));
    }
    // R-HTTP-2 = R-TFTP-3: no way out of the root, however written.
    for path in [
        "/../secret",
        "/%2e%2e/secret",
        "/SMSBoot/%2E%2E/%2e%2e/secret",
        "/SMSBoot/..%2f..%2fsecret",
        "/..%5c..%5csecret",
        "http://x/../secret",
        "/etc/passwd",
        "//etc/passwd",
        "/escape",
        "/SMSBoot/up",
        "/%00secret",
    ] {
        let (st, _, body) = http(host, &get(path, ""))?;
        if !(st == 403 || st == 404 || st == 400) || body.windows(7).any(|w| w == b"outside") {
            return Err(format!("{path}: {st} {:?}", String::from_utf8_lossy(&body)));
        }
    }
    Ok(())
}

fn stalled_clients_do_not_block_another() -> Result<(), String> {
    let host = IpAddr::V6(SERVER6);
    // A reader that never reads, with a small window: the server's socket fills.
    let sock = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP)).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&SocketAddr::new(host, HTTP_PORT).into())
        .map_err(|e| format!("connect: {e}"))?;
    let mut stalled: TcpStream = sock.into();
    stalled
        .write_all(get("/smsimages/PS100002/boot.PS100002.wim", "").as_bytes())
        .unwrap();
    // A client that sends half a head and nothing more (slowloris).
    let mut slow = TcpStream::connect(SocketAddr::new(host, HTTP_PORT)).unwrap();
    slow.write_all(b"GET /SMSBoot/PS100002/x64/bootmgfw.efi HTTP/1.1\r\nHo")
        .unwrap();
    // Meanwhile another client gets the whole big file.
    let (st, _, body) = http(host, &get("/smsimages/PS100002/boot.PS100002.wim", ""))?;
    if st != 200 || body.len() != BIG || body != pattern(BIG, 2) {
        return Err(format!("the other client got {st}, {} bytes", body.len()));
    }
    // The stalled one still gets its bytes once it reads.
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    stalled
        .read_to_end(&mut got)
        .map_err(|e| format!("stalled reader: {e}"))?;
    if got.len() < BIG {
        return Err(format!("stalled reader got {} bytes", got.len()));
    }
    drop(slow);
    Ok(())
}
