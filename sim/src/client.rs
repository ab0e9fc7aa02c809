//! A network-booting client: the firmware model (DHCP + PXE + TFTP of the boot
//! program) followed by the boot program model (parameters, prompt, boot image).
//! See docs/MODEL.md for the sequence and its timings.

use pxelab_engine::bootfiles::{self, BootParams};
use pxelab_engine::dhcp::firmware::{self, FirmwareModel, Profile};
use pxelab_engine::policy::{ClientClass, Purpose};
use pxelab_engine::tftp::client::{ClientConfig, ClientStatus, ClientTransfer};
use pxelab_engine::tftp::packet::{self as tftp_packet, Packet};
use pxelab_engine::tftp::server::Pooled;
use pxelab_engine::{Guid, Instant, Mac};
use pxelab_scenario::Netboot;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

// PXE over IPv6 (`netboot: pxe6`), apart.
// DATA blocks by reference: a download fed their CRCs.
mod data_ref;
mod dhcp;
pub(crate) use dhcp::discover_deadline;
use dhcp::Offer;
mod http6;
mod ipxe_conf6;
mod offer_choice;
mod pxe_api;
mod six;
mod size_probe;
mod stack6;
use offer_choice::BootVia;
pub use six::Send6;

/// How long the network boot prompt waits for a key (R-PROMPT-2).
pub const PROMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// How often a long TFTP transfer's progress is noted in the timeline.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// Restarts of DHCP discovery after a REQUEST that got no DHCPACK, per boot.
pub const MAX_RESTARTS: u32 = 2;

/// The outcomes of the format page (`booted`, `no_offer`, `declined`, `failed`).
pub use pxelab_scenario::Outcome;

/// What one boot came to.
#[derive(Clone, Debug, PartialEq)]
pub struct BootResult {
    pub outcome: Outcome,
    pub boot_image: Option<String>,
    pub deployment: Option<String>,
    /// Address of the responder whose boot file the client took, over the family the
    /// boot ran on (IPv6 for `pxe6` and `http6`); none for `no_offer`.
    pub served_by: Option<IpAddr>,
    pub at: Instant,
    pub finished: Instant,
}

/// A datagram the client wants sent.
#[derive(Debug)]
pub struct Send {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub payload: Vec<u8>,
}

enum Phase {
    Idle,
    /// Powered on, the firmware starting (`FirmwareModel::power_on_to_discover`).
    PowerOn {
        until: Instant,
    },
    /// The boot file is named; the firmware reads it after `pxe_ack_to_nbp` (a 4011
    /// ACK) or `timing.ack_to_read` (a DHCP server's own boot file).
    BeforeNbp {
        until: Instant,
        server: Ipv4Addr,
        file: String,
    },
    /// EDK2's size probe got its answer: the abort (to the peer, from the probe's
    /// port) and the read follow (`size_probe`).
    SizeKnown {
        abort: Option<(Instant, SocketAddrV4, u16)>,
        read_at: Instant,
        server: Ipv4Addr,
        file: String,
    },
    Discover {
        xid: u32,
        started: Instant,
        tx: usize,
        next: Instant,
        offer: Option<Offer>,
        proxy: Option<Ipv4Addr>,
    },
    Request {
        xid: u32,
        tx: usize,
        next: Instant,
        offer: Offer,
        boot_server: Ipv4Addr,
    },
    PxeRequest {
        xid: u32,
        tx: usize,
        next: Instant,
        boot_server: Ipv4Addr,
    },
    Tftp {
        stage: Stage,
        server: Ipv4Addr,
        port: u16,
        /// In the client, not boxed: a DATA block's first read of it was a cache miss
        /// of its own (7 % fewer misses of a 1 MiB cache on a storm, BENCHMARKS.md).
        transfer: ClientTransfer,
        file: String,
    },
    Prompt {
        until: Instant,
        params: BootParams,
        server: Ipv4Addr,
    },
    /// iPXE's DHCP ended with an address and no boot file: it gives up once its IPv6
    /// configuration is over and its prompt has passed (`Client::end_without_file`).
    NoBootFile {
        until: Instant,
    },
    Done,
}

#[derive(Clone, Debug)]
enum Stage {
    /// EDK2 asks for the size first and aborts after the OACK (`tftp_size_probe`).
    SizeProbe,
    Nbp,
    Params,
    Image(Box<BootParams>),
}

