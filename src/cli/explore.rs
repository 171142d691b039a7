//! `tcpsim explore FILE`: every way the connection can go on from the
//! scenario's `explore` mark, within bounds (docs/explore.md); `explore
//! merge` combines the `--save` files of shards into the same summary.

use super::{output_failed, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::explore::class::checkable;
use crate::explore::render;
use crate::explore::report::{self, pair_report, Report};
use crate::explore::search::{explore, Config};
use crate::explore::setup::{parse_items, setup, Bounds, Setup};
use crate::explore::state::{MAX_CALLS, MAX_ITEMS};
use crate::fuzz::check::Property;
use crate::fuzz::search::Shard;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::Personality;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  tcpsim explore scenarios/explore-close.toml\n  \
                  tcpsim explore FILE --calls close,shutdown-wr,linger0,read-all,write --max-calls 3 --losses 1\n  \
                  tcpsim explore FILE --personalities all --check no-silent-loss --out witnesses/"
)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<Sub>,
    /// The scenario: its steps up to the `explore` line are run, the rest explored.
    pub file: Option<PathBuf>,
    /// Each side's calls to choose from, comma-separated: close, shutdown-wr,
    /// shutdown-rd, shutdown-rdwr, linger-off, linger0, linger<N> (SO_LINGER N s, e.g. linger1), nonblocking,
    /// exit, read-all, write (of --max-bytes), poll, so-error, drain (read to EOF,
    /// 100 ms per read), or any call without its socket (`read 100`, `keepalive on`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "close,shutdown-wr,read-all,write"
    )]
    pub calls: Vec<String>,
    /// Calls each side makes at most.
    #[arg(long, default_value_t = 2)]
    pub max_calls: u8,
    /// Writes each side makes at most (default: --max-calls).
    #[arg(long)]
    pub max_writes: Option<u8>,
    /// Bytes of each write.
    #[arg(long, default_value_t = 1000)]
    pub max_bytes: u64,
    /// Segments the network may lose.
    #[arg(long, default_value_t = 0)]
    pub losses: u8,
    /// Segments the network may duplicate.
    #[arg(long, default_value_t = 0)]
    pub dups: u8,
    /// Segments the network may hold back (behind the next to the same host,
    /// or until the next timer has fired).
    #[arg(long, default_value_t = 0)]
    pub reorders: u8,
    /// The personality pair (client,server), or `all` for all 25 built-in
    /// pairs (default: the file's).
    #[arg(long, value_delimiter = ',', value_name = "A,B|all")]
    pub personalities: Vec<String>,
    /// Report whether any state violates a property of `tcpsim fuzz`, with the shortest witness (exit 1).
    #[arg(long, value_name = "PROPERTY", value_parser = parse_property)]
    pub check: Option<Property>,
    /// Write every witness as a scenario file into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the state graph as DOT (one file per pair: `FILE` gets the pair's names).
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
    /// With --dot: the quotient by TCP state pair, small enough to read.
    #[arg(long)]
    pub dot_quotient: bool,
    /// The most distinct states per pair (a memory bound; the report says what it covers).
    #[arg(long, default_value_t = 2_000_000)]
    pub max_states: u64,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Explore the K-th of N slices (by pair and a hash of the first choices; K from 0).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Write the result with every state's digest, for `tcpsim explore merge`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Keep apart states that differ only in what no future of them reads
    /// (a done process's position, a spent side's calls): the state counts
    /// of before the reduction, the same classes.
    #[arg(long)]
    pub no_reduction: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Merge the --save files of all shards into the summary of the unsharded exploration.
    Merge(MergeArgs),
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write the witnesses into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the merged result (mergeable again).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
}

fn parse_property(s: &str) -> Result<Property, String> {
    let p = Property::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Property::ALL.iter().map(|p| p.key()).collect();
        format!("unknown property `{s}`; properties: {}", all.join(", "))
    })?;
    checkable(p)?;
    Ok(p)
}

fn input_error(e: impl std::fmt::Display) -> ExitCode {
    // A scenario's diagnostics come rendered, with their own `error[class]`.
    let e = e.to_string();
    match e.starts_with("error") {
        true => eprintln!("{e}"),
        false => eprintln!("error: {e}"),
    }
    ExitCode::from(EXIT_INPUT)
}

