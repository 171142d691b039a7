//! Virtual time as types: an [`Instant`] is a point of a run's clock, a
//! [`Duration`] a length of time, both counted in nanoseconds.
//!
//! Arithmetic saturates: time past `u64::MAX` ns is a horizon, not a wrap, so
//! a huge delay can never make time run backwards. Both serialize as the plain
//! number of nanoseconds.

use serde::Serialize;
use std::fmt;
use std::ops::{Add, AddAssign, Div, Mul};

const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;

/// A point of virtual time: nanoseconds since the start of the run.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Instant(u64);

/// A length of virtual time in nanoseconds.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Duration(u64);

impl Instant {
    /// The start of the run.
    pub const ZERO: Instant = Instant(0);
    /// The horizon: no event happens later.
    pub const MAX: Instant = Instant(u64::MAX);

    pub const fn from_ns(ns: u64) -> Instant {
        Instant(ns)
    }

    /// Nanoseconds since the start of the run.
    pub const fn as_ns(self) -> u64 {
        self.0
    }

    /// The time since the start of the run.
    pub const fn since_start(self) -> Duration {
        Duration(self.0)
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// The time from `earlier` to `self`, `None` if `earlier` is later.
    pub fn checked_since(self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration)
    }
}

impl Duration {
    /// The duration with the largest unit that keeps it an integer (`300ms`,
    /// `1500us`, `0`), as the scenario language reads it back.
    pub fn text(self) -> String {
        let ns = self.as_ns();
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

    pub const ZERO: Duration = Duration(0);
    pub const MAX: Duration = Duration(u64::MAX);

    pub const fn from_ns(ns: u64) -> Duration {
        Duration(ns)
    }

    pub const fn from_ms(ms: u64) -> Duration {
        Duration(ms.saturating_mul(NS_PER_MS))
    }

    pub const fn from_secs(s: u64) -> Duration {
        Duration(s.saturating_mul(NS_PER_S))
    }

    pub const fn as_ns(self) -> u64 {
        self.0
    }

    /// Whole milliseconds, rounded down.
    pub const fn as_ms(self) -> u64 {
        self.0 / NS_PER_MS
    }

    /// Whole seconds, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0 / NS_PER_S
    }

    /// Milliseconds with the fraction, for reports.
    pub fn as_ms_f64(self) -> f64 {
        self.0 as f64 / NS_PER_MS as f64
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self − other`, zero if `other` is longer.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }

    /// `|self − other|`.
    pub const fn abs_diff(self, other: Duration) -> Duration {
        Duration(self.0.abs_diff(other.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    #[inline]
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Instant {
    #[inline]
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Add for Duration {
    type Output = Duration;
    #[inline]
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

impl AddAssign for Duration {
    #[inline]
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Mul<u64> for Duration {
    type Output = Duration;
    #[inline]
    fn mul(self, n: u64) -> Duration {
        Duration(self.0.saturating_mul(n))
    }
}

impl Mul<Duration> for u64 {
    type Output = Duration;
    #[inline]
    fn mul(self, d: Duration) -> Duration {
        d * self
    }
}

impl Div<u64> for Duration {
    type Output = Duration;
    #[inline]
    fn div(self, n: u64) -> Duration {
        Duration(self.0 / n)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_at_the_horizon() {
        let t = Instant::from_ns(5) + Duration::from_secs(u64::MAX);
        assert_eq!(t, Instant::MAX);
        assert_eq!(Duration::from_ms(3) * u64::MAX, Duration::MAX);
        assert_eq!(Duration::MAX + Duration::from_ns(1), Duration::MAX);
        assert!(Instant::MAX + Duration::from_ns(1) >= Instant::MAX);
    }

    #[test]
    fn differences_do_not_wrap() {
        let a = Instant::from_ns(10);
        let b = Instant::from_ns(25);
        assert_eq!(b.saturating_since(a), Duration::from_ns(15));
        assert_eq!(a.saturating_since(b), Duration::ZERO);
        assert_eq!(a.checked_since(b), None);
        assert_eq!(Duration::from_ms(2).as_ns(), 2_000_000);
        assert_eq!(Duration::from_ns(1_500_000).as_ms_f64(), 1.5);
    }
}
