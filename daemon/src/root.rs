//! The boot root on disk (R-TFTP-3). Names arrive normalised by
//! `pxelab_engine::tftp::path::normalize` (relative, `/`-separated, lower-case, no `..`);
//! here each component is matched case-insensitively against the directory, and only a
//! regular file inside the root is served. Device files, FIFOs, sockets, directories and
//! links leaving the root are "not found".
//!
//! The kernel enforces the root, not a check made beforehand: a local writer may swap any
//! name under the root at any instant (a directory for a symlink out of it, a file for a
//! FIFO), so checking a path and then opening it by name is a race it wins. Every open is
//! an `openat2` relative to a descriptor of the root with `RESOLVE_BENEATH` and
//! `RESOLVE_NO_MAGICLINKS`: a symlink, or a `..` inside one, that leads out of the root
//! fails within the kernel's own path walk. Opens are `O_NONBLOCK` (a FIFO swapped in
//! cannot block the daemon's one event loop), and what is served is the descriptor that
//! was opened, checked with `fstat` to be a regular file; nothing is opened by name again
//! after a check. Case-insensitive matching lists directories opened the same way and only
//! builds the name that is then opened: whatever it finds, the open stays beneath the root.
//!
//! Linux before 5.6 has no `openat2` (`ENOSYS`, as have some container seccomp filters,
//! which answer `EPERM`): there [`Resolver::NoFollowWalk`] opens each component with
//! `O_NOFOLLOW` from its parent's descriptor, which refuses every symlink, even one that
//! stays inside the root.

use pxelab_engine::responder::BootRoot;
use pxelab_engine::tftp::server::FileSource;
use rustix::fd::OwnedFd;
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How names under the root are opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolver {
    /// One `openat2` from the root's descriptor, confined by the kernel (Linux 5.6+).
    Openat2,
    /// One `openat` per component with `O_NOFOLLOW`: no symlink is followed at all.
    NoFollowWalk,
}

pub struct FsRoot {
    /// The root directory, opened once: later renames of its path do not move it.
    dir: OwnedFd,
    resolver: Resolver,
    /// CRC-32 per file identity (device, inode, size, modification time).
    crcs: Mutex<HashMap<FileId, u32>>,
    budget: Arc<ReadAheadBudget>,
}

type FileId = (u64, u64, u64, i64, u64);

/// The memory that the read-ahead windows of every open file of a root may hold
/// together. A storm of transfers shares it: past the budget a file is read a block at
/// a time, straight from the page cache, instead of growing the daemon without bound.
pub struct ReadAheadBudget {
    limit: usize,
    lent: AtomicUsize,
}

impl ReadAheadBudget {
    /// 32 MiB: 128 transfers with the whole [`FsFile::AHEAD`] window each.
    pub const DEFAULT: usize = 32 * 1024 * 1024;

    pub fn new(limit: usize) -> ReadAheadBudget {
        ReadAheadBudget {
            limit,
            lent: AtomicUsize::new(0),
        }
    }

    /// Lends up to `want` bytes; returns how many (0 when the budget is spent).
    fn borrow(&self, want: usize) -> usize {
        let mut lent = self.lent.load(Ordering::Relaxed);
        loop {
            let granted = want.min(self.limit.saturating_sub(lent));
            if granted == 0 {
                return 0;
            }
            match self.lent.compare_exchange_weak(
                lent,
                lent + granted,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return granted,
                Err(now) => lent = now,
            }
        }
    }

    fn give_back(&self, n: usize) {
        self.lent.fetch_sub(n, Ordering::Relaxed);
    }

    /// Bytes lent right now.
    pub fn lent(&self) -> usize {
        self.lent.load(Ordering::Relaxed)
    }
}

/// An open file served by positioned reads (no shared cursor), through a read-ahead
/// window: a transfer reads its file in order, a block at a time, and one `pread` of
/// up to [`FsFile::AHEAD`] bytes serves the next blocks from memory (a 1432-byte block
/// size made one system call per block, as many as the sends). The window's memory is
/// borrowed from the root's [`ReadAheadBudget`].
pub struct FsFile {
    file: File,
    len: u64,
    ahead: Mutex<Ahead>,
    budget: Arc<ReadAheadBudget>,
}

#[derive(Default)]
struct Ahead {
    offset: u64,
    data: Vec<u8>,
    /// Bytes borrowed from the budget; `data` never holds more.
    held: usize,
}

impl FsFile {
    pub const AHEAD: usize = 256 * 1024;

