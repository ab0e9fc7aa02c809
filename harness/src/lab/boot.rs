//! A lab's client boots: QEMU started per boot with its serial console read (Enter
//! pressed at the prompt when the client does), or a modelled client told to boot; and
//! each boot judged once it has finished (`judge.rs` decides the outcome).

use super::LabError;
use super::{Boot, Lab, Serial, BOOT_TIMED_OUT};
use crate::judge::{self, strip_ansi};
use crate::{procs, qemu};
use pxelab_scenario::Netboot;
use pxelab_sim::result::BootRecord;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

impl Lab<'_> {
    /// Boots `client` by `netboot` (a `boot` event's own, v1.1), else by the client's.
    pub(super) fn boot_client(
        &mut self,
        client: &str,
        netboot: Option<Netboot>,
    ) -> Result<(), LabError> {
        let sc = self.sc;
        let c = sc
            .client(client)
            .ok_or_else(|| LabError::UnknownClient(client.to_string()))?;
        let netboot = netboot.unwrap_or(c.netboot);
        if self.opts.model_clients {
            let n = self.boots.iter().filter(|b| b.client == client).count() as u32 + 1;
            if let Some(prev) = self.boots.iter_mut().rev().find(|b| b.client == client) {
                // A reboot: the swarm starts the client over; the earlier boot is over.
                if prev.done.is_none() {
                    prev.what = "rebooted".into();
                }
            }
            let stdin = self
                .swarm_stdin
                .get_mut(&c.segment)
                .ok_or_else(|| LabError::NoModelledClients(c.segment.clone()))?;
            stdin
                .write_all(format!("boot {client}\n").as_bytes())
                .and_then(|_| stdin.flush())
                .map_err(|source| LabError::ModelledClientsInput {
                    segment: c.segment.clone(),
                    source,
                })?;
            self.boots.push(Boot {
                client: client.to_string(),
                n,
                at_s: self.t0.elapsed().as_secs_f64(),
                started: Instant::now(),
                serial: Arc::new(Mutex::new(Serial::default())),
                what: "model".into(),
                netboot,
                done: None,
            });
            return Ok(());
        }
        // A client booted again is the same machine rebooted.
        if let Some(prev) = self.boots.iter_mut().rev().find(|b| b.client == client) {
            if prev.done.is_none() {
                self.procs.kill(&prev.what);
            }
        }
        let n = self.boots.iter().filter(|b| b.client == client).count() as u32 + 1;
        let vm_dir = self.dir.join(format!("vm-{client}-{n}"));
        std::fs::create_dir_all(&vm_dir)?;
        let max_image = sc
            .site
            .boot_images
            .iter()
            .map(|i| i.size)
            .max()
            .unwrap_or(0);
        let memory_mib = 512 + max_image.div_ceil(1 << 20);
        let switch_sock = self.dir.join(format!("{client}.sw"));
        let qemu_sock = self.dir.join(format!("{client}.vm"));
        let _ = std::fs::remove_file(&qemu_sock);
        let m = qemu::ClientMachine {
            firmware: c.firmware,
            mac: c.mac.to_string().to_ascii_lowercase(),
            uuid: c.smbios_guid.map(|g| g.to_string()),
            memory_mib,
            switch_sock: &switch_sock,
            qemu_sock: &qemu_sock,
            dir: &vm_dir,
            // QEMU starts per boot: this boot's option first (`ovmf_knobs`).
            netboot,
        };
        let mut cmd = qemu::command(&m)?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(
                vm_dir.join("qemu.stderr"),
            )?));
        let mut child = procs::prepare(&mut cmd)
            .spawn()
            .map_err(|source| LabError::QemuStart {
                client: client.to_string(),
                source,
            })?;
        let mut stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        let what = format!("qemu-{client}-{n}");
        self.procs.add(&what, child);
        let serial = Arc::new(Mutex::new(Serial::default()));
        let (s2, t0, press) = (serial.clone(), Instant::now(), c.press_key);
        let console = vm_dir.join("serial.log");
        std::thread::spawn(move || {
            let mut f = std::fs::File::create(console).ok();
            let mut buf = [0u8; 4096];
            let mut cur = Vec::new();
            loop {
                let n = match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if let Some(f) = f.as_mut() {
                    let _ = f.write_all(&buf[..n]);
                }
                for &b in &buf[..n] {
                    if b == b'\n' || b == b'\r' {
                        if cur.is_empty() {
                            continue;
                        }
                        let line = strip_ansi(&String::from_utf8_lossy(&cur));
                        cur.clear();
                        if press && line.contains("PXELAB PROMPT") {
                            // The user presses Enter at the network boot prompt.
                            let _ = stdin.write_all(b"\r");
                            let _ = stdin.flush();
                        }
                        s2.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .lines
                            .push((t0.elapsed().as_secs_f64(), line));
                    } else {
                        cur.push(b);
                    }
                }
            }
            s2.lock().unwrap_or_else(|p| p.into_inner()).exited = Some(t0.elapsed().as_secs_f64());
        });
        self.boots.push(Boot {
            client: client.to_string(),
            n,
            at_s: self.t0.elapsed().as_secs_f64(),
            started: Instant::now(),
            serial,
            what,
            netboot,
            done: None,
        });
        self.say(&format!(
            "boot {client} ({}, {netboot})",
            c.firmware.as_str()
        ));
        Ok(())
    }

    /// Judges boots that have finished (a final marker, QEMU gone, or out of time).
    pub(super) fn judge(&mut self) {
        if self.opts.model_clients {
            self.judge_models();
            return;
        }
        let sc = self.sc;
        let mut finished = Vec::new();
        for (i, b) in self.boots.iter().enumerate() {
            if b.done.is_some() {
                continue;
            }
            let s = b.serial.lock().unwrap_or_else(|p| p.into_inner());
            let mac = sc
                .client(&b.client)
                .expect("booted clients exist")
                .mac
                .to_string();
            let answered = self
                .logs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|(_, _, l)| judge::answered(l, &mac));
            let Some(v) = judge::judge(&judge::Observation {
                serial: &s.lines,
                exited: s.exited,
                timed_out: b.started.elapsed() > self.opts.boot_timeout,
                answered,
                boot_option: judge::edk2_boot_option(b.netboot),
            }) else {
                continue;
            };
            // From the firmware's first DHCP request, as the simulator counts (its
            // power-on is the first DISCOVER); QEMU's start-up under TCG is not the
            // network's time. From QEMU's start when no request was seen.
            let end = v
                .ended_s
                .map(|t| b.started + Duration::from_secs_f64(t))
                .unwrap_or_else(Instant::now);
            let first_dhcp = self
                .dhcp_seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&b.client)
                .and_then(|v| v.iter().find(|t| **t >= b.started).copied());
            let took = end
                .saturating_duration_since(first_dhcp.unwrap_or(b.started))
                .as_secs_f64();
            let firmware_start = first_dhcp.map(|t| t.duration_since(b.started).as_secs_f64());
            // `server=` is an IPv4 or IPv6 address (the boot program prints IPv6 in
            // its shortest form; parsed, any form matches).
            let server: Option<std::net::IpAddr> = v.server.as_deref().and_then(|s| s.parse().ok());
            let served_by = server.and_then(|ip| {
                sc.network
                    .responders
                    .iter()
                    .find(|r| {
                        std::net::IpAddr::V4(r.config.address) == ip
                            || r.config.address6.map(std::net::IpAddr::V6) == Some(ip)
                    })
                    .map(|r| r.config.name.clone())
            });
            finished.push((
                i,
                firmware_start,
                BootRecord {
                    client: b.client.clone(),
                    boot: b.n,
                    outcome: Some(v.outcome.into()),
                    boot_image: v.boot_image,
                    deployment: v.deployment,
                    served_by,
                    at_s: b.at_s,
                    took_s: Some(took),
                    netboot: netboot_field(b.netboot),
                },
            ));
        }
        for (i, firmware_start, rec) in finished {
            self.say(&format!(
                "{} boot {}: {} after {:.1}s (first DHCP request {} after QEMU started)",
                rec.client,
                rec.boot,
                rec.outcome.as_deref().unwrap_or("?"),
                rec.took_s.unwrap_or(0.0),
                firmware_start.map_or("never".to_string(), |t| format!("{t:.1}s"))
            ));
            let what = self.boots[i].what.clone();
            self.procs.kill(&what);
            self.boots[i].done = Some(rec);
        }
    }

    /// Judges modelled boots from the swarms' results (in order per client), or when
    /// out of time.
    pub(super) fn judge_models(&mut self) {
        let sc = self.sc;
        let results: Vec<crate::swarm::SwarmResult> =
            std::mem::take(&mut *self.swarm_results.lock().unwrap_or_else(|p| p.into_inner()));
        let name_of = |ip: Option<Ipv4Addr>| {
            ip.and_then(|ip| {
                sc.network
                    .responders
                    .iter()
                    .find(|r| r.config.address == ip)
                    .map(|r| r.config.name.clone())
            })
        };
        for r in results {
            let Some(b) = self
                .boots
                .iter_mut()
                .find(|b| b.client == r.client && b.done.is_none() && b.what == "model")
            else {
                continue;
            };
            b.done = Some(BootRecord {
                client: b.client.clone(),
                boot: b.n,
                outcome: Some(r.outcome.clone()),
                boot_image: r.boot_image.clone(),
                deployment: r.deployment.clone(),
                served_by: name_of(r.served_by),
                at_s: b.at_s,
                took_s: Some(r.took_s),
                netboot: netboot_field(b.netboot),
            });
        }
        let timeout = self.opts.boot_timeout;
        for b in &mut self.boots {
            if b.done.is_none() && (b.what == "rebooted" || b.started.elapsed() > timeout) {
                if b.what != "rebooted" {
                    // A boot the model never finished: judged failed, and said so (a
                    // soak counts these as hung).
                    self.logs.lock().unwrap_or_else(|p| p.into_inner()).push((
                        self.t0.elapsed().as_secs_f64(),
                        "lab".into(),
                        format!("{} boot {}: {BOOT_TIMED_OUT}", b.client, b.n),
                    ));
                }
                b.done = Some(BootRecord {
                    client: b.client.clone(),
                    boot: b.n,
                    outcome: Some("failed".into()),
                    boot_image: None,
                    deployment: None,
                    served_by: None,
                    at_s: b.at_s,
                    took_s: Some(b.started.elapsed().as_secs_f64()),
                    netboot: netboot_field(b.netboot),
                });
            }
        }
        let pending = self.boots.iter().filter(|b| b.done.is_none()).count();
        if pending > 0 {
            let done = self.boots.len() - pending;
            if let Some(p) = &self.opts.progress {
                p.report(&format!(
                    "{done} of {} modelled boots finished",
                    self.boots.len()
                ));
            }
        }
    }
}

/// A boot's `netboot` in the results, as the simulator gives it: absent for PXE over
/// IPv4 (v1 results unchanged).
fn netboot_field(netboot: Netboot) -> Option<String> {
    (netboot != Netboot::Pxe4).then(|| netboot.to_string())
}
