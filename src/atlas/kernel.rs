//! The `linux` column against this host's kernel: each cell's scenario runs
//! through `tcpsim real`'s machinery (the delay line, at time scale 1) and is
//! read by the same `observe` as the model's run. Compared: what goes on the
//! wire (RST, FIN, nothing; not the RST's cause, which the wire does not
//! show), what the call returns, how long it blocks (within `tcpsim real`'s
//! tolerance), the peer's reads and writes, and the bytes lost.

use super::cell::{self, Key};
use super::observe::{self, Obs};
use super::render;
use crate::real::{self, compare, trace};
use serde::Serialize;

/// How one cell compares with the kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Status {
    Agrees,
    /// What differs: (column, model, kernel).
    Differs {
        items: Vec<(String, String, String)>,
    },
    NotChecked {
        why: String,
    },
}

/// A cell's check.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Check {
    pub slug: String,
    #[serde(flatten)]
    pub status: Status,
}

/// Why no kernel run can happen here, if none can.
pub fn unavailable() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("this host does not run Linux".into());
    }
    real::plan::missing_privileges()
}

/// The kernel's view of the cell: its observation, or why there is none.
fn kernel_obs(k: &Key) -> Result<(Obs, f64), String> {
    let s = cell::scenario("linux", "linux", k);
    let scale = 1.0;
    let plan = real::plan(&s.spec, scale).map_err(|r| format!("not reproducible: {r}"))?;
    let (world, _) = crate::cli::run::simulate(&s);
    let hint = real::hint(&s.spec, world.trace());
    let opts = real::Options {
        time_scale: scale,
        labels: compare::labels(&s),
    };
    let run = real::execute(&s.spec, &plan, &opts, &hint).map_err(|e| match e {
        real::RunError::NotReproducible(r) => format!("not reproducible: {r}"),
        real::RunError::Failed(e) => format!("the kernel run failed: {e}"),
    })?;
    if let Some(e) = &run.capture_error {
        return Err(format!("no capture: {e}"));
    }
    let calls = trace::calls(&s.spec, &run.recs);
    let entries = trace::entries(&s.spec, &run, &calls);
    let verdict = trace::verdict(&s.spec, &run, &calls, &entries);
    observe::observe(&s.spec, k, (&entries, &verdict), &observe::seen_states(k))
        .map(|o| (o, scale))
        .map_err(|state| {
            format!("the kernel's connection was {state} at the call, as its segments tell")
        })
}

/// The columns of two observations that differ (the RST cause aside; the
/// blocking time within the tolerance of `tcpsim real --compare`).
pub fn differences(m: &Obs, kern: &Obs, scale: f64) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut item = |what: &str, a: String, b: String| {
        if a != b {
            out.push((what.to_string(), a, b));
        }
    };
    item("wire", m.wire.name().into(), kern.wire.name().into());
    item(
        "returns",
        render::returns_text(m),
        render::returns_text(kern),
    );
    let blocks_agree = match (m.blocks_ms, kern.blocks_ms) {
        (Some(a), Some(b)) => {
            let tol_ms = compare::tolerance_ns(scale, a * 1_000_000) / 1_000_000;
            a.abs_diff(b) <= tol_ms.max(1)
        }
        (a, b) => a == b,
    };
    if !blocks_agree {
        item("blocks", render::blocks_text(m), render::blocks_text(kern));
    }
    item(
        "peer reads",
        m.peer_reads.join(", "),
        kern.peer_reads.join(", "),
    );
    item(
        "peer writes",
        m.peer_writes.join(", "),
        kern.peer_writes.join(", "),
    );
    item(
        "lost",
        render::lost_text(&m.lost),
        render::lost_text(&kern.lost),
    );
    out
}

/// Checks one cell of the model's `linux` column (`model`: what the model
/// shows, or why it shows nothing) against the kernel. A difference must
/// happen twice: the kernel's timing is not deterministic.
pub fn check(k: &Key, model: Result<&Obs, String>) -> Check {
    let slug = k.slug();
    let m = match model {
        Ok(m) => m,
        Err(why) => {
            return Check {
                slug,
                status: Status::NotChecked { why },
            }
        }
    };
    let mut status = Status::Agrees;
    for _ in 0..2 {
        status = match kernel_obs(k) {
            Err(why) => Status::NotChecked { why },
            Ok((kern, scale)) => match differences(m, &kern, scale) {
                d if d.is_empty() => Status::Agrees,
                items => Status::Differs { items },
            },
        };
        if status == Status::Agrees {
            break;
        }
    }
    Check { slug, status }
}

/// A check in one line: `slug: agrees`, `slug: DIFFERS: …`, `slug: not checked: …`.
pub fn check_line(c: &Check) -> String {
    match &c.status {
        Status::Agrees => format!("{}: agrees", c.slug),
        Status::NotChecked { why } => format!("{}: not checked: {why}", c.slug),
        Status::Differs { items } => {
            let d: Vec<String> = items
                .iter()
                .map(|(what, m, k)| format!("{what}: model {m}, kernel {k}"))
                .collect();
            format!("{}: DIFFERS: {}", c.slug, d.join("; "))
        }
    }
}

/// How many cells agree, differ, or could not be checked.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub cells: usize,
    pub agree: usize,
    pub differ: usize,
    pub not_checked: usize,
}

impl Summary {
    pub fn of(checks: &[Check]) -> Summary {
        let n = |f: fn(&Status) -> bool| checks.iter().filter(|c| f(&c.status)).count();
        Summary {
            cells: checks.len(),
            agree: n(|s| matches!(s, Status::Agrees)),
            differ: n(|s| matches!(s, Status::Differs { .. })),
            not_checked: n(|s| matches!(s, Status::NotChecked { .. })),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "linux column vs kernel ({}): {} cells, {} checked: {} agree, {} differ; {} not checked",
            real::kernel_release(),
            self.cells,
            self.agree + self.differ,
            self.agree,
            self.differ,
            self.not_checked
        )
    }
}

/// `tcpsim atlas --kernel --format json`.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Report<'a> {
    pub summary: &'a Summary,
    pub checks: &'a [Check],
}
