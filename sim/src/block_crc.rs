//! CRC-32s of a served file's blocks, computed once per file and block size, so that
//! a download of DATA by reference is checked without reading its bytes again: the
//! client folds the blocks' CRCs into the file's (`crc32fast::Hasher::combine`).

use crate::world::{HostId, HostKind, World};
use pxelab_engine::tftp::server::{FileData, FileSource};
use std::net::SocketAddrV4;
use std::sync::Arc;

/// A DATA datagram by reference (`payload` its header, `data` its file bytes) for a
/// client: its download takes the block by its CRC where it can, else the bytes.
pub(crate) fn deliver_to_client(
    w: &mut World,
    host: HostId,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &mut Vec<u8>,
    data: FileData,
) {
    let block_size = match &w.hosts[host].kind {
        HostKind::Client(c) => c.data_by_crc(src, dst),
        _ => None,
    };
    let crc = block_size.and_then(|b| w.block_crcs.crc(&data, b));
    match (crc, payload.get(2..4)) {
        (Some(crc), Some(&[hi, lo])) => {
            let block = u16::from_be_bytes([hi, lo]);
            w.with_client(host, |c, now, out| {
                c.handle_data_crc(now, src, dst, block, data.len, crc, out)
            });
        }
        _ => {
            data.append_to(payload);
            w.with_client(host, |c, now, out| {
                c.handle_datagram(now, src, dst, payload, out)
            });
        }
    }
}

/// Files shorter than this are read as bytes: a table would cost more than it saves.
const MIN_LEN: u64 = 1 << 20;
/// Most tables kept: one per (source, block size) is a few per responder, but a source
/// made per transfer (a netascii view) would otherwise keep a table, and its bytes,
/// per transfer. Beyond this, blocks are read as bytes.
const MAX_TABLES: usize = 256;

#[derive(Default)]
pub struct BlockCrcs {
    /// (file, block size, CRC of each block). The table holds the file, so that its
    /// address stays its own while the entry lives.
    tables: Vec<(Arc<dyn FileSource>, usize, Vec<u32>)>,
}

impl BlockCrcs {
    /// The CRC-32 of `data`'s bytes, when `data` is a whole block of `block_size` of a
    /// file long enough to keep a table for; `None` otherwise (read the bytes).
    pub fn crc(&mut self, data: &FileData, block_size: usize) -> Option<u32> {
        let size = data.file.len();
        if size < MIN_LEN || block_size == 0 || !data.offset.is_multiple_of(block_size as u64) {
            return None;
        }
        let whole = (size - data.offset).min(block_size as u64) as usize;
        if data.len != whole {
            return None;
        }
        let idx = (data.offset / block_size as u64) as usize;
        let table = match self
            .tables
            .iter()
            .position(|(f, b, _)| *b == block_size && data.is_of(f))
        {
            Some(i) => &self.tables[i].2,
            None if self.tables.len() >= MAX_TABLES => return None,
            None => {
                let t = table(data.file.as_ref(), block_size);
                self.tables.push((data.file.clone(), block_size, t));
                &self.tables[self.tables.len() - 1].2
            }
        };
        table.get(idx).copied()
    }
}

/// The CRC-32 of each block of `file`, the last one short (or empty).
fn table(file: &dyn FileSource, block_size: usize) -> Vec<u32> {
    let size = file.len();
    let blocks = size / block_size as u64 + 1;
    let mut buf = vec![0u8; block_size];
    (0..blocks)
        .map(|i| {
            let off = i * block_size as u64;
            let n = (size - off).min(block_size as u64) as usize;
            file.read_at(off, &mut buf[..n]);
            crc32fast::hash(&buf[..n])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Synthetic;

    fn data(file: &Arc<dyn FileSource>, offset: u64, len: usize) -> FileData {
        FileData {
            file: file.clone(),
            offset,
            len,
        }
    }

    #[test]
    fn block_crcs_are_those_of_the_bytes_and_combine_to_the_file_crc() {
        let size = (3 << 20) + 1000;
        let file: Arc<dyn FileSource> = Arc::new(Synthetic::new("img", size));
        let mut crcs = BlockCrcs::default();
        let mut whole = crc32fast::Hasher::new();
        let mut folded = crc32fast::Hasher::new();
        let mut off = 0;
        while off <= size {
            let n = (size - off).min(4096) as usize;
            let mut bytes = vec![0u8; n];
            file.read_at(off, &mut bytes);
            let c = crcs.crc(&data(&file, off, n), 4096).expect("a whole block");
            assert_eq!(c, crc32fast::hash(&bytes), "block at {off}");
            whole.update(&bytes);
            folded.combine(&crc32fast::Hasher::new_with_initial_len(c, n as u64));
            off += 4096;
        }
        assert_eq!(folded.finalize(), whole.finalize());
        // Another block size of the same file is another table.
        let mut b = vec![0u8; 1468];
        file.read_at(1468 * 5, &mut b);
        assert_eq!(
            crcs.crc(&data(&file, 1468 * 5, 1468), 1468),
            Some(crc32fast::hash(&b))
        );
        assert_eq!(crcs.tables.len(), 2);
    }

    #[test]
    fn a_slice_that_is_not_a_whole_block_or_of_a_small_file_is_read_as_bytes() {
        let big: Arc<dyn FileSource> = Arc::new(Synthetic::new("img", 2 << 20));
        let small: Arc<dyn FileSource> = Arc::new(Synthetic::new("nbp", 256 << 10));
        let mut crcs = BlockCrcs::default();
        assert_eq!(crcs.crc(&data(&big, 100, 4096), 4096), None, "not aligned");
        assert_eq!(crcs.crc(&data(&big, 4096, 4000), 4096), None, "short");
        assert_eq!(crcs.crc(&data(&small, 0, 4096), 4096), None, "small file");
        // Another source with the same bytes has its own table.
        let twin: Arc<dyn FileSource> = Arc::new(Synthetic::new("img", 2 << 20));
        assert!(crcs.crc(&data(&big, 0, 4096), 4096).is_some());
        assert!(crcs.crc(&data(&twin, 0, 4096), 4096).is_some());
        assert_eq!(crcs.tables.len(), 2);
    }
}
