//! The RFC 9293 connection states, the edges between them, and the rule that
//! caused each edge.
//!
//! [`allowed`] is the transition table; the socket's one state-changing function
//! asserts against it, so an edge the RFC (or a personality) does not allow is a
//! bug caught at the moment it happens.

use serde::Serialize;
use std::fmt;

#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema, PartialOrd, Ord,
)]
pub enum State {
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "LISTEN")]
    Listen,
    #[serde(rename = "SYN-SENT")]
    SynSent,
    #[serde(rename = "SYN-RECEIVED")]
    SynReceived,
    #[serde(rename = "ESTABLISHED")]
    Established,
    #[serde(rename = "FIN-WAIT-1")]
    FinWait1,
    #[serde(rename = "FIN-WAIT-2")]
    FinWait2,
    #[serde(rename = "CLOSE-WAIT")]
    CloseWait,
    #[serde(rename = "CLOSING")]
    Closing,
    #[serde(rename = "LAST-ACK")]
    LastAck,
    #[serde(rename = "TIME-WAIT")]
    TimeWait,
}

impl State {
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// The number a step's result gives the state as (`getsockopt S
    /// TCP_INFO.tcpi_state`): its place in [`State::ALL`], the same on every
    /// stack (each kernel numbers its states its own way).
    pub fn code(self) -> u64 {
        State::ALL.iter().position(|&s| s == self).expect("listed") as u64
    }

    /// The state whose [`State::code`] is `n`.
    pub fn from_code(n: u64) -> Option<State> {
        State::ALL.get(usize::try_from(n).ok()?).copied()
    }

    /// A result of `getsockopt S TCP_INFO.tcpi_state` as traces show it:
    /// the state's name (the number if it names none).
    pub fn code_text(n: u64) -> String {
        State::from_code(n).map_or(n.to_string(), |s| s.name().to_string())
    }

