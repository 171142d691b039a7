//! Aborting a connection: whether it sends an RST, and the RSTs it sends
//! (RFC 9293 §3.10.7.1, Linux tcp_send_active_reset, BSD tcp_drop).

use super::*;

impl Socket {
    /// Whether aborting in this state sends an RST (Linux tcp_need_reset, BSD
    /// TCPS_HAVERCVDSYN): only once the peer knows the connection. In CLOSING and
    /// LAST-ACK only data still unsent needs one (Linux `tcp_disconnect`), except
    /// that close() with unread data resets whatever the state (`__tcp_close`
    /// calls `tcp_send_active_reset` unconditionally, RFC 2525 §2.17); with
    /// `abort_rst_after_fin` (BSD tcp_drop) always.
    pub fn abort_sends_rst(&self, p: &Knobs, cause: RstCause) -> bool {
        match self.state {
            State::Established
            | State::CloseWait
            | State::FinWait1
            | State::FinWait2
            | State::SynReceived => true,
            State::Closing | State::LastAck => {
                p.abort_rst_after_fin.value
                    || cause == RstCause::CloseWithUnread
                    || self.snd_unsent() > 0
            }
            State::Closed | State::Listen | State::SynSent | State::TimeWait => false,
        }
    }

    /// Aborts the connection: RST (where the state calls for one), send queue
    /// discarded, CLOSED. Unread received data is the caller's business.
    pub fn abort(&mut self, ctx: &mut Ctx, cause: RstCause) {
        if self.abort_sends_rst(ctx.p, cause) {
            self.send_rst_here(ctx, cause);
        }
        self.drop_connection(ctx, cause);
    }

    /// The abort without our own RST: send queue discarded, CLOSED.
    pub fn drop_connection(&mut self, ctx: &mut Ctx, cause: RstCause) {
        self.purge_send_queue(ctx, DiscardCause::Abort(cause));
        self.finish(ctx, Ending::Dropped, Rule::Abort);
    }

    /// Answers `seg` with an RST built from it (`<SEQ=SEG.ACK><CTL=RST>`), as
    /// Linux does when a segment is refused (`tcp_v4_send_reset` after
    /// `tcp_rcv_state_process` returns 1): a bare `R` with window 0, not `R.`.
    pub fn send_rst_reply(&mut self, ctx: &mut Ctx, seg: &Segment, cause: RstCause) {
        if let Some(rst) = rst_reply(seg) {
            self.reset = true;
            ctx.out.events.push(Event::RstSent {
                conn: self.conn(),
                state: self.state,
                cause,
            });
            ctx.out.send(rst);
        }
    }

    /// Sends an RST from this connection (RFC 9293 §3.10.7.4: seq = SND.NXT).
    pub fn send_rst_here(&mut self, ctx: &mut Ctx, cause: RstCause) {
        let seq = self.tcb.snd_max;
        let mut seg = self.segment(Flags::RST | Flags::ACK, seq, 0);
        if ctx.p.rst_window_zero.value {
            seg.wnd = 0;
        }
        self.reset = true;
        ctx.out.events.push(Event::RstSent {
            conn: self.conn(),
            state: self.state,
            cause,
        });
        ctx.out.send(seg);
    }
}

/// An RST answering `seg`, which found no connection (RFC 9293 §3.10.7.1):
/// with an ACK, `<SEQ=SEG.ACK><CTL=RST>`; without, `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
pub fn rst_reply(seg: &Segment) -> Option<Segment> {
    if seg.flags.rst() {
        return None;
    }
    let (seq, ack, flags) = if seg.flags.ack() {
        (seg.ack, Seq(0), Flags::RST)
    } else {
        (Seq(0), seg.seq + seg.seq_len(), Flags::RST | Flags::ACK)
    };
    Some(Segment {
        src: seg.dst,
        dst: seg.src,
        seq,
        ack,
        flags,
        wnd: 0,
        len: 0,
        mss: 0,
        opts: SynOpts::NONE,
    })
}
