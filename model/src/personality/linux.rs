//! The `linux` personality: Linux 6.x as on the machines tcpsim is checked on.
//!
//! Sources: the kernel tree (`net/ipv4/tcp.c`, `tcp_input.c`, `tcp_output.c`,
//! `tcp_timer.c`, `tcp_minisocks.c`, `af_inet.c`, `net/core/sock.c`,
//! `include/net/tcp.h`), read for behaviour only; [obs] marks what was also
//! observed on the real kernel here (`shared/linux-observed.md`, `tcpsim real`).

use super::*;

pub fn linux() -> Personality {
    Personality {
        name: Cow::Borrowed("linux"),
        release: Cow::Borrowed("Linux 6.18 (default sysctls)"),
        knobs: Knobs {
            rto_initial_ms: k(1000, "[src] include/net/tcp.h TCP_TIMEOUT_INIT = 1 s (RFC 6298 §2.1)"),
            rto_min_ms: k(200, "[src] include/net/tcp.h TCP_RTO_MIN = HZ/5"),
            rto_max_ms: k(120_000, "[src] include/net/tcp.h TCP_RTO_MAX = 120 s"),
            rto_rttvar_floor_ms: k(200, "[src] net/ipv4/tcp_input.c tcp_rtt_estimator(): mdev_max never below tcp_rto_min, so RTO ≈ SRTT + 200 ms on a LAN"),
            rto_slop_ms: k(0, "[src] no slop term in net/ipv4/tcp_input.c tcp_set_rto()"),
            delack_ms: k(40, "[src] include/net/tcp.h TCP_DELACK_MIN = HZ/25 (the ATO starts at 40 ms; quick-ACK and ping-pong modes: quickack_segs, ack_pingpong. Gap: the ATO adapts to the arrival rate, fixed here)"),
            quickack_segs: k(16, "[src] net/ipv4/tcp_input.c tcp_event_data_recv(): the first data segment (icsk_ack.ato == 0), and one after a gap longer than the RTO, calls tcp_incr_quickack(sk, TCP_MAX_QUICKACKS = 16): quick = min(max(rcv_wnd / (2·rcv_mss), 2), 16) ACKs go out at once (tcp_in_quickack_mode), counted down by tcp_dec_quickack_mode(); a retransmitted segment re-enters the mode (tcp_data_queue → tcp_enter_quickack_mode) [obs] linux-facts: the first data segment after the handshake is ACKed at once (p02, p09); corpus q04. Gap: __tcp_select_window() also ends the mode once the receive buffer is half full"),
            ack_pingpong: k(true, "[src] net/ipv4/tcp_output.c tcp_event_data_sent(): data sent within the ATO of the last data received counts toward ping-pong mode (sysctl tcp_pingpong_thresh = 1); tcp_input.c tcp_fin() enters it on the way to CLOSE-WAIT; tcp_in_quickack_mode() is false in it; tcp_timer.c tcp_delack_timer_handler() leaves it [obs] linux-facts: the ACK of a FIN that follows data is delayed ~41 ms (p19, 9a); a FIN on a connection that never received data is ACKed after one tick (ato = 0), modelled as at once"),
            syn_retries: k(6, "[src] include/net/tcp.h TCP_SYN_RETRIES = 6 (sysctl net.ipv4.tcp_syn_retries)"),
            synack_retries: k(5, "[src] include/net/tcp.h TCP_SYNACK_RETRIES = 5 (sysctl net.ipv4.tcp_synack_retries)"),
            data_retries: k(15, "[src] sysctl net.ipv4.tcp_retries2 = 15 (TCP_RETR2); counted as retransmissions, not as the time-based bound of tcp_timer.c retransmits_timed_out()"),
            orphan_retries: k(8, "[src] net/ipv4/tcp_timer.c tcp_orphan_retries(): sysctl tcp_orphan_retries = 0 means 8"),
            rst_on_retransmit_limit: k(false, "[src] net/ipv4/tcp_timer.c tcp_write_err(): sk_err = ETIMEDOUT, tcp_done(), no RST is sent"),
            fin_wait_2_timeout_s: k(60, "[src] include/net/tcp.h TCP_FIN_TIMEOUT = 60 s (sysctl net.ipv4.tcp_fin_timeout)"),
            fin_wait_2_timer: k(FinWait2Timer::Orphan, "[src] net/ipv4/tcp.c __tcp_close() arms it for orphans only; a half-closed socket with a descriptor waits in FIN-WAIT-2 indefinitely"),
            fin_wait_2_expiry: k(FinWait2Expiry::Close, "[src] net/ipv4/tcp_minisocks.c: the FIN-WAIT-2 time-wait substate expires silently; later segments find no socket and get RST"),
            time_wait_s: k(60, "[src] include/net/tcp.h TCP_TIMEWAIT_LEN = 60 s, not tunable"),
            rcv_buf_bytes: k(131_072, "[src] sysctl net.ipv4.tcp_rmem[1] = 131072 (receive-buffer autotuning not modelled)"),
            snd_buf_bytes: k(16_384, "[src] sysctl net.ipv4.tcp_wmem[1] = 16384 (send-buffer autotuning not modelled)"),
            initial_cwnd_segs: k(10, "[src] include/net/tcp.h TCP_INIT_CWND = 10 (RFC 6928)"),
            close_unread: k(CloseUnread::Rst, "[src][obs] net/ipv4/tcp.c __tcp_close(): data_was_unread → tcp_send_active_reset() (LINUX_MIB_TCPABORTONCLOSE), RFC 2525 §2.17"),
            close_unread_counts_ooo: k(false, "[src] net/ipv4/tcp.c __tcp_close() counts only sk_receive_queue, not the out-of-order queue"),
            data_after_close: k(DataAfterClose::Rst, "[src][obs] net/ipv4/tcp_input.c tcp_rcv_state_process(): FIN-WAIT-1/2 with RCV_SHUTDOWN and new data → tcp_reset() (LINUX_MIB_TCPABORTONDATA)"),
            shut_rd_unread: k(ShutRdUnread::Keep, "[src][obs] net/ipv4/tcp.c tcp_recvmsg_locked() copies queued data before testing RCV_SHUTDOWN"),
            data_after_shut_rd: k(DataAfterShutRd::RstInFinWait, "[src][obs] net/ipv4/tcp_input.c tcp_rcv_state_process(): ESTABLISHED queues it (tcp_data_queue); FIN-WAIT-1/2 with RCV_SHUTDOWN resets"),
            read_after_shut_rd: k(ReadAfterShutRd::Eof, "[src] net/ipv4/tcp.c tcp_recvmsg_locked(): RCV_SHUTDOWN ends the read with 0"),
            linger_unit: k(LingerUnit::Seconds, "[src] net/core/sock.c sk_setsockopt(SO_LINGER): l_linger × HZ"),
            linger_expiry: k(LingerExpiry::Continue, "[src][obs] net/core/stream.c sk_stream_wait_close() just returns; the socket goes on as an orphan, no RST"),
            nonblocking_linger_close: k(NonblockingLinger::Block, "[src] net/ipv4/af_inet.c inet_release() uses sk_lingertime whatever O_NONBLOCK says [spec: netsem close_4]"),
            process_exit: k(ExitMode::CloseEach, "[src][obs] exit closes each descriptor (do_exit → close_files → fput → inet_release)"),
            exit_skips_linger: k(true, "[src] net/ipv4/af_inet.c inet_release(): no linger wait when current->flags & PF_EXITING"),
            exit_drops_closed_pending: k(false, "[src] orphans live on in the kernel after exit"),
            rst_discards_unread: k(false, "[src][obs] net/ipv4/tcp_input.c tcp_reset() leaves sk_receive_queue; tcp_recvmsg returns the data before the error"),
            write_after_rst: k(WriteAfterRst::ErrorThenEpipe, "[src][obs] tcp_input.c tcp_reset() sets sk_err ECONNRESET (EPIPE in CLOSE-WAIT); net/core/stream.c sk_stream_error() reports it once, then EPIPE"),
            listen_overflow: k(ListenOverflow::DropSyn, "[src] net/ipv4/tcp_input.c tcp_conn_request() drops the SYN when sk_acceptq_is_full(); sysctl tcp_abort_on_overflow = 0 also drops the final ACK"),
            accept_queue_limit: k(AcceptQueueLimit::BacklogPlusOne, "[src] include/net/sock.h sk_acceptq_is_full(): ack_backlog > max_ack_backlog"),
            rst_in_time_wait: k(RstInTimeWait::Kill, "[src] net/ipv4/tcp_minisocks.c tcp_timewait_state_process(): RST kills TIME-WAIT unless sysctl tcp_rfc1337 = 1 (default 0)"),
            syn_in_time_wait: k(SynInTimeWait::ReopenIfNewer, "[src] net/ipv4/tcp_minisocks.c tcp_timewait_state_process(): a SYN with seq after rcv_nxt is TCP_TW_SYN, a new connection"),
            rst_to_syn: k(RstToSyn::Refuse, "[src][obs] net/ipv4/tcp_input.c tcp_rcv_synsent_state_process(): RST with acceptable ACK → tcp_reset(), ECONNREFUSED"),
            refused_syn_retries: k(0, "[src] no retry after a refusing RST"),
            challenge_ack: k(true, "[src] net/ipv4/tcp_input.c tcp_validate_incoming() → tcp_send_challenge_ack() (RFC 5961, since Linux 3.6)"),
            rst_seq_match: k(RstSeqMatch::RcvNxtOrBelowAfterFin, "[src] net/ipv4/tcp_input.c tcp_validate_incoming(): reset when seq == rcv_nxt or tcp_reset_check() (seq == rcv_nxt − 1 in CLOSE_WAIT, LAST_ACK, CLOSING: an RST answering our ACK sent before the FIN arrived), else a challenge ACK (corpus q03: the listener's RST to `ack 501` closes the client in CLOSE-WAIT)"),
            read_after_rst: k(ReadAfterRst::ErrorOnceThenEof, "[src][obs] net/ipv4/tcp.c tcp_recvmsg_locked(): sock_error() reports sk_err once; tcp_done() set RCV_SHUTDOWN, so later reads return 0 (linux-facts Q2)"),
            error_names: k(ErrorNames::Posix, "[doc] POSIX errno names: errno(3), include/uapi/asm-generic/errno.h"),
        },
    }
}
