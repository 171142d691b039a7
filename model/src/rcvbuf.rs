//! Receive-buffer autotuning (Linux dynamic right-sizing, `tcp_moderate_rcvbuf`):
//! the receiver estimates its RTT from how long one window of data takes to
//! arrive (tcp_input.c tcp_rcv_rtt_measure), and once per such RTT a read
//! compares what the application copied in it with the last measure
//! (tcp_rcv_space_adjust); more than before grows the buffer and the window
//! clamp (tcp_rcvbuf_grow), up to `tcp_rmem_max_bytes` (tcp_rmem[2]).
//! SO_RCVBUF stops it (SOCK_RCVBUF_LOCK).

use crate::personality::Knobs;
use crate::seq::Offset;
use crate::socket::Socket;
use crate::{Duration, Instant};

/// Linux TCP_INIT_CWND: the first measure is at most this many segments.
const INIT_CWND_SEGS: u64 = 10;

/// What autotuning measures, per connection (Linux `rcvq_space`, `rcv_rtt_est`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Drs {
    /// Octets copied in the last RTT that grew the buffer, or the first
    /// measure (`rcvq_space.space`).
    pub space_bytes: u64,
    /// Octets the application had read at the last measure (`rcvq_space.seq`).
    pub copied_at: u64,
    /// When that was (`rcvq_space.time`); None before establishment.
    pub measured_at: Option<Instant>,
    /// Octets the application has read in all.
    pub copied: u64,
    /// The receiver's RTT estimate (`rcv_rtt_est.rtt_us`), 0 before a sample.
    pub rtt: Duration,
    /// The sample in progress: it ends when RCV.NXT reaches `rtt_seq`.
    pub rtt_seq: Offset,
    pub rtt_from: Option<Instant>,
}

impl Drs {
    pub(crate) fn shift_time(&mut self, f: &impl Fn(Instant) -> Instant) {
        self.measured_at = self.measured_at.map(f);
        self.rtt_from = self.rtt_from.map(f);
    }
}

impl Socket {
    /// At establishment (tcp_init_buffer_space): the first measure is
    /// min(rcv_ssthresh, the window offered, 10 segments).
    pub(crate) fn init_rcv_space(&mut self, now: Instant) {
        let t = &self.tcb;
        let mut space = (t.rcv_wnd_sent as u64).min(INIT_CWND_SEGS * t.mss.max(1) as u64);
        if t.rcv_ssthresh > 0 {
            space = space.min(t.rcv_ssthresh as u64);
        }
        let d = &mut self.tcb.drs;
        d.space_bytes = space;
        d.copied_at = d.copied;
        d.measured_at = Some(now);
    }

    /// In-order data arrived (tcp_rcv_rtt_measure, the sample without
    /// timestamps): the time one window took to arrive, the smallest kept.
    pub(crate) fn rcv_rtt_measure(&mut self, now: Instant) {
        let t = &mut self.tcb;
        if let Some(from) = t.drs.rtt_from {
            if t.rcv_nxt < t.drs.rtt_seq {
                return;
            }
            let sample = now.saturating_since(from).max(Duration::from_ns(1_000));
            t.drs.rtt = match t.drs.rtt {
                Duration::ZERO => sample,
                rtt => rtt.min(sample),
            };
        }
        t.drs.rtt_seq = t.rcv_nxt + t.rcv_wnd_sent as u64;
        t.drs.rtt_from = Some(now);
    }

    /// A read took `n` octets (tcp_rcv_space_adjust, which the kernel runs
    /// per skb copied: within one read only the first skb finds an RTT
    /// elapsed, so the measure is taken after one segment, the rest of the
    /// read still queued).
    pub(crate) fn rcv_space_adjust(&mut self, p: &Knobs, now: Instant, n: u64) {
        let d = self.tcb.drs;
        self.tcb.drs.copied += n;
        let Some(at) = d.measured_at else { return };
        if d.rtt.is_zero() || now.saturating_since(at) < d.rtt {
            return;
        }
        let first = n.min(self.tcb.mss.max(1) as u64);
        let copied_now = d.copied + first;
        let queued = self.tcb.unread + (n - first);
        let copied = (copied_now - d.copied_at) as i64 - queued as i64;
        if copied > d.space_bytes as i64 {
            self.rcvbuf_grow(p, copied as u64);
        }
        self.tcb.drs.copied_at = copied_now;
        self.tcb.drs.measured_at = Some(now);
    }

    /// tcp_rcvbuf_grow: twice what was copied (DRS is one RTT late), plus
    /// twice its growth over the last measure (slow start), as buffer
    /// memory at the data share, at most tcp_rmem[2]; the clamp follows.
    fn rcvbuf_grow(&mut self, p: &Knobs, copied: u64) {
        let old = self.tcb.drs.space_bytes.max(1);
        self.tcb.drs.space_bytes = copied;
        if !p.tcp_moderate_rcvbuf.value || self.rcv_buf_locked {
            return;
        }
        let mut rcvwin = copied * 2;
        rcvwin += 2 * (rcvwin * copied.saturating_sub(old) / old);
        if let Some(&(_, end)) = self.tcb.ooo.last() {
            rcvwin += end.0.saturating_sub(self.tcb.rcv_nxt.0);
        }
        let cap = p.tcp_rmem_max_bytes.value as u64;
        let rcvbuf = self.wnd.space_from_win(rcvwin).min(cap) as u32;
        if rcvbuf > self.rcv_buf {
            self.rcv_buf = rcvbuf;
            self.rcv_space = self.wnd.data_share(rcvbuf);
            self.rcv_clamp = self.rcv_space;
        }
    }
}
