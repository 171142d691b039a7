//! `[expect]` and `[expect.pairs."A/B"]`: outcome, RSTs, lost bytes, final
//! and reached states, each name looked up among the file's hosts and the
//! closed lists of outcomes, causes and states, each error at its key or value.

use super::names::Names;
use super::Ctx;
use crate::diag::Class;
use crate::file::{ExpectDef, ScenarioFile};
use crate::{Expectations, PairExpect};
use model::personality::closest;
use model::{Personality, RstCause, State};
use sim::Outcome;
use std::ops::Range;
use toml::Spanned;

pub fn resolve(cx: &mut Ctx, f: &ScenarioFile, names: &Names) -> (Expectations, Vec<PairExpect>) {
    let Some(d) = &f.expect else {
        return (Expectations::default(), Vec::new());
    };
    let base = expect_def(cx, d, names);
    let mut pairs = Vec::new();
    for (key, def) in &d.pairs {
        let span = d.pairs.key_span(key);
        let Some((a, b)) = key.split_once('/') else {
            cx.error(
                Class::Value,
                span,
                format!("bad personality pair `{key}`"),
                "expected `FIRST/SECOND`",
                Some("e.g. \"winsock-xp/linux\" or \"*/freebsd\"".into()),
            );
            continue;
        };
        for p in [a, b] {
            pair_member(cx, p, key, span.clone());
        }
        if !def.pairs.is_empty() {
            let inner = def.pairs.keys().next().and_then(|k| def.pairs.key_span(k));
            cx.error(
                Class::Structure,
                inner.or(span.clone()),
                "pairs cannot nest",
                "a pair inside a pair",
                None,
            );
        }
        pairs.push(PairExpect {
            first: a.to_string(),
            second: b.to_string(),
            expect: expect_def(cx, def, names),
        });
    }
    (base, pairs)
}

/// One side of a pair's key: `*`, a built-in personality or a personality file.
fn pair_member(cx: &mut Ctx, p: &str, key: &str, span: Option<Range<usize>>) {
    if p == "*" || Personality::builtin(p).is_some() || p.ends_with(".toml") {
        return;
    }
    let guess = closest(p, Personality::BUILTIN.iter().copied())
        .map(|g| format!("did you mean `{g}`? "))
        .unwrap_or_default();
    cx.error(
        Class::Unknown,
        span,
        format!("unknown personality `{p}` in `{key}`"),
        "not a personality",
        Some(format!(
            "{guess}known: {}, `*` or a personality file (*.toml)",
            Personality::BUILTIN.join(", ")
        )),
    );
}

fn expect_def(cx: &mut Ctx, d: &ExpectDef, names: &Names) -> Expectations {
    let mut e = Expectations::default();
    if let Some(o) = &d.outcome {
        let all: Vec<&str> = Outcome::ALL.iter().map(|o| o.key()).collect();
        let found = Outcome::parse(o.get_ref());
        e.outcome = known(
            cx,
            found,
            o.span(),
            ("outcome", o.get_ref()),
            "not an outcome class",
            ("outcomes", &all),
        );
    }
    if let Some(list) = &d.rst {
        e.rst = Some(
            list.iter()
                .filter_map(|r| expect_rst(cx, names, r))
                .collect(),
        );
    }
    for (k, bytes) in &d.lost {
        if let Some(dir) = names.direction(cx, k, d.lost.key_span(k)) {
            e.lost.push((dir, *bytes));
        }
    }
    e.silent_loss = d.silent_loss;
    for (h, st) in &d.final_state {
        let host = names.host(cx, h, d.final_state.key_span(h));
        if let (Some(h), Some(s)) = (host, state(cx, st)) {
            e.final_state.push((h, s));
        }
    }
    for (h, list) in &d.reached {
        let host = names.host(cx, h, d.reached.key_span(h));
        let states: Vec<State> = list.iter().filter_map(|s| state(cx, s)).collect();
        if let Some(h) = host {
            e.reached.push((h, states));
        }
    }
    e
}

/// A name looked up in a closed list: the value, or an error at `span`
/// saying "unknown KIND `TEXT`", with a guess, and listing the `plural` names.
fn known<T>(
    cx: &mut Ctx,
    found: Option<T>,
    span: Range<usize>,
    (kind, text): (&str, &str),
    label: &str,
    (plural, all): (&str, &[&str]),
) -> Option<T> {
    if found.is_none() {
        let guess = closest(text, all.iter().copied())
            .map(|g| format!("did you mean `{g}`? "))
            .unwrap_or_default();
        cx.error(
            Class::Unknown,
            Some(span),
            format!("unknown {kind} `{text}`"),
            label,
            Some(format!("{guess}{plural}: {}", all.join(", "))),
        );
    }
    found
}

/// One expected RST, `HOST: CAUSE`, or errors at what is wrong with it.
fn expect_rst(cx: &mut Ctx, names: &Names, r: &Spanned<String>) -> Option<(u16, RstCause)> {
    let text = r.get_ref();
    let Some((h, c)) = text.split_once(':') else {
        cx.error(
            Class::Value,
            Some(r.span()),
            format!("bad RST expectation `{text}`"),
            "expected `HOST: CAUSE`",
            Some("e.g. \"server: close-with-unread\"".into()),
        );
        return None;
    };
    let word = |part: &str, from: usize| {
        let lead = part.len() - part.trim_start().len();
        let start = from + lead;
        cx.inner_span(r, start..start + part.trim().len())
    };
    let (host_span, cause_span) = (word(h, 0), word(c, h.len() + 1));
    let host = names.host(cx, h.trim(), Some(host_span));
    let all: Vec<&str> = RstCause::ALL.iter().map(|c| c.key()).collect();
    let found = RstCause::parse(c.trim());
    let cause = known(
        cx,
        found,
        cause_span,
        ("RST cause", c.trim()),
        "not a cause",
        ("causes", &all),
    );
    Some((host?, cause?))
}

fn state(cx: &mut Ctx, s: &Spanned<String>) -> Option<State> {
    let all: Vec<&str> = State::ALL.iter().map(|s| s.name()).collect();
    let found = State::parse(s.get_ref());
    known(
        cx,
        found,
        s.span(),
        ("state", s.get_ref()),
        "not an RFC 9293 state",
        ("states", &all),
    )
}
