//! `tcpsim run FILE`: run one scenario, print the ladder and the verdict (or
//! JSON, or JSON lines), and check its expectations.
//!
//! Memory does not grow with the length of the run: the trace goes past the
//! report as it is produced. The ladder and `--format json` keep its last
//! `--max-trace-entries` entries (and say how many they left out),
//! `--format jsonl` writes every entry as it happens, `-q` records none.

use super::{capture, output_failed, report_diags, ScenarioOpts, EXIT_FAILED, EXIT_OK};
use crate::scenario::{self, Mismatch, Scenario};
use serde::Serialize;
use sim::trace::{Tail, MAX_TRACE_ENTRIES};
use sim::{report, Entry, Outcome, Verdict, World};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Ladder diagram and verdict.
    #[default]
    Text,
    /// The trace (its last entries) and verdict as one JSON document.
    Json,
    /// JSON lines: what runs, every trace entry as it happens, then the
    /// verdict, the errors and the expectations; each line has a `type`.
    Jsonl,
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
    /// How many trace entries the ladder and `--format json` keep: the last
    /// ones (a longer run says how many it left out; `--format jsonl` writes all).
    #[arg(long, value_name = "N", default_value_t = MAX_TRACE_ENTRIES)]
    pub max_trace_entries: usize,
    /// Also write the report as one self-contained HTML page: ladder, verdict,
    /// trace (its last `--max-trace-entries` entries).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the segments as a capture file for Wireshark (pcapng, with
    /// a comment on each segment the network dropped, if FILE ends in `.pcapng`).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Also write a packetdrill script that checks the Linux side's behaviour
    /// on a real kernel: its calls, the peer's segments that reached it (`<`),
    /// the segments it sent (`>`). Exit 2, and no file, for a scenario it
    /// cannot express (docs/packetdrill.md).
    #[arg(long, value_name = "FILE")]
    pub packetdrill_out: Option<PathBuf>,
    /// The host `--packetdrill-out` exports (default: the one Linux host).
    #[arg(long, value_name = "HOST", requires = "packetdrill_out")]
    pub packetdrill_side: Option<String>,
}

/// Runs a scenario with its whole trace recorded (for `tcpsim real`, which
/// compares it step by step with the kernel's).
pub fn simulate(s: &Scenario) -> (World, Verdict) {
    simulate_spec(s.spec.clone())
}

/// [`simulate`] on the path a kernel run takes: `loopback` when the plan put
/// every host on `lo` (whatever the scenario's profile says), so the model
/// segments (`gso`) and shares the receive buffer as loopback does there.
pub fn simulate_on(s: &Scenario, loopback: bool) -> (World, Verdict) {
    if s.spec.loopback == loopback {
        return simulate(s);
    }
    let mut spec = (*s.spec).clone();
    spec.loopback = loopback;
    simulate_spec(Arc::new(spec))
}

/// [`simulate`] as a packetdrill script is exported from it. A script states
/// each segment of at most one MSS (the kernel under test splits its GSO
/// packets on the tun device), so the run segments that way too (`gso`
/// off). Nor does a script carry the host's wake-up latency (the network
/// profile's `wake_latency`): the runner's host, like packetdrill's own
/// process, runs a woken call at once, so the run does too.
pub fn simulate_for_export(s: &Scenario) -> (World, Verdict) {
    let mut spec = (*s.spec).clone();
    spec.wake_latency = model::Duration::ZERO;
    for host in &mut spec.hosts {
        let mut p = (*host.personality).clone();
        p.knobs.gso.value = false;
        host.personality = Arc::new(p);
    }
    simulate_spec(Arc::new(spec))
}

fn simulate_spec(spec: Arc<sim::WorldSpec>) -> (World, Verdict) {
    let mut w = World::new(spec, true);
    let v = w.run();
    (w, v)
}

/// Runs a scenario, handing each trace entry to `each` as it is produced.
pub fn stream<E>(s: &Scenario, each: impl FnMut(&Entry) -> Result<(), E>) -> Result<Verdict, E> {
    World::new(s.spec.clone(), true).run_with(each)
}

