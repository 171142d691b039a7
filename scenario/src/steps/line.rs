//! Reading a step's line: its time (or `after REF`), process, call, label and
//! the ` = EXPECTED` tail; the call's arguments are read by [`super::args`].

use super::args::parse_op;
use super::errors::{packet_err, unit_err};
use super::expect::parse_expectations;
use super::{call_names, err, words, AfterRef, ExpectedSeg, Op, StepDef, StepError, Tok};
use crate::diag::Class;
use crate::units::{parse_duration, UnitError, DURATIONS};
use model::call::Call;
use model::{Duration, Instant};
use sim::spec::At;
use std::ops::Range;

/// Parses one step line.
pub fn parse_step(line: &str) -> Result<StepDef, StepError> {
    let (body, expect_part) = match line.find('=') {
        // `backlog=1` is an argument, not an expectation: the expectation is ` = X` at the end.
        Some(_) => split_expect(line),
        None => (line.len(), None),
    };
    let toks = words(&line[..body]);
    let whole = 0..line.len().max(1);
    let Some(time) = toks.first() else {
        return Err(err(
            Class::Step,
            whole,
            "empty step",
            "nothing here",
            Some(
                "a step is `TIME PROCESS CALL ARGS…`, e.g. `0ms client connect c server:80`".into(),
            ),
        ));
    };
    let (at, after, toks) = match time.text.as_str() {
        "after" => {
            let Some(word) = toks.get(1) else {
                return Err(err(
                    Class::Step,
                    time.at.end..line.len().max(time.at.end + 1),
                    "`after` needs the step it waits for",
                    "expected a label, `PROC#N` or a step number",
                    Some(AFTER_HELP.into()),
                ));
            };
            (At::Next, Some(parse_after(word)?), &toks[1..])
        }
        _ => (parse_at(time)?, None, &toks[..]),
    };
    let time = &toks[0];
    let Some(proc) = toks.get(1).cloned() else {
        return Err(err(
            Class::Step,
            time.at.end..line.len().max(time.at.end + 1),
            "missing process name",
            "expected a process name here",
            Some("a step is `TIME PROCESS CALL ARGS…`".into()),
        ));
    };
    let Some(call) = toks.get(2) else {
        return Err(err(
            Class::Step,
            proc.at.end..line.len().max(proc.at.end + 1),
            "missing call",
            "expected a call here",
            Some(format!("valid calls: {}", call_names())),
        ));
    };
    let (args, label) = take_label(&toks[3..])?;
    let (op, segment) = parse_call(call, &args, line)?;
    let (expect, blocked) = match expect_part {
        Some((text, range)) => parse_expectations(&op, text, range)?,
        None => (None, None),
    };
    Ok(StepDef {
        at,
        after,
        proc,
        op,
        label,
        expect,
        blocked,
        segment,
    })
}

pub(crate) const AFTER_HELP: &str = "`after drained` (a step marked `label=drained`), `after server#3` (the 3rd step of process server) or `after 5` (step 5 of the script); `after drained+10ms` adds a delay";

/// `REF[+D]` after `after`.
pub(super) fn parse_after(word: &Tok) -> Result<AfterRef, StepError> {
    let (target, plus) = match word.text.split_once('+') {
        Some((t, d)) => {
            let dt = Tok::new(d, word.at.start + t.len() + 1..word.at.end);
            let plus = parse_duration(d).map_err(|e| unit_err(e, &dt, "delay", DURATIONS))?;
            (t, plus)
        }
        None => (word.text.as_str(), Duration::ZERO),
    };
    let target = Tok::new(target, word.at.start..word.at.start + target.len());
    if target.text.is_empty() {
        return Err(err(
            Class::Step,
            word.at.clone(),
            "`after` needs the step it waits for",
            "expected a label, `PROC#N` or a step number",
            Some(AFTER_HELP.into()),
        ));
    }
    Ok(AfterRef {
        target,
        plus,
        word: word.clone(),
    })
}

