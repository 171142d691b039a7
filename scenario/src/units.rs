//! Durations and sizes as people write them: `50us`, `1.5s`, `2min`; `1000`,
//! `64KiB`, `10MB`. Integers only underneath (nanoseconds, octets).

use crate::limits::HORIZON;
use model::Duration;
use std::fmt;

/// Why a duration or a size does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitError {
    /// A number too large for what it counts (else it is not a number of that kind at all).
    pub out_of_range: bool,
    /// What is wrong; when out of range, the most it may be (`at most 8760h`).
    pub reason: String,
    /// When out of range, which limit that is.
    pub limit: &'static str,
    /// When out of range, what the value is (`past the time horizon`).
    pub beyond: &'static str,
}

impl UnitError {
    /// The error's help: the limit and where limits are listed, or how to write one.
    pub fn help(&self, how: &str) -> String {
        match self.out_of_range {
            true => format!("{}: {} (docs/limits.md)", self.limit, self.reason),
            false => how.to_string(),
        }
    }
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// How durations are written, for help lines.
pub const DURATIONS: &str = "durations are `50us`, `10ms`, `1.5s`, `2min`, `1h`";

fn bad(reason: String) -> UnitError {
    UnitError {
        out_of_range: false,
        reason,
        limit: "",
        beyond: "",
    }
}

/// How `num × scale` fails to be an integer of the unit below.
enum Scaled {
    NotANumber,
    /// Finer than the smallest unit (a nanosecond, an octet).
    Fraction,
    TooLarge,
}

/// Parses a duration: a number with a unit (`ns`, `us`, `ms`, `s`, `min`,
/// `h`); a bare `0` is zero. At most [`HORIZON`].
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .ok_or_else(|| bad(format!("`{s}` has no unit")))?;
    let (num, unit) = s.split_at(split);
    let scale: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(bad(format!("unknown time unit `{unit}`"))),
    };
    let past = || UnitError {
        out_of_range: true,
        reason: format!(
            "at most {}h ({} days)",
            HORIZON.as_secs() / 3600,
            HORIZON.as_secs() / 86_400
        ),
        limit: "times and durations stop at the time horizon",
        beyond: "past the time horizon",
    };
    match scaled(num, scale) {
        Ok(ns) if ns <= HORIZON.as_ns() => Ok(Duration::from_ns(ns)),
        Ok(_) | Err(Scaled::TooLarge) => Err(past()),
        Err(Scaled::Fraction) => Err(bad(format!("`{s}` is finer than a nanosecond"))),
        Err(Scaled::NotANumber) => Err(bad(format!("`{num}` is not a number"))),
    }
}

/// Parses a size in octets: `1000`, `1k`/`1KB` (1000), `1KiB` (1024), `MB`, `MiB`, `GB`, `GiB`.
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
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
        _ => return Err(bad(format!("unknown size unit `{unit}`"))),
    };
    scaled(num, scale).map_err(|e| match e {
        Scaled::NotANumber => bad(format!("`{num}` is not a number")),
        Scaled::Fraction => bad(format!("`{s}` is not a whole number of octets")),
        Scaled::TooLarge => UnitError {
            out_of_range: true,
            reason: format!("at most {} octets", u64::MAX),
            limit: "sizes are counted in 64 bits",
            beyond: "out of range",
        },
    })
}

/// `num × scale`, with `num` possibly decimal, exactly in integers.
fn scaled(num: &str, scale: u64) -> Result<u64, Scaled> {
    let num = num.replace('_', "");
    let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(Scaled::NotANumber);
    }
    let int: u64 = match int {
        "" => 0,
        _ => int.parse().map_err(|_| Scaled::TooLarge)?,
    };
    let mut v = int.checked_mul(scale).ok_or(Scaled::TooLarge)?;
    let mut place = scale;
    for d in frac.chars() {
        place /= 10;
        let digit = u64::from(d.to_digit(10).ok_or(Scaled::NotANumber)?);
        if place == 0 {
            if digit != 0 {
                return Err(Scaled::Fraction);
            }
            continue;
        }
        v = v.checked_add(digit * place).ok_or(Scaled::TooLarge)?;
    }
    Ok(v)
}

/// Formats nanoseconds with the largest unit that keeps it an integer
/// ([`Duration::text`], which the simulator's reports share).
pub fn format_duration(d: Duration) -> String {
    d.text()
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

    /// What is wrong is said: out of range with the limit, or not a whole number.
    #[test]
    fn errors_say_what_is_wrong() {
        let e = parse_duration("1000000000000s").unwrap_err();
        assert!(
            e.out_of_range && e.reason == "at most 8760h (365 days)",
            "{e}"
        );
        assert!(e.help("").contains("365 days"), "{}", e.help(""));
        let e = parse_duration("18446744073709551615ns").unwrap_err();
        assert!(e.out_of_range, "{e}");
        let e = parse_duration("99999999999999999999999ms").unwrap_err();
        assert!(e.out_of_range, "{e}");
        assert_eq!(parse_duration("8760h"), Ok(HORIZON));
        let e = parse_duration("1.0000000001ms").unwrap_err();
        assert!(
            !e.out_of_range && e.reason.contains("finer than a nanosecond"),
            "{e}"
        );
        let e = parse_size("1.5").unwrap_err();
        assert_eq!(e.reason, "`1.5` is not a whole number of octets");
        let e = parse_size("20000000000GB").unwrap_err();
        assert!(
            e.out_of_range && e.reason.contains("18446744073709551615"),
            "{e}"
        );
        assert_eq!(
            parse_size("1.2.3").unwrap_err().reason,
            "`1.2.3` is not a number"
        );
    }
}
