//! Parsers for the scalar values of scenario-format v1 ("Values" section).
//!
//! Each parser takes the scalar's text and returns a message saying what was expected
//! when the text does not fit. Numbers are plain decimals (`12`, `1.5`): no sign, no
//! exponent, no `_` separators. Arithmetic is exact (no floating point) except for
//! ratios, which are `f64`. Networks (`cidr`, `cidr6`) and IPv6 pools (`pools6`) are here too.

use crate::{Cidr, Cidr6};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

/// A non-negative decimal `digits[.digits]` as (mantissa, number of fraction digits).
fn decimal(s: &str) -> Option<(u128, u32)> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let ok = |p: &str| p.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || !ok(int) || !ok(frac) || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 || frac.len() > 30 {
        return None;
    }
    let mantissa = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some((mantissa, frac.len() as u32))
}

/// `mantissa / 10^scale * unit`, if it is a whole number that fits.
fn scaled(mantissa: u128, scale: u32, unit: u128) -> Option<(u128, bool)> {
    let p = 10u128.checked_pow(scale)?;
    let v = mantissa.checked_mul(unit)?;
    Some((v / p, v % p == 0))
}

/// Split `12.5ms` into (`12.5`, `ms`).
fn split_unit(s: &str) -> (&str, &str) {
    let i = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    (&s[..i], &s[i..])
}

/// A duration: a non-negative decimal number and a unit, `ms`, `s`, `m` or `h`
/// (`250ms`, `4s`, `1.5s`, `2m`, `1h`). Precision is one nanosecond; finer fractions
/// are an error. A unit is always required (`0s`, not `0`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let expected = || {
        format!(
            "`{s}` is not a duration (expected a number and a unit ms, s, m or h, like 250ms, 4s, 1.5s or 2m)"
        )
    };
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("`{s}` is negative; a duration is 0s or more"));
    }
    let (num, unit) = split_unit(t);
    let unit_ns: u128 = match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(expected()),
    };
    let (m, scale) = decimal(num).ok_or_else(expected)?;
    let (ns, exact) = scaled(m, scale, unit_ns).ok_or_else(|| format!("`{s}` is too long"))?;
    if !exact {
        return Err(format!(
            "`{s}` is finer than a nanosecond (expected a duration like 250ms or 1.5s)"
        ));
    }
    let secs = u64::try_from(ns / 1_000_000_000).map_err(|_| format!("`{s}` is too long"))?;
    Ok(Duration::new(secs, (ns % 1_000_000_000) as u32))
}

/// A link rate in bits per second: a positive decimal number and a unit `bit`, `Kbit`
/// (or `kbit`), `Mbit` or `Gbit`, decimal (1 Kbit = 1000 bit): `100Mbit`, `1Gbit`,
/// `10Gbit`, `512Kbit`, `1.5Mbit`. A bare number is an error (bits or bytes would be a
/// guess). The result must be a whole number of bits per second, at least 1.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let expected = || {
        format!(
            "`{s}` is not a rate (expected a number and a unit bit, Kbit, Mbit or Gbit, like 100Mbit or 1Gbit)"
        )
    };
    let (num, unit) = split_unit(s.trim());
    let unit_v: u128 = match unit {
        "bit" => 1,
        "Kbit" | "kbit" => 1_000,
        "Mbit" => 1_000_000,
        "Gbit" => 1_000_000_000,
        _ => return Err(expected()),
    };
    let (m, scale) = decimal(num).ok_or_else(expected)?;
    let (v, exact) = scaled(m, scale, unit_v).ok_or_else(|| format!("`{s}` is too large"))?;
    if !exact {
        return Err(format!("`{s}` is not a whole number of bits per second"));
    }
    if v == 0 {
        return Err(format!("`{s}`: a rate must be more than 0"));
    }
    u64::try_from(v).map_err(|_| format!("`{s}` is too large"))
}