    pub fn new(file: File, len: u64, budget: Arc<ReadAheadBudget>) -> FsFile {
        FsFile {
            file,
            len,
            ahead: Mutex::new(Ahead::default()),
            budget,
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

    /// Serves `buf` from the window, refilling it at `offset` first if needed; `None`
    /// when the budget lends too little for a window that holds `buf`.
    fn read_through_window(&self, offset: u64, buf: &mut [u8]) -> Option<usize> {
        let mut ahead = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
        let end = offset + buf.len() as u64;
        let held = ahead.offset..ahead.offset + ahead.data.len() as u64;
        if !(held.contains(&offset) && end <= held.end) {
            let want = (self.len.saturating_sub(offset) as usize).clamp(buf.len(), Self::AHEAD);
            if ahead.held < want {
                ahead.held += self.budget.borrow(want - ahead.held);
            }
            if ahead.held < buf.len() {
                return None;
            }
            let want = want.min(ahead.held);
            let mut data = std::mem::take(&mut ahead.data);
            data.clear();
            data.reserve_exact(want);
            data.resize(want, 0);
            let got = self.pread(offset, &mut data);
            data.truncate(got);
            ahead.offset = offset;
            ahead.data = data;
        }
        let from = (offset - ahead.offset) as usize;
        let n = buf.len().min(ahead.data.len().saturating_sub(from));
        buf[..n].copy_from_slice(&ahead.data[from..from + n]);
        Some(n)
    }
}

impl Drop for FsFile {
    fn drop(&mut self) {
        let ahead = self.ahead.get_mut().unwrap_or_else(|p| p.into_inner());
        self.budget.give_back(ahead.held);
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
            self.read_through_window(offset, buf)
                .unwrap_or_else(|| self.pread(offset, buf))
        };
        // Truncated under us: the rest stays zero.
        buf[done..].fill(0);
    }
}

/// Transient `openat2` failures: `EAGAIN` when a rename raced the kernel's `..` checks,
/// `EINTR`. Retried this many times before the name counts as not found.
const RETRIES: usize = 8;

impl FsRoot {
    /// The root at `root`, with [`Resolver::Openat2`] where the kernel has it, and the
    /// default read-ahead budget ([`ReadAheadBudget::DEFAULT`]).
    pub fn new(root: &Path) -> std::io::Result<FsRoot> {
        FsRoot::with_budget(root, ReadAheadBudget::DEFAULT)
    }

    /// [`FsRoot::new`] with a read-ahead budget of `budget` bytes (`pxelab serve
    /// --read-ahead-budget`).
    pub fn with_budget(root: &Path, budget: usize) -> std::io::Result<FsRoot> {
        let dir = open_root(root)?;
        let resolver = match rustix::fs::openat2(
            &dir,
            ".",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH,
        ) {
            Err(Errno::NOSYS) | Err(Errno::PERM) => Resolver::NoFollowWalk,
            _ => Resolver::Openat2,
        };
        Ok(FsRoot::from_parts(dir, resolver, budget))
    }

    /// The root with a chosen resolver and read-ahead budget (tests, and daemons that
    /// size the budget themselves).
    pub fn with(root: &Path, resolver: Resolver, budget: usize) -> std::io::Result<FsRoot> {
        Ok(FsRoot::from_parts(open_root(root)?, resolver, budget))
    }

    fn from_parts(dir: OwnedFd, resolver: Resolver, budget: usize) -> FsRoot {
        FsRoot {
            dir,
            resolver,
            crcs: Mutex::new(HashMap::new()),
            budget: Arc::new(ReadAheadBudget::new(budget)),
        }
    }

    pub fn resolver(&self) -> Resolver {
        self.resolver
    }

    pub fn budget(&self) -> &ReadAheadBudget {
        &self.budget
    }

