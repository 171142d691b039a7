//! `--to-scenario --peer tcp` refuses honestly: the written file is run (the
//! same world `tcpsim run` runs) and what each host sent is compared with
//! the script, every segment line in order through the runner's own matcher
//! (sim/src/segmatch.rs): the peer's segments with the `<` lines (flags,
//! sequence range, ACK, time within the tolerance; not PSH, the window or
//! options, which the receiver under test does not act on or the model does
//! not carry), the tested host's with the `>` lines (every field the runner
//! compares). Then the tested host's call results, the file's expectations.
//! The first difference, in script order, is the line refused.

use super::parse::{Dir, Packet, Usecs};
use super::report::Unsupported;
use super::run::REMOTE_ISN;
use model::{Flags, HostId, Segment};
use sim::segmatch::{take_next, Isns, Miss};
use sim::trace::{Entry, What};
use std::collections::VecDeque;

/// A segment line of the script, as the converter met it.
#[derive(Clone, Debug)]
pub struct Line {
    pub line: usize,
    /// Its script time.
    pub t_us: Usecs,
    pub packet: Packet,
    /// The shift a `>` line's `win` is read with (0 unless both SYN lines scale).
    pub win_shift: u8,
}

pub struct Check<'a> {
    pub lines: &'a [Line],
    /// The script line of each step of the file, in order (0: a peer step).
    pub step_lines: &'a [usize],
    pub tolerance_usecs: Usecs,
    /// The peer's personality, as the refusals name it.
    pub peer: &'a str,
}

const HINT: &str = "the script's peer is not a plain TCP: convert it with `--peer raw`";
/// Where our own segment differs: the script does not hold with a TCP peer
/// (or not at all: `tcpsim packetdrill SCRIPT` says).
const HINT_OURS: &str =
    "the script does not hold with a TCP peer in place of its own: convert it with `--peer raw`";

type Sent = VecDeque<(Usecs, Segment)>;

fn nope(line: usize, reason: String) -> Unsupported {
    Unsupported { line, reason }
}

