//! The scenario's processes as real processes: each runs its steps with real
//! socket calls at their (scaled) times and reports every step's result to the
//! coordinator as one JSON line on a shared pipe (each line is written with a
//! single `write` well under PIPE_BUF, so lines from processes never mix).
//! `fork` steps are real `fork()`s: the child runs its own steps with copies
//! of every descriptor; `exit` is `_exit()`, so the kernel closes what is open.

use super::sys;
use model::call::{Call, ReadLen};
use serde::{Deserialize, Serialize};
use sim::spec::{Action, At, ProcId, WorldSpec};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How often a step that starts `after` another looks whether it returned:
/// well under the 1 ms that the time scale gives races between processes.
const AFTER_POLL_NS: u64 = 20_000;

/// Largest buffer one read() call uses.
const IO_CHUNK_MAX: u64 = 64 << 20;

/// Largest buffer a process touches before its first step: what a read to
/// EOF reads per call. Touching 64 MiB (a 100 MB write's chunk) took 66 ms
/// and started the server's first step after the client's connect; a write
/// sends in chunks of this, a bigger read gets a buffer of its own.
const IO_BUF_MAX: u64 = model::call::READ_EOF_CHUNK_BYTES;

/// What a call returned: a count (or 0, or a descriptor) or an errno name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Res {
    Ok(u64),
    Err(String),
}

impl std::fmt::Display for Res {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Res::Ok(v) => write!(f, "{v}"),
            Res::Err(e) => f.write_str(e),
        }
    }
}

/// An IPv4 endpoint as (address, port).
pub type Ep = (Ipv4Addr, u16);

/// One report from a process. Times are ns since the scenario's time 0.
/// Every system call a step makes is reported twice: before it is made (so a
/// call that never returns is known) and when it returns.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema, Deserialize)]
#[serde(tag = "k", rename_all = "kebab-case")]
pub enum Rec {
    /// A process started (top-level, or forked).
    Hello { proc: ProcId, pid: i32 },
    /// The process waits until `until` before its next step.
    Wait { proc: ProcId, step: u32, until: u64 },
    /// A step starts at `t`; it was due at `due` (its time in the script,
    /// or when what it waited for returned): a start much later than due is
    /// the host's scheduler, not the scenario.
    Start {
        proc: ProcId,
        step: u32,
        t: u64,
        due: u64,
    },
    /// A system call of the step is about to be made on descriptors `fds`:
    /// each socket's the call names, in the order it names them (a poll's
    /// too; -1: the name had none). `had_fd`: the step's socket had a descriptor when the step
    /// began (what [`Expansion::next`] asks, so the coordinator can replay
    /// the step's expansion and name the call).
    Call {
        proc: ProcId,
        step: u32,
        fds: Vec<i32>,
        had_fd: bool,
        t: u64,
    },
    /// The system call returned.
    Return {
        proc: ProcId,
        step: u32,
        t: u64,
        res: Res,
        /// The socket's (local, peer) endpoints, when known.
        conn: Option<(Ep, Ep)>,
    },
    /// A step finished (for process steps, its only report besides Start).
    /// `read`: bytes a read-until-EOF step read before it ended.
    Done {
        proc: ProcId,
        step: u32,
        t0: u64,
        t: u64,
        res: Res,
        #[serde(default)]
        read: u64,
    },
    /// The process ran out of steps (it keeps its descriptors open).
    Finished { proc: ProcId, t: u64 },
}

#[derive(Clone, Copy, Debug, Default)]
struct SlotState {
    fd: i32,
    bound: bool,
    conn: Option<(Ep, Ep)>,
}

/// What every process needs to run its steps.
pub struct Ctx<'a> {
    pub spec: &'a WorldSpec,
    pub proc_steps: Vec<Vec<u32>>,
    /// CLOCK_MONOTONIC ns of the scenario's time 0.
    pub t0: u64,
    pub scale: f64,
    /// The records pipe's write end.
    pub out_fd: i32,
    /// Each host's address.
    pub host_ip: Vec<Ipv4Addr>,
    /// When each step returned (ns since time 0, plus 1; 0: not yet), in
    /// memory shared by every process, for steps that start `after` one.
    pub done: &'a [AtomicU64],
    /// Where each step that starts `after` another is, in shared memory
    /// too: [`AFTER_WAITING`], then [`AFTER_CALLING`] once it makes its first
    /// call (0: neither yet).
    pub after: &'a [AtomicU64],
}

