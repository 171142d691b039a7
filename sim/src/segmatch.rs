//! The one matcher of an expected outbound segment (a packetdrill `>` line)
//! against what a host sent: used by `tcpsim packetdrill`'s runner and by a
//! scenario's `expect` steps (a raw peer's expectations), so both say the
//! same thing in the same words.
//!
//! It follows google/packetdrill `gtests/net/packetdrill/run_packet.c`
//! (`verify_outbound_live_tcp`, `check_field`) and `run.c` (`verify_time`):
//! the fields in packetdrill's order, each mismatch in `check_field`'s
//! words, then the time within the tolerance. Segments sent at one instant in
//! sequence are merged up to the line's length (packetdrill sniffs before
//! TSO/GSO segmentation). Of the options only those the model carries are
//! compared: the MSS, and whether a SYN has timestamps.

use model::{Flags, Segment, Seq};
use serde::Serialize;
use std::collections::VecDeque;

/// Microseconds, as packetdrill counts time.
pub type Usecs = i64;

/// An expected segment, as a `>` line states it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct SegPattern {
    pub flags: Flags,
    /// The first sequence number relative to the sender's ISN; `None`: any.
    pub seq: Option<u32>,
    pub len: u32,
    /// Relative to the receiver's ISN; compared when the ACK flag is set.
    pub ack: Option<u32>,
    /// The raw 16-bit window field and the sender's window shift it is read with.
    pub win: Option<(u32, u8)>,
    /// `None` for `<...>` (any options).
    pub opts: Option<OptPattern>,
}

/// The options of a `>` line the model can compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct OptPattern {
    pub mss: Option<u16>,
    pub ts: bool,
}

/// The ISNs the relative numbers count from: the sender's is learned from
/// its first SYN (or SYN-ACK) as packetdrill learns it; the receiver's is known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Isns {
    pub sender: Option<u32>,
    pub receiver: u32,
}

/// What a line that saw no segment in time says (`run_packet.c`).
pub const TIMED_OUT: &str = "Timed out waiting for packet";

/// `check_field`'s words.
pub fn field(name: &str, expected: u32, actual: u32) -> Result<(), String> {
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "live packet field {name}: expected: {expected} ({expected:#x}) vs actual: {actual} ({actual:#x})"
    ))
}

fn secs(usecs: Usecs) -> String {
    format!("{:.6}", usecs as f64 / 1e6)
}

/// `verify_time`: `actual` within the window widened by the tolerance.
pub fn check_time(
    what: &str,
    (start, end): (Usecs, Usecs),
    actual: Usecs,
    tolerance: Usecs,
) -> Result<(), String> {
    if actual >= start - tolerance && actual <= end + tolerance {
        return Ok(());
    }
    Err(if start == end {
        format!(
            "timing error: expected {what} at {} sec but happened at {} sec; tolerance {} sec",
            secs(start),
            secs(actual),
            secs(tolerance)
        )
    } else {
        format!(
            "timing error: expected {what} in time range {}~{} sec but happened at {} sec",
            secs(start),
            secs(end),
            secs(actual)
        )
    })
}

/// Why a segment did not match: a packet error (`error handling packet: …`
/// in packetdrill's report) or a timing error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Miss {
    Packet(String),
    Time(String),
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::Packet(m) => write!(f, "error handling packet: {m}"),
            Miss::Time(m) => f.write_str(m),
        }
    }
}

/// Takes the next sent segment (`sent`: (usecs, segment), in order) for the
/// expected one due in `window`; a segment sent after the window's end plus
/// the tolerance is left for later and the line times out. Returns the
/// matched segment (merged) and when it was sent.
pub fn take_next(
    p: &SegPattern,
    window: (Usecs, Usecs),
    tolerance: Usecs,
    sent: &mut VecDeque<(Usecs, Segment)>,
    isns: &mut Isns,
) -> Result<(Usecs, Segment), Miss> {
    let deadline = window.1 + tolerance;
    let Some((at, mut seg)) = sent.front().copied().filter(|(t, _)| *t <= deadline) else {
        return Err(Miss::Packet(TIMED_OUT.into()));
    };
    sent.pop_front();
    coalesce(&mut seg, at, p.len, sent);
    if p.flags.syn() {
        isns.sender = Some(seg.seq.0.wrapping_sub(p.seq.unwrap_or(0)));
    }
    verify(p, &seg, isns).map_err(Miss::Packet)?;
    check_time("outbound packet", window, at, tolerance).map_err(Miss::Time)?;
    Ok((at, seg))
}

/// One line may stand for several segments sent at once: merge the contiguous ones.
fn coalesce(seg: &mut Segment, at: Usecs, want: u32, sent: &mut VecDeque<(Usecs, Segment)>) {
    let same = |f: Flags| f.0 & !(Flags::PSH.0 | Flags::FIN.0);
    while seg.len < want {
        let Some((t, next)) = sent.front().copied() else {
            break;
        };
        let contiguous = next.seq == seg.seq + seg.len && same(next.flags) == same(seg.flags);
        if t != at || !contiguous || seg.flags.fin() {
            break;
        }
        sent.pop_front();
        seg.len += next.len;
        seg.flags = seg.flags | next.flags;
        seg.ack = next.ack;
        seg.wnd = next.wnd;
    }
}

/// The fields packetdrill checks, in its order.
fn verify(p: &SegPattern, seg: &Segment, isns: &Isns) -> Result<(), String> {
    if seg.len != p.len {
        return Err(format!(
            "live packet payload: expected {} bytes vs actual {} bytes",
            p.len, seg.len
        ));
    }
    for (name, bit) in [
        ("tcp_fin", Flags::FIN),
        ("tcp_syn", Flags::SYN),
        ("tcp_rst", Flags::RST),
        ("tcp_psh", Flags::PSH),
        ("tcp_ack", Flags::ACK),
    ] {
        field(name, p.flags.has(bit) as u32, seg.flags.has(bit) as u32)?;
    }
    if let Some(start) = p.seq {
        let isn = isns.sender.unwrap_or(0);
        field("tcp_seq", isn.wrapping_add(start), seg.seq.0)?;
    }
    if p.flags.ack() {
        let ack = Seq(isns.receiver.wrapping_add(p.ack.unwrap_or(0)));
        field("tcp_ack_seq", ack.0, seg.ack.0)?;
    }
    if let Some((win, shift)) = p.win {
        let shift = if seg.flags.syn() { 0 } else { shift };
        field("tcp_window", win, (seg.wnd >> shift).min(u16::MAX as u32))?;
    }
    verify_options(p, seg)
}

/// MSS and timestamps, the options the model carries.
fn verify_options(p: &SegPattern, seg: &Segment) -> Result<(), String> {
    let Some(o) = &p.opts else { return Ok(()) };
    let got_mss = (seg.mss != 0).then_some(seg.mss);
    let ts_differs = seg.flags.syn() && o.ts != seg.opts.ts();
    if o.mss.is_some() != got_mss.is_some() || ts_differs {
        return Err("bad outbound TCP options".into());
    }
    match (o.mss, got_mss) {
        (Some(w), Some(g)) if w != g => Err(format!(
            "bad value in outbound TCP option (kind=2): expected: mss {w} actual: mss {g}"
        )),
        _ => Ok(()),
    }
}
