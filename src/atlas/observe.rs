//! What a cell shows, read from a trace: the simulator's, or the kernel's
//! (`real/` writes the same entries), so the model and the kernel check are
//! read by the same code. Only the RST's cause is the model's alone: the wire
//! does not show it.

use super::cell::{self, Key, Steps, LATER_BYTES, PROBE_MS, QUEUED_BYTES, UNREAD_BYTES};
use crate::real::compare::{step_runs, StepResult, StepRun};
use model::{Event, Instant};
use serde::Serialize;
use sim::{Entry, Verdict, What, WorldSpec};
use std::sync::Arc;

/// The application host's index in a cell's spec.
const APP_HOST: u16 = 0;

/// What the application's stack sends between the call and the peer's reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Wire {
    Fin,
    Rst,
    Nothing,
}

impl Wire {
    pub fn name(self) -> &'static str {
        match self {
            Wire::Fin => "FIN",
            Wire::Rst => "RST",
            Wire::Nothing => "nothing",
        }
    }
}

/// Bytes never read by the application they were written for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Lost {
    /// Of the peer's bytes the application had not read at the call.
    pub unread: u64,
    /// Of the application's queued bytes (never read by the peer).
    pub queued: u64,
    /// Of the peer's writes after the call that succeeded.
    pub later: u64,
}

/// One cell as a trace shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Obs {
    /// What goes on the wire (a FIN sent before the call does not count).
    pub wire: Wire,
    /// Why the model sent its RST (`unobserved` on the kernel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rst_cause: Option<String>,
    /// What the teardown call returns (`ok` for exit).
    pub returns: String,
    /// How long it blocks, in ms; `None` when it never returns.
    pub blocks_ms: Option<u64>,
    /// The SO_LINGER setsockopt's error, when it fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linger_fails: Option<String>,
    /// The peer's two non-blocking reads after the call.
    pub peer_reads: [String; 2],
    /// The peer's two writes after the call (100 ms apart).
    pub peer_writes: [String; 2],
    pub lost: Lost,
}

/// A read's or write's result as the atlas prints it.
fn result_text(r: &StepResult, read: bool) -> String {
    match r {
        StepResult::Done(Ok(0)) if read => "0 (EOF)".into(),
        StepResult::Done(Ok(v)) => v.to_string(),
        other => other.to_string(),
    }
}

fn count(r: &StepRun) -> u64 {
    match r.result {
        StepResult::Done(Ok(v)) => v,
        _ => 0,
    }
}

/// The application's connection state just before the call, as the trace
/// tells it (the last state change of a connection on the application's host).
pub fn state_at_call(trace: &[Entry], call_ns: u64) -> Option<model::State> {
    trace
        .iter()
        .take_while(|e| e.t_ns.as_ns() < call_ns)
        .filter(|e| e.host == APP_HOST)
        .filter_map(|e| match e.what {
            What::Model {
                event: Event::State { to, .. },
            } if to != model::State::Listen => Some(to),
            _ => None,
        })
        .last()
}

/// What the application sends in [call, probe): RST, a first FIN, or nothing.
fn wire(trace: &[Entry], call_ns: u64) -> Wire {
    let probe_ns = (Instant::ZERO + model::Duration::from_ms(PROBE_MS)).as_ns();
    let sends = trace.iter().filter_map(|e| match e.what {
        What::Send { seg } if e.host == APP_HOST => Some((e.t_ns.as_ns(), seg)),
        _ => None,
    });
    let mut fin_before = false;
    let mut out = Wire::Nothing;
    for (t, seg) in sends {
        if t < call_ns {
            fin_before |= seg.flags.fin();
        } else if t < probe_ns {
            if seg.flags.rst() {
                return Wire::Rst;
            }
            if seg.flags.fin() && !fin_before {
                out = Wire::Fin;
            }
        }
    }
    out
}

/// The cause of the application's first RST after the call, per the verdict.
fn rst_cause(v: &Verdict, call_ns: u64) -> Option<String> {
    v.resets
        .iter()
        .find(|r| r.from.host == APP_HOST && r.t_ns.as_ns() >= call_ns)
        .map(|r| r.cause.key().to_string())
}

/// The states a kernel trace may show at the call for the cell's state: its
/// own, or, when our FIN waits behind queued bytes, the state before our
/// shutdown (the trace infers states from segments, and that FIN is not yet
/// on the wire).
pub fn seen_states(k: &Key) -> Vec<model::State> {
    use model::State as S;
    let before = match k.state.state() {
        S::FinWait1 => Some(S::Established),
        S::Closing | S::LastAck => Some(S::CloseWait),
        _ => None,
    };
    let mut out = vec![k.state.state()];
    out.extend(before.filter(|_| k.data.queued));
    out
}

/// Reads a cell from a trace and its verdict. Err: the state the
/// application's connection was in at the call, when it is not among
/// `states` (the cell's state, or what a trace may show of it).
pub fn observe(
    spec: &WorldSpec,
    k: &Key,
    (trace, v): (&[Entry], &Verdict),
    states: &[model::State],
) -> Result<Obs, String> {
    let at: Steps = cell::steps(k);
    let runs = step_runs(spec, trace);
    let call = runs[at.call];
    let Some(call_ns) = call.start_ns else {
        return Err("the call never ran".into());
    };
    match state_at_call(trace, call_ns) {
        Some(s) if states.contains(&s) => {}
        s => return Err(s.map_or("no connection", |s| s.name()).to_string()),
    }
    let wire = wire(trace, call_ns);
    let returns = match (k.call, call.result) {
        (cell::Call::Exit, StepResult::Done(Ok(_))) => "ok".to_string(),
        (_, r) => result_text(&r, false),
    };
    let linger_fails = at.linger.and_then(|i| match runs[i].result {
        StepResult::Done(Err(e)) => Some(e.name().to_string()),
        _ => None,
    });
    let pr = at.peer_reads.map(|i| runs[i]);
    let pw = at.peer_writes.map(|i| runs[i]);
    let app_read: u64 = at
        .final_reads
        .map_or(0, |r| r.iter().map(|&i| count(&runs[i])).sum());
    let unread = if k.data.unread { UNREAD_BYTES } else { 0 };
    let later_written: u64 = pw.iter().map(count).sum();
    debug_assert!(later_written <= 2 * LATER_BYTES);
    let lost = Lost {
        unread: unread - app_read.min(unread),
        queued: match k.data.queued {
            true => QUEUED_BYTES - pr.iter().map(count).sum::<u64>().min(QUEUED_BYTES),
            false => 0,
        },
        later: later_written - (app_read - app_read.min(unread)).min(later_written),
    };
    Ok(Obs {
        rst_cause: (wire == Wire::Rst).then(|| rst_cause(v, call_ns)).flatten(),
        wire,
        returns,
        blocks_ms: call.end_ns.map(|e| (e - call_ns) / 1_000_000),
        linger_fails,
        peer_reads: pr.map(|r| result_text(&r.result, true)),
        peer_writes: pw.map(|r| result_text(&r.result, false)),
        lost,
    })
}

/// Runs a cell's world in the simulator and reads it.
pub fn simulate(spec: &Arc<WorldSpec>, k: &Key) -> Result<Obs, String> {
    let mut w = sim::World::new(spec.clone(), true);
    let v = w.run();
    observe(spec, k, (w.trace(), &v), &[k.state.state()])
}
