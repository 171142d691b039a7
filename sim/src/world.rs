//! The deterministic world: one event queue keyed by (virtual time, insertion
//! order), hosts driven through the model's entry points, the network deciding
//! each segment's fate, and processes running their scripted steps.
//!
//! The whole state is plain data: a `World` can be cloned (to fork a run),
//! compared and hashed (to deduplicate states). Recording the trace is
//! optional; the verdict's observer always runs.

use crate::app::AppState;
use crate::net::{Fate, Link, Network};
use crate::raw::RawConn;
use crate::rng::SimRng;
use crate::spec::{ProcId, WorldSpec};
use crate::trace::{Entry, Fnv1a, What};
use crate::verdict::{EndReason, Observer, Verdict};
use model::Instant;
use model::{Event, Host, HostId, Output, Segment};
use smallvec::SmallVec;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

mod end;
mod queue;
mod renew;
mod shared;

pub(crate) use queue::{Ev, EventQueue, Queued, QUEUE_START_CAPACITY};
pub use shared::SharedHost;
pub(crate) use shared::{on_world_clock, shared_mut, HostClock, HostDigest};

/// Sub-stream ids: one per component, so their draws never shift each other.
const RNG_NETWORK: u64 = 1;

/// A running (or finished) simulation.
#[derive(Clone, Debug)]
pub struct World {
    pub(crate) spec: Arc<WorldSpec>,
    /// Step indices of each process, in order. Each list shared: a clone
    /// copies no list, and the explorer's call copies only its process's.
    pub(crate) proc_steps: SmallVec<[Arc<Vec<u32>>; 4]>,
    pub now: Instant,
    pub(crate) queue: EventQueue,
    pub(crate) next_seq: u64,
    /// (Inline pointers: a world moves by value, and its hosts are large.) Each host
    /// shared with the worlds cloned from this one until one of them
    /// changes it ([`World::host_mut`]): the explorer's choices copy only
    /// the host they change.
    pub hosts: SmallVec<[Arc<SharedHost>; 4]>,
    /// Per host, its clock against the world's ([`HostClock`]; not hashed).
    pub(crate) clocks: SmallVec<[HostClock; 4]>,
    pub(crate) apps: SmallVec<[AppState; 4]>,
    pub(crate) net: Network,
    /// Per host, the earliest timer event in the queue.
    /// (Inline for a few hosts, as `pid_proc`: a clone allocates nothing.)
    pub(crate) timer_at: SmallVec<[Option<Instant>; 4]>,
    pub(crate) observer: Observer,
    pub(crate) trace: Option<Vec<Entry>>,
    pub events: u64,
    pub(crate) ended: Option<EndReason>,
    /// Scratch buffer for model output; not part of the state.
    pub(crate) out: Output,
    /// The process of each (pid, host), at `pid × hosts + host` (pids are
    /// dense per host; derived from `apps`: not hashed).
    pub(crate) pid_proc: SmallVec<[ProcId; 4]>,
    /// The process inside `Host::call` (None between events: not hashed).
    pub(crate) calling: Option<ProcId>,
    /// When each step returned, for steps that start `after` one (not
    /// hashed: the explorer refuses `after`).
    pub(crate) step_done: Vec<Option<Instant>>,
    /// Per host, a raw host's connection (None for a host with a stack);
    /// empty when no host is raw.
    pub(crate) raw: Vec<Option<RawConn>>,
    /// Segments sent to raw hosts, when sent: what their `expect` steps match.
    pub(crate) raw_sent: Vec<(Instant, Segment)>,
    /// Segments a call sent on a loopback path, to be taken in before it
    /// returns ([`World::deliver_in_call`]; empty between events: not hashed).
    pub(crate) in_call: Vec<Segment>,
}

impl World {
    /// Builds a world from its spec; `record_trace` keeps every entry.
    pub fn new(spec: Arc<WorldSpec>, record_trace: bool) -> World {
        let mut w = World::blank(Arc::clone(&spec));
        w.renew(spec, record_trace);
        w
    }

