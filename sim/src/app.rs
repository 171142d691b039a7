//! Processes running their scripts: each step becomes one or more socket
//! calls; a call that blocks parks the process until the host reports it done.
//! Steps of one process run in order; a step starts at its time or when the
//! previous one finished, whichever is later.

use crate::spec::{Action, At, Expect, ProcId, Slot};
use crate::trace::What;
use crate::world::{Ev, World};
use model::{Call, CallResult, Fd, Pid, TimeNs};

/// A read-until-EOF step reads at most this much per call.
const READ_CHUNK_BYTES: u64 = 1 << 20;
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

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppState {
    pub pid: Option<Pid>,
    pub status: AppStatus,
    /// Index into the process's own step list.
    pub pc: u32,
    /// Sub-call of a multi-call step (listen = socket, bind, listen).
    pub phase: u8,
    /// Bytes read so far by a read-until-EOF step.
    pub acc: u64,
    pub slots: Vec<Option<Fd>>,
    pub blocked_call: Option<Call>,
    pub pending_result: Option<CallResult>,
}

impl AppState {
    pub fn new(slots: usize) -> AppState {
        AppState {
            pid: None,
            status: AppStatus::NotStarted,
            pc: 0,
            phase: 0,
            acc: 0,
            slots: vec![None; slots],
            blocked_call: None,
            pending_result: None,
        }
    }
}

impl World {
    fn host_of(&self, p: ProcId) -> u16 {
        self.spec.procs[p as usize].host
    }

    fn step_index(&self, p: ProcId) -> u32 {
        self.proc_steps[p as usize][self.apps[p as usize].pc as usize]
    }

    /// Schedules the process's step `pc`, measured from `done_at`.
    pub(crate) fn start_next_step(&mut self, p: ProcId, done_at: TimeNs) {
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
        };
        a.status = AppStatus::Ready;
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
                let call = a.blocked_call.take().expect("blocked call");
                a.status = AppStatus::Ready;
                let h = self.host_of(p);
                let step = self.step_index(p);
                self.record(
                    h,
                    What::Return {
                        proc: p,
                        step,
                        call,
                        result: r,
                    },
                );
                if let Some(fin) = self.absorb(p, r) {
                    self.finish_step(p, fin, self.now);
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
        for _ in 0..CALLS_PER_STEP_MAX {
            let action = self.spec.steps[step as usize].action;
            let call = match self.next_call(p, action) {
                Ok(call) => call,
                Err(done) => return self.finish_step(p, done.0, done.1),
            };
            let pid = self.apps[p as usize].pid.expect("started");
            self.record(
                h,
                What::Call {
                    proc: p,
                    step,
                    call,
                },
            );
            let now = self.now;
            let r = self.hosts[h as usize].call(now, pid, call, &mut self.out);
            self.flush(h);
            match r {
                None => {
                    let a = &mut self.apps[p as usize];
                    a.status = AppStatus::Blocked;
                    a.blocked_call = Some(call);
                    self.record(
                        h,
                        What::Blocked {
                            proc: p,
                            step,
                            call,
                        },
                    );
                    return;
                }
                Some(r) => {
                    self.record(
                        h,
                        What::Return {
                            proc: p,
                            step,
                            call,
                            result: r,
                        },
                    );
                    if let Some(fin) = self.absorb(p, r) {
                        return self.finish_step(p, fin, self.now);
                    }
                }
            }
        }
        panic!("step {step} made {CALLS_PER_STEP_MAX} calls without blocking");
    }

    fn fd(&self, p: ProcId, s: Slot) -> Fd {
        self.apps[p as usize].slots[s as usize].unwrap_or(u32::MAX)
    }

    /// The next call of the current step, or `Err((result, done_at))` for steps
    /// that need no call (fork, exit, sleep).
    fn next_call(&mut self, p: ProcId, action: Action) -> Result<Call, (CallResult, TimeNs)> {
        let phase = self.apps[p as usize].phase;
        let empty = |w: &World, s: Slot| w.apps[p as usize].slots[s as usize].is_none();
        Ok(match action {
            Action::Socket { .. } => Call::Socket,
            Action::Bind { sock, port } => Call::Bind {
                fd: self.fd(p, sock),
                port,
            },
            Action::Listen {
                sock,
                port,
                backlog,
            } => match phase {
                0 if empty(self, sock) => Call::Socket,
                0 | 1 => {
                    self.apps[p as usize].phase = 1;
                    Call::Bind {
                        fd: self.fd(p, sock),
                        port,
                    }
                }
                _ => Call::Listen {
                    fd: self.fd(p, sock),
                    backlog,
                },
            },
            Action::Accept { listener, .. } => Call::Accept {
                fd: self.fd(p, listener),
            },
            Action::Connect { sock, host, port } => match phase {
                0 if empty(self, sock) => Call::Socket,
                _ => {
                    self.apps[p as usize].phase = 1;
                    Call::Connect {
                        fd: self.fd(p, sock),
                        to: model::Addr { host, port },
                    }
                }
            },
            Action::Write { sock, bytes } => Call::Write {
                fd: self.fd(p, sock),
                bytes,
            },
            Action::Read { sock, max } => Call::Read {
                fd: self.fd(p, sock),
                max,
            },
            Action::ReadToEof { sock } => Call::Read {
                fd: self.fd(p, sock),
                max: READ_CHUNK_BYTES,
            },
            Action::Shutdown { sock, how } => Call::Shutdown {
                fd: self.fd(p, sock),
                how,
            },
            Action::Close { sock } => Call::Close {
                fd: self.fd(p, sock),
            },
            Action::Linger { sock, linger } => Call::Linger {
                fd: self.fd(p, sock),
                linger,
            },
            Action::Nonblocking { sock, on } => Call::Nonblocking {
                fd: self.fd(p, sock),
                on,
            },
            Action::Keepalive { sock, on } => Call::Keepalive {
                fd: self.fd(p, sock),
                on,
            },
            Action::RcvBuf { sock, bytes } => Call::RcvBuf {
                fd: self.fd(p, sock),
                bytes,
            },
            Action::SndBuf { sock, bytes } => Call::SndBuf {
                fd: self.fd(p, sock),
                bytes,
            },
            Action::Dup { sock, .. } => Call::Dup {
                fd: self.fd(p, sock),
            },
            Action::Fork { child } => return Err((self.fork(p, child), self.now)),
            Action::Exit => {
                let h = self.host_of(p);
                let pid = self.apps[p as usize].pid.expect("started");
                self.record(h, What::Exit { proc: p });
                let now = self.now;
                self.hosts[h as usize].exit(now, pid, &mut self.out);
                self.flush(h);
                self.apps[p as usize]
                    .slots
                    .iter_mut()
                    .for_each(|s| *s = None);
                return Err((Ok(0), self.now));
            }
            Action::Sleep { ns } => {
                let h = self.host_of(p);
                self.record(h, What::Sleep { proc: p, ns });
                return Err((Ok(0), self.now + ns));
            }
        })
    }

