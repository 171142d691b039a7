//! The script: each step's words resolved to the world spec's slots, hosts
//! and processes, every error at its word; then where each socket may be
//! used. A process has the sockets its own earlier steps created and those
//! its parent had when it forked it: a step that uses any other name would
//! fail at run time with EBADF, so it is refused here, showing both places.

use super::names::Names;
use super::Ctx;
use crate::diag::Class;
use crate::file::ScenarioFile;
use crate::limits::SOCKET_NAMES_MAX;
use crate::steps::{parse_step, Op, StepDef, Text, Tok};
use indexmap::IndexSet;
use model::{Call, Naming, Rename};
use sim::raw::SegExpect;
use sim::spec::{At, HostSpec, ProcSpec, Slot, Slots, StepSpec};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// A parsed step (the caller's, or parsed from the line) and the line it came from.
type Parsed<'f> = (Cow<'f, StepDef>, &'f Spanned<String>);

/// The script resolved: its steps, its socket names, and the raw hosts' `expect` steps.
pub type Resolved = (Vec<StepSpec>, Vec<String>, Vec<SegExpect>);

pub fn resolve(
    cx: &mut Ctx,
    f: &ScenarioFile,
    names: &Names,
    procs: &[ProcSpec],
    hosts: &[HostSpec],
) -> Option<Resolved> {
    let parsed = parse_all(cx, f);
    let slots = slot_names(cx, &parsed)?;
    let mut expects = Vec::new();
    let mut out = Vec::with_capacity(parsed.len());
    let mut uses = Vec::with_capacity(parsed.len());
    for (s, line) in &parsed {
        // A step's place in its file, for messages; none for a file that was never text.
        let origin = (!cx.source.is_empty()).then(|| {
            let (l, c) = cx.source.line_col(line.span().start);
            format!("{}:{l}:{c}", cx.path)
        });
        let proc = match names.procs.get_index_of(&s.proc.text) {
            Some(i) => i as u16,
            None => {
                let span = cx.inner_span(line, s.proc.at.clone());
                names.proc_id(cx, &s.proc.text, Some(span));
                continue;
            }
        };
        let host = procs[proc as usize].host as usize;
        let raw = hosts[host].raw.is_some();
        if let Some(mut e) = raw_step(cx, f, (s, line), (raw, host, proc), &origin) {
            e.step = out.len() as u32;
            expects.push(e);
        }
        let errors = cx.errors.len();
        let action = s.op.rename(&mut StepNames {
            cx,
            names,
            slots: &slots,
            procs,
            proc,
            line,
            raw: raw && matches!(s.op, Op::Inject { .. }),
        });
        if cx.errors.len() > errors && matches!(s.op, Op::Fork { .. }) {
            continue;
        }
        check_thread_exit(cx, names, (s, line), procs[proc as usize].thread_of);
        if !raw {
            uses.push(SocketUse::of(&s.op, &action, proc, line));
        }
        out.push(StepSpec {
            proc,
            at: s.at,
            action,
            expect: s.expect,
            blocked: s.blocked,
            origin,
        });
    }
    if cx.errors.is_empty() {
        check_socket_uses(cx, &uses, procs, &slots);
    }
    if cx.errors.is_empty() {
        resolve_after(cx, &parsed, names, &mut out);
    }
    cx.errors
        .is_empty()
        .then(|| (out, slots.into_iter().collect(), expects))
}

/// A thread's `exit` would end its whole process: an error.
fn check_thread_exit(
    cx: &mut Ctx,
    names: &Names,
    (s, line): (&StepDef, &Spanned<String>),
    thread_of: Option<u16>,
) {
    if let (Op::Exit {}, Some(owner)) = (&s.op, thread_of) {
        let span = cx.inner_span(line, s.proc.at.clone());
        let owner = &names.procs[owner as usize];
        cx.error(
            Class::Step,
            Some(span),
            format!("thread `{}` cannot exit", s.proc.text),
            "a thread",
            Some(format!("exit ends the whole process: write `exit` in `{owner}`; a thread that runs out of steps just ends")),
        );
    }
}

