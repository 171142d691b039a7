//! The ladder as SVG: one lifeline per host, virtual time going down, one
//! arrow per segment sent (from its sending to its arrival, or to the point
//! where the network lost it), calls, state changes, RSTs and discards beside
//! their host.
//!
//! Rows follow the trace's order, so arrows sent in one instant do not lie on
//! top of each other; the time axis labels each row where time moved, and
//! the space between two instants grows with the logarithm of the gap (a
//! 200 ms idle wait takes a little more room than 50 µs, not 4000 times more).
//! Every coordinate is an integer: the same trace draws byte-identical SVG.

use maud::{html, Markup};
use model::{Duration, Instant, Segment};
use sim::report::{addr, entry_text, ms, seg_text, Isns};
use sim::{Entry, What, WorldSpec};

/// Width of the time axis.
const AXIS_W: u32 = 84;
/// Width of the notes beside a host (`NOTE_CHARS` monospace characters).
const NOTE_W: u32 = 360;
const NOTE_CHARS: usize = 54;
/// Space between a lifeline and its notes or labels.
const PAD: u32 = 10;
/// Horizontal distance between two lifelines.
const SPAN_W: u32 = 380;
/// The host headers above the lifelines.
const HEAD_H: u32 = 46;
/// A note's or a sent segment's row; each further line of a note.
const ROW_H: u32 = 20;
const LINE_H: u32 = 13;
/// The row of an arrival: only an arrowhead, no text.
const RECV_H: u32 = 10;
/// A monospace character at 11 px is 0.6 em wide: 6.6 px, in tenths.
const CHAR_W_TENTHS: u32 = 66;
/// A gap of at least this much virtual time is labelled on the axis.
const GAP_LABEL_NS: u64 = 20_000_000;
const GAP_LABEL_H: u32 = 14;

/// What a note beside a host is about (its CSS class).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NoteKind {
    Call,
    Error,
    State,
    Rst,
    Loss,
    Other,
}

impl NoteKind {
    pub fn class(self) -> &'static str {
        match self {
            NoteKind::Call => "call",
            NoteKind::Error => "error",
            NoteKind::State => "state",
            NoteKind::Rst => "rst",
            NoteKind::Loss => "loss",
            NoteKind::Other => "other",
        }
    }

    /// The kind of an entry the ladder shows as a note.
    pub fn of(e: &Entry) -> NoteKind {
        use model::Event;
        match &e.what {
            What::Return { result: Err(_), .. } => NoteKind::Error,
            What::Return { .. }
            | What::Call { .. }
            | What::Blocked { .. }
            | What::Fork { .. }
            | What::Exit { .. }
            | What::Sleep { .. }
            | What::Finished { .. } => NoteKind::Call,
            What::RstSeen { .. } => NoteKind::Rst,
            What::Send { seg } | What::Recv { seg } | What::Inject { seg, .. }
                if seg.flags.rst() =>
            {
                NoteKind::Rst
            }
            What::Drop { .. } => NoteKind::Loss,
            What::Model { event } => match event {
                Event::State { .. } => NoteKind::State,
                Event::RstSent { .. } | Event::RstReceived { .. } => NoteKind::Rst,
                Event::Discard { .. } => NoteKind::Loss,
                Event::AppError { .. } => NoteKind::Error,
                _ => NoteKind::Other,
            },
            _ => NoteKind::Other,
        }
    }
}

/// Text beside a host.
#[derive(Debug)]
pub struct Note {
    pub entry: usize,
    pub host: usize,
    /// Top of its row.
    pub top: u32,
    pub lines: Vec<String>,
    pub kind: NoteKind,
}

/// Where a segment's arrow ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    /// At the receiver, at this height.
    Arrived(u32),
    /// Between the hosts: the network lost it.
    Lost { y: u32, reason: &'static str },
    /// Neither arrived nor lost when the run ended.
    InFlight,
}

/// One segment sent.
#[derive(Debug)]
pub struct Arrow {
    pub entry: usize,
    pub seg: Segment,
    pub from: usize,
    pub to: usize,
    /// Where the arrow leaves the sender.
    pub y: u32,
    pub label: String,
    /// For an RST: the sender's note that says why.
    pub cause: Option<String>,
    pub end: End,
    /// The network duplicated it: the copy's arrival, once it arrived.
    pub duplicated: bool,
    pub copy: Option<u32>,
}

