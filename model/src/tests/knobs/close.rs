//! Knob flips: close, shutdown and unread data; linger and process exit;
//! what a received RST does to later calls.

use super::*;

#[test]
fn test_knob_close_unread() {
    let mut h = established_with(set("close_unread", "rst"));
    h.send_data(1, 1, 100);
    h.flush();
    h.close();
    assert_eq!(h.sent(), ["R. 1:1(0) ack 101"]);

    let mut h = established_with(set("close_unread", "discard-fin"));
    h.send_data(1, 1, 100);
    h.flush();
    h.close();
    assert_eq!(h.sent(), ["F. 1:1(0) ack 101"]);
    assert_eq!(
        discards(&mut h),
        [(Buffer::Receive, 100, DiscardCause::CloseUnread)]
    );
}

#[test]
fn test_knob_close_unread_counts_ooo() {
    // Only out-of-order data is waiting (nothing readable) when close() comes.
    let close_with_ooo = |value| {
        let mut h = established_with(set("close_unread_counts_ooo", value));
        h.send_data(101, 1, 100);
        h.flush();
        h.close();
        h.sent()
    };
    assert_eq!(close_with_ooo("false"), ["F. 1:1(0) ack 1"]);
    assert_eq!(close_with_ooo("true"), ["R. 1:1(0) ack 1"]);
}

#[test]
fn test_knob_data_after_close() {
    let mut h = fin_wait_1_from(established_with(set("data_after_close", "rst")));
    h.send_data(1, 1, 10);
    assert_eq!(h.sent(), ["R 1:1(0)"]);
    assert_eq!(rst_causes(&mut h), [RstCause::DataAfterClose]);

    let mut h = fin_wait_1_from(established_with(set("data_after_close", "ack-discard")));
    h.send_data(1, 1, 10);
    assert_eq!(h.state(), State::FinWait1);
    assert_eq!(
        discards(&mut h),
        [(Buffer::Receive, 10, DiscardCause::AfterClose)]
    );
    h.advance_ms(40);
    assert_eq!(h.sent(), [". 2:2(0) ack 11"], "acknowledged all the same");
}

