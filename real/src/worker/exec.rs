//! Running one step: its system calls as the expansion lays them out, each
//! reported before and after, and the process steps (fork, exit, sleep).

use super::{res_of, run_proc, Rec, Res, SlotState, SlotStateOpaque, Table, Worker};
use crate::sys;
use model::call::{Call, Expansion, Next, ReadLen};
use sim::spec::{Action, ProcId};

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

impl Worker<'_> {
    pub(super) fn fd(&self, s: u16) -> i32 {
        self.slots.get(s).map_or(-1, |x| x.fd)
    }

    /// Learns the socket's endpoints while it has a peer.
    pub(super) fn note_conn(&mut self, s: u16) {
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
    pub(super) fn exec(&mut self, step: u32, a: &Action) -> (Res, u64) {
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
            Call::Listen { sock, backlog, .. } => self.listen(sock, backlog),
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
                self.read_call(sock, max, timeout)
            }
            Call::Peek { sock, len } => self.peek_call(sock, len),
            Call::Poll { .. }
            | Call::Select { .. }
            | Call::Getsockopt { .. }
            | Call::RcvTimeo { .. }
            | Call::SndTimeo { .. } => self.query_call(c),
            Call::Shutdown { sock, how } => self.shutdown(sock, how),
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
}
