//! Outcome classes of the states where a run can end, and the fuzzer's
//! properties evaluated on explored states.
//!
//! A run can end in every state where nothing is left to happen (no event
//! is due): the applications may make no further call. Its class is what
//! its verdict says, without amounts and times: the outcome, who reset the
//! connection and why, which direction lost bytes where and whether the
//! writer saw an error, which call never returns, and each side's last TCP
//! state.

use super::setup::Setup;
use super::state::{Node, Rules};
use crate::fuzz::check::{self, Property};
use crate::fuzz::gen::{Case, Gen, Net, Side as GenSide, Sock, Step, Wait};
use crate::scenario::causal_resets;
use crate::scenario::steps::{Op, Text, Tok};
use model::{ReadLen, Rename};
use serde::{Deserialize, Serialize};
use sim::app::AppStatus;
use sim::{Verdict, World};

/// Where a run can end, described without amounts or times.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Class {
    /// The verdict's outcome (`clean`, `reset-with-loss`, `hung`…).
    pub outcome: String,
    /// Each RST that tells the story, in order: `"server: close-with-unread"`.
    pub resets: Vec<String>,
    /// Each direction that lost bytes: where, why, and whether silently.
    pub losses: Vec<String>,
    /// Each call that never returns: `"server blocked in close(4)"`.
    pub stuck: Vec<String>,
    /// Each side's last TCP state.
    pub end: [String; 2],
}

impl Class {
    pub fn of(w: &World, v: &Verdict) -> Class {
        let spec = w.spec();
        let host = |h: u16| spec.hosts[h as usize].name.clone();
        let mut resets: Vec<String> = causal_resets(v)
            .map(|r| format!("{}: {}", host(r.from.host), r.cause.key()))
            .collect();
        resets.dedup();
        let mut losses = Vec::new();
        for d in v.connections.iter().flat_map(|c| &c.directions) {
            let (Some(from), Some(to)) = (d.from, d.to) else {
                continue;
            };
            for l in &d.losses {
                let silent = if d.silent { ", silent" } else { "" };
                let text = format!(
                    "{}->{} at the {}: {}{silent}",
                    host(from.host),
                    host(to.host),
                    l.side,
                    l.why
                );
                if !losses.contains(&text) {
                    losses.push(text);
                }
            }
        }
        let stuck = v
            .stuck
            .iter()
            .filter(|s| s.blocked_in.is_some())
            .map(|s| format!("{} {}", spec.procs[s.proc as usize].name, s.what))
            .collect();
        let end = [0u16, 1].map(|h| {
            v.connections
                .iter()
                .flat_map(|c| c.endpoints.iter())
                .find(|e| e.addr.host == h)
                .map_or("no connection".to_string(), |e| e.final_state.to_string())
        });
        Class {
            outcome: v.outcome.key().to_string(),
            resets,
            losses,
            stuck,
            end,
        }
    }

    /// One line: `reset-with-loss; RST server: close-with-unread; lost …; ends CLOSED/CLOSED`.
    pub fn text(&self) -> String {
        let mut parts = vec![self.outcome.clone()];
        parts.extend(self.resets.iter().map(|r| format!("RST {r}")));
        parts.extend(self.losses.iter().map(|l| format!("lost {l}")));
        parts.extend(self.stuck.iter().cloned());
        parts.push(format!("ends {}/{}", self.end[0], self.end[1]));
        parts.join("; ")
    }
}