    /// A world of nothing, for [`World::renew`] to build on.
    fn blank(spec: Arc<WorldSpec>) -> World {
        World {
            spec,
            proc_steps: SmallVec::new(),
            now: Instant::ZERO,
            queue: EventQueue::default(),
            next_seq: 0,
            hosts: SmallVec::new(),
            clocks: SmallVec::new(),
            apps: SmallVec::new(),
            net: Network::new(0, Link::default(), SimRng::new(0, RNG_NETWORK)),
            timer_at: SmallVec::new(),
            observer: Observer::default(),
            trace: None,
            events: 0,
            ended: None,
            out: Output::default(),
            pid_proc: SmallVec::new(),
            calling: None,
            step_done: Vec::new(),
            raw: Vec::new(),
            raw_sent: Vec::new(),
            in_call: Vec::new(),
        }
    }

    /// Makes this world what `World::new(spec, record_trace)` builds, in
    /// place and in the buffers of its last run (its hosts, step lists,
    /// queue, output and trace): a run repeated from a spec (benchmarks, a
    /// fuzzer's cases) allocates only what the run itself needs. Every
    /// field is named, so a new one cannot be forgotten.
    pub fn renew(&mut self, spec: Arc<WorldSpec>, record_trace: bool) {
        #[rustfmt::skip]
        let World {
            spec: my_spec, proc_steps, now, queue, next_seq, hosts, clocks, apps, net, timer_at,
            observer, trace, events, ended, out, pid_proc, calling, step_done, raw, raw_sent,
            in_call,
        } = self;
        let hosts_n = spec.hosts.len();
        renew::hosts(&spec, hosts);
        renew::steps_by_proc(&spec, proc_steps);
        *now = Instant::ZERO;
        renew::queue(&mut queue.heap);
        *next_seq = 0;
        renew::filled(clocks, hosts_n, HostClock::default());
        let slots = spec.slot_names.len();
        apps.clear();
        apps.extend(spec.procs.iter().map(|_| AppState::new(slots)));
        *net = network(&spec);
        renew::filled(timer_at, hosts_n, None);
        *observer = Observer::default();
        match (trace.as_mut(), record_trace) {
            (Some(t), true) => t.clear(),
            (None, true) => *trace = Some(Vec::new()),
            (_, false) => *trace = None,
        }
        *events = 0;
        *ended = None;
        out.clear();
        pid_proc.clear();
        pid_proc.reserve(2 * hosts_n);
        *calling = None;
        // Only a spec with a step that starts `after` another reads when
        // steps returned: others keep no such table (nothing to clone when
        // the explorer copies the world).
        renew::step_done(&spec, step_done);
        *raw = raw_conns(&spec.hosts);
        raw_sent.clear();
        in_call.clear();
        *my_spec = spec;
        self.start_processes();
    }

    /// Spawns every process that is not forked (then each thread, sharing
    /// its process's table) and schedules their first steps.
    fn start_processes(&mut self) {
        for p in 0..self.spec.procs.len() {
            let ps = &self.spec.procs[p];
            if ps.forked_from.is_none() && ps.thread_of.is_none() {
                let host = ps.host as usize;
                let pid = self.host_mut(host as HostId).spawn();
                self.started(p as ProcId, pid);
            }
        }
        // Threads after every process they may belong to; each starts with it.
        for p in 0..self.spec.procs.len() {
            let ps = &self.spec.procs[p];
            if let Some(owner) = ps.thread_of {
                let host = ps.host as usize;
                let owner_pid = self.apps[owner as usize].pid.expect("owner started");
                let pid = self.host_mut(host as HostId).spawn_thread(owner_pid);
                self.started(p as ProcId, pid);
            }
        }
        for p in 0..self.spec.procs.len() {
            if self.spec.procs[p].forked_from.is_none() {
                self.start_next_step(p as ProcId, Instant::ZERO);
            }
        }
    }

    pub fn spec(&self) -> &WorldSpec {
        &self.spec
    }

    /// Host `h`, to change: copied first if another world shares it.
    #[inline]
    pub fn host_mut(&mut self, h: HostId) -> &mut Host {
        shared_mut(&mut self.hosts, h)
    }

