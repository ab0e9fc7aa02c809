//! The simulator's UEFI HTTP boot client (sim/src/client_http.rs) against captures of
//! the real firmware (`tests/fixtures/firmware/*-http4.pcap`, docs/MODEL.md): driven
//! with the captured server's own offer and ACK, it sends the DISCOVER and REQUEST
//! with the same options in the same order with the same values, a SYN with the same
//! options and window, and the same HEAD and GET requests byte for byte.

use pcap_file::pcap::PcapReader;
use pxelab_engine::dhcp::firmware::{self, FirmwareKind};
use pxelab_engine::dhcp::packet::{self, DhcpPacket, MessageType};
use pxelab_engine::policy::ClientClass;
use pxelab_engine::{Guid, Instant, Mac};
use pxelab_sim::client::Send;
use pxelab_sim::client_http::HttpBoot;
use pxelab_sim::tcp::{Segment, ACK, SYN};
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::time::Duration;

const MAC: &str = "52:54:00:12:34:56";
const UUID: &str = "00112233-4455-6677-8899-aabbccddeeff";

#[derive(Default)]
struct Capture {
    /// Client DHCP messages and server replies, in order, with their bytes.
    dhcp: Vec<(DhcpPacket, Vec<u8>)>,
    /// Client SYNs: (window, MSS option).
    syns: Vec<(u16, Option<u16>)>,
    /// Client request payloads to port 80.
    requests: Vec<Vec<u8>>,
    /// Client SYNs: (source port, initial sequence number).
    syn_ports: Vec<(u16, u32)>,
    /// The windows of the client's pure ACKs.
    ack_windows: Vec<u16>,
}

fn capture(name: &str) -> Capture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/firmware/{name}.pcap"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = PcapReader::new(file).unwrap();
    let mut c = Capture::default();
    while let Some(pkt) = r.next_packet() {
        let pkt = pkt.unwrap();
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&pkt.data) else {
            continue;
        };
        match s.transport {
            Some(etherparse::TransportSlice::Udp(u))
                if u.destination_port() == 67 || u.destination_port() == 68 =>
            {
                if let Ok(p) = packet::parse(u.payload()) {
                    c.dhcp.push((p, u.payload().to_vec()));
                }
            }
            Some(etherparse::TransportSlice::Tcp(t)) if t.destination_port() == 80 => {
                if t.syn() {
                    let mss = t.options_iterator().find_map(|o| match o {
                        Ok(etherparse::TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
                        _ => None,
                    });
                    c.syns.push((t.window_size(), mss));
                    c.syn_ports.push((t.source_port(), t.sequence_number()));
                }
                if t.payload().is_empty() && t.ack() && !t.syn() && !t.fin() && !t.rst() {
                    c.ack_windows.push(t.window_size());
                }
                if !t.payload().is_empty() {
                    c.requests.push(t.payload().to_vec());
                }
            }
            _ => {}
        }
    }
    c
}

fn codes(p: &DhcpPacket) -> Vec<u8> {
    p.options.iter().map(|(c, _)| *c).collect()
}

fn same_dhcp(name: &str, what: &str, model: &DhcpPacket, real: &DhcpPacket) {
    assert_eq!(codes(model), codes(real), "{name}: {what} option order");
    for code in [50u8, 53, 54, 55, 57, 60, 93, 94, 97] {
        assert_eq!(
            model.option(code),
            real.option(code),
            "{name}: {what} option {code}"
        );
    }
    assert_eq!(model.flags, real.flags, "{name}: {what} flags");
    assert_eq!(model.secs, real.secs, "{name}: {what} secs");
}

impl Capture {
    /// The first client message (op 1) or server reply (op 2) of a type.
    fn find(&self, op: u8, t: MessageType) -> &(DhcpPacket, Vec<u8>) {
        self.dhcp
            .iter()
            .find(|(p, _)| p.op == op && p.message_type == Some(t))
            .unwrap_or_else(|| panic!("no {t:?} in the capture"))
    }
}

/// A captured server reply re-addressed to the model's transaction.
fn with_xid(raw: &[u8], xid: u32) -> Vec<u8> {
    let mut v = raw.to_vec();
    v[4..8].copy_from_slice(&xid.to_be_bytes());
    v
}

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

