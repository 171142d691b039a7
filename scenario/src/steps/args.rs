//! A call's arguments: the call table ([`CALLS`]) names the call's syntax,
//! [`Words`] reads the step's words in that order.

use super::errors::{packet_err, poll_bits_err, select_sets_err, unit_err};
use super::{call_names, err, Op, StepError, Text, Tok};
use crate::diag::Class;
use crate::units::{parse_duration, parse_size, DURATIONS};
use model::call::{
    poll_bits, select_sets, ArgSyntax, Call, Dest, PollAlso, ReadLen, SockOpt, CALLS,
    POLL_SOCKS_MAX,
};
use model::{Duration, How, RawSeg};

/// An integer word within `0..=max`: `what` says what it counts, for the
/// error (out of range, with the range; or not an integer).
pub(super) fn integer(t: &Tok, text: &str, what: &str, max: u64) -> Result<u64, StepError> {
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

pub(super) fn parse_op(call: &Tok, args: &[Tok], line: &str) -> Result<Op, StepError> {
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
