//! Transmission: what a connection sends when it gets the chance (RFC 9293
//! §3.8.6, RFC 5681 slow start), retransmission of the head, and RTO
//! arithmetic (RFC 6298).
//!
//! Nagle's algorithm, TCP_NODELAY and TCP_CORK decide whether a short last
//! segment waits ([`Socket::holds_short`]). Simplified: no SACK, no window scaling (windows are 32-bit); a
//! zero-window probe is Linux's (an ACK below SND.UNA), not a byte beyond the window.

use crate::personality::{Knobs, NagleRule};
use crate::segment::Flags;
use crate::seq::Offset;
use crate::socket::{Ctx, SendTimer, Socket, TCP_MSS_DEFAULT};
use crate::state::State;
use crate::Duration;

/// Segments one call to `output` may emit; the window bounds it long before.
const OUTPUT_SEGMENTS_MAX: usize = 4096;

/// Linux GSO_MAX_SIZE (include/linux/netdevice.h), the loopback device's
/// sk_gso_max_size: the largest GSO packet a socket builds.
const GSO_MAX_BYTES: u64 = 65_536;

impl Socket {
    /// Sends whatever the windows allow, then a pure ACK if one is owed
    /// (carrying our unacknowledged FIN again with `ack_resends_fin`).
    pub fn output(&mut self, ctx: &mut Ctx) {
        self.output_with(ctx, ctx.p.ack_resends_fin.value);
    }

    /// `output` for an RFC 5961 challenge ACK: BSD builds it apart from
    /// tcp_output (tcp_respond), so it never carries the FIN.
    pub fn output_challenge_ack(&mut self, ctx: &mut Ctx) {
        self.output_with(ctx, false);
    }

