//! What the model tells the world: segments to send and events to trace.
//!
//! The model only reports; the verdict (in `sim`) observes these events and
//! draws conclusions, so the checker lives outside the system under test.

use crate::errno::{CallResult, Errno};
use crate::segment::{Addr, Segment};
use crate::state::{Rule, State};
use serde::Serialize;
use std::fmt;

/// Process id, local to a host.
pub type Pid = u32;

/// Why an RST was sent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum RstCause {
    /// close() with unread received data (RFC 2525 §2.17).
    CloseWithUnread,
    /// close() with SO_LINGER {1, 0}: abortive close.
    LingerZero,
    /// A linger timeout that resets (Winsock).
    LingerTimeout,
    /// Data arrived after the application closed the socket.
    DataAfterClose,
    /// Data arrived after shutdown(SHUT_RD).
    DataAfterShutRd,
    /// shutdown(SHUT_RD) with unread data (Winsock).
    ShutRdWithUnread,
    /// Process exit reset its open sockets.
    ProcessExit,
    /// A segment for a port with no socket.
    ClosedPort,
    /// A segment for a connection that no longer exists (no socket, or an ACK that
    /// reached a listener).
    NoConnection,
    /// The listener's accept queue was full.
    ListenOverflow,
    /// The listener was closed with this connection still queued.
    ListenerClosed,
    /// The retransmission limit was reached.
    RetransmitLimit,
    /// The FIN-WAIT-2 timer expired.
    FinWait2Timeout,
    /// An ACK for something never sent, in SYN-SENT or SYN-RECEIVED.
    UnacceptableAck,
    /// A SYN arrived in a synchronized state (RFC 793 without RFC 5961).
    SynInWindow,
    /// Keepalive probes went unanswered.
    KeepaliveTimeout,
}

impl RstCause {
    pub fn describe(self) -> &'static str {
        match self {
            RstCause::CloseWithUnread => "close with unread data",
            RstCause::LingerZero => "linger-0 abort",
            RstCause::LingerTimeout => "linger timeout",
            RstCause::DataAfterClose => "data after close",
            RstCause::DataAfterShutRd => "data after shutdown-RD",
            RstCause::ShutRdWithUnread => "shutdown-RD with unread data",
            RstCause::ProcessExit => "process-exit abort",
            RstCause::ClosedPort => "closed port",
            RstCause::NoConnection => "no such connection",
            RstCause::ListenOverflow => "full listen queue",
            RstCause::ListenerClosed => "listener closed with queued connections",
            RstCause::RetransmitLimit => "retransmission limit",
            RstCause::FinWait2Timeout => "FIN-WAIT-2 timeout",
            RstCause::UnacceptableAck => "unacceptable ACK",
            RstCause::SynInWindow => "SYN in a synchronized state",
            RstCause::KeepaliveTimeout => "keepalive timeout",
        }
    }

    pub const ALL: [RstCause; 16] = [
        RstCause::CloseWithUnread,
        RstCause::LingerZero,
        RstCause::LingerTimeout,
        RstCause::DataAfterClose,
        RstCause::DataAfterShutRd,
        RstCause::ShutRdWithUnread,
        RstCause::ProcessExit,
        RstCause::ClosedPort,
        RstCause::NoConnection,
        RstCause::ListenOverflow,
        RstCause::ListenerClosed,
        RstCause::RetransmitLimit,
        RstCause::FinWait2Timeout,
        RstCause::UnacceptableAck,
        RstCause::SynInWindow,
        RstCause::KeepaliveTimeout,
    ];

    /// The kebab-case name used in scenario files and JSON.
    pub fn key(self) -> &'static str {
        match self {
            RstCause::CloseWithUnread => "close-with-unread",
            RstCause::LingerZero => "linger-zero",
            RstCause::LingerTimeout => "linger-timeout",
            RstCause::DataAfterClose => "data-after-close",
            RstCause::DataAfterShutRd => "data-after-shut-rd",
            RstCause::ShutRdWithUnread => "shut-rd-with-unread",
            RstCause::ProcessExit => "process-exit",
            RstCause::ClosedPort => "closed-port",
            RstCause::NoConnection => "no-connection",
            RstCause::ListenOverflow => "listen-overflow",
            RstCause::ListenerClosed => "listener-closed",
            RstCause::RetransmitLimit => "retransmit-limit",
            RstCause::FinWait2Timeout => "fin-wait-2-timeout",
            RstCause::UnacceptableAck => "unacceptable-ack",
            RstCause::SynInWindow => "syn-in-window",
            RstCause::KeepaliveTimeout => "keepalive-timeout",
        }
    }

    pub fn parse(s: &str) -> Option<RstCause> {
        RstCause::ALL.iter().copied().find(|c| c.key() == s)
    }
}

impl fmt::Display for RstCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why buffered stream bytes were thrown away.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum DiscardCause {
    /// Our own abort (RST) threw away the send queue; the abort's cause says why.
    Abort(RstCause),
    /// An RST from the peer threw away our send queue.
    RstReceived,
    /// The retransmission limit was reached without an RST.
    Timeout,
    // The four below are spelled in JSON as the RST cause of the same
    // condition (`RstCause::key`): one name per condition everywhere.
    /// close() threw away data the application never read.
    #[serde(rename = "close-with-unread")]
    CloseUnread,
    /// shutdown(SHUT_RD) threw away data the application never read.
    #[serde(rename = "shut-rd-with-unread")]
    ShutRd,
    /// Data arriving after shutdown(SHUT_RD) was acknowledged and thrown away.
    #[serde(rename = "data-after-shut-rd")]
    AfterShutRd,
    /// Data arriving after close() was acknowledged and thrown away.
    #[serde(rename = "data-after-close")]
    AfterClose,
    /// An RST from the peer threw away data we had received but not read.
    RstReceivedUnread,
    /// Process exit (WSACleanup) threw away data still queued for sending.
    ProcessExit,
}

