//! The TFTP servers and clients the bench runs, and where their programs are found.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Server {
    Pxelab,
    Atftpd,
    TftpdHpa,
    Dnsmasq,
    /// `pxelab serve`'s HTTP server (R-HTTP-2), the same file over HTTP on TCP 80.
    PxelabHttp,
    /// lighttpd serving the boot root on TCP 80.
    Lighttpd,
}

impl Server {
    pub const ALL: [Server; 6] = [
        Server::Pxelab,
        Server::Atftpd,
        Server::TftpdHpa,
        Server::Dnsmasq,
        Server::PxelabHttp,
        Server::Lighttpd,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Server::Pxelab => "pxelab",
            Server::Atftpd => "atftpd",
            Server::TftpdHpa => "tftpd-hpa",
            Server::Dnsmasq => "dnsmasq",
            Server::PxelabHttp => "pxelab-http",
            Server::Lighttpd => "lighttpd",
        }
    }
    /// An HTTP server: its points are one download by curl per link, with no block or
    /// window size (TCP's own).
    pub fn is_http(self) -> bool {
        matches!(self, Server::PxelabHttp | Server::Lighttpd)
    }
    pub fn parse(s: &str) -> Result<Server, String> {
        Server::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                format!("unknown server `{s}`; the servers are pxelab, atftpd, tftpd-hpa, dnsmasq, pxelab-http, lighttpd")
            })
    }
    /// The program and the Debian package it comes from.
    pub fn program(self) -> Option<(&'static str, &'static str)> {
        match self {
            Server::Pxelab | Server::PxelabHttp => None,
            Server::Atftpd => Some(("atftpd", "atftpd")),
            Server::TftpdHpa => Some(("in.tftpd", "tftpd-hpa")),
            Server::Dnsmasq => Some(("dnsmasq", "dnsmasq-base")),
            Server::Lighttpd => Some(("lighttpd", "lighttpd")),
        }
    }
    /// The RFC 7440 window size option: which servers grant it.
    pub fn speaks_windowsize(self) -> bool {
        matches!(self, Server::Pxelab | Server::Atftpd)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Client {
    Pxelab,
    Atftp,
    /// OVMF (x64) itself, under QEMU TCG on the switch: its PXE download of the file
    /// as a boot program, with its own options (blksize 1468, windowsize 4, tsize).
    Ovmf,
    /// iPXE (SeaBIOS, the e1000 option ROM) itself: blksize 1432, tsize.
    Ipxe,
}

impl Client {
    pub const ALL: [Client; 4] = [Client::Pxelab, Client::Atftp, Client::Ovmf, Client::Ipxe];
    pub fn name(self) -> &'static str {
        match self {
            Client::Pxelab => "pxelab",
            Client::Atftp => "atftp",
            Client::Ovmf => "ovmf",
            Client::Ipxe => "ipxe",
        }
    }
    pub fn parse(s: &str) -> Result<Client, String> {
        Client::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                format!("unknown client `{s}`; the clients are pxelab, atftp, ovmf, ipxe")
            })
    }
    /// A firmware client asks for its own block and window size whatever the matrix
    /// says: the one point it measures.
    pub fn fixed_point(self) -> Option<(u16, u16)> {
        match self {
            Client::Ovmf => Some((1468, 4)),
            Client::Ipxe => Some((1432, 1)),
            _ => None,
        }
    }
    pub(super) fn firmware(self) -> Option<pxelab_scenario::Firmware> {
        match self {
            Client::Ovmf => Some(pxelab_scenario::Firmware::UefiX64),
            Client::Ipxe => Some(pxelab_scenario::Firmware::BiosX64),
            _ => None,
        }
    }
}

/// Where atftpd and tftpd-hpa are unpacked when they are not installed: Debian's two
/// packages conflict (both are `tftpd`), so `scripts/tftp-servers.sh` unpacks their
/// .debs (`apt-get download`, `dpkg-deb -x`) here instead of installing them.
pub const TOOLS_DIR: &str = "/var/cache/pxelab/tools";

/// dnsmasq's flags for every instance the benches and tests start: in the foreground,
/// no configuration file, no DNS, as root.
pub const DNSMASQ_BASE: [&str; 5] = [
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--port=0",
    "--user=root",
    "--group=root",
];

/// A program on PATH, in /usr/sbin or /sbin, or unpacked under [`TOOLS_DIR`].
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin"].iter().map(PathBuf::from));
    let tools = std::env::var_os("PXELAB_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(TOOLS_DIR));
    dirs.push(tools.join("usr/sbin"));
    dirs.push(tools.join("usr/bin"));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// What the lab bench lacks for these servers and clients: one line each, naming the
/// Debian package.
pub fn missing(servers: &[Server], clients: &[Client]) -> Vec<String> {
    let mut out = Vec::new();
    if !pxelab_system::process::is_root() {
        out.push("root (network namespaces and tap devices): run with sudo".to_string());
    }
    if find_program("ip").is_none() {
        out.push("`ip`: apt-get install iproute2".into());
    }
    for s in servers {
        if let Some((prog, pkg)) = s.program() {
            if find_program(prog).is_none() {
                let how = match s {
                    Server::Atftpd | Server::TftpdHpa => format!(
                        "scripts/tftp-servers.sh (unpacks Debian's {pkg}; atftpd and tftpd-hpa conflict as packages)"
                    ),
                    _ => format!("apt-get install {pkg}"),
                };
                out.push(format!("`{prog}` ({} server): {how}", s.name()));
            }
        }
    }
    if servers.iter().any(|s| s.is_http()) && find_program("curl").is_none() {
        out.push("`curl` (the HTTP points' client): apt-get install curl".into());
    }
    if clients.contains(&Client::Atftp) && find_program("atftp").is_none() {
        out.push("`atftp` (atftp client): apt-get install atftp".into());
    }
    for c in clients {
        if let Some(f) = c.firmware() {
            for (what, pkg) in crate::qemu::needs(f) {
                let present = if what.starts_with('/') {
                    Path::new(what).exists()
                } else {
                    find_program(what).is_some()
                };
                if !present {
                    out.push(format!(
                        "`{what}` ({} client): apt-get install {pkg}",
                        c.name()
                    ));
                }
            }
        }
    }
    if clients.iter().any(|c| c.firmware().is_some()) && find_program("dnsmasq").is_none() {
        out.push(
            "`dnsmasq` (the firmware clients' DHCP server): apt-get install dnsmasq-base".into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_clients_parse_by_name_and_refuse_others() {
        assert_eq!(Server::parse("tftpd-hpa"), Ok(Server::TftpdHpa));
        assert!(Server::parse("tftpd")
            .unwrap_err()
            .contains("pxelab, atftpd"));
        assert_eq!(Client::parse("atftp"), Ok(Client::Atftp));
        assert!(Client::parse("curl").is_err());
        assert!(Server::Atftpd.speaks_windowsize() && !Server::Dnsmasq.speaks_windowsize());
        assert_eq!(Server::parse("pxelab-http"), Ok(Server::PxelabHttp));
        assert!(Server::Lighttpd.is_http() && !Server::Pxelab.is_http());
    }
}