/// Runs a scenario for its text report: the ladder of its last `max_entries`
/// trace entries (none, and no trace recorded, when `None`) and the verdict.
fn simulate_text(s: &Scenario, max_entries: Option<usize>) -> (Option<String>, Verdict) {
    let Some(max_entries) = max_entries else {
        return (None, World::new(s.spec.clone(), false).run());
    };
    let mut ladder = report::Ladder::new(&s.spec, None, max_entries);
    let v = stream(s, |e| {
        ladder.push(e);
        Ok::<(), std::convert::Infallible>(())
    });
    let Ok(v) = v;
    (Some(ladder.finish()), v)
}

/// Runs a scenario and renders its text report (with the ladder of its last
/// [`MAX_TRACE_ENTRIES`] entries if `ladder`), for `test -v` and `fuzz`,
/// whose `failures` come from their own check.
pub fn run_text_report(s: &Scenario, failures: &[Mismatch], ladder: bool) -> String {
    let (ladder, v) = simulate_text(s, ladder.then_some(MAX_TRACE_ENTRIES));
    text_report(s, ladder.as_deref(), &v, failures)
}

/// What ran: the first keys of the JSON report, the first line of JSON lines.
#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonRun<'a> {
    scenario: &'a str,
    seed: u64,
    hosts: Vec<JsonHost<'a>>,
}

impl<'a> JsonRun<'a> {
    pub fn new(s: &'a Scenario) -> JsonRun<'a> {
        JsonRun {
            scenario: &s.name,
            seed: s.spec.seed,
            hosts: json_hosts(s),
        }
    }
}

/// The JSON report of a run, the simulator's or (with `kernel`) a real
/// kernel's: one schema for both.
#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonReport<'a, K: Serialize> {
    #[serde(flatten)]
    run: JsonRun<'a>,
    verdict: &'a Verdict,
    expectations_failed: &'a [Mismatch],
    /// Every call that failed, with the name its stack uses and the POSIX one.
    errors: &'a [JsonError],
    /// The last entries of the trace (all of them unless `trace_dropped`).
    trace: &'a [Entry],
    /// How many entries the whole trace has.
    trace_entries: u64,
    /// How many of its first entries `trace` leaves out.
    trace_dropped: u64,
    /// What a kernel run adds (its plan, notes, time scale, comparison).
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel: Option<K>,
}

impl<'a, K: Serialize> JsonReport<'a, K> {
    pub fn new(
        s: &'a Scenario,
        trace: &'a mut Tail<Entry>,
        verdict: &'a Verdict,
        expectations_failed: &'a [Mismatch],
        errors: &'a ErrorLog,
        kernel: Option<K>,
    ) -> JsonReport<'a, K> {
        let (trace_entries, trace_dropped) = (trace.seen(), trace.dropped());
        JsonReport {
            run: JsonRun::new(s),
            verdict,
            expectations_failed,
            errors: &errors.0,
            trace: trace.kept(),
            trace_entries,
            trace_dropped,
            kernel,
        }
    }
}

/// One line of `--format jsonl`, its kind in `type`; the fields are the JSON
/// report's, spelled the same (`K`: what a kernel run adds).
#[derive(Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum JsonLine<'a, K: Serialize> {
    /// The first line: the JSON report's `scenario`, `seed`, `hosts`.
    Run(&'a JsonRun<'a>),
    /// One per trace entry, in order, as the run produces them.
    Entry(&'a Entry),
    /// The verdict's fields.
    Verdict(&'a Verdict),
    Errors {
        errors: &'a [JsonError],
    },
    Expectations {
        expectations_failed: &'a [Mismatch],
    },
    /// A kernel run's `kernel` object.
    Kernel(&'a K),
}

/// A line of a simulator run (no kernel part).
pub type Line<'a> = JsonLine<'a, ()>;

/// Writes one JSON line.
pub fn write_line<K: Serialize>(out: &mut impl Write, l: &JsonLine<K>) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, l)?;
    out.write_all(b"\n")
}

