//! One transfer of the bench: a client's download through the chosen link, timed,
//! and a firmware's download read from the switch's log.

use super::*;

/// One transfer of the bench.
#[derive(Clone, Copy, Debug)]
pub struct Transfer<'a> {
    pub client: Client,
    pub link: Link,
    pub file: &'a str,
    pub size: u64,
    pub block: u16,
    pub window: u16,
    /// Killed after this long.
    pub limit: Duration,
}

/// The bench's link for a point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Link {
    /// Through the userspace switch with this model.
    Emulated(LinkModel),
    /// The plain veth pair.
    Veth,
}

impl BenchLab {
    /// One transfer, killed after its time limit.
    pub fn transfer(&mut self, t: &Transfer) -> Result<GetResult, String> {
        let Transfer {
            client,
            link,
            file,
            size,
            block,
            window,
            limit,
        } = *t;
        let server_ip = match link {
            Link::Emulated(m) => {
                self.set_link(m)?;
                self.family.switch_server()
            }
            Link::Veth => self.family.veth_server(),
        };
        if self.family == Family::V6 {
            self.serve_from(server_ip)?;
        }
        match client {
            Client::Ovmf | Client::Ipxe if self.family == Family::V6 => Err(format!(
                "{} boots by PXE over IPv4 in the bench; it has no IPv6 point",
                client.name()
            )),
            Client::Ovmf | Client::Ipxe => match link {
                Link::Veth => Err(format!(
                    "{} boots on the switch; it has no veth point",
                    client.name()
                )),
                Link::Emulated(_) => self.firmware_transfer(client, file, size, limit),
            },
            Client::Pxelab => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &self.ns_cli])
                    .arg(&self.exe)
                    .args(["lab", "tftp-get", "--server", server_ip, "--file", file])
                    .args(["--block-size", &block.to_string()])
                    .args(["--window-size", &window.to_string()]);
                let out = run_limited(&mut cmd, limit)?;
                match out {
                    None => Ok(timed_out(limit)),
                    Some(text) => {
                        let line = text.lines().last().unwrap_or("");
                        let mut r: GetResult = serde_json::from_str(line)
                            .map_err(|e| format!("pxelab lab tftp-get printed `{line}`: {e}"))?;
                        if r.error.is_none() && r.bytes != size {
                            r.error = Some(format!("received {} of {size} bytes", r.bytes));
                            r.seconds = None;
                        }
                        Ok(r)
                    }
                }
            }
            Client::Atftp => {
                let local = self.dir.join("atftp.out");
                let _ = std::fs::remove_file(&local);
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &self.ns_cli])
                    .arg(find_program("atftp").ok_or("atftp is not installed")?)
                    .args(["--option", &format!("blksize {block}")])
                    .args(["--option", &format!("windowsize {window}")])
                    .args(["--option", "tsize 0", "-g", "-r", file, "-l"])
                    .arg(&local)
                    .arg(server_ip);
                let t0 = Instant::now();
                let out = run_limited(&mut cmd, limit)?;
                let secs = t0.elapsed().as_secs_f64();
                let got = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
                let _ = std::fs::remove_file(&local);
                match out {
                    None => Ok(timed_out(limit)),
                    Some(_) if got == size => Ok(GetResult {
                        seconds: Some(secs),
                        bytes: got,
                        crc32: None,
                        block_size: 0,
                        window_size: 0,
                        timeouts: 0,
                        error: None,
                    }),
                    Some(_) => Ok(GetResult {
                        seconds: None,
                        bytes: got,
                        crc32: None,
                        block_size: 0,
                        window_size: 0,
                        timeouts: 0,
                        error: Some(format!("atftp received {got} of {size} bytes")),
                    }),
                }
            }
        }
    }

    /// One HTTP download of `file` by curl in the client namespace over `link`, from
    /// the running HTTP server (port [`HTTP_PORT`]): curl's
    /// `time_total`, from before the connection to the last byte, the counterpart of
    /// TFTP's read request to last block. The body goes to /dev/null.
    pub fn http_transfer(
        &mut self,
        link: Link,
        file: &str,
        size: u64,
        limit: Duration,
    ) -> Result<GetResult, String> {
        let host = match link {
            Link::Emulated(m) => {
                self.set_link(m)?;
                self.family.switch_server()
            }
            Link::Veth => self.family.veth_server(),
        };
        let url = match self.family {
            Family::V4 => format!("http://{host}:{}/{file}", HTTP_PORT),
            Family::V6 => format!("http://[{host}]:{}/{file}", HTTP_PORT),
        };
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns_cli])
            .arg(find_program("curl").ok_or("curl is not installed")?)
            .args([
                "-s",
                "-g",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{size_download} %{time_total}",
            ])
            .arg(&url);
        Ok(match run_limited(&mut cmd, limit)? {
            None => timed_out(limit),
            Some(out) => curl_result(&out, size),
        })
    }

    /// A firmware client downloads `file` as its boot program: dnsmasq in the client
    /// namespace answers its DHCP with the file and the server's address, QEMU boots
    /// the firmware on the switch's firmware port, and the switch reports the read
    /// request and the DATA lengths it forwards; the time runs from the first read
    /// request to the short last DATA (the firmware's tsize probe included, as it is
    /// part of how it downloads). QEMU and dnsmasq are stopped after each transfer.
    fn firmware_transfer(
        &mut self,
        client: Client,
        file: &str,
        size: u64,
        limit: Duration,
    ) -> Result<GetResult, String> {
        let firmware = client.firmware().expect("a firmware client");
        let vm = self.dir.join("fw-vm");
        let _ = std::fs::remove_dir_all(&vm);
        std::fs::create_dir_all(&vm).map_err(|e| e.to_string())?;
        let mut dhcp = Command::new("ip");
        dhcp.args(["netns", "exec", &self.ns_cli])
            .arg(find_program("dnsmasq").ok_or("dnsmasq is not installed")?)
            .args(DNSMASQ_BASE)
            .args([
                "--bind-interfaces",
                "--dhcp-range=10.201.0.100,10.201.0.200,255.255.255.0",
                "--log-facility=/dev/null",
            ])
            .arg(format!("--interface=px{}s0p1", self.id))
            .arg(format!("--dhcp-boot={file},,{SWITCH_SERVER}"))
            .arg(format!("--dhcp-leasefile={}", vm.join("leases").display()))
            .arg(format!("--pid-file={}", vm.join("dnsmasq.pid").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = procs::prepare(&mut dhcp)
            .spawn()
            .map_err(|e| format!("cannot start dnsmasq for the firmware: {e}"))?;
        self.procs.add("fw-dhcp", child);
        self.switch_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let switch_sock = self.dir.join("fw.sw");
        let qemu_sock = self.dir.join("fw.vm");
        let _ = std::fs::remove_file(&qemu_sock);
        let m = crate::qemu::ClientMachine {
            firmware,
            mac: "52:54:00:fb:00:01".into(),
            uuid: None,
            memory_mib: 512 + size.div_ceil(1 << 20),
            switch_sock: &switch_sock,
            qemu_sock: &qemu_sock,
            dir: &vm,
            netboot: pxelab_scenario::Netboot::Pxe4,
        };
        let mut cmd = crate::qemu::command(&m)?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = procs::prepare(&mut cmd)
            .spawn()
            .map_err(|e| format!("cannot start QEMU for {}: {e}", client.name()))?;
        self.procs.add("fw-qemu", child);
        // The firmware's POST under TCG comes first: the limit counts from its request.
        let deadline = Instant::now() + limit + Duration::from_secs(90);
        let mut result = None;
        while Instant::now() < deadline && result.is_none() {
            if procs::interrupted() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            let ev = self
                .switch_events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            result = firmware_download_time(&ev, size);
        }
        self.procs.kill("fw-qemu");
        self.procs.kill("fw-dhcp");
        let _ = std::fs::remove_dir_all(&vm);
        Ok(match result {
            Some((secs, block)) => GetResult {
                seconds: Some(secs),
                bytes: size,
                crc32: None,
                block_size: block,
                window_size: 0,
                timeouts: 0,
                error: None,
            },
            None => failed(format!(
                "{} did not download the file within {:.0} s",
                client.name(),
                limit.as_secs_f64() + 90.0
            )),
        })
    }
}

/// From the switch's `rrq T` / `data BLOCK LEN T` lines about the firmware port: the
/// seconds from the first read request to the DATA that ends a transfer of `size`
/// bytes (its block number and length say so), and the block size it used.
pub fn firmware_download_time(events: &[String], size: u64) -> Option<(f64, usize)> {
    let mut first_rrq: Option<u64> = None;
    let mut block_len: Option<usize> = None;
    for e in events {
        let f: Vec<&str> = e.split_whitespace().collect();
        match f.as_slice() {
            ["rrq", t] => {
                let t: u64 = t.parse().ok()?;
                first_rrq.get_or_insert(t);
                block_len = None;
            }
            ["data", block, len, t] => {
                let (block, len, t): (u16, usize, u64) =
                    (block.parse().ok()?, len.parse().ok()?, t.parse().ok()?);
                let data = len.saturating_sub(4);
                match block_len {
                    None if block == 1 => block_len = Some(data),
                    Some(b) if b > 0 => {
                        let last = (size / b as u64 + 1) as u16;
                        if block == last && (data as u64) == size % b as u64 {
                            let start = first_rrq?;
                            return Some((t.saturating_sub(start) as f64 / 1e9, b));
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    None
}

/// curl's `-w '%{http_code} %{size_download} %{time_total}'` line as a result: the
/// time when the status was 200 and every byte came.
pub fn curl_result(out: &str, size: u64) -> GetResult {
    let f: Vec<&str> = out.split_whitespace().collect();
    let parsed = match f.as_slice() {
        [code, bytes, secs] => match (bytes.parse::<u64>(), secs.parse::<f64>()) {
            (Ok(b), Ok(t)) => Some((*code, b, t)),
            _ => None,
        },
        _ => None,
    };
    match parsed {
        Some(("200", b, t)) if b == size => GetResult {
            seconds: Some(t),
            bytes: b,
            crc32: None,
            block_size: 0,
            window_size: 0,
            timeouts: 0,
            error: None,
        },
        Some((code, b, _)) => failed(format!("HTTP status {code}, {b} of {size} bytes")),
        None => failed(format!("curl printed `{}`", out.trim())),
    }
}

/// A transfer that gave no result, and why.
fn failed(error: String) -> GetResult {
    GetResult {
        seconds: None,
        bytes: 0,
        crc32: None,
        block_size: 0,
        window_size: 0,
        timeouts: 0,
        error: Some(error),
    }
}

fn timed_out(limit: Duration) -> GetResult {
    failed(format!("no result within {} s", limit.as_secs()))
}

/// Runs a command, its stdout captured; `None` when it ran past `limit` (it is killed)
/// or the run was interrupted.
pub(super) fn run_limited(cmd: &mut Command, limit: Duration) -> Result<Option<String>, String> {
    let mut child = procs::prepare(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()))
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline || procs::interrupted() => {
                // The process group of our own child (prepare() made it).
                pxelab_system::process::signal_group(
                    child.id(),
                    pxelab_system::process::Signal::KILL,
                );
                let _ = child.wait();
                return Ok(None);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(Some(reader.join().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curl_line_is_a_time_only_for_200_and_every_byte() {
        let ok = curl_result("200 1048576 0.012345", 1 << 20);
        assert_eq!((ok.seconds, ok.error), (Some(0.012345), None));
        let short = curl_result("200 1000 0.01", 1 << 20);
        assert_eq!(short.seconds, None);
        assert!(short.error.unwrap().contains("1000 of 1048576"));
        let missing = curl_result("404 0 0.001", 10);
        assert!(missing.error.unwrap().starts_with("HTTP status 404"));
        assert!(curl_result("", 10).error.unwrap().contains("curl printed"));
    }
}
