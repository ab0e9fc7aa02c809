//! Reading a scenario file: YAML tree to checked [`Scenario`].

use crate::values::{
    check_name, parse_bool, parse_duration, parse_rate, parse_ratio, parse_size, parse_u64,
};
use crate::yaml::{self, Kind, Node};
use crate::*;
use pxelab_engine::exclusion::parse_exclusion_list;
use pxelab_engine::policy::{
    Arch, AvailableTo, BootImage, Collection, Deployment, HttpConfig, Machine, Purpose,
    ResponderConfig, Role, TftpCaps, DEFAULT_BOOT_IMAGE_SIZE, X64_UNKNOWN, X86_UNKNOWN,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;

type R<T> = Result<T, LoadError>;

/// Read and check one scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    load_str(&read(path)?, path)
}

/// Check a scenario given as text. `file` names it in messages, and relative paths in
/// it (`mac_exclusion_file`) are resolved against `file`'s directory.
pub fn load_str(text: &str, file: &Path) -> Result<Scenario, LoadError> {
    scenario_of(&tree(text, file)?, file)
}

/// Every error of one scenario file, for `pxelab check`: all its shape errors at once
/// (unknown and missing keys, malformed or unknown values: `shape.rs`) and the loader's
/// first error, which may be one of meaning (a reference to an undeclared name, an
/// address outside its segment...). Empty when the file loads.
pub fn check_file(path: &Path) -> Vec<LoadError> {
    let root = match read(path).and_then(|text| tree(&text, path)) {
        Ok(root) => root,
        Err(e) => return vec![e],
    };
    let Err(first) = scenario_of(&root, path) else {
        return Vec::new();
    };
    let mut errors = shape::shape_errors(&root, path);
    // Where both speak of one place, the loader's words (they name the kind of value).
    errors.retain(|e| (e.line, e.column) != (first.line, first.column));
    errors.push(first);
    errors.sort_by_key(|e| (e.line, e.column));
    errors
}

fn read(path: &Path) -> R<String> {
    std::fs::read_to_string(path).map_err(|e| LoadError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot read the scenario file: {e}"),
    })
}

/// The file's YAML tree; an empty file is an error.
fn tree(text: &str, file: &Path) -> R<Node> {
    let root = yaml::parse(text).map_err(|e| LoadError::at(file, e.line, e.col, e.message))?;
    root.ok_or_else(|| {
        LoadError::at(
            file,
            1,
            1,
            "the file is empty (expected a mapping with at least `scenario: <title>`)",
        )
    })
}

fn scenario_of(root: &Node, file: &Path) -> R<Scenario> {
    Cx {
        file,
        hosts: Names::new("host"),
    }
    .scenario(root)
}

/// The scenario files among `paths`: a file is taken as given; a directory is searched
/// recursively for `*.yaml` and `*.yml` files (directories whose names start with `.`
/// are skipped). The result is sorted and free of duplicates.
/// A `pxelab bench tftp` file (`scenarios/bench/`): a top-level `bench:` key and no
/// `scenario:` one. A directory walk leaves these out; named alone, a file is loaded as
/// a scenario whatever it holds (and says what is wrong with it).
pub fn is_bench_file(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let top = |key: &str| text.lines().any(|l| l.starts_with(key));
    top("bench:") && !top("scenario:")
}

pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
        let io = |e: std::io::Error| LoadError {
            file: dir.to_path_buf(),
            line: None,
            column: None,
            message: format!("cannot read the directory: {e}"),
        };
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if path.is_dir() {
                if !hidden {
                    walk(&path, out)?;
                }
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) && !is_bench_file(&path)
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(LoadError {
                file: p.clone(),
                line: None,
                column: None,
                message: "no such file or directory".into(),
            });
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Declared names of one kind, with where each was declared.
struct Names {
    kind: &'static str,
    seen: HashMap<String, (usize, usize)>,
    order: Vec<String>,
}

impl Names {
    fn new(kind: &'static str) -> Self {
        Names {
            kind,
            seen: HashMap::new(),
            order: Vec::new(),
        }
    }
    fn contains(&self, name: &str) -> bool {
        self.seen.contains_key(name)
    }
    /// Declare a name, or fail if it is already declared.
    fn declare(&mut self, file: &Path, n: &Node, name: &str) -> R<()> {
        if let Some((l, c)) = self.seen.get(name) {
            return Err(LoadError::at(
                file,
                n.line,
                n.col,
                format!(
                    "{} `{name}` is declared twice (first at line {l}, column {c})",
                    self.kind
                ),
            ));
        }
        self.seen.insert(name.to_string(), (n.line, n.col));
        self.order.push(name.to_string());
        Ok(())
    }

    /// "declared: a, b" or "none is declared".
    fn known(&self) -> String {
        if self.order.is_empty() {
            format!("no {} is declared", self.kind)
        } else {
            format!("declared: {}", self.order.join(", "))
        }
    }
}

/// A mapping whose keys were checked against an allowed list.
struct Obj<'n> {
    node: &'n Node,
    entries: &'n [(Node, Node)],
    what: String,
}

impl<'n> Obj<'n> {
    /// The value of `key`, unless absent or null.
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, v)| v).filter(|v| !v.is_null())
    }
    fn entry(&self, key: &str) -> Option<&'n (Node, Node)> {
        self.entries.iter().find(|(k, _)| k.scalar() == Some(key))
    }
}

struct Cx<'a> {
    file: &'a Path,
    /// Routers, DHCP servers, responders and clients share one namespace.
    hosts: Names,
}

