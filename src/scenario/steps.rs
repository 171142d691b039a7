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

use crate::units::{format_duration, parse_duration, parse_size};
use model::{Errno, How, TimeNs};
use sim::spec::{At, Expect};
use std::fmt;
use std::ops::Range;

/// A word of a step and where it is in the step's text.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// A call with its arguments; names are not yet resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Socket { sock: Tok },
    Bind { sock: Tok, port: u16 },
    Listen { sock: Tok, port: u16, backlog: u32 },
    Accept { listener: Tok, sock: Tok },
    Connect { sock: Tok, host: Tok, port: u16 },
    Write { sock: Tok, bytes: u64 },
    Read { sock: Tok, max: u64 },
    ReadEof { sock: Tok },
    Shutdown { sock: Tok, how: How },
    Close { sock: Tok },
    Linger { sock: Tok, linger: Option<u32> },
    Nonblocking { sock: Tok, on: bool },
    Keepalive { sock: Tok, on: bool },
    RcvBuf { sock: Tok, bytes: u32 },
    SndBuf { sock: Tok, bytes: u32 },
    Dup { sock: Tok, new: Tok },
    Fork { child: Tok },
    Exit,
    Sleep { ns: TimeNs },
}

/// One parsed step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepDef {
    pub at: At,
    pub proc: Tok,
    pub op: Op,
    pub expect: Option<Expect>,
}

/// A problem inside a step's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    pub at: Range<usize>,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

/// The calls, their argument syntax, and what they mean (for help and errors).
pub const CALLS: &[(&str, &str, &str)] = &[
    ("socket", "socket S", "create a socket named S"),
    ("bind", "bind S PORT", "bind S to a local port"),
    (
        "listen",
        "listen S PORT [backlog=N]",
        "socket + bind + listen (backlog 128 by default)",
    ),
    (
        "accept",
        "accept L as S",
        "accept a connection from listener L as S",
    ),
    (
        "connect",
        "connect S HOST:PORT",
        "connect S (created if needed) to HOST:PORT",
    ),
    (
        "write",
        "write S SIZE",
        "write SIZE bytes (blocks while the send buffer is full)",
    ),
    (
        "read",
        "read S SIZE | read S eof",
        "read up to SIZE bytes, or read until EOF or an error",
    ),
    (
        "shutdown",
        "shutdown S rd|wr|rdwr",
        "shutdown(SHUT_RD / SHUT_WR / SHUT_RDWR)",
    ),
    (
        "close",
        "close S",
        "close the descriptor (alias: closesocket)",
    ),
    (
        "linger",
        "linger S off|SECONDS",
        "SO_LINGER: off, {1, 0} (abortive), or {1, N}",
    ),
    (
        "nonblocking",
        "nonblocking S [on|off]",
        "O_NONBLOCK on (default) or off",
    ),
    (
        "keepalive",
        "keepalive S [on|off]",
        "SO_KEEPALIVE on (default) or off",
    ),
    ("rcvbuf", "rcvbuf S SIZE", "SO_RCVBUF"),
    ("sndbuf", "sndbuf S SIZE", "SO_SNDBUF"),
    (
        "dup",
        "dup S as S2",
        "a second descriptor for the same socket",
    ),
    (
        "fork",
        "fork CHILD",
        "start process CHILD with copies of every descriptor",
    ),
    ("exit", "exit", "process exit (alias: WSACleanup)"),
    ("sleep", "sleep DURATION", "do nothing for a while"),
];

fn err(
    at: Range<usize>,
    message: impl Into<String>,
    label: impl Into<String>,
    help: Option<String>,
) -> StepError {
    StepError {
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
            whole,
            "empty step",
            "nothing here",
            Some(
                "a step is `TIME PROCESS CALL ARGS…`, e.g. `0ms client connect c server:80`".into(),
            ),
        ));
    };
    let at = parse_at(time)?;
    let Some(proc) = toks.get(1).cloned() else {
        return Err(err(
            time.at.end..line.len().max(time.at.end + 1),
            "missing process name",
            "expected a process name here",
            Some("a step is `TIME PROCESS CALL ARGS…`".into()),
        ));
    };
    let Some(call) = toks.get(2) else {
        return Err(err(
            proc.at.end..line.len().max(proc.at.end + 1),
            "missing call",
            "expected a call here",
            Some(format!("valid calls: {}", call_names())),
        ));
    };
    let op = parse_op(call, &toks[3..], line.len())?;
    let expect = match expect_part {
        Some((text, range)) => Some(parse_expect(text.trim(), range)?),
        None => None,
    };
    Ok(StepDef {
        at,
        proc,
        op,
        expect,
    })
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
    CALLS.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
}

