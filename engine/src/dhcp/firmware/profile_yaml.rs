//! A profile written back as the YAML that [`super::profile::parse`] reads
//! (`pxelab firmware learn` writes its profile with this; docs/PROFILES.md).

use super::profile::Profile;
use super::{FirmwareModel, Stack};
use crate::dhcp6::firmware::Firmware6;
use std::fmt::Write;
use std::time::Duration;

/// `4s`, `250ms`, `4.85s`: the shortest text that reads back as `d` (to the microsecond).
pub fn duration_text(d: Duration) -> String {
    let us = d.as_micros();
    if us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else if us.is_multiple_of(1000) {
        format!("{}ms", us / 1000)
    } else {
        format!("{}ms", us as f64 / 1000.0)
    }
}

fn list<T: std::fmt::Display>(v: &[T]) -> String {
    let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(", "))
}

fn durations(v: &[Duration]) -> String {
    let items: Vec<String> = v.iter().map(|d| duration_text(*d)).collect();
    format!("[{}]", items.join(", "))
}

fn tftp(v: &[(&str, &str)]) -> String {
    let items: Vec<String> = v.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("[{}]", items.join(", "))
}

/// A YAML double-quoted string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn text_bytes(b: &[u8]) -> String {
    quoted(&String::from_utf8_lossy(b))
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "null".into())
}

/// The profile as YAML, with `comment` (one or more lines) at the top.
pub fn to_yaml(p: &Profile, comment: &str) -> String {
    let mut y = String::new();
    for l in comment.lines() {
        let _ = writeln!(y, "# {l}");
    }
    let m = &p.pxe4;
    let _ = writeln!(y, "name: {}", quoted(&p.name));
    let _ = writeln!(
        y,
        "stack: {}",
        match m.stack {
            Stack::Edk2 => "edk2",
            Stack::Ipxe => "ipxe",
        }
    );
    dhcp4(&mut y, m);
    let _ = writeln!(y, "tftp:");
    let _ = writeln!(y, "  options: {}", tftp(m.tftp_options));
    let _ = writeln!(y, "  size_probe: {}", m.tftp_size_probe);
    let _ = writeln!(y, "  timeout: {}", duration_text(m.tftp_timeout));
    let _ = writeln!(y, "  retries: {}", m.tftp_retries);
    let _ = writeln!(
        y,
        "  ends_on_port_unreachable: {}",
        m.tftp_gives_up_on_port_unreachable
    );
    let t = &m.timing;
    let _ = writeln!(y, "timing:");
    let _ = writeln!(
        y,
        "  power_on_to_discover: {}",
        duration_text(t.power_on_to_discover)
    );
    // Only where they differ from what their absence means.
    if t.power_on_to_solicit != t.power_on_to_discover {
        let _ = writeln!(
            y,
            "  power_on_to_solicit: {}",
            duration_text(t.power_on_to_solicit)
        );
    }
    if t.power_on_to_http6_solicit != t.power_on_to_solicit {
        let _ = writeln!(
            y,
            "  power_on_to_http6_solicit: {}",
            duration_text(t.power_on_to_http6_solicit)
        );
    }
    let _ = writeln!(y, "  per_packet: {}", duration_text(t.per_packet));
    if !t.per_datagram.is_zero() {
        let _ = writeln!(y, "  per_datagram: {}", duration_text(t.per_datagram));
    }
    // Only where IPv6's differ from IPv4's (what their absence means).
    if (t.per_packet6, t.per_datagram6) != (t.per_packet, t.per_datagram) {
        let _ = writeln!(y, "  per_packet6: {}", duration_text(t.per_packet6));
        let _ = writeln!(y, "  per_datagram6: {}", duration_text(t.per_datagram6));
    }
    if t.per_segment != t.per_datagram + t.per_packet {
        let _ = writeln!(y, "  per_segment: {}", duration_text(t.per_segment));
    }
    let _ = writeln!(
        y,
        "  offer_collection: {}",
        duration_text(t.offer_collection)
    );
    let _ = writeln!(y, "  pxe_ack_to_nbp: {}", duration_text(m.pxe_ack_to_nbp));
    let _ = writeln!(
        y,
        "  failed_boot_prompt: {}",
        duration_text(t.failed_boot_prompt)
    );
    let wait = t.ipv6_wait.unwrap_or(Duration::ZERO);
    let _ = writeln!(y, "  ipv6_wait: {}", duration_text(wait));
    // Only when set (`0s` reads as absent).
    for (key, d) in [
        ("ipv6_advert_taken", t.ipv6_advert_taken),
        (
            "ipv6_dhcp6_give_up",
            t.ipv6_dhcp6_give_up.unwrap_or(Duration::ZERO),
        ),
        ("ack_to_read", t.ack_to_read),
        ("probe_abort", t.probe_abort),
        ("probe_to_read", t.probe_to_read),
    ] {
        if !d.is_zero() {
            let _ = writeln!(y, "  {key}: {}", duration_text(d));
        }
    }
    if let Some(h) = &p.http4 {
        let _ = writeln!(y, "http4:");
        let _ = writeln!(y, "  option93: {}", h.arch_option93);
        let _ = writeln!(y, "  option60: {}", quoted(h.vendor_class));
        let _ = writeln!(y, "  option55: {}", list(h.param_request_list));
        let _ = writeln!(
            y,
            "  request_option57: {}",
            opt(h.request_max_msg_size, |v| v.to_string())
        );
    }
    dhcp6(&mut y, &p.pxe6);
    if let Some(h) = &p.http6 {
        let _ = writeln!(y, "http6:");
        let _ = writeln!(y, "  option61: {}", h.arch);
        let _ = writeln!(y, "  option16: {}", quoted(h.vendor_class));
        let _ = writeln!(y, "  solicit_at: {}", durations(h.solicit_at));
        let _ = writeln!(y, "  collect: {}", opt(h.collect, duration_text));
        let _ = writeln!(y, "  takes_proxy: {}", h.takes_proxy);
        if h.address_ready != p.pxe6.address_ready {
            let _ = writeln!(y, "  address_ready: {}", duration_text(h.address_ready));
        }
    }
    y
}

