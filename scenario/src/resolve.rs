//! From a scenario file as written to a world spec and expectations: names
//! looked up, durations typed, everything validated once. Every error points
//! at the text that caused it.

use super::file::{DropDef, FaultDef, HostDef, LinkDef, Meta, PartitionDef, ProcDef, ScenarioFile};
use super::steps::{parse_step, Op, StepDef, Text, Tok};
use super::{Expectations, PairExpect};
use crate::diag::Diag;
use crate::personality_file::{self, value_text};
use crate::units::parse_duration;
use indexmap::IndexMap;
use model::Rename;
use model::{Duration, Flags, Instant, Personality, RstCause, State};
use sim::spec::{HostSpec, Limits, ProcSpec, Slots, StepSpec, WorldSpec};
use sim::{DropRule, FaultRule, Filter, Link, Outcome, Partition, Ratio};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// Collects diagnostics for one file.
pub struct Ctx<'a> {
    pub path: &'a str,
    pub source: Arc<str>,
    pub base: &'a Path,
    pub errors: Vec<Diag>,
    /// The script's steps already parsed, one per line, when the caller made
    /// the lines from them (the fuzzer): resolved without parsing the text again.
    pub preparsed: Option<Vec<StepDef>>,
}

impl Ctx<'_> {
    pub fn error(
        &mut self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        self.errors.push(Diag {
            path: self.path.to_string(),
            source: self.source.clone(),
            span,
            message: message.into(),
            label: label.into(),
            help,
        });
    }

    /// The span of a key as written (keys carry no span in serde).
    fn key_span(&self, key: &str) -> Option<Range<usize>> {
        for quoted in [format!("\"{key}\""), key.to_string()] {
            if let Some(i) = self.source.find(&quoted) {
                return Some(i..i + quoted.len());
            }
        }
        None
    }

    /// Maps a range inside a step string to the file, if the string has no escapes.
    fn inner_span(&self, s: &Spanned<String>, r: Range<usize>) -> Range<usize> {
        let span = s.span();
        let raw = &self.source[span.clone()];
        if raw.len() == s.get_ref().len() + 2 {
            span.start + 1 + r.start..span.start + 1 + r.end
        } else {
            span
        }
    }
}

/// Names of hosts, processes and sockets, in declaration order.
struct Names {
    hosts: Vec<String>,
    procs: Vec<String>,
    slots: Vec<String>,
}

fn host_id(cx: &mut Ctx, names: &Names, name: &str, span: Option<Range<usize>>) -> Option<u16> {
    match names.hosts.iter().position(|h| h == name) {
        Some(i) => Some(i as u16),
        None => {
            let hint = model::personality::closest(name, names.hosts.iter().map(|s| s.as_str()));
            let help = match hint {
                Some(g) => format!("did you mean `{g}`? hosts: {}", names.hosts.join(", ")),
                None => format!("hosts: {}", names.hosts.join(", ")),
            };
            cx.error(
                span,
                format!("unknown host `{name}`"),
                "not a host of this scenario",
                Some(help),
            );
            None
        }
    }
}

/// `"a->b"` as two host ids.
fn direction(
    cx: &mut Ctx,
    names: &Names,
    key: &str,
    span: Option<Range<usize>>,
) -> Option<(u16, u16)> {
    let Some((a, b)) = key.split_once("->") else {
        cx.error(
            span,
            format!("bad direction `{key}`"),
            "expected `HOST->HOST`",
            Some("e.g. \"client->server\"".into()),
        );
        return None;
    };
    let a = host_id(cx, names, a.trim(), span.clone());
    let b = host_id(cx, names, b.trim(), span);
    Some((a?, b?))
}

fn duration(cx: &mut Ctx, s: &Spanned<String>) -> Option<Duration> {
    match parse_duration(s.get_ref()) {
        Ok(v) => Some(v),
        Err(e) => {
            cx.error(
                Some(s.span()),
                format!("bad duration `{}`: {e}", s.get_ref()),
                "expected a duration",
                Some("durations are `50us`, `10ms`, `1.5s`, `2min`".into()),
            );
            None
        }
    }
}

fn ratio(cx: &mut Ctx, s: &Spanned<String>) -> Option<Ratio> {
    let r = Ratio::parse(s.get_ref());
    if r.is_none() {
        cx.error(
            Some(s.span()),
            format!("bad probability `{}`", s.get_ref()),
            "expected a percentage or a ratio",
            Some("write `1%`, `0.5%` or `1/200`".into()),
        );
    }
    r
}

