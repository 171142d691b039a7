//! One socket: the application-side flags and the transmission control block
//! (RFC 9293 §3.3.1 names: `snd_una`, `snd_nxt`, `rcv_nxt`, …), plus the few
//! helpers every part of the model shares (state changes, RST, discards).
//!
//! Payload is counted, never stored: the send buffer is the range of stream
//! offsets `[snd_una, write_seq)`, the receive buffer a count of unread octets.
//! Positions are 64-bit [`Offset`]s from the ISNs, so neither wraps: wire
//! numbers are made from them when a segment is built (`segment`) and read
//! into them when one arrives (`Tcb::seq_offset`, `Tcb::ack_offset`).

use crate::errno::Errno;
use crate::event::{Buffer, Conn, DiscardCause, Event, Output, Pid, RstCause};
use crate::personality::{Knobs, RcvWndRounding, RcvWndUpdate, SndBufTuning};
use crate::segment::{Addr, Flags, Segment, SynOpts};
use crate::seq::{Offset, Seq};
use crate::state::{allowed, Rule, State};
use crate::{Duration, Instant};
use smallvec::SmallVec;

mod rcv_wnd;
mod rst;
mod sndbuf;

pub use rcv_wnd::*;
pub use rst::*;

/// Index of a socket in its host.
pub type SockId = u32;

/// At most this many out-of-order ranges are kept; more are dropped (and retransmitted).
pub const OOO_RANGES_MAX: usize = 32;

/// Octets the timestamps option takes in every segment once agreed (RFC 7323:
/// 10, padded to 12; Linux TCPOLEN_TSTAMP_ALIGNED, BSD TCPOLEN_TSTAMP_APPA).
pub const TSOPT_LEN: u32 = 12;

/// Octets besides the payload in the head of one skb that tcp_sndbuf_expand
/// counts: MAX_TCP_HEADER (256 on the x86_64 kernel checked, whose MAX_HEADER
/// has no large link-layer headers) and SKB_DATA_ALIGN(sizeof(struct
/// skb_shared_info)) (320); the sum is rounded up to a power of two. Observed:
/// SO_SNDBUF reads 46080 = 2 × 10 × (2048 + 256) after a handshake with MSS
/// 1460, 2626560 = 2 × 10 × (131072 + 256) with MSS 65495 (loopback).
pub const SKB_HEAD_OVERHEAD: u32 = 576;

/// SKB_DATA_ALIGN(sizeof(struct sk_buff)) on x86_64, added per segment after the rounding.
pub const SKB_STRUCT_BYTES: u32 = 256;

/// Linux sysctl tcp_reordering's default (TCP_FASTRETRANS_THRESH = 3), the
/// reordering degree tcp_sndbuf_expand allows for before RACK measures one.
pub const TCP_REORDERING: u32 = 3;

/// What a call into the model needs besides the socket: knobs, time, output.
pub struct Ctx<'a> {
    pub p: &'a Knobs,
    pub now: Instant,
    pub out: &'a mut Output,
}

/// The timer that ends a connection's life.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CloseTimer {
    TimeWait,
    FinWait2,
    /// connect() gives up if the connection is not established by then.
    Connect,
}

/// How a connection was cut off, where it did not close in order. After it
/// nothing more is sent or received, and read() and write() report it (`api.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Ending {
    /// The peer's RST: it refused our SYN, or reset the connection.
    RstReceived,
    /// We dropped it: an abort (with our RST where the state calls for one),
    /// or a timer that gave up.
    Dropped,
}

