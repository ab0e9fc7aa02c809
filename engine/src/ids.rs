//! Hardware identifiers: MAC addresses and SMBIOS GUIDs (R-ID-1).

use std::fmt;
use std::str::FromStr;

/// An Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Mac = Mac([0xff; 6]);
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}
impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseIdError(pub String);
impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ParseIdError {}

impl FromStr for Mac {
    type Err = ParseIdError;
    /// `52:54:00:00:00:01` or `52-54-00-00-00-01`, any case. Separators may not be mixed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || {
            ParseIdError(format!(
                "`{s}` is not a MAC address (expected six hex pairs separated by `:` or `-`, like 52:54:00:00:00:01)"
            ))
        };
        let sep = if s.contains(':') { ':' } else { '-' };
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != 6 {
            return Err(err());
        }
        let mut out = [0u8; 6];
        for (i, p) in parts.iter().enumerate() {
            if p.len() != 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(err());
            }
            out[i] = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        Ok(Mac(out))
    }
}

/// An SMBIOS system UUID as written in a scenario and as QEMU's `-uuid` takes it:
/// `11111111-2222-3333-4444-555555555555`. The bytes are kept in that textual order;
/// [`Guid::to_pxe_bytes`] gives the order the PXE client puts in option 97.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Option 97 byte order (R-ID-1). The PXE spec and the firmware (SMBIOS 2.6+, which
    /// both SeaBIOS/iPXE and EDK2 follow) encode the first three fields little-endian.
    /// The lab captures are the judge of this (issue: lab parity).
    pub fn to_pxe_bytes(&self) -> [u8; 16] {
        let t = self.0;
        let mut b = t;
        b[0] = t[3];
        b[1] = t[2];
        b[2] = t[1];
        b[3] = t[0];
        b[4] = t[5];
        b[5] = t[4];
        b[6] = t[7];
        b[7] = t[6];
        b
    }
    /// Inverse of [`Guid::to_pxe_bytes`].
    pub fn from_pxe_bytes(b: [u8; 16]) -> Guid {
        // The permutation is its own inverse.
        Guid(Guid(b).to_pxe_bytes())
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (i, x) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{x:02X}")?;
        }
        Ok(())
    }
}
impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Guid {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || {
            ParseIdError(format!(
                "`{s}` is not a GUID (expected 8-4-4-4-12 hex digits, like 11111111-2222-3333-4444-555555555555)"
            ))
        };
        let groups: Vec<&str> = s.split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        if groups.len() != 5 || groups.iter().zip(lens).any(|(g, l)| g.len() != l) {
            return Err(err());
        }
        let hex: String = groups.concat();
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(err());
        }
        let mut out = [0u8; 16];
        for i in 0..16 {
            out[i] = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| err())?;
        }
        Ok(Guid(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parses_both_separators_any_case() {
        let a: Mac = "52:54:00:AB:cd:01".parse().unwrap();
        let b: Mac = "52-54-00-ab-CD-01".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "52:54:00:AB:CD:01");
    }

    #[test]
    fn mac_rejects_garbage() {
        for bad in [
            "",
            "52:54:00:00:00",
            "52:54:00:00:00:0g",
            "52:54-00:00:00:01",
            "525400000001",
            "52:54:00:00:00:001",
        ] {
            assert!(bad.parse::<Mac>().is_err(), "{bad}");
        }
    }

    #[test]
    fn guid_round_trips_and_swaps_for_pxe() {
        let g: Guid = "00112233-4455-6677-8899-aabbccddeeff".parse().unwrap();
        assert_eq!(g.to_string(), "00112233-4455-6677-8899-AABBCCDDEEFF");
        let p = g.to_pxe_bytes();
        assert_eq!(&p[..8], &[0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66]);
        assert_eq!(&p[8..], &g.0[8..]);
        assert_eq!(Guid::from_pxe_bytes(p), g);
        assert!("0011223-4455-6677-8899-aabbccddeeff"
            .parse::<Guid>()
            .is_err());
    }
}