fn link(cx: &mut Ctx, base: Link, d: &LinkDef) -> Link {
    let mut l = base;
    let spanned = |cx: &Ctx, v: &String| {
        let span = cx.key_span(v).unwrap_or(0..0);
        Spanned::new(span, v.clone())
    };
    if let Some(v) = &d.delay {
        l.delay_ns = duration(cx, &spanned(cx, v)).unwrap_or(l.delay_ns);
    }
    if let Some(v) = &d.jitter {
        l.jitter_ns = duration(cx, &spanned(cx, v)).unwrap_or(l.jitter_ns);
    }
    if let Some(v) = &d.loss {
        l.loss = ratio(cx, &spanned(cx, v)).unwrap_or(l.loss);
    }
    if let Some(v) = &d.duplicate {
        l.duplicate = ratio(cx, &spanned(cx, v)).unwrap_or(l.duplicate);
    }
    if let Some(v) = &d.reorder {
        l.reorder = ratio(cx, &spanned(cx, v)).unwrap_or(l.reorder);
        if l.reorder_delay_ns.is_zero() {
            l.reorder_delay_ns = Duration::from_ms(1); // held back 1 ms unless said otherwise
        }
    }
    if let Some(v) = &d.reorder_delay {
        l.reorder_delay_ns = duration(cx, &spanned(cx, v)).unwrap_or(l.reorder_delay_ns);
    }
    l
}

fn personality(cx: &mut Ctx, name: &Spanned<String>) -> Option<Personality> {
    match personality_file::lookup(name.get_ref(), cx.base) {
        Ok(p) => Some(p),
        Err(personality_file::ResolveError::Unknown { message, help }) => {
            cx.error(
                Some(name.span()),
                message,
                "unknown personality",
                Some(help),
            );
            None
        }
        Err(personality_file::ResolveError::File(d)) => {
            cx.error(
                Some(name.span()),
                format!("personality file `{}` cannot be used", name.get_ref()),
                "this personality",
                Some(format!("see the error in {} below", d.path)),
            );
            cx.errors.push(*d);
            None
        }
    }
}

/// Resolves a parsed file into a world spec and its expectations.
pub fn resolve(
    cx: &mut Ctx,
    f: &ScenarioFile,
    overrides: &super::Overrides,
) -> Option<(WorldSpec, Expectations, Vec<PairExpect>)> {
    let names = Names {
        hosts: f.hosts.keys().cloned().collect(),
        procs: f.hosts.keys().chain(f.processes.keys()).cloned().collect(),
        slots: Vec::new(),
    };
    if names.hosts.is_empty() {
        cx.error(
            cx.key_span("hosts"),
            "no hosts",
            "a scenario needs at least one host",
            Some("add `[hosts.client]` with `personality = \"linux\"`".into()),
        );
        return None;
    }
    let hosts: Vec<HostSpec> = f
        .hosts
        .iter()
        .filter_map(|(name, h)| resolve_host(cx, name, h, overrides))
        .collect();
    check_set_hosts(cx, &names, overrides);
    let base_link = link(cx, Link::default(), &f.network.link);
    let links = resolve_links(cx, &names, base_link, &f.network.links);
    let drops = resolve_drops(cx, &names, &f.network.drop);
    let faults = resolve_faults(cx, &names, &f.network.fault);
    let partitions = resolve_partitions(cx, &names, &f.network.partition);
    let procs = resolve_procs(cx, &names, &f.processes);
    let steps = resolve_steps(cx, f, names, &procs);
    let limits = resolve_limits(cx, &f.scenario);
    let names_hosts: Vec<String> = hosts.iter().map(|h: &HostSpec| h.name.clone()).collect();
    let (expect, pairs) = resolve_expect(cx, f, &names_hosts);
    let (steps, slot_names) = steps?;
    if !cx.errors.is_empty() {
        return None;
    }
    let spec = WorldSpec {
        seed: overrides.seed.or(f.scenario.seed).unwrap_or(1),
        hosts,
        link: base_link,
        links,
        drops,
        faults,
        partitions,
        procs,
        slot_names,
        steps,
        limits,
    };
    Some((spec, expect, pairs))
}

