//! Scenario files: parse (with spans), resolve into a world spec and
//! expectations, check a verdict against them, and write scenarios back out.
//! The format is documented in `docs/scenario-format.md`.

pub mod diag;
pub mod file;
pub mod limits;
pub mod packet;
pub mod personality_file;
pub mod profile;
pub mod resolve;
pub mod source;
pub mod steps;
mod toml_error;
pub mod units;

use crate::diag::Diag;
use crate::source::{FileKind, Source};
use file::ScenarioFile;
use model::{HostId, RstCause, State};
use sim::{Outcome, Verdict, WorldSpec};
use std::path::Path;
use std::sync::Arc;

/// What the command line changes in a scenario. Each change keeps the
/// argument it came from: an error in it is about the command line, not the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    /// `--server P`, `--client P`, `--personality HOST=P`.
    pub personality: Vec<PersonalityArg>,
    /// `--set HOST.KNOB=VALUE`.
    pub set: Vec<KnobArg>,
    /// `--profile NAME`: replaces the file's network profile, and wins over
    /// its `delay` and hosts' `mtu` too (a name of `profile::PROFILES`).
    pub profile: Option<&'static profile::Profile>,
}

/// A host's personality given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalityArg {
    /// The argument as written (`--server freebsd`).
    pub arg: String,
    pub host: String,
    /// A built-in name or a personality file.
    pub personality: String,
}

/// A knob set on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnobArg {
    /// The argument as written (`--set server.tcp_fin_timeout=30`).
    pub arg: String,
    pub host: String,
    pub knob: String,
    pub value: String,
}

/// Scenario files: at most [`limits::SCENARIO_FILE_BYTES_MAX`].
pub const SCENARIO_FILE: FileKind = FileKind {
    name: "scenario",
    bytes_max: limits::SCENARIO_FILE_BYTES_MAX,
    limit: "scenario file size",
};

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

/// Expectations for one pair of personalities (`*` matches any).
#[derive(Clone, Debug, PartialEq)]
pub struct PairExpect {
    pub first: String,
    pub second: String,
    pub expect: Expectations,
}

/// One expectation that did not hold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
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

    /// Every expectation of this section that the verdict contradicts (the
    /// steps' `= EXPECTED` results are [`step_mismatches`]).
    pub fn check(&self, spec: &WorldSpec, v: &Verdict) -> Vec<Mismatch> {
        let host = |h: HostId| spec.hosts[h as usize].name.clone();
        let mut out = Vec::new();
        if let Some(o) = self.outcome {
            if o != v.outcome {
                out.push(Mismatch::new("outcome", o, v.outcome));
            }
        }
        if let Some(r) = &self.rst {
            out.extend(rst_mismatch(r, v, &host));
        }
        for &((a, b), bytes) in &self.lost {
            let lost = lost_bytes(v, a, b);
            if lost != bytes {
                out.push(Mismatch::new(
                    format!("lost {}->{}", host(a), host(b)),
                    bytes,
                    lost,
                ));
            }
        }
        if let Some(s) = self.silent_loss {
            if s != v.silent_loss() {
                out.push(Mismatch::new("silent_loss", s, v.silent_loss()));
            }
        }
        for &(h, st) in &self.final_state {
            let actual =
                endpoint(v, h).map_or("no connection".to_string(), |e| e.final_state.to_string());
            if actual != st.name() {
                out.push(Mismatch::new(format!("final {}", host(h)), st, actual));
            }
        }
        for (h, states) in &self.reached {
            out.extend(unreached(v, *h, states, &host(*h)));
        }
        out
    }
}

