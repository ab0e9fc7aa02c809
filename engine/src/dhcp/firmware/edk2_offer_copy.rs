//! Whether EDK2's DHCP driver accepts PXE's copy of the address offer PXE chose (the
//! simulator's EDK2 client requests another offer when it does not).
//!
//! From EDK2's source (edk2-stable202211, what Debian's OVMF 2022.11 is built from; the
//! same at the mirror's HEAD; read, nothing copied):
//!
//! - `PxeBcCacheDhcp4Offer` copies every offer into PXE's own buffer and
//!   `PxeBcParseDhcp4Packet` parses the copy. When option 67's last byte is not NUL it
//!   writes a NUL into the byte after the option's data ("force to append null
//!   terminated character"): the next option's code, or the end option (255) when 67
//!   is last, as the lab's built-in DHCP server sends it (its capture).
//! - At its offer timeout `Dhcp4Dxe`'s `DhcpChooseOffer` takes PXE's choice
//!   (`Dhcp4SelectOffer`: a pointer to that copy) only if `DhcpValidateOptions` passes
//!   on it; `DhcpIterateBufferOptions` wants the option field to end with option 255,
//!   so the copy fails and the driver requests its `LastOffer` instead: the last offer
//!   it received, whoever sent it.
//! - `DhcpSendMessage` builds that REQUEST with option 54 = the last offer's server id
//!   and option 50 = its `yiaddr` only when that is not 0.0.0.0.
//!
//! So with a DHCP server naming the boot file in option 67 (no trailing NUL) and a proxy
//! offer arriving after the DHCP server's offer, EDK2 requests the proxy's "address":
//! option 54 the proxy, no option 50; the DHCP server ignores a REQUEST for another
//! server and the boot fails (lab: `pxelab matrix`, set-up `66-67+proxy`). With the proxy
//! offer first, the last offer is the DHCP server's own and the boot goes on.
//!
//! Not modelled: option overload (52) moving option 67 into the `file`/`sname` fields,
//! and `DhcpOptionIsValid`'s per-option format checks of a walk that happens to end.

const OPTIONS_START: usize = 240;
const PAD: u8 = 0;
const END: u8 = 255;
const BOOTFILE_NAME: u8 = 67;
const OVERLOAD: u8 = 52;

/// True if `Dhcp4Dxe` accepts PXE's copy of this offer (`payload`: the whole DHCP
/// message as received), i.e. REQUESTs the offer PXE chose.
pub fn edk2_accepts_pxe_copy(payload: &[u8]) -> bool {
    if payload.len() <= OPTIONS_START {
        return true; // no option field: nothing for PXE's parse to change
    }
    let mut options = payload[OPTIONS_START..].to_vec();
    if let Some(after) = bootfile_data_end(&options) {
        if options[after - 1] != 0 {
            if let Some(b) = options.get_mut(after) {
                *b = 0; // beyond the message: outside what the walk below reads
            }
        }
    }
    let Some(overload) = walk_to_end(&options) else {
        return false;
    };
    // An overloaded `file` (1) / `sname` (2) field must end with option 255 too.
    let (file, sname) = (&payload[108..236], &payload[44..108]);
    (overload & 1 == 0 || walk_to_end(file).is_some())
        && (overload & 2 == 0 || walk_to_end(sname).is_some())
}

/// Where option 67's data ends in an option field (the first 67, found as
/// `PxeBcParseDhcp4Options` looks: pads skipped, stop at 255); `None` without one or
/// with an empty one (its length byte is then the "last byte", 0: nothing written).
fn bootfile_data_end(options: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < options.len() && options[at] != END {
        let code = options[at];
        if code == PAD {
            at += 1;
            continue;
        }
        let len = usize::from(*options.get(at + 1)?);
        if code == BOOTFILE_NAME {
            let end = at + 2 + len;
            return (len > 0 && end <= options.len()).then_some(end);
        }
        at += 2 + len;
    }
    None
}

/// `DhcpIterateBufferOptions`: walks to option 255; `None` if the field runs out first
/// or an option's length overruns it. Gives option 52's value (0 without it).
fn walk_to_end(field: &[u8]) -> Option<u8> {
    let mut overload = 0;
    let mut at = 0;
    while at < field.len() {
        match field[at] {
            PAD => at += 1,
            END => return Some(overload),
            code => {
                let len = usize::from(*field.get(at + 1)?);
                let data = field.get(at + 2..at + 2 + len)?;
                if code == OVERLOAD {
                    overload = *data.first()?;
                }
                at += 2 + len;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DHCP message with this option field (after the magic cookie).
    fn message(options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; OPTIONS_START];
        m[236..240].copy_from_slice(&[99, 130, 83, 99]);
        m.extend_from_slice(options);
        m.resize(m.len().max(300), 0);
        m
    }

    const OFFER: [u8; 3] = [53, 1, 2];
    const SERVER: [u8; 6] = [54, 4, 10, 10, 0, 2];

    fn with(parts: &[&[u8]]) -> Vec<u8> {
        message(&parts.concat())
    }

    #[test]
    fn option_67_without_a_nul_before_the_end_option_spoils_the_copy() {
        let m = with(&[
            &OFFER,
            &SERVER,
            &[67, 5, b'a', b'.', b'e', b'f', b'i'],
            &[END],
        ]);
        assert!(!edk2_accepts_pxe_copy(&m));
    }

    #[test]
    fn option_67_with_a_nul_or_no_option_67_keeps_it() {
        let nul = with(&[
            &OFFER,
            &SERVER,
            &[67, 6, b'a', b'.', b'e', b'f', b'i', 0],
            &[END],
        ]);
        assert!(edk2_accepts_pxe_copy(&nul));
        let none = with(&[&OFFER, &SERVER, &[END]]);
        assert!(edk2_accepts_pxe_copy(&none));
        let empty = with(&[&OFFER, &SERVER, &[67, 0], &[END]]);
        assert!(edk2_accepts_pxe_copy(&empty));
    }

    #[test]
    fn a_spoiled_code_in_the_middle_breaks_the_walk_when_nothing_ends_it() {
        // 67 then 66 (`10.10.0.6`): 66's code becomes a pad, its length (9) is read as a
        // code whose "length" is b'1' (49): past the field's end, so it fails.
        let m = with(&[
            &OFFER,
            &SERVER,
            &[67, 3, b'a', b'.', b'b'],
            &[66, 9],
            b"10.10.0.6",
            &[END],
        ]);
        assert!(!edk2_accepts_pxe_copy(&m));
    }
}
