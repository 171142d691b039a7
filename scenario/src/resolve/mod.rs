//! From a scenario file as written to a world spec and expectations: names
//! looked up, units typed, everything validated once. Every error is located
//! by a span the TOML parser gave (a value's, a key's, or a word's inside a
//! step string): nothing here searches the file's text.
//!
//! | module | what it resolves |
//! |---|---|
//! | `names` | host and process names: valid words, within their limits, looked up in O(1) |
//! | `hosts` | personalities, knobs, MTU; the command line's overrides |
//! | `network` | links, drops, partitions, durations and probabilities |
//! | `steps` | the script: words to slots, and where each socket may be used |
//! | `expect` | `[expect]` and its pairs |

mod expect;
mod hosts;
mod names;
mod network;
mod steps;

use super::steps::StepDef;
use super::{Expectations, Overrides, PairExpect};
use crate::diag::{Class, Diag};
use crate::file::{Meta, ScenarioFile};
use crate::limits::MAX_EVENTS_MAX;
use crate::source::Source;
use names::Names;
use sim::spec::{Limits, WorldSpec};
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// What makes two errors the same: input, place, message.
type Reported = (String, Option<(usize, usize)>, String);

/// Collects diagnostics for one file.
pub struct Ctx<'a> {
    pub path: &'a str,
    pub source: Arc<Source>,
    /// Where relative personality files are found.
    pub base: &'a Path,
    pub errors: Vec<Diag>,
    /// The script's steps already parsed, one per line, when the caller made
    /// the lines from them (the fuzzer): resolved without parsing the text
    /// again, and borrowed, not copied (the caller keeps them).
    pub preparsed: Option<&'a [StepDef]>,
    /// Errors already reported (a personality file two hosts use fails once).
    seen: BTreeSet<Reported>,
    /// Where each error sorts: usage errors first, then by place in this
    /// file; an error in another file (a personality file's) right after
    /// the one that refers to it.
    order: Vec<(bool, usize, usize)>,
}

impl<'a> Ctx<'a> {
    pub fn new(path: &'a str, source: Arc<Source>, base: &'a Path) -> Ctx<'a> {
        Ctx {
            path,
            source,
            base,
            errors: Vec::new(),
            preparsed: None,
            seen: BTreeSet::new(),
            order: Vec::new(),
        }
    }

    /// Resolves these steps instead of parsing the script's lines.
    pub fn with_preparsed(mut self, steps: &'a [StepDef]) -> Ctx<'a> {
        self.preparsed = Some(steps);
        self
    }

    /// A diagnostic in this file, to be completed and [`Ctx::push`]ed.
    pub fn at(&self, class: Class, span: Option<Range<usize>>, message: String) -> Diag {
        Diag::new(class, self.path, &self.source, span, message)
    }

    pub fn error(
        &mut self,
        class: Class,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let d = self
            .at(class, span, message.into())
            .label(label)
            .help_opt(help);
        self.push(d);
    }

    /// Adds a diagnostic unless the same one (input, place, message) is there.
    pub fn push(&mut self, d: Diag) {
        let key = (
            d.path.clone(),
            d.span.as_ref().map(|s| (s.start, s.end)),
            d.message.clone(),
        );
        if !self.seen.insert(key) {
            return;
        }
        let file = d.class != Class::Usage;
        let at = match (&d.span, d.path == self.path) {
            (Some(span), true) => span.start,
            _ => self.order.last().map_or(0, |o| o.1),
        };
        self.order.push((file, at, self.errors.len()));
        self.errors.push(d);
    }

    /// Puts the errors in reading order (see `order`).
    fn sort_errors(&mut self) {
        let mut order = std::mem::take(&mut self.order);
        order.sort();
        let mut errors: Vec<Option<Diag>> = self.errors.drain(..).map(Some).collect();
        self.errors = order.iter().filter_map(|o| errors[o.2].take()).collect();
        self.order = order
            .iter()
            .enumerate()
            .map(|(i, o)| (o.0, o.1, i))
            .collect();
    }

    /// Where bytes `r` of a string value are in the file (see [`value_span`]).
    fn inner_span(&self, s: &Spanned<String>, r: Range<usize>) -> Range<usize> {
        value_span(self.source.text(), s, r)
    }
}