impl Mismatch {
    fn new(what: impl Into<String>, expected: impl ToString, actual: impl ToString) -> Self {
        Mismatch {
            what: what.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }
}

/// The `rst` expectation against the verdict's causal resets, if it fails.
/// A kernel run sees RSTs on the wire but not why they were sent: then only
/// their senders are compared, each run of RSTs from one sender counted once
/// (the kernel may answer a straggler twice).
fn rst_mismatch(
    expected: &[(HostId, RstCause)],
    v: &Verdict,
    host: &dyn Fn(HostId) -> String,
) -> Option<Mismatch> {
    let causes_seen = causal_resets(v).all(|r| r.cause.known().is_some());
    let text = |h: HostId, cause: &str| match causes_seen {
        true => format!("{}: {cause}", host(h)),
        false => host(h),
    };
    let mut actual: Vec<String> = causal_resets(v)
        .map(|r| text(r.from.host, r.cause.key()))
        .collect();
    let mut expected: Vec<String> = expected.iter().map(|(h, c)| text(*h, c.key())).collect();
    if !causes_seen {
        actual.dedup();
        expected.dedup();
    }
    if actual == expected {
        return None;
    }
    let what = if causes_seen {
        "rst"
    } else {
        "rst (senders; causes not observable)"
    };
    Some(Mismatch::new(what, list(&expected), list(&actual)))
}

/// Bytes the verdict counts as lost from host `a` to host `b`, over all connections.
fn lost_bytes(v: &Verdict, a: HostId, b: HostId) -> u64 {
    v.connections
        .iter()
        .flat_map(|c| &c.directions)
        .filter(|d| d.from.is_some_and(|f| f.host == a) && d.to.is_some_and(|t| t.host == b))
        .map(|d| d.lost)
        .sum()
}

/// One mismatch per state of `states` that host `h`'s endpoint never reached
/// (named `name`), each showing the path it took.
fn unreached(v: &Verdict, h: HostId, states: &[State], name: &str) -> Vec<Mismatch> {
    let path = endpoint(v, h).map(|e| e.states.clone()).unwrap_or_default();
    let taken = || {
        let p: Vec<&str> = path.iter().map(|s| s.name()).collect();
        p.join(" → ")
    };
    states
        .iter()
        .filter(|st| !path.contains(st))
        .map(|st| Mismatch::new(format!("reached {name}"), st, taken()))
        .collect()
}

/// Steps whose `= EXPECTED` result did not hold.
pub fn step_mismatches(spec: &WorldSpec, v: &Verdict) -> Vec<Mismatch> {
    v.step_mismatches
        .iter()
        .map(|m| Mismatch {
            what: format!(
                "step {} ({})",
                m.origin.clone().unwrap_or_default(),
                spec.procs[m.proc as usize].name
            ),
            expected: m.expected.clone(),
            actual: m.actual.clone(),
        })
        .collect()
}

impl Scenario {
    /// Whether any expectation applies to this run's personalities.
    pub fn has_expectations(&self) -> bool {
        match self.active_expectations() {
            Some(e) if std::ptr::eq(e, &self.expect) => e.any(&self.spec),
            Some(e) => *e != Expectations::default(),
            None => false,
        }
    }

    /// Every expectation the verdict contradicts. Per-step results count only
    /// under the personalities the file declares (they are written for those).
    pub fn check(&self, v: &Verdict) -> Vec<Mismatch> {
        let (a, b) = self.running_pair();
        self.check_pair(&self.spec, a, b, v)
    }

    /// [`Scenario::check`] for a run of `spec` whose first two hosts run the
    /// personalities `a` and `b` (what `compare` runs).
    pub fn check_pair(&self, spec: &WorldSpec, a: &str, b: &str, v: &Verdict) -> Vec<Mismatch> {
        match self.expectations_for(a, b) {
            Some(e) if std::ptr::eq(e, &self.expect) => {
                let mut out = e.check(spec, v);
                out.extend(step_mismatches(spec, v));
                out
            }
            Some(e) => e.check(spec, v),
            None => Vec::new(),
        }
    }
}

/// The RSTs that say why a connection ended: an RST answering a straggler
/// segment of a connection that was already reset (`no-connection`) is a
/// consequence, not a cause, and is left out of `rst` expectations; so is one
/// answering a straggler after a complete close that nobody acted on (the
/// verdict's `Reset::matters`, docs/sources.md#tcpsim-stray-rst).
pub fn causal_resets(v: &Verdict) -> impl Iterator<Item = &sim::verdict::Reset> {
    v.resets
        .iter()
        .enumerate()
        .filter(move |(i, r)| {
            r.cause != RstCause::NoConnection
                || (r.matters()
                    && !v.resets[..*i].iter().any(|e| {
                        (e.from == r.from && e.to == r.to) || (e.from == r.to && e.to == r.from)
                    }))
        })
        .map(|(_, r)| r)
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
    /// Per-pair expectations from `[expect.pairs]`.
    pub pairs: Vec<PairExpect>,
    /// The personalities the file itself names, per host.
    pub declared: Vec<String>,
    /// With an `explore` line in the script: how many steps come before it
    /// (`tcpsim explore` runs those and explores from where they leave the
    /// world; every other command runs every step).
    pub explore_mark: Option<usize>,
}

/// The script line that marks where `tcpsim explore` starts.
pub const EXPLORE_MARK: &str = "explore";

/// Whether a script line is the `explore` mark.
pub fn is_explore_mark(line: &str) -> bool {
    line.trim() == EXPLORE_MARK
}

impl Scenario {
    /// The expectations that apply when the first two hosts run `a` and `b`:
    /// an exact `[expect.pairs."a/b"]`, else one with a wildcard, else the
    /// file's own `[expect]` if `a`/`b` are the personalities it declares.
    pub fn expectations_for(&self, a: &str, b: &str) -> Option<&Expectations> {
        if let Some(p) = self.pair_for(a, b) {
            return Some(&p.expect);
        }
        let declared = |i: usize| self.declared.get(i).map(String::as_str);
        let own = declared(0) == Some(a) && (self.declared.len() < 2 || declared(1) == Some(b));
        own.then_some(&self.expect)
    }