    /// Opens `rel` (a `/`-separated path under the root, `.` for the root itself) with
    /// `flags`, confined to the root.
    fn open_beneath(&self, rel: &[u8], flags: OFlags) -> Option<OwnedFd> {
        let flags = flags | OFlags::CLOEXEC | OFlags::NOCTTY;
        match self.resolver {
            Resolver::Openat2 => {
                for _ in 0..RETRIES {
                    match rustix::fs::openat2(
                        &self.dir,
                        OsStr::from_bytes(rel),
                        flags,
                        Mode::empty(),
                        ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
                    ) {
                        Ok(fd) => return Some(fd),
                        Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
                        Err(_) => return None,
                    }
                }
                None
            }
            Resolver::NoFollowWalk => {
                let comps: Vec<&[u8]> = rel.split(|&b| b == b'/').collect();
                let mut cur = rustix::fs::openat(
                    &self.dir,
                    ".",
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .ok()?;
                for (i, comp) in comps.iter().enumerate() {
                    if comp.is_empty() || *comp == b".." {
                        return None;
                    }
                    let step = if i + 1 == comps.len() {
                        flags
                    } else {
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
                    };
                    cur = rustix::fs::openat(
                        &cur,
                        OsStr::from_bytes(comp),
                        step | OFlags::NOFOLLOW,
                        Mode::empty(),
                    )
                    .ok()?;
                }
                Some(cur)
            }
        }
    }

    /// The on-disk spelling of a normalised name: each component is the directory entry
    /// spelled exactly so, else the first (in byte order) that matches ignoring ASCII case.
    fn on_disk(&self, path: &str) -> Option<Vec<u8>> {
        let mut real: Vec<u8> = Vec::with_capacity(path.len());
        for comp in path.split('/') {
            if comp.is_empty() || comp == "." || comp == ".." {
                return None;
            }
            let here: &[u8] = if real.is_empty() { b"." } else { &real };
            let dir = self.open_beneath(here, OFlags::RDONLY | OFlags::DIRECTORY)?;
            let name = matching_entry(dir, comp.as_bytes())?;
            if !real.is_empty() {
                real.push(b'/');
            }
            real.extend_from_slice(&name);
        }
        Some(real)
    }

    /// The regular file a normalised name leads to, open, with its identity and size.
    fn open_regular(&self, path: &str) -> Option<(File, FileId)> {
        let real = self.on_disk(path)?;
        let fd = self.open_beneath(&real, OFlags::RDONLY | OFlags::NONBLOCK)?;
        let st = rustix::fs::fstat(&fd).ok()?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return None;
        }
        let id = (
            st.st_dev,
            st.st_ino,
            st.st_size as u64,
            st.st_mtime,
            st.st_mtime_nsec as u64,
        );
        Some((File::from(fd), id))
    }
}

/// The root directory's descriptor.
fn open_root(root: &Path) -> std::io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// The entry of `dir` named `want`, exactly, else ignoring ASCII case (the smallest such
/// name, so the choice does not depend on the directory's order).
fn matching_entry(dir: OwnedFd, want: &[u8]) -> Option<Vec<u8>> {
    let mut best: Option<Vec<u8>> = None;
    for entry in rustix::fs::Dir::new(dir).ok()?.flatten() {
        let name = entry.file_name().to_bytes();
        if name == want {
            return Some(name.to_vec());
        }
        if name.eq_ignore_ascii_case(want) && best.as_deref().is_none_or(|b| name < b) {
            best = Some(name.to_vec());
        }
    }
    best
}

impl BootRoot for FsRoot {
    fn open(&self, path: &str) -> Option<Arc<dyn FileSource>> {
        let (file, (_, _, len, _, _)) = self.open_regular(path)?;
        Some(Arc::new(FsFile::new(file, len, self.budget.clone())))
    }

