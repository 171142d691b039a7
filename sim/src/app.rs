//! Processes running their scripts: each step becomes one or more socket
//! calls; a call that blocks parks the process until the host reports it done.
//! Steps of one process run in order; a step starts at its time or when the
//! previous one finished, whichever is later.

use crate::raw::RawConn;
use crate::spec::{Action, At, ProcId, Slot, Slots, Within};
use crate::trace::What;
use crate::world::{shared_mut, Ev, World};
use model::call::{Expansion, Next, Rename};
use model::Instant;
use model::{CallResult, Errno, Fd, Fds, Pid, SysCall};
use smallvec::SmallVec;

/// Calls one step may make without blocking (read-until-EOF loops).
const CALLS_PER_STEP_MAX: u32 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppStatus {
    /// A forked child not yet forked.
    NotStarted,
    /// Its next step is scheduled.
    Ready,
    /// In a call that blocks.
    Blocked,
    Done,
    Exited,
}

/// A system call that blocked: as the step names it (to apply its result
/// to the slots) and as the host saw it (for the trace).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockedCall {
    pub named: Action,
    pub sys: SysCall,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppState {
    pub pid: Option<Pid>,
    pub status: AppStatus,
    /// Index into the process's own step list.
    pub pc: u32,
    /// Where the current step is among its system calls.
    pub expansion: Expansion,
    /// Inline for a few slots: cloning a world allocates nothing for them.
    pub slots: SmallVec<[Option<Fd>; 4]>,
    pub blocked: Option<BlockedCall>,
    pub pending_result: Option<CallResult>,
    /// When the current step started (for `blocked=` expectations).
    pub started: Instant,
    /// The step it waits for (`after`), and when its own previous step ended.
    pub waits_for: Option<(u32, Instant)>,
}

impl AppState {
    pub fn new(slots: usize) -> AppState {
        AppState {
            pid: None,
            status: AppStatus::NotStarted,
            pc: 0,
            expansion: Expansion::default(),
            slots: smallvec::smallvec![None; slots],
            blocked: None,
            pending_result: None,
            started: Instant::ZERO,
            waits_for: None,
        }
    }
}

/// A process's slots as its host's descriptors.
struct SlotFds<'a> {
    slots: &'a [Option<Fd>],
}

impl Rename<Slots, Fds> for SlotFds<'_> {
    fn sock(&mut self, s: &Slot) -> Fd {
        // An empty slot is a descriptor no process has: the host says EBADF.
        self.slots[*s as usize].unwrap_or(model::NO_FD)
    }
    fn new_sock(&mut self, _: &Slot) {}
    fn host(&mut self, h: &u16) -> u16 {
        *h
    }
    fn proc(&mut self, _: &ProcId) -> Pid {
        unreachable!("process steps are not system calls")
    }
}

impl World {
    fn host_of(&self, p: ProcId) -> u16 {
        self.spec.procs[p as usize].host
    }

    /// The process whose socket names (slots) `p` uses: its own, or for a
    /// thread those of the process it belongs to.
    fn table_of(&self, p: ProcId) -> usize {
        self.spec.procs[p as usize].thread_of.unwrap_or(p) as usize
    }

    fn step_index(&self, p: ProcId) -> u32 {
        self.proc_steps[p as usize][self.apps[p as usize].pc as usize]
    }

    /// Schedules the process's step `pc`, measured from `done_at`.
    pub(crate) fn start_next_step(&mut self, p: ProcId, done_at: Instant) {
        let a = &mut self.apps[p as usize];
        let steps = &self.proc_steps[p as usize];
        if a.pc as usize >= steps.len() {
            a.status = AppStatus::Done;
            if !steps.is_empty() {
                let h = self.host_of(p);
                self.record(h, What::Finished { proc: p });
            }
            return;
        }
        let at = match self.spec.steps[steps[a.pc as usize] as usize].at {
            At::Next => done_at,
            At::Abs(t) => t.max(done_at),
            At::After(d) => done_at + d,
            At::Once { step, plus } => match self.step_done[step as usize] {
                Some(t) => (t + plus).max(done_at),
                None => {
                    // Scheduled when that step returns (finish_step).
                    a.status = AppStatus::Ready;
                    a.waits_for = Some((step, done_at));
                    return;
                }
            },
        };
        a.status = AppStatus::Ready;
        a.started = at.max(self.now);
        self.push(at.max(self.now), Ev::App(p));
    }