/// Keys allowed in each place.
const TOP: &[&str] = &[
    "scenario",
    "description",
    "tags",
    "modes",
    "seed",
    "site",
    "network",
    "events",
    "expect",
];
const SITE: &[&str] = &[
    "code",
    "other_sites",
    "boot_images",
    "machines",
    "collections",
    "deployments",
    "duplicate_hardware_ids",
    "peer_key",
    "peer_key_file",
];
const IMAGE: &[&str] = &["id", "arch", "size", "pxe_enabled"];
const MACHINE: &[&str] = &["name", "mac", "smbios_guid", "assigned_site"];
const COLLECTION: &[&str] = &["name", "members"];
const DEPLOYMENT: &[&str] = &["id", "collection", "boot_image", "purpose", "available_to"];
const DUPLICATES: &[&str] = &["macs", "smbios_guids"];
const NETWORK: &[&str] = &[
    "segments",
    "routers",
    "dhcp_servers",
    "responders",
    "clients",
    "rogues",
];
const ROGUE: &[&str] = &["name", "segment", "address", "claims", "images", "peer_key"];
const SEGMENT: &[&str] = &["name", "cidr", "cidr6", "link"];
const LINK: &[&str] = &["rate", "delay", "loss"];
const ROUTER: &[&str] = &[
    "name",
    "interfaces",
    "ip_helpers",
    "option82",
    "relay",
    "interfaces6",
    "ip_helpers6",
    "interface_id6",
];
const OPTION82: &[&str] = &["circuit_id", "remote_id"];
const DHCP: &[&str] = &[
    "name",
    "segment",
    "address",
    "address6",
    "pools",
    "pools6",
    "option60_pxeclient",
    "engine",
];
const RESPONDER: &[&str] = &[
    "name",
    "segment",
    "address",
    "address6",
    "role",
    "site",
    "images",
    "unknown_computer_support",
    "listen_dhcp_port",
    "respond",
    "response_delay",
    "failover_step",
    "mac_exclusions",
    "mac_exclusion_file",
    "tftp",
    "http",
];
const TFTP: &[&str] = &["block_size", "window_size"];
/// v1.1: a responder's HTTP boot server (R-HTTP).
const HTTP: &[&str] = &["port"];
const CLIENT: &[&str] = &[
    "name",
    "segment",
    "firmware",
    "machine",
    "mac",
    "smbios_guid",
    "press_key",
    "netboot",
];
const EVENT: &[&str] = &[
    "at",
    "boot",
    "down",
    "up",
    "during",
    "clear_required",
    "link",
    "tftp_request",
    "reload_exclusions",
    "netboot",
];
const ACTIONS: &[&str] = &[
    "boot",
    "down",
    "up",
    "clear_required",
    "link",
    "tftp_request",
    "reload_exclusions",
];
/// Extension (REFERENCE.md): reload a responder's MAC exclusion list from a file.
const EVENT_RELOAD: &[&str] = &["responder", "file"];
/// Extension (REFERENCE.md): a one-off TFTP request at a responder.
const EVENT_TFTP: &[&str] = &["responder", "op", "file", "options"];
const EXPECT_TFTP: &[&str] = &[
    "tftp_request",
    "result",
    "error_code",
    "error_codes",
    "oack",
    "oack_absent",
];
const CLEAR: &[&str] = &["machine", "collection"];
const EVENT_LINK: &[&str] = &["segment", "rate", "delay", "loss"];
const EXPECT_BOOT: &[&str] = &[
    "client",
    "boot",
    "outcome",
    "boot_image",
    "deployment",
    "served_by",
    "within",
];
const EXPECT_LOG: &[&str] = &["responder", "logged"];

