//! The lab's boot root: the boot programs built from `images/` and the boot images of
//! the scenario's site, at the paths of docs/MODEL.md ("Boot root"). Boot image
//! payloads are the simulator's synthetic content (`pxelab_sim::content::Synthetic`),
//! so a boot image has the same bytes and CRC in both modes.

use crate::config_error::ConfigError;
use pxelab_engine::bootfiles;
use pxelab_engine::policy::{Arch, Site};
use pxelab_engine::tftp::server::FileSource;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the boot program sources live (the repository's `images/`).
pub fn images_source() -> PathBuf {
    if let Some(p) = std::env::var_os("PXELAB_IMAGES_SRC") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../images")
}

/// The built boot programs: `wdsnbp.com`, `bootx64.efi`, `bootia32.efi`, `bootaa64.efi`.
pub const PROGRAMS: [&str; 4] = ["wdsnbp.com", "bootx64.efi", "bootia32.efi", "bootaa64.efi"];

/// Builds the boot programs into `out` with `images/build.sh` (nasm, clang, lld).
pub fn build_images(out: &Path) -> Result<(), String> {
    let src = images_source();
    let script = src.join("build.sh");
    if !script.exists() {
        return Err(format!(
            "boot program sources not found at {} (set PXELAB_IMAGES_SRC to the repository's images/ directory)",
            src.display()
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let o = Command::new("bash")
        .arg(&script)
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !o.status.success() {
        return Err(format!(
            "building the boot programs failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    for p in PROGRAMS {
        if !out.join(p).exists() {
            return Err(format!("{} did not produce {p}", script.display()));
        }
    }
    Ok(())
}

/// Writes one responder's boot root into `root`: for each boot image it holds, the boot
/// program of the image's architecture and the image payload (hard-linked from `cache`,
/// where each payload is written once per run), as `pxelab_sim::content::SimRoot` has.
pub fn populate(
    site: &Site,
    images: &[String],
    root: &Path,
    programs: &Path,
    cache: &Path,
) -> Result<(), ConfigError> {
    let place = |from: &Path, to: &str, link: bool| -> Result<(), ConfigError> {
        let dst = root.join(to);
        if let Some(d) = dst.parent() {
            std::fs::create_dir_all(d).map_err(ConfigError::file(d))?;
        }
        let r = if link {
            std::fs::hard_link(from, &dst).or_else(|_| std::fs::copy(from, &dst).map(|_| ()))
        } else {
            std::fs::copy(from, &dst).map(|_| ())
        };
        r.map_err(ConfigError::file(dst))
    };
    for id in images {
        let Some(img) = site.boot_image(id) else {
            continue;
        };
        let (dir, program) = match img.arch {
            Arch::X86 => ("x86", "bootia32.efi"),
            Arch::X64 => ("x64", "bootx64.efi"),
            Arch::Arm64 => ("arm64", "bootaa64.efi"),
        };
        if img.arch == Arch::X86 {
            place(
                &programs.join("wdsnbp.com"),
                &format!("smsboot/{id}/x86/wdsnbp.com"),
                false,
            )?;
        }
        place(
            &programs.join(program),
            &format!("smsboot/{id}/{dir}/bootmgfw.efi"),
            false,
        )?;
        let path = bootfiles::image_path(id);
        let cached = cache.join(format!("{id}.wim"));
        if !cached.exists() {
            write_payload(&cached, &path.to_ascii_lowercase(), img.size)?;
        }
        place(&cached, &path, true)?;
    }
    Ok(())
}

/// The synthetic payload of `path`, `size` bytes.
fn write_payload(dst: &Path, path: &str, size: u64) -> Result<(), ConfigError> {
    if let Some(d) = dst.parent() {
        std::fs::create_dir_all(d).map_err(ConfigError::file(d))?;
    }
    let content = pxelab_sim::content::Synthetic::new(path, size);
    let f = std::fs::File::create(dst).map_err(ConfigError::file(dst))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    while off < size {
        let n = ((size - off) as usize).min(buf.len());
        content.read_at(off, &mut buf[..n]);
        w.write_all(&buf[..n]).map_err(ConfigError::file(dst))?;
        off += n as u64;
    }
    w.flush().map_err(ConfigError::file(dst))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxelab_engine::responder::BootRoot;

    #[test]
    fn a_payload_on_disk_has_the_simulators_bytes() {
        let dir = std::env::temp_dir().join(format!("pxelab-bootroot-{}", std::process::id()));
        let path = bootfiles::image_path("PS100002").to_ascii_lowercase();
        let size = 3 * 1024 * 1024 + 17;
        write_payload(&dir.join("x.wim"), &path, size).unwrap();
        let disk = std::fs::read(dir.join("x.wim")).unwrap();
        assert_eq!(disk.len() as u64, size);
        let mut site = Site::default();
        site.boot_images.push(pxelab_engine::policy::BootImage {
            id: "PS100002".into(),
            arch: Arch::X64,
            size,
            pxe_enabled: true,
        });
        let sim = pxelab_sim::content::SimRoot::new(&site, &["PS100002".to_string()]);
        assert_eq!(sim.crc32(&path), Some(crc32fast::hash(&disk)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
