//! SEGMENT ARRIVES (RFC 9293 §3.10.7) for a connection that exists:
//! SYN-SENT, the synchronized states and TIME-WAIT. The listener's part and
//! the closed-port reply live in `host.rs`, which owns the demultiplexing.
//!
//! Each check of §3.10.7.4 is a named helper; `input` is the dispatcher.

use crate::errno::Errno;
use crate::event::{DiscardCause, Event, RstCause};
use crate::personality::{
    DataAfterClose, DataAfterShutRd, FinWait2Timer, ListenOverflow, RstInTimeWait, RstToSyn,
    SynInTimeWait, WriteAfterRst,
};
use crate::segment::{Flags, Segment};
use crate::seq::Seq;
use crate::socket::{CloseTimer, Ctx, Socket, OOO_RANGES_MAX};
use crate::state::{Rule, State};
use crate::{NS_PER_MS, NS_PER_S};

/// What the host must do after a segment was processed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arrival {
    /// Nothing beyond what the socket did itself.
    Done,
    /// A passive child reached ESTABLISHED: move it to the accept queue.
    Established,
    /// The connection is gone (CLOSED): free it if nobody refers to it.
    Closed,
    /// A new SYN ended TIME-WAIT: hand the SYN to the listener.
    Reopen,
}

/// SYN-RECEIVED children need to know whether their listener's accept queue is full.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ListenerRoom {
    pub accept_full: bool,
}

impl Socket {
    /// The dispatcher: one arm per state that can receive.
    pub fn input(&mut self, ctx: &mut Ctx, seg: &Segment, room: ListenerRoom) -> Arrival {
        match self.state {
            State::SynSent => self.input_syn_sent(ctx, seg),
            State::TimeWait => self.input_time_wait(ctx, seg),
            State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait
            | State::Closing
            | State::LastAck => self.input_synchronized(ctx, seg, room),
            // Not reachable through demultiplexing: CLOSED sockets match nothing
            // and listeners are handled by the host.
            State::Closed | State::Listen => {
                unreachable!("segment dispatched to a {} socket", self.state)
            }
        }
    }

    /// §3.10.7.3: SYN-SENT.
    fn input_syn_sent(&mut self, ctx: &mut Ctx, seg: &Segment) -> Arrival {
        let f = seg.flags;
        let t = &self.tcb;
        let ack_ok = f.ack() && seg.ack.gt(t.iss) && seg.ack.le(t.snd_max);
        if f.ack() && !ack_ok {
            // First check: an ACK for something we never sent gets RST, unless it is one.
            self.send_rst_reply(ctx, seg, RstCause::UnacceptableAck);
            return Arrival::Done;
        }
        if f.rst() {
            if !ack_ok {
                self.ignored(ctx, "RST without ACK in SYN-SENT");
                return Arrival::Done;
            }
            if ctx.p.rst_to_syn.value == RstToSyn::RetrySyn
                && self.tcb.refusals < ctx.p.refused_syn_retries.value
            {
                // KB 175523: the SYN is retried without doubling the timeout.
                self.tcb.refusals += 1;
                self.tcb.retry_after_refusal = true;
                self.tcb.rexmt_at = Some(ctx.now + REFUSED_SYN_RETRY_NS);
                self.ignored(ctx, "RST to SYN ignored, SYN will be retried");
                return Arrival::Done;
            }
            ctx.out.events.push(Event::RstReceived {
                conn: self.conn(),
                state: self.state,
            });
            self.so_error = Some(Errno::ECONNREFUSED);
            self.reset = true;
            self.rst_received = true;
            self.set_state(ctx, State::Closed, Rule::Refused);
            return Arrival::Closed;
        }
        if !f.syn() {
            self.ignored(ctx, "no SYN in SYN-SENT");
            return Arrival::Done;
        }
        let t = &mut self.tcb;
        t.irs = seg.seq;
        t.rcv_nxt = seg.seq + 1;
        t.last_ack_sent = t.rcv_nxt;
        let peer_mss = if seg.mss == 0 { 536 } else { seg.mss as u32 };
        t.mss = self.mss_local.min(peer_mss);
        t.cwnd = ctx.p.initial_cwnd_segs.value.max(1) * t.mss;
        if ack_ok {
            t.snd_una = seg.ack;
            t.snd_wnd = seg.wnd;
            t.snd_wl1 = seg.seq;
            t.snd_wl2 = seg.ack;
            t.retries = 0;
            t.rexmt_at = None;
            if let Some((_, sent)) = t.rtt_probe.take() {
                self.rtt_sample(ctx.p, ctx.now - sent);
            }
            self.set_state(ctx, State::Established, Rule::RcvSynAck);
            self.tcb.ack_now = true;
            // Data or FIN on the SYN-ACK is processed as in ESTABLISHED.
            if seg.len > 0 || f.fin() {
                let rest = Segment {
                    seq: seg.seq + 1,
                    flags: Flags(f.0 & !Flags::SYN.0),
                    ..*seg
                };
                return self.process_text_and_fin(ctx, &rest);
            }
            self.output(ctx);
        } else {
            // Simultaneous open: answer with SYN-ACK from the same ISS.
            self.set_state(ctx, State::SynReceived, Rule::RcvSynSimultaneous);
            self.tcb.snd_wnd = seg.wnd;
            self.tcb.snd_wl1 = seg.seq;
            self.send_syn(ctx);
        }
        Arrival::Done
    }

