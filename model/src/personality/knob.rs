//! The machinery behind personality knobs: a value with its source, parsing
//! from text, and the enums for behaviours that have more than two modes.
//!
//! One definition per knob (the `knobs!` table in `mod.rs`) generates the
//! struct, the name list, docs, lookup and override by name, so the CLI, the
//! scenario files and `docs/personalities.md` cannot drift from the code.

use crate::Duration;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// A knob's value and where it comes from (kernel file and function, document,
/// or observation), with its confidence tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Knob<T> {
    pub value: T,
    pub source: Cow<'static, str>,
}

/// Builds a knob from a value and a source.
pub fn k<T>(value: T, source: &'static str) -> Knob<T> {
    Knob {
        value,
        source: Cow::Borrowed(source),
    }
}

/// A type a knob can hold: parsed from and printed as text.
pub trait KnobValue: Sized + Clone + fmt::Display {
    fn parse_knob(s: &str) -> Option<Self>;
    /// What a valid value looks like, for error messages.
    fn expected() -> String;
    /// The variants and their meanings, for enum knobs.
    fn variants() -> &'static [(&'static str, &'static str)] {
        &[]
    }
}

impl KnobValue for u32 {
    fn parse_knob(s: &str) -> Option<u32> {
        s.replace('_', "").parse().ok()
    }
    fn expected() -> String {
        format!("an integer 0–{}", u32::MAX)
    }
}

