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

/// An open file served by positioned reads (no shared cursor), through a read-ahead
/// window: a transfer reads its file in order, a block at a time, and one `pread` of
/// [`FsFile::AHEAD`] bytes serves the next blocks from memory (a 1432-byte block size
/// made one system call per block, as many as the sends).
pub struct FsFile {
    file: File,
    len: u64,
    ahead: Mutex<Ahead>,
}

#[derive(Default)]
struct Ahead {
    offset: u64,
    data: Vec<u8>,
}

impl FsFile {
    pub const AHEAD: usize = 256 * 1024;

    fn new(file: File, len: u64) -> FsFile {
        FsFile {
            file,
            len,
            ahead: Mutex::new(Ahead::default()),
        }
    }

    /// `buf.len()` bytes at `offset` straight from the file; returns how many it got
    /// (fewer if the file was truncated under us).
    fn pread(&self, offset: u64, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => done += n,
            }
        }
        done
    }
}

impl FileSource for FsFile {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        let done = if buf.len() > Self::AHEAD / 2 {
            self.pread(offset, buf)
        } else {
            let mut ahead = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
            let end = offset + buf.len() as u64;
            let held = ahead.offset..ahead.offset + ahead.data.len() as u64;
            if !(held.contains(&offset) && end <= held.end) {
                let want = (self.len.saturating_sub(offset) as usize).clamp(buf.len(), Self::AHEAD);
                let mut data = std::mem::take(&mut ahead.data);
                data.resize(want, 0);
                let got = self.pread(offset, &mut data);
                data.truncate(got);
                *ahead = Ahead { offset, data };
            }
            let from = (offset - ahead.offset) as usize;
            let n = buf.len().min(ahead.data.len().saturating_sub(from));
            buf[..n].copy_from_slice(&ahead.data[from..from + n]);
            n
        };
        // Truncated under us: the rest stays zero.
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
        Some(Arc::new(FsFile::new(file, meta.len())))
    }

    fn crc32(&self, path: &str) -> Option<u32> {
        let real = self.resolve(path)?;
        let len = std::fs::metadata(&real).ok()?.len();
        if let Some((l, c)) = self.crcs.lock().ok()?.get(&real) {
            if *l == len {
                return Some(*c);
            }
        }
        let f = FsFile::new(File::open(&real).ok()?, len);
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever the order and sizes of the reads, the read-ahead gives the file's
        /// bytes, and zeros past a truncation.
        #[test]
        fn read_ahead_gives_the_files_bytes(
            len in 0usize..700_000,
            reads in proptest::collection::vec((0.0f64..1.0, 1usize..9000), 1..40),
            truncate_to in proptest::option::of(0.0f64..1.0),
        ) {
            let dir = std::env::temp_dir().join(format!("pxelab-ahead-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("f{len}"));
            let content: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
            std::fs::write(&path, &content).unwrap();
            let f = FsFile::new(File::open(&path).unwrap(), len as u64);
            let cut = truncate_to.map(|t| (t * len as f64) as usize);
            for (k, (at, n)) in reads.iter().enumerate() {
                if k == reads.len() / 2 {
                    if let Some(c) = cut {
                        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(c as u64).unwrap();
                    }
                }
                if len == 0 { break; }
                let off = ((at * len as f64) as usize).min(len - 1);
                let n = (*n).min(len - off);
                let mut buf = vec![0xAAu8; n];
                f.read_at(off as u64, &mut buf);
                let truncated = k >= reads.len() / 2 && cut.is_some();
                for (j, b) in buf.iter().enumerate() {
                    let want = content[off + j];
                    // Past a truncation a byte is zero, or still the old byte if it was
                    // read ahead before the cut.
                    proptest::prop_assert!(*b == want || (truncated && *b == 0), "offset {} read {}", off + j, b);
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
