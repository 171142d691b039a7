//! The descriptor side of teardown: close() of the last descriptor (FIN, RST
//! or a linger wait), a listener's close, fork() and process exit. The calls
//! themselves are dispatched from `api.rs`; this is what they do to sockets.

use crate::api::queue_fin;
use crate::blocking::{Blocked, Step};
use crate::call::Call;
use crate::errno::Errno;
use crate::event::{DiscardCause, Event, Output, Pid, RstCause};
use crate::host::{Fd, Host, FD_FIRST};
use crate::personality::{
    CloseUnread, CloseWhileBlocked, ExitMode, LingerExpiry, LingerUnit, NonblockingLinger,
};
use crate::socket::{Ctx, Listener, SockId};
use crate::state::{Rule, State};
use crate::{Duration, Instant};
use std::sync::Arc;

impl Host {
    /// close(fd): releases the descriptor; the last one closes the connection.
    pub(crate) fn close(
        &mut self,
        now: Instant,
        pid: Pid,
        fd: Fd,
        sid: SockId,
        exiting: bool,
        out: &mut Output,
    ) -> Step {
        let p = Arc::clone(&self.personality);
        let k = &p.knobs;
        let s = self.sock(sid);
        let lingering = s.linger.is_some_and(|l| l > 0) && !(exiting && k.exit_skips_linger.value);
        let unacked = s.snd_queued() > 0 || (s.state.synchronized() && !s.state.fin_queued());
        if s.refs == 1
            && !exiting
            && lingering
            && s.nonblocking
            && unacked
            && k.nonblocking_linger_close.value == NonblockingLinger::WouldBlock
            && s.tcb.unread == 0
        {
            // closesocket: WSAEWOULDBLOCK, the socket stays open, no disconnect starts.
            // (Not at exit: an exiting process loses its descriptors whatever.)
            return Step::Done(Err(Errno::EAGAIN));
        }
        let i = (fd - FD_FIRST) as usize;
        let t = self.table(pid);
        self.procs[t].fds[i] = None;
        let s = self.sock_mut(sid);
        s.refs -= 1;
        if s.refs > 0 {
            return Step::Done(Ok(0)); // other descriptors keep the socket open
        }
        if self.held_by_call(sid) {
            match k.close_while_blocked.value {
                CloseWhileBlocked::Holds => {
                    // The blocked call's own reference keeps the file open.
                    let s = self.sock_mut(sid);
                    s.close_deferred = true;
                    s.closed_by = Some(pid);
                    return Step::Done(Ok(0));
                }
                CloseWhileBlocked::DrainEbadf | CloseWhileBlocked::CancelEintr => {
                    self.cancel_blocked(sid, out)
                }
            }
        }
        self.close_last(now, pid, sid, lingering, out)
    }

    /// Whether some thread is blocked in a call on `sid` other than a close()
    /// (whose linger wait has let its descriptor go already).
    fn held_by_call(&self, sid: SockId) -> bool {
        self.procs.iter().any(|p| {
            p.blocked
                .as_ref()
                .is_some_and(|b| b.holds(sid) && !matches!(b.call, Call::Close { .. }))
        })
    }

    /// `close_while_blocked` drain or cancel: every call blocked on `sid`
    /// returns now (a write that moved data, its count).
    fn cancel_blocked(&mut self, sid: SockId, out: &mut Output) {
        let mode = self.personality.knobs.close_while_blocked.value;
        for q in 0..self.procs.len() {
            let Some(b) = self.procs[q].blocked.clone() else {
                continue;
            };
            let result = match (mode, b.call) {
                (_, Call::Close { .. }) => continue,
                _ if !b.holds(sid) => continue,
                (_, Call::Write { .. }) if b.done > 0 => Ok(b.done),
                (CloseWhileBlocked::DrainEbadf, Call::Poll { .. } | Call::Select { .. }) => {
                    continue
                }
                (CloseWhileBlocked::DrainEbadf, Call::Accept { .. } | Call::Connect { .. }) => {
                    Err(Errno::ECONNABORTED)
                }
                (CloseWhileBlocked::DrainEbadf, _) => Err(Errno::EBADF),
                _ => Err(Errno::EINTR),
            };
            self.procs[q].blocked = None;
            out.events.push(Event::CallDone {
                pid: q as Pid,
                result,
            });
        }
    }

    /// A blocked call on `sid` returned: if it was the last thing holding a
    /// socket whose last descriptor was closed meanwhile, the close happens
    /// now (without a linger wait: the closing thread returned long ago).
    pub(crate) fn release_held(&mut self, now: Instant, sid: SockId, out: &mut Output) {
        let deferred = self.socks.get(sid as usize).and_then(Option::as_ref);
        let Some(s) = deferred.filter(|s| s.close_deferred && s.refs == 0) else {
            return;
        };
        let closer = s.closed_by.unwrap_or(0);
        if self.held_by_call(sid) {
            return;
        }
        self.sock_mut(sid).close_deferred = false;
        if let Step::Block { .. } = self.close_last(now, closer, sid, false, out) {
            unreachable!("a close without linger does not wait");
        }
    }

