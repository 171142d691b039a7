//! `tcpsim fuzz`: search for close sequences that break a property, shrink
//! the first one found to a minimal scenario file; `--survey` classifies many
//! random scenarios instead; `fuzz merge` combines shard surveys.

use super::{EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::fuzz::check::Property;
use crate::fuzz::search::{counterexample, replay, search, Found, SearchConfig, Shard};
use crate::fuzz::survey::{self, render, Survey};
use crate::fuzz::GenConfig;
use crate::personality_file;
use crate::scenario;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::Personality;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<Sub>,
    /// The property to check: no-reset, no-loss, no-silent-loss,
    /// graceful-close-is-clean, terminates, deterministic, invariants,
    /// window-respected, or all (default: the five every run must have,
    /// graceful-close-is-clean to window-respected; most close sequences
    /// break the first three on purpose, `--survey` classifies them);
    /// or agrees-with-kernel: linux/linux cases, re-timed, run on the model
    /// and on this host's kernel as `tcpsim real --compare` does (needs root;
    /// docs/real-kernel.md).
    #[arg(long, value_name = "NAME", value_parser = parse_property)]
    pub property: Option<PropertyArg>,
    /// Personalities each side is drawn from, comma-separated; shrinking
    /// prefers the first (default: all built-in, linux first).
    #[arg(long, value_delimiter = ',', value_name = "A,B,…")]
    pub personalities: Vec<String>,
    /// Length of the case sequence (all shards together).
    #[arg(long, default_value_t = 10_000)]
    pub cases: u64,
    /// Seed of the search: same seed ⇒ same cases, same counterexample.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where counterexamples go (a directory), or with --survey the survey's JSON file.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Go on after the first failure: one counterexample per property.
    #[arg(long)]
    pub keep_going: bool,
    /// Run the K-th of N disjoint slices of the case sequence (case i is in shard i mod N; K from 0).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Classify the cases by call pattern instead of stopping at a failure.
    #[arg(long)]
    pub survey: bool,
    /// Survey table as Markdown (docs/findings.md).
    #[arg(long)]
    pub markdown: bool,
    /// agrees-with-kernel: the network the cases run on, loopback (MTU
    /// 65536, ~0 delay) or lan (MTU 1500, 1 ms one way; the default).
    #[arg(long, value_name = "loopback|lan", value_parser = super::parse_profile)]
    pub profile: Option<&'static crate::scenario::profile::Profile>,
    /// agrees-with-kernel: the most kernel runs shrinking one difference
    /// class may make (0: write the generated case as it is).
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub kernel_shrink_runs: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print counterexamples without their ladder diagram.
    #[arg(long, short)]
    pub quiet: bool,
    /// `json`: the search's summary and counterexamples (or with --survey
    /// the survey) as one JSON document on stdout; the timing goes to stderr.
    #[arg(long, value_enum, default_value_t, conflicts_with = "markdown")]
    pub format: super::TextOrJson,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Merge survey shard files (from --survey --shard K/N --out FILE) into one survey.
    Merge(MergeArgs),
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Survey JSON files, one per shard.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Table as Markdown.
    #[arg(long)]
    pub markdown: bool,
    /// `json`: the merged survey as JSON on stdout.
    #[arg(long, value_enum, default_value_t, conflicts_with = "markdown")]
    pub format: super::TextOrJson,
    /// Also write the merged survey as JSON.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--property NAME` or `all`.
#[derive(Clone, Debug)]
pub struct PropertyArg(pub Vec<Property>);

fn parse_property(s: &str) -> Result<PropertyArg, String> {
    if s == "all" {
        return Ok(PropertyArg(Property::ALL.to_vec()));
    }
    if s == Property::AgreesWithKernel.key() {
        return Ok(PropertyArg(vec![Property::AgreesWithKernel]));
    }
    Property::parse(s)
        .map(|p| PropertyArg(vec![p]))
        .ok_or_else(|| {
            let all: Vec<&str> = Property::ALL.iter().map(|p| p.key()).collect();
            format!(
                "unknown property `{s}`; properties: {}, all, {}",
                all.join(", "),
                Property::AgreesWithKernel.key()
            )
        })
}

fn pool(names: &[String]) -> Result<Vec<String>, String> {
    if names.is_empty() {
        return Ok(Personality::BUILTIN.iter().map(|s| s.to_string()).collect());
    }
    for n in names {
        personality_file::resolve(n, Path::new("."))?;
    }
    Ok(names.to_vec())
}

fn bar(total: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cases  {msg}  eta {eta}")
            .expect("a valid template"),
    );
    pb
}