    fn output_with(&mut self, ctx: &mut Ctx, resend_fin: bool) {
        let sending = matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        );
        let mut sent = false;
        if sending {
            sent = self.send_data(ctx);
        }
        if !sent && self.tcb.ack_now && self.state != State::Closed && self.state != State::Listen {
            // At SND.MAX, not SND.NXT: after a go-back-N rewind SND.NXT is below
            // what the peer may already hold, and an ACK below its RCV.NXT is
            // unacceptable, answered by an ACK that is unacceptable in turn: an
            // ACK war in which neither side learns what was acknowledged (BSD
            // tcp_output sends pure ACKs at snd_max for this reason; Linux never
            // moves snd_nxt back).
            let t = &self.tcb;
            let fin_at = self.write_seq();
            // BSD tcp_output: our FIN is out (SND.MAX past it) and not yet
            // acknowledged, and SND.NXT = SND.MAX: SND.NXT backs up to the FIN.
            let fin_unacked = t.fin_queued && t.snd_max > fin_at && t.snd_una <= fin_at;
            let seg = if resend_fin && fin_unacked && t.snd_nxt == t.snd_max {
                self.segment(Flags::FIN | Flags::ACK, fin_at, 0)
            } else {
                self.segment(Flags::ACK, self.tcb.snd_max, 0)
            };
            self.transmit(ctx, seg);
        }
    }

    /// Sends new (or go-back-N) data and the FIN; returns whether anything went out.
    fn send_data(&mut self, ctx: &mut Ctx) -> bool {
        let mut sent = false;
        for _ in 0..OUTPUT_SEGMENTS_MAX {
            let t = &self.tcb;
            let in_flight = t.snd_nxt - t.snd_una;
            let wnd = t.snd_wnd.min(t.cwnd) as u64;
            let unsent = self.snd_unsent();
            let fin_unsent = t.fin_queued && t.snd_nxt == self.write_seq();
            if unsent > 0 {
                let room = wnd.saturating_sub(in_flight);
                if room == 0 {
                    break;
                }
                let len = self.segment_len(ctx.p, unsent, room, in_flight);
                if self.window_holds(ctx.p, len, unsent, in_flight) {
                    break;
                }
                let last = len as u64 == unsent;
                if last && len < t.mss && !t.fin_queued && self.holds_short(ctx.p, in_flight) {
                    break;
                }
                let mut flags = Flags::ACK;
                // New data only: a go-back-N retransmission resends segments
                // as they first went (Linux retransmits the skb with its flags).
                let burst_end = ctx.p.psh_ends_burst.value
                    && t.snd_nxt >= t.snd_max
                    && self.window_stops_after(ctx.p, len, room, unsent, in_flight);
                if last || burst_end {
                    flags = flags | Flags::PSH;
                }
                if last && t.fin_queued {
                    flags = flags | Flags::FIN;
                }
                self.send_at(ctx, flags, len);
            } else if fin_unsent {
                self.send_at(ctx, Flags::FIN | Flags::ACK, 0);
            } else {
                break;
            }
            sent = true;
        }
        let unsent = self.snd_unsent();
        let t = &mut self.tcb;
        let idle = t.send_timer == SendTimer::Idle;
        if unsent > 0 && t.snd_nxt == t.snd_una && idle {
            // Zero window and nothing in flight: the persist timer probes it (RFC 9293 §3.8.6.1).
            // It starts on the peer's zero-window ACK: the peer was heard now.
            // A corked short segment with nothing in flight waits for the same
            // timer (Linux tcp_check_probe_timer; BSD tcp_output's
            // tcp_setpersist), which sends it when the window is open.
            t.send_timer = SendTimer::Persist {
                at: ctx.now + crate::timer::persist_interval(ctx.p, t.rto),
                heard_at: ctx.now,
            };
        }
        sent
    }

    /// The octets of the next new segment: what is queued, within `room`,
    /// up to [`Socket::segment_max`]. A segment of several MSS that ends in
    /// a partial one leaves that part behind when a short segment would
    /// wait (Linux tcp_mss_split_point's tcp_nagle_check; the FIN pushes
    /// with Nagle off, tcp_send_fin).
    fn segment_len(&self, p: &Knobs, unsent: u64, room: u64, in_flight: u64) -> u32 {
        let mss = u64::from(self.tcb.mss.max(1));
        let len = unsent.min(room).min(self.segment_max(in_flight));
        let partial = len % mss;
        let fin_pushes = len == unsent && self.tcb.fin_queued;
        if len > mss && partial != 0 && !fin_pushes && self.holds_short(p, in_flight) {
            return (len - partial) as u32;
        }
        len as u32
    }

    /// The most one segment carries with `in_flight` octets out: the MSS,
    /// or on a loopback path with `gso` the GSO packet Linux's
    /// tcp_write_xmit sends unsplit: whole MSS up to the congestion
    /// window's quota (tcp_cwnd_test: cwnd − in flight, at most half the
    /// cwnd, in segments), the size goal of 64 KiB (GSO_MAX_SIZE,
    /// tcp_tso_autosize) and half the peer's largest window
    /// (tcp_xmit_size_goal → tcp_bound_to_half_wnd); at least one MSS.
    pub(crate) fn segment_max(&self, in_flight: u64) -> u64 {
        let t = &self.tcb;
        let mss = u64::from(t.mss.max(1));
        if !self.wnd.gso {
            return mss;
        }
        let cwnd_segs = u64::from(t.cwnd) / mss;
        let quota = cwnd_segs
            .saturating_sub(in_flight.div_ceil(mss))
            .min((cwnd_segs / 2).max(1));
        let max_wnd = u64::from(t.max_snd_wnd);
        let half_wnd = if max_wnd > u64::from(TCP_MSS_DEFAULT) {
            max_wnd / 2
        } else {
            max_wnd
        };
        let goal = match half_wnd {
            0 => GSO_MAX_BYTES,
            h => GSO_MAX_BYTES.min(h),
        };
        mss * quota.min(goal / mss).max(1)
    }

    /// Sender-side silly-window avoidance (RFC 9293 §3.8.6.2.1): whether a
    /// segment of `len` octets, shorter than what is queued, waits while data
    /// is in flight. Linux waits even with nothing in flight
    /// (tcp_snd_wnd_test), for a segment of its MSS bounded by half the
    /// largest window.
    fn window_holds(&self, p: &Knobs, len: u32, unsent: u64, in_flight: u64) -> bool {
        let full_only = p.snd_wnd_full_segment.value;
        let mss_now = if full_only {
            self.tcb.mss_bound_to_half_wnd()
        } else {
            self.tcb.mss
        };
        len < mss_now && (len as u64) < unsent && (in_flight > 0 || full_only)
    }

    /// Whether, after a segment of `len` octets, the send or congestion
    /// window stops the rest of what is queued (`room` and `unsent` before
    /// it): the segment ends a burst (`psh_ends_burst`). A short tail that
    /// Nagle or a cork holds does not count: the window would take it.
    fn window_stops_after(
        &self,
        p: &Knobs,
        len: u32,
        room: u64,
        unsent: u64,
        in_flight: u64,
    ) -> bool {
        let unsent_after = unsent - len as u64;
        let room_after = room - len as u64;
        if unsent_after == 0 {
            return false;
        }
        let next = unsent_after
            .min(room_after)
            .min(self.segment_max(in_flight + len as u64)) as u32;
        room_after == 0 || self.window_holds(p, next, unsent_after, in_flight + len as u64)
    }

    /// Whether a short last segment (less than the MSS, no FIN with it)
    /// waits: always under TCP_CORK or MSG_MORE; by Nagle's algorithm
    /// (`nagle`) unless TCP_NODELAY. Linux tcp_nagle_test() exempts the FIN
    /// (tcp_send_fin pushes with TCP_NAGLE_OFF); BSD tcp_output sends a FIN
    /// whatever held the data.
    fn holds_short(&self, p: &Knobs, in_flight: u64) -> bool {
        let t = &self.tcb;
        // A retransmission (go-back-N below SND.MAX) is never held (BSD
        // tcp_output: snd_nxt < snd_max goes; Linux retransmits apart).
        if t.snd_nxt < t.snd_max {
            return false;
        }
        if self.cork || self.more {
            return true;
        }
        if self.nodelay || in_flight == 0 {
            return false;
        }
        match p.nagle.value {
            NagleRule::Minshall => t.snd_sml > t.snd_una && t.snd_sml <= t.snd_nxt,
            NagleRule::Unacked => true,
            NagleRule::Off => false,
        }
    }

    /// The persist timer found the window open: the segment a cork (or
    /// MSG_MORE) held goes out, one of up to the MSS with PSH, whatever holds
    /// it (Linux tcp_write_wakeup(); BSD tcp_timer_persist → tcp_output with
    /// TF_FORCEDATA). Returns whether it sent.
    pub(crate) fn send_held(&mut self, ctx: &mut Ctx) -> bool {
        let unsent = self.snd_unsent();
        let t = &self.tcb;
        let room = u64::from(t.snd_wnd.min(t.cwnd)).saturating_sub(t.snd_nxt - t.snd_una);
        if unsent == 0 || room == 0 || !self.state.synchronized() {
            return false;
        }
        let len = unsent.min(room).min(u64::from(t.mss)) as u32;
        let mut flags = Flags::ACK | Flags::PSH;
        if len as u64 == unsent && t.fin_queued {
            flags = flags | Flags::FIN;
        }
        self.send_at(ctx, flags, len);
        true
    }

    /// Sends `len` octets (and FIN if flagged) at SND.NXT and advances it.
    pub(crate) fn send_at(&mut self, ctx: &mut Ctx, flags: Flags, len: u32) {
        if len > 0 && ctx.p.ack_pingpong.value {
            // Linux tcp_event_data_sent: a reply within the ATO of the data it
            // answers makes the connection interactive.
            let ato = ctx.p.delack_ms.value.duration();
            if let Some(at) = self.tcb.data_rcvd_at {
                if ctx.now.saturating_since(at) < ato {
                    self.tcb.pingpong = true;
                }
            }
        }
        let seq = self.tcb.snd_nxt;
        let seg = self.segment(flags, seq, len);
        let end = seq + seg.seq_len() as u64;
        let t = &mut self.tcb;
        let new = end > t.snd_max;
        if new {
            if t.rtt_probe.is_none() && seq >= t.snd_max {
                t.rtt_probe = Some((end, ctx.now));
            }
            t.snd_max = end;
            t.last_seg = seq;
        }
        t.snd_nxt = end;
        if len > 0 && len < t.mss {
            t.snd_sml = end;
        }
        // Data in flight needs the retransmission timer; a running one keeps
        // its deadline (RFC 6298 §5.1), a pending loss probe gives it back
        // (Linux tcp_event_new_data_sent → tcp_rearm_rto), a persist timer
        // gives way to it.
        t.send_timer = match t.send_timer {
            SendTimer::Retransmit { at } | SendTimer::LossProbe { rto_at: at, .. } => {
                SendTimer::Retransmit { at }
            }
            SendTimer::Idle | SendTimer::Persist { .. } => SendTimer::Retransmit {
                at: ctx.now + t.rto,
            },
        };
        if new {
            self.schedule_loss_probe(ctx);
        }
        self.assert_send_sequence();
        self.transmit(ctx, seg);
    }

    /// Retransmits one segment from SND.UNA (fast retransmit).
    ///
    /// Only octets already sent are resent (up to SND.MAX, less our FIN), and no
    /// more than the peer's window allows: new data waits for `output`, which
    /// checks the window (Linux tcp_retransmit_skb, BSD tcp_output).
    pub fn retransmit_head(&mut self, ctx: &mut Ctx) {
        let t = &self.tcb;
        let seq = t.snd_una;
        let end = self.write_seq();
        let fin_sent = t.fin_queued && t.snd_max > end;
        let sent_end = if fin_sent { end } else { t.snd_max };
        let sent = sent_end.0.saturating_sub(seq.0);
        let len = sent.min(t.mss.min(t.snd_wnd) as u64) as u32;
        let mut flags = Flags::ACK;
        if fin_sent && seq + len as u64 == end {
            flags = flags | Flags::FIN;
        }
        if len == 0 && !flags.fin() {
            return;
        }
        let seg = self.segment(flags, seq, len);
        self.tcb.rtt_probe = None;
        self.transmit(ctx, seg);
    }

    /// Sends our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) again, or the first time.
    pub fn send_syn(&mut self, ctx: &mut Ctx) {
        let flags = if self.state == State::SynReceived {
            Flags::SYN | Flags::ACK
        } else {
            Flags::SYN
        };
        let seg = self.segment(flags, Offset::SYN, 0);
        let t = &mut self.tcb;
        // Time the SYN's first transmission only (Karn's rule, RFC 6298 §3): Linux
        // measures the handshake RTT too, so the first data RTO is not the 1 s default.
        let first = t.snd_max == Offset::SYN;
        t.rtt_probe = first.then_some((Offset::FIRST_DATA, ctx.now));
        if first {
            t.first_syn_at = Some(ctx.now);
        }
        t.snd_nxt = Offset::FIRST_DATA;
        t.snd_max = t.snd_max.max(t.snd_nxt);
        t.send_timer = SendTimer::Retransmit {
            at: ctx.now + t.rto,
        };
        self.transmit(ctx, seg);
    }

    /// Folds an RTT sample into SRTT/RTTVAR and recomputes the RTO (RFC 6298 §2).
    pub fn rtt_sample(&mut self, p: &Knobs, sample: Duration) {
        let r = sample.max(Duration::from_ns(1));
        let t = &mut self.tcb;
        if t.srtt.is_zero() {
            t.srtt = r;
            t.rttvar = r / 2;
        } else {
            let err = t.srtt.abs_diff(r);
            t.rttvar = (t.rttvar * 3 + err) / 4;
            t.srtt = (t.srtt * 7 + r) / 8;
        }
        t.rto = base_rto(p, t.srtt, t.rttvar);
    }

    /// The RTO without backoff, after progress (RFC 6298 §5.7 undoes the backoff).
    pub fn reset_rto(&mut self, p: &Knobs) {
        let t = &mut self.tcb;
        t.rto = if t.srtt.is_zero() {
            p.rto_initial_ms.value.duration()
        } else {
            base_rto(p, t.srtt, t.rttvar)
        };
    }

    /// Doubles the RTO, up to the personality's maximum (RFC 6298 §5.5).
    pub fn back_off(&mut self, p: &Knobs) {
        let max = p.rto_max_ms.value.duration();
        self.tcb.rto = (self.tcb.rto * 2).min(max);
    }
}

/// RTO = SRTT + max(4·RTTVAR, floor) + slop, within [min, max]; the
/// maximum last, so that it wins when a personality sets a minimum above it
/// (as Linux bounds the RTO by TCP_RTO_MAX after the minimum went into it:
/// include/net/tcp.h tcp_bound_rto). `Ord::clamp` panics then: fuzz target
/// `engine` with `rto_min_ms = 4294967295`, tests/fuzz/rto-min-above-max.toml.
pub fn base_rto(p: &Knobs, srtt: Duration, rttvar: Duration) -> Duration {
    let var = (rttvar * 4).max(p.rto_rttvar_floor_ms.value.duration());
    let rto = srtt + var + p.rto_slop_ms.value.duration();
    rto.max(p.rto_min_ms.value.duration())
        .min(p.rto_max_ms.value.duration())
}