/// The sending side's one timer: retransmission while data is in flight, or
/// persist while the peer's window is zero and nothing is (RFC 9293 §3.8.6.1).
/// One field, so the two cannot both run, nor a deadline lose its meaning: Linux
/// keeps both in `icsk_retransmit_timer`, told apart by `icsk_pending`; BSD's
/// TCPT_REXMT and TCPT_PERSIST are never armed together (tcp_setpersist).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum SendTimer {
    #[default]
    Idle,
    /// RFC 6298: the earliest unacknowledged segment (or our SYN) is resent at `at`.
    Retransmit { at: Instant },
    /// A zero-window probe goes out at `at`. `heard_at`: when the peer last
    /// sent anything (BSD `t_rcvtime`, which every arriving segment sets in
    /// tcp_input), which decides when BSD probing gives up (`persist_timer`).
    Persist { at: Instant, heard_at: Instant },
    /// A tail loss probe goes out at `at` (`tail_loss_probe`), in place of
    /// the retransmission timer due at `rto_at` (Linux's probe takes the
    /// RTO's place: one icsk timer, ICSK_TIME_LOSS_PROBE).
    LossProbe { at: Instant, rto_at: Instant },
}

impl SendTimer {
    /// When the timer fires, if it runs.
    #[inline]
    pub fn at(self) -> Option<Instant> {
        match self {
            SendTimer::Idle => None,
            SendTimer::Retransmit { at }
            | SendTimer::Persist { at, .. }
            | SendTimer::LossProbe { at, .. } => Some(at),
        }
    }

    #[inline]
    pub fn is_persist(self) -> bool {
        matches!(self, SendTimer::Persist { .. })
    }
}

/// A listener's queues.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Listener {
    pub backlog: u32,
    /// Established children waiting for accept(), oldest first. Inline for
    /// a few (as a host's sockets): the explorer's clone of a world with a
    /// listener allocates nothing for its queues. (A `SmallVec` hashes as
    /// its slice, as a `Vec` does: digests do not move.)
    pub accept_q: SmallVec<[SockId; 4]>,
    /// Children still in SYN-RECEIVED.
    pub embryonic: SmallVec<[SockId; 4]>,
}

