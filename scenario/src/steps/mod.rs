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
use model::call::{Call, Naming, CALLS};
use model::Duration;
use serde::Serialize;
use sim::spec::{At, Expect, Within};
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

pub fn call_names() -> String {
    CALLS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

mod args;
mod errors;
mod expect;
mod line;
mod render;
#[cfg(test)]
mod tests;

pub use line::parse_step;
pub(crate) use line::AFTER_HELP;