/// The properties exploration can check, and why not the others.
pub fn checkable(p: Property) -> Result<(), String> {
    match p {
        Property::WindowRespected => Err(
            "window-respected follows one run's trace (the highest window edge ever \
             advertised); exploration merges runs and keeps no trace: check it with tcpsim fuzz"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// Whether a state (`end`: one where the run can end, with its verdict)
/// violates property `p`: the message if it does.
pub fn violation(p: Property, setup: &Setup, n: &Node, end: Option<&Verdict>) -> Option<String> {
    let w = &n.world;
    if p == Property::Invariants {
        // Each state's sockets; the checks across events need one run's trace.
        let broken = w.hosts.iter().enumerate().find_map(|(i, h)| {
            h.invariant_violation()
                .map(|m| format!("{}: {m}", w.spec().hosts[i].name))
        });
        if broken.is_some() {
            return broken;
        }
    }
    let v = end?;
    let r = match p {
        Property::NoReset => check::no_reset(w.spec(), v),
        Property::NoSilentLoss => check::no_silent_loss(w.spec(), v),
        Property::NoLoss => no_loss(setup, n, v),
        Property::Terminates => check::terminates(w, v),
        Property::GracefulCloseIsClean => {
            check::graceful_close_is_clean(w.spec(), &case_of(setup, n), v)
        }
        Property::Invariants => counts_in_order(w, v),
        Property::Deterministic | Property::WindowRespected => Ok(()),
        // Not a property of the model alone (`tcpsim fuzz` runs it on the kernel).
        Property::AgreesWithKernel => Ok(()),
    };
    r.err()
}

/// Per direction, read ≤ delivered ≤ written.
fn counts_in_order(w: &World, v: &Verdict) -> Result<(), String> {
    let host = |h: u16| w.spec().hosts[h as usize].name.clone();
    for d in v.connections.iter().flat_map(|c| &c.directions) {
        if !(d.read <= d.delivered && d.delivered <= d.written) {
            let (a, b) = (d.from.map_or(0, |a| a.host), d.to.map_or(0, |a| a.host));
            return Err(format!(
                "{}→{}: {} written, {} delivered, {} read",
                host(a),
                host(b),
                d.written,
                d.delivered,
                d.read
            ));
        }
    }
    Ok(())
}

/// `no-loss` as the fuzzer states it: no bytes lost toward a reader that
/// read until EOF or an error (and was not non-blocking).
fn no_loss(setup: &Setup, n: &Node, v: &Verdict) -> Result<(), String> {
    for d in v.connections.iter().flat_map(|c| &c.directions) {
        let (Some(from), Some(to)) = (d.from, d.to) else {
            continue;
        };
        if d.lost == 0 || to.host > 1 {
            continue;
        }
        let s = to.host as usize;
        let made = |pred: &dyn Fn(&Op) -> bool| {
            n.used
                .calls(s)
                .iter()
                .any(|&i| pred(&setup.sides[s].defs[i as usize].op))
        };
        let read_eof = made(&|op| {
            matches!(
                op,
                Op::Read {
                    len: ReadLen::Eof,
                    ..
                }
            )
        });
        let nonblocking = made(&|op| matches!(op, Op::Nonblocking { on: true, .. }));
        let done = n.world.status(setup.sides[s].proc) != AppStatus::Blocked;
        if read_eof && done && !nonblocking {
            return Err(format!(
                "{} of {} bytes from host {} never read although host {} read until EOF or an error",
                d.lost, d.written, from.host, to.host
            ));
        }
    }
    Ok(())
}

/// A side's menu call in the fuzzer's naming.
struct ToGen;

impl Rename<Text, Gen> for ToGen {
    fn sock(&mut self, _: &Tok) -> Sock {
        Sock::Main
    }
    fn new_sock(&mut self, _: &Tok) -> Sock {
        Sock::Dup
    }
    fn host(&mut self, _: &Tok) {}
    fn proc(&mut self, _: &Tok) -> Vec<Step> {
        Vec::new()
    }
}

/// The state's calls as a fuzzer case (each side's tail is its menu calls
/// in order), for the properties the fuzzer states on a case's shape.
pub fn case_of(setup: &Setup, n: &Node) -> Case {
    let side = |s: usize| GenSide {
        personality: setup.pair[s].clone(),
        rcvbuf: None,
        sndbuf: None,
        reader: false,
        steps: n
            .used
            .calls(s)
            .iter()
            .map(|&i| Step {
                wait: Wait::Now,
                call: setup.sides[s].defs[i as usize].op.rename(&mut ToGen),
            })
            .collect(),
    };
    Case {
        client: side(0),
        server: side(1),
        net: Net::default(),
        seed: setup.scenario.spec.seed,
    }
}

/// Whether the property needs each side's calls in order (or at all:
/// a property may read a side's calls, so under `--check` they are kept),
/// and whether the explorer merges states that differ in nothing any
/// future reads (`reduce`, off with `--no-reduction`).
pub fn rules_for(p: Option<Property>, reduce: bool) -> Rules {
    Rules {
        ordered: p == Some(Property::GracefulCloseIsClean),
        forget_dead: reduce,
        forget_spent: reduce && p.is_none(),
    }
}
