//! The atlas's axes and each cell's scenario.
//!
//! Two hosts: `app` (the personality the atlas describes) accepts a
//! connection from `peer`, is brought into a state, and makes one teardown
//! call at [`CALL_MS`]; the peer then reads twice and writes twice
//! ([`PROBE_MS`]); where the application still holds a descriptor it reads
//! what it can at [`FINAL_MS`], which says which bytes were lost. Every
//! scenario is written in the step language (the call vocabulary of
//! `model/src/call.rs`), so `tcpsim run` and `tcpsim real` replay it.

use crate::scenario::steps::{Op, StepDef, Tok};
use crate::scenario::{self, Scenario};
use model::{Dest, Duration, How, Instant, Personality, ReadLen};
use serde::Serialize;
use sim::spec::At;
use sim::WorldSpec;
use std::fmt::Write;
use std::sync::Arc;

/// One-way delay of the network, both directions (ms): long enough that
/// the states between a FIN and its ACK last 40 ms, and that the kernel
/// check runs through the delay line (docs/real-kernel.md).
pub const DELAY_MS: u64 = 20;
/// When the peer connects.
const CONNECT_MS: u64 = 1;
/// When the application dups its descriptor or forks.
const SHARE_MS: u64 = 70;
/// When the peer writes the bytes the application leaves unread.
const UNREAD_MS: u64 = 80;
/// When the shutdowns that lead to CLOSE-WAIT, FIN-WAIT-2 and TIME-WAIT are made.
const EARLY_MS: u64 = 150;
/// When the peer's FIN that leads to TIME-WAIT is sent (after the ACK of ours).
const TIME_WAIT_PEER_MS: u64 = 260;
/// When both sides shut down for CLOSING: the FINs cross at 290 ms.
const CLOSING_MS: u64 = 270;
/// When the application's FIN for FIN-WAIT-1 and LAST-ACK is sent.
const LATE_MS: u64 = 290;
/// The teardown call.
pub const CALL_MS: u64 = 300;
/// The peer's reads and writes; the wire is watched from the call until then.
pub const PROBE_MS: u64 = 600;
/// How long the peer waits between its two writes (one round trip and more).
const SECOND_WRITE_MS: u64 = 100;
/// The application's last reads, where it still has a descriptor.
pub const FINAL_MS: u64 = 800;
/// Bytes the peer writes that the application has not read at the call.
pub const UNREAD_BYTES: u64 = 1000;
/// Bytes the application writes 15 ms before the call (more than the
/// initial congestion window, so part of them is not yet sent).
pub const QUEUED_BYTES: u64 = 30000;
/// Bytes of each of the peer's writes after the call.
pub const LATER_BYTES: u64 = 100;
/// Every socket's SO_SNDBUF, so the queued bytes fit on every stack (and the
/// kernel does not autotune it).
const SNDBUF_BYTES: u32 = 65536;
/// SO_LINGER's time for the "linger N" calls, in the personality's unit.
pub const LINGER_N: u32 = 1;
/// The size of each read.
const READ_BYTES: u64 = 1 << 20;

/// A state an application can close from.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    Established,
    CloseWait,
    FinWait1,
    FinWait2,
    Closing,
    LastAck,
    TimeWait,
    /// A listener with a connection it has not accepted.
    Listener,
}

impl Setting {
    pub const ALL: [Setting; 8] = [
        Setting::Established,
        Setting::CloseWait,
        Setting::FinWait1,
        Setting::FinWait2,
        Setting::Closing,
        Setting::LastAck,
        Setting::TimeWait,
        Setting::Listener,
    ];

