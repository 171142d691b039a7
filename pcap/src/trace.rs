//! The simulator's trace as captured segments: every `Send` entry is one
//! packet, stamped with its virtual time, as tcpdump on the sending host
//! would see it. A segment the network then drops is in the file all the
//! same (a pcapng file says so in the packet's comment); one it duplicates
//! is there once, as the sender sent it once.
//!
//! The trace is read as it goes by, never held: [`TraceCapture`] takes one
//! entry at a time. Only the window shift needs to know the future (a SYN
//! offers it before the windows it must fit are sent), so a capture is two
//! passes over the same deterministic run: [`WindowShifts`] first, then the
//! capture itself.
//!
//! What the model does not keep is made up, the same way every time:
//! - addresses: host N of the scenario (0-based, in file order) is
//!   10.77.0.N+1 ([`host_ipv4`]), as in the kernel run's TUN network;
//! - payload bytes: the pattern of [`crate::wire::fill_payload`];
//! - window scaling: windows are 32-bit in the model. Each side's SYN offers
//!   the smallest shift (RFC 7323 §2) that fits the largest window it
//!   advertises in the trace, and each window is divided by it, rounded up
//!   (so a non-zero window never reads as zero);
//! - timestamps (RFC 7323 §3), on a connection whose SYNs both carried the
//!   option: TSval is the sender's virtual time in ms, TSecr the last TSval
//!   the peer sent before (the model keeps the option's 12 octets, not its
//!   values); a reset sent from no connection carries none.
//!
//! SACK is not modelled (model/src/output.rs), so no SYN offers
//! SACK-permitted and no segment carries SACK blocks: a file that offered it
//! would tell Wireshark that losses were recovered by a mechanism that never ran.

use crate::file::{Format, Writer};
use crate::wire::WireSegment;
use etherparse::{TcpOptionElement, TcpOptions};
use model::{Addr, HostId, Segment};
use sim::{Entry, What};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The largest window shift RFC 7323 §2.3 allows.
const WSCALE_MAX: u8 = 14;
/// The largest value of the 16-bit window field.
const WINDOW_FIELD_MAX: u32 = 65_535;

/// Host `h`'s IPv4 address in every capture: 10.77.0.0/16, host 0 is 10.77.0.1.
pub fn host_ipv4(h: HostId) -> Ipv4Addr {
    let n = h as u32 + 1;
    Ipv4Addr::new(10, 77, (n >> 8) as u8, n as u8)
}

fn socket_addr(a: Addr) -> SocketAddrV4 {
    SocketAddrV4::new(host_ipv4(a.host), a.port)
}

/// A direction of a connection: (sender, receiver).
type Key = (Addr, Addr);

/// One direction's timestamps option (RFC 7323 §3) as the capture has seen it.
#[derive(Clone, Copy)]
struct Stream {
    /// The sender's latest SYN offered timestamps.
    ts: bool,
    /// The last TSval the sender put on a segment.
    tsval: u32,
}

/// The smallest shift that fits `max_wnd` into the window field (rounded up).
fn shift_for(max_wnd: u32) -> u8 {
    (0..WSCALE_MAX)
        .find(|&s| max_wnd.div_ceil(1 << s) <= WINDOW_FIELD_MAX)
        .unwrap_or(WSCALE_MAX)
}

/// Each direction's window shift: what its largest non-SYN window needs.
/// Fed the trace once before the capture is.
#[derive(Clone, Debug, Default)]
pub struct WindowShifts {
    max_wnd: BTreeMap<Key, u32>,
}

impl WindowShifts {
    /// Learns from one trace entry.
    pub fn push(&mut self, e: &Entry) {
        if let What::Send { seg } | What::Inject { seg, .. } = &e.what {
            if !seg.flags.syn() {
                let m = self.max_wnd.entry((seg.src, seg.dst)).or_default();
                *m = (*m).max(seg.wnd);
            }
        }
    }

    /// The shifts of a whole trace at hand.
    pub fn of(trace: &[Entry]) -> WindowShifts {
        let mut w = WindowShifts::default();
        trace.iter().for_each(|e| w.push(e));
        w
    }

