//! connect(): the handshake a call starts, and what a blocking connect()
//! returns once it is over (the other calls are api.rs's).

use crate::blocking::Step;
use crate::errno::{CallResult, Errno};
use crate::event::Output;
use crate::host::Host;
use crate::ready::{connect_waits, BLOCK};
use crate::segment::Addr;
use crate::socket::{CloseTimer, Ctx, SockId};
use crate::state::{Rule, State};
use crate::Instant;
use std::sync::Arc;

impl Host {
    pub(crate) fn connect(
        &mut self,
        now: Instant,
        sid: SockId,
        to: Addr,
        first: bool,
        out: &mut Output,
    ) -> Step {
        if !first {
            return self.connect_wait(sid);
        }
        if let Err(e) = self.connect_allowed(sid) {
            return Step::Done(Err(e));
        }
        self.start_handshake(now, sid, to, out);
        if self.sock(sid).nonblocking {
            return Step::Done(Err(Errno::EINPROGRESS));
        }
        Step::Block {
            done: 0,
            deadline: None,
        }
    }

    /// A blocked connect() retried: still waiting for the handshake, or its result.
    fn connect_wait(&mut self, sid: SockId) -> Step {
        if connect_waits(self.sock(sid)) {
            return BLOCK;
        }
        Step::Done(self.connect_result(sid))
    }

    /// Whether connect() may start a handshake on this socket, or its error.
    fn connect_allowed(&mut self, sid: SockId) -> Result<(), Errno> {
        let s = self.sock(sid);
        match s.state {
            State::Closed if !s.connected && !s.was_reset() => Ok(()),
            State::Closed if !s.connected => {
                // A handshake that failed: report its error, and the socket is
                // fresh again (Linux __inet_stream_connect → sock_error, tcp_disconnect).
                Err(self.sock_mut(sid).fail_connect(Errno::ECONNABORTED))
            }
            State::SynSent | State::SynReceived => Err(Errno::EALREADY),
            State::Closed
            | State::Listen
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait
            | State::Closing
            | State::LastAck
            | State::TimeWait => Err(Errno::EISCONN),
        }
    }

    /// Binds an ephemeral port if need be and sends the SYN (SYN-SENT).
    fn start_handshake(&mut self, now: Instant, sid: SockId, to: Addr, out: &mut Output) {
        if !self.sock(sid).bound {
            let port = self.ephemeral_port();
            self.bind(sid, port).expect("ephemeral port is free");
        }
        let local = self.sock(sid).local;
        let iss = self.next_isn(local, to);
        let personality = Arc::clone(&self.personality);
        let k = &personality.knobs;
        let mut ctx = Ctx { p: k, now, out };
        let s = self.sock_mut(sid);
        s.remote = to;
        s.init_tcb(iss, k, k.rto_initial_ms.value.duration());
        s.tcb.ts_ok = k.tcp_timestamps.value;
        s.tcb.ws_ok = k.tcp_window_scaling.value;
        if k.connect_timeout_s.value.0 > 0 {
            let at = now + k.connect_timeout_s.value.duration();
            s.tcb.close_timer = Some((at, CloseTimer::Connect));
        }
        s.set_state(&mut ctx, State::SynSent, Rule::AppConnect);
        s.send_syn(&mut ctx);
    }

    /// A blocking connect() once the handshake is over. On failure the socket
    /// is fresh again, as Linux `tcp_disconnect` leaves it: later reads give
    /// ENOTCONN and connect() may be called again (docs/sources.md#linux-obs-connect-refused).
    fn connect_result(&mut self, sid: SockId) -> CallResult {
        let s = self.sock_mut(sid);
        if s.connected {
            return s.so_error.take().map_or(Ok(0), Err);
        }
        Err(s.fail_connect(Errno::ECONNREFUSED))
    }
}
