//! The scenario's processes as real processes: each runs its steps with real
//! socket calls at their (scaled) times and reports every step's result to the
//! coordinator as one JSON line on a shared pipe (each line is written with a
//! single `write` well under PIPE_BUF, so lines from processes never mix).
//! `fork` steps are real `fork()`s: the child runs its own steps with copies
//! of every descriptor; `exit` is `_exit()`, so the kernel closes what is open.

use super::sys;
use model::call::{Call, Expansion, Next, ReadLen, SockOpt};
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

/// Collects the descriptor of each socket a call names, in the order the
/// call's one declaration lists them (the order the trace renames it in).
struct FdsOf<'t> {
    table: &'t Table,
    fds: Vec<i32>,
}

impl model::call::Rename<sim::spec::Slots, model::call::Fds> for FdsOf<'_> {
    fn sock(&mut self, s: &u16) -> model::Fd {
        let fd = self.table.get(*s).map_or(-1, |x| x.fd);
        self.fds.push(fd);
        fd as model::Fd
    }
    fn new_sock(&mut self, _: &u16) {}
    fn host(&mut self, h: &u16) -> u16 {
        *h
    }
    fn proc(&mut self, p: &ProcId) -> model::Pid {
        *p as model::Pid
    }
}

/// The result of a system call returning -1 on error.
fn res_of(r: isize) -> Res {
    if r < 0 {
        Res::Err(sys::errno_name(sys::errno()))
    } else {
        Res::Ok(r as u64)
    }
}

