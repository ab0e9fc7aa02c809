//! A client's `firmware:`: a family name (`uefi-x64`), or a family and a firmware
//! profile file (`{family: uefi-x64, profile: profiles/dell-r740.yaml}`, the path
//! relative to the scenario file; docs/PROFILES.md). An error in the profile names the
//! profile's file, line and key, and where the scenario named it.

use super::{Cx, Kind, Node, R};
use crate::{Firmware, LoadError};
use pxelab_engine::dhcp::firmware::{profile, FirmwareKind, Profile};
use std::path::Path;
use std::str::FromStr;

/// The keys of `firmware:` given as a mapping.
pub(crate) const FIRMWARE: &[&str] = &["family", "profile"];

/// A firmware profile file (top-level `stack:`, no `scenario:`): a directory walk for
/// scenarios leaves it out, as it does bench files, so profiles may sit next to the
/// scenarios that name them.
pub(crate) fn is_profile_file(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let top = |key: &str| text.lines().any(|l| l.starts_with(key));
    top("stack:") && !top("scenario:")
}

impl Cx<'_> {
    pub(super) fn firmware(&self, n: &Node) -> R<(Firmware, Option<&'static Profile>)> {
        if !matches!(n.kind, Kind::Map(_)) {
            return Ok((self.value(n, "`firmware`", Firmware::from_str)?, None));
        }
        let o = self.obj(n, "a firmware (family and profile)", FIRMWARE)?;
        let family = self.value(self.req(&o, "family")?, "`family`", Firmware::from_str)?;
        let Some(pn) = o.get("profile") else {
            return Ok((family, None));
        };
        let rel = self.text(pn, "a profile file path")?;
        let path = self.file.parent().unwrap_or(Path::new("")).join(&rel);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.err(
                pn,
                format!("cannot read the firmware profile `{}`: {e}", path.display()),
            )
        })?;
        let kind = FirmwareKind::from_name(family.as_str()).expect("the same five names");
        let p = profile::load(&text, &path, kind).map_err(|e| LoadError {
            file: e.file,
            line: e.line.map(|l| l as usize),
            column: e.column.map(|c| c as usize),
            message: format!(
                "{} (firmware profile, given at {}:{}:{})",
                e.message,
                self.file.display(),
                pn.line,
                pn.col
            ),
        })?;
        Ok((family, Some(p)))
    }
}