    /// How many times host `h` was lent to be changed: equal counts, the
    /// same host (not hashed; counted per run, copied with the world).
    pub fn host_changes(&self, h: HostId) -> u64 {
        self.hosts[h as usize].changes
    }

    /// The world's clock as host `h`'s clock reads it.
    #[inline]
    pub(crate) fn host_now(&self, h: HostId) -> Instant {
        Instant::from_ns(
            self.now
                .as_ns()
                .wrapping_add(self.clocks[h as usize].ahead_ns),
        )
    }

    /// Host `h`'s next timer deadline on the world's clock.
    #[inline]
    pub(crate) fn poll_at(&self, h: HostId) -> Option<Instant> {
        self.on_world_clock(h, self.hosts[h as usize].poll_at())
    }

    /// [`World::poll_at`], asked of the host only if it changed since.
    #[inline]
    pub(crate) fn poll_at_memo(&mut self, h: HostId) -> Option<Instant> {
        let i = h as usize;
        let host = &self.hosts[i];
        let clock = &mut self.clocks[i];
        let at = match clock.poll_memo {
            Some((c, at)) if c == host.changes => at,
            _ => {
                let at = host.poll_at();
                clock.poll_memo = Some((host.changes, at));
                at
            }
        };
        on_world_clock(clock.ahead_ns, at)
    }

    /// An instant of host `h`'s clock on the world's.
    #[inline]
    fn on_world_clock(&self, h: HostId, at: Option<Instant>) -> Option<Instant> {
        on_world_clock(self.clocks[h as usize].ahead_ns, at)
    }

    pub(crate) fn push(&mut self, at: Instant, ev: Ev) {
        self.queue.push(Queued {
            at,
            seq: self.next_seq,
            ev,
        });
        self.next_seq += 1;
    }

    /// Hands an entry to the verdict's observer and, when recording, to
    /// the trace. Without a trace, an entry the observer does not tally is
    /// not even built (most entries: calls, returns, arrivals).
    #[inline]
    pub(crate) fn record(&mut self, host: HostId, what: What) {
        if !self.recording() && !Observer::tallies(&what) {
            return;
        }
        self.record_entry(host, what);
    }

    /// Whether the world keeps a trace: entries the observer does not
    /// tally are built only then.
    #[inline]
    pub(crate) fn recording(&self) -> bool {
        self.trace.is_some()
    }

    fn record_entry(&mut self, host: HostId, what: What) {
        self.observer.observe_what(self.now, &what);
        if let Some(t) = self.trace.as_mut() {
            t.push(Entry {
                t_ns: self.now,
                host,
                what,
            });
        }
    }

    /// Runs to the end and returns the verdict.
    pub fn run(&mut self) -> Verdict {
        while self.step() {}
        self.verdict()
    }

    /// Runs to the end, handing each trace entry to `each` as it is produced
    /// and keeping none: memory does not grow with the length of the run.
    /// The world must record its trace (`World::new(spec, true)`); the first
    /// error of `each` stops the run and is returned.
    pub fn run_with<E>(
        &mut self,
        mut each: impl FnMut(&Entry) -> Result<(), E>,
    ) -> Result<Verdict, E> {
        assert!(self.trace.is_some(), "run_with needs a world that records");
        loop {
            // One event's entries at a time: the buffer holds no more.
            for e in self.drain_trace() {
                each(&e)?;
            }
            if !self.step() {
                break;
            }
        }
        Ok(self.verdict())
    }