/// A raw host's step: only `inject`, `expect` and `sleep` (it has no
/// stack); an `expect` step, at an absolute time, becomes its [`SegExpect`].
fn raw_step(
    cx: &mut Ctx,
    f: &ScenarioFile,
    (s, line): (&StepDef, &Spanned<String>),
    (raw, host, proc): (bool, usize, u16),
    origin: &Option<String>,
) -> Option<SegExpect> {
    let word = s.segment.as_ref().map_or(s.op.name(), |_| "expect");
    let allowed = matches!(s.op, Op::Inject { .. } | Op::Sleep { .. });
    if raw != (allowed || s.segment.is_some()) && (raw || s.segment.is_some()) {
        let (message, hint) = match raw {
            true => (
                format!("a raw host has no TCP stack: `{word}` needs one"),
                "a raw host's steps are `inject`, `expect` and `sleep`",
            ),
            false => (
                format!("`{word}` is a raw host's step"),
                "`expect` checks what a raw host (`personality = \"raw\"`) receives",
            ),
        };
        cx.error(
            Class::Step,
            Some(line.span()),
            message,
            "here",
            Some(hint.into()),
        );
        return None;
    }
    let seg = s.segment.as_ref()?;
    let At::Abs(t) = s.at else {
        let span = cx.inner_span(line, 0..line.get_ref().find(' ').unwrap_or(1));
        cx.error(
            Class::Step,
            Some(span),
            "an `expect` step needs an absolute time",
            "not absolute",
            Some("write its time from the start (`100ms`): it is when the segment is due".into()),
        );
        return None;
    };
    let host = f.hosts.iter().nth(host)?.1;
    let tolerance_ns = match &host.tolerance {
        Some(d) => super::network::duration(cx, d)?.as_ns(),
        None => DEFAULT_TOLERANCE_NS,
    };
    Some(SegExpect {
        step: 0,
        proc,
        window: (t, t),
        tolerance_ns,
        pattern: crate::packet::pattern(&seg.packet, 0),
        origin: origin.clone(),
        text: seg.text.clone(),
    })
}

/// packetdrill's default `--tolerance_usecs` (gtests/net/packetdrill/config.c).
const DEFAULT_TOLERANCE_NS: u64 = 4_000_000;

/// Every line parsed (or the caller's steps), errors at their words; the
/// `explore` mark is no step.
fn parse_all<'p, 'c: 'p>(cx: &mut Ctx<'c>, f: &'p ScenarioFile) -> Vec<Parsed<'p>> {
    let mut parsed: Vec<Parsed> = Vec::with_capacity(f.script.steps.len());
    if let Some(pre) = cx.preparsed.take() {
        assert_eq!(pre.len(), f.script.steps.len(), "one parsed step per line");
        parsed.extend(pre.iter().map(Cow::Borrowed).zip(&f.script.steps));
    }
    let mut marked = false;
    for line in f.script.steps.iter().skip(parsed.len()) {
        if crate::is_explore_mark(line.get_ref()) {
            if marked {
                cx.error(
                    Class::Step,
                    Some(line.span()),
                    "a second `explore` mark",
                    "the script is already marked above",
                    Some("one `explore` line marks where `tcpsim explore` starts".into()),
                );
            }
            marked = true;
            continue;
        }
        match parse_step(line.get_ref()) {
            Ok(s) => parsed.push((Cow::Owned(s), line)),
            Err(e) => {
                let span = cx.inner_span(line, e.at.clone());
                cx.error(e.class, Some(span), e.message, e.label, e.help);
            }
        }
    }
    parsed
}

/// Every name a step creates (socket, listen, connect, accept … as, dup …
/// as), in order of first appearance, at most [`SOCKET_NAMES_MAX`].
fn slot_names(cx: &mut Ctx, parsed: &[Parsed]) -> Option<IndexSet<String>> {
    let mut slots = IndexSet::new();
    for (s, line) in parsed {
        let Some(t) = created(&s.op) else { continue };
        if slots.len() == SOCKET_NAMES_MAX && !slots.contains(&t.text) {
            let span = cx.inner_span(line, t.at.clone());
            cx.error(
                Class::Range,
                Some(span),
                format!("too many socket names: `{}` is one past {SOCKET_NAMES_MAX}", t.text),
                "one too many",
                Some(format!(
                    "a scenario names at most {SOCKET_NAMES_MAX} sockets (docs/limits.md); reuse a name after `close`"
                )),
            );
            return None;
        }
        // A name created again (after a close) is no new slot, and costs no copy.
        if !slots.contains(&t.text) {
            slots.insert(t.text.clone());
        }
    }
    Some(slots)
}

/// The socket a step creates when it has none by that name.
fn created<N, S>(op: &Call<N>) -> Option<&S>
where
    N: Naming<Sock = S, New = S>,
{
    match op {
        Call::Listen { sock, .. } | Call::Connect { sock, .. } => Some(sock),
        op => op.gives(),
    }
}

