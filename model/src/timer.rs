//! Timer expiry for one connection: delayed ACK, retransmission (or persist),
//! and the timers that end a connection (TIME-WAIT, FIN-WAIT-2).
//!
//! Deadlines live in the TCB as plain fields; `next_deadline` derives the
//! wake-up time from them, so the world's queue and the socket cannot disagree.

use crate::errno::Errno;
use crate::event::{DiscardCause, Event, RstCause, TimerKind};
use crate::input::Arrival;
use crate::personality::{FinWait2Expiry, Knobs, PersistTimer};
use crate::segment::Flags;
use crate::seq::Offset;
use crate::socket::{CloseTimer, Ctx, Ending, SendTimer, Socket};
use crate::state::{Rule, State};
use crate::{Duration, Instant};

impl Socket {
    /// The earliest time this connection needs waking, if any.
    #[inline]
    pub fn next_deadline(&self) -> Option<Instant> {
        let t = &self.tcb;
        // A tree of pairwise minimums, not a loop over an array of the four:
        // the world asks after every event (a fifth of `Host::poll_at`'s cost
        // went to the array's iterator).
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        earliest(
            earliest(t.send_timer.at(), t.delack_at),
            earliest(t.close_timer.map(|c| c.0), t.keepalive_at),
        )
    }

    /// Runs every timer due at `ctx.now`, in a fixed order.
    pub fn on_timers(&mut self, ctx: &mut Ctx) -> Arrival {
        let now = ctx.now;
        if self.tcb.delack_at.is_some_and(|t| t <= now) {
            self.tcb.delack_at = None;
            self.tcb.ack_now = true;
            // Linux tcp_delack_timer_handler: a delayed ACK that had to fire
            // ends interactive mode.
            self.tcb.pingpong = false;
            self.timer_event(ctx, TimerKind::DelayedAck);
            self.output(ctx);
        }
        if self.tcb.send_timer.at().is_some_and(|t| t <= now) {
            let fired = std::mem::take(&mut self.tcb.send_timer);
            let arrival = match fired {
                SendTimer::Persist { heard_at, .. } => self.persist_expired(ctx, heard_at),
                SendTimer::LossProbe { rto_at, .. } => self.loss_probe_expired(ctx, rto_at),
                _ => self.retransmit_expired(ctx),
            };
            if arrival != Arrival::Done {
                return arrival;
            }
        }
        if self.tcb.keepalive_at.is_some_and(|t| t <= now) {
            self.tcb.keepalive_at = None;
            let arrival = self.keepalive_expired(ctx);
            if arrival != Arrival::Done {
                return arrival;
            }
        }
        if let Some((at, which)) = self.tcb.close_timer {
            if at <= now {
                self.tcb.close_timer = None;
                return self.close_timer_expired(ctx, which);
            }
        }
        Arrival::Done
    }

    /// (Re)arms the keepalive timer after a sign of life: a full idle period from
    /// now, and no probes outstanding. Only an open connection is probed.
    pub fn touch_keepalive(&mut self, ctx: &Ctx) {
        self.tcb.keepalive_probes = 0;
        let alive = self.keepalive && matches!(self.state, State::Established | State::CloseWait);
        self.tcb.keepalive_at = alive.then(|| ctx.now + ctx.p.keepalive_idle_s.value.duration());
    }

    /// RFC 1122 §4.2.3.6: an idle connection is probed with an ACK whose
    /// sequence number is one below SND.UNA (it draws an ACK); after
    /// `keepalive_probes` unanswered probes the connection is dropped.
    fn keepalive_expired(&mut self, ctx: &mut Ctx) -> Arrival {
        if !self.keepalive || !matches!(self.state, State::Established | State::CloseWait) {
            return Arrival::Done;
        }
        self.timer_event(ctx, TimerKind::Keepalive);
        let p = ctx.p;
        if self.tcb.keepalive_probes >= p.keepalive_probes.value {
            if !self.closed {
                self.so_error = Some(Errno::ETIMEDOUT);
            }
            if p.keepalive_rst.value {
                self.abort(ctx, RstCause::KeepaliveTimeout);
            } else {
                self.purge_send_queue(ctx, DiscardCause::Timeout);
                self.finish(ctx, Ending::Dropped, Rule::KeepaliveTimeout);
            }
            return Arrival::Closed;
        }
        let seg = self.segment(Flags::ACK, self.tcb.snd_una - 1, 0);
        self.transmit(ctx, seg);
        self.tcb.keepalive_probes += 1;
        self.tcb.keepalive_at = Some(ctx.now + p.keepalive_intvl_s.value.duration());
        Arrival::Done
    }

