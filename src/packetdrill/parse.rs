//! The packetdrill script language, read into a typed [`Script`]: every
//! event with its line and column, its time, and what it does.
//!
//! The grammar follows google/packetdrill `gtests/net/packetdrill/parser.y`
//! and `lexer.l`: a line is `TIME EVENT`, where TIME is `N` (seconds),
//! `+N` (after the previous event), `A~B` (a window), `*` (any time), and a
//! blocking system call may give its return time after `...`. EVENT is an
//! inbound (`<`) or outbound (`>`) segment, a system call `name(args) = RET
//! [ERRNO (text)]`, a `` `shell command` ``, or a `%{ python }%` block. A
//! line `--name=value` sets an option; `//` and `/* */` are comments;
//! `#ifdef NAME` … `#endif` keep their lines only when NAME is defined (the
//! FreeBSD suite's convention, freebsd-net/tcp-testsuite, nplab/packetdrill).
//!
//! Lines are found by a pre-pass (comments blanked, code blocks joined);
//! each line is then parsed with winnow, and an error points at its column.

use scenario::packet::{label, packet, uint};
pub use scenario::packet::{Dir, Packet, TcpOpt};
use std::ops::Range;
use winnow::ascii::{digit1, space0, space1};
use winnow::combinator::{alt, cut_err, delimited, opt, preceded, separated};
use winnow::error::{ContextError, ErrMode, StrContext};
use winnow::prelude::*;
use winnow::token::{one_of, take_till, take_while};

/// Microseconds, as packetdrill counts time.
pub type Usecs = i64;

/// When an event happens, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Time {
    /// `*`: any time.
    Any,
    /// `N` seconds from the start.
    Abs(Usecs),
    /// `+N` after the previous event.
    Rel(Usecs),
    /// `A~B`, both absolute.
    AbsRange(Usecs, Usecs),
    /// `+A~+B`, both relative.
    RelRange(Usecs, Usecs),
}

/// A system call's argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `...`: whatever packetdrill fills in.
    Ellipsis,
    Int(i64),
    /// A symbol: `SOCK_STREAM`, `SOL_SOCKET`, `ECONNRESET`.
    Word(String),
    /// `A | B`.
    Or(Vec<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{name=value, …}`.
    Struct(Vec<(String, Expr)>),
    /// `"text"`.
    Str(String),
}

/// `name(args) = ret [ERRNO (text)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Syscall {
    pub name: String,
    pub args: Vec<Expr>,
    pub ret: i64,
    pub errno: Option<String>,
    /// The return time of a blocking call (`START...END`).
    pub end: Option<Time>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    Packet(Packet),
    Syscall(Syscall),
    /// A `` `shell command` ``.
    Command(String),
    /// A `%{ python }%` block.
    Code(String),
}

/// One event of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// 1-based line of the script.
    pub line: usize,
    /// Byte range of the event in the script's text.
    pub span: std::ops::Range<usize>,
    pub time: Time,
    pub what: What,
}

/// A parsed script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// `--name=value` lines, in order, with their line.
    pub options: Vec<(String, String, usize)>,
    pub events: Vec<Event>,
}

impl Script {
    /// An option's value (the last one given).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.as_str())
    }
}

/// A parse error: where, what was expected, and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte range in the script's text.
    pub span: std::ops::Range<usize>,
    pub message: String,
    pub expected: String,
    pub hint: Option<String>,
}

type In<'a> = &'a str;