/// A time label on the axis.
#[derive(Debug)]
pub struct Tick {
    pub top: u32,
    pub t: Instant,
    /// The idle time before it, when long enough to say so.
    pub gap: Option<Duration>,
}

/// A horizontal marker across the ladder: where this run first differs from
/// another (a comparison's divergences).
pub struct Mark {
    /// The anchor a link can point at.
    pub id: String,
    pub at: Instant,
    /// The other run, briefly (`linux/freebsd`).
    pub other: String,
    /// The first difference in states, RSTs and discards, rather than in any entry.
    pub decisive: bool,
}

/// The ladder's geometry, before drawing.
#[derive(Debug, Default)]
pub struct Layout {
    pub notes: Vec<Note>,
    pub arrows: Vec<Arrow>,
    pub ticks: Vec<Tick>,
    pub height: u32,
}

/// The lifeline of host `i`.
fn lifeline_x(i: usize) -> u32 {
    AXIS_W + NOTE_W + PAD + i as u32 * SPAN_W
}

fn width(hosts: usize) -> u32 {
    lifeline_x(hosts.max(2) - 1) + PAD + NOTE_W + PAD
}

/// Width of `chars` monospace characters.
fn text_w(chars: usize) -> u32 {
    (chars as u32 * CHAR_W_TENTHS).div_ceil(10)
}

/// Extra room before an instant `gap` after the previous one: four pixels
/// per decimal digit of the gap in microseconds.
fn gap_px(gap: Duration) -> u32 {
    let us = gap.as_ns() / 1_000;
    4 * (us.checked_ilog10().map_or(0, |d| d + 1))
}

/// An idle gap in the unit that suits it: `+200 ms`, `+60.0 s`.
fn gap_text(d: Duration) -> String {
    let ns = d.as_ns();
    match ns {
        1_000_000_000.. => format!("+{}.{} s", ns / 1_000_000_000, ns / 100_000_000 % 10),
        1_000_000.. => format!("+{} ms", ns / 1_000_000),
        _ => format!("+{} µs", ns / 1_000),
    }
}

/// Splits `text` into lines of at most `max` characters, at spaces where it can.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let (l, w) = (line.chars().count(), word.chars().count());
        if l > 0 && l + 1 + w > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > max {
            let cut: String = line.chars().take(max).collect();
            line = line.chars().skip(max).collect();
            lines.push(cut);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Builds a [`Layout`] entry by entry.
struct Builder<'a> {
    spec: &'a WorldSpec,
    isns: Isns,
    y: u32,
    last_t: Option<Instant>,
    /// Arrows still waiting for their arrival.
    pending: Vec<usize>,
    /// Per host, the latest RST note not yet attached to an RST segment.
    rst_note: Vec<Option<String>>,
    out: Layout,
}

