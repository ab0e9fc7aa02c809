//! netascii (RFC 1350, after RFC 764): a file read in mode `netascii` is sent with
//! every LF as CR LF and every CR as CR NUL, so that a client on any system can turn
//! the lines back into its own. The translation is byte for byte and reversible (a CR LF
//! in the file goes as CR NUL CR LF and comes back as CR LF).
//!
//! [`Netascii`] is the translated file as a [`FileSource`]: its length (what `tsize`
//! announces, RFC 2349) is known after one pass over the file, and any range of it can
//! be read again (a window is resent from its first block, R-TFTP-4) from the nearest
//! checkpoint the pass recorded.

use super::server::FileSource;
use std::sync::Arc;

/// Source bytes between two checkpoints (each costs 16 bytes of memory).
const CHECKPOINT: u64 = 4096;
/// The largest file served in netascii mode: the pass over it holds up the responder's
/// event loop (a few milliseconds per MiB), and text files are small. Larger files are
/// refused with a message naming octet mode.
pub const MAX_SOURCE: u64 = 16 << 20;

/// The netascii form of one source byte: one or two bytes.
fn translate(b: u8) -> ([u8; 2], usize) {
    match b {
        b'\n' => ([b'\r', b'\n'], 2),
        b'\r' => ([b'\r', 0], 2),
        x => ([x, 0], 1),
    }
}

/// A file as netascii.
pub struct Netascii {
    inner: Arc<dyn FileSource>,
    len: u64,
    /// (source offset, translated offset) every [`CHECKPOINT`] source bytes, from 0.
    checkpoints: Vec<(u64, u64)>,
}

impl Netascii {
    /// One pass over `inner` to learn the translated length, or `None` when it is
    /// larger than [`MAX_SOURCE`].
    pub fn new(inner: Arc<dyn FileSource>) -> Option<Netascii> {
        let n = inner.len();
        if n > MAX_SOURCE {
            return None;
        }
        let mut checkpoints = Vec::with_capacity((n / CHECKPOINT) as usize + 1);
        let mut buf = vec![0u8; CHECKPOINT as usize];
        let (mut src, mut dst) = (0u64, 0u64);
        while src < n {
            checkpoints.push((src, dst));
            let len = (n - src).min(CHECKPOINT) as usize;
            inner.read_at(src, &mut buf[..len]);
            let grows = buf[..len]
                .iter()
                .filter(|&&b| b == b'\n' || b == b'\r')
                .count();
            src += len as u64;
            dst += (len + grows) as u64;
        }
        if checkpoints.is_empty() {
            checkpoints.push((0, 0));
        }
        Some(Netascii {
            inner,
            len: dst,
            checkpoints,
        })
    }
}

impl Netascii {
    /// [`Netascii::new`] as the engine's shared file type.
    pub fn shared(inner: Arc<dyn FileSource>) -> Option<Arc<dyn FileSource>> {
        // The engine is single-threaded: `Arc<dyn FileSource>` shares a file between
        // transfers, not threads (and `dyn FileSource` is neither Send nor Sync).
        #[allow(clippy::arc_with_non_send_sync)]
        Netascii::new(inner).map(|n| Arc::new(n) as Arc<dyn FileSource>)
    }
}

impl FileSource for Netascii {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        // The last checkpoint at or before `offset`, then translate forward from it.
        let i = self
            .checkpoints
            .partition_point(|&(_, d)| d <= offset)
            .saturating_sub(1);
        let (mut src, mut dst) = self.checkpoints[i];
        let n = self.inner.len();
        let mut chunk = [0u8; CHECKPOINT as usize];
        let mut filled = 0;
        while filled < buf.len() && src < n {
            let len = (n - src).min(CHECKPOINT) as usize;
            self.inner.read_at(src, &mut chunk[..len]);
            for &b in &chunk[..len] {
                let (t, k) = translate(b);
                for &x in &t[..k] {
                    if dst >= offset && filled < buf.len() {
                        buf[filled] = x;
                        filled += 1;
                    }
                    dst += 1;
                }
                if filled == buf.len() {
                    return;
                }
            }
            src += len as u64;
        }
        // Past the end (the caller stays within `len`): zeros, as a truncated file.
        buf[filled..].fill(0);
    }
}

