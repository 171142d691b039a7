//! Segment lines: `<` becomes a segment into the host, `>` is matched against
//! what the host sent, field by field in packetdrill's order
//! (google/packetdrill `run_packet.c`, `verify_outbound_live_tcp`).
//!
//! Sequence numbers are relative to each side's ISN, as packetdrill writes
//! them: the peer's ISN is the runner's constant, ours is learned from our
//! first SYN (or SYN-ACK), as packetdrill learns it from the sniffed packet.
//! The model does not carry window scaling (windows are octets), SACK or
//! option order, so of the options only the MSS and the presence of
//! timestamps are compared; a `win` is compared as the raw 16-bit field, our
//! window shifted by the `wscale` the script's own SYN line states.

use super::parse::{Packet, TcpOpt, Usecs};
use super::report::{self, Failure};
use super::run::Runner;
use model::{Addr, Output, Segment, Seq, SynOpts};
pub use scenario::packet::{flags, unsupported};
use sim::segmatch::{take_next, Isns, Miss, TIMED_OUT};

const LOCAL: u16 = 0;
const REMOTE: u16 = 1;

fn mss_of(p: &Packet) -> Option<u16> {
    p.opts.iter().flatten().find_map(|o| match o {
        TcpOpt::Mss(m) => Some(*m),
        _ => None,
    })
}

fn wscale_of(p: &Packet) -> Option<u8> {
    p.opts.iter().flatten().find_map(|o| match o {
        TcpOpt::Wscale(w) => Some(*w),
        _ => None,
    })
}

fn has_ts(p: &Packet) -> bool {
    p.opts
        .iter()
        .flatten()
        .any(|o| matches!(o, TcpOpt::Ts { .. }))
}

impl Runner {
    fn local_addr(&self) -> Addr {
        Addr {
            host: LOCAL,
            port: self.conn.local_port.unwrap_or(super::run::SCRIPT_PORT),
        }
    }

    fn remote_addr(&self) -> Addr {
        Addr {
            host: REMOTE,
            port: self.conn.remote_port,
        }
    }

    /// Hands a `<` segment to the host at the current time.
    /// A `<` line: the segment arrives; `last` of those at this instant
    /// (the host's blocked calls are retried after it).
    pub(super) fn inbound(&mut self, line: usize, p: &Packet, last: bool) {
        if let Some(reason) = unsupported(p) {
            self.unsupported(line, reason);
            if last {
                let mut out = Output::default();
                self.host.wake_blocked(self.instant(), &mut out);
                self.absorb(out);
            }
            return;
        }
        let f = flags(p);
        if f.syn() {
            if let Some(w) = wscale_of(p) {
                // Scaling holds once both SYNs carry it; ours is stated by the script's line.
                if !self.conn.our_syn_without_wscale {
                    self.conn.peer_shift = Some(w);
                }
            }
        }
        let start = p.seq.map_or(0, |(s, _)| s);
        let shift = if f.syn() {
            0
        } else {
            self.conn.peer_shift.unwrap_or(0)
        };
        let seg = Segment {
            src: self.remote_addr(),
            dst: self.local_addr(),
            seq: Seq(super::run::REMOTE_ISN.wrapping_add(start)),
            ack: Seq(p
                .ack
                .map_or(0, |a| self.conn.local_isn.unwrap_or(0).wrapping_add(a))),
            flags: f,
            wnd: p.win.unwrap_or(0) << shift.min(14),
            len: p.len,
            mss: if f.syn() { mss_of(p).unwrap_or(536) } else { 0 },
            opts: syn_opts(p),
        };
        let mut out = Output::default();
        let now = self.instant();
        self.host.on_segment_of_instant(now, &seg, last, &mut out);
        self.absorb(out);
    }

    /// Waits for the next segment the host sends and matches it to a `>`
    /// line (the one matcher, sim/src/segmatch.rs).
    pub(super) fn outbound(
        &mut self,
        line: usize,
        p: &Packet,
        window: (Usecs, Usecs),
    ) -> Result<(), Failure> {
        if let Some(reason) = unsupported(p) {
            self.unsupported(line, reason);
            return Ok(());
        }
        let deadline = window.1 + self.tolerance_usecs;
        while self.sniffed.is_empty()
            && self
                .host
                .poll_at()
                .is_some_and(|t| (t.as_ns() / 1000) as Usecs <= deadline)
        {
            let at = (self.host.poll_at().expect("checked").as_ns() / 1000) as Usecs;
            self.advance(at)?;
        }
        if flags(p).syn() {
            self.learn_line(p);
        }
        let shift = self
            .conn
            .our_shift
            .filter(|_| self.conn.peer_shift.is_some())
            .unwrap_or(0);
        let mut isns = Isns {
            sender: self.conn.local_isn,
            receiver: super::run::REMOTE_ISN,
        };
        let pat = scenario::packet::pattern(p, shift);
        let taken = take_next(
            &pat,
            window,
            self.tolerance_usecs,
            &mut self.sniffed,
            &mut isns,
        );
        self.conn.local_isn = isns.sender;
        match taken {
            Ok((at, seg)) => {
                self.now_usecs = self.now_usecs.max(at);
                if flags(p).syn() {
                    self.conn.local_port = Some(seg.src.port);
                    self.conn.remote_port = seg.dst.port;
                }
                Ok(())
            }
            Err(Miss::Packet(m)) => {
                if m == TIMED_OUT {
                    self.now_usecs = self.now_usecs.max(deadline);
                }
                Err(report::fail_packet(line, m))
            }
            Err(Miss::Time(m)) => Err(report::fail(line, m)),
        }
    }

    /// Whether our SYN offers scaling, as the script's line states it.
    fn learn_line(&mut self, p: &Packet) {
        match &p.opts {
            Some(opts) => {
                self.conn.our_shift = wscale_of(p);
                self.conn.our_syn_without_wscale =
                    !opts.iter().any(|o| matches!(o, TcpOpt::Wscale(_)));
                if self.conn.our_syn_without_wscale {
                    self.conn.peer_shift = None;
                }
            }
            None => self.conn.our_shift = None,
        }
    }
}

/// The options of an inbound segment the model carries: timestamps, and on a
/// SYN the offer of window scaling (`wscale`), which the model agrees to as
/// its personality does (its windows then follow its own shift, as a
/// kernel's do).
fn syn_opts(p: &Packet) -> SynOpts {
    let ts = if has_ts(p) { SynOpts::TS.0 } else { 0 };
    let ws = if p.flags.contains('S') && wscale_of(p).is_some() {
        SynOpts::WS.0
    } else {
        0
    };
    SynOpts(ts | ws)
}