/// One host: its personality (the command line's choice over the file's),
/// the file's knobs, then the command line's `--set` knobs for it.
fn resolve_host(
    cx: &mut Ctx,
    name: &str,
    h: &HostDef,
    overrides: &super::Overrides,
) -> Option<HostSpec> {
    let chosen = overrides
        .personality
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p);
    let mut p = match chosen {
        Some(p) => match personality_file::resolve(p, Path::new(".")) {
            Ok(p) => Some(p),
            Err(e) => {
                cx.error(None, e, "", None);
                None
            }
        },
        None => personality(cx, &h.personality),
    }?;
    for (knob, value) in &h.set {
        if let Err(e) = p.set(knob, &value_text(value.get_ref()), cx.path) {
            let help = personality_file::knob_help(&e);
            let span = cx.key_span(knob).or(Some(value.span()));
            cx.error(span, e.to_string(), "this knob", help);
        }
    }
    for (host, knob, value) in overrides.set.iter().filter(|(host, _, _)| host == name) {
        if let Err(e) = p.set(knob, value, "--set") {
            cx.error(None, format!("--set {host}.{knob}={value}: {e}"), "", None);
        }
    }
    Some(HostSpec {
        name: name.to_string(),
        personality: Arc::new(p),
        mtu: h.mtu.unwrap_or(1500),
        isn: h.isn,
    })
}

/// Every `--set` must name a host of the file.
fn check_set_hosts(cx: &mut Ctx, names: &Names, overrides: &super::Overrides) {
    for (host, _, _) in &overrides.set {
        if !names.hosts.contains(host) {
            cx.error(
                None,
                format!("--set names unknown host `{host}`"),
                "",
                Some(format!("hosts: {}", names.hosts.join(", "))),
            );
        }
    }
}

/// The per-direction links, each over the file's base link.
fn resolve_links(
    cx: &mut Ctx,
    names: &Names,
    base_link: Link,
    defs: &IndexMap<String, LinkDef>,
) -> Vec<(u16, u16, Link)> {
    let mut links = Vec::new();
    for (key, d) in defs {
        let span = cx.key_span(key);
        if let Some((a, b)) = direction(cx, names, key, span) {
            links.push((a, b, link(cx, base_link, d)));
        }
    }
    links
}

fn resolve_drops(cx: &mut Ctx, names: &Names, defs: &[DropDef]) -> Vec<DropRule> {
    defs.iter()
        .filter_map(|d| {
            let filter = scripted_filter(cx, names, &d.from, &d.flags, (d.nth, d.count))?;
            Some(DropRule {
                filter,
                nth: d.nth,
                count: d.count,
            })
        })
        .collect()
}

fn resolve_faults(cx: &mut Ctx, names: &Names, defs: &[FaultDef]) -> Vec<FaultRule> {
    let mut faults = Vec::new();
    for d in defs {
        let filter = scripted_filter(cx, names, &d.from, &d.flags, (d.nth, d.count));
        let delay_ns = d.delay.as_ref().and_then(|v| duration(cx, v));
        if !d.duplicate && d.delay.is_none() {
            cx.error(
                cx.key_span("fault"),
                "a `[[network.fault]]` does nothing",
                "here",
                Some("give it `duplicate = true`, `delay = \"1ms\"` or both".into()),
            );
            continue;
        }
        let Some(filter) = filter else { continue };
        faults.push(FaultRule {
            filter,
            nth: d.nth,
            count: d.count,
            duplicate: d.duplicate,
            delay_ns: delay_ns.unwrap_or_default(),
        });
    }
    faults
}

/// The segments a scripted drop or fault matches (`from`, `flags`), with its
/// `nth` and `count` checked; none after an error.
fn scripted_filter(
    cx: &mut Ctx,
    names: &Names,
    from: &Option<Spanned<String>>,
    flags: &Option<Spanned<String>>,
    (nth, count): (u32, u32),
) -> Option<Filter> {
    let from = from
        .as_ref()
        .and_then(|h| host_id(cx, names, h.get_ref(), Some(h.span())));
    let (flags, data) = match flags {
        Some(fl) => drop_filter_flags(cx, fl),
        None => (0, None),
    };
    if nth == 0 || count == 0 {
        cx.error(
            cx.key_span("nth"),
            "`nth` and `count` start at 1",
            "here",
            None,
        );
        return None;
    }
    Some(Filter { from, flags, data })
}

