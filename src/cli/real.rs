//! `tcpsim real FILE [--compare]`: run a scenario with real sockets on this
//! host's kernel and print the report; with `--compare`, also simulate it
//! (linux personality) and print where the two differ (exit 1 on a difference).
//! Scenarios this host cannot reproduce are reported as such (exit 0); a
//! process without the privileges a kernel run needs is told so before
//! anything runs (exit 2).

use crate::cli::run::{
    self as run_cli, expectations_text, simulate_on, Format, JsonLine, JsonReport,
};
use crate::cli::run::{ErrorLog, JsonRun};
use crate::cli::{output_failed, report_diags, ScenarioOpts, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::real::{self, compare, trace, RunError};
use crate::scenario::{self, Scenario};
use serde::Serialize;
use sim::trace::Tail;
use std::fmt::Write as _;
use std::io::Write;
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
    /// delays; `auto` (the default): stretch races between processes to at least 1 ms.
    #[arg(long, value_name = "X|auto", default_value = "auto", value_parser = parse_scale)]
    pub time_scale: Scale,
    /// Write the captured segments as a capture file, framed as `run --pcap`
    /// frames the simulator's (pcapng if FILE ends in `.pcapng`).
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

/// What a kernel run adds to the JSON report (whose other keys are the
/// simulator's: scenario, seed, hosts, verdict, expectations_failed, errors, trace).
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct KernelJson<'a> {
    release: String,
    reproducible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_scale: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a real::Plan>,
    notes: Vec<String>,
    /// End states from /proc/net/tcp.
    #[serde(skip_serializing_if = "Option::is_none")]
    states: Option<&'a [real::run::SockState]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comparison: Option<&'a [compare::Item]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    differences: Option<usize>,
}

/// The JSON of a scenario this host cannot run: no trace, no verdict.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct NotRunJson<'a> {
    #[serde(flatten)]
    run: JsonRun<'a>,
    kernel: KernelJson<'a>,
}

fn header(s: &Scenario, scale: f64) -> String {
    let mut o = String::new();
    o.push_str(&sim::report::fit(&format!(
        "scenario: {} ({})",
        s.name, s.path
    )));
    for line in s.description.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(o, "  {}", line.trim());
    }
    let _ = writeln!(o, "kernel: {}, time scale {scale}", real::kernel_release(),);
    o
}