    /// The RFC 9293 spelling (the listener: its queued connection's).
    pub fn name(self) -> &'static str {
        match self {
            Setting::Established => "ESTABLISHED",
            Setting::CloseWait => "CLOSE-WAIT",
            Setting::FinWait1 => "FIN-WAIT-1",
            Setting::FinWait2 => "FIN-WAIT-2",
            Setting::Closing => "CLOSING",
            Setting::LastAck => "LAST-ACK",
            Setting::TimeWait => "TIME-WAIT",
            Setting::Listener => "LISTEN (unaccepted connection)",
        }
    }

    /// The word of a file name or command line.
    pub fn slug(self) -> &'static str {
        match self {
            Setting::Established => "established",
            Setting::CloseWait => "close-wait",
            Setting::FinWait1 => "fin-wait-1",
            Setting::FinWait2 => "fin-wait-2",
            Setting::Closing => "closing",
            Setting::LastAck => "last-ack",
            Setting::TimeWait => "time-wait",
            Setting::Listener => "listener",
        }
    }

    /// The state the application's connection is in at the call.
    pub fn state(self) -> model::State {
        use model::State as S;
        match self {
            Setting::Established | Setting::Listener => S::Established,
            Setting::CloseWait => S::CloseWait,
            Setting::FinWait1 => S::FinWait1,
            Setting::FinWait2 => S::FinWait2,
            Setting::Closing => S::Closing,
            Setting::LastAck => S::LastAck,
            Setting::TimeWait => S::TimeWait,
        }
    }

    /// Whether the peer has sent its FIN before the call.
    pub fn peer_fin(self) -> bool {
        matches!(
            self,
            Setting::CloseWait | Setting::Closing | Setting::LastAck | Setting::TimeWait
        )
    }
}

/// A teardown call.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    Close,
    ShutdownRd,
    ShutdownWr,
    ShutdownRdwr,
    /// SO_LINGER {1, 0}, then close.
    Linger0,
    /// SO_LINGER {1, N}, then close, blocking.
    LingerN,
    /// SO_LINGER {1, N} on a non-blocking socket, then close.
    LingerNNonblocking,
    /// The process exits with the descriptor open.
    Exit,
    /// close() of one of two descriptors (dup).
    CloseDup,
    /// The parent's close() after a fork; the child keeps its copy.
    CloseForked,
}

impl Call {
    pub const ALL: [Call; 10] = [
        Call::Close,
        Call::ShutdownRd,
        Call::ShutdownWr,
        Call::ShutdownRdwr,
        Call::Linger0,
        Call::LingerN,
        Call::LingerNNonblocking,
        Call::Exit,
        Call::CloseDup,
        Call::CloseForked,
    ];

    /// As a table shows it.
    pub fn name(self) -> &'static str {
        match self {
            Call::Close => "close",
            Call::ShutdownRd => "shutdown RD",
            Call::ShutdownWr => "shutdown WR",
            Call::ShutdownRdwr => "shutdown RDWR",
            Call::Linger0 => "linger 0 + close",
            Call::LingerN => "linger N + close",
            Call::LingerNNonblocking => "linger N + close, non-blocking",
            Call::Exit => "exit",
            Call::CloseDup => "close one dup",
            Call::CloseForked => "close after fork",
        }
    }

    /// The word of a file name or command line.
    pub fn slug(self) -> &'static str {
        match self {
            Call::Close => "close",
            Call::ShutdownRd => "shutdown-rd",
            Call::ShutdownWr => "shutdown-wr",
            Call::ShutdownRdwr => "shutdown-rdwr",
            Call::Linger0 => "linger-0",
            Call::LingerN => "linger-n",
            Call::LingerNNonblocking => "linger-n-nonblocking",
            Call::Exit => "exit",
            Call::CloseDup => "close-dup",
            Call::CloseForked => "close-forked",
        }
    }

    /// The descriptor the application reads from after the call (and which
    /// process), if it still has one.
    fn survivor(self) -> Option<(&'static str, &'static str)> {
        match self {
            Call::ShutdownRd | Call::ShutdownWr | Call::ShutdownRdwr => Some((APP, "s")),
            Call::CloseDup => Some((APP, "s2")),
            Call::CloseForked => Some((CHILD, "s")),
            _ => None,
        }
    }
}

/// What data is waiting at the call.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
pub struct Data {
    /// The peer's bytes the application has not read.
    pub unread: bool,
    /// The application's bytes not yet acknowledged (some not yet sent).
    pub queued: bool,
}

impl Data {
    pub const ALL: [Data; 4] = [
        Data {
            unread: false,
            queued: false,
        },
        Data {
            unread: true,
            queued: false,
        },
        Data {
            unread: false,
            queued: true,
        },
        Data {
            unread: true,
            queued: true,
        },
    ];