    /// What close() of the last descriptor does to the connection: FIN, RST
    /// or a linger wait (`lingering`).
    fn close_last(
        &mut self,
        now: Instant,
        pid: Pid,
        sid: SockId,
        lingering: bool,
        out: &mut Output,
    ) -> Step {
        let p = Arc::clone(&self.personality);
        let k = &p.knobs;
        let s = self.sock_mut(sid);
        s.closed = true;
        s.closed_by = Some(pid);
        if s.state == State::Listen {
            self.close_listener(now, sid, out);
            self.maybe_free(sid);
            return Step::Done(Ok(0));
        }
        let action = close_action(s, k);
        let mut ctx = Ctx { p: k, now, out };
        s.purge_receive_queue(&mut ctx, DiscardCause::CloseUnread);
        match action {
            CloseAction::Nothing => {}
            CloseAction::Abort(cause) => s.abort(&mut ctx, cause),
            CloseAction::Fin => {
                queue_fin(s, &mut ctx);
                s.arm_fin_wait_2(&mut ctx);
                let waits = lingering
                    && matches!(s.state, State::FinWait1 | State::Closing | State::LastAck);
                let nb_returns =
                    s.nonblocking && k.nonblocking_linger_close.value != NonblockingLinger::Block;
                if waits && !nb_returns {
                    let l = s.linger.unwrap_or(0) as u64;
                    let wait = match k.linger_unit.value {
                        LingerUnit::Seconds => Duration::from_secs(l),
                        LingerUnit::Ticks => Duration::from_ms(l) * 10,
                    };
                    return Step::Block {
                        done: 0,
                        deadline: Some(now + wait),
                    };
                }
            }
        }
        self.finish_close(now, sid, out);
        Step::Done(Ok(0))
    }

    /// The linger wait of a blocked close(): over when our FIN is acknowledged,
    /// the connection is gone, or the deadline passes.
    pub(crate) fn linger_wait(&mut self, now: Instant, sid: SockId, out: &mut Output) -> Step {
        let deadline = self.linger_deadline(sid);
        if self.linger_waits(now, sid) {
            return Step::Block { done: 0, deadline };
        }
        let p = Arc::clone(&self.personality);
        let s = self.sock_mut(sid);
        if !matches!(s.state, State::FinWait1 | State::Closing | State::LastAck) {
            return Step::Done(Ok(0));
        }
        if deadline.is_some_and(|d| now >= d) {
            let s = self.sock_mut(sid);
            let mut ctx = Ctx {
                p: &p.knobs,
                now,
                out,
            };
            out_timer(s, &mut ctx);
            if p.knobs.linger_expiry.value == LingerExpiry::Rst {
                s.abort(&mut ctx, RstCause::LingerTimeout);
            }
            return Step::Done(Ok(0));
        }
        Step::Block { done: 0, deadline }
    }

    /// After the last close(): the socket is an orphan; free it if it is over.
    pub(crate) fn finish_close(&mut self, now: Instant, sid: SockId, out: &mut Output) {
        let p = Arc::clone(&self.personality);
        if let Some(s) = self.socks[sid as usize].as_mut() {
            let mut ctx = Ctx {
                p: &p.knobs,
                now,
                out,
            };
            s.arm_fin_wait_2(&mut ctx);
        }
        self.maybe_free(sid);
    }

    /// Closes a listener: queued connections are reset, half-open ones dropped.
    pub(crate) fn close_listener(&mut self, now: Instant, lid: SockId, out: &mut Output) {
        let p = Arc::clone(&self.personality);
        let mut ctx = Ctx {
            p: &p.knobs,
            now,
            out,
        };
        let l = self.sock_mut(lid).listener.take().expect("listener");
        for &c in &l.accept_q {
            let s = self.sock_mut(c);
            s.parent = None;
            s.closed = true;
            s.purge_receive_queue(&mut ctx, DiscardCause::CloseUnread);
            // A child the peer reset while it waited is cut off already: its
            // unread data goes, but there is nothing left to abort.
            if s.state != State::Closed {
                s.abort(&mut ctx, RstCause::ListenerClosed);
            }
        }
        for &c in &l.embryonic {
            let s = self.sock_mut(c);
            s.parent = None;
            s.closed = true;
            s.set_state(&mut ctx, State::Closed, Rule::DropSilently);
        }
        for &c in l.accept_q.iter().chain(&l.embryonic) {
            self.maybe_free(c);
        }
        let s = self.sock_mut(lid);
        s.set_state(&mut ctx, State::Closed, Rule::AppCloseNoConnection);
        s.listener = Some(Box::new(Listener {
            backlog: l.backlog,
            ..Listener::default()
        }));
    }

    /// fork(): a new process with a copy of the descriptor table.
    pub fn fork(&mut self, parent: Pid) -> Pid {
        let fds = self.procs[self.table(parent)].fds.clone();
        for sid in fds.iter().flatten() {
            self.sock_mut(*sid).refs += 1;
        }
        self.procs.push(crate::host::Process {
            fds,
            ..crate::host::Process::default()
        });
        (self.procs.len() - 1) as Pid
    }