/// A size in bytes: a plain integer (`1048576`), or a decimal number and a binary unit
/// `KiB`, `MiB`, `GiB` (`512KiB`, `300MiB`, `2GiB`, `1.5GiB`); the result must be a
/// whole number of bytes. Decimal units (`KB`, `MB`, `GB`) are rejected with a hint,
/// because the format only defines the binary ones.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let expected = || {
        format!(
            "`{s}` is not a size (expected a number of bytes or a number and a unit KiB, MiB or GiB, like 512KiB or 300MiB)"
        )
    };
    let (num, unit) = split_unit(s.trim());
    let unit_v: u128 = match unit {
        "" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "B" | "KB" | "kB" | "MB" | "GB" | "K" | "M" | "G" => {
            return Err(format!(
                "`{s}`: unit `{unit}` is not allowed (expected a number of bytes or the binary units KiB, MiB or GiB)"
            ))
        }
        _ => return Err(expected()),
    };
    let (m, scale) = decimal(num).ok_or_else(expected)?;
    if unit_v == 1 && scale > 0 {
        return Err(format!("`{s}` is not a whole number of bytes"));
    }
    let (v, exact) = scaled(m, scale, unit_v).ok_or_else(|| format!("`{s}` is too large"))?;
    if !exact {
        return Err(format!("`{s}` is not a whole number of bytes"));
    }
    u64::try_from(v).map_err(|_| format!("`{s}` is too large"))
}

/// A ratio in `0..=1`: a percentage (`0.5%`, `100%`) or a plain decimal (`0.005`, `1`).
/// Either form may be a YAML number or a string; the text is what counts.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let expected = || {
        format!("`{s}` is not a ratio (expected a percentage like 0.5% or a number from 0 to 1 like 0.005)")
    };
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!(
            "`{s}` is negative (expected 0% to 100%, or 0 to 1)"
        ));
    }
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim_end(), true),
        None => (t, false),
    };
    decimal(num).ok_or_else(expected)?;
    let v: f64 = num.parse().map_err(|_| expected())?;
    let v = if pct { v / 100.0 } else { v };
    if v > 1.0 {
        return Err(format!(
            "`{s}` is more than 100% (expected 0% to 100%, or 0 to 1)"
        ));
    }
    Ok(v)
}

/// A boolean: `true` or `false` (YAML 1.2 core schema also allows `True`, `TRUE`,
/// `False`, `FALSE`). YAML 1.1 words such as `yes`, `no`, `on`, `off` are errors.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        _ => Err(format!("`{s}` is not a boolean (expected true or false)")),
    }
}

