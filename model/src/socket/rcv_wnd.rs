//! The receive window a socket offers (RFC 9293 §3.8.6.2.2, Linux
//! __tcp_select_window and tcp_grow_window): the rule it follows, the window
//! on each segment, its clamp and growth, and the window update a read sends.

use super::*;

/// How the receive window follows from the buffer, copied from the knobs
/// `rcv_wnd_initial_pct`, `rcv_wnd_pct` and `rcv_wnd_rounding` when the socket is made.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct WndRule {
    pub initial_pct: u32,
    pub pct: u32,
    pub rounding: RcvWndRounding,
    /// `syncache_wnd_clip`.
    pub syncache_clip: bool,
    /// `rcv_ssthresh_growth`.
    pub growth: bool,
    /// `scaling_ratio_loopback` on a loopback path (1/256), else 0: `pct` applies.
    pub ratio_256: u32,
    /// `gso` on a loopback path: a segment may carry several MSS
    /// (`Socket::segment_max`). The path's other rule, beside the window's.
    pub gso: bool,
}

impl WndRule {
    /// The rule for a socket on a path that is `loopback` or not.
    pub fn of(p: &Knobs, loopback: bool) -> WndRule {
        WndRule {
            initial_pct: p.rcv_wnd_initial_pct.value,
            pct: p.rcv_wnd_pct.value,
            rounding: p.rcv_wnd_rounding.value,
            syncache_clip: p.syncache_wnd_clip.value,
            growth: p.rcv_ssthresh_growth.value,
            ratio_256: if loopback {
                p.scaling_ratio_loopback.value
            } else {
                0
            },
            gso: loopback && p.gso.value,
        }
    }

    /// The buffer memory `win` octets of data take (Linux tcp_space_from_win).
    pub(crate) fn space_from_win(&self, win: u64) -> u64 {
        match self.ratio_256 {
            0 => win * 100 / self.pct.max(1) as u64,
            r => win * 256 / r as u64,
        }
    }

    /// The share of `bytes` received data may fill.
    pub(crate) fn data_share(&self, bytes: u32) -> u32 {
        let b = bytes as u64;
        let share = match self.ratio_256 {
            0 => b * self.pct as u64 / 100,
            r => b * r as u64 / 256,
        };
        share.min(u32::MAX as u64) as u32
    }
}

/// Linux TCP_MSS_DEFAULT: the receive MSS a connection assumes until a
/// longer segment arrives (tcp_initialize_rcv_mss), so the first one longer
/// is the one tcp_measure_rcv_mss measures.
pub const TCP_MSS_DEFAULT: u32 = 536;

/// Linux tcp_event_data_recv: shorter segments do not grow the window.
pub const GROW_WINDOW_MIN_LEN: u32 = 128;

/// The largest window-scale shift (RFC 7323 §2.3, Linux TCP_MAX_WSCALE).
pub const WSCALE_MAX: u32 = 14;

/// Rounds `x` up to a multiple of 1 << `shift` (Linux ALIGN).
#[inline]
pub fn align_up(x: u32, shift: u8) -> u32 {
    let unit = 1u64 << shift;
    ((x as u64).div_ceil(unit) * unit).min(u32::MAX as u64) as u32
}

impl Socket {
    /// The receive window: on our SYN or SYN-ACK the first offer, later what
    /// the free space allows, and never less than the window already promised
    /// (RFC 9293 §3.8.6.2.2: the right edge does not move left; Linux
    /// tcp_select_window, BSD tcp_output).
    #[inline]
    pub fn rcv_wnd(&self) -> u32 {
        if !self.state.synchronized() {
            let half_open = self.state == State::SynReceived && self.parent.is_some();
            if half_open && self.wnd.syncache_clip {
                // The syncache's window: what the SYN-ACK could state (BSD sc_wnd).
                return self.initial_rcv_wnd().min(u16::MAX as u32);
            }
            return self.initial_rcv_wnd();
        }
        // tcp_select_window never shrinks: the promise, in units of the shift.
        let promised = align_up(self.promised_rcv_wnd(), self.tcb.rcv_wscale);
        self.free_rcv_wnd().max(promised)
    }