/// A drop rule's `flags`, or an error and no flags.
fn drop_filter_flags(cx: &mut Ctx, fl: &Spanned<String>) -> (u8, Option<bool>) {
    match drop_flags(fl.get_ref()) {
        Some(v) => v,
        None => {
            cx.error(Some(fl.span()), format!("bad flags `{}`", fl.get_ref()), "expected flag letters or `data`", Some("letters S F R P . (ACK), e.g. \"F\" or \"R\"; or \"data\" for segments with payload".into()));
            (0, None)
        }
    }
}

fn resolve_partitions(cx: &mut Ctx, names: &Names, defs: &[PartitionDef]) -> Vec<Partition> {
    let mut partitions = Vec::new();
    for p in defs {
        let from_ns = Instant::ZERO + duration(cx, &p.from).unwrap_or_default();
        let until_ns = Instant::ZERO + duration(cx, &p.until).unwrap_or_default();
        let one_way_from = p
            .direction
            .as_ref()
            .and_then(|d| direction(cx, names, d.get_ref(), Some(d.span())))
            .map(|(a, _)| a);
        if until_ns <= from_ns {
            cx.error(
                Some(p.until.span()),
                "a partition must end after it starts",
                "not after `from`",
                None,
            );
        }
        partitions.push(Partition {
            from_ns,
            until_ns,
            one_way_from,
        });
    }
    partitions
}

/// The processes: each host's own first, in host order, then the file's.
fn resolve_procs(cx: &mut Ctx, names: &Names, defs: &IndexMap<String, ProcDef>) -> Vec<ProcSpec> {
    let mut procs: Vec<ProcSpec> = names
        .hosts
        .iter()
        .enumerate()
        .map(|(i, n)| ProcSpec {
            name: n.clone(),
            host: i as u16,
            forked_from: None,
        })
        .collect();
    for (name, p) in defs {
        if names.hosts.contains(name) {
            cx.error(
                cx.key_span(name),
                format!("process `{name}` has a host's name"),
                "already the host's own process",
                None,
            );
        }
        let host = host_id(cx, names, p.host.get_ref(), Some(p.host.span())).unwrap_or(0);
        let forked_from = p
            .forked_from
            .as_ref()
            .and_then(|parent| proc_id(cx, names, parent));
        procs.push(ProcSpec {
            name: name.clone(),
            host,
            forked_from,
        });
    }
    procs
}

/// The index of a named process, or an error listing the processes.
fn proc_id(cx: &mut Ctx, names: &Names, parent: &Spanned<String>) -> Option<u16> {
    match names.procs.iter().position(|n| n == parent.get_ref()) {
        Some(i) => Some(i as u16),
        None => {
            cx.error(
                Some(parent.span()),
                format!("unknown process `{}`", parent.get_ref()),
                "not a process",
                Some(format!("processes: {}", names.procs.join(", "))),
            );
            None
        }
    }
}

/// The run's limits: the file's, or the defaults.
fn resolve_limits(cx: &mut Ctx, meta: &Meta) -> Limits {
    Limits {
        max_events: meta.max_events.unwrap_or(Limits::default().max_events),
        max_time_ns: meta
            .duration
            .as_ref()
            .and_then(|d| duration(cx, d))
            .unwrap_or(Limits::default().max_time_ns),
    }
}

fn drop_flags(s: &str) -> Option<(u8, Option<bool>)> {
    if s == "data" {
        return Some((0, Some(true)));
    }
    let mut bits = 0;
    for c in s.chars() {
        bits |= match c {
            'S' => Flags::SYN.0,
            'F' => Flags::FIN.0,
            'R' => Flags::RST.0,
            'P' => Flags::PSH.0,
            '.' => Flags::ACK.0,
            _ => return None,
        };
    }
    Some((bits, None))
}

/// Resolves one step's words to a world spec's slots, hosts and processes;
/// an unknown name is an error located at the word (and stands as 0).
struct StepNames<'a, 'c> {
    cx: &'a mut Ctx<'c>,
    names: &'a Names,
    procs: &'a [ProcSpec],
    /// The step's process, for `fork`.
    proc: u16,
    line: &'a Spanned<String>,
}