/// The transmission control block. The `snd_*` positions and `snd_wl2` are
/// offsets in our stream (from `iss`); `rcv_nxt`, `snd_wl1`, `last_ack_sent`
/// and the out-of-order queue are offsets in the peer's (from `irs`).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Tcb {
    pub iss: Seq,
    pub snd_una: Offset,
    pub snd_nxt: Offset,
    /// Highest offset sent so far (snd_nxt can go back on retransmission).
    pub snd_max: Offset,
    /// Where the last new segment sent began: the tail a loss probe resends
    /// (Linux's last skb of the retransmission queue).
    pub last_seg: Offset,
    /// A tail loss probe is out: SND.MAX when it went (Linux `tlp_high_seq`);
    /// one probe per tail until the peer acknowledges past it.
    pub tlp_high: Option<Offset>,
    pub snd_wnd: u32,
    pub snd_wl1: Offset,
    pub snd_wl2: Offset,
    pub irs: Seq,
    pub rcv_nxt: Offset,
    /// Effective send MSS (ours and the peer's option, the smaller).
    pub mss: u32,
    /// Octets the application has written into the stream.
    pub written: u64,
    /// The application asked for a FIN (close or shutdown WR); it follows the data.
    pub fin_queued: bool,
    /// The peer's FIN has been received in order.
    pub fin_rcvd: bool,
    /// Octets received in order and not yet read.
    pub unread: u64,
    /// Out-of-order ranges [start, end), sorted, apart.
    pub ooo: Vec<(Offset, Offset)>,
    /// Where an out-of-order FIN is.
    pub ooo_fin: Option<Offset>,
    pub cwnd: u32,
    pub ssthresh: u32,
    pub dupacks: u32,
    /// Smoothed RTT and variance (RFC 6298); `srtt` is zero before the first sample.
    pub srtt: Duration,
    pub rttvar: Duration,
    pub rto: Duration,
    /// The segment being timed (where it ends) and when it was sent (Karn's rule).
    pub rtt_probe: Option<(Offset, Instant)>,
    /// Consecutive retransmissions (or probes) without progress.
    pub retries: u32,
    /// RSTs to our SYN ignored so far (`rst_to_syn = retry-syn`).
    pub refusals: u32,
    /// The pending SYN retransmission answers a refusal: no backoff, not counted as a retry.
    pub retry_after_refusal: bool,
    /// Zero-window probes sent since the peer last answered (Linux `icsk_probes_out`).
    pub probes_out: u32,
    /// When the next keepalive probe is due (SO_KEEPALIVE, ESTABLISHED or CLOSE-WAIT only).
    pub keepalive_at: Option<Instant>,
    /// Keepalive probes sent since the peer last sent anything.
    pub keepalive_probes: u32,
    /// When our first SYN went out (Linux `retrans_stamp` in SYN-SENT).
    pub first_syn_at: Option<Instant>,
    pub send_timer: SendTimer,
    pub delack_at: Option<Instant>,
    /// An ACK must go out with the next output.
    pub ack_now: bool,
    pub last_ack_sent: Offset,
    /// The window our last ACK (or SYN) advertised (Linux `tp->rcv_wnd`); with
    /// `last_ack_sent` it is the right edge we promised.
    pub rcv_wnd_sent: u32,
    /// Timestamps option: offered (SYN-SENT), then agreed by both ends.
    pub ts_ok: bool,
    /// Window scaling: offered (SYN-SENT), then agreed by both ends.
    pub ws_ok: bool,
    /// The largest window the peer has offered (Linux tp->max_window).
    pub max_snd_wnd: u32,
    /// Our window-scale shift once agreed (Linux `rx_opt.rcv_wscale`): the
    /// windows we offer are multiples of 1 << it, at most 65535 << it.
    pub rcv_wscale: u8,
    /// How far the offered window may grow for now (Linux `rcv_ssthresh`,
    /// `rcv_ssthresh_growth`); 0 before establishment sets it: no limit.
    pub rcv_ssthresh: u32,
    /// A data segment has been measured (Linux tcp_measure_rcv_mss set
    /// scaling_ratio): the clamp follows the buffer's share for data.
    pub rcv_ratio_measured: bool,
    /// ACKs still to send at once, quick-ACK mode (Linux `icsk_ack.quick`).
    pub quick_acks: u32,
    /// Interactive mode: ACKs wait for a reply to ride on (Linux `icsk_ack.pingpong`).
    pub pingpong: bool,
    /// When in-order data last arrived; None before the first (Linux `ato == 0`).
    pub data_rcvd_at: Option<Instant>,
    pub close_timer: Option<(Instant, CloseTimer)>,
    /// The end of the last segment sent shorter than the MSS (Linux
    /// tp->snd_sml, tcp_minshall_update): Minshall's Nagle waits for its ACK.
    pub snd_sml: Offset,
    /// Receive-buffer autotuning's measures (`tcp_moderate_rcvbuf`).
    pub drs: crate::rcvbuf::Drs,
}

impl Tcb {
    /// The send MSS bounded by half the largest window the peer offered
    /// (Linux tcp_bound_to_half_wnd: when that window exceeds TCP_MSS_DEFAULT,
    /// at least 68 octets less the TCP header).
    pub fn mss_bound_to_half_wnd(&self) -> u32 {
        let cutoff = if self.max_snd_wnd > TCP_MSS_DEFAULT {
            self.max_snd_wnd / 2
        } else {
            self.max_snd_wnd
        };
        if cutoff > 0 && self.mss > cutoff {
            cutoff.max(68 - 20)
        } else {
            self.mss
        }
    }

    /// The wire number of `off` in our stream.
    #[inline]
    pub fn snd_seq(&self, off: Offset) -> Seq {
        off.wire(self.iss)
    }

    /// The wire number of `off` in the peer's stream.
    #[inline]
    pub fn rcv_seq(&self, off: Offset) -> Seq {
        off.wire(self.irs)
    }

