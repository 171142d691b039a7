//! The step language: one line per step.
//!
//! ```text
//! TIME  PROCESS  CALL ARGS…  [= EXPECTED]
//! 0ms   server   listen l 80 backlog=1
//! +0    server   accept l as s
//! 1ms   client   connect c server:80
//! +0    client   write c 1000         = 1000
//! +10ms server   close s
//! +0    client   read c eof           = ECONNRESET
//! ```
//! TIME is absolute (`1ms`), relative to the end of the process's previous
//! step (`+10ms`, `+0`), or `-` for "right after the previous step".
//! Formatting a step and parsing it back gives the same step.

use crate::diag::Class;
use crate::units::{format_duration, parse_duration, parse_size, UnitError, DURATIONS};
use model::call::{
    poll_bits, select_sets, ArgSyntax, ArgWriter, Call, Dest, Naming, PollAlso, ReadLen, SockOpt,
    CALLS, POLL_SOCKS_MAX,
};
use model::{Duration, Errno, How, Instant, RawSeg};
use serde::Serialize;
use sim::spec::{At, Expect, Within};
use std::fmt;
use std::ops::Range;

/// A word of a step and where it is in the step's text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct Tok {
    pub text: String,
    pub at: Range<usize>,
}

impl Tok {
    fn new(text: &str, at: Range<usize>) -> Tok {
        Tok {
            text: text.to_string(),
            at,
        }
    }
}

/// A scenario's names: the words of the step, with where they stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub struct Text;

impl Naming for Text {
    type Sock = Tok;
    type New = Tok;
    type Host = Tok;
    type Proc = Tok;
    fn created(sock: &Tok) -> Tok {
        sock.clone()
    }
}

/// A call as written in a step; names are not yet resolved.
pub type Op = Call<Text>;

/// One parsed step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepDef {
    /// `At::Next` for a step that starts `after` another (resolved later).
    pub at: At,
    /// `after REF[+D]` in place of a time.
    pub after: Option<AfterRef>,
    pub proc: Tok,
    pub op: Op,
    /// `label=NAME` among the arguments: a name `after` can refer to.
    pub label: Option<Tok>,
    pub expect: Option<Expect>,
    /// `blocked=1s±10ms` after the expected result.
    pub blocked: Option<Within>,
    /// An `expect PKT` step (a raw host's): the segment it must receive next.
    pub segment: Option<ExpectedSeg>,
}

/// The packet line of an `expect` step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedSeg {
    pub packet: crate::packet::Packet,
    /// As written.
    pub text: String,
    /// Where in the step.
    pub at: Range<usize>,
}

/// `after REF[+D]`: the step starts D after step REF returned (and not
/// before the previous step of its own process finished). REF is a label
/// (`label=drained` on that step), `PROC#N` (the Nth step of PROC) or `N`
/// (step N of the script, as reports number steps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfterRef {
    pub target: Tok,
    pub plus: Duration,
    /// The whole word (`drained+5ms`), for messages and formatting.
    pub word: Tok,
}

/// A problem inside a step's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    pub class: Class,
    pub at: Range<usize>,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

fn err(
    class: Class,
    at: Range<usize>,
    message: impl Into<String>,
    label: impl Into<String>,
    help: Option<String>,
) -> StepError {
    StepError {
        class,
        at,
        message: message.into(),
        label: label.into(),
        help,
    }
}

