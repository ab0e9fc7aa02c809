//! The `network` section: segments, routers and relays, DHCP servers, responders,
//! rogue responders, clients.

use super::*;

impl Cx<'_> {
    pub(super) fn network(
        &mut self,
        n: &Node,
        site: &Site,
        sn: &SiteNames,
        segs: &mut Names,
    ) -> R<Network> {
        let o = self.obj(n, "`network`", NETWORK)?;
        let mut net = Network::default();
        for s in self.list(o.get("segments"), "`segments`")? {
            let so = self.obj(s, "a segment", SEGMENT)?;
            let nn = self.req(&so, "name")?;
            let name = self.name(nn, "segment name")?;
            segs.declare(self.file, nn, &name)?;
            let cidr = self.opt(&so, "cidr", parse_cidr)?;
            let cidr6 = self.opt(&so, "cidr6", parse_cidr6)?;
            if cidr.is_none() && cidr6.is_none() {
                return Err(self.err(
                    s,
                    format!("segment `{name}` needs `cidr`, `cidr6` or both (an IPv4 network, an IPv6 prefix)"),
                ));
            }
            let mut link = Link::default();
            if let Some(l) = so.get("link") {
                let lo = self.obj(l, "`link`", LINK)?;
                if let Some(r) = self.opt(&lo, "rate", parse_rate)? {
                    link.rate_bps = r;
                }
                if let Some(d) = self.opt(&lo, "delay", parse_duration)? {
                    link.delay = d;
                }
                if let Some(x) = self.opt(&lo, "loss", parse_ratio)? {
                    link.loss = x;
                }
            }
            net.segments.push(Segment {
                name,
                cidr,
                cidr6,
                link,
            });
        }
        let cidr_of = |name: &str| {
            net.segments
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.cidr)
        };
        let cidr6_of = |name: &str| {
            net.segments
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.cidr6)
        };
        // (address, host, segment) of hosts with fixed addresses, to catch clashes.
        let mut addrs: Vec<(IpAddr, String, String, &'static str)> = Vec::new();
        let in_segment = |cx: &Cx, n: &Node, ip: Ipv4Addr, seg: &str| -> R<()> {
            match cidr_of(seg) {
                Some(c) if c.contains(ip) => Ok(()),
                Some(c) => Err(cx.err(n, format!("address {ip} is outside segment `{seg}` ({c})"))),
                None => Err(cx.err(
                    n,
                    format!("address {ip} is on segment `{seg}`, which has no `cidr` (IPv6 only: give an IPv6 address)"),
                )),
            }
        };
        // v1.1: an IPv6 address of a host on `seg`, given under `key`.
        let in_segment6 = |cx: &Cx, n: &Node, ip: Ipv6Addr, seg: &str, key: &str| -> R<()> {
            match cidr6_of(seg) {
                Some(c) if c.contains(ip) => Ok(()),
                Some(c) => Err(cx.err(n, format!("address {ip} is outside segment `{seg}` ({c})"))),
                None => Err(cx.err(
                    n,
                    format!("`{key}` {ip} is on segment `{seg}`, which has no `cidr6` (IPv4 only)"),
                )),
            }
        };
        let clash = |cx: &Cx,
                     addrs: &[(IpAddr, String, String, &'static str)],
                     n: &Node,
                     ip: IpAddr,
                     me: &str,
                     kind: &'static str,
                     seg: &str|
         -> R<()> {
            for (a, host, hseg, hkind) in addrs {
                if *a != ip {
                    continue;
                }
                let shared = (kind == "responder" && *hkind == "dhcp server")
                    || (kind == "dhcp server" && *hkind == "responder");
                if shared && hseg == seg {
                    continue;
                }
                let why = if shared {
                    " (a responder may share a DHCP server's address only on the same segment)"
                } else {
                    ""
                };
                return Err(cx.err(
                    n,
                    format!(
                        "address {ip} of `{me}` is already the address of {hkind} `{host}`{why}"
                    ),
                ));
            }
            Ok(())
        };

        for r in self.list(o.get("routers"), "`routers`")? {
            let ro = self.obj(r, "a router", ROUTER)?;
            let nn = self.req(&ro, "name")?;
            let name = self.name(nn, "router name")?;
            self.hosts.declare(self.file, nn, &name)?;
            let mut router = Router {
                name: name.clone(),
                interfaces: Vec::new(),
                ip_helpers: Vec::new(),
                option82: Vec::new(),
                relay: RelayEngine::default(),
                interfaces6: Vec::new(),
                ip_helpers6: Vec::new(),
                interface_id6: Vec::new(),
            };
            if ro.get("interfaces").is_none() && ro.get("interfaces6").is_none() {
                return Err(self.err(
                    r,
                    format!("router `{name}` needs `interfaces`, `interfaces6` or both (segment: address)"),
                ));
            }
            for (k, v) in self.entries(ro.get("interfaces"), "`interfaces`, segment: address")? {
                let seg = self.refer(segs, k, "interface segment")?;
                let ip = self.ip(v, "an interface address")?;
                in_segment(self, v, ip, &seg)?;
                clash(self, &addrs, v, ip.into(), &name, "router", &seg)?;
                addrs.push((ip.into(), name.clone(), seg.clone(), "router"));
                router.interfaces.push((seg, ip));
            }
            for (k, v) in self.entries(
                ro.get("interfaces6"),
                "`interfaces6`, segment: IPv6 address",
            )? {
                let seg = self.refer(segs, k, "interface segment")?;
                let ip = self.ip6(v, "an interface address")?;
                in_segment6(self, v, ip, &seg, "interfaces6")?;
                clash(self, &addrs, v, ip.into(), &name, "router", &seg)?;
                addrs.push((ip.into(), name.clone(), seg.clone(), "router"));
                router.interfaces6.push((seg, ip));
            }
            // v1.1: DHCPv6 relaying from a segment needs IPv6 there and an IPv6
            // interface of this router on it.
            let on_router6 = |cx: &Cx, k: &Node, key: &str| -> R<String> {
                let seg = cx.refer(segs, k, &format!("`{key}` segment"))?;
                if cidr6_of(&seg).is_none() {
                    return Err(cx.err(
                        k,
                        format!("`{key}` for segment `{seg}`, which has no `cidr6` (DHCPv6 relaying needs IPv6 on the segment)"),
                    ));
                }
                if !router.interfaces6.iter().any(|(s, _)| *s == seg) {
                    return Err(cx.err(
                        k,
                        format!("router `{name}` has no IPv6 interface on segment `{seg}` (give it in `interfaces6`)"),
                    ));
                }
                Ok(seg)
            };
            let mut helpers6 = Vec::new();
            for (k, v) in self.entries(
                ro.get("ip_helpers6"),
                "`ip_helpers6`, segment: [IPv6 addresses]",
            )? {
                let seg = on_router6(self, k, "ip_helpers6")?;
                let mut targets = Vec::new();
                for a in self.list(Some(v), "DHCPv6 relay destinations")? {
                    targets.push(self.ip6(a, "a DHCPv6 relay destination")?);
                }
                helpers6.push((seg, targets));
            }
            let mut ids6 = Vec::new();
            for (k, v) in self.entries(
                ro.get("interface_id6"),
                "`interface_id6`, segment: Interface-ID",
            )? {
                let seg = on_router6(self, k, "interface_id6")?;
                if !helpers6.iter().any(|(s, _)| *s == seg) {
                    return Err(self.err(
                        k,
                        format!("`interface_id6` for segment `{seg}`, but router `{name}` relays nothing from it (no `ip_helpers6` entry)"),
                    ));
                }
                let id = self.text(v, "an Interface-ID (text)")?;
                if id.is_empty() {
                    return Err(self.err(
                        v,
                        "`interface_id6` is empty (RFC 8415 option 18 holds at least one byte)",
                    ));
                }
                ids6.push((seg, id));
            }
            let on_router = |cx: &Cx, k: &Node, what: &str| -> R<String> {
                let seg = cx.refer(segs, k, what)?;
                if !router.interfaces.iter().any(|(s, _)| *s == seg) {
                    return Err(cx.err(
                        k,
                        format!("router `{name}` has no interface on segment `{seg}`"),
                    ));
                }
                Ok(seg)
            };
            let mut helpers = Vec::new();
            for (k, v) in
                self.entries(ro.get("ip_helpers"), "`ip_helpers`, segment: [addresses]")?
            {
                let seg = on_router(self, k, "IP helper segment")?;
                let mut targets = Vec::new();
                for a in self.list(Some(v), "relay target addresses")? {
                    targets.push(self.ip(a, "a relay target address")?);
                }
                helpers.push((seg, targets));
            }
            let mut o82 = Vec::new();
            for (k, v) in self.entries(
                ro.get("option82"),
                "`option82`, segment: {circuit_id, remote_id}",
            )? {
                let seg = on_router(self, k, "option 82 segment")?;
                let oo = self.obj(v, "option 82", OPTION82)?;
                o82.push((
                    seg,
                    Option82 {
                        circuit_id: oo
                            .get("circuit_id")
                            .map(|n| self.text(n, "a circuit id"))
                            .transpose()?,
                        remote_id: oo
                            .get("remote_id")
                            .map(|n| self.text(n, "a remote id"))
                            .transpose()?,
                    },
                ));
            }
            router.ip_helpers = helpers;
            router.option82 = o82;
            router.ip_helpers6 = helpers6;
            router.interface_id6 = ids6;
            if let Some(e) = ro.get("relay") {
                router.relay = self.choice(
                    e,
                    "`relay`",
                    &[
                        ("pxelab", RelayEngine::Pxelab),
                        ("dhcrelay", RelayEngine::Dhcrelay),
                    ],
                )?;
            }
            net.routers.push(router);
        }

        for d in self.list(o.get("dhcp_servers"), "`dhcp_servers`")? {
            let dobj = self.obj(d, "a DHCP server", DHCP)?;
            let nn = self.req(&dobj, "name")?;
            let name = self.name(nn, "DHCP server name")?;
            self.hosts.declare(self.file, nn, &name)?;
            let segment = self.refer(segs, self.req(&dobj, "segment")?, "segment")?;
            let (address, address6) =
                self.addresses(&dobj, &segment, cidr_of(&segment).is_some(), &name)?;
            if let Some((an, ip)) = address {
                in_segment(self, an, ip, &segment)?;
                clash(self, &addrs, an, ip.into(), &name, "dhcp server", &segment)?;
                addrs.push((ip.into(), name.clone(), segment.clone(), "dhcp server"));
            }
            if let Some((an, ip)) = address6 {
                in_segment6(self, an, ip, &segment, "address6")?;
                clash(self, &addrs, an, ip.into(), &name, "dhcp server", &segment)?;
                addrs.push((ip.into(), name.clone(), segment.clone(), "dhcp server"));
            }
            let address = address.map_or(Ipv4Addr::UNSPECIFIED, |(_, ip)| ip);
            let address6 = address6.map(|(_, ip)| ip);
            let mut pools = Vec::new();
            for (k, v) in self.entries(dobj.get("pools"), "`pools`, segment: first-last")? {
                let seg = self.refer(segs, k, "pool segment")?;
                let (a, b) = self.value(v, "a pool", |s| {
                    let bad = || {
                        format!("`{s}` is not an address range (expected first-last, like 10.20.0.100-10.20.0.199)")
                    };
                    let (a, b) = s.split_once('-').ok_or_else(bad)?;
                    let a = Ipv4Addr::from_str(a.trim()).map_err(|_| bad())?;
                    let b = Ipv4Addr::from_str(b.trim()).map_err(|_| bad())?;
                    if a > b {
                        return Err(format!("pool `{s}` starts after it ends"));
                    }
                    Ok((a, b))
                })?;
                match cidr_of(&seg) {
                    Some(c) if c.contains(a) && c.contains(b) => {}
                    Some(c) => {
                        return Err(self.err(
                            v,
                            format!("pool {a}-{b} is not inside segment `{seg}` ({c})"),
                        ))
                    }
                    None => {
                        return Err(self.err(
                            k,
                            format!("`pools` for segment `{seg}`, which has no `cidr` (IPv6 only: use `pools6`)"),
                        ))
                    }
                }
                pools.push((seg, a, b));
            }
            let mut pools6 = Vec::new();
            for (k, v) in self.entries(dobj.get("pools6"), "`pools6`, segment: first-last")? {
                let seg = self.refer(segs, k, "pool segment")?;
                let Some(c) = cidr6_of(&seg) else {
                    return Err(self.err(
                        k,
                        format!("`pools6` for segment `{seg}`, which has no `cidr6` (IPv4 only: use `pools`)"),
                    ));
                };
                let (a, b) = self.value(v, "a pool", parse_range6)?;
                if !c.contains(a) || !c.contains(b) {
                    return Err(self.err(
                        v,
                        format!("pool {a}-{b} is not inside segment `{seg}` ({c})"),
                    ));
                }
                pools6.push((seg, a, b));
            }
            if address6.is_none() {
                if let Some((k, _)) = dobj.entry("pools6").filter(|_| !pools6.is_empty()) {
                    return Err(self.err(
                        k,
                        format!("DHCP server `{name}` has `pools6` but no `address6` (a DHCPv6 server needs an IPv6 address)"),
                    ));
                }
            }
            net.dhcp_servers.push(DhcpServer {
                name,
                segment,
                address,
                pools,
                address6,
                pools6,
                option60_pxeclient: self
                    .opt(&dobj, "option60_pxeclient", parse_bool)?
                    .unwrap_or(false),
                boot_file: self.dhcp_boot_file(&dobj)?,
                engine: match dobj.get("engine") {
                    None => DhcpEngine::Builtin,
                    Some(e) => self.choice(
                        e,
                        "`engine`",
                        &[
                            ("builtin", DhcpEngine::Builtin),
                            ("dnsmasq", DhcpEngine::Dnsmasq),
                            ("kea", DhcpEngine::Kea),
                        ],
                    )?,
                },
            });
        }

        for r in self.list(o.get("responders"), "`responders`")? {
            let ro = self.obj(r, "a responder", RESPONDER)?;
            let nn = self.req(&ro, "name")?;
            let name = self.name(nn, "responder name")?;
            self.hosts.declare(self.file, nn, &name)?;
            let segment = self.refer(segs, self.req(&ro, "segment")?, "segment")?;
            let (address, address6) =
                self.addresses(&ro, &segment, cidr_of(&segment).is_some(), &name)?;
            if let Some((an, ip)) = address {
                in_segment(self, an, ip, &segment)?;
                clash(self, &addrs, an, ip.into(), &name, "responder", &segment)?;
                addrs.push((ip.into(), name.clone(), segment.clone(), "responder"));
            }
            if let Some((an, ip)) = address6 {
                in_segment6(self, an, ip, &segment, "address6")?;
                clash(self, &addrs, an, ip.into(), &name, "responder", &segment)?;
                addrs.push((ip.into(), name.clone(), segment.clone(), "responder"));
            }
            let address = address.map_or(Ipv4Addr::UNSPECIFIED, |(_, ip)| ip);
            let role = self.choice(
                self.req(&ro, "role")?,
                "`role`",
                &[
                    ("distribution_point", Role::DistributionPoint),
                    ("peer", Role::Peer),
                ],
            )?;
            let mut cfg = ResponderConfig::new(&name, address, role);
            cfg.address6 = address6.map(|(_, ip)| ip);
            if let Some(h) = ro.get("http") {
                let ho = self.obj(h, "`http`", HTTP)?;
                let mut http = HttpConfig::default();
                if let Some(n) = ho.get("port") {
                    http.port = self.value(n, "`port`", |s| {
                        let v = parse_u64(s)?;
                        u16::try_from(v).ok().filter(|v| *v >= 1).ok_or_else(|| {
                            format!("{v} is out of range (expected a TCP port, 1 to 65535)")
                        })
                    })?;
                }
                cfg.http = Some(http);
            }
            cfg.site = ro
                .get("site")
                .map(|n| self.site_ref(sn, n, "site"))
                .transpose()?;
            if role == Role::Peer {
                cfg.peer_key = sn.peer_key.clone();
            }
            for i in self.list(ro.get("images"), "`images`")? {
                cfg.images.push(self.refer(&sn.images, i, "image")?);
            }
            if let Some(v) = self.opt(&ro, "unknown_computer_support", parse_bool)? {
                cfg.unknown_computer_support = v;
            }
            if let Some(v) = self.opt(&ro, "listen_dhcp_port", parse_bool)? {
                cfg.listen_dhcp_port = v;
            }
            if let Some(v) = self.opt(&ro, "respond", parse_bool)? {
                cfg.respond = v;
            }
            if let Some(v) = self.opt(&ro, "response_delay", parse_duration)? {
                cfg.response_delay = v;
            }
            if let Some(v) = self.opt(&ro, "failover_step", parse_duration)? {
                cfg.failover_step = v;
            }
            let mut exclusion_file = None;
            let inline = ro.entry("mac_exclusions").filter(|(_, v)| !v.is_null());
            match (inline, ro.get("mac_exclusion_file")) {
                (Some((k, _)), Some(_)) => {
                    return Err(self.err(
                        k,
                        format!("responder `{name}` has both `mac_exclusions` and `mac_exclusion_file`; give one of them"),
                    ))
                }
                (Some((_, v)), None) => {
                    for m in self.list(Some(v), "`mac_exclusions`")? {
                        cfg.mac_exclusions.push(self.value(m, "MAC", mac)?);
                    }
                }
                (None, Some(f)) => {
                    let rel = self.text(f, "a file path")?;
                    let base = self.file.parent().unwrap_or(Path::new(""));
                    let path = base.join(&rel);
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        self.err(
                            f,
                            format!("cannot read mac_exclusion_file `{}`: {e}", path.display()),
                        )
                    })?;
                    cfg.mac_exclusions = parse_exclusion_list(&text).map_err(|e| LoadError {
                        file: path.clone(),
                        line: Some(e.line),
                        column: None,
                        message: format!(
                            "{} (R-EX-1; mac_exclusion_file of responder `{name}`, given at {}:{}:{})",
                            e.message,
                            self.file.display(),
                            f.line,
                            f.col
                        ),
                    })?;
                    exclusion_file = Some(path);
                }
                (None, None) => {}
            }
            if let Some(t) = ro.get("tftp") {
                let to = self.obj(t, "`tftp`", TFTP)?;
                let mut caps = TftpCaps::default();
                if let Some(n) = to.get("block_size") {
                    caps.block_size = self.value(n, "`block_size`", |s| {
                        let v = parse_u64(s)?;
                        u16::try_from(v)
                            .ok()
                            .filter(|v| (8..=65464).contains(v))
                            .ok_or_else(|| {
                                format!("{v} is out of range (expected 8 to 65464, RFC 2348)")
                            })
                    })?;
                }
                if let Some(n) = to.get("window_size") {
                    caps.window_size = self.value(n, "`window_size`", |s| {
                        let v = parse_u64(s)?;
                        u16::try_from(v).ok().filter(|v| *v >= 1).ok_or_else(|| {
                            format!("{v} is out of range (expected 1 to 65535, RFC 7440)")
                        })
                    })?;
                }
                cfg.tftp = caps;
            }
            cfg.proxy_option43 = self.option43(&ro)?;
            net.responders.push(Responder {
                config: cfg,
                segment,
                mac_exclusion_file: exclusion_file,
            });
        }

        for r in self.list(o.get("rogues"), "`rogues`")? {
            let ro = self.obj(r, "a rogue", ROGUE)?;
            let nn = self.req(&ro, "name")?;
            let name = self.name(nn, "rogue name")?;
            self.hosts.declare(self.file, nn, &name)?;
            let segment = self.refer(segs, self.req(&ro, "segment")?, "segment")?;
            let an = self.req(&ro, "address")?;
            let address = self.ip(an, "an address")?;
            in_segment(self, an, address, &segment)?;
            clash(self, &addrs, an, address.into(), &name, "rogue", &segment)?;
            addrs.push((address.into(), name.clone(), segment.clone(), "rogue"));
            let claims = match ro.get("claims") {
                Some(c) => self.name(c, "the peer name it claims")?,
                None => name.clone(),
            };
            let mut images = Vec::new();
            for i in self.list(ro.get("images"), "`images`")? {
                images.push(self.refer(&sn.images, i, "image")?);
            }
            let peer_key = match ro.get("peer_key") {
                None => None,
                Some(v) => Some(
                    PeerKey::new(self.text(v, "a peer key (a secret text)")?.into_bytes())
                        .ok_or_else(|| self.err(v, "`peer_key` is empty; leave it out for none"))?,
                ),
            };
            net.rogues.push(Rogue {
                name,
                segment,
                address,
                claims,
                images,
                peer_key,
            });
        }

        for c in self.list(o.get("clients"), "`clients`")? {
            let co = self.obj(c, "a client", CLIENT)?;
            let nn = self.req(&co, "name")?;
            let name = self.name(nn, "client name")?;
            self.hosts.declare(self.file, nn, &name)?;
            let segment = self.refer(segs, self.req(&co, "segment")?, "segment")?;
            let (firmware, profile) = self.firmware(self.req(&co, "firmware")?)?;
            let given_mac = self.opt(&co, "mac", mac)?;
            let given_guid = self.opt(&co, "smbios_guid", guid)?;
            let (machine, mut the_mac, mut the_guid) = (None, given_mac, given_guid);
            let machine = match co.get("machine") {
                None => machine,
                Some(mn) => {
                    let m = self.refer(&sn.machines, mn, "machine")?;
                    let rec = site.machine(&m).expect("declared machine");
                    if let (Some(a), Some(b)) = (given_mac, rec.mac) {
                        if a != b {
                            return Err(self.err(
                                co.get("mac").unwrap_or(mn),
                                format!("client `{name}` gives mac {a} but its machine `{m}` has mac {b}; leave `mac` out to take the machine's, or name no machine"),
                            ));
                        }
                    }
                    if let (Some(a), Some(b)) = (given_guid, rec.smbios_guid) {
                        if a != b {
                            return Err(self.err(
                                co.get("smbios_guid").unwrap_or(mn),
                                format!("client `{name}` gives smbios_guid {a} but its machine `{m}` has {b}; leave `smbios_guid` out to take the machine's, or name no machine"),
                            ));
                        }
                    }
                    the_mac = the_mac.or(rec.mac);
                    the_guid = the_guid.or(rec.smbios_guid);
                    Some(m)
                }
            };
            let Some(the_mac) = the_mac else {
                return Err(self.err(
                    co.node,
                    format!("client `{name}` has no MAC (give `mac`, or a `machine` that has one)"),
                ));
            };
            let netboot_node = co.get("netboot");
            let netboot = match netboot_node {
                None => Netboot::default(),
                Some(n) => self.value(n, "`netboot`", Netboot::from_str)?,
            };
            let client = Client {
                name,
                segment,
                firmware,
                profile,
                machine,
                mac: the_mac,
                smbios_guid: the_guid,
                press_key: self.opt(&co, "press_key", parse_bool)?.unwrap_or(false),
                netboot,
            };
            let at = netboot_node.or(co.get("segment")).unwrap_or(c);
            self.netboot_fits(at, &client, netboot, &net.segments)?;
            net.clients.push(client);
        }
        Ok(net)
    }
}