    /// An App event: run the current step, or continue it after a blocked call.
    pub(crate) fn run_app(&mut self, p: ProcId) {
        let a = &mut self.apps[p as usize];
        match a.status {
            AppStatus::Ready => {}
            AppStatus::Blocked => {
                let Some(r) = a.pending_result.take() else {
                    return;
                };
                let blocked = a.blocked.take().expect("blocked call");
                a.status = AppStatus::Ready;
                if self.returned(p, &blocked, r) {
                    return;
                }
            }
            AppStatus::NotStarted | AppStatus::Done | AppStatus::Exited => return,
        }
        self.run_calls(p);
    }

    /// Makes the step's calls until one blocks or the step finishes.
    fn run_calls(&mut self, p: ProcId) {
        let h = self.host_of(p);
        let step = self.step_index(p);
        let action = self.spec.steps[step as usize].action;
        let table = self.table_of(p);
        for _ in 0..CALLS_PER_STEP_MAX {
            let a = &self.apps[p as usize];
            let slots = &self.apps[table].slots;
            let named = match a.expansion.next(&action, |s| slots[*s as usize].is_some()) {
                Next::Sys(named) => named,
                Next::Process => {
                    let (result, done_at) = self.process_step(p, action);
                    return self.finish_step(p, step, result, done_at);
                }
            };
            let call = named.rename(&mut SlotFds { slots });
            let pid = a.pid.expect("started");
            // Untallied (`Observer::tallies`), so built only for a trace.
            if self.recording() {
                let what = What::Call {
                    proc: p,
                    step,
                    call,
                };
                self.record(h, what);
            }
            let now = self.host_now(h);
            self.calling = Some(p);
            shared_mut(&mut self.hosts, h).call(now, pid, call, &mut self.out);
            self.flush(h);
            self.deliver_in_call();
            self.calling = None;
            let Some(r) = self.apps[p as usize].pending_result.take() else {
                let a = &mut self.apps[p as usize];
                a.status = AppStatus::Blocked;
                a.blocked = Some(BlockedCall { named, sys: call });
                if self.recording() {
                    let what = What::Blocked {
                        proc: p,
                        step,
                        call,
                    };
                    self.record(h, what);
                }
                return;
            };
            if self.returned(p, &BlockedCall { named, sys: call }, r) {
                return;
            }
        }
        panic!("step {step} made {CALLS_PER_STEP_MAX} calls without blocking");
    }

    /// A system call returned, at once or after blocking (the one way a call
    /// completes): traces it, applies it, and ends the step if it is over.
    /// True when the step is over.
    fn returned(&mut self, p: ProcId, c: &BlockedCall, result: CallResult) -> bool {
        // Looked up once for the return, the result and the step's end.
        let step = self.step_index(p);
        self.record_return(p, step, c.sys, result);
        match self.absorb(p, step, &c.named, result) {
            Some(fin) => {
                self.finish_step(p, step, fin, self.now);
                true
            }
            None => false,
        }
    }

    /// A step that is no socket call: `(result, when the step is over)`.
    fn process_step(&mut self, p: ProcId, action: Action) -> (CallResult, Instant) {
        match action {
            Action::Fork { child } => (self.fork(p, child), self.now),
            Action::Exit {} => {
                let h = self.host_of(p);
                let pid = self.apps[p as usize].pid.expect("started");
                self.record(h, What::Exit { proc: p });
                let now = self.host_now(h);
                shared_mut(&mut self.hosts, h).exit(now, pid, &mut self.out);
                self.flush(h);
                self.apps[p as usize]
                    .slots
                    .iter_mut()
                    .for_each(|s| *s = None);
                self.end_threads(p);
                (Ok(0), self.now)
            }
            Action::Sleep { ns } => {
                let h = self.host_of(p);
                self.record(h, What::Sleep { proc: p, ns });
                (Ok(0), self.now + ns)
            }
            Action::Inject { sock, seg } => (self.inject(p, sock, seg), self.now),
            Action::Sockets { state, held, port } => {
                let host = &self.hosts[self.host_of(p) as usize];
                let count = host
                    .sockets()
                    .filter(|(_, s)| s.state == state)
                    .filter(|(_, s)| !held || s.refs > 0)
                    .filter(|(_, s)| port.is_none_or(|p| s.local.port == p || s.remote.port == p))
                    .count();
                self.host_step(p, SysCall::Sockets { state, held, port }, count as u64)
            }
            Action::Tcpdrop { state } => {
                let h = self.host_of(p);
                let now = self.host_now(h);
                let dropped = shared_mut(&mut self.hosts, h).drop_time_wait(now, &mut self.out);
                self.flush(h);
                self.host_step(p, SysCall::Tcpdrop { state }, dropped as u64)
            }
            other => unreachable!("{} is a socket call", other.name()),
        }
    }

