//! The knobs that decide a cell. A knob decides a cell when setting it alone
//! to another value — one another built-in stack gives it, or another
//! variant of an enum knob — changes what the cell shows. The diff of two
//! personalities uses `tcpsim compare`'s blame (`compare::blame_by`): which
//! knobs of the first, set to the second's values, give the second's cell.

use super::cell::{self, Key};
use super::observe::{self, Obs};
use crate::cli::compare::{blame_by, Blame};
use model::personality::Knobs;
use model::Personality;
use serde::Serialize;
use sim::WorldSpec;
use std::borrow::Cow;

/// Another value of a knob, and what the cell shows with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Alternative {
    pub value: String,
    /// The cell with that value, in short (`render::short`).
    pub gives: String,
}

/// A knob that decides a cell: its value and source in the personality, and
/// the other values that change the cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Decider {
    pub knob: &'static str,
    pub value: String,
    pub source: String,
    pub otherwise: Vec<Alternative>,
}

/// The values worth trying for each knob of `p`: those the other built-in
/// personalities give it, and every variant of an enum knob; never `p`'s own.
pub fn alternatives(p: &Personality) -> Vec<(&'static str, Vec<String>)> {
    let builtins: Vec<Personality> = Personality::BUILTIN
        .iter()
        .filter_map(|n| Personality::builtin(n))
        .collect();
    Knobs::INFO
        .iter()
        .map(|info| {
            let own = p.knobs.get(info.name).expect("knob").0;
            let mut values: Vec<String> = builtins
                .iter()
                .map(|b| b.knobs.get(info.name).expect("knob").0)
                .chain((info.variants)().iter().map(|(v, _)| v.to_string()))
                .filter(|v| *v != own)
                .collect();
            values.sort();
            values.dedup();
            (info.name, values)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// `p` with one knob set.
fn with_knob(p: &Personality, knob: &str, value: &str) -> Option<Personality> {
    let mut q = p.clone();
    q.knobs.set(knob, value, Cow::Borrowed("atlas")).ok()?;
    Some(q)
}

/// The knobs that decide the cell `k` of `p`, whose observation is `obs`;
/// `base` is the cell's world (any personalities: they are replaced).
pub fn deciders(
    (p, peer): (&Personality, &Personality),
    alts: &[(&'static str, Vec<String>)],
    base: &WorldSpec,
    k: &Key,
    obs: &Obs,
) -> Vec<Decider> {
    let mut out = Vec::new();
    for (knob, values) in alts {
        let otherwise: Vec<Alternative> = values
            .iter()
            .filter_map(|v| {
                let q = with_knob(p, knob, v)?;
                let spec = cell::with_personalities(base, &q, peer);
                let gives = match observe::simulate(&spec, k) {
                    Ok(o) if o == *obs => return None,
                    Ok(o) => super::render::short(&o),
                    Err(state) => format!("the state is not reached ({state})"),
                };
                Some(Alternative {
                    value: v.clone(),
                    gives,
                })
            })
            .collect();
        if !otherwise.is_empty() {
            let (value, source) = p.knobs.get(knob).expect("knob");
            out.push(Decider {
                knob,
                value,
                source: source.to_string(),
                otherwise,
            });
        }
    }
    out
}

/// What the class of a cell is, for the diff's "decides": what goes on the
/// wire and what the call returns.
fn same_class(a: &Option<Obs>, b: &Option<Obs>) -> bool {
    let class = |o: &Option<Obs>| o.as_ref().map(|o| (o.wire, o.returns.clone()));
    class(a) == class(b)
}

/// Which knobs of `pa` make its cell `k` what `pb`'s is.
pub fn diff_blame(
    (pa, pb, peer): (&Personality, &Personality, &Personality),
    base: &WorldSpec,
    k: &Key,
    (a, b): (&Obs, &Obs),
) -> Blame {
    let run = |p: &Personality| {
        let spec = cell::with_personalities(base, p, peer);
        Some(observe::simulate(&spec, k).ok())
    };
    blame_by(
        (pa, pb),
        run,
        (&Some(a.clone()), &Some(b.clone())),
        same_class,
        |x, y| x == y,
    )
}