impl Builder<'_> {
    /// Places a row of `height` at time `t`, after a time label if time moved.
    fn row(&mut self, t: Instant, height: u32) -> u32 {
        if self.last_t != Some(t) {
            let gap = self.last_t.map(|l| t.saturating_since(l));
            let labelled = gap.filter(|g| g.as_ns() >= GAP_LABEL_NS);
            self.y += gap.map_or(0, gap_px) + if labelled.is_some() { GAP_LABEL_H } else { 0 };
            self.out.ticks.push(Tick {
                top: self.y,
                t,
                gap: labelled,
            });
            self.last_t = Some(t);
        }
        let top = self.y;
        self.y += height;
        top
    }

    fn entry(&mut self, i: usize, e: &Entry) {
        // Every entry goes through entry_text, which follows the ISNs.
        let text = entry_text(self.spec, &mut self.isns, e);
        let host = e.host as usize;
        match e.what {
            What::Send { seg } => self.send(i, e.t_ns, host, seg),
            What::Inject { seg, .. } => {
                self.send(i, e.t_ns, host, seg);
                if let Some(a) = self.out.arrows.last_mut() {
                    a.label = format!("{} (injected)", a.label);
                }
            }
            What::Recv { seg } => self.recv(e.t_ns, seg),
            What::Drop { seg, reason } => self.lost(e.t_ns, seg, reason),
            What::Duplicate { seg } => {
                // The network duplicates the segment just sent.
                if let Some(a) = self.out.arrows.last_mut().filter(|a| a.seg == seg) {
                    a.duplicated = true;
                }
                self.note(i, e, "⧉ the network duplicated it".into());
            }
            _ => {
                if let Some(text) = text {
                    if NoteKind::of(e) == NoteKind::Rst {
                        self.rst_note[host] = Some(text.clone());
                    }
                    self.note(i, e, text);
                }
            }
        }
    }

    fn note(&mut self, entry: usize, e: &Entry, text: String) {
        let lines = wrap(&text, NOTE_CHARS);
        let top = self.row(e.t_ns, ROW_H + (lines.len() as u32 - 1) * LINE_H);
        self.out.notes.push(Note {
            entry,
            host: e.host as usize,
            top,
            lines,
            kind: NoteKind::of(e),
        });
    }

    fn send(&mut self, entry: usize, t: Instant, from: usize, seg: Segment) {
        let top = self.row(t, ROW_H);
        let cause = if seg.flags.rst() {
            self.rst_note.get_mut(from).and_then(Option::take)
        } else {
            None
        };
        self.pending.push(self.out.arrows.len());
        self.out.arrows.push(Arrow {
            entry,
            seg,
            from,
            to: seg.dst.host as usize,
            y: top + ROW_H - 4,
            label: seg_text(&self.isns, &seg),
            cause,
            end: End::InFlight,
            duplicated: false,
            copy: None,
        });
    }

    fn recv(&mut self, t: Instant, seg: Segment) {
        let Some(k) = self
            .pending
            .iter()
            .position(|&a| self.out.arrows[a].seg == seg)
        else {
            return;
        };
        let y = self.row(t, RECV_H) + RECV_H / 2;
        let a = &mut self.out.arrows[self.pending[k]];
        if a.end == End::InFlight {
            a.end = End::Arrived(y);
            if a.duplicated {
                return; // the copy is still to come
            }
        } else {
            a.copy = Some(y);
        }
        self.pending.remove(k);
    }

    fn lost(&mut self, t: Instant, seg: Segment, reason: &'static str) {
        let Some(k) = self
            .pending
            .iter()
            .rposition(|&a| self.out.arrows[a].seg == seg)
        else {
            return;
        };
        let y = self.row(t, ROW_H) + ROW_H / 2;
        let a = self.pending.remove(k);
        self.out.arrows[a].end = End::Lost { y, reason };
    }
}

/// The geometry of a trace's ladder.
pub fn layout(spec: &WorldSpec, trace: &[Entry]) -> Layout {
    let mut b = Builder {
        spec,
        isns: Isns::default(),
        y: HEAD_H + 8,
        last_t: None,
        pending: Vec::new(),
        rst_note: vec![None; spec.hosts.len()],
        out: Layout::default(),
    };
    for (i, e) in trace.iter().enumerate() {
        b.entry(i, e);
    }
    b.out.height = b.y + 16;
    b.out
}

/// The ladder of `trace` as an `<svg>`; `id` prefixes every id in it and
/// names the trace table's rows (`{id}-e{entry}`) its items link to.
pub fn svg(spec: &WorldSpec, trace: &[Entry], id: &str, marks: &[Mark]) -> Markup {
    let l = layout(spec, trace);
    let n = spec.hosts.len();
    let (w, h) = (width(n), l.height);
    let host_name = |i: usize| spec.hosts.get(i).map_or("?", |h| h.name.as_str());
    html! {
        svg.ladder id=(format!("{id}-svg")) viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h)
            role="img" aria-labelledby=(format!("{id}-svg-title")) {
            title id=(format!("{id}-svg-title")) {
                "Ladder diagram: " (host_name(0)) " and " (host_name(1)) ", time going down"
            }
            (markers(id, n))
            (axis(&l, w))
            (lifelines(spec, h))
            (marks_svg(&l, marks, w))
            @for a in &l.arrows { (arrow(spec, trace, a, id)) }
            @for note in &l.notes { (note_svg(trace, note, id)) }
        }
    }
}

/// Arrowheads, one per host colour and one for RSTs.
fn markers(id: &str, hosts: usize) -> Markup {
    let classes: Vec<String> = (0..hosts)
        .map(|i| format!("h{}", i % 4))
        .chain(["rst".to_string()])
        .collect();
    html! {
        defs {
            @for c in &classes {
                marker id=(format!("{id}-head-{c}")) class=(format!("head {c}")) viewBox="0 0 10 10"
                    refX="9" refY="5" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse"
                    orient="auto" { path d="M0,0 L10,5 L0,10 z" {} }
            }
        }
    }
}

