//! `tcpsim compare FILE`: one scenario under every pair of personalities of its
//! first two hosts (a raw peer, which has no stack, is not varied). A matrix of
//! outcomes (rows: the first host's personality,
//! columns: the second's), then, for each two personalities that end
//! differently, where their traces first diverge and which knob is responsible.

use super::{report_diags, ScenarioOpts, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::personality_file;
use crate::scenario::{self, causal_resets, Mismatch, Scenario};
use model::personality::Knobs;
use model::Personality;
use serde::Serialize;
use sim::report::{entry_text, ms, Isns};
use sim::{Outcome, Verdict, World, WorldSpec};
use std::borrow::Cow;
use std::fmt::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
    Csv,
    Markdown,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file (its first two hosts are varied).
    pub file: PathBuf,
    /// Personalities to compare, comma-separated (default: all built-in).
    #[arg(long, value_delimiter = ',')]
    pub personalities: Vec<String>,
    #[command(flatten)]
    pub opts: ScenarioOpts,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also write the matrix, and each pair's ladder and trace, as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write each pair's segments as a capture file for Wireshark into
    /// DIR (created if missing), named after the pair:
    /// `client-linux.server-freebsd.pcap`.
    #[arg(long, value_name = "DIR")]
    pub pcap_dir: Option<PathBuf>,
}

/// What one pair of personalities gives.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Cell {
    pub first: String,
    pub second: String,
    pub outcome: Outcome,
    /// "host: cause" for each causal RST.
    pub rst: Vec<String>,
    pub lost: u64,
    pub silent: bool,
    /// Expectations for this pair that failed (none stated → empty).
    pub failures: Vec<Mismatch>,
    #[serde(skip)]
    pub verdict: Verdict,
}

impl Cell {
    /// The comparable part: two cells "end the same" when this is equal.
    fn ending(&self) -> (Outcome, &[String], u64) {
        (self.outcome, &self.rst, self.lost)
    }

    pub fn short(&self) -> String {
        let rst = if self.rst.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.rst.join("; "))
        };
        let fail = if self.failures.is_empty() { "" } else { " ✗" };
        match self.outcome {
            Outcome::Clean => format!("clean{fail}"),
            Outcome::ResetWithoutLoss => format!("RST{rst}{fail}"),
            Outcome::ResetWithLoss => format!("RST, lost {}{rst}{fail}", self.lost),
            Outcome::LossWithoutReset => format!(
                "lost {}{}{fail}",
                self.lost,
                if self.silent { " silently" } else { "" }
            ),
            Outcome::Hung => format!("hung{fail}"),
            Outcome::EventBudget => format!("event budget{fail}"),
            Outcome::TimeLimit => format!("time limit{fail}"),
        }
    }

    /// The cell in the matrix: its ending in a few characters, its RST
    /// causes by the letter of their entry in `causes` (added if new).
    fn mark(&self, causes: &mut Vec<String>) -> String {
        let mut rst = "RST".to_string();
        if !self.rst.is_empty() {
            let cause = self.rst.join("; ");
            let k = causes.iter().position(|c| *c == cause).unwrap_or_else(|| {
                causes.push(cause);
                causes.len() - 1
            });
            rst = format!("RST {}", cause_letter(k));
        }
        let fail = if self.failures.is_empty() { "" } else { " ✗" };
        let silent = if self.silent { " silent" } else { "" };
        match self.outcome {
            Outcome::Clean => format!("clean{fail}"),
            Outcome::ResetWithoutLoss => format!("{rst}{fail}"),
            Outcome::ResetWithLoss => format!("{rst} −{}{fail}", self.lost),
            Outcome::LossWithoutReset => format!("−{}{silent}{fail}", self.lost),
            Outcome::Hung => format!("hung{fail}"),
            Outcome::EventBudget => format!("budget{fail}"),
            Outcome::TimeLimit => format!("time limit{fail}"),
        }
    }
}

