//! The named properties and how one case is checked against them.

use super::gen::{to_file, Call, Case, Layout, Side, Sock, Step};
use crate::scenario::file::ScenarioFile;
use crate::scenario::steps::StepDef;
use crate::scenario::{resolve, Overrides};
use model::{Addr, How, ReadLen, RstCause, State};
use serde::{Deserialize, Serialize};
use sim::invariants::{verdict_violation, Family, Invariants};
use sim::{EndReason, Verdict, World, WorldSpec};
use std::path::Path;
use std::sync::Arc;

/// A property a run must have. Each has a kebab-case name for `--property`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    schemars::JsonSchema,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// No RST is sent.
    NoReset,
    /// Every byte written successfully is read by the peer application, when
    /// that application reads until EOF or an error.
    NoLoss,
    /// No loss that the writer never saw as an error.
    NoSilentLoss,
    /// Both sides drain before closing, nobody uses linger (0 or N),
    /// non-blocking sockets or exit: no RST, no loss, no hang, for any personality pair
    /// and any network faults the retransmission limits (SYN-ACK retries
    /// included) and a FIN-WAIT-2 timer on a half-closed socket survive. (An RST
    /// answering a straggler for a connection its sender has already closed,
    /// `no-connection`, comes after both applications are done: it counts
    /// only through the loss it causes.)
    GracefulCloseIsClean,
    /// When both applications have released every descriptor of the
    /// connection (checked at the end of the run: a close that failed does not
    /// count), both endpoints reach CLOSED or TIME-WAIT and the run goes quiet
    /// before the time limit.
    Terminates,
    /// Two runs of the same scenario and seed give byte-identical traces.
    Deterministic,
    /// After every event, every socket's sequence space in order and nothing
    /// sent that was not written, nothing delivered twice or out of order,
    /// receive buffers and writes that add up, per direction read ≤ delivered
    /// ≤ written; at the end, written = read + lost, every lost byte explained
    /// (`sim::invariants`).
    Invariants,
    /// After every event: no data sent beyond the right edge of the window
    /// the receiver advertised (one octet beyond is a zero-window probe).
    WindowRespected,
    /// The `linux` personality and this host's kernel agree on the case, as
    /// `tcpsim real --compare` compares them (`fuzz::kernel`). Not one of
    /// `ALL`: it needs the kernel, and runs one case at a time.
    AgreesWithKernel,
}

impl Property {
    /// What `tcpsim fuzz` checks by default: the properties every run of the
    /// model must have, whatever the applications do. The others (no RST, no
    /// loss, no silent loss) are findings about close sequences, which most
    /// generated sequences break on purpose: `--property all` adds them, and
    /// `--survey` classifies them.
    pub const DEFAULT: [Property; 5] = [
        Property::GracefulCloseIsClean,
        Property::Terminates,
        Property::Deterministic,
        Property::Invariants,
        Property::WindowRespected,
    ];

    /// In the order of the documentation.
    pub const ALL: [Property; 8] = [
        Property::NoReset,
        Property::NoLoss,
        Property::NoSilentLoss,
        Property::GracefulCloseIsClean,
        Property::Terminates,
        Property::Deterministic,
        Property::Invariants,
        Property::WindowRespected,
    ];

    /// How many properties there are: `p as usize` is below it.
    pub const COUNT: usize = Property::AgreesWithKernel as usize + 1;

    pub fn key(self) -> &'static str {
        match self {
            Property::NoReset => "no-reset",
            Property::NoLoss => "no-loss",
            Property::NoSilentLoss => "no-silent-loss",
            Property::GracefulCloseIsClean => "graceful-close-is-clean",
            Property::Terminates => "terminates",
            Property::Deterministic => "deterministic",
            Property::Invariants => "invariants",
            Property::WindowRespected => "window-respected",
            Property::AgreesWithKernel => "agrees-with-kernel",
        }
    }

    pub fn parse(s: &str) -> Option<Property> {
        Property::ALL.iter().copied().find(|p| p.key() == s)
    }

    /// Model bugs first: with several properties, the first that fails in
    /// this order is reported.
    fn severity(self) -> u8 {
        match self {
            Property::Invariants => 0,
            Property::WindowRespected => 1,
            Property::Deterministic => 2,
            Property::Terminates => 3,
            Property::GracefulCloseIsClean => 4,
            Property::NoSilentLoss => 5,
            Property::NoLoss => 6,
            Property::NoReset => 7,
            Property::AgreesWithKernel => 8,
        }
    }
}

