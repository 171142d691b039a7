//! The `macos` personality: macOS 12 and later (XNU xnu-8019.41.5 onwards).
//!
//! Sources: `apple-oss-distributions/xnu@e3723e1f` (xnu-11417.101.15), read with
//! `git show`, so the line numbers are exact: `bsd/netinet/tcp_timer.h`,
//! `tcp_timer.c`, `tcp_input.c`, `tcp_usrreq.c`, `tcp_subr.c`, `tcp_cc.h`,
//! `bsd/kern/uipc_socket.c`, `uipc_socket2.c`, `kern_exit.c`, `kern_descrip.c`
//! (`shared/personality-sources.md` has the history: which rows changed in
//! 10.14, 11 and 12).

use super::*;

pub fn macos() -> Personality {
    Personality {
        name: Cow::Borrowed("macos"),
        release: Cow::Borrowed("macOS 12+ (xnu-8019 and later)"),
        knobs: Knobs {
            rto_initial_ms: k(1000, "[src] bsd/netinet/tcp_timer.h L177 TCPTV_RTOBASE = 1 s; tcp_subr.c tcp_newtcpcb() L1152 seeds t_rttvar so TCP_REXMTVAL = 1 s"),
            rto_min_ms: k(30, "[src] bsd/netinet/tcp_timer.h L190 TCPTV_REXMTMIN = TCP_RETRANSHZ/33 ≈ 30 ms, set as t_rttmin by tcp_input.c tcp_mss() L6989 (100 ms, net.inet.tcp.rtt_min, before that)"),
            rto_max_ms: k(64_000, "[src] bsd/netinet/tcp_timer.h L189 TCPTV_REXMTMAX = 64 s, the TCPT_RANGESET upper bound in tcp_timer.c and tcp_input.c tcp_xmit_timer()"),
            rto_rttvar_floor_ms: k(0, "[src] bsd/netinet/tcp_var.h L1075 TCP_REXMTVAL = max(t_rttmin, SRTT + 4·RTTVAR): no variance floor (tcp_input.c tcp_xmit_timer() keeps t_rttvar ≥ 1 tick)"),
            rto_slop_ms: k(200, "[src] bsd/netinet/tcp_timer.h L289–298 TCPTV_REXMTSLOP = 200 ms added by TCPT_RANGESET once t_state ≥ ESTABLISHED (TCP_ADD_REXMTSLOP), so the effective floor is ≈ 230 ms"),
            delack_ms: k(100, "[src] bsd/netinet/tcp_timer.c L344 tcp_delack = TCP_RETRANSHZ/10 = 100 ms (fires between 100 and 200 ms; the net.inet.tcp.delayed_ack = 3 stretch-ACK heuristics are not modelled)"),
            quickack_segs: k(16, "[src] bsd/netinet/tcp_var.h L517 TCP_FORCED_ACKS_COUNT = 16: t_forced_acks is set when the connection is established (tcp_input.c L4030, L4700), after an idle spell (tcp_output.c L796) and on reordering (tcp_input.c L580); tcp_cc.c tcp_cc_delay_ack() L197 never delays while it is non-zero, tcp_output.c L1734 counts the ACKs down. Gaps: XNU has no window cap (the model caps at window/(2·MSS)) and re-arms the count after each delayed-ACK timeout (tcp_timer.c L1628)"),
            ack_pingpong: k(false, "[src] bsd/netinet/tcp_input.c L5969–5981: a FIN sets TF_ACKNOW ('since we received a FIN then no more input can be expected, send ACK now'); there is no ping-pong mode"),
            syn_retries: k(8, "[src] bsd/netinet/tcp_timer.c L1093: the connect is dropped once ++t_rxtshift > TCP_MAXRXTSHIFT (12, tcp_timer.h L215), the 4 linear timeouts included (12 = 8 + syn_linear_timeouts); in practice TCPT_KEEP (connect_timeout_s, 75 s) ends it first [obs-3p: 75 s ceiling, SciQLop/speasy#344]"),
            syn_linear_timeouts: k(4, "[src] bsd/netinet/tcp_timer.c L883 tcp_syn_backoff[] = {1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, …} × TCPTV_RTOBASE: SYN retransmissions at 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s"),
            connect_timeout_s: k(75, "[src] bsd/netinet/tcp_timer.c L154 tcp_keepinit = TCPTV_KEEP_INIT (75 s, net.inet.tcp.keepinit), armed as TCPT_KEEP at connect; L1502: a connection still below ESTABLISHED → dropit (ETIMEDOUT) [obs-3p: 75 s ceiling, SciQLop/speasy#344]. Gap: XNU arms it on SYN_RECEIVED children too (see synack_retries)"),
            synack_retries: k(6, "[src] bsd/netinet/tcp_input.c L3643 arms TCPT_KEEP = tcp_keepinit (75 s) on the SYN_RECEIVED child; its SYN-ACK backs off by tcp_backoff[] (tcp_timer.c L886, L1275) at 1, 3, 7, 15, 31, 63 s, so 6 retransmissions before the 75 s drop (the model drops at the 7th timeout instead)"),
            data_retries: k(12, "[src] bsd/netinet/tcp_timer.c L1093: tcp_drop() once ++t_rxtshift > TCP_MAXRXTSHIFT = 12 (tcp_timer.h L215)"),
            orphan_retries: k(12, "[src] bsd/netinet/tcp_timer.c L1093: no separate limit for a closed socket (TCP_MAXRXTSHIFT = 12); zero-window probing is dropped only after a full backoff and tcp_maxpersistidle (L1457)"),
            rst_on_retransmit_limit: k(true, "[src] bsd/netinet/tcp_timer.c L1140 tcp_drop(tp, ETIMEDOUT) → tcp_subr.c L1241–1262: a synchronized connection goes to CLOSED and tcp_output() sends RST"),
            fin_wait_2_timeout_s: k(60, "[src] bsd/netinet/tcp_timer.c L211 tcp_fin_timeout = TCPTV_FINWAIT2 = 60 s (sysctl net.inet.tcp.fin_timeout, ms), set by tcp_input.c tcp_set_finwait_timeout() L917–933 (capped by keepcnt × keepintvl); since xnu-8019.41.5, 600 s before"),
            fin_wait_2_timer: k(FinWait2Timer::CantRcvMore, "[src] bsd/netinet/tcp_input.c tcp_set_finwait_timeout() L917–933 and tcp_usrreq.c L3226–3231: armed on entering FIN_WAIT_2 only when SS_CANTRCVMORE is set (after close or SHUT_RD), not after SHUT_WR alone"),
            fin_wait_2_expiry: k(FinWait2Expiry::Rst, "[src] bsd/netinet/tcp_timer.c L1050–1067 TCPT_2MSL in FIN_WAIT_2 → tcp_drop(tp, 0) (tcps_fin_timeout_drops): RST; a silent tcp_close() before xnu-8019.41.5"),
            time_wait_s: k(30, "[src] bsd/netinet/tcp_timer.c L176 tcp_msl = TCPTV_MSL = 15 s (sysctl net.inet.tcp.msl); tcp_input.c L5628, L5654 add_to_time_wait(tp, 2 * tcp_msl) = 30 s"),
            rcv_buf_bytes: k(556_032, "[src] bsd/netinet/tcp_usrreq.c L3015 tcp_recvspace = 1448 * 384 (sysctl net.inet.tcp.recvspace, unchanged since xnu-6153; autotuning not modelled)"),
            rcvbuf_setsockopt_factor: k(1, "[src] bsd/kern/uipc_socket.c sosetopt() L4987–4991 SO_RCVBUF → uipc_socket2.c sbreserve() L804–816: sb_hiwat = the value as given"),
            rcv_wnd_initial_pct: k(100, "[src] bsd/netinet/tcp_output.c L1481 recwin = tcp_sbspace(tp), the whole free buffer, also on the SYN"),
            rcv_wnd_pct: k(100, "[src] bsd/netinet/tcp_output.c L1481 tcp_sbspace(): sb_hiwat − sb_cc in payload octets (the mbuf bound is not reached by a normal stream)"),
            rcv_wnd_rounding: k(RcvWndRounding::FreeSpace, "[src] bsd/netinet/tcp_output.c L1481–1545: recwin = tcp_sbspace(), never below rcv_adv − rcv_nxt. Gap: the receiver SWS avoidance at L1484–1487 (recwin < sb_hiwat / 4 and < t_maxseg → 0) is not modelled"),
            tcp_timestamps: k(true, "[src] bsd/netinet/tcp_subr.c L206 tcp_do_timestamps = 1, L1130 TF_REQ_TSTMP on every new tcpcb; tcp_input.c tcp_mss() L7024–7028 takes TCPOLEN_TSTAMP_APPA (12) off the MSS when agreed"),
            snd_buf_bytes: k(370_688, "[src] bsd/netinet/tcp_usrreq.c L3014 tcp_sendspace = 1448 * 256 (sysctl net.inet.tcp.sendspace, unchanged since xnu-6153; autotuning not modelled)"),
            initial_cwnd_segs: k(10, "[src] bsd/netinet/tcp_cc.h L231–232, L285–292 TCP_CC_CWND_INIT_PKTS = 10 while net.inet.tcp.cubic_minor_fixes = 1 (default), since xnu-7195 (macOS 11)"),
            close_unread: k(CloseUnread::Rst, "[src] bsd/netinet/tcp_usrreq.c tcp_disconnect() L3151–3158: so_rcv.sb_cc != 0 → tcp_drop(tp, 0), RST and CLOSED (tcp_subr.c L1241–1262); since xnu-4903.221.2 (macOS 10.14), FreeBSD-like before"),
            close_unread_counts_ooo: k(true, "[src] bsd/netinet/tcp_usrreq.c tcp_disconnect() L3151–3158 also drops when t_reassqlen != 0 (out-of-order data waiting for reassembly)"),
            data_after_close: k(DataAfterClose::Rst, "[src] bsd/netinet/tcp_input.c L4449–4490: data on an SS_NOFDREF socket in a state after CLOSE_WAIT → tcp_close() and RST; since xnu-8019.41.5 any data on an SS_CANTRCVMORE socket as well"),
            shut_rd_unread: k(ShutRdUnread::Discard, "[src] bsd/kern/uipc_socket.c soshutdownlock_final() L4472–4497 → sorflush() L4554: the unread data is discarded silently, no RST (matrix rows 7, 9)"),
            data_after_shut_rd: k(DataAfterShutRd::Rst, "[src] bsd/netinet/tcp_input.c L4478–4481: data arriving with SS_CANTRCVMORE set → tcp_close() and RST, since xnu-8019.41.5 (macOS 12); ACKed and dropped up to macOS 11"),
            read_after_shut_rd: k(ReadAfterShutRd::Eof, "[src] after shutdown(SHUT_RD) sorflush() empties the buffer and reads return 0 (matrix row 7)"),
            linger_unit: k(LingerUnit::Ticks, "[src] bsd/kern/uipc_socket.c sosetopt() L4916–4932: SO_LINGER stores (short)l_linger in ticks of 1/100 s, soclose_locked() L1443–1445 sleeps so_linger/100 s (SO_LINGER_SEC, or SO_LINGER under plain _POSIX_C_SOURCE, is seconds: bsd/sys/socket.h L132–136)"),
            linger_expiry: k(LingerExpiry::Continue, "[src] bsd/kern/uipc_socket.c soclose_locked() L1430–1459: on EWOULDBLOCK close returns 0 and pru_detach → tcp_disconnect goes on gracefully, no RST. Gap: each wake-up re-arms a full-length sleep, so N is not a strict deadline"),
            nonblocking_linger_close: k(NonblockingLinger::ReturnContinue, "[src] bsd/kern/uipc_socket.c L1431–1433: SS_ISDISCONNECTING && SS_NBIO → goto drop: close returns 0 at once, the graceful close goes on (matrix row 4)"),
            process_exit: k(ExitMode::CloseEach, "[src] bsd/kern/kern_exit.c L2225 proc_exit → fdt_invalidate → kern_descrip.c L1014–1053 fp_close_and_unlock → soclose for every descriptor (matrix row 10)"),
            exit_skips_linger: k(false, "unknown: not verified whether the linger msleep(PCATCH) is cut short for an exiting thread (personality-sources row 10); taken as close()"),
            exit_drops_closed_pending: k(false, "[src] a closed socket lives on in the kernel after exit; proc_exit only closes descriptors (matrix row 10)"),
            rst_discards_unread: k(false, "[src] bsd/netinet/tcp_input.c L4222–4262: an acceptable RST sets so_error = ECONNRESET and tcp_close()s without flushing; uipc_socket.c soreceive() L3535–3543 returns buffered data before the error"),
            write_after_rst: k(WriteAfterRst::Epipe, "[src] bsd/netinet/tcp_subr.c L1755 tcp_close → uipc_socket2.c L276–279 soisdisconnected sets SS_CANTSENDMORE, which uipc_socket.c sosendcheck() L2032–2047 tests before so_error: EPIPE, ECONNRESET stays for recv"),
            listen_overflow: k(ListenOverflow::DropSyn, "[src] bsd/netinet/tcp_input.c L2719–2736: sonewconn() refuses and the SYN is dropped silently (tcps_listendrop). Gap: tcp_dropdropablreq() (L7203–7345) may first evict one embryonic connection and retry"),
            accept_queue_limit: k(AcceptQueueLimit::ThreeHalvesBacklog, "[src] bsd/kern/uipc_socket2.c sonewconn L358–361: refused when so_qlen ≥ 3/2 × backlog (the backlog itself with kern.ipc.soqlimitcompat). Gap: so_qlen counts embryonic connections too"),
            rst_in_time_wait: k(RstInTimeWait::Ignore, "[src] bsd/netinet/tcp_input.c L4265–4266: an acceptable RST in TIME_WAIT → break → drop (matrix row 16)"),
            syn_in_time_wait: k(SynInTimeWait::ReopenIfNewer, "[src] bsd/netinet/tcp_input.c L4505–4516: a SYN beyond the window with seq > rcv_nxt closes TIME_WAIT and reconnects; L4566–4583: an in-window SYN gets a challenge ACK. Gap: the model reopens on any newer SYN"),
            rst_to_syn: k(RstToSyn::Refuse, "[src] bsd/netinet/tcp_input.c L3724–3749, SYN_SENT: RST with ACK → tcp_drop(tp, ECONNREFUSED) (one non-ECN retry on local connections after an ECN SYN) [obs-3p: 0 ms to fail, libuv#2896 / curl#22494 via matrix row 19]"),
            refused_syn_retries: k(0, "[src] no retry after a refusing RST (ECN-setup SYNs on local connections excepted)"),
            refused_syn_retry_ms: k(0, "[src] moot: no retry after a refusing RST (rst_to_syn = refuse)"),
            challenge_ack: k(true, "[src] bsd/netinet/tcp_input.c L4222–4285: an RST not at last_ack_sent (or −1) gets a challenge ACK, since xnu-4903.221.2. Gap: rate-limited to net.inet.tcp.challengeack_limit = 10 per second per connection (L240–242)"),
            rst_seq_match: k(RstSeqMatch::LastAckSentOrBelowAfterFin, "[src] bsd/netinet/tcp_input.c L4222–4231: in window from last_ack_sent; reset when th_seq == last_ack_sent, or last_ack_sent − 1 with a zero window or in CLOSE_WAIT and later states ('be lenient in closing states'); else a challenge ACK"),
            read_after_rst: k(ReadAfterRst::ErrorOnceThenEof, "[src] xnu bsd/kern/uipc_socket.c soreceive(): so_error returned and cleared (L3535-3543), then SS_CANTRCVMORE gives 0"),
            error_names: k(ErrorNames::Posix, "[doc] POSIX errno names: xnu bsd/sys/errno.h"),
        },
    }
}