/// Resolves a parsed file into a world spec and its expectations.
pub fn resolve(
    cx: &mut Ctx,
    f: &ScenarioFile,
    overrides: &Overrides,
) -> Option<(WorldSpec, Expectations, Vec<PairExpect>)> {
    let resolved = resolve_all(cx, f, overrides);
    cx.sort_errors();
    resolved
}

fn resolve_all(
    cx: &mut Ctx,
    f: &ScenarioFile,
    overrides: &Overrides,
) -> Option<(WorldSpec, Expectations, Vec<PairExpect>)> {
    let limits = resolve_limits(cx, &f.scenario);
    let names = Names::declare(cx, f)?;
    hosts::check_overrides(cx, &names, overrides);
    let profile = network::profile(cx, &f.network, overrides);
    let hosts = hosts::resolve_hosts(cx, f, overrides, profile);
    let net = network::resolve(cx, &names, &f.network, profile);
    let procs = names.procs(cx, f);
    let steps = match names.valid {
        true => steps::resolve(cx, f, &names, &procs, &hosts),
        // Steps name hosts and processes by words: with a name that is not
        // one word, every step would fail for the same reason.
        false => None,
    };
    let (expect, pairs) = expect::resolve(cx, f, &names);
    let (steps, slot_names, seg_expects) = steps?;
    if !cx.errors.is_empty() {
        return None;
    }
    let spec = WorldSpec {
        seed: overrides.seed.or(f.scenario.seed).unwrap_or(1),
        hosts,
        link: net.link,
        links: net.links,
        drops: net.drops,
        faults: net.faults,
        partitions: net.partitions,
        procs,
        slot_names,
        steps,
        seg_expects,
        limits,
        loopback: on_loopback(profile),
        wake_latency: model::Duration::from_ns(profile.map_or(0, |(p, _)| p.wake_latency_ns)),
    };
    Some((spec, expect, pairs))
}

/// Whether the world's path is one loopback interface (`WorldSpec::loopback`:
/// each host's `HostConfig::loopback`, which decides the receive buffer's data
/// share and loopback GSO): the `loopback` profile says so. Any other
/// network, a scenario without a profile too, is the emulated LAN; `tcpsim
/// real --compare` simulates the path its plan takes instead (a scenario it
/// runs on `lo`: src/cli/run.rs `simulate_on`).
fn on_loopback(profile: network::InForce) -> bool {
    profile.is_some_and(|(p, _)| p.loopback)
}

/// The run's limits: the file's, or the defaults.
fn resolve_limits(cx: &mut Ctx, meta: &Meta) -> Limits {
    let default = Limits::default();
    let max_events = meta.max_events.as_ref().and_then(|m| {
        let range = 1..=MAX_EVENTS_MAX as i64;
        integer_in(cx, m, range, "max_events", "the event budget of a run")
    });
    Limits {
        max_events: max_events.map_or(default.max_events, |v| v as u64),
        max_time_ns: meta
            .duration
            .as_ref()
            .and_then(|d| network::duration(cx, d))
            .unwrap_or(default.max_time_ns),
    }
}

/// An integer of the file within `range`, or an out-of-range error at it
/// that names the range.
fn integer_in(
    cx: &mut Ctx,
    v: &Spanned<i64>,
    range: std::ops::RangeInclusive<i64>,
    key: &str,
    what: &str,
) -> Option<i64> {
    if range.contains(v.get_ref()) {
        return Some(*v.get_ref());
    }
    cx.error(
        Class::Range,
        Some(v.span()),
        format!("`{key}` {} is out of range", v.get_ref()),
        format!("not within {}–{}", range.start(), range.end()),
        Some(format!(
            "`{key}` is {}–{}: {what} (docs/limits.md)",
            range.start(),
            range.end()
        )),
    );
    None
}