    /// Takes the entries recorded since the last call (none if the world
    /// does not record): step, then drain, and the trace is never held whole.
    pub fn drain_trace(&mut self) -> impl Iterator<Item = Entry> + '_ {
        self.trace.iter_mut().flat_map(|t| t.drain(..))
    }

    /// Processes one event; false once the run has ended.
    pub fn step(&mut self) -> bool {
        if self.ended.is_some() {
            return false;
        }
        let Some(q) = self.next_live_event() else {
            self.ended = Some(EndReason::Quiescent);
            return false;
        };
        let limits = self.spec.limits;
        if q.at.since_start() > limits.max_time_ns {
            self.ended = Some(EndReason::TimeLimit);
            return false;
        }
        if self.events >= limits.max_events {
            self.ended = Some(EndReason::EventBudget);
            return false;
        }
        self.queue.pop();
        // Checked in release builds too (the fuzzer runs them): an event before
        // now would be a queue or timer bug that silently reorders the run.
        if q.at < self.now {
            time_went_backwards(q.at, self.now);
        }
        self.now = q.at;
        self.events += 1;
        match q.ev {
            Ev::Arrive(seg) => {
                let last = !self.arrival_follows(seg.dst.host, q.at);
                self.arrive(seg, last);
            }
            Ev::HostTimer(h) => {
                if self.timer_at[h as usize] == Some(self.now) {
                    self.timer_at[h as usize] = None;
                    let now = self.host_now(h);
                    shared_mut(&mut self.hosts, h).on_timers(now, &mut self.out);
                    self.flush(h);
                }
            }
            Ev::App(p) => self.run_app(p),
        }
        true
    }

    /// The next event that will do something. A host timer whose deadline was
    /// cancelled or moved later is dropped here (and re-armed at the real
    /// deadline), so it neither advances time nor counts as an event.
    pub(crate) fn next_live_event(&mut self) -> Option<Queued> {
        while let Some(q) = self.queue.peek().copied() {
            let Ev::HostTimer(h) = q.ev else {
                return Some(q);
            };
            let hi = h as usize;
            let current = self.timer_at[hi] == Some(q.at);
            let due = self.poll_at_memo(h).is_some_and(|d| d <= q.at);
            if current && due {
                return Some(q);
            }
            self.queue.pop();
            if current {
                self.timer_at[hi] = None;
                if let Some(at) = self.poll_at_memo(h) {
                    self.timer_at[hi] = Some(at);
                    self.push(at, Ev::HostTimer(h));
                }
            }
        }
        None
    }

    /// Whether the next event is another segment arriving at host `h` at
    /// `at`: then the host's blocked calls wait for it (`on_segment_of_instant`).
    fn arrival_follows(&self, h: HostId, at: Instant) -> bool {
        matches!(self.queue.peek(), Some(&Queued { at: next, ev: Ev::Arrive(seg), .. })
            if next == at && seg.dst.host == h)
    }

    /// The explorer took away (lost or held) the arrival at `at` to host `h`
    /// that its blocked calls were left waiting for: if no other arrival to
    /// it follows in this instant, they are retried now, as the last
    /// arrival would have.
    pub(crate) fn arrival_taken(&mut self, h: HostId, at: Instant) {
        if at == self.now && !self.arrival_follows(h, at) && self.hosts[h as usize].has_blocked() {
            let now = self.host_now(h);
            shared_mut(&mut self.hosts, h).wake_after_arrival(now, &mut self.out);
            self.flush(h);
        }
    }

    /// Traces a segment a host sent and gives it its fate.
    fn send(&mut self, h: HostId, seg: Segment) {
        self.record(h, What::Send { seg });
        if self
            .raw
            .get(seg.dst.host as usize)
            .is_some_and(Option::is_some)
        {
            self.raw_sent.push((self.now, seg));
        }
        self.transmit(h, seg);
    }

    /// Gives a segment from host `h`, already traced, its fate on the network.
    pub(crate) fn transmit(&mut self, h: HostId, seg: Segment) {
        let now = self.now;
        match self.net.fate(now, &seg) {
            Fate::Deliver { .. } if self.delivers_in_call(&seg) => self.in_call.push(seg),
            Fate::Deliver { at } => self.push(at, Ev::Arrive(seg)),
            Fate::Duplicate { at, again_at } => {
                self.record(h, What::Duplicate { seg });
                self.push(at, Ev::Arrive(seg));
                self.push(again_at, Ev::Arrive(seg));
            }
            Fate::Drop { reason } => self.record(h, What::Drop { seg, reason }),
        }
    }

    /// Whether a segment sent now reaches its peer within the call being
    /// made (knob `loopback_delivers_in_call`): on a loopback path, inside
    /// a call, with no scripted fault to delay it, and behind no segment
    /// still on its way the same way (a path keeps its order).
    fn delivers_in_call(&self, seg: &Segment) -> bool {
        let (src, dst) = (seg.src.host, seg.dst.host);
        self.calling.is_some()
            && self.spec.loopback
            && self.spec.faults.is_empty()
            && (self.hosts[src as usize].personality.knobs)
                .loopback_delivers_in_call
                .value
            && !self
                .queue
                .iter()
                .any(|q| matches!(q.ev, Ev::Arrive(s) if s.src.host == src && s.dst.host == dst))
    }

    /// Takes in the segments the current call sent on a loopback path, and
    /// those they draw, at this instant and in the order they were sent, as
    /// Linux's loopback runs the peer's receive path in the sender's context
    /// and the caller's socket takes the replies from its backlog before
    /// the call returns (`release_sock`). Blocked calls are retried once
    /// the backlog is empty (`__release_sock` takes every queued segment
    /// before the waiting writer looks again), and what they send is taken
    /// in the same way. Past the event budget the rest go to the queue,
    /// where the run ends.
    pub(crate) fn deliver_in_call(&mut self) {
        let mut woken = 0;
        while !self.in_call.is_empty() && woken < self.hosts.len() * 64 {
            let mut reached: SmallVec<[HostId; 4]> = SmallVec::new();
            self.take_in_call(&mut reached);
            for h in reached {
                let now = self.host_now(h);
                shared_mut(&mut self.hosts, h).wake_blocked(now, &mut self.out);
                self.flush(h);
                woken += 1;
            }
        }
    }

    /// One pass of [`World::deliver_in_call`]: the segments sent so far and
    /// those they draw, noting each host reached in `reached`.
    fn take_in_call(&mut self, reached: &mut SmallVec<[HostId; 4]>) {
        let mut i = 0;
        while i < self.in_call.len() {
            let seg = self.in_call[i];
            i += 1;
            if self.events >= self.spec.limits.max_events {
                let now = self.now;
                let rest: Vec<Segment> = self.in_call.drain(i - 1..).collect();
                rest.into_iter().for_each(|s| self.push(now, Ev::Arrive(s)));
                break;
            }
            self.events += 1;
            // More of the call's segments may follow: none is the instant's last.
            if let Some(h) = self.arrive(seg, false) {
                if !reached.contains(&h) {
                    reached.push(h);
                }
            }
        }
        self.in_call.clear();
    }

    /// `seg` reaches its host now: recorded, then learned from by a raw host
    /// (no stack: never answered) or taken in by the host's stack, `last`
    /// when no other arrival for that host follows at this instant. The
    /// stack host it reached, if any.
    #[inline]
    fn arrive(&mut self, seg: Segment, last: bool) -> Option<HostId> {
        let h = seg.dst.host;
        self.record(h, What::Recv { seg });
        if let Some(conn) = self.raw.get_mut(h as usize).and_then(Option::as_mut) {
            conn.receive(&seg);
            return None;
        }
        let now = self.host_now(h);
        shared_mut(&mut self.hosts, h).on_segment_of_instant(now, &seg, last, &mut self.out);
        self.flush(h);
        Some(h)
    }

    /// Process `p` runs as `pid` on its host (pids are dense per host).
    pub(crate) fn started(&mut self, p: ProcId, pid: model::Pid) {
        self.apps[p as usize].pid = Some(pid);
        let at = self.pid_slot(self.spec.procs[p as usize].host, pid);
        if self.pid_proc.len() <= at {
            self.pid_proc.resize(at + 1, ProcId::MAX);
        }
        assert_eq!(self.pid_proc[at], ProcId::MAX, "a pid runs one process");
        self.pid_proc[at] = p;
    }

    fn pid_slot(&self, h: HostId, pid: model::Pid) -> usize {
        pid as usize * self.hosts.len() + h as usize
    }

    /// A call finished. The process making it goes on at once; a process
    /// blocked in it continues in this instant, as an event of its own.
    fn call_done(&mut self, h: HostId, pid: model::Pid, result: model::CallResult) {
        let p = self.pid_proc[self.pid_slot(h, pid)];
        self.apps[p as usize].pending_result = Some(result);
        if self.calling != Some(p) {
            let now = self.now;
            self.push(now, Ev::App(p));
        }
    }

    /// Moves a host's output into the trace and the network, routes call
    /// completions to their processes, and re-arms the host's timer.
    pub(crate) fn flush(&mut self, h: HostId) {
        let (events_n, segments_n) = (self.out.events.len(), self.out.segments.len());
        assert_eq!(
            segments_n,
            self.out.events_before.len(),
            "segments go through Output::send"
        );
        // Events and segments in the order the model produced them. Read in
        // place by index (nothing sending or recording touches the output
        // buffer): taking the buffer out and putting it back cost more.
        let mut next_seg = 0;
        for i in 0..events_n {
            while next_seg < segments_n && self.out.events_before[next_seg] as usize <= i {
                self.send(h, self.out.segments[next_seg]);
                next_seg += 1;
            }
            match self.out.events[i] {
                // A completion is traced as the call's Return, by its process.
                Event::CallDone { pid, result } => self.call_done(h, pid, result),
                event => self.record(h, What::Model { event }),
            }
        }
        for k in next_seg..segments_n {
            self.send(h, self.out.segments[k]);
        }
        self.out.clear();
        if let Some(at) = self.poll_at_memo(h) {
            let at = at.max(self.now);
            if self.timer_at[h as usize].is_none_or(|t| at < t) {
                self.timer_at[h as usize] = Some(at);
                self.push(at, Ev::HostTimer(h));
            }
        }
    }

    /// The recorded trace (empty when not recording).
    pub fn trace(&self) -> &[Entry] {
        self.trace.as_deref().unwrap_or(&[])
    }

    pub fn ended(&self) -> Option<EndReason> {
        self.ended
    }

    /// A digest of the whole state, for deduplicating explored states. The
    /// algorithm is pinned (FNV-1a, platform-independent integers), so a
    /// digest recorded today still names the same state tomorrow.
    pub fn state_hash(&self) -> u64 {
        let mut h = Fnv1a::default();
        self.hash(&mut h);
        h.finish()
    }
}