impl fmt::Display for DiscardCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscardCause::Abort(c) => write!(f, "send buffer discarded by our RST ({c})"),
            DiscardCause::RstReceived => f.write_str("send buffer discarded on receiving RST"),
            DiscardCause::Timeout => {
                f.write_str("send buffer discarded at the retransmission limit")
            }
            DiscardCause::CloseUnread => f.write_str("receive buffer discarded by close()"),
            DiscardCause::ShutRd => f.write_str("receive buffer discarded by shutdown(SHUT_RD)"),
            DiscardCause::AfterShutRd => f.write_str("arrived after shutdown(SHUT_RD), discarded"),
            DiscardCause::AfterClose => f.write_str("arrived after close(), discarded"),
            DiscardCause::RstReceivedUnread => {
                f.write_str("receive buffer discarded on receiving RST")
            }
            DiscardCause::ProcessExit => f.write_str("send buffer discarded at process exit"),
        }
    }
}

/// Which buffer bytes were discarded from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Buffer {
    Send,
    Receive,
}

/// Which timer fired.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TimerKind {
    Retransmit,
    Persist,
    DelayedAck,
    TimeWait,
    #[serde(rename = "fin-wait-2")]
    FinWait2,
    Linger,
    /// The connection-establishment timer (`connect_timeout_s`).
    Connect,
    /// SO_KEEPALIVE's idle or probe timer.
    Keepalive,
    /// The tail loss probe's timer (`tail_loss_probe`).
    LossProbe,
}

impl fmt::Display for TimerKind {
    /// The timer as a stack developer names it, for reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimerKind::Retransmit => "retransmission timer (RTO)",
            TimerKind::Persist => "persist timer (zero-window probe)",
            TimerKind::DelayedAck => "delayed-ACK timer",
            TimerKind::TimeWait => "TIME-WAIT timer (2MSL)",
            TimerKind::FinWait2 => "FIN-WAIT-2 timer",
            TimerKind::Linger => "SO_LINGER timer",
            TimerKind::Connect => "connection-establishment timer",
            TimerKind::Keepalive => "keepalive timer",
            TimerKind::LossProbe => "loss probe timer (TLP)",
        })
    }
}

/// One connection as seen from one endpoint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
pub struct Conn {
    pub local: Addr,
    pub remote: Addr,
}

/// Something that happened inside a host.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// A connection changed state.
    State {
        conn: Conn,
        from: State,
        to: State,
        rule: Rule,
    },
    /// We sent RST, in `state`, for `cause`.
    RstSent {
        conn: Conn,
        state: State,
        cause: RstCause,
    },
    /// We accepted an RST from the peer, in `state`.
    RstReceived { conn: Conn, state: State },
    /// Bytes of the stream were thrown away.
    Discard {
        conn: Conn,
        buffer: Buffer,
        bytes: u64,
        cause: DiscardCause,
    },
    /// In-order bytes entered the receive buffer.
    Delivered { conn: Conn, bytes: u64 },
    /// The application wrote bytes successfully.
    AppWrote { conn: Conn, pid: Pid, bytes: u64 },
    /// The application read bytes.
    AppRead { conn: Conn, pid: Pid, bytes: u64 },
    /// A call on this connection returned an error.
    AppError { conn: Conn, pid: Pid, errno: Errno },
    /// A blocked call finished.
    CallDone { pid: Pid, result: CallResult },
    /// A timer fired.
    Timer { conn: Conn, timer: TimerKind },
    /// A listener refused a SYN silently (queue full).
    SynDropped { conn: Conn, reason: &'static str },
    /// A segment was ignored (unacceptable, or not for any state).
    Ignored { conn: Conn, reason: &'static str },
}

/// Everything one call into a host produced, in order. Reused across calls.
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub segments: Vec<Segment>,
    pub events: Vec<Event>,
    /// For each segment, how many events came before it: the model's order,
    /// so a trace can show an ACK sent before the read that followed it.
    pub events_before: Vec<u32>,
}

impl Output {
    /// Queues a segment to send, after the events so far.
    pub fn send(&mut self, seg: Segment) {
        self.events_before.push(self.events.len() as u32);
        self.segments.push(seg);
    }

    pub fn clear(&mut self) {
        self.segments.clear();
        self.events.clear();
        self.events_before.clear();
    }
}

/// The schema lists the causes' keys, from the one list of them.
impl schemars::JsonSchema for RstCause {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RstCause".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let keys: Vec<&str> = RstCause::ALL.iter().map(|c| c.key()).collect();
        schemars::json_schema!({
            "description": "Why an RST was sent, as scenario files' [expect] spell it.",
            "type": "string",
            "enum": keys
        })
    }
}

/// JSON spells a cause as reports, docs and `[expect]` do (`fin-wait-2-timeout`).
impl Serialize for RstCause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

#[cfg(test)]
mod spelling {
    use super::{DiscardCause, RstCause};

    /// A discard and the RST of the same condition are spelled alike in JSON.
    #[test]
    fn a_discard_is_named_as_the_rst_of_its_condition() {
        for (d, r) in [
            (DiscardCause::CloseUnread, RstCause::CloseWithUnread),
            (DiscardCause::ShutRd, RstCause::ShutRdWithUnread),
            (DiscardCause::AfterShutRd, RstCause::DataAfterShutRd),
            (DiscardCause::AfterClose, RstCause::DataAfterClose),
            (DiscardCause::ProcessExit, RstCause::ProcessExit),
        ] {
            assert_eq!(serde_json::to_value(d).unwrap(), r.key());
        }
    }
}
