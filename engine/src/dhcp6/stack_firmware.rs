//! EDK2's IPv6 stack's own DHCPv6 exchange (`Ip6ConfigDxe`), as the PXEv6 captures show
//! it (`tests/fixtures/firmware/uefi-*-pxe6*.pcap`, docs/MODEL.md): once a router
//! advertisement with the managed flag (M) has come, the stack asks DHCPv6 for an
//! address of its own, apart from PXE's (or HTTP boot's) exchange: a Solicit with
//! options 1, 8, 3 (T1 = T2 = infinity) and 6 = [23] only, the first Advertise with an
//! address requested at once (1, 8, 2, 3 as the server wrote it, 6), and a Release
//! (1, 2, 8, 3) when PXE sets its own address (its `Ip6ConfigPolicyManual`). Its IAID is
//! random, not PXE's; transaction ids come from one counter for both exchanges, its
//! first byte the lowest (`0xc68eda`, `0xc78eda`, ... in the captures).

use super::wire::{Message6, Opt};
use super::{msg, opt};
use crate::dhcp::firmware::FirmwareKind;
use std::time::Duration;

/// Option 6 of the stack's Solicit and Request: DNS servers only.
pub const STACK_ORO: [u16; 1] = [23];

/// When the stack's exchange runs against PXE's, for one firmware (the captures).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackTiming {
    /// The stack's first Solicit, from the boot's start.
    pub stack_solicit: Duration,
    /// PXE's (or HTTP boot's) first Solicit, from the boot's start.
    pub boot_solicit: Duration,
    /// The stack's Release, after PXE sets its own address's manual policy (its Reply,
    /// its boot request's answer, then its route wait: `Firmware6::route_wait`).
    pub release_after_policy: Duration,
}

/// EDK2's order of the two exchanges: OVMF (x64, IA32) has its stack's address before
/// PXE solicits (2.3 and 2.3 s between the Solicits); AAVMF solicits for PXE first and
/// the stack 0.9 s later (both arm64 captures), which is the NoAddrsAvail race's
/// opening. The Release goes when PXE sets its address (`PxeBcRegisterIp6Address`
/// turns Ip6Config's policy to manual, which stops the stack's DHCPv6): 1.0 s (x64),
/// 3.0 s (IA32) and 0.0 s (arm64) after PXE's Reply in the captures, the route waits;
/// 1.0-1.6 ms after the boot request's answer in six idle lab boots. `None`: no such
/// exchange (iPXE).
pub fn stack_timing(kind: FirmwareKind) -> Option<StackTiming> {
    let ms = Duration::from_millis;
    match kind {
        FirmwareKind::UefiX64 => Some(StackTiming {
            stack_solicit: ms(0),
            boot_solicit: ms(2310),
            release_after_policy: ms(2),
        }),
        FirmwareKind::UefiIa32 => Some(StackTiming {
            stack_solicit: ms(0),
            boot_solicit: ms(2250),
            release_after_policy: ms(2),
        }),
        FirmwareKind::UefiArm64 => Some(StackTiming {
            stack_solicit: ms(910),
            boot_solicit: ms(0),
            release_after_policy: ms(2),
        }),
        FirmwareKind::BiosX64 | FirmwareKind::BiosX86 => None,
    }
}

/// When an address the stack leased becomes usable as a source (`Ip6InitDADProcess`):
/// Ip6Dxe joins its solicited-node group `join` after the Reply (a random 0-1 s; 0.04 to
/// 0.88 s in eight lab boots), sends its one Neighbor Solicitation after
/// `RetransTick` = 2, 4, 6, 8 or 10 ticks of 100 ms (`ns_ticks`, its first tick due
/// within 100 ms: 0.1 to 0.9 s in the same boots) and holds the address tentative for
/// its RetransTimer, 1 s, after that. Until then the stack's sources are its link-local
/// address (docs/MODEL.md, "EDK2", the boot request through a router).
pub fn stack_address_usable_after(join: Duration, ns_ticks: u32) -> Duration {
    const TICK: Duration = Duration::from_millis(100);
    const RETRANS_TIMER: Duration = Duration::from_secs(1);
    let ticks = ns_ticks.clamp(2, 10);
    join + TICK * (ticks - 1) + RETRANS_TIMER
}

/// EDK2's draw of `RetransTick` for a new address: `10 * ((Random % 5) + 1) / 5` ticks.
pub fn dad_ticks(random: u32) -> u32 {
    10 * ((random % 5) + 1) / 5
}

/// The same beside UEFI HTTP boot over IPv6, where the lab saw it otherwise: OVMF x64's
/// HTTP boot solicited first and its stack 1.14 s later (`scenarios/lab/http6-uefi-x64.yaml`
/// under TCG, 2026-12-01; its PXEv6 in the same run had the stack first, 2.31 s before).
/// The other firmware as beside PXE (no HTTPv6 capture of theirs has the managed flag).
pub fn http6_stack_timing(kind: FirmwareKind) -> Option<StackTiming> {
    match kind {
        FirmwareKind::UefiX64 => Some(StackTiming {
            stack_solicit: Duration::from_millis(1140),
            boot_solicit: Duration::ZERO,
            ..stack_timing(kind)?
        }),
        _ => stack_timing(kind),
    }
}

/// The stack's Solicit retransmissions (RFC 8415 SOL_IRT 1 s, doubling, SOL_MRT 120 s).
pub fn stack_solicit_gap(tx: u32) -> Duration {
    Duration::from_secs((1u64 << tx.min(7)).min(120))
}

