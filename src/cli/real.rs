//! `tcpsim real FILE [--compare]`: run a scenario with real sockets on this
//! host's kernel and print the report; with `--compare`, also simulate it
//! (linux personality) and print where the two differ (exit 1 on a difference).
//! Scenarios this host cannot reproduce are reported as such (exit 0).
//!
//! Compiled as `tcpsim::real::cli` (declared in `src/real/mod.rs`).

use crate::cli::run::{expectations_text, simulate, Format};
use crate::cli::{report_diags, ScenarioOpts, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::real::{self, compare, report, RunError};
use crate::scenario::{self, Scenario};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file.
    pub file: PathBuf,
    /// Also simulate it (linux personality) and print the differences; exit 1 on any.
    #[arg(long)]
    pub compare: bool,
    /// Real seconds per virtual second for the script's times and the network's
    /// delays; `auto`: stretch races between processes to at least 1 ms.
    #[arg(long, value_name = "X|auto", default_value = "1", value_parser = parse_scale)]
    pub time_scale: Scale,
    /// Write the captured segments to a pcap file (raw IPv4, headers only).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    #[command(flatten)]
    pub opts: ScenarioOpts,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Print only the verdict (or only the comparison), no ladder.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--time-scale`: a factor, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    Auto,
    Fixed(f64),
}

fn parse_scale(s: &str) -> Result<Scale, String> {
    if s == "auto" {
        return Ok(Scale::Auto);
    }
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(Scale::Fixed(x)),
        _ => Err(format!("`{s}`: expected a positive number or `auto`")),
    }
}

#[derive(Serialize)]
struct JsonOut<'a> {
    scenario: &'a str,
    kernel: String,
    reproducible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a real::Plan>,
    notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<&'a report::RealVerdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Vec<JsonSeg>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    states: Option<&'a [real::run::SockState]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expectations_failed: Option<&'a [scenario::Mismatch]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comparison: Option<&'a [compare::Item]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    differences: Option<usize>,
}

#[derive(Serialize)]
struct JsonSeg {
    t_ns: u64,
    from: String,
    to: String,
    flags: String,
    seq: u32,
    ack: u32,
    len: u32,
    win: u32,
}

fn header(s: &Scenario, scale: f64) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "scenario: {} ({})", s.name, s.path);
    for line in s.description.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(o, "  {}", line.trim());
    }
    let _ = writeln!(o, "kernel: {}, time scale {scale}", real::kernel_release(),);
    o
}

fn not_reproducible(s: &Scenario, a: &Args, reason: &str) -> ExitCode {
    match a.format {
        Format::Json => {
            let j = JsonOut {
                scenario: &s.name,
                kernel: real::kernel_release(),
                reproducible: false,
                reason: Some(reason.to_string()),
                plan: None,
                notes: Vec::new(),
                verdict: None,
                segments: None,
                states: None,
                expectations_failed: None,
                comparison: None,
                differences: None,
            };
            println!("{}", serde_json::to_string_pretty(&j).expect("serializes"));
        }
        Format::Text => println!("{}: not reproducible: {reason}", s.path),
    }
    ExitCode::from(EXIT_OK)
}

pub fn exec(a: &Args) -> ExitCode {
    let s = match scenario::load(&a.file, &a.opts.overrides()) {
        Ok(s) => s,
        Err(d) => return report_diags(&d),
    };
    let scale = match a.time_scale {
        Scale::Fixed(x) => x,
        Scale::Auto => real::plan::auto_scale(&s.spec),
    };
    if !cfg!(target_os = "linux") {
        return not_reproducible(&s, a, "this host does not run Linux");
    }
    let plan = match real::plan(&s.spec, scale) {
        Ok(p) => p,
        Err(reason) => return not_reproducible(&s, a, &reason),
    };
    // The simulation says how long to watch the kernel (and is compared with it).
    let (world, sim_verdict) = simulate(&s);
    let hint = real::hint(&s.spec, world.trace());
    let opts = real::Options {
        time_scale: scale,
        labels: report::labels(&s),
    };
    let run = match real::execute(&s.spec, &plan, &opts, &hint) {
        Ok(r) => r,
        Err(RunError::NotReproducible(reason)) => return not_reproducible(&s, a, &reason),
        Err(RunError::Failed(e)) => {
            eprintln!("error: the kernel run failed: {e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let v = report::verdict(&s.spec, &run);
    if let Some(path) = &a.pcap {
        if let Err(e) = real::capture::write_pcap(path, &run.pkts, run.epoch_real_ns) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(EXIT_INPUT);
        }
    }
    let mut notes = run.plan.notes.clone();
    notes.extend(run.notes.iter().cloned());
    notes.extend(
        run.capture_error
            .iter()
            .map(|e| format!("{e}: the outcome and RST senders are not compared")),
    );
    let failures = report::check(&s, &v);
    let items = a
        .compare
        .then(|| compare::compare(&s.spec, world.trace(), &sim_verdict, &run, &v));
    let differences = items
        .as_ref()
        .map(|i| i.iter().filter(|x| !x.agree).count());
    match a.format {
        Format::Json => {
            let base = report::SeqBase::new(&run.pkts);
            let segs = run
                .pkts
                .iter()
                .map(|p| JsonSeg {
                    t_ns: p.t,
                    from: report::ep_text(&s.spec, &run, p.src),
                    to: report::ep_text(&s.spec, &run, p.dst),
                    flags: report::flags_text(p.flags),
                    seq: base.rel_seq(p),
                    ack: base.rel_ack(p),
                    len: p.len,
                    win: base.window(p),
                })
                .collect();
            let j = JsonOut {
                scenario: &s.name,
                kernel: real::kernel_release(),
                reproducible: true,
                reason: None,
                plan: Some(&run.plan),
                notes,
                verdict: Some(&v),
                segments: Some(segs),
                states: run.states.as_deref(),
                expectations_failed: (!a.compare).then_some(&failures[..]),
                comparison: items.as_deref(),
                differences,
            };
            println!("{}", serde_json::to_string_pretty(&j).expect("serializes"));
        }
        Format::Text => {
            let mut o = header(&s, scale);
            for n in &notes {
                let _ = writeln!(o, "  {n}");
            }
            o.push('\n');
            match &items {
                None => {
                    if !a.quiet {
                        o.push_str(&report::ladder(&s.spec, &run, &v));
                        o.push('\n');
                    }
                    o.push_str(&report::verdict_text(&s.spec, &run, &v));
                    o.push_str(&expectations_text(&s, &failures).replace(
                        "expectations:",
                        "expectations (kernel; RST causes are not visible on the wire):",
                    ));
                }
                Some(items) => {
                    let _ = writeln!(o, "compare: simulator (linux personality) vs kernel");
                    o.push_str(&compare::text(items));
                    if differences.unwrap_or(0) > 0 && !a.quiet {
                        o.push_str("\n--- kernel ---\n");
                        o.push_str(&report::ladder(&s.spec, &run, &v));
                        o.push('\n');
                        o.push_str(&report::verdict_text(&s.spec, &run, &v));
                        o.push_str("\n--- simulator ---\n");
                        o.push_str(&sim::report::ladder(&s.spec, world.trace()));
                        o.push('\n');
                        o.push_str(&sim::report::verdict_text(&s.spec, &sim_verdict));
                    }
                }
            }
            print!("{o}");
        }
    }
    let failed = match differences {
        Some(d) => d > 0,
        None => !failures.is_empty(),
    };
    ExitCode::from(if failed { EXIT_FAILED } else { EXIT_OK })
}