    /// How far beyond RCV.NXT the window we last advertised reaches (0 once
    /// RCV.NXT is past it): what a later window may not take back.
    #[inline]
    fn promised_rcv_wnd(&self) -> u32 {
        let t = &self.tcb;
        let right = t.last_ack_sent + t.rcv_wnd_sent as u64;
        // Within the window last sent, so it fits one.
        right.0.saturating_sub(t.rcv_nxt.0) as u32
    }

    /// The first window (Linux tcp_select_initial_window): the clamp, with
    /// `mss-multiple` rounded down to the MSS we announce, which on a SYN-ACK
    /// agreeing to timestamps is less the option (tcp_openreq_init_rwin).
    fn initial_rcv_wnd(&self) -> u32 {
        let clamp = self.rcv_clamp;
        match self.wnd.rounding {
            RcvWndRounding::FreeSpace => clamp,
            RcvWndRounding::MssMultiple => {
                let ts = self.state == State::SynReceived && self.tcb.ts_ok;
                let mss = (self.mss_local - if ts { TSOPT_LEN } else { 0 }).max(1);
                if clamp > mss {
                    clamp / mss * mss
                } else {
                    clamp
                }
            }
        }
    }

    /// The window the free space allows now: the share of the buffer data may
    /// fill (`rcv_wnd_pct`) less what is unread, within the clamp.
    #[inline]
    pub(crate) fn free_rcv_wnd(&self) -> u32 {
        let clamp = self.rcv_clamp;
        let free = (self.rcv_space as u64).saturating_sub(self.tcb.unread) as u32;
        match self.wnd.rounding {
            RcvWndRounding::FreeSpace => free.min(clamp),
            RcvWndRounding::MssMultiple => self.linux_select_window(free),
        }
    }

    /// Linux __tcp_select_window, with rcv_mss taken as our MSS (at most the
    /// full space, as the kernel caps it): below half
    /// the full space the free space is rounded down to the shift's unit and
    /// is 0 under one MSS or a sixteenth of the buffer's share; at most
    /// rcv_ssthresh; then, scaled, rounded up to the unit (ALIGN), unscaled,
    /// to the MSS unless the current offer is within one MSS of it (or, the
    /// MSS capped, the free space once it exceeds the offer by half the space).
    fn linux_select_window(&self, mut free: u32) -> u32 {
        let t = &self.tcb;
        let full = self.rcv_clamp.min(self.rcv_space);
        // An MSS larger than the whole space counts as the space (a small
        // SO_RCVBUF behind loopback's 65483-octet MSS would otherwise never
        // open the window again).
        let (mss, ws) = (t.mss.min(full).max(1), t.rcv_wscale);
        if free < full / 2 {
            free = free >> ws << ws;
            if free < self.rcv_space >> 4 || free < mss {
                return 0;
            }
        }
        free = free.min(self.rcv_clamp);
        if self.wnd.growth && t.rcv_ssthresh > 0 {
            free = free.min(t.rcv_ssthresh);
        }
        if ws > 0 {
            return align_up(free, ws);
        }
        let cur = t.rcv_wnd_sent;
        if cur.saturating_add(mss) <= free || cur > free {
            free / mss * mss
        } else if mss == full && free > cur + full / 2 {
            // The whole space is one segment: rounding would keep it shut.
            free
        } else {
            cur
        }
    }

