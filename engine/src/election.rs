//! Peer election (R-ANS-6): which of the live peers of a segment answers a client, and
//! how peers learn who is alive.
//!
//! * [`rank`] orders the peers that hold the selected boot image per client by rendezvous
//!   (highest random weight) hashing of (client MAC, peer name); [`answer_after`] turns a
//!   rank into the elapsed time at which that peer answers.
//! * [`Membership`] is a sans-IO wrapper around the `foca` SWIM implementation plus a
//!   broadcast hello for discovery: datagrams and virtual time in, datagrams out.

use crate::ids::Mac;
use crate::time::Instant;
use foca::{Codec, Config, Foca, Member, Notification, PostcardCodec, Runtime, Timer};
use hmac::{Hmac, Mac as _};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::Sha256;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::num::NonZeroU32;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Rendezvous ranking
// ---------------------------------------------------------------------------------------

const FNV64_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV64_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The rendezvous score of `peer` for `client`, the same on every platform and in every
/// run:
///
/// 1. FNV-1a 64 (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`) over the 6
///    MAC bytes in wire order, then the UTF-8 bytes of the peer name (no separator, no
///    length: the MAC is fixed-size);
/// 2. the splitmix64 finalizer on that value:
///    `z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27; z *= 0x94d049bb133111eb;
///    z ^= z >> 31` (wrapping multiplications).
///
/// FNV alone mixes the last bytes poorly; the finalizer spreads them over all 64 bits.
pub fn score(client: Mac, peer: &str) -> u64 {
    let mut h = FNV64_OFFSET;
    for b in client.0.iter().chain(peer.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV64_PRIME);
    }
    splitmix64_finalize(h)
}

fn splitmix64_finalize(mut z: u64) -> u64 {
    z ^= z >> 30;
    z = z.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^= z >> 27;
    z = z.wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// R-ANS-6: this peer's rank for `client` among the live peers that hold the selected
/// boot image. `me` always takes part (a peer that has not heard of the others is rank
/// 0); names are taken once each, and `me` in the iterator is not counted twice.
///
/// Highest [`score`] is rank 0; equal scores are ordered by name (smaller first).
pub fn rank<'a>(
    client: Mac,
    me: &str,
    live_peers_holding_image: impl Iterator<Item = &'a str>,
) -> usize {
    let mine = score(client, me);
    let mut seen: Vec<&str> = Vec::new();
    let mut ahead = 0;
    for p in live_peers_holding_image {
        if p == me || seen.contains(&p) {
            continue;
        }
        seen.push(p);
        let s = score(client, p);
        if s > mine || (s == mine && p < me) {
            ahead += 1;
        }
    }
    ahead
}

/// R-ANS-6: the elapsed time from which the peer of `rank` answers a DISCOVER:
/// `response_delay + rank × failover_step` (saturating).
pub fn answer_after(rank: usize, response_delay: Duration, failover_step: Duration) -> Duration {
    let r = u32::try_from(rank).unwrap_or(u32::MAX);
    response_delay.saturating_add(failover_step.saturating_mul(r))
}

// ---------------------------------------------------------------------------------------
// Membership
// ---------------------------------------------------------------------------------------

/// UDP port of the peer membership protocol (SWIM datagrams and discovery hellos), on
/// every peer. 4012 sits next to the PXE port 4011 that every peer already opens, and is
/// not assigned to a service a PXE segment is likely to run.
pub const PEER_PORT: u16 = 4012;

/// How often a peer that knows no other live peer broadcasts its hello.
pub const HELLO_INTERVAL_ALONE: Duration = Duration::from_secs(2);
/// How often a peer that knows others broadcasts its hello (so partitions heal and
/// members declared down are found again).
pub const HELLO_INTERVAL: Duration = Duration::from_secs(10);
/// Hellos are delayed by up to this much (seeded) so peers started together spread out.
pub const HELLO_JITTER: Duration = Duration::from_millis(500);

/// The cluster size the SWIM timings are tuned for (a segment's peers).
pub const EXPECTED_PEERS: u32 = 8;

/// What a peer tells the others about itself.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PeerIdentity {
    /// The peer's name (what [`rank`] hashes).
    pub name: String,
    /// Where its membership protocol listens (normally port [`PEER_PORT`]).
    pub addr: SocketAddrV4,
    /// Boot images pre-cached on it.
    pub images: Vec<String>,
    /// The primary site it belongs to: a peer ranks only the peers of a site that
    /// serves the client (R-ID-5).
    pub site: String,
}