/// Resolves one step's words to a world spec's slots, hosts and processes;
/// an unknown name is an error located at the word (and stands as 0).
struct StepNames<'a, 'c> {
    cx: &'a mut Ctx<'c>,
    names: &'a Names,
    slots: &'a IndexSet<String>,
    procs: &'a [ProcSpec],
    /// The step's process, for `fork`.
    proc: u16,
    line: &'a Spanned<String>,
    /// A raw host's step: its `inject` names the host it sends to.
    raw: bool,
}

impl Rename<Text, Slots> for StepNames<'_, '_> {
    fn sock(&mut self, t: &Tok) -> u16 {
        if self.raw {
            return self.host(t);
        }
        if let Some(i) = self.slots.get_index_of(&t.text) {
            return i as u16;
        }
        let span = self.cx.inner_span(self.line, t.at.clone());
        self.cx.error(
            Class::Unknown,
            Some(span),
            format!("socket `{}` is never created", t.text),
            "unknown socket name",
            Some("sockets are named by `socket S`, `listen S …`, `connect S …`, `accept L as S` or `dup S as S2`".into()),
        );
        0
    }

    fn new_sock(&mut self, t: &Tok) -> u16 {
        self.sock(t)
    }

    fn host(&mut self, t: &Tok) -> u16 {
        let span = self.cx.inner_span(self.line, t.at.clone());
        self.names.host(self.cx, &t.text, Some(span)).unwrap_or(0)
    }

    fn proc(&mut self, child: &Tok) -> u16 {
        let parent = self.proc;
        let found = self
            .procs
            .iter()
            .position(|p| p.name == child.text && p.forked_from == Some(parent));
        if let Some(c) = found {
            return c as u16;
        }
        let span = self.cx.inner_span(self.line, child.at.clone());
        let parent = &self.names.procs[parent as usize];
        self.cx.error(
            Class::Unknown,
            Some(span),
            format!("`{}` is not declared as forked from `{parent}`", child.text),
            "no such child",
            Some(format!(
                "declare it: [processes.{}] host = \"…\", forked_from = \"{parent}\"",
                child.text
            )),
        );
        0
    }
}

/// What one step does with sockets, for [`check_socket_uses`]. Places are
/// byte ranges of the step's string, made file spans only for an error.
struct SocketUse<'f> {
    proc: u16,
    line: &'f Spanned<String>,
    /// The socket it needs to exist, and where its name is written.
    uses: Option<(Slot, Range<usize>)>,
    /// The socket it creates if missing, and where.
    creates: Option<(Slot, Range<usize>)>,
    /// The child it forks.
    forks: Option<u16>,
}