/// Reports that the scenario cannot run here and why; exits with `code`.
fn not_reproducible(s: &Scenario, a: &Args, reason: &str, code: u8) -> ExitCode {
    let kernel = KernelJson {
        release: real::kernel_release(),
        reproducible: false,
        reason: Some(reason.to_string()),
        time_scale: None,
        plan: None,
        notes: Vec::new(),
        states: None,
        comparison: None,
        differences: None,
    };
    let mut out = std::io::stdout().lock();
    let written = match a.format {
        Format::Json => {
            let j = NotRunJson {
                run: JsonRun::new(s),
                kernel,
            };
            serde_json::to_writer_pretty(&mut out, &j)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
        Format::Jsonl => run_cli::write_line(&mut out, &JsonLine::<()>::Run(&JsonRun::new(s)))
            .and_then(|()| run_cli::write_line(&mut out, &JsonLine::Kernel(&kernel))),
        Format::Text => Ok(()),
    };
    match code {
        EXIT_OK if a.format == Format::Text => println!("{}: not reproducible: {reason}", s.path),
        EXIT_OK => {}
        _ => eprintln!("error: {}: not reproducible here: {reason}", s.path),
    }
    match written {
        Err(e) => output_failed(e),
        Ok(()) => ExitCode::from(code),
    }
}

/// A kernel run as the simulator's trace and verdict, with its notes.
pub(crate) struct KernelView {
    pub(crate) trace: Vec<sim::Entry>,
    pub(crate) verdict: sim::Verdict,
    pub(crate) notes: Vec<String>,
}

fn kernel_view(s: &Scenario, run: &real::RealRun) -> KernelView {
    let calls = trace::calls(&s.spec, &run.recs);
    let entries = trace::entries(&s.spec, run, &calls);
    let verdict = trace::verdict(&s.spec, run, &calls, &entries);
    let mut notes = run.plan.notes.clone();
    notes.extend(run.notes.iter().cloned());
    notes.extend(trace::unmodelled_errors(&calls));
    notes.extend(
        run.capture_error
            .iter()
            .map(|e| format!("{e}: the outcome and RST senders are not compared")),
    );
    notes.push(
        "RST causes are not observable on the wire: RSTs show as `unobserved`, and `rst` \
         expectations compare only who sent them"
            .into(),
    );
    KernelView {
        trace: entries,
        verdict,
        notes,
    }
}

/// A scenario simulated and run on this kernel: everything `--compare`
/// compares. `tcpsim real` and `tcpsim fuzz --property agrees-with-kernel`
/// both go through [`simulate_and_run`] and [`comparison`].
pub(crate) struct Both {
    pub(crate) world: sim::World,
    pub(crate) sim_verdict: sim::Verdict,
    pub(crate) run: real::RealRun,
    pub(crate) kernel: KernelView,
}

/// Simulates the scenario (which says how long to watch the kernel), then
/// runs it on this kernel at `scale`. Err when it cannot run here
/// (`NotReproducible`) or the run failed.
pub(crate) fn simulate_and_run(s: &Scenario, scale: f64) -> Result<Both, RunError> {
    if !cfg!(target_os = "linux") {
        return Err(RunError::NotReproducible(
            "this host does not run Linux".into(),
        ));
    }
    let plan = real::plan(&s.spec, scale).map_err(RunError::NotReproducible)?;
    let (world, sim_verdict) = simulate_on(s, plan.net == real::Net::Loopback);
    let hint = real::hint(&s.spec, world.trace());
    let opts = real::Options {
        time_scale: scale,
        labels: compare::labels(s),
    };
    let run = real::execute(&s.spec, &plan, &opts, &hint)?;
    let kernel = kernel_view(s, &run);
    Ok(Both {
        world,
        sim_verdict,
        run,
        kernel,
    })
}

/// The simulator against the kernel, item by item (docs/real-kernel.md).
pub(crate) fn comparison(s: &Scenario, b: &Both) -> Vec<compare::Item> {
    let sim_side = compare::Side::new(&s.spec, b.world.trace(), &b.sim_verdict);
    let kernel_side = compare::Side::new(&s.spec, &b.kernel.trace, &b.kernel.verdict);
    compare::compare(s, &sim_side, &kernel_side, &b.run)
}

/// Runs the scenario on this kernel; Err with the exit code when it cannot.
fn run_both(s: &Scenario, a: &Args, scale: f64) -> Result<Both, ExitCode> {
    let both = match simulate_and_run(s, scale) {
        Ok(b) => b,
        Err(RunError::NotReproducible(reason)) => {
            return Err(not_reproducible(s, a, &reason, EXIT_OK))
        }
        Err(RunError::Failed(e)) => {
            eprintln!("error: the kernel run failed: {e}");
            return Err(ExitCode::from(EXIT_INPUT));
        }
    };
    if let Some(path) = &a.pcap {
        if let Err(e) = real::capture::write_pcap(path, &both.run.pkts, both.run.scale) {
            return Err(super::capture::failed(path, &e));
        }
    }
    Ok(both)
}

/// Kernel runs one `--compare` makes at most: a run the host's scheduler
/// disturbed ([`trace::disturbed`]) that differs is run again.
const DISTURBED_RUNS_MAX: u32 = 3;

/// A run compared, after the reruns [`compared_runs`] made.
pub(crate) struct Compared {
    pub(crate) both: Both,
    /// The comparison (None when not asked for).
    pub(crate) items: Option<Vec<compare::Item>>,
    /// Every run made differed while the host's scheduler disturbed it.
    pub(crate) disturbed: bool,
}

/// Runs the scenario (`run`: one kernel run) and, when `compare`, compares:
/// a run that differs while the host's scheduler disturbed it (a step
/// started late or out of the script's order, a poll woken long after its
/// timeout) did not run the script, and is run again, up to
/// [`DISTURBED_RUNS_MAX`] runs; the notes say so. `tcpsim real --compare`
/// and `tcpsim fuzz --property agrees-with-kernel` both take this rule.
pub(crate) fn compared_runs<E>(
    s: &Scenario,
    compare: bool,
    mut run: impl FnMut() -> Result<Both, E>,
) -> Result<Compared, E> {
    let mut disturbed = Vec::new();
    loop {
        let mut both = run()?;
        let items = compare.then(|| comparison(s, &both));
        let differs = items.as_ref().is_some_and(|i| i.iter().any(|x| !x.agree));
        let late = trace::disturbed(&s.spec, both.run.scale, &both.run.recs).filter(|_| differs);
        let runs = disturbed.len() as u32 + 1;
        if let Some((proc, step, ns)) = late {
            let who = &s.spec.procs[proc as usize].name;
            disturbed.push(format!(
                "step {} ({who}) {} ms late",
                step + 1,
                sim::report::duration_ms(model::Duration::from_ns(ns))
            ));
            if runs < DISTURBED_RUNS_MAX {
                continue;
            }
        }
        let list = disturbed.join("; ");
        let note = match (late, disturbed.len()) {
            (_, 0) => None,
            (None, n) => Some(format!(
                "kernel run {runs}: {n} earlier run(s) differed while the host's scheduler \
                 disturbed them ({list}), so they were run again"
            )),
            (Some(_), _) => Some(format!(
                "all {runs} kernel runs differed while the host's scheduler disturbed them \
                 ({list}): the differences may be the host's, not the model's"
            )),
        };
        both.kernel.notes.extend(note);
        return Ok(Compared {
            both,
            items,
            disturbed: late.is_some(),
        });
    }
}

/// [`compared_runs`] for `tcpsim real`: Err with the exit code when a run cannot happen.
fn run_compared(
    s: &Scenario,
    a: &Args,
    scale: f64,
) -> Result<(Both, Option<Vec<compare::Item>>), ExitCode> {
    compared_runs(s, a.compare, || run_both(s, a, scale)).map(|c| (c.both, c.items))
}

pub fn exec(a: &Args) -> ExitCode {
    let s = match scenario::load(&a.file, &a.opts.overrides()) {
        Ok(s) => s,
        Err(d) => return report_diags(&d),
    };
    // Before anything runs: without them every call would fail and be
    // reported as a difference from the simulator.
    if let Some(why) = real::plan::missing_privileges() {
        return not_reproducible(&s, a, &why, EXIT_INPUT);
    }
    let scale = match a.time_scale {
        Scale::Fixed(x) => x,
        Scale::Auto => real::plan::auto_scale(&s.spec),
    };
    let (both, items) = match run_compared(&s, a, scale) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let (world, sim_verdict, run, k) = (&both.world, &both.sim_verdict, &both.run, &both.kernel);
    let failures = s.check(&k.verdict);
    let differences = items
        .as_ref()
        .map(|i| i.iter().filter(|x| !x.agree).count());
    let kernel = KernelJson {
        release: real::kernel_release(),
        reproducible: true,
        reason: None,
        time_scale: Some(scale),
        plan: Some(&run.plan),
        notes: k.notes.clone(),
        states: run.states.as_deref(),
        comparison: items.as_deref(),
        differences,
    };
    let mut out = std::io::stdout().lock();
    let written = match a.format {
        Format::Json | Format::Jsonl => json(&s, a.format, k, &failures, &kernel, &mut out),
        Format::Text => {
            let sim_report = || {
                let mut o = sim::report::ladder(&s.spec, world.trace());
                o.push('\n');
                o.push_str(&sim::report::verdict_text(&s.spec, sim_verdict));
                o
            };
            let t = text(&s, a, scale, k, &failures, items.as_deref(), sim_report);
            out.write_all(t.as_bytes())
        }
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        return output_failed(e);
    }
    let failed = match differences {
        Some(d) => d > 0,
        None => !failures.is_empty(),
    };
    ExitCode::from(if failed { EXIT_FAILED } else { EXIT_OK })
}

/// The kernel run as the JSON report or as JSON lines (the same keys).
fn json(
    s: &Scenario,
    format: Format,
    k: &KernelView,
    failures: &[scenario::Mismatch],
    kernel: &KernelJson,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut errors = ErrorLog::default();
    k.trace.iter().for_each(|e| errors.push(s, e));
    if format == Format::Jsonl {
        run_cli::write_line(out, &JsonLine::<()>::Run(&JsonRun::new(s)))?;
        for e in &k.trace {
            run_cli::write_line(out, &JsonLine::<()>::Entry(e))?;
        }
        run_cli::write_end_lines(out, &k.verdict, &errors, failures)?;
        return run_cli::write_line(out, &JsonLine::Kernel(kernel));
    }
    let mut trace = Tail::new(usize::MAX);
    k.trace.iter().for_each(|e| trace.push(*e));
    let r = JsonReport::new(s, &mut trace, &k.verdict, failures, &errors, Some(kernel));
    serde_json::to_writer_pretty(&mut *out, &r)?;
    writeln!(out)
}

/// The text report: header and notes; then the kernel's ladder, verdict and
/// expectations, or the comparison (with both runs' ladders on a difference).
fn text(
    s: &Scenario,
    a: &Args,
    scale: f64,
    k: &KernelView,
    failures: &[scenario::Mismatch],
    items: Option<&[compare::Item]>,
    sim_report: impl Fn() -> String,
) -> String {
    let mut o = header(s, scale);
    for n in &k.notes {
        let _ = writeln!(o, "  {n}");
    }
    o.push('\n');
    let kernel_report = || {
        let mut o = sim::report::ladder_tagged(&s.spec, &k.trace, Some("kernel"));
        o.push('\n');
        o.push_str(&sim::report::verdict_text(&s.spec, &k.verdict).replacen(
            "verdict:",
            "verdict (kernel):",
            1,
        ));
        o
    };
    match items {
        None => {
            if a.quiet {
                o.push_str(&sim::report::verdict_text(&s.spec, &k.verdict).replacen(
                    "verdict:",
                    "verdict (kernel):",
                    1,
                ));
            } else {
                o.push_str(&kernel_report());
            }
            o.push_str(&expectations_text(s, failures).replace(
                "expectations:",
                "expectations (kernel; RST causes are not visible on the wire):",
            ));
        }
        Some(items) => {
            let _ = writeln!(o, "compare: simulator (linux personality) vs kernel");
            o.push_str(&compare::text(items));
            if items.iter().any(|i| !i.agree) && !a.quiet {
                o.push_str("\n--- kernel ---\n");
                o.push_str(&kernel_report());
                o.push_str("\n--- simulator ---\n");
                o.push_str(&sim_report());
            }
        }
    }
    o
}
