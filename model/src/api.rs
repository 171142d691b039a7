//! The socket API as a program sees it: each call returns what a real program
//! would get (a count, 0 at EOF, a descriptor, or an errno), or blocks in
//! virtual time; either way it completes as one [`Event::CallDone`].
//!
//! Every call is one function used both for the first attempt and for each
//! retry of a blocked call, so "when does this call finish" has one answer.
//! SIGPIPE is taken as ignored (MSG_NOSIGNAL): EPIPE is returned.

use crate::blocking::{Blocked, PollHeld, Step, SysCall};
use crate::call::{poll_bits, Call, Fds, How, PollAlso, ReadLen};
use crate::errno::{CallResult, Errno};
use crate::event::{Conn, DiscardCause, Event, Output, Pid, RstCause};
use crate::host::{Fd, Host, FD_FIRST};
use crate::personality::{ReuseAddrBind, ShutRdUnread, TimeoError};
use crate::query;
use crate::ready::{accept_waits, write_sleeps, BLOCK};
use crate::segment::Addr;
use crate::socket::{Ctx, Listener, SockId, Socket};
use crate::state::{Rule, State};
use crate::transfer::starts_nonblocking;
use crate::Instant;
use std::sync::Arc;

impl Host {
    /// Makes a call for process `pid`. Every call completes one way: as an
    /// `Event::CallDone` for `pid`, in this output if it did not block, or in
    /// a later one when whatever it waits for happens.
    pub fn call(&mut self, now: Instant, pid: Pid, call: SysCall, out: &mut Output) {
        assert!(
            self.procs[pid as usize].blocked.is_none(),
            "a blocked process made a call"
        );
        assert!(
            !self.procs[pid as usize].exited,
            "an exited process made a call"
        );
        // Looked up before the attempt: a close() that blocks has already released its fd.
        let target = self.sock_of(pid, &call);
        match self.attempt(now, pid, call, target, 0, true, out) {
            Step::Done(result) => out.events.push(Event::CallDone { pid, result }),
            Step::Block { done, deadline } => {
                let sock = target.expect("blocked on a socket");
                let deadline = deadline.or_else(|| self.call_deadline(now, sock, &call));
                let polled = self.poll_held(pid, &call);
                self.procs[pid as usize].blocked = Some(Blocked {
                    call,
                    sock,
                    done,
                    deadline,
                    polled,
                });
            }
        }
        self.wake_blocked(now, out);
    }

    /// Retries blocked calls until none can make progress. Most events find
    /// no call blocked on their host: they return here without the loop.
    #[inline]
    pub fn wake_blocked(&mut self, now: Instant, out: &mut Output) {
        if self.has_blocked() {
            self.retry_blocked(now, out);
        }
    }

    #[inline(never)]
    fn retry_blocked(&mut self, now: Instant, out: &mut Output) {
        // Each pass either finishes a call or stops; bounded by the number of processes.
        for _ in 0..=self.procs.len() {
            let mut progressed = false;
            for pid in 0..self.procs.len() {
                let Some(b) = self.procs[pid].blocked.as_ref() else {
                    continue;
                };
                // An attempt that would block again changes nothing: skip it
                // unless the call's time is up (then it is attempted, and ends).
                if self.still_waits(now, b) && !times_out(&b.call, b.deadline, now) {
                    #[cfg(test)]
                    self.check_skipped_retry(now, pid as Pid, b);
                    continue;
                }
                let b = b.clone();
                let target = self.sock_of(pid as Pid, &b.call);
                let step = match self.attempt(now, pid as Pid, b.call, target, b.done, false, out) {
                    Step::Block { done, .. } if times_out(&b.call, b.deadline, now) => {
                        Step::Done(self.timed_out(pid as Pid, &b, done, out))
                    }
                    step => step,
                };
                match step {
                    Step::Done(result) => {
                        self.procs[pid].blocked = None;
                        match b.call {
                            Call::Close { .. } => self.finish_close(now, b.sock, out),
                            _ => {
                                self.release_held(now, b.sock, out);
                                for sid in b.polled.iter() {
                                    self.release_held(now, sid, out);
                                }
                            }
                        }
                        out.events.push(Event::CallDone {
                            pid: pid as Pid,
                            result,
                        });
                        progressed = true;
                    }
                    Step::Block { done, .. } => {
                        if let Some(bl) = self.procs[pid].blocked.as_mut() {
                            bl.done = done;
                        }
                    }
                }
            }
            if !progressed {
                return;
            }
        }
    }