impl Rename<Text, Slots> for StepNames<'_, '_> {
    fn sock(&mut self, t: &Tok) -> u16 {
        if let Some(i) = self.names.slots.iter().position(|n| *n == t.text) {
            return i as u16;
        }
        let span = self.cx.inner_span(self.line, t.at.clone());
        self.cx.error(
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
        host_id(self.cx, self.names, &t.text, Some(span)).unwrap_or(0)
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

/// The process a step names, or an error at its word.
fn step_proc(cx: &mut Ctx, names: &Names, s: &StepDef, line: &Spanned<String>) -> Option<u16> {
    if let Some(i) = names.procs.iter().position(|p| *p == s.proc.text) {
        return Some(i as u16);
    }
    let span = cx.inner_span(line, s.proc.at.clone());
    let hint = model::personality::closest(&s.proc.text, names.procs.iter().map(|p| p.as_str()));
    let help = match hint {
        Some(g) => format!("did you mean `{g}`? processes: {}", names.procs.join(", ")),
        None => format!(
            "processes: {} (each host has a process of its own name; declare more under [processes])",
            names.procs.join(", ")
        ),
    };
    cx.error(
        Some(span),
        format!("unknown process `{}`", s.proc.text),
        "not a process",
        Some(help),
    );
    None
}

fn resolve_steps(
    cx: &mut Ctx,
    f: &ScenarioFile,
    mut names: Names,
    procs: &[ProcSpec],
) -> Option<(Vec<StepSpec>, Vec<String>)> {
    let mut parsed: Vec<(StepDef, &Spanned<String>)> = Vec::new();
    if let Some(pre) = cx.preparsed.take() {
        assert_eq!(pre.len(), f.script.steps.len(), "one parsed step per line");
        parsed.extend(pre.into_iter().zip(&f.script.steps));
    }
    let mut marks = 0;
    for line in f.script.steps.iter().skip(parsed.len()) {
        if super::is_explore_mark(line.get_ref()) {
            marks += 1;
            if marks > 1 {
                cx.error(
                    Some(line.span()),
                    "a second `explore` mark",
                    "the script is already marked above",
                    Some("one `explore` line marks where `tcpsim explore` starts".into()),
                );
            }
            continue;
        }
        match parse_step(line.get_ref()) {
            Ok(s) => parsed.push((s, line)),
            Err(e) => {
                let span = cx.inner_span(line, e.at.clone());
                cx.error(Some(span), e.message, e.label, e.help);
            }
        }
    }
    // Socket names: every name a step creates (socket, listen, connect, accept … as, dup … as).
    for (s, _) in &parsed {
        let created = match &s.op {
            Op::Listen { sock, .. } | Op::Connect { sock, .. } => Some(sock),
            op => op.gives(),
        };
        if let Some(t) = created {
            if !names.slots.contains(&t.text) {
                names.slots.push(t.text.clone());
            }
        }
    }
    let mut out = Vec::new();
    for (s, line) in &parsed {
        // A step's place in its file, for messages; none for a file that was never text.
        let origin = (!cx.source.is_empty()).then(|| {
            let (l, c) = crate::diag::line_col(&cx.source, line.span().start);
            format!("{}:{l}:{c}", cx.path)
        });
        let Some(proc) = step_proc(cx, &names, s, line) else {
            continue;
        };
        let errors = cx.errors.len();
        let action = s.op.rename(&mut StepNames {
            cx,
            names: &names,
            procs,
            proc,
            line,
        });
        if cx.errors.len() > errors && matches!(s.op, Op::Fork { .. }) {
            continue;
        }
        out.push(StepSpec {
            proc,
            at: s.at,
            action,
            expect: s.expect,
            origin,
        });
    }
    cx.errors.is_empty().then_some((out, names.slots))
}

fn resolve_expect(
    cx: &mut Ctx,
    f: &ScenarioFile,
    hosts: &[String],
) -> (Expectations, Vec<PairExpect>) {
    let Some(d) = &f.expect else {
        return (Expectations::default(), Vec::new());
    };
    let base = resolve_expect_def(cx, d, hosts);
    let mut pairs = Vec::new();
    for (key, def) in &d.pairs {
        let span = cx.key_span(key);
        let Some((a, b)) = key.split_once('/') else {
            cx.error(
                span,
                format!("bad personality pair `{key}`"),
                "expected `FIRST/SECOND`",
                Some("e.g. \"winsock-xp/linux\" or \"*/freebsd\"".into()),
            );
            continue;
        };
        for p in [a, b] {
            if p != "*" && Personality::builtin(p).is_none() && !p.ends_with(".toml") {
                cx.error(
                    span.clone(),
                    format!("unknown personality `{p}` in `{key}`"),
                    "not a personality",
                    Some(format!("known: {}", Personality::BUILTIN.join(", "))),
                );
            }
        }
        if !def.pairs.is_empty() {
            cx.error(span.clone(), "pairs cannot nest", "here", None);
        }
        pairs.push(PairExpect {
            first: a.to_string(),
            second: b.to_string(),
            expect: resolve_expect_def(cx, def, hosts),
        });
    }
    (base, pairs)
}

fn resolve_expect_def(cx: &mut Ctx, d: &super::file::ExpectDef, hosts: &[String]) -> Expectations {
    let mut e = Expectations::default();
    let names = Names {
        hosts: hosts.to_vec(),
        procs: Vec::new(),
        slots: Vec::new(),
    };
    if let Some(o) = &d.outcome {
        e.outcome = expect_outcome(cx, o);
    }
    if let Some(list) = &d.rst {
        e.rst = Some(
            list.iter()
                .filter_map(|r| expect_rst(cx, &names, r))
                .collect(),
        );
    }
    for (k, bytes) in &d.lost {
        let span = cx.key_span(k);
        if let Some(dir) = direction(cx, &names, k, span) {
            e.lost.push((dir, *bytes));
        }
    }
    e.silent_loss = d.silent_loss;
    for (h, st) in &d.final_state {
        let span = cx.key_span(h);
        let host = host_id(cx, &names, h, span);
        let state = state(cx, st);
        if let (Some(h), Some(s)) = (host, state) {
            e.final_state.push((h, s));
        }
    }
    for (h, list) in &d.reached {
        let span = cx.key_span(h);
        let host = host_id(cx, &names, h, span);
        let states: Vec<State> = list.iter().filter_map(|s| state(cx, s)).collect();
        if let Some(h) = host {
            e.reached.push((h, states));
        }
    }
    e
}

/// A name looked up in a closed list: the value, or an error at `span`
/// saying "unknown KIND `TEXT`" and listing the `plural` names.
fn known<T>(
    cx: &mut Ctx,
    found: Option<T>,
    span: Range<usize>,
    (kind, text): (&str, &str),
    label: &str,
    (plural, all): (&str, &[&str]),
) -> Option<T> {
    if found.is_none() {
        cx.error(
            Some(span),
            format!("unknown {kind} `{text}`"),
            label,
            Some(format!("{plural}: {}", all.join(", "))),
        );
    }
    found
}

/// An expected outcome class, or an error listing the classes.
fn expect_outcome(cx: &mut Ctx, o: &Spanned<String>) -> Option<Outcome> {
    let all: Vec<&str> = Outcome::ALL.iter().map(|o| o.key()).collect();
    let text = o.get_ref();
    let found = Outcome::parse(text);
    known(
        cx,
        found,
        o.span(),
        ("outcome", text),
        "not an outcome class",
        ("outcomes", &all),
    )
}

/// One expected RST, `HOST: CAUSE`, or errors for what is wrong with it.
fn expect_rst(cx: &mut Ctx, names: &Names, r: &Spanned<String>) -> Option<(u16, RstCause)> {
    let Some((h, c)) = r.get_ref().split_once(':') else {
        cx.error(
            Some(r.span()),
            format!("bad RST expectation `{}`", r.get_ref()),
            "expected `HOST: CAUSE`",
            Some("e.g. \"server: close-with-unread\"".into()),
        );
        return None;
    };
    let host = host_id(cx, names, h.trim(), Some(r.span()));
    let all: Vec<&str> = RstCause::ALL.iter().map(|c| c.key()).collect();
    let found = RstCause::parse(c.trim());
    let cause = known(
        cx,
        found,
        r.span(),
        ("RST cause", c.trim()),
        "not a cause",
        ("causes", &all),
    );
    Some((host?, cause?))
}

fn state(cx: &mut Ctx, s: &Spanned<String>) -> Option<State> {
    let all: Vec<&str> = State::ALL.iter().map(|s| s.name()).collect();
    let text = s.get_ref();
    let found = State::parse(text);
    known(
        cx,
        found,
        s.span(),
        ("state", text),
        "not an RFC 9293 state",
        ("states", &all),
    )
}