/// The SWIM identity: a [`PeerIdentity`] plus a generation that grows each time the peer
/// comes back after being declared down (foca's `Identity::renew`), so a restarted or
/// wrongly suspected peer rejoins at once instead of waiting for its old identity to be
/// forgotten. Two identities at one address: the higher generation wins, then the larger
/// (name, images, site), so every peer decides alike.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Node {
    peer: PeerIdentity,
    generation: u32,
}

impl foca::Identity for Node {
    type Addr = SocketAddrV4;

    fn renew(&self) -> Option<Self> {
        Some(Node {
            peer: self.peer.clone(),
            generation: self.generation.checked_add(1)?,
        })
    }

    fn addr(&self) -> SocketAddrV4 {
        self.peer.addr
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        (
            self.generation,
            &self.peer.name,
            &self.peer.images,
            &self.peer.site,
        ) > (
            adversary.generation,
            &adversary.peer.name,
            &adversary.peer.images,
            &adversary.peer.site,
        )
    }
}

/// A change in who is alive, for the driver's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipEvent {
    /// A peer became alive to us.
    Up(PeerIdentity),
    /// A peer was declared down.
    Down(PeerIdentity),
    /// We were declared down and came back with a new generation.
    Rejoined,
}

/// Frame header: magic, version, kind. Version 1 frames are plain (a site without a peer
/// key); version 2 frames carry [`TAG_LEN`] bytes of HMAC-SHA256 over header and body,
/// keyed with the site's peer key (see [`seal`] and [`open`]).
const MAGIC: &[u8; 4] = b"PXLP";
const VERSION_PLAIN: u8 = 1;
const VERSION_SEALED: u8 = 2;
const KIND_HELLO: u8 = 1;
const KIND_SWIM: u8 = 2;
const HEADER_LEN: usize = 6;
/// Bytes of the HMAC-SHA256 tag kept on a sealed frame (the leftmost 16, as in
/// HMAC-SHA256-128 of RFC 4868: 128 bits leave no room for forgery by guessing).
pub const TAG_LEN: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// The site's peer key: membership datagrams between peers are authenticated with it
/// (HMAC-SHA256), so a host without it can neither join the peer set nor change what the
/// peers believe about each other. Any length; a long random secret is best.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerKey(Vec<u8>);

impl PeerKey {
    /// A key from its bytes; `None` for an empty one (an empty key authenticates
    /// nothing, so it is refused rather than taken).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Option<PeerKey> {
        let bytes = bytes.into();
        (!bytes.is_empty()).then_some(PeerKey(bytes))
    }

    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as hmac::Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }
}

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "PeerKey({} bytes)", self.0.len())
    }
}

/// Why a membership datagram was dropped (counted by [`Membership::rejected`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not a pxelab membership frame, or a kind we do not know.
    NotOurs,
    /// A plain frame at a peer that has a key, a sealed frame at a peer that has none,
    /// or a tag that does not verify with our key: forged, tampered with, or from a host
    /// with another key.
    Unauthenticated,
    /// Authentic (or unkeyed) but not acceptable: bad encoding, a hello from an address
    /// other than the one it names, someone claiming our address.
    Invalid,
}

/// Wrap a body into a datagram: a plain frame without a key, a sealed one (tag appended)
/// with it.
fn seal(key: Option<&PeerKey>, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + body.len() + TAG_LEN);
    v.extend_from_slice(MAGIC);
    v.push(if key.is_some() {
        VERSION_SEALED
    } else {
        VERSION_PLAIN
    });
    v.push(kind);
    v.extend_from_slice(body);
    if let Some(key) = key {
        let mut mac = key.mac();
        mac.update(&v);
        let tag = mac.finalize().into_bytes();
        v.extend_from_slice(&tag[..TAG_LEN]);
    }
    v
}

/// Unwrap a datagram: `(kind, body)`. With a key, the frame must be sealed and its tag
/// must verify (in constant time) before anything reads the body; without one, only
/// plain frames are taken.
fn open<'a>(key: Option<&PeerKey>, payload: &'a [u8]) -> Result<(u8, &'a [u8]), Rejection> {
    if payload.len() < HEADER_LEN || &payload[..4] != MAGIC {
        return Err(Rejection::NotOurs);
    }
    match (payload[4], key) {
        (VERSION_PLAIN, None) => Ok((payload[5], &payload[HEADER_LEN..])),
        (VERSION_SEALED, Some(key)) => {
            if payload.len() < HEADER_LEN + TAG_LEN {
                return Err(Rejection::Unauthenticated);
            }
            let (framed, tag) = payload.split_at(payload.len() - TAG_LEN);
            let mut mac = key.mac();
            mac.update(framed);
            mac.verify_truncated_left(tag)
                .map_err(|_| Rejection::Unauthenticated)?;
            Ok((framed[5], &framed[HEADER_LEN..]))
        }
        (VERSION_PLAIN | VERSION_SEALED, _) => Err(Rejection::Unauthenticated),
        _ => Err(Rejection::NotOurs),
    }
}