    /// When a call that blocks now gives up: its step's `timeout=`, else the
    /// socket's SO_RCVTIMEO/SO_SNDTIMEO, else never (a linger wait has its own).
    fn call_deadline(&self, now: Instant, sid: SockId, call: &SysCall) -> Option<Instant> {
        let s = self.sock(sid);
        let wait = match *call {
            Call::Read { timeout, .. } => timeout.or(s.rcvtimeo),
            Call::Peek { .. } => s.rcvtimeo,
            Call::Write { timeout, .. } => timeout.or(s.sndtimeo),
            Call::Poll { timeout, .. } | Call::Select { timeout, .. } => timeout,
            Call::Accept { .. } if self.personality.knobs.accept_timeo.value => s.rcvtimeo,
            _ => None,
        };
        wait.map(|d| now + d)
    }

    /// The result of a blocked call whose time ran out, having moved `done`
    /// bytes: poll() 0, a write its partial count; otherwise EAGAIN for a
    /// step's own `timeout=`, or the personality's error for SO_*TIMEO.
    fn timed_out(&mut self, pid: Pid, b: &Blocked, done: u64, out: &mut Output) -> CallResult {
        let step_timeout = match b.call {
            // Linux do_poll(): once the timeout has passed it scans every
            // descriptor once more, so one closed meanwhile is POLLNVAL.
            Call::Poll { .. } | Call::Select { .. } => return Ok(self.poll_lanes(pid, &b.call)),
            // Linux inet_csk_wait_for_connect(): -EAGAIN (the only stack whose
            // accept() times out, `accept_timeo`).
            Call::Accept { .. } => true,
            Call::Write { .. } if done > 0 => return Ok(done),
            Call::Read { timeout, .. } | Call::Write { timeout, .. } => timeout.is_some(),
            // SO_RCVTIMEO only (a peek has no `timeout=`): Linux tcp_recvmsg_locked
            // takes its timeo from sock_rcvtimeo() with MSG_PEEK as without.
            Call::Peek { .. } => false,
            _ => unreachable!("only reads, peeks, writes, polls and accepts time out"),
        };
        let e = match (step_timeout, self.personality.knobs.timeo_error.value) {
            (true, _) | (false, TimeoError::Eagain) => Errno::EAGAIN,
            (false, TimeoError::Etimedout) => Errno::ETIMEDOUT,
        };
        self.report_app_error(pid, b.sock, e, out);
        Err(e)
    }

    pub(crate) fn sock_of(&self, pid: Pid, call: &SysCall) -> Option<SockId> {
        let fd = *call.sock()?;
        if let Some(b) = &self.procs[pid as usize].blocked {
            return Some(b.sock); // a close() in its linger wait no longer has its fd
        }
        if let Some((_, also)) = watched(call) {
            // A poll over several sockets waits on the first one open.
            let mut fds = std::iter::once(&fd).chain(also.iter());
            return fds.find_map(|fd| self.fd_sock(pid, *fd));
        }
        self.fd_sock(pid, fd)
    }

    /// The sockets after the first that a poll about to block holds.
    fn poll_held(&self, pid: Pid, call: &SysCall) -> PollHeld {
        let mut held = PollHeld::default();
        if let Some((_, also)) = watched(call) {
            for (h, fd) in held.0.iter_mut().zip(also.iter()) {
                *h = self.fd_sock(pid, *fd);
            }
        }
        held
    }