#[test]
fn test_knob_shut_rd_unread() {
    let shut_rd = |value| {
        let mut h = established_with(set("shut_rd_unread", value));
        h.send_data(1, 1, 100);
        h.flush();
        h.shutdown(How::Rd);
        h
    };
    let mut h = shut_rd("keep");
    assert_eq!(h.read(1000), Some(Ok(100)));
    let mut h = shut_rd("discard");
    assert_eq!(
        discards(&mut h),
        [(Buffer::Receive, 100, DiscardCause::ShutRd)]
    );
    assert_eq!(h.read(1000), Some(Ok(0)));
    let mut h = shut_rd("rst");
    assert_eq!(h.sent(), ["R. 1:1(0) ack 101"]);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn test_knob_data_after_shut_rd() {
    // Data arriving after SHUT_RD, in ESTABLISHED and in FIN-WAIT-2 (after SHUT_WR too).
    let outcome = |value, also_wr| {
        let mut h = established_with(set("data_after_shut_rd", value));
        h.shutdown(How::Rd);
        if also_wr {
            h.shutdown(How::Wr);
            h.send(ACK, 1, 2);
        }
        h.flush();
        let ack = if also_wr { 2 } else { 1 };
        h.send_data(1, ack, 10);
        h.advance_ms(40);
        let rst = h.sent_segments().iter().any(|s| s.flags.rst());
        let unread = h.sock().map_or(0, |s| s.tcb.unread);
        (rst, unread)
    };
    assert_eq!(outcome("accept", false), (false, 10));
    assert_eq!(outcome("accept", true), (false, 10));
    assert_eq!(outcome("rst-in-fin-wait", false), (false, 10));
    assert_eq!(outcome("rst-in-fin-wait", true), (true, 0));
    assert_eq!(outcome("ack-discard", false), (false, 0));
    assert_eq!(outcome("rst", false), (true, 0));
}

#[test]
fn test_knob_read_after_shut_rd() {
    let mut h = established_with(set("read_after_shut_rd", "eof"));
    h.shutdown(How::Rd);
    assert_eq!(h.read(10), Some(Ok(0)));
    let mut h = established_with(set("read_after_shut_rd", "eshutdown"));
    h.shutdown(How::Rd);
    assert_eq!(h.read(10), Some(Err(Errno::ESHUTDOWN)));
}

// ---- linger and exit ---------------------------------------------------------

/// close() with SO_LINGER {1, 2} and data the zero-window peer never takes:
/// when (ms after close) the close returns, and what went out meanwhile.
fn linger_close(p: Personality, nonblocking: bool) -> (Option<CallResult>, Vec<u64>, H) {
    linger_close_after(p, nonblocking, |h| linger(h, 2))
}

/// close() with 1000 bytes stuck behind a zero window, after `set_linger`:
/// what close() returned at once, when (ms) it returned later.
fn linger_close_after(
    p: Personality,
    nonblocking: bool,
    set_linger: impl FnOnce(&mut H),
) -> (Option<CallResult>, Vec<u64>, H) {
    let mut h = established_with(p);
    h.nonblocking(nonblocking);
    h.zero_window();
    h.write(1000);
    set_linger(&mut h);
    let r = h.close();
    let mut returned = Vec::new();
    let done = |h: &H| {
        h.out
            .events
            .iter()
            .filter(|e| matches!(e, Event::CallDone { .. }))
            .count()
    };
    for ms in 1..=3_000 {
        let before = done(&h);
        h.advance_ms(1);
        if done(&h) > before {
            returned.push(ms);
        }
    }
    (r, returned, h)
}

#[test]
fn test_knob_linger_unit() {
    assert_eq!(linger_close(linux_with(&[]), false).1, [2_000]);
    assert_eq!(linger_close(set("linger_unit", "ticks"), false).1, [20]);
}

#[test]
fn test_knob_linger_storage() {
    let store = |storage: &str, unit: &str, l: u32| {
        let p = linux_with(&[("linger_storage", storage), ("linger_unit", unit)]);
        linger_close_after(p, false, |h| linger(h, l))
    };
    // Linux keeps 40000 s: close() is still blocked after 3 s.
    let (r, back, _) = store("unbounded", "seconds", 40_000);
    assert_eq!((r, back), (None, vec![]));
    // XNU's short: 40000 ticks wrap to −25536, which neither waits nor resets.
    let (r, back, mut h) = store("short", "ticks", 40_000);
    assert_eq!((r, back), (Some(Ok(0)), vec![]));
    assert_eq!(h.state(), State::FinWait1, "the graceful close goes on");
    assert!(rst_causes(&mut h).is_empty());
    // 65536 wraps to 0, an abortive close; 65636 to 100 ticks, one second.
    let (_, _, mut h) = store("short", "ticks", 65_536);
    assert_eq!(rst_causes(&mut h), [RstCause::LingerZero]);
    assert_eq!(store("short", "ticks", 65_636).1, [1_000]);
    // Winsock's u_short: 65538 s is 2 s; 65536 is {1, 0}.
    assert_eq!(store("u_short", "seconds", 65_538).1, [2_000]);
    let (_, _, mut h) = store("u_short", "seconds", 65_536);
    assert_eq!(rst_causes(&mut h), [RstCause::LingerZero]);
    // FreeBSD: EDOM above 65535, and the option stays off: close() returns at once.
    let p = linux_with(&[("linger_storage", "edom-above-65535")]);
    let (r, back, _) = linger_close_after(p, false, |h| {
        let sock = h.fd;
        let r = h.call(Call::Linger {
            sock,
            linger: Some(65_536),
        });
        assert_eq!(r, Some(Err(Errno::EDOM)));
    });
    assert_eq!((r, back), (Some(Ok(0)), vec![]));
    let p = linux_with(&[("linger_storage", "edom-above-65535")]);
    assert_eq!(linger_close_after(p, false, |h| linger(h, 2)).1, [2_000]);
}

#[test]
fn test_knob_linger_expiry() {
    let (_, _, mut h) = linger_close(linux_with(&[]), false);
    assert_eq!(h.state(), State::FinWait1, "the orphan goes on");
    assert!(!h.sent_segments().iter().any(|s| s.flags.rst()));
    let (_, _, mut h) = linger_close(set("linger_expiry", "rst"), false);
    assert!(h.freed());
    assert_eq!(rst_causes(&mut h), [RstCause::LingerTimeout]);
}

#[test]
fn test_knob_nonblocking_linger_close() {
    let (r, back, _) = linger_close(set("nonblocking_linger_close", "block"), true);
    assert_eq!((r, back), (None, vec![2_000]));
    let (r, back, h) = linger_close(set("nonblocking_linger_close", "return"), true);
    assert_eq!((r, back), (Some(Ok(0)), vec![]));
    assert_eq!(h.state(), State::FinWait1);
    let (r, _, h) = linger_close(set("nonblocking_linger_close", "ewouldblock"), true);
    assert_eq!(r, Some(Err(Errno::EAGAIN)));
    assert_eq!(h.state(), State::Established, "no disconnect started");
    assert_eq!(h.s().refs, 1, "the descriptor is still valid");
}

fn exit(h: &mut H) {
    let (now, pid) = (h.now, h.pid);
    h.host.exit(now, pid, &mut h.out);
}

#[test]
fn test_knob_process_exit() {
    let mut h = established_with(set("process_exit", "close"));
    exit(&mut h);
    assert_eq!(h.sent(), ["F. 1:1(0) ack 1"]);
    let mut h = established_with(set("process_exit", "reset"));
    exit(&mut h);
    assert_eq!(h.sent(), ["R. 1:1(0) ack 1"]);
    assert_eq!(rst_causes(&mut h), [RstCause::ProcessExit]);
}

#[test]
fn test_knob_exit_skips_linger() {
    // With the wait not skipped, the exiting process sits in close() until the linger
    // time runs out; with linger_expiry = rst that is an RST 2 s after exit.
    let exit_lingering = |skips| {
        let p = linux_with(&[("exit_skips_linger", skips), ("linger_expiry", "rst")]);
        let mut h = established_with(p);
        h.nonblocking(false);
        h.zero_window();
        h.write(1000);
        linger(&mut h, 2);
        h.flush();
        exit(&mut h);
        let blocked = h.host.procs[h.pid as usize].blocked.is_some();
        (blocked, h.send_times(3_000, |s| s.flags.rst()))
    };
    assert_eq!(exit_lingering("true"), (false, vec![]));
    assert_eq!(exit_lingering("false"), (true, vec![2_000]));
}

#[test]
fn test_knob_exit_drops_closed_pending() {
    // The process closed its socket (unsent data queued behind a zero window), then exits.
    let at_exit = |value| {
        let mut h = established_with(set("exit_drops_closed_pending", value));
        h.zero_window();
        h.write(1000);
        h.close();
        h.flush();
        exit(&mut h);
        h.sent()
    };
    assert_eq!(at_exit("false"), NO_SEGMENTS);
    assert_eq!(at_exit("true"), ["R. 1:1(0) ack 1"]);
}

// ---- RSTs received --------------------------------------------------------

#[test]
fn test_knob_rst_discards_unread() {
    let after_rst = |value| {
        let mut h = established_with(set("rst_discards_unread", value));
        h.send_data(1, 1, 100);
        h.send(RST, 101, 0);
        (h.read(1000), h.read(1000))
    };
    assert_eq!(
        after_rst("false"),
        (Some(Ok(100)), Some(Err(Errno::ECONNRESET)))
    );
    assert_eq!(
        after_rst("true"),
        (Some(Err(Errno::ECONNRESET)), Some(Ok(0)))
    );
}

#[test]
fn test_knob_write_after_rst() {
    let writes = |value| {
        let mut h = established_with(set("write_after_rst", value));
        h.send(RST, 1, 0);
        [h.write(1), h.write(1), h.write(1)]
    };
    let (reset, pipe, shut) = (
        Some(Err(Errno::ECONNRESET)),
        Some(Err(Errno::EPIPE)),
        Some(Err(Errno::ESHUTDOWN)),
    );
    assert_eq!(writes("error-then-epipe"), [reset, pipe, pipe]);
    assert_eq!(writes("epipe"), [pipe, pipe, pipe]);
    assert_eq!(writes("reset-then-eshutdown"), [reset, shut, shut]);
    assert_eq!(writes("reset"), [reset, reset, reset]);
}

#[test]
fn test_knob_read_after_rst() {
    let reads = |value| {
        let mut h = established_with(set("read_after_rst", value));
        h.send(RST, 1, 0);
        [h.read(10), h.read(10), h.read(10)]
    };
    let (reset, eof) = (Some(Err(Errno::ECONNRESET)), Some(Ok(0)));
    assert_eq!(reads("error-once-then-eof"), [reset, eof, eof]);
    assert_eq!(reads("error-always"), [reset, reset, reset]);
}
