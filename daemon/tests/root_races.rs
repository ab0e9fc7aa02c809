//! The boot root holds against a local writer racing the daemon (R-TFTP-3): while one
//! thread swaps a directory of the root with a symlink to a directory outside it, and a
//! regular file with a FIFO (atomic `renameat2` exchanges, as an attacker with a shell
//! on the responder's machine would), requests run thousands of times. Not one read may
//! return the outside file's bytes, and no open may block on the FIFO.

use pxelab_daemon::root::{FsRoot, ReadAheadBudget, Resolver};
use pxelab_engine::responder::BootRoot;
use rustix::fs::{renameat_with, RenameFlags, CWD};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const REQUESTS: usize = 5_000;
/// An open blocked on a FIFO never returns; a healthy loop makes progress many times a
/// second even on a loaded machine. This is a hang detector, not a timing assertion.
const STALL: Duration = Duration::from_secs(60);

struct Tree {
    base: PathBuf,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// `base/root/boot/f` says "inside"; `base/out/f` says "SECRET"; `base/root/swap` is a
/// symlink to `../out`. `base/root/file` is a regular file, `base/root/fifo` a FIFO.
fn tree(name: &str) -> (Tree, PathBuf) {
    let base = std::env::temp_dir().join(format!("pxelab-race-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(root.join("boot")).unwrap();
    std::fs::create_dir_all(base.join("out")).unwrap();
    std::fs::write(root.join("boot/f"), b"inside").unwrap();
    std::fs::write(base.join("out/f"), b"SECRET").unwrap();
    std::os::unix::fs::symlink("../out", root.join("swap")).unwrap();
    std::fs::write(root.join("file"), b"regular").unwrap();
    rustix::fs::mknodat(
        CWD,
        root.join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    (Tree { base }, root)
}

/// Exchanges `a` and `b` (both inside `dir`) until told to stop; returns the swaps made.
fn swapper(dir: PathBuf, a: &'static str, b: &'static str, stop: Arc<AtomicBool>) -> usize {
    let mut swaps = 0;
    while !stop.load(Ordering::Relaxed) {
        renameat_with(CWD, dir.join(a), CWD, dir.join(b), RenameFlags::EXCHANGE).unwrap();
        swaps += 1;
    }
    swaps
}

fn read(root: &FsRoot, name: &str) -> Option<Vec<u8>> {
    let f = root.open(name)?;
    let mut v = vec![0u8; f.len() as usize];
    f.read_at(0, &mut v);
    Some(v)
}

/// Runs `requests` on a thread of its own and fails the test, rather than hanging it,
/// when the thread stops making progress.
fn without_stall(requests: impl FnOnce(&AtomicUsize) + Send + 'static) {
    let progress = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    let p = progress.clone();
    std::thread::spawn(move || {
        requests(&p);
        let _ = done_tx.send(());
    });
    let mut last = 0;
    loop {
        match done_rx.recv_timeout(STALL) {
            Ok(()) => return,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the request thread panicked"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let now = progress.load(Ordering::Relaxed);
                assert!(
                    now > last,
                    "no request finished for {STALL:?}: an open blocked (at request {now})"
                );
                last = now;
            }
        }
    }
}

/// Both ways of opening names: the kernel's `openat2`, and the walk for kernels without it.
const RESOLVERS: [Resolver; 2] = [Resolver::Openat2, Resolver::NoFollowWalk];

fn race(name: &str, a: &'static str, b: &'static str, check: fn(&FsRoot) -> usize) {
    for resolver in RESOLVERS {
        race_with(resolver, name, a, b, check);
    }
}

fn race_with(
    resolver: Resolver,
    name: &str,
    a: &'static str,
    b: &'static str,
    check: fn(&FsRoot) -> usize,
) {
    let (tree, root) = tree(&format!("{name}-{resolver:?}"));
    let fs = FsRoot::with(&root, resolver, ReadAheadBudget::DEFAULT).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let dir = root.clone();
    let swapper = std::thread::spawn(move || swapper(dir, a, b, s));
    let outside = Arc::new(AtomicUsize::new(0));
    let o = outside.clone();
    without_stall(move |progress| {
        for _ in 0..REQUESTS {
            o.fetch_add(check(&fs), Ordering::Relaxed);
            progress.fetch_add(1, Ordering::Relaxed);
        }
    });
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0, "the swapper never ran");
    assert_eq!(
        outside.load(Ordering::Relaxed),
        0,
        "{resolver:?}: reads outside the root in {REQUESTS} requests ({swaps} swaps)"
    );
    drop(tree);
}

#[test]
fn r_tftp_3_a_directory_swapped_with_a_symlink_out_of_the_root_is_never_read() {
    race("dir", "boot", "swap", |fs| {
        // Either name may be the directory or the link at any instant.
        ["boot/f", "swap/f"]
            .iter()
            .filter(|n| read(fs, n).is_some_and(|v| v == b"SECRET"))
            .count()
    });
}

#[test]
fn r_tftp_3_a_file_swapped_with_a_fifo_never_blocks_and_is_never_served() {
    race("fifo", "file", "fifo", |fs| {
        for name in ["file", "fifo"] {
            if let Some(v) = read(fs, name) {
                assert_eq!(v, b"regular", "{name} served something else");
            }
        }
        0
    });
}

#[test]
fn r_tftp_3_crc_of_a_swapped_name_is_never_the_outside_files() {
    let outside = crc32fast::hash(b"SECRET");
    for resolver in RESOLVERS {
        let (tree, root) = tree(&format!("crc-{resolver:?}"));
        let fs = FsRoot::with(&root, resolver, ReadAheadBudget::DEFAULT).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let dir = root.clone();
        let swapper = std::thread::spawn(move || swapper(dir, "boot", "swap", s));
        let mut hits = 0;
        for _ in 0..REQUESTS {
            for name in ["boot/f", "swap/f"] {
                hits += usize::from(fs.crc32(name) == Some(outside));
            }
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();
        assert_eq!(hits, 0, "{resolver:?}: CRCs of the outside file");
        drop(tree);
    }
}