impl Cx<'_> {
    fn err(&self, n: &Node, msg: impl Into<String>) -> LoadError {
        LoadError::at(self.file, n.line, n.col, msg)
    }

    fn obj<'n>(&self, n: &'n Node, what: &str, allowed: &[&str]) -> R<Obj<'n>> {
        let Kind::Map(entries) = &n.kind else {
            return Err(self.err(
                n,
                format!(
                    "expected {what} (a mapping with keys {}), found {}",
                    allowed.join(", "),
                    n.describe()
                ),
            ));
        };
        for (k, _) in entries {
            let key = k.scalar().unwrap_or_default();
            if !allowed.contains(&key) {
                return Err(self.err(
                    k,
                    format!(
                        "unknown key `{key}` in {what} (allowed keys: {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(Obj {
            node: n,
            entries,
            what: what.to_string(),
        })
    }

    fn req<'n>(&self, o: &Obj<'n>, key: &str) -> R<&'n Node> {
        match o.entry(key) {
            None => Err(self.err(
                o.node,
                format!("{} is missing the required key `{key}`", o.what),
            )),
            Some((_, v)) if v.is_null() => {
                Err(self.err(v, format!("`{key}` in {} needs a value", o.what)))
            }
            Some((_, v)) => Ok(v),
        }
    }

    /// A list; a null is an empty list.
    fn list<'n>(&self, n: Option<&'n Node>, what: &str) -> R<&'n [Node]> {
        match n {
            None => Ok(&[]),
            Some(Node {
                kind: Kind::Seq(items),
                ..
            }) => Ok(items),
            Some(n) => Err(self.err(
                n,
                format!("expected {what} (a list), found {}", n.describe()),
            )),
        }
    }

    /// Entries of a mapping keyed by names; a null is an empty mapping.
    fn entries<'n>(&self, n: Option<&'n Node>, what: &str) -> R<&'n [(Node, Node)]> {
        match n {
            None => Ok(&[]),
            Some(Node {
                kind: Kind::Map(e), ..
            }) => Ok(e),
            Some(n) => Err(self.err(
                n,
                format!("expected {what} (a mapping), found {}", n.describe()),
            )),
        }
    }

    fn text(&self, n: &Node, what: &str) -> R<String> {
        match n.scalar() {
            Some(s) if !n.is_null() => Ok(s.to_string()),
            _ => Err(self.err(n, format!("expected {what}, found {}", n.describe()))),
        }
    }

    fn name(&self, n: &Node, what: &str) -> R<String> {
        let s = self.text(n, what)?;
        check_name(&s).map_err(|e| self.err(n, format!("{what}: {e}")))?;
        Ok(s)
    }

    fn value<T>(&self, n: &Node, what: &str, f: impl Fn(&str) -> Result<T, String>) -> R<T> {
        let s = self.text(n, what)?;
        f(&s).map_err(|e| self.err(n, format!("{what}: {e}")))
    }

    fn opt<T>(&self, o: &Obj, key: &str, f: impl Fn(&str) -> Result<T, String>) -> R<Option<T>> {
        o.get(key)
            .map(|n| self.value(n, &format!("`{key}`"), f))
            .transpose()
    }

    fn ip(&self, n: &Node, what: &str) -> R<Ipv4Addr> {
        self.value(n, what, |s| {
            Ipv4Addr::from_str(s).map_err(|_| {
                format!("`{s}` is not an IPv4 address (expected four numbers, like 10.10.0.5)")
            })
        })
    }

    fn choice<T: Copy>(&self, n: &Node, what: &str, options: &[(&str, T)]) -> R<T> {
        self.value(n, what, |s| {
            options
                .iter()
                .find(|(k, _)| *k == s)
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    let names: Vec<&str> = options.iter().map(|(k, _)| *k).collect();
                    format!(
                        "`{s}` is not allowed (expected one of {})",
                        names.join(", ")
                    )
                })
        })
    }

    /// R-ID-5: a reference to a primary site of the hierarchy (`site.code` or one of
    /// `site.other_sites`), for `key` (`assigned_site`, a responder's `site`).
    fn site_ref(&self, sn: &SiteNames, n: &Node, key: &str) -> R<String> {
        let s = self.text(n, &format!("a site code for `{key}`"))?;
        if !sn.sites.contains(&s) {
            let known = if sn.sites.order.is_empty() {
                "the scenario declares none: give `site.code`".to_string()
            } else {
                format!(
                    "the hierarchy's sites are `site.code` and `site.other_sites`: {}",
                    sn.sites.order.join(", ")
                )
            };
            return Err(self.err(
                n,
                format!("`{key}: {s}` is not a site of the hierarchy ({known})"),
            ));
        }
        Ok(s)
    }

    /// A reference to a declared name.
    fn refer(&self, names: &Names, n: &Node, what: &str) -> R<String> {
        let s = self.text(n, what)?;
        if !names.contains(&s) {
            return Err(self.err(
                n,
                format!(
                    "{what} `{s}` is not a declared {} ({})",
                    names.kind,
                    names.known()
                ),
            ));
        }
        Ok(s)
    }

    fn ip6(&self, n: &Node, what: &str) -> R<Ipv6Addr> {
        self.value(n, what, |s| {
            Ipv6Addr::from_str(s).map_err(|_| {
                format!("`{s}` is not an IPv6 address (expected, like 2001:db8:10::5)")
            })
        })
    }

    /// A server's `address` and `address6` (v1.1), with their nodes. On a segment with
    /// `cidr`, `address` is required (as in v1); on an IPv6-only one, `address6` is.
    #[allow(clippy::type_complexity)]
    fn addresses<'n>(
        &self,
        o: &Obj<'n>,
        segment: &str,
        has_cidr: bool,
        name: &str,
    ) -> R<(Option<(&'n Node, Ipv4Addr)>, Option<(&'n Node, Ipv6Addr)>)> {
        let address = match o.get("address") {
            Some(an) => Some((an, self.ip(an, "an address")?)),
            None if has_cidr => {
                self.req(o, "address")?;
                None
            }
            None => None,
        };
        let address6 = match o.get("address6") {
            Some(an) => Some((an, self.ip6(an, "an IPv6 address")?)),
            None if !has_cidr => {
                return Err(self.err(
                    o.node,
                    format!("`{name}` is on segment `{segment}`, which is IPv6 only (no `cidr`): give `address6`"),
                ))
            }
            None => None,
        };
        Ok((address, address6))
    }

    /// v1.1: a client may boot by `netboot` only if its firmware has that boot option
    /// (format page, firmware table; "the lab decides" is accepted) and its segment has
    /// the address family the option needs.
    fn netboot_fits(&self, at: &Node, c: &Client, netboot: Netboot, segments: &[Segment]) -> R<()> {
        if c.firmware.netboot(netboot) == NetbootSupport::No {
            let has: Vec<&str> = Netboot::ALL
                .into_iter()
                .filter(|n| c.firmware.netboot(*n) != NetbootSupport::No)
                .map(Netboot::as_str)
                .collect();
            return Err(self.err(
                at,
                format!(
                    "client `{}`: firmware {} has no network boot option {netboot} (it has {})",
                    c.name,
                    c.firmware.as_str(),
                    has.join(", ")
                ),
            ));
        }
        let seg = segments.iter().find(|s| s.name == c.segment);
        let (family_ok, missing) = if netboot.is_v6() {
            (
                seg.is_some_and(|s| s.cidr6.is_some()),
                "`cidr6` (IPv4 only)",
            )
        } else {
            (seg.is_some_and(|s| s.cidr.is_some()), "`cidr` (IPv6 only)")
        };
        if !family_ok {
            return Err(self.err(
                at,
                format!(
                    "client `{}` boots by {netboot}, but its segment `{}` has no {missing}",
                    c.name, c.segment
                ),
            ));
        }
        Ok(())
    }

    fn scenario(mut self, root: &Node) -> R<Scenario> {
        let top = self.obj(root, "the scenario", TOP)?;
        let title = self.text(self.req(&top, "scenario")?, "a title for `scenario`")?;
        let description = top
            .get("description")
            .map(|n| self.text(n, "a text for `description`"))
            .transpose()?;
        let mut tags = Vec::new();
        for t in self.list(top.get("tags"), "`tags`")? {
            tags.push(self.text(t, "a tag")?);
        }
        let modes = match top.get("modes") {
            None => vec![Mode::Sim],
            Some(n) => {
                let items = self.list(Some(n), "`modes`")?;
                if items.is_empty() {
                    return Err(self.err(n, "`modes` is empty (expected sim, lab or both)"));
                }
                let mut modes = Vec::new();
                for m in items {
                    let mode = self.choice(m, "mode", &[("sim", Mode::Sim), ("lab", Mode::Lab)])?;
                    if !modes.contains(&mode) {
                        modes.push(mode);
                    }
                }
                modes
            }
        };
        let seed = self.opt(&top, "seed", parse_u64)?.unwrap_or(0);

        let mut sn = SiteNames::default();
        let site = match top.get("site") {
            None => Site::default(),
            Some(n) => self.site(n, &mut sn)?,
        };
        let mut segs = Names::new("segment");
        let network = match top.get("network") {
            None => Network::default(),
            Some(n) => self.network(n, &site, &sn, &mut segs)?,
        };
        let mut events = Vec::new();
        for e in self.list(top.get("events"), "`events`")? {
            events.push(self.event(e, &network, &sn, &segs)?);
        }
        events.sort_by_key(|e| e.at);
        let mut s = Scenario {
            file: self.file.to_path_buf(),
            title,
            description,
            tags,
            modes,
            seed,
            site,
            network,
            events,
            expect: Vec::new(),
        };
        for e in self.list(top.get("expect"), "`expect`")? {
            let x = self.expect(e, &s, &sn)?;
            s.expect.push(x);
        }
        Ok(s)
    }

    fn site(&self, n: &Node, sn: &mut SiteNames) -> R<Site> {
        let o = self.obj(n, "`site`", SITE)?;
        let mut site = Site {
            code: o
                .get("code")
                .map(|c| self.text(c, "a site code"))
                .transpose()?
                .unwrap_or_default(),
            ..Site::default()
        };
        // R-ID-5: the primary sites of the hierarchy, the site's own first.
        if let Some((_, c)) = o.entry("code").filter(|_| !site.code.is_empty()) {
            sn.sites.declare(self.file, c, &site.code)?;
        }
        for other in self.list(o.get("other_sites"), "`other_sites`")? {
            let code = self.text(other, "a site code")?;
            if site.code.is_empty() {
                return Err(self.err(
                    other,
                    "`other_sites` needs the site's own `code` (machines and responders belong to it by default)",
                ));
            }
            if code == site.code {
                return Err(self.err(
                    other,
                    format!("`other_sites` lists `{code}`, which is this site's own `code`"),
                ));
            }
            sn.sites.declare(self.file, other, &code)?;
            site.other_sites.push(code);
        }
        for i in self.list(o.get("boot_images"), "`boot_images`")? {
            let b = self.obj(i, "a boot image", IMAGE)?;
            let idn = self.req(&b, "id")?;
            let id = self.name(idn, "boot image id")?;
            sn.images.declare(self.file, idn, &id)?;
            let arch = self.choice(
                self.req(&b, "arch")?,
                "`arch`",
                &[
                    ("x86", Arch::X86),
                    ("x64", Arch::X64),
                    ("arm64", Arch::Arm64),
                ],
            )?;
            site.boot_images.push(BootImage {
                id,
                arch,
                size: self
                    .opt(&b, "size", parse_size)?
                    .unwrap_or(DEFAULT_BOOT_IMAGE_SIZE),
                pxe_enabled: self.opt(&b, "pxe_enabled", parse_bool)?.unwrap_or(true),
            });
        }
        for m in self.list(o.get("machines"), "`machines`")? {
            let mo = self.obj(m, "a machine", MACHINE)?;
            let nn = self.req(&mo, "name")?;
            let name = self.name(nn, "machine name")?;
            sn.machines.declare(self.file, nn, &name)?;
            site.machines.push(Machine {
                name,
                mac: self.opt(&mo, "mac", mac)?,
                smbios_guid: self.opt(&mo, "smbios_guid", guid)?,
                assigned_site: mo
                    .get("assigned_site")
                    .map(|n| self.site_ref(sn, n, "assigned_site"))
                    .transpose()?,
            });
        }
        for c in self.list(o.get("collections"), "`collections`")? {
            let co = self.obj(c, "a collection", COLLECTION)?;
            let nn = self.req(&co, "name")?;
            let name = self.text(nn, "collection name")?;
            if name == X86_UNKNOWN || name == X64_UNKNOWN {
                return Err(self.err(
                    nn,
                    format!("`{name}` is built in and may not be declared; deployments name it directly"),
                ));
            }
            check_name(&name).map_err(|e| self.err(nn, format!("collection name: {e}")))?;
            sn.collections.declare(self.file, nn, &name)?;
            let mut members = Vec::new();
            for m in self.list(co.get("members"), "`members`")? {
                members.push(self.refer(&sn.machines, m, "member")?);
            }
            site.collections.push(Collection { name, members });
        }
        for d in self.list(o.get("deployments"), "`deployments`")? {
            let dobj = self.obj(d, "a deployment", DEPLOYMENT)?;
            let idn = self.req(&dobj, "id")?;
            let id = self.name(idn, "deployment id")?;
            sn.deployments.declare(self.file, idn, &id)?;
            let cn = self.req(&dobj, "collection")?;
            let collection = self.text(cn, "a collection name")?;
            if collection != X86_UNKNOWN
                && collection != X64_UNKNOWN
                && !sn.collections.contains(&collection)
            {
                return Err(self.err(
                    cn,
                    format!(
                        "collection `{collection}` is not declared ({}; built in: `{X86_UNKNOWN}`, `{X64_UNKNOWN}`)",
                        sn.collections.known()
                    ),
                ));
            }
            let boot_image =
                self.refer(&sn.images, self.req(&dobj, "boot_image")?, "boot image")?;
            let purpose = self.choice(
                self.req(&dobj, "purpose")?,
                "`purpose`",
                &[
                    ("required", Purpose::Required),
                    ("available", Purpose::Available),
                ],
            )?;
            let available_to = self.choice(
                self.req(&dobj, "available_to")?,
                "`available_to`",
                &[
                    ("clients_media_pxe", AvailableTo::ClientsMediaPxe),
                    ("media_pxe", AvailableTo::MediaPxe),
                    ("media_pxe_hidden", AvailableTo::MediaPxeHidden),
                    ("clients", AvailableTo::Clients),
                ],
            )?;
            site.deployments.push(Deployment {
                id,
                collection,
                boot_image,
                purpose,
                available_to,
            });
        }
        match (o.entry("peer_key"), o.get("peer_key_file")) {
            (Some((k, _)), Some(_)) => {
                return Err(self.err(
                    k,
                    "`site` has both `peer_key` and `peer_key_file`; give one of them",
                ))
            }
            (Some((_, v)), None) => {
                let text = self.text(v, "a peer key (a secret text)")?;
                sn.peer_key = Some(PeerKey::new(text.into_bytes()).ok_or_else(|| {
                    self.err(
                        v,
                        "`peer_key` is empty (an empty key authenticates nothing)",
                    )
                })?);
            }
            (None, Some(f)) => {
                let rel = self.text(f, "a file path")?;
                let path = self.file.parent().unwrap_or(Path::new("")).join(&rel);
                let bytes = std::fs::read(&path).map_err(|e| {
                    self.err(
                        f,
                        format!("cannot read peer_key_file `{}`: {e}", path.display()),
                    )
                })?;
                sn.peer_key = Some(PeerKey::new(bytes).ok_or_else(|| {
                    self.err(f, format!("peer_key_file `{}` is empty", path.display()))
                })?);
            }
            (None, None) => {}
        }
        if let Some(dn) = o.get("duplicate_hardware_ids") {
            let dup = self.obj(dn, "`duplicate_hardware_ids`", DUPLICATES)?;
            for m in self.list(dup.get("macs"), "`macs`")? {
                site.duplicate_macs.push(self.value(m, "MAC", mac)?);
            }
            for g in self.list(dup.get("smbios_guids"), "`smbios_guids`")? {
                site.duplicate_guids
                    .push(self.value(g, "SMBIOS GUID", guid)?);
            }
        }
        Ok(site)
    }

    fn network(&mut self, n: &Node, site: &Site, sn: &SiteNames, segs: &mut Names) -> R<Network> {
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
            let firmware =
                self.value(self.req(&co, "firmware")?, "`firmware`", Firmware::from_str)?;
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

    fn event(&self, n: &Node, net: &Network, sn: &SiteNames, segs: &Names) -> R<Event> {
        let o = self.obj(n, "an event", EVENT)?;
        let at = self.value(self.req(&o, "at")?, "`at`", parse_duration)?;
        let mut action: Option<&(Node, Node)> = None;
        for e in o.entries {
            let k = &e.0;
            let key = k.scalar().unwrap_or_default();
            if !ACTIONS.contains(&key) {
                continue;
            }
            if let Some((first, _)) = action {
                return Err(self.err(
                    k,
                    format!(
                        "an event has one action, this one has `{}` and `{key}`",
                        first.scalar().unwrap_or_default()
                    ),
                ));
            }
            action = Some(e);
        }
        let Some((k, v)) = action else {
            return Err(self.err(
                n,
                format!(
                    "an event needs an action (expected one of {})",
                    ACTIONS.join(", ")
                ),
            ));
        };
        let key = k.scalar().unwrap_or_default();
        if let Some((dk, _)) = o.entry("during") {
            if key != "down" {
                return Err(self.err(dk, "`during` goes only with `down`"));
            }
        }
        if let Some((nk, _)) = o.entry("netboot") {
            if key != "boot" {
                return Err(self.err(nk, "`netboot` goes only with `boot`"));
            }
        }
        let host = |what: &str| -> R<String> {
            let s = self.text(v, what)?;
            if !self.hosts.contains(&s) {
                return Err(self.err(
                    v,
                    format!("host `{s}` is not declared ({})", self.hosts.known()),
                ));
            }
            Ok(s)
        };
        let kind = match key {
            "boot" => {
                let s = self.text(v, "a client name")?;
                if !net.clients.iter().any(|c| c.name == s) {
                    let names: Vec<&str> = net.clients.iter().map(|c| c.name.as_str()).collect();
                    return Err(self.err(
                        v,
                        format!(
                            "`boot` names `{s}`, which is not a client (clients: {})",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    ));
                }
                let netboot = match o.get("netboot") {
                    None => None,
                    Some(nb) => {
                        let netboot = self.value(nb, "`netboot`", Netboot::from_str)?;
                        let c = net.clients.iter().find(|c| c.name == s).expect("checked");
                        self.netboot_fits(nb, c, netboot, &net.segments)?;
                        Some(netboot)
                    }
                };
                EventKind::Boot { client: s, netboot }
            }
            "down" => EventKind::Down {
                host: host("a host name")?,
                during_transfer: match o.get("during") {
                    None => false,
                    Some(d) => {
                        self.choice(d, "`during`", &[("transfer", ())])?;
                        true
                    }
                },
            },
            "up" => EventKind::Up {
                host: host("a host name")?,
            },
            "clear_required" => {
                let co = self.obj(v, "`clear_required`", CLEAR)?;
                match (co.entry("machine"), co.entry("collection")) {
                    (Some((_, m)), None) => {
                        ClearTarget::Machine(self.refer(&sn.machines, m, "machine")?)
                    }
                    (None, Some((_, c))) => {
                        let s = self.text(c, "a collection name")?;
                        if s != X86_UNKNOWN && s != X64_UNKNOWN && !sn.collections.contains(&s) {
                            return Err(self.err(
                                c,
                                format!(
                                    "collection `{s}` is not declared ({})",
                                    sn.collections.known()
                                ),
                            ));
                        }
                        ClearTarget::Collection(s)
                    }
                    _ => {
                        return Err(
                            self.err(v, "`clear_required` takes one of `machine` or `collection`")
                        )
                    }
                }
                .into()
            }
            "reload_exclusions" => {
                let ro = self.obj(v, "`reload_exclusions`", EVENT_RELOAD)?;
                let rn = self.req(&ro, "responder")?;
                let responder = self.text(rn, "a responder name")?;
                if !net.responders.iter().any(|r| r.config.name == responder) {
                    return Err(self.err(rn, format!("`{responder}` is not a responder")));
                }
                let fnode = self.req(&ro, "file")?;
                let rel = self.text(fnode, "a file path relative to the scenario")?;
                let path = self
                    .file
                    .parent()
                    .unwrap_or_else(|| Path::new("."))
                    .join(&rel);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    self.err(
                        fnode,
                        format!("cannot read exclusion file {}: {e}", path.display()),
                    )
                })?;
                // A bad file is not a scenario error: it is what the event tests (R-EX-1
                // keeps the previous list), so the error travels with the event.
                let macs = parse_exclusion_list(&text)
                    .map_err(|e| format!("{}:{}: {}", path.display(), e.line, e.message));
                EventKind::ReloadExclusions {
                    responder,
                    file: path,
                    macs,
                }
            }
            "tftp_request" => {
                let to = self.obj(v, "`tftp_request`", EVENT_TFTP)?;
                let rn = self.req(&to, "responder")?;
                let responder = self.text(rn, "a responder name")?;
                if !net.responders.iter().any(|r| r.config.name == responder) {
                    return Err(self.err(rn, format!("`{responder}` is not a responder")));
                }
                let write = match to.get("op") {
                    None => false,
                    Some(op) => self.choice(op, "`op`", &[("read", false), ("write", true)])?,
                };
                let file = self.text(self.req(&to, "file")?, "a file name")?;
                let mut options = Vec::new();
                if let Some(on) = to.get("options") {
                    let Kind::Map(entries) = &on.kind else {
                        return Err(
                            self.err(on, "`options` is a mapping of TFTP option names to values")
                        );
                    };
                    for (k, val) in entries {
                        options.push((
                            self.text(k, "an option name")?,
                            self.text(val, "an option value")?,
                        ));
                    }
                }
                EventKind::TftpRequest(TftpRequest {
                    responder,
                    write,
                    file,
                    options,
                })
            }
            _ => {
                let lo = self.obj(v, "`link`", EVENT_LINK)?;
                let segment = self.refer(segs, self.req(&lo, "segment")?, "segment")?;
                let rate_bps = self.opt(&lo, "rate", parse_rate)?;
                let delay = self.opt(&lo, "delay", parse_duration)?;
                let loss = self.opt(&lo, "loss", parse_ratio)?;
                if rate_bps.is_none() && delay.is_none() && loss.is_none() {
                    return Err(self.err(
                        v,
                        "`link` changes nothing (expected at least one of rate, delay, loss)",
                    ));
                }
                EventKind::Link {
                    segment,
                    rate_bps,
                    delay,
                    loss,
                }
            }
        };
        Ok(Event {
            at,
            kind,
            line: n.line,
        })
    }

    fn expect(&self, n: &Node, s: &Scenario, sn: &SiteNames) -> R<Expect> {
        let is_map = matches!(n.kind, Kind::Map(_));
        let probe = |k: &str| match &n.kind {
            Kind::Map(e) => e.iter().any(|(kk, _)| kk.scalar() == Some(k)),
            _ => false,
        };
        let responder_ref = |v: &Node, what: &str| -> R<String> {
            let r = self.text(v, what)?;
            if s.responder(&r).is_none() {
                let names: Vec<&str> = s
                    .network
                    .responders
                    .iter()
                    .map(|r| r.config.name.as_str())
                    .collect();
                return Err(self.err(
                    v,
                    format!(
                        "`{r}` is not a responder (responders: {})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            }
            Ok(r)
        };
        if is_map && probe("tftp_request") {
            let o = self.obj(n, "a tftp_request expectation", EXPECT_TFTP)?;
            let idx_node = self.req(&o, "tftp_request")?;
            let index = self.value(idx_node, "`tftp_request`", parse_u64)? as usize;
            let count = s
                .events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::TftpRequest(_)))
                .count();
            if index == 0 || index > count {
                return Err(self.err(
                    idx_node,
                    format!("`tftp_request: {index}` but the events hold {count} tftp_request(s) (counted from 1 in file order)"),
                ));
            }
            let result = o
                .get("result")
                .map(|v| {
                    self.choice(
                        v,
                        "`result`",
                        &[("error", "error"), ("oack", "oack"), ("data", "data")],
                    )
                })
                .transpose()?
                .map(str::to_string);
            let mut error_codes = Vec::new();
            if let Some(c) = o.get("error_code") {
                error_codes.push(self.value(c, "`error_code`", parse_u64)? as u16);
            }
            if o.get("error_codes").is_some() {
                for c in self.list(o.get("error_codes"), "`error_codes`")? {
                    error_codes.push(self.value(c, "an error code", parse_u64)? as u16);
                }
            }
            let mut oack = Vec::new();
            if let Some(on) = o.get("oack") {
                let Kind::Map(entries) = &on.kind else {
                    return Err(
                        self.err(on, "`oack` is a mapping of option names to expected values")
                    );
                };
                for (k, val) in entries {
                    oack.push((
                        self.text(k, "an option name")?,
                        self.text(val, "an option value")?,
                    ));
                }
            }
            let mut oack_absent = Vec::new();
            if o.get("oack_absent").is_some() {
                for k in self.list(o.get("oack_absent"), "`oack_absent`")? {
                    oack_absent.push(self.text(k, "an option name")?);
                }
            }
            return Ok(Expect::TftpRequest(TftpExpect {
                index,
                result,
                error_codes,
                oack,
                oack_absent,
                line: n.line,
            }));
        }
        if is_map && !probe("client") && probe("responder") {
            let o = self.obj(n, "a log expectation", EXPECT_LOG)?;
            let responder = responder_ref(self.req(&o, "responder")?, "a responder name")?;
            let logged = self.text(self.req(&o, "logged")?, "the text expected in the log")?;
            return Ok(Expect::Logged {
                responder,
                logged,
                line: n.line,
            });
        }
        if is_map && !probe("client") {
            return Err(self.err(
                n,
                "an expectation needs `client` (what a boot comes to) or `responder` (what a responder logged)",
            ));
        }
        let o = self.obj(n, "a boot expectation", EXPECT_BOOT)?;
        let cn = self.req(&o, "client")?;
        let client = self.text(cn, "a client name")?;
        if s.client(&client).is_none() {
            let names: Vec<&str> = s.network.clients.iter().map(|c| c.name.as_str()).collect();
            return Err(self.err(
                cn,
                format!(
                    "`{client}` is not a client (clients: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
        let boots = s.boot_count(&client);
        let boot = match o.get("boot") {
            None => 1,
            Some(b) => {
                let v = self.value(b, "`boot`", parse_u64)?;
                if v == 0 {
                    return Err(self.err(b, "`boot` counts from 1"));
                }
                u32::try_from(v).map_err(|_| self.err(b, "`boot` is too large"))?
            }
        };
        if boot as usize > boots {
            return Err(self.err(
                o.get("boot").unwrap_or(cn),
                format!(
                    "expectation for boot {boot} of client `{client}`, but `events` boot it {boots} time(s)"
                ),
            ));
        }
        let outcome = o
            .get("outcome")
            .map(|v| {
                self.choice(
                    v,
                    "`outcome`",
                    &[
                        ("booted", Outcome::Booted),
                        ("no_offer", Outcome::NoOffer),
                        ("declined", Outcome::Declined),
                        ("failed", Outcome::Failed),
                    ],
                )
            })
            .transpose()?;
        let boot_image = o
            .get("boot_image")
            .map(|v| self.refer(&sn.images, v, "boot image"))
            .transpose()?;
        let deployment = o
            .get("deployment")
            .map(|v| self.refer(&sn.deployments, v, "deployment"))
            .transpose()?;
        let served_by = match o.get("served_by") {
            None => None,
            Some(v) if matches!(v.kind, Kind::Seq(_)) => {
                let items = self.list(Some(v), "`served_by`")?;
                if items.is_empty() {
                    return Err(self.err(
                        v,
                        "`served_by` is an empty list (expected a responder or a list of them)",
                    ));
                }
                let mut out = Vec::new();
                for i in items {
                    out.push(responder_ref(i, "a responder name")?);
                }
                Some(out)
            }
            Some(v) => Some(vec![responder_ref(
                v,
                "a responder name or a list of them",
            )?]),
        };
        // No responder answered: there is no image, deployment or server to name.
        if outcome == Some(Outcome::NoOffer) {
            for key in ["boot_image", "deployment", "served_by"] {
                if let Some((k, _)) = o.entry(key).filter(|(_, v)| !v.is_null()) {
                    return Err(self.err(
                        k,
                        format!(
                            "`{key}` cannot hold with outcome no_offer (no responder answered)"
                        ),
                    ));
                }
            }
        }
        if let (Some(img), Some(dep)) = (&boot_image, &deployment) {
            let d = s
                .site
                .deployments
                .iter()
                .find(|d| d.id == *dep)
                .expect("declared");
            if d.boot_image != *img {
                return Err(self.err(
                    o.get("boot_image").unwrap_or(n),
                    format!(
                        "deployment `{dep}` uses boot image `{}`, not `{img}`; this can never hold",
                        d.boot_image
                    ),
                ));
            }
        }
        Ok(Expect::Boot(BootExpect {
            client,
            boot,
            outcome,
            boot_image,
            deployment,
            served_by,
            within: self.opt(&o, "within", parse_duration)?,
            line: n.line,
        }))
    }
}

impl From<ClearTarget> for EventKind {
    fn from(t: ClearTarget) -> Self {
        EventKind::ClearRequired(t)
    }
}

/// Names declared in `site`.
struct SiteNames {
    /// `site.peer_key` / `peer_key_file` (an extension): given to every responder.
    peer_key: Option<PeerKey>,
    /// `code` and `other_sites` (R-ID-5).
    sites: Names,
    images: Names,
    machines: Names,
    collections: Names,
    deployments: Names,
}

impl Default for SiteNames {
    fn default() -> Self {
        SiteNames {
            peer_key: None,
            sites: Names::new("site"),
            images: Names::new("boot image"),
            machines: Names::new("machine"),
            collections: Names::new("collection"),
            deployments: Names::new("deployment"),
        }
    }
}

fn mac(s: &str) -> Result<Mac, String> {
    Mac::from_str(s).map_err(|e| e.0)
}

fn guid(s: &str) -> Result<Guid, String> {
    Guid::from_str(s).map_err(|e| e.0)
}

/// `10.10.0.0/24`. Host bits may be set (`10.10.0.1/24`); they are cleared.
pub(crate) fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let bad = || format!("`{s}` is not a network (expected address/prefix, like 10.10.0.0/24)");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let addr = Ipv4Addr::from_str(a).map_err(|_| bad())?;
    if p.is_empty() || p.len() > 2 || !p.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let prefix: u8 = p.parse().map_err(|_| bad())?;
    if prefix > 32 {
        return Err(format!("`{s}`: the prefix length is at most 32"));
    }
    let c = Cidr { addr, prefix };
    Ok(Cidr {
        addr: Ipv4Addr::from(u32::from(addr) & u32::from(c.mask())),
        prefix,
    })
}

/// v1.1 `cidr6`: `2001:db8:10::/64`. Host bits may be set; they are cleared.
pub(crate) fn parse_cidr6(s: &str) -> Result<Cidr6, String> {
    let bad =
        || format!("`{s}` is not an IPv6 prefix (expected address/prefix, like 2001:db8:10::/64)");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let addr = Ipv6Addr::from_str(a).map_err(|_| bad())?;
    if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let prefix: u8 = p.parse().map_err(|_| bad())?;
    if prefix > 128 {
        return Err(format!("`{s}`: the prefix length is at most 128"));
    }
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    };
    Ok(Cidr6 {
        addr: Ipv6Addr::from(u128::from(addr) & mask),
        prefix,
    })
}

/// v1.1 `pools6`: `2001:db8:10::100-2001:db8:10::1ff`, inclusive.
pub(crate) fn parse_range6(s: &str) -> Result<(Ipv6Addr, Ipv6Addr), String> {
    let bad = || {
        format!("`{s}` is not an IPv6 address range (expected first-last, like 2001:db8:10::100-2001:db8:10::1ff)")
    };
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let a = Ipv6Addr::from_str(a.trim()).map_err(|_| bad())?;
    let b = Ipv6Addr::from_str(b.trim()).map_err(|_| bad())?;
    if a > b {
        return Err(format!("pool `{s}` starts after it ends"));
    }
    Ok((a, b))
}

/// The allowed keys of each place, for the JSON Schema (`schema.rs`), which is built
/// from these same lists.
pub(crate) mod keys {
    pub(crate) const TOP: &[&str] = super::TOP;
    pub(crate) const SITE: &[&str] = super::SITE;
    pub(crate) const IMAGE: &[&str] = super::IMAGE;
    pub(crate) const MACHINE: &[&str] = super::MACHINE;
    pub(crate) const COLLECTION: &[&str] = super::COLLECTION;
    pub(crate) const DEPLOYMENT: &[&str] = super::DEPLOYMENT;
    pub(crate) const DUPLICATES: &[&str] = super::DUPLICATES;
    pub(crate) const NETWORK: &[&str] = super::NETWORK;
    pub(crate) const ROGUE: &[&str] = super::ROGUE;
    pub(crate) const SEGMENT: &[&str] = super::SEGMENT;
    pub(crate) const LINK: &[&str] = super::LINK;
    pub(crate) const ROUTER: &[&str] = super::ROUTER;
    pub(crate) const OPTION82: &[&str] = super::OPTION82;
    pub(crate) const DHCP: &[&str] = super::DHCP;
    pub(crate) const RESPONDER: &[&str] = super::RESPONDER;
    pub(crate) const TFTP: &[&str] = super::TFTP;
    pub(crate) const HTTP: &[&str] = super::HTTP;
    pub(crate) const CLIENT: &[&str] = super::CLIENT;
    pub(crate) const EVENT: &[&str] = super::EVENT;
    pub(crate) const EVENT_RELOAD: &[&str] = super::EVENT_RELOAD;
    pub(crate) const EVENT_TFTP: &[&str] = super::EVENT_TFTP;
    pub(crate) const EXPECT_TFTP: &[&str] = super::EXPECT_TFTP;
    pub(crate) const CLEAR: &[&str] = super::CLEAR;
    pub(crate) const EVENT_LINK: &[&str] = super::EVENT_LINK;
    pub(crate) const EXPECT_BOOT: &[&str] = super::EXPECT_BOOT;
    pub(crate) const EXPECT_LOG: &[&str] = super::EXPECT_LOG;
}
