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
use model::{Addr, Flags, Output, Segment, Seq, SynOpts};
pub use scenario::packet::{flags, unsupported};

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
    pub(super) fn inbound(&mut self, line: usize, p: &Packet) {
        if let Some(reason) = unsupported(p) {
            self.unsupported(line, reason);
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
            opts: if has_ts(p) {
                SynOpts::TS
            } else {
                SynOpts::NONE
            },
        };
        let mut out = Output::default();
        let now = self.instant();
        self.host.on_segment(now, &seg, &mut out);
        self.absorb(out);
    }

    /// Waits for the next segment the host sends and matches it to a `>` line.
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
        let Some((at, mut seg)) = self.sniffed.pop_front() else {
            self.now_usecs = self.now_usecs.max(deadline);
            return Err(report::fail_packet(
                line,
                "Timed out waiting for packet".into(),
            ));
        };
        self.now_usecs = self.now_usecs.max(at);
        self.coalesce(&mut seg, at, p.len);
        if flags(p).syn() {
            self.learn(p, &seg);
        }
        self.verify(line, p, &seg)?;
        report::check_time(line, "outbound packet", window, at, self.tolerance_usecs)
    }

    /// One `>` line may stand for several segments sent at once (TSO/GSO:
    /// packetdrill sniffs before segmentation): merge the contiguous ones.
    fn coalesce(&mut self, seg: &mut Segment, at: Usecs, want: u32) {
        while seg.len < want {
            let Some((t, next)) = self.sniffed.front().copied() else {
                break;
            };
            let contiguous = next.seq == seg.seq + seg.len
                && next.flags.0 & !(Flags::PSH.0 | Flags::FIN.0)
                    == seg.flags.0 & !(Flags::PSH.0 | Flags::FIN.0);
            if t != at || !contiguous || seg.flags.fin() {
                break;
            }
            self.sniffed.pop_front();
            seg.len += next.len;
            seg.flags = seg.flags | next.flags;
            seg.ack = next.ack;
            seg.wnd = next.wnd;
        }
    }

    /// Our ISN and port, from our SYN or SYN-ACK; whether our SYN offers scaling.
    fn learn(&mut self, p: &Packet, seg: &Segment) {
        let start = p.seq.map_or(0, |(s, _)| s);
        self.conn.local_isn = Some(seg.seq.0.wrapping_sub(start));
        self.conn.local_port = Some(seg.src.port);
        self.conn.remote_port = seg.dst.port;
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

    /// The fields packetdrill checks, in its order, each as `check_field` words it.
    fn verify(&self, line: usize, p: &Packet, seg: &Segment) -> Result<(), Failure> {
        let fail = |m: String| Err(report::fail_packet(line, m));
        if seg.len != p.len {
            return fail(format!(
                "live packet payload: expected {} bytes vs actual {} bytes",
                p.len, seg.len
            ));
        }
        let want = flags(p);
        for (name, bit) in [
            ("tcp_fin", Flags::FIN),
            ("tcp_syn", Flags::SYN),
            ("tcp_rst", Flags::RST),
            ("tcp_psh", Flags::PSH),
            ("tcp_ack", Flags::ACK),
        ] {
            report::field(line, name, want.has(bit) as u32, seg.flags.has(bit) as u32)?;
        }
        let isn = self.conn.local_isn.unwrap_or(0);
        if let Some((start, _)) = p.seq {
            report::field(line, "tcp_seq", isn.wrapping_add(start), seg.seq.0)?;
        }
        if want.ack() {
            let ack = super::run::REMOTE_ISN.wrapping_add(p.ack.unwrap_or(0));
            report::field(line, "tcp_ack_seq", ack, seg.ack.0)?;
        }
        if let Some(win) = p.win {
            let shift = if seg.flags.syn() {
                0
            } else {
                self.conn
                    .our_shift
                    .filter(|_| self.conn.peer_shift.is_some())
                    .unwrap_or(0)
            };
            let raw = (seg.wnd >> shift).min(u16::MAX as u32);
            report::field(line, "tcp_window", win, raw)?;
        }
        self.verify_options(line, p, seg)
    }

    /// MSS and timestamps, the options the model carries.
    fn verify_options(&self, line: usize, p: &Packet, seg: &Segment) -> Result<(), Failure> {
        let Some(_) = &p.opts else { return Ok(()) };
        let want_mss = mss_of(p);
        let got_mss = (seg.mss != 0).then_some(seg.mss);
        let ts_differs = seg.flags.syn() && has_ts(p) != seg.opts.ts();
        if want_mss.is_some() != got_mss.is_some() || ts_differs {
            return Err(report::fail_packet(line, "bad outbound TCP options".into()));
        }
        if let (Some(w), Some(g)) = (want_mss, got_mss) {
            if w != g {
                return Err(report::fail_packet(line, format!("bad value in outbound TCP option (kind=2): expected: mss {w} actual: mss {g}")));
            }
        }
        Ok(())
    }
}
