//! The `freebsd` personality: FreeBSD 14 with its default sysctls.
//!
//! Sources: `freebsd-src` read through the file index (`shared/personality-sources.md`
//! quotes index ids where no commit was exposed; re-pin them before quoting lines):
//! `sys/netinet/tcp_timer.h`, `tcp_timer.c` (the FreeBSD 14 rewrite with
//! `tcp_timersw[]`), `tcp_input.c`, `tcp_output.c`, `tcp_usrreq.c`, `tcp_subr.c`,
//! `tcp_syncache.c`, `tcp_timewait.c`, `sys/kern/uipc_socket.c`. Cells marked
//! [src] in `shared/personalities.md` are cited as the matrix gives them.

use super::*;

pub fn freebsd() -> Personality {
    Personality {
        name: Cow::Borrowed("freebsd"),
        release: Cow::Borrowed("FreeBSD 14 (default sysctls)"),
        knobs: Knobs {
            rto_initial_ms: k(1000, "[src] sys/netinet/tcp_timer.h TCPTV_RTOBASE = 1 s (tcp_rexmit_initial, sysctl net.inet.tcp.rexmit_initial)"),
            rto_min_ms: k(30, "[src] sys/netinet/tcp_timer.h TCPTV_MIN = hz/33 ≈ 30 ms (tcp_rexmit_min, sysctl net.inet.tcp.rexmit_min)"),
            rto_max_ms: k(64_000, "[src] sys/netinet/tcp_timer.h TCPTV_REXMTMAX = 64 s, the upper bound of TCPT_RANGESET in tcp_timer.c tcp_timer_rexmt() and tcp_input.c tcp_xmit_timer()"),
            rto_rttvar_floor_ms: k(0, "[src] sys/netinet/tcp_input.c tcp_xmit_timer(): RTO = TCP_REXMTVAL = SRTT + 4·RTTVAR with no variance floor; the lower bound is max(t_rttmin, rtt + 2 ticks)"),
            rto_slop_ms: k(200, "[src] sys/netinet/tcp_timer.h TCPT_RANGESET adds tcp_rexmit_slop = TCPTV_CPU_VAR = 200 ms to every RTO before clamping (sysctl net.inet.tcp.rexmit_slop)"),
            delack_ms: k(100, "[src] sys/netinet/tcp_timer.h TCPTV_DELACK = hz/10 = 100 ms (tcp_delacktime, sysctl net.inet.tcp.delacktime)"),
            quickack_segs: k(0, "[src] sys/netinet/tcp_input.c DELAY_ACK(): an in-order segment is delayed unless the delayed-ACK timer already runs, so every second segment is ACKed at once (net.inet.tcp.delayed_ack = 1); no quick-ACK start-up (index id 624216631)"),
            ack_pingpong: k(false, "[src] sys/netinet/tcp_input.c tcp_do_segment(), FIN processing: 'since we received a FIN then no more input can be expected, send ACK now' (TF_ACKNOW); there is no ping-pong mode"),
            syn_retries: k(8, "[src] sys/netinet/tcp_timer.c tcp_timer_rexmt(): the connect is dropped once ++t_rxtshift > TCP_MAXRXTSHIFT (12), the 4 linear timeouts included (12 = 8 + syn_linear_timeouts); in practice tcp_keepinit (connect_timeout_s, 75 s) ends it first"),
            syn_linear_timeouts: k(4, "[src] sys/netinet/tcp_timer.c tcp_timer_rexmt(): in SYN_SENT rexmt = tcp_rexmit_initial × tcp_syn_backoff[t_rxtshift], tcp_syn_backoff = {1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64}: SYNs at 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s (freebsd-src index id 912237, FreeBSD 8 era; the table is still there, re-pin before quoting lines)"),
            connect_timeout_s: k(75, "[src] sys/netinet/tcp_timer.h TCPTV_KEEP_INIT = 75 s (tcp_keepinit, net.inet.tcp.keepinit); tcp_usrreq.c tcp_connect() arms TT_KEEP with it and tcp_timer.c tcp_timer_keep() drops a connection still below ESTABLISHED: tcp_drop(ETIMEDOUT), no RST (index id 912237)"),
            synack_retries: k(3, "[src] sys/netinet/tcp_syncache.c SYNCACHE_MAXREXMTS = 3 (sysctl net.inet.tcp.syncache.rexmtlimit): the syncache entry is dropped silently after 3 SYN-ACK retransmissions (freebsd-src index id 70345129)"),
            data_retries: k(12, "[src] sys/netinet/tcp_timer.c tcp_timer_rexmt(): tcp_drop() once ++t_rxtshift > V_tcp_retries = TCP_MAXRXTSHIFT = 12 (sysctl net.inet.tcp.retries)"),
            orphan_retries: k(12, "[src] sys/netinet/tcp_timer.c tcp_timer_rexmt() has no separate limit for a closed socket (V_tcp_retries = 12). Gap: tcp_timer_persist() drops a closed socket's zero-window probing once nothing has come from the peer for TCPTV_PERSMAX = 60 s, which the model counts as probes"),
            rst_on_retransmit_limit: k(true, "[src] sys/netinet/tcp_timer.c tcp_timer_rexmt() → tcp_subr.c tcp_drop(tp, ETIMEDOUT): 'If connection is synchronized, then send a RST to peer'"),
            fin_wait_2_timeout_s: k(600, "[src] tcp_usrreq.c tcp_usrclosed() and tcp_input.c (FIN_WAIT_1 → FIN_WAIT_2 with SBS_CANTRCVMORE) arm TT_2MSL with TP_MAXIDLE = tcp_keepcnt 8 × tcp_keepintvl 75 s = 600 s; net.inet.tcp.finwait2_timeout (60 s) is used only with net.inet.tcp.fast_finwait2_recycle = 1, default 0 (tcp_timer.c). Corrects matrix row 13 (60 s). Gap: tcp_timer_2msl() re-arms in 75 s steps while segments keep arriving (an idle timer)"),
            fin_wait_2_timer: k(FinWait2Timer::CantRcvMore, "[src] sys/netinet/tcp_input.c arms the timer on entering FIN_WAIT_2 only if so_rcv has SBS_CANTRCVMORE (set by close() via soisdisconnecting(), or by shutdown(SHUT_RD)); a SHUT_WR half-close waits indefinitely"),
            fin_wait_2_expiry: k(FinWait2Expiry::Close, "[src] sys/netinet/tcp_timer.c tcp_timer_2msl() → tcp_close(): no RST; later segments find no PCB and get RST"),
            time_wait_s: k(60, "[src] 2 × net.inet.tcp.msl, TCPTV_MSL = 30 s (sys/netinet/tcp_timer.h; matrix row 14)"),
            rcv_buf_bytes: k(65_536, "[src] sys/netinet/tcp_input.c tcp_recvspace = 1024*64 (sysctl net.inet.tcp.recvspace; autotuning, net.inet.tcp.recvbuf_auto = 1, not modelled)"),
            rcvbuf_setsockopt_factor: k(1, "[src] sys/kern/uipc_socket.c sosetopt(SO_RCVBUF) → sbreserve_locked(): sb_hiwat = the value as given"),
            rcv_wnd_initial_pct: k(100, "[src] sys/netinet/tcp_output.c tcp_output(): recwin = sbspace(&so->so_rcv), the whole free buffer, also on the SYN (capped at TCP_MAXWIN << rcv_scale)"),
            rcv_wnd_pct: k(100, "[src] sys/sys/sockbuf.h sbspace(): sb_hiwat − sb_ccc counts payload octets; the mbuf bound sb_mbmax (sb_efficiency 8 × sb_hiwat) is not reached by a normal stream"),
            rcv_wnd_rounding: k(RcvWndRounding::FreeSpace, "[src] sys/netinet/tcp_output.c tcp_output(): recwin = sbspace(), never below rcv_adv − rcv_nxt (no shrinking). Gap: the receiver SWS avoidance there (recwin < sb_hiwat / 4 and < t_maxseg → 0) is not modelled"),
            tcp_timestamps: k(true, "[src] sys/netinet/tcp_subr.c V_tcp_do_rfc1323 = 1 (net.inet.tcp.rfc1323: window scaling and timestamps); tcp_input.c tcp_mss_update() takes TCPOLEN_TSTAMP_APPA (12) off t_maxseg when agreed [obs-3p] p0f v3 p0f.fp: FreeBSD SYNs carry mss,nop,ws,sok,ts"),
            snd_buf_bytes: k(32_768, "[src] sys/netinet/tcp_output.c tcp_sendspace = 1024*32 (sysctl net.inet.tcp.sendspace; autotuning, net.inet.tcp.sendbuf_auto = 1, not modelled)"),
            initial_cwnd_segs: k(10, "[src] sys/netinet/tcp_input.c tcp_initcwnd_segments = 10 (net.inet.tcp.initcwnd_segments) in tcp_compute_initwnd(); 1 segment after a retransmitted SYN or SYN-ACK (freebsd-src@2bae602e)"),
            close_unread: k(CloseUnread::DiscardThenFin, "[src] sys/netinet/tcp_usrreq.c tcp_disconnect(): soisdisconnecting(); sbflush(&so->so_rcv); tcp_usrclosed(): the unread data is dropped silently and a FIN follows (matrix row 1)"),
            close_unread_counts_ooo: k(false, "[src] moot: tcp_disconnect() never resets for unread data, in order or out of order"),
            data_after_close: k(DataAfterClose::Rst, "[src] sys/netinet/tcp_input.c tcp_do_segment(): SS_NOFDREF && t_state > TCPS_CLOSE_WAIT && tlen → tcp_close() and dropwithreset (tcps_rcvafterclose; matrix row 6)"),
            shut_rd_unread: k(ShutRdUnread::Discard, "[src] sys/kern/uipc_socket.c soshutdown(SHUT_RD) → sorflush(): the unread data is discarded silently (matrix rows 7, 9)"),
            data_after_shut_rd: k(DataAfterShutRd::AckDiscard, "[src] sys/netinet/tcp_input.c: with SBS_CANTRCVMORE set the segment is m_freem()'d instead of appended, and still ACKed (matrix row 7)"),
            read_after_shut_rd: k(ReadAfterShutRd::Eof, "[src] sys/kern/uipc_socket.c soreceive_generic(): SBS_CANTRCVMORE with nothing buffered ends the read with 0 (matrix row 7)"),
            linger_unit: k(LingerUnit::Seconds, "[src] sys/kern/uipc_socket.c: sosetopt(SO_LINGER) stores l_linger, soclose() sleeps so_linger × hz (matrix row 5)"),
            linger_expiry: k(LingerExpiry::Continue, "[src] sys/kern/uipc_socket.c soclose(): when the linger tsleep() times out close returns and the graceful close goes on, no RST (matrix row 3)"),
            nonblocking_linger_close: k(NonblockingLinger::ReturnContinue, "[src] sys/kern/uipc_socket.c soclose(): SS_ISDISCONNECTING && SS_NBIO skips the linger wait; the graceful close goes on (matrix row 4) [spec: netsem close_2]"),
            process_exit: k(ExitMode::CloseEach, "[src] exit closes each descriptor (kern_exit.c exit1() → fdescfree() → closef() → soclose()); matrix row 10"),
            exit_skips_linger: k(false, "unknown: not checked whether soclose()'s PCATCH linger sleep is cut short in an exiting process; taken as close() (matrix row 10: 'same as close()')"),
            exit_drops_closed_pending: k(false, "[src] a closed socket lives on in the kernel as an orphan; exit only closes descriptors (matrix row 10)"),
            rst_discards_unread: k(false, "[src] sys/netinet/tcp_input.c: an acceptable RST sets so_error = ECONNRESET and tcp_close()s without flushing so_rcv; soreceive returns the buffered data first (matrix row 11)"),
            write_after_rst: k(WriteAfterRst::Epipe, "[src] sys/kern/uipc_socket.c sosend_generic() tests SBS_CANTSENDMORE (set by tcp_close → soisdisconnected) before so_error: EPIPE, ECONNRESET stays for recv (matrix row 12; index id 17313289)"),
            listen_overflow: k(ListenOverflow::HandshakeThenRst, "[src] tcp_syncache.c syncache_add() answers every SYN; on the final ACK sonewconn() fails and tcp_input.c sends RST because net.inet.tcp.syncache.rst_on_sock_fail = 1: connect() succeeds, the next call gets ECONNRESET (matrix row 17)"),
            accept_queue_limit: k(AcceptQueueLimit::ThreeHalvesBacklogPlusOne, "[src] sys/kern/uipc_socket.c sonewconn(): over = sol_qlen > 3 * sol_qlimit / 2, sol_qlimit = the listen() backlog (index id 762422377): a new connection is refused only once more than 3/2 × backlog are queued, so 3/2 × backlog + 1 fit"),
            rst_in_time_wait: k(RstInTimeWait::Ignore, "[src] sys/netinet/tcp_timewait.c tcp_twcheck(): 'if (thflags & TH_RST) goto drop' (RFC 1337; freebsd-src@237c0d70, matrix row 16)"),
            syn_in_time_wait: k(SynInTimeWait::ReopenIfNewer, "[src] sys/netinet/tcp_timewait.c tcp_twcheck(): a SYN with a sequence number after rcv_nxt ends TIME-WAIT and goes to the listener (matrix row 15)"),
            rst_to_syn: k(RstToSyn::Refuse, "[src] sys/netinet/tcp_input.c tcp_do_segment(), SYN_SENT: RST with ACK → tcp_drop(tp, ECONNREFUSED)"),
            refused_syn_retries: k(0, "[src] no retry after a refusing RST"),
            refused_syn_retry_ms: k(0, "[src] moot: no retry after a refusing RST (rst_to_syn = refuse)"),
            challenge_ack: k(true, "[src] sys/netinet/tcp_input.c tcp_do_segment(): RFC 5961 §3.2 challenge ACK for an in-window RST not at last_ack_sent, §4.2 for a SYN in a synchronized state, unless net.inet.tcp.insecure_rst / insecure_syn = 1 (matrix row 20)"),
            rst_seq_match: k(RstSeqMatch::LastAckSent, "[src] sys/netinet/tcp_input.c tcp_do_segment(), RFC 5961 §3.2: 'to take into account delayed ACKs, we should test against last_ack_sent instead of rcv_nxt': in window from last_ack_sent, reset only when th_seq == last_ack_sent, else a challenge ACK (index id 3932539)"),
            read_after_rst: k(ReadAfterRst::ErrorOnceThenEof, "[src] sys/kern/uipc_socket.c soreceive_generic(): so_error is returned and cleared; SBS_CANTRCVMORE then gives 0"),
            keepalive_idle_s: k(7200, "[src] sys/netinet/tcp_timer.h TCPTV_KEEP_IDLE = 120 min (sysctl net.inet.tcp.keepidle)"),
            keepalive_intvl_s: k(75, "[src] sys/netinet/tcp_timer.h TCPTV_KEEPINTVL = 75 s (sysctl net.inet.tcp.keepintvl)"),
            keepalive_probes: k(8, "[src] sys/netinet/tcp_timer.h TCPTV_KEEPCNT = 8 (sysctl net.inet.tcp.keepcnt)"),
            keepalive_rst: k(true, "[src] sys/netinet/tcp_timer.c tcp_timer_keep(): dropit → tcp_drop(tp, ETIMEDOUT), which sends RST when synchronized"),
            error_names: k(ErrorNames::Posix, "[doc] POSIX errno names: errno(2), sys/sys/errno.h"),
        },
    }
}