    /// Where a received sequence number is in the peer's stream: nearest RCV.NXT.
    #[inline]
    pub fn seq_offset(&self, seq: Seq) -> Offset {
        Offset::nearest(seq, self.irs, self.rcv_nxt)
    }

    /// Where a received acknowledgment number is in our stream: nearest
    /// SND.UNA. One before the ISS lands far beyond SND.MAX, unacceptable
    /// wherever it is checked (RFC 5961 §5.2 refuses ACKs that old too).
    #[inline]
    pub fn ack_offset(&self, ack: Seq) -> Offset {
        Offset::nearest(ack, self.iss, self.snd_una)
    }

    /// Octets sent and not yet acknowledged (RFC 5681's FlightSize).
    #[inline]
    pub fn flight_size(&self) -> u64 {
        self.snd_max - self.snd_una
    }

    /// The slow-start threshold after a loss (RFC 5681 §3.1, equation 4):
    /// half the flight, at least two segments.
    #[inline]
    pub fn ssthresh_after_loss(&self) -> u32 {
        u32::try_from(self.flight_size() / 2)
            .unwrap_or(u32::MAX)
            .max(2 * self.mss)
    }
}

/// A socket as the application and the stack both see it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Socket {
    pub state: State,
    pub local: Addr,
    pub remote: Addr,
    pub bound: bool,
    /// Descriptors referring to this socket, in all processes.
    pub refs: u32,
    /// The application closed its last descriptor.
    pub closed: bool,
    /// The process that closed it (for exit-time cleanup).
    pub closed_by: Option<Pid>,
    /// Its last descriptor was closed while another thread was blocked in a
    /// call on it (`close_while_blocked = holds`): the close of the
    /// connection waits until that call returns.
    pub close_deferred: bool,
    pub nonblocking: bool,
    /// SO_KEEPALIVE.
    pub keepalive: bool,
    /// SO_REUSEADDR (accepted sockets inherit the listener's, as Linux
    /// sk_clone_lock() copies sk_reuse and BSD sonewconn() so_options).
    pub reuse_addr: bool,
    /// TCP_NODELAY: Nagle's algorithm off (accepted sockets inherit the
    /// listener's: Linux clones tp->nonagle, FreeBSD syncache_socket() copies
    /// TF_NODELAY and TF_NOPUSH).
    pub nodelay: bool,
    /// TCP_CORK (BSD TCP_NOPUSH): a short last segment waits.
    pub cork: bool,
    /// The write being pushed has MSG_MORE: it corks this push only (Linux
    /// tcp_push() with TCP_NAGLE_CORK); set and cleared around it.
    pub more: bool,
    /// SO_LINGER: None when off, else l_linger as the personality stored it
    /// (`linger_storage`): XNU's `short` can hold a negative value, which
    /// neither waits nor resets.
    pub linger: Option<i32>,
    /// SO_RCVTIMEO: how long a blocking read waits (None: forever).
    pub rcvtimeo: Option<Duration>,
    /// SO_SNDTIMEO: how long a blocking write waits (None: forever).
    pub sndtimeo: Option<Duration>,
    pub shut_rd: bool,
    pub shut_wr: bool,
    /// Pending error, reported once (SO_ERROR).
    pub so_error: Option<Errno>,
    /// How the connection was cut off, if it was: written once, by `finish`.
    pub ending: Option<Ending>,
    /// Ever reached ESTABLISHED (for errors on never-connected sockets).
    pub connected: bool,
    /// A write() already got ECONNRESET (for `reset-then-eshutdown`).
    pub write_error_reported: bool,
    /// An RST went either way on this connection (for `rst_after_reset`).
    pub reset: bool,
    /// The receive buffer (set it with `set_rcv_buf`, which derives the two below).
    pub rcv_buf: u32,
    /// The most the window may ever be (Linux window_clamp).
    pub rcv_clamp: u32,
    /// How much received data the buffer holds before the window closes.
    pub rcv_space: u32,
    pub snd_buf: u32,
    /// SO_SNDBUF was set: the buffer no longer autotunes (Linux SOCK_SNDBUF_LOCK).
    pub snd_buf_locked: bool,
    /// A write found no room since the socket was last writable (Linux
    /// SOCK_NOSPACE): what lets the buffer grow (`tcp_check_space_nospace`).
    pub snd_nospace: bool,
    /// SO_RCVBUF was set (Linux SOCK_RCVBUF_LOCK): the window-scale shift
    /// follows the buffer, not `tcp_rmem_max_bytes`.
    pub rcv_buf_locked: bool,
    /// What getsockopt(SO_SNDBUF) reads: `snd_buf`, times
    /// `sndbuf_setsockopt_factor` once set by setsockopt.
    pub snd_buf_opt: u32,
    /// How the window follows from `rcv_buf`.
    pub wnd: WndRule,
    /// Our MSS (from the path MTU).
    pub mss_local: u32,
    pub listener: Option<Box<Listener>>,
    /// The listener that made this child, until accept().
    pub parent: Option<SockId>,
    pub tcb: Tcb,
}

