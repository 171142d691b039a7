//! Stack personalities: how one TCP stack behaves at teardown, as data.
//!
//! A personality is a name, the release it models, and a table of knobs. Each
//! knob holds a value and the source it comes from (kernel file and function,
//! vendor document, or observation on a real kernel, with a confidence tag as in
//! `docs/sources.md#reading`). The model reads knobs; it never asks "is this
//! Linux?".

mod freebsd;
mod knob;
mod linux;
mod macos;
mod windows;
mod winsock_xp;

pub use knob::*;

use std::borrow::Cow;

/// Declares every knob once: field, type, aliases (the real sysctl or registry
/// names, accepted by `--set` and personality files) and documentation.
macro_rules! knobs {
    ($( $(#[doc = $doc:literal])+ $name:ident : $ty:ty $([$($alias:literal),*])? ),+ $(,)?) => {
        /// Every behaviour and number a personality fixes.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct Knobs { $( $(#[doc = $doc])+ pub $name: Knob<$ty>, )+ }

        /// Static facts about one knob.
        #[derive(Clone, Copy, Debug)]
        pub struct KnobInfo {
            pub name: &'static str,
            pub aliases: &'static [&'static str],
            pub doc: &'static str,
            /// Valid values, for help and error messages.
            pub expected: fn() -> String,
            /// The variants and their meanings, for enum knobs.
            pub variants: fn() -> &'static [(&'static str, &'static str)],
        }

        impl Knobs {
            /// All knobs, in declaration order.
            pub const INFO: &'static [KnobInfo] = &[$(
                KnobInfo {
                    name: stringify!($name),
                    aliases: &[$($($alias),*)?],
                    doc: concat!($($doc),+),
                    expected: <$ty as KnobValue>::expected,
                    variants: <$ty as KnobValue>::variants,
                },
            )+];

            /// The value (as text) and source of a knob, by canonical name.
            pub fn get(&self, name: &str) -> Option<(String, &str)> {
                match name {
                    $( stringify!($name) => Some((self.$name.value.to_string(), &self.$name.source)), )+
                    _ => None,
                }
            }

            /// Overrides a knob by canonical name or alias.
            pub fn set(&mut self, name: &str, value: &str, source: Cow<'static, str>) -> Result<&'static str, KnobError> {
                let info = Self::lookup(name)?;
                match info.name {
                    $( stringify!($name) => {
                        let v = <$ty as KnobValue>::parse_knob(value.trim()).ok_or_else(|| KnobError::BadValue {
                            name: info.name,
                            value: value.to_string(),
                            expected: (info.expected)(),
                        })?;
                        self.$name = Knob { value: v, source };
                    } )+
                    _ => unreachable!("lookup returned a name the table does not have"),
                }
                Ok(info.name)
            }
        }
    };
}