/// The firmware's TFTP retransmission timeout and retries (`FirmwareModel`'s
/// `tftp_timeout`, `tftp_retries`). The boot program uses the same.
pub fn tftp_timing(m: &FirmwareModel) -> (Duration, u32) {
    (m.tftp_timeout, m.tftp_retries)
}

/// The boot image and deployment a finished boot reports: the parameters' when it got
/// them, else for a failed boot the ones it had chosen before it failed, else none.
fn image_and_deployment(
    outcome: Outcome,
    params: Option<&BootParams>,
    chosen: &Option<(String, String)>,
) -> (Option<String>, Option<String>) {
    match params {
        Some(p) => (Some(p.boot_image.clone()), Some(p.deployment.clone())),
        None if outcome == Outcome::Failed => match chosen {
            Some((i, d)) => (Some(i.clone()), Some(d.clone())),
            None => (None, None),
        },
        None => (None, None),
    }
}

impl BootResult {
    /// A finished boot as every client reports it (PXE over IPv4 and IPv6, HTTP boot):
    /// the image and deployment of [`image_and_deployment`], the server whose boot file
    /// was taken unless nobody answered.
    pub(crate) fn finished(
        outcome: Outcome,
        params: Option<&BootParams>,
        chosen: &Option<(String, String)>,
        served_by: Option<IpAddr>,
        at: Instant,
        finished: Instant,
    ) -> BootResult {
        let (boot_image, deployment) = image_and_deployment(outcome, params, chosen);
        BootResult {
            outcome,
            boot_image,
            deployment,
            served_by: served_by.filter(|_| outcome != Outcome::NoOffer),
            at,
            finished,
        }
    }
}

/// The outcome of a boot given up after its last retry: `failed` when a responder had
/// answered, else `no_offer`.
pub(crate) fn gave_up(answered: bool) -> Outcome {
    if answered {
        Outcome::Failed
    } else {
        Outcome::NoOffer
    }
}

/// One line of a client's timeline (for `pxelab explain`).
#[derive(Clone, Debug)]
pub struct Trace {
    pub at: Instant,
    pub text: String,
}