    pub fn name(self) -> &'static str {
        match (self.unread, self.queued) {
            (false, false) => "none",
            (true, false) => "unread",
            (false, true) => "queued",
            (true, true) => "unread + queued",
        }
    }
}

/// A cell's coordinates (the personality aside).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
pub struct Key {
    pub state: Setting,
    pub call: Call,
    pub data: Data,
}

impl Key {
    /// Every key, in table order.
    pub fn all() -> Vec<Key> {
        let mut out = Vec::new();
        for state in Setting::ALL {
            for call in Call::ALL {
                for data in Data::ALL {
                    out.push(Key { state, call, data });
                }
            }
        }
        out
    }

    /// A short name, for file names and messages: `fin-wait-1/linger-0/unread`.
    pub fn slug(&self) -> String {
        let data = match (self.data.unread, self.data.queued) {
            (false, false) => "none",
            (true, false) => "unread",
            (false, true) => "queued",
            (true, true) => "unread-queued",
        };
        format!("{}/{}/{data}", self.state.slug(), self.call.slug())
    }
}

/// Why a key cannot happen, if it cannot.
pub fn impossible(k: &Key) -> Option<&'static str> {
    match (k.state, k.data.queued) {
        (Setting::FinWait2, true) => Some(
            "impossible: FIN-WAIT-2 means the peer acknowledged our FIN, so every byte before it",
        ),
        (Setting::TimeWait, true) => {
            Some("impossible: TIME-WAIT follows the ACK of our FIN, so of every byte before it")
        }
        (Setting::Listener, true) => {
            Some("impossible: nobody accepted the connection, so nothing was written on it")
        }
        _ => None,
    }
}

pub const APP: &str = "app";
pub const PEER: &str = "peer";
pub const CHILD: &str = "child";

fn tok(s: &str) -> Tok {
    Tok {
        text: s.to_string(),
        at: 0..0,
    }
}

fn abs(ms: u64) -> At {
    At::Abs(Instant::ZERO + Duration::from_ms(ms))
}

/// The steps of a cell, in the step language.
struct Script {
    lines: Vec<String>,
    marks: Steps,
}

impl Script {
    /// Adds a step; its index among the scenario's steps.
    fn push(&mut self, at: At, proc: &str, op: Op) -> usize {
        let step = StepDef {
            at,
            after: None,
            label: None,
            proc: tok(proc),
            op,
            expect: None,
            blocked: None,
            segment: None,
        };
        self.lines.push(step.to_string());
        self.lines.len() - 1
    }

    /// A step right after the process's previous one.
    fn then(&mut self, proc: &str, op: Op) -> usize {
        self.push(At::Next, proc, op)
    }
}

fn shutdown(sock: &str, how: How) -> Op {
    Op::Shutdown {
        sock: tok(sock),
        how,
    }
}

fn read(sock: &str) -> Op {
    Op::Read {
        sock: tok(sock),
        len: ReadLen::Bytes(READ_BYTES),
        timeout: None,
    }
}

fn write(sock: &str, bytes: u64) -> Op {
    Op::Write {
        sock: tok(sock),
        bytes,
        more: false,
        timeout: None,
    }
}

fn nonblocking(sock: &str) -> Op {
    Op::Nonblocking {
        sock: tok(sock),
        on: true,
    }
}

/// The socket the call is made on.
fn target(k: &Key) -> &'static str {
    match k.state {
        Setting::Listener => "l",
        _ => "s",
    }
}