/// A divergence between two personalities in one host position.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Divergence {
    /// The host whose personality changes.
    pub host: String,
    pub a: String,
    pub b: String,
    /// The other host's personality in both runs.
    pub other: String,
    pub a_ends: String,
    pub b_ends: String,
    pub at_ms: String,
    pub a_entry: String,
    pub b_entry: String,
    /// The first difference in state changes, RSTs or discards.
    pub decisive_at_ms: String,
    pub a_decisive: String,
    pub b_decisive: String,
    /// The knobs that turn A's ending into B's.
    pub knobs: Blame,
    /// The two cells compared (indexes into `Comparison::cells`).
    #[serde(skip)]
    pub cells: [usize; 2],
}

/// The spec with the first two hosts' personalities replaced, the file's and
/// the command line's knob overrides re-applied.
pub fn with_pair(
    s: &Scenario,
    opts: &ScenarioOpts,
    ps: [&Personality; 2],
) -> Result<Arc<WorldSpec>, String> {
    let mut spec = (*s.spec).clone();
    for (i, p) in ps.into_iter().enumerate() {
        let Some(h) = spec.hosts.get_mut(i) else {
            break;
        };
        let mut p = p.clone();
        let def = &s.file.hosts[&h.name];
        for (knob, v) in &def.set {
            p.set(knob, &personality_file::value_text(v.get_ref()), &s.path)
                .map_err(|e| e.to_string())?;
        }
        for (host, knob, value) in &opts.set {
            if *host == h.name {
                p.set(knob, value, "--set").map_err(|e| e.to_string())?;
            }
        }
        h.personality = Arc::new(p);
    }
    Ok(Arc::new(spec))
}

fn run_cell(s: &Scenario, spec: Arc<WorldSpec>, a: &str, b: &str) -> Cell {
    let v = sim::run_verdict(&spec);
    let host = |h: u16| spec.hosts[h as usize].name.clone();
    let mut failures = s.check_pair(&spec, a, b, &v);
    // A raw peer plays a script written for one stack (a packetdrill script):
    // its steps' expectations hold for every personality it is run against.
    if spec.hosts.iter().any(|h| h.raw.is_some()) {
        for m in scenario::step_mismatches(&spec, &v) {
            if !failures.contains(&m) {
                failures.push(m);
            }
        }
    }
    Cell {
        first: a.to_string(),
        second: b.to_string(),
        outcome: v.outcome,
        rst: causal_resets(&v)
            .map(|r| format!("{}: {}", host(r.from.host), r.cause.key()))
            .collect(),
        lost: v.lost_bytes(),
        silent: v.silent_loss(),
        failures,
        verdict: v,
    }
}

/// An entry's text without the advertised window, which differs between
/// stacks from the first SYN on and says nothing about how a close ends.
fn without_window(t: &str) -> String {
    let mut out = Vec::new();
    let mut words = t.split(' ').peekable();
    while let Some(w) = words.next() {
        if w == "win"
            && words
                .peek()
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        {
            words.next();
            continue;
        }
        out.push(w);
    }
    out.join(" ")
}

/// Entries that decide how a close ends: state changes, RSTs, discards.
fn decisive(e: &sim::Entry) -> bool {
    matches!(
        e.what,
        sim::What::Model {
            event: model::Event::State { .. }
                | model::Event::RstSent { .. }
                | model::Event::Discard { .. }
        }
    )
}

/// One ladder line of a run: time, text (without windows), and whether it is
/// `decisive`.
type Line = (model::Instant, String, bool);

/// The ladder lines of a run of `spec`, produced as the run goes: the world
/// steps only as far as the lines asked for, and holds no trace.
struct LadderLines {
    spec: Arc<WorldSpec>,
    world: World,
    isns: Isns,
    ready: std::collections::VecDeque<Line>,
}

impl LadderLines {
    fn new(spec: &Arc<WorldSpec>) -> LadderLines {
        LadderLines {
            spec: Arc::clone(spec),
            world: World::new(Arc::clone(spec), true),
            isns: Isns::default(),
            ready: Default::default(),
        }
    }
}