knobs! {
    /// Initial retransmission timeout, before any RTT sample (RFC 6298 §2.1).
    rto_initial_ms: Millis ["tcp_initial_rto", "TcpInitialRTT"],
    /// Lower bound of the retransmission timeout.
    rto_min_ms: Millis ["tcp_rto_min", "net.inet.tcp.rexmit_min", "MinRtoMs"],
    /// Upper bound of the retransmission timeout (and of its backoff).
    rto_max_ms: Millis ["tcp_rto_max"],
    /// Floor of the variance term in RTO = SRTT + max(4·RTTVAR, floor) + slop.
    rto_rttvar_floor_ms: Millis,
    /// Constant added to every computed RTO (BSD's `rexmit_slop`).
    rto_slop_ms: Millis ["net.inet.tcp.rexmit_slop"],
    /// Tail loss probe (RFC 8985 §7): while the connection is not recovering from a loss, 2·SRTT after the last new segment or the last ACK of new data (plus the minimum RTO with one segment's worth out, else 2 ms; 1 s before an RTT sample; never later than the RTO) one segment goes out in the RTO's place: new data if a segment of it (up to an MSS) fits the peer's window whole, else the last segment sent again; then the RTO runs from there. One probe per tail until the peer acknowledges past it.
    tail_loss_probe: bool,
    /// Delayed-ACK timeout.
    delack_ms: Millis ["net.inet.tcp.delacktime", "DelayedAckTimeout"],
    /// Quick-ACK mode: at most this many of the first data segments (and again after an idle spell longer than the RTO, or a duplicate) are ACKed at once instead of delayed; also capped by window/(2·MSS), at least 2. 0 = always the delayed-ACK rules.
    quickack_segs: u32 ["TCP_MAX_QUICKACKS", "TCP_FORCED_ACKS_COUNT"],
    /// Interactive (ping-pong) mode: once we send data within the delayed-ACK time of receiving some, or the peer's FIN takes us to CLOSE-WAIT, ACKs are delayed (no quick ACKs, the FIN's ACK too) until a delayed ACK fires.
    ack_pingpong: bool,
    /// A pure ACK sent while our FIN is out and unacknowledged carries the FIN again, at its sequence number (BSD tcp_output: the state's flags include FIN, and with TF_SENTFIN set and SND.NXT = SND.MAX it backs SND.NXT up to resend it); challenge ACKs are built apart and never do.
    ack_resends_fin: bool,
    /// A segment wholly left of the window (a duplicate) still has its ACK processed before the ACK it is owed goes out, instead of being dropped whole (RFC 9293 §3.10.7.4).
    old_segment_acks: bool,
    /// A duplicate of data (or of a FIN) wholly below RCV.NXT but not before the last ACK sent re-enters quick-ACK mode and leaves interactive mode, and its ACK is then decided as new data's is (the window test may end quick-ACK mode and delay it), instead of going out at once as an unacceptable segment's does.
    old_data_ack_snd_check: bool,
    /// SYN retransmissions before connect() fails ETIMEDOUT, besides the `syn_linear_timeouts` ones; it also fails at the first SYN timeout after the time this many doubling retransmissions from `rto_initial_ms` take (Linux tcp_write_timeout / retransmits_timed_out; the same bound for stacks that only double).
    syn_retries: u32 ["tcp_syn_retries", "TcpMaxConnectRetransmissions"],
    /// The first N SYN retransmission timeouts do not double the RTO (N + 1 intervals of `rto_initial_ms`), then it doubles.
    syn_linear_timeouts: u32 ["tcp_syn_linear_timeouts"],
    /// connect() fails ETIMEDOUT after this many seconds without the connection established, whatever the retransmissions (BSD tcp_keepinit); 0 = no such timer.
    connect_timeout_s: Secs ["net.inet.tcp.keepinit"],
    /// SYN-ACK retransmissions before a half-open child is dropped.
    synack_retries: u32 ["tcp_synack_retries"],
    /// Data retransmissions before the connection is aborted with ETIMEDOUT.
    data_retries: u32 ["tcp_retries2", "TcpMaxDataRetransmissions"],
    /// Retransmissions (and zero-window probes) before an orphaned connection is dropped.
    orphan_retries: u32 ["tcp_orphan_retries"],
    /// When zero-window probing gives up.
    persist_timer: PersistTimer,
    /// Whether reaching the retransmission limit sends an RST.
    rst_on_retransmit_limit: bool,
    /// An RST we send from a connection (an abort) advertises a window of 0 instead of our receive window.
    rst_window_zero: bool,
    /// Aborting in CLOSING or LAST-ACK (a SYN in the window, linger 0…) always sends an RST, not only when data is still unsent.
    abort_rst_after_fin: bool,
    /// FIN-WAIT-2 timeout in seconds.
    fin_wait_2_timeout_s: Secs ["tcp_fin_timeout", "net.inet.tcp.finwait2_timeout", "TcpFinWait2Delay"],
    /// When the FIN-WAIT-2 timer is armed.
    fin_wait_2_timer: FinWait2Timer,
    /// What the FIN-WAIT-2 timer does when it expires.
    fin_wait_2_expiry: FinWait2Expiry,
    /// TIME-WAIT length (2·MSL) in seconds.
    time_wait_s: Secs ["TcpTimedWaitDelay"],
    /// Receive buffer size in octets (the window is a share of it: `rcv_wnd_initial_pct`, `rcv_wnd_pct`).
    rcv_buf_bytes: u32 ["tcp_rmem"],
    /// setsockopt(SO_RCVBUF, n) gives a receive buffer of n times this.
    rcvbuf_setsockopt_factor: u32,
    /// Share (%) of the receive buffer offered as the first window (SYN, SYN-ACK) and never exceeded later (the window clamp); with `mss-multiple` rounded down to the MSS we announce.
    rcv_wnd_initial_pct: u32 ["tcp_adv_win_scale"],
    /// Share (%) of the receive buffer that received data may fill before the window closes: payload over the memory it takes.
    rcv_wnd_pct: u32,
    /// How later windows are derived from the free space.
    rcv_wnd_rounding: RcvWndRounding,
    /// When a read sends a window update at once instead of leaving it to the next segment.
    rcv_wnd_update: RcvWndUpdate,
    /// RFC 7323 window scaling: offered on our SYN; when both ends offer it, later windows are multiples of 2^shift (the shift from `tcp_rmem_max_bytes`) and `mss-multiple` windows are rounded to that instead of to the MSS.
    tcp_window_scaling: bool ["tcp_window_scaling"],
    /// The largest receive buffer autotuning may reach (Linux tcp_rmem[2], or net.core.rmem_max if larger): it decides the window-scale shift a socket without SO_RCVBUF offers, ilog2(bytes) − 15 (0 to 14).
    tcp_rmem_max_bytes: u32,
    /// The window grows from the first one by twice each data segment's length (Linux rcv_ssthresh, tcp_grow_window) up to the free space, and the clamp reserves one segment at establishment and becomes `rcv_wnd_pct` of the buffer once a segment is measured; off: the window is the free space within the clamp at once.
    rcv_ssthresh_growth: bool,
    /// Receive-buffer autotuning without SO_RCVBUF: once per receive RTT (the time one window takes to arrive), a read that finds more copied in it than at the last growth grows the buffer and the window clamp to twice that plus twice its growth, at most `tcp_rmem_max_bytes` (Linux tcp_rcv_space_adjust, tcp_rcvbuf_grow); off: the buffer stays.
    tcp_moderate_rcvbuf: bool ["tcp_moderate_rcvbuf"],
    /// On a loopback path, the share of the receive buffer data may fill, in 1/256 (Linux scaling_ratio = skb->len / skb->truesize, measured by tcp_measure_rcv_mss, differs by driver); 0: `rcv_wnd_pct` on every path.
    scaling_ratio_loopback: u32,
    /// New in-order data beyond one segment is ACKed at once only if the window it would offer is no smaller than the last one offered (else the ACK waits for the delayed-ACK timer or a read); off: at once whenever two full segments are unacknowledged.
    ack_needs_window_advance: bool,
    /// A segment goes out only if the send window takes a full MSS of it (or all that is queued): a window tail shorter than that waits, for the persist timer when nothing is in flight; off: it waits only while data is in flight (RFC 9293 §3.8.6.2.1).
    snd_wnd_full_segment: bool,
    /// A listener's half-open connection offers and checks a window of at most 65535 (what its SYN-ACK can state unscaled) until the handshake completes.
    syncache_wnd_clip: bool,
    /// Once the peer's MSS is known (SYN-SENT on the peer's SYN, a listener's connection when established), the send and receive buffers are rounded up to a multiple of it (the MSS without options): the window grows with the receive buffer.
    buf_mss_roundup: bool,
    /// RFC 7323 timestamps: offered on our SYN; when both ends use them every segment carries 12 more option octets, so it holds 12 fewer payload octets than the MSS.
    tcp_timestamps: bool ["net.inet.tcp.rfc1323", "Tcp1323Opts"],
    /// Send buffer size in octets; write() blocks (or fails EAGAIN) when it is full.
    snd_buf_bytes: u32 ["tcp_wmem", "SO_SNDBUF"],
    /// How the send buffer grows without SO_SNDBUF.
    snd_buf_tuning: SndBufTuning ["tcp_moderate_sndbuf"],
    /// The most send-buffer autotuning (`snd_buf_tuning`) grows the buffer to.
    snd_buf_max_bytes: u32 ["tcp_wmem_max"],
    /// With `snd_buf_tuning = cwnd`: the buffer grows after an ACK only if a write found no room since the socket was last writable (SOCK_NOSPACE) and the flight, after what the ACK lets out, is below cwnd; off: whenever the flight before the ACK filled cwnd.
    tcp_check_space_nospace: bool,
    /// write() checks the send buffer for room before each new segment and then fills that segment to the MSS, so it may queue up to one MSS beyond the buffer; off: the buffer is a limit in octets.
    snd_buf_whole_segments: bool,
    /// A writer asleep on a full send buffer is woken only once the free space is at least half of what is queued (a third of the buffer free, when poll() reports POLLOUT); off: at any free space.
    write_wake_min_wspace: bool,
    /// setsockopt(SO_SNDBUF, n): getsockopt(SO_SNDBUF) reads back n times this (at least `setsockopt_buf_min_bytes` × 2); what write() may queue is that over this factor.
    sndbuf_setsockopt_factor: u32,
    /// The least buffer setsockopt gives, whatever was asked: SO_RCVBUF at least this many octets, SO_SNDBUF at least twice it (0: no floor).
    setsockopt_buf_min_bytes: u32,
    /// On a loopback path (`HostConfig::loopback`) one segment may carry several MSS, up to the GSO size goal (the congestion window's quota, 64 KiB, half the peer's largest window), as a sender's GSO skbs cross a loopback interface unsplit; off: at most one MSS per segment on every path.
    gso: bool,
    /// On a loopback path (`HostConfig::loopback`) a segment sent within a system call reaches the peer at once, and what it draws from the peer comes back and is taken in, before the call returns (the peer's ACKs wait in the caller's socket backlog until the call releases it); off: every segment takes the path's delay.
    loopback_delivers_in_call: bool,
    /// Slow start grows the congestion window by every octet an ACK covers (the segments it acknowledges), not by at most one MSS per ACK.
    slow_start_counts_acked: bool,
    /// Initial congestion window in segments (RFC 6928).
    initial_cwnd_segs: u32 ["initcwnd"],
    /// Nagle's algorithm by default (a socket turns it off with TCP_NODELAY): when a short last segment waits for the ACK of earlier data.
    nagle: NagleRule ["TCP_NODELAY"],
    /// PSH also on the last segment of a burst that the send or congestion window stops (more is queued), not only on the segment that empties the send buffer.
    psh_ends_burst: bool,
    /// A cork option exists (Linux TCP_CORK, BSD TCP_NOPUSH: `cork`); without it setsockopt fails ENOPROTOOPT.
    cork_option: bool ["TCP_CORK", "TCP_NOPUSH"],
    /// close() of the last descriptor with received data unread.
    close_unread: CloseUnread,
    /// Whether out-of-order data waiting for reassembly counts as unread at close().
    close_unread_counts_ooo: bool,
    /// New data arriving after close() (an orphan in FIN-WAIT-1/2).
    data_after_close: DataAfterClose,
    /// shutdown(SHUT_RD) with received data unread.
    shut_rd_unread: ShutRdUnread,
    /// New data arriving after shutdown(SHUT_RD) on a socket still open.
    data_after_shut_rd: DataAfterShutRd,
    /// read() after shutdown(SHUT_RD) once nothing is left.
    read_after_shut_rd: ReadAfterShutRd,
    /// Unit of SO_LINGER's l_linger.
    linger_unit: LingerUnit,
    /// How `l_linger` is stored: what a large value does.
    linger_storage: LingerStorage,
    /// A blocking close() whose linger time runs out.
    linger_expiry: LingerExpiry,
    /// close() with linger {1, N} on a non-blocking socket.
    nonblocking_linger_close: NonblockingLinger,
    /// Process exit with descriptors still open.
    process_exit: ExitMode,
    /// Whether process exit skips the SO_LINGER wait.
    exit_skips_linger: bool,
    /// Whether process exit also resets connections the process already closed that still have unsent data.
    exit_drops_closed_pending: bool,
    /// Whether a received RST discards data still unread in the receive buffer.
    rst_discards_unread: bool,
    /// Whether an acceptable RST in CLOSING or LAST-ACK leaves ECONNRESET as the pending error (SO_ERROR); otherwise the connection just closes (RFC 9293 §3.10.7.4).
    rst_error_after_fin: bool,
    /// What write() returns after an RST was received.
    write_after_rst: WriteAfterRst,
    /// What read() returns after an RST was received, once buffered data is read.
    read_after_rst: ReadAfterRst,
    /// A SYN arriving at a listener whose accept queue is full.
    listen_overflow: ListenOverflow,
    /// How many established connections the accept queue holds for listen(backlog).
    accept_queue_limit: AcceptQueueLimit,
    /// A SYN-ACK arriving at a listener is answered with RST (RFC 9293 §3.10.7.2: any ACK); otherwise it is dropped.
    listener_rsts_synack: bool,
    /// Every segment with both SYN and FIN is dropped on arrival, whatever the state (instead of being taken as a SYN).
    drop_synfin: bool ["net.inet.tcp.drop_synfin"],
    /// Whether data on a SYN received in SYN-SENT (simultaneous open) is kept, unacknowledged, and delivered once ESTABLISHED (RFC 9293 §3.10.7.3); otherwise it is dropped for the peer to resend.
    syn_sent_keeps_syn_data: bool,
    /// An acceptable RST in TIME-WAIT.
    rst_in_time_wait: RstInTimeWait,
    /// Whether a reset connection's 4-tuple answers later segments with RST.
    rst_after_reset: RstAfterReset,
    /// A SYN for a connection in TIME-WAIT.
    syn_in_time_wait: SynInTimeWait,
    /// TIME-WAIT drops a segment without ACK (a FIN, data, a SYN that does not reopen) instead of answering it with an ACK.
    time_wait_needs_ack: bool,
    /// bind() over TIME-WAIT and connected sockets on the port, with SO_REUSEADDR.
    reuseaddr_bind: ReuseAddrBind,
    /// An RST answering our SYN.
    rst_to_syn: RstToSyn,
    /// SYN retries after an RST when `rst_to_syn` is `retry-syn`.
    refused_syn_retries: u32,
    /// With `rst_to_syn = retry-syn`, the wait between the RST and the next SYN (no backoff).
    refused_syn_retry_ms: Millis,
    /// RFC 5961 §3.2: an in-window RST not exactly at the reset point (`rst_seq_match`) gets a challenge ACK.
    challenge_ack: bool,
    /// RFC 5961 §4.2: a SYN in a synchronized state gets a challenge ACK; otherwise one in the window resets the connection (and is answered with RST).
    syn_challenge_ack: bool,
    /// The sequence number that makes an RST reset a synchronized connection (any other in the window draws a challenge ACK, or resets too without `challenge_ack`).
    rst_seq_match: RstSeqMatch,
    /// Idle time before the first keepalive probe, for sockets with SO_KEEPALIVE (off by default).
    keepalive_idle_s: Secs ["tcp_keepalive_time", "net.inet.tcp.keepidle", "KeepAliveTime"],
    /// Time between unanswered keepalive probes.
    keepalive_intvl_s: Secs ["tcp_keepalive_intvl", "net.inet.tcp.keepintvl", "KeepAliveInterval"],
    /// Unanswered keepalive probes before the connection is dropped (ETIMEDOUT).
    keepalive_probes: u32 ["tcp_keepalive_probes", "net.inet.tcp.keepcnt"],
    /// Whether dropping a connection after unanswered keepalives sends an RST.
    keepalive_rst: bool,
    /// What sets each poll() revents bit.
    poll_style: PollStyle,
    /// What puts a socket in each of select()'s sets.
    select_style: SelectStyle,
    /// Which getsockopt()/ioctl() queries exist (TCP_LINGER2, SIOCOUTQ…) and what they count.
    query_style: QueryStyle,
    /// What a blocking call fails with when its SO_RCVTIMEO/SO_SNDTIMEO runs out.
    timeo_error: TimeoError,
    /// Whether SO_RCVTIMEO also bounds a blocking accept() (which then fails EAGAIN).
    accept_timeo: bool,
    /// What a call blocked on a socket returns when another thread closes the socket's last descriptor.
    close_while_blocked: CloseWhileBlocked,
    /// How call errors are named in reports (the model itself uses POSIX values).
    error_names: ErrorNames,
}