    /// poll() or select() over one descriptor or several: each one's
    /// revents (or sets) in its lane; blocks while every lane is 0. A
    /// blocked call waits on the sockets it holds (Linux __pollwait()
    /// queues on each polled file and keeps a reference to it), so a
    /// close() of one from another thread does not wake it; once one of
    /// them is ready, the descriptors are looked up again (do_poll() ->
    /// do_pollfd() -> fdget()): a closed one is POLLNVAL to poll() and in
    /// every set asked of select(). Checked by tcpsim real --compare
    /// (scenarios/thread-close-polled.toml, thread-close-selected.toml).
    fn poll_many(&self, pid: Pid, call: &SysCall) -> Step {
        let block = Step::Block {
            done: 0,
            deadline: None,
        };
        if let Some(b) = &self.procs[pid as usize].blocked {
            if !self.polled_ready(b, call) {
                return block;
            }
        } else if let (Call::Select { .. }, Some((fd, also))) = (call, watched(call)) {
            // Linux max_select_fd(), FreeBSD selscan(): a descriptor not open.
            if std::iter::once(&fd)
                .chain(also.iter())
                .any(|fd| self.fd_sock(pid, *fd).is_none())
            {
                return Step::Done(Err(Errno::EBADF));
            }
        }
        match self.poll_lanes(pid, call) {
            0 => block,
            r => Step::Done(Ok(r)),
        }
    }

    /// A poll's revents of socket `s`, or the select() sets it is in.
    pub(crate) fn lane_of(&self, s: &Socket, call: &SysCall) -> u32 {
        let k = &self.personality.knobs;
        match *call {
            Call::Poll { events, .. } => query::poll_revents(s, k, events),
            Call::Select { sets, .. } => query::select_sets(s, k, sets),
            _ => unreachable!("only poll and select"),
        }
    }

    /// Each descriptor's lane, looked up now. One not open is POLLNVAL to
    /// poll(), and in every set select() asked of it: Linux fs/select.c
    /// POLLIN_SET, POLLOUT_SET and POLLEX_SET include EPOLLNVAL, which
    /// select_poll_one() returns for a closed descriptor (seen on the
    /// kernel: scenarios/thread-close-selected.toml).
    fn poll_lanes(&self, pid: Pid, call: &SysCall) -> u64 {
        let (fd, also) = watched(call).expect("only poll and select");
        let closed = match *call {
            Call::Poll { .. } => poll_bits::POLLNVAL,
            Call::Select { sets, .. } => sets,
            _ => unreachable!("only poll and select"),
        };
        let fds = std::iter::once(&fd).chain(also.iter());
        fds.enumerate().fold(0u64, |acc, (i, fd)| {
            let lane = match self.fd_sock(pid, *fd) {
                Some(sid) => self.lane_of(self.sock(sid), call),
                None => closed,
            };
            acc | u64::from(lane) << (poll_bits::LANE_BITS as usize * i)
        })
    }

    /// The socket behind a descriptor.
    pub fn fd_sock(&self, pid: Pid, fd: Fd) -> Option<SockId> {
        let i = fd.checked_sub(FD_FIRST)? as usize;
        self.procs[self.table(pid)].fds.get(i).copied().flatten()
    }

    fn new_fd(&mut self, pid: Pid, sid: SockId) -> Fd {
        let t = self.table(pid);
        let fds = &mut self.procs[t].fds;
        let i = match fds.iter().position(|f| f.is_none()) {
            Some(i) => i,
            None => {
                fds.push(None);
                fds.len() - 1
            }
        };
        fds[i] = Some(sid);
        self.sock_mut(sid).refs += 1;
        i as Fd + FD_FIRST
    }