    /// Traces that process `p`'s `call` of its current step `step` returned `result`.
    fn record_return(&mut self, p: ProcId, step: u32, call: model::SysCall, result: CallResult) {
        // The observer tallies no return (`Observer::tallies`): without a
        // trace, not even its entry is built (300 instructions of the small
        // close's 52,000).
        if !self.recording() {
            return;
        }
        let h = self.host_of(p);
        self.record(
            h,
            What::Return {
                proc: p,
                step,
                call,
                result,
            },
        );
    }

    /// A step that asks its host (not a socket) for `result`, shown as a call in the trace.
    fn host_step(&mut self, p: ProcId, call: model::SysCall, result: u64) -> (CallResult, Instant) {
        let result = Ok(result);
        let step = self.step_index(p);
        self.record_return(p, step, call, result);
        (result, self.now)
    }

    /// The process `p` exited: its threads end with it, where they were.
    fn end_threads(&mut self, p: ProcId) {
        for q in 0..self.spec.procs.len() {
            if self.spec.procs[q].thread_of == Some(p) {
                let a = &mut self.apps[q];
                a.blocked = None;
                a.pending_result = None;
                if a.status != AppStatus::Done {
                    a.status = AppStatus::Exited;
                }
            }
        }
    }

    /// An `inject` step: `raw` placed on the connection of the process's
    /// socket `slot` and sent as its host would send it, the host's stack
    /// none the wiser. EBADF when the slot holds no descriptor, ENOTCONN when
    /// the socket never had a peer.
    fn inject(&mut self, p: ProcId, slot: Slot, raw: model::RawSeg) -> CallResult {
        let h = self.host_of(p);
        let step = self.step_index(p);
        if let Some(conn) = self.raw.get(h as usize).copied().flatten() {
            return self.inject_raw(p, slot, raw, conn);
        }
        let a = &self.apps[p as usize];
        let pid = a.pid.expect("started");
        let host = &self.hosts[h as usize];
        let Some(sid) = a.slots[slot as usize].and_then(|fd| host.fd_sock(pid, fd)) else {
            return Err(Errno::EBADF);
        };
        let s = host.sock(sid);
        if s.remote.port == 0 {
            return Err(Errno::ENOTCONN);
        }
        let seg = raw.segment(s.local, s.remote, s.tcb.iss, s.tcb.irs);
        self.record(h, What::Inject { proc: p, step, seg });
        self.transmit(h, seg);
        Ok(0)
    }

    /// An `inject` step of a raw host (sim/src/raw.rs): `to` is the host it
    /// names, which must be the other end of its one connection (ENOTCONN
    /// when it has none with that host).
    fn inject_raw(&mut self, p: ProcId, to: u16, raw: model::RawSeg, conn: RawConn) -> CallResult {
        let h = self.host_of(p);
        let step = self.step_index(p);
        let Some(remote) = conn.remote.filter(|r| r.host == to) else {
            return Err(Errno::ENOTCONN);
        };
        let irs = conn.irs.unwrap_or(model::Seq(0));
        let seg = raw.segment(conn.local, remote, conn.iss, irs);
        self.record(h, What::Inject { proc: p, step, seg });
        self.transmit(h, seg);
        Ok(0)
    }

    fn fork(&mut self, p: ProcId, child: ProcId) -> CallResult {
        let h = self.host_of(p);
        let pid = self.apps[p as usize].pid.expect("started");
        let cpid = self.host_mut(h).fork(pid);
        let slots = self.apps[self.table_of(p)].slots.clone();
        self.started(child, cpid);
        self.apps[child as usize].slots = slots;
        self.record(h, What::Fork { proc: p, child });
        let now = self.now;
        self.start_next_step(child, now);
        Ok(cpid as u64)
    }

