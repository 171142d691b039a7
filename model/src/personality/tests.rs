//! The personalities' own tests: every knob sourced and documented, overrides
//! by name and alias, and the matrix's signature rows (where the matrix says
//! the stacks differ, their knobs differ).

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
