//! Which knobs make one personality's run end as another's.

use super::cell::{run_cell, with_pair, Cell};
use crate::cli::ScenarioOpts;
use crate::scenario::Scenario;
use model::personality::Knobs;
use model::Personality;
use serde::Serialize;
use sim::Outcome;
use std::borrow::Cow;
use std::fmt;

/// One knob's value in the two personalities compared.
#[derive(Serialize, schemars::JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct KnobChange {
    pub knob: &'static str,
    pub from: String,
    pub to: String,
}

impl fmt::Display for KnobChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} → {})", self.knob, self.from, self.to)
    }
}

/// Which of the knobs in which A and B differ make A's run end as B's.
#[derive(Serialize, schemars::JsonSchema, Clone, Debug, Default)]
pub struct Blame {
    /// How many knobs differ between the two personalities.
    pub knobs_differing: usize,
    /// Knobs each of which, set alone to B's value, gives A's run B's outcome
    /// and RST causes (empty when the two runs already share them).
    pub decides_outcome: Vec<KnobChange>,
    /// A smallest set of knobs (none of them can be left out) that, set
    /// together to B's values, make A's run end exactly as B's: outcome, RSTs
    /// and lost bytes.
    pub exact: Vec<KnobChange>,
}

/// A cell's outcome class: its outcome and RST causes, without the amount lost.
pub(super) fn class(c: &Cell) -> (Outcome, &[String]) {
    (c.outcome, &c.rst)
}

/// Finds which knobs of `pa` turn its run into `target`, `pb`'s run.
pub(super) fn blame(
    s: &Scenario,
    opts: &ScenarioOpts,
    (pa, pb): (&Personality, &Personality),
    (pos, other): (usize, &Personality),
    (start, target): (&Cell, &Cell),
) -> Blame {
    let run = |p: &Personality| -> Option<Cell> {
        let pair = if pos == 0 { [p, other] } else { [other, p] };
        let spec = with_pair(s, opts, pair).ok()?;
        Some(run_cell(s, spec, &target.first, &target.second))
    };
    blame_by(
        (pa, pb),
        run,
        (start, target),
        |a, b| class(a) == class(b),
        |a, b| a.ending() == b.ending(),
    )
}

/// The knobs in which two personalities differ, with both values.
pub fn knob_changes(pa: &Personality, pb: &Personality) -> Vec<KnobChange> {
    Knobs::INFO
        .iter()
        .filter_map(|info| {
            let (va, _) = pa.knobs.get(info.name).expect("knob");
            let (vb, _) = pb.knobs.get(info.name).expect("knob");
            (va != vb).then(|| KnobChange {
                knob: info.name,
                from: va.to_string(),
                to: vb.to_string(),
            })
        })
        .collect()
}

/// Which knobs of `pa`, set to `pb`'s values, turn what `run` makes of `pa`
/// (`start`) into what it makes of `pb` (`target`). The knobs that decide the
/// class (`same_class`) are found one at a time; the exact ending
/// (`same_end`) is narrowed from "every differing knob" by leaving out each
/// knob whose absence changes nothing (so each one kept is needed).
pub fn blame_by<T>(
    (pa, pb): (&Personality, &Personality),
    run: impl Fn(&Personality) -> Option<T>,
    (start, target): (&T, &T),
    same_class: impl Fn(&T, &T) -> bool,
    same_end: impl Fn(&T, &T) -> bool,
) -> Blame {
    let changes = knob_changes(pa, pb);
    let run = |set: &[&KnobChange]| -> Option<T> {
        let mut p = pa.clone();
        for c in set {
            p.knobs
                .set(c.knob, &pb.knobs.get(c.knob)?.0, Cow::Borrowed("compare"))
                .ok()?;
        }
        run(&p)
    };
    let decides_outcome = if same_class(start, target) {
        Vec::new()
    } else {
        changes
            .iter()
            .filter(|c| run(&[*c]).is_some_and(|r| same_class(&r, target)))
            .cloned()
            .collect()
    };
    let mut exact: Vec<&KnobChange> = changes.iter().collect();
    let mut i = 0;
    while i < exact.len() {
        let mut without = exact.clone();
        without.remove(i);
        match run(&without) {
            Some(r) if same_end(&r, target) => exact = without,
            _ => i += 1,
        }
    }
    Blame {
        knobs_differing: changes.len(),
        decides_outcome,
        exact: exact.into_iter().cloned().collect(),
    }
}

impl Blame {
    /// In words, as the text report's last lines of a divergence.
    pub fn lines(&self) -> Vec<String> {
        let list = |v: &[KnobChange]| {
            v.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        if !self.decides_outcome.is_empty() {
            out.push(format!(
                "outcome decided by: {}",
                list(&self.decides_outcome)
            ));
        }
        let needed = match self.exact.len() {
            0 => "exact ending: no knob (the personalities' names only)".to_string(),
            n => format!(
                "exact ending needs {n} of the {} differing knobs: {}",
                self.knobs_differing,
                list(&self.exact)
            ),
        };
        out.push(needed);
        out
    }
}
