//! The `winsock-xp` personality: Windows XP SP2 / Server 2003 through Winsock 2.2,
//! the stack of the rsync-on-cygwin story (a process that exits with sockets open
//! resets its peer).
//!
//! Sources: Microsoft's Winsock reference (`MicrosoftDocs/sdk-api`: closesocket,
//! shutdown, listen, WSACleanup) and KB articles 314053, 813056, 175523, 261218,
//! 113576, MS05-019, as collected in `docs/sources.md#winsock-xp`; [spec] marks
//! the WinXP SP1 variant of the Cambridge Netsem spec (`docs/sources.md#netsem`), used
//! only as corroboration. No source code exists to read, so cells nobody documents
//! say "unknown:" and take the RFC 9293 / RFC 1122 (or RFC 6298) default.

use super::*;

pub fn winsock_xp() -> Personality {
    Personality {
        name: Cow::Borrowed("winsock-xp"),
        release: Cow::Borrowed("Windows XP SP2 / Server 2003 (Winsock 2.2)"),
        knobs: Knobs {
            rto_initial_ms: k(Millis(3000), "[doc] KB 314053 (TCP/IP parameters for Windows XP), TcpMaxConnectRetransmissions: 'The initial timeout value is three seconds'; TcpInitialRTT = 3 s (Windows 2000 reference cc938207)"),
            rto_min_ms: k(Millis(1000), "unknown: no Microsoft source for XP's minimum RTO (docs/sources.md#xp-timers); RFC 6298 §2.4 default: an RTO below 1 s is rounded up to 1 s"),
            rto_max_ms: k(Millis(60_000), "unknown: no Microsoft source for XP's RTO ceiling; RFC 6298 §2.5 default: a maximum, if any, of at least 60 s"),
            rto_rttvar_floor_ms: k(Millis(0), "unknown: RFC 6298 §2.3 RTO = SRTT + max(G, 4·RTTVAR); XP's clock granularity G is undocumented, taken as 0"),
            rto_slop_ms: k(Millis(0), "unknown: RFC 6298 has no slop term; none is documented for Windows"),
            delack_ms: k(Millis(200), "[doc] TcpDelAckTicks = 2 × 100 ms (Windows 2000 registry reference, systemmanager.ru/win2k_regestry.en/58801.htm; XP inherits that stack, docs/sources.md#row-21)"),
            quickack_segs: k(0, "unknown: no Microsoft source for a quick-ACK start-up; RFC 1122 §4.2.3.2 default: ACKs are delayed (TcpDelAckTicks, see delack_ms), at least every second full segment ACKed"),
            ack_pingpong: k(false, "unknown: no Microsoft source; RFC 9293 §3.10.7.4 eighth check default: a FIN is acknowledged ('send an acknowledgment for the FIN')"),
            syn_retries: k(2, "[doc] KB 314053 TcpMaxConnectRetransmissions = 2, the timeout doubled from 3 s each time (connect() gives up after about 21 s)"),
            syn_linear_timeouts: k(0, "[doc] KB 314053 TcpMaxConnectRetransmissions: 'The retransmission timeout is doubled with each successive retransmission in a particular connect attempt'"),
            connect_timeout_s: k(Secs(0), "[doc] KB 314053: a connect attempt ends by TcpMaxConnectRetransmissions (about 21 s); no separate timer is documented"),
            synack_retries: k(2, "unknown: TcpMaxConnectResponseRetransmissions is not in KB 314053 and RFC 1122 §4.2.3.5 gives no count; third-party hardening guides quote 2 or 3; 2 taken, as for the SYN"),
            data_retries: k(5, "[doc] KB 314053 TcpMaxDataRetransmissions = 5, the timeout doubled each time from the measured RTT"),
            orphan_retries: k(5, "unknown: no separate limit for a closed socket is documented; RFC 1122 §4.2.3.5 has one R2 for every connection, so TcpMaxDataRetransmissions (5)"),
            persist_timer: k(PersistTimer::Backoff, "unknown: when Windows stops probing a zero window is not documented; taken as Linux's rule"),
            rst_on_retransmit_limit: k(false, "unknown: undocumented; RFC 1122 §4.2.3.5 / RFC 9293 only close the connection at R2, no RST (Netsem's generic tcp_drop_and_close sends one for every arch [spec, generic rule])"),
            fin_wait_2_timeout_s: k(Secs(300), "[doc] KB 813056: 'The TCP/IP stack does not permit a connection to remain in a FINWAIT-2 status for longer than five minutes' (Windows 2000, XP, Server 2003; docs/sources.md#row-13)"),
            fin_wait_2_timer: k(FinWait2Timer::Always, "[doc] KB 813056: the five-minute limit applies even to a half-close made with shutdown(SD_SEND), not only to closed sockets"),
            fin_wait_2_expiry: k(FinWait2Expiry::Close, "[doc] KB 813056: the connection is then closed and later data from the peer draws RST (the peer's select() reports WSAECONNRESET)"),
            time_wait_s: k(Secs(120), "[doc] KB 314053 TcpTimedWaitDelay = 0x78 (120 s) for IPv4 on XP and Server 2003 (240 s for IPv6 and on Windows 2000; docs/sources.md#row-14)"),
            rcv_buf_bytes: k(8760, "[doc] KB 314053 TcpWindowSize: 'Ethernet default: 8760' (8192 rounded up to a multiple of the 1460-byte MSS)"),
            rcvbuf_setsockopt_factor: k(1, "[doc] SOL_SOCKET options, SO_RCVBUF: 'the total per-socket buffer space reserved for receives' (learn.microsoft.com/windows/win32/winsock/sol-socket-socket-options); taken as given"),
            rcv_wnd_initial_pct: k(100, "[doc] KB 314053 TcpWindowSize: 'the maximum TCP receive window size' is the buffer (8760), offered whole"),
            rcv_wnd_pct: k(100, "unknown: undocumented; RFC 9293 default: the window is the free buffer space in octets"),
            rcv_wnd_rounding: k(RcvWndRounding::FreeSpace, "unknown: undocumented (KB 314053 only says the window should be a multiple of the MSS, which TcpWindowSize 8760 is); RFC 9293 §3.8.6.2.2 default: the free space, never shrinking the right edge"),
            tcp_timestamps: k(false, "[obs-3p] p0f v3 p0f.fp: Windows XP SYNs carry mss,nop,nop,sok (no timestamps) in the default configuration (Tcp1323Opts); whether XP agrees to a peer's offer is not documented here, taken as no"),
            snd_buf_bytes: k(8192, "[doc] 'Appendix C: Windows Sockets and DNS Registry Parameters' (TechNet, XP / Server 2003, 2005): Afd DefaultSendWindow = 4096/8192/8192 by memory size (copy at astaro.org); KB 214397: SO_SNDBUF is 8 KB by default"),
            initial_cwnd_segs: k(2, "unknown: no Microsoft source (docs/sources.md#row-22: 2–4 [inf]); 2 segments, the RFC 2581 §3.1 initial window in force when XP shipped (RFC 5681 §3.1 allows 3 for a 1460-byte MSS)"),
            close_unread: k(CloseUnread::Rst, "unknown: no Microsoft text (closesocket: the default close is 'graceful in the background'; an RST is widely reported, docs/sources.md#row-1); RFC 1122 §4.2.2.13 default: a CLOSE with received data pending SHOULD send RST. Netsem close_2 (FIN) is generic, not evidence"),
            close_unread_counts_ooo: k(false, "unknown: RFC 1122 §4.2.2.13 speaks of received data pending; out-of-order data is not counted"),
            data_after_close: k(DataAfterClose::Rst, "unknown: no Microsoft statement (docs/sources.md#row-6); RFC 1122 §4.2.2.13 default: data received after CLOSE SHOULD draw RST [spec: netsem deliver_in_3b, generic rule]; KB 923200: once FIN-WAIT-2 has timed out any packet draws RST"),
            shut_rd_unread: k(ShutRdUnread::Rst, "[doc] shutdown, SD_RECEIVE: 'if there is still data queued on the socket waiting to be received, or data arrives subsequently, the connection is reset' (sdk-api@ea899bdf nf-winsock-shutdown.md; docs/sources.md#row-7, docs/sources.md#row-9)"),
            data_after_shut_rd: k(DataAfterShutRd::Rst, "[doc] same shutdown remark: data arriving after SD_RECEIVE resets the connection 'since the data cannot be delivered to the user' (Netsem's no-RST rule is generic and contradicts it)"),
            read_after_shut_rd: k(ReadAfterShutRd::Eshutdown, "[doc][spec] recv after SD_RECEIVE fails WSAESHUTDOWN (docs/sources.md#row-7; netsem recv_9 L9580, a WinXP variant: docs/sources.md#netsem-rules)"),
            linger_unit: k(LingerUnit::Seconds, "[doc] LINGER.l_linger is a u_short count of seconds (docs/sources.md#row-5)"),
            linger_storage: k(LingerStorage::UShort, "[doc] linger structure (winsock.h), learn.microsoft.com/windows/win32/api/winsock/ns-winsock-linger: l_linger is a u_short, so a program's value wraps modulo 65536 before setsockopt sees it (65536 becomes {1, 0}, an abortive close)"),
            linger_expiry: k(LingerExpiry::Rst, "[doc] closesocket remarks: if the linger time runs out before the data is sent the connection is reset (hard close); closesocket still returns 0 and there is no TIME-WAIT (sdk-api@01397c92 nf-winsock-closesocket.md; docs/sources.md#row-3)"),
            nonblocking_linger_close: k(NonblockingLinger::WouldBlock, "[doc] closesocket: 'If closesocket fails with WSAEWOULDBLOCK the socket handle is still valid, and a disconnect is not initiated' (sdk-api@01397c92; docs/sources.md#row-4; netsem close_2 says otherwise and is not trusted)"),
            process_exit: k(ExitMode::ResetOpen, "[doc] WSACleanup: 'Sockets that were open when WSACleanup was called are reset' (sdk-api@2cd469d9 nf-winsock-wsacleanup.md) [obs-3p] rsync cleanup.c close_all() (SHUTDOWN_ALL_SOCKETS, for cygwin) shuts sockets down before exit to avoid 'the abortive TCP RST sent by a Winsock-based system'; an exit without WSACleanup is undocumented"),
            exit_skips_linger: k(true, "[doc] WSACleanup resets the sockets still open instead of closing them, so no linger wait happens at exit (moot while process_exit = reset)"),
            exit_drops_closed_pending: k(true, "[doc] WSACleanup: sockets closed with closesocket that still have data to send 'can be affected … the pending data can be lost if the WS2_32.DLL is unloaded from memory as the application exits' (modelled as always lost)"),
            rst_discards_unread: k(true, "[inf] closesocket doc on a hard close: 'any recv call on the remote side of the circuit will fail with WSAECONNRESET' [doc]; that the buffered data is discarded is inferred (docs/sources.md#row-11; Netsem's data-first rule is generic)"),
            write_after_rst: k(WriteAfterRst::ResetThenShutdown, "[doc][spec] send fails WSAECONNRESET once, then WSAESHUTDOWN (docs/sources.md#row-12; netsem send_7 L11338, a WinXP variant: docs/sources.md#netsem-rules)"),
            listen_overflow: k(ListenOverflow::RstSyn, "[doc] listen: 'If a connection request arrives and the queue is full, the client will receive an error with an indication of WSAECONNREFUSED' (sdk-api@2fe0b48c nf-winsock2-listen.md); KB 113576: TCP/IP answers the SYN with a Reset. SYN-attack protection, which changes this (docs/sources.md#row-17), is on by default only from Server 2003 SP1"),
            accept_queue_limit: k(AcceptQueueLimit::Backlog, "[doc] listen: backlog is 'the maximum length of the queue of pending connections' (SOMAXCONN lets the provider pick)"),
            rst_in_time_wait: k(RstInTimeWait::Kill, "[doc] KB 261218 (Windows 2000): 'The RST bit is set: The connection is changed to the CLOSED state from the TIME_WAIT state'; XP inherits that stack, not documented separately (docs/sources.md#row-16)"),
            syn_in_time_wait: k(SynInTimeWait::ReopenIfNewer, "[doc] KB 261218 (Windows 2000): a SYN for a pair in TIME_WAIT closes it and the new connection proceeds; the sequence-number condition is cut off in every archived copy, 'newer' (RFC 1122 §4.2.2.13) is assumed"),
            rst_to_syn: k(RstToSyn::RetrySyn, "[doc] KB 175523: after an ACK/RST the pending connection keeps issuing SYNs without doubling the time-out, then fails WSAECONNREFUSED [spec: netsem deliver_in_7d 'Windows XP just ignores RST's with a valid ack']"),
            refused_syn_retries: k(3, "[doc] KB 175523: the maximum retry value 'defaults to 3 extra times', each after refused_syn_retry_ms"),
            refused_syn_retry_ms: k(Millis(500), "[doc] KB 175523: after an ACK/RST 'the pending connection will wait for the base connection's time-out value and reissue another SYN', not doubled; 500 ms, with the 3 retries, fails the connect after ≈ 1.5 s (docs/sources.md#xp-connect: roughly 1 s; the interval itself is not quoted in the archived copies)"),
            challenge_ack: k(false, "[doc] MS05-019 lists XP SP1 and SP2 and Server 2003 as open to the blind in-window RST (CAN-2004-0230): any in-window RST was accepted as shipped; the patched rule is undocumented (docs/sources.md#row-20)"),
            rst_seq_match: k(RstSeqMatch::RcvNxt, "[doc] MS05-019: XP accepted any RST in the window (challenge_ack off), so only one left of the window is dropped, as RFC 9293 §3.10.7.4 has it"),
            read_after_rst: k(ReadAfterRst::ErrorAlways, "[doc] closesocket remarks (sdk-api nf-winsock-closesocket.md): after a hard close any recv on the remote side fails with WSAECONNRESET"),
            keepalive_idle_s: k(Secs(7200), "[doc] KeepAliveTime default 7,200,000 ms (KB 314053)"),
            keepalive_intvl_s: k(Secs(1), "[doc] KeepAliveInterval default 1000 ms (KB 314053)"),
            keepalive_probes: k(5, "[doc] Windows 2000/XP: keepalive retransmissions governed by TcpMaxDataRetransmissions = 5 (KB 314053)"),
            keepalive_rst: k(false, "unknown: no source on whether XP sends RST when keepalives go unanswered; RFC 1122 §4.2.3.6 default (connection dropped)"),
            error_names: k(ErrorNames::Winsock, "[doc] Windows Sockets Error Codes (learn.microsoft.com/windows/win32/winsock/windows-sockets-error-codes-2): WSAGetLastError names"),
        },
    }
}