/// A step waits for the one it starts after to return.
const AFTER_WAITING: u64 = 1;
/// That step has reached its first system call (or its process step).
const AFTER_CALLING: u64 = 2;
/// How long (real ns) a returning step holds its process for a step that
/// starts after it, at most: far beyond a wake-up, short of a hung run.
const AFTER_HOLD_MAX_NS: u64 = 1_000_000_000;

impl Ctx<'_> {
    fn send(&self, r: &Rec) {
        let mut line = serde_json::to_vec(r).expect("records serialize");
        line.push(b'\n');
        sys::write_all(self.out_fd, &line);
    }

    fn now(&self) -> u64 {
        sys::mono_ns().saturating_sub(self.t0)
    }

    fn mark_done(&self, step: u32, t: u64) {
        self.done[step as usize].store(t + 1, Ordering::Release);
    }

    /// Step `step` has returned: the steps that start `after` it at once
    /// (and wait for it now) start before this process goes on, as in the
    /// simulator, where they start at the same instant. Without this, an
    /// `exit` right after it ended its threads before the one waiting saw it.
    fn release_after(&self, step: u32) {
        let waiting = self.spec.steps.iter().enumerate().filter(
            |(_, s)| matches!(s.at, At::Once { step: w, plus } if w == step && plus.as_ns() == 0),
        );
        let hold_until = sys::mono_ns() + AFTER_HOLD_MAX_NS;
        for (d, _) in waiting {
            let mut held = false;
            while self.after[d].load(Ordering::Acquire) == AFTER_WAITING
                && sys::mono_ns() < hold_until
            {
                held = true;
                sys::sleep_until(sys::mono_ns() + AFTER_POLL_NS);
            }
            // One more poll interval lets it enter its call (or finish a quick one).
            if held && self.done[d].load(Ordering::Acquire) == 0 {
                sys::sleep_until(sys::mono_ns() + AFTER_POLL_NS);
            }
        }
    }

    /// Step `step` has reached its first call: whoever holds for it goes on.
    fn note_calling(&self, step: u32) {
        self.after[step as usize].store(AFTER_CALLING, Ordering::Release);
    }

    /// Waits until step `step` (of any process) has returned; when it did.
    fn wait_done(&self, step: u32) -> u64 {
        loop {
            match self.done[step as usize].load(Ordering::Acquire) {
                0 => sys::sleep_until(sys::mono_ns() + AFTER_POLL_NS),
                t => return t - 1,
            }
        }
    }

    fn scaled(&self, ns: u64) -> u64 {
        (ns as f64 * self.scale).round() as u64
    }
}

/// Runs process `p` from its first step, `start` being when it started (ns
/// since time 0), and its threads (`thread_of`) as threads of this process
/// sharing its descriptors. Never returns: the process ends by `_exit`, or
/// waits to be killed once it runs out of steps.
pub fn run_proc(cx: &Ctx, p: ProcId, slots: Vec<Option<SlotStateOpaque>>, start: u64) -> ! {
    // SAFETY: getpid has no arguments.
    let pid = unsafe { libc::getpid() };
    cx.send(&Rec::Hello { proc: p, pid });
    let table = Table(Arc::new(Mutex::new(
        slots.into_iter().map(|s| s.map(|o| o.0)).collect(),
    )));
    std::thread::scope(|scope| {
        for (q, ps) in cx.spec.procs.iter().enumerate() {
            if ps.thread_of == Some(p) && !cx.proc_steps[q].is_empty() {
                let table = table.clone();
                scope.spawn(move || {
                    cx.send(&Rec::Hello {
                        proc: q as ProcId,
                        pid,
                    });
                    run_steps(cx, q as ProcId, table, start);
                });
            }
        }
        run_steps(cx, p, table, start);
        loop {
            // SAFETY: waits for a signal (the coordinator's SIGKILL).
            unsafe { libc::pause() };
        }
    })
}

