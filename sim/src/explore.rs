//! What `tcpsim explore` asks of a world, beside running it: where the
//! exploration starts, a call made when the explorer says so, the network's
//! choices on the segment about to arrive, and a canonical form of the state.
//!
//! Every choice is made so that a scenario file can make it too (a step at an
//! absolute time, a `[[network.drop]]` or `[[network.fault]]` on the nth
//! segment a host sends), and keeps the event order such a file gives: a call
//! happens in a gap between events, never at an instant another event shares;
//! a segment held back keeps its place among events of its new instant (its
//! insertion number), as a scripted delay would give it. So the path the
//! explorer takes is what `tcpsim run` replays.

use crate::app::{AppState, AppStatus};
use crate::spec::{ProcId, WorldSpec};
use crate::trace::What;
use crate::world::{Ev, HostDigest, Queued, World};
use model::{Duration, HostId, Instant, Segment};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The clock of every canonical state: far from zero, so the instants a
/// state remembers from its past (when data last arrived…) stay positive.
pub const EPOCH: Instant = Instant::from_ns(1 << 62);

/// The longest wait before an explorer's call: it happens this long after
/// the last event, or halfway to the next if that is sooner.
pub const CALL_DELAY_NS: Duration = Duration::from_ns(1_000);

/// The segment about to arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Its insertion number: which send it was.
    pub seq: u64,
    pub at: Instant,
    pub seg: Segment,
}

impl World {
    /// A world for exploration: built from the spec's first `prefix` steps
    /// (its processes run those), able to make any later step on demand
    /// ([`World::call_step`]).
    pub fn for_exploration(spec: Arc<WorldSpec>, prefix: usize, record: bool) -> World {
        assert!(prefix <= spec.steps.len());
        let mut first = (*spec).clone();
        first.steps.truncate(prefix);
        let mut w = World::new(Arc::new(first), record);
        w.spec = spec;
        w
    }

    /// Makes this world a copy of `o` (as `o.clone()` would), in this
    /// world's buffers: the explorer reuses a successor it already knew
    /// for the next choice instead of freeing it and allocating another
    /// (a world's host vector alone is larger than malloc's thread cache
    /// keeps). Every field is named, so a new one cannot be forgotten.
    pub fn copy_from(&mut self, o: &World) {
        #[rustfmt::skip]
        let World {
            spec, proc_steps, now, queue, next_seq, hosts, clocks, apps, net, timer_at, observer, trace, events, ended, out, pid_proc, calling,
            step_done, raw, raw_sent, in_call,
        } = o;
        self.spec.clone_from(spec);
        self.proc_steps.clone_from(proc_steps);
        self.now = *now;
        self.queue.heap.clone_from(&queue.heap);
        self.next_seq = *next_seq;
        self.hosts.clone_from(hosts);
        self.clocks.clone_from(clocks);
        self.apps.clone_from(apps);
        self.net.clone_from(net);
        self.timer_at.clone_from(timer_at);
        self.observer.clone_from(observer);
        self.trace.clone_from(trace);
        self.events = *events;
        self.ended = *ended;
        // Scratch (empty between events), copied field by field to keep room.
        self.out.segments.clone_from(&out.segments);
        self.out.events.clone_from(&out.events);
        self.out.events_before.clone_from(&out.events_before);
        self.pid_proc.clone_from(pid_proc);
        self.calling = *calling;
        self.step_done.clone_from(step_done);
        self.raw.clone_from(raw);
        self.raw_sent.clone_from(raw_sent);
        self.in_call.clone_from(in_call);
    }

    /// Runs until every process has finished its steps, is blocked in one or
    /// has exited (or was never forked): where an exploration starts. False if
    /// `max_events` ran out first.
    pub fn run_to_start(&mut self, max_events: u64) -> bool {
        for _ in 0..max_events {
            if !self.step_to_start() {
                return true;
            }
        }
        false
    }