/// A non-negative integer in decimal (`0`, `7`, `18446744073709551615`).
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{s}` is not a whole number (expected digits, like 7)"
        ));
    }
    t.parse()
        .map_err(|_| format!("`{s}` is too large (at most {})", u64::MAX))
}

/// A name: `[a-zA-Z0-9_.-]+`.
pub fn check_name(s: &str) -> Result<(), String> {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
    {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a valid name (expected letters, digits, `_`, `.` or `-`)"
        ))
    }
}

/// `10.10.0.0/24`. Host bits may be set (`10.10.0.1/24`); they are cleared.
pub(crate) fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let bad = || format!("`{s}` is not a network (expected address/prefix, like 10.10.0.0/24)");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let addr = Ipv4Addr::from_str(a).map_err(|_| bad())?;
    if p.is_empty() || p.len() > 2 || !p.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let prefix: u8 = p.parse().map_err(|_| bad())?;
    if prefix > 32 {
        return Err(format!("`{s}`: the prefix length is at most 32"));
    }
    let c = Cidr { addr, prefix };
    Ok(Cidr {
        addr: Ipv4Addr::from(u32::from(addr) & u32::from(c.mask())),
        prefix,
    })
}

/// v1.1 `cidr6`: `2001:db8:10::/64`. Host bits may be set; they are cleared.
pub(crate) fn parse_cidr6(s: &str) -> Result<Cidr6, String> {
    let bad =
        || format!("`{s}` is not an IPv6 prefix (expected address/prefix, like 2001:db8:10::/64)");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let addr = Ipv6Addr::from_str(a).map_err(|_| bad())?;
    if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let prefix: u8 = p.parse().map_err(|_| bad())?;
    if prefix > 128 {
        return Err(format!("`{s}`: the prefix length is at most 128"));
    }
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    };
    Ok(Cidr6 {
        addr: Ipv6Addr::from(u128::from(addr) & mask),
        prefix,
    })
}

/// v1.1 `pools6`: `2001:db8:10::100-2001:db8:10::1ff`, inclusive.
pub(crate) fn parse_range6(s: &str) -> Result<(Ipv6Addr, Ipv6Addr), String> {
    let bad = || {
        format!("`{s}` is not an IPv6 address range (expected first-last, like 2001:db8:10::100-2001:db8:10::1ff)")
    };
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let a = Ipv6Addr::from_str(a.trim()).map_err(|_| bad())?;
    let b = Ipv6Addr::from_str(b.trim()).map_err(|_| bad())?;
    if a > b {
        return Err(format!("pool `{s}` starts after it ends"));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("4s"), Ok(Duration::from_secs(4)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.25ms"), Ok(Duration::from_micros(250)));
        for bad in [
            "", "4", "s", "4 s", "4sec", "1.s", ".5s", "1e3ms", "1m30s", "4S",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("expected a number and a unit"), "{bad}: {e}");
        }
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        assert!(parse_duration("0.0000000001s")
            .unwrap_err()
            .contains("nanosecond"));
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100Mbit"), Ok(100_000_000));
        assert_eq!(parse_rate("1Gbit"), Ok(1_000_000_000));
        assert_eq!(parse_rate("10Gbit"), Ok(10_000_000_000));
        assert_eq!(parse_rate("512Kbit"), Ok(512_000));
        assert_eq!(parse_rate("1.5Mbit"), Ok(1_500_000));
        assert_eq!(parse_rate("9600bit"), Ok(9600));
        assert!(parse_rate("0Mbit").unwrap_err().contains("more than 0"));
        for bad in ["100", "100MB", "100mbit", "1Gbps", "fast"] {
            assert!(parse_rate(bad).unwrap_err().contains("expected"), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("300MiB"), Ok(300 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("12345"), Ok(12345));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("300MB").unwrap_err().contains("binary units"));
        assert!(parse_size("1.5").unwrap_err().contains("whole number"));
        assert!(parse_size("0.1KiB").unwrap_err().contains("whole number"));
        assert!(parse_size("big")
            .unwrap_err()
            .contains("expected a number of bytes"));
    }

    #[test]
    fn ratios() {
        assert_eq!(parse_ratio("0.5%"), Ok(0.005));
        assert_eq!(parse_ratio("0.005"), Ok(0.005));
        assert_eq!(parse_ratio("100%"), Ok(1.0));
        assert_eq!(parse_ratio("0"), Ok(0.0));
        assert_eq!(parse_ratio("1"), Ok(1.0));
        assert!(parse_ratio("101%").unwrap_err().contains("more than 100%"));
        assert!(parse_ratio("1.5").unwrap_err().contains("more than 100%"));
        assert!(parse_ratio("-1%").unwrap_err().contains("negative"));
        assert!(parse_ratio("half")
            .unwrap_err()
            .contains("expected a percentage"));
        assert!(parse_ratio("nan").is_err());
    }

    #[test]
    fn bools_ints_names() {
        assert_eq!(parse_bool("true"), Ok(true));
        assert_eq!(parse_bool("FALSE"), Ok(false));
        assert!(parse_bool("yes").unwrap_err().contains("true or false"));
        assert_eq!(parse_u64("7"), Ok(7));
        assert!(parse_u64("-7").is_err());
        assert!(parse_u64("99999999999999999999")
            .unwrap_err()
            .contains("too large"));
        assert!(check_name("PS1.a_b-c").is_ok());
        assert!(check_name("x86 Unknown Computer").is_err());
        assert!(check_name("").is_err());
    }
}
