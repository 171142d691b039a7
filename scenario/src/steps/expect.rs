//! The ` = EXPECTED` tail of a step: the result the call must return and
//! how long it may block (`blocked=1s±10ms`).

use super::errors::{poll_bits_err, revents_each_err, select_sets_err, unit_err};
use super::{err, words, Op, StepError, Tok};
use crate::diag::Class;
use crate::units::{parse_duration, parse_size, DURATIONS};
use model::call::{poll_bits, select_sets, SockOpt};
use model::Errno;
use sim::spec::{Expect, Within};
use std::ops::Range;

/// The text after ` = `: a result, then `blocked=D±T`, either one optional
/// (but not both absent).
pub(super) fn parse_expectations(
    op: &Op,
    text: &str,
    at: Range<usize>,
) -> Result<(Option<Expect>, Option<Within>), StepError> {
    check_revents_lanes(op, text, at.clone())?;
    let ws = words(text);
    let shift = |t: &Tok| at.start + t.at.start..at.start + t.at.end;
    let (blocked, rest) = match ws.last() {
        Some(t) if t.text.starts_with("blocked=") => {
            (Some(parse_within(t, shift(t))?), &ws[..ws.len() - 1])
        }
        _ => (None, &ws[..]),
    };
    let expect = match rest {
        [] if blocked.is_some() => None,
        [] => return Err(parse_expect("", at).unwrap_err()),
        [one] => Some(state_matches_op(
            op,
            parse_expect(&one.text, shift(one))?,
            shift(one),
        )?),
        [_, second, ..] => {
            return Err(err(
                Class::Value,
                shift(second),
                format!("unexpected `{}` after the expected result", second.text),
                "expected nothing, or `blocked=DURATION±TOLERANCE`",
                Some("e.g. `= 500+ECONNRESET blocked=1s±10ms`".into()),
            ))
        }
    };
    Ok((expect, blocked))
}

/// A TCP state is what `getsockopt S TCP_INFO.tcpi_state` returns, and only that.
pub(super) fn state_matches_op(op: &Op, e: Expect, at: Range<usize>) -> Result<Expect, StepError> {
    let reads_state = matches!(
        op,
        Op::Getsockopt {
            opt: SockOpt::TcpState,
            ..
        }
    );
    match (reads_state, e) {
        (false, Expect::State(s)) => Err(err(
            Class::Value,
            at,
            format!("`{}` here returns no TCP state", op.name()),
            "a state",
            Some(format!(
                "a state is the result of `getsockopt S TCP_INFO.tcpi_state = {}`",
                s.name()
            )),
        )),
        (true, Expect::Value(_)) => Err(err(
            Class::Value,
            at,
            "TCP_INFO.tcpi_state expects a TCP state".to_string(),
            "a number",
            Some("write the state: `= FIN-WAIT-2`".into()),
        )),
        _ => Ok(e),
    }
}

/// A poll (select) step's expected revents (sets) name one lane per socket
/// it watches (`0` alone, every socket timed out, fits any), in its own
/// words: POLL bits for poll, set names for select.
pub(super) fn check_revents_lanes(op: &Op, text: &str, at: Range<usize>) -> Result<(), StepError> {
    let (also, what, example) = match op {
        Op::Poll { also, .. } => (also, "revents", "`poll l,s POLLIN = POLLIN,0`"),
        Op::Select { also, .. } => (also, "sets", "`select l,s readfds = readfds,0`"),
        _ => return Ok(()),
    };
    let socks = 1 + also.iter().count();
    let result = words(text)
        .into_iter()
        .next()
        .filter(|t| !t.text.starts_with("blocked="));
    // `0` (all timed out) and an errno (`EINTR`) are no revents.
    let revents =
        |t: &Tok| t.text.contains(',') || t.text.starts_with("POLL") || t.text.contains("fds");
    let Some(result) = result.filter(revents) else {
        return Ok(());
    };
    let lanes = result.text.split(',').count();
    let at = at.start + result.at.start..at.start + result.at.end;
    let select = matches!(op, Op::Select { .. });
    if select != result.text.contains("fds") {
        return Err(err(
            Class::Value,
            at,
            format!("a {} step's result is {what}", op.name()),
            format!("expected {what}"),
            Some(format!("e.g. {example}")),
        ));
    }
    if lanes == socks {
        return Ok(());
    }
    Err(err(
        Class::Value,
        at,
        format!("the step watches {socks} sockets; the expected {what} name {lanes}"),
        format!("expected {socks}, one per socket, joined by `,`"),
        Some(format!("one per socket in the order named: {example}")),
    ))
}

/// `blocked=1s±10ms` (or `+-`).
pub(super) fn parse_within(t: &Tok, at: Range<usize>) -> Result<Within, StepError> {
    let v = &t.text["blocked=".len()..];
    let (d, tol) = v
        .split_once('±')
        .or_else(|| v.split_once("+-"))
        .ok_or_else(|| {
            err(
                Class::Value,
                at.clone(),
                format!("bad `{}`: no tolerance", t.text),
                "expected `blocked=DURATION±TOLERANCE`",
                Some("e.g. `blocked=1s±10ms` (or `blocked=1s+-10ms`)".into()),
            )
        })?;
    let dur = |s: &str| {
        parse_duration(s).map_err(|e| unit_err(e, &Tok::new(s, at.clone()), "duration", DURATIONS))
    };
    Ok(Within {
        ns: dur(d)?,
        tolerance_ns: dur(tol)?,
    })
}

pub(super) fn parse_expect(text: &str, at: Range<usize>) -> Result<Expect, StepError> {
    if text.contains("fds") {
        return select_sets::parse_each(text)
            .map(|(packed, socks)| Expect::SetsEach(packed, socks as u8))
            .ok_or_else(|| select_sets_err(&Tok::new(text, at.clone())));
    }
    if text.contains(',') {
        return poll_bits::parse_each(text)
            .map(|(packed, socks)| Expect::ReventsEach(packed, socks as u8))
            .ok_or_else(|| revents_each_err(text, at.clone()));
    }
    if text.starts_with("POLL") {
        return poll_bits::parse(text)
            .map(|b| Expect::Revents(u64::from(b)))
            .ok_or_else(|| poll_bits_err(&Tok::new(text, at.clone())));
    }
    if let Some((n, e)) = text.split_once('+') {
        if let (Ok(n), Some(e)) = (parse_size(n), Errno::parse(e)) {
            return Ok(Expect::ReadThenError(n, e));
        }
    }
    if text == "ok" {
        return Ok(Expect::Ok);
    }
    if text == "eof" || text == "EOF" {
        return Ok(Expect::Value(0));
    }
    if let Some(e) = Errno::parse(text) {
        return Ok(Expect::Error(e));
    }
    if let Some(s) = model::State::ALL.into_iter().find(|s| s.name() == text) {
        return Ok(Expect::State(s));
    }
    if let Ok(v) = parse_size(text) {
        return Ok(Expect::Value(v));
    }
    let names: Vec<&str> = Errno::ALL.iter().map(|e| e.name()).collect();
    Err(err(
        Class::Value,
        at,
        format!("bad expected result `{text}`"),
        "expected a count, `eof`, `ok`, an errno, `N+ERRNO`, poll bits or a TCP state",
        Some(format!("errno names: {}", names.join(", "))),
    ))
}