    /// Linux __tcp_select_window (`rcv_wnd_rounding = mss-multiple`): once
    /// the free space is below half the full space, quick-ACK mode ends
    /// (`icsk_ack.quick = 0`), for whichever caller selects the window:
    /// tcp_select_window for each ACK sent, __tcp_ack_snd_check's test of
    /// the window before its quick-ACK test.
    pub(crate) fn end_quick_acks_when_half_full(&mut self) {
        if self.wnd.rounding != RcvWndRounding::MssMultiple {
            return;
        }
        let full = self.rcv_clamp.min(self.rcv_space);
        let free = (self.rcv_space as u64).saturating_sub(self.tcb.unread);
        if free < u64::from(full / 2) {
            self.tcb.quick_acks = 0;
        }
    }

    /// The MSS we announced, less the timestamps option once agreed (Linux
    /// tp->advmss, which tcp_rcv_synsent_state_process and
    /// tcp_openreq_init_rwin reduce by TCPOLEN_TSTAMP_ALIGNED).
    fn adv_mss(&self) -> u32 {
        let ts = if self.tcb.ts_ok { TSOPT_LEN } else { 0 };
        self.mss_local.saturating_sub(ts).max(1)
    }

    /// The window-scale shift our SYN offers (Linux tcp_select_initial_window):
    /// enough for the largest buffer autotuning may reach, or for the buffer
    /// SO_RCVBUF set (its share at the default ratio, tcp_full_space).
    pub(crate) fn wscale_offer(&self, p: &Knobs) -> u8 {
        let space = if self.rcv_buf_locked {
            self.rcv_clamp
        } else {
            self.rcv_clamp.max(p.tcp_rmem_max_bytes.value)
        };
        (space.max(1).ilog2().saturating_sub(15)).min(WSCALE_MAX) as u8
    }

    /// At establishment (Linux tcp_init_buffer_space): the window's clamp
    /// and start, then autotuning's first measure.
    pub(crate) fn init_rcv_window(&mut self, now: Instant) {
        self.init_rcv_clamp();
        self.init_rcv_space(now);
    }

    /// With `rcv_ssthresh_growth`: the clamp keeps one segment in reserve
    /// below the full space, and the window starts from the first one offered.
    fn init_rcv_clamp(&mut self) {
        if !self.wnd.growth {
            return;
        }
        let advmss = self.adv_mss();
        let full = self.rcv_clamp;
        let most = if self.tcb.ws_ok {
            (u16::MAX as u32) << self.tcb.rcv_wscale
        } else {
            u16::MAX as u32
        };
        let mut clamp = full.min(most);
        if clamp > 2 * advmss && clamp + advmss > full {
            clamp = (2 * advmss).max(full - advmss);
        }
        self.rcv_clamp = clamp;
        self.tcb.rcv_ssthresh = self.tcb.rcv_wnd_sent.min(clamp).max(1);
    }

    /// In-order data of `len` octets has been queued, with
    /// `rcv_ssthresh_growth` (Linux tcp_event_data_recv): the first segment
    /// longer than TCP_MSS_DEFAULT is measured (tcp_measure_rcv_mss: the clamp
    /// becomes the buffer's share for data, tcp_set_window_clamp), then
    /// tcp_grow_window raises rcv_ssthresh by twice the segment (at least
    /// two MSS) within the room the free space leaves, and asks for an ACK
    /// at once (`icsk_ack.quick |= 1`, net/ipv4/tcp_input.c tcp_grow_window).
    pub(crate) fn grow_rcv_window(&mut self, len: u32) {
        if !self.wnd.growth || self.tcb.rcv_ssthresh == 0 {
            return;
        }
        if !self.tcb.rcv_ratio_measured && len > TCP_MSS_DEFAULT {
            self.tcb.rcv_ratio_measured = true;
            let clamp = self.rcv_space.max(1);
            let t = &mut self.tcb;
            t.rcv_ssthresh = if clamp < self.rcv_clamp {
                t.rcv_ssthresh.min(clamp)
            } else {
                t.rcv_ssthresh.max(t.rcv_wnd_sent.min(clamp))
            };
            self.rcv_clamp = clamp;
        }
        if len < GROW_WINDOW_MIN_LEN {
            return;
        }
        let free = (self.rcv_space as u64).saturating_sub(self.tcb.unread) as u32;
        let room = self
            .rcv_clamp
            .min(free)
            .saturating_sub(self.tcb.rcv_ssthresh);
        if room == 0 {
            return;
        }
        let incr = (2 * self.adv_mss()).max(len.saturating_mul(2));
        let t = &mut self.tcb;
        t.rcv_ssthresh += room.min(incr);
        // `icsk_ack.quick |= 1`: one more quick ACK whenever the count is
        // even (16 become 17), so each growth in quick-ACK mode adds one.
        t.quick_acks |= 1;
    }

