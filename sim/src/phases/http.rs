//! The phases of a UEFI HTTP boot (`netboot: http4`, `http6`) from the client's TCP
//! segments: power-on to the first DISCOVER (`http4`) or to the first Solicit of the
//! HTTP boot option (`http6`: vendor class `HTTPClient`, not the IPv6 stack's own
//! Solicit), from there to the firmware's GET of the boot program, and the downloads
//! of the boot program and the boot image: each from its GET to the last byte of the
//! response (the last segment with payload from the server on that connection before
//! the connection's next GET).

use super::six::{is_dhcp6, SOLICIT};
use super::wire::{Packet, Transport};
use super::Phases;
use pxelab_scenario::Netboot;
use std::net::IpAddr;

/// A connection, as (client port, server address, server port).
type Conn = (u16, IpAddr, u16);

/// A file's GETs: the first one's time, the response's last byte and the file's size
/// as served (the `Content-Length` of a 200 answer to one of them).
struct Get {
    path: String,
    requested: f64,
    last_byte: Option<f64>,
    served_bytes: Option<u64>,
}

impl Get {
    fn download(&self) -> Option<f64> {
        Some(self.last_byte? - self.requested)
    }
}

/// The path of a request's first line, if it is a GET.
fn get_path(p: &Packet) -> Option<String> {
    let line = p.payload.strip_prefix(b"GET ")?;
    let end = line.iter().position(|&b| b == b' ' || b == b'\r')?;
    Some(String::from_utf8_lossy(&line[..end]).into_owned())
}

/// The files got in order (a file's repeated GETs are one).
fn gets(packets: &[Packet]) -> Vec<Get> {
    let mut out: Vec<Get> = Vec::new();
    // Each connection's latest GET, as an index into `out`.
    let mut latest: Vec<(Conn, usize)> = Vec::new();
    for p in packets.iter().filter(|p| p.transport == Transport::Tcp) {
        if p.from_client {
            let Some(path) = get_path(p) else { continue };
            if out.last().is_none_or(|g| g.path != path) {
                out.push(Get {
                    path,
                    requested: p.t,
                    last_byte: None,
                    served_bytes: None,
                });
            }
            let conn = (p.src.1, p.dst.0, p.dst.1);
            latest.retain(|(c, _)| *c != conn);
            latest.push((conn, out.len() - 1));
        } else if p.len > 0 {
            let conn = (p.dst.1, p.src.0, p.src.1);
            if let Some((_, i)) = latest.iter().find(|(c, _)| *c == conn) {
                let g = &mut out[*i];
                g.last_byte = Some(p.t);
                if g.served_bytes.is_none() {
                    g.served_bytes = ok_content_length(&p.payload);
                }
            }
        }
    }
    out
}

