//! Runs a parsed script against ONE simulated endpoint, as packetdrill runs
//! it against a kernel: the script plays the remote peer. System calls go to
//! the model's `Host::call` through the one call vocabulary (`Call<Fds>`);
//! inbound segments are handed to `Host::on_segment` at their script time;
//! outbound segments are what the host emits, matched in order against `>`
//! lines. Time is virtual: between events the host's timers run
//! (`Host::poll_at`, `Host::on_timers`), so a retransmission shows up at the
//! time the model says.
//!
//! Matching follows google/packetdrill `gtests/net/packetdrill/run_packet.c`
//! (`verify_outbound_live_tcp`, `check_field`) and timing `run.c`
//! (`verify_time`, `adjust_relative_event_times`): a relative time counts
//! from the previous event as it happened, consecutive inbound packets from
//! the previous one's script time; an outbound packet must appear within
//! `tolerance_usecs` (default 4000, `config.c`) of its time.

use super::parse::{Dir, Event, Script, Syscall, Time, Usecs, What};
use super::report::{self, Failure, Unsupported};
use model::{
    CallResult, Event as HostEvent, Host, HostConfig, Instant, Output, Personality, Pid, Segment,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// The endpoint under test.
const LOCAL: u16 = 0;
/// packetdrill's `--bind_port` and `--connect_port` default (config.c).
pub(super) const SCRIPT_PORT: u16 = 8080;
/// The peer's port for connections it opens (any port works; this one is fixed).
const REMOTE_EPHEMERAL_PORT: u16 = 48_000;
/// The peer's ISN: script sequence numbers of `<` lines count from it.
pub(super) const REMOTE_ISN: u32 = 0x1000_0000;
/// packetdrill's default `--tolerance_usecs` (gtests/net/packetdrill/config.c).
pub const DEFAULT_TOLERANCE_USECS: Usecs = 4000;
/// How long to wait for an outbound packet at `*` time, in virtual time.
const ANY_TIME_WAIT_USECS: Usecs = 600_000_000;
/// The local MSS: packetdrill's tun device has MTU 1500 (netdev.c).
const LOCAL_MSS: u32 = 1460;

/// The result of one script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The first mismatch, if any (the run stops there).
    pub failure: Option<Failure>,
    /// Constructs the runner could not honour, in order. Any makes the script
    /// unsupported; the run goes on past them to say what the rest does.
    pub unsupported: Vec<Unsupported>,
}

impl Outcome {
    /// `pass`, `fail` or `unsupported` (a failure after an unsupported line
    /// may be its consequence, so it does not count as a failure).
    pub fn verdict(&self) -> &'static str {
        match (&self.failure, self.unsupported.first()) {
            (Some(f), Some(u)) if f.line < u.line => "fail",
            (_, Some(_)) => "unsupported",
            (Some(_), None) => "fail",
            (None, None) => "pass",
        }
    }
}

/// What the runner knows of the script's one connection.
#[derive(Default)]
pub(super) struct Conn {
    pub(super) local_isn: Option<u32>,
    pub(super) local_port: Option<u16>,
    pub(super) remote_port: u16,
    /// The peer's window shift, once both SYNs offered window scaling.
    pub(super) peer_shift: Option<u8>,
    /// Our window shift as the script's outbound SYN line states it.
    pub(super) our_shift: Option<u8>,
    /// The script's `>` SYN line listed its options without `wscale`.
    pub(super) our_syn_without_wscale: bool,
}

/// A call that blocked in the model, waiting to complete.
pub(super) struct Pending {
    pub(super) line: usize,
    pub(super) call: Syscall,
    /// (start, end) of the expected return, script time.
    pub(super) window: (Usecs, Usecs),
}

