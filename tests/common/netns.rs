//! Network namespaces for the tests that run `pxelab serve` as a real daemon
//! (serve_netns.rs, serve6_netns.rs): a run directory with the site's boot root, a
//! server and a client namespace joined by a veth pair, the daemon started in one.
//! Everything is removed when the [`Lab`] is dropped, also when an assertion fails.
//! Needs root; traffic stays inside the namespaces.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Everything the test made, removed on drop.
pub struct Lab {
    pub namespaces: Vec<String>,
    pub children: Vec<Child>,
    pub dir: PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Lab {
    /// A fresh run directory `tag` (under the temporary directory) holding `site.yaml`
    /// (`scenario`) and the boot root of image PS100002: its x64 boot program
    /// (`pattern(100_000, 1)`) and image (`pattern(image_size, 2)`), and two symlinks
    /// to a secret outside the root that must never be served (R-TFTP-3).
    pub fn new(tag: &str, scenario: &str, image_size: usize) -> Lab {
        assert!(
            is_root(),
            "this test builds network namespaces: run it as root (scripts/test-all.sh does)"
        );
        let dir = std::env::temp_dir().join(tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/SMSBoot/PS100002/x64")).unwrap();
        std::fs::create_dir_all(dir.join("root/smsimages/PS100002")).unwrap();
        std::fs::write(
            dir.join("root/SMSBoot/PS100002/x64/bootmgfw.efi"),
            pattern(100_000, 1),
        )
        .unwrap();
        std::fs::write(
            dir.join("root/smsimages/PS100002/boot.PS100002.wim"),
            pattern(image_size, 2),
        )
        .unwrap();
        std::fs::write(dir.join("site.yaml"), scenario).unwrap();
        std::fs::write(dir.join("secret"), b"outside the root").unwrap();
        std::os::unix::fs::symlink(dir.join("secret"), dir.join("root/escape")).unwrap();
        std::os::unix::fs::symlink("../../secret", dir.join("root/SMSBoot/up")).unwrap();
        Lab {
            namespaces: Vec::new(),
            children: Vec::new(),
            dir,
        }
    }

    /// Namespaces `TAG-s` (server, 10.10.0.5/24) and `TAG-c` (client, 10.10.0.100/24)
    /// joined by a veth pair, `eth0` in each, their links still down (see [`link_up`]).
    /// `ipv6`: IPv6 on and no duplicate address detection, so addresses are usable at
    /// once. Returns the server's and the client's namespace.
    pub fn namespace_pair(&mut self, tag: &str, ipv6: bool) -> (String, String) {
        let (s, c) = (format!("{tag}-s"), format!("{tag}-c"));
        for ns in [&s, &c] {
            ip(&["netns", "add", ns]);
            self.namespaces.push(ns.clone());
            if ipv6 {
                for k in ["all", "default"] {
                    sysctl(ns, &format!("net.ipv6.conf.{k}.disable_ipv6=0"));
                    sysctl(ns, &format!("net.ipv6.conf.{k}.accept_dad=0"));
                }
            }
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&[
            "-n", &s, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", &c,
        ]);
        ip(&["-n", &s, "addr", "add", "10.10.0.5/24", "dev", "eth0"]);
        ip(&["-n", &c, "addr", "add", "10.10.0.100/24", "dev", "eth0"]);
        (s, c)
    }

    /// `pxelab serve` as dp1 of `site.yaml`, in namespace `ns` on its `eth0`, serving
    /// `root/`, its log in `serve.log` (returned), once it has started.
    pub fn start_serve(&mut self, ns: &str) -> PathBuf {
        let dir = self.dir.clone();
        let log = dir.join("serve.log");
        let server = Command::new("ip")
            .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_pxelab"), "serve"])
            .args(["--interface", "eth0", "--responder", "dp1", "--scenario"])
            .arg(dir.join("site.yaml"))
            .arg("--root")
            .arg(dir.join("root"))
            .arg("--state")
            .arg(dir.join("state.db"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        self.children.push(server);
        wait_started(&log);
        log
    }
}

/// Brings `eth0` up in both namespaces of a pair.
pub fn link_up(server: &str, client: &str) {
    ip(&["-n", server, "link", "set", "eth0", "up"]);
    ip(&["-n", client, "link", "set", "eth0", "up"]);
}

/// Waits up to 10 s for `pxelab serve` to log that it started, else fails with its log.
pub fn wait_started(log: &Path) {
    let started = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("PXE responder started")
    });
    assert!(
        started,
        "serve did not start:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// `ip ARGS...`, which must succeed.
pub fn ip(args: &[&str]) {
    let st = Command::new("ip")
        .args(args)
        .status()
        .expect("iproute2 `ip`");
    assert!(st.success(), "ip {} failed", args.join(" "));
}

/// `sysctl -w SETTING` in namespace `ns`, which must succeed.
pub fn sysctl(ns: &str, setting: &str) {
    let st = Command::new("ip")
        .args(["netns", "exec", ns, "sysctl", "-qw", setting])
        .status()
        .expect("sysctl");
    assert!(st.success(), "sysctl {setting} in {ns}");
}

pub fn is_root() -> bool {
    pxelab_system::process::is_root()
}

/// `n` bytes that differ with `seed`: what the boot root's files hold.
pub fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Moves this thread (only) into network namespace `ns`: sockets it opens afterwards
/// live there.
pub fn enter_namespace(ns: &str) {
    pxelab_system::netns::enter(ns).unwrap();
}