// The fields a TFTP block reads come first, in this order (`repr(C)`) and from the
// start of a cache line, so that they share as few lines as they fit in: the
// compiler's order spread them over the whole struct (BENCHMARKS.md, 2026-12-02).
#[repr(C, align(64))]
pub struct Client {
    pub model: &'static FirmwareModel,
    /// EDK2's IPv6 stack's own DHCPv6 exchange (stack6.rs), on a `managed6` segment.
    stack6: Option<Box<stack6::Stack6>>,
    six: Option<Box<six::Boot6>>,
    /// A boot by `http4` in progress (client_http.rs), which takes the calls below.
    pub(crate) http: Option<Box<crate::client_http::HttpBoot>>,
    /// The current transfer's last progress note: when, and how many blocks it had.
    progress: (Instant, u64),
    /// iPXE's IPv6 configuration's DHCPv6 in a boot over IPv4 (ipxe_conf6.rs).
    conf6: Option<ipxe_conf6::Conf6>,
    phase: Phase,
    /// The TFTP client's datagrams of one call, kept empty between calls (no
    /// allocation per DATA block).
    tftp_payloads: Vec<Vec<u8>>,
    /// Buffers for the TFTP client's ACKs: the world lends its pool of delivered
    /// datagrams' buffers for each call (`World::with_client`), empty in between.
    pub(crate) spare: Vec<Vec<u8>>,
    /// Datagrams to send over IPv6, and the leased IPv6 address.
    pub sends6: Vec<Send6>,
    pub ip6: Option<Ipv6Addr>,
    pub ip: Option<Ipv4Addr>,
    /// Compute the CRC of downloads (off for very large storms; sizes are always checked).
    pub verify: bool,
    pub result: Option<BootResult>,
    pub trace: Option<Vec<Trace>>,
    pub name: String,
    pub mac: Mac,
    pub guid: Option<Guid>,
    /// The CPU the BIOS first stage detects (bios-x86 / bios-x64), or the UEFI class.
    pub class: ClientClass,
    /// The firmware profile `model` (and `model6`, and the HTTP boot models) come from.
    pub profile: &'static Profile,
    pub press_key: bool,
    boot_started: Instant,
    restarts: u32,
    answered: bool,
    served_by: Option<Ipv4Addr>,
    chosen: Option<(String, String)>,
    next_port: u16,
    xid_counter: u32,
    /// iPXE's DHCP session counter (`dhcp->count`, [`firmware::ipxe_secs`]) and whether
    /// it holds a PXE offer when it requests; EDK2's last DISCOVER's `secs`, which its
    /// REQUEST repeats.
    dhcp_count: u16,
    pxe_offer_held: bool,
    discover_secs: u16,
    /// The boot option `boot` uses (the scenario's `netboot`).
    pub netboot: Netboot,
    /// The option of the boot under way (`netboot` when it powered on: a `boot` event's
    /// own lasts through the firmware's start-up).
    booting: Netboot,
    /// The firmware's IPv6 model, for `pxe6`.
    pub model6: &'static pxelab_engine::dhcp6::firmware::Firmware6,
    /// The segment's router advertisements carry the managed flag (a DHCPv6 pool).
    pub managed6: bool,
    /// EDK2's DHCPv6 transaction id counter of the current boot.
    xid6: Option<[u8; 3]>,
    /// HTTP boot's DHCPv6 lease (server id, IA), released when it stops (http6.rs).
    http6_lease: Option<(Vec<u8>, Vec<u8>)>,
    /// The firmware's random draws (IAIDs, transaction ids, TCP ports and sequence
    /// numbers), seeded from the scenario's seed and the MAC (`build.rs`).
    pub draws: rand_chacha::ChaCha8Rng,
    /// The first proxy offer's option 43 makes it PXE10 (`offer_choice`).
    proxy_pxe10: bool,
    /// (server id, yiaddr) of the last offer of this DISCOVER, any sender (EDK2's
    /// `LastOffer`, `offer_choice::edk2_requested`).
    last_offer: Option<(Ipv4Addr, Ipv4Addr)>,
    /// What the firmware does after the DHCP ACK (`offer_choice`).
    via: Option<BootVia>,
    /// A router answers solicitations on the client's segment (it has a `cidr6`), which
    /// ends iPXE's IPv6 wait (`FirmwareTiming::ipv6_wait`).
    pub router_adverts: bool,
}

impl Client {
    pub fn new(
        name: &str,
        mac: Mac,
        guid: Option<Guid>,
        class: ClientClass,
        model: &'static FirmwareModel,
        press_key: bool,
    ) -> Client {
        Client {
            name: name.to_string(),
            mac,
            guid,
            class,
            model,
            profile: firmware::profile::builtin(model.kind),
            press_key,
            verify: true,
            ip: None,
            phase: Phase::Idle,
            boot_started: Instant::ZERO,
            restarts: 0,
            answered: false,
            served_by: None,
            chosen: None,
            next_port: 2070,
            xid_counter: 0,
            dhcp_count: 0,
            pxe_offer_held: false,
            discover_secs: 0,
            result: None,
            trace: None,
            progress: (Instant::ZERO, 0),
            tftp_payloads: Vec::new(),
            spare: Vec::new(),
            netboot: Netboot::Pxe4,
            booting: Netboot::Pxe4,
            model6: pxelab_engine::dhcp6::firmware::model6(model.kind),
            ip6: None,
            sends6: Vec::new(),
            six: None,
            stack6: None,
            managed6: false,
            xid6: None,
            http6_lease: None,
            draws: rand::SeedableRng::seed_from_u64(u64::from_be_bytes([
                0, 0, mac.0[0], mac.0[1], mac.0[2], mac.0[3], mac.0[4], mac.0[5],
            ])),
            proxy_pxe10: false,
            last_offer: None,
            via: None,
            http: None,
            router_adverts: false,
            conf6: None,
        }
    }