/// Runs the steps of process or thread `p`; `_exit`s at an `exit` step.
fn run_steps(cx: &Ctx, p: ProcId, slots: Table, start: u64) {
    // Non-zero bytes, so every page is written (faulted in) here, not in a step.
    let io = vec![0x55u8; io_bytes(cx, p)];
    let mut w = Worker { cx, p, slots, io };
    let mut done_at = start;
    for &step in &cx.proc_steps[p as usize] {
        let s = &cx.spec.steps[step as usize];
        let at = match s.at {
            At::Next => done_at,
            At::Abs(t) => cx.scaled(t.as_ns()).max(done_at),
            At::After(d) => done_at + cx.scaled(d.as_ns()),
            At::Once { step: waited, plus } => {
                cx.after[step as usize].store(AFTER_WAITING, Ordering::Release);
                (cx.wait_done(waited) + cx.scaled(plus.as_ns())).max(done_at)
            }
        };
        if at > cx.now() {
            cx.send(&Rec::Wait {
                proc: p,
                step,
                until: at,
            });
            sys::sleep_until(cx.t0 + at);
        }
        let t0 = cx.now();
        cx.send(&Rec::Start {
            proc: p,
            step,
            t: t0,
            due: at,
        });
        let (res, read) = w.exec(step, &s.action);
        let t = cx.now();
        cx.mark_done(step, t);
        cx.release_after(step);
        cx.send(&Rec::Done {
            proc: p,
            step,
            t0,
            t,
            res,
            read,
        });
        if let Action::Exit {} = s.action {
            // SAFETY: ends this process; the kernel closes its descriptors.
            unsafe { libc::_exit(0) };
        }
        done_at = cx.now();
    }
    cx.send(&Rec::Finished {
        proc: p,
        t: cx.now(),
    });
}

/// A process's socket names, shared by its threads. The lock is held only
/// to read or change a slot, never across a system call that may block.
#[derive(Clone)]
struct Table(Arc<Mutex<Vec<Option<SlotState>>>>);

impl Table {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<SlotState>>> {
        // A thread that panicked mid-update leaves plain data: use it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn get(&self, s: u16) -> Option<SlotState> {
        self.lock()[s as usize]
    }
    fn set(&self, s: u16, v: Option<SlotState>) {
        self.lock()[s as usize] = v;
    }
    fn take(&self, s: u16) -> Option<SlotState> {
        self.lock()[s as usize].take()
    }
    fn update(&self, s: u16, f: impl FnOnce(&mut SlotState)) {
        if let Some(st) = self.lock()[s as usize].as_mut() {
            f(st);
        }
    }
    fn snapshot(&self) -> Vec<Option<SlotState>> {
        self.lock().clone()
    }
}

/// A slot's state, opaque outside this module (passed across `fork`).
#[derive(Clone, Copy, Debug)]
pub struct SlotStateOpaque(SlotState);

struct Worker<'a> {
    cx: &'a Ctx<'a>,
    p: ProcId,
    slots: Table,
    /// The buffer every read and write of this process or thread uses,
    /// allocated and touched before its first step: a fresh 1 MiB buffer per
    /// read (calloc's memset, 256 page faults) took ~750 µs inside the timed
    /// call on an idle host and far more on a host short of free pages.
    io: Vec<u8>,
}

/// The largest buffer a read or write step of `p` needs.
fn io_bytes(cx: &Ctx, p: ProcId) -> usize {
    let need = |a: &Action| match *a {
        Call::Read {
            len: ReadLen::Bytes(n),
            ..
        }
        | Call::Write { bytes: n, .. } => n,
        Call::Read { .. } => model::call::READ_EOF_CHUNK_BYTES,
        Call::Peek { len, .. } => len,
        _ => 0,
    };
    let steps = cx.proc_steps[p as usize].iter();
    let most = steps
        .map(|&i| need(&cx.spec.steps[i as usize].action))
        .max();
    most.unwrap_or(0).min(IO_BUF_MAX) as usize
}

/// The result of a system call returning -1 on error.
fn res_of(r: isize) -> Res {
    if r < 0 {
        Res::Err(sys::errno_name(sys::errno()))
    } else {
        Res::Ok(r as u64)
    }
}

mod exec;
mod io;
mod sockets;
