//! The lenient reader of a fuzz input's byte stream, shared by the targets.

/// Reads the fuzz input's byte stream; every read past the end gives zeros / `None`.
pub(super) struct Bytes<'a> {
    pub(super) data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub(super) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    pub(super) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
    /// A length-prefixed slice (u16 LE), cut to what is left.
    pub(super) fn chunk(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?).min(self.data.len());
        let (c, rest) = self.data.split_at(n);
        self.data = rest;
        Some(c)
    }
}
