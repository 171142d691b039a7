//! The event queue: events keyed by (virtual time, insertion order).

use crate::spec::ProcId;
use model::{HostId, Instant, Segment};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Ev {
    Arrive(Segment),
    HostTimer(HostId),
    App(ProcId),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Queued {
    pub at: Instant,
    pub seq: u64,
    pub ev: Ev,
}

impl Queued {
    /// Earliest first, ties by insertion order; unique, so the order of
    /// events is fully determined.
    #[inline]
    fn key(&self) -> (Instant, u64) {
        (self.at, self.seq)
    }
}

/// The event queue: a binary min-heap on (time, insertion order). Not std's
/// `BinaryHeap`: its push writes the new element into the vector and at once
/// reads it back whole to sift it up, a store-forwarding stall on every event
/// (about a tenth of small-close/runs). Here a new element is written once,
/// where it belongs, and only older elements are read.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    pub(crate) heap: Vec<Queued>,
}

/// Room a cloned queue keeps for events pushed after the clone (a clone of
/// a vector has no room: the explorer's first push would reallocate it).
const QUEUE_CLONE_SPARE: usize = 8;

impl Clone for EventQueue {
    fn clone(&self) -> EventQueue {
        let mut heap = Vec::with_capacity(self.heap.len() + QUEUE_CLONE_SPARE);
        heap.extend_from_slice(&self.heap);
        EventQueue { heap }
    }
}

/// Room a new world's queue starts with: a small close never holds more
/// events at once, and a queue grown from empty reallocates twice on the way.
pub(crate) const QUEUE_START_CAPACITY: usize = 16;

impl EventQueue {
    pub(crate) fn push(&mut self, q: Queued) {
        let mut i = self.heap.len();
        self.heap.push(q);
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[parent].key() <= q.key() {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = q;
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Queued> {
        let last = self.heap.pop()?;
        let Some(&top) = self.heap.first() else {
            return Some(last);
        };
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.heap[right].key() < self.heap[left].key() {
                right
            } else {
                left
            };
            if last.key() <= self.heap[child].key() {
                break;
            }
            self.heap[i] = self.heap[child];
            i = child;
        }
        self.heap[i] = last;
        Some(top)
    }

    pub(crate) fn peek(&self) -> Option<&Queued> {
        self.heap.first()
    }

    /// In no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.heap.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::host::splitmix64;

    #[test]
    fn the_event_queue_pops_by_time_then_insertion_order() {
        // A fixed pseudo-random order of pushes; pops must come out sorted.
        let mut q = EventQueue::default();
        let mut x = 7u64;
        let mut pushed = Vec::new();
        for seq in 0..500u64 {
            x = splitmix64(x);
            let at = Instant::from_ns(x % 50);
            pushed.push((at, seq));
            q.push(Queued {
                at,
                seq,
                ev: Ev::App(0),
            });
            if x % 3 == 1 {
                let top = q.pop().unwrap();
                let min = *pushed.iter().min().unwrap();
                assert_eq!((top.at, top.seq), min);
                pushed.retain(|&k| k != min);
            }
        }
        pushed.sort();
        let popped: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| (e.at, e.seq))).collect();
        assert_eq!(popped, pushed);
        assert!(q.peek().is_none());
    }
}