impl std::fmt::Display for Property {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// A property that did not hold, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Violation {
    pub property: Property,
    pub message: String,
}

/// A case made into a scenario file and a world spec.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The scenario file, its step lines left empty until `text_file`.
    pub file: ScenarioFile,
    /// The steps, parsed: what the spec was resolved from.
    pub steps: Vec<StepDef>,
    pub layout: Layout,
    pub spec: Arc<WorldSpec>,
}

impl Compiled {
    /// The scenario file as written: every step line is the step's canonical
    /// `Display`, which parses back to the same step.
    pub fn text_file(&self) -> ScenarioFile {
        let mut f = self.file.clone();
        f.script.steps = self
            .steps
            .iter()
            .map(|s| toml::Spanned::new(0..0, s.to_string()))
            .collect();
        debug_assert!(self.steps.iter().zip(&f.script.steps).all(|(s, line)| {
            crate::scenario::steps::parse_step(line.get_ref())
                .is_ok_and(|p| p == *s || p.to_string() == s.to_string())
        }));
        f
    }
}

/// Builds the scenario file of a case and resolves it, in memory, with the
/// same code `tcpsim run` uses on the file's text.
pub fn compile(case: &Case) -> Result<Compiled, String> {
    let (file, layout, steps) = to_file(case);
    compile_steps(file, layout, steps)
}