fn compare(kind: FirmwareKind, class: ClientClass, name: &str) {
    let real = capture(name);
    let mac: Mac = MAC.parse().unwrap();
    let guid: Guid = UUID.parse().unwrap();
    // The built-in profile's HTTP boot (its `http4:` section).
    let profile = firmware::profile::builtin(kind);
    let mut h = HttpBoot::new(profile, mac, Some(guid), class, false, true).unwrap();
    let mut out: Vec<Send> = Vec::new();
    h.boot(at(0), &mut out);
    let discover = packet::parse(&out[0].payload).unwrap();
    let real_discover = &real.find(1, MessageType::Discover).0;
    same_dhcp(name, "DISCOVER", &discover, real_discover);

    // The captured server's offer (address, option 60 HTTPClient, the URL) and ACK.
    let (offer, offer_raw) = real.find(2, MessageType::Offer);
    let (_, ack_raw) = real.find(2, MessageType::Ack);
    let server: SocketAddrV4 = SocketAddrV4::new(offer.server_id.unwrap(), 67);
    let bcast: SocketAddrV4 = "255.255.255.255:68".parse().unwrap();
    out.clear();
    h.handle_datagram(
        at(3000),
        server,
        bcast,
        &with_xid(offer_raw, discover.xid),
        &mut out,
    );
    assert!(
        out.is_empty(),
        "{name}: the firmware collects offers for 4 s"
    );
    h.handle_timeout(at(4000), &mut out);
    let request = packet::parse(&out[0].payload).unwrap();
    same_dhcp(
        name,
        "REQUEST",
        &request,
        &real.find(1, MessageType::Request).0,
    );

    // The ACK: the firmware connects to the URL's server.
    h.handle_datagram(
        at(4010),
        server,
        bcast,
        &with_xid(ack_raw, discover.xid),
        &mut out,
    );
    let syn = h.tcp_out.remove(0);
    assert!(h.tcp_out.is_empty());
    assert_eq!(syn.flags, SYN, "{name}");
    assert_eq!(
        (syn.window, syn.mss),
        real.syns[0],
        "{name}: SYN window and MSS"
    );
    assert_eq!(syn.dst.port(), 80);

    // SYN-ACK as Linux sends it; then the ACK and the HEAD.
    let synack = Segment {
        src: syn.dst,
        dst: syn.src,
        seq: 9000,
        ack: syn.seq.wrapping_add(1),
        flags: SYN | ACK,
        window: 64240,
        mss: Some(1460),
        payload: Vec::new(),
    };
    h.handle_tcp(at(4011), &synack);
    let sent: Vec<Segment> = std::mem::take(&mut h.tcp_out);
    assert_eq!(sent[0].flags, ACK, "{name}: the handshake's ACK alone");
    assert!(sent[0].payload.is_empty());
    assert_eq!(sent[1].payload, real.requests[0], "{name}: HEAD request");
    let head_end = sent[1].seq.wrapping_add(sent[1].payload.len() as u32);

    // The engine's answer (keep-alive): the GET goes on the same connection.
    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nConnection: keep-alive\r\n\r\n";
    let reply = Segment {
        src: syn.dst,
        dst: syn.src,
        seq: 9001,
        ack: head_end,
        flags: ACK,
        window: 64240,
        mss: None,
        payload: answer.to_vec(),
    };
    h.handle_tcp(at(4013), &reply);
    let sent: Vec<Segment> = std::mem::take(&mut h.tcp_out);
    let get = sent.iter().find(|s| !s.payload.is_empty()).expect("a GET");
    assert_eq!(get.payload, real.requests[1], "{name}: GET request");
    assert_eq!(
        get.src, syn.src,
        "{name}: one connection while the server keeps it"
    );
}

#[test]
fn uefi_x64_http_boot_matches_ovmf() {
    compare(
        FirmwareKind::UefiX64,
        ClientClass::UefiX64,
        "uefi-x64-http4",
    );
}

#[test]
fn uefi_ia32_http_boot_matches_ovmf_ia32() {
    compare(
        FirmwareKind::UefiIa32,
        ClientClass::UefiIa32,
        "uefi-ia32-http4",
    );
}

#[test]
fn uefi_arm64_http_boot_matches_aavmf() {
    compare(
        FirmwareKind::UefiArm64,
        ClientClass::UefiArm64,
        "uefi-arm64-http4",
    );
}

#[test]
fn bios_has_no_http_boot() {
    let mac: Mac = MAC.parse().unwrap();
    let m = firmware::profile::builtin(FirmwareKind::BiosX64);
    assert!(HttpBoot::new(m, mac, None, ClientClass::BiosX64, false, true).is_none());
}

