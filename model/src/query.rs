//! The calls that only look: poll() readiness and getsockopt()/ioctl()
//! read-backs. Each stack decides differently which condition sets which
//! revents bit (`poll_style`) and which queries exist (`query_style`); the
//! conditions themselves are one set of facts about a socket, read here once.

use crate::call::select_sets::{EXCEPTFDS, READFDS, WRITEFDS};
use crate::call::{poll_bits::*, SockOpt};
use crate::errno::{CallResult, Errno};
use crate::personality::{Knobs, PollStyle, QueryStyle, SelectStyle};
use crate::seq::Offset;
use crate::socket::Socket;
use crate::state::State;

/// What a socket's readiness depends on, stack-independent.
struct Ready {
    listener: bool,
    /// Accept queue non-empty (listener) or bytes unread (connection).
    data: bool,
    /// The receive side is over: the peer's FIN, shutdown(SHUT_RD), or the
    /// connection ended (Linux RCV_SHUTDOWN, BSD SBS_CANTRCVMORE).
    cant_rcv: bool,
    /// The send side is over: shutdown(SHUT_WR) or the connection ended
    /// (Linux SEND_SHUTDOWN, BSD SBS_CANTSENDMORE).
    cant_send: bool,
    /// CLOSED or TIME-WAIT, connected or not (Linux TCP_CLOSE: a socket in
    /// TIME-WAIT has handed its connection to a minisock and is closed).
    closed: bool,
    /// Handshake under way.
    connecting: bool,
    /// Room to write: free space at least half what is queued (Linux
    /// __sk_stream_is_writeable: sk_stream_wspace ≥ sk_stream_min_wspace).
    room: bool,
    error: bool,
    /// An error ended a connection attempt (refused, timed out): the
    /// socket never became connected.
    attempt_failed: bool,
}

impl Ready {
    fn of(s: &Socket) -> Ready {
        let closed = matches!(s.state, State::Closed | State::TimeWait);
        // A connection that ended (tcp_done: sk_shutdown = SHUTDOWN_MASK; BSD
        // soisdisconnected), not a socket that never connected.
        let ended = closed && (s.connected || s.was_reset());
        Ready {
            listener: s.state == State::Listen,
            data: match &s.listener {
                Some(l) => !l.accept_q.is_empty(),
                None => s.tcb.unread > 0,
            },
            cant_rcv: s.shut_rd || s.tcb.fin_rcvd || ended,
            cant_send: s.shut_wr || ended,
            closed,
            connecting: matches!(s.state, State::SynSent | State::SynReceived),
            room: s.stream_writeable(),
            error: s.so_error.is_some(),
            attempt_failed: closed && !s.connected && s.so_error.is_some(),
        }
    }
}

/// The revents of poll(fd, `events`) now: the bits asked for that hold, and
/// POLLERR/POLLHUP where the stack reports them unasked.
pub fn poll_revents(s: &Socket, k: &Knobs, events: u32) -> u32 {
    let r = Ready::of(s);
    let all = match k.poll_style.value {
        PollStyle::Linux => linux_poll(&r),
        PollStyle::Bsd => bsd_poll(&r),
        PollStyle::Kqueue => kqueue_poll(&r, events),
        PollStyle::Wsapoll => wsapoll(&r),
    };
    all & (events | ALWAYS)
}

/// The sets of select() among `asked` (readfds, writefds, exceptfds) that
/// the socket is in now. Out-of-band data is not modelled, so exceptfds
/// holds only Winsock's failed connection attempt.
pub fn select_sets(s: &Socket, k: &Knobs, asked: u32) -> u32 {
    let r = Ready::of(s);
    let (read, write, except) = match k.select_style.value {
        // fs/select.c POLLIN_SET, POLLOUT_SET of tcp_poll()'s mask.
        SelectStyle::Linux => {
            let m = linux_poll(&r);
            let read = m & (POLLIN | POLLHUP | POLLERR) != 0;
            (read, m & (POLLOUT | POLLERR) != 0, false)
        }
        // soreadable(), sowriteable(): what bsd_poll() reports as POLLIN, POLLOUT.
        SelectStyle::Bsd => {
            let m = bsd_poll(&r);
            (
                m & (POLLIN | POLLHUP) != 0,
                m & (POLLOUT | POLLHUP) != 0,
                false,
            )
        }
        SelectStyle::Winsock => {
            let connected = !r.connecting && !r.closed;
            let read = !r.attempt_failed && (r.data || r.cant_rcv);
            let write = connected && r.room && !r.cant_send;
            (read, write, r.attempt_failed)
        }
    };
    let sets = [(read, READFDS), (write, WRITEFDS), (except, EXCEPTFDS)];
    sets.iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, b)| acc | b)
        & asked
}

