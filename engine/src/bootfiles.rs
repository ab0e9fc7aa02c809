//! The responder's boot root layout and the per-client boot parameters.
//!
//! Configuration Manager hands each PXE client a per-client BCD naming the boot image
//! and the RamDisk TFTP settings. pxelab's boot programs read the same facts from a
//! small generated text file instead (`smstemp/<mac>.<class>.var`), so the simulator's
//! boot program model and the lab's real boot programs ask for the same path.
//! See docs/MODEL.md ("Boot root").

use crate::ids::Mac;
use crate::policy::{ClientClass, Purpose};
use std::fmt::Write as _;

/// The network boot program the firmware downloads (named in the 4011 ACK).
/// BIOS clients get the first stage of an x86 boot image (R-SEL-4).
pub fn nbp_path(class: ClientClass, image: &str) -> String {
    match class {
        ClientClass::Bios | ClientClass::BiosX86 | ClientClass::BiosX64 => {
            format!("smsboot/{image}/x86/wdsnbp.com")
        }
        ClientClass::UefiX64 => format!("smsboot/{image}/x64/bootmgfw.efi"),
        ClientClass::UefiIa32 => format!("smsboot/{image}/x86/bootmgfw.efi"),
        ClientClass::UefiArm64 => format!("smsboot/{image}/arm64/bootmgfw.efi"),
    }
}

/// The boot image payload.
pub fn image_path(image: &str) -> String {
    format!("smsimages/{image}/boot.{image}.wim")
}

/// The per-client parameters file a boot program asks for, naming the class it learned.
pub fn params_path(mac: Mac, class: ClientClass) -> String {
    let m = mac.0;
    format!(
        "smstemp/{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}.{}.var",
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m[5],
        class.as_str()
    )
}

/// Recognise a (normalised, lower-case) parameters path.
pub fn parse_params_path(path: &str) -> Option<(Mac, ClientClass)> {
    let rest = path.strip_prefix("smstemp/")?.strip_suffix(".var")?;
    let (hex, class) = rest.split_once('.')?;
    if hex.len() != 12 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, b) in mac.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    let class = match class {
        "bios-x86" => ClientClass::BiosX86,
        "bios-x64" => ClientClass::BiosX64,
        "uefi-ia32" => ClientClass::UefiIa32,
        "uefi-x64" => ClientClass::UefiX64,
        "uefi-arm64" => ClientClass::UefiArm64,
        _ => return None,
    };
    Some((Mac(mac), class))
}

/// What the boot program needs to fetch and start the boot image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootParams {
    pub deployment: String,
    pub boot_image: String,
    pub purpose: Purpose,
    pub image_path: String,
    pub image_size: u64,
    pub image_crc32: Option<u32>,
    pub block_size: u16,
    pub window_size: u16,
    /// R-PROMPT-2: an available deployment needs a key press at the prompt.
    pub prompt: bool,
}

impl BootParams {
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "deployment={}", self.deployment);
        let _ = writeln!(s, "boot_image={}", self.boot_image);
        let purpose = match self.purpose {
            Purpose::Required => "required",
            Purpose::Available => "available",
        };
        let _ = writeln!(s, "purpose={purpose}");
        let _ = writeln!(s, "image_path={}", self.image_path);
        let _ = writeln!(s, "image_size={}", self.image_size);
        if let Some(c) = self.image_crc32 {
            let _ = writeln!(s, "image_crc32={c:08x}");
        }
        let _ = writeln!(s, "tftp_block_size={}", self.block_size);
        let _ = writeln!(s, "tftp_window_size={}", self.window_size);
        let _ = writeln!(s, "prompt={}", u8::from(self.prompt));
        s
    }

    pub fn parse(text: &str) -> Result<BootParams, String> {
        let mut get = std::collections::BTreeMap::new();
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("line `{line}` has no `=`"))?;
            get.insert(k.trim(), v.trim());
        }
        let req = |k: &str| -> Result<&str, String> {
            get.get(k).copied().ok_or_else(|| format!("missing `{k}`"))
        };
        let num = |k: &str| -> Result<u64, String> {
            req(k)?
                .parse::<u64>()
                .map_err(|_| format!("`{k}` is not a number"))
        };
        Ok(BootParams {
            deployment: req("deployment")?.to_string(),
            boot_image: req("boot_image")?.to_string(),
            purpose: match req("purpose")? {
                "required" => Purpose::Required,
                "available" => Purpose::Available,
                other => return Err(format!("unknown purpose `{other}`")),
            },
            image_path: req("image_path")?.to_string(),
            image_size: num("image_size")?,
            image_crc32: match get.get("image_crc32") {
                Some(v) => Some(
                    u32::from_str_radix(v, 16)
                        .map_err(|_| "`image_crc32` is not hex".to_string())?,
                ),
                None => None,
            },
            block_size: u16::try_from(num("tftp_block_size")?)
                .map_err(|_| "tftp_block_size out of range".to_string())?,
            window_size: u16::try_from(num("tftp_window_size")?)
                .map_err(|_| "tftp_window_size out of range".to_string())?,
            prompt: req("prompt")? == "1",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_path_round_trips() {
        let mac: Mac = "52:54:00:AB:00:01".parse().unwrap();
        for class in [
            ClientClass::BiosX86,
            ClientClass::BiosX64,
            ClientClass::UefiIa32,
            ClientClass::UefiX64,
            ClientClass::UefiArm64,
        ] {
            let p = params_path(mac, class);
            assert_eq!(parse_params_path(&p), Some((mac, class)), "{p}");
        }
        assert_eq!(parse_params_path("smstemp/525400ab0001.bios.var"), None);
        assert_eq!(parse_params_path("smstemp/5254zzab0001.uefi-x64.var"), None);
    }

    #[test]
    fn boot_params_round_trip() {
        let p = BootParams {
            deployment: "PS120001".into(),
            boot_image: "PS100002".into(),
            purpose: Purpose::Available,
            image_path: image_path("PS100002"),
            image_size: 300 << 20,
            image_crc32: Some(0xdeadbeef),
            block_size: 8192,
            window_size: 8,
            prompt: true,
        };
        assert_eq!(BootParams::parse(&p.to_text()).unwrap(), p);
        assert!(BootParams::parse("deployment=x\n").is_err());
    }
}