impl Worker<'_> {
    fn host_ip(&self) -> Ipv4Addr {
        let h = self.cx.spec.procs[self.p as usize].host;
        self.cx.host_ip[h as usize]
    }

    fn fd(&self, s: u16) -> i32 {
        self.slots.get(s).map_or(-1, |x| x.fd)
    }

    /// Learns the socket's endpoints while it has a peer.
    fn note_conn(&mut self, s: u16) {
        if let Some(st) = self.slots.get(s) {
            if let (Some(l), Some(r)) = (sys::sock_name(st.fd, false), sys::sock_name(st.fd, true))
            {
                self.slots.update(s, |st| st.conn = Some((l, r)));
            }
        }
    }

    /// Runs one step: its system calls as [`Expansion`] lays them out (the
    /// same expansion the simulator follows), or a process step. Each system
    /// call is reported before and after it is made. With the step's result,
    /// the bytes a read-until-EOF step read.
    fn exec(&mut self, step: u32, a: &Action) -> (Res, u64) {
        let mut x = Expansion::default();
        let had_fd = a.sock().is_some_and(|s| self.slots.get(*s).is_some());
        loop {
            let named = match x.next(a, |s| self.slots.get(*s).is_some()) {
                Next::Sys(named) => named,
                Next::Process => {
                    self.cx.note_calling(step);
                    return (self.process_step(a), 0);
                }
            };
            let mut fds = FdsOf {
                table: &self.slots,
                fds: Vec::new(),
            };
            named.rename(&mut fds);
            let p = self.p;
            self.cx.send(&Rec::Call {
                proc: p,
                step,
                fds: fds.fds,
                had_fd,
                t: self.cx.now(),
            });
            self.cx.note_calling(step);
            // Another thread may close the descriptor while the call blocks:
            // a read that then returns is still the connection's.
            let before = named.sock().and_then(|k| self.slots.get(*k));
            let (r, closed) = self.sys_call(&named);
            let t = self.cx.now();
            // The endpoints of the socket the call made or worked on (kept
            // from before, for a close).
            let slot = named.gives().or(named.sock()).copied();
            let st = closed
                .or_else(|| slot.and_then(|k| self.slots.get(k)))
                .or(before);
            self.cx.send(&Rec::Return {
                proc: p,
                step,
                t,
                res: r.clone(),
                conn: st.and_then(|s| s.conn),
            });
            let as_result = match &r {
                Res::Ok(v) => Ok(*v),
                // The expansion only asks whether it failed; the name stays in `r`.
                Res::Err(_) => Err(model::Errno::EINVAL),
            };
            if let Some(done) = x.absorb(a, &named, as_result) {
                let res = match (done, r) {
                    (Ok(v), _) => Res::Ok(v),
                    (Err(_), r) => r,
                };
                return (res, x.read_total());
            }
        }
    }

    /// One system call on the kernel; with the state of a slot it closed.
    fn sys_call(&mut self, c: &Action) -> (Res, Option<SlotState>) {
        if let Call::Close { sock } = *c {
            self.note_conn(sock);
            let fd = self.fd(sock);
            // SAFETY: closing the scenario's descriptor (-1 gives EBADF).
            let r = res_of(unsafe { libc::close(fd) } as isize);
            // The slot is emptied either way, as in the simulator.
            return (r, self.slots.take(sock));
        }
        let r = match *c {
            Call::Socket { new } => self.socket(new),
            Call::Bind { sock, port } => self.bind(sock, port),
            Call::Listen { sock, backlog, .. } => {
                // SAFETY: listen has no memory arguments.
                res_of(unsafe { libc::listen(self.fd(sock), backlog as i32) } as isize)
            }
            Call::Accept { sock, new } => self.accept(sock, new),
            Call::Connect { sock, to } => self.connect(sock, to.host, to.port),
            Call::Write {
                sock,
                bytes,
                more,
                timeout,
            } => self.write_call(sock, bytes, more, timeout),
            Call::Read { sock, len, timeout } => {
                let ReadLen::Bytes(max) = len else {
                    unreachable!("read to EOF is expanded")
                };
                self.note_conn(sock);
                let wait = timeout.map(|d| self.cx.scaled(d.as_ns()));
                self.read(self.fd(sock), max, wait)
            }
            Call::Peek { sock, len } => {
                self.note_conn(sock);
                self.recv(self.fd(sock), len, None, libc::MSG_PEEK)
            }
            Call::Poll { .. }
            | Call::Select { .. }
            | Call::Getsockopt { .. }
            | Call::RcvTimeo { .. }
            | Call::SndTimeo { .. } => self.query_call(c),
            Call::Shutdown { sock, how } => {
                let h = match how {
                    model::How::Rd => libc::SHUT_RD,
                    model::How::Wr => libc::SHUT_WR,
                    model::How::RdWr => libc::SHUT_RDWR,
                };
                self.note_conn(sock);
                // SAFETY: shutdown has no memory arguments.
                res_of(unsafe { libc::shutdown(self.fd(sock), h) } as isize)
            }
            Call::Linger { .. }
            | Call::Nonblocking { .. }
            | Call::Keepalive { .. }
            | Call::ReuseAddr { .. }
            | Call::NoDelay { .. }
            | Call::Cork { .. }
            | Call::RcvBuf { .. }
            | Call::SndBuf { .. } => self.option_call(c),
            Call::Dup { sock, new } => self.dup(sock, new),
            Call::Close { .. } => unreachable!("handled above"),
            Call::Fork { .. }
            | Call::Exit {}
            | Call::Sleep { .. }
            | Call::Inject { .. }
            | Call::Sockets { .. }
            | Call::Tcpdrop { .. } => {
                unreachable!("process steps are not system calls")
            }
        };
        (r, None)
    }

    /// setsockopt() and fcntl() calls that set one option and return at once.
    fn option_call(&mut self, c: &Action) -> Res {
        let bool_opt = |fd, name, on: bool| {
            res_of(sys::set_int_opt(fd, libc::SOL_SOCKET, name, i32::from(on)) as isize)
        };
        let tcp_opt = |fd, name, on: bool| {
            res_of(sys::set_int_opt(fd, libc::IPPROTO_TCP, name, i32::from(on)) as isize)
        };
        match *c {
            Call::Linger { sock, linger } => self.linger(self.fd(sock), linger),
            Call::Nonblocking { sock, on } => nonblocking(self.fd(sock), on),
            Call::Keepalive { sock, on } => bool_opt(self.fd(sock), libc::SO_KEEPALIVE, on),
            Call::ReuseAddr { sock, on } => bool_opt(self.fd(sock), libc::SO_REUSEADDR, on),
            Call::NoDelay { sock, on } => tcp_opt(self.fd(sock), libc::TCP_NODELAY, on),
            Call::Cork { sock, on } => tcp_opt(self.fd(sock), libc::TCP_CORK, on),
            Call::RcvBuf { sock, bytes } => self.buf_opt(sock, libc::SO_RCVBUF, bytes),
            Call::SndBuf { sock, bytes } => self.buf_opt(sock, libc::SO_SNDBUF, bytes),
            _ => unreachable!("not an option call"),
        }
    }

    fn dup(&mut self, sock: u16, new: u16) -> Res {
        // SAFETY: dup has no memory arguments.
        let r = unsafe { libc::dup(self.fd(sock)) };
        if r >= 0 {
            let mut st = self.slots.get(sock).unwrap_or_default();
            st.fd = r;
            self.slots.set(new, Some(st));
        }
        res_of(r as isize)
    }

    /// poll(), getsockopt()/ioctl() and the timeout options.
    fn query_call(&mut self, c: &Action) -> Res {
        match *c {
            Call::Poll {
                sock,
                also,
                events,
                timeout,
            } => {
                let socks: Vec<u16> = std::iter::once(sock).chain(also.iter().copied()).collect();
                socks.iter().for_each(|s| self.note_conn(*s));
                let fds: Vec<i32> = socks.iter().map(|s| self.fd(*s)).collect();
                let wait = timeout.map(|d| self.cx.scaled(d.as_ns()));
                // Each socket's revents in its lane, as the model packs them.
                let lane = |(i, r): (usize, &i16)| {
                    u64::from(*r as u16) << (model::call::poll_bits::LANE_BITS as usize * i)
                };
                match sys::poll_fds(&fds, events as i16, wait) {
                    Ok(revents) => Res::Ok(revents.iter().enumerate().map(lane).sum()),
                    Err(e) => Res::Err(sys::errno_name(e)),
                }
            }
            Call::Select {
                sock,
                also,
                sets,
                timeout,
            } => self.select(sock, also, sets, timeout),
            Call::Getsockopt { sock, opt } => {
                self.note_conn(sock);
                getsockopt(self.fd(sock), opt)
            }
            Call::RcvTimeo { sock, ns } => {
                let ns = self.cx.scaled(ns.as_ns());
                res_of(sys::set_timeval_opt(self.fd(sock), libc::SO_RCVTIMEO, ns) as isize)
            }
            Call::SndTimeo { sock, ns } => {
                let ns = self.cx.scaled(ns.as_ns());
                res_of(sys::set_timeval_opt(self.fd(sock), libc::SO_SNDTIMEO, ns) as isize)
            }
            _ => unreachable!("not a query or timeout call"),
        }
    }

    /// select() (pselect6) over the step's sockets: each one's sets in its
    /// lane, as the model packs them.
    fn select(
        &mut self,
        sock: u16,
        also: model::call::PollAlso<sim::spec::Slots>,
        sets: u32,
        timeout: Option<model::Duration>,
    ) -> Res {
        use model::call::select_sets::{EXCEPTFDS, NAMES, READFDS, WRITEFDS};
        let socks: Vec<u16> = std::iter::once(sock).chain(also.iter().copied()).collect();
        socks.iter().for_each(|s| self.note_conn(*s));
        let fds: Vec<i32> = socks.iter().map(|s| self.fd(*s)).collect();
        let wait = timeout.map(|d| self.cx.scaled(d.as_ns()));
        let asked = [READFDS, WRITEFDS, EXCEPTFDS].map(|b| sets & b != 0);
        let lane = |(i, inset): (usize, &[bool; 3])| {
            let bits = NAMES.iter().zip(inset).filter(|(_, on)| **on);
            let v = bits.fold(0u64, |acc, ((b, _), _)| acc | u64::from(*b));
            v << (model::call::poll_bits::LANE_BITS as usize * i)
        };
        match sys::select_fds(&fds, asked, wait) {
            Ok(each) => Res::Ok(each.iter().enumerate().map(lane).sum()),
            Err(e) => Res::Err(sys::errno_name(e)),
        }
    }

    /// fork, exit and sleep.
    fn process_step(&mut self, a: &Action) -> Res {
        match *a {
            Call::Fork { child } => {
                // SAFETY: this process is single-threaded; the child only runs its steps.
                let r = unsafe { libc::fork() };
                if r == 0 {
                    let start = self.cx.now();
                    let slots = self.slots.snapshot();
                    let slots = slots.into_iter().map(|s| s.map(SlotStateOpaque)).collect();
                    run_proc(self.cx, child, slots, start);
                }
                res_of(r as isize)
            }
            Call::Exit {} => Res::Ok(0),
            Call::Sleep { ns } => {
                sys::sleep_until(sys::mono_ns() + self.cx.scaled(ns.as_ns()));
                Res::Ok(0)
            }
            _ => unreachable!("a socket call"),
        }
    }

    fn accept(&mut self, listener: u16, new: u16) -> Res {
        let lfd = self.fd(listener);
        // SAFETY: null address arguments are allowed.
        let r = unsafe { libc::accept(lfd, std::ptr::null_mut(), std::ptr::null_mut()) };
        if r >= 0 {
            self.slots.set(
                new,
                Some(SlotState {
                    fd: r,
                    bound: true,
                    ..SlotState::default()
                }),
            );
            self.note_conn(new);
        }
        res_of(r as isize)
    }

    fn connect(&mut self, sock: u16, host: u16, port: u16) -> Res {
        let fd = self.fd(sock);
        if self.slots.get(sock).is_some_and(|st| !st.bound) {
            // Bind to this host's own address so the two ends differ;
            // the port is still chosen at connect() time.
            sys::set_int_opt(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1);
            let _ = self.bind(sock, 0);
        }
        let ip = self
            .cx
            .host_ip
            .get(host as usize)
            .copied()
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let sa = sys::sockaddr(ip, port);
        // SAFETY: a valid sockaddr_in and its size.
        let r = unsafe {
            libc::connect(
                fd,
                &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        // errno first: learning the endpoints makes calls of its own.
        let r = res_of(r as isize);
        self.note_conn(sock);
        r
    }

    /// One recv() of at most `max` bytes (EINTR retried); with a step's
    /// timeout, a poll() for data first, which running out is EAGAIN, and a
    /// non-blocking recv() after it: another reader of the socket (a thread)
    /// may take the data between the two, and a blocking recv() would then
    /// wait past the timeout, for ever if nothing more comes.
    fn read(&mut self, fd: i32, max: u64, wait_ns: Option<u64>) -> Res {
        self.recv(fd, max, wait_ns, 0)
    }

    /// recv() with `flags` (MSG_PEEK for a peek step), after an optional wait.
    fn recv(&mut self, fd: i32, max: u64, wait_ns: Option<u64>, flags: i32) -> Res {
        let len = max.min(IO_CHUNK_MAX) as usize;
        let mut own = Vec::new();
        let buf = if len <= self.io.len() {
            &mut self.io[..len]
        } else {
            own.resize(len, 0u8);
            &mut own[..]
        };
        recv_within(fd, buf, flags, wait_ns)
    }

    fn linger(&mut self, fd: i32, linger: Option<u32>) -> Res {
        let l = libc::linger {
            l_onoff: linger.is_some() as i32,
            l_linger: linger.unwrap_or(0) as i32,
        };
        // SAFETY: a pointer to a live linger struct and its size.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &l as *const libc::linger as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        res_of(r as isize)
    }

    fn buf_opt(&mut self, sock: u16, opt: i32, bytes: u32) -> Res {
        let v = bytes.min(i32::MAX as u32) as i32;
        res_of(sys::set_int_opt(self.fd(sock), libc::SOL_SOCKET, opt, v) as isize)
    }

    fn socket(&mut self, sock: u16) -> Res {
        // SAFETY: socket has no memory arguments.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        if fd >= 0 {
            // The congestion control the model follows (plan::CONGESTION_CONTROL).
            // A failure shows as this socket() failing, not as a silent
            // difference in timing.
            if let Err(e) = sys::set_congestion(fd, crate::plan::CONGESTION_CONTROL) {
                // SAFETY: closing the descriptor just created.
                unsafe { libc::close(fd) };
                return Res::Err(sys::errno_name(e.raw_os_error().unwrap_or(libc::EPERM)));
            }
            self.slots.set(
                sock,
                Some(SlotState {
                    fd,
                    ..SlotState::default()
                }),
            );
        }
        res_of(fd as isize)
    }

    /// bind() to this host's address, without SO_REUSEADDR (the scenario
    /// language has no such option, and the model's bind conflicts with every
    /// socket holding the port, TIME-WAIT included, as Linux's does without it).
    fn bind(&mut self, sock: u16, port: u16) -> Res {
        let fd = self.fd(sock);
        let sa = sys::sockaddr(self.host_ip(), port);
        // SAFETY: a valid sockaddr_in and its size.
        let r = unsafe {
            libc::bind(
                fd,
                &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r == 0 {
            self.slots.update(sock, |st| st.bound = true);
        }
        res_of(r as isize)
    }

    /// A write() of `bytes`: send() calls of up to IO_BUF_MAX each.
    /// With a step's timeout, each send waits for room by poll() (what is
    /// left of the wait) and does not block; running out returns the count
    /// so far, or EAGAIN, as a send with SO_SNDTIMEO does.
    /// A write step's send() calls: MSG_MORE with `more`, a scaled timeout.
    fn write_call(
        &mut self,
        sock: u16,
        bytes: u64,
        more: bool,
        timeout: Option<model::Duration>,
    ) -> Res {
        self.note_conn(sock);
        let wait = timeout.map(|d| self.cx.scaled(d.as_ns()));
        let more = if more { libc::MSG_MORE } else { 0 };
        self.write(self.fd(sock), bytes, wait, more)
    }

    /// send() until `bytes` are written; `more_flag` is MSG_MORE or 0.
    fn write(&mut self, fd: i32, bytes: u64, wait_ns: Option<u64>, more_flag: i32) -> Res {
        let buf = &self.io[..(bytes.min(IO_BUF_MAX) as usize).min(self.io.len())];
        let mut total = 0u64;
        let end = step_wait(fd, wait_ns).map(|n| sys::mono_ns() + n);
        loop {
            let k = (bytes - total).min(buf.len() as u64) as usize;
            let mut flags = libc::MSG_NOSIGNAL | more_flag;
            if let Some(end) = end {
                let left = end.saturating_sub(sys::mono_ns());
                match sys::poll_one(fd, libc::POLLOUT, Some(left)) {
                    Ok(0) if total > 0 => return Res::Ok(total),
                    Ok(0) => return Res::Err("EAGAIN".into()),
                    _ => flags |= libc::MSG_DONTWAIT,
                }
            }
            // SAFETY: the buffer is valid for k ≤ its length.
            let n = unsafe { libc::send(fd, buf.as_ptr() as *const libc::c_void, k, flags) };
            if n < 0 {
                let e = sys::errno();
                if e == libc::EINTR || (end.is_some() && e == libc::EAGAIN) {
                    continue;
                }
                return if total > 0 {
                    Res::Ok(total)
                } else {
                    Res::Err(sys::errno_name(e))
                };
            }
            total += n as u64;
            if total >= bytes || (n as usize) < k {
                return Res::Ok(total);
            }
        }
    }
}

/// recv() into `buf` (EINTR retried); with `wait_ns`, a poll() for data
/// first, which running out is EAGAIN, then a non-blocking recv(), polling
/// again when another reader took the data in between (see `Worker::recv`).
fn recv_within(fd: i32, buf: &mut [u8], flags: i32, wait_ns: Option<u64>) -> Res {
    let end = step_wait(fd, wait_ns).map(|n| sys::mono_ns() + n);
    loop {
        let mut flags = flags;
        if let Some(end) = end {
            let left = end.saturating_sub(sys::mono_ns());
            match sys::poll_one(fd, libc::POLLIN, Some(left)) {
                Ok(0) => return Res::Err("EAGAIN".into()),
                Ok(_) => flags |= libc::MSG_DONTWAIT,
                Err(e) => return Res::Err(sys::errno_name(e)),
            }
        }
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), flags) };
        let again = end.is_some() && sys::errno() == libc::EAGAIN;
        if n < 0 && (sys::errno() == libc::EINTR || again) {
            continue;
        }
        return res_of(n);
    }
}

