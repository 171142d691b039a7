//! SEGMENT ARRIVES (RFC 9293 §3.10.7) for a connection that exists:
//! SYN-SENT, the synchronized states and TIME-WAIT. The listener's part and
//! the closed-port reply live in `host.rs`, which owns the demultiplexing.
//!
//! Each check of §3.10.7.4 is a named helper; `input` is the dispatcher.

use crate::errno::Errno;
use crate::event::{DiscardCause, Event, RstCause};
use crate::personality::{
    DataAfterClose, DataAfterShutRd, FinWait2Timer, Knobs, ListenOverflow, RstInTimeWait,
    RstSeqMatch, RstToSyn, SynInTimeWait, WriteAfterRst,
};
use crate::segment::{Flags, Segment};
use crate::seq::Offset;
use crate::socket::{CloseTimer, Ctx, Ending, SendTimer, Socket, OOO_RANGES_MAX};
use crate::state::{Rule, State};

mod text;

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

/// What an RST does to a synchronized connection (RFC 9293 §3.10.7.4 first
/// and second checks, RFC 5961 §3.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RstVerdict {
    /// It resets the connection.
    Reset,
    /// In the window but not where `rst_seq_match` wants it: challenge ACK.
    Challenge,
    /// Outside the window: dropped silently.
    Drop,
}

