//! Scenario files: parse (with spans), resolve into a world spec and
//! expectations, check a verdict against them, and write scenarios back out.
//! The format is documented in `docs/scenario-format.md`.

pub mod file;
pub mod resolve;
pub mod steps;

use crate::diag::Diag;
use file::ScenarioFile;
use model::{HostId, RstCause, State};
use sim::{Outcome, Verdict, WorldSpec};
use std::path::Path;
use std::sync::Arc;

/// What the command line changes in a scenario.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    /// (host, personality name or file)
    pub personality: Vec<(String, String)>,
    /// (host, knob, value)
    pub set: Vec<(String, String, String)>,
}

/// The `[expect]` section, resolved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectations {
    pub outcome: Option<Outcome>,
    pub rst: Option<Vec<(HostId, RstCause)>>,
    pub lost: Vec<((HostId, HostId), u64)>,
    pub silent_loss: Option<bool>,
    pub final_state: Vec<(HostId, State)>,
    pub reached: Vec<(HostId, Vec<State>)>,
}

/// One expectation that did not hold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    pub what: String,
    pub expected: String,
    pub actual: String,
}

impl Expectations {
    /// True when the scenario states any expectation (steps included).
    pub fn any(&self, spec: &WorldSpec) -> bool {
        *self != Expectations::default() || spec.steps.iter().any(|s| s.expect.is_some())
    }

    /// Every expectation that the verdict contradicts, step results included.
    pub fn check(&self, spec: &WorldSpec, v: &Verdict) -> Vec<Mismatch> {
        let host = |h: HostId| spec.hosts[h as usize].name.clone();
        let mut out = Vec::new();
        let mut push = |what: String, expected: String, actual: String| {
            out.push(Mismatch {
                what,
                expected,
                actual,
            })
        };
        if let Some(o) = self.outcome {
            if o != v.outcome {
                push("outcome".into(), o.to_string(), v.outcome.to_string());
            }
        }
        if let Some(r) = &self.rst {
            let actual: Vec<String> = v
                .resets
                .iter()
                .map(|r| format!("{}: {}", host(r.from.host), r.cause.key()))
                .collect();
            let expected: Vec<String> = r
                .iter()
                .map(|(h, c)| format!("{}: {}", host(*h), c.key()))
                .collect();
            if actual != expected {
                push("rst".into(), list(&expected), list(&actual));
            }
        }
        for &((a, b), bytes) in &self.lost {
            let lost: u64 = v
                .connections
                .iter()
                .flat_map(|c| &c.directions)
                .filter(|d| {
                    d.from.is_some_and(|f| f.host == a) && d.to.is_some_and(|t| t.host == b)
                })
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
        if let Some(s) = self.silent_loss {
            if s != v.silent_loss() {
                push(
                    "silent_loss".into(),
                    s.to_string(),
                    v.silent_loss().to_string(),
                );
            }
        }
        for &(h, st) in &self.final_state {
            let actual =
                endpoint(v, h).map_or("no connection".to_string(), |e| e.final_state.to_string());
            if actual != st.name() {
                push(format!("final {}", host(h)), st.to_string(), actual);
            }
        }
        for (h, states) in &self.reached {
            let path = endpoint(v, *h)
                .map(|e| e.states.clone())
                .unwrap_or_default();
            for st in states {
                if !path.contains(st) {
                    let p: Vec<&str> = path.iter().map(|s| s.name()).collect();
                    push(
                        format!("reached {}", host(*h)),
                        st.to_string(),
                        p.join(" → "),
                    );
                }
            }
        }
        for m in &v.step_mismatches {
            let what = format!(
                "step {} ({})",
                m.origin.clone().unwrap_or_default(),
                spec.procs[m.proc as usize].name
            );
            push(what, m.expected.clone(), m.actual.clone());
        }
        out
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "no RST".into()
    } else {
        v.join(", ")
    }
}

/// The endpoint of host `h` in the first connection it takes part in.
fn endpoint(v: &Verdict, h: HostId) -> Option<&sim::verdict::Endpoint> {
    v.connections
        .iter()
        .flat_map(|c| c.endpoints.iter())
        .find(|e| e.addr.host == h)
}

/// A loaded, resolved scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub path: String,
    pub name: String,
    pub description: String,
    pub file: ScenarioFile,
    pub spec: Arc<WorldSpec>,
    pub expect: Expectations,
}

/// Parses TOML text (no resolution).
pub fn parse(path: &str, text: &str) -> Result<ScenarioFile, Vec<Diag>> {
    toml::from_str(text).map_err(|e| {
        let (message, help) = toml_message(e.message());
        vec![Diag {
            path: path.to_string(),
            source: Arc::from(text),
            span: e.span(),
            message,
            label: "here".into(),
            help,
        }]
    })
}

/// Splits toml's "unknown field `x`, expected one of …" into message and help.
fn toml_message(m: &str) -> (String, Option<String>) {
    let m = m.trim();
    match m.split_once(", expected ") {
        Some((a, b)) => (a.to_string(), Some(format!("expected {b}"))),
        None if m.starts_with("unknown field") || m.starts_with("missing field") => {
            (m.to_string(), Some("the keys of a scenario file are listed in docs/scenario-format.md".into()))
        }
        None => (m.to_string(), None),
    }
}

/// Loads, parses and resolves a scenario file.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Scenario, Vec<Diag>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diag {
            path: shown.clone(),
            source: Arc::from(""),
            span: None,
            message: format!("cannot read scenario: {e}"),
            label: String::new(),
            help: None,
        }]
    })?;
    from_text(
        &shown,
        &text,
        path.parent().unwrap_or(Path::new(".")),
        overrides,
    )
}

/// Parses and resolves scenario text; `base` is where relative personality files are found.
pub fn from_text(
    path: &str,
    text: &str,
    base: &Path,
    overrides: &Overrides,
) -> Result<Scenario, Vec<Diag>> {
    let file = parse(path, text)?;
    let mut cx = resolve::Ctx {
        path,
        source: Arc::from(text),
        base,
        errors: Vec::new(),
    };
    let resolved = resolve::resolve(&mut cx, &file, overrides);
    match resolved {
        Some((spec, expect)) if cx.errors.is_empty() => {
            let name = file.scenario.name.clone().unwrap_or_else(|| {
                Path::new(path)
                    .file_stem()
                    .map_or("scenario".into(), |s| s.to_string_lossy().into_owned())
            });
            Ok(Scenario {
                path: path.to_string(),
                name,
                description: file.scenario.description.clone().unwrap_or_default(),
                file,
                spec: Arc::new(spec),
                expect,
            })
        }
        _ => Err(cx.errors),
    }
}

/// Writes a scenario file as TOML (what the fuzzer emits; parses back to the same file).
pub fn write(file: &ScenarioFile) -> String {
    toml::to_string_pretty(file).expect("scenario files serialize")
}
