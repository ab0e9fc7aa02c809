//! Why the lab could not write a host's configuration or build its command line: a
//! DHCP server's configuration file, a relay's arguments, a firmware's variable store,
//! a responder's boot root.
//! The messages name the file or the setting, as the user reads them.

use std::net::Ipv6Addr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or directory that could not be written (or copied from).
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("the built-in server is `pxelab lab dhcpd`")]
    BuiltinServer,
    /// A relay set-up the relay program cannot do (the reason says which setting).
    #[error("{0}")]
    Relay(&'static str),
    #[error("no interface towards the DHCPv6 destination {0}")]
    NoUpstream(Ipv6Addr),
}

/// For the callers that still report errors as text (the benches).
impl From<ConfigError> for String {
    fn from(e: ConfigError) -> String {
        e.to_string()
    }
}

impl ConfigError {
    /// A [`ConfigError::File`] for `path`.
    pub fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ConfigError {
        let path = path.into();
        move |source| ConfigError::File { path, source }
    }
}