impl Socket {
    pub fn new(local: Addr, rcv_buf: u32, snd_buf: u32, wnd: WndRule, mss_local: u32) -> Socket {
        let mut s = Socket {
            state: State::Closed,
            local,
            remote: Addr { host: 0, port: 0 },
            bound: false,
            refs: 0,
            closed: false,
            closed_by: None,
            close_deferred: false,
            nonblocking: false,
            keepalive: false,
            reuse_addr: false,
            nodelay: false,
            cork: false,
            more: false,
            linger: None,
            rcvtimeo: None,
            sndtimeo: None,
            shut_rd: false,
            shut_wr: false,
            so_error: None,
            ending: None,
            connected: false,
            write_error_reported: false,
            reset: false,
            rcv_buf: 0,
            rcv_clamp: 0,
            rcv_space: 0,
            snd_buf,
            snd_buf_opt: snd_buf,
            snd_buf_locked: false,
            snd_nospace: false,
            rcv_buf_locked: false,
            wnd,
            mss_local,
            listener: None,
            parent: None,
            tcb: Tcb::default(),
        };
        s.set_rcv_buf(rcv_buf);
        s
    }

    /// Sets the receive buffer and the window limits that follow from it
    /// (`rcv_wnd_initial_pct`, `rcv_wnd_pct`).
    pub fn set_rcv_buf(&mut self, bytes: u32) {
        let share = |pct: u32| (bytes as u64 * pct as u64 / 100).min(u32::MAX as u64) as u32;
        self.rcv_buf = bytes;
        self.rcv_clamp = share(self.wnd.initial_pct);
        self.rcv_space = self.wnd.data_share(bytes);
    }

    /// With `buf_mss_roundup`, rounds both buffers up to a multiple of the
    /// MSS without options, once it is known (BSD tcp_mss: a buffer only
    /// grows; a send buffer below one MSS is left alone).
    pub fn round_bufs_to_mss(&mut self, p: &Knobs) {
        if !p.buf_mss_roundup.value {
            return;
        }
        let ts = if self.tcb.ts_ok { TSOPT_LEN } else { 0 };
        let mss = (self.tcb.mss + ts).max(1);
        let up = |b: u32| {
            if b > mss {
                b.div_ceil(mss).saturating_mul(mss)
            } else {
                b
            }
        };
        self.snd_buf = up(self.snd_buf);
        self.snd_buf_opt = up(self.snd_buf_opt);
        self.set_rcv_buf(up(self.rcv_buf));
    }

    #[inline]
    pub fn conn(&self) -> Conn {
        Conn {
            local: self.local,
            remote: self.remote,
        }
    }