/// The captures' server (Python, HTTP/1.0) closes after each answer: the firmware then
/// resets that connection and opens a new one for the GET, as in every capture.
#[test]
fn an_http_1_0_server_gets_a_new_connection_per_request_as_in_the_captures() {
    let real = capture("uefi-x64-http4");
    let mac: Mac = MAC.parse().unwrap();
    let m = firmware::profile::builtin(FirmwareKind::UefiX64);
    let mut h = HttpBoot::new(m, mac, None, ClientClass::UefiX64, false, true).unwrap();
    let mut out: Vec<Send> = Vec::new();
    h.boot(at(0), &mut out);
    let xid = packet::parse(&out[0].payload).unwrap().xid;
    let server: SocketAddrV4 =
        SocketAddrV4::new(real.find(2, MessageType::Offer).0.server_id.unwrap(), 67);
    let bcast: SocketAddrV4 = "255.255.255.255:68".parse().unwrap();
    h.handle_datagram(
        at(3000),
        server,
        bcast,
        &with_xid(&real.find(2, MessageType::Offer).1, xid),
        &mut out,
    );
    h.handle_timeout(at(4000), &mut out);
    h.handle_datagram(
        at(4010),
        server,
        bcast,
        &with_xid(&real.find(2, MessageType::Ack).1, xid),
        &mut out,
    );
    let syn = h.tcp_out.remove(0);
    let from_server = |seq: u32, ack: u32, flags: u8, payload: &[u8]| Segment {
        src: syn.dst,
        dst: syn.src,
        seq,
        ack,
        flags,
        window: 64240,
        mss: (flags & SYN != 0).then_some(1460),
        payload: payload.to_vec(),
    };
    h.handle_tcp(at(4011), &from_server(100, syn.seq + 1, SYN | ACK, b""));
    let head = h.tcp_out.drain(..).find(|s| !s.payload.is_empty()).unwrap();
    let answer = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11\r\nContent-type: application/efi\r\nContent-Length: 2966\r\n\r\n";
    h.handle_tcp(
        at(4012),
        &from_server(
            101,
            head.seq + head.payload.len() as u32,
            ACK | pxelab_sim::tcp::PSH | pxelab_sim::tcp::FIN,
            answer,
        ),
    );
    let sent: Vec<Segment> = std::mem::take(&mut h.tcp_out);
    let rst = sent
        .iter()
        .position(|s| s.has(pxelab_sim::tcp::RST))
        .expect("the old connection reset");
    assert_eq!(sent[rst].src, syn.src);
    let syn2 = sent
        .iter()
        .position(|s| s.has(SYN))
        .expect("a new connection");
    assert!(rst < syn2, "reset, then connect");
    // EDK2 acknowledges before HttpDxe reads: the window less the segment's bytes, as
    // the capture's ACK of its 193-byte answer (65342).
    let ack = sent
        .iter()
        .find(|s| s.flags == ACK && s.payload.is_empty())
        .expect("an ACK of the answer");
    assert_eq!(usize::from(ack.window), 65535 - answer.len());
    assert!(real.ack_windows.contains(&65342), "{:?}", real.ack_windows);
    assert!(real.ack_windows.contains(&64075), "{:?}", real.ack_windows);
    // Ports and ISNs: the next port and an ISN 2048 more, in the capture and the model.
    let (p, q) = (real.syn_ports[0], real.syn_ports[1]);
    assert_eq!((q.0, q.1), (p.0 + 1, p.1.wrapping_add(2048)));
    // 1 ms apart, within one 200 ms tick: 2048 more.
    assert_eq!(sent[syn2].seq, syn.seq.wrapping_add(2048));
    assert_eq!(
        sent[syn2].src.port(),
        syn.src.port() + 1,
        "the next port, as in the captures"
    );
    assert_eq!(
        real.syns.len(),
        2,
        "the capture has two connections for HEAD and GET"
    );
}

/// The firmware's draws: the first port in 1024..2048 and the first ISN, each
/// connection the next port and an ISN 2048 more (all six HTTP captures).
#[test]
fn tcp_ports_and_isns_follow_the_draws_as_in_every_capture() {
    for name in [
        "uefi-x64-http4",
        "uefi-ia32-http4",
        "uefi-arm64-http4",
        "uefi-x64-http6",
        "uefi-ia32-http6",
        "uefi-arm64-http6",
    ] {
        let p = syn_ports_any(name);
        assert_eq!(p.len(), 2, "{name}");
        assert!((1024..2048).contains(&p[0].0), "{name}: {}", p[0].0);
        assert_eq!(p[1].0, p[0].0 + 1, "{name}: the next port");
        let step = p[1].1.wrapping_sub(p[0].1);
        assert!(step == 2048 || step == 2148, "{name}: ISN step {step}");
    }
}

/// (source port, ISN) of each client SYN to port 80, IPv4 or IPv6.
fn syn_ports_any(name: &str) -> Vec<(u16, u32)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/firmware/{name}.pcap"));
    let mut r = PcapReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(pkt) = r.next_packet() {
        let pkt = pkt.unwrap();
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&pkt.data) else {
            continue;
        };
        if let Some(etherparse::TransportSlice::Tcp(t)) = s.transport {
            if t.destination_port() == 80 && t.syn() {
                out.push((t.source_port(), t.sequence_number()));
            }
        }
    }
    out
}
