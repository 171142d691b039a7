//! The verdict: every RST with who sent it, in which state and why; per
//! direction, bytes written, delivered, read and lost (with where); silent
//! loss; each endpoint's states; how the run ended.
//!
//! [`Observer`] watches trace entries as they happen (it never looks inside
//! the model); [`Observer::finish`] turns its tallies into a [`Verdict`].

use crate::spec::Limits;
use crate::trace::{Entry, What};
use model::Instant;
use model::{Addr, Buffer, DiscardCause, Errno, Event, RstCause, State};
use serde::Serialize;
use smallvec::SmallVec;

/// Why the run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// Nothing left to happen.
    Quiescent,
    /// The event budget ran out.
    EventBudget,
    /// Virtual time reached the limit.
    TimeLimit,
}

/// The outcome class of a run.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Clean,
    ResetWithoutLoss,
    ResetWithLoss,
    LossWithoutReset,
    /// A process waits forever: nothing left to happen, and a call never returns.
    Hung,
    /// Stopped by the event budget (`max_events`) before the run finished.
    EventBudget,
    /// Stopped by the time limit (`duration`) before the run finished.
    TimeLimit,
}

impl EndReason {
    /// How reports name it.
    pub fn key(self) -> &'static str {
        match self {
            EndReason::Quiescent => "nothing left to happen",
            EndReason::EventBudget => "the event budget ran out",
            EndReason::TimeLimit => "the time limit was reached",
        }
    }
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Clean,
        Outcome::ResetWithoutLoss,
        Outcome::ResetWithLoss,
        Outcome::LossWithoutReset,
        Outcome::Hung,
        Outcome::EventBudget,
        Outcome::TimeLimit,
    ];
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::ResetWithoutLoss => "reset-without-loss",
            Outcome::ResetWithLoss => "reset-with-loss",
            Outcome::LossWithoutReset => "loss-without-reset",
            Outcome::Hung => "hung",
            Outcome::EventBudget => "event-budget",
            Outcome::TimeLimit => "time-limit",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.iter().copied().find(|o| o.key() == s)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Reset {
    pub t_ns: Instant,
    /// The sender of the RST.
    pub from: Addr,
    pub to: Addr,
    pub state: State,
    pub cause: ResetCause,
    /// The receiving stack acted on it (closed or refused the connection, or
    /// ended TIME-WAIT). An RST can also be lost, or ignored as out of window.
    pub accepted: bool,
}

impl Reset {
    /// An RST that tells the run's story. Not one that merely answers a
    /// straggler (a late or duplicated segment) for a connection already gone,
    /// and that nobody acted on: after a complete close that is noise, and
    /// real stacks send it too (docs/sources.md#tcpsim-stray-rst).
    pub fn matters(&self) -> bool {
        self.accepted || self.cause != RstCause::NoConnection
    }
}

/// Why an RST was sent, as far as the trace's producer knows it. The
/// simulator always knows; on a real kernel only the segment is seen, so its
/// RSTs are `unobserved` (and expectations compare only who sent them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResetCause {
    Known(RstCause),
    Unobserved,
}

impl ResetCause {
    /// The cause, when it is known.
    pub fn known(self) -> Option<RstCause> {
        match self {
            ResetCause::Known(c) => Some(c),
            ResetCause::Unobserved => None,
        }
    }
    /// The kebab-case name (`unobserved` when not known).
    pub fn key(self) -> &'static str {
        self.known().map_or("unobserved", RstCause::key)
    }
}

impl PartialEq<RstCause> for ResetCause {
    fn eq(&self, c: &RstCause) -> bool {
        *self == ResetCause::Known(*c)
    }
}

impl std::fmt::Display for ResetCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResetCause::Known(c) => c.fmt(f),
            ResetCause::Unobserved => f.write_str("cause not observable"),
        }
    }
}

impl schemars::JsonSchema for ResetCause {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ResetCause".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut keys: Vec<&str> = RstCause::ALL.iter().map(|c| c.key()).collect();
        keys.push(ResetCause::Unobserved.key());
        schemars::json_schema!({
            "description": "An RST's cause, or the key of one whose cause the trace cannot show.",
            "type": "string",
            "enum": keys
        })
    }
}