impl Iterator for LadderLines {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        loop {
            if let Some(l) = self.ready.pop_front() {
                return Some(l);
            }
            let spec = &self.spec;
            for e in self.world.drain_trace() {
                // Every entry goes through entry_text, which follows the ISNs.
                let Some(t) = entry_text(spec, &mut self.isns, &e) else {
                    continue;
                };
                let host = &spec.hosts[e.host as usize].name;
                let text = format!("[{host}] {}", without_window(&t));
                self.ready.push_back((e.t_ns, text, decisive(&e)));
            }
            if self.ready.is_empty() && !self.world.step() {
                return None;
            }
        }
    }
}

/// The first line (among those `keep` accepts) where two runs differ, as
/// (time, text a, text b); both runs stop there.
fn first_divergence(
    a: &Arc<WorldSpec>,
    b: &Arc<WorldSpec>,
    keep: fn(&Line) -> bool,
) -> Option<(String, String, String)> {
    let mut xa = LadderLines::new(a).filter(keep);
    let mut xb = LadderLines::new(b).filter(keep);
    loop {
        let (x, y) = (xa.next(), xb.next());
        if x.is_none() && y.is_none() {
            return None;
        }
        let same = |x: &Option<Line>, y: &Option<Line>| {
            x.as_ref().map(|l| (l.0, &l.1)) == y.as_ref().map(|l| (l.0, &l.1))
        };
        if !same(&x, &y) {
            let t = x
                .as_ref()
                .or(y.as_ref())
                .map_or(model::Instant::ZERO, |e| e.0);
            let text = |e: &Option<Line>| {
                e.as_ref().map_or("(trace ended)".to_string(), |e| {
                    format!("{} ms {}", ms(e.0), e.1)
                })
            };
            return Some((ms(t), text(&x), text(&y)));
        }
    }
}

/// One knob's value in the two personalities compared.
#[derive(Serialize, schemars::JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct KnobChange {
    pub knob: &'static str,
    pub from: String,
    pub to: String,
}

impl fmt::Display for KnobChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} → {})", self.knob, self.from, self.to)
    }
}

/// Which of the knobs in which A and B differ make A's run end as B's.
#[derive(Serialize, schemars::JsonSchema, Clone, Debug, Default)]
pub struct Blame {
    /// How many knobs differ between the two personalities.
    pub knobs_differing: usize,
    /// Knobs each of which, set alone to B's value, gives A's run B's outcome
    /// and RST causes (empty when the two runs already share them).
    pub decides_outcome: Vec<KnobChange>,
    /// A smallest set of knobs (none of them can be left out) that, set
    /// together to B's values, make A's run end exactly as B's: outcome, RSTs
    /// and lost bytes.
    pub exact: Vec<KnobChange>,
}

/// A cell's outcome class: its outcome and RST causes, without the amount lost.
fn class(c: &Cell) -> (Outcome, &[String]) {
    (c.outcome, &c.rst)
}

/// Finds which knobs of `pa` turn its run into `target`, `pb`'s run.
fn blame(
    s: &Scenario,
    opts: &ScenarioOpts,
    (pa, pb): (&Personality, &Personality),
    (pos, other): (usize, &Personality),
    (start, target): (&Cell, &Cell),
) -> Blame {
    let run = |p: &Personality| -> Option<Cell> {
        let pair = if pos == 0 { [p, other] } else { [other, p] };
        let spec = with_pair(s, opts, pair).ok()?;
        Some(run_cell(s, spec, &target.first, &target.second))
    };
    blame_by(
        (pa, pb),
        run,
        (start, target),
        |a, b| class(a) == class(b),
        |a, b| a.ending() == b.ending(),
    )
}

