//! Send-buffer autotuning: the buffer's size at establishment and its
//! growth after ACKs (Linux tcp_sndbuf_expand, tcp_check_space, tcp_new_space).

use super::*;

impl Socket {
    /// With `snd_buf_tuning = cwnd`, grows the send buffer to what the
    /// congestion window may need (Linux tcp_sndbuf_expand, from
    /// tcp_init_buffer_space at establishment and tcp_new_space; the caller checks
    /// tcp_should_expand_sndbuf's cwnd condition where it applies).
    pub fn expand_snd_buf(&mut self, p: &Knobs) {
        if p.snd_buf_tuning.value == SndBufTuning::Fixed || self.snd_buf_locked {
            return;
        }
        let t = &self.tcb;
        let ts = if t.ts_ok { TSOPT_LEN } else { 0 };
        let mss = t.mss.max(1);
        // max(mss_clamp, mss_cache): the MSS without options.
        let per_mss = (mss + ts + SKB_HEAD_OVERHEAD).next_power_of_two() + SKB_STRUCT_BYTES;
        let segs = (t.cwnd / mss)
            .max(p.initial_cwnd_segs.value)
            .max(TCP_REORDERING + 1);
        let sndmem = 2u64 * segs as u64 * per_mss as u64;
        let cap = sndmem.min(p.snd_buf_max_bytes.value as u64) as u32;
        if self.snd_buf < cap {
            self.snd_buf = cap;
            self.snd_buf_opt = cap;
        }
    }

    /// After an ACK freed send-buffer space (`acked` > 0): Linux
    /// tcp_data_snd_check sends what the ACK lets out, then tcp_check_space
    /// grows the buffer only if a writer ran out of room (SOCK_NOSPACE) and
    /// the flight is still below cwnd (tcp_new_space,
    /// tcp_should_expand_sndbuf: a buffer-limited sender), and
    /// sk_stream_write_space clears SOCK_NOSPACE once a third of the buffer
    /// is free (`__sk_stream_is_writeable`: free ≥ queued / 2); and, for the
    /// model's cwnd, only after a flight that filled it. Without
    /// `tcp_check_space_nospace` the buffer grows whenever the flight before
    /// the ACK filled cwnd (`cwnd_limited`) and the ACK left it below.
    pub fn snd_buf_after_ack(&mut self, p: &Knobs, cwnd_limited: bool) {
        let t = &self.tcb;
        if !p.tcp_check_space_nospace.value {
            if cwnd_limited && t.flight_size() < t.cwnd as u64 {
                self.expand_snd_buf(p);
            }
            return;
        }
        // The model's cwnd grows with every ACK, Linux's only while it limits
        // the sender (tcp_is_cwnd_limited): the two agree only after a
        // flight that filled it, as in the rule without the knob.
        if !self.snd_nospace || !cwnd_limited {
            return;
        }
        let flight = t.flight_size();
        let cwnd = t.cwnd as u64;
        let wnd_room = u64::from(t.snd_wnd).saturating_sub(t.snd_nxt - t.snd_una);
        let pushed = self
            .snd_unsent()
            .min(cwnd.saturating_sub(flight))
            .min(wnd_room);
        if flight + pushed + t.mss.max(1) as u64 <= cwnd {
            self.expand_snd_buf(p);
        }
        if 2 * self.snd_space() >= self.snd_queued() {
            self.snd_nospace = false;
        }
    }
}
