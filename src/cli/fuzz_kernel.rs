//! `tcpsim fuzz --property agrees-with-kernel`: the differential fuzzer's
//! command line (the search is `fuzz::kernel`). Prints what ran, how fast,
//! and each difference class with its cases and shrunk scenario file; exit
//! 1 when a class was found, 2 when this process cannot run the kernel.

use super::fuzz::Args;
use super::{EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::fuzz::kernel::{self, KernelConfig, KernelResult};
use crate::real;
use crate::scenario::profile::Profile;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// `--format json`: what ran and each class (no timing: that goes to stderr).
#[derive(serde::Serialize)]
struct KernelJson<'a> {
    property: &'static str,
    cases: u64,
    seed: u64,
    shard: [u64; 2],
    kernel_runs: u64,
    agree: u64,
    not_reproducible: &'a std::collections::BTreeMap<String, u64>,
    /// Differed once, agreed when run again.
    flaky: &'a [(u64, String)],
    /// Differed in every run while the host's scheduler disturbed it.
    disturbed: &'a [(u64, String)],
    failed: &'a [(u64, String)],
    classes: Vec<ClassJson<'a>>,
}

#[derive(serde::Serialize)]
struct ClassJson<'a> {
    class: &'a str,
    cases: &'a [u64],
    /// The shrunk scenario file.
    file: Option<String>,
    minimal_steps: Option<usize>,
    message: Option<&'a str>,
}

pub fn exec(a: &Args) -> ExitCode {
    if a.personalities.iter().any(|p| p != "linux") {
        eprintln!("error: agrees-with-kernel compares the linux personality with this kernel: --personalities may only be linux");
        return ExitCode::from(EXIT_INPUT);
    }
    if !cfg!(target_os = "linux") {
        eprintln!("error: agrees-with-kernel needs a Linux host");
        return ExitCode::from(EXIT_INPUT);
    }
    if let Some(why) = real::plan::missing_privileges() {
        eprintln!("error: agrees-with-kernel: not reproducible here: {why}");
        return ExitCode::from(EXIT_INPUT);
    }
    if let Some(why) = real::run::without_real_time() {
        eprintln!("warning: agrees-with-kernel: {why}");
    }
    let shard = a.shard.unwrap_or_default();
    let cfg = KernelConfig {
        seed: a.seed,
        cases: a.cases,
        shard,
        profile: a.profile.unwrap_or_else(|| {
            Profile::named(kernel::DEFAULT_PROFILE).expect("the default profile exists")
        }),
        keep_going: a.keep_going,
        max_shrink_runs: a.kernel_shrink_runs,
    };
    let start = Instant::now();
    let total = shard.indices(a.cases).count() as u64;
    let quiet = a.quiet;
    let r = kernel::search(&cfg, |r| {
        if !quiet {
            eprint!(
                "\r{}/{total} cases, {} differ, {:.2} cases/s   ",
                r.run,
                differ(r),
                rate(r.run, start)
            );
        }
    });
    if !quiet {
        eprintln!();
    }
    let dir = a.out.clone().unwrap_or_else(|| PathBuf::from("fuzz-out"));
    let files = match kernel::write_counterexamples(&dir, &r, a.seed) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot write into {}: {e}", dir.display());
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let file_of = |k: usize| {
        files
            .iter()
            .find(|(i, _)| *i == k)
            .map(|(_, p)| p.as_path())
    };
    let summary = summary(a, &r, start.elapsed().as_secs_f64());
    let code = if r.classes.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    if a.format == super::TextOrJson::Json {
        eprintln!("{summary}");
        return super::print_json_code(&json(a, &r, file_of), code);
    }
    print!("{summary}{}", text(&r, &dir, file_of));
    ExitCode::from(code)
}

fn differ(r: &KernelResult) -> usize {
    r.classes.iter().map(|c| c.cases.len()).sum()
}

fn rate(n: u64, start: Instant) -> f64 {
    n as f64 / start.elapsed().as_secs_f64().max(1e-9)
}

fn summary(a: &Args, r: &KernelResult, secs: f64) -> String {
    let shard = a.shard.unwrap_or_default();
    let unrepro: u64 = r.not_reproducible.values().sum();
    format!(
        "fuzz agrees-with-kernel: {} cases (seed {}, shard {}/{}, profile {}) in {secs:.1} s, {:.2} cases/s, \
         {} kernel runs; {} agree, {} differ ({} classes), {} differed once only, \
         {} disturbed, {unrepro} not reproducible, {} failed\n",
        r.run,
        a.seed,
        shard.index,
        shard.count,
        a.profile.map_or(kernel::DEFAULT_PROFILE, |p| p.name),
        r.run as f64 / secs.max(1e-9),
        r.kernel_runs,
        r.agree,
        differ(r),
        r.classes.len(),
        r.flaky.len(),
        r.disturbed.len(),
        r.failed.len(),
    )
}

fn text<'a>(r: &KernelResult, dir: &Path, file_of: impl Fn(usize) -> Option<&'a Path>) -> String {
    let mut o = String::new();
    for (k, c) in r.classes.iter().enumerate() {
        let cases: Vec<String> = c.cases.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(
            o,
            "\nclass {}: {} ({} cases: {})",
            k + 1,
            c.class,
            c.cases.len(),
            cases.join(", ")
        );
        if let (Some(f), Some(p)) = (&c.found, file_of(k)) {
            let _ = writeln!(
                o,
                "  shrunk by {} simplifications ({} generated steps → {}): {}\n  counterexample: {} (`tcpsim real --compare` replays it)",
                f.shrink_steps,
                f.original.steps(),
                f.minimal.steps(),
                f.violation.message,
                p.display()
            );
        }
    }
    for (i, class) in &r.flaky {
        let _ = writeln!(o, "case {i} differed once, then agreed: {class}");
    }
    for (i, class) in &r.disturbed {
        let _ = writeln!(
            o,
            "case {i} differed while the host's scheduler disturbed every run: {class}"
        );
    }
    for (reason, n) in &r.not_reproducible {
        let _ = writeln!(o, "not reproducible ({n} cases): {reason}");
    }
    for (i, e) in &r.failed {
        let _ = writeln!(o, "case {i} failed: {e}");
    }
    if r.classes.is_empty() {
        let _ = writeln!(
            o,
            "no difference (one would have been shrunk and written to {}/)",
            dir.display()
        );
    }
    o
}

fn json<'a>(
    a: &Args,
    r: &'a KernelResult,
    file_of: impl Fn(usize) -> Option<&'a Path>,
) -> KernelJson<'a> {
    let shard = a.shard.unwrap_or_default();
    KernelJson {
        property: "agrees-with-kernel",
        cases: r.run,
        seed: a.seed,
        shard: [shard.index, shard.count],
        kernel_runs: r.kernel_runs,
        agree: r.agree,
        not_reproducible: &r.not_reproducible,
        flaky: &r.flaky,
        disturbed: &r.disturbed,
        failed: &r.failed,
        classes: r
            .classes
            .iter()
            .enumerate()
            .map(|(k, c)| ClassJson {
                class: &c.class,
                cases: &c.cases,
                file: file_of(k).map(|p| p.display().to_string()),
                minimal_steps: c.found.as_ref().map(|f| f.minimal.steps()),
                message: c.found.as_ref().map(|f| f.violation.message.as_str()),
            })
            .collect(),
    }
}