/// The panic of `step`'s time check, out of line: the check runs for every
/// event, and an inline `assert!` whose message borrows the event keeps it in
/// memory (0.8% more instructions per small-close run, measured).
#[cold]
#[inline(never)]
fn time_went_backwards(at_ns: Instant, now_ns: Instant) -> ! {
    panic!(
        "time went backwards: event at {} ns, now {} ns",
        at_ns.as_ns(),
        now_ns.as_ns()
    );
}

impl Hash for World {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.now.hash(h);
        let mut q: Vec<&Queued> = self.queue.iter().collect();
        q.sort_by_key(|x| (x.at, x.seq));
        for x in q {
            (x.at, x.ev).hash(h);
        }
        self.hosts.hash(h);
        self.apps.hash(h);
        self.net.hash(h);
        self.timer_at.hash(h);
        self.observer.hash(h);
        // Only a world with raw hosts hashes them (a world without keeps its digest).
        if self.raw.iter().any(Option::is_some) {
            self.raw.hash(h);
            self.raw_sent.hash(h);
        }
    }
}

impl PartialEq for World {
    fn eq(&self, o: &World) -> bool {
        let mut a: Vec<_> = self.queue.iter().map(|x| (x.at, x.seq, x.ev)).collect();
        let mut b: Vec<_> = o.queue.iter().map(|x| (x.at, x.seq, x.ev)).collect();
        a.sort_by_key(|x| (x.0, x.1));
        b.sort_by_key(|x| (x.0, x.1));
        self.now == o.now
            && a == b
            && self.hosts == o.hosts
            && self.apps == o.apps
            && self.net == o.net
            && self.timer_at == o.timer_at
            && self.observer == o.observer
            && self.raw == o.raw
            && self.raw_sent == o.raw_sent
    }
}