/// The handshake: the application listens (and accepts, but on a listener),
/// the peer connects; then the dup or fork the call needs.
fn handshake(sc: &mut Script, k: &Key) {
    sc.push(abs(0), APP, Op::Socket { new: tok("l") });
    let sndbuf = Op::SndBuf {
        sock: tok("l"),
        bytes: SNDBUF_BYTES,
    };
    sc.then(APP, sndbuf);
    let listen = Op::Listen {
        sock: tok("l"),
        port: Some(80),
        backlog: 128,
    };
    sc.then(APP, listen);
    if k.state != Setting::Listener {
        let accept = Op::Accept {
            sock: tok("l"),
            new: tok("s"),
        };
        sc.then(APP, accept);
    }
    let to = Dest {
        host: tok(APP),
        port: 80,
    };
    let connect = Op::Connect { sock: tok("p"), to };
    // The peer's probe writes go at once: with Nagle the second would wait
    // for the application's (delayed) ACK, and the cell would measure that.
    sc.push(abs(CONNECT_MS), PEER, Op::Socket { new: tok("p") });
    let nodelay = Op::NoDelay {
        sock: tok("p"),
        on: true,
    };
    sc.then(PEER, nodelay);
    sc.then(PEER, connect);
    let t = target(k);
    let share = match k.call {
        Call::CloseDup => Some(Op::Dup {
            sock: tok(t),
            new: tok(&format!("{t}2")),
        }),
        Call::CloseForked => Some(Op::Fork { child: tok(CHILD) }),
        _ => None,
    };
    if let Some(op) = share {
        sc.push(abs(SHARE_MS), APP, op);
    }
    if k.data.unread {
        sc.push(abs(UNREAD_MS), PEER, write("p", UNREAD_BYTES));
    }
}

/// The steps that bring the application's connection into the state, with
/// the queued bytes written just before its own shutdown (or the call).
fn reach(sc: &mut Script, k: &Key) {
    let queue = |sc: &mut Script, at_ms: u64| {
        if k.data.queued {
            sc.push(abs(at_ms - 5), APP, write("s", QUEUED_BYTES));
        }
    };
    match k.state {
        Setting::Established | Setting::Listener => queue(sc, CALL_MS - 10),
        Setting::CloseWait => {
            sc.push(abs(EARLY_MS), PEER, shutdown("p", How::Wr));
            queue(sc, CALL_MS - 10);
        }
        Setting::FinWait1 => {
            queue(sc, LATE_MS);
            sc.push(abs(LATE_MS), APP, shutdown("s", How::Wr));
        }
        Setting::FinWait2 => {
            sc.push(abs(EARLY_MS), APP, shutdown("s", How::Wr));
        }
        Setting::Closing => {
            queue(sc, CLOSING_MS);
            sc.push(abs(CLOSING_MS), APP, shutdown("s", How::Wr));
            sc.push(abs(CLOSING_MS), PEER, shutdown("p", How::Wr));
        }
        Setting::LastAck => {
            sc.push(abs(EARLY_MS), PEER, shutdown("p", How::Wr));
            queue(sc, LATE_MS);
            sc.push(abs(LATE_MS), APP, shutdown("s", How::Wr));
        }
        Setting::TimeWait => {
            sc.push(abs(EARLY_MS), APP, shutdown("s", How::Wr));
            sc.push(abs(TIME_WAIT_PEER_MS), PEER, shutdown("p", How::Wr));
        }
    }
}

/// The teardown call at [`CALL_MS`].
fn teardown(sc: &mut Script, k: &Key) {
    let t = target(k);
    let at = abs(CALL_MS);
    let close = || Op::Close { sock: tok(t) };
    let linger = |v| Op::Linger {
        sock: tok(t),
        linger: Some(v),
    };
    sc.marks.call = match k.call {
        Call::Close | Call::CloseDup | Call::CloseForked => sc.push(at, APP, close()),
        Call::ShutdownRd => sc.push(at, APP, shutdown(t, How::Rd)),
        Call::ShutdownWr => sc.push(at, APP, shutdown(t, How::Wr)),
        Call::ShutdownRdwr => sc.push(at, APP, shutdown(t, How::RdWr)),
        Call::Linger0 | Call::LingerN => {
            let n = if k.call == Call::Linger0 { 0 } else { LINGER_N };
            sc.marks.linger = Some(sc.push(at, APP, linger(n)));
            sc.then(APP, close())
        }
        Call::LingerNNonblocking => {
            sc.push(at, APP, nonblocking(t));
            sc.marks.linger = Some(sc.then(APP, linger(LINGER_N)));
            sc.then(APP, close())
        }
        Call::Exit => sc.push(at, APP, Op::Exit {}),
    };
}