    /// Process exit: every descriptor is closed (or reset, per the personality).
    pub fn exit(&mut self, now: Instant, pid: Pid, out: &mut Output) {
        // The process's threads end with it, whatever they were blocked in.
        self.procs[pid as usize].blocked = None;
        for q in self.threads_of(pid) {
            self.procs[q as usize].blocked = None;
            self.procs[q as usize].exited = true;
        }
        // A close another thread's blocked call held off (`close_while_blocked
        // = holds`) happens now: the call, and the reference it held, are gone.
        let held: Vec<SockId> = self
            .sockets()
            .filter(|(_, s)| s.close_deferred && s.refs == 0)
            .map(|(i, _)| i)
            .collect();
        for sid in held {
            self.release_held(now, sid, out);
        }
        let fds: Vec<(Fd, SockId)> = self.procs[pid as usize]
            .fds
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i as Fd + FD_FIRST, s)))
            .collect();
        for (fd, sid) in fds {
            self.close_at_exit(now, pid, fd, sid, out);
        }
        if self.personality.knobs.exit_drops_closed_pending.value {
            self.drop_closed_pending(now, pid, out);
        }
        self.procs[pid as usize].exited = true;
        self.wake_blocked(now, out);
    }

    /// One descriptor of an exiting process: reset first where the stack
    /// resets what a process leaves open (`process_exit`), then closed.
    fn close_at_exit(&mut self, now: Instant, pid: Pid, fd: Fd, sid: SockId, out: &mut Output) {
        let p = Arc::clone(&self.personality);
        let k = &p.knobs;
        let last = self.sock(sid).refs == 1;
        if last
            && k.process_exit.value == ExitMode::ResetOpen
            && self.sock(sid).state != State::Listen
        {
            let mut ctx = Ctx { p: k, now, out };
            let s = self.sock_mut(sid);
            s.purge_receive_queue(&mut ctx, DiscardCause::CloseUnread);
            if s.state != State::Closed {
                s.abort(&mut ctx, RstCause::ProcessExit);
            }
        }
        // A linger wait at exit (`exit_skips_linger` off) holds the exiting
        // process in that close() until it is over; the model holds one
        // such wait per process, and later lingering sockets close at once.
        if let Step::Block { deadline, .. } = self.close(now, pid, fd, sid, true, out) {
            let proc = &mut self.procs[pid as usize];
            if proc.blocked.is_none() {
                proc.blocked = Some(Blocked {
                    call: Call::Close { sock: fd },
                    sock: sid,
                    done: 0,
                    deadline,
                    polled: Default::default(),
                });
            } else {
                self.finish_close(now, sid, out);
            }
        }
    }

    /// `exit_drops_closed_pending`: the connections this process already
    /// closed that still have unsent data are reset at its exit.
    fn drop_closed_pending(&mut self, now: Instant, pid: Pid, out: &mut Output) {
        let p = Arc::clone(&self.personality);
        let orphans: Vec<SockId> = self
            .sockets()
            .filter(|(_, s)| {
                s.closed_by == Some(pid) && s.snd_queued() > 0 && s.state != State::Closed
            })
            .map(|(i, _)| i)
            .collect();
        for sid in orphans {
            let mut ctx = Ctx {
                p: &p.knobs,
                now,
                out,
            };
            self.sock_mut(sid).abort(&mut ctx, RstCause::ProcessExit);
            self.maybe_free(sid);
        }
    }
}

/// What close() of the last descriptor does to the connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CloseAction {
    /// Nothing to close: never connected, already reset, or TIME-WAIT, which
    /// runs its course (Linux has handed it to a timewait minisock: the socket
    /// the application holds is CLOSED already).
    Nothing,
    /// RST at once: unread data (RFC 2525 §2.17), or SO_LINGER {1, 0}.
    Abort(RstCause),
    /// Our FIN after the queued data (RFC 9293 §3.10.4), maybe with a linger wait.
    Fin,
}

/// Decides close(), in Linux `__tcp_close`'s order: unread data first, then a
/// zero linger ("check zero linger _after_ checking for unread data").
fn close_action(s: &crate::socket::Socket, k: &crate::personality::Knobs) -> CloseAction {
    if matches!(s.state, State::Closed | State::TimeWait) {
        return CloseAction::Nothing;
    }
    let mut unread = s.tcb.unread;
    if k.close_unread_counts_ooo.value {
        unread += s.ooo_bytes();
    }
    if unread > 0 && k.close_unread.value == CloseUnread::Rst {
        CloseAction::Abort(RstCause::CloseWithUnread)
    } else if s.linger == Some(0) {
        CloseAction::Abort(RstCause::LingerZero)
    } else {
        CloseAction::Fin
    }
}

fn out_timer(s: &crate::socket::Socket, ctx: &mut Ctx) {
    ctx.out.events.push(Event::Timer {
        conn: s.conn(),
        timer: crate::event::TimerKind::Linger,
    });
}
