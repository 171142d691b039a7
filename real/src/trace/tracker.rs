//! Each endpoint's state, as far as the captured segments show it.
//!
//! Only what a segment proves is a transition: a SYN sent (SYN-SENT), a
//! SYN-ACK sent (LISTEN → SYN-RECEIVED), a FIN sent (FIN-WAIT-1 or LAST-ACK),
//! the ACK of a SYN or FIN arriving, a FIN arriving, an RST sent (the sender's
//! connection is gone) or accepted. An RST is accepted when its sequence
//! number is the receiver's next expected one (RFC 5961 §3.2, as Linux does;
//! one less after a FIN in CLOSE-WAIT, LAST-ACK or CLOSING, tcp_reset_check),
//! or, in SYN-SENT, when it acknowledges the SYN. Timer expiries are not on the
//! wire: TIME-WAIT or FIN-WAIT-2 ending shows only as the socket missing from
//! /proc/net/tcp at the end. Bytes delivered to a receive buffer are those
//! the receiver's ACKs cover.

use super::{recv_delay_ns, segment, virt, SeqBase};
use crate::run::RealRun;
use crate::worker::Ep;
use model::{Conn, Event, Rule, Segment, State};
use sim::{Entry, What};

/// One end of a connection.
struct End {
    local: Ep,
    remote: Ep,
    conn: Conn,
    state: State,
    /// Relative sequence number just past our FIN, once we sent one.
    fin_end: Option<u32>,
    /// Just past our highest data byte (our data is 1..data_end).
    data_end: u32,
    /// Bytes of our data the peer has acknowledged.
    acked_data: u64,
    /// The next relative sequence number we expect from the peer.
    rcv_nxt: u32,
}

impl End {
    fn new(local: Ep, remote: Ep, conn: Conn) -> End {
        End {
            local,
            remote,
            conn,
            state: State::Closed,
            fin_end: None,
            data_end: 1,
            acked_data: 0,
            rcv_nxt: 0,
        }
    }
}

pub struct Tracker<'a> {
    run: &'a RealRun,
    ends: Vec<End>,
    out: Vec<Entry>,
}