/// What the seventh check (segment text) did with the payload.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Text {
    /// Nothing new in order (a duplicate, out of order, or ignored).
    Nothing,
    /// New in-order data: its ACK is to be scheduled.
    Delivered,
    /// The connection was aborted.
    Aborted(Arrival),
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
        let ack = t.ack_offset(seg.ack);
        let ack_ok = f.ack() && ack > Offset::SYN && ack <= t.snd_max;
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
                let wait = ctx.p.refused_syn_retry_ms.value.duration();
                self.tcb.send_timer = SendTimer::Retransmit { at: ctx.now + wait };
                self.ignored(ctx, "RST to SYN ignored, SYN will be retried");
                return Arrival::Done;
            }
            ctx.out.events.push(Event::RstReceived {
                conn: self.conn(),
                state: self.state,
            });
            self.so_error = Some(Errno::ECONNREFUSED);
            self.finish(ctx, Ending::RstReceived, Rule::Refused);
            return Arrival::Closed;
        }
        if !f.syn() {
            self.ignored(ctx, "no SYN in SYN-SENT");
            return Arrival::Done;
        }
        // Our SYN offered timestamps if the personality uses them.
        self.learn_peer_syn(ctx.p, seg, self.tcb.ts_ok);
        self.round_bufs_to_mss(ctx.p);
        self.expand_snd_buf(ctx.p);
        self.init_rcv_window(ctx.now);
        let t = &mut self.tcb;
        if ack_ok {
            t.snd_una = ack;
            t.snd_wl2 = ack;
            t.retries = 0;
            t.send_timer = SendTimer::Idle;
            if let Some((_, sent)) = t.rtt_probe.take() {
                self.rtt_sample(ctx.p, ctx.now.saturating_since(sent));
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
            if ctx.p.syn_sent_keeps_syn_data.value && seg.len > 0 {
                // Kept out of order: RCV.NXT (and so the SYN-ACK) stays at
                // the SYN until ESTABLISHED delivers it (ack_of_syn).
                let room = u64::from(seg.len.min(self.rcv_wnd()));
                let first = Offset::FIRST_DATA;
                self.queue_out_of_order(first, first + room);
            }
            self.send_syn(ctx);
        }
        Arrival::Done
    }

    /// Learns the peer's SYN (or SYN-ACK), in a listener's new child (§3.10.7.2)
    /// or in SYN-SENT (§3.10.7.3): its ISN, our ACK of it, the options both
    /// ends agree on (timestamps if `ts_offered` by us too, the smaller MSS),
    /// the first congestion window in that MSS, and the peer's first window.
    pub(crate) fn learn_peer_syn(&mut self, p: &Knobs, seg: &Segment, ts_offered: bool) {
        let t = &mut self.tcb;
        t.irs = seg.seq;
        t.rcv_nxt = Offset::FIRST_DATA;
        t.last_ack_sent = t.rcv_nxt;
        t.ts_ok = ts_offered && seg.opts.ts();
        t.ws_ok = p.tcp_window_scaling.value && seg.opts.ws();
        if t.ws_ok {
            self.tcb.rcv_wscale = self.wscale_offer(p);
        }
        self.set_send_mss(seg.mss);
        let t = &mut self.tcb;
        t.cwnd = p.initial_cwnd_segs.value.max(1) * t.mss;
        t.snd_wnd = seg.wnd;
        t.max_snd_wnd = t.max_snd_wnd.max(seg.wnd);
        t.snd_wl1 = Offset::SYN;
    }

    /// §3.10.7.4 for SYN-RECEIVED and the synchronized states except TIME-WAIT.
    fn input_synchronized(&mut self, ctx: &mut Ctx, seg: &Segment, room: ListenerRoom) -> Arrival {
        let without_syn;
        let syn_again = self.state == State::SynReceived
            && seg.flags.syn()
            && self.tcb.seq_offset(seg.seq) == Offset::SYN;
        let seg = if syn_again {
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
        // Anything from the peer shows it is alive: the keepalive idle time
        // restarts, and so does the persist timer's (BSD tcp_input sets
        // t_rcvtime for every segment, before validating it).
        if self.tcb.keepalive_at.is_some() {
            self.touch_keepalive(ctx);
        }
        if let SendTimer::Persist { heard_at, .. } = &mut self.tcb.send_timer {
            *heard_at = ctx.now;
        }
        let f = seg.flags;
        // First and second checks for an RST: its sequence number decides
        // between reset, challenge ACK and drop (`rst_verdict`).
        if f.rst() {
            return self.rcv_rst(ctx, seg);
        }
        // First: sequence number.
        if !self.acceptable(seg) {
            return self.unacceptable(ctx, seg);
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

    /// A segment outside the window: ACK it and drop it. A SYN there draws
    /// a challenge ACK (RFC 5961 §4.2: Linux tcp_validate_incoming's
    /// syn_challenge, BSD's SYN check before the sequence test).
    fn unacceptable(&mut self, ctx: &mut Ctx, seg: &Segment) -> Arrival {
        let f = seg.flags;
        let end = self.tcb.seq_offset(seg.seq) + seg.seq_len() as u64;
        let old = end <= self.tcb.rcv_nxt;
        // Linux tcp_sequence: not before rcv_wup (old_data), else an ACK at once.
        let old_data = ctx.p.old_data_ack_snd_check.value
            && old
            && seg.seq_len() > 0
            && !f.syn()
            && end >= self.tcb.last_ack_sent;
        if !old_data {
            self.tcb.ack_now = true;
        }
        if ctx.p.old_segment_acks.value && old && f.ack() && !f.syn() {
            // BSD tcp_do_segment: a duplicate is trimmed to nothing, and its
            // ACK processed ("keep on processing for RST or ACK").
            let bare = Segment {
                len: 0,
                flags: Flags::ACK,
                ..*seg
            };
            if let Some(done) = self.process_ack(ctx, &bare) {
                return done;
            }
            if self.state == State::FinWait1 && self.fin_acked() {
                self.enter_fin_wait_2(ctx);
            }
        }
        if old_data {
            return self.old_data(ctx);
        }
        if f.syn() {
            self.output_challenge_ack(ctx);
        } else {
            self.output(ctx);
        }
        self.ignored(ctx, "unacceptable sequence number");
        Arrival::Done
    }

    /// A duplicate that Linux's tcp_sequence lets through (its end is not
    /// before rcv_wup, our last ACK) reaches tcp_data_queue's old-data path:
    /// quick-ACK mode again and out of ping-pong (tcp_enter_quickack_mode),
    /// an ACK scheduled but not forced, so __tcp_ack_snd_check decides it as
    /// for new data, and with the buffer half full its window test ends the
    /// quick ACKs and the ACK waits for the delayed-ACK timer.
    fn old_data(&mut self, ctx: &mut Ctx) -> Arrival {
        self.incr_quickack(ctx.p);
        self.tcb.pingpong = false;
        self.schedule_ack(ctx);
        self.output(ctx);
        self.ignored(ctx, "duplicate data");
        Arrival::Done
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

    /// Seventh and eighth checks (text, FIN), then the ACK decision (after
    /// the FIN, which may have made the connection interactive), then output.
    fn process_text_and_fin(&mut self, ctx: &mut Ctx, seg: &Segment) -> Arrival {
        let mut delivered = false;
        if seg.len > 0 {
            match self.process_text(ctx, seg) {
                Text::Aborted(done) => return done,
                Text::Delivered => delivered = true,
                Text::Nothing => {}
            }
        }
        if seg.flags.fin() {
            let fin = self.tcb.seq_offset(seg.seq) + seg.len as u64;
            self.note_fin(ctx, fin);
        }
        if delivered {
            self.schedule_ack(ctx);
        }
        self.output(ctx);
        Arrival::Done
    }

    /// RFC 9293 §3.10.7.4, the acceptability table, with the zero-window
    /// allowance for ACKs and RSTs at RCV.NXT.
    fn acceptable(&self, seg: &Segment) -> bool {
        let nxt = self.tcb.rcv_nxt;
        let seq = self.tcb.seq_offset(seg.seq);
        let wnd = self.rcv_wnd() as u64;
        let len = seg.seq_len() as u64;
        if wnd == 0 {
            return seq == nxt;
        }
        let window = nxt..nxt + wnd;
        if len == 0 {
            return window.contains(&seq);
        }
        window.contains(&seq)
            || window.contains(&(seq + (len - 1)))
            || (seq < nxt && seq + len > nxt)
    }

    /// Where an RST must fall (`rst_seq_match`): the sequence number it resets
    /// at, the window it is tested against, and what happens elsewhere.
    fn rst_verdict(&self, p: &Knobs, seg: &Segment) -> RstVerdict {
        let t = &self.tcb;
        let wnd = self.rcv_wnd();
        let after_fin = matches!(
            self.state,
            State::CloseWait | State::Closing | State::LastAck
        );
        let (anchor, one_below) = match p.rst_seq_match.value {
            RstSeqMatch::RcvNxt => (t.rcv_nxt, false),
            RstSeqMatch::RcvNxtOrBelowAfterFin => (t.rcv_nxt, after_fin),
            RstSeqMatch::LastAckSent => (t.last_ack_sent, false),
            // XNU: TCPS_CLOSE_WAIT and every state numbered after it.
            RstSeqMatch::LastAckSentOrBelowAfterFin => (
                t.last_ack_sent,
                wnd == 0 || after_fin || matches!(self.state, State::FinWait1 | State::FinWait2),
            ),
        };
        let seq = t.seq_offset(seg.seq);
        if seq == anchor || (one_below && seq + 1 == anchor) {
            return RstVerdict::Reset;
        }
        let in_window = match p.rst_seq_match.value {
            // Linux tcp_sequence(): not before rcv_wup, the RCV.NXT of our
            // last ACK, which trails RCV.NXT while an ACK is delayed. (Its
            // right edge is rcv_wup + rcv_wnd, the one advertised; the model
            // keeps RCV.NXT + the window it would offer now.)
            RstSeqMatch::RcvNxtOrBelowAfterFin => {
                (t.last_ack_sent.min(t.rcv_nxt)..anchor + wnd as u64).contains(&seq)
            }
            _ => (anchor..anchor + wnd as u64).contains(&seq),
        };
        match (in_window, p.challenge_ack.value) {
            (true, true) => RstVerdict::Challenge,
            (true, false) => RstVerdict::Reset,
            (false, _) => RstVerdict::Drop,
        }
    }

    /// First and second checks for an RST; if it is acceptable, the connection
    /// is reset.
    fn rcv_rst(&mut self, ctx: &mut Ctx, seg: &Segment) -> Arrival {
        match self.rst_verdict(ctx.p, seg) {
            RstVerdict::Reset => {}
            RstVerdict::Challenge => {
                self.tcb.ack_now = true;
                self.output_challenge_ack(ctx);
                self.ignored(ctx, "in-window RST not at RCV.NXT: challenge ACK");
                return Arrival::Done;
            }
            RstVerdict::Drop => {
                self.ignored(ctx, "unacceptable sequence number");
                return Arrival::Done;
            }
        }
        ctx.out.events.push(Event::RstReceived {
            conn: self.conn(),
            state: self.state,
        });
        self.reset = true;
        let error = match self.state {
            State::SynReceived if self.parent.is_some() => {
                // Passive open: the child goes away quietly (back to LISTEN).
                self.finish(ctx, Ending::RstReceived, Rule::RcvRst);
                return Arrival::Closed;
            }
            State::SynReceived => Some(Errno::ECONNREFUSED),
            State::CloseWait if ctx.p.write_after_rst.value == WriteAfterRst::ErrorThenEpipe => {
                Some(Errno::EPIPE)
            }
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                Some(Errno::ECONNRESET)
            }
            State::Closing | State::LastAck if ctx.p.rst_error_after_fin.value => {
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
        self.finish(ctx, Ending::RstReceived, Rule::RcvRst);
        Arrival::Closed
    }

    /// Fourth check: a SYN in a synchronized state.
    fn rcv_syn_synchronized(&mut self, ctx: &mut Ctx) -> Arrival {
        if ctx.p.syn_challenge_ack.value {
            self.tcb.ack_now = true;
            self.output_challenge_ack(ctx);
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
        let ack = t.ack_offset(seg.ack);
        if !(ack > t.snd_una && ack <= t.snd_max) {
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
        t.max_snd_wnd = t.max_snd_wnd.max(seg.wnd);
        t.snd_wl1 = t.seq_offset(seg.seq);
        t.snd_wl2 = ack;
        // A listener's connection learns its buffers when it is established (BSD syncache_socket).
        self.round_bufs_to_mss(ctx.p);
        self.expand_snd_buf(ctx.p);
        self.init_rcv_window(ctx.now);
        self.set_state(ctx, State::Established, Rule::RcvAckOfSyn);
        // Data kept from a simultaneous-open SYN becomes readable now, with no
        // ACK of its own (BSD tcp_reass(tp, NULL, ...) only wakes the reader).
        let ack_now = self.tcb.ack_now;
        self.drain_out_of_order(ctx, None);
        self.tcb.ack_now = ack_now;
        Some(Arrival::Established)
    }

    /// Fifth check: ACK processing. `Some` when the segment is finished with.
    fn process_ack(&mut self, ctx: &mut Ctx, seg: &Segment) -> Option<Arrival> {
        let ack = self.tcb.ack_offset(seg.ack);
        if ack > self.tcb.snd_max {
            // Acknowledges something not yet sent: ACK and drop.
            self.tcb.ack_now = true;
            self.output(ctx);
            self.ignored(ctx, "ACK for unsent data");
            return Some(Arrival::Done);
        }
        // The peer is alive: zero-window probes so far were answered.
        self.tcb.probes_out = 0;
        let acked = ack.0.saturating_sub(self.tcb.snd_una.0);
        if acked > 0 {
            // Linux grows cwnd only while it limits the sender
            // (tcp_is_cwnd_limited); the model's cwnd grows with every ACK, so
            // the send buffer follows it only when the flight filled it.
            let cwnd_limited = self.tcb.flight_size() + self.tcb.mss as u64 > self.tcb.cwnd as u64;
            self.new_ack(ctx, ack);
            self.snd_buf_after_ack(ctx.p, cwnd_limited);
        } else if ack == self.tcb.snd_una
            && seg.len == 0
            && !seg.flags.fin()
            && seg.wnd == self.tcb.snd_wnd
            && self.tcb.snd_max > self.tcb.snd_una
        {
            self.tcb.dupacks += 1;
            if self.tcb.dupacks == 3 {
                // Fast retransmit (RFC 5681 §3.2), without fast recovery's inflation.
                let t = &mut self.tcb;
                t.ssthresh = t.ssthresh_after_loss();
                t.cwnd = t.ssthresh;
                // Recovery: no probe, the RTO it stood for runs (tcp_rearm_rto).
                if let SendTimer::LossProbe { rto_at, .. } = t.send_timer {
                    t.send_timer = SendTimer::Retransmit { at: rto_at };
                }
                self.retransmit_head(ctx);
            }
        }
        self.update_window(ctx, seg, ack, acked);
        self.assert_send_sequence();
        if !self.fin_acked() {
            return None;
        }
        match self.state {
            // Fifth check: "enter FIN-WAIT-2 and continue processing in that
            // state": data after close() is refused from FIN-WAIT-2, and a FIN
            // in this same segment then leads to TIME-WAIT. Linux
            // (tcp_rcv_state_process), FreeBSD and XNU (tcp_do_segment/tcp_input
            // ACK processing) all pass through FIN_WAIT_2 this way.
            State::FinWait1 => self.enter_fin_wait_2(ctx),
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
    ///
    /// When the update test fails but the ACK advanced SND.UNA (an old segment
    /// carrying a new ACK, e.g. a retransmission), the window we hold was
    /// measured from the old SND.UNA: shrink it by the octets acknowledged so its
    /// right edge stays where the peer put it (BSD tcp_input: `snd_wnd -= acked`).
    fn update_window(&mut self, ctx: &mut Ctx, seg: &Segment, ack: Offset, acked: u64) {
        let t = &mut self.tcb;
        let seq = t.seq_offset(seg.seq);
        if !(t.snd_wl1 < seq || (t.snd_wl1 == seq && t.snd_wl2 <= ack)) {
            let acked = u32::try_from(acked).unwrap_or(u32::MAX);
            t.snd_wnd = t.snd_wnd.saturating_sub(acked);
            return;
        }
        t.snd_wnd = seg.wnd;
        t.max_snd_wnd = t.max_snd_wnd.max(seg.wnd);
        t.snd_wl1 = seq;
        t.snd_wl2 = ack;
        if t.send_timer.is_persist() && t.snd_wnd > 0 {
            t.send_timer = SendTimer::Idle;
            t.retries = 0;
            self.reset_rto(ctx.p);
        }
    }

    /// The ACK of our FIN took FIN-WAIT-1 to FIN-WAIT-2 (RFC 9293 §3.10.7.4 fifth check).
    fn enter_fin_wait_2(&mut self, ctx: &mut Ctx) {
        self.set_state(ctx, State::FinWait2, Rule::RcvAckOfFin);
        self.arm_fin_wait_2(ctx);
    }

    /// An ACK that acknowledges new data (up to `ack`): advance SND.UNA,
    /// sample RTT, grow cwnd.
    fn new_ack(&mut self, ctx: &mut Ctx, ack: Offset) {
        let t = &mut self.tcb;
        assert!(
            ack > t.snd_una,
            "new ACK {ack} is not past SND.UNA {}",
            t.snd_una
        );
        assert!(
            ack <= t.snd_max,
            "new ACK {ack} is past SND.MAX {}",
            t.snd_max
        );
        let acked = ack - t.snd_una;
        t.snd_una = ack;
        t.snd_nxt = t.snd_nxt.max(ack);
        t.dupacks = 0;
        t.retries = 0;
        let sample = match t.rtt_probe {
            Some((end, sent)) if ack >= end => {
                t.rtt_probe = None;
                Some(ctx.now.saturating_since(sent))
            }
            _ => None,
        };
        // Slow start, then congestion avoidance (RFC 5681 §3.1).
        if t.cwnd < t.ssthresh {
            // Linux tcp_slow_start counts the segments acknowledged
            // (`slow_start_counts_acked`); RFC 5681 §3.1 one MSS per ACK.
            t.cwnd = if ctx.p.slow_start_counts_acked.value {
                (t.cwnd as u64 + acked).min(t.ssthresh as u64) as u32
            } else {
                t.cwnd.saturating_add(acked.min(t.mss as u64) as u32)
            };
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
        // Linux tcp_process_tlp_ack: an ACK past the probe ends its episode.
        if t.tlp_high.is_some_and(|h| ack >= h) {
            t.tlp_high = None;
        }
        t.send_timer = if t.snd_una == t.snd_max {
            SendTimer::Idle
        } else {
            SendTimer::Retransmit {
                at: ctx.now + t.rto,
            }
        };
        // Linux tcp_set_xmit_timer: the probe, if one is due, in the RTO's place.
        self.schedule_loss_probe(ctx);
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
            let at = ctx.now + ctx.p.fin_wait_2_timeout_s.value.duration();
            self.tcb.close_timer = Some((at, CloseTimer::FinWait2));
        }
    }

    /// TIME-WAIT (Linux `tcp_timewait_state_process`, RFC 9293 §3.10.7.4).
    fn input_time_wait(&mut self, ctx: &mut Ctx, seg: &Segment) -> Arrival {
        let f = seg.flags;
        let t = &self.tcb;
        let seq = t.seq_offset(seg.seq);
        if f.rst() {
            if seq == t.rcv_nxt && ctx.p.rst_in_time_wait.value == RstInTimeWait::Kill {
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
            // The SYN's number is a new connection's ISN, not a position in
            // this stream: "newer" is modulo 2^32, as RFC 1122 §4.2.2.13 and
            // Linux compare it (docs/sources.md#tcpsim-seq-offsets).
            if ctx.p.syn_in_time_wait.value == SynInTimeWait::ReopenIfNewer
                && seg.seq.gt(t.rcv_seq(t.rcv_nxt))
            {
                self.set_state(ctx, State::Closed, Rule::TimeWaitReopened);
                return Arrival::Reopen;
            }
        }
        if !f.ack() && ctx.p.time_wait_needs_ack.value {
            // BSD tcp_twcheck(): checked after the RST and the new SYN.
            self.ignored(ctx, "segment without ACK in TIME-WAIT");
            return Arrival::Done;
        }
        // A SYN that does not reopen is answered with an ACK.
        let old_syn = f.syn() && !f.ack();
        if !old_syn && f.fin() && seq + seg.seq_len() as u64 == t.rcv_nxt {
            // The peer retransmitted its FIN: our ACK was lost. ACK it and restart 2MSL.
            let at = ctx.now + ctx.p.time_wait_s.value.duration();
            self.tcb.close_timer = Some((at, CloseTimer::TimeWait));
        } else if seg.seq_len() == 0 && seq == t.rcv_nxt {
            // A bare ACK at RCV.NXT is the only segment TIME-WAIT takes in
            // silence; any other (a bare ACK elsewhere in or out of the
            // window included) is answered with an ACK: Linux
            // net/ipv4/tcp_minisocks.c tcp_timewait_state_process() (TCP_TW_ACK),
            // FreeBSD sys/netinet/tcp_timewait.c tcp_twcheck() ("Acknowledge
            // the segment if it has data or is not a duplicate ACK"), as the
            // FreeBSD suite's rcv-ack-time-wait-*-middle/right-edge scripts
            // (freebsd-net/tcp-testsuite state-event-engine/rcv-ack-time-wait) expect.
            return Arrival::Done;
        }
        self.tcb.ack_now = true;
        self.output(ctx);
        Arrival::Done
    }

    /// New data we refuse (RFC 1122 §4.2.2.13): the RST answers the segment
    /// (Linux and BSD both reply from the segment, a bare `R` at its ACK:
    /// docs/sources.md#linux-obs-data-after-close), the send queue is
    /// discarded, and the reason recorded.
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