/// `frame` (a membership datagram, or any bytes: the first is then taken as the kind)
/// sealed with `key`, as a peer holding it would send it. For the fuzzer, which must
/// reach the decoders behind the tag.
#[doc(hidden)]
pub fn reseal(key: &PeerKey, frame: &[u8]) -> Vec<u8> {
    let (kind, body) = if frame.len() >= HEADER_LEN && &frame[..4] == MAGIC {
        (frame[5], &frame[HEADER_LEN..])
    } else {
        (
            frame.first().copied().unwrap_or(KIND_SWIM),
            frame.get(1..).unwrap_or(&[]),
        )
    };
    seal(Some(key), kind, body)
}

/// Is `frame` a sealed membership frame (what a keyed peer sends)?
#[doc(hidden)]
pub fn is_sealed(frame: &[u8]) -> bool {
    frame.len() >= HEADER_LEN + TAG_LEN && &frame[..4] == MAGIC && frame[4] == VERSION_SEALED
}

/// foca's [`Runtime`], for the length of one call: sends go to `out`, timers to the
/// deadline list, notifications to the event list.
struct Rt<'a> {
    now: Instant,
    key: Option<&'a PeerKey>,
    out: &'a mut Vec<(SocketAddrV4, Vec<u8>)>,
    timers: &'a mut Vec<(Instant, u64, Timer<Node>)>,
    timer_seq: &'a mut u64,
    events: &'a mut Vec<MembershipEvent>,
}

impl Runtime<Node> for Rt<'_> {
    fn notify(&mut self, notification: Notification<'_, Node>) {
        match notification {
            Notification::MemberUp(n) => self.events.push(MembershipEvent::Up(n.peer.clone())),
            Notification::MemberDown(n) => self.events.push(MembershipEvent::Down(n.peer.clone())),
            Notification::Rejoin(_) => self.events.push(MembershipEvent::Rejoined),
            _ => {}
        }
    }

    fn send_to(&mut self, to: Node, data: &[u8]) {
        self.out
            .push((to.peer.addr, seal(self.key, KIND_SWIM, data)));
    }

    fn submit_after(&mut self, event: Timer<Node>, after: Duration) {
        *self.timer_seq += 1;
        self.timers.push((self.now + after, *self.timer_seq, event));
    }
}

/// The SWIM settings: foca's `Config::new_lan` for [`EXPECTED_PEERS`] peers. Figures:
/// probe period 1 s, probe RTT 500 ms, 3 indirect probes, suspicion 4 s before down
/// (max(1, log10 8) × 4 × 1 s), each update sent 3 times (log10 9 × 4), gossip every
/// 200 ms to 3 members, announce every 30 s to 1 member, to down members every 65 s,
/// packets up to 1400 bytes, down members forgotten after 24 h.
/// A crashed peer is first probed within about one period per live member (probe targets
/// are round-robin), fails after 1 s (RTT plus indirect probes), and is declared down 4 s
/// later. Measured in the tests (4 peers, 1 ms latency, 20 seeds): every survivor
/// declares a crashed peer down 5.0 to 7.0 s after the crash (the test bound is 10 s);
/// peers that hear each other's hello converge within 3 ms (one announce round trip),
/// started together or 3 s apart. With 5 % of datagrams lost no healthy peer is declared
/// down (5 seeds × 120 s); at 10 % an occasional false down happens (the peer then
/// rejoins with a new generation at once). A false down only makes two peers answer the
/// same client, which R-ANS-6 accepts ("a boot served twice beats no boot").
pub fn swim_config() -> Config {
    Config::new_lan(NonZeroU32::new(EXPECTED_PEERS).expect("non-zero"))
}