    /// Sets up the TCB for a new connection with our initial sequence number.
    pub fn init_tcb(&mut self, iss: Seq, p: &Knobs, rto: Duration) {
        let t = &mut self.tcb;
        *t = Tcb::default();
        t.iss = iss;
        t.snd_una = Offset::SYN;
        t.snd_nxt = Offset::SYN;
        t.snd_max = Offset::SYN;
        t.mss = self.mss_local;
        t.cwnd = p.initial_cwnd_segs.value.max(1) * self.mss_local;
        t.ssthresh = u32::MAX;
        t.rto = rto;
    }

    /// The offset after the last byte written: where the FIN goes.
    #[inline]
    pub fn write_seq(&self) -> Offset {
        Offset::FIRST_DATA + self.tcb.written
    }

    /// SND.UNA ≤ SND.NXT ≤ SND.MAX: only what was sent is acknowledged, and
    /// retransmission (which moves SND.NXT back) never runs ahead of the highest sent.
    #[inline]
    pub fn assert_send_sequence(&self) {
        let t = &self.tcb;
        assert!(
            t.snd_una <= t.snd_nxt,
            "SND.UNA {} is past SND.NXT {}",
            t.snd_una,
            t.snd_nxt
        );
        assert!(
            t.snd_nxt <= t.snd_max,
            "SND.NXT {} is past SND.MAX {}",
            t.snd_nxt,
            t.snd_max
        );
    }

    /// Octets written but not yet acknowledged (the send buffer's content).
    #[inline]
    pub fn snd_queued(&self) -> u64 {
        let una = self.tcb.snd_una.max(Offset::FIRST_DATA);
        self.write_seq().0.saturating_sub(una.0)
    }

    /// Octets written but never sent.
    #[inline]
    pub fn snd_unsent(&self) -> u64 {
        let nxt = self.tcb.snd_nxt.max(Offset::FIRST_DATA);
        self.write_seq().0.saturating_sub(nxt.0)
    }

    /// Free space in the send buffer.
    #[inline]
    pub fn snd_space(&self) -> u64 {
        (self.snd_buf as u64).saturating_sub(self.snd_queued())
    }

    /// Whether the send buffer counts as writable: its free space at least
    /// half of what it holds (Linux `__sk_stream_is_writeable`,
    /// sk_stream_wspace ≥ sk_stream_min_wspace): poll()'s POLLOUT, and with
    /// `write_wake_min_wspace` the wake-up of a writer asleep on it.
    #[inline]
    pub fn stream_writeable(&self) -> bool {
        self.snd_space() >= self.snd_queued() / 2
    }

    /// What a write may queue now: the free space, or with
    /// `snd_buf_whole_segments` that rounded up to whole segments (Linux
    /// tests the room only before it starts a new skb, then fills it).
    pub fn snd_room(&self, whole_segments: bool) -> u64 {
        let space = self.snd_space();
        if !whole_segments || space == 0 {
            return space;
        }
        let mss = self.tcb.mss.max(1) as u64;
        space.div_ceil(mss) * mss
    }

    /// Sets the send MSS from the peer's option (536 without one, RFC 9293
    /// §3.7.1), less the timestamps option when both ends use it.
    pub fn set_send_mss(&mut self, peer_mss: u16) {
        let peer = if peer_mss == 0 { 536 } else { peer_mss as u32 };
        let ts = if self.tcb.ts_ok { TSOPT_LEN } else { 0 };
        // Saturating: a peer (or an injected SYN) may offer an MSS below the option's 12 octets.
        self.tcb.mss = self.mss_local.min(peer).saturating_sub(ts).max(1);
    }

    /// Octets waiting in the out-of-order queue.
    pub fn ooo_bytes(&self) -> u64 {
        self.tcb.ooo.iter().map(|&(start, end)| end - start).sum()
    }

    /// Our FIN has been sent and acknowledged.
    #[inline]
    pub fn fin_acked(&self) -> bool {
        self.tcb.fin_queued && self.tcb.snd_una > self.write_seq()
    }