/// Moves the bar to `n` cases done, with the rate so far.
fn progress(pb: &ProgressBar, start: Instant, n: u64) {
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    pb.set_message(format!("{:.0} cases/s", n as f64 / secs));
    pb.set_position(n);
}

pub fn exec(a: &Args) -> ExitCode {
    if let Some(n) = a.threads {
        // Only the first call in a process takes effect; later ones keep that pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    if let Some(Sub::Merge(m)) = &a.cmd {
        return merge(m);
    }
    if a.property
        .as_ref()
        .is_some_and(|p| p.0 == [Property::AgreesWithKernel])
    {
        return super::fuzz_kernel::exec(a);
    }
    if a.profile.is_some() {
        eprintln!("error: --profile is for --property agrees-with-kernel (the model's properties use each case's own network)");
        return ExitCode::from(EXIT_INPUT);
    }
    let names = match pool(&a.personalities) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let gen = GenConfig::new(names);
    let shard = a.shard.unwrap_or_default();
    if a.survey {
        return run_survey(a, &gen, shard);
    }
    run_search(a, gen, shard)
}

/// `tcpsim fuzz --format json`: what was searched and each counterexample
/// (no timing: the same arguments give the same document).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct SearchJson {
    /// Cases run.
    cases: u64,
    seed: u64,
    /// This run's slice of the case sequence: [K, N] of `--shard K/N`.
    shard: [u64; 2],
    properties: Vec<&'static str>,
    /// Where counterexamples are written.
    out: String,
    counterexamples: Vec<CounterexampleJson>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct CounterexampleJson {
    property: &'static str,
    /// The failing case's index in the sequence.
    case: u64,
    /// What failed in the generated case.
    message: String,
    /// What fails in the shrunk one.
    shrunk_message: String,
    shrink_steps: u32,
    generated_steps: usize,
    minimal_steps: usize,
    /// The counterexample's scenario file, and its capture beside it.
    file: String,
    capture: String,
    /// The shrunk case's verdict.
    verdict: sim::Verdict,
}