/// Linux net/ipv4/tcp.c tcp_poll().
fn linux_poll(r: &Ready) -> u32 {
    if r.listener {
        return if r.data { POLLIN } else { 0 };
    }
    let mut m = 0;
    if (r.cant_rcv && r.cant_send) || r.closed {
        m |= POLLHUP;
    }
    if r.cant_rcv {
        m |= POLLIN | POLLRDHUP;
    }
    if !r.connecting {
        if r.data {
            m |= POLLIN;
        }
        if r.cant_send || r.room {
            m |= POLLOUT;
        }
    }
    if r.error {
        m |= POLLERR;
    }
    m
}

/// FreeBSD sys/kern/uipc_socket.c sopoll_generic() with soreadabledata()
/// and sowriteable().
fn bsd_poll(r: &Ready) -> u32 {
    if r.listener {
        return if r.data { POLLIN } else { 0 };
    }
    let connected = !r.connecting && !r.closed;
    let mut m = 0;
    if r.data || r.error || r.cant_rcv {
        m |= POLLIN;
    }
    if (r.room && connected) || r.cant_send || r.error {
        m |= POLLOUT;
    }
    if r.cant_rcv {
        m |= POLLRDHUP;
        if r.cant_send {
            m |= POLLHUP;
        }
    }
    m
}

/// XNU bsd/kern/sys_generic.c poll_callback(): the read filter registered
/// for POLLIN, the write filter for POLLOUT; either's EV_EOF is POLLHUP.
fn kqueue_poll(r: &Ready, events: u32) -> u32 {
    if r.listener {
        return if r.data { POLLIN } else { 0 };
    }
    let connected = !r.connecting && !r.closed;
    let read_eof = events & POLLIN != 0 && r.cant_rcv;
    let write_eof = events & POLLOUT != 0 && r.cant_send;
    let hup = read_eof || write_eof;
    let mut m = 0;
    if hup {
        m |= POLLHUP;
    }
    if r.data || r.error || r.cant_rcv {
        m |= POLLIN;
    }
    if !hup && ((r.room && connected) || r.error) {
        m |= POLLOUT;
    }
    m
}

/// WSAPoll(): disconnected or aborted is POLLHUP, a pending error POLLERR.
fn wsapoll(r: &Ready) -> u32 {
    if r.listener {
        return if r.data { POLLIN } else { 0 };
    }
    let connected = !r.connecting && !r.closed;
    let mut m = 0;
    if r.cant_rcv {
        m |= POLLHUP;
    }
    if r.data || r.cant_rcv {
        m |= POLLIN;
    }
    if r.room && connected && !r.cant_send {
        m |= POLLOUT;
    }
    if r.error {
        m |= POLLERR;
    }
    m
}

/// getsockopt()/ioctl() of `opt`: its value, or the error the stack gives.
/// SO_ERROR takes the pending error: the step's result is that error.
pub fn getsockopt(s: &mut Socket, k: &Knobs, opt: SockOpt) -> CallResult {
    let style = k.query_style.value;
    match opt {
        SockOpt::SoError => s.so_error.take().map_or(Ok(0), Err),
        SockOpt::LingerOnOff => Ok(u64::from(s.linger.is_some())),
        // As stored (`linger_storage`). A negative so_linger (XNU's 16-bit
        // wrap) reads back as 0: a step's result is a count, where the real
        // getsockopt() gives the negative value.
        SockOpt::LingerTime => Ok(s.linger.unwrap_or(0).max(0) as u64),
        SockOpt::Linger2 => match style {
            QueryStyle::Linux => Ok(u64::from(k.fin_wait_2_timeout_s.value.0)),
            QueryStyle::Bsd | QueryStyle::Winsock => Err(Errno::ENOPROTOOPT),
        },
        SockOpt::InQ | SockOpt::OutQ | SockOpt::OutQNsd => queue_size(s, style, opt),
        SockOpt::RcvBuf => Ok(u64::from(s.rcv_buf)),
        SockOpt::SndBuf => Ok(u64::from(s.snd_buf_opt)),
        SockOpt::TcpState => Ok(s.state.code()),
    }
}

/// The three queue ioctls.
fn queue_size(s: &Socket, style: QueryStyle, opt: SockOpt) -> CallResult {
    let linux = style == QueryStyle::Linux;
    match (style, opt) {
        (QueryStyle::Winsock, SockOpt::OutQ | SockOpt::OutQNsd) => return Err(Errno::EINVAL),
        (QueryStyle::Bsd, SockOpt::OutQNsd) => return Err(Errno::ENOTTY),
        _ => {}
    }
    if linux && s.state == State::Listen {
        return Err(Errno::EINVAL);
    }
    if linux && matches!(s.state, State::SynSent | State::SynReceived) {
        return Ok(0);
    }
    // Linux's write_seq counts the FIN once it is queued (tcp_send_fin).
    let fin = u64::from(linux && s.tcb.fin_queued);
    let end = s.write_seq().0 + fin;
    let from = |o: Offset| end.saturating_sub(o.max(Offset::FIRST_DATA).0);
    Ok(match opt {
        SockOpt::InQ => s.tcb.unread,
        SockOpt::OutQ if linux => from(s.tcb.snd_una),
        SockOpt::OutQ => s.snd_queued(),
        _ => from(s.tcb.snd_nxt),
    })
}