fn parse_at(t: &Tok) -> Result<At, StepError> {
    let bad = |e: String| {
        err(t.at.clone(), format!("bad step time `{}`: {e}", t.text), "expected a time", Some("write `1ms` (absolute), `+10ms` (after the previous step of this process) or `-` (right after it)".into()))
    };
    if t.text == "-" {
        return Ok(At::Next);
    }
    if let Some(rel) = t.text.strip_prefix('+') {
        return parse_duration(rel).map(At::After).map_err(bad);
    }
    parse_duration(&t.text).map(At::Abs).map_err(bad)
}

fn parse_op(call: &Tok, args: &[Tok], line_len: usize) -> Result<Op, StepError> {
    let name = call.text.as_str();
    let usage = CALLS.iter().find(|c| c.0 == name).map(|c| c.1);
    let arg = |i: usize, what: &str| -> Result<Tok, StepError> {
        args.get(i).cloned().ok_or_else(|| {
            let at = args.last().map_or(call.at.end, |a| a.at.end);
            err(
                at..(at + 1).min(line_len.max(at + 1)),
                format!("`{name}` needs {what}"),
                format!("expected {what}"),
                usage.map(|u| format!("usage: {u}")),
            )
        })
    };
    let extra = |n: usize| -> Result<(), StepError> {
        match args.get(n) {
            Some(t) => Err(err(
                t.at.clone(),
                format!("unexpected argument `{}` to `{name}`", t.text),
                "not expected here",
                usage.map(|u| format!("usage: {u}")),
            )),
            None => Ok(()),
        }
    };
    let size = |t: &Tok| {
        parse_size(&t.text).map_err(|e| {
            err(
                t.at.clone(),
                format!("bad size `{}`: {e}", t.text),
                "expected a size",
                Some("sizes are `1000`, `64KiB`, `10MB`".into()),
            )
        })
    };
    let size32 = |t: &Tok| {
        size(t).and_then(|v| {
            u32::try_from(v).map_err(|_| err(t.at.clone(), "size too large", "at most 4 GiB", None))
        })
    };
    let port = |t: &Tok| {
        t.text.trim_start_matches(':').parse::<u16>().map_err(|_| {
            err(
                t.at.clone(),
                format!("bad port `{}`", t.text),
                "expected a port number 0–65535",
                None,
            )
        })
    };
    let as_name = |i: usize| -> Result<Tok, StepError> {
        let t = arg(i, "`as NAME`")?;
        if t.text == "as" {
            arg(i + 1, "a socket name after `as`")
        } else {
            Ok(t)
        }
    };
    let as_len = |i: usize| {
        if args.get(i).is_some_and(|t| t.text == "as") {
            i + 2
        } else {
            i + 1
        }
    };
    let op = match name {
        "socket" => {
            extra(1)?;
            Op::Socket {
                sock: arg(0, "a socket name")?,
            }
        }
        "bind" => {
            extra(2)?;
            Op::Bind {
                sock: arg(0, "a socket name")?,
                port: port(&arg(1, "a port")?)?,
            }
        }
        "listen" => {
            let sock = arg(0, "a socket name")?;
            let p = port(&arg(1, "a port")?)?;
            let mut backlog = 128;
            if let Some(t) = args.get(2) {
                let v = t.text.strip_prefix("backlog=").ok_or_else(|| {
                    err(
                        t.at.clone(),
                        format!("unexpected argument `{}` to `listen`", t.text),
                        "expected `backlog=N`",
                        usage.map(|u| format!("usage: {u}")),
                    )
                })?;
                backlog = v.parse().map_err(|_| {
                    err(
                        t.at.clone(),
                        format!("bad backlog `{v}`"),
                        "expected a number",
                        None,
                    )
                })?;
            }
            extra(3)?;
            Op::Listen {
                sock,
                port: p,
                backlog,
            }
        }
        "accept" => {
            let listener = arg(0, "a listener name")?;
            let sock = as_name(1)?;
            extra(as_len(1))?;
            Op::Accept { listener, sock }
        }
        "connect" => {
            let sock = arg(0, "a socket name")?;
            let to = arg(1, "HOST:PORT")?;
            let (h, p) = to.text.rsplit_once(':').ok_or_else(|| {
                err(
                    to.at.clone(),
                    format!("bad address `{}`", to.text),
                    "expected HOST:PORT",
                    Some("e.g. `connect c server:80`".into()),
                )
            })?;
            let port_tok = Tok::new(p, to.at.start + h.len() + 1..to.at.end);
            extra(2)?;
            Op::Connect {
                sock,
                host: Tok::new(h, to.at.start..to.at.start + h.len()),
                port: port(&port_tok)?,
            }
        }
        "write" | "send" => {
            extra(2)?;
            Op::Write {
                sock: arg(0, "a socket name")?,
                bytes: size(&arg(1, "a size")?)?,
            }
        }
        "read" | "recv" => {
            let sock = arg(0, "a socket name")?;
            let n = arg(1, "a size or `eof`")?;
            extra(2)?;
            if n.text == "eof" {
                Op::ReadEof { sock }
            } else {
                Op::Read {
                    sock,
                    max: size(&n)?,
                }
            }
        }
        "shutdown" => {
            let sock = arg(0, "a socket name")?;
            let h = arg(1, "rd, wr or rdwr")?;
            extra(2)?;
            let how = match h.text.as_str() {
                "rd" | "SHUT_RD" | "SD_RECEIVE" => How::Rd,
                "wr" | "SHUT_WR" | "SD_SEND" => How::Wr,
                "rdwr" | "SHUT_RDWR" | "SD_BOTH" => How::RdWr,
                _ => return Err(err(
                    h.at.clone(),
                    format!("bad shutdown direction `{}`", h.text),
                    "expected rd, wr or rdwr",
                    Some(
                        "also accepted: SHUT_RD, SHUT_WR, SHUT_RDWR, SD_RECEIVE, SD_SEND, SD_BOTH"
                            .into(),
                    ),
                )),
            };
            Op::Shutdown { sock, how }
        }
        "close" | "closesocket" => {
            extra(1)?;
            Op::Close {
                sock: arg(0, "a socket name")?,
            }
        }
        "linger" => {
            let sock = arg(0, "a socket name")?;
            let v = arg(1, "`off` or a number of seconds")?;
            extra(2)?;
            let linger = if v.text == "off" {
                None
            } else {
                Some(v.text.trim_end_matches('s').parse().map_err(|_| {
                    err(
                        v.at.clone(),
                        format!("bad linger `{}`", v.text),
                        "expected `off` or seconds",
                        Some(
                            "`linger s 0` is an abortive close; `linger s 5` waits up to 5 s"
                                .into(),
                        ),
                    )
                })?)
            };
            Op::Linger { sock, linger }
        }
        "nonblocking" | "keepalive" => {
            let sock = arg(0, "a socket name")?;
            let on = match args.get(1).map(|t| t.text.as_str()) {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => {
                    return Err(err(
                        args[1].at.clone(),
                        "expected `on` or `off`",
                        "here",
                        None,
                    ))
                }
            };
            extra(2)?;
            if name == "nonblocking" {
                Op::Nonblocking { sock, on }
            } else {
                Op::Keepalive { sock, on }
            }
        }
        "rcvbuf" | "sndbuf" => {
            let sock = arg(0, "a socket name")?;
            let bytes = size32(&arg(1, "a size")?)?;
            extra(2)?;
            if name == "rcvbuf" {
                Op::RcvBuf { sock, bytes }
            } else {
                Op::SndBuf { sock, bytes }
            }
        }
        "dup" => {
            let sock = arg(0, "a socket name")?;
            let new = as_name(1)?;
            extra(as_len(1))?;
            Op::Dup { sock, new }
        }
        "fork" => {
            extra(1)?;
            Op::Fork {
                child: arg(0, "the child process's name")?,
            }
        }
        "exit" | "WSACleanup" => {
            extra(0)?;
            Op::Exit
        }
        "sleep" => {
            let d = arg(0, "a duration")?;
            extra(1)?;
            Op::Sleep {
                ns: parse_duration(&d.text).map_err(|e| {
                    err(
                        d.at.clone(),
                        format!("bad duration `{}`: {e}", d.text),
                        "expected a duration",
                        None,
                    )
                })?,
            }
        }
        _ => {
            let guess = model::personality::closest(name, CALLS.iter().map(|c| c.0));
            let help = match guess {
                Some(g) => format!("did you mean `{g}`? valid calls: {}", call_names()),
                None => format!("valid calls: {}", call_names()),
            };
            return Err(err(
                call.at.clone(),
                format!("unknown call `{name}`"),
                "not a call",
                Some(help),
            ));
        }
    };
    Ok(op)
}