/// Takes `label=NAME` out of a step's arguments.
pub(super) fn take_label(args: &[Tok]) -> Result<(Vec<Tok>, Option<Tok>), StepError> {
    let mut rest = Vec::with_capacity(args.len());
    let mut label: Option<Tok> = None;
    for t in args {
        let Some(name) = t.text.strip_prefix("label=") else {
            rest.push(t.clone());
            continue;
        };
        let at = t.at.start + "label=".len()..t.at.end;
        let word = !name.is_empty()
            && !name.chars().all(|c| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !word || label.is_some() {
            let (message, help) = match label.is_some() {
                true => ("a second label on one step", "a step has at most one `label=`"),
                false => ("bad label", "a label is one word of letters, digits, `-`, `_` and `.`, not only digits: e.g. `label=drained`"),
            };
            return Err(err(
                Class::Value,
                at.max_range(t),
                format!("{message} `{name}`"),
                "not a label",
                Some(help.into()),
            ));
        }
        label = Some(Tok::new(name, at));
    }
    Ok((rest, label))
}

/// A range that is never empty (an empty label points at `label=`).
trait MaxRange {
    fn max_range(self, t: &Tok) -> Range<usize>;
}

impl MaxRange for Range<usize> {
    fn max_range(self, t: &Tok) -> Range<usize> {
        match self.is_empty() {
            true => t.at.clone(),
            false => self,
        }
    }
}

/// Finds ` = EXPECT` at the end (an `=` preceded by whitespace).
pub(super) fn split_expect(line: &str) -> (usize, Option<(&str, Range<usize>)>) {
    let bytes = line.as_bytes();
    for (i, c) in line.char_indices() {
        if c == '=' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            let text = &line[i + 1..];
            let lead = text.len() - text.trim_start().len();
            let start = i + 1 + lead;
            let end = start + text.trim().len();
            return (
                i,
                Some((&line[start..end.max(start)], start..end.max(start + 1))),
            );
        }
    }
    (line.len(), None)
}

pub(super) fn parse_at(t: &Tok) -> Result<At, StepError> {
    let how = "write `1ms` (absolute), `+10ms` (after the previous step of this process) or `-` (right after it)";
    let bad = |e: UnitError| unit_err(e, t, "step time", how);
    if t.text == "-" {
        return Ok(At::Next);
    }
    if let Some(rel) = t.text.strip_prefix('+') {
        return parse_duration(rel).map(At::After).map_err(bad);
    }
    parse_duration(&t.text)
        .map(|d| At::Abs(Instant::ZERO + d))
        .map_err(bad)
}

/// The step's call; an `expect` step's packet, its call a `sleep 0`: it
/// takes no time and calls nothing (the run is checked against it afterwards).
pub(super) fn parse_call(
    call: &Tok,
    args: &[Tok],
    line: &str,
) -> Result<(Op, Option<ExpectedSeg>), StepError> {
    match call.text.as_str() {
        "expect" => Ok((
            Call::Sleep { ns: Duration::ZERO },
            Some(expect_step(call, args, line)?),
        )),
        _ => Ok((parse_op(call, args, line)?, None)),
    }
}

/// `expect PKT`: the rest of the line is the packet a raw host must receive next.
pub(super) fn expect_step(call: &Tok, args: &[Tok], line: &str) -> Result<ExpectedSeg, StepError> {
    let (Some(first), Some(last)) = (args.first(), args.last()) else {
        return Err(err(
            Class::Step,
            call.at.clone(),
            "`expect` needs a packet line",
            "expected a packet line after it",
            Some("`expect F. 1:1(0) ack 1`: the next segment this raw host receives".into()),
        ));
    };
    let at = first.at.start..last.at.end;
    let text = line[at.clone()].to_string();
    let packet = crate::packet::expected_seg(&text)
        .map_err(|e| packet_err(line, at.clone(), e, "expect"))?;
    Ok(ExpectedSeg { packet, text, at })
}