/// getsockopt()/ioctl() of one option: SO_ERROR's pending error as the
/// result (as the model gives it), the others as numbers.
fn getsockopt(fd: i32, opt: SockOpt) -> Res {
    // include/uapi/linux/sockios.h: SIOCINQ = FIONREAD, SIOCOUTQ = TIOCOUTQ,
    // SIOCOUTQNSD = 0x894B.
    const SIOCOUTQNSD: libc::c_ulong = 0x894B;
    let v = match opt {
        SockOpt::SoError => match sys::get_opt::<i32>(fd, libc::SOL_SOCKET, libc::SO_ERROR) {
            Ok(0) => Ok(0),
            Ok(e) => return Res::Err(sys::errno_name(e)),
            Err(e) => Err(e),
        },
        SockOpt::LingerOnOff | SockOpt::LingerTime => {
            sys::get_opt::<libc::linger>(fd, libc::SOL_SOCKET, libc::SO_LINGER).map(|l| match opt {
                SockOpt::LingerOnOff => l.l_onoff,
                _ => l.l_linger,
            })
        }
        SockOpt::Linger2 => sys::get_opt::<i32>(fd, libc::IPPROTO_TCP, libc::TCP_LINGER2),
        SockOpt::InQ => sys::ioctl_int(fd, libc::FIONREAD as libc::c_ulong),
        SockOpt::OutQ => sys::ioctl_int(fd, libc::TIOCOUTQ as libc::c_ulong),
        SockOpt::OutQNsd => sys::ioctl_int(fd, SIOCOUTQNSD),
        SockOpt::RcvBuf => sys::get_opt::<i32>(fd, libc::SOL_SOCKET, libc::SO_RCVBUF),
        SockOpt::SndBuf => sys::get_opt::<i32>(fd, libc::SOL_SOCKET, libc::SO_SNDBUF),
        SockOpt::TcpState => sys::get_opt::<libc::tcp_info>(fd, libc::IPPROTO_TCP, libc::TCP_INFO)
            .map(|i| linux_state(i.tcpi_state).map_or(-1, |s| s.code() as i32)),
    };
    match v {
        Ok(n) => Res::Ok(n.max(0) as u64),
        Err(e) => Res::Err(sys::errno_name(e)),
    }
}