impl<'f> SocketUse<'f> {
    fn of(op: &Op, action: &sim::Action, proc: u16, line: &'f Spanned<String>) -> SocketUse<'f> {
        let creates = created(op)
            .zip(created(action))
            .map(|(t, &s)| (s, t.at.clone()));
        let uses = match creates {
            Some(_) => None,
            None => op
                .sock()
                .zip(action.sock())
                .map(|(t, &s)| (s, t.at.clone())),
        };
        let forks = match action {
            sim::Action::Fork { child } => Some(*child),
            _ => None,
        };
        SocketUse {
            proc,
            line,
            uses,
            creates,
            forks,
        }
    }
}

/// Where each socket was first created: by process, and by host.
#[derive(Default)]
struct Creations {
    by_proc: BTreeMap<(Slot, u16), usize>,
    by_host: BTreeMap<(Slot, u16), usize>,
    any: BTreeMap<Slot, usize>,
}

impl Creations {
    /// Only for an error's message: a valid script never needs them.
    fn of(uses: &[SocketUse], procs: &[ProcSpec]) -> Creations {
        let mut made = Creations::default();
        for (i, u) in uses.iter().enumerate() {
            if let Some((slot, _)) = &u.creates {
                let host = procs[u.proc as usize].host;
                made.by_proc.entry((*slot, u.proc)).or_insert(i);
                made.by_host.entry((*slot, host)).or_insert(i);
                made.any.entry(*slot).or_insert(i);
            }
        }
        made
    }
}

/// Refuses every use of a socket its process does not have at that step.
fn check_socket_uses(
    cx: &mut Ctx,
    uses: &[SocketUse],
    procs: &[ProcSpec],
    slots: &IndexSet<String>,
) {
    let mut steps_of: Vec<Vec<usize>> = vec![Vec::new(); procs.len()];
    for (i, u) in uses.iter().enumerate() {
        steps_of[u.proc as usize].push(i);
    }
    // Processes that run: each host's own, then children as their parents fork them.
    // Threads of one process share its sockets: each may use what another
    // creates, in whatever order they run.
    let group = |p: u16| procs[p as usize].thread_of.unwrap_or(p);
    let mut work: Vec<(u16, Vec<bool>)> = (0..procs.len() as u16)
        .filter(|&p| procs[p as usize].forked_from.is_none())
        .map(|p| {
            let mut has = vec![false; slots.len()];
            for u in uses
                .iter()
                .filter(|u| u.proc != p && group(u.proc) == group(p))
            {
                if let Some((slot, _)) = &u.creates {
                    has[*slot as usize] = true;
                }
            }
            (p, has)
        })
        .collect();
    let mut forked = vec![false; procs.len()];
    while let Some((p, mut has)) = work.pop() {
        for &i in &steps_of[p as usize] {
            let u = &uses[i];
            if let Some((slot, _)) = &u.uses {
                if !has[*slot as usize] {
                    missing_socket(cx, (p, i), uses, procs, slots);
                    has[*slot as usize] = true; // once per process is enough
                }
            }
            if let Some((slot, _)) = &u.creates {
                has[*slot as usize] = true;
            }
            if let Some(child) = u.forks {
                if !std::mem::replace(&mut forked[child as usize], true) {
                    work.push((child, has.clone()));
                }
            }
        }
    }
}

/// The error for step `i`'s use of a socket that its process `p` does not have.
fn missing_socket(
    cx: &mut Ctx,
    (p, i): (u16, usize),
    uses: &[SocketUse],
    procs: &[ProcSpec],
    slots: &IndexSet<String>,
) {
    let made = Creations::of(uses, procs);
    let at = |j: usize, created: bool| {
        let u = &uses[j];
        let (_, r) = if created { &u.creates } else { &u.uses }
            .clone()
            .expect("a socket");
        cx.inner_span(u.line, r)
    };
    let slot = uses[i].uses.as_ref().expect("a use").0;
    let name = &slots[slot as usize];
    let proc = &procs[p as usize];
    let host_name = &procs[proc.host as usize].name;
    let (message, label, first, there, help) = if let Some(&j) = made.by_proc.get(&(slot, p)) {
        (
            format!("socket `{name}` is used before the step that creates it"),
            "used here".to_string(),
            j,
            "created here, later".to_string(),
            "steps of one process run in the order they are written: create it first".to_string(),
        )
    } else if let Some(&j) = made.by_host.get(&(slot, proc.host)) {
        let q = &procs[uses[j].proc as usize].name;
        (
            format!("socket `{name}` is not a socket of process `{}`", proc.name),
            format!("used by process `{}`", proc.name),
            j,
            format!("created by process `{q}`"),
            format!(
                "a process has the sockets it creates and those its parent had when it forked it; fork `{}` from `{q}` after this, or use it from `{q}`",
                proc.name
            ),
        )
    } else {
        let j = made.any[&slot];
        let other = &procs[procs[uses[j].proc as usize].host as usize].name;
        (
            format!("socket `{name}` belongs to host `{other}`, not `{host_name}`"),
            format!("used on host `{host_name}`"),
            j,
            format!("created here, on host `{other}`"),
            format!("each host has sockets of its own: give `{host_name}` its own socket (e.g. `connect c {other}:PORT`), or run this step on `{other}`"),
        )
    };
    let (use_span, first_span) = (at(i, false), at(first, true));
    let d = cx
        .at(Class::Socket, Some(use_span), message)
        .label(label)
        .help(help)
        .also(first_span, there);
    cx.push(d);
}

/// Resolves every `after REF` to the step it names (a label, `PROC#N` or a
/// step number) and refuses steps that wait for each other.
fn resolve_after(cx: &mut Ctx, parsed: &[Parsed], names: &Names, out: &mut [StepSpec]) {
    let labels = labels(cx, parsed);
    for (i, (s, line)) in parsed.iter().enumerate() {
        let Some(a) = &s.after else { continue };
        let target = after_target(&a.target.text, &labels, names, out);
        match target {
            Ok(t) => {
                out[i].at = sim::At::Once {
                    step: t as u32,
                    plus: a.plus,
                }
            }
            Err(help) => {
                let span = cx.inner_span(line, a.target.at.clone());
                cx.error(
                    Class::Unknown,
                    Some(span),
                    format!("`after {}` names no step", a.target.text),
                    "no such step",
                    Some(help),
                );
            }
        }
    }
    if cx.errors.is_empty() {
        if let Some(cycle) = waits_cycle(out) {
            let first = cycle[0];
            let (s, line) = &parsed[first];
            let at = s
                .after
                .as_ref()
                .map_or(s.proc.at.clone(), |a| a.word.at.clone());
            let span = cx.inner_span(line, at);
            let chain: Vec<String> = cycle
                .iter()
                .chain([&first])
                .map(|k| format!("step {}", k + 1))
                .collect();
            cx.error(
                Class::Step,
                Some(span),
                format!(
                    "steps wait for each other: {} waits for {}",
                    chain[0],
                    chain[1..].join(", which waits for ")
                ),
                "this wait can never end",
                Some("a step waits for the previous step of its process and for the step its `after` names: one of these must come first".into()),
            );
        }
    }
}

/// Every step's `label=`, refusing one used twice.
fn labels<'p>(cx: &mut Ctx, parsed: &'p [Parsed]) -> BTreeMap<&'p str, usize> {
    let mut labels: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (s, line)) in parsed.iter().enumerate() {
        let Some(l) = &s.label else { continue };
        if let Some(&first) = labels.get(l.text.as_str()) {
            let span = cx.inner_span(line, l.at.clone());
            let first_span = cx.inner_span(
                parsed[first].1,
                parsed[first].0.label.as_ref().expect("labelled").at.clone(),
            );
            let d = cx
                .at(
                    Class::Name,
                    Some(span),
                    format!("label `{}` is used twice", l.text),
                )
                .label("a second time")
                .help("each label names one step: call this one otherwise")
                .also(first_span, "first here");
            cx.push(d);
            continue;
        }
        labels.insert(&l.text, i);
    }
    labels
}

