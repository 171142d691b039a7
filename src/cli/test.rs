//! `tcpsim test [DIR|FILE…]`: run every scenario with expectations, one line
//! each, then `N passed, N failed`.

use super::{ScenarioOpts, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::scenario;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: ScenarioOpts,
    /// Print the full report of each failing scenario.
    #[arg(long, short)]
    pub verbose: bool,
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
    let (mut passed, mut failed, mut bad, mut none) = (0, 0, 0, 0);
    for f in &files {
        match test_one(f, &a.opts) {
            Status::Passed => {
                passed += 1;
                println!("ok     {}", f.display());
            }
            Status::NoExpectations(why) => {
                none += 1;
                println!("none   {} ({why})", f.display());
            }
            Status::Failed(ms) => {
                failed += 1;
                println!("FAILED {}", f.display());
                for m in &ms {
                    println!(
                        "         {}: expected {}, actual {}",
                        m.what, m.expected, m.actual
                    );
                }
                if a.verbose {
                    if let Ok(s) = scenario::load(f, &a.opts.overrides()) {
                        print!("{}", super::run::run_text_report(&s, &ms, true));
                    }
                }
            }
            Status::BadInput(d) => {
                bad += 1;
                println!("ERROR  {}", f.display());
                eprintln!("{d}");
            }
        }
    }
    println!(
        "\n{passed} passed, {} failed{}",
        failed + bad,
        if none > 0 {
            format!(", {none} without expectations")
        } else {
            String::new()
        }
    );
    ExitCode::from(if bad > 0 && failed == 0 && passed == 0 {
        EXIT_INPUT
    } else if failed + bad > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
