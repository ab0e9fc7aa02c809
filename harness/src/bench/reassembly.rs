//! IP reassembly memory of the bench's two namespaces, sized for lossy links.
//!
//! A TFTP block larger than the link's MTU (8 KiB over 1500-byte frames) travels as one
//! IP datagram in six fragments. When the switch drops one fragment, the other five wait
//! in the receiver's reassembly queue until `ipfrag_time` (30 s by default) runs out.
//! At 2 % loss and 100 Mbit/s about 160 datagrams a second are left incomplete, and a
//! namespace's default reassembly memory (4 MiB, `ipfrag_high_thresh`) is full within a
//! few seconds; from then on the kernel drops every new fragment, whole datagrams
//! included, until old ones expire: the transfer stalls and the client gives up although
//! the link lost only 2 %. Neither real firmware nor the simulator has such a limit on
//! the path of one transfer, so the bench measured the namespace, not the link.
//!
//! Each bench namespace therefore holds incomplete datagrams for 1 s and may hold 16 MiB
//! of them, IPv4 and IPv6. A datagram that lost a fragment is never completed (the
//! sender resends the block as a new datagram), so holding it longer only fills memory.
//! Scenario labs keep the kernel's defaults: no client reassembles in their namespaces
//! (docs/LAB.md).

use std::io;

/// Seconds an incomplete datagram is held.
pub const HOLD_S: u32 = 1;
/// Reassembly memory, bytes: above `HIGH`, new fragments are dropped until `LOW`.
pub const HIGH: u64 = 16 << 20;
pub const LOW: u64 = 12 << 20;
const _: () = assert!(
    LOW < HIGH,
    "the kernel refuses a low mark above the high one"
);

/// The sysctl files written, in this order (the high mark first: the kernel refuses a
/// low mark above the high one).
fn settings() -> [(&'static str, String); 6] {
    [
        ("net/ipv4/ipfrag_high_thresh", HIGH.to_string()),
        ("net/ipv4/ipfrag_low_thresh", LOW.to_string()),
        ("net/ipv4/ipfrag_time", HOLD_S.to_string()),
        ("net/ipv6/ip6frag_high_thresh", HIGH.to_string()),
        ("net/ipv6/ip6frag_low_thresh", LOW.to_string()),
        ("net/ipv6/ip6frag_time", HOLD_S.to_string()),
    ]
}

/// Sizes namespace `ns`'s reassembly memory for lossy links (see the module's comment).
/// `/proc/sys/net` shows the network namespace of the thread that opens it, so the
/// files are written from a thread inside `ns`.
pub fn size_for_loss(ns: &str) -> Result<(), String> {
    pxelab_system::netns::run_in(ns, || {
        for (key, value) in settings() {
            let path = format!("/proc/sys/{key}");
            std::fs::write(&path, &value).map_err(|e: io::Error| {
                format!("namespace {ns}: cannot set {path} to {value}: {e}")
            })?;
        }
        Ok(())
    })
    .map_err(|e| format!("namespace {ns}: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_high_mark_is_written_before_the_low_one_for_each_family() {
        let keys: Vec<&str> = settings().iter().map(|(k, _)| *k).collect();
        for family in ["ipv4/ipfrag", "ipv6/ip6frag"] {
            let at = |k: &str| keys.iter().position(|x| *x == format!("net/{family}_{k}"));
            assert!(at("high_thresh").unwrap() < at("low_thresh").unwrap());
            assert!(at("time").is_some());
        }
    }

    #[test]
    fn a_namespace_that_does_not_exist_is_named_in_the_error() {
        let e = size_for_loss("pxl-no-such-bench-ns").unwrap_err();
        assert!(e.contains("pxl-no-such-bench-ns"), "{e}");
    }
}