impl Serialize for ResetCause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

/// Where lost bytes were lost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Loss {
    pub bytes: u64,
    /// "sender" or "receiver".
    pub side: &'static str,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema, Default)]
pub struct Direction {
    pub from: Option<Addr>,
    pub to: Option<Addr>,
    /// Bytes the writing application wrote successfully.
    pub written: u64,
    /// Bytes that entered the reader's receive buffer in order.
    pub delivered: u64,
    /// Bytes the reading application read.
    pub read: u64,
    /// written − read.
    pub lost: u64,
    pub losses: Vec<Loss>,
    /// Loss the writer never saw as an error.
    pub silent: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Endpoint {
    pub addr: Addr,
    /// States in order, from the first.
    pub states: Vec<State>,
    pub final_state: State,
    /// Errors its application calls returned on this connection.
    pub errors: Vec<Errno>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Connection {
    /// The endpoint that sent the first SYN, then the other.
    pub endpoints: [Endpoint; 2],
    /// [0] = endpoints[0] → endpoints[1], [1] the reverse.
    pub directions: [Direction; 2],
}

/// A step whose result differed from what it expected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StepMismatch {
    pub step: u32,
    pub proc: u16,
    pub expected: String,
    pub actual: String,
    pub origin: Option<String>,
}

/// A step that never ran or never finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Stuck {
    pub proc: u16,
    pub step: u32,
    pub what: String,
    /// The call it is blocked in, by its scenario word (`close`, `read`…);
    /// `None` when it is not blocked (steps left, never started).
    pub blocked_in: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Verdict {
    pub outcome: Outcome,
    pub end: EndReason,
    /// When the run ended: its last event, or the time limit when that stopped it.
    pub end_ns: Instant,
    pub events: u64,
    /// The limits the run had: a run stopped by one reports it.
    pub limits: Limits,
    pub segments_sent: u64,
    pub segments_dropped: u64,
    pub resets: Vec<Reset>,
    pub connections: Vec<Connection>,
    pub step_mismatches: Vec<StepMismatch>,
    /// Processes blocked in a call, or with steps left, when the run ended.
    pub stuck: Vec<Stuck>,
}

impl Verdict {
    pub fn lost_bytes(&self) -> u64 {
        self.connections
            .iter()
            .flat_map(|c| &c.directions)
            .map(|d| d.lost)
            .sum()
    }
    pub fn silent_loss(&self) -> bool {
        self.connections
            .iter()
            .flat_map(|c| &c.directions)
            .any(|d| d.silent)
    }
    /// The RSTs sent for causes other than stray segments.
    pub fn reset_causes(&self) -> Vec<RstCause> {
        self.resets.iter().filter_map(|r| r.cause.known()).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
struct DirTally {
    written: u64,
    delivered: u64,
    read: u64,
    recv_discards: Vec<(DiscardCause, u64)>,
    send_discards: Vec<(DiscardCause, u64)>,
    refused_by: Option<RstCause>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ConnTally {
    ends: [Addr; 2],
    // Inline (a close passes few states, rarely an error): a world's clone,
    // which the explorer makes per choice, allocates nothing for them.
    states: [SmallVec<[State; 8]>; 2],
    errors: [SmallVec<[Errno; 2]>; 2],
    dirs: [DirTally; 2],
}

/// Watches trace entries and keeps the tallies a verdict needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Observer {
    /// (time, sender's view of the connection, state, cause, accepted)
    resets: Vec<(Instant, model::Conn, State, ResetCause, bool)>,
    /// Inline for the usual one connection (see `ConnTally`).
    conns: SmallVec<[ConnTally; 1]>,
    sent: u64,
    dropped: u64,
    pub(crate) mismatches: Vec<(u32, u16, String, String, Option<String>)>,
}

impl Observer {
    /// The tally of a connection and which end `local` is (creating it).
    #[inline]
    fn conn(&mut self, local: Addr, remote: Addr) -> (&mut ConnTally, usize) {
        // The usual one connection first, without a search loop.
        if let Some(c) = self.conns.first_mut() {
            if c.ends == [local, remote] || c.ends == [remote, local] {
                let side = usize::from(c.ends[0] != local);
                return (&mut self.conns[0], side);
            }
        }
        self.conn_slow(local, remote)
    }

    #[inline(never)]
    fn conn_slow(&mut self, local: Addr, remote: Addr) -> (&mut ConnTally, usize) {
        let i = match self.conns.iter().position(|c| {
            (c.ends[0] == local && c.ends[1] == remote)
                || (c.ends[0] == remote && c.ends[1] == local)
        }) {
            Some(i) => i,
            None => {
                self.conns.push(ConnTally {
                    ends: [local, remote],
                    states: Default::default(),
                    errors: Default::default(),
                    dirs: [DirTally::default(), DirTally::default()],
                });
                self.conns.len() - 1
            }
        };
        let c = &mut self.conns[i];
        let side = usize::from(c.ends[0] != local);
        (c, side)
    }

    pub fn observe(&mut self, e: &Entry) {
        self.observe_what(e.t_ns, &e.what);
    }

    /// Whether `observe` does anything with an entry of this kind: the world
    /// builds no other entry when it keeps no trace.
    #[inline]
    pub(crate) fn tallies(what: &What) -> bool {
        matches!(
            what,
            What::Send { .. }
                | What::Inject { .. }
                | What::Drop { .. }
                | What::Model { .. }
                | What::RstSeen { .. }
        )
    }

    /// `observe`, for an entry at `t_ns` not yet built.
    pub(crate) fn observe_what(&mut self, t_ns: Instant, what: &What) {
        match *what {
            What::Send { .. } => self.sent += 1,
            // Injected payload is written by no application: it counts as
            // its host's, once per injected segment, so what becomes of it
            // (read, or lost) adds up like written data.
            What::Inject { seg, .. } => {
                self.sent += 1;
                let (c, side) = self.conn(seg.src, seg.dst);
                c.dirs[side].written += u64::from(seg.len);
            }
            What::Drop { .. } => self.dropped += 1,
            What::Model { event } => self.model_event(t_ns, event),
            What::RstSeen { conn, state } => {
                self.resets
                    .push((t_ns, conn, state, ResetCause::Unobserved, false))
            }
            // Not tallied (`tallies` says so): calls and their returns,
            // arrivals, duplicates, process life.
            What::Call { .. }
            | What::Return { .. }
            | What::Blocked { .. }
            | What::Fork { .. }
            | What::Exit { .. }
            | What::Sleep { .. }
            | What::Finished { .. }
            | What::Recv { .. }
            | What::Duplicate { .. } => {}
        }
    }

    /// Forgets what only reports use: how many segments were sent and
    /// dropped, and when each RST went out (the explorer's canonical states
    /// keep the tallies that decide an outcome, not these).
    pub(crate) fn forget_report_details(&mut self) {
        self.sent = 0;
        self.dropped = 0;
        for r in &mut self.resets {
            r.0 = Instant::ZERO;
        }
    }

    /// A step whose result differed from its `= EXPECTED`, for producers of
    /// traces other than the simulator's world (a kernel run).
    pub fn step_mismatch(&mut self, m: StepMismatch) {
        self.mismatches
            .push((m.step, m.proc, m.expected, m.actual, m.origin));
    }

    fn model_event(&mut self, t: Instant, ev: Event) {
        match ev {
            Event::State { conn, from, to, .. } => self.state_changed(conn, from, to),
            Event::RstSent { conn, state, cause } => self.rst_sent(t, conn, state, cause),
            Event::Discard {
                conn,
                buffer,
                bytes,
                cause,
            } => {
                let (c, side) = self.conn(conn.local, conn.remote);
                match buffer {
                    Buffer::Send => c.dirs[side].send_discards.push((cause, bytes)),
                    Buffer::Receive => c.dirs[1 - side].recv_discards.push((cause, bytes)),
                }
            }
            Event::Delivered { conn, bytes } => {
                let (c, side) = self.conn(conn.local, conn.remote);
                c.dirs[1 - side].delivered += bytes;
            }
            Event::AppWrote { conn, bytes, .. } => {
                let (c, side) = self.conn(conn.local, conn.remote);
                c.dirs[side].written += bytes;
            }
            Event::AppRead { conn, bytes, .. } => {
                let (c, side) = self.conn(conn.local, conn.remote);
                c.dirs[1 - side].read += bytes;
            }
            Event::AppError { conn, errno, .. } => {
                if conn.remote.port == 0 {
                    return;
                }
                let (c, side) = self.conn(conn.local, conn.remote);
                c.errors[side].push(errno);
            }
            Event::RstReceived { conn, .. } => self.rst_received(conn),
            Event::CallDone { .. }
            | Event::Timer { .. }
            | Event::SynDropped { .. }
            | Event::Ignored { .. } => {}
        }
    }

    /// A connection's end changed state: the path of its states grows.
    fn state_changed(&mut self, conn: model::Conn, from: State, to: State) {
        if conn.remote.port == 0
            || to == State::Listen
            || from == State::Listen && to == State::Closed
        {
            return; // a listener, not a connection
        }
        let (c, side) = self.conn(conn.local, conn.remote);
        if c.states[side].is_empty() {
            c.states[side].push(from);
        }
        c.states[side].push(to);
    }

    /// An RST went out: a reset to report, and data refused if that is its cause.
    fn rst_sent(&mut self, t: Instant, conn: model::Conn, state: State, cause: RstCause) {
        self.resets
            .push((t, conn, state, ResetCause::Known(cause), false));
        if matches!(cause, RstCause::DataAfterClose | RstCause::DataAfterShutRd) {
            let (c, side) = self.conn(conn.local, conn.remote);
            let dir = &mut c.dirs[1 - side];
            dir.refused_by.get_or_insert(cause);
        }
    }

    /// An RST arrived: the latest one the peer sent on this connection is the one acted on.
    fn rst_received(&mut self, conn: model::Conn) {
        let sent = self
            .resets
            .iter_mut()
            .rev()
            .find(|r| !r.4 && r.1.local == conn.remote && r.1.remote == conn.local);
        if let Some(r) = sent {
            r.4 = true;
        }
    }

    /// The verdict, given how the run ended and who is stuck.
    pub fn finish(
        &self,
        end: EndReason,
        end_ns: Instant,
        events: u64,
        limits: Limits,
        stuck: Vec<Stuck>,
    ) -> Verdict {
        let resets = self.reset_list();
        let connections: Vec<Connection> = self
            .conns
            .iter()
            .filter(|c| !c.states[0].is_empty() || !c.states[1].is_empty())
            .map(connection)
            .collect();
        Verdict {
            outcome: outcome(end, &stuck, &resets, &connections),
            end,
            end_ns,
            events,
            limits,
            segments_sent: self.sent,
            segments_dropped: self.dropped,
            resets,
            connections,
            step_mismatches: self.mismatch_list(),
            stuck,
        }
    }

    fn reset_list(&self) -> Vec<Reset> {
        self.resets
            .iter()
            .map(|&(t, conn, state, cause, accepted)| Reset {
                t_ns: t,
                from: conn.local,
                to: conn.remote,
                state,
                cause,
                accepted,
            })
            .collect()
    }

    fn mismatch_list(&self) -> Vec<StepMismatch> {
        self.mismatches
            .iter()
            .map(|(step, proc, expected, actual, origin)| StepMismatch {
                step: *step,
                proc: *proc,
                expected: expected.clone(),
                actual: actual.clone(),
                origin: origin.clone(),
            })
            .collect()
    }
}

/// A connection tally as reported: the end that sent the first SYN comes first.
fn connection(c: &ConnTally) -> Connection {
    // The tally's end `i ^ swap` is reported as end `i`, read in place (a
    // swapped copy of the tally was 440 of the small close's 56,800
    // instructions per run).
    let swap = usize::from(
        c.states[0].first() != Some(&State::Closed) && c.states[1].first() == Some(&State::Closed),
    );
    let endpoints = [0, 1].map(|i| Endpoint {
        addr: c.ends[i ^ swap],
        final_state: *c.states[i ^ swap].last().unwrap_or(&State::Closed),
        states: c.states[i ^ swap].to_vec(),
        errors: c.errors[i ^ swap].to_vec(),
    });
    let directions = [0, 1].map(|i| direction(c, i ^ swap));
    Connection {
        endpoints,
        directions,
    }
}

/// The run's outcome: whether a reset mattered, the run was stopped by a
/// limit before it finished, a process hung, or data was lost.
fn outcome(end: EndReason, stuck: &[Stuck], resets: &[Reset], conns: &[Connection]) -> Outcome {
    let lost: u64 = conns
        .iter()
        .flat_map(|c| &c.directions)
        .map(|d| d.lost)
        .sum();
    if resets.iter().any(Reset::matters) {
        return match lost > 0 {
            true => Outcome::ResetWithLoss,
            false => Outcome::ResetWithoutLoss,
        };
    }
    // Bytes still in flight when a limit stops the run are not lost: the run
    // did not get to see what becomes of them.
    match end {
        EndReason::EventBudget => return Outcome::EventBudget,
        EndReason::TimeLimit => return Outcome::TimeLimit,
        EndReason::Quiescent => {}
    }
    let hung = stuck.iter().any(|s| s.blocked_in.is_some());
    match (hung, lost > 0) {
        (true, _) => Outcome::Hung,
        (false, true) => Outcome::LossWithoutReset,
        (false, false) => Outcome::Clean,
    }
}

/// Why bytes never left the sender, when its send buffer was discarded. The
/// buffer also holds bytes sent but not yet acknowledged; those that had
/// already arrived count as delivered (and are reported at the receiver if
/// lost there), so the buffer's size and the bytes lost at the sender differ
/// by them: say so, or the trace's discard line and the verdict look at odds.
fn send_discard_words(cause: DiscardCause, discards: &[(DiscardCause, u64)], lost: u64) -> String {
    let discarded: u64 = discards.iter().map(|d| d.1).sum();
    if discarded <= lost {
        return cause.to_string();
    }
    format!(
        "{cause} ({discarded} B discarded, of which {} B had already arrived unacknowledged)",
        discarded - lost
    )
}

/// Direction `i` of a connection tally: where its lost bytes went.
fn direction(c: &ConnTally, i: usize) -> Direction {
    let d = &c.dirs[i];
    let lost = d.written.saturating_sub(d.read);
    let mut losses = Vec::new();
    if lost > 0 {
        let mut at_receiver = 0;
        for (cause, bytes) in &d.recv_discards {
            losses.push(Loss {
                bytes: *bytes,
                side: "receiver",
                why: cause.to_string(),
            });
            at_receiver += bytes;
        }
        let unread = d
            .delivered
            .saturating_sub(d.read)
            .saturating_sub(at_receiver);
        if unread > 0 {
            losses.push(Loss {
                bytes: unread,
                side: "receiver",
                why: "never read: still in the receive buffer when the run ended".into(),
            });
        }
        let undelivered = d.written.saturating_sub(d.delivered);
        if undelivered > 0 {
            let why = if let Some(cause) = d.refused_by {
                format!("refused by the reader's stack ({cause})")
            } else if let Some((cause, _)) = d.send_discards.first() {
                send_discard_words(*cause, &d.send_discards, undelivered)
            } else {
                "never delivered: queued or in flight when the run ended".into()
            };
            losses.push(Loss {
                bytes: undelivered,
                side: "sender",
                why,
            });
        }
    }
    Direction {
        from: Some(c.ends[i]),
        to: Some(c.ends[1 - i]),
        written: d.written,
        delivered: d.delivered,
        read: d.read,
        lost,
        losses,
        silent: lost > 0 && c.errors[i].is_empty(),
    }
}
