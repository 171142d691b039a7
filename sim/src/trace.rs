//! The trace: everything that happened, in order, with its virtual time.
//! The verdict observes the same entries whether or not they are stored.

use crate::spec::ProcId;
use model::{CallResult, Conn, Event, HostId, Segment, State, SysCall};
use model::{Duration, Instant};
use serde::Serialize;
use std::collections::VecDeque;
use std::hash::Hasher;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum What {
    /// A process made a socket call.
    Call {
        proc: ProcId,
        step: u32,
        #[serde(serialize_with = "crate::report::call_json")]
        #[schemars(with = "crate::report::CallJson")]
        call: SysCall,
    },
    /// The call returned (at once, or after blocking).
    Return {
        proc: ProcId,
        step: u32,
        #[serde(serialize_with = "crate::report::call_json")]
        #[schemars(with = "crate::report::CallJson")]
        call: SysCall,
        #[serde(serialize_with = "model::errno::result_json::serialize")]
        #[schemars(with = "model::errno::result_json::Json")]
        result: CallResult,
    },
    /// The call blocks in virtual time.
    Blocked {
        proc: ProcId,
        step: u32,
        #[serde(serialize_with = "crate::report::call_json")]
        #[schemars(with = "crate::report::CallJson")]
        call: SysCall,
    },
    Fork {
        proc: ProcId,
        child: ProcId,
    },
    Exit {
        proc: ProcId,
    },
    Sleep {
        proc: ProcId,
        ns: Duration,
    },
    /// A process ran out of steps.
    Finished {
        proc: ProcId,
    },
    Send {
        seg: Segment,
    },
    /// A segment an `inject` step put on the network as if its host sent it;
    /// the host's stack never knew (a spoofed segment).
    Inject {
        proc: ProcId,
        step: u32,
        seg: Segment,
    },
    Recv {
        seg: Segment,
    },
    Drop {
        seg: Segment,
        reason: &'static str,
    },
    Duplicate {
        seg: Segment,
    },
    /// Something inside a host.
    Model {
        event: Event,
    },
    /// An RST whose cause the trace's producer cannot see (a real kernel run:
    /// only the segment is captured): the sender's view of the connection and
    /// its state, as far as the segments before it tell.
    RstSeen {
        conn: Conn,
        state: State,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct Entry {
    pub t_ns: Instant,
    pub host: HostId,
    #[serde(flatten)]
    pub what: What,
}

/// How many trace entries a report keeps (`tcpsim run`'s ladder and
/// `--format json`, unless `--max-trace-entries` says otherwise): the last
/// ones. A longer run streams its earlier entries past the report, which says
/// how many it left out; `--format jsonl` writes them all as they happen.
pub const MAX_TRACE_ENTRIES: usize = 100_000;

/// The last `cap` items of a stream and how many went by: a report's share of
/// a trace, in memory bounded by `cap` however long the run.
#[derive(Clone, Debug)]
pub struct Tail<T> {
    kept: VecDeque<T>,
    cap: usize,
    seen: u64,
}

impl<T> Tail<T> {
    /// Keeps the last `cap` items (`usize::MAX`: all of them).
    pub fn new(cap: usize) -> Tail<T> {
        Tail {
            kept: VecDeque::new(),
            cap,
            seen: 0,
        }
    }

    pub fn push(&mut self, item: T) {
        self.seen += 1;
        if self.cap == 0 {
            return;
        }
        if self.kept.len() == self.cap {
            self.kept.pop_front();
        }
        self.kept.push_back(item);
        debug_assert!(self.kept.len() <= self.cap);
    }

    /// How many items went by.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// How many of the earliest items were left out.
    pub fn dropped(&self) -> u64 {
        self.seen - self.kept.len() as u64
    }

    /// The items kept, oldest first.
    pub fn kept(&mut self) -> &[T] {
        self.kept.make_contiguous()
    }

    pub fn into_kept(self) -> Vec<T> {
        self.kept.into()
    }
}

/// FNV-1a, 64-bit: a stable digest of rendered trace text (for determinism checks).
pub fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a as a [`Hasher`], for digests that must not change between runs,
/// machines or Rust releases (`World::state_hash`). std's `DefaultHasher`
/// promises none of that: its algorithm is unspecified and may change.
///
/// Integers are fed as little-endian bytes and `usize`/`isize` (lengths, enum
/// discriminants) as 64-bit, where std's defaults use the native layout, so a
/// digest does not depend on the platform either. What is fed is still what
/// the `Hash` impls write: a change of a hashed type's fields changes digests.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(FNV_OFFSET)
    }
}

impl Hasher for Fnv1a {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a(bytes, self.0);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_i8(&mut self, i: i8) {
        self.write_u8(i as u8);
    }
    #[inline]
    fn write_i16(&mut self, i: i16) {
        self.write_u16(i as u16);
    }
    #[inline]
    fn write_i32(&mut self, i: i32) {
        self.write_u32(i as u32);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }
    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.write_i64(i as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_keeps_the_last_items_and_counts_the_rest() {
        let mut t = Tail::new(3);
        for i in 0..10u32 {
            t.push(i);
        }
        assert_eq!(t.kept(), &[7, 8, 9]);
        assert_eq!((t.seen(), t.dropped()), (10, 7));
        let mut none = Tail::new(0);
        none.push(1u8);
        assert_eq!((none.kept().len(), none.dropped()), (0, 1));
        let mut all = Tail::new(usize::MAX);
        (0..5u8).for_each(|i| all.push(i));
        assert_eq!(all.dropped(), 0);
        assert_eq!(all.into_kept(), vec![0, 1, 2, 3, 4]);
    }

    /// The published FNV-1a 64 test vectors (draft-eastlake-fnv, Fowler/Noll/Vo's
    /// own list): the hasher is the pinned algorithm, not a look-alike.
    #[test]
    fn fnv1a_hasher_matches_the_reference_vectors() {
        let digest = |bytes: &[u8]| {
            let mut h = Fnv1a::default();
            h.write(bytes);
            h.finish()
        };
        assert_eq!(digest(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(digest(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(digest(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn integers_hash_as_little_endian_whatever_the_platform() {
        let mut a = Fnv1a::default();
        a.write_usize(0x0102);
        let mut b = Fnv1a::default();
        b.write(&[2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(a.finish(), b.finish());
    }
}