/// The peer's two reads and two writes, and the application's last reads.
fn aftermath(sc: &mut Script, k: &Key) {
    sc.push(abs(PROBE_MS), PEER, nonblocking("p"));
    sc.marks.peer_reads = [sc.then(PEER, read("p")), sc.then(PEER, read("p"))];
    let first = sc.then(PEER, write("p", LATER_BYTES));
    let again = At::After(Duration::from_ms(SECOND_WRITE_MS));
    sc.marks.peer_writes = [first, sc.push(again, PEER, write("p", LATER_BYTES))];
    if let (Some((proc, sock)), false) = (k.call.survivor(), k.state == Setting::Listener) {
        sc.push(abs(FINAL_MS), proc, nonblocking(sock));
        sc.marks.final_reads = Some([sc.then(proc, read(sock)), sc.then(proc, read(sock))]);
    }
}

/// Indexes (in the scenario's steps) of the steps an observation reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Steps {
    /// The teardown call (the close after a linger).
    pub call: usize,
    /// The linger setsockopt before it, if any.
    pub linger: Option<usize>,
    /// The peer's reads and writes after the call.
    pub peer_reads: [usize; 2],
    pub peer_writes: [usize; 2],
    /// The application's last reads, if it still has a descriptor.
    pub final_reads: Option<[usize; 2]>,
}

/// The cell's steps and where the observed ones are.
fn script(k: &Key) -> Script {
    let mut sc = Script {
        lines: Vec::new(),
        marks: Steps::default(),
    };
    handshake(&mut sc, k);
    reach(&mut sc, k);
    teardown(&mut sc, k);
    aftermath(&mut sc, k);
    sc
}

/// Where the steps an observation reads are (indexes into the spec's steps,
/// which keep the file's order).
pub fn steps(k: &Key) -> Steps {
    script(k).marks
}

/// The cell's scenario file.
pub fn scenario_text(personality: &str, peer: &str, k: &Key) -> String {
    let sc = script(k);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# The teardown atlas's cell {}: {} in {}, data {} (tcpsim atlas; docs/atlas.md).",
        k.slug(),
        k.call.name(),
        k.state.name(),
        k.data.name()
    );
    let name = k.slug().replace('/', "-");
    let _ = writeln!(
        o,
        "\n[scenario]\nname = \"atlas-{name}\"\nduration = \"2min\""
    );
    let _ = writeln!(o, "\n[hosts.{APP}]\npersonality = \"{personality}\"");
    let _ = writeln!(o, "\n[hosts.{PEER}]\npersonality = \"{peer}\"");
    let _ = writeln!(o, "\n[network]\ndelay = \"{DELAY_MS}ms\"");
    if k.call == Call::CloseForked {
        let _ = writeln!(
            o,
            "\n[processes.{CHILD}]\nhost = \"{APP}\"\nforked_from = \"{APP}\""
        );
    }
    let _ = writeln!(o, "\n[script]\nsteps = [");
    for l in &sc.lines {
        let _ = writeln!(o, "  \"{l}\",");
    }
    o.push_str("]\n");
    o
}

/// The cell's scenario, resolved.
pub fn scenario(personality: &str, peer: &str, k: &Key) -> Scenario {
    let text = scenario_text(personality, peer, k);
    let path = format!("atlas/{}.toml", k.slug());
    let s = scenario::from_text(&path, &text, std::path::Path::new("."), &Default::default());
    s.unwrap_or_else(|d| {
        panic!(
            "the atlas writes valid scenarios: {}\n{text}",
            d[0].render(false)
        )
    })
}

/// The cell's world with these two personalities (`p` may have knobs set).
pub fn spec(p: &Personality, peer: &Personality, k: &Key) -> Arc<WorldSpec> {
    with_personalities(&scenario("linux", "linux", k).spec, p, peer)
}

/// A spec with the application's and the peer's personalities replaced.
pub fn with_personalities(spec: &WorldSpec, p: &Personality, peer: &Personality) -> Arc<WorldSpec> {
    let mut spec = spec.clone();
    spec.hosts[0].personality = Arc::new(p.clone());
    spec.hosts[1].personality = Arc::new(peer.clone());
    Arc::new(spec)
}