    /// One step of the run to the start ([`World::run_to_start`]); false
    /// once there (the world is then ready for the explorer's choices).
    pub fn step_to_start(&mut self) -> bool {
        if self.at_start() || !self.step() {
            self.ended = None;
            return false;
        }
        true
    }

    /// Whether every process is done with its steps: finished them, blocked
    /// in its last one, exited, or never forked.
    pub fn at_start(&self) -> bool {
        self.apps
            .iter()
            .zip(self.proc_steps.iter())
            .all(|(a, steps)| match a.status {
                AppStatus::Ready => false,
                AppStatus::Blocked => a.pc as usize + 1 >= steps.len(),
                AppStatus::NotStarted | AppStatus::Done | AppStatus::Exited => true,
            })
    }

    pub fn status(&self, p: ProcId) -> AppStatus {
        self.apps[p as usize].status
    }

    /// When the explorer's call would happen now: in the gap before the next
    /// event, `None` if there is no gap (an event is due at this instant or the next).
    pub fn call_time(&self) -> Option<Instant> {
        let delay = match self.queue.peek() {
            None => CALL_DELAY_NS,
            Some(q) => {
                let gap = q.at.checked_since(self.now)?;
                Duration::from_ns(gap.as_ns() / 2).min(CALL_DELAY_NS)
            }
        };
        (!delay.is_zero()).then(|| self.now + delay)
    }

    /// Process `p`, done with its steps, makes spec step `step` now (at
    /// [`World::call_time`]) as its next step, and the world runs that call
    /// (until it returns or blocks).
    pub fn call_step(&mut self, p: ProcId, step: u32) {
        let at = self.call_time().expect("a gap before the next event");
        assert_eq!(
            self.status(p),
            AppStatus::Done,
            "only an idle process calls"
        );
        assert_eq!(self.spec.steps[step as usize].proc, p);
        push_shared(&mut self.proc_steps[p as usize], step);
        self.apps[p as usize].status = AppStatus::Ready;
        self.push(at, Ev::App(p));
        let ran = self.step();
        assert!(ran && self.now == at, "the call is the next event");
    }

    /// The next event if it is a segment's arrival (stale timers before it
    /// are dropped, as running would drop them).
    pub fn next_arrival(&mut self) -> Option<Arrival> {
        match self.next_live_event()? {
            Queued {
                at,
                seq,
                ev: Ev::Arrive(seg),
            } => Some(Arrival { seq, at, seg }),
            _ => None,
        }
    }

    /// Whether nothing is left to happen (no live event).
    pub fn quiescent(&mut self) -> bool {
        self.next_live_event().is_none()
    }

    /// The network loses the arriving segment `a` (the next event). As a
    /// scripted drop would, it takes no time: the clock stays where it is.
    pub fn lose(&mut self, a: Arrival) {
        let q = self.queue.pop().expect("the arrival is queued");
        assert_eq!(
            (q.seq, q.at),
            (a.seq, a.at),
            "the next event is the arrival"
        );
        let reason = "scripted drop";
        self.record(a.seg.src.host, What::Drop { seg: a.seg, reason });
        self.arrival_taken(a.seg.dst.host, a.at);
    }

    /// The arriving segment `a` arrives twice, back to back (its copy
    /// keeps its insertion number, as a scripted duplicate's does).
    pub fn duplicate(&mut self, a: Arrival) {
        self.record(a.seg.src.host, What::Duplicate { seg: a.seg });
        self.queue.push(Queued {
            at: a.at,
            seq: a.seq,
            ev: Ev::Arrive(a.seg),
        });
        assert!(self.step() && self.step(), "both copies arrive");
    }

    /// The arriving segment `a` arrives at `at` instead, keeping its
    /// insertion number (what a scripted delay gives it).
    pub fn hold(&mut self, a: Arrival, at: Instant) {
        assert!(at > a.at);
        let q = self.queue.pop().expect("the arrival is queued");
        assert_eq!(
            (q.seq, q.at),
            (a.seq, a.at),
            "the next event is the arrival"
        );
        self.queue.push(Queued { at, ..q });
        self.arrival_taken(a.seg.dst.host, a.at);
    }