/// Who is alive on the segment (R-ANS-6), sans IO.
///
/// Discovery: a peer broadcasts a small hello (its identity) to
/// `255.255.255.255:PEER_PORT` at once, then every [`HELLO_INTERVAL_ALONE`] while it
/// knows no live peer and every [`HELLO_INTERVAL`] after, each plus a seeded jitter of
/// up to [`HELLO_JITTER`]. A peer receiving a hello from a peer it does not count as alive
/// sends it a SWIM announce; the reply (foca's feed) makes both know each other and
/// the rest of the cluster, and SWIM keeps it up to date from then on.
///
/// Datagrams: `PXLP`, version 1, kind (1 hello, 2 SWIM), body. A hello body is the
/// peer's identity encoded by foca's postcard codec as an alive member; a SWIM body is
/// foca's own packet. Datagrams that are not ours are dropped.
pub struct Membership {
    foca: Foca<Node, PostcardCodec, ChaCha8Rng, foca::NoCustomBroadcast>,
    me: PeerIdentity,
    timers: Vec<(Instant, u64, Timer<Node>)>,
    timer_seq: u64,
    next_hello: Instant,
    jitter: ChaCha8Rng,
    events: Vec<MembershipEvent>,
    key: Option<PeerKey>,
    /// Datagrams dropped, by reason.
    rejected: Rejected,
}

/// Counts of dropped membership datagrams, by [`Rejection`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rejected {
    pub not_ours: u64,
    pub unauthenticated: u64,
    pub invalid: u64,
}