/// The property search: runs it, prints its summary and writes, prints and
/// replays each counterexample.
fn run_search(a: &Args, gen: GenConfig, shard: Shard) -> ExitCode {
    let props = a
        .property
        .clone()
        .map_or_else(|| Property::DEFAULT.to_vec(), |p| p.0);
    let mut cfg = SearchConfig::new(props.clone(), gen, a.seed, a.cases);
    cfg.shard = shard;
    cfg.keep_going = a.keep_going;
    let pb = bar(shard.indices(a.cases).count() as u64);
    let start = Instant::now();
    let result = search(&cfg, |n| progress(&pb, start, n));
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let names: Vec<&'static str> = props.iter().map(|p| p.key()).collect();
    let json = a.format == super::TextOrJson::Json;
    let summary = summary_line(a, shard, result.run, secs, &names);
    if json {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    for (i, e) in &result.invalid {
        eprintln!("warning: case {i} did not compile: {e}");
    }
    let dir = a.out.clone().unwrap_or_else(|| PathBuf::from("fuzz-out"));
    let mut doc = SearchJson {
        cases: result.run,
        seed: a.seed,
        shard: [shard.index, shard.count],
        properties: names,
        out: dir.display().to_string(),
        counterexamples: Vec::new(),
    };
    if result.found.is_empty() {
        if json {
            return super::print_json(&doc);
        }
        println!(
            "no property failed (a counterexample would have been shrunk and written to {}/)",
            dir.display()
        );
        return ExitCode::from(EXIT_OK);
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::from(EXIT_INPUT);
    }
    for f in &result.found {
        let Some((path, text)) = write_counterexample(&dir, f, a.seed) else {
            return ExitCode::from(EXIT_INPUT);
        };
        let capture = match super::capture::write_beside(&path, &f.compiled.spec) {
            Ok(c) => c,
            Err(code) => return code,
        };
        if json {
            doc.counterexamples
                .push(counterexample_json(f, &path, &capture));
            continue;
        }
        print_counterexample(f, &path, &capture, &text);
        replay_counterexample(&path.display().to_string(), &text, !a.quiet);
    }
    if json {
        return super::print_json_code(&doc, EXIT_FAILED);
    }
    ExitCode::from(EXIT_FAILED)
}

/// How many cases ran, how fast, for which properties.
fn summary_line(a: &Args, shard: Shard, run: u64, secs: f64, names: &[&str]) -> String {
    format!(
        "fuzz: {} cases (seed {}, shard {}/{}) in {:.2} s, {:.0} cases/s on {} threads; properties: {}",
        run,
        a.seed,
        shard.index,
        shard.count,
        secs,
        run as f64 / secs.max(1e-9),
        rayon::current_num_threads(),
        names.join(", ")
    )
}

fn counterexample_json(f: &Found, path: &Path, capture: &Path) -> CounterexampleJson {
    CounterexampleJson {
        property: f.violation.property.key(),
        case: f.index,
        message: f.original_violation.message.clone(),
        shrunk_message: f.violation.message.clone(),
        shrink_steps: f.shrink_steps,
        generated_steps: f.original.steps(),
        minimal_steps: f.minimal.steps(),
        file: path.display().to_string(),
        capture: capture.display().to_string(),
        verdict: f.verdict.clone(),
    }
}

/// Writes a counterexample's scenario file into `dir`: its path and text,
/// or none after saying why it could not.
fn write_counterexample(dir: &Path, f: &Found, seed: u64) -> Option<(PathBuf, String)> {
    let file = counterexample(f, seed);
    let text = scenario::write(&file);
    let path = dir.join(format!(
        "{}.toml",
        file.scenario.name.as_deref().unwrap_or("counterexample")
    ));
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return None;
    }
    Some((path, text))
}

/// What failed, how far it shrank, the counterexample file and its capture.
fn print_counterexample(f: &Found, path: &Path, capture: &Path, text: &str) {
    println!(
        "\nFAILED {} at case {}: {}",
        f.violation.property, f.index, f.original_violation.message
    );
    println!(
        "shrunk by {} simplifications ({} generated steps → {}): {}",
        f.shrink_steps,
        f.original.steps(),
        f.minimal.steps(),
        f.violation.message
    );
    println!("counterexample: {}", path.display());
    println!("capture for Wireshark: {}\n", capture.display());
    print!("{text}");
}

/// Runs the written counterexample as `tcpsim run` would and prints its
/// report (with the ladder if `ladder`); warns if it does not replay.
fn replay_counterexample(shown: &str, text: &str, ladder: bool) {
    match replay(shown, text) {
        Ok((s, mismatches)) => {
            println!();
            let report = super::run::run_text_report(&s, &mismatches, ladder);
            print!("{}", super::paint::paint(&report, super::styled()));
            if !mismatches.is_empty() {
                eprintln!(
                    "warning: the counterexample does not replay as recorded ({} expectations fail)",
                    mismatches.len()
                );
            }
        }
        Err(d) => eprintln!("warning: the counterexample does not parse back:\n{d}"),
    }
}