    /// When the next segment to the same host as `a` arrives, after it.
    pub fn next_arrival_behind(&self, a: Arrival) -> Option<Instant> {
        self.queue
            .iter()
            .filter(|q| (q.at, q.seq) > (a.at, a.seq))
            .filter_map(|q| match q.ev {
                Ev::Arrive(s) if s.dst.host == a.seg.dst.host => Some((q.at, q.seq)),
                _ => None,
            })
            .min()
            .map(|k| k.0)
    }

    /// The earliest timer deadline of any host at or after `a`'s arrival.
    pub fn next_timer_behind(&self, a: Arrival) -> Option<Instant> {
        (0..self.hosts.len() as HostId)
            .filter_map(|h| self.poll_at(h))
            .filter(|&t| t >= a.at)
            .min()
    }

    /// The canonical form of the state: its clock moved to [`EPOCH`] and
    /// every instant with it, timer events the queue no longer needs
    /// removed, and what only reports use forgotten. Two states that differ
    /// in when they happen, or in such details, become equal.
    ///
    /// A host is not rewritten: its clock runs ahead of the world's by
    /// `HostClock::ahead_ns`, which takes the shift, so a host a choice did not
    /// change stays shared with the state it came from, and keeps its
    /// digest. A host that changed is moved on its own clock so that its
    /// earliest instant is at the epoch (its times relative to one another
    /// are what its digest covers; where that instant is on the world's
    /// clock is hashed beside it, [`World::hash_state`]), and digested.
    pub fn canonicalize(&mut self) {
        let (now, epoch) = (self.now.as_ns() as i128, EPOCH.as_ns() as i128);
        let shift = |t: Instant| {
            if t == Instant::MAX {
                return t;
            }
            Instant::from_ns((t.as_ns() as i128 - now + epoch).clamp(0, u64::MAX as i128) as u64)
        };
        // A timer event is stale unless it is its host's earliest (running
        // would pop and ignore it).
        let timer_at = &self.timer_at;
        self.queue.heap.retain(|q| match q.ev {
            Ev::HostTimer(h) => timer_at[h as usize] == Some(q.at),
            _ => true,
        });
        let mut heap = std::mem::take(&mut self.queue.heap);
        for q in &mut heap {
            q.at = shift(q.at);
        }
        heap.sort_by_key(|q| (q.at, q.seq));
        self.queue.heap = heap; // a sorted array is a heap
        for t in self.timer_at.iter_mut().flatten() {
            *t = shift(*t);
        }
        let moved_ns = self.now.as_ns().wrapping_sub(EPOCH.as_ns());
        for c in &mut self.clocks {
            c.ahead_ns = c.ahead_ns.wrapping_add(moved_ns);
        }
        for h in 0..self.hosts.len() {
            if self.hosts[h].digest.is_none() {
                self.digest_host(h);
            }
        }
        for p in &mut self.net.partitions {
            p.from_ns = shift(p.from_ns);
            p.until_ns = shift(p.until_ns);
        }
        // When a process's call started is on the world's clock: it moves
        // with it, or a `blocked=` would measure across the shift.
        for a in &mut self.apps {
            a.started = shift(a.started);
        }
        self.observer.forget_report_details();
        self.now = EPOCH;
    }

    /// Moves host `h` (changed since its last digest, so this world's own)
    /// on its clock so that its earliest instant is at the epoch, and
    /// digests it.
    fn digest_host(&mut self, h: usize) {
        let shared = Arc::get_mut(&mut self.hosts[h])
            .expect("a host without a digest was changed in this world");
        // Its instants move: a change (what was asked of it is asked again).
        shared.changes = shared.changes.wrapping_add(1);
        let host = &mut shared.host;
        let earliest = earliest_instant(host);
        if let Some(t) = earliest {
            let by_ns = EPOCH.as_ns().wrapping_sub(t.as_ns());
            host.shift_time(&|t| match t {
                Instant::MAX => t,
                _ => Instant::from_ns(t.as_ns().wrapping_add(by_ns)),
            });
            let c = &mut self.clocks[h];
            c.ahead_ns = c.ahead_ns.wrapping_add(by_ns);
        }
        let digest = HOST_BYTES.with_borrow_mut(|bytes| {
            bytes.clear();
            host.hash_state(bytes);
            bytes.xxh3_128()
        });
        shared.digest = Some(HostDigest {
            digest,
            timed: earliest.is_some(),
        });
    }