fn dhcp4(y: &mut String, m: &FirmwareModel) {
    let _ = writeln!(y, "dhcp4:");
    let _ = writeln!(y, "  discover: {}", list(m.options_order));
    let _ = writeln!(y, "  request: {}", list(m.request_options_order));
    let _ = writeln!(y, "  pxe_request: {}", list(m.pxe_request_options_order));
    let _ = writeln!(y, "  option93: {}", m.arch_option93);
    let _ = writeln!(y, "  option60: {}", quoted(m.vendor_class));
    let _ = writeln!(y, "  option94: {}", list(&m.client_ndi));
    let _ = writeln!(y, "  option55: {}", list(m.param_request_list));
    let _ = writeln!(y, "  option57: {}", opt(m.max_msg_size, |v| v.to_string()));
    let _ = writeln!(
        y,
        "  request_option57: {}",
        opt(m.request_max_msg_size, |v| v.to_string())
    );
    let _ = writeln!(y, "  option77: {}", opt(m.user_class, text_bytes));
    let _ = writeln!(
        y,
        "  option175: {}",
        opt(m.option175, |b| {
            let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            quoted(&hex.join(" "))
        })
    );
    let _ = writeln!(
        y,
        "  option97_without_guid: {}",
        if m.guid_zero_when_absent {
            "zeros"
        } else {
            "omit"
        }
    );
    let _ = writeln!(
        y,
        "  secs: {}",
        if m.sends_secs {
            "elapsed"
        } else {
            "ipxe-state"
        }
    );
    let _ = writeln!(y, "  broadcast: {}", m.broadcast_flag);
    let _ = writeln!(
        y,
        "  pxe_request_broadcast: {}",
        m.pxe_request_broadcast_flag
    );
    let _ = writeln!(y, "  pxe_request_source_port: {}", m.pxe_request_src_port);
    let rt: Vec<Duration> = m
        .retransmit
        .iter()
        .map(|s| Duration::from_secs(*s))
        .collect();
    let _ = writeln!(y, "  retransmit: {}", durations(&rt));
    if m.request_retransmit != super::REQUEST_RETRANSMIT {
        let rr: Vec<Duration> = m
            .request_retransmit
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect();
        let _ = writeln!(y, "  request_retransmit: {}", durations(&rr));
    }
    if m.pxe_request_retransmit != super::PXE_REQUEST_RETRANSMIT {
        let _ = writeln!(
            y,
            "  pxe_request_retransmit: {}",
            durations(m.pxe_request_retransmit)
        );
    }
    let _ = writeln!(
        y,
        "  proxy_offer_wait: {}",
        opt(m.proxy_offer_wait_secs, |s| duration_text(
            Duration::from_secs(s)
        ))
    );
    let _ = writeln!(
        y,
        "  selects_offer_at_timeout: {}",
        m.selects_offer_at_timeout
    );
}

fn dhcp6(y: &mut String, s: &Firmware6) {
    let _ = writeln!(y, "dhcp6:");
    let _ = writeln!(y, "  solicit: {}", list(s.solicit_order));
    let _ = writeln!(y, "  request: {}", list(s.request_order));
    let _ = writeln!(y, "  option61: {}", s.arch);
    let _ = writeln!(y, "  option16: {}", quoted(s.vendor_class));
    let _ = writeln!(y, "  option62: {}", list(&s.nii));
    let _ = writeln!(y, "  option6: {}", list(s.oro));
    let _ = writeln!(y, "  option15: {}", opt(s.user_class, text_bytes));
    let _ = writeln!(
        y,
        "  duid: {}",
        if s.duid_network_order {
            "uuid-network-order"
        } else {
            "uuid-as-option97"
        }
    );
    let _ = writeln!(y, "  ia_t1_t2: {}", s.solicit_t);
    let _ = writeln!(y, "  solicit_at: {}", durations(s.solicit_at));
    let _ = writeln!(y, "  give_up: {}", duration_text(s.give_up));
    let _ = writeln!(y, "  collect: {}", opt(s.collect, duration_text));
    let _ = writeln!(y, "  takes_proxy: {}", s.takes_proxy);
    if !s.route_wait.is_zero() {
        let _ = writeln!(y, "  route_wait: {}", duration_text(s.route_wait));
    }
    let _ = writeln!(y, "  address_ready: {}", duration_text(s.address_ready));
    let _ = writeln!(y, "  request_elapsed: {}", s.request_elapsed);
    let _ = writeln!(y, "  tftp_probe: {}", opt(s.tftp_probe, tftp));
    let _ = writeln!(y, "  tftp_options: {}", tftp(s.tftp_options));
}
