//! Which interface holds an IPv4 address on a segment, looked up for every unicast
//! datagram. A segment of a /16 or smaller keeps a table by host number: a storm's
//! lookups then read one dense array, where a hash map's buckets were a cache miss
//! each (BENCHMARKS.md). A larger segment, and an address outside its segment's subnet,
//! go in a hash map.

use super::{LineId, SegId};
use rustc_hash::FxHashMap as HashMap;
use std::net::Ipv4Addr;

/// Segments up to this many host bits get a table (2^16 entries of 4 bytes).
const MAX_TABLE_BITS: u8 = 16;
/// An empty entry of a table (no line has this id: it is `Iface`'s before it is added).
const NONE: LineId = LineId::MAX;

#[derive(Default)]
pub(super) struct AddrIndex {
    /// Per segment: its network and the line by host number, if it has a table.
    tables: Vec<Option<(u32, Vec<LineId>)>>,
    /// Everything else.
    other: HashMap<(SegId, Ipv4Addr), LineId>,
}

impl AddrIndex {
    /// A segment `net/prefix` with id `seg` (ids in order).
    pub fn add_segment(&mut self, seg: SegId, net: Ipv4Addr, prefix: u8) {
        if self.tables.len() <= seg {
            self.tables.resize_with(seg + 1, || None);
        }
        let bits = 32 - prefix.min(32);
        self.tables[seg] = (bits <= MAX_TABLE_BITS).then(|| {
            let mask = u32::MAX.checked_shl(bits as u32).unwrap_or(0);
            (u32::from(net) & mask, vec![NONE; 1 << bits])
        });
    }

    /// The entry for `ip` in `seg`'s table, if it has one and `ip` is in its subnet.
    fn slot(&self, seg: SegId, ip: Ipv4Addr) -> Option<usize> {
        let (net, lines) = self.tables.get(seg)?.as_ref()?;
        let host = u32::from(ip).wrapping_sub(*net) as usize;
        (host < lines.len()).then_some(host)
    }

    pub fn get(&self, seg: SegId, ip: Ipv4Addr) -> Option<LineId> {
        match self.slot(seg, ip) {
            Some(i) => {
                let l = self.tables[seg].as_ref()?.1[i];
                (l != NONE).then_some(l)
            }
            None => self.other.get(&(seg, ip)).copied(),
        }
    }

    pub fn insert(&mut self, seg: SegId, ip: Ipv4Addr, line: LineId) {
        match self.slot(seg, ip) {
            Some(i) => {
                if let Some((_, lines)) = &mut self.tables[seg] {
                    lines[i] = line;
                }
            }
            _ => {
                self.other.insert((seg, ip), line);
            }
        }
    }

    pub fn remove(&mut self, seg: SegId, ip: Ipv4Addr) {
        match self.slot(seg, ip) {
            Some(i) => {
                if let Some((_, lines)) = &mut self.tables[seg] {
                    lines[i] = NONE;
                }
            }
            None => {
                self.other.remove(&(seg, ip));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AddrIndex;
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn finds_what_was_put_in_tables_and_outside_them() {
        let mut a = AddrIndex::default();
        a.add_segment(0, ip("10.50.0.0"), 16);
        a.add_segment(1, ip("10.0.0.0"), 8); // too large for a table
        a.insert(0, ip("10.50.100.7"), 3);
        a.insert(0, ip("192.168.1.1"), 4); // outside the segment's subnet
        a.insert(1, ip("10.9.9.9"), 5);
        assert_eq!(a.get(0, ip("10.50.100.7")), Some(3));
        assert_eq!(a.get(0, ip("192.168.1.1")), Some(4));
        assert_eq!(a.get(1, ip("10.9.9.9")), Some(5));
        assert_eq!(a.get(0, ip("10.50.100.8")), None);
        assert_eq!(a.get(1, ip("10.50.100.7")), None);
        assert_eq!(a.get(2, ip("10.50.100.7")), None); // no such segment
        a.remove(0, ip("10.50.100.7"));
        a.remove(0, ip("192.168.1.1"));
        a.remove(1, ip("10.9.9.9"));
        assert_eq!(a.get(0, ip("10.50.100.7")), None);
        assert_eq!(a.get(0, ip("192.168.1.1")), None);
        assert_eq!(a.get(1, ip("10.9.9.9")), None);
    }

    #[test]
    fn a_host_route_and_a_whole_address_space() {
        let mut a = AddrIndex::default();
        a.add_segment(0, ip("10.1.2.3"), 32);
        a.add_segment(1, ip("0.0.0.0"), 0);
        a.insert(0, ip("10.1.2.3"), 1);
        a.insert(1, ip("8.8.8.8"), 2);
        assert_eq!(a.get(0, ip("10.1.2.3")), Some(1));
        assert_eq!(a.get(0, ip("10.1.2.4")), None);
        assert_eq!(a.get(1, ip("8.8.8.8")), Some(2));
    }
}