/// Parses a whole script; `defines` are the names `#ifdef` tests.
pub fn parse(text: &str, defines: &[&str]) -> Result<Script, ParseError> {
    let blanked = blank_comments(text)?;
    let mut script = Script::default();
    let mut ifdef = Ifdef::default();
    let mut offset = 0;
    let mut lines = blanked.split_inclusive('\n').enumerate().peekable();
    while let Some((index, raw)) = lines.next() {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let lead = line.len() - line.trim_start().len();
        let body = line.trim();
        let span = start + lead..start + lead + body.len();
        if body.is_empty() {
            continue;
        }
        if ifdef.line(body, &span, defines)? {
            continue;
        }
        if let Some(opt) = body.strip_prefix("--") {
            let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
            script
                .options
                .push((name.to_string(), value.to_string(), index + 1));
            continue;
        }
        let mut end = span.end;
        let mut full = body.to_string();
        // A code block runs until its `}%`, a command until its closing
        // backquote, possibly lines later.
        let open =
            |t: &str| (t.contains("%{") && !t.contains("}%")) || t.matches('`').count() % 2 == 1;
        if open(&full) {
            // The first line's end was trimmed off: the lines stay lines.
            full.push('\n');
            for (_, more) in lines.by_ref() {
                offset += more.len();
                full.push_str(more);
                end = offset;
                if !open(&full) {
                    break;
                }
            }
            if open(&full) {
                return Err(err(
                    span,
                    "unterminated %{ code block or `command`",
                    "}% or `",
                    None,
                ));
            }
        }
        let event = parse_line(&full, span.start, end, index + 1)?;
        script.events.push(event);
    }
    if let Some(at) = ifdef.open {
        return Err(err(at..at + 6, "#ifdef without #endif", "#endif", None));
    }
    Ok(script)
}

/// Where the lines are among `#ifdef NAME` … `#endif`.
#[derive(Default)]
struct Ifdef {
    /// The start of the open `#ifdef`.
    open: Option<usize>,
    /// Its NAME is not defined: its lines are left out.
    skipping: bool,
}

impl Ifdef {
    /// Whether `body` is left out: a directive, or a line of a false branch.
    fn line(
        &mut self,
        body: &str,
        span: &Range<usize>,
        defines: &[&str],
    ) -> Result<bool, ParseError> {
        if let Some(name) = body.strip_prefix("#ifdef") {
            if self.open.is_some() {
                return Err(err(span.clone(), "nested #ifdef", "#endif", None));
            }
            self.open = Some(span.start);
            self.skipping = !defines.contains(&name.trim());
            return Ok(true);
        }
        if body == "#endif" {
            if self.open.take().is_none() {
                return Err(err(span.clone(), "#endif without #ifdef", "an event", None));
            }
            self.skipping = false;
            return Ok(true);
        }
        Ok(self.skipping)
    }
}

fn err(span: std::ops::Range<usize>, m: &str, e: &str, hint: Option<&str>) -> ParseError {
    ParseError {
        span,
        message: m.to_string(),
        expected: e.to_string(),
        hint: hint.map(str::to_string),
    }
}

/// The text with `//` and `/* */` comments replaced by spaces (newlines
/// kept), so every byte keeps its offset. Backquoted commands and strings
/// are left alone (a command may contain `//`).
fn blank_comments(text: &str) -> Result<String, ParseError> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let (mut i, mut quote) = (0, None::<u8>);
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            // A command may span lines; a string may not.
            if c == q || (c == b'\n' && q == b'"') {
                quote = None;
            }
            i += 1;
            continue;
        }
        match (c, b.get(i + 1)) {
            (b'`' | b'"', _) => quote = Some(c),
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
                continue;
            }
            (b'/', Some(b'*')) => {
                let close = text[i + 2..]
                    .find("*/")
                    .ok_or_else(|| err(i..i + 2, "unterminated /* comment", "*/", None))?;
                for o in &mut out[i..i + 2 + close + 2] {
                    if *o != b'\n' {
                        *o = b' ';
                    }
                }
                i += close + 4;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII spaces: still UTF-8.
    Ok(String::from_utf8(out).expect("blanking keeps UTF-8"))
}