    fn fork(&mut self, p: ProcId, child: ProcId) -> CallResult {
        let h = self.host_of(p);
        let pid = self.apps[p as usize].pid.expect("started");
        let cpid = self.hosts[h as usize].fork(pid);
        let slots = self.apps[p as usize].slots.clone();
        let c = &mut self.apps[child as usize];
        c.pid = Some(cpid);
        c.slots = slots;
        self.record(h, What::Fork { proc: p, child });
        let now = self.now;
        self.start_next_step(child, now);
        Ok(cpid as u64)
    }

    /// Applies a call's result to the process; `Some(result)` when the step is over.
    fn absorb(&mut self, p: ProcId, r: CallResult) -> Option<CallResult> {
        let step = self.step_index(p);
        let action = self.spec.steps[step as usize].action;
        let a = &mut self.apps[p as usize];
        let phase = a.phase;
        // Only the first sub-calls are told apart (socket, bind, listen); a
        // read-until-EOF step may make any number of calls.
        a.phase = a.phase.saturating_add(1);
        match (action, r) {
            (Action::Socket { sock }, Ok(fd)) | (Action::Accept { sock, .. }, Ok(fd)) => {
                a.slots[sock as usize] = Some(fd as Fd);
                Some(Ok(fd))
            }
            (Action::Dup { new, .. }, Ok(fd)) => {
                a.slots[new as usize] = Some(fd as Fd);
                Some(Ok(fd))
            }
            (Action::Listen { sock, .. }, Ok(v)) => {
                if phase == 0 && a.slots[sock as usize].is_none() {
                    a.slots[sock as usize] = Some(v as Fd);
                    return None;
                }
                (phase >= 2).then_some(Ok(0))
            }
            (Action::Connect { sock, .. }, Ok(v)) => {
                if phase == 0 && a.slots[sock as usize].is_none() {
                    a.slots[sock as usize] = Some(v as Fd);
                    return None;
                }
                Some(Ok(0))
            }
            (Action::Close { sock }, Ok(v)) => {
                a.slots[sock as usize] = None;
                Some(Ok(v))
            }
            (Action::ReadToEof { .. }, Ok(0)) => Some(Ok(a.acc)),
            (Action::ReadToEof { .. }, Ok(n)) => {
                a.acc += n;
                None
            }
            (_, Err(e)) => Some(Err(e)),
            (_, Ok(v)) => Some(Ok(v)),
        }
    }

    /// Ends the current step: checks its expectation and schedules the next.
    fn finish_step(&mut self, p: ProcId, r: CallResult, done_at: TimeNs) {
        let step = self.step_index(p);
        let spec = &self.spec.steps[step as usize];
        if let Some(e) = spec.expect {
            let ok = match e {
                Expect::Value(v) => r == Ok(v),
                // On a Winsock stack a program sees only the Winsock name:
                // EPIPE and ESHUTDOWN are both WSAESHUTDOWN.
                Expect::Error(er) => match r {
                    Err(actual) if actual == er => true,
                    Err(actual) => {
                        let host = self.spec.procs[p as usize].host as usize;
                        let winsock = self.spec.hosts[host].personality.knobs.error_names.value
                            == model::personality::ErrorNames::Winsock;
                        winsock && actual.winsock_name() == er.winsock_name()
                    }
                    Ok(_) => false,
                },
                Expect::Ok => r.is_ok(),
            };
            if !ok {
                let actual = match r {
                    Ok(v) => v.to_string(),
                    Err(e) => e.to_string(),
                };
                self.observer.mismatches.push((
                    step,
                    p,
                    e.to_string(),
                    actual,
                    spec.origin.clone(),
                ));
            }
        }
        let a = &mut self.apps[p as usize];
        a.phase = 0;
        a.acc = 0;
        if matches!(spec.action, Action::Exit) {
            a.status = AppStatus::Exited;
            a.pc = self.proc_steps[p as usize].len() as u32;
            return;
        }
        a.pc += 1;
        self.start_next_step(p, done_at);
    }
}

/// How a call result reads in reports: a count, or an errno name.
pub fn result_text(r: &CallResult) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => e.to_string(),
    }
}