    fn timer_event(&self, ctx: &mut Ctx, timer: TimerKind) {
        ctx.out.events.push(Event::Timer {
            conn: self.conn(),
            timer,
        });
    }

    /// RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged segment and back off.
    fn retransmit_expired(&mut self, ctx: &mut Ctx) -> Arrival {
        self.timer_event(ctx, TimerKind::Retransmit);
        let p = ctx.p;
        self.tcb.retries += 1;
        // Linux tcp_retransmit_timer: the RTO ends a probe's episode.
        self.tcb.tlp_high = None;
        match self.state {
            State::SynSent => {
                if std::mem::take(&mut self.tcb.retry_after_refusal) {
                    // A retry after an ignored RST (KB 175523): same timeout, not a lost SYN.
                    self.tcb.retries -= 1;
                    self.send_syn(ctx);
                    return Arrival::Done;
                }
                if self.syn_gives_up(p, ctx.now) {
                    self.give_up(ctx);
                    return Arrival::Closed;
                }
                // Linux tcp_syn_linear_timeouts, BSD tcp_syn_backoff[]: the
                // first timeouts keep the initial RTO.
                if self.tcb.retries > p.syn_linear_timeouts.value {
                    self.back_off(p);
                }
                self.send_syn(ctx);
            }
            State::SynReceived => {
                if self.tcb.retries > p.synack_retries.value {
                    if self.parent.is_some() {
                        self.set_state(ctx, State::Closed, Rule::DropSilently);
                    } else {
                        self.give_up(ctx);
                    }
                    return Arrival::Closed;
                }
                self.back_off(p);
                self.send_syn(ctx);
            }
            State::Established
            | State::FinWait1
            | State::CloseWait
            | State::Closing
            | State::LastAck => {
                let limit = if self.closed {
                    p.orphan_retries.value
                } else {
                    p.data_retries.value
                };
                if self.tcb.retries > limit {
                    self.give_up(ctx);
                    return Arrival::Closed;
                }
                let t = &mut self.tcb;
                t.ssthresh = t.ssthresh_after_loss();
                t.cwnd = t.mss;
                t.rtt_probe = None;
                t.dupacks = 0;
                t.snd_nxt = t.snd_una; // go back N
                self.back_off(p);
                self.output(ctx);
            }
            State::FinWait2 | State::TimeWait | State::Closed | State::Listen => {}
        }
        Arrival::Done
    }

    /// Arms the tail loss probe in place of a running retransmission timer
    /// (`tail_loss_probe`; Linux tcp_schedule_loss_probe, RFC 8985 §7.2),
    /// after new data went out or an ACK of new data came in.
    pub(crate) fn schedule_loss_probe(&mut self, ctx: &Ctx) {
        let p = ctx.p;
        let t = &mut self.tcb;
        let SendTimer::Retransmit { at: rto_at } = t.send_timer else {
            return;
        };
        // Only in Linux's TCP_CA_Open: not in fast recovery (three duplicate
        // ACKs) nor going back N after a timeout.
        let recovering = t.dupacks >= 3 || t.snd_nxt < t.snd_max;
        if !p.tail_loss_probe.value || t.snd_una == t.snd_max || recovering {
            return;
        }
        let pto = if t.srtt.is_zero() {
            // TCP_TIMEOUT_INIT: no RTT sample yet.
            Duration::from_secs(1)
        } else if t.snd_max - t.snd_una <= u64::from(t.mss) {
            // One segment out: room for the peer's delayed ACK of it.
            t.srtt * 2 + p.rto_min_ms.value.duration()
        } else {
            // TCP_TIMEOUT_MIN_US.
            t.srtt * 2 + Duration::from_ms(2)
        };
        let at = (ctx.now + pto).min(rto_at);
        t.send_timer = SendTimer::LossProbe { at, rto_at };
    }

