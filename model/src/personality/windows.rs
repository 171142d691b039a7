//! The `windows` personality: Windows 10/11 and Server 2016 and later.
//!
//! Sources: Microsoft's current Winsock reference (`MicrosoftDocs/sdk-api`:
//! closesocket, shutdown, listen, WSACleanup), Microsoft engineers' blogs
//! ([ms-blog], [obs-ms]) and public third-party measurements ([obs-3p]), as
//! collected in `docs/sources.md#windows`. Much of the modern stack is
//! undocumented: those cells say "unknown:" and take the RFC 9293 / RFC 1122 (or
//! RFC 6298) default, or say which older Windows document they lean on.

use super::*;

pub fn windows() -> Personality {
    Personality {
        name: Cow::Borrowed("windows"),
        release: Cow::Borrowed("Windows 10/11, Server 2016+"),
        knobs: Knobs {
            rto_initial_ms: k(Millis(1000), "[obs-3p] per-template InitialRtoMs (300–3000 ms, default undocumented); Server runners give up a connect after 7.0 s with MaxSynRetransmissions = 2, i.e. 1 + 2 + 4 s (github.com/SciQLop/speasy/pull/344). Vista/7 hard-coded 3 s [ms-blog]; Windows 10 clients are reported to give up after 21 s = 3 + 6 + 12 s (uNetworking/uSockets#259)"),
            rto_min_ms: k(Millis(300), "[ms-blog] MinRtoMs = 300 in the Server 2019 InternetCustom template (blogs.technet.microsoft.com/networking/2018/10/03/tcp-templates-for-windows; Set-NetTCPSetting range 20–300)"),
            rto_max_ms: k(Millis(60_000), "unknown: undocumented; RFC 6298 §2.5 default: a maximum, if any, of at least 60 s"),
            rto_rttvar_floor_ms: k(Millis(0), "unknown: RFC 6298 §2.3 RTO = SRTT + max(G, 4·RTTVAR); the clock granularity G is undocumented, taken as 0"),
            rto_slop_ms: k(Millis(0), "unknown: RFC 6298 has no slop term; none is documented for Windows"),
            delack_ms: k(Millis(40), "[ms-blog] DelayedAckTimeout = 40 ms, DelayedAckFrequency 2, in the Server 2019 template (tcp-templates-for-windows, 2018; Set-NetTCPSetting range 10–600 ms); client SKUs not confirmed"),
            quickack_segs: k(0, "unknown: no Vista+ source for a quick-ACK start-up; RFC 1122 §4.2.3.2 default: ACKs are delayed, at least every second full segment ACKed (DelayedAckFrequency 2 in the Server 2019 template, tcp-templates-for-windows 2018)"),
            ack_pingpong: k(false, "unknown: no Vista+ source; RFC 9293 §3.10.7.4 eighth check default: a FIN is acknowledged ('send an acknowledgment for the FIN')"),
            syn_retries: k(2, "[obs-3p] MaxSynRetransmissions = 2 gives the measured 7 s connect ceiling (SciQLop/speasy#344); that PR's own table says the runners ship 4 (21 s ceiling), so the default is not settled"),
            syn_linear_timeouts: k(0, "[obs-3p] the 7 s connect ceiling with MaxSynRetransmissions = 2 is 1 + 2 + 4 s (SciQLop/speasy#344): the SYN timeout doubles from the start"),
            connect_timeout_s: k(Secs(0), "unknown: no connection-establishment timer documented besides MaxSynRetransmissions (Set-NetTCPSetting); RFC 9293 has none"),
            synack_retries: k(2, "unknown: no Vista+ source (TcpMaxConnectResponseRetransmissions is undocumented) and RFC 1122 §4.2.3.5 gives no count; 2 taken, as for the SYN"),
            data_retries: k(5, "[inf] Vista/2008 still read TcpMaxDataRetransmissions, whose default of 5 was not re-confirmed (docs/sources.md#row-21 '5?'; Windows Server 2008 TCP/IP Protocols and Services, ch. 13)"),
            orphan_retries: k(5, "unknown: no separate limit for a closed socket is documented; RFC 1122 §4.2.3.5 has one R2 for every connection, so data_retries"),
            persist_timer: k(PersistTimer::Backoff, "unknown: when Windows stops probing a zero window is not documented; taken as Linux's rule"),
            rst_on_retransmit_limit: k(false, "unknown: undocumented; RFC 1122 §4.2.3.5 / RFC 9293 only close the connection at R2, no RST"),
            fin_wait_2_timeout_s: k(Secs(120), "unknown: no Windows 10/11 statement (docs/sources.md#row-13); RFC 9293 has no FIN-WAIT-2 timer, which the knobs cannot express, so 120 s from KB 923200 (Server 2003) and the TCP Chimney offload spec (learn.microsoft.com/previous-versions/windows/hardware/network/fin-wait-2-timer, ff550023)"),
            fin_wait_2_timer: k(FinWait2Timer::Always, "unknown: carried over from XP / Server 2003 (KB 813056: the stack limits FIN-WAIT-2 whatever the socket, half-close included); not confirmed for Vista+"),
            fin_wait_2_expiry: k(FinWait2Expiry::Close, "unknown: KB 923200 (Server 2003): after the FIN-WAIT-2 timeout the connection is closed and any later packet draws RST; not confirmed for Vista+"),
            time_wait_s: k(Secs(240), "unknown: the Vista+ default is undocumented and the old sources conflict (120 or 240 s, docs/sources.md#row-14); RFC 9293 default: §3.4.2 MSL = 2 minutes, TIME-WAIT lasts 2·MSL (MUST-13) = 240 s"),
            rcv_buf_bytes: k(65_535, "unknown: receive-window autotuning (not modelled) replaced TcpWindowSize and no SO_RCVBUF default is documented; no RFC default either: 65 535, the largest window without RFC 7323 scaling"),
            rcvbuf_setsockopt_factor: k(1, "[doc] SOL_SOCKET options, SO_RCVBUF: 'the total per-socket buffer space reserved for receives' (learn.microsoft.com/windows/win32/winsock/sol-socket-socket-options); taken as given"),
            rcv_wnd_initial_pct: k(100, "unknown: receive-window autotuning is undocumented; RFC 9293 §3.8.6.2.2 default: the window offered is the free buffer space"),
            rcv_wnd_pct: k(100, "unknown: undocumented; RFC 9293 default: the window is the free buffer space in octets"),
            rcv_wnd_rounding: k(RcvWndRounding::FreeSpace, "unknown: undocumented; RFC 9293 §3.8.6.2.2 default: the free space, never shrinking the right edge (receiver SWS avoidance, RFC 1122 §4.2.3.3, not modelled)"),
            tcp_timestamps: k(false, "[obs-3p] p0f v3 p0f.fp: Windows 7/8/10 SYNs carry mss,nop,ws,nop,nop,sok, no timestamps (one Windows 7/8 variant with ts); Set-NetTCPSetting -Timestamps exists but its default is undocumented"),
            snd_buf_bytes: k(65_536, "unknown: no SO_SNDBUF default is documented for Vista and later, and no RFC default exists; 64 KiB taken"),
            initial_cwnd_segs: k(10, "[ms-blog] initial window 10 MSS since Windows 10 1607 / Server 2016 ('New Transport Advancements in the Anniversary Update', 2016, via windowsreport.com; tcp-templates-for-windows 2018: 'InitialCongestionWindow(MSS) : 10')"),
            close_unread: k(CloseUnread::Rst, "unknown: no Microsoft text (docs/sources.md#row-1); RFC 1122 §4.2.2.13 default: a CLOSE with received data pending SHOULD send RST. Nearby [obs-3p]: closing with an overlapped WSARecv outstanding sends RST (libuv/libuv#3034, #3036)"),
            close_unread_counts_ooo: k(false, "unknown: RFC 1122 §4.2.2.13 speaks of received data pending; out-of-order data is not counted"),
            data_after_close: k(DataAfterClose::Rst, "unknown: no primary source (docs/sources.md#row-6); RFC 1122 §4.2.2.13 default: data received after CLOSE SHOULD draw RST"),
            shut_rd_unread: k(ShutRdUnread::Rst, "[doc] shutdown, SD_RECEIVE (current page, Vista and later): 'if there is still data queued on the socket waiting to be received, or data arrives subsequently, the connection is reset' (sdk-api@ea899bdf; docs/sources.md#row-7, docs/sources.md#row-9)"),
            data_after_shut_rd: k(DataAfterShutRd::Rst, "[doc] same shutdown remark: data arriving after SD_RECEIVE resets the connection (sdk-api@ea899bdf nf-winsock-shutdown.md)"),
            read_after_shut_rd: k(ReadAfterShutRd::Eshutdown, "[doc] recv after SD_RECEIVE fails WSAESHUTDOWN, as on XP (docs/sources.md#row-7)"),
            linger_unit: k(LingerUnit::Seconds, "[doc] LINGER.l_linger counts seconds (docs/sources.md#row-5)"),
            linger_storage: k(LingerStorage::UShort, "[doc] linger structure (winsock.h), learn.microsoft.com/windows/win32/api/winsock/ns-winsock-linger: l_linger is a u_short, so a program's value wraps modulo 65536 before setsockopt sees it (65536 becomes {1, 0}, an abortive close)"),
            linger_expiry: k(LingerExpiry::Rst, "[doc] closesocket remarks (current page): when the linger time runs out the connection is reset; closesocket still returns 0 (sdk-api@01397c92 nf-winsock-closesocket.md; docs/sources.md#row-3)"),
            nonblocking_linger_close: k(NonblockingLinger::WouldBlock, "[doc] closesocket: 'If closesocket fails with WSAEWOULDBLOCK the socket handle is still valid, and a disconnect is not initiated' (sdk-api@01397c92; docs/sources.md#row-4)"),
            process_exit: k(ExitMode::ResetOpen, "[obs-3p] Windows 10/11: a process that exits with a socket never closed resets the peer, closing it first gives FIN (github.com/oven-sh/bun/pull/34556) [doc] WSACleanup: sockets still open 'are reset' (sdk-api@2cd469d9); the mechanism is undocumented"),
            exit_skips_linger: k(true, "[doc] sockets still open at exit are reset, not closed, so no linger wait happens (moot while process_exit = reset)"),
            exit_drops_closed_pending: k(true, "[doc] WSACleanup (current page): sockets closed with closesocket that still have data to send can lose it when WS2_32.DLL is unloaded as the application exits (modelled as always lost; not observed on Vista+)"),
            rst_discards_unread: k(true, "[obs-ms] data the peer sent before its RST is delivered on Linux but not on Windows (dotnet/runtime#57186, geoffkizer) [obs-3p] kept until the application calls send() (curl/curl#657, objeck-lang#669). Gap: the 'after a send' trigger is not a knob"),
            write_after_rst: k(WriteAfterRst::Reset, "[doc] send after the peer's reset fails WSAECONNRESET (docs/sources.md#row-12)"),
            listen_overflow: k(ListenOverflow::HandshakeThenRst, "[ms-blog] with SYN-attack protection (always on since Vista) the handshake completes before Winsock is told and 'the connection is reset' when the backlog is exceeded: connect() succeeds, the next call fails WSAECONNRESET (blogs.msdn.com/b/wndp 2005-12-09; nettracer 2010-06-01); the listen doc still says WSAECONNREFUSED"),
            accept_queue_limit: k(AcceptQueueLimit::Backlog, "[doc] listen: backlog is 'the maximum length of the queue of pending connections' (SOMAXCONN lets the provider pick)"),
            rst_after_reset: k(RstAfterReset::Silent, "[learned] tcp-learner Windows 8 models (Fiterău-Broştean, Janssen, Vaandrager, CAV 2016; github.com/pfg666/tcp-learner models/): after close() the first peer segment draws ACK+RST and the next nothing; after a peer RST further peer data draws nothing. Caveats: no timers in the models, sequence numbers abstracted, a 2016 Windows 8 build"),
            rst_in_time_wait: k(RstInTimeWait::Kill, "unknown: no Vista+ source (docs/sources.md#row-16); RFC 9293 §3.10.7.4 default: an RST in TIME-WAIT enters CLOSED (as Windows 2000 did, KB 261218)"),
            syn_in_time_wait: k(SynInTimeWait::ReopenIfNewer, "unknown: no Vista+ source (docs/sources.md#row-15); RFC 1122 §4.2.2.13: a SYN with a larger sequence number MAY reopen from TIME-WAIT (as Windows 2000 did, KB 261218)"),
            reuseaddr_bind: k(ReuseAddrBind::New, "[doc] \"Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE\" (learn.microsoft.com/en-us/windows/win32/winsock/using-so-reuseaddr-and-so-exclusiveaddruse): SO_REUSEADDR on the new socket lets it bind a port in use, whatever the old socket set. Gap: Windows also lets it bind over an active listener (port hijacking); the model still refuses that with EADDRINUSE"),
            rst_to_syn: k(RstToSyn::RetrySyn, "[obs-3p] connecting to a closed port takes about 2 s on Windows 10/11 and Server, 0 ms on Linux and macOS (libuv/libuv#2896, curl/curl#22494); setting MaxSynRetransmissions to 0 (SIO_TCP_INITIAL_RTO, TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS) makes it fail at once"),
            refused_syn_retries: k(2, "[inf] libuv#2896 removes the retries by setting MaxSynRetransmissions, so they follow it (2, see syn_retries); about 2 s in all (refused_syn_retry_ms)"),
            refused_syn_retry_ms: k(Millis(1000), "[obs-3p] connecting to a closed port takes about 2 s with 2 retries (libuv/libuv#2896, curl/curl#22494), so ≈ 1 s apart; no Microsoft statement"),
            challenge_ack: k(false, "unknown: no Vista+ source (docs/sources.md#row-20); RFC 9293 §3.10.7.4 makes the RFC 5961 challenge ACK an optional mitigation, so the base rule (an in-window RST resets) is taken; MS05-019 changed XP/2003 by an undocumented rule"),
            rst_seq_match: k(RstSeqMatch::RcvNxt, "unknown: no Vista+ source (docs/sources.md#row-20); with challenge_ack off any RST in the window resets (RFC 9293 §3.10.7.4) and one left of the window is dropped"),
            read_after_rst: k(ReadAfterRst::ErrorAlways, "[doc] closesocket remarks (sdk-api nf-winsock-closesocket.md): after a hard close any recv on the remote side fails with WSAECONNRESET"),
            keepalive_idle_s: k(Secs(7200), "[doc] KeepAliveTime default 7,200,000 ms (TCP/IP registry parameters, KB 314053; SIO_KEEPALIVE_VALS docs)"),
            keepalive_intvl_s: k(Secs(1), "[doc] KeepAliveInterval default 1000 ms (KB 314053)"),
            keepalive_probes: k(10, "[doc] Vista and later: 10 keepalive probes, not configurable (SO_KEEPALIVE docs, learn.microsoft.com/windows/win32/winsock/so-keepalive)"),
            keepalive_rst: k(false, "unknown: no source on whether Windows sends RST when keepalives go unanswered; RFC 1122 §4.2.3.6 default (connection dropped)"),
            poll_style: k(PollStyle::Wsapoll, "[doc][inf] WSAPoll function (learn.microsoft.com/windows/win32/api/winsock2/nf-winsock2-wsapoll): POLLHUP \"a stream-oriented connection was either disconnected or aborted\", POLLERR \"an error has occurred\"; FD_CLOSE is signalled at the peer's FIN or RST (WSAAsyncSelect); unconfirmed on a kernel"),
            query_style: k(QueryStyle::Winsock, "[doc] ioctlsocket function (learn.microsoft.com/windows/win32/api/winsock/nf-winsock-ioctlsocket): FIONBIO, FIONREAD, SIOCATMARK only; IPPROTO_TCP socket options (learn.microsoft.com/windows/win32/winsock/ipproto-tcp-socket-options): no TCP_LINGER2"),
            timeo_error: k(TimeoError::Etimedout, "[doc] SOL_SOCKET socket options (learn.microsoft.com/windows/win32/winsock/sol-socket-socket-options): SO_RCVTIMEO/SO_SNDTIMEO, a blocking call that times out fails WSAETIMEDOUT and leaves the connection indeterminate"),
            accept_timeo: k(false, "[doc][inf] SOL_SOCKET socket options (learn.microsoft.com/windows/win32/winsock/sol-socket-socket-options): SO_RCVTIMEO is the timeout \"for blocking receive calls\"; accept is not one"),
            close_while_blocked: k(CloseWhileBlocked::CancelEintr, "[doc] Windows Sockets 2 API specification §2.7, Windows Sockets in Multithreaded Versions of Windows (library.thedatadungeon.com/msdn-1998-06/specs/PLATFRM2/D1/S11965.content.HTM): \"Closing a socket in one thread that has an outstanding blocking call on the same socket in another thread will cause the blocking call to fail with WSAEINTR\", select() too; the closesocket page (learn.microsoft.com/windows/win32/api/winsock/nf-winsock-closesocket) warns a client must never do it and cancels overlapped operations [inf for modern Windows]"),
            error_names: k(ErrorNames::Winsock, "[doc] Windows Sockets Error Codes (learn.microsoft.com/windows/win32/winsock/windows-sockets-error-codes-2): WSAGetLastError names"),
        },
    }
}