    /// The application can no longer receive (close or shutdown RD).
    #[inline]
    pub fn cant_rcv_more(&self) -> bool {
        self.closed || self.shut_rd
    }

    /// The peer's RST ended the connection.
    #[inline]
    pub fn rst_received(&self) -> bool {
        self.ending == Some(Ending::RstReceived)
    }

    /// The connection was cut off (an RST either way, or a timer that gave up).
    #[inline]
    pub fn was_reset(&self) -> bool {
        self.ending.is_some()
    }

    /// The one place a connection is cut off: records how, once, and enters
    /// CLOSED by `rule`. A second ending would mean two parts of the model
    /// each think they ended it, and the later one's errors would be wrong.
    pub fn finish(&mut self, ctx: &mut Ctx, ending: Ending, rule: Rule) {
        assert!(
            self.ending.is_none(),
            "{ending:?} ({rule}) of a connection already cut off: {:?}",
            self.ending
        );
        self.ending = Some(ending);
        self.set_state(ctx, State::Closed, rule);
    }

    /// A connection attempt that failed: its pending error (or `fallback` if a
    /// read or write already took it), and the socket forgets the attempt.
    pub fn fail_connect(&mut self, fallback: Errno) -> Errno {
        let err = self.so_error.take().unwrap_or(fallback);
        self.disconnect();
        err
    }

    /// Forgets a connection attempt that failed, leaving the socket as a fresh
    /// unconnected one (bound, options kept): Linux `tcp_disconnect`.
    fn disconnect(&mut self) {
        assert_eq!(self.state, State::Closed, "disconnect() of a live socket");
        assert!(!self.connected, "disconnect() of a socket that connected");
        self.so_error = None;
        self.ending = None;
        self.shut_rd = false;
        self.shut_wr = false;
        self.write_error_reported = false;
        self.tcb = Tcb::default();
    }

    /// Builds a segment from this connection at `seq` in our stream, with our
    /// current ACK and window: the one place wire numbers are made.
    pub fn segment(&self, flags: Flags, seq: Offset, len: u32) -> Segment {
        let ack = flags.ack();
        let t = &self.tcb;
        Segment {
            src: self.local,
            dst: self.remote,
            seq: t.snd_seq(seq),
            ack: if ack { t.rcv_seq(t.rcv_nxt) } else { Seq(0) },
            flags,
            wnd: if ack || flags.syn() {
                self.rcv_wnd()
            } else {
                0
            },
            len,
            mss: if flags.syn() {
                self.mss_local.min(65535) as u16
            } else {
                0
            },
            opts: SynOpts(
                if flags.syn() && self.tcb.ts_ok {
                    SynOpts::TS.0
                } else {
                    0
                } | if flags.syn() && self.tcb.ws_ok {
                    SynOpts::WS.0
                } else {
                    0
                },
            ),
        }
    }

    /// Sends a segment, noting that it carries our latest ACK.
    #[inline]
    pub fn transmit(&mut self, ctx: &mut Ctx, seg: Segment) {
        if seg.flags.ack() {
            if self.state.synchronized() {
                self.assert_rcv_wnd(&seg);
            }
            let t = &mut self.tcb;
            // `segment` made the ACK from RCV.NXT.
            if t.rcv_nxt > t.last_ack_sent {
                // Linux tcp_dec_quickack_mode: one quick ACK used.
                t.quick_acks = t.quick_acks.saturating_sub(1);
            }
            self.end_quick_acks_when_half_full();
            let t = &mut self.tcb;
            t.last_ack_sent = t.rcv_nxt;
            t.rcv_wnd_sent = seg.wnd;
            t.delack_at = None;
            t.ack_now = false;
        } else if seg.flags.syn() {
            self.tcb.rcv_wnd_sent = seg.wnd;
        }
        ctx.out.send(seg);
    }