/// The runner's state.
pub struct Runner {
    pub(super) host: Host,
    pub(super) pid: Pid,
    pub(super) now_usecs: Usecs,
    /// Emitted, not yet matched: (time, segment).
    pub(super) sniffed: VecDeque<(Usecs, Segment)>,
    pub(super) conn: Conn,
    pub(super) tolerance_usecs: Usecs,
    pub(super) last_event: Option<(Usecs, bool)>,
    pub(super) pending: Option<Pending>,
    /// O_NONBLOCK as the script set it, per descriptor (F_GETFL answers from it).
    pub(super) nonblocking: BTreeMap<u32, bool>,
    pub(super) out: Outcome,
    /// The personality's knobs may be changed by the script's sysctls.
    pub(super) personality: Personality,
    /// A blocked call's result, once the host completes it.
    pub(super) done: Option<CallResult>,
    /// Script descriptor numbers to the model's.
    pub(super) fds: BTreeMap<u32, u32>,
    /// The script descriptor `socket()` or `accept()` returned last
    /// (packetdrill's `socket_under_test`, which tcp_info is read from).
    pub(super) under_test: Option<u32>,
    /// What the current event's relative time counts from (0 for an
    /// absolute time): a blocking call's `...END` counts from it too.
    pub(super) anchor_usecs: Usecs,
}

impl Runner {
    pub fn new(personality: &Personality, tolerance_usecs: Usecs) -> Runner {
        let cfg = HostConfig {
            id: LOCAL,
            mss: LOCAL_MSS,
            loopback: false,
            isn_key: 0x7063_6b74_6472_696c, // "pcktdril": any fixed key
            isn_fixed: None,
            ephemeral_first: 40_000,
            // packetdrill's script times the local calls itself.
            wake_latency: model::Duration::ZERO,
        };
        let mut host = Host::new(cfg, Arc::new(personality.clone()));
        let pid = host.spawn();
        Runner {
            host,
            pid,
            now_usecs: 0,
            sniffed: VecDeque::new(),
            conn: Conn {
                remote_port: REMOTE_EPHEMERAL_PORT,
                ..Conn::default()
            },
            tolerance_usecs,
            last_event: None,
            pending: None,
            nonblocking: BTreeMap::new(),
            out: Outcome {
                failure: None,
                unsupported: Vec::new(),
            },
            personality: personality.clone(),
            done: None,
            fds: BTreeMap::new(),
            under_test: None,
            anchor_usecs: 0,
        }
    }

    /// Runs every event until the first mismatch.
    pub fn run(mut self, script: &Script) -> Outcome {
        for (i, event) in script.events.iter().enumerate() {
            let burst_goes_on = inbound_follows(&script.events[i + 1..]);
            if let Err(f) = self.event(event, burst_goes_on) {
                self.out.failure = Some(f);
                return self.out;
            }
        }
        if let Some(p) = self.pending.take() {
            let f = report::fail(
                p.line,
                "error executing system call: blocking call still running at the end of the script"
                    .into(),
            );
            self.out.failure = Some(f);
        }
        self.out
    }

    pub(super) fn unsupported(&mut self, line: usize, reason: String) {
        self.out.unsupported.push(Unsupported { line, reason });
    }

    /// When an event happens (script time, usecs), per `adjust_relative_event_times`.
    fn schedule(&mut self, e: &Event) -> (Usecs, Usecs) {
        let inbound = matches!(&e.what, What::Packet(p) if p.dir == Dir::Inbound);
        let offset = match self.last_event {
            Some((t, true)) if inbound => t,
            _ => self.now_usecs,
        };
        self.anchor_usecs = match e.time {
            Time::Rel(_) | Time::RelRange(..) => offset,
            _ => 0,
        };
        match e.time {
            Time::Any => (self.now_usecs, self.now_usecs + ANY_TIME_WAIT_USECS),
            Time::Abs(t) => (t, t),
            Time::Rel(t) => (offset + t, offset + t),
            Time::AbsRange(a, b) => (a, b),
            Time::RelRange(a, b) => (offset + a, offset + b),
        }
    }

