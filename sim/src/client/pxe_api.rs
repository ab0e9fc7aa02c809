//! The boot program's reads through iPXE's PXE API (`PXENV_TFTP_READ`), which refuse
//! any DATA block that is not the next one: iPXE's TFTP hands every DATA packet to the
//! PXE layer at its absolute offset, duplicates included (`tftp_rx_data` in
//! `src/net/udp/tftp.c`), and `pxe_tftp_xfer_deliver`
//! (`src/arch/x86/interface/pxe/pxe_tftp.c`) fails a block below the current read's
//! buffer ("buffer underrun") or beyond it ("overrun") with `ENOBUFS`, which ends the
//! transfer: iPXE sends TFTP error 0 "TFTP Aborted" (the lab's capture at 2 % loss:
//! a lost ACK, the server's resent block, the abort 45 ms later). So a BIOS boot
//! program fails on the first resent block, which a lost ACK or a server timeout
//! shorter than the client's turnaround (TCG) brings. EDK2's Mtftp and iPXE's own
//! download of the boot program (into a buffer at the block's offset) do not.

use pxelab_engine::dhcp::firmware::Stack;

/// iPXE's PXE API aborts the transfer: a read through `PXENV_TFTP_READ`
/// (`pxe_api_read`) that gets DATA block `data_block` other than the one after the
/// `received` in-order blocks.
pub(super) fn ipxe_aborts(
    stack: Stack,
    pxe_api_read: bool,
    received: u64,
    data_block: Option<u16>,
) -> bool {
    stack == Stack::Ipxe && pxe_api_read && data_block.is_some_and(|b| b != (received + 1) as u16)
}

/// What iPXE sends when it aborts a transfer.
pub(super) const ABORT_MESSAGE: &str = "TFTP Aborted";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resent_block_aborts_only_ipxe_pxe_api_reads() {
        assert!(!ipxe_aborts(Stack::Ipxe, true, 86, Some(87)));
        assert!(ipxe_aborts(Stack::Ipxe, true, 87, Some(87)));
        assert!(!ipxe_aborts(Stack::Ipxe, false, 87, Some(87)));
        assert!(!ipxe_aborts(Stack::Edk2, true, 87, Some(87)));
        // An OACK or an error is not a block.
        assert!(!ipxe_aborts(Stack::Ipxe, true, 0, None));
    }
}
