//! Errors about one word of a step: a duration or size, a packet line, poll
//! bits or select sets that do not read.

use super::{err, StepError, Tok};
use crate::diag::Class;
use crate::units::UnitError;
use model::call::{poll_bits, select_sets, POLL_SOCKS_MAX};
use std::ops::Range;

/// An error about a duration or size word: `what` it is, how to write one.
pub(super) fn unit_err(e: UnitError, t: &Tok, what: &str, how: &str) -> StepError {
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
pub(super) fn unit_class(e: &UnitError) -> Class {
    match e.out_of_range {
        true => Class::Range,
        false => Class::Value,
    }
}

/// `POLLIN,0` (one poll step's revents per socket) that does not parse:
/// points at the first lane that is not poll bits.
pub(super) fn revents_each_err(text: &str, at: Range<usize>) -> StepError {
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
pub(super) fn packet_err(
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

/// A word that should be poll bits and is not.
/// Select sets that do not parse (or a step asking for none).
pub(super) fn select_sets_err(t: &Tok) -> StepError {
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

pub(super) fn poll_bits_err(t: &Tok) -> StepError {
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