    fn crc32(&self, path: &str) -> Option<u32> {
        let (file, id) = self.open_regular(path)?;
        if let Some(c) = self.crcs.lock().ok()?.get(&id) {
            return Some(*c);
        }
        let len = id.2;
        let mut h = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0;
        while off < len {
            let n = ((len - off) as usize).min(buf.len());
            let got = file.read_at(&mut buf[..n], off).ok()?;
            if got == 0 {
                return None; // truncated under us: no CRC rather than a wrong one
            }
            h.update(&buf[..got]);
            off += got as u64;
        }
        let c = h.finalize();
        self.crcs.lock().ok()?.insert(id, c);
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxelab_engine::tftp::path::normalize;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

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

    const RESOLVERS: [Resolver; 2] = [Resolver::Openat2, Resolver::NoFollowWalk];

    fn root_with(root: &Path, resolver: Resolver) -> FsRoot {
        FsRoot::with(root, resolver, ReadAheadBudget::DEFAULT).unwrap()
    }

    #[test]
    fn this_kernel_has_openat2() {
        // CI's kernels do; were this to fail, the fallback would be in use unnoticed.
        let (base, root) = setup("probe");
        assert_eq!(FsRoot::new(&root).unwrap().resolver(), Resolver::Openat2);
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn r_tftp_3_case_insensitive_backslashes_inside_links_ok() {
        let (base, root) = setup("ok");
        for resolver in RESOLVERS {
            let r = root_with(&root, resolver);
            assert_eq!(
                read(&r, "smsboot\\X64\\BOOTMGFW.EFI").as_deref(),
                Some(&b"efi"[..]),
                "{resolver:?}"
            );
            assert!(r.crc32("smsboot/x64/bootmgfw.efi").is_some());
        }
        // A symlink that stays inside the root is followed by openat2 only.
        let r = root_with(&root, Resolver::Openat2);
        assert_eq!(read(&r, "\\SMSBoot\\inside").as_deref(), Some(&b"efi"[..]));
        let r = root_with(&root, Resolver::NoFollowWalk);
        assert_eq!(read(&r, "\\SMSBoot\\inside"), None);
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn r_tftp_3_an_exact_spelling_wins_over_other_cases() {
        let (base, root) = setup("cases");
        std::fs::write(root.join("BOOT.sdi"), b"upper").unwrap();
        std::fs::write(root.join("boot.sdi"), b"exact").unwrap();
        std::fs::write(root.join("Boot.SDI"), b"mixed").unwrap();
        std::fs::write(root.join("Wim.WIM"), b"wim").unwrap();
        std::fs::write(root.join("WIM.wim"), b"WIM").unwrap();
        for resolver in RESOLVERS {
            let r = root_with(&root, resolver);
            assert_eq!(read(&r, "boot.sdi").as_deref(), Some(&b"exact"[..]));
            // No exact spelling: the smallest in byte order, whatever the listing's order.
            assert_eq!(read(&r, "wim.wim").as_deref(), Some(&b"WIM"[..]));
        }
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn r_tftp_3_links_out_of_the_root_devices_fifos_and_dirs_are_refused() {
        let (base, root) = setup("escape");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        symlink("/proc/self/root/etc/passwd", root.join("magic")).unwrap();
        for resolver in RESOLVERS {
            let r = root_with(&root, resolver);
            for bad in [
                "escape",
                "SMSBoot/up",
                "zero",
                "fifo",
                "magic",
                "smsboot",
                "smsboot/x64",
                "../secret",
                "/etc/passwd",
                "nothing",
                "smsboot/x64/bootmgfw.efi/x",
            ] {
                assert_eq!(read(&r, bad), None, "{bad} ({resolver:?})");
                let p = normalize(bad.as_bytes());
                assert_eq!(p.ok().and_then(|p| r.crc32(&p)), None, "{bad}");
            }
        }
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn the_root_is_held_by_descriptor_not_by_path() {
        let (base, root) = setup("moved");
        let r = FsRoot::new(&root).unwrap();
        std::fs::rename(&root, base.join("elsewhere")).unwrap();
        std::fs::create_dir_all(root.join("SMSBoot/x64")).unwrap();
        std::fs::write(root.join("SMSBoot/x64/bootmgfw.efi"), b"new").unwrap();
        assert_eq!(
            read(&r, "smsboot/x64/bootmgfw.efi").as_deref(),
            Some(&b"efi"[..])
        );
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn a_crc_follows_the_files_content() {
        let (base, root) = setup("crc");
        let r = FsRoot::new(&root).unwrap();
        let path = root.join("SMSBoot/x64/bootmgfw.efi");
        assert_eq!(
            r.crc32("smsboot/x64/bootmgfw.efi"),
            Some(crc32fast::hash(b"efi"))
        );
        std::fs::write(&path, b"changed").unwrap();
        assert_eq!(
            r.crc32("smsboot/x64/bootmgfw.efi"),
            Some(crc32fast::hash(b"changed"))
        );
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn open_files_share_the_read_ahead_budget_and_read_right_past_it() {
        let (base, root) = setup("budget");
        let content: Vec<u8> = (0..600_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(root.join("big"), &content).unwrap();
        let r = FsRoot::with(&root, Resolver::Openat2, FsFile::AHEAD * 2 + 1000).unwrap();
        let files: Vec<_> = (0..6).map(|_| r.open("big").unwrap()).collect();
        let mut block = vec![0u8; 1432];
        for at in (0..content.len()).step_by(50_000) {
            for f in &files {
                let n = block.len().min(content.len() - at);
                f.read_at(at as u64, &mut block[..n]);
                assert_eq!(&block[..n], &content[at..at + n], "at {at}");
                assert!(r.budget().lent() <= FsFile::AHEAD * 2 + 1000);
            }
        }
        assert!(r.budget().lent() > 0, "no file got a window");
        drop(files);
        assert_eq!(r.budget().lent(), 0, "windows not given back");
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
            let f = FsFile::new(File::open(&path).unwrap(), len as u64, Arc::new(ReadAheadBudget::new(ReadAheadBudget::DEFAULT)));
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