/// The spec's network at its start.
fn network(spec: &WorldSpec) -> Network {
    let rng = SimRng::new(spec.seed, RNG_NETWORK);
    let mut net = Network::new(spec.hosts.len(), spec.link, rng);
    for &(s, d, l) in &spec.links {
        net.set_link(s, d, l);
    }
    for d in &spec.drops {
        net.add_drop(*d);
    }
    for f in &spec.faults {
        net.add_fault(*f);
    }
    net.partitions = spec.partitions.clone();
    net
}

/// Per host, a raw host's connection; empty unless some host is raw, so a
/// world without one (every world the explorer clones, as a rule) carries no
/// per-host table to copy.
fn raw_conns(hosts: &[crate::spec::HostSpec]) -> Vec<Option<RawConn>> {
    if hosts.iter().all(|h| h.raw.is_none()) {
        return Vec::new();
    }
    (hosts.iter().enumerate())
        .map(|(i, h)| h.raw.map(|r| RawConn::new(i as HostId, &r, h.isn)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A world without a trace skips the entries its observer does not
    /// tally: its verdict must be the recording world's, and every skipped
    /// kind must indeed leave an observer unchanged.
    #[test]
    fn entries_skipped_without_a_trace_are_those_the_observer_ignores() {
        for spec in [
            crate::examples::small_close(false),
            crate::examples::small_close(true),
        ] {
            let mut kept = World::new(spec.clone(), true);
            let mut bare = World::new(spec, false);
            assert_eq!(kept.run(), bare.run());
            assert_eq!(kept.observer, bare.observer);
            let (mut skipped, mut tallied) = (0, 0);
            for e in kept.trace() {
                let mut o = Observer::default();
                o.observe(e);
                if Observer::tallies(&e.what) {
                    tallied += 1;
                } else {
                    assert_eq!(o, Observer::default(), "{e:?} is tallied");
                    skipped += 1;
                }
            }
            assert!(
                skipped > 10 && tallied > 10,
                "{skipped} skipped, {tallied} tallied"
            );
        }
    }

    /// The digest is pinned: the same small world hashes to the same value on
    /// every machine and toolchain. If this fails, either the algorithm changed
    /// (a bug: recorded digests no longer name their states) or a hashed type's
    /// fields did (then the new value is right: update the constant).
    #[test]
    fn a_small_world_hashes_to_a_fixed_digest() {
        let mut w = World::new(crate::examples::small_close(false), false);
        w.run();
        let digest = w.state_hash();
        // 0xf310…: each process keeps when its step started (for `blocked=`
        // expectations), each socket its SO_RCVTIMEO/SO_SNDTIMEO, whether an
        // RST went either way on it and what getsockopt(SO_SNDBUF) reads, a
        // host its reset 4-tuples; the knobs the FreeBSD packetdrill suite added;
        // each socket its TCP_NODELAY, TCP_CORK, MSG_MORE and snd_sml (Nagle),
        // the knobs nagle and cork_option; rcv_wnd_update, and the socket's
        // SO_SNDBUF lock (snd_buf_locked); the knob syn_sent_keeps_syn_data;
        // the knob select_style; the window-scaling and receive-window knobs
        // and each socket's largest window seen (max_snd_wnd); the knob
        // tail_loss_probe and each TCB's last_seg and tlp_high; the knobs
        // psh_ends_burst, tcp_moderate_rcvbuf and snd_buf_whole_segments and
        // the receive-buffer autotuning state; the knobs setsockopt_buf_min_bytes, gso and
        // slow_start_counts_acked (and each WndRule's gso); each host's
        // pending wake-up (wake_at); the knob write_wake_min_wspace; the knobs
        // loopback_delivers_in_call and tcp_check_space_nospace, and each
        // socket's snd_nospace; the knob old_data_ack_snd_check.
        assert_eq!(
            digest, 0xae04_2d5e_c4bc_34e5,
            "state_hash of small-close is now {digest:#018x}"
        );
    }
}