    fn note(&mut self, now: Instant, text: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            t.push(Trace {
                at: now,
                text: text(),
            });
        }
    }

    pub fn is_busy(&self) -> bool {
        self.six.is_some()
            || !matches!(self.phase, Phase::Idle | Phase::Done)
            || self.http.as_ref().is_some_and(|h| h.is_busy())
    }

    /// Power on (or reboot) and network-boot.
    pub fn boot(&mut self, now: Instant, out: &mut Vec<Send>) {
        self.boot_started = now;
        self.restarts = 0;
        self.answered = false;
        self.served_by = None;
        self.chosen = None;
        self.result = None;
        self.ip = None;
        self.six = None;
        self.stack6 = None;
        self.conf6 = None;
        self.http = None;
        self.note(now, || "power on, network boot".into());
        // The firmware's start-up (POST, option ROM, NIC) before the boot option's first
        // DISCOVER or Solicit (the lab: OVMF's HTTPv4 DISCOVER 8.3 s after power-on,
        // its PXEv4 one 6.5-11.6 s; docs/MODEL.md).
        self.booting = self.netboot;
        let t = &self.model.timing;
        let start_up = match self.booting {
            Netboot::Pxe4 | Netboot::Http4 => t.power_on_to_discover,
            Netboot::Pxe6 => t.power_on_to_solicit,
            Netboot::Http6 => t.power_on_to_http6_solicit,
        };
        if !start_up.is_zero() {
            self.phase = Phase::PowerOn {
                until: now + start_up,
            };
            return;
        }
        self.start_netboot(now, out);
    }

    /// The boot option's first message, once the firmware is up.
    fn start_netboot(&mut self, now: Instant, out: &mut Vec<Send>) {
        if self.booting == Netboot::Pxe6 {
            self.phase = Phase::Idle;
            self.boot6(now);
            return;
        }
        if self.booting == Netboot::Http6 {
            self.phase = Phase::Idle;
            return self.boot_http6(now);
        }
        if self.booting == Netboot::Http4 {
            self.phase = Phase::Idle;
            return self.boot_http(now, out);
        }
        self.start_ipxe_conf6(now);
        self.start_discover(now, out);
    }

    /// Power off (the host went down): no result.
    pub fn halt(&mut self) {
        self.phase = Phase::Idle;
        self.http = None;
        self.ip = None;
        self.six = None;
        self.stack6 = None;
        self.conf6 = None;
        self.ip6 = None;
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.six.is_some() {
            return self.poll_timeout6();
        }
        if let Some(h) = &self.http {
            return h.poll_timeout();
        }
        let phase = self.poll_phase();
        match (phase, self.poll_conf6()) {
            (Some(p), Some(c)) => Some(p.min(c)),
            (p, _) => p,
        }
    }

    /// The IPv4 boot's own next timeout.
    fn poll_phase(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Idle | Phase::Done => None,
            Phase::PowerOn { until }
            | Phase::BeforeNbp { until, .. }
            | Phase::NoBootFile { until } => Some(*until),
            Phase::SizeKnown { abort, read_at, .. } => Some(abort.map_or(*read_at, |a| a.0)),
            Phase::Discover { next, .. }
            | Phase::Request { next, .. }
            | Phase::PxeRequest { next, .. } => Some(*next),
            Phase::Tftp { transfer, .. } => transfer.poll_timeout(),
            Phase::Prompt { until, .. } => Some(*until),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Send>) {
        if self.six.is_some() {
            self.handle_timeout6(now);
            return;
        }
        if self.with_http(|h| h.handle_timeout(now, out)) {
            return;
        }
        if self.conf6.is_some() {
            // iPXE's IPv6 configuration's timer, or the boot's own, or both.
            if self.poll_conf6().is_some_and(|t| t <= now) {
                self.conf6_timeout(now);
            }
            if self.poll_phase().is_none_or(|t| t > now) {
                return;
            }
        }
        match &mut self.phase {
            Phase::PowerOn { until } => {
                if *until <= now {
                    // A boot's time counts from its first DISCOVER, as the lab's does.
                    self.boot_started = now;
                    self.start_netboot(now, out);
                }
            }
            Phase::BeforeNbp {
                until,
                server,
                file,
            } => {
                if *until <= now {
                    let (server, file) = (*server, std::mem::take(file));
                    self.start_nbp(now, server, file, out);
                }
            }
            Phase::SizeKnown { .. } => self.size_known_timeout(now, out),
            Phase::NoBootFile { until } => {
                if *until <= now {
                    self.give_up(now);
                }
            }
            Phase::Discover { next, .. } => {
                if *next > now {
                    return;
                }
                self.discover_timeout(now, out);
            }
            Phase::Request { .. } => self.request_timeout(now, out),
            Phase::PxeRequest { .. } => self.pxe_request_timeout(now, out),
            Phase::Tftp { transfer, .. } => {
                let mut payloads = Vec::new();
                transfer.handle_timeout(now, &mut payloads);
                self.flush_tftp(payloads, out);
                self.check_tftp(now, out);
            }
            Phase::Prompt {
                until,
                params,
                server,
            } => {
                if *until > now {
                    return;
                }
                let (p, s) = (params.clone(), *server);
                self.note(now, || {
                    "no key pressed at the prompt: next boot device".into()
                });
                self.finish(now, Outcome::Declined, Some(&p), Some(s.into()));
            }
            Phase::Idle | Phase::Done => {}
        }
    }

    /// The server of a TFTP read answered with ICMP port unreachable (its process is
    /// gone, its host is up): firmware that takes that as fatal ends the read.
    pub fn port_unreachable(&mut self, now: Instant, server: SocketAddrV4) {
        let Phase::Tftp {
            server: s, file, ..
        } = &self.phase
        else {
            return;
        };
        if !self.model.tftp_gives_up_on_port_unreachable || *s != *server.ip() {
            return;
        }
        let f = file.clone();
        self.note(now, || {
            format!("TFTP {f}: ICMP port unreachable from {server}: the read ends")
        });
        self.give_up(now);
    }

    /// A datagram for this client (to its address or broadcast).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: &[u8],
        out: &mut Vec<Send>,
    ) {
        if self.with_http(|h| h.handle_datagram(now, src, dst, payload, out)) {
            return;
        }
        if dst.port() == 68 || (dst.port() == self.model.pxe_request_src_port && src.port() == 4011)
        {
            self.on_dhcp(now, src, payload, out);
            return;
        }
        if let Phase::Tftp {
            port,
            stage: Stage::SizeProbe,
            server,
            file,
            ..
        } = &self.phase
        {
            if dst.port() != *port {
                return;
            }
            if let Ok(Packet::Oack { .. } | Packet::Data { .. }) = Packet::parse(payload) {
                // The size is known: abort this transfer as EDK2 does, then read the file.
                let (server, file, my_port) = (*server, file.clone(), *port);
                return self.size_known(now, src, my_port, server, file, out);
            }
        }
        let data_block = match Packet::parse(payload) {
            Ok(Packet::Data { block, .. }) => Some(block),
            _ => None,
        };
        self.on_tftp_datagram(now, src, dst.port(), data_block, out, |t, payloads| {
            t.handle_packet(now, src.port(), payload, payloads)
        });
    }

    /// A datagram from `server` to `port` for the download in progress (a DATA block
    /// `data_block`), fed to it by `feed`.
    fn on_tftp_datagram(
        &mut self,
        now: Instant,
        server: SocketAddrV4,
        port: u16,
        data_block: Option<u16>,
        out: &mut Vec<Send>,
        feed: impl FnOnce(&mut ClientTransfer, &mut Pooled<'_>),
    ) {
        if let Phase::Tftp {
            transfer,
            port: mine,
            stage,
            ..
        } = &mut self.phase
        {
            if port != *mine {
                return;
            }
            let pxe_api_read = matches!(stage, Stage::Params | Stage::Image(_));
            if pxe_api::ipxe_aborts(
                self.model.stack,
                pxe_api_read,
                transfer.stats().blocks,
                data_block,
            ) {
                let mut e = Vec::new();
                tftp_packet::encode_error(&mut e, 0, pxe_api::ABORT_MESSAGE);
                let ip = self.ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
                out.push(Send {
                    src: SocketAddrV4::new(ip, port),
                    dst: server,
                    payload: e,
                });
                self.note(now, || {
                    "iPXE PXE API: a resent DATA block, transfer aborted".into()
                });
                return self.finish(now, Outcome::Failed, None, None);
            }
            let mut sink = Pooled {
                sent: std::mem::take(&mut self.tftp_payloads),
                spare: &mut self.spare,
                data: None,
            };
            feed(transfer, &mut sink);
            let payloads = sink.sent;
            let (st, active) = (
                transfer.stats(),
                matches!(transfer.status(), ClientStatus::Active),
            );
            self.flush_tftp(payloads, out);
            // Long transfers noted once a second of DATA (the ladders' summaries).
            let (since, blocks) = self.progress;
            if active && now.saturating_since(since) >= PROGRESS_EVERY {
                self.progress = (now, st.blocks);
                let bytes = (st.blocks - blocks) * st.block_size as u64;
                let secs = now.saturating_since(since).as_secs_f64();
                self.note(now, || {
                    format!(
                        "TFTP DATA: {} blocks ({bytes} bytes) in {secs:.1}s, {} blocks so far",
                        st.blocks - blocks,
                        st.blocks
                    )
                });
            }
            self.check_tftp(now, out);
        }
    }

    /// The firmware's own download of the boot program (EDK2 probes its size first).
    fn start_nbp(&mut self, now: Instant, server: Ipv4Addr, file: String, out: &mut Vec<Send>) {
        if self.model.tftp_size_probe {
            let opts = self
                .model
                .tftp_options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            self.start_tftp(now, Stage::SizeProbe, server, file, opts, out);
        } else {
            let opts = self.model.tftp_download_options();
            self.start_tftp(now, Stage::Nbp, server, file, opts, out);
        }
    }

    fn start_tftp(
        &mut self,
        now: Instant,
        stage: Stage,
        server: Ipv4Addr,
        file: String,
        options: Vec<(String, String)>,
        out: &mut Vec<Send>,
    ) {
        let port = self.next_port;
        self.next_port = if self.next_port >= 65000 {
            2070
        } else {
            self.next_port + 1
        };
        let cfg = ClientConfig {
            options: options.clone(),
            timeout: tftp_timing(self.model).0,
            max_retries: tftp_timing(self.model).1,
            verify: self.verify,
            keep: matches!(stage, Stage::Params),
        };
        let mut payloads = Vec::new();
        let transfer = ClientTransfer::start(now, &file, &cfg, &mut payloads);
        self.progress = (now, 0);
        self.note(now, || {
            let o: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("TFTP RRQ {file} from {server} [{}]", o.join(" "))
        });
        self.phase = Phase::Tftp {
            stage,
            server,
            port,
            transfer,
            file,
        };
        self.flush_tftp(payloads, out);
    }

    fn flush_tftp(&mut self, mut payloads: Vec<Vec<u8>>, out: &mut Vec<Send>) {
        let Phase::Tftp {
            server,
            port,
            transfer,
            ..
        } = &self.phase
        else {
            return;
        };
        let ip = self.ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let dport = transfer.server_port().unwrap_or(69);
        for payload in payloads.drain(..) {
            out.push(Send {
                src: SocketAddrV4::new(ip, *port),
                dst: SocketAddrV4::new(*server, dport),
                payload,
            });
        }
        self.tftp_payloads = payloads;
    }

    fn check_tftp(&mut self, now: Instant, out: &mut Vec<Send>) {
        let Phase::Tftp {
            stage,
            server,
            transfer,
            file,
            ..
        } = &self.phase
        else {
            return;
        };
        let server = *server;
        match transfer.status() {
            ClientStatus::Active => {}
            ClientStatus::Failed(f) => {
                let (file, msg) = (file.clone(), f.message.clone());
                let no_action = matches!(stage, Stage::Params) && f.code == Some(1);
                self.note(now, || format!("TFTP {file} failed: {msg}"));
                if no_action {
                    // The responder has no boot action for the class the first stage
                    // learned: "PXE boot aborted" (MODEL.md).
                    self.note(now, || {
                        "boot program: no boot action, PXE boot aborted".into()
                    });
                    self.finish(now, Outcome::NoOffer, None, None);
                    return;
                }
                // No firmware starts PXE again after a failed download (the lab: OVMF
                // moves on to its next boot option, SeaBIOS + iPXE gives up; our boot
                // programs stop): the boot ends here (docs/MODEL.md).
                self.give_up(now);
            }
            ClientStatus::Done { bytes, crc32 } => {
                let (bytes, crc32, stage) = (*bytes, *crc32, stage.clone());
                let data = transfer.data().map(|d| d.to_vec());
                let st = transfer.stats();
                let stats = format!(
                    " (blksize {}, windowsize {}, {} blocks, {} out of order or duplicate, {} timeouts)",
                    st.block_size, st.window_size, st.blocks, st.duplicates, st.timeouts
                );
                let f = file.clone();
                self.note(now, || format!("TFTP {f}: {bytes} bytes received{stats}"));
                match stage {
                    Stage::SizeProbe => {
                        // A server that sent no OACK and a file that fit one block.
                        let opts = self.model.tftp_download_options();
                        self.start_tftp(now, Stage::Nbp, server, f, opts, out);
                    }
                    Stage::Nbp => {
                        // The boot program runs; BIOS first stage learns the CPU (R-ID-2).
                        let path = bootfiles::params_path(self.mac, self.class);
                        let opts = self.model.boot_program_options(None);
                        self.start_tftp(now, Stage::Params, server, path, opts, out);
                    }
                    Stage::Params => {
                        let text = data.map(|d| String::from_utf8_lossy(&d).into_owned());
                        let params = match text.as_deref().map(BootParams::parse) {
                            Some(Ok(p)) => p,
                            other => {
                                let why = match other {
                                    Some(Err(e)) => e,
                                    _ => "no data".into(),
                                };
                                self.note(now, || format!("bad boot parameters: {why}"));
                                self.finish(now, Outcome::Failed, None, Some(server.into()));
                                return;
                            }
                        };
                        self.chosen = Some((params.boot_image.clone(), params.deployment.clone()));
                        if params.prompt || params.purpose == Purpose::Available {
                            let key = if self.class.is_bios() { "F12" } else { "Enter" };
                            if self.press_key {
                                self.note(now, || format!("prompt: user pressed {key}"));
                                self.start_image(now, params, server, out);
                            } else {
                                self.note(now, || format!("prompt: press {key} for network boot"));
                                self.phase = Phase::Prompt {
                                    until: now + PROMPT_TIMEOUT,
                                    params,
                                    server,
                                };
                            }
                        } else {
                            self.start_image(now, params, server, out);
                        }
                    }
                    Stage::Image(params) => {
                        if bytes != params.image_size {
                            self.note(now, || {
                                format!("boot image size {bytes} != expected {}", params.image_size)
                            });
                            self.finish(now, Outcome::Failed, Some(&params), Some(server.into()));
                        } else if let (Some(want), Some(got)) = (params.image_crc32, crc32) {
                            if want != got {
                                self.note(now, || {
                                    format!("boot image CRC {got:08x} != {want:08x}")
                                });
                                self.finish(
                                    now,
                                    Outcome::Failed,
                                    Some(&params),
                                    Some(server.into()),
                                );
                            } else {
                                self.note(now, || "boot image verified; started".into());
                                self.finish(
                                    now,
                                    Outcome::Booted,
                                    Some(&params),
                                    Some(server.into()),
                                );
                            }
                        } else {
                            self.note(now, || "boot image started".into());
                            self.finish(now, Outcome::Booted, Some(&params), Some(server.into()));
                        }
                    }
                }
            }
        }
    }

    fn start_image(
        &mut self,
        now: Instant,
        params: BootParams,
        server: Ipv4Addr,
        out: &mut Vec<Send>,
    ) {
        let opts = self.model.boot_program_options(Some(params.block_size));
        let path = params.image_path.replace('/', "\\");
        self.start_tftp(now, Stage::Image(Box::new(params)), server, path, opts, out);
    }

    fn restart_or_fail(&mut self, now: Instant, out: &mut Vec<Send>) {
        if self.restarts < MAX_RESTARTS {
            self.restarts += 1;
            let n = self.restarts;
            self.note(now, || format!("restarting PXE (retry {n})"));
            self.start_discover(now, out);
        } else {
            self.give_up(now);
        }
    }

    fn give_up(&mut self, now: Instant) {
        self.finish(now, gave_up(self.answered), None, None);
    }

    /// `server`: whose boot file was taken, else the responder that answered last.
    fn finish(
        &mut self,
        now: Instant,
        outcome: Outcome,
        params: Option<&BootParams>,
        server: Option<IpAddr>,
    ) {
        let served_by = server.or(self.served_by.map(IpAddr::V4));
        self.note(now, || format!("outcome: {}", outcome.as_str()));
        self.result = Some(BootResult::finished(
            outcome,
            params,
            &self.chosen,
            served_by,
            self.boot_started,
            now,
        ));
        self.phase = Phase::Done;
    }
}
