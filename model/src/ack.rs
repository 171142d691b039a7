//! When to acknowledge received data: at once, or after the delayed-ACK
//! timeout (RFC 1122 §4.2.3.2), with Linux's quick-ACK mode at the start of a
//! connection and its interactive (ping-pong) mode after a FIN.

use crate::personality::Knobs;
use crate::socket::{Ctx, Socket};

impl Socket {
    /// The ACK of new in-order data: at once in quick-ACK mode (unless the
    /// connection is interactive) or when two full segments are unacknowledged
    /// (RFC 1122 §4.2.3.2), otherwise after `delack_ms`.
    pub(crate) fn schedule_ack(&mut self, ctx: &mut Ctx) {
        let unacked = self.tcb.rcv_nxt - self.tcb.last_ack_sent;
        if ctx.p.ack_needs_window_advance.value && unacked > u64::from(self.tcb.mss) {
            // __tcp_ack_snd_check selects the window before it asks
            // tcp_in_quickack_mode, and selecting may end the mode.
            self.end_quick_acks_when_half_full();
        }
        let t = &self.tcb;
        let quick = t.quick_acks > 0 && !t.pingpong;
        self.ack_at_once_or_delay(ctx, quick);
    }

    /// The ACK of a FIN that takes us to CLOSE-WAIT, where the personality has
    /// an interactive mode (Linux tcp_fin enters ping-pong mode): delayed,
    /// unless no data ever came (ATO 0: the next tick) or two full segments
    /// are unacknowledged.
    pub(crate) fn delay_fin_ack(&mut self, ctx: &Ctx) {
        self.tcb.pingpong = true;
        let no_data = self.tcb.data_rcvd_at.is_none();
        self.ack_at_once_or_delay(ctx, no_data);
    }

    /// ACK now if `now`, or if two full segments are unacknowledged; else delay.
    fn ack_at_once_or_delay(&mut self, ctx: &Ctx, now: bool) {
        let t = &self.tcb;
        let unacked = t.rcv_nxt - t.last_ack_sent;
        let segs = if ctx.p.ack_needs_window_advance.value {
            // Linux __tcp_ack_snd_check: more than rcv_mss, and a window no smaller.
            unacked > t.mss as u64 && (t.unread == 0 || self.free_rcv_wnd() >= t.rcv_wnd_sent)
        } else {
            unacked >= 2 * t.mss as u64
        };
        if now || segs {
            self.tcb.ack_now = true;
        } else {
            self.delay_ack(ctx);
        }
    }

    /// Arms the delayed-ACK timer, keeping an earlier deadline.
    pub(crate) fn delay_ack(&mut self, ctx: &Ctx) {
        let at = ctx.now + ctx.p.delack_ms.value.duration();
        let t = &mut self.tcb;
        t.delack_at = Some(t.delack_at.map_or(at, |d| d.min(at)));
    }

    /// Linux tcp_event_data_recv: the first data of a connection, or the first
    /// after an idle spell longer than the RTO, starts quick-ACK mode.
    pub(crate) fn note_data_arrival(&mut self, ctx: &Ctx) {
        let idle = match self.tcb.data_rcvd_at {
            None => true,
            Some(at) => ctx.now.saturating_since(at) > self.tcb.rto,
        };
        if idle {
            self.incr_quickack(ctx.p);
        }
        self.tcb.data_rcvd_at = Some(ctx.now);
    }

    /// Linux tcp_incr_quickack: up to `quickack_segs` quick ACKs, as many as
    /// half the advertised window holds full segments, at least 2.
    pub(crate) fn incr_quickack(&mut self, p: &Knobs) {
        let max = p.quickack_segs.value;
        if max == 0 {
            return;
        }
        let t = &mut self.tcb;
        let fit = t.rcv_wnd_sent / (2 * t.mss.max(1));
        let quick = if fit == 0 { 2 } else { fit }.min(max);
        t.quick_acks = t.quick_acks.max(quick);
    }
}
