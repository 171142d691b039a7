//! A step written back as text: formatting a step and parsing it back gives
//! the same step.

use super::{StepDef, Text, Tok};
use crate::units::format_duration;
use model::call::{poll_bits, select_sets, ArgWriter, Dest, PollAlso, ReadLen, SockOpt};
use model::{Duration, How, RawSeg};
use sim::spec::At;
use std::fmt;

/// Writes a call's arguments as the step language spells them (the inverse of
/// `Words` in [`super::args`]).
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