/// The next transaction id of EDK2's one counter: the first byte counts, carrying into
/// the second and third (`0xffa488`, `0x00a588` in the uefi-arm64 HTTPv6 capture).
pub fn next_xid(x: [u8; 3]) -> [u8; 3] {
    let n = u32::from_le_bytes([x[0], x[1], x[2], 0]).wrapping_add(1);
    let b = n.to_le_bytes();
    [b[0], b[1], b[2]]
}

fn ia(iaid: u32, t: u32, rest: &[u8]) -> Vec<u8> {
    let mut v = iaid.to_be_bytes().to_vec();
    v.extend(t.to_be_bytes());
    v.extend(t.to_be_bytes());
    v.extend(rest);
    v
}

fn elapsed(cs: u16) -> Opt {
    Opt {
        code: opt::ELAPSED_TIME,
        data: cs.to_be_bytes().to_vec(),
    }
}

fn oro() -> Opt {
    Opt {
        code: opt::ORO,
        data: STACK_ORO.iter().flat_map(|c| c.to_be_bytes()).collect(),
    }
}

fn o(code: u16, data: &[u8]) -> Opt {
    Opt {
        code,
        data: data.to_vec(),
    }
}

/// The stack's Solicit: 1, 8, 3 (T1 = T2 = infinity), 6 = [23].
pub fn solicit(duid: &[u8], xid: [u8; 3], iaid: u32, elapsed_cs: u16) -> Vec<u8> {
    Message6::Client {
        msg_type: msg::SOLICIT,
        xid,
        options: vec![
            o(opt::CLIENTID, duid),
            elapsed(elapsed_cs),
            o(opt::IA_NA, &ia(iaid, u32::MAX, &[])),
            oro(),
        ],
    }
    .encode()
}

/// The stack's Request: 1, 8, 2, 3 (the Advertise's IA as written), 6 = [23].
pub fn request(duid: &[u8], xid: [u8; 3], elapsed_cs: u16, server_id: &[u8], ia: &[u8]) -> Vec<u8> {
    Message6::Client {
        msg_type: msg::REQUEST,
        xid,
        options: vec![
            o(opt::CLIENTID, duid),
            elapsed(elapsed_cs),
            o(opt::SERVERID, server_id),
            o(opt::IA_NA, ia),
            oro(),
        ],
    }
    .encode()
}

/// The Release of an address: 1, 2, 8, 3 with the IAID, T1 = T2 = infinity and the
/// server's IAADDR (the x64 PXEv6 capture); HTTP boot releases its own address so too.
pub fn release(duid: &[u8], xid: [u8; 3], server_id: &[u8], server_ia: &[u8]) -> Vec<u8> {
    let iaid = server_ia
        .get(..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let addrs = server_ia.get(12..).unwrap_or_default();
    Message6::Client {
        msg_type: msg::RELEASE,
        xid,
        options: vec![
            o(opt::CLIENTID, duid),
            o(opt::SERVERID, server_id),
            elapsed(0),
            o(opt::IA_NA, &ia(iaid, u32::MAX, addrs)),
        ],
    }
    .encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xid_counter_counts_in_the_first_byte_and_carries() {
        assert_eq!(next_xid([0xc6, 0x8e, 0xda]), [0xc7, 0x8e, 0xda]);
        assert_eq!(next_xid([0xff, 0xa4, 0x88]), [0x00, 0xa5, 0x88]);
    }

    #[test]
    fn arm64_solicits_for_pxe_before_its_stack_and_ovmf_after() {
        let a = stack_timing(FirmwareKind::UefiArm64).unwrap();
        assert!(a.boot_solicit < a.stack_solicit);
        let x = stack_timing(FirmwareKind::UefiX64).unwrap();
        assert!(x.stack_solicit < x.boot_solicit);
        assert_eq!(stack_timing(FirmwareKind::BiosX64), None);
        // Beside HTTP boot, OVMF x64 solicits for the boot first too (the lab's).
        let h = http6_stack_timing(FirmwareKind::UefiX64).unwrap();
        assert!(h.boot_solicit < h.stack_solicit);
        assert_eq!(h.release_after_policy, x.release_after_policy);
        assert_eq!(http6_stack_timing(FirmwareKind::UefiArm64), Some(a));
    }

    #[test]
    fn the_stacks_address_is_usable_1_1_to_2_9_s_after_its_reply() {
        let ticks: Vec<u32> = (0..5).map(dad_ticks).collect();
        assert_eq!(ticks, [2, 4, 6, 8, 10]);
        let ms = Duration::from_millis;
        assert_eq!(stack_address_usable_after(ms(0), 2), ms(1100));
        assert_eq!(stack_address_usable_after(ms(880), 10), ms(2780));
        // A lab boot that lost the race: joined 0.77 s after the Reply, solicited 0.70 s
        // later; PXE's Reply came 1.57 s after the stack's, before the address was usable.
        assert_eq!(stack_address_usable_after(ms(770), 8), ms(2470));
    }

    #[test]
    fn the_release_keeps_the_iaid_and_address_with_infinite_times() {
        let server_ia = [
            1, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0xc, 0x4e, 0, 5, 0, 2, 0xaa, 0xbb,
        ];
        let r = Message6::decode(&release(&[0, 4], [1, 2, 3], &[9], &server_ia)).unwrap();
        let codes: Vec<u16> = r.options().iter().map(|o| o.code).collect();
        assert_eq!(codes, [1, 2, 8, 3]);
        assert_eq!(
            r.option(3).unwrap(),
            &[1, 2, 3, 4, 255, 255, 255, 255, 255, 255, 255, 255, 0, 5, 0, 2, 0xaa, 0xbb][..]
        );
    }
}