    /// The probe timer fired (Linux tcp_send_loss_probe): one segment of new
    /// data if the peer's window takes all of it (the congestion window does
    /// not count), else the last segment sent again; then the full RTO from now.
    /// With a probe already out, the RTO it stood for runs instead.
    fn loss_probe_expired(&mut self, ctx: &mut Ctx, rto_at: Instant) -> Arrival {
        self.timer_event(ctx, TimerKind::LossProbe);
        if self.tcb.tlp_high.is_some() || !self.state.synchronized() {
            self.tcb.send_timer = SendTimer::Retransmit {
                at: rto_at.max(ctx.now),
            };
            return Arrival::Done;
        }
        let t = &self.tcb;
        let room = u64::from(t.snd_wnd).saturating_sub(t.snd_nxt - t.snd_una);
        let unsent = self.snd_unsent();
        // tcp_snd_wnd_test(): the next segment, up to an MSS, must fit whole.
        let next = unsent.min(u64::from(t.mss));
        if unsent > 0 && next <= room && t.snd_nxt == t.snd_max {
            let len = next as u32;
            let mut flags = Flags::ACK;
            if u64::from(len) == unsent {
                flags = flags | Flags::PSH;
                if t.fin_queued {
                    flags = flags | Flags::FIN;
                }
            }
            self.send_at(ctx, flags, len);
        } else {
            self.resend_tail(ctx);
        }
        let t = &mut self.tcb;
        t.tlp_high = Some(t.snd_max);
        t.send_timer = SendTimer::Retransmit {
            at: ctx.now + t.rto,
        };
        Arrival::Done
    }

    /// Sends the last segment sent again (at most an MSS of it, from its
    /// end), with our FIN if it carried it.
    fn resend_tail(&mut self, ctx: &mut Ctx) {
        let t = &self.tcb;
        let fin_at = self.write_seq();
        let fin_sent = t.fin_queued && t.snd_max > fin_at;
        let data_end = if fin_sent { fin_at } else { t.snd_max };
        let from_mss = Offset(data_end.0.saturating_sub(u64::from(t.mss)));
        let seq = t.last_seg.max(t.snd_una).max(from_mss).min(data_end);
        let len = (data_end - seq) as u32;
        let mut flags = Flags::ACK;
        if len > 0 {
            flags = flags | Flags::PSH;
        }
        if fin_sent {
            flags = flags | Flags::FIN;
        }
        if len == 0 && !fin_sent {
            return;
        }
        let seg = self.segment(flags, seq, len);
        // Karn's rule: a resent segment is not timed.
        self.tcb.rtt_probe = None;
        self.transmit(ctx, seg);
    }

    /// Whether connect() gives up at this SYN timeout (Linux tcp_write_timeout):
    /// after `syn_retries` retransmissions besides the linear ones, or once
    /// the time `syn_retries` doubling retransmissions from the initial RTO
    /// take has passed since the first SYN (retransmits_timed_out).
    fn syn_gives_up(&self, p: &Knobs, now: Instant) -> bool {
        let n = p.syn_retries.value;
        if self.tcb.retries > n.saturating_add(p.syn_linear_timeouts.value) {
            return true;
        }
        self.tcb
            .first_syn_at
            .is_some_and(|at| now.saturating_since(at) >= model_timeout(p, n))
    }

    /// The retransmission limit: ETIMEDOUT, and RST where the personality sends one.
    fn give_up(&mut self, ctx: &mut Ctx) {
        if !self.closed {
            self.so_error = Some(Errno::ETIMEDOUT);
        }
        if ctx.p.rst_on_retransmit_limit.value {
            self.abort(ctx, RstCause::RetransmitLimit);
        } else {
            self.purge_send_queue(ctx, DiscardCause::Timeout);
            self.finish(ctx, Ending::Dropped, Rule::RetransmitLimit);
        }
    }

    /// Zero-window probe (Linux style: an ACK just below SND.UNA draws the
    /// peer's window), unless probing gives up (`persist_gives_up`).
    fn persist_expired(&mut self, ctx: &mut Ctx, heard_at: Instant) -> Arrival {
        self.timer_event(ctx, TimerKind::Persist);
        if self.send_held(ctx) {
            return Arrival::Done;
        }
        let p = ctx.p;
        let idle = ctx.now.checked_since(heard_at).unwrap_or_default();
        if self.persist_gives_up(p, idle) {
            self.give_up(ctx);
            return Arrival::Closed;
        }
        let seg = self.segment(Flags::ACK, self.tcb.snd_una - 1, 0);
        self.transmit(ctx, seg);
        self.tcb.retries += 1;
        self.tcb.probes_out += 1;
        self.back_off(p);
        self.tcb.send_timer = SendTimer::Persist {
            at: ctx.now + persist_interval(p, self.tcb.rto),
            heard_at,
        };
        Arrival::Done
    }

