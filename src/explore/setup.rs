//! What an exploration starts from: the scenario run up to its `explore`
//! mark under one personality pair, each side's socket, and each side's menu
//! of calls (`--calls`), written in the scenario language and resolved by
//! the same code as the file's own steps.

use crate::scenario::file::ScenarioFile;
use crate::scenario::steps::{parse_step, Op, StepDef};
use crate::scenario::{self, resolve, Overrides, Scenario};
use model::call::CALLS;
use model::ReadLen;
use sim::spec::{Limits, ProcId};
use sim::WorldSpec;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// How often a side may make a call of the menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A write: up to `--max-writes` times.
    Write,
    /// A bounded read: up to `--max-calls` times.
    Repeat,
    /// A setting, a shutdown, a read until EOF: at most once.
    Once,
    /// close or exit: the side's last call.
    Ends,
}

/// One call of the menu, as the scenario language writes it (`shutdown wr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub label: String,
    pub kind: Kind,
}

/// The bounds of an exploration (the command line's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub items: Vec<Item>,
    /// `--max-calls`: calls of the menu per side.
    pub max_calls: u8,
    /// `--max-writes`: writes per side.
    pub max_writes: u8,
    pub max_bytes: u64,
    pub losses: u8,
    pub dups: u8,
    pub reorders: u8,
}

/// One side: a host's own process and its connection's socket.
#[derive(Clone, Debug)]
pub struct Side {
    pub proc: ProcId,
    pub name: String,
    pub sock: String,
    /// The spec's step of each menu item, made by this side.
    pub steps: Vec<u32>,
    /// The same steps as the scenario language parsed them (for witnesses).
    pub defs: Vec<StepDef>,
}

/// A scenario resolved for one pair, ready to explore.
#[derive(Clone, Debug)]
pub struct Setup {
    pub scenario: Scenario,
    pub pair: [String; 2],
    /// Steps before the mark.
    pub prefix: usize,
    /// The prefix, then each side's menu steps; no limits (the explorer has its own).
    pub spec: Arc<WorldSpec>,
    pub sides: [Side; 2],
}

/// The shorthands of `--calls` (the words) as scenario calls; `S`
/// stands for the side's socket, `N` for `--max-bytes`.
const SHORTHANDS: &[(&str, &str)] = &[
    ("shutdown-wr", "shutdown S wr"),
    ("shutdown-rd", "shutdown S rd"),
    ("shutdown-rdwr", "shutdown S rdwr"),
    ("linger-off", "linger S off"),
    ("read-all", "read S eof"),
    ("write", "write S N"),
    ("nonblocking", "nonblocking S on"),
    ("poll", "poll S POLLIN|POLLRDHUP timeout=0"),
    ("so-error", "getsockopt S SO_ERROR"),
    ("drain", "read S eof timeout=100ms"),
];