    /// §3.10.7.4 for SYN-RECEIVED and the synchronized states except TIME-WAIT.
    fn input_synchronized(&mut self, ctx: &mut Ctx, seg: &Segment, room: ListenerRoom) -> Arrival {
        let without_syn;
        let seg = if self.state == State::SynReceived && seg.flags.syn() && seg.seq == self.tcb.irs
        {
            match self.peer_syn_again(ctx, seg) {
                Some(rest) => {
                    without_syn = rest;
                    &without_syn
                }
                None => return Arrival::Done,
            }
        } else {
            seg
        };
        let f = seg.flags;
        // First: sequence number.
        if !self.acceptable(seg) {
            if !f.rst() {
                self.tcb.ack_now = true;
                self.output(ctx);
            }
            self.ignored(ctx, "unacceptable sequence number");
            return Arrival::Done;
        }
        // Second: RST.
        if f.rst() {
            return self.rcv_rst(ctx, seg);
        }
        // Fourth: SYN.
        if f.syn() {
            return self.rcv_syn_synchronized(ctx);
        }
        // Fifth: ACK.
        if !f.ack() {
            self.ignored(ctx, "no ACK");
            return Arrival::Done;
        }
        let mut arrival = Arrival::Done;
        if self.state == State::SynReceived {
            match self.ack_of_syn(ctx, seg, room) {
                Some(Arrival::Established) => arrival = Arrival::Established,
                Some(other) => return other,
                None => {}
            }
        }
        if let Some(done) = self.process_ack(ctx, seg) {
            return done;
        }
        if let other @ (Arrival::Closed | Arrival::Reopen | Arrival::Established) =
            self.process_text_and_fin(ctx, seg)
        {
            return other;
        }
        if self.state == State::FinWait1 && self.fin_acked() {
            // Our FIN is acknowledged and no FIN of the peer's came with it.
            self.enter_fin_wait_2(ctx);
        }
        arrival
    }

    /// SYN-RECEIVED, the peer's SYN at IRS again, which the sequence test would
    /// refuse (it is one below RCV.NXT). Without ACK it is a retransmission: our
    /// SYN-ACK was lost, so send it again (Linux `tcp_check_req`) and stop (None).
    /// With ACK it is the peer's SYN-ACK of a simultaneous open (RFC 793 figure 8,
    /// line 5; Linux `tcp_validate_incoming` lets it pass): the segment without
    /// its SYN goes on. With RST it goes on unchanged, to the RST check.
    fn peer_syn_again(&mut self, ctx: &mut Ctx, seg: &Segment) -> Option<Segment> {
        if seg.flags.rst() {
            return Some(*seg);
        }
        if !seg.flags.ack() {
            self.send_syn(ctx);
            return None;
        }
        Some(Segment {
            seq: seg.seq + 1,
            flags: Flags(seg.flags.0 & !Flags::SYN.0),
            ..*seg
        })
    }