/// Splits on whitespace, keeping byte offsets.
fn words(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push(Tok::new(&s[b..i], b..i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push(Tok::new(&s[b..], b..s.len()));
    }
    out
}

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
fn parse_after(word: &Tok) -> Result<AfterRef, StepError> {
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
fn take_label(args: &[Tok]) -> Result<(Vec<Tok>, Option<Tok>), StepError> {
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
fn split_expect(line: &str) -> (usize, Option<(&str, Range<usize>)>) {
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

pub fn call_names() -> String {
    CALLS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

fn parse_at(t: &Tok) -> Result<At, StepError> {
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

/// An error about a duration or size word: `what` it is, how to write one.
fn unit_err(e: UnitError, t: &Tok, what: &str, how: &str) -> StepError {
    let (message, label) = match e.out_of_range {
        true => (
            format!("{what} `{}` is {}", t.text, e.beyond),
            e.reason.clone(),
        ),
        false => (
            format!("bad {what} `{}`: {e}", t.text),
            format!("expected a {what}"),
        ),
    };
    err(
        unit_class(&e),
        t.at.clone(),
        message,
        label,
        Some(e.help(how)),
    )
}

/// A value out of its range, or one that does not read at all.
fn unit_class(e: &UnitError) -> Class {
    match e.out_of_range {
        true => Class::Range,
        false => Class::Value,
    }
}

/// An integer word within `0..=max`: `what` says what it counts, for the
/// error (out of range, with the range; or not an integer).
fn integer(t: &Tok, text: &str, what: &str, max: u64) -> Result<u64, StepError> {
    let digits = text.replace('_', "");
    let all_digits = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
    match digits.parse::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ if all_digits => Err(err(
            Class::Range,
            t.at.clone(),
            format!("{what} `{text}` is out of range"),
            format!("not within 0–{max}"),
            Some(format!("a {what} is 0–{max}")),
        )),
        _ => Err(err(
            Class::Value,
            t.at.clone(),
            format!("bad {what} `{text}`: not an integer"),
            "expected a whole number",
            None,
        )),
    }
}

/// A step's argument words, read in order by the call table's syntaxes.
struct Words<'a> {
    name: &'a str,
    usage: &'a str,
    /// Where the call word ends (errors about missing arguments point after it).
    call_end: usize,
    args: &'a [Tok],
    next: usize,
    line_len: usize,
    /// The step's text (the offsets of `args` are into it).
    line: &'a str,
    /// The sockets after the first of `poll s1,s2`, split off by `poll_sock`.
    poll_rest: Vec<Tok>,
}

impl Words<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.args.get(self.next)
    }

    /// The next word, or "`call` needs WHAT" pointing after the last one.
    fn take(&mut self, what: &str) -> Result<Tok, StepError> {
        match self.args.get(self.next) {
            Some(t) => {
                self.next += 1;
                Ok(t.clone())
            }
            None => {
                let at = self.args.last().map_or(self.call_end, |a| a.at.end);
                Err(err(
                    Class::Step,
                    at..(at + 1).min(self.line_len.max(at + 1)),
                    format!("`{}` needs {what}", self.name),
                    format!("expected {what}"),
                    Some(format!("usage: {}", self.usage)),
                ))
            }
        }
    }

    /// A word that is not an argument of this call.
    fn unexpected(&self, t: &Tok, label: &str) -> StepError {
        err(
            Class::Step,
            t.at.clone(),
            format!("unexpected argument `{}` to `{}`", t.text, self.name),
            label,
            Some(format!("usage: {}", self.usage)),
        )
    }

    /// Errors if words are left over.
    fn finish(&self) -> Result<(), StepError> {
        match self.peek() {
            Some(t) => Err(self.unexpected(t, "not expected here")),
            None => Ok(()),
        }
    }

    fn size_of(t: &Tok) -> Result<u64, StepError> {
        parse_size(&t.text).map_err(|e| {
            unit_err(
                e,
                t,
                "size",
                "sizes are whole octets: `1000`, `64KiB`, `1.5MB`",
            )
        })
    }

    fn port_of(t: &Tok) -> Result<u16, StepError> {
        let text = t.text.trim_start_matches(':');
        integer(t, text, "port", u64::from(u16::MAX)).map(|v| v as u16)
    }
}

impl ArgSyntax<Text> for Words<'_> {
    type Err = StepError;

    fn sock(&mut self) -> Result<Tok, StepError> {
        let what = if self.name == "accept" {
            "a listener name"
        } else {
            "a socket name"
        };
        self.take(what)
    }

    fn name(&mut self) -> Result<Tok, StepError> {
        self.take("a socket name")
    }

    fn new_sock(&mut self) -> Result<Tok, StepError> {
        let t = self.take("`as NAME`")?;
        if t.text == "as" {
            self.take("a socket name after `as`")
        } else {
            Ok(t)
        }
    }

    fn dest(&mut self) -> Result<Dest<Text>, StepError> {
        let to = self.take("HOST:PORT")?;
        let (h, p) = to.text.rsplit_once(':').ok_or_else(|| {
            err(
                Class::Value,
                to.at.clone(),
                format!("bad address `{}`", to.text),
                "expected HOST:PORT",
                Some("e.g. `connect c server:80`".into()),
            )
        })?;
        let port = Tok::new(p, to.at.start + h.len() + 1..to.at.end);
        Ok(Dest {
            host: Tok::new(h, to.at.start..to.at.start + h.len()),
            port: Self::port_of(&port)?,
        })
    }

    fn port(&mut self) -> Result<u16, StepError> {
        Self::port_of(&self.take("a port")?)
    }

    fn opt_port(&mut self) -> Result<Option<u16>, StepError> {
        match self.peek() {
            Some(t) if !t.text.starts_with("backlog=") => self.port().map(Some),
            _ => Ok(None),
        }
    }

    fn backlog(&mut self) -> Result<u32, StepError> {
        let Some(t) = self.peek().cloned() else {
            return Ok(128);
        };
        let v = t
            .text
            .strip_prefix("backlog=")
            .ok_or_else(|| self.unexpected(&t, "expected `backlog=N`"))?;
        self.next += 1;
        let v = v.to_string();
        integer(&t, &v, "backlog", u64::from(u32::MAX)).map(|v| v as u32)
    }

    fn size(&mut self) -> Result<u64, StepError> {
        Self::size_of(&self.take("a size")?)
    }

    fn size32(&mut self) -> Result<u32, StepError> {
        let t = self.take("a size")?;
        u32::try_from(Self::size_of(&t)?).map_err(|_| {
            err(
                Class::Range,
                t.at.clone(),
                format!("size `{}` is out of range", t.text),
                format!("not within 0–{}", u32::MAX),
                Some("a buffer size is at most 4 GiB − 1".into()),
            )
        })
    }

    fn read_len(&mut self) -> Result<ReadLen, StepError> {
        let t = self.take("a size or `eof`")?;
        if t.text == "eof" {
            return Ok(ReadLen::Eof);
        }
        Self::size_of(&t).map(ReadLen::Bytes)
    }

    fn how(&mut self) -> Result<How, StepError> {
        let h = self.take("rd, wr or rdwr")?;
        match h.text.as_str() {
            "rd" | "SHUT_RD" | "SD_RECEIVE" => Ok(How::Rd),
            "wr" | "SHUT_WR" | "SD_SEND" => Ok(How::Wr),
            "rdwr" | "SHUT_RDWR" | "SD_BOTH" => Ok(How::RdWr),
            _ => Err(err(
                Class::Value,
                h.at.clone(),
                format!("bad shutdown direction `{}`", h.text),
                "expected rd, wr or rdwr",
                Some(
                    "also accepted: SHUT_RD, SHUT_WR, SHUT_RDWR, SD_RECEIVE, SD_SEND, SD_BOTH"
                        .into(),
                ),
            )),
        }
    }

    fn linger(&mut self) -> Result<Option<u32>, StepError> {
        let v = self.take("`off` or a number of seconds")?;
        if v.text == "off" {
            return Ok(None);
        }
        let secs = v.text.trim_end_matches('s');
        integer(&v, secs, "linger time", u64::from(u32::MAX))
            .map(|n| Some(n as u32))
            .map_err(|e| StepError {
                help: Some("`linger s off`; `linger s 0` is an abortive close; `linger s 5` waits up to 5 s".into()),
                ..e
            })
    }

    fn on_off(&mut self) -> Result<bool, StepError> {
        let on = match self.peek().map(|t| t.text.as_str()) {
            None => return Ok(true),
            Some("on") => true,
            Some("off") => false,
            Some(_) => {
                let t = &self.args[self.next];
                return Err(err(
                    Class::Value,
                    t.at.clone(),
                    format!("bad switch `{}`", t.text),
                    "expected `on` or `off`",
                    None,
                ));
            }
        };
        self.next += 1;
        Ok(on)
    }

    fn more(&mut self) -> Result<bool, StepError> {
        let more = matches!(
            self.peek().map(|t| t.text.as_str()),
            Some("more" | "MSG_MORE")
        );
        self.next += more as usize;
        Ok(more)
    }

    fn duration(&mut self) -> Result<Duration, StepError> {
        let d = self.take("a duration")?;
        parse_duration(&d.text).map_err(|e| unit_err(e, &d, "duration", DURATIONS))
    }

    fn timeout(&mut self) -> Result<Option<Duration>, StepError> {
        let Some(t) = self.peek().cloned() else {
            return Ok(None);
        };
        let Some(v) = t.text.strip_prefix("timeout=") else {
            return Err(self.unexpected(&t, "expected `timeout=DURATION`"));
        };
        self.next += 1;
        let d = Tok::new(v, t.at.start + "timeout=".len()..t.at.end);
        parse_duration(v)
            .map(Some)
            .map_err(|e| unit_err(e, &d, "timeout", DURATIONS))
    }

    fn sockopt(&mut self) -> Result<SockOpt, StepError> {
        let t = self.take("an option (SO_ERROR, FIONREAD, …)")?;
        SockOpt::parse(&t.text).ok_or_else(|| {
            let words: Vec<&str> = SockOpt::WORDS
                .iter()
                .flat_map(|(_, w)| w.iter().copied())
                .collect();
            err(
                Class::Value,
                t.at.clone(),
                format!("unknown option `{}`", t.text),
                "not an option this call reads",
                Some(format!("options: {}", words.join(", "))),
            )
        })
    }

    fn poll_sock(&mut self) -> Result<Tok, StepError> {
        let t = self.take("a socket name, or several joined by `,`")?;
        let mut start = t.at.start;
        let mut names = Vec::new();
        for part in t.text.split(',') {
            let at = start..start + part.len();
            if part.is_empty() {
                return Err(err(
                    Class::Value,
                    at.start..at.start + 1,
                    format!("bad socket list `{}`", t.text),
                    "expected a socket name here",
                    Some("sockets are joined by `,` without spaces: `poll l,s POLLIN`".into()),
                ));
            }
            names.push(Tok::new(part, at));
            start += part.len() + 1;
        }
        self.poll_rest = names.split_off(1);
        Ok(names.remove(0))
    }

    fn poll_also(&mut self) -> Result<PollAlso<Text>, StepError> {
        let rest = std::mem::take(&mut self.poll_rest);
        let over = rest.get(POLL_SOCKS_MAX - 1).map(|t| t.at.clone());
        PollAlso::from_socks(rest).ok_or_else(|| {
            err(
                Class::Range,
                over.unwrap_or(0..1),
                format!("a poll step names at most {POLL_SOCKS_MAX} sockets"),
                "one socket too many",
                Some("split the sockets over two poll steps".into()),
            )
        })
    }

    fn events(&mut self) -> Result<u32, StepError> {
        let t = self.take("poll events (`POLLIN|POLLRDHUP`)")?;
        poll_bits::parse(&t.text).ok_or_else(|| poll_bits_err(&t))
    }

    fn select_sets(&mut self) -> Result<u32, StepError> {
        let t = self.take("select sets (`readfds|writefds`)")?;
        select_sets::parse(&t.text)
            .filter(|b| *b != 0)
            .ok_or_else(|| select_sets_err(&t))
    }

    fn proc(&mut self) -> Result<Tok, StepError> {
        self.take("the child process's name")
    }

    fn raw(&mut self) -> Result<RawSeg, StepError> {
        let first = self.take("a packet line (`F. 1:1(0) ack 1`)")?;
        let end = self.args.last().map_or(first.at.end, |t| t.at.end);
        self.next = self.args.len();
        let text = &self.line[first.at.start..end];
        crate::packet::raw_seg(text)
            .map_err(|e| packet_err(self.line, first.at.start..end, e, "inject"))
    }

    fn state(&mut self) -> Result<model::State, StepError> {
        let t = self.take("a TCP state (`TIME-WAIT`)")?;
        let names: Vec<&str> = model::State::ALL.iter().map(|s| s.name()).collect();
        let Some(state) = model::State::parse(&t.text) else {
            return Err(err(
                Class::Value,
                t.at.clone(),
                format!("bad TCP state `{}`", t.text),
                "not a state",
                Some(format!("one of {}", names.join(", "))),
            ));
        };
        // The model can drop only TIME-WAIT connections (Host::drop_time_wait).
        if self.name == "tcpdrop" && state != model::State::TimeWait {
            return Err(err(
                Class::Value,
                t.at.clone(),
                format!("`tcpdrop {}` is not modelled", t.text),
                "only TIME-WAIT",
                Some(
                    "`tcpdrop TIME-WAIT` (FreeBSD `tcpdrop -s TIME_WAIT`) is the one supported"
                        .into(),
                ),
            ));
        }
        Ok(state)
    }

    fn held(&mut self) -> Result<bool, StepError> {
        let held = self.peek().is_some_and(|t| t.text == "held");
        self.next += held as usize;
        Ok(held)
    }
}

/// `POLLIN,0` (one poll step's revents per socket) that does not parse:
/// points at the first lane that is not poll bits.
fn revents_each_err(text: &str, at: Range<usize>) -> StepError {
    let mut start = at.start;
    for (i, lane) in text.split(',').enumerate() {
        let here = start..start + lane.len().max(1);
        if i == POLL_SOCKS_MAX {
            return err(
                Class::Range,
                here,
                format!("`{text}` expects revents of more than {POLL_SOCKS_MAX} sockets"),
                "one lane too many",
                Some(format!(
                    "a poll step names at most {POLL_SOCKS_MAX} sockets"
                )),
            );
        }
        if poll_bits::parse(lane).is_none() {
            return poll_bits_err(&Tok::new(lane, here));
        }
        start += lane.len() + 1;
    }
    poll_bits_err(&Tok::new(text, at))
}

/// A packet line of a step (`line[at]`) that did not read, or asks for
/// what the model does not carry, as an error at its word.
fn packet_err(
    line: &str,
    at: Range<usize>,
    e: crate::packet::PacketError,
    verb: &str,
) -> StepError {
    let (start, end) = (at.start, at.end);
    let text = &line[at];
    let mut at = start + e.at.min(text.len().saturating_sub(1));
    let rest = &line[at..end];
    at += rest.len() - rest.trim_start().len();
    let word = line[at..end].split_whitespace().next().unwrap_or("");
    let (message, label) = match e.unsupported {
        true => (
            format!("cannot {verb} `{text}`: {}", e.expected),
            "not modelled".to_string(),
        ),
        false => (
            format!("bad packet `{text}`: expected {}", e.expected),
            format!("expected {}", e.expected),
        ),
    };
    let numbers = match verb {
        "inject" => "seq from this host's ISN, ack from the peer's",
        _ => "seq from the peer's ISN, ack from this host's; `...(len)` and `<...>` match any",
    };
    err(
        Class::Value,
        at..at + word.len().max(1),
        message,
        label,
        Some(format!(
            "a packetdrill packet line: `S 0:0(0) win 65535 <mss 1460>`, `F. 1:1(0) ack 1`, \
             `R 1001:1001(0)`, `P. 1:101(100) ack 1`; {numbers}"
        )),
    )
}

/// The step's call; an `expect` step's packet, its call a `sleep 0`: it
/// takes no time and calls nothing (the run is checked against it afterwards).
fn parse_call(
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
fn expect_step(call: &Tok, args: &[Tok], line: &str) -> Result<ExpectedSeg, StepError> {
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

/// A word that should be poll bits and is not.
/// Select sets that do not parse (or a step asking for none).
fn select_sets_err(t: &Tok) -> StepError {
    let names: Vec<&str> = select_sets::NAMES.iter().map(|(_, n)| *n).collect();
    err(
        Class::Value,
        t.at.clone(),
        format!("bad select sets `{}`", t.text),
        "expected set names joined by `|`",
        Some(format!(
            "e.g. `readfds|writefds`; sets: {}",
            names.join(", ")
        )),
    )
}

fn poll_bits_err(t: &Tok) -> StepError {
    let names: Vec<&str> = poll_bits::NAMES.iter().map(|(_, n)| *n).collect();
    err(
        Class::Value,
        t.at.clone(),
        format!("bad poll events `{}`", t.text),
        "expected bit names joined by `|`",
        Some(format!(
            "e.g. `POLLIN|POLLRDHUP`; bits: {}",
            names.join(", ")
        )),
    )
}

/// Writes a call's arguments as the step language spells them (the inverse of [`Words`]).
struct WriteWords<'a, 'b>(&'a mut fmt::Formatter<'b>, fmt::Result);

impl WriteWords<'_, '_> {
    fn word(&mut self, w: impl fmt::Display) {
        if self.1.is_ok() {
            self.1 = write!(self.0, " {w}");
        }
    }
}

impl ArgWriter<Text> for WriteWords<'_, '_> {
    fn sock(&mut self, v: &Tok) {
        self.word(&v.text);
    }
    fn name(&mut self, v: &Tok) {
        self.word(&v.text);
    }
    fn new_sock(&mut self, v: &Tok) {
        self.word(format_args!("as {}", v.text));
    }
    fn dest(&mut self, v: &Dest<Text>) {
        self.word(format_args!("{}:{}", v.host.text, v.port));
    }
    fn port(&mut self, v: &u16) {
        self.word(v);
    }
    fn opt_port(&mut self, v: &Option<u16>) {
        if let Some(p) = v {
            self.word(p);
        }
    }
    fn backlog(&mut self, v: &u32) {
        self.word(format_args!("backlog={v}"));
    }
    fn size(&mut self, v: &u64) {
        self.word(v);
    }
    fn size32(&mut self, v: &u32) {
        self.word(v);
    }
    fn read_len(&mut self, v: &ReadLen) {
        match v {
            ReadLen::Bytes(n) => self.word(n),
            ReadLen::Eof => self.word("eof"),
        }
    }
    fn how(&mut self, v: &How) {
        self.word(v.word());
    }
    fn linger(&mut self, v: &Option<u32>) {
        match v {
            Some(n) => self.word(n),
            None => self.word("off"),
        }
    }
    fn on_off(&mut self, v: &bool) {
        self.word(if *v { "on" } else { "off" });
    }
    fn more(&mut self, v: &bool) {
        if *v {
            self.word("more");
        }
    }
    fn duration(&mut self, v: &Duration) {
        self.word(format_duration(*v));
    }
    fn timeout(&mut self, v: &Option<Duration>) {
        if let Some(d) = v {
            self.word(format_args!("timeout={}", format_duration(*d)));
        }
    }
    fn sockopt(&mut self, v: &SockOpt) {
        self.word(v.word());
    }
    fn events(&mut self, v: &u32) {
        self.word(poll_bits::text(u64::from(*v)));
    }
    fn select_sets(&mut self, v: &u32) {
        self.word(select_sets::text(u64::from(*v)));
    }
    fn poll_sock(&mut self, v: &Tok) {
        self.word(&v.text);
    }
    fn poll_also(&mut self, v: &PollAlso<Text>) {
        for s in v.iter() {
            if self.1.is_ok() {
                self.1 = write!(self.0, ",{}", s.text);
            }
        }
    }
    fn proc(&mut self, v: &Tok) {
        self.word(&v.text);
    }
    fn raw(&mut self, v: &RawSeg) {
        self.word(v);
    }
    fn state(&mut self, v: &model::State) {
        self.word(v.name());
    }
    fn held(&mut self, v: &bool) {
        if *v {
            self.word("held");
        }
    }
}

fn parse_op(call: &Tok, args: &[Tok], line: &str) -> Result<Op, StepError> {
    let name = call.text.as_str();
    let info = CALLS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name));
    let Some(info) = info else {
        let guess = model::personality::closest(name, CALLS.iter().map(|c| c.name));
        let help = match guess {
            Some(g) => format!("did you mean `{g}`? valid calls: {}", call_names()),
            None => format!("valid calls: {}", call_names()),
        };
        return Err(err(
            Class::Unknown,
            call.at.clone(),
            format!("unknown call `{name}`"),
            "not a call",
            Some(help),
        ));
    };
    let mut words = Words {
        name,
        usage: info.usage,
        call_end: call.at.end,
        args,
        next: 0,
        line_len: line.len(),
        line,
        poll_rest: Vec::new(),
    };
    let op = Call::read_args(name, &mut words).expect("the call's word is in the table")?;
    words.finish()?;
    Ok(op)
}

/// The text after ` = `: a result, then `blocked=D±T`, either one optional
/// (but not both absent).
fn parse_expectations(
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
fn state_matches_op(op: &Op, e: Expect, at: Range<usize>) -> Result<Expect, StepError> {
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
fn check_revents_lanes(op: &Op, text: &str, at: Range<usize>) -> Result<(), StepError> {
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
fn parse_within(t: &Tok, at: Range<usize>) -> Result<Within, StepError> {
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

fn parse_expect(text: &str, at: Range<usize>) -> Result<Expect, StepError> {
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

impl fmt::Display for StepDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.after, self.at) {
            (Some(a), _) => write!(f, "after {}", a.word.text)?,
            (None, At::Next) => f.write_str("-")?,
            (None, At::Abs(t)) => f.write_str(&format_duration(t.since_start()))?,
            (None, At::After(t)) => write!(f, "+{}", format_duration(t))?,
            (None, At::Once { step, plus }) => {
                write!(f, "after {}+{}", step + 1, format_duration(plus))?
            }
        }
        write!(f, " {} {}", self.proc.text, self.op.name())?;
        let mut w = WriteWords(f, Ok(()));
        self.op.write_args(&mut w);
        w.1?;
        if let Some(l) = &self.label {
            write!(f, " label={}", l.text)?;
        }
        match (&self.expect, &self.blocked) {
            (Some(e), Some(b)) => write!(f, " = {e} {b}"),
            (Some(e), None) => write!(f, " = {e}"),
            (None, Some(b)) => write!(f, " = {b}"),
            (None, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> StepDef {
        parse_step(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn parses_the_documented_examples() {
        let s = ok("0ms server listen l 80 backlog=1");
        assert_eq!(s.at, At::Abs(Instant::ZERO));
        assert!(matches!(
            s.op,
            Op::Listen {
                port: Some(80),
                backlog: 1,
                ..
            }
        ));
        let s = ok("+0 client read c eof = ECONNRESET");
        assert_eq!(s.at, At::After(Duration::ZERO));
        assert_eq!(s.expect, Some(Expect::Error(Errno::ECONNRESET)));
        let s = ok("- client write c 64KiB = 65536");
        assert_eq!(s.at, At::Next);
        assert!(matches!(s.op, Op::Write { bytes: 65536, .. }));
        let s = ok("1ms client connect c server:80");
        match s.op {
            Op::Connect {
                to: Dest { host, port },
                ..
            } => {
                assert_eq!((host.text.as_str(), port), ("server", 80));
                assert_eq!(host.at, 21..27);
            }
            _ => panic!(),
        }
        assert!(matches!(ok("0 w closesocket s").op, Op::Close { .. }));
        assert!(matches!(ok("0 w WSACleanup").op, Op::Exit {}));
        assert!(matches!(
            ok("0 w shutdown s SD_BOTH").op,
            Op::Shutdown { how: How::RdWr, .. }
        ));
        assert_eq!(
            ok("0 w read s 10 = WSAECONNRESET").expect,
            Some(Expect::Error(Errno::ECONNRESET))
        );
    }

    #[test]
    fn a_poll_over_several_sockets_parses_and_prints_back() {
        let line = "0 w poll l,s,t POLLIN timeout=10ms = 0,POLLIN|POLLHUP,POLLNVAL";
        let s = ok(line);
        let Op::Poll { sock, also, .. } = &s.op else {
            panic!("{:?}", s.op)
        };
        let names: Vec<&str> = also.iter().map(|t| t.text.as_str()).collect();
        assert_eq!((sock.text.as_str(), names), ("l", vec!["s", "t"]));
        assert_eq!(
            also.iter().map(|t| t.at.clone()).collect::<Vec<_>>(),
            [11..12, 13..14]
        );
        let lanes = 0x11 << 16 | 0x20 << 32;
        assert_eq!(s.expect, Some(Expect::ReventsEach(lanes, 3)));
        assert!(
            s.to_string().contains("poll l,s,t POLLIN timeout=10ms"),
            "{s}"
        );
        assert!(s.to_string().contains("= 0,POLLIN|POLLHUP,POLLNVAL"), "{s}");
        assert_eq!(ok("0 w poll l,s POLLIN = 0").expect, Some(Expect::Value(0)));
        let e = parse_step("0 w poll l,s POLLIN = POLLIN").unwrap_err();
        assert!(e.message.contains("watches 2 sockets"), "{e:?}");
        let e = parse_step("0 w poll l,s POLLIN = POLLIN,0,0").unwrap_err();
        assert!(e.message.contains("name 3"), "{e:?}");
        let s = ok("0 w select l,s readfds|writefds timeout=0 = 0,readfds|writefds");
        assert_eq!(s.expect, Some(Expect::SetsEach(0x3 << 16, 2)));
        assert!(
            s.to_string()
                .contains("select l,s readfds|writefds timeout=0"),
            "{s}"
        );
        assert!(s.to_string().contains("= 0,readfds|writefds"), "{s}");
        let e = parse_step("0 w select l,s readfds = POLLIN,0").unwrap_err();
        assert!(e.message.contains("result is sets"), "{e:?}");
        assert_eq!(
            ok("0 w poll l,s POLLIN = EINTR").expect,
            Some(Expect::Error(Errno::EINTR))
        );
        let e = parse_step("0 w poll l, POLLIN").unwrap_err();
        assert_eq!(e.at, 11..12);
    }

    #[test]
    fn new_calls_and_expectations_parse() {
        let s = ok("0 w poll s POLLIN|POLLRDHUP timeout=300ms = POLLIN|POLLHUP blocked=1s±10ms");
        assert!(matches!(
            s.op,
            Op::Poll {
                events: 0x2001,
                timeout: Some(_),
                ..
            }
        ));
        assert_eq!(s.expect, Some(Expect::Revents(0x11)));
        let w = s.blocked.unwrap();
        assert_eq!((w.ns.as_ms(), w.tolerance_ns.as_ms()), (1000, 10));
        let s = ok("0 w read s eof = 500+ECONNRESET");
        assert_eq!(
            s.expect,
            Some(Expect::ReadThenError(500, Errno::ECONNRESET))
        );
        assert!(matches!(
            ok("0 w ioctl s SIOCINQ").op,
            Op::Getsockopt {
                opt: SockOpt::InQ,
                ..
            }
        ));
        let e = parse_step("0 w poll s POLLIN|POLLWHAT").unwrap_err();
        assert_eq!(e.at, 11..26);
        let e = parse_step("0 w getsockopt s SO_WHAT").unwrap_err();
        assert!(e.help.unwrap().contains("FIONREAD"));
        let e = parse_step("0 w read s eof = 5 blocked=1s").unwrap_err();
        assert!(e.message.contains("no tolerance"), "{e:?}");
        let e = parse_step("0 w read s 10 timeout=soon").unwrap_err();
        assert_eq!(e.at, 22..26);
    }

    #[test]
    fn errors_point_at_the_word_and_help() {
        let e = parse_step("0ms client conect c server:80").unwrap_err();
        assert_eq!(e.at, 11..17);
        assert!(e.help.unwrap().contains("did you mean `connect`"));
        let e = parse_step("10 client close c").unwrap_err();
        assert_eq!(e.at, 0..2);
        let e = parse_step("0ms client write c").unwrap_err();
        assert!(e.message.contains("needs a size"), "{e:?}");
        let e = parse_step("0ms client close c d").unwrap_err();
        assert_eq!(e.at, 19..20);
        let e = parse_step("0ms client read c 10 = EWHAT").unwrap_err();
        assert_eq!(e.at, 23..28);
    }

    #[test]
    fn inject_reads_a_packet_line_with_its_expectation() {
        let s = ok("0 peer inject a P. 1:101(100) ack 1 <nop,TS val 5 ecr 6> = ok");
        let Op::Inject { sock, seg } = s.op else {
            panic!("{:?}", s.op)
        };
        assert_eq!(sock.text, "a");
        assert_eq!(
            (seg.seq, seg.len, seg.ack, seg.win),
            (1, 100, Some(1), None)
        );
        assert!(seg.ts && seg.flags.has(model::Flags::PSH) && seg.flags.ack());
        assert_eq!(s.expect, Some(Expect::Ok));
        // An error points into the packet, with the packetdrill spelling as the hint.
        let e = parse_step("0 peer inject a P. 1:101 ack 1").unwrap_err();
        assert_eq!(&"0 peer inject a P. 1:101 ack 1"[e.at.clone()], "ack");
        assert!(e.message.contains("`(len)`"), "{e:?}");
        assert!(e.help.unwrap().contains("packetdrill"));
        for (bad, why) in [
            ("0 p inject a S. ...(0)", "any"),
            ("0 p inject a S 0:0(0) <wscale 7>", "window scaling"),
            ("0 p inject a P. 1:5(10) ack 1", "end - start"),
            ("0 p inject a .E 1:1(0)", "ECN"),
            ("0 p inject a . 1:1(0) <...>", "`<...>`"),
            ("0 p inject a", "needs a packet line"),
        ] {
            let e = parse_step(bad).unwrap_err();
            assert!(e.message.contains(why), "{bad}: {e:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "0 server listen l 80 backlog=1",
            "+10ms client connect c server:80",
            "- client write c 1000 = 1000",
            "+0 client read c eof = ECONNRESET",
            "1s server shutdown s rdwr",
            "+0 server linger s 0",
            "+0 server linger s off",
            "+0 server nonblocking s off",
            "+0 server dup s as t",
            "+0 server fork child = ok",
            "+0 server exit",
            "+0 server sleep 5s",
            "+0 server rcvbuf s 4096",
            "+0 server poll s POLLIN|POLLRDHUP timeout=300ms = POLLIN|POLLHUP",
            "+0 server poll s POLLIN = 0 blocked=1s±10ms",
            "+0 server read s eof timeout=300ms = 500+ECONNRESET blocked=300ms±1ms",
            "+0 server write s 1000 timeout=1s",
            "+0 server getsockopt s SO_ERROR = ECONNRESET",
            "+0 server ioctl s FIONREAD = 500",
            "+0 server rcvtimeo s 200ms",
            "+0 server sndtimeo s 1s",
            "after drained server close s",
            "after server#3+5ms client read c eof label=got = 500",
            "after 2 client close c",
            "+0 server inject s S 0:0(0) win 65535 <mss 1460>",
            "+0 server inject s P. 1:101(100) ack 1 win 1000 <mss 536,TS val 0 ecr 0> = ok",
            "+0 server inject s R 1001:1001(0)",
            "+0 server inject s F. 1:1(0) ack 1",
        ] {
            let a = ok(s);
            let b = ok(&a.to_string());
            assert_eq!(a.to_string(), b.to_string(), "{s}");
            assert_eq!(
                format!("{:?}", a.op).replace(char::is_numeric, ""),
                format!("{:?}", b.op).replace(char::is_numeric, "")
            );
        }
    }
}