    /// Hashes the state a canonical world is in: what `World`'s `Hash` covers,
    /// but each host as its digest (without its fixed configuration and
    /// personality) and where its earliest instant is on the world's clock,
    /// and the queue in the order a canonical world keeps it (sorted).
    pub fn hash_state<H: Hasher>(&self, h: &mut H) {
        self.hash_state_as(h, false);
    }

    /// [`World::hash_state`]; with `forget_dead`, without what no future
    /// of the world reads (each process as [`World::hash_live_app`] has it),
    /// so that states differing only there are one.
    pub fn hash_state_as<H: Hasher>(&self, h: &mut H, forget_dead: bool) {
        #[rustfmt::skip]
        let World {
            spec: _, proc_steps: _, now, queue, next_seq: _, hosts, clocks,
            apps, net, timer_at, observer, trace: _, events: _, ended: _, out: _, pid_proc: _,
            calling: _, step_done: _, raw, raw_sent, in_call: _,
        } = self;
        now.hash(h);
        debug_assert!(queue
            .heap
            .windows(2)
            .all(|w| (w[0].at, w[0].seq) <= (w[1].at, w[1].seq)));
        for q in &queue.heap {
            (q.at, q.ev).hash(h);
        }
        for (host, clock) in hosts.iter().zip(clocks) {
            let d = host
                .digest
                .expect("hash_state of a canonical world (canonicalize digests its hosts)");
            h.write_u128(d.digest);
            // The host's epoch (its earliest instant) on the world's clock.
            if d.timed {
                h.write_u64(EPOCH.as_ns().wrapping_sub(clock.ahead_ns));
            }
        }
        if forget_dead {
            for p in 0..apps.len() {
                self.hash_live_app(p, h);
            }
        } else {
            apps.hash(h);
        }
        net.hash(h);
        timer_at.hash(h);
        observer.hash(h);
        // Only a world with raw hosts hashes them (a world without keeps its digest).
        if raw.iter().any(Option::is_some) {
            raw.hash(h);
            // Times are not canonical: what was sent to a raw host, not when.
            raw_sent.iter().for_each(|(_, seg)| seg.hash(h));
        }
    }

    /// Hashes process `p` without what its future never reads:
    /// - its position in its step list unless it is running a step (ready
    ///   or blocked): a process that is done or has exited is at the end of
    ///   its list (an explorer's call appends to it), so its position says
    ///   only how many calls it made, which the explorer's budgets record
    ///   (and forget once the side can make no more, `Rules::forget_spent`);
    /// - when its current step started, unless it is running a step with a
    ///   `blocked=` expectation (`check_step`, the only reader; a step that
    ///   starts sets it anew). The instant is hashed as it is kept.
    fn hash_live_app<H: Hasher>(&self, p: usize, h: &mut H) {
        let AppState {
            pid,
            status,
            pc,
            expansion,
            slots,
            blocked,
            pending_result,
            started,
            waits_for,
        } = &self.apps[p];
        (
            pid,
            status,
            expansion,
            slots,
            blocked,
            pending_result,
            waits_for,
        )
            .hash(h);
        if matches!(status, AppStatus::Ready | AppStatus::Blocked) {
            pc.hash(h);
            let step = self.proc_steps[p].get(*pc as usize);
            if step.is_none_or(|&s| self.spec.steps[s as usize].blocked.is_some()) {
                started.hash(h);
            }
        }
    }

