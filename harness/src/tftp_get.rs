//! `pxelab lab tftp-get`: our own TFTP client on a real UDP socket, the engine's client
//! state machine (`engine::tftp::client`) driven by blocking I/O. `pxelab bench tftp
//! --mode lab` runs it in the client namespace; it prints one JSON line: the seconds from
//! the read request to the last block, the bytes and CRC-32 received, and the options
//! the server granted.

use pxelab_engine::tftp::client::{ClientConfig, ClientStatus, ClientTransfer};
use pxelab_engine::Instant;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct GetOptions {
    /// IPv4 or IPv6: the socket is of the server's family.
    pub server: IpAddr,
    pub port: u16,
    pub file: String,
    /// `blksize` to ask for; none when `None`.
    pub block_size: Option<u16>,
    /// `windowsize` to ask for; none when `None`.
    pub window_size: Option<u16>,
    /// Ask for `tsize 0`.
    pub tsize: bool,
    /// Retransmission timeout.
    pub timeout: Duration,
    /// Check the bytes with a CRC-32.
    pub verify: bool,
    /// The local UDP port to ask from (0: any).
    pub local_port: u16,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GetResult {
    /// Seconds from the read request to the last block; `None` when it failed.
    pub seconds: Option<f64>,
    pub bytes: u64,
    pub crc32: Option<u32>,
    pub block_size: usize,
    pub window_size: u64,
    pub timeouts: u64,
    pub error: Option<String>,
}

/// One download. I/O errors of the socket itself are errors; what the server does
/// (an error packet, silence) is a result with `error` set.
pub fn get(o: &GetOptions) -> Result<GetResult, String> {
    let any: IpAddr = match o.server {
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let sock = UdpSocket::bind((any, o.local_port)).map_err(|e| format!("bind: {e}"))?;
    // Large windows of large blocks arrive back to back: a deep receive buffer keeps
    // the kernel from dropping them while this process is not scheduled.
    let s2 = socket2::SockRef::from(&sock);
    let _ = s2.set_recv_buffer_size(4 << 20);
    let mut options = Vec::new();
    if let Some(b) = o.block_size {
        options.push(("blksize".to_string(), b.to_string()));
    }
    if let Some(w) = o.window_size {
        options.push(("windowsize".to_string(), w.to_string()));
    }
    if o.tsize {
        options.push(("tsize".to_string(), "0".to_string()));
    }
    let cfg = ClientConfig {
        options,
        timeout: o.timeout,
        max_retries: 8,
        verify: o.verify,
        keep: false,
    };
    let t0 = std::time::Instant::now();
    let now = || Instant::from_nanos(t0.elapsed().as_nanos() as u64);
    let mut out = Vec::new();
    let mut client = ClientTransfer::start(now(), &o.file, &cfg, &mut out);
    let mut dst = SocketAddr::new(o.server, o.port);
    let mut buf = vec![0u8; 65536];
    loop {
        for p in out.drain(..) {
            sock.send_to(&p, dst)
                .map_err(|e| format!("send to {dst}: {e}"))?;
        }
        let stats = client.stats();
        match client.status().clone() {
            ClientStatus::Active => {}
            ClientStatus::Done { bytes, crc32 } => {
                return Ok(GetResult {
                    seconds: Some(t0.elapsed().as_secs_f64()),
                    bytes,
                    crc32,
                    block_size: stats.block_size,
                    window_size: stats.window_size,
                    timeouts: stats.timeouts,
                    error: None,
                })
            }
            ClientStatus::Failed(f) => {
                return Ok(GetResult {
                    seconds: None,
                    bytes: 0,
                    crc32: None,
                    block_size: stats.block_size,
                    window_size: stats.window_size,
                    timeouts: stats.timeouts,
                    error: Some(f.message),
                })
            }
        }
        let wait = client
            .poll_timeout()
            .map(|d| Duration::from_nanos(d.as_nanos().saturating_sub(now().as_nanos())))
            .unwrap_or(o.timeout)
            .max(Duration::from_micros(1));
        sock.set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        match sock.recv_from(&mut buf) {
            Ok((n, src)) if src.ip() == o.server => {
                client.handle_packet(now(), src.port(), &buf[..n], &mut out);
                if let Some(p) = client.server_port() {
                    dst = SocketAddr::new(o.server, p);
                }
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                client.handle_timeout(now(), &mut out);
            }
            Err(e) => return Err(format!("receive: {e}")),
        }
    }
}
