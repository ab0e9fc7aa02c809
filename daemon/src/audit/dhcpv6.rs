//! DHCPv6 on the segment: a server's Advertise, Reply or Relay-Reply from port 547 or
//! 4011, the server known by its DUID.

use super::*;

impl Audit {
    /// A DHCPv6 datagram from port 547 or 4011: a server's Advertise or Reply, or its
    /// Relay-Reply (the answer inside is the server's); anything else (a relay's
    /// Relay-Forward, a client's message) is skipped.
    pub(super) fn observe_dhcp6(
        &mut self,
        at: Duration,
        src: IpAddr,
        src_port: u16,
        mac: Option<String>,
        payload: &[u8],
    ) {
        let Ok(mut m) = Message6::decode(payload) else {
            self.malformed += 1;
            return;
        };
        let mut messages = Vec::new();
        let mut depth = 0;
        while m.msg_type() == dhcp6::msg::RELAY_REPL {
            messages.push("RELAY-REPLY");
            depth += 1;
            let inner = m
                .option(dhcp6::opt::RELAY_MSG)
                .map(|d| dhcp6::wire::decode_relayed(d, 0));
            match inner {
                Some(Ok(i)) if depth <= dhcp6::wire::HOP_COUNT_LIMIT => m = i,
                _ => {
                    self.malformed += 1;
                    return;
                }
            }
        }
        match m.msg_type() {
            dhcp6::msg::ADVERTISE => messages.push("ADVERTISE"),
            dhcp6::msg::REPLY => messages.push("REPLY"),
            _ => return,
        }
        let duid = m.option(dhcp6::opt::SERVERID).map(<[u8]>::to_vec);
        let key = ServerKey::V6(duid.clone().unwrap_or_else(|| match src {
            IpAddr::V6(a) => a.octets().to_vec(),
            IpAddr::V4(a) => a.octets().to_vec(),
        }));
        let named = self.named.as_ref().map(|n| {
            duid.as_ref()
                .and_then(|d| n.duids.get(d).cloned())
                .or_else(|| n.servers.get(&src).map(|(name, _)| name.clone()))
        });
        let named_here = self
            .named
            .as_ref()
            .and_then(|n| n.servers.get(&src))
            .map(|(name, _)| name.clone());
        let hex = duid.map(|d| d.iter().map(|b| format!("{b:02x}")).collect());
        let s = self.entry(key, src, hex, named, at);
        if src != s.server {
            s.via.insert(src);
        }
        // A server first seen from an address that is not named, later from one that is.
        if s.named.is_none() && named_here.is_some() {
            s.named = named_here;
            s.flagged = false;
        }
        s.ports.insert(src_port);
        if let Some(mac) = mac {
            s.macs.insert(mac);
        }
        s.messages.extend(messages.iter().map(|m| m.to_string()));
        // An IA_NA with an address in it: an address server.
        let ia_address = m.options().iter().any(|o| {
            o.code == dhcp6::opt::IA_NA
                && o.data.len() > 12
                && has_option(&o.data[12..], IA_ADDRESS)
        });
        s.kinds
            .insert(if ia_address { "dhcp" } else { "proxy" }.to_string());
        let url = m
            .option(dhcp6::opt::BOOTFILE_URL)
            .map(|u| String::from_utf8_lossy(u).into_owned());
        // Option 16: enterprise number (4 bytes), then length-prefixed class data.
        let class = m
            .option(dhcp6::opt::VENDOR_CLASS)
            .and_then(|v| v.get(6..))
            .unwrap_or_default();
        let lower = url.as_deref().unwrap_or_default().to_ascii_lowercase();
        if class.starts_with(b"PXEClient") || lower.starts_with("tftp://") {
            s.netboot.insert("pxe6".into());
        }
        if class.starts_with(b"HTTPClient") || lower.starts_with("http") {
            s.netboot.insert("http6".into());
        }
        if let Some(u) = url {
            s.boot_files.insert(u);
        }
    }
}

/// DHCPv6 option 5, IA Address (inside an IA_NA).
const IA_ADDRESS: u16 = 5;

/// Whether the DHCPv6 options in `b` (code, length, data...) hold one of `code`.
fn has_option(mut b: &[u8], code: u16) -> bool {
    while b.len() >= 4 {
        let c = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if c == code {
            return true;
        }
        b = b.get(4 + len..).unwrap_or_default();
    }
    false
}