/// The knobs in which two personalities differ, with both values.
pub fn knob_changes(pa: &Personality, pb: &Personality) -> Vec<KnobChange> {
    Knobs::INFO
        .iter()
        .filter_map(|info| {
            let (va, _) = pa.knobs.get(info.name).expect("knob");
            let (vb, _) = pb.knobs.get(info.name).expect("knob");
            (va != vb).then(|| KnobChange {
                knob: info.name,
                from: va.to_string(),
                to: vb.to_string(),
            })
        })
        .collect()
}

/// Which knobs of `pa`, set to `pb`'s values, turn what `run` makes of `pa`
/// (`start`) into what it makes of `pb` (`target`). The knobs that decide the
/// class (`same_class`) are found one at a time; the exact ending
/// (`same_end`) is narrowed from "every differing knob" by leaving out each
/// knob whose absence changes nothing (so each one kept is needed).
pub fn blame_by<T>(
    (pa, pb): (&Personality, &Personality),
    run: impl Fn(&Personality) -> Option<T>,
    (start, target): (&T, &T),
    same_class: impl Fn(&T, &T) -> bool,
    same_end: impl Fn(&T, &T) -> bool,
) -> Blame {
    let changes = knob_changes(pa, pb);
    let run = |set: &[&KnobChange]| -> Option<T> {
        let mut p = pa.clone();
        for c in set {
            p.knobs
                .set(c.knob, &pb.knobs.get(c.knob)?.0, Cow::Borrowed("compare"))
                .ok()?;
        }
        run(&p)
    };
    let decides_outcome = if same_class(start, target) {
        Vec::new()
    } else {
        changes
            .iter()
            .filter(|c| run(&[*c]).is_some_and(|r| same_class(&r, target)))
            .cloned()
            .collect()
    };
    let mut exact: Vec<&KnobChange> = changes.iter().collect();
    let mut i = 0;
    while i < exact.len() {
        let mut without = exact.clone();
        without.remove(i);
        match run(&without) {
            Some(r) if same_end(&r, target) => exact = without,
            _ => i += 1,
        }
    }
    Blame {
        knobs_differing: changes.len(),
        decides_outcome,
        exact: exact.into_iter().cloned().collect(),
    }
}