/// netascii back to the bytes it was made from (CR LF -> LF, CR NUL -> CR), as a
/// client does; a CR before anything else is kept. For tests and for clients.
pub fn decode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'\r', Some(b'\n')) => {
                out.push(b'\n');
                i += 2;
            }
            (b'\r', Some(0)) => {
                out.push(b'\r');
                i += 2;
            }
            (x, _) => {
                out.push(x);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tftp::client::{ClientConfig, ClientStatus, ClientTransfer};
    use crate::tftp::packet::{self, Packet};
    use crate::tftp::server::{ServerConfig, Transfer, TransferStatus};
    use crate::Instant;
    use proptest::prelude::*;
    use std::time::Duration;

    fn encode(b: &[u8]) -> Vec<u8> {
        b.iter()
            .flat_map(|&x| {
                let (t, k) = translate(x);
                t.into_iter().take(k)
            })
            .collect()
    }

    fn source(b: &[u8]) -> Arc<dyn FileSource> {
        Arc::new(b.to_vec())
    }

    fn whole(n: &Netascii) -> Vec<u8> {
        let mut v = vec![0u8; n.len() as usize];
        n.read_at(0, &mut v);
        v
    }

    #[test]
    fn lf_becomes_cr_lf_and_cr_becomes_cr_nul() {
        let n = Netascii::new(source(b"a\nb\rc\r\nd")).unwrap();
        assert_eq!(whole(&n), b"a\r\nb\r\0c\r\0\r\nd");
        assert_eq!(n.len(), 12);
        assert_eq!(decode(&whole(&n)), b"a\nb\rc\r\nd");
        let empty = Netascii::new(source(b"")).unwrap();
        assert_eq!(empty.len(), 0);
    }

    /// Each block read on its own, at every block size from 1 to 9, equals the
    /// translation cut at that size: a CR or LF whose two bytes straddle two blocks is
    /// split right, the checkpoints (every 4 KiB of source) included.
    #[test]
    fn blocks_cut_the_translation_anywhere() {
        let mut text = Vec::new();
        for i in 0..3000 {
            text.extend_from_slice(format!("{i}").as_bytes());
            text.push([b'\n', b'\r', b'x'][i % 3]);
            if i % 11 == 0 {
                text.extend_from_slice(b"\r\n\n\r\r");
            }
        }
        let want = encode(&text);
        let n = Netascii::new(source(&text)).unwrap();
        assert_eq!(n.len(), want.len() as u64);
        for blk in 1..=9usize {
            for (k, expect) in want.chunks(blk).enumerate() {
                let mut got = vec![0u8; expect.len()];
                n.read_at((k * blk) as u64, &mut got);
                assert_eq!(got, expect, "block {k} of {blk} bytes");
            }
        }
    }

    #[test]
    fn a_cr_at_the_end_of_a_block_sends_its_nul_in_the_next() {
        // 511 bytes then CR: the 512-byte block ends with the CR, the next starts with
        // the NUL. Same for LF (CR | LF).
        for (c, second) in [(b'\r', 0u8), (b'\n', b'\n')] {
            let mut text = vec![b'a'; 511];
            text.push(c);
            text.extend_from_slice(b"tail");
            let n = Netascii::new(source(&text)).unwrap();
            let mut first = vec![0u8; 512];
            n.read_at(0, &mut first);
            assert_eq!(first[511], b'\r');
            let mut next = vec![0u8; 5];
            n.read_at(512, &mut next);
            assert_eq!(next, [second, b't', b'a', b'i', b'l']);
        }
    }

    #[test]
    fn a_file_too_large_for_netascii_is_refused() {
        struct Huge;
        impl FileSource for Huge {
            fn len(&self) -> u64 {
                MAX_SOURCE + 1
            }
            fn read_at(&self, _: u64, _: &mut [u8]) {
                panic!("not read: refused on its size")
            }
        }
        assert!(Netascii::new(Arc::new(Huge)).is_none());
    }

    /// Served by the server's transfer, windows and a lost window included: the client
    /// gets the translation, and the OACK's tsize is its length.
    #[test]
    fn a_transfer_sends_the_translation_with_its_tsize() {
        let text: Vec<u8> = (0..20_000u32)
            .map(|i| match i % 37 {
                0 => b'\n',
                5 => b'\r',
                _ => b'a' + (i % 26) as u8,
            })
            .collect();
        let n = Netascii::shared(source(&text)).unwrap();
        let req = packet::Request {
            filename: b"f",
            mode: "netascii".into(),
            options: vec![
                ("tsize".into(), "0".into()),
                ("blksize".into(), "1000".into()),
                ("windowsize".into(), "4".into()),
            ],
        };
        let cfg = ServerConfig {
            caps: crate::policy::TftpCaps {
                block_size: 1000,
                window_size: 4,
            },
            ..ServerConfig::default()
        };
        let mut out = Vec::new();
        let mut srv = Transfer::start(Instant::ZERO, &req, n, &cfg, &mut out);
        let Ok(Packet::Oack { options }) = Packet::parse(&out[0]) else {
            panic!("an OACK")
        };
        let want = encode(&text);
        assert!(options.contains(&("tsize".into(), want.len().to_string())));
        let ccfg = ClientConfig {
            options: vec![],
            timeout: Duration::from_secs(5),
            max_retries: 5,
            verify: false,
            keep: true,
        };
        let mut cout = Vec::new();
        let mut cl = ClientTransfer::start(Instant::ZERO, "f", &ccfg, &mut cout);
        let mut now = Instant::ZERO;
        let mut dropped_one = false;
        while srv.status() == &TransferStatus::Active {
            let mut back = Vec::new();
            for (i, p) in out.drain(..).enumerate() {
                // Lose the second block of the third window once: resent from there.
                if !dropped_one
                    && i == 1
                    && matches!(Packet::parse(&p), Ok(Packet::Data { block: 10, .. }))
                {
                    dropped_one = true;
                    continue;
                }
                cl.handle_packet(now, 7000, &p, &mut back);
            }
            for p in back {
                srv.handle_packet(now, &p, &mut out);
            }
            if out.is_empty() && srv.status() == &TransferStatus::Active {
                now = srv.poll_timeout().unwrap();
                srv.handle_timeout(now, &mut out);
            }
        }
        assert!(dropped_one);
        assert_eq!(srv.status(), &TransferStatus::Done);
        assert!(matches!(cl.status(), ClientStatus::Done { .. }));
        assert_eq!(cl.data().unwrap(), &want[..]);
        assert_eq!(decode(cl.data().unwrap()), text);
    }

    proptest! {
        /// Any bytes: the translated length, any range read alone, and the way back.
        #[test]
        fn any_file_round_trips_and_reads_anywhere(
            text in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(0u8), any::<u8>()], 0..10_000),
            at in 0usize..20_000,
            len in 0usize..3000,
        ) {
            let want = encode(&text);
            let n = Netascii::new(source(&text)).unwrap();
            prop_assert_eq!(n.len(), want.len() as u64);
            let at = at.min(want.len());
            let len = len.min(want.len() - at);
            let mut got = vec![0u8; len];
            n.read_at(at as u64, &mut got);
            prop_assert_eq!(&got[..], &want[at..at + len]);
            prop_assert_eq!(decode(&want), text);
        }
    }
}