    /// How many events were ever queued: the insertion number the next gets.
    pub fn insertions(&self) -> u64 {
        self.next_seq
    }

    /// The segments in flight, in no particular order.
    pub fn in_flight(&self) -> impl Iterator<Item = Arrival> + '_ {
        self.queue.iter().filter_map(|q| match q.ev {
            Ev::Arrive(seg) => Some(Arrival {
                seq: q.seq,
                at: q.at,
                seg,
            }),
            _ => None,
        })
    }

    /// The connection's state on host `h`: its first socket that is not a
    /// listener, CLOSED if it has none.
    pub fn tcp_state(&self, h: HostId) -> model::State {
        self.hosts[h as usize]
            .sockets()
            .find(|(_, s)| s.listener.is_none() && s.state != model::State::Listen)
            .map_or(model::State::Closed, |(_, s)| s.state)
    }
}

/// The earliest instant host `h` holds (read through `shift_time`, which
/// names every one), `None` if it holds none.
fn earliest_instant(h: &mut model::Host) -> Option<Instant> {
    let earliest = std::cell::Cell::new(Instant::MAX);
    h.shift_time(&|t| {
        earliest.set(earliest.get().min(t));
        t
    });
    Some(earliest.get()).filter(|&t| t != Instant::MAX)
}

/// Appends `step` to a step list shared with the states the explorer copied
/// this world from: copied once with room for it (`Arc::make_mut` copies to
/// the exact length, and the push then reallocates the copy).
fn push_shared(steps: &mut Arc<Vec<u32>>, step: u32) {
    if let Some(own) = Arc::get_mut(steps) {
        own.push(step);
        return;
    }
    let mut copy = Vec::with_capacity(steps.len() + 1);
    copy.extend_from_slice(steps);
    copy.push(step);
    *steps = Arc::new(copy);
}

thread_local! {
    /// The buffer a host's `hash_state` bytes are gathered in, per worker:
    /// allocated once, not per digest (a close's host hashes to about one KiB).
    static HOST_BYTES: std::cell::RefCell<Bytes> =
        std::cell::RefCell::new(Bytes::with_capacity(4 << 10));
}

/// The bytes a `Hash` writes, integers little-endian (as
/// `sim::trace::Fnv1a` takes them), so a digest of them names the same
/// state on every machine. Gathered first and hashed at once: XXH3's
/// streaming interface costs more than the hashing for writes this small.
#[derive(Default)]
pub struct Bytes(Vec<u8>);

