//! Sequence numbers in two widths (RFC 9293 §3.4).
//!
//! On the wire a sequence number is 32 bits and wraps every 4 GiB: a [`Seq`],
//! compared modulo 2^32 through [`Seq::diff`] (what an observer of the wire,
//! like the fuzzer's window check, can compare). Inside an endpoint every
//! position in a stream is an [`Offset`]: 64 bits counted from the ISN, which
//! never wrap (2^64 octets take 4.7 years at 1 Tbit/s), so the TCB compares,
//! subtracts and orders positions as plain integers however long the stream.
//!
//! The two meet at the edges only. A segment sent carries `Offset::wire`: the
//! ISN plus the offset, modulo 2^32. A number received is read as the offset
//! nearest a window edge (`Offset::nearest`), which is the number the sender
//! meant as long as every number in flight lies within 2^31 of that edge: what
//! RFC 9293 §3.4's modular comparison already assumes (RFC 7323 §2.3 keeps
//! windows below 2^30 for it). TCP-AO extends sequence numbers to 64 bits the
//! same way (RFC 5925 §6.2), QUIC decodes its truncated packet numbers so
//! (RFC 9000 Appendix A.3): docs/sources.md#tcpsim-seq-offsets.

use serde::Serialize;
use std::fmt;
use std::ops::{Add, Sub};

/// A TCP sequence number as it is on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Seq(pub u32);

impl Seq {
    /// Signed distance `self - other`, valid while the two are within 2^31.
    #[inline]
    pub fn diff(self, other: Seq) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
    #[inline]
    pub fn lt(self, other: Seq) -> bool {
        self.diff(other) < 0
    }
    #[inline]
    pub fn le(self, other: Seq) -> bool {
        self.diff(other) <= 0
    }
    /// `self` is after `other`, modulo 2^32 (Linux `after()`).
    #[inline]
    pub fn gt(self, other: Seq) -> bool {
        self.diff(other) > 0
    }
    #[inline]
    pub fn ge(self, other: Seq) -> bool {
        self.diff(other) >= 0
    }
    /// The later of two sequence numbers.
    #[inline]
    pub fn max(self, other: Seq) -> Seq {
        if self.ge(other) {
            self
        } else {
            other
        }
    }
    /// The earlier of two sequence numbers.
    #[inline]
    pub fn min(self, other: Seq) -> Seq {
        if self.le(other) {
            self
        } else {
            other
        }
    }
    /// `lo <= self < hi`, modulo 2^32.
    #[inline]
    pub fn in_range(self, lo: Seq, hi: Seq) -> bool {
        self.ge(lo) && self.lt(hi)
    }
}

impl Add<u32> for Seq {
    type Output = Seq;
    #[inline]
    fn add(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }
}

impl Sub<u32> for Seq {
    type Output = Seq;
    #[inline]
    fn sub(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }
}

/// A position in one direction of a connection: octets from its ISN. The SYN
/// is at 0, the first data octet at 1, the FIN just after the last one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub u64);

impl Offset {
    /// Where the SYN is.
    pub const SYN: Offset = Offset(0);
    /// Where the first data octet is.
    pub const FIRST_DATA: Offset = Offset(1);

    /// The sequence number this offset has on the wire, in a stream that began
    /// at `isn`: the ISN plus the offset, modulo 2^32.
    #[inline]
    pub fn wire(self, isn: Seq) -> Seq {
        isn + self.0 as u32
    }

    /// The offset a received number `seq` names in a stream that began at
    /// `isn`: of all offsets with that number, the one nearest `edge`. A
    /// number up to 2^31 before the edge maps back, one less than 2^31 after
    /// it forward. Where going back would pass the ISN, no octet of the stream
    /// is there: the candidate one wrap later stands for it, far beyond any
    /// window, as RFC 9000's decoding never goes below zero.
    #[inline]
    pub fn nearest(seq: Seq, isn: Seq, edge: Offset) -> Offset {
        let d = seq.diff(edge.wire(isn)) as i64;
        match edge.0.checked_add_signed(d) {
            Some(o) => Offset(o),
            None => Offset(edge.0 + (1 << 32) - d.unsigned_abs()),
        }
    }
}

impl Add<u64> for Offset {
    type Output = Offset;
    #[inline]
    fn add(self, n: u64) -> Offset {
        Offset(self.0 + n)
    }
}

/// The offset `n` octets earlier; panics before the ISN.
impl Sub<u64> for Offset {
    type Output = Offset;
    #[inline]
    fn sub(self, n: u64) -> Offset {
        match self.0.checked_sub(n) {
            Some(o) => Offset(o),
            None => before_the_isn(self, n),
        }
    }
}

/// Distance in octets from `other` up to `self`; panics if `self` is before `other`.
impl Sub<Offset> for Offset {
    type Output = u64;
    #[inline]
    fn sub(self, other: Offset) -> u64 {
        assert!(self >= other, "offset {self} is before {other}");
        self.0 - other.0
    }
}

#[cold]
#[inline(never)]
fn before_the_isn(o: Offset, n: u64) -> ! {
    panic!("offset {o} less {n} is before the ISN")
}