/// Resolves a case's scenario file with its steps (as `to_file` made them,
/// or rewritten, say re-timed for the kernel).
pub fn compile_steps(
    file: ScenarioFile,
    layout: Layout,
    steps: Vec<StepDef>,
) -> Result<Compiled, String> {
    let mut cx = resolve::Ctx::new("<fuzz>", Arc::default(), Path::new(".")).with_preparsed(&steps);
    let resolved = resolve::resolve(&mut cx, &file, &Overrides::default());
    let errors = std::mem::take(&mut cx.errors);
    drop(cx);
    match resolved {
        Some((spec, _, _)) if errors.is_empty() => Ok(Compiled {
            file,
            steps,
            layout,
            spec: Arc::new(spec),
        }),
        _ => Err(errors
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// The result of checking one case.
#[derive(Clone, Debug)]
pub struct Checked {
    pub verdict: Verdict,
    pub violation: Option<Violation>,
}

/// Runs a case and checks the properties (sorted by severity; the first
/// violated one is reported).
pub fn check(props: &[Property], case: &Case, c: &Compiled) -> Checked {
    let mut props = props.to_vec();
    props.sort_by_key(|p| p.severity());
    let want = |p| props.contains(&p);
    let stepwise = want(Property::Invariants) || want(Property::WindowRespected);
    let traced = stepwise || want(Property::Deterministic);
    let mut w = World::new(Arc::clone(&c.spec), traced);
    let mut violation = None;
    if stepwise {
        // "Windows respected" is one of the model invariants (issue 6);
        // `window-respected` checks it alone.
        let mut inv = Invariants::new(
            want(Property::Invariants),
            want(Property::WindowRespected) || want(Property::Invariants),
        );
        // The whole trace stays in `w` for the determinism check.
        let mut seen = 0;
        while w.step() {
            let new = &w.trace()[seen..];
            seen = w.trace().len();
            if let Err(b) = inv.check(&w, new) {
                let property = match b.family {
                    Family::Sequence => Property::Invariants,
                    Family::Window => Property::WindowRespected,
                };
                violation = Some(Violation {
                    property,
                    message: format!("at {} ms: {}", sim::report::ms(w.now), b.message),
                });
                break;
            }
        }
    } else {
        while w.step() {}
    }
    let verdict = w.verdict();
    if violation.is_some() {
        return Checked { verdict, violation };
    }
    for p in props {
        let r = match p {
            Property::Invariants => verdict_violation(&verdict).map_or(Ok(()), Err),
            Property::WindowRespected => Ok(()),
            Property::Deterministic => deterministic(c, &w),
            Property::NoReset => no_reset(&c.spec, &verdict),
            Property::NoLoss => no_loss(&c.spec, (case, &c.layout), &verdict),
            Property::NoSilentLoss => no_silent_loss(&c.spec, &verdict),
            Property::GracefulCloseIsClean => graceful_close_is_clean(&c.spec, case, &verdict),
            Property::Terminates => terminates(&w, &verdict),
            // The model alone cannot say: `fuzz::kernel` runs the case on the kernel.
            Property::AgreesWithKernel => Ok(()),
        };
        if let Err(message) = r {
            violation = Some(Violation {
                property: p,
                message,
            });
            break;
        }
    }
    Checked { verdict, violation }
}

fn host_name(spec: &WorldSpec, a: Addr) -> &str {
    &spec.hosts[a.host as usize].name
}

fn deterministic(c: &Compiled, first: &World) -> Result<(), String> {
    let mut again = World::new(Arc::clone(&c.spec), true);
    while again.step() {}
    // Equal entries write equal JSON (an entry is plain data, serialized by
    // a function of its value): the common case needs no serializing, which
    // was 70 % of a fuzz case's instructions. Only traces that differ as
    // values are compared as JSON, the second one as it is written.
    if first.trace() == again.trace() {
        return Ok(());
    }
    let a = serde_json::to_vec(first.trace()).expect("traces serialize");
    let mut cmp = SameBytes {
        expected: &a,
        at: 0,
        same: true,
    };
    serde_json::to_writer(&mut cmp, again.trace()).expect("traces serialize");
    if cmp.same && cmp.at == a.len() {
        return Ok(());
    }
    let n = first
        .trace()
        .iter()
        .zip(again.trace())
        .position(|(x, y)| x != y)
        .unwrap_or(first.trace().len().min(again.trace().len()));
    Err(format!(
        "two runs with seed {} differ at trace entry {n} ({} vs {} entries)",
        c.spec.seed,
        first.trace().len(),
        again.trace().len()
    ))
}

/// A writer that checks that what is written equals `expected`.
struct SameBytes<'a> {
    expected: &'a [u8],
    at: usize,
    same: bool,
}

impl std::io::Write for SameBytes<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let end = self.at + buf.len();
        if self.same && self.expected.get(self.at..end) != Some(buf) {
            self.same = false;
        }
        self.at = end;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn no_reset(spec: &WorldSpec, v: &Verdict) -> Result<(), String> {
    match v.resets.first() {
        None => Ok(()),
        Some(r) => Err(format!(
            "RST sent by {} in {} ({}){}",
            host_name(spec, r.from),
            r.state,
            r.cause.key(),
            if v.resets.len() > 1 {
                format!(", and {} more", v.resets.len() - 1)
            } else {
                String::new()
            }
        )),
    }
}

pub(crate) fn no_silent_loss(spec: &WorldSpec, v: &Verdict) -> Result<(), String> {
    for c in &v.connections {
        for d in &c.directions {
            if let (true, Some(from)) = (d.silent, d.from) {
                return Err(format!(
                    "{} bytes from {} lost and the writer saw no error",
                    d.lost,
                    host_name(spec, from)
                ));
            }
        }
    }
    Ok(())
}

/// Every step of a side: the parent's and its child's.
fn all_steps(s: &Side) -> impl Iterator<Item = &Step> {
    s.steps.iter().flat_map(|st| {
        std::iter::once(st).chain(match &st.call {
            Call::Fork { child: c } => c.iter(),
            _ => [].iter(),
        })
    })
}

fn no_loss(spec: &WorldSpec, (case, layout): (&Case, &Layout), v: &Verdict) -> Result<(), String> {
    for c in &v.connections {
        for d in &c.directions {
            let (Some(from), Some(to)) = (d.from, d.to) else {
                continue;
            };
            if d.lost == 0 || to.host > 1 {
                continue;
            }
            let reader = case.sides()[to.host as usize];
            if all_steps(reader).any(|s| {
                s.call
                    == Call::Nonblocking {
                        sock: Sock::Main,
                        on: true,
                    }
            }) {
                continue; // read-until-EOF may end in EAGAIN
            }
            let completed = layout.read_eof[to.host as usize]
                .iter()
                .any(|&(p, step)| !v.stuck.iter().any(|s| s.proc == p && s.step <= step));
            if completed {
                let why = d
                    .losses
                    .iter()
                    .map(|l| format!("{} at the {}: {}", l.bytes, l.side, l.why))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(format!(
                    "{} of {} bytes from {} never read although {} read until EOF or an error ({why})",
                    d.lost,
                    d.written,
                    host_name(spec, from),
                    host_name(spec, to)
                ));
            }
        }
    }
    Ok(())
}

/// The shape `graceful-close-is-clean` is about (see [`Property`]).
pub fn is_graceful(case: &Case) -> bool {
    let sides = case.sides();
    let mut initiators = 0;
    for (i, s) in sides.iter().enumerate() {
        let peer = sides[1 - i];
        if all_steps(s).any(|st| ungraceful_call(&st.call)) {
            return false;
        }
        let Some(parent) = graceful_parent(&s.steps) else {
            return false;
        };
        if parent.shut {
            initiators += 1;
        } else {
            // What the responder writes before reading must fit in the buffers.
            let small = |b: Option<u32>| b.is_some_and(|b| b < 8192);
            if parent.before_eof > 4096 || small(s.sndbuf) || small(peer.rcvbuf) {
                return false;
            }
        }
    }
    initiators >= 1
}

/// A call no graceful close makes, in the parent or a child: exit, a
/// bounded read, linger on, non-blocking, shutdown RD.
fn ungraceful_call(call: &Call) -> bool {
    matches!(
        call,
        Call::Exit {}
            | Call::Read {
                len: ReadLen::Bytes(_),
                ..
            }
            | Call::Linger {
                linger: Some(_),
                ..
            }
            | Call::Nonblocking {
                sock: Sock::Main,
                on: true
            }
            | Call::Shutdown {
                how: How::Rd | How::RdWr,
                ..
            }
    )
}

/// A graceful parent's shape: whether it shut down WR before EOF (the
/// initiator) and the bytes it wrote before EOF.
struct GracefulParent {
    shut: bool,
    before_eof: u64,
}

/// The parent's shape if it is graceful: [writes…] [shutdown wr] read eof
/// [writes…] close, with a dup'd descriptor closed before the last close,
/// a child that closes.
fn graceful_parent(steps: &[Step]) -> Option<GracefulParent> {
    let mut eof = false;
    let mut shut = false;
    let mut closed = false;
    let mut dup_open = false;
    let mut before_eof = 0u64;
    for st in steps {
        match &st.call {
            Call::Write { bytes: n, .. } if !eof => before_eof += n,
            Call::Shutdown { how: How::Wr, .. } if !eof => shut = true,
            Call::Read {
                len: ReadLen::Eof, ..
            } => eof = true,
            Call::Close { sock: Sock::Main } if !eof || dup_open => return None,
            Call::Close { sock: Sock::Main } => closed = true,
            Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            } => dup_open = true,
            Call::Close { sock: Sock::Dup } => dup_open = false,
            Call::Fork { child: _ } if dup_open => return None,
            Call::Fork { child: c } if !graceful_child(c) => return None,
            _ => {}
        }
    }
    closed.then_some(GracefulParent { shut, before_eof })
}

/// A graceful child writes and closes its copy, nothing else.
fn graceful_child(c: &[Step]) -> bool {
    c.iter().all(|x| {
        matches!(
            x.call,
            Call::Write { bytes: _, .. } | Call::Close { sock: Sock::Main }
        )
    }) && c.iter().any(|x| x.call == Call::Close { sock: Sock::Main })
}

pub(crate) fn graceful_close_is_clean(
    spec: &WorldSpec,
    case: &Case,
    v: &Verdict,
) -> Result<(), String> {
    if !is_graceful(case) {
        return Ok(());
    }
    if out_of_scope(v) {
        return Ok(());
    }
    // An RST answering a segment for a connection its sender already closed
    // (`no-connection`, e.g. a spurious retransmission after LAST-ACK) comes
    // after both applications are done; any loss it causes is counted below.
    let resets: Vec<_> = v
        .resets
        .iter()
        .filter(|r| r.cause != RstCause::NoConnection)
        .collect();
    let hung = v.end != EndReason::Quiescent || !v.stuck.is_empty();
    if resets.is_empty() && v.lost_bytes() == 0 && !hung {
        return Ok(());
    }
    let mut why = Vec::new();
    if let Some(r) = resets.first() {
        why.push(format!(
            "RST from {} ({})",
            host_name(spec, r.from),
            r.cause.key()
        ));
    }
    if v.lost_bytes() > 0 {
        why.push(format!("{} bytes lost", v.lost_bytes()));
    }
    for s in &v.stuck {
        why.push(format!(
            "process {} {}",
            spec.procs[s.proc as usize].name, s.what
        ));
    }
    Err(format!(
        "a graceful close ended {}: {}",
        v.outcome,
        why.join("; ")
    ))
}

/// Runs whose ending the graceful-close property does not judge: a
/// retransmission limit or a timer gave up on the connection.
fn out_of_scope(v: &Verdict) -> bool {
    // Faults the retransmission limit did not survive are out of scope.
    let gave_up = v.resets.iter().any(|r| {
        matches!(
            r.cause.known(),
            Some(RstCause::RetransmitLimit | RstCause::FinWait2Timeout)
        )
    }) || v.connections.iter().any(|c| {
        c.endpoints
            .iter()
            .any(|e| e.errors.contains(&model::Errno::ETIMEDOUT))
            || c.directions.iter().any(|d| {
                d.losses
                    .iter()
                    .any(|l| l.why.contains("retransmission limit"))
            })
    });
    // So is a FIN-WAIT-2 timer that ends a half-closed connection still
    // receiving (Windows arms it whatever the socket: KB 813056).
    let fin_wait_2_expired = v.connections.iter().any(|c| {
        c.endpoints.iter().any(|e| {
            e.states
                .windows(2)
                .any(|w| w == [State::FinWait2, State::Closed])
        })
    }) && !v.resets.iter().any(|r| r.cause != RstCause::NoConnection);
    // And a listener that gave up retransmitting its SYN-ACK (a silent drop).
    let synack_gave_up = v.connections.iter().any(|c| {
        c.endpoints.iter().any(|e| {
            e.states
                .windows(2)
                .any(|w| w == [State::SynReceived, State::Closed])
        })
    });
    gave_up || fin_wait_2_expired || synack_gave_up
}

/// Whether, at the end of the run, some process still holds a descriptor of
/// a connection (a listener does not count): then its application never
/// released it (no close, or a close that failed), and nothing has to end.
fn holds_connection(w: &World) -> bool {
    w.hosts.iter().any(|h| {
        h.procs.iter().any(|p| {
            p.fds.iter().flatten().any(|&sid| {
                h.socks
                    .get(sid as usize)
                    .and_then(|s| s.as_ref())
                    .is_some_and(|s| s.state != State::Listen && s.listener.is_none())
            })
        })
    })
}

pub(crate) fn terminates(w: &World, v: &Verdict) -> Result<(), String> {
    if holds_connection(w) {
        return Ok(());
    }
    let waiting = v
        .stuck
        .iter()
        .any(|s| s.blocked_in.is_some_and(|call| call != "close"));
    if waiting {
        return Ok(()); // the script never reached its close
    }
    if v.end != EndReason::Quiescent {
        return Err(format!(
            "the run did not go quiet: stopped by the {} at {}",
            match v.end {
                EndReason::EventBudget => "event budget",
                _ => "time limit",
            },
            sim::report::ms(v.end_ns)
        ));
    }
    for c in &v.connections {
        for e in &c.endpoints {
            if !matches!(e.final_state, State::Closed | State::TimeWait) {
                return Err(format!(
                    "{}'s endpoint ends in {} although its application released every descriptor",
                    host_name(w.spec(), e.addr),
                    e.final_state
                ));
            }
        }
    }
    if let Some(s) = v.stuck.first() {
        return Err(format!(
            "process {} {}",
            w.spec().procs[s.proc as usize].name,
            s.what
        ));
    }
    Ok(())
}