fn parse_expect(text: &str, at: Range<usize>) -> Result<Expect, StepError> {
    if text == "ok" {
        return Ok(Expect::Ok);
    }
    if text == "eof" || text == "EOF" {
        return Ok(Expect::Value(0));
    }
    if let Some(e) = Errno::parse(text) {
        return Ok(Expect::Error(e));
    }
    if let Ok(v) = parse_size(text) {
        return Ok(Expect::Value(v));
    }
    let names: Vec<&str> = Errno::ALL.iter().map(|e| e.name()).collect();
    Err(err(
        at,
        format!("bad expected result `{text}`"),
        "expected a count, `eof`, `ok` or an errno",
        Some(format!("errno names: {}", names.join(", "))),
    ))
}

impl fmt::Display for StepDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            At::Next => f.write_str("-")?,
            At::Abs(t) => f.write_str(&format_duration(t))?,
            At::After(t) => write!(f, "+{}", format_duration(t))?,
        }
        write!(f, " {} ", self.proc.text)?;
        match &self.op {
            Op::Socket { sock } => write!(f, "socket {}", sock.text),
            Op::Bind { sock, port } => write!(f, "bind {} {port}", sock.text),
            Op::Listen {
                sock,
                port,
                backlog,
            } => write!(f, "listen {} {port} backlog={backlog}", sock.text),
            Op::Accept { listener, sock } => write!(f, "accept {} as {}", listener.text, sock.text),
            Op::Connect { sock, host, port } => {
                write!(f, "connect {} {}:{port}", sock.text, host.text)
            }
            Op::Write { sock, bytes } => write!(f, "write {} {bytes}", sock.text),
            Op::Read { sock, max } => write!(f, "read {} {max}", sock.text),
            Op::ReadEof { sock } => write!(f, "read {} eof", sock.text),
            Op::Shutdown { sock, how } => {
                let h = match how {
                    How::Rd => "rd",
                    How::Wr => "wr",
                    How::RdWr => "rdwr",
                };
                write!(f, "shutdown {} {h}", sock.text)
            }
            Op::Close { sock } => write!(f, "close {}", sock.text),
            Op::Linger { sock, linger: None } => write!(f, "linger {} off", sock.text),
            Op::Linger {
                sock,
                linger: Some(n),
            } => write!(f, "linger {} {n}", sock.text),
            Op::Nonblocking { sock, on } => write!(
                f,
                "nonblocking {} {}",
                sock.text,
                if *on { "on" } else { "off" }
            ),
            Op::Keepalive { sock, on } => write!(
                f,
                "keepalive {} {}",
                sock.text,
                if *on { "on" } else { "off" }
            ),
            Op::RcvBuf { sock, bytes } => write!(f, "rcvbuf {} {bytes}", sock.text),
            Op::SndBuf { sock, bytes } => write!(f, "sndbuf {} {bytes}", sock.text),
            Op::Dup { sock, new } => write!(f, "dup {} as {}", sock.text, new.text),
            Op::Fork { child } => write!(f, "fork {}", child.text),
            Op::Exit => f.write_str("exit"),
            Op::Sleep { ns } => write!(f, "sleep {}", format_duration(*ns)),
        }?;
        if let Some(e) = &self.expect {
            write!(f, " = {e}")?;
        }
        Ok(())
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
        assert_eq!(s.at, At::Abs(0));
        assert!(matches!(
            s.op,
            Op::Listen {
                port: 80,
                backlog: 1,
                ..
            }
        ));
        let s = ok("+0 client read c eof = ECONNRESET");
        assert_eq!(s.at, At::After(0));
        assert_eq!(s.expect, Some(Expect::Error(Errno::ECONNRESET)));
        let s = ok("- client write c 64KiB = 65536");
        assert_eq!(s.at, At::Next);
        assert!(matches!(s.op, Op::Write { bytes: 65536, .. }));
        let s = ok("1ms client connect c server:80");
        match s.op {
            Op::Connect { host, port, .. } => {
                assert_eq!((host.text.as_str(), port), ("server", 80));
                assert_eq!(host.at, 21..27);
            }
            _ => panic!(),
        }
        assert!(matches!(ok("0 w closesocket s").op, Op::Close { .. }));
        assert!(matches!(ok("0 w WSACleanup").op, Op::Exit));
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
