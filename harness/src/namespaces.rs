//! Network namespaces and run ids: a run's namespaces (`pxelab-ID-HOST`) and devices
//! (`pxIDs...`) made and removed, and `pxelab lab clean`, which removes what crashed
//! runs (lab and bench) left: namespaces, their processes, run directories, devices,
//! cgroups.

use crate::cgroups::CpuGroup;
use crate::procs::{in_ns, ip, CommandError};
use pxelab_system::process;
use std::path::Path;

/// A run id (4 hex digits) not used by any run on this machine: the prefix of its
/// namespaces (`pxelab-ID-`), devices (`pxIDs`) and run directory (`/tmp/pxelab-lab-ID`).
pub fn new_run_id() -> String {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id().rotate_left(16);
    let mut id = format!("{:04x}", seed & 0xffff);
    while Path::new(&format!("/tmp/pxelab-lab-{id}")).exists() {
        id = format!(
            "{:04x}",
            (u32::from_str_radix(&id, 16).unwrap_or(0) + 1) & 0xffff
        );
    }
    id
}

/// Turns IPv6 off in a namespace (no autoconfiguration chatter in captures and benches).
pub fn ipv4_only(ns: &str) -> Result<String, CommandError> {
    in_ns(
        ns,
        &[
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ],
    )
}

/// A new namespace with its loopback up and IPv6 off; removed again if that fails.
pub fn add(ns: &str) -> Result<(), CommandError> {
    ip(&["netns", "add", ns])?;
    let ready = in_ns(ns, &["ip", "link", "set", "lo", "up"]).and_then(|_| ipv4_only(ns));
    if let Err(e) = ready {
        let _ = delete(ns);
        return Err(e);
    }
    Ok(())
}

/// Deletes a namespace (its devices go with it).
pub fn delete(ns: &str) -> Result<(), CommandError> {
    ip(&["netns", "del", ns]).map(|_| ())
}

/// Kills (SIGKILL) every process inside a namespace.
pub fn kill_processes(ns: &str) {
    if let Ok(pids) = ip(&["netns", "pids", ns]) {
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
        {
            // A process inside a namespace only pxelab creates.
            process::signal(pid, process::Signal::KILL);
        }
    }
}

/// Removes the devices of run `id` left in the root namespace (taps normally vanish
/// with their switch).
pub fn remove_devices(id: &str) {
    if let Ok(list) = ip(&["-o", "link", "show"]) {
        let prefix = format!("px{id}s");
        for l in list.lines() {
            if let Some(name) = l.split(": ").nth(1) {
                let name = name.split('@').next().unwrap_or(name);
                if name.starts_with(&prefix) {
                    let _ = ip(&["link", "del", name]);
                }
            }
        }
    }
}

/// `pxelab lab clean`: what crashed runs left. Namespaces named `pxelab-*` (the
/// processes in them are stopped first), run directories `/tmp/pxelab-lab-*` whose
/// owner is gone (the processes they list are stopped if they still run pxelab or
/// QEMU), and tap devices of those runs.
pub fn clean() -> Result<usize, CommandError> {
    let mut removed = 0;
    let mut live_ids = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/tmp") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_prefix("pxelab-lab-") else {
                continue;
            };
            let dir = e.path();
            let owner: Option<u32> = std::fs::read_to_string(dir.join("owner"))
                .ok()
                .and_then(|s| s.trim().parse().ok());
            if owner.is_some_and(|p| {
                Path::new(&format!("/proc/{p}")).exists()
                    && std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                        .is_ok_and(|c| c.contains("pxelab"))
            }) {
                live_ids.push(id.to_string());
                continue; // a run in progress
            }
            for pid in std::fs::read_to_string(dir.join("pids"))
                .unwrap_or_default()
                .lines()
            {
                let Ok(pid) = pid.trim().parse::<u32>() else {
                    continue;
                };
                let cmd =
                    std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if cmd.contains("pxelab") || cmd.contains("qemu-system") {
                    // A process this run started.
                    process::signal(pid, process::Signal::KILL);
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
            println!("removed run directory {}", dir.display());
            removed += 1;
        }
    }
    let list = ip(&["netns", "list"])?;
    for ns in list.lines().filter_map(|l| l.split_whitespace().next()) {
        if !ns.starts_with("pxelab-")
            || live_ids
                .iter()
                .any(|id| ns.starts_with(&format!("pxelab-{id}-")))
        {
            continue;
        }
        kill_processes(ns);
        match delete(ns) {
            Ok(_) => {
                println!("removed namespace {ns}");
                removed += 1;
            }
            Err(e) => eprintln!("could not remove namespace {ns}: {e}"),
        }
    }
    if let Ok(links) = ip(&["-o", "link", "show"]) {
        for l in links.lines() {
            let Some(name) = l.split(": ").nth(1) else {
                continue;
            };
            let name = name.split('@').next().unwrap_or(name);
            let is_ours = name.len() >= 7
                && name.starts_with("px")
                && name[2..6].chars().all(|c| c.is_ascii_hexdigit())
                && name[6..].starts_with('s');
            let live = live_ids
                .iter()
                .any(|id| name.starts_with(&format!("px{id}s")));
            if is_ours && !live && ip(&["link", "del", name]).is_ok() {
                println!("removed device {name}");
                removed += 1;
            }
        }
    }
    // The bench's CPU accounting groups (cgroup v2, `pxelab-ID-server`).
    if let Some(mount) = CpuGroup::mount() {
        for e in std::fs::read_dir(&mount).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("pxelab-")
                || live_ids
                    .iter()
                    .any(|id| name.starts_with(&format!("pxelab-{id}-")))
            {
                continue;
            }
            let group = CpuGroup::at(e.path());
            group.kill_members();
            group.remove();
            if !e.path().exists() {
                println!("removed cgroup {}", e.path().display());
                removed += 1;
            }
        }
    }
    Ok(removed)
}