/// Both kinds of number print as the bare number, in traces and in assertion
/// messages alike.
macro_rules! bare_number_fmt {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

bare_number_fmt!(Seq, Offset);

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_31: u64 = 1 << 31;
    const TWO_32: u64 = 1 << 32;

    #[test]
    fn wire_numbers_wrap_around_2_pow_32() {
        let near_top = Seq(u32::MAX - 10);
        let wrapped = near_top + 20;
        assert_eq!(wrapped, Seq(9));
        assert!(near_top.lt(wrapped));
        assert!(wrapped.gt(near_top));
        assert!(!near_top.gt(wrapped));
        assert_eq!(wrapped.diff(near_top), 20);
        assert_eq!(near_top.diff(wrapped), -20);
        assert_eq!(wrapped - 20, near_top);
        assert!(Seq(u32::MAX).in_range(near_top, wrapped));
        assert!(Seq(0).in_range(near_top, wrapped));
        assert!(!wrapped.in_range(near_top, wrapped));
        assert_eq!(near_top.max(wrapped), wrapped);
        assert_eq!(near_top.min(wrapped), near_top);
    }

    #[test]
    fn an_offset_on_the_wire_is_the_isn_plus_it_modulo_2_pow_32() {
        let isn = Seq(u32::MAX - 99);
        assert_eq!(Offset::SYN.wire(isn), isn);
        assert_eq!(Offset(100).wire(isn), Seq(0), "the wrap, 100 octets in");
        assert_eq!(Offset(TWO_32).wire(isn), isn, "a wrap later, the same");
        assert_eq!(Offset(10 * TWO_32 + 105).wire(isn), Seq(5));
    }

    /// `nearest` undoes `wire` for every offset within 2^31 of the edge,
    /// wherever the ISN and the edge are: at the start, at the first wrap of
    /// the wire numbers, at 2^31 and 2^32 octets, and terabytes in.
    #[test]
    fn a_received_number_maps_to_the_offset_nearest_the_edge() {
        let edges = [
            1,
            100,
            TWO_31 - 1,
            TWO_31,
            TWO_31 + 1,
            TWO_32,
            3 * TWO_32 + 7,
        ];
        let distances = [0, 1, 1460, TWO_31 - 1, TWO_31];
        for isn in [Seq(0), Seq(1 << 31), Seq(u32::MAX - 99), Seq(u32::MAX)] {
            for edge in edges.map(Offset) {
                for d in distances {
                    if d < TWO_31 {
                        let after = edge + d;
                        assert_eq!(Offset::nearest(after.wire(isn), isn, edge), after);
                    }
                    if d <= edge.0 {
                        let before = edge - d;
                        assert_eq!(Offset::nearest(before.wire(isn), isn, edge), before);
                    }
                }
            }
        }
    }

    #[test]
    fn exactly_2_pow_31_away_is_read_as_behind() {
        let isn = Seq(7);
        let edge = Offset(TWO_32 + 5);
        let number = (edge + TWO_31).wire(isn);
        assert_eq!(Offset::nearest(number, isn, edge), edge - TWO_31);
        assert_eq!(Offset::nearest(number + 1, isn, edge), edge - (TWO_31 - 1));
        let last_ahead = edge + (TWO_31 - 1);
        assert_eq!(Offset::nearest(last_ahead.wire(isn), isn, edge), last_ahead);
    }

    #[test]
    fn a_number_before_the_isn_maps_one_wrap_later() {
        let isn = Seq(u32::MAX - 99);
        // RCV.NXT just after the SYN: the number of the SYN itself is 0, the
        // one before it has no octet and lands 2^32 - 1 on.
        let edge = Offset::FIRST_DATA;
        assert_eq!(Offset::nearest(isn, isn, edge), Offset::SYN);
        assert_eq!(Offset::nearest(isn - 1, isn, edge), Offset(TWO_32 - 1));
        let (old, later) = (isn - 1000, Offset(TWO_32 - 1000));
        assert_eq!(Offset::nearest(old, isn, edge), later);
        // Further on, the same number names a real octet, 2^32 - 1000: ahead
        // of an edge past 2^31, behind one past 2^32.
        assert_eq!(Offset::nearest(old, isn, Offset(TWO_31 + 10)), later);
        assert_eq!(Offset::nearest(old, isn, Offset(TWO_32 + 10)), later);
    }

    #[test]
    fn offsets_order_and_subtract_as_integers_past_every_wrap() {
        let a = Offset(TWO_32 - 1);
        let b = Offset(TWO_32 + 1);
        assert!(a < b);
        assert_eq!(b - a, 2);
        assert_eq!(Offset(5 * TWO_32) - Offset(1), 5 * TWO_32 - 1);
    }

    #[test]
    #[should_panic(expected = "is before")]
    fn distance_backwards_is_a_bug() {
        let _ = Offset(5) - Offset(6);
    }

    #[test]
    #[should_panic(expected = "before the ISN")]
    fn an_offset_before_the_isn_is_a_bug() {
        let _ = Offset(5) - 6;
    }
}
