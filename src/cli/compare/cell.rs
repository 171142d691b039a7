//! One cell of the matrix: a run of the scenario under one pair of
//! personalities, and the whole matrix of them.

use super::diverge::{divergences, Divergence};
use super::render::cause_letter;
use crate::cli::ScenarioOpts;
use crate::personality_file;
use crate::scenario::{self, causal_resets, Mismatch, Scenario};
use model::Personality;
use rayon::prelude::*;
use serde::Serialize;
use sim::{Outcome, Verdict, WorldSpec};
use std::path::Path;
use std::sync::Arc;

/// What one pair of personalities gives.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Cell {
    pub first: String,
    pub second: String,
    pub outcome: Outcome,
    /// "host: cause" for each causal RST.
    pub rst: Vec<String>,
    pub lost: u64,
    pub silent: bool,
    /// Expectations for this pair that failed (none stated → empty).
    pub failures: Vec<Mismatch>,
    #[serde(skip)]
    pub verdict: Verdict,
}

impl Cell {
    /// The comparable part: two cells "end the same" when this is equal.
    pub(super) fn ending(&self) -> (Outcome, &[String], u64) {
        (self.outcome, &self.rst, self.lost)
    }

    pub fn short(&self) -> String {
        let rst = if self.rst.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.rst.join("; "))
        };
        let fail = if self.failures.is_empty() { "" } else { " ✗" };
        match self.outcome {
            Outcome::Clean => format!("clean{fail}"),
            Outcome::ResetWithoutLoss => format!("RST{rst}{fail}"),
            Outcome::ResetWithLoss => format!("RST, lost {}{rst}{fail}", self.lost),
            Outcome::LossWithoutReset => format!(
                "lost {}{}{fail}",
                self.lost,
                if self.silent { " silently" } else { "" }
            ),
            Outcome::Hung => format!("hung{fail}"),
            Outcome::EventBudget => format!("event budget{fail}"),
            Outcome::TimeLimit => format!("time limit{fail}"),
        }
    }

    /// The cell in the matrix: its ending in a few characters, its RST
    /// causes by the letter of their entry in `causes` (added if new).
    pub(super) fn mark(&self, causes: &mut Vec<String>) -> String {
        let mut rst = "RST".to_string();
        if !self.rst.is_empty() {
            let cause = self.rst.join("; ");
            let k = causes.iter().position(|c| *c == cause).unwrap_or_else(|| {
                causes.push(cause);
                causes.len() - 1
            });
            rst = format!("RST {}", cause_letter(k));
        }
        let fail = if self.failures.is_empty() { "" } else { " ✗" };
        let silent = if self.silent { " silent" } else { "" };
        match self.outcome {
            Outcome::Clean => format!("clean{fail}"),
            Outcome::ResetWithoutLoss => format!("{rst}{fail}"),
            Outcome::ResetWithLoss => format!("{rst} −{}{fail}", self.lost),
            Outcome::LossWithoutReset => format!("−{}{silent}{fail}", self.lost),
            Outcome::Hung => format!("hung{fail}"),
            Outcome::EventBudget => format!("budget{fail}"),
            Outcome::TimeLimit => format!("time limit{fail}"),
        }
    }
}

/// The spec with the first two hosts' personalities replaced, the file's and
/// the command line's knob overrides re-applied.
pub fn with_pair(
    s: &Scenario,
    opts: &ScenarioOpts,
    ps: [&Personality; 2],
) -> Result<Arc<WorldSpec>, String> {
    let mut spec = (*s.spec).clone();
    for (i, p) in ps.into_iter().enumerate() {
        let Some(h) = spec.hosts.get_mut(i) else {
            break;
        };
        let mut p = p.clone();
        let def = &s.file.hosts[&h.name];
        for (knob, v) in &def.set {
            p.set(knob, &personality_file::value_text(v.get_ref()), &s.path)
                .map_err(|e| e.to_string())?;
        }
        for (host, knob, value) in &opts.set {
            if *host == h.name {
                p.set(knob, value, "--set").map_err(|e| e.to_string())?;
            }
        }
        h.personality = Arc::new(p);
    }
    Ok(Arc::new(spec))
}

pub(super) fn run_cell(s: &Scenario, spec: Arc<WorldSpec>, a: &str, b: &str) -> Cell {
    let v = sim::run_verdict(&spec);
    let host = |h: u16| spec.hosts[h as usize].name.clone();
    let mut failures = s.check_pair(&spec, a, b, &v);
    // A raw peer plays a script written for one stack (a packetdrill script):
    // its steps' expectations hold for every personality it is run against.
    if spec.hosts.iter().any(|h| h.raw.is_some()) {
        for m in scenario::step_mismatches(&spec, &v) {
            if !failures.contains(&m) {
                failures.push(m);
            }
        }
    }
    Cell {
        first: a.to_string(),
        second: b.to_string(),
        outcome: v.outcome,
        rst: causal_resets(&v)
            .map(|r| format!("{}: {}", host(r.from.host), r.cause.key()))
            .collect(),
        lost: v.lost_bytes(),
        silent: v.silent_loss(),
        failures,
        verdict: v,
    }
}

pub struct Comparison {
    pub names: Vec<String>,
    /// The first host's personalities (the matrix's rows) and the second's
    /// (its columns): `names`, or a raw peer's own alone (it has no stack to vary).
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    pub cells: Vec<Cell>,
    /// Each cell's world, as it ran.
    pub specs: Vec<Arc<WorldSpec>>,
    pub divergences: Vec<Divergence>,
}

/// Runs the matrix and finds the divergences.
pub fn compare(s: &Scenario, opts: &ScenarioOpts, names: &[String]) -> Result<Comparison, String> {
    let ps: Vec<Personality> = names
        .iter()
        .map(|n| personality_file::resolve(n, Path::new(".")))
        .collect::<Result<_, _>>()?;
    // A raw peer keeps its own personality, which it does not use.
    let axis = |i: usize| match s.spec.hosts.get(i) {
        Some(h) if h.raw.is_some() => vec![(*h.personality).clone()],
        _ => ps.clone(),
    };
    let axes = [axis(0), axis(1)];
    let pairs: Vec<[&Personality; 2]> = axes[0]
        .iter()
        .flat_map(|pa| axes[1].iter().map(move |pb| [pa, pb]))
        .collect();
    // The cells run on every core and are taken in matrix order (the first
    // failing pair's error, as one after the other would give).
    let ran: Vec<Result<(Cell, Arc<WorldSpec>), String>> = pairs
        .par_iter()
        .map(|&[pa, pb]| {
            let spec = with_pair(s, opts, [pa, pb])?;
            Ok((run_cell(s, spec.clone(), &pa.name, &pb.name), spec))
        })
        .collect();
    let (cells, specs): (Vec<Cell>, Vec<Arc<WorldSpec>>) = ran
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .unzip();
    let divergences = divergences(s, opts, &axes, &cells, &specs);
    let [rows, cols] = axes.map(|a| a.iter().map(|p| p.name.to_string()).collect());
    Ok(Comparison {
        names: names.to_vec(),
        rows,
        cols,
        cells,
        specs,
        divergences,
    })
}