    /// The shift of the direction `key` (0 where it sent no window).
    fn shift(&self, key: &Key) -> u8 {
        self.max_wnd.get(key).map_or(0, |&m| shift_for(m))
    }
}

/// The note a pcapng file keeps on a segment an `inject` step sent.
const INJECTED_COMMENT: &str =
    "tcpsim: injected by a scenario step; the sending host's stack never sent it";

/// The note a pcapng file keeps on a sent segment: what the network did
/// with it (the entry right after its `Send`).
fn fate_comment(seg: &Segment, next: &Entry) -> Option<String> {
    match &next.what {
        What::Drop { seg: s, reason } if s == seg => Some(format!(
            "tcpsim: dropped by the network ({reason}); never arrived"
        )),
        What::Duplicate { seg: s } if s == seg => {
            Some("tcpsim: duplicated by the network; arrived twice".to_string())
        }
        _ => None,
    }
}

/// A capture of a simulator run, fed its trace entry by entry.
pub struct TraceCapture<W: Write> {
    writer: Writer<W>,
    segments: Segments,
    /// The last segment sent, written once the next entry says its fate,
    /// and whether a scenario step injected it.
    pending: Option<(Segment, WireSegment, bool)>,
    /// The entry before the next one: a reset decided from no connection.
    after_connectionless_rst: bool,
}

impl<W: Write> TraceCapture<W> {
    /// Starts a capture file in `out`; `shifts` has seen the whole trace.
    pub fn new(out: W, format: Format, shifts: WindowShifts) -> io::Result<TraceCapture<W>> {
        Ok(TraceCapture {
            writer: Writer::new(out, format)?,
            segments: Segments {
                shifts,
                streams: BTreeMap::new(),
            },
            pending: None,
            after_connectionless_rst: false,
        })
    }

    /// Takes the next trace entry.
    pub fn push(&mut self, e: &Entry) -> io::Result<()> {
        if let Some((seg, mut w, injected)) = self.pending.take() {
            let injected = injected.then(|| INJECTED_COMMENT.to_string());
            let notes: Vec<String> = injected.into_iter().chain(fate_comment(&seg, e)).collect();
            w.comment = (!notes.is_empty()).then(|| notes.join("; "));
            self.writer.write(&w)?;
        }
        if let What::Send { seg } | What::Inject { seg, .. } = &e.what {
            let w = self
                .segments
                .wire(e.t_ns.as_ns(), seg, self.after_connectionless_rst);
            let injected = matches!(e.what, What::Inject { .. });
            self.pending = Some((*seg, w, injected));
        }
        self.after_connectionless_rst = connectionless_rst(e);
        Ok(())
    }

    /// Ends the file after the last entry; hands back what it was written into.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some((_, mut w, injected)) = self.pending.take() {
            w.comment = injected.then(|| INJECTED_COMMENT.to_string());
            self.writer.write(&w)?;
        }
        self.writer.finish()
    }
}

/// Writes a whole trace at hand as a capture file into `out`.
pub fn write_trace_to<W: Write>(out: W, format: Format, trace: &[Entry]) -> io::Result<W> {
    let mut c = TraceCapture::new(out, format, WindowShifts::of(trace))?;
    for e in trace {
        c.push(e)?;
    }
    c.finish()
}

/// What turns a sent segment into a captured one: the window shifts and
/// each direction's timestamps.
struct Segments {
    shifts: WindowShifts,
    streams: BTreeMap<Key, Stream>,
}

impl Segments {
    /// A SYN starts its direction's option state anew (a new connection
    /// on the same ports; a SYN-ACK sent again offers what it offered).
    fn note_syn(&mut self, seg: &Segment) {
        let ts = seg.opts.ts();
        self.streams
            .insert((seg.src, seg.dst), Stream { ts, tsval: 0 });
    }

