//! A host as the explorer keeps it (`tcpsim explore`):
//! - moved along the time axis: every instant it holds (timer deadlines,
//!   when a segment being timed was sent, when data last arrived…) mapped
//!   through one function, so that a host whose clock reads `t` behaves from
//!   there exactly as the same host at `t + d`. The explorer keeps every
//!   state with its clock at one epoch, so two states that differ only in
//!   when they happen are one state;
//! - hashed without what never changes in a run (its configuration and its
//!   personality, the knob table that would otherwise dominate every digest).
//!
//! The structs are destructured field by field, with no `..`: a new field
//! breaks the build here, and its author decides whether it holds a time.

use crate::blocking::Blocked;
use crate::host::{Host, Process};
use crate::socket::{SendTimer, Socket, Tcb};
use crate::Instant;
use std::hash::{Hash, Hasher};

impl Host {
    /// Maps every instant the host holds through `f` (a shift of the clock).
    pub fn shift_time(&mut self, f: &impl Fn(Instant) -> Instant) {
        let Host {
            cfg: _,
            personality: _,
            socks,
            procs,
            next_ephemeral: _,
            connections_made: _,
            reset_tuples: _,
            wake_at,
        } = self;
        *wake_at = wake_at.map(f);
        for s in socks.iter_mut().flatten() {
            s.shift_time(f);
        }
        for p in procs {
            let Process {
                fds: _,
                thread_of: _,
                blocked,
                exited: _,
            } = p;
            if let Some(Blocked {
                call: _,
                sock: _,
                done: _,
                deadline,
                polled: _,
            }) = blocked
            {
                *deadline = deadline.map(f);
            }
        }
    }
}

impl Host {
    /// Hashes what changes in a run: sockets, processes, port and connection
    /// counters (not `cfg` and `personality`, fixed when the host is built).
    pub fn hash_state<H: Hasher>(&self, h: &mut H) {
        let Host {
            cfg: _,
            personality: _,
            socks,
            procs,
            next_ephemeral,
            connections_made,
            reset_tuples,
            wake_at,
        } = self;
        socks.hash(h);
        wake_at.hash(h);
        procs.hash(h);
        next_ephemeral.hash(h);
        connections_made.hash(h);
        reset_tuples.hash(h);
    }
}

impl Socket {
    fn shift_time(&mut self, f: &impl Fn(Instant) -> Instant) {
        let Socket {
            state: _,
            local: _,
            remote: _,
            bound: _,
            refs: _,
            closed: _,
            closed_by: _,
            close_deferred: _,
            nonblocking: _,
            keepalive: _,
            reuse_addr: _,
            nodelay: _,
            cork: _,
            more: _,
            linger: _,
            rcvtimeo: _,
            sndtimeo: _,
            shut_rd: _,
            shut_wr: _,
            so_error: _,
            ending: _,
            connected: _,
            write_error_reported: _,
            reset: _,
            rcv_buf: _,
            rcv_clamp: _,
            rcv_space: _,
            snd_buf: _,
            snd_buf_opt: _,
            snd_buf_locked: _,
            snd_nospace: _,
            rcv_buf_locked: _,
            wnd: _,
            mss_local: _,
            listener: _,
            parent: _,
            tcb,
        } = self;
        tcb.shift_time(f);
    }
}

impl Tcb {
    fn shift_time(&mut self, f: &impl Fn(Instant) -> Instant) {
        #[rustfmt::skip]
        let Tcb {
            iss: _, snd_una: _, snd_nxt: _, snd_max: _, last_seg: _, tlp_high: _, snd_wnd: _, snd_wl1: _, snd_wl2: _,
            irs: _, rcv_nxt: _, mss: _, written: _, fin_queued: _, fin_rcvd: _, unread: _,
            ooo: _, ooo_fin: _, cwnd: _, ssthresh: _, dupacks: _, srtt: _, rttvar: _, rto: _,
            retries: _, refusals: _, retry_after_refusal: _, probes_out: _,
            keepalive_probes: _, ack_now: _, last_ack_sent: _, rcv_wnd_sent: _, ts_ok: _,
            quick_acks: _, pingpong: _, snd_sml: _, ws_ok: _, max_snd_wnd: _, rcv_wscale: _, rcv_ssthresh: _,
            rcv_ratio_measured: _,
            // The instants:
            drs, rtt_probe, keepalive_at, first_syn_at, send_timer, delack_at, data_rcvd_at,
            close_timer,
        } = self;
        drs.shift_time(f);
        if let Some((_, sent)) = rtt_probe {
            *sent = f(*sent);
        }
        for t in [keepalive_at, first_syn_at, delack_at, data_rcvd_at] {
            *t = t.map(f);
        }
        *send_timer = match *send_timer {
            SendTimer::Idle => SendTimer::Idle,
            SendTimer::Retransmit { at } => SendTimer::Retransmit { at: f(at) },
            SendTimer::Persist { at, heard_at } => SendTimer::Persist {
                at: f(at),
                heard_at: f(heard_at),
            },
            SendTimer::LossProbe { at, rto_at } => SendTimer::LossProbe {
                at: f(at),
                rto_at: f(rto_at),
            },
        };
        if let Some((at, _)) = close_timer {
            *at = f(*at);
        }
    }
}