    /// RFC spelling, as in traces and ladders.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        let up = s.to_ascii_uppercase().replace('_', "-");
        State::ALL.iter().copied().find(|st| st.name() == up)
    }

    /// RFC 9293: states after the three-way handshake has completed.
    pub fn synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// States in which our FIN has been queued or sent.
    pub fn fin_queued(self) -> bool {
        matches!(
            self,
            State::FinWait1 | State::FinWait2 | State::Closing | State::LastAck | State::TimeWait
        )
    }

    /// States in which the peer's FIN has been received.
    pub fn fin_received(self) -> bool {
        matches!(
            self,
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a state changed: shown in traces beside every transition.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// listen() (RFC 9293 §3.10.1 OPEN, passive).
    AppListen,
    /// connect() sent a SYN (§3.10.1 OPEN, active).
    AppConnect,
    /// A SYN reached a listener and a child connection was made (§3.10.7.2).
    RcvSyn,
    /// SYN-SENT got a SYN without ACK: simultaneous open (§3.10.7.3).
    RcvSynSimultaneous,
    /// SYN-SENT got an acceptable SYN-ACK (§3.10.7.3).
    RcvSynAck,
    /// The ACK of our SYN arrived in SYN-RECEIVED (§3.10.7.4 fifth check).
    RcvAckOfSyn,
    /// close() or shutdown(SHUT_WR) queued a FIN (§3.10.4 CLOSE).
    AppCloseFin,
    /// close() before the connection existed, or on a listener (§3.10.4).
    AppCloseNoConnection,
    /// The peer's FIN arrived (§3.10.7.4 eighth check).
    RcvFin,
    /// The ACK of our FIN arrived (§3.10.7.4 fifth check).
    RcvAckOfFin,
    /// An acceptable RST arrived (§3.10.7.4 second check).
    RcvRst,
    /// We aborted the connection and sent RST (cause in the RST event).
    Abort,
    /// We dropped the connection silently (no RST), e.g. a failed handshake.
    DropSilently,
    /// The 2MSL timer expired (§3.10.8).
    TimeWaitExpired,
    /// The FIN-WAIT-2 timer expired.
    #[serde(rename = "fin-wait-2-timeout")]
    FinWait2Timeout,
    /// Retransmission limit reached (§3.8.3, R2).
    RetransmitLimit,
    /// Keepalive probes unanswered (RFC 1122 §4.2.3.6).
    KeepaliveTimeout,
    /// The connection-establishment timer ran out in SYN-SENT (BSD tcp_keepinit).
    ConnectTimeout,
    /// An RST to our SYN: connection refused (§3.10.7.3).
    Refused,
    /// A new SYN reopened a TIME-WAIT connection (RFC 9293 §3.10.7.4, RFC 6191).
    TimeWaitReopened,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::AppListen => "listen()",
            Rule::AppConnect => "connect()",
            Rule::RcvSyn => "rcv SYN",
            Rule::RcvSynSimultaneous => "rcv SYN (simultaneous open)",
            Rule::RcvSynAck => "rcv SYN-ACK",
            Rule::RcvAckOfSyn => "rcv ACK of SYN",
            Rule::AppCloseFin => "app close/shutdown: send FIN",
            Rule::AppCloseNoConnection => "app close",
            Rule::RcvFin => "rcv FIN",
            Rule::RcvAckOfFin => "rcv ACK of FIN",
            Rule::RcvRst => "rcv RST",
            Rule::Abort => "abort: send RST",
            Rule::DropSilently => "drop silently",
            Rule::TimeWaitExpired => "2MSL timer",
            Rule::FinWait2Timeout => "FIN-WAIT-2 timer",
            Rule::RetransmitLimit => "retransmission limit",
            Rule::KeepaliveTimeout => "keepalive timeout",
            Rule::ConnectTimeout => "connection-establishment timer",
            Rule::Refused => "rcv RST to SYN",
            Rule::TimeWaitReopened => "new SYN in TIME-WAIT",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The transition table: may a connection go from `from` to `to`?
///
/// One arm per state, no `_ =>` arm, so adding a state breaks the build here.
/// Every state may go to CLOSED (abort, RST, timers), which the first arm says.
pub fn allowed(from: State, to: State) -> bool {
    use State::*;
    if to == Closed {
        return from != Closed;
    }
    match from {
        // §3.10.1: passive and active OPEN.
        Closed => matches!(to, Listen | SynSent),
        // §3.10.7.2: a SYN makes a child in SYN-RECEIVED (the listener stays LISTEN);
        // connect() on a listener is not allowed.
        Listen => matches!(to, SynReceived),
        // §3.10.7.3: SYN-ACK → ESTABLISHED; bare SYN → SYN-RECEIVED (simultaneous open).
        SynSent => matches!(to, Established | SynReceived),
        // §3.10.7.4: ACK of SYN → ESTABLISHED; close → FIN-WAIT-1; RST on a passive
        // open returns the child to the listener (we free it: CLOSED). Not CLOSE-WAIT:
        // the fifth check makes a FIN-bearing segment ESTABLISHED first, or drops it.
        SynReceived => matches!(to, Established | FinWait1),
        // close/shutdown(WR) → FIN-WAIT-1; rcv FIN → CLOSE-WAIT.
        Established => matches!(to, FinWait1 | CloseWait),
        // ACK of FIN → FIN-WAIT-2 (also when a FIN comes with it: the fifth
        // check goes first, then the eighth takes FIN-WAIT-2 to TIME-WAIT);
        // FIN → CLOSING.
        FinWait1 => matches!(to, FinWait2 | Closing),
        // FIN → TIME-WAIT.
        FinWait2 => matches!(to, TimeWait),
        // close/shutdown(WR) → LAST-ACK.
        CloseWait => matches!(to, LastAck),
        // ACK of FIN → TIME-WAIT.
        Closing => matches!(to, TimeWait),
        // ACK of FIN → CLOSED (first arm).
        LastAck => false,
        // 2MSL → CLOSED (first arm); a new SYN reopens as a fresh child of the
        // listener, which is a new connection, not an edge of this one.
        TimeWait => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_rfc_spelling() {
        for s in State::ALL {
            assert_eq!(State::parse(s.name()), Some(s));
        }
        assert_eq!(State::parse("time_wait"), Some(State::TimeWait));
        assert_eq!(State::parse("FIN_WAIT_3"), None);
    }

    #[test]
    fn the_table_has_the_rfc_edges_and_no_others() {
        use State::*;
        let edges = [
            (Closed, Listen),
            (Closed, SynSent),
            (Listen, SynReceived),
            (SynSent, Established),
            (SynSent, SynReceived),
            (SynReceived, Established),
            (SynReceived, FinWait1),
            (Established, FinWait1),
            (Established, CloseWait),
            (FinWait1, FinWait2),
            (FinWait1, Closing),
            (FinWait2, TimeWait),
            (CloseWait, LastAck),
            (Closing, TimeWait),
        ];
        let mut count = 0;
        for a in State::ALL {
            for b in State::ALL {
                let expect = edges.contains(&(a, b)) || (b == Closed && a != Closed);
                assert_eq!(allowed(a, b), expect, "{a} -> {b}");
                count += expect as usize;
            }
        }
        assert_eq!(count, edges.len() + 10);
    }
}