/// Time labels, a faint line across at each, and gaps said in words.
fn axis(l: &Layout, w: u32) -> Markup {
    html! {
        g.axis {
            text.axis-head x=(AXIS_W - PAD) y=(HEAD_H - 8) text-anchor="end" { "time (ms)" }
            @for t in &l.ticks {
                line.grid x1=(AXIS_W - 4) y1=(t.top) x2=(w - PAD) y2=(t.top) {}
                text x=(AXIS_W - PAD) y=(t.top + 12) text-anchor="end" { (ms(t.t)) }
                @if let Some(g) = t.gap {
                    text.gap x=(AXIS_W - PAD) y=(t.top - 4) text-anchor="end" {
                        (gap_text(g))
                    }
                }
            }
        }
    }
}

/// Each host's name and personality above its lifeline, and the lifeline.
fn lifelines(spec: &WorldSpec, h: u32) -> Markup {
    html! {
        @for (i, host) in spec.hosts.iter().enumerate() {
            @let x = lifeline_x(i);
            @let head = format!("{} [{}]", host.name, host.personality.name);
            @let hw = text_w(head.chars().count()) + 16;
            g class=(format!("host h{}", i % 4)) {
                rect x=(x.saturating_sub(hw / 2)) y="6" width=(hw) height="24" rx="4" {}
                text x=(x) y="22" text-anchor="middle" { (head) }
                line.lifeline x1=(x) y1="30" x2=(x) y2=(h - 8) {}
            }
        }
    }
}

/// The markers, one line per row and kind, naming every run that diverges there.
fn marks_svg(l: &Layout, marks: &[Mark], w: u32) -> Markup {
    let tick = |m: &Mark| l.ticks.iter().find(|t| t.t >= m.at);
    let mut groups: Vec<(u32, Instant, bool, Vec<&Mark>)> = Vec::new();
    for m in marks {
        let (y, t) = tick(m).map_or((l.height - 12, m.at), |t| (t.top, t.t));
        match groups.iter_mut().find(|g| g.0 == y && g.2 == m.decisive) {
            Some(g) => g.3.push(m),
            None => groups.push((y, t, m.decisive, vec![m])),
        }
    }
    html! {
        @for (y, t, decisive, ms_) in &groups {
            g class=(if *decisive { "divergence decisive" } else { "divergence" }) {
                line x1=(AXIS_W) y1=(y) x2=(w - PAD) y2=(y) {}
                text x=(w - PAD) y=(y - 4) text-anchor="end" {
                    (if *decisive { "states, RSTs or discards first differ from " } else { "first divergence from " })
                    @for (k, m) in ms_.iter().enumerate() {
                        @if k > 0 { ", " }
                        tspan id=(m.id) { (m.other) }
                    }
                    " (" (ms(*t)) " ms)"
                }
            }
        }
    }
}

/// A segment's arrow, its tcpdump-style label above where it leaves the
/// sender, and where it ended.
fn arrow(spec: &WorldSpec, trace: &[Entry], a: &Arrow, id: &str) -> Markup {
    let (x0, x1) = (lifeline_x(a.from), lifeline_x(a.to));
    let right = x1 >= x0;
    let rst = a.seg.flags.rst();
    let colour = if rst {
        "rst".to_string()
    } else {
        format!("h{}", a.from % 4)
    };
    let class = format!(
        "seg {colour}{}{}",
        if rst { " rst" } else { "" },
        match a.end {
            End::Lost { .. } => " lost",
            End::InFlight => " in-flight",
            End::Arrived(_) => "",
        }
    );
    let (lx, anchor) = if right {
        (x0 + PAD, "start")
    } else {
        (x0 - PAD, "end")
    };
    let head = format!("url(#{id}-head-{colour})");
    let mid = (x0 + x1) / 2;
    html! {
        a href=(format!("#{id}-e{}", a.entry)) {
            g class=(class) {
                title { (arrow_title(spec, trace, a)) }
                @match a.end {
                    End::Arrived(y) => line x1=(x0) y1=(a.y) x2=(x1) y2=(y) marker-end=(head) {},
                    End::Lost { y, .. } => line x1=(x0) y1=(a.y) x2=(mid) y2=(y) {},
                    End::InFlight => line x1=(x0) y1=(a.y) x2=(mid) y2=(a.y + ROW_H) {},
                }
                @if let Some(y) = a.copy {
                    line.copy x1=(x0) y1=(a.y) x2=(x1) y2=(y) marker-end=(head) {}
                }
                text.label x=(lx) y=(a.y - 5) text-anchor=(anchor) { (a.label) }
                @if let End::Lost { y, reason } = a.end {
                    text.cross x=(mid) y=(y + 5) text-anchor="middle" { "✕" }
                    text.why x=(if right { mid + 10 } else { mid - 10 }) y=(y + 4)
                        text-anchor=(if right { "start" } else { "end" }) { "lost: " (reason) }
                }
            }
        }
    }
}