impl Rejected {
    fn count(&mut self, r: Rejection) {
        match r {
            Rejection::NotOurs => self.not_ours += 1,
            Rejection::Unauthenticated => self.unauthenticated += 1,
            Rejection::Invalid => self.invalid += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.not_ours + self.unauthenticated + self.invalid
    }
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("me", &self.me)
            .field(
                "live",
                &self.live_peers().map(|p| &p.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Membership {
    /// A peer that knows no one yet. `key` is the site's peer key: with one, every
    /// datagram sent is sealed and every one received must verify; without one, frames
    /// are plain and sealed ones are dropped. `seed` drives foca's random choices and the
    /// hello jitter (the simulator passes its scenario seed mixed with the peer; the
    /// daemon a random one). The first hello is due at `now`.
    pub fn new(me: PeerIdentity, key: Option<PeerKey>, seed: u64, now: Instant) -> Self {
        let node = Node {
            peer: me.clone(),
            generation: 0,
        };
        Membership {
            foca: Foca::new(
                node,
                swim_config(),
                ChaCha8Rng::seed_from_u64(seed),
                PostcardCodec,
            ),
            me,
            timers: Vec::new(),
            timer_seq: 0,
            next_hello: now,
            jitter: ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
            events: Vec::new(),
            key,
            rejected: Rejected::default(),
        }
    }

    /// This peer.
    pub fn me(&self) -> &PeerIdentity {
        &self.me
    }

    fn with_rt<R>(
        &mut self,
        now: Instant,
        out: &mut Vec<(SocketAddrV4, Vec<u8>)>,
        f: impl FnOnce(&mut Foca<Node, PostcardCodec, ChaCha8Rng, foca::NoCustomBroadcast>, Rt<'_>) -> R,
    ) -> R {
        let rt = Rt {
            now,
            key: self.key.as_ref(),
            out,
            timers: &mut self.timers,
            timer_seq: &mut self.timer_seq,
            events: &mut self.events,
        };
        f(&mut self.foca, rt)
    }

    /// A datagram arrived on [`PEER_PORT`] from `src`. A hello is only taken from the IP
    /// address its identity names.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        payload: &[u8],
        out: &mut Vec<(SocketAddrV4, Vec<u8>)>,
    ) {
        if let Err(r) = self.handle_inner(now, src, payload, out) {
            self.rejected.count(r);
        }
    }

    fn handle_inner(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        payload: &[u8],
        out: &mut Vec<(SocketAddrV4, Vec<u8>)>,
    ) -> Result<(), Rejection> {
        let (kind, body) = open(self.key.as_ref(), payload)?;
        match kind {
            KIND_SWIM => self
                .with_rt(now, out, |foca, rt| foca.handle_data(body, rt))
                .map_err(|_| Rejection::Invalid),
            KIND_HELLO => {
                let mut body = body;
                let member = Codec::<Node>::decode_member(&mut PostcardCodec, &mut body)
                    .map_err(|_| Rejection::Invalid)?;
                let node = member.id().clone();
                if node.peer.addr == self.me.addr {
                    // Our own broadcast coming back is fine; anyone else claiming our
                    // address is not ours to join.
                    return if node.peer != self.me {
                        Err(Rejection::Invalid)
                    } else {
                        Ok(())
                    };
                }
                // A hello must come from the address it names.
                if src.ip() != node.peer.addr.ip() {
                    return Err(Rejection::Invalid);
                }
                // A peer we already count as alive: nothing to do.
                if self.foca.iter_members().any(|m| m.id() == &node) {
                    return Ok(());
                }
                self.with_rt(now, out, |foca, rt| foca.announce(node, rt))
                    .map_err(|_| Rejection::Invalid)
            }
            _ => Err(Rejection::NotOurs),
        }
    }

    /// When [`Membership::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = self.timers.iter().map(|t| t.0).min();
        Some(t.map_or(self.next_hello, |t| t.min(self.next_hello)))
    }

    /// Fire every timer due at `now` (foca's timers in deadline order, then the hello).
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<(SocketAddrV4, Vec<u8>)>) {
        loop {
            let mut due: Vec<(Instant, u64, Timer<Node>)> = Vec::new();
            let mut i = 0;
            while i < self.timers.len() {
                if self.timers[i].0 <= now {
                    due.push(self.timers.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            if due.is_empty() {
                break;
            }
            // Deadline order; at one deadline foca's own timer order (indirect probes
            // before the next probe), then submission order.
            due.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)).then(a.1.cmp(&b.1)));
            for (_, _, timer) in due {
                // An error here is a stale or malformed timer; foca recovers by itself.
                let _ = self.with_rt(now, out, |foca, rt| foca.handle_timer(timer, rt));
            }
        }
        if self.next_hello <= now {
            self.send_hello(now, out);
        }
    }

    fn send_hello(&mut self, now: Instant, out: &mut Vec<(SocketAddrV4, Vec<u8>)>) {
        let mut body = Vec::new();
        let member = Member::alive(self.foca.identity().clone());
        if Codec::<Node>::encode_member(&mut PostcardCodec, &member, &mut body).is_ok() {
            out.push((
                SocketAddrV4::new(Ipv4Addr::BROADCAST, PEER_PORT),
                seal(self.key.as_ref(), KIND_HELLO, &body),
            ));
        }
        let interval = if self.knows_others() {
            HELLO_INTERVAL
        } else {
            HELLO_INTERVAL_ALONE
        };
        let jitter_ns = self.jitter.random_range(0..=HELLO_JITTER.as_nanos() as u64);
        self.next_hello = now + interval + Duration::from_nanos(jitter_ns);
    }

    /// Ask `addr` (a peer's membership address) to let us join, without waiting for a
    /// hello: for peers the broadcast does not reach. `name`, `images` and `site` are
    /// not known yet and are learned from the reply.
    pub fn announce_to(
        &mut self,
        now: Instant,
        addr: SocketAddrV4,
        out: &mut Vec<(SocketAddrV4, Vec<u8>)>,
    ) {
        let node = Node {
            peer: PeerIdentity {
                name: String::new(),
                addr,
                images: Vec::new(),
                site: String::new(),
            },
            generation: 0,
        };
        if self
            .with_rt(now, out, |foca, rt| foca.announce(node, rt))
            .is_err()
        {
            self.rejected.count(Rejection::Invalid);
        }
    }

    /// Peers alive (or suspected, not yet declared down), not including this one.
    pub fn live_peers(&self) -> impl Iterator<Item = &PeerIdentity> {
        self.foca.iter_members().map(|m| &m.id().peer)
    }

    /// Names of the live peers holding `image`, for [`rank`].
    pub fn live_holders<'a>(&'a self, image: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.live_peers()
            .filter(move |p| p.images.iter().any(|i| i == image))
            .map(|p| p.name.as_str())
    }

    /// Does this peer count any other peer as alive? A peer that does not answers as
    /// rank 0 (R-ANS-6).
    pub fn knows_others(&self) -> bool {
        self.live_peers().next().is_some()
    }

    /// Membership changes since the last call.
    pub fn take_events(&mut self) -> Vec<MembershipEvent> {
        std::mem::take(&mut self.events)
    }

    /// How many datagrams were dropped as not decodable or not acceptable.
    pub fn rejected(&self) -> u64 {
        self.rejected.total()
    }

    /// Dropped datagrams by reason (unauthenticated ones are forgeries, tampering, or a
    /// peer with another key).
    pub fn rejected_by_reason(&self) -> Rejected {
        self.rejected
    }

    /// Does this peer authenticate its membership datagrams?
    pub fn keyed(&self) -> bool {
        self.key.is_some()
    }
}

#[cfg(test)]
mod tests;
