//! The kernel run's verdict, in the structure of the simulator's: each step's
//! result, every RST and FIN with who sent it and when, bytes written and read
//! per direction, lost bytes, end states, the outcome class; and the text
//! report (a ladder of calls and segments, then the verdict).

use super::capture::Pkt;
use super::run::RealRun;
use super::worker::{Ep, Rec, Res};
use crate::scenario::{Mismatch, Scenario};
use model::HostId;
use serde::Serialize;
use sim::spec::{Action, Expect, ProcId, WorldSpec};
use sim::Outcome;
use std::fmt::Write;

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "result")]
pub enum StepResult {
    /// The step never started.
    NotRun,
    /// It started and had not returned when the run ended.
    Blocked,
    Done(Res),
}

impl std::fmt::Display for StepResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepResult::NotRun => f.write_str("never ran"),
            StepResult::Blocked => f.write_str("blocked"),
            StepResult::Done(r) => write!(f, "{r}"),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StepOut {
    pub step: u32,
    pub proc: ProcId,
    /// Start and end, ns since time 0 (real time).
    pub t0: Option<u64>,
    pub t: Option<u64>,
    pub result: StepResult,
    pub moved: u64,
    pub calls: Vec<(String, String)>,
}

/// A segment with RST or FIN.
#[derive(Clone, Debug, Serialize)]
pub struct WireEvent {
    pub t: u64,
    pub from: HostId,
    pub to: HostId,
    /// tcpdump flags (`R.`, `R`, `F.`).
    pub flags: String,
    /// Sequence number relative to the sender's ISN.
    pub seq: u32,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RealDirection {
    pub from: HostId,
    pub to: HostId,
    pub written: u64,
    pub read: u64,
    pub lost: u64,
    /// Whether the writer saw an error on any of its calls on this connection.
    pub writer_saw_error: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct RealConnection {
    /// [connector, acceptor] endpoints (address, port).
    pub ends: [Ep; 2],
    pub hosts: [HostId; 2],
    /// [connector → acceptor, acceptor → connector].
    pub directions: [RealDirection; 2],
    /// End states from /proc/net/tcp (absent: CLOSED); None if unreadable.
    pub final_states: [Option<String>; 2],
    /// When the connection was first seen (ns since time 0).
    pub first_t: u64,
}

/// What the kernel run concluded.
#[derive(Clone, Debug, Serialize)]
pub struct RealVerdict {
    /// None when it cannot be told (no capture: RSTs unseen).
    pub outcome: Option<Outcome>,
    pub resets: Vec<WireEvent>,
    pub fins: Vec<WireEvent>,
    pub connections: Vec<RealConnection>,
    pub steps: Vec<StepOut>,
    /// Processes blocked in a call when the run ended: (process, step).
    pub blocked: Vec<(ProcId, u32)>,
    pub lost: u64,
    pub end_ns: u64,
    pub cut_off: bool,
    pub segments: u64,
}

/// The host of an address.
pub fn host_of(run: &RealRun, ip: std::net::Ipv4Addr) -> Option<HostId> {
    run.host_ip
        .iter()
        .position(|&h| h == ip)
        .map(|i| i as HostId)
}

/// Each direction's ISN (from its SYN) and window scale (when both SYNs offered one).
pub struct SeqBase {
    isn: Vec<((Ep, Ep), u32, Option<u8>)>,
}

impl SeqBase {
    pub fn new(pkts: &[Pkt]) -> SeqBase {
        let mut isn: Vec<((Ep, Ep), u32, Option<u8>)> = Vec::new();
        for p in pkts.iter().filter(|p| p.flags & 0x02 != 0) {
            let k = (p.src, p.dst);
            match isn.iter_mut().find(|(key, _, _)| *key == k) {
                // A new SYN on the same 4-tuple (a new connection) resets it.
                Some(e) if p.flags & 0x10 == 0 => *e = (k, p.seq, p.wscale),
                Some(_) => {}
                None => isn.push((k, p.seq, p.wscale)),
            }
        }
        SeqBase { isn }
    }
    fn get(&self, from: Ep, to: Ep) -> Option<(u32, Option<u8>)> {
        self.isn
            .iter()
            .find(|(k, _, _)| *k == (from, to))
            .map(|(_, s, w)| (*s, *w))
    }
    pub fn rel_seq(&self, p: &Pkt) -> u32 {
        self.get(p.src, p.dst)
            .map_or(p.seq, |(i, _)| p.seq.wrapping_sub(i))
    }
    pub fn rel_ack(&self, p: &Pkt) -> u32 {
        self.get(p.dst, p.src)
            .map_or(p.ack, |(i, _)| p.ack.wrapping_sub(i))
    }
    /// The window in octets (scaled when both sides offered scaling).
    pub fn window(&self, p: &Pkt) -> u32 {
        if p.flags & 0x02 != 0 {
            return p.win_raw as u32;
        }
        match (self.get(p.src, p.dst), self.get(p.dst, p.src)) {
            (Some((_, Some(a))), Some((_, Some(_)))) => (p.win_raw as u32) << a.min(14),
            _ => p.win_raw as u32,
        }
    }
}

/// tcpdump's flag spelling.
pub fn flags_text(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x10, '.'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

/// Each step's outcome from the processes' reports.
pub fn steps(spec: &WorldSpec, recs: &[Rec]) -> Vec<StepOut> {
    let mut out: Vec<StepOut> = spec
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepOut {
            step: i as u32,
            proc: s.proc,
            t0: None,
            t: None,
            result: StepResult::NotRun,
            moved: 0,
            calls: Vec::new(),
        })
        .collect();
    for r in recs {
        match r {
            Rec::Start { step, t, .. } => {
                let s = &mut out[*step as usize];
                s.t0 = Some(*t);
                s.result = StepResult::Blocked;
            }
            Rec::Done {
                step,
                t0,
                t,
                res,
                moved,
                calls,
                ..
            } => {
                let s = &mut out[*step as usize];
                s.t0 = Some(*t0);
                s.t = Some(*t);
                s.result = StepResult::Done(res.clone());
                s.moved = *moved;
                s.calls = calls.clone();
            }
            _ => {}
        }
    }
    out
}

/// The verdict of a kernel run.
pub fn verdict(spec: &WorldSpec, run: &RealRun) -> RealVerdict {
    let steps = steps(spec, &run.recs);
    let base = SeqBase::new(&run.pkts);
    let wire = |p: &Pkt| -> Option<WireEvent> {
        Some(WireEvent {
            t: p.t,
            from: host_of(run, p.src.0)?,
            to: host_of(run, p.dst.0)?,
            flags: flags_text(p.flags),
            seq: base.rel_seq(p),
        })
    };
    let resets: Vec<WireEvent> = run
        .pkts
        .iter()
        .filter(|p| p.flags & 0x04 != 0)
        .filter_map(wire)
        .collect();
    let fins: Vec<WireEvent> = run
        .pkts
        .iter()
        .filter(|p| p.flags & 0x01 != 0)
        .filter_map(wire)
        .collect();

    // Connections from the processes' reports: (local, peer) per step.
    let mut conns: Vec<RealConnection> = Vec::new();
    let syn_from = |a: Ep, b: Ep| {
        run.pkts
            .iter()
            .find(|p| {
                p.flags & 0x12 == 0x02 && ((p.src, p.dst) == (a, b) || (p.src, p.dst) == (b, a))
            })
            .map(|p| p.src)
    };
    for r in &run.recs {
        let Rec::Done {
            step,
            t0,
            res,
            moved,
            conn: Some((local, peer)),
            connector,
            ..
        } = r
        else {
            continue;
        };
        let (Some(lh), Some(ph)) = (host_of(run, local.0), host_of(run, peer.0)) else {
            continue;
        };
        let idx = match conns
            .iter()
            .position(|c| c.ends == [*local, *peer] || c.ends == [*peer, *local])
        {
            Some(i) => i,
            None => {
                let local_connects = *connector || syn_from(*local, *peer) == Some(*local);
                let (ends, hosts) = if local_connects {
                    ([*local, *peer], [lh, ph])
                } else {
                    ([*peer, *local], [ph, lh])
                };
                conns.push(RealConnection {
                    ends,
                    hosts,
                    directions: [
                        RealDirection {
                            from: hosts[0],
                            to: hosts[1],
                            ..RealDirection::default()
                        },
                        RealDirection {
                            from: hosts[1],
                            to: hosts[0],
                            ..RealDirection::default()
                        },
                    ],
                    final_states: [None, None],
                    first_t: *t0,
                });
                conns.len() - 1
            }
        };
        let c = &mut conns[idx];
        let side = usize::from(c.ends[0] != *local);
        match spec.steps[*step as usize].action {
            Action::Write { .. } => c.directions[side].written += moved,
            Action::Read { .. } => c.directions[1 - side].read += moved,
            _ => {}
        }
        if matches!(res, Res::Err(e) if e != "EAGAIN" && e != "EINPROGRESS" && e != "EALREADY") {
            c.directions[side].writer_saw_error = true;
        }
    }
    // Connections no process saw established (refused, or stuck in SYN-SENT):
    // from the SYNs on the wire.
    for p in run.pkts.iter().filter(|p| p.flags & 0x12 == 0x02) {
        let (Some(a), Some(b)) = (host_of(run, p.src.0), host_of(run, p.dst.0)) else {
            continue;
        };
        if conns
            .iter()
            .any(|c| c.ends == [p.src, p.dst] || c.ends == [p.dst, p.src])
        {
            continue;
        }
        conns.push(RealConnection {
            ends: [p.src, p.dst],
            hosts: [a, b],
            directions: [
                RealDirection {
                    from: a,
                    to: b,
                    ..RealDirection::default()
                },
                RealDirection {
                    from: b,
                    to: a,
                    ..RealDirection::default()
                },
            ],
            final_states: [None, None],
            first_t: p.t,
        });
    }
    for c in &mut conns {
        for d in &mut c.directions {
            d.lost = d.written.saturating_sub(d.read);
        }
        if let Some(states) = &run.states {
            for i in 0..2 {
                let st = states
                    .iter()
                    .find(|s| s.local == c.ends[i] && s.remote == c.ends[1 - i])
                    .map_or("CLOSED".to_string(), |s| s.state.clone());
                c.final_states[i] = Some(st);
            }
        }
    }
    conns.sort_by_key(|c| c.first_t);
    let blocked: Vec<(ProcId, u32)> = steps
        .iter()
        .filter(|s| s.result == StepResult::Blocked)
        .map(|s| (s.proc, s.step))
        .collect();
    let lost: u64 = conns
        .iter()
        .flat_map(|c| c.directions.iter())
        .map(|d| d.lost)
        .sum();
    let hung = run.cut_off || !blocked.is_empty();
    let outcome = if run.capture_error.is_some() {
        None
    } else {
        Some(match (resets.is_empty(), lost > 0) {
            (false, true) => Outcome::ResetWithLoss,
            (false, false) => Outcome::ResetWithoutLoss,
            (true, true) if !hung => Outcome::LossWithoutReset,
            (true, _) if hung => Outcome::Hung,
            (true, _) => Outcome::Clean,
        })
    };
    RealVerdict {
        outcome,
        resets,
        fins,
        connections: conns,
        steps,
        blocked,
        lost,
        end_ns: run.end_ns,
        cut_off: run.cut_off,
        segments: run.pkts_total,
    }
}

/// `host:port` of an endpoint.
pub fn ep_text(spec: &WorldSpec, run: &RealRun, e: Ep) -> String {
    match host_of(run, e.0) {
        Some(h) => format!("{}:{}", spec.hosts[h as usize].name, e.1),
        None => format!("{}:{}", e.0, e.1),
    }
}

/// Real ns since time 0 as virtual milliseconds (real time / scale).
fn vms(run: &RealRun, t: u64) -> String {
    sim::report::ms((t as f64 / run.scale) as u64)
}

const TIME_W: usize = 11;
const SIDE_W: usize = 44;

/// The ladder: calls in their host's column, segments as arrows, in time order.
pub fn ladder(spec: &WorldSpec, run: &RealRun, v: &RealVerdict) -> String {
    let n = spec.hosts.len();
    let mut rows: Vec<(u64, u32, usize, String)> = Vec::new();
    let mut k = 0u32;
    let mut push = |rows: &mut Vec<(u64, u32, usize, String)>, t: u64, col: usize, text: String| {
        k += 1;
        rows.push((t, k, col, text));
    };
    for s in &v.steps {
        let proc = &spec.procs[s.proc as usize];
        let col = proc.host as usize;
        match (&s.result, s.t0, s.t) {
            (StepResult::Done(_), Some(t0), Some(t)) => {
                // Earlier calls of the step at its start; the last one at its end,
                // with a "blocks…" line when it took more than a millisecond.
                let n = s.calls.len();
                for (i, (c, r)) in s.calls.iter().enumerate() {
                    if i + 1 < n {
                        push(&mut rows, t0, col, format!("{}: {c} = {r}", proc.name));
                    } else {
                        if t.saturating_sub(t0) > 1_000_000 {
                            push(&mut rows, t0, col, format!("{}: {c} blocks…", proc.name));
                        }
                        push(&mut rows, t, col, format!("{}: {c} = {r}", proc.name));
                    }
                }
            }
            (StepResult::Blocked, Some(t0), _) => {
                let what = step_text(spec, &run.labels, s.step);
                push(
                    &mut rows,
                    t0,
                    col,
                    format!("{}: {what} blocks… (never returned)", proc.name),
                );
            }
            _ => {}
        }
    }
    let base = SeqBase::new(&run.pkts);
    for p in &run.pkts {
        let (Some(from), Some(to)) = (host_of(run, p.src.0), host_of(run, p.dst.0)) else {
            continue;
        };
        let seq = base.rel_seq(p);
        let mut t = format!(
            "{} {}:{}({})",
            flags_text(p.flags),
            seq,
            seq.wrapping_add(p.len),
            p.len
        );
        if p.flags & 0x10 != 0 {
            let _ = write!(t, " ack {}", base.rel_ack(p));
        }
        let _ = write!(t, " win {}", base.window(p));
        if let Some(m) = p.mss {
            let _ = write!(t, " <mss {m}>");
        }
        let arrow = if to > from { "──▶" } else { "◀──" };
        let dst = if n > 2 {
            format!(" {}", ep_text(spec, run, p.dst))
        } else {
            String::new()
        };
        push(&mut rows, p.t, from as usize, format!("{t} {arrow}{dst}"));
    }
    rows.sort_by_key(|r| (r.0, r.1));
    let mut out = String::new();
    let _ = write!(out, "{:>w$}  ", "time (ms)", w = TIME_W);
    for h in &spec.hosts {
        let head = format!("{} [kernel]", h.name);
        let _ = write!(out, "{head:<w$}  ", w = SIDE_W);
    }
    out.push('\n');
    for (t, _, col, text) in rows {
        let _ = writeln!(
            out,
            "{:>w$}  {:pad$}{text}",
            vms(run, t),
            "",
            w = TIME_W,
            pad = col.min(n) * (SIDE_W + 2)
        );
    }
    out
}

/// A step as the scenario wrote it (from `labels`), or where it came from.
pub fn step_text(spec: &WorldSpec, labels: &[String], step: u32) -> String {
    if let Some(l) = labels.get(step as usize) {
        return l.clone();
    }
    let s = &spec.steps[step as usize];
    match &s.origin {
        Some(o) => o.clone(),
        None => format!("{:?}", s.action),
    }
}

/// Each step's text as written in the scenario file, spaces collapsed.
pub fn labels(s: &Scenario) -> Vec<String> {
    let v: Vec<String> = s
        .file
        .script
        .steps
        .iter()
        .map(|l| l.get_ref().split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if v.len() == s.spec.steps.len() {
        v
    } else {
        Vec::new()
    }
}

/// The verdict as text.
pub fn verdict_text(spec: &WorldSpec, run: &RealRun, v: &RealVerdict) -> String {
    let mut o = String::new();
    let host = |h: HostId| spec.hosts[h as usize].name.clone();
    let _ = writeln!(
        o,
        "verdict (kernel): {}",
        v.outcome
            .map_or("unknown (segments not captured)".into(), |x| x.to_string())
    );
    if v.resets.is_empty() && run.capture_error.is_none() {
        let _ = writeln!(o, "  no RST");
    }
    for r in &v.resets {
        let _ = writeln!(
            o,
            "  RST ({}) {} → {} at {} ms, seq {}",
            r.flags,
            host(r.from),
            host(r.to),
            vms(run, r.t),
            r.seq
        );
    }
    for f in &v.fins {
        let _ = writeln!(
            o,
            "  FIN ({}) {} → {} at {} ms, seq {}",
            f.flags,
            host(f.from),
            host(f.to),
            vms(run, f.t),
            f.seq
        );
    }
    for c in &v.connections {
        let _ = writeln!(
            o,
            "  connection {} ⇄ {}",
            ep_text(spec, run, c.ends[0]),
            ep_text(spec, run, c.ends[1])
        );
        for (i, d) in c.directions.iter().enumerate() {
            let _ = writeln!(
                o,
                "    {} → {}: written {}, read {}, lost {}{}",
                ep_text(spec, run, c.ends[i]),
                ep_text(spec, run, c.ends[1 - i]),
                d.written,
                d.read,
                d.lost,
                if d.lost > 0 && !d.writer_saw_error {
                    " (SILENT: the writer saw no error)"
                } else {
                    ""
                }
            );
        }
        for i in 0..2 {
            let _ = writeln!(
                o,
                "    {}: {}",
                ep_text(spec, run, c.ends[i]),
                c.final_states[i].as_deref().unwrap_or("state unknown")
            );
        }
    }
    for &(p, step) in &v.blocked {
        let _ = writeln!(
            o,
            "  {}: blocked in `{}` when the run ended",
            spec.procs[p as usize].name,
            step_text(spec, &run.labels, step)
        );
    }
    let _ = writeln!(
        o,
        "  run ended at {} ms{}, {} segments captured",
        vms(run, v.end_ns),
        if v.cut_off {
            " (cut off while segments were still flowing)"
        } else {
            ""
        },
        v.segments
    );
    if let Some(e) = &run.capture_error {
        let _ = writeln!(o, "  {e}");
    }
    o
}

/// The scenario's expectations checked against the kernel run. RST causes
/// cannot be seen on the wire: only who sent the RSTs is checked.
pub fn check(s: &Scenario, v: &RealVerdict) -> Vec<Mismatch> {
    let spec = &s.spec;
    let host = |h: HostId| spec.hosts[h as usize].name.clone();
    let mut out = Vec::new();
    let mut push = |what: String, expected: String, actual: String| {
        out.push(Mismatch {
            what,
            expected,
            actual,
        })
    };
    if let (Some(o), Some(a)) = (s.expect.outcome, v.outcome) {
        if o != a {
            push("outcome".into(), o.to_string(), a.to_string());
        }
    }
    if let (Some(r), Some(_)) = (&s.expect.rst, v.outcome) {
        let mut exp: Vec<String> = r.iter().map(|(h, _)| host(*h)).collect();
        let mut act: Vec<String> = v.resets.iter().map(|r| host(r.from)).collect();
        exp.dedup();
        act.dedup();
        if exp != act {
            let l = |v: &[String]| {
                if v.is_empty() {
                    "no RST".into()
                } else {
                    v.join(", ")
                }
            };
            push("rst (senders)".into(), l(&exp), l(&act));
        }
    }
    for &((a, b), bytes) in &s.expect.lost {
        let lost: u64 = v
            .connections
            .iter()
            .flat_map(|c| c.directions.iter())
            .filter(|d| d.from == a && d.to == b)
            .map(|d| d.lost)
            .sum();
        if lost != bytes {
            push(
                format!("lost {}->{}", host(a), host(b)),
                bytes.to_string(),
                lost.to_string(),
            );
        }
    }
    for &(h, st) in &s.expect.final_state {
        let actual = v
            .connections
            .iter()
            .find_map(|c| {
                (0..2)
                    .find(|&i| c.hosts[i] == h)
                    .map(|i| c.final_states[i].clone())
            })
            .flatten();
        if let Some(a) = actual {
            // The kernel run ends soon after the script, before the 60 s of
            // TIME-WAIT or an orphan's FIN-WAIT-2 are over: those end CLOSED.
            let timer_pending =
                st == model::State::Closed && (a == "TIME-WAIT" || a == "FIN-WAIT-2");
            if a != st.name() && !timer_pending {
                push(format!("final {}", host(h)), st.to_string(), a);
            }
        }
    }
    for so in &v.steps {
        let Some(e) = spec.steps[so.step as usize].expect else {
            continue;
        };
        let ok = match (&so.result, e) {
            (StepResult::Done(Res::Ok(n)), Expect::Value(v)) => *n == v,
            (StepResult::Done(Res::Err(x)), Expect::Error(er)) => x == er.name(),
            (StepResult::Done(Res::Ok(_)), Expect::Ok) => true,
            _ => false,
        };
        if !ok {
            push(
                format!(
                    "step {} ({})",
                    step_text(spec, &labels(s), so.step),
                    spec.procs[so.proc as usize].name
                ),
                e.to_string(),
                so.result.to_string(),
            );
        }
    }
    out
}