/// The arrow's tooltip: when, who to whom, the segment, its fate and cause.
fn arrow_title(spec: &WorldSpec, trace: &[Entry], a: &Arrow) -> String {
    let t = trace.get(a.entry).map_or(Instant::ZERO, |e| e.t_ns);
    let fate = match a.end {
        End::Arrived(_) if a.duplicated => "arrived twice (duplicated)".to_string(),
        End::Arrived(_) => "arrived".to_string(),
        End::Lost { reason, .. } => format!("lost ({reason})"),
        End::InFlight => "still in flight when the run ended".to_string(),
    };
    let cause = a
        .cause
        .as_deref()
        .map(|c| format!("; {c}"))
        .unwrap_or_default();
    format!(
        "{} ms {} → {}: {}; {fate}{cause}",
        ms(t),
        addr(spec, a.seg.src),
        addr(spec, a.seg.dst),
        a.label
    )
}

/// A note beside its host: left of the first lifeline, right of the others.
fn note_svg(trace: &[Entry], n: &Note, id: &str) -> Markup {
    let x = lifeline_x(n.host);
    let left = n.host == 0;
    let (tx, anchor) = if left {
        (x - PAD, "end")
    } else {
        (x + PAD, "start")
    };
    let chars = n.lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let bw = text_w(chars) + 8;
    let bx = if left { tx + 4 - bw } else { tx - 4 };
    let bh = ROW_H - 4 + (n.lines.len() as u32 - 1) * LINE_H;
    let highlight = matches!(n.kind, NoteKind::Rst | NoteKind::Loss | NoteKind::Error);
    let t = trace.get(n.entry).map_or(Instant::ZERO, |e| e.t_ns);
    html! {
        a href=(format!("#{id}-e{}", n.entry)) {
            g class=(format!("note {}", n.kind.class())) {
                title { (ms(t)) " ms: " (n.lines.join(" ")) }
                @if highlight {
                    rect x=(bx) y=(n.top + 2) width=(bw) height=(bh) rx="3" {}
                }
                @for (k, line) in n.lines.iter().enumerate() {
                    text x=(tx) y=(n.top + 14 + k as u32 * LINE_H) text-anchor=(anchor) { (line) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_words_longer_than_a_line() {
        assert_eq!(wrap("a bc def", 4), ["a bc", "def"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        let long = "500 B send buffer discarded by our RST (close with unread data)";
        assert!(wrap(long, NOTE_CHARS)
            .iter()
            .all(|l| l.chars().count() <= NOTE_CHARS));
        assert_eq!(wrap(long, NOTE_CHARS).join(" "), long);
    }

    #[test]
    fn gaps_take_room_by_their_order_of_magnitude() {
        assert_eq!(gap_px(Duration::from_ns(0)), 0);
        assert_eq!(gap_px(Duration::from_ns(50_000)), 8);
        assert_eq!(gap_px(Duration::from_ns(200_000_000)), 24);
    }

    #[test]
    fn gaps_are_said_in_the_unit_that_suits_them() {
        assert_eq!(gap_text(Duration::from_ns(59_999_950_000)), "+59.9 s");
        assert_eq!(gap_text(Duration::from_ns(200_100_000)), "+200 ms");
        assert_eq!(gap_text(Duration::from_ns(50_000)), "+50 µs");
    }

    #[test]
    fn notes_fit_beside_their_host() {
        assert!(text_w(NOTE_CHARS) <= NOTE_W);
        assert!(
            text_w(52) < SPAN_W - 2 * PAD,
            "a segment label fits between lifelines"
        );
    }
}
