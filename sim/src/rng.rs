//! The world's one source of randomness: ChaCha8 (a named, pinned algorithm;
//! rand's `StdRng` is documented as non-portable), with a sub-stream per
//! component so one extra draw in the network cannot shift anything else.
//! Probabilities are integer ratios, never floats.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

/// A probability as `num / den` (0 ≤ num ≤ den, den > 0).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema, Deserialize, Default,
)]
pub struct Ratio {
    pub num: u32,
    pub den: u32,
}

impl Ratio {
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };

    pub fn new(num: u32, den: u32) -> Ratio {
        assert!(den > 0, "probability {num}/{den}: the denominator is 0");
        assert!(num <= den, "probability {num}/{den} is above 1");
        Ratio { num, den }
    }

    /// Parses `"1%"`, `"0.5%"`, `"1/100"` or `"0"`.
    pub fn parse(s: &str) -> Option<Ratio> {
        let s = s.trim();
        if let Some((a, b)) = s.split_once('/') {
            let (n, d) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            return (d > 0 && n <= d).then_some(Ratio { num: n, den: d });
        }
        let pct = s.strip_suffix('%')?.trim();
        // Percent with up to 4 decimals, as an exact ratio of 1,000,000.
        let (int, frac) = pct.split_once('.').unwrap_or((pct, ""));
        if frac.len() > 4
            || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
            || int.is_empty()
        {
            return None;
        }
        let int: u32 = int.parse().ok()?;
        let frac_scaled: u32 = format!("{frac:0<4}").parse().ok()?;
        let num = int.checked_mul(10_000)?.checked_add(frac_scaled)?;
        (num <= 1_000_000).then_some(Ratio {
            num,
            den: 1_000_000,
        })
    }

    pub fn is_zero(self) -> bool {
        self.num == 0
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 1_000_000 {
            let whole = self.num / 10_000;
            let frac = self.num % 10_000;
            if frac == 0 {
                write!(f, "{whole}%")
            } else {
                let s = format!("{frac:04}");
                write!(f, "{whole}.{}%", s.trim_end_matches('0'))
            }
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// Seeded random stream of one component.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SimRng {
    seed: u64,
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The stream for `component` under the world's `seed`.
    pub fn new(seed: u64, component: u64) -> SimRng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&component.to_le_bytes());
        SimRng {
            seed,
            inner: ChaCha8Rng::from_seed(key),
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `0..n` (n > 0), without modulo bias worth measuring at these sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `r`; draws nothing when `r` is zero.
    pub fn chance(&mut self, r: Ratio) -> bool {
        if r.num == 0 {
            return false;
        }
        if r.num >= r.den {
            return true;
        }
        self.below(r.den as u64) < r.num as u64
    }
}

impl Hash for SimRng {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.seed.hash(h);
        self.inner.get_word_pos().hash(h);
        self.inner.get_stream().hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let mut a = SimRng::new(7, 1);
        let mut b = SimRng::new(7, 1);
        let mut c = SimRng::new(7, 2);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn zero_probability_draws_nothing() {
        let mut a = SimRng::new(1, 1);
        let before = a.clone();
        assert!(!a.chance(Ratio::ZERO));
        assert_eq!(a, before);
    }

    #[test]
    fn ratios_parse_exactly() {
        assert_eq!(Ratio::parse("1%"), Some(Ratio::new(10_000, 1_000_000)));
        assert_eq!(Ratio::parse("0.5%"), Some(Ratio::new(5_000, 1_000_000)));
        assert_eq!(Ratio::parse("1/3"), Some(Ratio::new(1, 3)));
        assert_eq!(Ratio::parse("100%"), Some(Ratio::new(1_000_000, 1_000_000)));
        assert_eq!(Ratio::parse("101%"), None);
        assert_eq!(Ratio::parse("x%"), None);
        assert_eq!(Ratio::parse("0.5%").unwrap().to_string(), "0.5%");
        let mut r = SimRng::new(3, 3);
        let hits = (0..10_000).filter(|_| r.chance(Ratio::new(1, 4))).count();
        assert!((2_300..2_700).contains(&hits), "{hits}");
    }
}
