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
    /// write() checks the send buffer for room before each new segment and then fills that segment to the MSS, so it may queue up to one MSS beyond the buffer; off: the buffer is a limit in octets.
    snd_buf_whole_segments: bool,
    /// setsockopt(SO_SNDBUF, n): getsockopt(SO_SNDBUF) reads back n times this (at least `setsockopt_buf_min_bytes` × 2); what write() may queue is that over this factor.
    sndbuf_setsockopt_factor: u32,
    /// The least buffer setsockopt gives, whatever was asked: SO_RCVBUF at least this many octets, SO_SNDBUF at least twice it (0: no floor).
    setsockopt_buf_min_bytes: u32,
    /// On a loopback path (`HostConfig::loopback`) one segment may carry several MSS, up to the GSO size goal (the congestion window's quota, 64 KiB, half the peer's largest window), as a sender's GSO skbs cross a loopback interface unsplit; off: at most one MSS per segment on every path.
    gso: bool,
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
mod tests {
    use super::*;

    #[test]
    fn every_knob_has_a_source_and_doc() {
        let p = Personality::builtin("linux").unwrap();
        for info in Knobs::INFO {
            let (value, source) = p.knobs.get(info.name).expect(info.name);
            assert!(!value.is_empty(), "{}", info.name);
            assert!(source.len() > 10, "knob {} cites no source", info.name);
            assert!(!info.doc.is_empty());
        }
    }