/// Maps bytes `r` of a TOML string's value to the file, through its quotes
/// and escapes. The whole string's span when the file's text at that span is
/// not the string (a file made in memory, never text).
pub fn value_span(src: &str, s: &Spanned<String>, r: Range<usize>) -> Range<usize> {
    let span = s.span();
    let map = src.get(span.clone()).and_then(raw_offsets);
    match map {
        Some(map) if map.len() == s.get_ref().len() + 1 => {
            let at = |i: usize| span.start + map[i.min(map.len() - 1)];
            at(r.start)..at(r.end).max(at(r.start))
        }
        _ => span,
    }
}

/// For each byte of a TOML string token's value, where it is in the token,
/// then where the value ends: quotes, escapes and a multi-line string's
/// first newline taken into account. `None` if `raw` is not a string token.
fn raw_offsets(raw: &str) -> Option<Vec<usize>> {
    let open = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| raw.starts_with(q) && raw.len() >= 2 * q.len() && raw.ends_with(q))?;
    let (literal, multi) = (open.starts_with('\''), open.len() == 3);
    let end = raw.len() - open.len();
    let mut i = open.len();
    if multi {
        i += ["\r\n", "\n"]
            .into_iter()
            .find(|nl| raw[i..].starts_with(nl))
            .map_or(0, str::len);
    }
    let bytes = raw.as_bytes();
    let mut map = Vec::with_capacity(end);
    while i < end {
        if literal || bytes[i] != b'\\' {
            let n = raw[i..].chars().next()?.len_utf8();
            map.extend(i..i + n);
            i += n;
            continue;
        }
        let hex = |len: usize| {
            let code = u32::from_str_radix(raw.get(i + 2..i + 2 + len)?, 16).ok()?;
            Some((char::from_u32(code)?.len_utf8(), 2 + len))
        };
        let (decoded, taken) = match bytes.get(i + 1)? {
            b'b' | b't' | b'n' | b'f' | b'r' | b'"' | b'\\' => (1, 2),
            b'u' => hex(4)?,
            b'U' => hex(8)?,
            // A line-ending backslash: the whitespace after it is not part of the value.
            _ if multi => {
                let rest = &raw[i + 1..end];
                (0, 1 + rest.len() - rest.trim_start().len())
            }
            _ => return None,
        };
        map.extend(std::iter::repeat_n(i, decoded));
        i += taken;
    }
    map.push(i);
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word inside a string is found through escapes and quotes of every kind.
    #[test]
    fn value_spans_go_through_escapes() {
        let check = |raw: &str, value: &str, word: &str| {
            let src = format!("x = {raw}");
            let s = Spanned::new(4..src.len(), value.to_string());
            let at = value.find(word).unwrap();
            let span = value_span(&src, &s, at..at + word.len());
            assert_eq!(&src[span], word, "{raw}");
        };
        check("\"- client frob c\"", "- client frob c", "frob");
        check("\"-\\tclient\\tfrob c\"", "-\tclient\tfrob c", "frob");
        check("\"\\u00e9 client frob c\"", "é client frob c", "frob");
        check("'- client frob c'", "- client frob c", "frob");
        check("\"\"\"\n- client frob c\"\"\"", "- client frob c", "frob");
        check("'''\n- client frob c'''", "- client frob c", "frob");
        check(
            "\"\"\"- client \\\n   frob c\"\"\"",
            "- client frob c",
            "frob",
        );
        // A value that is not the text at its span: the whole span.
        let s = Spanned::new(0..0, "abc".to_string());
        assert_eq!(value_span("", &s, 1..2), 0..0);
    }
}