impl Knobs {
    /// Finds a knob by canonical name or alias.
    pub fn lookup(name: &str) -> Result<&'static KnobInfo, KnobError> {
        let name = name.trim();
        Self::INFO
            .iter()
            .find(|i| i.name == name || i.aliases.contains(&name))
            .ok_or_else(|| KnobError::UnknownKnob {
                name: name.to_string(),
                suggestion: closest(
                    name,
                    Self::INFO
                        .iter()
                        .flat_map(|i| std::iter::once(i.name).chain(i.aliases.iter().copied())),
                ),
            })
    }
}

/// A TCP stack's teardown behaviour: a name, the release it models, and its knobs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Personality {
    /// Short name used on the command line and in scenario files (`linux`).
    pub name: Cow<'static, str>,
    /// The release modelled, e.g. "Linux 6.18".
    pub release: Cow<'static, str>,
    pub knobs: Knobs,
}

impl Personality {
    /// The built-in personality with this name.
    pub fn builtin(name: &str) -> Option<Personality> {
        match name {
            "linux" => Some(linux::linux()),
            "freebsd" => Some(freebsd::freebsd()),
            "macos" => Some(macos::macos()),
            "windows" => Some(windows::windows()),
            "winsock-xp" => Some(winsock_xp::winsock_xp()),
            _ => None,
        }
    }

    /// Names of the built-in personalities.
    pub const BUILTIN: &'static [&'static str] =
        &["linux", "freebsd", "macos", "windows", "winsock-xp"];

    /// Applies one override, recording where it came from.
    pub fn set(
        &mut self,
        name: &str,
        value: &str,
        origin: &str,
    ) -> Result<&'static str, KnobError> {
        self.knobs
            .set(name, value, Cow::Owned(format!("override: {origin}")))
    }
}

#[cfg(test)]
mod tests;