/// The index of the step `after REF` names, or a hint saying what exists.
fn after_target(
    r: &str,
    labels: &BTreeMap<&str, usize>,
    names: &Names,
    out: &[StepSpec],
) -> Result<usize, String> {
    if !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()) {
        let n: usize = r.parse().unwrap_or(0);
        return match (1..=out.len()).contains(&n) {
            true => Ok(n - 1),
            false => Err(format!("the script has steps 1 to {}", out.len())),
        };
    }
    if let Some((proc, n)) = r.split_once('#') {
        let Some(p) = names.procs.get_index_of(proc) else {
            return Err(format!(
                "no process `{proc}`; processes: {}",
                names.proc_list()
            ));
        };
        let mine: Vec<usize> = (0..out.len())
            .filter(|&k| out[k].proc as usize == p)
            .collect();
        let k: usize = n.parse().unwrap_or(0);
        return match k >= 1 && k <= mine.len() {
            true => Ok(mine[k - 1]),
            false => Err(format!("process `{proc}` has steps #1 to #{}", mine.len())),
        };
    }
    labels.get(r).copied().ok_or_else(|| {
        let known: Vec<&str> = labels.keys().copied().collect();
        match known.is_empty() {
            true => format!("no step has `label={r}`; {}", crate::steps::AFTER_HELP),
            false => format!("labels: {}", known.join(", ")),
        }
    })
}

/// A cycle of steps each waiting for the next (for the previous step of its
/// process, the step its `after` names, or a child's first step for the
/// fork), if there is one.
fn waits_cycle(steps: &[StepSpec]) -> Option<Vec<usize>> {
    // A step waits for the previous step of its process, its `after` and
    // the fork of its process: three inline, no allocation per step.
    let mut waits: Vec<SmallVec<[usize; 3]>> = vec![SmallVec::new(); steps.len()];
    let procs = steps.iter().map(|s| s.proc as usize + 1).max().unwrap_or(0);
    let mut prev: Vec<Option<usize>> = vec![None; procs];
    for (i, s) in steps.iter().enumerate() {
        if let Some(p) = prev[s.proc as usize].replace(i) {
            waits[i].push(p);
        }
        if let sim::At::Once { step, .. } = s.at {
            waits[i].push(step as usize);
        }
    }
    // A forked child's first step waits for its parent's fork.
    for (i, s) in steps.iter().enumerate() {
        if let sim::Action::Fork { child } = s.action {
            if let Some(first) = steps.iter().position(|c| c.proc == child) {
                waits[first].push(i);
            }
        }
    }
    // Iterative depth-first search; 1 = on the path, 2 = done.
    let mut mark = vec![0u8; steps.len()];
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..steps.len() {
        path.clear();
        path.push((root, 0));
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if *next == 0 && mark[node] == 2 {
                path.pop();
                continue;
            }
            mark[node] = 1;
            match waits[node].get(*next).copied() {
                Some(w) => {
                    *next += 1;
                    match mark[w] {
                        1 => {
                            let from = path.iter().position(|&(n, _)| n == w).expect("on the path");
                            return Some(path[from..].iter().map(|&(n, _)| n).collect());
                        }
                        0 => path.push((w, 0)),
                        _ => {}
                    }
                }
                None => {
                    mark[node] = 2;
                    path.pop();
                }
            }
        }
    }
    None
}