    #[test]
    fn override_by_alias_and_errors_name_the_valid_values() {
        let mut p = Personality::builtin("linux").unwrap();
        assert_eq!(
            p.set("tcp_fin_timeout", "30", "test").unwrap(),
            "fin_wait_2_timeout_s"
        );
        assert_eq!(p.knobs.fin_wait_2_timeout_s.value, Secs(30));
        assert!(p.knobs.fin_wait_2_timeout_s.source.contains("override"));
        p.set("listen_overflow", "rst-syn", "test").unwrap();
        assert_eq!(p.knobs.listen_overflow.value, ListenOverflow::RstSyn);

        let err = p.set("tcp_fin_timout", "30", "test").unwrap_err();
        assert_eq!(
            err,
            KnobError::UnknownKnob {
                name: "tcp_fin_timout".into(),
                suggestion: Some("tcp_fin_timeout")
            }
        );
        let err = p.set("listen_overflow", "explode", "test").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("drop-syn"), "{text}");
        assert!(text.contains("handshake-then-rst"), "{text}");
        let err = p.set("time_wait_s", "-1", "test").unwrap_err();
        assert!(err.to_string().contains("an integer 0–4294967295"), "{err}");
        let err = p.set("time_wait_s", "4294967296", "test").unwrap_err();
        assert!(err.to_string().contains("an integer 0–4294967295"), "{err}");
    }

    /// The signature rows of the matrix (`docs/sources.md#matrix`), checked for
    /// every built-in personality: where the matrix says the stacks differ, the
    /// knobs must differ.
    mod builtin_personalities_differ_where_the_matrix_says {
        use super::*;

        /// Every built-in personality, in `Personality::BUILTIN` order.
        fn all() -> Vec<Personality> {
            Personality::BUILTIN
                .iter()
                .map(|n| Personality::builtin(n).unwrap_or_else(|| panic!("`{n}` is not built in")))
                .collect()
        }

        /// One matrix row: the knob's value for each built-in personality.
        fn row<T: PartialEq + std::fmt::Debug>(knob: impl Fn(&Knobs) -> T, cells: &[(&str, T)]) {
            let names: Vec<&str> = cells.iter().map(|c| c.0).collect();
            assert_eq!(
                names,
                Personality::BUILTIN,
                "one cell per built-in personality"
            );
            for (name, want) in cells {
                let p = Personality::builtin(name).unwrap();
                assert_eq!(&knob(&p.knobs), want, "personality `{name}`");
            }
        }

        #[test]
        fn every_builtin_resolves_under_its_own_name() {
            assert_eq!(
                Personality::BUILTIN,
                &["linux", "freebsd", "macos", "windows", "winsock-xp"]
            );
            for p in all() {
                assert!(
                    Personality::BUILTIN.contains(&p.name.as_ref()),
                    "{}",
                    p.name
                );
                assert!(!p.release.is_empty(), "{} names no release", p.name);
            }
            assert!(Personality::builtin("winsock").is_none());
        }

        #[test]
        fn every_source_is_tagged_or_says_unknown() {
            for p in all() {
                for info in Knobs::INFO {
                    let (value, source) = p.knobs.get(info.name).expect(info.name);
                    assert!(!value.is_empty(), "{}.{}", p.name, info.name);
                    assert!(!source.is_empty(), "{}.{} cites nothing", p.name, info.name);
                    assert!(
                        source.starts_with('[') || source.starts_with("unknown"),
                        "{}.{}: source must start with a confidence tag or \"unknown\": {source}",
                        p.name,
                        info.name
                    );
                }
            }
        }

        #[test]
        fn close_with_unread_data() {
            // Row 1: RST on Linux [src][obs] and macOS >= 10.14 [src], where out-of-order
            // data counts too; FreeBSD flushes silently and sends FIN [src]; both Windows
            // cells are "?" and take RFC 1122 §4.2.2.13 (SHOULD send RST).
            row(
                |k| k.close_unread.value,
                &[
                    ("linux", CloseUnread::Rst),
                    ("freebsd", CloseUnread::DiscardThenFin),
                    ("macos", CloseUnread::Rst),
                    ("windows", CloseUnread::Rst),
                    ("winsock-xp", CloseUnread::Rst),
                ],
            );
            row(
                |k| k.close_unread_counts_ooo.value,
                &[
                    ("linux", false),
                    ("freebsd", false),
                    ("macos", true),
                    ("windows", false),
                    ("winsock-xp", false),
                ],
            );
        }

        #[test]
        fn data_after_close() {
            // Row 6: RST everywhere known (Linux [src][obs], FreeBSD [src], macOS [src]);
            // XP [spec, generic rule only] and modern Windows "?" take RFC 1122 §4.2.2.13.
            row(
                |k| k.data_after_close.value,
                &[
                    ("linux", DataAfterClose::Rst),
                    ("freebsd", DataAfterClose::Rst),
                    ("macos", DataAfterClose::Rst),
                    ("windows", DataAfterClose::Rst),
                    ("winsock-xp", DataAfterClose::Rst),
                ],
            );
        }

        #[test]
        fn shutdown_rd_then_data() {
            // Row 7: Linux keeps accepting [obs]; FreeBSD flushes and ACK-discards [src];
            // macOS 12+ flushes, then resets on new data [src]; Windows resets for data
            // queued at SD_RECEIVE or arriving later, and recv fails WSAESHUTDOWN [doc].
            row(
                |k| k.shut_rd_unread.value,
                &[
                    ("linux", ShutRdUnread::Keep),
                    ("freebsd", ShutRdUnread::Discard),
                    ("macos", ShutRdUnread::Discard),
                    ("windows", ShutRdUnread::Rst),
                    ("winsock-xp", ShutRdUnread::Rst),
                ],
            );
            row(
                |k| k.data_after_shut_rd.value,
                &[
                    ("linux", DataAfterShutRd::RstInFinWait),
                    ("freebsd", DataAfterShutRd::AckDiscard),
                    ("macos", DataAfterShutRd::Rst),
                    ("windows", DataAfterShutRd::Rst),
                    ("winsock-xp", DataAfterShutRd::Rst),
                ],
            );
            row(
                |k| k.read_after_shut_rd.value,
                &[
                    ("linux", ReadAfterShutRd::Eof),
                    ("freebsd", ReadAfterShutRd::Eof),
                    ("macos", ReadAfterShutRd::Eof),
                    ("windows", ReadAfterShutRd::Eshutdown),
                    ("winsock-xp", ReadAfterShutRd::Eshutdown),
                ],
            );
        }

        #[test]
        fn linger_timeout_expiry() {
            // Row 3: on expiry Linux, FreeBSD and macOS return and close gracefully [src];
            // XP and modern Windows reset the connection [doc: closesocket].
            row(
                |k| k.linger_expiry.value,
                &[
                    ("linux", LingerExpiry::Continue),
                    ("freebsd", LingerExpiry::Continue),
                    ("macos", LingerExpiry::Continue),
                    ("windows", LingerExpiry::Rst),
                    ("winsock-xp", LingerExpiry::Rst),
                ],
            );
            // Row 5: l_linger is seconds except macOS's SO_LINGER, in 1/100 s ticks [src].
            row(
                |k| k.linger_unit.value,
                &[
                    ("linux", LingerUnit::Seconds),
                    ("freebsd", LingerUnit::Seconds),
                    ("macos", LingerUnit::Ticks),
                    ("windows", LingerUnit::Seconds),
                    ("winsock-xp", LingerUnit::Seconds),
                ],
            );
            // Row 5's edge: how wide the stored value is [src][doc: linger structure].
            row(
                |k| k.linger_storage.value,
                &[
                    ("linux", LingerStorage::Unbounded),
                    ("freebsd", LingerStorage::Edom),
                    ("macos", LingerStorage::Short),
                    ("windows", LingerStorage::UShort),
                    ("winsock-xp", LingerStorage::UShort),
                ],
            );
        }

        #[test]
        fn segments_after_a_reset() {
            // RFC 9293 §3.10.7.1 answers each with RST [src]; the learned Windows 8
            // models answer only the first after a reset [learned: tcp-learner].
            row(
                |k| k.rst_after_reset.value,
                &[
                    ("linux", RstAfterReset::Every),
                    ("freebsd", RstAfterReset::Every),
                    ("macos", RstAfterReset::Every),
                    ("windows", RstAfterReset::Silent),
                    ("winsock-xp", RstAfterReset::Every),
                ],
            );
            // Zero-window probing: Linux's backoff rule, FreeBSD's and XNU's idle rules [src].
            row(
                |k| k.persist_timer.value,
                &[
                    ("linux", PersistTimer::Backoff),
                    ("freebsd", PersistTimer::BsdOrphanLimit),
                    ("macos", PersistTimer::Bsd),
                    ("windows", PersistTimer::Backoff),
                    ("winsock-xp", PersistTimer::Backoff),
                ],
            );
        }

        #[test]
        fn nonblocking_close_with_linger() {
            // Row 4: Linux blocks anyway [src][spec]; FreeBSD and macOS return at once and
            // go on gracefully [src]; Windows fails WSAEWOULDBLOCK and stays open [doc].
            row(
                |k| k.nonblocking_linger_close.value,
                &[
                    ("linux", NonblockingLinger::Block),
                    ("freebsd", NonblockingLinger::ReturnContinue),
                    ("macos", NonblockingLinger::ReturnContinue),
                    ("windows", NonblockingLinger::WouldBlock),
                    ("winsock-xp", NonblockingLinger::WouldBlock),
                ],
            );
        }

        #[test]
        fn process_exit() {
            // Row 10: Unix stacks close each descriptor [src]; Winsock resets sockets still
            // open (WSACleanup [doc], rsync's SHUTDOWN_ALL_SOCKETS [obs-3p], modern [obs-3p])
            // and can drop data of sockets already closed gracefully [doc: WSACleanup].
            row(
                |k| k.process_exit.value,
                &[
                    ("linux", ExitMode::CloseEach),
                    ("freebsd", ExitMode::CloseEach),
                    ("macos", ExitMode::CloseEach),
                    ("windows", ExitMode::ResetOpen),
                    ("winsock-xp", ExitMode::ResetOpen),
                ],
            );
            row(
                |k| k.exit_drops_closed_pending.value,
                &[
                    ("linux", false),
                    ("freebsd", false),
                    ("macos", false),
                    ("windows", true),
                    ("winsock-xp", true),
                ],
            );
        }

        #[test]
        fn rst_received_with_unread_data() {
            // Row 11: Linux, FreeBSD and macOS deliver buffered data before ECONNRESET
            // [src]; Windows loses it (XP [doc] + [inf], modern [obs-ms][obs-3p]).
            row(
                |k| k.rst_discards_unread.value,
                &[
                    ("linux", false),
                    ("freebsd", false),
                    ("macos", false),
                    ("windows", true),
                    ("winsock-xp", true),
                ],
            );
            // Row 12: the first write after the RST.
            row(
                |k| k.write_after_rst.value,
                &[
                    ("linux", WriteAfterRst::ErrorThenEpipe),
                    ("freebsd", WriteAfterRst::Epipe),
                    ("macos", WriteAfterRst::Epipe),
                    ("windows", WriteAfterRst::Reset),
                    ("winsock-xp", WriteAfterRst::ResetThenShutdown),
                ],
            );
        }

        #[test]
        fn full_listen_queue() {
            // Row 17, three modes: silent SYN drop (Linux, macOS [src]); RST to the SYN
            // (XP [doc: listen, KB 113576]); handshake then RST (FreeBSD [src], modern
            // Windows with SYN-attack protection [ms-blog]).
            row(
                |k| k.listen_overflow.value,
                &[
                    ("linux", ListenOverflow::DropSyn),
                    ("freebsd", ListenOverflow::HandshakeThenRst),
                    ("macos", ListenOverflow::DropSyn),
                    ("windows", ListenOverflow::HandshakeThenRst),
                    ("winsock-xp", ListenOverflow::RstSyn),
                ],
            );
            // How many fit: Linux sk_acceptq_is_full() (backlog + 1), FreeBSD sonewconn()
            // (refused once more than 3/2 × backlog), XNU sonewconn() (at 3/2 × backlog)
            // [src]; Windows: the backlog [doc: listen].
            row(
                |k| k.accept_queue_limit.value,
                &[
                    ("linux", AcceptQueueLimit::BacklogPlusOne),
                    ("freebsd", AcceptQueueLimit::ThreeHalvesBacklogPlusOne),
                    ("macos", AcceptQueueLimit::ThreeHalvesBacklog),
                    ("windows", AcceptQueueLimit::Backlog),
                    ("winsock-xp", AcceptQueueLimit::Backlog),
                ],
            );
        }

        #[test]
        fn time_wait_length() {
            // Row 14: Linux 60 s fixed, FreeBSD 2 × 30 s, macOS 2 × 15 s [src]; XP 120 s
            // [doc: KB 314053]; modern Windows "?" takes RFC 9293's 2·MSL = 240 s.
            row(
                |k| k.time_wait_s.value.0,
                &[
                    ("linux", 60),
                    ("freebsd", 60),
                    ("macos", 30),
                    ("windows", 240),
                    ("winsock-xp", 120),
                ],
            );
        }

        #[test]
        fn fin_wait_2_timeout() {
            // Row 13: Linux 60 s for orphans [src]; FreeBSD 600 s idle once it cannot
            // receive (TP_MAXIDLE; the matrix's 60 s needs fast_finwait2_recycle) [src];
            // macOS 12+ 60 s then RST [src]; XP 300 s even for a half-close [doc: KB 813056];
            // modern Windows "?" (likely 120 s, KB 923200).
            row(
                |k| {
                    (
                        k.fin_wait_2_timeout_s.value.0,
                        k.fin_wait_2_timer.value,
                        k.fin_wait_2_expiry.value,
                    )
                },
                &[
                    ("linux", (60, FinWait2Timer::Orphan, FinWait2Expiry::Close)),
                    (
                        "freebsd",
                        (600, FinWait2Timer::CantRcvMore, FinWait2Expiry::Close),
                    ),
                    (
                        "macos",
                        (60, FinWait2Timer::CantRcvMore, FinWait2Expiry::Rst),
                    ),
                    (
                        "windows",
                        (120, FinWait2Timer::Always, FinWait2Expiry::Close),
                    ),
                    (
                        "winsock-xp",
                        (300, FinWait2Timer::Always, FinWait2Expiry::Close),
                    ),
                ],
            );
        }

        #[test]
        fn rst_to_syn_rst_in_time_wait_and_challenge_ack() {
            // Row 19: Winsock ignores the RST answering its SYN and retries (XP 3 more
            // times [doc: KB 175523], modern about 2 s [obs-3p]); the others refuse at once.
            row(
                |k| (k.rst_to_syn.value, k.refused_syn_retries.value),
                &[
                    ("linux", (RstToSyn::Refuse, 0)),
                    ("freebsd", (RstToSyn::Refuse, 0)),
                    ("macos", (RstToSyn::Refuse, 0)),
                    ("windows", (RstToSyn::RetrySyn, 2)),
                    ("winsock-xp", (RstToSyn::RetrySyn, 3)),
                ],
            );
            // Row 16: RFC 1337 protection on FreeBSD and macOS [src]; Linux (tcp_rfc1337 = 0)
            // [src] and Windows 2000/XP [doc: KB 261218] let an RST end TIME-WAIT.
            row(
                |k| k.rst_in_time_wait.value,
                &[
                    ("linux", RstInTimeWait::Kill),
                    ("freebsd", RstInTimeWait::Ignore),
                    ("macos", RstInTimeWait::Ignore),
                    ("windows", RstInTimeWait::Kill),
                    ("winsock-xp", RstInTimeWait::Kill),
                ],
            );
            // Row 20: RFC 5961 challenge ACK on Linux, FreeBSD, macOS [src]; XP accepted any
            // in-window RST [doc: MS05-019]; modern Windows "?" (RFC 9293: optional).
            row(
                |k| k.challenge_ack.value,
                &[
                    ("linux", true),
                    ("freebsd", true),
                    ("macos", true),
                    ("windows", false),
                    ("winsock-xp", false),
                ],
            );
        }

        #[test]
        fn receive_window_arithmetic_and_timestamps() {
            // Linux doubles SO_RCVBUF and offers half the buffer in MSS units
            // (docs/sources.md#linux-obs-rcv-window) [src][obs]; the BSDs and Windows offer
            // the free space as given.
            row(
                |k| {
                    (
                        k.rcvbuf_setsockopt_factor.value,
                        k.rcv_wnd_initial_pct.value,
                        k.rcv_wnd_rounding.value,
                    )
                },
                &[
                    ("linux", (2, 50, RcvWndRounding::MssMultiple)),
                    ("freebsd", (1, 100, RcvWndRounding::FreeSpace)),
                    ("macos", (1, 100, RcvWndRounding::FreeSpace)),
                    ("windows", (1, 100, RcvWndRounding::FreeSpace)),
                    ("winsock-xp", (1, 100, RcvWndRounding::FreeSpace)),
                ],
            );
            // Timestamps on by default in Linux, FreeBSD and XNU [src]; not offered by
            // Windows SYNs [obs-3p].
            row(
                |k| k.tcp_timestamps.value,
                &[
                    ("linux", true),
                    ("freebsd", true),
                    ("macos", true),
                    ("windows", false),
                    ("winsock-xp", false),
                ],
            );
        }

        #[test]
        fn connection_establishment_timing() {
            // SYN retransmissions: five 1 s intervals first on Linux (tcp_syn_linear_timeouts)
            // and the BSDs (tcp_syn_backoff[]) [src]; doubling from the start on Windows
            // [obs-3p] and XP [doc: KB 314053]. BSD and macOS end a connect after
            // tcp_keepinit, 75 s [src].
            row(
                |k| (k.syn_linear_timeouts.value, k.connect_timeout_s.value.0),
                &[
                    ("linux", (4, 0)),
                    ("freebsd", (4, 75)),
                    ("macos", (4, 75)),
                    ("windows", (0, 0)),
                    ("winsock-xp", (0, 0)),
                ],
            );
            // Row 19: Winsock's retries after an RST to its SYN, ≈ 1 s apart on modern
            // Windows [obs-3p], 500 ms on XP [doc: KB 175523]; moot elsewhere.
            row(
                |k| k.refused_syn_retry_ms.value.0,
                &[
                    ("linux", 0),
                    ("freebsd", 0),
                    ("macos", 0),
                    ("windows", 1000),
                    ("winsock-xp", 500),
                ],
            );
        }

        #[test]
        fn ack_timing_and_the_rst_sequence_check() {
            // Quick ACKs at the start: Linux TCP_MAX_QUICKACKS and XNU TCP_FORCED_ACKS_COUNT
            // [src]; FreeBSD's DELAY_ACK has none [src]; Windows unknown, RFC 1122 delays.
            row(
                |k| (k.quickack_segs.value, k.ack_pingpong.value),
                &[
                    ("linux", (16, true)),
                    ("freebsd", (0, false)),
                    ("macos", (16, false)),
                    ("windows", (0, false)),
                    ("winsock-xp", (0, false)),
                ],
            );
            // Where an RST must land: Linux tcp_reset_check, FreeBSD and XNU last_ack_sent [src].
            row(
                |k| k.rst_seq_match.value,
                &[
                    ("linux", RstSeqMatch::RcvNxtOrBelowAfterFin),
                    ("freebsd", RstSeqMatch::LastAckSent),
                    ("macos", RstSeqMatch::LastAckSentOrBelowAfterFin),
                    ("windows", RstSeqMatch::RcvNxt),
                    ("winsock-xp", RstSeqMatch::RcvNxt),
                ],
            );
        }
    }
}