    /// One attempt at a call (`first`: not a retry of a blocked call) on
    /// `target`, its `sock_of` (looked up once by the caller, which needs it too).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attempt(
        &mut self,
        now: Instant,
        pid: Pid,
        call: SysCall,
        target: Option<SockId>,
        done: u64,
        first: bool,
        out: &mut Output,
    ) -> Step {
        assert!(
            call.is_syscall(),
            "{} is expanded before it reaches a host",
            call.name()
        );
        if let Call::Socket { .. } = call {
            let s = self.new_socket(Addr {
                host: self.cfg.id,
                port: 0,
            });
            let sid = self.alloc(s);
            return Step::Done(Ok(self.new_fd(pid, sid) as u64));
        }
        if watched(&call).is_some() {
            return self.poll_many(pid, &call);
        }
        let Some(sid) = target else {
            // poll() reports a descriptor that is not open in revents.
            return Step::Done(match call {
                Call::Poll { .. } => Ok(u64::from(poll_bits::POLLNVAL)),
                _ => Err(Errno::EBADF),
            });
        };
        let step = self.socket_call(now, pid, sid, call, done, first, out);
        if let Step::Done(Err(e)) = step {
            self.report_app_error(pid, sid, e, out);
        }
        step
    }

    /// A call on the socket `sid` refers to.
    #[allow(clippy::too_many_arguments)]
    fn socket_call(
        &mut self,
        now: Instant,
        pid: Pid,
        sid: SockId,
        call: SysCall,
        done: u64,
        first: bool,
        out: &mut Output,
    ) -> Step {
        let nonblocking = starts_nonblocking(self.sock(sid), first);
        match call {
            Call::Socket { .. }
            | Call::Fork { .. }
            | Call::Exit {}
            | Call::Sleep { .. }
            | Call::Inject { .. }
            | Call::Sockets { .. }
            | Call::Tcpdrop { .. } => {
                unreachable!("not a socket call")
            }
            Call::Bind { port, .. } => Step::Done(self.bind(sid, port)),
            Call::Listen { backlog, .. } => Step::Done(self.listen(now, sid, backlog, out)),
            Call::Accept { .. } => self.accept(pid, sid, nonblocking),
            Call::Connect { to, .. } => self.connect(now, sid, to.into(), first, out),
            // A retry is a writer that slept: it wakes as the kernel's does.
            Call::Write { .. }
                if !first && write_sleeps(self.sock(sid), &self.personality.knobs) =>
            {
                Step::Block {
                    done,
                    deadline: None,
                }
            }
            Call::Write { bytes, more, .. } => {
                self.sock_mut(sid).more = more;
                let step = self.write(now, pid, sid, bytes, done, nonblocking, out);
                self.sock_mut(sid).more = false;
                step
            }
            Call::Read { len, .. } => {
                let ReadLen::Bytes(max) = len else {
                    unreachable!("read to EOF is expanded")
                };
                self.read(now, pid, sid, max, nonblocking, out)
            }
            Call::Shutdown { how, .. } => Step::Done(self.shutdown(now, sid, how, out)),
            Call::Close { sock: fd } if first => self.close(now, pid, fd, sid, false, out),
            Call::Close { .. } => self.linger_wait(now, sid, out),
            Call::Peek { len, .. } => self.peek(sid, len, nonblocking),
            Call::Linger { .. }
            | Call::Nonblocking { .. }
            | Call::Keepalive { .. }
            | Call::ReuseAddr { .. }
            | Call::RcvBuf { .. }
            | Call::SndBuf { .. } => Step::Done(self.set_option(now, sid, call, out).map(|()| 0)),
            Call::NoDelay { on, .. } => self.set_push_option(now, sid, Some(on), None, out),
            Call::Cork { on, .. } => self.set_push_option(now, sid, None, Some(on), out),
            Call::Dup { .. } => Step::Done(Ok(self.new_fd(pid, sid) as u64)),
            Call::Poll { .. } | Call::Select { .. } => {
                unreachable!("a poll or select is attempted by poll_many")
            }
            Call::Getsockopt { opt, .. } => {
                let p = Arc::clone(&self.personality);
                Step::Done(query::getsockopt(self.sock_mut(sid), &p.knobs, opt))
            }
            Call::RcvTimeo { .. } | Call::SndTimeo { .. } => {
                Step::Done(self.set_option(now, sid, call, out).map(|()| 0))
            }
        }
    }

    /// A socket option call: SO_LINGER, O_NONBLOCK, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF.
    fn set_option(
        &mut self,
        now: Instant,
        sid: SockId,
        call: SysCall,
        out: &mut Output,
    ) -> Result<(), Errno> {
        match call {
            Call::Linger { linger, .. } => {
                let storage = self.personality.knobs.linger_storage.value;
                let stored = linger.map(|l| storage.store(l)).transpose()?;
                self.sock_mut(sid).linger = stored;
            }
            Call::Nonblocking { on, .. } => self.sock_mut(sid).nonblocking = on,
            Call::ReuseAddr { on, .. } => self.sock_mut(sid).reuse_addr = on,
            Call::Keepalive { on, .. } => {
                let personality = Arc::clone(&self.personality);
                let ctx = Ctx {
                    p: &personality.knobs,
                    now,
                    out,
                };
                let s = self.sock_mut(sid);
                s.keepalive = on;
                s.touch_keepalive(&ctx);
            }
            // Linux __sock_set_rcvbuf / __sock_set_sndbuf: max(val * 2,
            // SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF), `setsockopt_buf_min_bytes`.
            Call::RcvBuf { bytes, .. } => {
                let k = &self.personality.knobs;
                let (factor, min) = (
                    k.rcvbuf_setsockopt_factor.value,
                    k.setsockopt_buf_min_bytes.value,
                );
                let s = self.sock_mut(sid);
                s.set_rcv_buf(bytes.saturating_mul(factor).max(min));
                s.rcv_buf_locked = true;
            }
            Call::SndBuf { bytes, .. } => {
                let k = &self.personality.knobs;
                let factor = k.sndbuf_setsockopt_factor.value;
                let opt = bytes
                    .saturating_mul(factor)
                    .max(k.setsockopt_buf_min_bytes.value.saturating_mul(2));
                let s = self.sock_mut(sid);
                // The payload write() may queue: the kernel's buffer less its
                // skb overhead, which the factor stands for.
                s.snd_buf = bytes.max(opt / factor.max(1));
                s.snd_buf_opt = opt;
                s.snd_buf_locked = true;
            }
            // Zero turns the timeout off (socket(7), setsockopt(2)).
            Call::RcvTimeo { ns, .. } => {
                self.sock_mut(sid).rcvtimeo = (!ns.is_zero()).then_some(ns)
            }
            Call::SndTimeo { ns, .. } => {
                self.sock_mut(sid).sndtimeo = (!ns.is_zero()).then_some(ns)
            }
            _ => unreachable!("{} is not a socket option", call.name()),
        }
        Ok(())
    }

    /// TCP_NODELAY or TCP_CORK. Turning Nagle off or the cork off sends what
    /// they held (Linux do_tcp_setsockopt → tcp_push_pending_frames; BSD
    /// tcp_ctloutput calls tcp_output when TF_NOPUSH is cleared).
    fn set_push_option(
        &mut self,
        now: Instant,
        sid: SockId,
        nodelay: Option<bool>,
        cork: Option<bool>,
        out: &mut Output,
    ) -> Step {
        let p = Arc::clone(&self.personality);
        if cork.is_some() && !p.knobs.cork_option.value {
            return Step::Done(Err(Errno::ENOPROTOOPT));
        }
        let s = self.sock_mut(sid);
        let released = nodelay == Some(true) || cork == Some(false);
        s.nodelay = nodelay.unwrap_or(s.nodelay);
        s.cork = cork.unwrap_or(s.cork);
        if released && s.state.synchronized() {
            let mut ctx = Ctx {
                p: &p.knobs,
                now,
                out,
            };
            s.output(&mut ctx);
        }
        Step::Done(Ok(0))
    }

    /// A call that failed tells the trace, unless the error only means "not yet".
    fn report_app_error(&mut self, pid: Pid, sid: SockId, e: Errno, out: &mut Output) {
        if matches!(e, Errno::EAGAIN | Errno::EINPROGRESS | Errno::EALREADY) {
            return;
        }
        if let Some(Some(s)) = self.socks.get(sid as usize) {
            out.events.push(Event::AppError {
                conn: s.conn(),
                pid,
                errno: e,
            });
        }
    }

    pub(crate) fn ephemeral_port(&mut self) -> u16 {
        for _ in 0..u16::MAX {
            let port = self.next_ephemeral;
            self.next_ephemeral = self
                .next_ephemeral
                .checked_add(1)
                .unwrap_or(self.cfg.ephemeral_first);
            if !self.sockets().any(|(_, s)| s.local.port == port) {
                return port;
            }
        }
        panic!("no ephemeral port left");
    }

    pub(crate) fn bind(&mut self, sid: SockId, port: u16) -> CallResult {
        if self.sock(sid).bound {
            return Err(Errno::EINVAL);
        }
        // Every socket still holding the port owns it: a listener, a connection
        // (accepted ones share the listener's port), an orphan, TIME-WAIT (Linux
        // keeps the timewait sock in the bind bucket until expiry), unless
        // SO_REUSEADDR waives it (`reuseaddr_bind`).
        let rule = self.personality.knobs.reuseaddr_bind.value;
        let reuse = self.sock(sid).reuse_addr;
        let in_use = self.sockets().any(|(o, s)| {
            o != sid && s.bound && s.local.port == port && holds_port(rule, reuse, s)
        });
        if in_use {
            return Err(Errno::EADDRINUSE);
        }
        let s = self.sock_mut(sid);
        s.local.port = port;
        s.bound = true;
        Ok(0)
    }

    fn listen(&mut self, now: Instant, sid: SockId, backlog: u32, out: &mut Output) -> CallResult {
        match self.sock(sid).state {
            State::Listen => {
                self.sock_mut(sid)
                    .listener
                    .as_mut()
                    .expect("listener")
                    .backlog = backlog;
                return Ok(0);
            }
            State::Closed if !self.sock(sid).connected && !self.sock(sid).was_reset() => {}
            // Connected, or was (Linux inet_listen: only a CLOSED socket listens).
            State::Closed
            | State::SynSent
            | State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait
            | State::Closing
            | State::LastAck
            | State::TimeWait => return Err(Errno::EINVAL),
        }
        if !self.sock(sid).bound {
            let port = self.ephemeral_port();
            self.bind(sid, port)?;
        }
        let personality = Arc::clone(&self.personality);
        let mut ctx = Ctx {
            p: &personality.knobs,
            now,
            out,
        };
        let s = self.sock_mut(sid);
        s.listener = Some(Box::new(Listener {
            backlog,
            ..Listener::default()
        }));
        s.set_state(&mut ctx, State::Listen, Rule::AppListen);
        Ok(0)
    }

    fn accept(&mut self, pid: Pid, sid: SockId, nonblocking: bool) -> Step {
        let s = self.sock(sid);
        if accept_waits(s, nonblocking) {
            return BLOCK;
        }
        let Some(l) = s.listener.as_ref() else {
            return Step::Done(Err(Errno::EINVAL));
        };
        if s.state != State::Listen {
            return Step::Done(Err(Errno::EINVAL));
        }
        if let Some(&child) = l.accept_q.first() {
            self.sock_mut(sid)
                .listener
                .as_mut()
                .expect("listener")
                .accept_q
                .remove(0);
            self.sock_mut(child).parent = None;
            return Step::Done(Ok(self.new_fd(pid, child) as u64));
        }
        if nonblocking {
            return Step::Done(Err(Errno::EAGAIN));
        }
        Step::Block {
            done: 0,
            deadline: None,
        }
    }

    fn shutdown(&mut self, now: Instant, sid: SockId, how: How, out: &mut Output) -> CallResult {
        let p = Arc::clone(&self.personality);
        let k = &p.knobs;
        let mut ctx = Ctx { p: k, now, out };
        let s = self.sock_mut(sid);
        let rd = matches!(how, How::Rd | How::RdWr);
        let wr = matches!(how, How::Wr | How::RdWr);
        match s.state {
            // A socket in TIME-WAIT is no longer connected: Linux's
            // tcp_time_wait() hands the connection to a time-wait minisock and
            // tcp_done()s the socket, FreeBSD's tcp_twstart() calls
            // soisdisconnected(); shutdown() then fails ENOTCONN
            // (docs/sources.md#shutdown-time-wait).
            State::Closed | State::TimeWait => {
                s.shut_rd |= rd;
                s.shut_wr |= wr;
                return Err(Errno::ENOTCONN);
            }
            State::Listen => {
                if rd {
                    self.close_listener(now, sid, out);
                }
                return Ok(0);
            }
            // Linux tcp_shutdown: only SEND_SHUTDOWN acts, and SYN-SENT has no FIN
            // to send, so the connection attempt ends (tcp_close_state: CLOSE).
            State::SynSent => {
                s.shut_rd |= rd;
                s.shut_wr |= wr;
                if wr {
                    s.set_state(&mut ctx, State::Closed, Rule::AppCloseNoConnection);
                }
                return Ok(0);
            }
            State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait
            | State::Closing
            | State::LastAck => {}
        }
        if rd && !s.shut_rd {
            s.shut_rd = true;
            if s.tcb.unread > 0 {
                match k.shut_rd_unread.value {
                    ShutRdUnread::Keep => {}
                    ShutRdUnread::Discard => s.purge_receive_queue(&mut ctx, DiscardCause::ShutRd),
                    ShutRdUnread::Rst => {
                        s.purge_receive_queue(&mut ctx, DiscardCause::ShutRd);
                        s.abort(&mut ctx, RstCause::ShutRdWithUnread);
                        return Ok(0);
                    }
                }
            }
        }
        if wr && !s.shut_wr {
            s.shut_wr = true;
            queue_fin(s, &mut ctx);
        }
        s.arm_fin_wait_2(&mut ctx);
        Ok(0)
    }

    /// The connection a descriptor refers to, for tracing.
    pub fn fd_conn(&self, pid: Pid, fd: Fd) -> Option<Conn> {
        self.fd_sock(pid, fd).map(|s| self.sock(s).conn())
    }
}