/// The last lines: verdict, errors, expectations.
pub fn write_end_lines(
    out: &mut impl Write,
    v: &Verdict,
    errors: &ErrorLog,
    failures: &[Mismatch],
) -> std::io::Result<()> {
    write_line(out, &Line::Verdict(v))?;
    write_line(out, &Line::Errors { errors: &errors.0 })?;
    write_line(
        out,
        &Line::Expectations {
            expectations_failed: failures,
        },
    )
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

#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonError {
    t_ns: model::Instant,
    host: String,
    process: String,
    call: String,
    /// As the host's stack names it (WSAECONNRESET on Winsock personalities).
    error: &'static str,
    posix: &'static str,
}

/// The calls that failed, gathered as the trace goes by.
#[derive(Default)]
pub struct ErrorLog(Vec<JsonError>);

impl ErrorLog {
    pub fn push(&mut self, s: &Scenario, e: &Entry) {
        if let sim::What::Return {
            proc,
            call,
            result: Err(errno),
            ..
        } = e.what
        {
            self.0.push(JsonError {
                t_ns: e.t_ns,
                host: s.spec.hosts[e.host as usize].name.clone(),
                process: s.spec.procs[proc as usize].name.clone(),
                call: report::call_text(&call, &s.spec),
                error: report::errno_name(&s.spec, e.host, errno),
                posix: errno.name(),
            });
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonHost<'a> {
    name: &'a str,
    personality: &'a str,
    release: &'a str,
}

/// The text report: header, ladder (when there is one), verdict, expectations.
pub fn text_report(
    s: &Scenario,
    ladder: Option<&str>,
    v: &Verdict,
    failures: &[Mismatch],
) -> String {
    let mut o = String::new();
    // A long name and path wrap (the path on its own line) within 100 columns.
    o.push_str(&report::fit(&format!("scenario: {} ({})", s.name, s.path)));
    for line in s.description.lines().filter(|l| !l.trim().is_empty()) {
        o.push_str(&report::fit(&format!("  {}", line.trim())));
    }
    let _ = writeln!(o, "seed: {}\n", s.spec.seed);
    if let Some(ladder) = ladder {
        o.push_str(ladder);
        o.push('\n');
    }
    o.push_str(&report::verdict_text(&s.spec, v));
    let key = match v.outcome {
        Outcome::EventBudget => Some("max_events"),
        Outcome::TimeLimit => Some("duration"),
        _ => None,
    };
    if let Some(key) = key {
        let _ = writeln!(
            o,
            "  (raise `{key}` under [scenario] to see how the run ends)"
        );
    }
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

/// Everything one run's trace feeds, each part only when an output asks for
/// it: one run serves the text, JSON, JSON lines and HTML reports at once.
struct Sinks<'s> {
    /// The text ladder (not with `-q`).
    ladder: Option<report::Ladder<'s>>,
    /// The last entries, for `--format json` and `--html`.
    tail: Option<Tail<Entry>>,
    /// `--format jsonl`: each entry written as it happens.
    lines: bool,
    errors: ErrorLog,
    /// `--pcap`: each segment written to the capture file as it is sent.
    pcap: Option<capture::Sink>,
}

impl<'s> Sinks<'s> {
    fn new(s: &'s Scenario, a: &Args, pcap: Option<capture::Sink>) -> Sinks<'s> {
        let text = a.format == Format::Text && !a.quiet;
        let keep = a.format == Format::Json || a.html.is_some();
        Sinks {
            ladder: text.then(|| report::Ladder::new(&s.spec, None, a.max_trace_entries)),
            tail: keep.then(|| Tail::new(a.max_trace_entries)),
            lines: a.format == Format::Jsonl,
            errors: ErrorLog::default(),
            pcap,
        }
    }

    fn push(&mut self, s: &Scenario, e: &Entry, out: &mut impl Write) -> std::io::Result<()> {
        self.errors.push(s, e);
        if let Some(l) = &mut self.ladder {
            l.push(e);
        }
        if let Some(t) = &mut self.tail {
            t.push(*e);
        }
        if self.lines {
            write_line(out, &Line::Entry(e))?;
        }
        if let Some(p) = &mut self.pcap {
            p.push(e);
        }
        Ok(())
    }

    /// Runs the scenario once, feeding the sinks (recording no trace when
    /// none wants it); the verdict.
    fn run(&mut self, s: &Scenario, out: &mut impl Write) -> std::io::Result<Verdict> {
        if self.lines {
            write_line(out, &Line::Run(&JsonRun::new(s)))?;
        }
        if self.ladder.is_none() && self.tail.is_none() && !self.lines && self.pcap.is_none() {
            return Ok(World::new(s.spec.clone(), false).run());
        }
        stream(s, |e| self.push(s, e, out))
    }

    /// Writes the report the format names, after the run.
    fn finish(
        &mut self,
        s: &Scenario,
        a: &Args,
        (v, failures): (&Verdict, &[Mismatch]),
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        match (a.format, &mut self.tail) {
            (Format::Jsonl, _) => write_end_lines(out, v, &self.errors, failures),
            (Format::Json, Some(tail)) => {
                let r = JsonReport::<()>::new(s, tail, v, failures, &self.errors, None);
                serde_json::to_writer_pretty(&mut *out, &r)?;
                out.write_all(b"\n")
            }
            _ => {
                let ladder = self.ladder.take().map(report::Ladder::finish);
                let text = text_report(s, ladder.as_deref(), v, failures);
                out.write_all(super::paint::paint(&text, super::styled()).as_bytes())
            }
        }
    }
}

pub fn exec(a: &Args) -> ExitCode {
    let s = match scenario::load(&a.file, &a.opts.overrides()) {
        Ok(s) => s,
        Err(d) => return report_diags(&d),
    };
    if let Some(path) = &a.packetdrill_out {
        if let Err(code) = write_packetdrill(&s, a, path) {
            return code;
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let pcap = match a.pcap.as_deref().map(|p| capture::Sink::open(p, &s.spec)) {
        Some(Err(code)) => return code,
        opened => opened.and_then(Result::ok),
    };
    let mut sinks = Sinks::new(&s, a, pcap);
    let ran = sinks.run(&s, &mut out).and_then(|v| {
        let failures = s.check(&v);
        sinks.finish(&s, a, (&v, &failures), &mut out)?;
        out.flush()?;
        Ok((v, failures))
    });
    let (v, failures) = match ran {
        Ok(r) => r,
        Err(e) => return output_failed(e),
    };
    if let (Some(path), Some(tail)) = (&a.html, &mut sinks.tail) {
        let left_out = tail.dropped();
        let page = crate::html::run_report(&s, (tail.kept(), left_out), &v, &failures);
        if let Err(code) = crate::html::write(path, &page) {
            return code;
        }
    }
    if let Some(Err(code)) = sinks.pcap.take().map(capture::Sink::finish) {
        return code;
    }
    ExitCode::from(if failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// `--packetdrill-out`: the chosen side's script, from a run with its whole
/// trace; exit 2 (and no file) when the scenario has no packetdrill form.
fn write_packetdrill(s: &Scenario, a: &Args, path: &std::path::Path) -> Result<(), ExitCode> {
    use crate::packetdrill::export;
    let failed = |u: export::Unexportable| {
        eprintln!(
            "error: cannot export {} as a packetdrill script: {}\n  hint: {}",
            s.path, u.what, u.hint
        );
        ExitCode::from(super::EXIT_INPUT)
    };
    let h = export::side(&s.spec, a.packetdrill_side.as_deref()).map_err(failed)?;
    let (w, _) = simulate_for_export(s);
    let host = &s.spec.hosts[h as usize].name;
    let release = &s.spec.hosts[h as usize].personality.release;
    let header = format!(
        "{name}: host {host} (the linux personality, {release}), exported by tcpsim\n\
         from {path}.\n\
         Its system calls; `<` the segments its peer sent that reached it;\n\
         `>` the segments it sent. Re-export: tcpsim run {path} --packetdrill-out FILE \
         --packetdrill-side {host}",
        name = s.name,
        path = s.path,
    );
    let text = export::export(&s.spec, h, w.trace(), &header).map_err(failed)?;
    std::fs::write(path, text).map_err(|e| {
        eprintln!("error: cannot write {}: {e}", path.display());
        ExitCode::from(super::EXIT_INPUT)
    })
}
