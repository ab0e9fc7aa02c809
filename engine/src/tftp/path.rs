//! R-TFTP-3: file names are read relative to the boot root, `\` as `/`,
//! case-insensitively, and nothing a request can say reads outside the root.

use super::packet::{ERR_ACCESS, ERR_NOT_FOUND};
use std::fmt;

/// Longest file name accepted, in bytes.
pub const MAX_NAME: usize = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    Empty,
    NotUtf8,
    Nul,
    Control,
    TooLong,
    DriveLetter,
    DotDot,
}

impl PathError {
    /// The TFTP error code to answer with: 2 (access violation) for an attempt to
    /// leave the root, 1 (file not found) for a name that cannot name a file.
    pub fn code(self) -> u16 {
        match self {
            PathError::DotDot | PathError::DriveLetter | PathError::Nul => ERR_ACCESS,
            PathError::Empty | PathError::NotUtf8 | PathError::Control | PathError::TooLong => {
                ERR_NOT_FOUND
            }
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::Empty => "empty file name",
            PathError::NotUtf8 => "file name is not UTF-8",
            PathError::Nul => "file name holds a NUL byte",
            PathError::Control => "file name holds a control character",
            PathError::TooLong => "file name is longer than 255 bytes",
            PathError::DriveLetter => "drive letters are not allowed",
            PathError::DotDot => "`..` is not allowed in file names",
        })
    }
}
impl std::error::Error for PathError {}

/// Normalise a requested name to a relative, `/`-separated, lower-case path with no
/// `.`, `..` or empty components.
///
/// Leading separators are dropped: Windows boot programs ask for `\Boot\BCD`, which
/// means the root's `boot/bcd`, so `/etc/passwd` names `etc/passwd` inside the root
/// (not found there). `..` in any position is refused outright rather than resolved, so
/// that no spelling of it can climb; so are drive letters (`C:`), NUL and control bytes.
/// Percent signs have no meaning in TFTP and are kept literally.
pub fn normalize(raw: &[u8]) -> Result<String, PathError> {
    if raw.contains(&0) {
        return Err(PathError::Nul);
    }
    if raw.len() > MAX_NAME {
        return Err(PathError::TooLong);
    }
    let s = std::str::from_utf8(raw).map_err(|_| PathError::NotUtf8)?;
    if s.chars().any(|c| c.is_control()) {
        return Err(PathError::Control);
    }
    let s = s.replace('\\', "/");
    let mut parts: Vec<&str> = Vec::new();
    for (i, part) in s.split('/').enumerate() {
        match part {
            "" | "." => continue,
            ".." => return Err(PathError::DotDot),
            p if p.trim_end_matches(['.', ' ']).is_empty() => return Err(PathError::DotDot),
            p if i == 0 && p.len() >= 2 && p.as_bytes()[1] == b':' => {
                return Err(PathError::DriveLetter)
            }
            p if p.contains(':') => return Err(PathError::DriveLetter),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(parts.join("/").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_tftp_3_backslashes_case_and_leading_separators() {
        assert_eq!(
            normalize(b"SMSBoot\\X64\\BootMgfw.EFI").unwrap(),
            "smsboot/x64/bootmgfw.efi"
        );
        assert_eq!(normalize(b"\\Boot\\BCD").unwrap(), "boot/bcd");
        assert_eq!(normalize(b"/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(normalize(b"a//./b").unwrap(), "a/b");
    }

    #[test]
    fn r_tftp_3_escapes_are_refused() {
        for bad in [
            &b".."[..],
            b"../x",
            b"a/../b",
            b"a/..",
            b"..\\..\\windows\\win.ini",
            b"\\..\\x",
            b"a\\..\\..\\b",
            b"a/.../b",
            b"a/.. /b",
            b"C:\\windows",
            b"c:x",
            b"a/b:stream",
            b"a\0b",
            b"",
            b"/",
            b"a\nb",
            &[0xff, 0xfe],
        ] {
            let e = normalize(bad).unwrap_err();
            assert!(matches!(e.code(), 1 | 2), "{bad:?}");
        }
        assert_eq!(normalize(&[b'a'; 256]).unwrap_err(), PathError::TooLong);
        assert_eq!(normalize(b"x/../y").unwrap_err().code(), 2);
    }
}
