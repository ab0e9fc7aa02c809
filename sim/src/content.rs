//! Synthetic files the simulated responders serve: boot programs and boot images,
//! deterministic from their path, cheap to generate at any offset.

use pxelab_engine::bootfiles;
use pxelab_engine::policy::{Arch, Site};
use pxelab_engine::responder::BootRoot;
use pxelab_engine::tftp::server::FileSource;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// Size of the modelled BIOS first stage (wdsnbp.com).
pub const BIOS_NBP_SIZE: u64 = 32 * 1024;
/// Size of the modelled UEFI boot program (bootmgfw.efi).
pub const EFI_NBP_SIZE: u64 = 256 * 1024;

/// The built-in size of the boot program at `path` (a boot root path, lower case):
/// `None` for a file that is not a boot program.
pub fn builtin_program_size(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "wdsnbp.com" => Some(BIOS_NBP_SIZE),
        "bootmgfw.efi" => Some(EFI_NBP_SIZE),
        _ => None,
    }
}

const PATTERN_LEN: usize = 1 << 16;

fn pattern() -> &'static [u8] {
    static P: OnceLock<Vec<u8>> = OnceLock::new();
    P.get_or_init(|| {
        // splitmix64 stream from a fixed seed: same bytes on every machine.
        let mut x: u64 = 0x5058_454c_4142; // "PXELAB"
        let mut v = Vec::with_capacity(PATTERN_LEN * 2);
        while v.len() < PATTERN_LEN {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            v.extend_from_slice(&z.to_le_bytes());
        }
        // Twice the period, so that any read of up to PATTERN_LEN bytes is one copy.
        v.extend_from_within(..PATTERN_LEN);
        v
    })
}

/// A file of `len` bytes: the shared pattern, shifted by a per-path offset.
pub struct Synthetic {
    len: u64,
    shift: usize,
}

impl Synthetic {
    pub fn new(path: &str, len: u64) -> Synthetic {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in path.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Synthetic {
            len,
            shift: (h % PATTERN_LEN as u64) as usize,
        }
    }
}

impl FileSource for Synthetic {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        let p = pattern();
        let mut pos = ((offset as usize) + self.shift) % PATTERN_LEN;
        let mut done = 0;
        while done < buf.len() {
            let n = (buf.len() - done).min(PATTERN_LEN);
            buf[done..done + n].copy_from_slice(&p[pos..pos + n]);
            done += n;
            pos = (pos + n) % PATTERN_LEN;
        }
    }
    fn append_to(&self, offset: u64, len: usize, out: &mut Vec<u8>) {
        let p = pattern();
        let mut pos = ((offset as usize) + self.shift) % PATTERN_LEN;
        let mut left = len;
        out.reserve(len);
        while left > 0 {
            let n = left.min(PATTERN_LEN);
            out.extend_from_slice(&p[pos..pos + n]);
            left -= n;
            pos = (pos + n) % PATTERN_LEN;
        }
    }
}

/// The boot root of one simulated responder: the boot programs and payloads of the
/// boot images it holds (docs/MODEL.md, "Boot root").
pub struct SimRoot {
    files: HashMap<String, Arc<Synthetic>>,
    crcs: Mutex<HashMap<String, u32>>,
}

impl SimRoot {
    pub fn new(site: &Site, images: &[String]) -> SimRoot {
        SimRoot::with_program_sizes(site, images, &BTreeMap::new())
    }

    /// As [`SimRoot::new`], with the boot programs at the paths of `program_sizes` of
    /// those sizes instead of the built-in ones (the lab overlay of `--compare`,
    /// `crate::lab_overlay`).
    pub fn with_program_sizes(
        site: &Site,
        images: &[String],
        program_sizes: &BTreeMap<String, u64>,
    ) -> SimRoot {
        let mut files = HashMap::new();
        let mut add = |path: String, len: u64| {
            let path = path.to_ascii_lowercase();
            files.insert(path.clone(), Arc::new(Synthetic::new(&path, len)));
        };
        for id in images {
            let Some(img) = site.boot_image(id) else {
                continue;
            };
            let dir = match img.arch {
                Arch::X86 => "x86",
                Arch::X64 => "x64",
                Arch::Arm64 => "arm64",
            };
            let mut programs = vec![(format!("smsboot/{id}/{dir}/bootmgfw.efi"), EFI_NBP_SIZE)];
            if img.arch == Arch::X86 {
                programs.push((format!("smsboot/{id}/x86/wdsnbp.com"), BIOS_NBP_SIZE));
            }
            for (path, builtin) in programs {
                let path = path.to_ascii_lowercase();
                add(
                    path.clone(),
                    program_sizes.get(&path).copied().unwrap_or(builtin),
                );
            }
            add(bootfiles::image_path(id), img.size);
        }
        SimRoot {
            files,
            crcs: Mutex::new(HashMap::new()),
        }
    }
}

