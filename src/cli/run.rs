//! `tcpsim run FILE`: run one scenario, print the ladder and the verdict (or
//! JSON), and check its expectations.

use super::{report_diags, ScenarioOpts, EXIT_FAILED, EXIT_OK};
use crate::scenario::{self, Mismatch, Scenario};
use serde::Serialize;
use sim::{report, Entry, Verdict, World};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Ladder diagram and verdict.
    #[default]
    Text,
    /// The full trace and verdict as JSON.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file.
    pub file: PathBuf,
    #[command(flatten)]
    pub opts: ScenarioOpts,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Print only the verdict, not the ladder.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs a scenario with its trace recorded.
pub fn simulate(s: &Scenario) -> (World, Verdict) {
    let mut w = World::new(s.spec.clone(), true);
    let v = w.run();
    (w, v)
}

/// The JSON report of a run, the simulator's or (with `kernel`) a real
/// kernel's: one schema for both.
#[derive(Serialize)]
pub struct JsonReport<'a, K: Serialize> {
    scenario: &'a str,
    seed: u64,
    hosts: Vec<JsonHost<'a>>,
    verdict: &'a Verdict,
    expectations_failed: &'a [Mismatch],
    /// Every call that failed, with the name its stack uses and the POSIX one.
    errors: Vec<JsonError>,
    trace: &'a [Entry],
    /// What a kernel run adds (its plan, notes, time scale, comparison).
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel: Option<K>,
}

impl<'a, K: Serialize> JsonReport<'a, K> {
    pub fn new(
        s: &'a Scenario,
        trace: &'a [Entry],
        verdict: &'a Verdict,
        expectations_failed: &'a [Mismatch],
        kernel: Option<K>,
    ) -> JsonReport<'a, K> {
        JsonReport {
            scenario: &s.name,
            seed: s.spec.seed,
            hosts: json_hosts(s),
            verdict,
            expectations_failed,
            errors: json_errors(s, trace),
            trace,
            kernel,
        }
    }
}

/// The hosts as the JSON report lists them.
pub fn json_hosts(s: &Scenario) -> Vec<JsonHost<'_>> {
    s.spec
        .hosts
        .iter()
        .map(|h| JsonHost {
            name: &h.name,
            personality: &h.personality.name,
            release: &h.personality.release,
        })
        .collect()
}

#[derive(Serialize)]
struct JsonError {
    t_ns: model::Instant,
    host: String,
    process: String,
    call: String,
    /// As the host's stack names it (WSAECONNRESET on Winsock personalities).
    error: &'static str,
    posix: &'static str,
}

fn json_errors(s: &Scenario, trace: &[Entry]) -> Vec<JsonError> {
    trace
        .iter()
        .filter_map(|e| match e.what {
            sim::What::Return {
                proc,
                call,
                result: Err(errno),
                ..
            } => Some(JsonError {
                t_ns: e.t_ns,
                host: s.spec.hosts[e.host as usize].name.clone(),
                process: s.spec.procs[proc as usize].name.clone(),
                call: report::call_text(&call, &s.spec),
                error: report::errno_name(&s.spec, e.host, errno),
                posix: errno.name(),
            }),
            _ => None,
        })
        .collect()
}

#[derive(Serialize)]
pub struct JsonHost<'a> {
    name: &'a str,
    personality: &'a str,
    release: &'a str,
}

/// The text report: header, ladder, verdict, expectations.
pub fn text_report(
    s: &Scenario,
    w: &World,
    v: &Verdict,
    failures: &[Mismatch],
    ladder: bool,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "scenario: {} ({})", s.name, s.path);
    for line in s.description.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(o, "  {}", line.trim());
    }
    let _ = writeln!(o, "seed: {}\n", s.spec.seed);
    if ladder {
        o.push_str(&report::ladder(&s.spec, w.trace()));
        o.push('\n');
    }
    o.push_str(&report::verdict_text(&s.spec, v));
    o.push_str(&expectations_text(s, failures));
    o
}

pub fn expectations_text(s: &Scenario, failures: &[Mismatch]) -> String {
    let mut o = String::new();
    let which = s.applicable_note();
    if !s.has_expectations() && s.states_expectations() {
        let _ = writeln!(o, "\nexpectations: {}", which.unwrap_or_default());
    } else if !s.has_expectations() {
        let _ = writeln!(o, "\nexpectations: none stated");
    } else if failures.is_empty() {
        let which = which.map(|w| format!(" ({w})")).unwrap_or_default();
        let _ = writeln!(o, "\nexpectations: all hold{which}");
    } else {
        let which = which.map(|w| format!(" ({w})")).unwrap_or_default();
        let _ = writeln!(o, "\nexpectations: {} FAILED{which}", failures.len());
        for f in failures {
            let _ = writeln!(
                o,
                "  {}:\n    expected: {}\n    actual:   {}",
                f.what, f.expected, f.actual
            );
        }
    }
    o
}

pub fn exec(a: &Args) -> ExitCode {
    let s = match scenario::load(&a.file, &a.opts.overrides()) {
        Ok(s) => s,
        Err(d) => return report_diags(&d),
    };
    let (w, v) = simulate(&s);
    let failures = s.check(&v);
    match a.format {
        Format::Json => {
            let r = JsonReport::<()>::new(&s, w.trace(), &v, &failures, None);
            println!(
                "{}",
                serde_json::to_string_pretty(&r).expect("reports serialize")
            );
        }
        Format::Text => print!("{}", text_report(&s, &w, &v, &failures, !a.quiet)),
    }
    ExitCode::from(if failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
