//! Whether a blocked call would block again: one test per call kind, each
//! the very test its call starts with (`read`, `peek`, `write`, `accept`,
//! `connect_wait`, `linger_wait`, `poll_many` return at once when it
//! holds), so a retry skipped on its word and a retry made cannot disagree.
//!
//! Why: after every event a host retries each blocked call
//! (`Host::wake_blocked`), and most retries block again (a segment that
//! acknowledges nothing new, a timer that frees no buffer room). A retry that
//! blocks again changes nothing (its socket, its process and the output are
//! as they were), so it can be skipped; one whose time is up is still made.

use crate::blocking::{Blocked, Step, SysCall};
use crate::call::{Call, ReadLen};
use crate::host::Host;
use crate::personality::{Knobs, ReadAfterRst};
use crate::socket::{SockId, Socket};
use crate::state::State;
use crate::Instant;

/// A call blocked with nothing moved and no deadline of its own.
pub(crate) const BLOCK: Step = Step::Block {
    done: 0,
    deadline: None,
};

impl Host {
    /// Whether blocked call `b` would block again if retried now, with
    /// nothing changed. False for a kind without a test (it is retried).
    pub(crate) fn still_waits(&self, now: Instant, b: &Blocked) -> bool {
        let Some(s) = self.socks.get(b.sock as usize).and_then(Option::as_ref) else {
            return false;
        };
        let k = &self.personality.knobs;
        match b.call {
            Call::Read {
                len: ReadLen::Bytes(max),
                ..
            }
            | Call::Peek { len: max, .. } => read_waits(s, k, max, false),
            Call::Write { bytes, .. } => {
                write_waits(s, k, bytes, b.done, false) || write_sleeps(s, k)
            }
            Call::Accept { .. } => accept_waits(s, false),
            Call::Connect { .. } => connect_waits(s),
            Call::Close { .. } => self.linger_waits(now, b.sock),
            Call::Poll { .. } | Call::Select { .. } => !self.polled_ready(b, &b.call),
            _ => false,
        }
    }

    /// Makes the retry `still_waits` skipped, on a copy: it must block
    /// again, with nothing more moved, and change neither the host nor the
    /// output (checked in the model's tests: a copy per retry is no cost
    /// for a debug build of the world to pay, nor an allocation for
    /// `sim/tests/alloc.rs` to count).
    #[cfg(test)]
    pub(crate) fn check_skipped_retry(&self, now: Instant, pid: crate::event::Pid, b: &Blocked) {
        let mut copy = self.clone();
        let mut out = crate::event::Output::default();
        let target = copy.sock_of(pid, &b.call);
        let step = copy.attempt(now, pid, b.call, target, b.done, false, &mut out);
        assert!(
            matches!(step, Step::Block { done, .. } if done == b.done),
            "{} skipped as still waiting, but a retry gives {step:?}",
            b.call.name()
        );
        assert!(
            copy == *self,
            "a skipped retry of {} changes the host",
            b.call.name()
        );
        assert!(
            out.events.is_empty() && out.segments.is_empty(),
            "a skipped retry of {} has output: {out:?}",
            b.call.name()
        );
    }

    /// Whether any socket blocked poll or select `b` holds has a lane that
    /// is not 0 (the sockets it holds, not its descriptors: see `poll_many`).
    pub(crate) fn polled_ready(&self, b: &Blocked, call: &SysCall) -> bool {
        std::iter::once(b.sock).chain(b.polled.iter()).any(|sid| {
            let s = self.socks.get(sid as usize).and_then(Option::as_ref);
            s.is_some_and(|s| self.lane_of(s, call) != 0)
        })
    }

    /// When the linger wait of the close() blocked on `sid` runs out.
    pub(crate) fn linger_deadline(&self, sid: SockId) -> Option<Instant> {
        self.procs.iter().find_map(|pr| {
            pr.blocked
                .as_ref()
                .filter(|b| b.sock == sid)
                .and_then(|b| b.deadline)
        })
    }