/// `--calls` items as step text for socket `sock` of process `proc`: a
/// shorthand, `lingerN`, or any call of the vocabulary without its socket
/// (`linger 5`, `write 100`, `read 1000`).
fn item_text(item: &str, proc: &str, sock: &str, max_bytes: u64) -> String {
    let item = item.trim();
    let call = SHORTHANDS
        .iter()
        .find(|(k, _)| *k == item)
        .map(|(_, v)| v.to_string())
        .or_else(|| {
            let n = item.strip_prefix("linger")?;
            (!n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                .then(|| format!("linger S {n}"))
        })
        .unwrap_or_else(|| {
            let (word, rest) = item.split_once(' ').unwrap_or((item, ""));
            let takes_sock = CALLS
                .iter()
                .find(|c| c.name == word || c.aliases.contains(&word))
                .is_some_and(|c| c.usage.split_whitespace().nth(1) == Some("S"));
            match takes_sock {
                true => format!("{word} S {rest}"),
                false => item.to_string(),
            }
        });
    let words: Vec<String> = call
        .split_whitespace()
        .map(|w| match w {
            "S" => sock.to_string(),
            "N" => max_bytes.to_string(),
            w => w.to_string(),
        })
        .collect();
    format!("0 {proc} {}", words.join(" "))
}

/// Parses the `--calls` items (for the side `proc`/`sock`), each a menu item.
pub fn parse_items(items: &[String], max_bytes: u64) -> Result<Vec<Item>, String> {
    let mut out: Vec<Item> = Vec::new();
    for item in items {
        let def = parse_step(&item_text(item, "p", "s", max_bytes))
            .map_err(|e| format!("--calls: `{item}`: {}", e.message))?;
        let kind = match def.op {
            Op::Write { .. } => Kind::Write,
            Op::Read {
                len: ReadLen::Bytes(_),
                ..
            } => Kind::Repeat,
            Op::Close { .. } | Op::Exit {} => Kind::Ends,
            Op::Fork { .. } | Op::Socket { .. } | Op::Listen { .. } | Op::Connect { .. } => {
                return Err(format!(
                    "--calls: `{item}`: explore chooses calls on each side's connection \
                     (close, shutdown, linger, nonblocking, read, write, exit, …), not {}",
                    def.op.name()
                ))
            }
            _ => Kind::Once,
        };
        let label = item_label(&def);
        if out.iter().any(|i| i.label == label) {
            return Err(format!("--calls: `{item}` is given twice"));
        }
        out.push(Item { label, kind });
    }
    if out.is_empty() {
        return Err("--calls: no calls to explore".into());
    }
    Ok(out)
}

/// A menu call as a label: the call as a step writes it, without its time,
/// process and socket (`shutdown wr`, `linger 0`).
pub fn item_label(def: &StepDef) -> String {
    let line = def.to_string();
    let words: Vec<&str> = line.split_whitespace().skip(2).collect();
    match def.op.sock() {
        Some(_) => [&words[..1], &words[2..]].concat().join(" "),
        None => words.join(" "),
    }
}

/// Whether the scenario's network leaves every fault to the explorer.
fn network_is_plain(spec: &WorldSpec) -> Result<(), String> {
    let links = std::iter::once(&spec.link).chain(spec.links.iter().map(|l| &l.2));
    for l in links {
        let random = !l.loss.is_zero() || !l.duplicate.is_zero() || !l.reorder.is_zero();
        if random || !l.jitter_ns.is_zero() {
            return Err(
                "the scenario's network has random loss, duplication, reordering or jitter; \
                 tcpsim explore chooses the network's faults itself: remove them from [network] \
                 and give --losses, --dups, --reorders"
                    .into(),
            );
        }
    }
    Ok(())
}

/// A process whose last step before the mark is a `sleep` would be free to
/// call before its sleep ends (nothing follows it to wait), which no file
/// can replay: refused.
fn trailing_sleep(prefix: &[StepDef]) -> Result<(), String> {
    let mut last: Vec<(&str, &Op)> = Vec::new();
    for s in prefix {
        match last.iter_mut().find(|(p, _)| *p == s.proc.text) {
            Some(l) => l.1 = &s.op,
            None => last.push((&s.proc.text, &s.op)),
        }
    }
    match last.iter().find(|(_, op)| matches!(op, Op::Sleep { .. })) {
        Some((p, _)) => Err(format!(
            "process `{p}`'s last step before the `explore` mark is a sleep: end it with a \
             call at the time it should start from (e.g. `5ms {p} nonblocking c off`)"
        )),
        None => Ok(()),
    }
}

/// Threads and `after` steps are not explored: the explorer's processes are
/// one per host, and its states do not keep when each step returned.
fn refuse_threads_and_after(path: &Path, spec: &sim::WorldSpec) -> Result<(), String> {
    if let Some(t) = spec.procs.iter().find(|p| p.thread_of.is_some()) {
        return Err(format!(
            "{}: tcpsim explore does not explore threads (process `{}` is a thread): run it with `tcpsim run`, or explore a copy without the thread",
            path.display(),
            t.name
        ));
    }
    if let Some(s) = spec
        .steps
        .iter()
        .find(|s| matches!(s.at, sim::At::Once { .. }))
    {
        return Err(format!(
            "{}: tcpsim explore does not explore steps that start `after` another ({}): give the step a time instead",
            path.display(),
            s.origin.as_deref().unwrap_or("a step")
        ));
    }
    Ok(())
}

/// The socket of process `proc`'s connection: the last one its steps before
/// the mark connect or accept.
fn side_socket(prefix: &[StepDef], proc: &str) -> Option<String> {
    prefix
        .iter()
        .rev()
        .filter(|s| s.proc.text == proc)
        .find_map(|s| match &s.op {
            Op::Connect { sock, .. } => Some(sock.text.clone()),
            Op::Accept { new, .. } => Some(new.text.clone()),
            _ => None,
        })
}

/// Loads `path` for the pair `pair` (None: the file's own) and builds what
/// exploring it needs. Errors are scenario diagnostics, rendered.
pub fn setup(path: &Path, pair: Option<&[String; 2]>, b: &Bounds) -> Result<Setup, String> {
    let render = |d: Vec<crate::diag::Diag>| {
        d.iter()
            .map(|d| d.render(false))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let plain = scenario::load(path, &Overrides::default()).map_err(render)?;
    let hosts: Vec<String> = plain.file.hosts.keys().cloned().collect();
    if hosts.len() < 2 {
        return Err(format!(
            "{}: tcpsim explore needs two hosts (it explores their connection)",
            path.display()
        ));
    }
    refuse_threads_and_after(path, &plain.spec)?;
    let overrides = Overrides {
        personality: pair.map_or_else(Vec::new, |p| {
            (0..2)
                .map(|i| scenario::PersonalityArg {
                    arg: format!("--personalities {},{}", p[0], p[1]),
                    host: hosts[i].clone(),
                    personality: p[i].clone(),
                })
                .collect()
        }),
        ..Overrides::default()
    };
    let s = scenario::load(path, &overrides).map_err(render)?;
    network_is_plain(&s.spec).map_err(|e| format!("{}: {e}", path.display()))?;
    let prefix = s.explore_mark.unwrap_or(s.file.script.steps.len());
    let defs: Vec<StepDef> = s.file.script.steps[..prefix]
        .iter()
        .filter_map(|l| parse_step(l.get_ref()).ok())
        .collect();
    trailing_sleep(&defs).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut file = s.file.clone();
    file.script.steps.truncate(prefix);
    let sides = [0, 1].map(|i| menu_side(&mut file, &defs, &hosts[i], i as ProcId, b));
    let [a, c] = sides;
    let sides = [a?, c?];
    let spec = resolve_menu(path, &file, &overrides)?;
    // As the witnesses' [hosts] will name them: the command line's words
    // (a personality file stays a path), else the file's.
    let pair = pair
        .cloned()
        .unwrap_or_else(|| [0, 1].map(|i| s.file.hosts[i].personality.get_ref().clone()));
    Ok(Setup {
        scenario: s,
        pair,
        prefix,
        spec,
        sides,
    })
}

/// Side `proc` (the host `name`'s own process): its socket, and its menu
/// steps appended to `file`'s script.
fn menu_side(
    file: &mut ScenarioFile,
    prefix: &[StepDef],
    name: &str,
    proc: ProcId,
    b: &Bounds,
) -> Result<Side, String> {
    let sock = side_socket(prefix, name).ok_or_else(|| {
        format!(
            "process `{name}` makes no connect or accept before the mark: \
             tcpsim explore needs each side's connection (`connect S HOST:PORT`, `accept L as S`)"
        )
    })?;
    let mut steps = Vec::new();
    let mut defs = Vec::new();
    for item in &b.items {
        let line = item_text(&item.label, name, &sock, b.max_bytes);
        let def =
            parse_step(&line).map_err(|e| format!("--calls: `{}`: {}", item.label, e.message))?;
        steps.push(file.script.steps.len() as u32);
        file.script.steps.push(Spanned::new(0..0, line));
        defs.push(def);
    }
    Ok(Side {
        proc,
        name: name.to_string(),
        sock,
        steps,
        defs,
    })
}

/// Resolves the script with its menu steps, as `tcpsim run` resolves a file.
fn resolve_menu(path: &Path, file: &ScenarioFile, o: &Overrides) -> Result<Arc<WorldSpec>, String> {
    let shown = path.display().to_string();
    // The prefix lines keep their places in the file's text.
    let source =
        scenario::source::read_file(path, scenario::SCENARIO_FILE).map_err(|d| d.render(false))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut cx = resolve::Ctx::new(&shown, source, base);
    match resolve::resolve(&mut cx, file, o) {
        Some((mut spec, _, _)) if cx.errors.is_empty() => {
            spec.limits = Limits {
                max_events: u64::MAX,
                max_time_ns: model::Duration::MAX,
            };
            Ok(Arc::new(spec))
        }
        _ => Err(cx
            .errors
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ")),
    }
}