impl Check<'_> {
    /// Runs the file `text` (named `name`); the first line it does not
    /// honour, refused with what the run did instead.
    pub fn run(&self, name: &str, text: &str) -> Result<(), Unsupported> {
        let overrides = Default::default();
        let s = crate::scenario::from_text(name, text, std::path::Path::new("."), &overrides)
            .map_err(|d| {
                let why = d.first().map_or(String::new(), |d| d.message.clone());
                nope(
                    0,
                    format!("the written scenario does not load ({why}): a converter bug"),
                )
            })?;
        let mut w = sim::World::new(s.spec.clone(), true);
        let v = w.run();
        let host = |n: &str| s.spec.hosts.iter().position(|h| &*h.name == n);
        let (Some(tested), Some(peer)) = (host("tested"), host(super::peer::PEER)) else {
            return Err(nope(
                0,
                "the written scenario lacks a host: a converter bug".into(),
            ));
        };
        let segs = self.segments(w.trace(), (tested as HostId, peer as HostId));
        let calls = self.results(&v);
        match (segs, calls) {
            (Err(a), Err(b)) => Err(if b.line < a.line { b } else { a }),
            (Err(e), _) | (_, Err(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Each segment line against the next segment its sender sent.
    fn segments(
        &self,
        trace: &[Entry],
        (tested, peer): (HostId, HostId),
    ) -> Result<(), Unsupported> {
        let (mut ours, mut theirs) = (Sent::new(), Sent::new());
        for e in trace {
            if let What::Send { seg } = e.what {
                let at = (e.t_ns.as_ns() / 1000) as Usecs;
                match seg.src.host {
                    h if h == tested => ours.push_back((at, seg)),
                    h if h == peer => theirs.push_back((at, seg)),
                    _ => {}
                }
            }
        }
        let mut out_isns = Isns {
            sender: None,
            receiver: REMOTE_ISN,
        };
        let mut in_isns = Isns::default();
        for l in self.lines {
            let mut p = scenario::packet::pattern(&l.packet, l.win_shift);
            let inbound = l.packet.dir == Dir::Inbound;
            let (sent, isns) = match inbound {
                true => {
                    in_isns.receiver = out_isns.sender.unwrap_or(0);
                    (&mut theirs, &mut in_isns)
                }
                false => (&mut ours, &mut out_isns),
            };
            if inbound {
                // PSH, the window and options are not compared (module doc).
                p.win = None;
                p.opts = None;
                let psh = sent.front().is_some_and(|(_, s)| s.flags.has(Flags::PSH));
                p.flags = Flags((p.flags.0 & !Flags::PSH.0) | if psh { Flags::PSH.0 } else { 0 });
            }
            let front = sent.front().copied();
            let window = (l.t_us, l.t_us);
            if let Err(m) = take_next(&p, window, self.tolerance_usecs, sent, isns) {
                return Err(self.differs(l, m, front, *isns));
            }
        }
        self.leftover(&theirs, in_isns)
    }

    /// A segment the peer's TCP sent before the script's last segment line
    /// that no `<` line stands for.
    fn leftover(&self, theirs: &Sent, isns: Isns) -> Result<(), Unsupported> {
        let Some(last) = self.lines.last() else {
            return Ok(());
        };
        let Some(&(at, seg)) = theirs.front().filter(|(t, _)| *t < last.t_us) else {
            return Ok(());
        };
        let next = self.lines.iter().find(|l| l.t_us >= at).unwrap_or(last);
        Err(nope(
            next.line,
            format!(
                "a TCP peer ({}) sent `{}` at {}, which the script's peer does not send: {HINT}",
                self.peer,
                seg_text(&seg, isns),
                secs(at)
            ),
        ))
    }

    fn differs(&self, l: &Line, m: Miss, got: Option<(Usecs, Segment)>, isns: Isns) -> Unsupported {
        let actual = match got {
            Some((at, seg)) => format!("`{}` at {}", seg_text(&seg, isns), secs(at)),
            None => "nothing".into(),
        };
        let p = &l.packet;
        let expected = format!(
            "{} {}",
            if p.dir == Dir::Inbound { "<" } else { ">" },
            line_words(p)
        );
        let (who, hint) = match p.dir {
            Dir::Inbound => (format!("a TCP peer ({}) sent", self.peer), HINT),
            Dir::Outbound => (
                format!("with a TCP peer ({}) the tested host sent", self.peer),
                HINT_OURS,
            ),
        };
        nope(
            l.line,
            format!(
                "the script has `{expected}` at {}, {who} {actual} ({m}): {hint}",
                secs(l.t_us)
            ),
        )
    }

    /// The tested host's call results against the script's.
    fn results(&self, v: &sim::Verdict) -> Result<(), Unsupported> {
        let Some(m) = v
            .step_mismatches
            .iter()
            .min_by_key(|m| self.step_lines.get(m.step as usize).copied().unwrap_or(0))
        else {
            return Ok(());
        };
        let line = self.step_lines.get(m.step as usize).copied().unwrap_or(0);
        Err(nope(
            line,
            format!(
                "with a TCP peer ({}) the call gives {} where the script expects {}: {HINT}",
                self.peer, m.actual, m.expected
            ),
        ))
    }
}

fn secs(usecs: Usecs) -> String {
    format!("{:.6}", usecs as f64 / 1e6)
}

/// A line's words without its direction: flags, range, ack.
fn line_words(p: &Packet) -> String {
    let range = match p.seq {
        Some((a, b)) => format!("{a}:{b}({})", p.len),
        None => format!("...({})", p.len),
    };
    let ack = p.ack.map_or(String::new(), |a| format!(" ack {a}"));
    format!("{} {range}{ack}", p.flags)
}

/// A sent segment as a line, numbers relative to the ISNs.
fn seg_text(seg: &Segment, isns: Isns) -> String {
    let start = seg.seq.0.wrapping_sub(isns.sender.unwrap_or(0));
    let end = start.wrapping_add(seg.len);
    let ack = match seg.flags.ack() {
        true => format!(" ack {}", seg.ack.0.wrapping_sub(isns.receiver)),
        false => String::new(),
    };
    format!("{} {start}:{end}({}){ack}", seg.flags, seg.len)
}