/// The descriptors a poll or select step watches: its first and the rest.
fn watched(call: &SysCall) -> Option<(Fd, PollAlso<Fds>)> {
    match *call {
        Call::Poll { sock, also, .. } | Call::Select { sock, also, .. } => Some((sock, also)),
        _ => None,
    }
}

/// Whether a blocked read, write, poll or accept has waited as long as it may.
fn times_out(call: &SysCall, deadline: Option<Instant>, now: Instant) -> bool {
    let kind = matches!(
        call,
        Call::Read { .. }
            | Call::Peek { .. }
            | Call::Write { .. }
            | Call::Poll { .. }
            | Call::Select { .. }
            | Call::Accept { .. }
    );
    kind && deadline.is_some_and(|d| now >= d)
}

/// Whether `holder`, bound to the port, keeps a socket with SO_REUSEADDR
/// `reuse` from binding it. A listener, or a bound socket not yet connected,
/// always does; a connection (TIME-WAIT included) gives way per `rule`.
fn holds_port(rule: ReuseAddrBind, reuse: bool, holder: &Socket) -> bool {
    let unconnected = holder.state == State::Listen
        || (holder.state == State::Closed && !holder.connected && !holder.was_reset());
    unconnected
        || match rule {
            ReuseAddrBind::Both => !(reuse && holder.reuse_addr),
            ReuseAddrBind::New => !reuse,
        }
}

/// Queues our FIN after the data (close or shutdown WR), moving state per RFC 9293 §3.10.4.
pub(crate) fn queue_fin(s: &mut crate::socket::Socket, ctx: &mut Ctx) {
    let to = match s.state {
        State::Established | State::SynReceived => State::FinWait1,
        State::CloseWait => State::LastAck,
        State::SynSent => {
            s.set_state(ctx, State::Closed, Rule::AppCloseNoConnection);
            return;
        }
        State::Closed
        | State::Listen
        | State::FinWait1
        | State::FinWait2
        | State::Closing
        | State::LastAck
        | State::TimeWait => return,
    };
    s.tcb.fin_queued = true;
    s.set_state(ctx, to, Rule::AppCloseFin);
    s.output(ctx);
}
