//! The address family a bench transfer runs over: the same two links carry both, the
//! switch link as 10.201.0.0/24 and fd00:201::/64, the veth pair as 10.202.0.0/24 and
//! fd00:202::/64 (server ::1 / .1, client ::2 / .2).

use super::Server;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// `4` or `6`, as `--family` takes it and the results record it.
    pub fn number(self) -> u8 {
        match self {
            Family::V4 => 4,
            Family::V6 => 6,
        }
    }

    pub fn parse(s: &str) -> Result<Family, String> {
        match s.trim() {
            "4" | "ipv4" => Ok(Family::V4),
            "6" | "ipv6" => Ok(Family::V6),
            _ => Err(format!("unknown family `{s}`; use 4, 6 or 4,6")),
        }
    }

    /// The server's address on the switch link.
    pub fn switch_server(self) -> &'static str {
        match self {
            Family::V4 => super::SWITCH_SERVER,
            Family::V6 => "fd00:201::1",
        }
    }

    /// The server's address on the veth pair.
    pub fn veth_server(self) -> &'static str {
        match self {
            Family::V4 => super::VETH_SERVER,
            Family::V6 => "fd00:202::1",
        }
    }

    /// Why `server` is not run over this family by the bench (None: it is). Only our
    /// responder is started on IPv6 so far; the others' IPv6 flags are not wired in.
    pub fn refuses(self, server: Server) -> Option<String> {
        match (self, server) {
            (Family::V4, _)
            | (Family::V6, Server::Pxelab | Server::PxelabHttp | Server::Lighttpd) => None,
            (Family::V6, s) => Some(format!(
                "{} is not started over IPv6 by the bench (only pxelab, pxelab-http and lighttpd are, so far): run it with --family 4",
                s.name()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_parse_and_only_pxelab_runs_over_ipv6() {
        assert_eq!(Family::parse("6"), Ok(Family::V6));
        assert_eq!(Family::parse("4").map(Family::number), Ok(4));
        assert!(Family::parse("5").unwrap_err().contains("4, 6"));
        assert!(Family::V6.refuses(Server::Pxelab).is_none());
        assert!(Family::V4.refuses(Server::Dnsmasq).is_none());
        let e = Family::V6.refuses(Server::Atftpd).unwrap();
        assert!(e.starts_with("atftpd") && e.contains("--family 4"), "{e}");
    }
}