/// The `Content-Length` of a segment that begins a 200 response (the whole file);
/// `None` for another status, a segment that begins no response, or a head the capture
/// cut before that header.
fn ok_content_length(segment: &[u8]) -> Option<u64> {
    let head = String::from_utf8_lossy(segment);
    let mut lines: Vec<&str> = head.split("\r\n").collect();
    // What follows the last line end is the body's start or a line the capture cut.
    lines.pop();
    let mut status = lines.first()?.split(' ');
    if !status.next()?.starts_with("HTTP/") || status.next()? != "200" {
        return None;
    }
    // The header lines, up to the empty one that ends the head.
    let mut headers = lines[1..].iter().take_while(|l| !l.is_empty());
    headers.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// The boot program of an HTTP boot as the server served it: the target of the
/// firmware's first GET, as requested, and the `Content-Length` of the 200 answer to
/// it. `None` if the boot sent no GET or no such answer was captured.
pub fn program_served(packets: &[Packet]) -> Option<(String, u64)> {
    let first = gets(packets).into_iter().next()?;
    Some((first.path, first.served_bytes?))
}

/// Whether a DHCPv6 message carries option 16 (vendor class) with `HTTPClient`.
fn http_client_class(payload: &[u8]) -> bool {
    let mut i = 4;
    while let Some(h) = payload.get(i..i + 4) {
        let code = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let value = payload
            .get(i + 4..(i + 4 + len).min(payload.len()))
            .unwrap_or(&[]);
        if code == 16 && value.windows(10).any(|w| w == b"HTTPClient") {
            return true;
        }
        i += 4 + len;
    }
    false
}

/// The phases of one HTTP boot (`netboot` `Http4` or `Http6`): `packets` are the
/// client's from its power-on up to its next one, `power_on` the boot's start.
pub fn phases(packets: &[Packet], power_on: f64, netboot: Netboot) -> Phases {
    let v6 = netboot == Netboot::Http6;
    let first = packets
        .iter()
        .find(|p| {
            if v6 {
                is_dhcp6(p, SOLICIT) && http_client_class(&p.payload)
            } else {
                p.from_client
                    && p.transport == Transport::Udp
                    && p.dst.1 == 67
                    && super::dhcp_type(&p.payload) == Some(1) // DISCOVER
            }
        })
        .map(|p| p.t);
    let gets = gets(packets);
    let to_nbp_get = first.and_then(|f| gets.first().map(|g| g.requested - f));
    let since_power_on = first.map(|t| t - power_on);
    let mut p = Phases {
        netboot,
        nbp_download: gets.first().and_then(Get::download),
        // The boot program's GETs: its parameters, then the boot image.
        image_download: gets.get(2).and_then(Get::download),
        per_segment: super::tcp_intake::per_segment(packets),
        ..Phases::default()
    };
    if v6 {
        (p.power_on_to_solicit, p.solicit_to_nbp_get) = (since_power_on, to_nbp_get);
    } else {
        (p.power_on_to_discover, p.discover_to_nbp_get) = (since_power_on, to_nbp_get);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    const CLIENT: Ipv6Addr = Ipv6Addr::new(0xfd10, 0, 0, 0, 0, 0, 0, 0x100);
    const SERVER: Ipv6Addr = Ipv6Addr::new(0xfd10, 0, 0, 0, 0, 0, 0, 5);

    fn udp(t: f64, payload: Vec<u8>) -> Packet {
        let ll: IpAddr = "fe80::1".parse().unwrap();
        Packet {
            t,
            from_client: true,
            src: (ll, 546),
            dst: ("ff02::1:2".parse().unwrap(), 547),
            transport: Transport::Udp,
            len: payload.len(),
            payload,
            seq_ack: None,
        }
    }

    /// A Solicit with these options (code, value).
    fn solicit(t: f64, options: &[(u16, &[u8])]) -> Packet {
        let mut p = vec![1, 0xc5, 0x59, 0xe6];
        for (code, value) in options {
            p.extend(code.to_be_bytes());
            p.extend(u16::try_from(value.len()).unwrap().to_be_bytes());
            p.extend(*value);
        }
        udp(t, p)
    }

    fn tcp(t: f64, from_client: bool, port: u16, len: usize, payload: &[u8]) -> Packet {
        let (c, s) = ((IpAddr::V6(CLIENT), port), (IpAddr::V6(SERVER), 80));
        let (src, dst) = if from_client { (c, s) } else { (s, c) };
        Packet {
            t,
            from_client,
            src,
            dst,
            transport: Transport::Tcp,
            len,
            payload: payload.to_vec(),
            seq_ack: Some((0, 0)),
        }
    }

    fn get(t: f64, port: u16, path: &str) -> Packet {
        let line = format!("GET {path} HTTP/1.1\r\nHost: [fd10::5]\r\n\r\n");
        tcp(t, true, port, line.len(), line.as_bytes())
    }

    #[test]
    fn an_http6_boot_counts_from_the_http_boot_options_solicit_and_splits_keep_alive_answers() {
        let mut class = 343u32.to_be_bytes().to_vec();
        class.extend(33u16.to_be_bytes());
        class.extend(b"HTTPClient:Arch:00016:UNDI:003000");
        let packets = vec![
            // The IPv6 stack's own Solicit (1, 8, 3, 6), then HTTP boot's.
            solicit(10.0, &[(1, &[0, 4][..]), (8, &[0, 0][..])]),
            solicit(
                12.0,
                &[(1, &[0, 4][..]), (8, &[0, 0][..]), (16, &class[..])],
            ),
            tcp(20.0, true, 1630, 0, &[]), // SYN
            tcp(20.1, true, 1630, 87, b"HEAD /boot.efi HTTP/1.1\r\n"),
            tcp(20.2, false, 1630, 193, &[]),
            get(21.0, 1631, "/boot.efi"),
            tcp(21.1, false, 1631, 1220, &[]),
            tcp(21.3, false, 1631, 560, &[]),
            tcp(21.4, false, 1631, 0, &[]), // FIN
            // The boot program: both files on one kept-alive connection.
            get(23.0, 1632, "/smstemp/x.var"),
            tcp(23.2, false, 1632, 300, &[]),
            tcp(23.25, true, 1632, 0, &[]), // its ACK
            get(23.5, 1632, "/smsimages/PS100002/boot.wim"),
            tcp(24.0, false, 1632, 1220, &[]),
            tcp(26.5, false, 1632, 1220, &[]),
        ];
        let p = phases(&packets, 1.0, Netboot::Http6);
        let near = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert!(near(p.power_on_to_solicit, 11.0), "{p:?}");
        assert!(near(p.solicit_to_nbp_get, 9.0), "{p:?}");
        assert!(near(p.nbp_download, 0.3), "{p:?}");
        assert!(near(p.image_download, 3.0), "{p:?}");
        assert_eq!(
            (p.power_on_to_discover, p.discover_to_nbp_get),
            (None, None)
        );
        // Over IPv4 the same GETs count from the DISCOVER; here there is none.
        let p4 = phases(&packets, 1.0, Netboot::Http4);
        assert_eq!(
            (p4.power_on_to_discover, p4.discover_to_nbp_get),
            (None, None)
        );
        assert!(near(p4.nbp_download, 0.3), "{p4:?}");
    }

    #[test]
    fn a_solicit_without_the_http_class_or_cut_short_is_not_the_http_boots() {
        assert!(!http_client_class(
            &solicit(0.0, &[(16, &b"PXEClient"[..])]).payload
        ));
        let mut class = 343u32.to_be_bytes().to_vec();
        class.extend(b"\0\x0aHTTPClient");
        let whole = solicit(0.0, &[(1, &[0, 4][..]), (16, &class[..])]).payload;
        assert!(http_client_class(&whole));
        for n in 0..whole.len() {
            let _ = http_client_class(&whole[..n]);
        }
        assert!(!http_client_class(&whole[..whole.len() - 1]));
    }

    #[test]
    fn the_simulators_http6_boot_solicits_for_http_at_the_profiles_time() {
        let got = super::super::six::tests::simulated("scenarios/lab/http6-uefi-x64.yaml");
        let p = &got[0].3;
        let m = pxelab_engine::dhcp::firmware::model(
            pxelab_engine::dhcp::firmware::FirmwareKind::UefiX64,
        );
        let start = m.timing.power_on_to_http6_solicit.as_secs_f64();
        assert_eq!(p.netboot, Netboot::Http6);
        assert!(
            p.power_on_to_solicit
                .is_some_and(|t| (t - start).abs() < 0.01),
            "{p:?}"
        );
        for t in [p.solicit_to_nbp_get, p.nbp_download, p.image_download] {
            assert!(t.is_some(), "{p:?}");
        }
    }
}
