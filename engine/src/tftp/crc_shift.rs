//! CRC-32 of a concatenation from its parts' CRCs, for one fixed length of the second
//! part: crc(a ‖ b) = Z(crc(a)) ^ crc(b), where Z appends |b| zero bytes to the CRC
//! register (the pre- and post-inversions cancel). Z is linear, so for a fixed |b| it
//! is four table lookups; `crc32fast::Hasher::combine` works it out for any length at
//! about a hundred times the cost, which a download of a block size's CRCs repeats
//! for every block.

use std::sync::{Arc, Mutex, OnceLock};

pub struct CrcShift {
    len: usize,
    table: Box<[[u32; 256]; 4]>,
}

impl CrcShift {
    /// The shift for a second part of `len` bytes, built once per length and shared.
    pub fn for_len(len: usize) -> Arc<CrcShift> {
        static BUILT: OnceLock<Mutex<Vec<Arc<CrcShift>>>> = OnceLock::new();
        let mut built = BUILT
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(s) = built.iter().find(|s| s.len == len) {
            return s.clone();
        }
        let s = Arc::new(CrcShift::new(len));
        built.push(s.clone());
        s
    }

    fn new(len: usize) -> CrcShift {
        let zeros = vec![0u8; len];
        let crc_of_zeros = crc32fast::hash(&zeros);
        // Z of each single bit of the register: crc(a ‖ 0…0) ^ crc(0…0) with crc(a) set.
        let basis: Vec<u32> = (0..32)
            .map(|bit| {
                let mut h = crc32fast::Hasher::new_with_initial(1 << bit);
                h.update(&zeros);
                h.finalize() ^ crc_of_zeros
            })
            .collect();
        let mut table = Box::new([[0u32; 256]; 4]);
        for (k, row) in table.iter_mut().enumerate() {
            for v in 1..256usize {
                row[v] = row[v & (v - 1)] ^ basis[8 * k + v.trailing_zeros() as usize];
            }
        }
        CrcShift { len, table }
    }

    /// crc(a ‖ b) from crc(a) and crc(b), b being [`len`](Self::len) bytes long.
    pub fn combine(&self, crc_a: u32, crc_b: u32) -> u32 {
        let t = &self.table;
        t[0][(crc_a & 0xff) as usize]
            ^ t[1][((crc_a >> 8) & 0xff) as usize]
            ^ t[2][((crc_a >> 16) & 0xff) as usize]
            ^ t[3][(crc_a >> 24) as usize]
            ^ crc_b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shift_combines_as_hashing_the_concatenation_does() {
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        for len in [1usize, 7, 512, 1468, 4096] {
            let s = CrcShift::for_len(len);
            assert_eq!(s.len, len);
            for a_len in [0usize, 1, 100, 4096, 9000] {
                let (a, b) = (&bytes[..a_len], &bytes[a_len..a_len + len]);
                let want = crc32fast::hash(&bytes[..a_len + len]);
                assert_eq!(
                    s.combine(crc32fast::hash(a), crc32fast::hash(b)),
                    want,
                    "a {a_len} bytes, b {len} bytes"
                );
            }
        }
        assert!(Arc::ptr_eq(
            &CrcShift::for_len(512),
            &CrcShift::for_len(512)
        ));
    }
}