    /// Whether a close() lingering on `sid` waits on: our FIN is not yet
    /// acknowledged and its time is not up.
    pub(crate) fn linger_waits(&self, now: Instant, sid: SockId) -> bool {
        let s = self.sock(sid);
        matches!(s.state, State::FinWait1 | State::Closing | State::LastAck)
            && self.linger_deadline(sid).is_none_or(|d| now < d)
    }
}

/// Whether a read (or peek) of up to `max` bytes blocks: no data to hand
/// over and nothing that ends the wait (EOF, an error, a shutdown, a reset,
/// a closed socket, O_NONBLOCK as the call started: `nonblocking`, false for
/// a retry); `read_nothing`'s tests, in its order.
pub(crate) fn read_waits(s: &Socket, k: &Knobs, max: u64, nonblocking: bool) -> bool {
    let returns = s.state == State::Listen
        || (s.tcb.unread > 0 && max > 0)
        || (s.rst_received() && k.read_after_rst.value == ReadAfterRst::ErrorAlways)
        || s.tcb.fin_rcvd
        || s.so_error.is_some()
        || s.shut_rd
        || s.was_reset()
        || s.state == State::Closed
        || nonblocking;
    !returns
}

/// Whether a blocking write that has moved `done` of its `bytes` blocks
/// with nothing more moved: no error to report (`write_refused`), and
/// either no room in the send buffer or the handshake not yet over.
pub(crate) fn write_waits(s: &Socket, k: &Knobs, bytes: u64, done: u64, nonblocking: bool) -> bool {
    !write_fails(s)
        && !nonblocking
        && done < bytes
        && match write_state(s.state) {
            WriteState::Open => s.snd_room(k.snd_buf_whole_segments.value) == 0,
            WriteState::Handshake => true,
            WriteState::Gone => false,
        }
}

/// Whether a writer asleep on a full send buffer stays asleep although the
/// buffer has room: with `write_wake_min_wspace` it is woken only once the
/// buffer is writable (`Socket::stream_writeable`). A connection that failed
/// or was shut down wakes it (its write fails).
pub(crate) fn write_sleeps(s: &Socket, k: &Knobs) -> bool {
    k.write_wake_min_wspace.value
        && !write_fails(s)
        && matches!(write_state(s.state), WriteState::Open)
        && !s.stream_writeable()
}

/// Whether a write fails at once (an RST, an error, our shutdown).
fn write_fails(s: &Socket) -> bool {
    s.rst_received() || s.was_reset() || s.shut_wr || s.so_error.is_some()
}

/// What a write() meets in a connection's state.
pub(crate) enum WriteState {
    /// Data may be queued (our FIN not yet sent).
    Open,
    /// The handshake is under way: a blocking write waits for it.
    Handshake,
    /// No connection to write to: never connected, a listener, or past our FIN.
    Gone,
}

pub(crate) fn write_state(state: State) -> WriteState {
    match state {
        State::Established | State::CloseWait => WriteState::Open,
        State::SynSent | State::SynReceived => WriteState::Handshake,
        State::Closed
        | State::Listen
        | State::FinWait1
        | State::FinWait2
        | State::Closing
        | State::LastAck
        | State::TimeWait => WriteState::Gone,
    }
}

/// Whether accept() on a listener blocks: none queued, and not O_NONBLOCK
/// (as the call started).
pub(crate) fn accept_waits(s: &Socket, nonblocking: bool) -> bool {
    s.state == State::Listen
        && s.listener.as_ref().is_some_and(|l| l.accept_q.is_empty())
        && !nonblocking
}

/// Whether a blocked connect() waits on: the handshake is not over.
pub(crate) fn connect_waits(s: &Socket) -> bool {
    matches!(s.state, State::SynSent | State::SynReceived)
}
