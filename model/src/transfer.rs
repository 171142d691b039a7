//! read(), peek() and write() on a connection: what each moves, and when it
//! returns, fails or waits. The calls' dispatch and blocking are api.rs's.

use crate::blocking::Step;
use crate::errno::Errno;
use crate::event::{Event, Output, Pid};
use crate::host::Host;
use crate::personality::{ReadAfterRst, ReadAfterShutRd, WriteAfterRst};
use crate::ready::{read_waits, write_state, write_waits, WriteState, BLOCK};
use crate::socket::{Ctx, SockId, Socket};
use crate::state::State;
use crate::Instant;
use std::sync::Arc;

impl Host {
    /// write() by `pid` on `sid`: `done` octets already moved by this call.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write(
        &mut self,
        now: Instant,
        pid: Pid,
        sid: SockId,
        bytes: u64,
        done: u64,
        nonblocking: bool,
        out: &mut Output,
    ) -> Step {
        let p = Arc::clone(&self.personality);
        let s = self.sock_mut(sid);
        if write_waits(s, &p.knobs, bytes, done, nonblocking) {
            s.snd_nospace = true;
            return Step::Block {
                done,
                deadline: None,
            };
        }
        let mode = p.knobs.write_after_rst.value;
        if let Some(step) = write_refused(s, mode, done, nonblocking) {
            return step;
        }
        let whole = p.knobs.snd_buf_whole_segments.value;
        let take = s.snd_room(whole).min(bytes - done);
        // tcp_sendmsg_locked's wait_for_space sets SOCK_NOSPACE before it
        // waits or returns EAGAIN / a short count.
        s.snd_nospace |= take < bytes - done;
        if take > 0 {
            let over = if whole { s.tcb.mss.max(1) as u64 } else { 0 };
            s.tcb.written += take;
            assert!(
                s.snd_queued() < s.snd_buf as u64 + over.max(1),
                "send buffer overfilled"
            );
            out.events.push(Event::AppWrote {
                conn: s.conn(),
                pid,
                bytes: take,
            });
            let mut ctx = Ctx {
                p: &p.knobs,
                now,
                out,
            };
            s.output(&mut ctx);
        }
        write_step(nonblocking, bytes, done + take)
    }

    /// read() of up to `max` octets, `nonblocking` as the call started.
    pub(crate) fn read(
        &mut self,
        now: Instant,
        pid: Pid,
        sid: SockId,
        max: u64,
        nonblocking: bool,
        out: &mut Output,
    ) -> Step {
        let p = Arc::clone(&self.personality);
        let s = self.sock_mut(sid);
        if read_waits(s, &p.knobs, max, nonblocking) {
            return BLOCK;
        }
        if s.state == State::Listen {
            return Step::Done(Err(Errno::ENOTCONN));
        }
        if s.tcb.unread > 0 && max > 0 {
            let n = s.tcb.unread.min(max);
            let wnd_before = s.rcv_wnd();
            s.tcb.unread -= n;
            s.rcv_space_adjust(&p.knobs, now, n);
            out.events.push(Event::AppRead {
                conn: s.conn(),
                pid,
                bytes: n,
            });
            if s.state.synchronized()
                && s.read_opens_window(p.knobs.rcv_wnd_update.value, wnd_before)
            {
                s.tcb.ack_now = true;
                let mut ctx = Ctx {
                    p: &p.knobs,
                    now,
                    out,
                };
                s.output(&mut ctx);
            }
            return Step::Done(Ok(n));
        }
        self.read_nothing(sid, nonblocking)
    }

    /// recv(MSG_PEEK): the unread bytes stay unread, so neither the window
    /// nor the trace's reads change; without data, as read().
    pub(crate) fn peek(&mut self, sid: SockId, max: u64, nonblocking: bool) -> Step {
        let s = self.sock(sid);
        if read_waits(s, &self.personality.knobs, max, nonblocking) {
            return BLOCK;
        }
        if s.state == State::Listen {
            return Step::Done(Err(Errno::ENOTCONN));
        }
        if s.tcb.unread > 0 && max > 0 {
            return Step::Done(Ok(s.tcb.unread.min(max)));
        }
        self.read_nothing(sid, nonblocking)
    }

    /// What a read finds with no data to hand over: EOF, an error, or a wait.
    fn read_nothing(&mut self, sid: SockId, nonblocking: bool) -> Step {
        let p = Arc::clone(&self.personality);
        let s = self.sock_mut(sid);
        if s.rst_received() && p.knobs.read_after_rst.value == ReadAfterRst::ErrorAlways {
            return Step::Done(Err(Errno::ECONNRESET));
        }
        if s.tcb.fin_rcvd {
            return Step::Done(Ok(0));
        }
        if let Some(e) = s.so_error.take() {
            return Step::Done(Err(e));
        }
        if s.shut_rd {
            return Step::Done(match p.knobs.read_after_shut_rd.value {
                ReadAfterShutRd::Eof => Ok(0),
                ReadAfterShutRd::Eshutdown => Err(Errno::ESHUTDOWN),
            });
        }
        if s.was_reset() {
            return Step::Done(Ok(0));
        }
        if s.state == State::Closed {
            Step::Done(Err(Errno::ENOTCONN))
        } else if nonblocking {
            Step::Done(Err(Errno::EAGAIN))
        } else {
            Step::Block {
                done: 0,
                deadline: None,
            }
        }
    }
}