    /// Applies a system call's result to the process's slots and to the
    /// step's expansion; `Some(result)` when the step is over.
    fn absorb(
        &mut self,
        p: ProcId,
        step: u32,
        named: &Action,
        r: CallResult,
    ) -> Option<CallResult> {
        let table = self.table_of(p);
        // Borrowed, not copied: this runs for every call's result.
        let action = &self.spec.steps[step as usize].action;
        let slots = &mut self.apps[table].slots;
        if let Ok(v) = r {
            if let Some(&slot) = named.gives() {
                slots[slot as usize] = Some(v as Fd);
            }
            if let Some(&slot) = named.releases() {
                slots[slot as usize] = None;
            }
        }
        self.apps[p as usize].expansion.absorb(action, named, r)
    }

    /// Ends the current step (`step`): checks its expectation and schedules the next.
    fn finish_step(&mut self, p: ProcId, step: u32, r: CallResult, done_at: Instant) {
        self.check_step(p, step, r, done_at);
        // The explorer's own steps come after the spec's and are never waited for.
        if let Some(d) = self.step_done.get_mut(step as usize) {
            *d = Some(done_at);
        }
        // Only a step that starts `after` another waits, and a spec with
        // one keeps `step_done` (a step's wait reads it): none to release
        // otherwise.
        if !self.step_done.is_empty() {
            self.release_waiters(step);
        }
        let spec = &self.spec.steps[step as usize];
        let a = &mut self.apps[p as usize];
        a.expansion = Expansion::default();
        if matches!(spec.action, Action::Exit {}) {
            // `pc` stays after the exit, so the verdict can name the steps it skipped.
            a.status = AppStatus::Exited;
            a.pc += 1;
            return;
        }
        a.pc += 1;
        self.start_next_step(p, done_at);
    }
}

impl World {
    /// Schedules the steps that wait (`after`) for `step`, which just returned.
    fn release_waiters(&mut self, step: u32) {
        for q in 0..self.apps.len() {
            let a = &mut self.apps[q];
            if let Some((waited, own_done)) = a.waits_for.filter(|w| w.0 == step) {
                debug_assert_eq!(waited, step);
                a.waits_for = None;
                if a.status == AppStatus::Ready {
                    self.start_next_step(q as ProcId, own_done);
                }
            }
        }
    }

    /// Checks the step's `= EXPECTED` and `blocked=` against how it ended.
    fn check_step(&mut self, p: ProcId, step: u32, r: CallResult, done_at: Instant) {
        let spec = &self.spec.steps[step as usize];
        let a = &self.apps[p as usize];
        let partial = a.expansion.read_total();
        let blocked = done_at.saturating_since(a.started);
        let host = self.spec.procs[p as usize].host as usize;
        // On a Winsock stack a program sees only the Winsock name: EPIPE and
        // ESHUTDOWN are both WSAESHUTDOWN.
        let winsock = self.spec.hosts[host].personality.knobs.error_names.value
            == model::personality::ErrorNames::Winsock;
        let name = r.map_err(|e| e.name());
        let same = |e: Errno, actual: &str| {
            e.name() == actual
                || (winsock
                    && Errno::parse(actual).is_some_and(|a| a.winsock_name() == e.winsock_name()))
        };
        let mut wrong = Vec::new();
        if let Some(e) = spec.expect {
            if !e.holds(name, partial, same) {
                wrong.push((e.to_string(), e.actual_text(name, partial)));
            }
        }
        if let Some(w) = spec.blocked {
            if !w.holds(blocked) {
                wrong.push((w.to_string(), Within::text(blocked)));
            }
        }
        if wrong.is_empty() {
            return; // most steps: no copy of where the step was written
        }
        let origin = spec.origin.clone();
        for (expected, actual) in wrong {
            self.observer
                .mismatches
                .push((step, p, expected, actual, origin.clone()));
        }
    }
}

/// How a call result reads in reports: a count, or an errno name.
pub fn result_text(r: &CallResult) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => e.to_string(),
    }
}
