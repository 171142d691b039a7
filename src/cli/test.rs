//! `tcpsim test [DIR|FILE…]`: run every scenario with expectations, one line
//! each, then `N passed, N failed`.

use super::{ScenarioOpts, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::scenario;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: ScenarioOpts,
    /// Print the full report of each failing scenario.
    #[arg(long, short, conflicts_with = "format")]
    pub verbose: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: super::TextOrJson,
}

/// Every `*.toml` scenario under the given paths, sorted, directories recursively.
pub fn collect(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn walk(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            if e.is_dir() || e.extension().is_some_and(|x| x == "toml") {
                walk(&e, out);
            }
        }
    } else {
        out.push(p.to_path_buf());
    }
}

/// The result of one scenario under `tcpsim test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed(Vec<scenario::Mismatch>),
    /// No expectation applies, and why: none stated, or none for the
    /// personalities of this run.
    NoExpectations(String),
    BadInput(String),
}

/// Runs one scenario file as a test.
pub fn test_one(path: &Path, opts: &ScenarioOpts) -> Status {
    let s = match scenario::load(path, &opts.overrides()) {
        Ok(s) => s,
        Err(d) => return Status::BadInput(crate::diag::render_all(&d, false)),
    };
    if !s.has_expectations() {
        let why = s.applicable_note().map(|n| format!("expectations: {n}"));
        return Status::NoExpectations(why.unwrap_or_else(|| "no expectations".into()));
    }
    let v = sim::run_verdict(&s.spec);
    let f = s.check(&v);
    if f.is_empty() {
        Status::Passed
    } else {
        Status::Failed(f)
    }
}

/// `tcpsim test --format json`: each scenario's status, then the counts.
#[derive(serde::Serialize, schemars::JsonSchema, Default)]
pub struct Json {
    scenarios: Vec<CaseJson>,
    passed: u32,
    /// Failed expectations and bad input.
    failed: u32,
    without_expectations: u32,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct CaseJson {
    file: String,
    status: StatusJson,
    /// The expectations that did not hold (`failed`).
    failures: Vec<scenario::Mismatch>,
    /// Why no expectation applies (`no-expectations`), or the error
    /// (`bad-input`, as `tcpsim run` prints it, without colour).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(serde::Serialize, schemars::JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StatusJson {
    Passed,
    Failed,
    NoExpectations,
    BadInput,
}

impl Json {
    /// Counts one scenario's status.
    fn add(&mut self, file: &Path, status: Status) {
        let (status, failures, note) = match status {
            Status::Passed => (StatusJson::Passed, vec![], None),
            Status::Failed(ms) => (StatusJson::Failed, ms, None),
            Status::NoExpectations(why) => (StatusJson::NoExpectations, vec![], Some(why)),
            Status::BadInput(d) => (StatusJson::BadInput, vec![], Some(d)),
        };
        match status {
            StatusJson::Passed => self.passed += 1,
            StatusJson::NoExpectations => self.without_expectations += 1,
            StatusJson::Failed | StatusJson::BadInput => self.failed += 1,
        }
        self.scenarios.push(CaseJson {
            file: file.display().to_string(),
            status,
            failures,
            note,
        });
    }

    /// 2 if every scenario was bad input, 1 if any failed, else 0.
    fn exit_code(&self) -> u8 {
        let bad = self
            .scenarios
            .iter()
            .filter(|c| c.status == StatusJson::BadInput);
        if bad.count() as u32 == self.failed && self.failed > 0 && self.passed == 0 {
            EXIT_INPUT
        } else if self.failed > 0 {
            EXIT_FAILED
        } else {
            EXIT_OK
        }
    }
}

/// Prints one scenario's line (and its report with `--verbose`).
fn print_status(a: &Args, f: &Path, status: &Status) {
    match status {
        Status::Passed => println!("ok     {}", f.display()),
        Status::NoExpectations(why) => println!("none   {} ({why})", f.display()),
        Status::Failed(ms) => {
            println!("FAILED {}", f.display());
            for m in ms {
                println!(
                    "         {}: expected {}, actual {}",
                    m.what, m.expected, m.actual
                );
            }
            if a.verbose {
                if let Ok(s) = scenario::load(f, &a.opts.overrides()) {
                    print!(
                        "{}",
                        super::paint::paint(
                            &super::run::run_text_report(&s, ms, true),
                            super::styled()
                        )
                    );
                }
            }
        }
        Status::BadInput(d) => {
            println!("ERROR  {}", f.display());
            eprintln!("{d}");
        }
    }
}

pub fn exec(a: &Args) -> ExitCode {
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        a.paths.clone()
    };
    let files = collect(&paths);
    if files.is_empty() {
        eprintln!(
            "error: no scenario files under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return ExitCode::from(EXIT_INPUT);
    }
    let json = a.format == super::TextOrJson::Json;
    let mut counts = Json::default();
    // The scenarios run on every core; their lines are printed in file
    // order once all have run, so the output is the same on any number of
    // threads.
    let statuses: Vec<Status> = files.par_iter().map(|f| test_one(f, &a.opts)).collect();
    for (f, status) in files.iter().zip(statuses) {
        if !json {
            print_status(a, f, &status);
        }
        counts.add(f, status);
    }
    let code = counts.exit_code();
    if json {
        return super::print_json_code(&counts, code);
    }
    println!(
        "\n{} passed, {} failed{}",
        counts.passed,
        counts.failed,
        if counts.without_expectations > 0 {
            format!(", {} without expectations", counts.without_expectations)
        } else {
            String::new()
        }
    );
    ExitCode::from(code)
}