impl Bytes {
    pub fn with_capacity(n: usize) -> Bytes {
        Bytes(Vec::with_capacity(n))
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn xxh3_128(&self) -> u128 {
        xxhash_rust::xxh3::xxh3_128(&self.0)
    }
}

// Inline: a state's hash is a few hundred small writes.
impl Hasher for Bytes {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.0.push(v);
    }
    #[inline]
    fn write_u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn write_u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.0.extend_from_slice(&(v as u64).to_le_bytes());
    }
    fn finish(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A canonical world part-way through the small close (without its
    /// time limit: the epoch is far beyond it, as an exploration's spec is).
    fn canonical_world() -> World {
        let mut spec = (*crate::examples::small_close(false)).clone();
        spec.limits.max_time_ns = Duration::MAX;
        let mut w = World::new(Arc::new(spec), false);
        for _ in 0..8 {
            assert!(w.step());
        }
        w.canonicalize();
        w
    }

    fn state_bytes(w: &World) -> Vec<u8> {
        let mut b = Bytes::default();
        w.hash_state(&mut b);
        b.0
    }

    /// A host's clock is its own: the same host moved on its clock by any
    /// amount, with the world's record of how far ahead it runs moved
    /// with it, is the same state (the digest sees its times relative to
    /// the world's clock); moved without that record, it is another.
    #[test]
    fn a_state_does_not_depend_on_where_a_host_keeps_its_clock() {
        let w = canonical_world();
        let by = |d: u64| {
            move |t: Instant| match t {
                Instant::MAX => t,
                _ => Instant::from_ns(t.as_ns().wrapping_add(d)),
            }
        };
        let d = 123_456_789;
        let mut same = w.clone();
        same.host_mut(1).shift_time(&by(d));
        same.clocks[1].ahead_ns = same.clocks[1].ahead_ns.wrapping_add(d);
        same.canonicalize();
        assert_eq!(state_bytes(&same), state_bytes(&w));
        let mut other = w.clone();
        other.host_mut(1).shift_time(&by(d));
        other.canonicalize();
        assert_ne!(state_bytes(&other), state_bytes(&w));
    }

    fn forgetting_bytes(w: &World) -> Vec<u8> {
        let mut b = Bytes::default();
        w.hash_state_as(&mut b, true);
        b.0
    }

    /// With `forget_dead`, a process's position counts only while it runs
    /// a step (blocked in one here): once it is done, two worlds that differ
    /// only there are one state; without, they are two.
    #[test]
    fn a_done_process_keeps_no_position() {
        let mut w = canonical_world();
        let moved = |w: &World, p: usize| {
            let mut o = w.clone();
            o.apps[p].pc += 1;
            o
        };
        let blocked = (0..w.apps.len()).find(|&p| w.status(p as ProcId) == AppStatus::Blocked);
        let p = blocked.expect("a process blocked part-way through the small close");
        assert_ne!(forgetting_bytes(&moved(&w, p)), forgetting_bytes(&w));
        while w.step() {}
        w.canonicalize();
        assert!(w.apps.iter().all(|a| a.status == AppStatus::Done));
        assert_eq!(forgetting_bytes(&moved(&w, 0)), forgetting_bytes(&w));
        assert_ne!(state_bytes(&moved(&w, 0)), state_bytes(&w));
    }

    /// A choice copies only the host it changes: the other stays shared
    /// with the state it was copied from, with its digest.
    #[test]
    fn an_event_copies_only_the_host_it_changes() {
        let w = canonical_world();
        let mut next = w.clone();
        let q = next.next_live_event().expect("an event");
        let Ev::Arrive(seg) = q.ev else {
            panic!("the small close's 9th event is an arrival: {q:?}")
        };
        assert!(next.step());
        next.canonicalize();
        let (to, other) = (seg.dst.host as usize, 1 - seg.dst.host as usize);
        assert!(!Arc::ptr_eq(&w.hosts[to], &next.hosts[to]));
        assert!(Arc::ptr_eq(&w.hosts[other], &next.hosts[other]));
        assert!(next.hosts.iter().all(|h| h.digest.is_some()));
    }

    /// The explorer losing the rest of an instant's burst retries the
    /// calls its first segment left for the last one (`World::arrival_taken`):
    /// otherwise the reader would stay blocked with data to read.
    #[test]
    fn losing_the_rest_of_a_burst_wakes_the_blocked_reader() {
        let mut w = World::new(crate::examples::bulk(3000), false);
        let server = 1; // examples::connection: the client is host 0
        let to_server = |a: &Arrival| a.seg.dst.host == server && a.seg.len > 0;
        loop {
            let first = w.next_arrival().filter(to_server);
            assert!(w.step(), "the burst arrives");
            if first.is_some() {
                break;
            }
        }
        assert!(
            w.hosts[1].has_blocked(),
            "the reader waits for the rest of the instant"
        );
        let now = w.now;
        // The two other data segments, and the FIN of the client's close.
        let mut lost = 0;
        while let Some(a) = w
            .next_arrival()
            .filter(|a| a.seg.dst.host == server && a.at == now)
        {
            assert!(
                w.hosts[1].has_blocked(),
                "an arrival of this instant is still due"
            );
            w.lose(a);
            lost += 1;
        }
        assert_eq!(
            lost, 3,
            "3000 bytes: three segments and a FIN at one instant"
        );
        assert!(!w.hosts[1].has_blocked(), "woken once nothing more arrives");
    }
}
