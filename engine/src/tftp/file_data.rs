//! File bytes by reference: what a DATA packet carries when its driver (the simulator)
//! asks for the bytes' place in the file instead of a copy of them.

use super::server::FileSource;
use std::sync::Arc;

/// `len` bytes of `file` at `offset`.
#[derive(Clone)]
pub struct FileData {
    pub file: Arc<dyn FileSource>,
    pub offset: u64,
    pub len: usize,
}

impl FileData {
    /// Append the bytes to `out` (a pcap frame, or a datagram for a host that wants bytes).
    pub fn append_to(&self, out: &mut Vec<u8>) {
        self.file.append_to(self.offset, self.len, out);
    }

    /// Whether this is data of `file` (the same source, not merely equal bytes).
    pub fn is_of(&self, file: &Arc<dyn FileSource>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.file), Arc::as_ptr(file))
    }
}

impl std::fmt::Debug for FileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FileData({:p}, {} bytes at {})",
            Arc::as_ptr(&self.file),
            self.len,
            self.offset
        )
    }
}

/// The same bytes of the same source.
impl PartialEq for FileData {
    fn eq(&self, o: &Self) -> bool {
        self.is_of(&o.file) && self.offset == o.offset && self.len == o.len
    }
}
impl Eq for FileData {}
