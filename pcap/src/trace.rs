//! The simulator's trace as captured segments: every `Send` entry is one
//! packet, stamped with its virtual time, as tcpdump on the sending host
//! would see it. A segment the network then drops is in the file all the
//! same (a pcapng file says so in the packet's comment); one it duplicates
//! is there once, as the sender sent it once.
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

use crate::wire::WireSegment;
use etherparse::{TcpOptionElement, TcpOptions};
use model::{Addr, HostId, Segment};
use sim::{Entry, What};
use std::collections::BTreeMap;
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
fn shifts(trace: &[Entry]) -> BTreeMap<Key, u8> {
    let mut max_wnd: BTreeMap<Key, u32> = BTreeMap::new();
    for e in trace {
        if let What::Send { seg } = &e.what {
            if !seg.flags.syn() {
                let m = max_wnd.entry((seg.src, seg.dst)).or_default();
                *m = (*m).max(seg.wnd);
            }
        }
    }
    max_wnd
        .into_iter()
        .map(|(k, m)| (k, shift_for(m)))
        .collect()
}

/// The note a pcapng file keeps on a sent segment: what the network did
/// with it (the entry right after its `Send`).
fn fate_comment(seg: &Segment, next: Option<&Entry>) -> Option<String> {
    match next.map(|e| &e.what) {
        Some(What::Drop { seg: s, reason }) if s == seg => Some(format!(
            "tcpsim: dropped by the network ({reason}); never arrived"
        )),
        Some(What::Duplicate { seg: s }) if s == seg => {
            Some("tcpsim: duplicated by the network; arrived twice".to_string())
        }
        _ => None,
    }
}

/// The simulator's segments, in trace order, as a capture file records them.
pub struct TraceSegments<'a> {
    trace: &'a [Entry],
    at: usize,
    shifts: BTreeMap<Key, u8>,
    streams: BTreeMap<Key, Stream>,
}

/// The segments `trace` sent, ready for a [`crate::Writer`].
pub fn trace_segments(trace: &[Entry]) -> TraceSegments<'_> {
    TraceSegments {
        trace,
        at: 0,
        shifts: shifts(trace),
        streams: BTreeMap::new(),
    }
}

impl TraceSegments<'_> {
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
        let shift = self.shifts.get(&(seg.src, seg.dst)).copied().unwrap_or(0);
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

/// Whether `prev` (the entry before a `Send`) says the segment is a reset
/// sent from no synchronized connection (from LISTEN or CLOSED).
fn connectionless_rst(prev: Option<&Entry>) -> bool {
    matches!(
        prev.map(|e| &e.what),
        Some(What::Model {
            event: model::Event::RstSent {
                state: model::State::Listen | model::State::Closed,
                ..
            }
        })
    )
}

impl Iterator for TraceSegments<'_> {
    type Item = WireSegment;

    fn next(&mut self) -> Option<WireSegment> {
        while self.at < self.trace.len() {
            let e = &self.trace[self.at];
            self.at += 1;
            if let What::Send { seg } = &e.what {
                let prev = self.at.checked_sub(2).and_then(|i| self.trace.get(i));
                let mut w = self.wire(e.t_ns.as_ns(), seg, connectionless_rst(prev));
                w.comment = fate_comment(seg, self.trace.get(self.at));
                return Some(w);
            }
        }
        None
    }
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
