//! Reading a scenario file: YAML tree to checked [`Scenario`].

use crate::values::{
    check_name, parse_bool, parse_cidr, parse_cidr6, parse_duration, parse_range6, parse_rate,
    parse_ratio, parse_size, parse_u64,
};
use crate::yaml::{self, Kind, Node};
use crate::*;
use keys::*;
use pxelab_engine::exclusion::parse_exclusion_list;
use pxelab_engine::policy::{
    Arch, AvailableTo, BootImage, Collection, Deployment, HttpConfig, Machine, Purpose,
    ResponderConfig, Role, TftpCaps, DEFAULT_BOOT_IMAGE_SIZE, X64_UNKNOWN, X86_UNKNOWN,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;

mod boot_options;
mod event;
mod expect;
mod firmware;
pub(crate) mod keys;
mod network;
mod site;

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
                && !firmware::is_profile_file(&path)
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

/// Reading helpers that say where and why a value does not fit; the sections are read
/// by `site`, `network`, `event` and `expect`.
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