/// Whether a call runs non-blocking: fixed when it starts, as the kernel
/// fixes it (net/socket.c sock_read_iter / __sys_recvfrom take MSG_DONTWAIT
/// from the file's O_NONBLOCK at the call; tcp_recvmsg_locked and
/// tcp_sendmsg_locked compute their wait once, sock_rcvtimeo / sock_sndtimeo
/// (sk, nonblock); inet_csk_accept too). A retry of a blocked call (`first`
/// false) started blocking, so O_NONBLOCK set meanwhile by another thread
/// does not end its wait (fuzz seed 1000 case 45, 1001/33: the kernel's
/// reader went on waiting).
pub(crate) fn starts_nonblocking(s: &Socket, first: bool) -> bool {
    first && s.nonblocking
}
/// Why a write() moves no data now: the step it ends with (an error, a count
/// already moved, or blocking until the handshake is over); `None` if it may.
fn write_refused(
    s: &mut crate::socket::Socket,
    mode: WriteAfterRst,
    done: u64,
    nonblocking: bool,
) -> Option<Step> {
    if done > 0 && write_fails(s) {
        // A blocked write that moved some data returns its count; the error
        // stays pending for the next call (Linux sk_stream_error is reached
        // only when nothing was copied).
        return Some(Step::Done(Ok(done)));
    }
    if let Some(err) = write_error(s, mode) {
        return Some(Step::Done(Err(err)));
    }
    match write_state(s.state) {
        WriteState::Open => None,
        WriteState::Handshake => Some(if nonblocking {
            Step::Done(Err(Errno::EAGAIN))
        } else {
            Step::Block {
                done,
                deadline: None,
            }
        }),
        // Never connected (Linux sk_stream_wait_connect: EPIPE), or a listener;
        // past our FIN, shut_wr already gave EPIPE above.
        WriteState::Gone => Some(Step::Done(Err(Errno::EPIPE))),
    }
}
/// A write() that has moved `done` of its `bytes`: finished, short (non-blocking), or blocked.
fn write_step(nonblocking: bool, bytes: u64, done: u64) -> Step {
    if done == bytes {
        Step::Done(Ok(done))
    } else if nonblocking {
        Step::Done(if done > 0 {
            Ok(done)
        } else {
            Err(Errno::EAGAIN)
        })
    } else {
        Step::Block {
            done,
            deadline: None,
        }
    }
}

fn write_fails(s: &crate::socket::Socket) -> bool {
    s.rst_received() || s.was_reset() || s.shut_wr || s.so_error.is_some()
}

/// The error a write() gets before any data moves, if one.
fn write_error(s: &mut crate::socket::Socket, mode: WriteAfterRst) -> Option<Errno> {
    if s.rst_received() || (s.was_reset() && s.so_error.is_some()) {
        return Some(match mode {
            WriteAfterRst::ErrorThenEpipe => s.so_error.take().unwrap_or(Errno::EPIPE),
            WriteAfterRst::Epipe => Errno::EPIPE,
            WriteAfterRst::ResetThenShutdown if !s.write_error_reported => {
                s.write_error_reported = true;
                s.so_error = None;
                Errno::ECONNRESET
            }
            WriteAfterRst::ResetThenShutdown => Errno::ESHUTDOWN,
            WriteAfterRst::Reset => Errno::ECONNRESET,
        });
    }
    if let Some(e) = s.so_error.take() {
        return Some(e);
    }
    if s.shut_wr || s.was_reset() {
        return Some(Errno::EPIPE);
    }
    None
}
