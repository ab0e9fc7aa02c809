//! Extension keys for boot-file options a server hands out itself: a DHCP server's
//! `option66` / `option67` (it names the TFTP server and boot file, no proxy needed) and
//! a responder's `option43` (PXE vendor options in its proxy offer: discovery control
//! and a boot server list, PXE 2.1 table 2-1). See scenario/REFERENCE.md.

use super::*;
use pxelab_engine::dhcp::pxe_options::Option43;

impl Cx<'_> {
    /// `option66: 10.10.0.5` (siaddr and option 66), `option67: path` (`file` and 67).
    pub(super) fn dhcp_boot_file(&self, o: &Obj) -> R<DhcpBootFile> {
        let tftp_server = o
            .get("option66")
            .map(|n| self.ip(n, "`option66` (the TFTP server)"))
            .transpose()?;
        let file = match o.get("option67") {
            None => None,
            Some(n) => {
                let f = self.text(n, "`option67` (the boot file)")?;
                // The `file` field holds 128 bytes with its terminating NUL.
                if f.is_empty() || f.len() > 127 {
                    return Err(self.err(
                        n,
                        format!(
                            "`option67` must be 1 to 127 bytes (the `file` field), found {}",
                            f.len()
                        ),
                    ));
                }
                Some(f)
            }
        };
        if let (Some(k), None) = (o.entry("option66").map(|(k, _)| k), &file) {
            return Err(self.err(
                k,
                "`option66` without `option67`: a TFTP server needs a boot file to name",
            ));
        }
        Ok(DhcpBootFile { tftp_server, file })
    }

    /// A responder's `option43: {discovery_control: 3, boot_servers: [10.10.0.5]}`.
    pub(super) fn option43(&self, o: &Obj) -> R<Option<Vec<u8>>> {
        let Some(n) = o.get("option43") else {
            return Ok(None);
        };
        let oo = self.obj(n, "`option43`", OPTION43)?;
        let discovery_control = oo
            .get("discovery_control")
            .map(|n| {
                self.value(n, "`discovery_control`", |s| {
                    let v = parse_u64(s)?;
                    u8::try_from(v)
                        .ok()
                        .filter(|v| *v < 16)
                        .ok_or_else(|| format!("{v} is out of range (bits 0 to 3: 0 to 15)"))
                })
            })
            .transpose()?;
        let mut boot_servers = Vec::new();
        for a in self.list(oo.get("boot_servers"), "`boot_servers`")? {
            boot_servers.push(self.ip(a, "a boot server address")?);
        }
        if boot_servers.len() > 63 {
            return Err(self.err(n, "`boot_servers`: at most 63 addresses fit in option 43"));
        }
        if discovery_control.is_none() && boot_servers.is_empty() {
            return Err(self.err(n, "`option43` needs `discovery_control` or `boot_servers`"));
        }
        Ok(Some(
            Option43 {
                discovery_control,
                boot_servers,
            }
            .encode(),
        ))
    }
}
