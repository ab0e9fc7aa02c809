//! The boot root on disk (R-TFTP-3). Names arrive normalised by
//! `pxelab_engine::tftp::path::normalize` (relative, `/`-separated, lower-case, no `..`);
//! here each component is matched case-insensitively against the directory, and a file
//! is served only if it is a regular file whose real path (symlinks resolved) is inside
//! the root. Device files, FIFOs, sockets, directories and links leaving the root are
//! "not found".

use pxelab_engine::responder::BootRoot;
use pxelab_engine::tftp::server::FileSource;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct FsRoot {
    root: PathBuf,
    crcs: Mutex<HashMap<PathBuf, (u64, u32)>>,
}

/// An open file served by positioned reads (no shared cursor).
pub struct FsFile {
    file: File,
    len: u64,
}

impl FileSource for FsFile {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) | Err(_) => break, // truncated under us: the rest stays zero
                Ok(n) => done += n,
            }
        }
        buf[done..].fill(0);
    }
}

impl FsRoot {
    pub fn new(root: &Path) -> std::io::Result<FsRoot> {
        Ok(FsRoot {
            root: root.canonicalize()?,
            crcs: Mutex::new(HashMap::new()),
        })
    }

    /// The real path of a normalised name, if it names a regular file inside the root.
    pub fn resolve(&self, path: &str) -> Option<PathBuf> {
        let mut dir = self.root.clone();
        for comp in path.split('/') {
            if comp.is_empty() || comp == "." || comp == ".." {
                return None;
            }
            let exact = dir.join(comp);
            let next = if exact.symlink_metadata().is_ok() {
                exact
            } else {
                std::fs::read_dir(&dir)
                    .ok()?
                    .filter_map(Result::ok)
                    .find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(comp))?
                    .path()
            };
            dir = next;
        }
        let real = dir.canonicalize().ok()?;
        if !real.starts_with(&self.root) {
            return None;
        }
        let meta = std::fs::metadata(&real).ok()?;
        meta.is_file().then_some(real)
    }
}

impl BootRoot for FsRoot {
    fn open(&self, path: &str) -> Option<Arc<dyn FileSource>> {
        let real = self.resolve(path)?;
        let file = File::open(&real).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        Some(Arc::new(FsFile {
            file,
            len: meta.len(),
        }))
    }

    fn crc32(&self, path: &str) -> Option<u32> {
        let real = self.resolve(path)?;
        let len = std::fs::metadata(&real).ok()?.len();
        if let Some((l, c)) = self.crcs.lock().ok()?.get(&real) {
            if *l == len {
                return Some(*c);
            }
        }
        let f = FsFile {
            file: File::open(&real).ok()?,
            len,
        };
        let mut h = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0;
        while off < len {
            let n = ((len - off) as usize).min(buf.len());
            f.read_at(off, &mut buf[..n]);
            h.update(&buf[..n]);
            off += n as u64;
        }
        let c = h.finalize();
        self.crcs.lock().ok()?.insert(real, (len, c));
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxelab_engine::tftp::path::normalize;
    use std::os::unix::fs::symlink;

    fn setup(name: &str) -> (PathBuf, PathBuf) {
        let base = std::env::temp_dir().join(format!("pxelab-root-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("SMSBoot/x64")).unwrap();
        std::fs::write(root.join("SMSBoot/x64/bootmgfw.efi"), b"efi").unwrap();
        std::fs::write(base.join("secret"), b"secret").unwrap();
        symlink(base.join("secret"), root.join("escape")).unwrap();
        symlink("../secret", root.join("SMSBoot/up")).unwrap();
        symlink("x64/bootmgfw.efi", root.join("SMSBoot/inside")).unwrap();
        symlink("/dev/zero", root.join("zero")).unwrap();
        (base, root)
    }

    fn read(r: &FsRoot, raw: &str) -> Option<Vec<u8>> {
        let p = normalize(raw.as_bytes()).ok()?;
        let f = r.open(&p)?;
        let mut v = vec![0u8; f.len() as usize];
        f.read_at(0, &mut v);
        Some(v)
    }

    #[test]
    fn r_tftp_3_case_insensitive_backslashes_inside_links_ok() {
        let (base, root) = setup("ok");
        let r = FsRoot::new(&root).unwrap();
        assert_eq!(
            read(&r, "smsboot\\X64\\BOOTMGFW.EFI").as_deref(),
            Some(&b"efi"[..])
        );
        assert_eq!(read(&r, "\\SMSBoot\\inside").as_deref(), Some(&b"efi"[..]));
        assert!(r.crc32("smsboot/x64/bootmgfw.efi").is_some());
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn r_tftp_3_links_out_of_the_root_devices_and_dirs_are_refused() {
        let (base, root) = setup("escape");
        let r = FsRoot::new(&root).unwrap();
        for bad in [
            "escape",
            "SMSBoot/up",
            "zero",
            "smsboot",
            "smsboot/x64",
            "../secret",
            "/etc/passwd",
            "nothing",
        ] {
            assert_eq!(read(&r, bad), None, "{bad}");
        }
        let _ = std::fs::remove_dir_all(base);
    }
}