    /// Runs one event; `burst_goes_on`: another `<` segment follows at this
    /// instant (`inbound_follows`).
    fn event(&mut self, e: &Event, burst_goes_on: bool) -> Result<(), Failure> {
        let (start, end) = self.schedule(e);
        let inbound = matches!(&e.what, What::Packet(p) if p.dir == Dir::Inbound);
        match &e.what {
            What::Packet(p) if p.dir == Dir::Outbound => self.outbound(e.line, p, (start, end))?,
            What::Packet(p) => {
                self.advance_to_event(start.max(self.now_usecs))?;
                self.inbound(e.line, p, !burst_goes_on);
            }
            // A call blocked in the model must return before the next one
            // is made (one process, one call at a time): the timer that
            // ends it at this instant comes first.
            What::Syscall(s) if self.pending.is_some() => {
                self.advance(start.max(self.now_usecs))?;
                self.syscall(e.line, s)?;
            }
            What::Syscall(s) => {
                self.advance_to_event(start.max(self.now_usecs))?;
                self.syscall(e.line, s)?;
            }
            What::Command(c) => {
                self.advance_to_event(start.max(self.now_usecs))?;
                self.command(e.line, c)?;
            }
            What::Code(c) => self.code(e.line, c)?,
        }
        self.last_event = Some((if inbound { start } else { self.now_usecs }, inbound));
        self.settle()?;
        Ok(())
    }

    /// Runs the host's timers up to `to` (script usecs), those due at `to` too.
    pub(super) fn advance(&mut self, to: Usecs) -> Result<(), Failure> {
        self.run_timers(to, true)
    }

    /// Brings time to a script event at `to`: the timers due before it run,
    /// those due at `to` wait until after it. packetdrill wakes at the event's
    /// time and makes the call (or writes the packet) there; a kernel timer
    /// due at the same instant fires no earlier than the tick after its
    /// expiry (jiffies round up, the timer wheel adds slack), so on a kernel
    /// the script's event comes first. A script exported from a run
    /// (export.rs) says the same: the world ran that step before the timer.
    fn advance_to_event(&mut self, to: Usecs) -> Result<(), Failure> {
        self.run_timers(to, false)
    }

    /// Runs the host's timers due before `to`, and at `to` if `at_to`.
    fn run_timers(&mut self, to: Usecs, at_to: bool) -> Result<(), Failure> {
        while let Some(at) = self.host.poll_at() {
            let at_usecs = (at.as_ns() / 1000) as Usecs;
            if at_usecs > to || (at_usecs == to && !at_to) {
                break;
            }
            self.now_usecs = self.now_usecs.max(at_usecs);
            let mut out = Output::default();
            self.host.on_timers(at.max(self.instant()), &mut out);
            self.absorb(out);
            self.settle()?;
        }
        self.now_usecs = self.now_usecs.max(to);
        Ok(())
    }

    pub(super) fn instant(&self) -> Instant {
        Instant::from_ns(self.now_usecs as u64 * 1000)
    }

    /// Queues the host's segments; a blocked call's completion is kept for `settle`.
    pub(super) fn absorb(&mut self, out: Output) {
        for seg in out.segments {
            self.sniffed.push_back((self.now_usecs, seg));
        }
        for ev in out.events {
            if let HostEvent::CallDone { pid, result } = ev {
                if pid == self.pid {
                    self.done = Some(result);
                }
            }
        }
    }
}

impl Runner {
    /// Checks a blocked call that has completed.
    pub(super) fn settle(&mut self) -> Result<(), Failure> {
        let Some(result) = self.done.take() else {
            return Ok(());
        };
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        self.check_result(p.line, &p.call, result)?;
        self.note_fd(&p.call, result);
        let (a, b) = p.window;
        report::check_time(
            p.line,
            "system call return",
            (a, b),
            self.now_usecs,
            self.tolerance_usecs,
        )
    }
}

/// Whether the next event that is not a `>` line is a `<` line at `+0`: the
/// host's blocked calls then wait for it, as the world retries them only after
/// the last segment reaching a host at one instant (`Host::on_segment_of_instant`;
/// the `>` lines between are the ACKs those segments drew).
fn inbound_follows(rest: &[Event]) -> bool {
    let outbound = |e: &Event| matches!(&e.what, What::Packet(p) if p.dir == Dir::Outbound);
    rest.iter().find(|e| !outbound(e)).is_some_and(|e| {
        matches!(&e.what, What::Packet(p) if p.dir == Dir::Inbound) && e.time == Time::Rel(0)
    })
}