    /// Seventh and eighth checks (text, FIN), then output.
    fn process_text_and_fin(&mut self, ctx: &mut Ctx, seg: &Segment) -> Arrival {
        if seg.len > 0 {
            if let Some(done) = self.process_text(ctx, seg) {
                return done;
            }
        }
        if seg.flags.fin() {
            self.note_fin(ctx, seg.seq + seg.len);
        }
        self.output(ctx);
        Arrival::Done
    }

    /// RFC 9293 §3.10.7.4, the acceptability table, with the zero-window
    /// allowance for ACKs and RSTs at RCV.NXT.
    fn acceptable(&self, seg: &Segment) -> bool {
        let nxt = self.tcb.rcv_nxt;
        let wnd = self.rcv_wnd();
        let len = seg.seq_len();
        if wnd == 0 {
            return seg.seq == nxt;
        }
        let right = nxt + wnd;
        if len == 0 {
            return seg.seq.in_range(nxt, right);
        }
        seg.seq.in_range(nxt, right)
            || (seg.seq + (len - 1)).in_range(nxt, right)
            || (seg.seq.lt(nxt) && (seg.seq + len).gt(nxt))
    }

    /// Second check: an RST in window (RFC 5961 §3 where the personality has it).
    fn rcv_rst(&mut self, ctx: &mut Ctx, seg: &Segment) -> Arrival {
        if seg.seq != self.tcb.rcv_nxt && ctx.p.challenge_ack.value {
            self.tcb.ack_now = true;
            self.output(ctx);
            self.ignored(ctx, "in-window RST not at RCV.NXT: challenge ACK");
            return Arrival::Done;
        }
        ctx.out.events.push(Event::RstReceived {
            conn: self.conn(),
            state: self.state,
        });
        self.rst_received = true;
        self.reset = true;
        let error = match self.state {
            State::SynReceived if self.parent.is_some() => {
                // Passive open: the child goes away quietly (back to LISTEN).
                self.set_state(ctx, State::Closed, Rule::RcvRst);
                return Arrival::Closed;
            }
            State::SynReceived => Some(Errno::ECONNREFUSED),
            State::CloseWait if ctx.p.write_after_rst.value == WriteAfterRst::ErrorThenEpipe => {
                Some(Errno::EPIPE)
            }
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                Some(Errno::ECONNRESET)
            }
            State::Closing | State::LastAck => None,
            State::Closed | State::Listen | State::SynSent | State::TimeWait => {
                unreachable!("rcv_rst in {}", self.state)
            }
        };
        if !self.closed {
            self.so_error = error;
        }
        self.purge_send_queue(ctx, DiscardCause::RstReceived);
        if ctx.p.rst_discards_unread.value {
            self.purge_receive_queue(ctx, DiscardCause::RstReceivedUnread);
        }
        self.set_state(ctx, State::Closed, Rule::RcvRst);
        Arrival::Closed
    }

    /// Fourth check: a SYN in a synchronized state.
    fn rcv_syn_synchronized(&mut self, ctx: &mut Ctx) -> Arrival {
        if ctx.p.challenge_ack.value {
            self.tcb.ack_now = true;
            self.output(ctx);
            self.ignored(ctx, "SYN in synchronized state: challenge ACK");
            return Arrival::Done;
        }
        if !self.closed {
            self.so_error = Some(Errno::ECONNRESET);
        }
        self.abort(ctx, RstCause::SynInWindow);
        Arrival::Closed
    }

    /// Fifth check in SYN-RECEIVED: the ACK of our SYN. `None` to go on.
    fn ack_of_syn(&mut self, ctx: &mut Ctx, seg: &Segment, room: ListenerRoom) -> Option<Arrival> {
        let t = &self.tcb;
        if !(seg.ack.gt(t.snd_una) && seg.ack.le(t.snd_max)) {
            self.send_rst_reply(ctx, seg, RstCause::UnacceptableAck);
            return Some(Arrival::Done);
        }
        if self.parent.is_some() && room.accept_full {
            match ctx.p.listen_overflow.value {
                ListenOverflow::DropSyn | ListenOverflow::RstSyn => {
                    ctx.out.events.push(Event::SynDropped {
                        conn: self.conn(),
                        reason: "accept queue full: final ACK dropped",
                    });
                    return Some(Arrival::Done);
                }
                ListenOverflow::HandshakeThenRst => {
                    self.abort(ctx, RstCause::ListenOverflow);
                    return Some(Arrival::Closed);
                }
            }
        }
        let t = &mut self.tcb;
        t.snd_wnd = seg.wnd;
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        self.set_state(ctx, State::Established, Rule::RcvAckOfSyn);
        Some(Arrival::Established)
    }

    /// Fifth check: ACK processing. `Some` when the segment is finished with.
    fn process_ack(&mut self, ctx: &mut Ctx, seg: &Segment) -> Option<Arrival> {
        let ack = seg.ack;
        if ack.gt(self.tcb.snd_max) {
            // Acknowledges something not yet sent: ACK and drop.
            self.tcb.ack_now = true;
            self.output(ctx);
            self.ignored(ctx, "ACK for unsent data");
            return Some(Arrival::Done);
        }
        // The peer is alive: zero-window probes so far were answered.
        self.tcb.probes_out = 0;
        if ack.gt(self.tcb.snd_una) {
            self.new_ack(ctx, seg);
        } else if ack == self.tcb.snd_una
            && seg.len == 0
            && !seg.flags.fin()
            && seg.wnd == self.tcb.snd_wnd
            && self.tcb.snd_max.gt(self.tcb.snd_una)
        {
            self.tcb.dupacks += 1;
            if self.tcb.dupacks == 3 {
                // Fast retransmit (RFC 5681 §3.2), without fast recovery's inflation.
                let t = &mut self.tcb;
                let flight = t.snd_max - t.snd_una;
                t.ssthresh = (flight / 2).max(2 * t.mss);
                t.cwnd = t.ssthresh;
                self.retransmit_head(ctx);
            }
        }
        self.update_window(ctx, seg);
        self.assert_send_sequence();
        if !self.fin_acked() {
            return None;
        }
        match self.state {
            // Not yet: a FIN in this same segment takes FIN-WAIT-1 straight to
            // TIME-WAIT (eighth check: "our FIN has been ACKed (perhaps in this
            // segment)"); otherwise `input_synchronized` moves to FIN-WAIT-2
            // once the text is processed.
            State::FinWait1 => {}
            State::Closing => self.set_state(ctx, State::TimeWait, Rule::RcvAckOfFin),
            State::LastAck => {
                self.set_state(ctx, State::Closed, Rule::RcvAckOfFin);
                return Some(Arrival::Closed);
            }
            // Already past the ACK of our FIN.
            State::FinWait2 | State::TimeWait => {}
            State::Closed
            | State::Listen
            | State::SynSent
            | State::SynReceived
            | State::Established
            | State::CloseWait => unreachable!("our FIN acknowledged in {}", self.state),
        }
        None
    }

    /// Window update (RFC 9293 §3.10.7.4, SND.WL1/WL2). A window that opens ends
    /// persist mode and its backoff, which belongs to the probes, not to the RTO.
    fn update_window(&mut self, ctx: &mut Ctx, seg: &Segment) {
        let t = &mut self.tcb;
        if !(t.snd_wl1.lt(seg.seq) || (t.snd_wl1 == seg.seq && t.snd_wl2.le(seg.ack))) {
            return;
        }
        t.snd_wnd = seg.wnd;
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        if t.persist && t.snd_wnd > 0 {
            t.persist = false;
            t.rexmt_at = None;
            t.retries = 0;
            self.reset_rto(ctx.p);
        }
    }

    /// The ACK of our FIN took FIN-WAIT-1 to FIN-WAIT-2 (RFC 9293 §3.10.7.4 fifth check).
    fn enter_fin_wait_2(&mut self, ctx: &mut Ctx) {
        self.set_state(ctx, State::FinWait2, Rule::RcvAckOfFin);
        self.arm_fin_wait_2(ctx);
    }

    /// An ACK that acknowledges new data: advance SND.UNA, sample RTT, grow cwnd.
    fn new_ack(&mut self, ctx: &mut Ctx, seg: &Segment) {
        let ack = seg.ack;
        let t = &mut self.tcb;
        assert!(
            ack.gt(t.snd_una) && ack.le(t.snd_max),
            "new ACK out of range"
        );
        let acked = ack - t.snd_una;
        t.snd_una = ack;
        if t.snd_nxt.lt(ack) {
            t.snd_nxt = ack;
        }
        t.dupacks = 0;
        t.retries = 0;
        let sample = match t.rtt_probe {
            Some((end, sent)) if ack.ge(end) => {
                t.rtt_probe = None;
                Some(ctx.now - sent)
            }
            _ => None,
        };
        // Slow start, then congestion avoidance (RFC 5681 §3.1).
        if t.cwnd < t.ssthresh {
            t.cwnd = t.cwnd.saturating_add(acked.min(t.mss));
        } else {
            t.cwnd = t
                .cwnd
                .saturating_add((t.mss as u64 * t.mss as u64 / t.cwnd.max(1) as u64).max(1) as u32);
        }
        match sample {
            Some(s) => self.rtt_sample(ctx.p, s),
            None => self.reset_rto(ctx.p),
        }
        let t = &mut self.tcb;
        t.persist = false;
        t.rexmt_at = if t.snd_una == t.snd_max {
            None
        } else {
            Some(ctx.now + t.rto_ns)
        };
    }

    /// Seventh check: segment text. `Some` when the connection was aborted.
    fn process_text(&mut self, ctx: &mut Ctx, seg: &Segment) -> Option<Arrival> {
        if !matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; ignore.
            return None;
        }
        let end = seg.seq + seg.len;
        if end.le(self.tcb.rcv_nxt) {
            self.tcb.ack_now = true; // a duplicate: re-ACK
            return None;
        }
        let in_fin_wait = matches!(self.state, State::FinWait1 | State::FinWait2);
        let mut discard = None;
        if self.closed {
            match ctx.p.data_after_close.value {
                DataAfterClose::Rst => {
                    return Some(self.abort_on_data(ctx, seg, RstCause::DataAfterClose))
                }
                DataAfterClose::AckDiscard => discard = Some(DiscardCause::AfterClose),
            }
        } else if self.shut_rd {
            match ctx.p.data_after_shut_rd.value {
                DataAfterShutRd::Accept => {}
                DataAfterShutRd::RstInFinWait if in_fin_wait => {
                    return Some(self.abort_on_data(ctx, seg, RstCause::DataAfterShutRd))
                }
                DataAfterShutRd::RstInFinWait => {}
                DataAfterShutRd::AckDiscard => discard = Some(DiscardCause::AfterShutRd),
                DataAfterShutRd::Rst => {
                    return Some(self.abort_on_data(ctx, seg, RstCause::DataAfterShutRd))
                }
            }
        }
        if seg.seq.gt(self.tcb.rcv_nxt) {
            // Keep only what lies inside the window; the rest is the peer's to resend.
            let right = self.tcb.rcv_nxt + self.rcv_wnd();
            if seg.seq.lt(right) {
                let len = (end.min(right) - seg.seq).min(seg.len);
                self.queue_out_of_order(seg.seq, len);
            }
            self.tcb.ack_now = true;
            return None;
        }
        let new = end - self.tcb.rcv_nxt;
        let taken = self.deliver(ctx, new, discard);
        if taken < new {
            self.tcb.ack_now = true; // beyond the window: dropped, re-ACK
        }
        self.drain_out_of_order(ctx, discard);
        self.schedule_ack(ctx);
        None
    }

    /// Puts up to `len` in-order octets into the receive buffer; returns how many fit.
    fn deliver(&mut self, ctx: &mut Ctx, len: u32, discard: Option<DiscardCause>) -> u32 {
        let take = len.min(self.rcv_wnd());
        if take == 0 {
            return 0;
        }
        self.tcb.rcv_nxt = self.tcb.rcv_nxt + take;
        ctx.out.events.push(Event::Delivered {
            conn: self.conn(),
            bytes: take as u64,
        });
        match discard {
            Some(cause) => self.discard(ctx, crate::event::Buffer::Receive, take as u64, cause),
            None => self.tcb.unread += take as u64,
        }
        take
    }

    /// Keeps an out-of-order range (bounded; overlapping ranges are merged).
    fn queue_out_of_order(&mut self, seq: Seq, len: u32) {
        let ooo = &mut self.tcb.ooo;
        let mut start = seq;
        let mut end = seq + len;
        let mut i = 0;
        while i < ooo.len() {
            let (s, l) = ooo[i];
            let e = s + l;
            if e.lt(start) {
                i += 1;
                continue;
            }
            if s.gt(end) {
                break;
            }
            // Overlaps or touches: merge.
            if s.lt(start) {
                start = s;
            }
            if e.gt(end) {
                end = e;
            }
            ooo.remove(i);
        }
        if ooo.len() < OOO_RANGES_MAX {
            ooo.insert(i, (start, end - start));
        }
        // Sorted, apart (touching ranges were merged), and never empty.
        assert!(ooo.iter().all(|r| r.1 > 0));
        assert!(ooo.windows(2).all(|w| (w[0].0 + w[0].1).lt(w[1].0)));
    }

    /// Moves out-of-order data that became in-order into the receive buffer.
    fn drain_out_of_order(&mut self, ctx: &mut Ctx, discard: Option<DiscardCause>) {
        while let Some(&(s, l)) = self.tcb.ooo.first() {
            let nxt = self.tcb.rcv_nxt;
            if s.gt(nxt) {
                break;
            }
            self.tcb.ooo.remove(0);
            let end = s + l;
            if end.gt(nxt) {
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

    /// Delayed ACK: every second full segment at once, otherwise after `delack_ms`.
    fn schedule_ack(&mut self, ctx: &mut Ctx) {
        let t = &mut self.tcb;
        if t.rcv_nxt - t.last_ack_sent >= 2 * t.mss {
            t.ack_now = true;
        } else if t.delack_at.is_none() {
            t.delack_at = Some(ctx.now + ctx.p.delack_ms.value as u64 * NS_PER_MS);
        }
    }

    /// Eighth check: a FIN at `fin_seq`.
    fn note_fin(&mut self, ctx: &mut Ctx, fin_seq: Seq) {
        if fin_seq.gt(self.tcb.rcv_nxt) {
            self.tcb.ooo_fin = Some(fin_seq);
            self.tcb.ack_now = true;
            return;
        }
        if fin_seq.lt(self.tcb.rcv_nxt) || self.tcb.fin_rcvd {
            self.tcb.ack_now = true; // retransmitted FIN
            return;
        }
        self.tcb.rcv_nxt = self.tcb.rcv_nxt + 1;
        self.tcb.fin_rcvd = true;
        self.tcb.ack_now = true;
        match self.state {
            State::Established => self.set_state(ctx, State::CloseWait, Rule::RcvFin),
            // RFC 9293 §3.10.7.4 eighth check: TIME-WAIT if this segment (or an
            // earlier one) acknowledged our FIN, else simultaneous close.
            State::FinWait1 if self.fin_acked() => {
                self.set_state(ctx, State::TimeWait, Rule::RcvFinAckOfFin)
            }
            State::FinWait1 => self.set_state(ctx, State::Closing, Rule::RcvFin),
            State::FinWait2 => self.set_state(ctx, State::TimeWait, Rule::RcvFin),
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait => {}
            // SYN-RECEIVED: the ACK check made the segment ESTABLISHED or dropped it.
            State::Closed | State::Listen | State::SynSent | State::SynReceived => {
                unreachable!("FIN processed in {}", self.state)
            }
        }
    }

    /// Arms the FIN-WAIT-2 timer if the personality arms it in this situation.
    pub fn arm_fin_wait_2(&mut self, ctx: &mut Ctx) {
        if self.state != State::FinWait2 || self.tcb.close_timer.is_some() {
            return;
        }
        let armed = match ctx.p.fin_wait_2_timer.value {
            FinWait2Timer::Orphan => self.closed,
            FinWait2Timer::CantRcvMore => self.cant_rcv_more(),
            FinWait2Timer::Always => true,
        };
        if armed {
            let at = ctx.now + ctx.p.fin_wait_2_timeout_s.value as u64 * NS_PER_S;
            self.tcb.close_timer = Some((at, CloseTimer::FinWait2));
        }
    }

    /// TIME-WAIT (Linux `tcp_timewait_state_process`, RFC 9293 §3.10.7.4).
    fn input_time_wait(&mut self, ctx: &mut Ctx, seg: &Segment) -> Arrival {
        let f = seg.flags;
        if f.rst() {
            if seg.seq == self.tcb.rcv_nxt && ctx.p.rst_in_time_wait.value == RstInTimeWait::Kill {
                ctx.out.events.push(Event::RstReceived {
                    conn: self.conn(),
                    state: self.state,
                });
                self.set_state(ctx, State::Closed, Rule::RcvRst);
                return Arrival::Closed;
            }
            self.ignored(ctx, "RST in TIME-WAIT");
            return Arrival::Done;
        }
        if f.syn() && !f.ack() {
            if ctx.p.syn_in_time_wait.value == SynInTimeWait::ReopenIfNewer
                && seg.seq.gt(self.tcb.rcv_nxt)
            {
                self.set_state(ctx, State::Closed, Rule::TimeWaitReopened);
                return Arrival::Reopen;
            }
        } else if f.fin() && (seg.seq + seg.seq_len()) == self.tcb.rcv_nxt {
            // The peer retransmitted its FIN: our ACK was lost. ACK it and restart 2MSL.
            let at = ctx.now + ctx.p.time_wait_s.value as u64 * NS_PER_S;
            self.tcb.close_timer = Some((at, CloseTimer::TimeWait));
        } else if seg.seq_len() == 0 {
            return Arrival::Done;
        }
        self.tcb.ack_now = true;
        self.output(ctx);
        Arrival::Done
    }

    /// New data we refuse (RFC 1122 §4.2.2.13): the RST answers the segment
    /// (Linux and BSD both reply from the segment, a bare `R` at its ACK:
    /// linux-facts rows 3, 8b, 14b), the send queue is discarded, and the
    /// reason recorded.
    fn abort_on_data(&mut self, ctx: &mut Ctx, seg: &Segment, cause: RstCause) -> Arrival {
        if !self.closed {
            self.so_error = Some(Errno::ECONNRESET);
        }
        self.send_rst_reply(ctx, seg, cause);
        self.drop_connection(ctx, cause);
        Arrival::Closed
    }

    pub(crate) fn ignored(&self, ctx: &mut Ctx, reason: &'static str) {
        ctx.out.events.push(Event::Ignored {
            conn: self.conn(),
            reason,
        });
    }
}

/// KB 175523: after an RST to its SYN, Windows retries the SYN at a fixed interval.
pub const REFUSED_SYN_RETRY_NS: u64 = 500 * NS_PER_MS;