/// Parses one event line (`full` starts at byte `start` of the script).
fn parse_line(full: &str, start: usize, end: usize, line: usize) -> Result<Event, ParseError> {
    let mut input: In = full;
    // A command before the first event has no time (the Linux suite's
    // `` `../common/defaults.sh` ``; parser.y's init commands): it runs at 0.
    let untimed = full.starts_with('`');
    let result = if untimed {
        event_what
            .map(|w| ((Time::Rel(0), None), "", w))
            .parse_next(&mut input)
    } else {
        (event_time, space0, event_what).parse_next(&mut input)
    };
    let failed = |input: In, e: Option<ContextError>| {
        let at = start + (full.len() - input.len());
        let expected = e
            .map(|e| {
                // The innermost context names what the line needed there.
                e.context()
                    .find_map(|c| match c {
                        StrContext::Expected(v) => Some(v.to_string()),
                        _ => None,
                    })
                    .unwrap_or_default()
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "the end of the line".into());
        let token = input.split_whitespace().next().unwrap_or("");
        let len = token.len().max(1);
        err(
            at..(at + len).min(end.max(at + 1)),
            &format!("cannot read this event: expected {expected}"),
            &expected,
            Some("a line is `TIME EVENT`: `+0.1 < S 0:0(0) win 65535`, `+0 close(3) = 0`, `` +0 `sysctl …` ``"),
        )
    };
    match result {
        Ok((time, _, what)) => {
            let rest = input.trim();
            if !rest.is_empty() {
                return Err(failed(input.trim_start(), None));
            }
            let (time, what) = attach_end(time, what);
            Ok(Event {
                line,
                span: start..end,
                time,
                what,
            })
        }
        Err(ErrMode::Backtrack(e) | ErrMode::Cut(e)) => Err(failed(input, Some(e))),
        Err(ErrMode::Incomplete(_)) => Err(failed(input, None)),
    }
}

/// A blocking call's `...END` was read as part of the time; it belongs to the call.
fn attach_end(time: (Time, Option<Time>), what: What) -> (Time, What) {
    match (time, what) {
        ((t, Some(end)), What::Syscall(mut s)) => {
            s.end = Some(end);
            (t, What::Syscall(s))
        }
        ((t, _), w) => (t, w),
    }
}

/// Seconds with an optional fraction (`0`, `.01`, `1.5`), as microseconds.
fn seconds(i: &mut In) -> ModalResult<Usecs> {
    let (whole, frac) = alt((
        (digit1, opt(preceded('.', digit1))),
        preceded('.', digit1).map(|f| ("0", Some(f))),
    ))
    .context(label("a time in seconds"))
    .parse_next(i)?;
    let whole: i64 = whole.parse().unwrap_or(i64::MAX / 2_000_000);
    let mut micros = frac.unwrap_or("").chars().take(6).collect::<String>();
    while micros.len() < 6 {
        micros.push('0');
    }
    let micros: i64 = micros.parse().unwrap_or(0);
    Ok(whole.saturating_mul(1_000_000).saturating_add(micros))
}

/// `N` or `+N`: (relative, usecs).
fn one_time(i: &mut In) -> ModalResult<(bool, Usecs)> {
    (opt('+').map(|p| p.is_some()), seconds).parse_next(i)
}

/// TIME, and a blocking call's `...END`.
fn event_time(i: &mut In) -> ModalResult<(Time, Option<Time>)> {
    let time = alt((
        '*'.value(Time::Any),
        (one_time, opt(preceded('~', one_time))).map(|(a, b)| match (a, b) {
            ((true, a), None) => Time::Rel(a),
            ((false, a), None) => Time::Abs(a),
            ((true, a), Some((_, b))) => Time::RelRange(a, b),
            ((false, a), Some((_, b))) => Time::AbsRange(a, b),
        }),
    ))
    .context(label("a time (`0.1`, `+0.1`, `a~b`, `*`)"))
    .parse_next(i)?;
    let end = opt(preceded("...", one_time))
        .parse_next(i)?
        .map(|(rel, t)| if rel { Time::Rel(t) } else { Time::Abs(t) });
    Ok((time, end))
}

fn event_what(i: &mut In) -> ModalResult<What> {
    alt((
        packet.map(What::Packet),
        delimited('`', take_till(0.., '`'), '`').map(|c: &str| What::Command(c.to_string())),
        delimited("%{", take_till(0.., '}'), "}%").map(|c: &str| What::Code(c.trim().to_string())),
        syscall.map(What::Syscall),
    ))
    .context(label(
        "a segment (`<`, `>`), a system call, a `command` or a %{ block }%",
    ))
    .parse_next(i)
}

fn ident<'a>(i: &mut In<'a>) -> ModalResult<&'a str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .parse_next(i)
}