    /// Whether a read that has just taken data out of the buffer sends a
    /// window update now (`rcv_wnd_update`); `wnd_before` is `rcv_wnd()` before it.
    pub fn read_opens_window(&self, rule: RcvWndUpdate, wnd_before: u32) -> bool {
        match rule {
            RcvWndUpdate::TwoSegments => {
                let mss = self.tcb.mss.max(1);
                let opened = self.rcv_wnd() - wnd_before;
                wnd_before < mss * 2 && opened >= (2 * mss).min(self.rcv_buf / 2)
            }
            RcvWndUpdate::Doubled => {
                // Linux __tcp_cleanup_rbuf: what the peer may still send
                // (tcp_receive_window) against what __tcp_select_window offers.
                if self.tcb.fin_rcvd || self.shut_rd {
                    return false;
                }
                let open = self.promised_rcv_wnd() as u64;
                if 2 * open > self.rcv_clamp as u64 {
                    return false;
                }
                let offer = self.free_rcv_wnd() as u64;
                offer > 0 && offer >= 2 * open
            }
        }
    }

    /// What an advertised window keeps to, checked on what goes out rather
    /// than in `rcv_wnd`, the code that could get it wrong: its right edge never
    /// moves left (RFC 9293 §3.8.6.2.2), and beyond what was already promised it
    /// offers only free space, so the data held stays within the buffer's share
    /// for data (`rcv_space`). Before the handshake is over nothing has been
    /// promised: each SYN or SYN-ACK offers the first window afresh.
    #[inline]
    pub(super) fn assert_rcv_wnd(&self, seg: &Segment) {
        let t = &self.tcb;
        // What is left of the last window beyond this ACK (at RCV.NXT, which
        // never goes back), and the free space (a smaller SO_RCVBUF since may
        // leave less free than was promised).
        let advanced = t.rcv_nxt - t.last_ack_sent;
        let promised = (t.rcv_wnd_sent as u64).saturating_sub(advanced);
        let free = (self.rcv_space as u64).saturating_sub(t.unread);
        let wnd = seg.wnd as u64;
        // Linux rounds up to the window-scale unit (__tcp_select_window's ALIGN).
        let unit = (1u64 << t.rcv_wscale) - 1;
        if wnd < promised || wnd > (promised.max(free) + unit) & !unit {
            self.rcv_wnd_broken(seg, promised, free);
        }
    }

    /// The panic of `assert_rcv_wnd`, out of line: `transmit` runs for every
    /// segment sent, and the checks must not stop it being inlined.
    #[cold]
    #[inline(never)]
    pub(super) fn rcv_wnd_broken(&self, seg: &Segment, promised: u64, free: u64) -> ! {
        let t = &self.tcb;
        assert!(
            seg.wnd as u64 >= promised,
            "receive window's right edge moved left: ack {} wnd {} after ack {} wnd {}",
            t.rcv_nxt,
            seg.wnd,
            t.last_ack_sent,
            t.rcv_wnd_sent
        );
        panic!(
            "window {} beyond the {promised} promised and the {free} free ({} unread of {})",
            seg.wnd, t.unread, self.rcv_space
        );
    }
}