    /// The one function that changes state: checks the table, traces the edge,
    /// and does what entering the new state implies.
    pub fn set_state(&mut self, ctx: &mut Ctx, to: State, rule: Rule) {
        let from = self.state;
        assert!(
            allowed(from, to),
            "illegal transition {from} -> {to} ({rule})"
        );
        self.assert_entry(to);
        self.state = to;
        ctx.out.events.push(Event::State {
            conn: self.conn(),
            from,
            to,
            rule,
        });
        match to {
            State::Established => {
                self.connected = true;
                if matches!(self.tcb.close_timer, Some((_, CloseTimer::Connect))) {
                    self.tcb.close_timer = None;
                }
                self.touch_keepalive(ctx);
            }
            State::TimeWait => {
                // The ACK of the peer's FIN may still be owed: keep `ack_now`.
                self.tcb.send_timer = SendTimer::Idle;
                self.tcb.delack_at = None;
                let at = ctx.now + ctx.p.time_wait_s.value.duration();
                self.tcb.close_timer = Some((at, CloseTimer::TimeWait));
            }
            State::Closed => {
                self.stop_timers();
                self.tcb.close_timer = None;
            }
            State::Listen
            | State::SynSent
            | State::SynReceived
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait
            | State::Closing
            | State::LastAck => {}
        }
    }

    /// What entering `to` presumes (RFC 9293 §3.3.2's state definitions): the
    /// FINs each closing state is named after have been queued, received or
    /// acknowledged.
    fn assert_entry(&self, to: State) {
        let t = &self.tcb;
        let ok = match to {
            State::FinWait1 => t.fin_queued,
            State::FinWait2 => self.fin_acked(),
            State::CloseWait | State::Closing => t.fin_rcvd,
            State::LastAck => t.fin_rcvd && t.fin_queued,
            State::TimeWait => t.fin_rcvd && self.fin_acked(),
            State::Closed
            | State::Listen
            | State::SynSent
            | State::SynReceived
            | State::Established => true,
        };
        assert!(
            ok,
            "{} entered without its FINs: queued {} received {} acked {}",
            to,
            t.fin_queued,
            t.fin_rcvd,
            self.fin_acked()
        );
    }

    /// Stops the retransmission, persist and delayed-ACK timers.
    pub fn stop_timers(&mut self) {
        self.tcb.send_timer = SendTimer::Idle;
        self.tcb.delack_at = None;
        self.tcb.ack_now = false;
        // A closed connection is not probed: an abort (SO_LINGER {1, 0}, a
        // peer's RST) must not leave SO_KEEPALIVE's timer set on a freed socket.
        self.tcb.keepalive_at = None;
        self.tcb.keepalive_probes = 0;
    }

    /// Records a discard of `bytes` from `buffer`, if there were any.
    pub fn discard(&self, ctx: &mut Ctx, buffer: Buffer, bytes: u64, cause: DiscardCause) {
        if bytes > 0 {
            ctx.out.events.push(Event::Discard {
                conn: self.conn(),
                buffer,
                bytes,
                cause,
            });
        }
    }

    /// Throws away the send queue (an abort or an RST received).
    pub fn purge_send_queue(&mut self, ctx: &mut Ctx, cause: DiscardCause) {
        let queued = self.snd_queued();
        self.discard(ctx, Buffer::Send, queued, cause);
        // Pretend everything written was acknowledged so the queue is empty.
        let end = self.write_seq() + self.tcb.fin_queued as u64;
        self.tcb.snd_una = end;
        self.tcb.snd_nxt = end;
        self.tcb.snd_max = end;
        assert_eq!(self.snd_queued(), 0);
    }

    /// Throws away unread received data (and the out-of-order queue).
    pub fn purge_receive_queue(&mut self, ctx: &mut Ctx, cause: DiscardCause) {
        self.discard(ctx, Buffer::Receive, self.tcb.unread, cause);
        self.tcb.unread = 0;
        self.tcb.ooo.clear();
        self.tcb.ooo_fin = None;
    }
}
