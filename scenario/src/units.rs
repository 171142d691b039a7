//! Durations and sizes as people write them: `50us`, `1.5s`, `2min`; `1000`,
//! `64KiB`, `10MB`. Integers only underneath (nanoseconds, octets).

use model::Duration;

/// Parses a duration: a number with a unit (`ns`, `us`, `ms`, `s`, `min`); a bare `0` is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .ok_or_else(|| format!("`{s}` has no unit"))?;
    let (num, unit) = s.split_at(split);
    let scale: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(format!("unknown time unit `{unit}`")),
    };
    scaled(num, scale)
        .map(Duration::from_ns)
        .ok_or_else(|| format!("`{num}` is not a number"))
}

/// Parses a size in octets: `1000`, `1k`/`1KB` (1000), `1KiB` (1024), `MB`, `MiB`, `GB`, `GiB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let scale: u64 = match unit {
        "" | "B" => 1,
        "k" | "K" | "kB" | "KB" => 1_000,
        "KiB" => 1 << 10,
        "M" | "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "G" | "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return Err(format!("unknown size unit `{unit}`")),
    };
    scaled(num, scale).ok_or_else(|| format!("`{num}` is not a number"))
}

/// `num × scale`, with `num` possibly decimal, exactly in integers.
fn scaled(num: &str, scale: u64) -> Option<u64> {
    let num = num.replace('_', "");
    let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut v = int.checked_mul(scale)?;
    let mut place = scale;
    for d in frac.chars() {
        place /= 10;
        let digit = d.to_digit(10)? as u64;
        if place == 0 {
            if digit != 0 {
                return None; // finer than the unit allows
            }
            continue;
        }
        v = v.checked_add(digit * place)?;
    }
    Some(v)
}

/// Formats nanoseconds with the largest unit that keeps it an integer.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_ns();
    for (unit, scale) in [
        ("min", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if ns >= scale && ns.is_multiple_of(scale) {
            return format!("{}{unit}", ns / scale);
        }
    }
    if ns == 0 {
        "0".into()
    } else {
        format!("{ns}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ns = |n| Ok(Duration::from_ns(n));
        assert_eq!(parse_duration("50us"), ns(50_000));
        assert_eq!(parse_duration("1.5s"), ns(1_500_000_000));
        assert_eq!(parse_duration("2min"), ns(120_000_000_000));
        assert_eq!(parse_duration("0"), ns(0));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        for ns in [0, 1, 50_000, 1_500_000_000, 120_000_000_000] {
            let d = Duration::from_ns(ns);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1.5MB"), Ok(1_500_000));
        assert_eq!(parse_size("10GB"), Ok(10_000_000_000));
        assert!(parse_size("1.5").is_err());
        assert!(parse_size("5 apples").is_err());
    }
}