impl BootRoot for SimRoot {
    fn open(&self, path: &str) -> Option<Arc<dyn FileSource>> {
        self.files
            .get(path)
            .map(|f| f.clone() as Arc<dyn FileSource>)
    }

    fn crc32(&self, path: &str) -> Option<u32> {
        let f = self.files.get(path)?;
        let mut cache = self.crcs.lock().ok()?;
        if let Some(c) = cache.get(path) {
            return Some(*c);
        }
        let mut h = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0u64;
        while off < f.len() {
            let n = ((f.len() - off) as usize).min(buf.len());
            f.read_at(off, &mut buf[..n]);
            h.update(&buf[..n]);
            off += n as u64;
        }
        let c = h.finalize();
        cache.insert(path.to_string(), c);
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_reads_are_consistent_at_any_offset() {
        let f = Synthetic::new("smsimages/ps1/boot.ps1.wim", 300_000);
        let mut whole = vec![0u8; 300_000];
        f.read_at(0, &mut whole);
        let mut part = vec![0u8; 4096];
        f.read_at(70_000, &mut part);
        assert_eq!(&whole[70_000..74_096], &part[..]);
        let g = Synthetic::new("other", 10);
        let mut a = [0u8; 10];
        g.read_at(0, &mut a);
        assert_ne!(&a[..], &whole[..10]);
    }
}

#[cfg(test)]
mod crc_tests {
    use super::*;
    use pxelab_engine::policy::{BootImage, Site};

    #[test]
    fn crc_of_root_matches_chunked_reads() {
        let site = Site {
            boot_images: vec![BootImage {
                id: "PS1".into(),
                arch: Arch::X64,
                size: 3 << 20,
                pxe_enabled: true,
            }],
            ..Site::default()
        };
        let root = SimRoot::new(&site, &["PS1".to_string()]);
        let path = bootfiles::image_path("PS1").to_ascii_lowercase();
        let f = root.open(&path).unwrap();
        let mut h = crc32fast::Hasher::new();
        let mut off = 0;
        let mut buf = vec![0u8; 4096];
        while off < f.len() {
            let n = ((f.len() - off) as usize).min(4096);
            f.read_at(off, &mut buf[..n]);
            h.update(&buf[..n]);
            off += n as u64;
        }
        assert_eq!(root.crc32(&path), Some(h.finalize()));
    }

    #[test]
    fn program_sizes_replace_the_built_in_ones_at_their_paths_only() {
        let site = Site {
            boot_images: vec![BootImage {
                id: "PS1".into(),
                arch: Arch::X86,
                size: 1 << 20,
                pxe_enabled: true,
            }],
            ..Site::default()
        };
        let ids = ["PS1".to_string()];
        let sizes = BTreeMap::from([("smsboot/ps1/x86/wdsnbp.com".to_string(), 2560)]);
        let len = |root: &SimRoot, p: &str| root.open(p).map(|f| f.len());
        let lab = SimRoot::with_program_sizes(&site, &ids, &sizes);
        assert_eq!(len(&lab, "smsboot/ps1/x86/wdsnbp.com"), Some(2560));
        assert_eq!(
            len(&lab, "smsboot/ps1/x86/bootmgfw.efi"),
            Some(EFI_NBP_SIZE)
        );
        assert_eq!(
            len(&lab, &bootfiles::image_path("PS1").to_ascii_lowercase()),
            Some(1 << 20)
        );
        let own = SimRoot::new(&site, &ids);
        assert_eq!(len(&own, "smsboot/ps1/x86/wdsnbp.com"), Some(BIOS_NBP_SIZE));
        assert_eq!(
            builtin_program_size("smsboot/ps1/x64/bootmgfw.efi"),
            Some(EFI_NBP_SIZE)
        );
        assert_eq!(builtin_program_size("smstemp/x.var"), None);
    }
}