    /// Whether zero-window probing ends the connection, `idle` after the
    /// peer last sent anything (`persist_timer`):
    /// - Linux `tcp_probe_timer`: after `data_retries` probes the peer never
    ///   answered, `orphan_retries` for an orphan; an orphan also once the
    ///   probe interval has reached `rto_max_ms`, answered or not (silently,
    ///   ~337 s after close(): docs/sources.md#linux-obs-orphan-zero-window);
    /// - BSD `tcp_timer_persist`: only a peer that stopped answering: after a
    ///   full backoff (`data_retries` probes since the window closed, BSD
    ///   `t_rxtshift`) once `idle` ≥ min(TCPTV_KEEP_IDLE = 2 h, RTO × the
    ///   backoff table's sum); on FreeBSD also, past CLOSE-WAIT, once `idle` ≥
    ///   TCPTV_PERSMAX = 60 s. A peer that answers every probe keeps the
    ///   connection, orphan or not, for as long as it answers.
    fn persist_gives_up(&self, p: &Knobs, idle: Duration) -> bool {
        let (orphan_idle, backoff_sum) = match p.persist_timer.value {
            PersistTimer::Backoff => {
                let limit = if self.closed {
                    p.orphan_retries.value
                } else {
                    p.data_retries.value
                };
                let at_ceiling = self.tcb.rto >= p.rto_max_ms.value.duration();
                return self.tcb.probes_out >= limit || (self.closed && at_ceiling);
            }
            // tcp_timer.c: tcp_totbackoff = 2559, the sum of tcp_backoff[].
            PersistTimer::BsdOrphanLimit => (Some(Duration::from_secs(60)), 2559),
            // XNU tcp_timer.c: tcp_totbackoff = 511.
            PersistTimer::Bsd => (None, 511),
        };
        let past_close_wait = matches!(
            self.state,
            State::FinWait1 | State::Closing | State::LastAck | State::FinWait2 | State::TimeWait
        );
        if past_close_wait && orphan_idle.is_some_and(|max| idle >= max) {
            return true;
        }
        let t = &self.tcb;
        let rto = if t.srtt.is_zero() {
            p.rto_initial_ms.value.duration()
        } else {
            crate::output::base_rto(p, t.srtt, t.rttvar)
        };
        let idle_max = (rto * backoff_sum).min(Duration::from_secs(2 * 3600));
        t.retries >= p.data_retries.value && idle >= idle_max
    }

    fn close_timer_expired(&mut self, ctx: &mut Ctx, which: CloseTimer) -> Arrival {
        match which {
            CloseTimer::Connect => {
                // BSD tcp_timer_keep below ESTABLISHED: tcp_drop(ETIMEDOUT),
                // no RST from a connection the peer never knew.
                self.timer_event(ctx, TimerKind::Connect);
                self.so_error = Some(Errno::ETIMEDOUT);
                self.finish(ctx, Ending::Dropped, Rule::ConnectTimeout);
            }
            CloseTimer::TimeWait => {
                self.timer_event(ctx, TimerKind::TimeWait);
                self.set_state(ctx, State::Closed, Rule::TimeWaitExpired);
            }
            CloseTimer::FinWait2 => {
                self.timer_event(ctx, TimerKind::FinWait2);
                match ctx.p.fin_wait_2_expiry.value {
                    FinWait2Expiry::Close => {
                        self.set_state(ctx, State::Closed, Rule::FinWait2Timeout)
                    }
                    FinWait2Expiry::Rst => {
                        self.send_rst_here(ctx, RstCause::FinWait2Timeout);
                        self.finish(ctx, Ending::Dropped, Rule::FinWait2Timeout);
                    }
                }
            }
        }
        Arrival::Closed
    }
}

/// Linux tcp_model_timeout: how long `boundary` retransmissions take when the
/// timeout doubles from the initial RTO up to the maximum and then stays there.
fn model_timeout(p: &Knobs, boundary: u32) -> Duration {
    let base = p.rto_initial_ms.value.duration().max(Duration::from_ms(1));
    let max = p.rto_max_ms.value.duration().max(Duration::from_ms(1));
    let linear_from = (max.as_ns() / base.as_ns()).max(1).ilog2();
    if boundary <= linear_from {
        base * ((2u64 << boundary) - 1)
    } else {
        base * ((2u64 << linear_from) - 1) + max * (boundary - linear_from) as u64
    }
}

/// The wait before the next zero-window probe, from the backed-off RTO
/// (`persist_timer`): BSD tcp_setpersist keeps it within TCPTV_PERSMIN = 5 s
/// and TCPTV_PERSMAX = 60 s.
pub(crate) fn persist_interval(p: &Knobs, rto: Duration) -> Duration {
    match p.persist_timer.value {
        PersistTimer::Backoff => rto,
        PersistTimer::BsdOrphanLimit | PersistTimer::Bsd => {
            rto.clamp(Duration::from_secs(5), Duration::from_secs(60))
        }
    }
}