/// Declares a knob type for a length of time counted in one unit: written and
/// parsed as the plain number, read by the model only as a [`Duration`].
macro_rules! time_knob {
    ($(#[doc = $doc:literal])* $name:ident, $from:ident) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The length of time this knob stands for.
            #[inline]
            pub const fn duration(self) -> Duration {
                Duration::$from(self.0 as u64)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl KnobValue for $name {
            fn parse_knob(s: &str) -> Option<Self> {
                u32::parse_knob(s).map($name)
            }
            fn expected() -> String {
                u32::expected()
            }
        }
    };
}

time_knob! {
    /// A knob counted in milliseconds.
    Millis, from_ms
}

time_knob! {
    /// A knob counted in seconds.
    Secs, from_secs
}

impl KnobValue for bool {
    fn parse_knob(s: &str) -> Option<bool> {
        match s {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        }
    }
    fn expected() -> String {
        "true or false".into()
    }
}

/// Declares a knob enum: variants with their kebab-case names and a one-line
/// meaning each.
macro_rules! knob_enum {
    ($(#[doc = $doc:literal])* $name:ident { $( $(#[doc = $vdoc:literal])* $variant:ident = $text:literal ),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
        pub enum $name { $( $(#[doc = $vdoc])* #[serde(rename = $text)] $variant ),+ }

        impl $name {
            pub const VARIANTS: &'static [(&'static str, &'static str)] =
                &[$( ($text, concat!($($vdoc),*)) ),+];
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $( $name::$variant => $text ),+ })
            }
        }

        impl KnobValue for $name {
            fn parse_knob(s: &str) -> Option<Self> {
                match s { $( $text => Some($name::$variant), )+ _ => None }
            }
            fn variants() -> &'static [(&'static str, &'static str)] {
                Self::VARIANTS
            }
            fn expected() -> String {
                let names: Vec<&str> = Self::VARIANTS.iter().map(|v| v.0).collect();
                format!("one of {}", names.join(", "))
            }
        }
    };
}

knob_enum! {
    /// close() of the last descriptor while received data is still unread.
    CloseUnread {
        /// Send RST at once and discard both queues (RFC 2525 §2.17).
        Rst = "rst",
        /// Discard the unread data silently and close gracefully with a FIN.
        DiscardThenFin = "discard-fin",
    }
}

knob_enum! {
    /// New data arriving after the application closed the socket.
    DataAfterClose {
        /// Answer with RST and drop the connection (RFC 1122 §4.2.2.13).
        Rst = "rst",
        /// Acknowledge and discard it.
        AckDiscard = "ack-discard",
    }
}

knob_enum! {
    /// shutdown(SHUT_RD) while received data is still unread.
    ShutRdUnread {
        /// The data stays readable.
        Keep = "keep",
        /// The data is discarded silently.
        Discard = "discard",
        /// The connection is reset (RST) because the data cannot be delivered.
        Rst = "rst",
    }
}

knob_enum! {
    /// New data arriving after shutdown(SHUT_RD) while the socket is still open.
    DataAfterShutRd {
        /// Queued and readable as if nothing happened.
        Accept = "accept",
        /// Queued while our FIN is unsent; once we are in FIN-WAIT-1/2, RST.
        RstInFinWait = "rst-in-fin-wait",
        /// Acknowledged and discarded.
        AckDiscard = "ack-discard",
        /// The connection is reset.
        Rst = "rst",
    }
}

knob_enum! {
    /// What read() returns after shutdown(SHUT_RD) once nothing is left to read.
    ReadAfterShutRd {
        /// 0, like end of file.
        Eof = "eof",
        /// The call fails with ESHUTDOWN (WSAESHUTDOWN).
        Eshutdown = "eshutdown",
    }
}

knob_enum! {
    /// How `l_linger` is counted.
    LingerUnit {
        /// Seconds.
        Seconds = "seconds",
        /// Clock ticks of 10 ms (XNU's SO_LINGER).
        Ticks = "ticks",
    }
}

knob_enum! {
    /// How setsockopt(SO_LINGER) stores `l_linger`: what a value of 32768 or
    /// more does.
    LingerStorage {
        /// As given (Linux's `sk_lingertime` in jiffies; a value of
        /// MAX_SCHEDULE_TIMEOUT / HZ or more waits without limit).
        Unbounded = "unbounded",
        /// More than 65535 fails EDOM and leaves the option as it was (FreeBSD).
        Edom = "edom-above-65535",
        /// A signed 16-bit field: the value wraps modulo 65536 into
        /// −32768…32767; negative means no wait and no RST, 0 an abortive
        /// close (XNU's `so_linger`, a `short`).
        Short = "short",
        /// An unsigned 16-bit field of the API's struct: the value wraps
        /// modulo 65536 before the stack sees it (Winsock's `u_short l_linger`).
        UShort = "u_short",
    }
}

impl LingerStorage {
    /// What the socket keeps for `l_linger = asked`, or the call's error.
    pub fn store(self, asked: u32) -> Result<i32, crate::Errno> {
        match self {
            LingerStorage::Unbounded => Ok(asked.min(i32::MAX as u32) as i32),
            LingerStorage::Edom if asked > u16::MAX as u32 => Err(crate::Errno::EDOM),
            LingerStorage::Edom => Ok(asked as i32),
            LingerStorage::Short => Ok(asked as u16 as i16 as i32),
            LingerStorage::UShort => Ok(asked as u16 as i32),
        }
    }
}

knob_enum! {
    /// How zero-window probes are spaced and when probing gives up on a peer
    /// that keeps its window shut (model/src/timer.rs `persist_gives_up`).
    PersistTimer {
        /// Probes at the backed-off RTO up to `rto_max_ms`; gives up after
        /// `data_retries` unanswered probes (`orphan_retries` for an orphan),
        /// and an orphan once the interval reaches `rto_max_ms`, answered or
        /// not (Linux tcp_probe_timer).
        Backoff = "backoff",
        /// Probes at the backed-off RTO within [5 s, 60 s] (tcp_setpersist,
        /// TCPTV_PERSMIN/PERSMAX); gives up only once the peer stops
        /// answering: past CLOSE-WAIT after 60 s of silence, else after a full
        /// backoff and min(2 h, RTO × 2559) (FreeBSD tcp_timer_persist).
        BsdOrphanLimit = "bsd-orphan-60s",
        /// As `bsd-orphan-60s` without the rule past CLOSE-WAIT, and
        /// RTO × 511 (XNU tcp_timers, TCPT_PERSIST).
        Bsd = "bsd",
    }
}

knob_enum! {
    /// What a segment gets on a 4-tuple whose connection was reset (by our
    /// RST or the peer's) and is gone (CLOSED or freed).
    RstAfterReset {
        /// An RST, every time, as for any segment without a connection
        /// (RFC 9293 §3.10.7.1).
        Every = "every",
        /// Nothing: the one RST was the last word on that 4-tuple.
        Silent = "silent",
    }
}

knob_enum! {
    /// bind() to a port other sockets still hold, by the new socket's SO_REUSEADDR.
    /// A listener (or a bound, unconnected socket) always holds its port.
    ReuseAddrBind {
        /// Connected and TIME-WAIT sockets on the port give way only when they
        /// and the new socket both set SO_REUSEADDR (Linux inet_bind_conflict()).
        Both = "both",
        /// The new socket's SO_REUSEADDR alone: connected and TIME-WAIT sockets
        /// do not hold the port against it (BSD in_pcbbind_setup()).
        New = "new",
    }
}

knob_enum! {
    /// Nagle's algorithm (RFC 896): when a short last segment (less than the
    /// MSS, the end of what is queued) waits instead of going out. TCP_NODELAY
    /// turns it off per socket; the FIN and a cork are apart from it.
    NagleRule {
        /// Held while an earlier short segment is unacknowledged (Minshall's
        /// variant: Linux tcp_nagle_check() with tcp_minshall_check()).
        Minshall = "minshall",
        /// Held while any data is unacknowledged (RFC 896, RFC 1122
        /// §4.2.3.4; BSD tcp_output's `idle` test).
        Unacked = "unacked",
        /// Never held: every write goes out as the windows allow.
        Off = "off",
    }
}

knob_enum! {
    /// A blocking close() with SO_LINGER {1, N} whose N seconds run out.
    LingerExpiry {
        /// close() returns and the graceful close goes on in the background.
        Continue = "continue",
        /// The connection is reset (RST) and queued data is discarded.
        Rst = "rst",
    }
}

knob_enum! {
    /// close() with SO_LINGER {1, N} on a non-blocking socket with data or FIN unacknowledged.
    NonblockingLinger {
        /// The linger wait happens anyway: close() blocks.
        Block = "block",
        /// close() returns 0 at once; the graceful close goes on.
        ReturnContinue = "return",
        /// close() fails EWOULDBLOCK, the descriptor stays open, no FIN is sent.
        WouldBlock = "ewouldblock",
    }
}

knob_enum! {
    /// What process exit does to descriptors still open.
    ExitMode {
        /// Each is closed as by close().
        CloseEach = "close",
        /// Each socket still open is reset (RST), as WSACleanup does.
        ResetOpen = "reset",
    }
}

knob_enum! {
    /// What write() returns once an RST has been received.
    WriteAfterRst {
        /// The pending error (ECONNRESET, or EPIPE in CLOSE-WAIT) once, then EPIPE.
        ErrorThenEpipe = "error-then-epipe",
        /// EPIPE at once; ECONNRESET stays pending for read().
        Epipe = "epipe",
        /// ECONNRESET once, then ESHUTDOWN.
        ResetThenShutdown = "reset-then-eshutdown",
        /// ECONNRESET every time.
        Reset = "reset",
    }
}

knob_enum! {
    /// What a listener does with a SYN when its accept queue is full.
    ListenOverflow {
        /// Drop the SYN silently; the client retransmits it.
        DropSyn = "drop-syn",
        /// Answer the SYN with RST: connect() fails ECONNREFUSED.
        RstSyn = "rst-syn",
        /// Complete the handshake, then reset: connect() succeeds, the next call fails.
        HandshakeThenRst = "handshake-then-rst",
    }
}

knob_enum! {
    /// How many established connections fit in the accept queue for listen(backlog).
    AcceptQueueLimit {
        /// backlog + 1.
        BacklogPlusOne = "backlog+1",
        /// 3/2 × backlog: refused once that many are queued (XNU sonewconn).
        ThreeHalvesBacklog = "3/2*backlog",
        /// 3/2 × backlog + 1: refused only once more than 3/2 × backlog are queued (FreeBSD sonewconn).
        ThreeHalvesBacklogPlusOne = "3/2*backlog+1",
        /// Exactly backlog.
        Backlog = "backlog",
    }
}

knob_enum! {
    /// When the FIN-WAIT-2 timer is armed.
    FinWait2Timer {
        /// Only for orphans (after close()).
        Orphan = "orphan",
        /// After close() or shutdown(SHUT_RD).
        CantRcvMore = "cantrcvmore",
        /// Always, even for a half-close by shutdown(SHUT_WR).
        Always = "always",
    }
}

knob_enum! {
    /// What read() returns once an RST was received and buffered data is gone.
    ReadAfterRst {
        /// ECONNRESET once (shared with write and SO_ERROR), then 0.
        ErrorOnceThenEof = "error-once-then-eof",
        /// ECONNRESET on every call.
        ErrorAlways = "error-always",
    }
}

knob_enum! {
    /// Which conditions set which poll() revents bits.
    PollStyle {
        /// Linux tcp_poll(): POLLHUP when both directions are shut down or the socket is closed (a fresh socket too), POLLIN|POLLRDHUP once the peer's FIN is in, POLLERR while an error is pending, POLLOUT while not connecting.
        Linux = "linux",
        /// FreeBSD sopoll_generic(): POLLHUP only when it can neither receive nor send, POLLIN (and POLLRDHUP) once it cannot receive, an error is readable and writable, never POLLERR.
        Bsd = "bsd",
        /// XNU poll() over kevent (poll_callback): the end of either direction (EV_EOF) is POLLHUP and hides POLLOUT; no POLLRDHUP, no POLLERR for a pending socket error.
        Kqueue = "kqueue",
        /// WSAPoll(): a connection disconnected or aborted (the peer's FIN or RST) is POLLHUP, a pending error POLLERR.
        Wsapoll = "wsapoll",
    }
}

knob_enum! {
    /// Which conditions put a socket in select()'s readfds, writefds and exceptfds.
    SelectStyle {
        /// Linux fs/select.c: of tcp_poll()'s mask, POLLIN_SET (POLLIN, POLLHUP, POLLERR) is readable, POLLOUT_SET (POLLOUT, POLLERR) writable, POLLEX_SET (POLLPRI, out-of-band data, not modelled) exceptional.
        Linux = "linux",
        /// BSD: readable is soreadable() (data, an error, the receive side over, a queued connection), writable sowriteable() (room while connected, the send side over, an error); exceptional only for out-of-band data.
        Bsd = "bsd",
        /// Winsock select(): readable for a queued connection, data, or a connection closed, reset or ended; writable while connected with room to send; exceptional when a connection attempt failed (or out-of-band data).
        Winsock = "winsock",
    }
}

knob_enum! {
    /// Which getsockopt()/ioctl() queries exist and what the send-queue ones count.
    QueryStyle {
        /// Linux: TCP_LINGER2; SIOCINQ/SIOCOUTQ/SIOCOUTQNSD fail EINVAL on a listener, count 0 while connecting, and SIOCOUTQ/SIOCOUTQNSD count the FIN (tcp_ioctl, write_seq).
        Linux = "linux",
        /// BSD: FIONREAD; SIOCOUTQ is read as FIONWRITE/SO_NWRITE (bytes in the send buffer, no FIN); no SIOCOUTQNSD (ENOTTY) and no TCP_LINGER2 (ENOPROTOOPT).
        Bsd = "bsd",
        /// Winsock: ioctlsocket() has FIONREAD only (others EINVAL); no TCP_LINGER2 (WSAENOPROTOOPT).
        Winsock = "winsock",
    }
}

knob_enum! {
    /// What a blocking call whose SO_RCVTIMEO / SO_SNDTIMEO runs out fails with (when it moved no data).
    TimeoError {
        /// EAGAIN (EWOULDBLOCK).
        Eagain = "eagain",
        /// ETIMEDOUT (WSAETIMEDOUT).
        Etimedout = "etimedout",
    }
}

knob_enum! {
    /// What a call blocked on a socket (read, write, accept, connect, poll)
    /// returns when another thread closes the socket's last descriptor.
    CloseWhileBlocked {
        /// Nothing: the blocked call holds its own reference to the open file,
        /// so close() only frees the descriptor; the call goes on (until data,
        /// EOF, an error or its timeout) and the socket is closed when it returns.
        Holds = "holds",
        /// close() drains the socket: a blocked read or write fails EBADF, a
        /// blocked accept or connect ECONNABORTED (a poll goes on); then the socket closes.
        DrainEbadf = "drain-ebadf",
        /// The blocked call (poll too) fails EINTR (WSAEINTR); then the socket closes.
        CancelEintr = "cancel-eintr",
    }
}

knob_enum! {
    /// How call errors are named in reports.
    ErrorNames {
        /// POSIX errno names (ECONNRESET).
        Posix = "posix",
        /// Winsock names (WSAECONNRESET).
        Winsock = "winsock",
    }
}

knob_enum! {
    /// What happens when the FIN-WAIT-2 timer expires.
    FinWait2Expiry {
        /// The connection is dropped silently; later segments get RST as to a closed port.
        Close = "close",
        /// An RST is sent to the peer.
        Rst = "rst",
    }
}

knob_enum! {
    /// An acceptable RST arriving in TIME-WAIT.
    RstInTimeWait {
        /// It ends TIME-WAIT early (TIME-WAIT assassination, RFC 1337).
        Kill = "kill",
        /// It is ignored (RFC 1337 protection).
        Ignore = "ignore",
    }
}

knob_enum! {
    /// A SYN arriving for a connection in TIME-WAIT.
    SynInTimeWait {
        /// With a higher sequence number it ends TIME-WAIT and opens a new connection.
        ReopenIfNewer = "reopen-if-newer",
        /// It is answered with an ACK and otherwise ignored.
        Ack = "ack",
    }
}

knob_enum! {
    /// An RST (with an acceptable ACK) arriving in SYN-SENT.
    RstToSyn {
        /// connect() fails ECONNREFUSED at once.
        Refuse = "refuse",
        /// Ignored; the SYN is retried `refused_syn_retries` times without backoff, then ECONNREFUSED.
        RetrySyn = "retry-syn",
    }
}

knob_enum! {
    /// Which sequence number an RST must carry to reset a synchronized connection.
    RstSeqMatch {
        /// Exactly RCV.NXT (RFC 5961 §3.2).
        RcvNxt = "rcv-nxt",
        /// RCV.NXT, or RCV.NXT − 1 once the peer's FIN is in (CLOSE-WAIT, CLOSING, LAST-ACK), even though that is left of the window (Linux tcp_reset_check); the window the others are tested against starts at the last ACK we sent (Linux tcp_sequence: not before rcv_wup), so while an ACK is delayed an RST between it and RCV.NXT draws a challenge ACK.
        RcvNxtOrBelowAfterFin = "rcv-nxt-or-one-below-after-fin",
        /// The last ACK we sent, which trails RCV.NXT while an ACK is delayed; the window is counted from it too (FreeBSD).
        LastAckSent = "last-ack-sent",
        /// The last ACK we sent, or one below it in CLOSE-WAIT and later states or with a zero window (XNU).
        LastAckSentOrBelowAfterFin = "last-ack-sent-or-one-below-after-fin",
    }
}

knob_enum! {
    /// Whether the send buffer grows with the congestion window.
    SndBufTuning {
        /// The buffer stays `snd_buf_bytes` (or what SO_SNDBUF set).
        Fixed = "fixed",
        /// Without SO_SNDBUF, at establishment and after each ACK of new data while the congestion window is not full, it grows to 2 × max(initial cwnd, cwnd, reordering + 1) segments of one skb's memory each, at most `snd_buf_max_bytes` (Linux tcp_sndbuf_expand, tcp_new_space).
        Cwnd = "cwnd",
    }
}

knob_enum! {
    /// When a read that freed receive-buffer space sends a window update at once.
    RcvWndUpdate {
        /// When the window offered before the read was under two segments and the read opens it by two segments or half the buffer, whichever is less (BSD tcp_output: adv ≥ 2·t_maxseg or 2·adv ≥ sb_hiwat).
        TwoSegments = "two-segments",
        /// When the window still open to the peer is at most half the window clamp and the window we would offer now is non-zero and at least twice it; not once the peer's FIN is in or after shutdown(SHUT_RD) (Linux __tcp_cleanup_rbuf).
        Doubled = "doubled",
    }
}

knob_enum! {
    /// How the receive window we advertise follows from the free buffer space.
    RcvWndRounding {
        /// The free space itself (BSD sbspace).
        FreeSpace = "free-space",
        /// Multiples of the MSS; the current offer is kept while it is within one MSS of the free space; zero once the buffer is half full and less than an MSS is free (Linux __tcp_select_window).
        MssMultiple = "mss-multiple",
    }
}

/// A knob name, value or personality file that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KnobError {
    UnknownKnob {
        name: String,
        suggestion: Option<&'static str>,
    },
    BadValue {
        name: &'static str,
        value: String,
        expected: String,
    },
}

impl fmt::Display for KnobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KnobError::UnknownKnob { name, suggestion } => {
                write!(f, "unknown knob `{name}`")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                Ok(())
            }
            KnobError::BadValue {
                name,
                value,
                expected,
            } => write!(
                f,
                "invalid value `{value}` for knob `{name}`: expected {expected}"
            ),
        }
    }
}

impl std::error::Error for KnobError {}

/// Levenshtein distance, for "did you mean" hints on short names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest of `candidates` to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