fn header(s: &Survey, markdown: bool, command: &str) -> String {
    let mut o = String::new();
    let shards = if s.of == 1 {
        String::new()
    } else {
        let shards: Vec<String> = s.shards.iter().map(|k| k.to_string()).collect();
        format!(", shards {} of {}", shards.join(", "), s.of)
    };
    if markdown {
        let _ = writeln!(
            o,
            "# Findings: which close sequences lead to RST or data loss\n"
        );
        let _ = writeln!(o, "Regenerate with `{command}`.\n");
        let _ = writeln!(
            o,
            "This file is generated by `tcpsim fuzz --survey`: {} random scenarios (seed {}{shards}), \
             each a client/server skeleton (listen, accept, connect) followed by random tails of calls, \
             buffer options and network faults, over the personalities {}. Each scenario is classified \
             by the call patterns its scripts contain (one scenario usually shows several); for each \
             pattern, the tables give how often the run ended with an RST, with loss (bytes written \
             successfully and never read by the peer application) and with silent loss (loss the writer \
             never saw as an error). Patterns are what the application did, not what the stack made of \
             it, so the rows are correlations over random scenarios, not causes: the RST causes column \
             and the minimal examples say which behaviour is responsible. Each minimal example is the \
             simplest scenario of the pattern that ended badly, shrunk while it keeps the pattern and the \
             same ending: a complete scenario file with its `[expect]`, which `tcpsim run` replays.\n\n\
             Read a cell `R/L/S (n)` as: of the n scenarios in which a side running the row's stack showed \
             the pattern against the column's stack, R% sent an RST, L% lost data, S% lost data silently.\n",
            s.run,
            s.seed,
            s.personalities.join(", ")
        );
    } else {
        let _ = writeln!(
            o,
            "survey: {} cases (seed {}{shards}), personalities {}\n",
            s.run,
            s.seed,
            s.personalities.join(", ")
        );
    }
    o
}

fn run_survey(a: &Args, gen: &GenConfig, shard: Shard) -> ExitCode {
    let pb = bar(shard.indices(a.cases).count() as u64);
    let start = Instant::now();
    let s = survey::survey(gen, a.seed, a.cases, shard, |n| progress(&pb, start, n));
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "survey: {} cases in {:.2} s ({:.0} cases/s on {} threads)",
        s.run,
        secs,
        s.run as f64 / secs.max(1e-9),
        rayon::current_num_threads()
    );
    if let Some(out) = &a.out {
        let json = serde_json::to_string_pretty(&s).expect("surveys serialize");
        if let Err(e) = std::fs::write(out, json) {
            eprintln!("error: cannot write {}: {e}", out.display());
            return ExitCode::from(EXIT_INPUT);
        }
    }
    if a.format == super::TextOrJson::Json {
        return super::print_json(&s);
    }
    let command = format!(
        "tcpsim fuzz --survey --cases {} --seed {}{}",
        a.cases,
        a.seed,
        if a.markdown {
            " --markdown > docs/findings.md"
        } else {
            ""
        }
    );
    print!("{}", header(&s, a.markdown, &command));
    print!("{}", render(&s, gen, a.markdown));
    ExitCode::from(EXIT_OK)
}

fn merge(m: &MergeArgs) -> ExitCode {
    let mut parts = Vec::new();
    for f in &m.files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", f.display());
                return ExitCode::from(EXIT_INPUT);
            }
        };
        match serde_json::from_str::<Survey>(&text) {
            Ok(s) => parts.push(s),
            Err(e) => {
                eprintln!("error: {}: not a survey file: {e}", f.display());
                return ExitCode::from(EXIT_INPUT);
            }
        }
    }
    let s = match Survey::merge(&parts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    if let Some(out) = &m.out {
        let json = serde_json::to_string_pretty(&s).expect("surveys serialize");
        if let Err(e) = std::fs::write(out, json) {
            eprintln!("error: cannot write {}: {e}", out.display());
            return ExitCode::from(EXIT_INPUT);
        }
    }
    if m.format == super::TextOrJson::Json {
        return super::print_json(&s);
    }
    let gen = GenConfig::new(s.personalities.clone());
    let command = format!(
        "tcpsim fuzz merge {}{}",
        m.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        if m.markdown { " --markdown" } else { "" }
    );
    print!("{}", header(&s, m.markdown, &command));
    print!("{}", render(&s, &gen, m.markdown));
    ExitCode::from(EXIT_OK)
}