impl Blame {
    /// In words, as the text report's last lines of a divergence.
    pub fn lines(&self) -> Vec<String> {
        let list = |v: &[KnobChange]| {
            v.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        if !self.decides_outcome.is_empty() {
            out.push(format!(
                "outcome decided by: {}",
                list(&self.decides_outcome)
            ));
        }
        let needed = match self.exact.len() {
            0 => "exact ending: no knob (the personalities' names only)".to_string(),
            n => format!(
                "exact ending needs {n} of the {} differing knobs: {}",
                self.knobs_differing,
                list(&self.exact)
            ),
        };
        out.push(needed);
        out
    }
}

pub struct Comparison {
    pub names: Vec<String>,
    /// The first host's personalities (the matrix's rows) and the second's
    /// (its columns): `names`, or a raw peer's own alone (it has no stack to vary).
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    pub cells: Vec<Cell>,
    /// Each cell's world, as it ran.
    pub specs: Vec<Arc<WorldSpec>>,
    pub divergences: Vec<Divergence>,
}

/// Runs the matrix and finds the divergences.
pub fn compare(s: &Scenario, opts: &ScenarioOpts, names: &[String]) -> Result<Comparison, String> {
    let ps: Vec<Personality> = names
        .iter()
        .map(|n| personality_file::resolve(n, Path::new(".")))
        .collect::<Result<_, _>>()?;
    // A raw peer keeps its own personality, which it does not use.
    let axis = |i: usize| match s.spec.hosts.get(i) {
        Some(h) if h.raw.is_some() => vec![(*h.personality).clone()],
        _ => ps.clone(),
    };
    let axes = [axis(0), axis(1)];
    let nc = axes[1].len();
    let mut cells = Vec::with_capacity(axes[0].len() * nc);
    let mut specs = Vec::with_capacity(axes[0].len() * nc);
    for pa in &axes[0] {
        for pb in &axes[1] {
            let spec = with_pair(s, opts, [pa, pb])?;
            cells.push(run_cell(s, spec.clone(), &pa.name, &pb.name));
            specs.push(spec);
        }
    }
    let divergences = divergences(s, opts, &axes, &cells, &specs);
    let [rows, cols] = axes.map(|a| a.iter().map(|p| p.name.to_string()).collect());
    Ok(Comparison {
        names: names.to_vec(),
        rows,
        cols,
        cells,
        specs,
        divergences,
    })
}

/// For each varied host, each two of its personalities that end differently
/// under some personality of the other host: where and why.
fn divergences(
    s: &Scenario,
    opts: &ScenarioOpts,
    axes: &[Vec<Personality>; 2],
    cells: &[Cell],
    specs: &[Arc<WorldSpec>],
) -> Vec<Divergence> {
    let nc = axes[1].len();
    let host_name = |i: usize| {
        s.spec
            .hosts
            .get(i)
            .map_or("?".to_string(), |h| h.name.clone())
    };
    let mut divergences = Vec::new();
    for pos in 0..2.min(s.spec.hosts.len()) {
        let (ps, others) = (&axes[pos], &axes[1 - pos]);
        let n = ps.len();
        for i in 0..n {
            for j in i + 1..n {
                // The first other-host personality under which i and j end differently.
                let found = (0..others.len()).find_map(|k| {
                    let (ci, cj) = if pos == 0 {
                        (i * nc + k, j * nc + k)
                    } else {
                        (k * nc + i, k * nc + j)
                    };
                    (cells[ci].ending() != cells[cj].ending()).then_some((k, ci, cj))
                });
                let Some((k, ci, cj)) = found else { continue };
                let (at_ms, a_entry, b_entry) =
                    first_divergence(&specs[ci], &specs[cj], |_| true).unwrap_or_default();
                let (decisive_at_ms, a_decisive, b_decisive) =
                    first_divergence(&specs[ci], &specs[cj], |l| l.2).unwrap_or_default();
                let knobs = blame(
                    s,
                    opts,
                    (&ps[i], &ps[j]),
                    (pos, &others[k]),
                    (&cells[ci], &cells[cj]),
                );
                divergences.push(Divergence {
                    host: host_name(pos),
                    a: ps[i].name.to_string(),
                    b: ps[j].name.to_string(),
                    other: others[k].name.to_string(),
                    a_ends: cells[ci].short(),
                    b_ends: cells[cj].short(),
                    at_ms,
                    a_entry,
                    b_entry,
                    decisive_at_ms,
                    a_decisive,
                    b_decisive,
                    knobs,
                    cells: [ci, cj],
                });
            }
        }
    }
    divergences
}

fn colour(c: &Cell, text: &str, styled: bool) -> String {
    if !styled {
        return text.to_string();
    }
    let code = match c.outcome {
        Outcome::Clean => "32",
        Outcome::ResetWithoutLoss => "33",
        Outcome::ResetWithLoss | Outcome::LossWithoutReset => "31",
        Outcome::Hung | Outcome::EventBudget | Outcome::TimeLimit => "35",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

pub fn text(s: &Scenario, c: &Comparison, styled: bool) -> String {
    let mut o = String::new();
    // A long name and path wrap (the path on its own line) within 100 columns.
    o.push_str(&sim::report::fit(&format!(
        "scenario: {} ({})",
        s.name, s.path
    )));
    o.push('\n');
    matrix_text(&mut o, s, c, styled);
    if c.divergences.is_empty() {
        o.push_str("\nEvery pair ends the same.\n");
    }
    let mut rest = String::new();
    for d in &c.divergences {
        divergence_text(&mut rest, d);
    }
    for cell in c.cells.iter().filter(|x| !x.failures.is_empty()) {
        failures_text(&mut rest, cell);
    }
    o.push_str(&sim::report::fit(&rest));
    o
}

/// The matrix: first host's personality by row, second's by column, each
/// cell's ending in a few characters (so five columns fit 100), then a legend
/// naming the RST causes the cells refer to by letter.
fn matrix_text(o: &mut String, s: &Scenario, c: &Comparison, styled: bool) {
    let n = c.cols.len();
    let h0 = s.spec.hosts.first().map_or("first", |h| h.name.as_str());
    let h1 = s.spec.hosts.get(1).map_or("second", |h| h.name.as_str());
    let corner = format!("{h0} \\ {h1}");
    let w0 = c
        .rows
        .iter()
        .map(|x| x.len())
        .max()
        .unwrap_or(0)
        .max(corner.len());
    let mut causes: Vec<String> = Vec::new();
    let marks: Vec<String> = c.cells.iter().map(|x| x.mark(&mut causes)).collect();
    let widths: Vec<usize> = (0..n)
        .map(|j| {
            let widest = (0..c.rows.len())
                .map(|i| marks[i * n + j].chars().count())
                .max();
            widest.unwrap_or(0).max(c.cols[j].len())
        })
        .collect();
    let _ = write!(o, "{corner:<w0$}");
    for (j, name) in c.cols.iter().enumerate() {
        let _ = write!(o, "  {name:<w$}", w = widths[j]);
    }
    o.truncate(o.trim_end().len());
    o.push('\n');
    for (i, name) in c.rows.iter().enumerate() {
        let _ = write!(o, "{name:<w0$}");
        for (j, width) in widths.iter().enumerate() {
            let (cell, t) = (&c.cells[i * n + j], &marks[i * n + j]);
            let pad = width.saturating_sub(t.chars().count());
            let _ = write!(o, "  {}{}", colour(cell, t, styled), " ".repeat(pad));
        }
        o.truncate(o.trim_end().len());
        o.push('\n');
    }
    let mut legend =
        String::from("\n−N: N bytes written and never read · ✗: an expectation failed");
    for (k, cause) in causes.iter().enumerate() {
        let _ = write!(legend, "\nRST {}: {cause}", cause_letter(k));
    }
    o.push_str(&sim::report::fit(&legend));
}

/// The letter by which the matrix names its `k`th distinct set of RST causes.
fn cause_letter(k: usize) -> String {
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    match k < letters.len() {
        true => char::from(letters[k]).to_string(),
        false => format!("#{}", k + 1),
    }
}

/// One divergence: the two endings, where they first differ (in any entry,
/// then in states, RSTs and discards) and the knob responsible.
fn divergence_text(o: &mut String, d: &Divergence) {
    let _ = writeln!(
        o,
        "\n{} as {}: {} vs {} (with {} on the other side)",
        d.host, d.a, d.a, d.b, d.other
    );
    let _ = writeln!(o, "  {}: {}\n  {}: {}", d.a, d.a_ends, d.b, d.b_ends);
    if !d.a_entry.is_empty() {
        let _ = writeln!(
            o,
            "  first divergence at {} ms:\n    {}: {}\n    {}: {}",
            d.at_ms, d.a, d.a_entry, d.b, d.b_entry
        );
    }
    if !d.a_decisive.is_empty() && d.a_decisive != d.a_entry {
        let _ = writeln!(
            o,
            "  first divergence in states, RSTs and discards, at {} ms:\n    {}: {}\n    {}: {}",
            d.decisive_at_ms, d.a, d.a_decisive, d.b, d.b_decisive
        );
    }
    for line in d.knobs.lines() {
        let _ = writeln!(o, "  {line}");
    }
}

/// A cell's failed expectations.
fn failures_text(o: &mut String, cell: &Cell) {
    let _ = writeln!(
        o,
        "\nexpectations FAILED for {}/{}:",
        cell.first, cell.second
    );
    for f in &cell.failures {
        let _ = writeln!(
            o,
            "  {}: expected {}, actual {}",
            f.what, f.expected, f.actual
        );
    }
}

pub fn csv(c: &Comparison) -> String {
    let mut o = String::from("first,second,outcome,rst,lost,silent,expectations\n");
    for x in &c.cells {
        let _ = writeln!(
            o,
            "{},{},{},\"{}\",{},{},{}",
            x.first,
            x.second,
            x.outcome,
            x.rst.join("; "),
            x.lost,
            x.silent,
            if x.failures.is_empty() {
                "ok"
            } else {
                "failed"
            }
        );
    }
    o
}

pub fn markdown(s: &Scenario, c: &Comparison) -> String {
    let n = c.cols.len();
    let h0 = s.spec.hosts.first().map_or("first", |h| h.name.as_str());
    let h1 = s.spec.hosts.get(1).map_or("second", |h| h.name.as_str());
    let mut o = format!("| {h0} \\ {h1} |");
    for name in &c.cols {
        let _ = write!(o, " {name} |");
    }
    o.push_str("\n|---|");
    o.push_str(&"---|".repeat(n));
    o.push('\n');
    for (i, row) in c.rows.iter().enumerate() {
        let _ = write!(o, "| **{row}** |");
        for j in 0..n {
            let _ = write!(o, " {} |", c.cells[i * n + j].short().replace('|', "\\|"));
        }
        o.push('\n');
    }
    for d in &c.divergences {
        let _ = writeln!(
            o,
            "\n- {} as {} vs {} (other side {}): {} vs {}; {}",
            d.host,
            d.a,
            d.b,
            d.other,
            d.a_ends,
            d.b_ends,
            d.knobs.lines().join("; ")
        );
    }
    o
}

/// The capture file of a cell: each of the first two hosts with its
/// personality, `client-linux.server-freebsd.pcap`, with any character a
/// file name might not take replaced by `_`.
pub fn pcap_name(s: &Scenario, cell: &Cell) -> String {
    let host = |i: usize| s.spec.hosts.get(i).map_or("?", |h| h.name.as_str());
    let name = format!("{}-{}.{}-{}", host(0), cell.first, host(1), cell.second);
    let safe: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect();
    format!("{safe}.pcap")
}

/// Writes each cell's capture file into `dir` (`--pcap-dir`).
fn write_pcaps(dir: &Path, s: &Scenario, c: &Comparison) -> Result<(), ExitCode> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!(
            "error: cannot create the capture directory {}: {e}",
            dir.display()
        );
        return Err(ExitCode::from(EXIT_INPUT));
    }
    for (cell, spec) in c.cells.iter().zip(&c.specs) {
        super::capture::write(&dir.join(pcap_name(s, cell)), spec)?;
    }
    Ok(())
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Json<'a> {
    scenario: &'a str,
    personalities: &'a [String],
    cells: &'a [Cell],
    divergences: &'a [Divergence],
}

pub fn exec(a: &Args) -> ExitCode {
    let s = match scenario::load(&a.file, &a.opts.overrides()) {
        Ok(s) => s,
        Err(d) => return report_diags(&d),
    };
    let names: Vec<String> = if a.personalities.is_empty() {
        Personality::BUILTIN.iter().map(|s| s.to_string()).collect()
    } else {
        a.personalities.clone()
    };
    let c = match compare(&s, &a.opts, &names) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    if let Some(path) = &a.html {
        if let Err(code) = crate::html::write(path, &crate::html::compare_report(&s, &c)) {
            return code;
        }
    }
    if let Some(dir) = &a.pcap_dir {
        if let Err(code) = write_pcaps(dir, &s, &c) {
            return code;
        }
    }
    match a.format {
        Format::Text => print!("{}", text(&s, &c, super::styled())),
        Format::Csv => print!("{}", csv(&c)),
        Format::Markdown => print!("{}", markdown(&s, &c)),
        Format::Json => {
            let j = Json {
                scenario: &s.name,
                personalities: &c.names,
                cells: &c.cells,
                divergences: &c.divergences,
            };
            println!("{}", serde_json::to_string_pretty(&j).expect("serializes"));
        }
    }
    ExitCode::from(if c.cells.iter().any(|x| !x.failures.is_empty()) {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
