//! The seventh and eighth checks of segment arrival (RFC 9293 §3.10.7.4):
//! in-order text into the receive buffer, out-of-order text held for
//! reassembly, and the FIN.

use super::*;

impl Socket {
    /// Seventh check: segment text.
    pub(super) fn process_text(&mut self, ctx: &mut Ctx, seg: &Segment) -> Text {
        if !matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; ignore.
            return Text::Nothing;
        }
        let seq = self.tcb.seq_offset(seg.seq);
        let end = seq + seg.len as u64;
        if end <= self.tcb.rcv_nxt {
            // A duplicate: our ACK was lost or late. Re-ACK, and ACK what
            // follows at once too (Linux tcp_data_queue → tcp_enter_quickack_mode).
            self.tcb.ack_now = true;
            self.incr_quickack(ctx.p);
            self.tcb.pingpong = false;
            return Text::Nothing;
        }
        let in_fin_wait = matches!(self.state, State::FinWait1 | State::FinWait2);
        let mut discard = None;
        if self.closed {
            match ctx.p.data_after_close.value {
                DataAfterClose::Rst => {
                    return Text::Aborted(self.abort_on_data(ctx, seg, RstCause::DataAfterClose))
                }
                DataAfterClose::AckDiscard => discard = Some(DiscardCause::AfterClose),
            }
        } else if self.shut_rd {
            match ctx.p.data_after_shut_rd.value {
                DataAfterShutRd::Accept => {}
                DataAfterShutRd::RstInFinWait if in_fin_wait => {
                    return Text::Aborted(self.abort_on_data(ctx, seg, RstCause::DataAfterShutRd))
                }
                DataAfterShutRd::RstInFinWait => {}
                DataAfterShutRd::AckDiscard => discard = Some(DiscardCause::AfterShutRd),
                DataAfterShutRd::Rst => {
                    return Text::Aborted(self.abort_on_data(ctx, seg, RstCause::DataAfterShutRd))
                }
            }
        }
        if seq > self.tcb.rcv_nxt {
            // Keep only what lies inside the window; the rest is the peer's to resend.
            let right = self.tcb.rcv_nxt + self.rcv_wnd() as u64;
            if seq < right {
                self.queue_out_of_order(seq, end.min(right));
            }
            self.tcb.ack_now = true;
            return Text::Nothing;
        }
        let new = end - self.tcb.rcv_nxt;
        self.note_data_arrival(ctx);
        let taken = self.deliver(ctx, new, discard);
        self.grow_rcv_window(taken as u32);
        if taken > 0 {
            self.rcv_rtt_measure(ctx.now);
        }
        if taken < new {
            self.tcb.ack_now = true; // beyond the window: dropped, re-ACK
        }
        self.drain_out_of_order(ctx, discard);
        Text::Delivered
    }

    /// Puts up to `len` in-order octets into the receive buffer; returns how many fit.
    pub(super) fn deliver(
        &mut self,
        ctx: &mut Ctx,
        len: u64,
        discard: Option<DiscardCause>,
    ) -> u64 {
        let take = len.min(self.rcv_wnd() as u64);
        if take == 0 {
            return 0;
        }
        self.tcb.rcv_nxt = self.tcb.rcv_nxt + take;
        ctx.out.events.push(Event::Delivered {
            conn: self.conn(),
            bytes: take,
        });
        match discard {
            Some(cause) => self.discard(ctx, crate::event::Buffer::Receive, take, cause),
            None => self.tcb.unread += take,
        }
        take
    }

    /// Keeps the out-of-order range [`start`, `end`) (bounded; overlapping
    /// ranges are merged).
    pub(super) fn queue_out_of_order(&mut self, mut start: Offset, mut end: Offset) {
        let ooo = &mut self.tcb.ooo;
        let mut i = 0;
        while i < ooo.len() {
            let (s, e) = ooo[i];
            if e < start {
                i += 1;
                continue;
            }
            if s > end {
                break;
            }
            // Overlaps or touches: merge.
            start = start.min(s);
            end = end.max(e);
            ooo.remove(i);
        }
        if ooo.len() < OOO_RANGES_MAX {
            ooo.insert(i, (start, end));
        }
        // Sorted, apart (touching ranges were merged), and never empty.
        assert!(ooo.iter().all(|r| r.0 < r.1));
        assert!(ooo.windows(2).all(|w| w[0].1 < w[1].0));
    }

    /// Moves out-of-order data that became in-order into the receive buffer.
    pub(super) fn drain_out_of_order(&mut self, ctx: &mut Ctx, discard: Option<DiscardCause>) {
        while let Some(&(s, end)) = self.tcb.ooo.first() {
            let nxt = self.tcb.rcv_nxt;
            if s > nxt {
                break;
            }
            self.tcb.ooo.remove(0);
            if end > nxt {
                let want = end - nxt;
                if self.deliver(ctx, want, discard) < want {
                    break;
                }
            }
            self.tcb.ack_now = true;
        }
        if let Some(fin) = self.tcb.ooo_fin {
            if fin == self.tcb.rcv_nxt {
                self.tcb.ooo_fin = None;
                self.note_fin(ctx, fin);
            }
        }
    }

    /// Eighth check: a FIN at `fin`.
    pub(super) fn note_fin(&mut self, ctx: &mut Ctx, fin: Offset) {
        // After the FIN nothing is queued, a later "FIN" included: Linux
        // ignores segments at or after RCV.NXT in CLOSE-WAIT, CLOSING and
        // LAST-ACK (tcp_input.c tcp_rcv_state_process). Found by fuzz target
        // `endpoint`: a second FIN beyond the first was kept as out of order.
        if self.tcb.fin_rcvd {
            self.tcb.ack_now = true;
            return;
        }
        if fin > self.tcb.rcv_nxt {
            self.tcb.ooo_fin = Some(fin);
            self.tcb.ack_now = true;
            return;
        }
        if fin < self.tcb.rcv_nxt {
            self.tcb.ack_now = true; // retransmitted FIN
            return;
        }
        self.tcb.rcv_nxt = self.tcb.rcv_nxt + 1;
        self.tcb.fin_rcvd = true;
        // Whatever was queued out of order lies past the end of the stream:
        // Linux drops it here ("It _is_ possible, that we have something
        // out-of-order in queue", net/ipv4/tcp_input.c tcp_fin); found by
        // fuzz target `endpoint` (docs/limits.md#fuzzing).
        self.tcb.ooo.clear();
        self.tcb.ooo_fin = None;
        match self.state {
            State::Established => {
                self.set_state(ctx, State::CloseWait, Rule::RcvFin);
                if ctx.p.ack_pingpong.value {
                    self.delay_fin_ack(ctx);
                    return;
                }
            }
            // Simultaneous close: an ACK of our FIN in this segment would have
            // taken us to FIN-WAIT-2 in the fifth check (`process_ack`).
            State::FinWait1 => {
                assert!(!self.fin_acked(), "FIN-WAIT-1 with our FIN acknowledged");
                self.set_state(ctx, State::Closing, Rule::RcvFin)
            }
            State::FinWait2 => self.set_state(ctx, State::TimeWait, Rule::RcvFin),
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait => {}
            // SYN-RECEIVED: the ACK check made the segment ESTABLISHED or dropped it.
            State::Closed | State::Listen | State::SynSent | State::SynReceived => {
                unreachable!("FIN processed in {}", self.state)
            }
        }
        self.tcb.ack_now = true;
    }
}