impl<'a> Tracker<'a> {
    pub fn new(run: &'a RealRun) -> Tracker<'a> {
        Tracker {
            run,
            ends: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The segments as Send/Recv entries, with the state changes, RSTs and
    /// deliveries they show.
    pub fn entries(mut self) -> Vec<Entry> {
        let mut base = SeqBase::default();
        let mut segs: Vec<(u64, u64, Segment, (Ep, Ep))> = Vec::new();
        for p in &self.run.pkts {
            base.note(p);
            let Some(seg) = segment(&self.run.host_ip, &base, p) else {
                continue;
            };
            let sent = virt(self.run.scale, p.t);
            let arrives = sent + recv_delay_ns(self.run, seg.src.host, seg.dst.host);
            segs.push((sent, arrives, seg, (p.src, p.dst)));
        }
        // Sends and arrivals in time order; at one instant, in capture order.
        let mut order: Vec<(u64, usize, bool)> = Vec::new();
        for (i, s) in segs.iter().enumerate() {
            order.push((s.0, i, false));
            order.push((s.1, i, true));
        }
        order.sort();
        for (t, i, arrival) in order {
            let (_, _, seg, (src, dst)) = segs[i];
            if arrival {
                self.arrive(t, seg, dst, src);
            } else {
                self.send(t, seg, src, dst);
            }
        }
        self.reconcile();
        self.out
    }

    fn end_index(&mut self, local: Ep, remote: Ep, conn: Conn) -> usize {
        match self
            .ends
            .iter()
            .position(|e| e.local == local && e.remote == remote)
        {
            Some(i) => i,
            None => {
                self.ends.push(End::new(local, remote, conn));
                self.ends.len() - 1
            }
        }
    }

    fn push(&mut self, t: u64, host: u16, what: What) {
        self.out.push(Entry {
            t_ns: model::Instant::from_ns(t),
            host,
            what,
        });
    }

    fn change(&mut self, t: u64, i: usize, to: State, rule: Rule) {
        let e = &mut self.ends[i];
        if e.state == to {
            return;
        }
        let event = Event::State {
            conn: e.conn,
            from: e.state,
            to,
            rule,
        };
        e.state = to;
        let host = e.conn.local.host;
        self.push(t, host, What::Model { event });
    }

    /// A segment leaves `src` (after the state change it shows, as the
    /// simulator's trace has it).
    fn send(&mut self, t: u64, seg: Segment, src: Ep, dst: Ep) {
        self.send_effects(t, seg, src, dst);
        self.push(t, seg.src.host, What::Send { seg });
    }

    fn send_effects(&mut self, t: u64, seg: Segment, src: Ep, dst: Ep) {
        let conn = Conn {
            local: seg.src,
            remote: seg.dst,
        };
        let i = self.end_index(src, dst, conn);
        let f = seg.flags;
        if f.syn() {
            self.send_syn(t, i, f.ack());
        }
        let e = &mut self.ends[i];
        if seg.len > 0 {
            e.data_end = e.data_end.max(seg.seq.0.wrapping_add(seg.len));
        }
        if f.ack() && !f.syn() {
            self.acked(t, i, seg.ack.0);
        }
        if f.fin() {
            let e = &mut self.ends[i];
            e.fin_end = Some(seg.seq.0.wrapping_add(seg.len) + 1);
            match e.state {
                State::Established | State::SynReceived => {
                    self.change(t, i, State::FinWait1, Rule::AppCloseFin)
                }
                State::CloseWait => self.change(t, i, State::LastAck, Rule::AppCloseFin),
                _ => {}
            }
        }
        if f.rst() {
            let state = self.ends[i].state;
            self.push(t, seg.src.host, What::RstSeen { conn, state });
            self.change(t, i, State::Closed, Rule::Abort);
        }
    }

    /// A SYN (connect) or SYN-ACK (a listener's answer) leaves end `i`.
    fn send_syn(&mut self, t: u64, i: usize, ack: bool) {
        let e = &mut self.ends[i];
        let fresh = matches!(e.state, State::Closed | State::TimeWait);
        if !fresh {
            return; // a retransmission
        }
        let (local, remote, conn) = (e.local, e.remote, e.conn);
        *e = End::new(local, remote, conn);
        e.rcv_nxt = u32::from(ack);
        if ack {
            e.state = State::Listen;
            self.change(t, i, State::SynReceived, Rule::RcvSyn);
        } else {
            self.change(t, i, State::SynSent, Rule::AppConnect);
        }
    }

    /// End `i` acknowledges `ack`: the peer's data it covers was delivered to `i`.
    fn acked(&mut self, t: u64, i: usize, ack: u32) {
        let (local, remote) = (self.ends[i].local, self.ends[i].remote);
        let Some(j) = self
            .ends
            .iter()
            .position(|e| e.local == remote && e.remote == local)
        else {
            return;
        };
        let covered = u64::from(ack.min(self.ends[j].data_end).saturating_sub(1));
        if covered > self.ends[j].acked_data {
            let bytes = covered - self.ends[j].acked_data;
            self.ends[j].acked_data = covered;
            let conn = self.ends[i].conn;
            let event = Event::Delivered { conn, bytes };
            self.push(t, conn.local.host, What::Model { event });
        }
    }

    /// A segment from `src` reaches `dst`.
    fn arrive(&mut self, t: u64, seg: Segment, dst: Ep, src: Ep) {
        self.push(t, seg.dst.host, What::Recv { seg });
        let Some(i) = self
            .ends
            .iter()
            .position(|e| e.local == dst && e.remote == src)
        else {
            return; // no connection of ours: a SYN to a listener, or a stray
        };
        let f = seg.flags;
        if f.rst() {
            return self.arrive_rst(t, i, seg);
        }
        let e = &mut self.ends[i];
        if seg.seq.0 <= e.rcv_nxt {
            e.rcv_nxt = e.rcv_nxt.max(seg.seq.0.wrapping_add(seg.seq_len()));
        }
        let state = e.state;
        if f.syn() && f.ack() && state == State::SynSent {
            self.change(t, i, State::Established, Rule::RcvSynAck);
        }
        if f.ack() && !f.syn() {
            self.arrive_ack(t, i, seg.ack.0);
        }
        if f.fin() {
            let to = match self.ends[i].state {
                State::Established | State::SynReceived => State::CloseWait,
                State::FinWait1 => State::Closing,
                State::FinWait2 => State::TimeWait,
                _ => return,
            };
            self.change(t, i, to, Rule::RcvFin);
        }
    }

    /// The ACK of our SYN or FIN reaching end `i`.
    fn arrive_ack(&mut self, t: u64, i: usize, ack: u32) {
        let e = &self.ends[i];
        if e.state == State::SynReceived && ack >= 1 {
            self.change(t, i, State::Established, Rule::RcvAckOfSyn);
        }
        let e = &self.ends[i];
        if e.fin_end.is_some_and(|f| ack >= f) {
            let to = match e.state {
                State::FinWait1 => State::FinWait2,
                State::Closing => State::TimeWait,
                State::LastAck => State::Closed,
                _ => return,
            };
            self.change(t, i, to, Rule::RcvAckOfFin);
        }
    }

    fn arrive_rst(&mut self, t: u64, i: usize, seg: Segment) {
        let e = &self.ends[i];
        let seq = seg.seq.0;
        let accepted = match e.state {
            State::SynSent => seg.flags.ack() && seg.ack.0 == 1,
            State::Closed | State::Listen | State::TimeWait => false,
            State::CloseWait | State::LastAck | State::Closing => {
                seq == e.rcv_nxt || seq.wrapping_add(1) == e.rcv_nxt
            }
            _ => seq == e.rcv_nxt,
        };
        if !accepted {
            return;
        }
        let (conn, state) = (e.conn, e.state);
        let event = Event::RstReceived { conn, state };
        self.push(t, conn.local.host, What::Model { event });
        let rule = match state {
            State::SynSent => Rule::Refused,
            _ => Rule::RcvRst,
        };
        self.change(t, i, State::Closed, rule);
    }

    /// Timers the wire does not show: an endpoint the segments left in
    /// TIME-WAIT or FIN-WAIT-2 that /proc/net/tcp no longer lists at the end
    /// has had that timer expire.
    fn reconcile(&mut self) {
        let Some(states) = &self.run.states else {
            return;
        };
        let t = virt(self.run.scale, self.run.end_ns);
        for i in 0..self.ends.len() {
            let e = &self.ends[i];
            let listed = states
                .iter()
                .any(|s| s.local == e.local && s.remote == e.remote);
            let rule = match e.state {
                State::TimeWait => Rule::TimeWaitExpired,
                State::FinWait2 => Rule::FinWait2Timeout,
                _ => continue,
            };
            if !listed {
                self.change(t, i, State::Closed, rule);
            }
        }
    }
}
