//! DATA blocks by reference (the world's `FileData`): a download in progress takes a
//! block by its length and CRC-32, with the same checks of its order and size as a
//! datagram of bytes gets.

use super::{Client, Phase, Send, Stage};
use pxelab_engine::Instant;
use std::net::SocketAddrV4;

impl Client {
    /// The block size of the download a DATA datagram from `src` to `dst` would feed,
    /// when that download can take it by its CRC: what
    /// [`handle_datagram`](Client::handle_datagram) would hand to a download that
    /// keeps no bytes (not the size probe, not the boot parameters, not HTTP boot).
    pub(crate) fn data_by_crc(&self, src: SocketAddrV4, dst: SocketAddrV4) -> Option<usize> {
        let dhcp = dst.port() == 68
            || (dst.port() == self.model.pxe_request_src_port && src.port() == 4011);
        if self.http.is_some() || dhcp {
            return None;
        }
        match &self.phase {
            Phase::Tftp {
                stage,
                port,
                transfer,
                ..
            } if !matches!(stage, Stage::SizeProbe)
                && *port == dst.port()
                && !transfer.keeps_data() =>
            {
                Some(transfer.block_size())
            }
            _ => None,
        }
    }

    /// A DATA block of `len` bytes with CRC-32 `crc32`, where
    /// [`data_by_crc`](Client::data_by_crc) said it could go.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_data_crc(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        block: u16,
        len: usize,
        crc32: u32,
        out: &mut Vec<Send>,
    ) {
        self.on_tftp_datagram(now, src, dst.port(), Some(block), out, |t, payloads| {
            t.handle_data_crc(now, src.port(), block, len, crc32, payloads)
        });
    }
}