/// A Linux `tcpi_state` (include/net/tcp_states.h: TCP_ESTABLISHED = 1 …
/// TCP_CLOSING = 11) as the model's state.
fn linux_state(n: u8) -> Option<model::State> {
    use model::State::*;
    const BY_NUMBER: [model::State; 11] = [
        Established,
        SynSent,
        SynReceived,
        FinWait1,
        FinWait2,
        TimeWait,
        Closed,
        CloseWait,
        LastAck,
        Listen,
        Closing,
    ];
    BY_NUMBER.get(usize::from(n).checked_sub(1)?).copied()
}

/// O_NONBLOCK on or off.
/// A step's `timeout=` as the wait before its call: none on a non-blocking
/// descriptor, whose call returns at once as in the simulator (the timeout
/// bounds a wait that O_NONBLOCK rules out).
fn step_wait(fd: i32, wait_ns: Option<u64>) -> Option<u64> {
    // SAFETY: fcntl F_GETFL on the scenario's descriptor.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    wait_ns.filter(|_| fl < 0 || fl & libc::O_NONBLOCK == 0)
}

fn nonblocking(fd: i32, on: bool) -> Res {
    // SAFETY: fcntl on the scenario's descriptor.
    let r = unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 {
            fl
        } else if on {
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK)
        } else {
            libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK)
        }
    };
    res_of(r as isize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read with a timeout returns by its timeout even when another reader
    /// of the socket, blocked first, takes the data that woke its poll
    /// (fuzz seed 1000 case 21 hung here: poll, then a blocking recv).
    #[test]
    fn a_read_with_a_timeout_returns_when_another_reader_takes_the_data() {
        let mut fds = [0i32; 2];
        // SAFETY: a two-int array for socketpair.
        let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
        assert_eq!(r, 0);
        let (a, b) = (fds[0], fds[1]);
        let other = std::thread::spawn(move || recv_within(a, &mut [0u8; 8], 0, None));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(recv_within(a, &mut [0u8; 8], 0, Some(100_000_000)));
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        sys::write_all(b, b"x");
        let timed = rx
            .recv_timeout(std::time::Duration::from_secs(2))
            .expect("the read with a timeout returned");
        // Whoever took the byte, the other one gets the next.
        sys::write_all(b, b"y");
        let first = other.join().expect("the blocked reader returned");
        assert!(
            matches!((&timed, &first), (Res::Ok(1), Res::Ok(1)))
                || matches!((&timed, &first), (Res::Err(e), Res::Ok(1)) if e == "EAGAIN"),
            "{timed:?} {first:?}"
        );
        sys::close(a);
        sys::close(b);
    }
}