    /// Whether the segment carries timestamps: a SYN if it offers them, a
    /// reset sent for no connection never (no TCB has agreed to anything;
    /// Linux tcp_v4_send_reset() adds none), any other segment if both SYNs did.
    fn carries_ts(&self, seg: &Segment, connectionless: bool) -> bool {
        if seg.flags.syn() {
            return seg.opts.ts();
        }
        if connectionless {
            return false;
        }
        let side = |k: &Key| self.streams.get(k).is_some_and(|s| s.ts);
        side(&(seg.src, seg.dst)) && side(&(seg.dst, seg.src))
    }

    /// The segment's options: MSS, timestamps and window scale on a SYN,
    /// timestamps on the rest (laid out as Linux does: NOPs align the
    /// timestamp values on 32-bit words).
    fn options(&mut self, t_ns: u64, seg: &Segment, sent: Sent) -> TcpOptions {
        use TcpOptionElement::{MaximumSegmentSize, Noop, Timestamp, WindowScale};
        let mut opts = Vec::with_capacity(6);
        if seg.flags.syn() && seg.mss != 0 {
            opts.push(MaximumSegmentSize(seg.mss));
        }
        if self.carries_ts(seg, sent.connectionless) {
            let tsval = (t_ns / 1_000_000) as u32;
            let tsecr = match self.streams.get(&(seg.dst, seg.src)) {
                Some(peer) if seg.flags.ack() => peer.tsval,
                _ => 0,
            };
            if let Some(s) = self.streams.get_mut(&(seg.src, seg.dst)) {
                s.tsval = tsval;
            }
            opts.extend([Noop, Noop, Timestamp(tsval, tsecr)]);
        }
        if seg.flags.syn() {
            opts.extend([Noop, WindowScale(sent.shift)]);
        }
        TcpOptions::try_from(&opts[..]).expect("at most 24 octets of options, under the 40 allowed")
    }

    /// One sent segment as a capture records it.
    fn wire(&mut self, t_ns: u64, seg: &Segment, connectionless: bool) -> WireSegment {
        if seg.flags.syn() {
            self.note_syn(seg);
        }
        let shift = self.shifts.shift(&(seg.src, seg.dst));
        let window = if seg.flags.syn() {
            // RFC 7323 §2.2: the window of a SYN is never scaled.
            seg.wnd.min(WINDOW_FIELD_MAX)
        } else {
            seg.wnd.div_ceil(1 << shift).min(WINDOW_FIELD_MAX)
        };
        let sent = Sent {
            shift,
            connectionless,
        };
        WireSegment {
            t_ns,
            src: socket_addr(seg.src),
            dst: socket_addr(seg.dst),
            seq: seg.seq.0,
            ack: seg.ack.0,
            flags: seg.flags.0,
            window: window as u16,
            options: self.options(t_ns, seg, sent),
            len: seg.len,
            comment: None,
        }
    }
}

/// What decides a sent segment's options besides the segment itself.
#[derive(Clone, Copy)]
struct Sent {
    /// The sender's window shift in this direction.
    shift: u8,
    /// A reset sent for no connection.
    connectionless: bool,
}

/// Whether `e` decides a reset from no synchronized connection (from
/// LISTEN or CLOSED): the `Send` that follows it is that reset.
fn connectionless_rst(e: &Entry) -> bool {
    matches!(
        e.what,
        What::Model {
            event: model::Event::RstSent {
                state: model::State::Listen | model::State::Closed,
                ..
            }
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_numbered_from_10_77_0_1() {
        assert_eq!(host_ipv4(0), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(host_ipv4(1), Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(host_ipv4(255), Ipv4Addr::new(10, 77, 1, 0));
    }

    #[test]
    fn the_shift_is_the_smallest_that_fits_the_window_field() {
        assert_eq!(shift_for(0), 0);
        assert_eq!(shift_for(65_535), 0);
        assert_eq!(shift_for(65_536), 1);
        assert_eq!(shift_for(131_070), 1);
        assert_eq!(shift_for(131_071), 2);
        assert_eq!(shift_for(u32::MAX), WSCALE_MAX);
    }
}