/// The pairs to explore: `None` for the file's own.
fn pairs(names: &[String]) -> Result<Vec<Option<[String; 2]>>, String> {
    match names {
        [] => Ok(vec![None]),
        [all] if all == "all" => {
            let b = Personality::BUILTIN;
            Ok(b.iter()
                .flat_map(|a| b.iter().map(move |c| Some([a.to_string(), c.to_string()])))
                .collect())
        }
        [a, b] => Ok(vec![Some([a.clone(), b.clone()])]),
        _ => Err("--personalities takes two names (client,server) or `all`".into()),
    }
}

fn bounds(a: &Args) -> Result<Bounds, String> {
    let items = parse_items(&a.calls, a.max_bytes)?;
    if items.len() > MAX_ITEMS {
        return Err(format!("--calls: at most {MAX_ITEMS} calls"));
    }
    if a.max_calls as usize > MAX_CALLS {
        return Err(format!("--max-calls: at most {MAX_CALLS}"));
    }
    Ok(Bounds {
        items,
        max_calls: a.max_calls,
        max_writes: a.max_writes.unwrap_or(a.max_calls),
        max_bytes: a.max_bytes,
        losses: a.losses,
        dups: a.dups,
        reorders: a.reorders,
    })
}

/// The bounds as one line (the report's, compared by merges).
fn bounds_line(b: &Bounds, check: Option<Property>, reduce: bool) -> String {
    let labels: Vec<&str> = b.items.iter().map(|i| i.label.as_str()).collect();
    let mut check = check.map_or(String::new(), |p| format!("; check {p}"));
    if !reduce {
        // Its states are other states: shards merge only with their like.
        check.push_str("; no reduction");
    }
    format!(
        "calls {}; at most {} per side ({} writes of {} bytes); {} losses, {} duplicates, {} reorders{check}",
        labels.join(", "),
        b.max_calls,
        b.max_writes,
        b.max_bytes,
        b.losses,
        b.dups,
        b.reorders
    )
}

fn bar() -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {pos} states  {msg}").expect("a valid template"),
    );
    pb
}