fn syscall(i: &mut In) -> ModalResult<Syscall> {
    let name = ident
        .context(label("a system call name"))
        .parse_next(i)?
        .to_string();
    '('.parse_next(i)?;
    let args = separated(0.., delimited(space0, expr, space0), ',').parse_next(i)?;
    cut_err(')')
        .context(label("`)` or `,` in the arguments"))
        .parse_next(i)?;
    cut_err((space0, '=', space0))
        .context(label("`= RESULT`"))
        .parse_next(i)?;
    let ret = cut_err(int)
        .context(label("the call's result (a number)"))
        .parse_next(i)?;
    let is_errno = |w: &str| {
        w.starts_with('E')
            && w.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let errno = opt(preceded(space1, ident.verify(is_errno)))
        .parse_next(i)?
        .map(str::to_string);
    // `(text)`: the errno's text, or a note like `(flags O_RDWR)`; not checked.
    opt((space0, delimited('(', take_till(0.., ')'), ')'))).parse_next(i)?;
    Ok(Syscall {
        name,
        args,
        ret,
        errno,
        end: None,
    })
}

fn int(i: &mut In) -> ModalResult<i64> {
    let neg = opt('-').parse_next(i)?.is_some();
    let v = uint.parse_next(i)? as i64;
    Ok(if neg { -v } else { v })
}

fn atom(i: &mut In) -> ModalResult<Expr> {
    alt((
        "...".value(Expr::Ellipsis),
        int.map(Expr::Int),
        ident.map(|w: &str| Expr::Word(w.to_string())),
        delimited('"', take_till(0.., '"'), '"').map(|s: &str| Expr::Str(s.to_string())),
        delimited(
            '[',
            separated(0.., delimited(space0, expr, space0), ','),
            cut_err(']'),
        )
        .map(Expr::List),
        delimited(
            '{',
            separated(
                0..,
                (
                    delimited(space0, ident, space0),
                    '=',
                    delimited(space0, expr, space0),
                )
                    .map(|(k, _, v)| (k.to_string(), v)),
                ',',
            ),
            cut_err('}'),
        )
        .map(Expr::Struct),
    ))
    .context(label("an argument (`...`, a number, a name, `[…]`, `{…}`)"))
    .parse_next(i)
}

fn expr(i: &mut In) -> ModalResult<Expr> {
    let first = atom.parse_next(i)?;
    let mut rest: Vec<Expr> = Vec::new();
    while opt((space0, '|', space0)).parse_next(i)?.is_some() {
        rest.push(cut_err(atom).parse_next(i)?);
    }
    if rest.is_empty() {
        return Ok(first);
    }
    rest.insert(0, first);
    Ok(Expr::Or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Event {
        let s = parse(line, &[]).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(s.events.len(), 1, "{line}");
        s.events[0].clone()
    }

    #[test]
    fn times() {
        assert_eq!(one("0 close(3) = 0").time, Time::Abs(0));
        assert_eq!(one("+.01 close(3) = 0").time, Time::Rel(10_000));
        assert_eq!(one("0.100 close(3) = 0").time, Time::Abs(100_000));
        assert_eq!(one("* close(3) = 0").time, Time::Any);
        let e = one("+.01~+.015 > F. 1:1(0) ack 1");
        assert_eq!(e.time, Time::RelRange(10_000, 15_000));
        let e = one("+.01...0.011 connect(3, ..., ...) = 0");
        assert_eq!(e.time, Time::Rel(10_000));
        let What::Syscall(s) = e.what else { panic!() };
        assert_eq!(s.end, Some(Time::Abs(11_000)));
    }

    #[test]
    fn packets() {
        let e = one("+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
        let What::Packet(p) = e.what else { panic!() };
        assert_eq!(p.dir, Dir::Inbound);
        assert_eq!(p.flags, "S");
        assert_eq!(p.seq, Some((0, 0)));
        assert_eq!(p.win, Some(32792));
        let opts = p.opts.unwrap();
        assert_eq!(opts[0], TcpOpt::Mss(1000));
        assert_eq!(opts[5], TcpOpt::Wscale(7));
        let What::Packet(p) = one("+0 > S 0:0(0) <...>").what else {
            panic!()
        };
        assert_eq!(p.opts, None);
        let What::Packet(p) = one("+0 >  P. 1:1001(1000) ack 1").what else {
            panic!()
        };
        assert_eq!(
            (p.seq, p.len, p.ack, p.win),
            (Some((1, 1001)), 1000, Some(1), None)
        );
        let e = one("+0.00 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>");
        let What::Packet(p) = e.what else { panic!() };
        assert_eq!(p.opts.unwrap()[4], TcpOpt::Ts { val: 100, ecr: 0 });
        let What::Packet(p) = one("+0.00 > S.  ...(0) ack 65537 win 65535").what else {
            panic!()
        };
        assert_eq!(p.seq, None);
        let What::Packet(p) =
            one("+0.1 < (tos 0x28)  .  1:1(0) ack 2921 win 32767 <sack 4381:5841, nop, nop>").what
        else {
            panic!()
        };
        assert_eq!(p.ip, vec!["tos 0x28".to_string()]);
        assert_eq!(p.opts.unwrap()[0], TcpOpt::Sack(vec![(4381, 5841)]));
    }

    #[test]
    fn syscalls() {
        let What::Syscall(s) =
            one("+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0").what
        else {
            panic!()
        };
        assert_eq!(s.name, "setsockopt");
        assert_eq!(
            s.args[3],
            Expr::Struct(vec![
                ("l_onoff".into(), Expr::Int(1)),
                ("l_linger".into(), Expr::Int(0))
            ])
        );
        let What::Syscall(s) =
            one("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)").what
        else {
            panic!()
        };
        assert_eq!((s.ret, s.errno.as_deref()), (-1, Some("EINPROGRESS")));
        let What::Syscall(s) =
            one("+0 write(4, ..., 100) = -1 ECONNRESET(Connection reset by peer)").what
        else {
            panic!()
        };
        assert_eq!(s.errno.as_deref(), Some("ECONNRESET"));
        let What::Syscall(s) = one("+0.00 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)").what else {
            panic!()
        };
        assert_eq!((s.ret, s.errno), (2, None));
        let What::Syscall(s) = one("+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0").what else {
            panic!()
        };
        assert_eq!(
            s.args[2],
            Expr::Or(vec![
                Expr::Word("O_RDWR".into()),
                Expr::Word("O_NONBLOCK".into())
            ])
        );
        let What::Syscall(s) =
            one("+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0").what
        else {
            panic!()
        };
        assert_eq!(s.args[3], Expr::List(vec![Expr::Word("ECONNRESET".into())]));
    }

    #[test]
    fn commands_code_options_comments_and_ifdef() {
        let text = "--tolerance_usecs=75000\n// c\n 0.00 `sysctl -w net.inet.tcp.rfc1323=1` // x\n\
                    /* a\n b */ +0 %{ assert x\n }%\n#ifdef FreeBSD\n+0 close(3) = 0\n#endif\n";
        let s = parse(text, &[]).unwrap();
        assert_eq!(s.option("tolerance_usecs"), Some("75000"));
        assert_eq!(s.events.len(), 2);
        assert_eq!(
            s.events[0].what,
            What::Command("sysctl -w net.inet.tcp.rfc1323=1".into())
        );
        assert_eq!(s.events[1].line, 5);
        assert!(matches!(s.events[1].what, What::Code(_)));
        assert_eq!(parse(text, &["FreeBSD"]).unwrap().events.len(), 3);
    }

    #[test]
    fn errors_are_located() {
        let e = parse("0 close(3) = 0\n+0 < Q 1:1(0)\n", &[]).unwrap_err();
        assert_eq!(e.span.start, 20, "{e:?}");
        assert!(e.message.contains("TCP flags"), "{e:?}");
        let e = parse("+0 close(3) 0\n", &[]).unwrap_err();
        assert!(e.message.contains("= RESULT"), "{e:?}");
        assert_eq!(e.span.start, 12);
        let e = parse("/* open", &[]).unwrap_err();
        assert!(e.message.contains("unterminated"));
        let e = parse("#ifdef X\n", &[]).unwrap_err();
        assert!(e.message.contains("without #endif"));
        let e = parse("+0 close(3) = 0 junk\n", &[]).unwrap_err();
        assert_eq!(e.span, 16..20);
    }
}