    /// The `[expect.pairs]` entry for `a`/`b`: exact, else with a wildcard.
    fn pair_for(&self, a: &str, b: &str) -> Option<&PairExpect> {
        let exact = self.pairs.iter().find(|p| p.first == a && p.second == b);
        exact.or_else(|| {
            self.pairs
                .iter()
                .find(|p| (p.first == a || p.first == "*") && (p.second == b || p.second == "*"))
        })
    }

    /// Which of the file's expectations this run checks, in words, when
    /// that is not simply the file's own `[expect]` (a `--server`, `--client`
    /// or `--personality` run): `None` otherwise.
    pub fn applicable_note(&self) -> Option<String> {
        let (a, b) = self.running_pair();
        if let Some(p) = self.pair_for(a, b) {
            return Some(format!(
                "those of [expect.pairs.\"{}/{}\"] for {a}/{b}",
                p.first, p.second
            ));
        }
        if self.has_expectations() || !self.states_expectations() {
            return None;
        }
        Some(format!(
            "none apply to {a}/{b} (the file states them for {}; add [expect.pairs.\"{a}/{b}\"] to check this pair)",
            self.declared.join("/")
        ))
    }

    /// The expectations for the personalities this run actually uses.
    pub fn active_expectations(&self) -> Option<&Expectations> {
        let (a, b) = self.running_pair();
        self.expectations_for(a, b)
    }

    /// Whether the file states any expectation, for any pair (steps included).
    pub fn states_expectations(&self) -> bool {
        self.expect.any(&self.spec) || !self.pairs.is_empty()
    }

    /// The personalities this run gives its first two hosts.
    pub fn running_pair(&self) -> (&str, &str) {
        let name = |i: usize| self.spec.hosts.get(i).map_or("", |h| &*h.personality.name);
        (name(0), name(1))
    }
}

/// Parses TOML text (no resolution).
pub fn parse(path: &str, text: &str) -> Result<ScenarioFile, Vec<Diag>> {
    parse_source(path, &Arc::new(Source::new(text)))
}

fn parse_source(path: &str, source: &Arc<Source>) -> Result<ScenarioFile, Vec<Diag>> {
    toml::from_str(source.text()).map_err(|e| {
        let keys = "a scenario file are listed in docs/scenario-format.md";
        vec![toml_error::diag(&e, path, source, keys)]
    })
}

/// Loads, parses and resolves a scenario file: a regular file within
/// [`SCENARIO_FILE`]'s size limit, in UTF-8.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Scenario, Vec<Diag>> {
    let shown = path.display().to_string();
    let source = source::read_file(path, SCENARIO_FILE).map_err(|d| vec![*d])?;
    from_source(
        &shown,
        source,
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
    from_source(path, Arc::new(Source::new(text)), base, overrides)
}

fn from_source(
    path: &str,
    source: Arc<Source>,
    base: &Path,
    overrides: &Overrides,
) -> Result<Scenario, Vec<Diag>> {
    let file = parse_source(path, &source)?;
    let mut cx = resolve::Ctx::new(path, source, base);
    let resolved = resolve::resolve(&mut cx, &file, overrides);
    match resolved {
        Some((spec, expect, pairs)) if cx.errors.is_empty() => {
            let declared = file
                .hosts
                .values()
                .map(|h| h.personality.get_ref().clone())
                .collect();
            let explore_mark = file
                .script
                .steps
                .iter()
                .position(|l| is_explore_mark(l.get_ref()));
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
                pairs,
                declared,
                explore_mark,
            })
        }
        _ => Err(cx.errors),
    }
}

/// Writes a scenario file as TOML (what the fuzzer emits; parses back to the same file).
pub fn write(file: &ScenarioFile) -> String {
    toml::to_string_pretty(file).expect("scenario files serialize")
}