pub fn exec(a: &Args) -> ExitCode {
    if let Some(n) = a.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    if let Some(Sub::Merge(m)) = &a.cmd {
        return merge(m);
    }
    let Some(file) = &a.file else {
        return input_error("tcpsim explore needs a scenario file (or `merge FILES...`)");
    };
    let (b, pairs) = match bounds(a).and_then(|b| Ok((b, pairs(&a.personalities)?))) {
        Ok(x) => x,
        Err(e) => return input_error(e),
    };
    let cfg = Config {
        bounds: b,
        check: a.check,
        max_states: a.max_states.max(1),
        shard: a.shard.unwrap_or_default(),
        reduce: !a.no_reduction,
    };
    let mut report = Report {
        format: report::FORMAT,
        scenario: file.display().to_string(),
        bounds: bounds_line(&cfg.bounds, cfg.check, cfg.reduce),
        shard: a.shard.map(|s| [s.index, s.count]),
        pairs: Vec::new(),
    };
    let started = Instant::now();
    let mut states = 0;
    for pair in &pairs {
        match explore_pair(a, file, pair.as_ref(), &cfg) {
            Ok(p) => {
                states += p.states;
                report.pairs.push(p);
            }
            Err(e) => return input_error(e),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "explore: {states} states in {secs:.2} s, {:.0} states/s on {} threads",
        states as f64 / secs.max(1e-9),
        rayon::current_num_threads()
    );
    finish(&report, a.format, a.out.as_deref(), a.save.as_deref())
}

/// Explores one pair: its report (with witnesses), and its DOT file.
fn explore_pair(
    a: &Args,
    file: &Path,
    pair: Option<&[String; 2]>,
    cfg: &Config,
) -> Result<report::PairReport, String> {
    let s: Setup = setup(file, pair, &cfg.bounds)?;
    let pb = bar();
    let t = Instant::now();
    let ex = explore(&s, cfg, &|n| {
        pb.set_position(n);
        pb.set_message(format!(
            "{:.0} states/s",
            n as f64 / t.elapsed().as_secs_f64().max(1e-9)
        ));
    })?;
    pb.finish_and_clear();
    let explored_s = t.elapsed().as_secs_f64();
    let p = pair_report(&s, cfg, &ex, a.save.is_some())?;
    if std::env::var_os("TCPSIM_EXPLORE_TIMES").is_some() {
        eprintln!(
            "explore {}/{}: search {explored_s:.3} s, witnesses {:.3} s",
            s.pair[0],
            s.pair[1],
            t.elapsed().as_secs_f64() - explored_s
        );
    }
    if let Some(dot) = &a.dot {
        let text = match a.dot_quotient {
            true => render::dot_quotient(&s, &ex, &p),
            false => render::dot(&s, &ex, &p),
        };
        let path = match pair {
            Some(p) if a.personalities.len() == 1 => dot_path(dot, p),
            _ => dot.clone(),
        };
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(p)
}

/// `graph.dot` for the pair (a, b): `graph-a-b.dot`.
fn dot_path(dot: &Path, p: &[String; 2]) -> PathBuf {
    let stem = dot
        .file_stem()
        .map_or("graph".into(), |s| s.to_string_lossy().into_owned());
    let ext = dot
        .extension()
        .map_or("dot".into(), |s| s.to_string_lossy().into_owned());
    dot.with_file_name(format!("{stem}-{}-{}.{ext}", p[0], p[1]))
}

/// Writes the witnesses and the `--save` file, prints the summary; exit 1
/// if a checked property is violated.
fn finish(r: &Report, format: Format, out: Option<&Path>, save: Option<&Path>) -> ExitCode {
    if let Some(dir) = out {
        if let Err(e) = write_witnesses(r, dir) {
            return input_error(e);
        }
    }
    if let Some(path) = save {
        let json = serde_json::to_string(r).expect("reports serialize");
        if let Err(e) = std::fs::write(path, json) {
            return input_error(format!("cannot write {}: {e}", path.display()));
        }
    }
    let shown = strip(r);
    let text = match format {
        Format::Text => render::text(&shown),
        Format::Json => serde_json::to_string_pretty(&shown).expect("reports serialize") + "\n",
    };
    if let Err(e) = std::io::stdout().write_all(text.as_bytes()) {
        return output_failed(e);
    }
    for p in &r.pairs {
        let all = p
            .classes
            .iter()
            .map(|c| &c.witness)
            .chain(p.livelocks.iter().map(|l| &l.witness));
        for w in all.filter(|w| !w.replays) {
            eprintln!(
                "warning: witness {} does not replay as explored (a bug: please report it)",
                w.file
            );
        }
    }
    let violated = r
        .pairs
        .iter()
        .any(|p| p.check.as_ref().is_some_and(|c| c.violated));
    ExitCode::from(if violated { EXIT_FAILED } else { EXIT_OK })
}

/// The report without digests and witness texts: the summary.
fn strip(r: &Report) -> Report {
    let mut r = r.clone();
    for p in &mut r.pairs {
        p.digests.clear();
        for c in &mut p.classes {
            c.digests.clear();
            c.witness.text = None;
        }
        for l in &mut p.livelocks {
            l.witness.text = None;
        }
        if let Some(w) = p.check.as_mut().and_then(|c| c.witness.as_mut()) {
            w.text = None;
        }
    }
    r
}

fn write_witnesses(r: &Report, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for p in &r.pairs {
        let all = p
            .classes
            .iter()
            .map(|c| &c.witness)
            .chain(p.livelocks.iter().map(|l| &l.witness))
            .chain(p.check.iter().filter_map(|c| c.witness.as_ref()));
        for w in all {
            let Some(text) = &w.text else { continue };
            let path = dir.join(&w.file);
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn merge(m: &MergeArgs) -> ExitCode {
    let mut parts = Vec::new();
    for f in &m.files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => return input_error(format!("cannot read {}: {e}", f.display())),
        };
        match serde_json::from_str::<Report>(&text) {
            Ok(r) => parts.push(r),
            Err(e) => {
                return input_error(format!(
                    "{}: not a file of tcpsim explore --save: {e}",
                    f.display()
                ))
            }
        }
    }
    match report::merge(&parts) {
        Ok(r) => finish(&r, m.format, m.out.as_deref(), m.save.as_deref()),
        Err(e) => input_error(e),
    }
}
