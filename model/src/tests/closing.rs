//! FIN-WAIT-1, FIN-WAIT-2, CLOSING, TIME-WAIT, CLOSE-WAIT, LAST-ACK: the
//! graceful close from both ends, simultaneous close, and the timers that end
//! a connection (RFC 9293 §3.6, §3.10.4, §3.10.7.4 eighth check, §3.10.8).

use super::*;
use crate::event::RstCause;
use crate::socket::CloseTimer;
use crate::Errno;

const NO_SEGMENTS: [&str; 0] = [];

#[test]
fn test_established_close_with_data_in_flight_sends_fin_after_it() {
    let mut h = established();
    h.write(100);
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), ["P. 1:101(100) ack 1", "F. 101:101(0) ack 1"]);
}

#[test]
fn test_established_close_with_unsent_data_sends_fin_on_the_last_segment() {
    let mut h = established();
    h.zero_window();
    h.write(100);
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), NO_SEGMENTS, "FIN waits behind the data");
    h.send(ACK, 1, 1);
    assert_eq!(h.sent(), ["FP. 1:101(100) ack 1"]);
    assert_eq!(h.state(), State::FinWait1);
}

#[test]
fn test_fin_wait_1_ack_of_fin_goes_to_fin_wait_2_with_orphan_timer() {
    let mut h = fin_wait_1();
    h.send(ACK, 1, 2);
    assert_eq!(h.state(), State::FinWait2);
    assert_eq!(
        h.edges(),
        [(State::FinWait1, State::FinWait2, Rule::RcvAckOfFin)]
    );
    // Linux: tcp_fin_timeout = 60 s for an orphan.
    let (at, which) = h.s().tcb.close_timer.expect("FIN-WAIT-2 timer");
    assert_eq!(
        (at.saturating_since(h.now), which),
        (Duration::from_secs(60), CloseTimer::FinWait2)
    );
}

#[test]
fn test_fin_wait_1_ack_of_part_of_the_data_stays() {
    let mut h = established();
    h.write(100);
    h.close();
    h.flush();
    h.send(ACK, 1, 51);
    assert_eq!(h.state(), State::FinWait1);
    h.send(ACK, 1, 101);
    assert_eq!(
        h.state(),
        State::FinWait1,
        "the FIN is not acknowledged yet"
    );
    h.send(ACK, 1, 102);
    assert_eq!(h.state(), State::FinWait2);
}

#[test]
fn test_fin_wait_1_fin_with_ack_of_fin_passes_through_fin_wait_2() {
    // §3.10.7.4 fifth check: "if the FIN segment is now acknowledged, then enter
    // FIN-WAIT-2 and continue processing in that state"; the eighth then takes
    // FIN-WAIT-2 to TIME-WAIT. Linux, FreeBSD and XNU all do the ACK first.
    let mut h = fin_wait_1();
    h.send(FIN | ACK, 1, 2);
    assert_eq!(h.state(), State::TimeWait);
    assert_eq!(
        h.edges(),
        [
            (State::FinWait1, State::FinWait2, Rule::RcvAckOfFin),
            (State::FinWait2, State::TimeWait, Rule::RcvFin)
        ]
    );
    assert_eq!(h.sent(), [". 2:2(0) ack 2"]);
}

#[test]
fn test_fin_wait_1_data_with_ack_of_fin_is_refused_from_fin_wait_2() {
    // The peer's data acknowledges our FIN: FIN-WAIT-2 first, then the data after
    // close() draws RST there (Linux tcp_rcv_state_process: FIN_WAIT1 → FIN_WAIT2,
    // then tcp_done for data beyond rcv_nxt on a dead socket).
    let mut h = fin_wait_1();
    h.send_data(1, 2, 10);
    assert_eq!(h.sent(), ["R 2:2(0)"]);
    assert_eq!(
        h.edges(),
        [
            (State::FinWait1, State::FinWait2, Rule::RcvAckOfFin),
            (State::FinWait2, State::Closed, Rule::Abort)
        ]
    );
}

#[test]
fn test_fin_wait_1_fin_without_ack_of_fin_goes_to_closing() {
    let mut h = fin_wait_1();
    h.send(FIN | ACK, 1, 1);
    assert_eq!(h.state(), State::Closing);
    assert_eq!(h.edges(), [(State::FinWait1, State::Closing, Rule::RcvFin)]);
    assert_eq!(h.sent(), [". 2:2(0) ack 2"]);
}

#[test]
fn test_fin_wait_1_ack_of_fin_with_out_of_order_fin_goes_to_fin_wait_2() {
    let mut h = fin_wait_1_half();
    let seg = Segment {
        len: 10,
        ..h.peer(FIN | ACK, 11, 2)
    };
    h.inject(seg);
    assert_eq!(h.state(), State::FinWait2, "the FIN waits for the hole");
    h.send_data(1, 2, 10);
    assert_eq!(h.state(), State::TimeWait);
    assert_eq!(h.read(100), Some(Ok(20)));
}

#[test]
fn test_fin_wait_1_fin_is_retransmitted() {
    let mut h = fin_wait_1();
    assert_eq!(
        h.send_times(1_000, |s| s.flags.fin()),
        [200, 600],
        "RTO from the handshake, then doubled"
    );
}

#[test]
fn test_fin_wait_1_orphan_gives_up_after_orphan_retries() {
    // tcp_orphan_retries = 0 means 8: the FIN goes out 1 + 8 times, then the orphan dies
    // silently (Linux tcp_write_err sends no RST).
    let mut h = fin_wait_1();
    let fins = h.send_times(600_000, |s| s.flags.fin());
    assert_eq!(fins.len(), 8);
    assert!(h.freed());
    assert_eq!(h.sent(), NO_SEGMENTS);
}

#[test]
fn test_fin_wait_1_orphan_data_from_the_peer_draws_a_bare_rst() {
    // Linux tcp_rcv_state_process: FIN-WAIT-1/2 with RCV_SHUTDOWN and new data →
    // tcp_reset, answered from the segment: `R seq <its ack> win 0`
    // (docs/sources.md#linux-obs-data-after-close).
    let mut h = fin_wait_1();
    h.send_data(1, 1, 10);
    let rst = h.sent_segments();
    assert_eq!(rst.len(), 1);
    assert_eq!(h.render(&rst[0]), "R 1:1(0)");
    assert_eq!(rst[0].wnd, 0);
    assert!(h.freed());
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::RstSent {
            cause: RstCause::DataAfterClose,
            state: State::FinWait1,
            ..
        }
    )));
}

#[test]
fn test_fin_wait_1_half_close_still_receives_data() {
    let mut h = fin_wait_1_half();
    h.send_data(1, 2, 10);
    assert_eq!(h.state(), State::FinWait2);
    assert_eq!(h.read(100), Some(Ok(10)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)), "shut for writing");
}

#[test]
fn test_fin_wait_2_fin_goes_to_time_wait() {
    let mut h = fin_wait_2();
    h.send(FIN | ACK, 1, 2);
    assert_eq!(h.state(), State::TimeWait);
    assert_eq!(
        h.edges(),
        [(State::FinWait2, State::TimeWait, Rule::RcvFin)]
    );
}

#[test]
fn test_fin_wait_2_orphan_timer_expires_silently() {
    // The FIN-WAIT-2 orphan disappears after 60 s, nothing on the wire; the peer's later
    // write draws a bare R from no socket (docs/sources.md#linux-obs-fin-wait-2).
    let mut h = fin_wait_2();
    h.advance_ms(59_999);
    assert_eq!(h.state(), State::FinWait2);
    h.advance_ms(1);
    assert!(h.freed());
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert_eq!(
        h.edges(),
        [(State::FinWait2, State::Closed, Rule::FinWait2Timeout)]
    );
    h.send_data(1, 2, 1);
    assert_eq!(h.sent(), ["R 2:2(0)"]);
}

#[test]
fn test_fin_wait_2_half_close_has_no_timer() {
    // shutdown(SHUT_WR) with the fd kept waits for ever
    // (docs/sources.md#linux-obs-fin-wait-2).
    let mut h = fin_wait_2_from(fin_wait_1_half());
    assert_eq!(h.s().tcb.close_timer, None);
    h.advance_ms(3_600_000);
    assert_eq!(h.state(), State::FinWait2);
    // close() makes it an orphan, which arms the timer.
    h.close();
    assert!(h.s().tcb.close_timer.is_some());
    h.advance_ms(60_000);
    assert!(h.freed());
}

#[test]
fn test_fin_wait_2_shut_rd_data_draws_rst() {
    // SHUT_RD then SHUT_WR (fd kept), then peer data → bare R, our read gets
    // ECONNRESET once, then 0 (docs/sources.md#linux-obs-shut-rd-fin-wait).
    let mut h = established();
    h.shutdown(How::Rd);
    h.shutdown(How::Wr);
    h.send(ACK, 1, 2);
    h.flush();
    h.send_data(1, 2, 1000);
    assert_eq!(h.sent(), ["R 2:2(0)"]);
    assert_eq!(h.read(100), Some(Err(Errno::ECONNRESET)));
    assert_eq!(h.read(100), Some(Ok(0)));
}

#[test]
fn test_closing_ack_of_fin_goes_to_time_wait() {
    let mut h = closing();
    h.send(ACK, 2, 2);
    assert_eq!(h.state(), State::TimeWait);
    assert_eq!(
        h.edges(),
        [(State::Closing, State::TimeWait, Rule::RcvAckOfFin)]
    );
}

#[test]
fn test_closing_retransmits_its_fin() {
    let mut h = closing();
    h.advance_ms(201);
    assert_eq!(h.sent(), ["F. 1:1(0) ack 2"]);
    h.send(ACK, 2, 2);
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn test_time_wait_expires_after_2msl() {
    // TIME-WAIT lasts 60 s (TCP_TIMEWAIT_LEN) and ends silently
    // (docs/sources.md#linux-obs-time-wait).
    let mut h = time_wait();
    h.advance_ms(59_999);
    assert_eq!(h.state(), State::TimeWait);
    h.advance_ms(1);
    assert!(h.freed());
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert_eq!(
        h.edges(),
        [(State::TimeWait, State::Closed, Rule::TimeWaitExpired)]
    );
}

#[test]
fn test_time_wait_retransmitted_fin_is_acked_and_restarts_2msl() {
    // Our ACK of the peer's FIN was lost; the peer retransmits its FIN.
    let mut h = time_wait();
    h.advance_ms(30_000);
    h.send(FIN | ACK, 1, 2);
    assert_eq!(h.sent(), [". 2:2(0) ack 2"]);
    h.advance_ms(59_999);
    assert_eq!(h.state(), State::TimeWait);
    h.advance_ms(1);
    assert!(h.freed());
}

#[test]
fn test_time_wait_pure_ack_is_ignored() {
    let mut h = time_wait();
    h.send(ACK, 2, 2);
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn test_time_wait_bare_ack_off_rcv_nxt_is_acked() {
    // Only a bare ACK at RCV.NXT passes in silence; one beyond it (in the
    // window) or below it is answered, TIME-WAIT kept (Linux
    // tcp_timewait_state_process, FreeBSD tcp_twcheck; the FreeBSD suite's
    // rcv-ack-time-wait-using-shutdown-middle and -outside-left scripts).
    let mut h = time_wait();
    h.send(ACK, 3, 2);
    assert_eq!(h.sent(), [". 2:2(0) ack 2"]);
    h.send(ACK, 1, 2);
    assert_eq!(h.sent(), [". 2:2(0) ack 2"]);
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn test_time_wait_rst_at_rcv_nxt_kills_it() {
    // tcp_rfc1337 = 0: an RST ends TIME-WAIT early (TIME-WAIT assassination).
    let mut h = time_wait();
    h.send(RST, 2, 0);
    assert!(h.freed());
    assert_eq!(h.edges(), [(State::TimeWait, State::Closed, Rule::RcvRst)]);
}

#[test]
fn test_time_wait_rst_elsewhere_is_ignored() {
    let mut h = time_wait();
    h.send(RST, 500, 0);
    assert_eq!(h.state(), State::TimeWait);
    assert_eq!(h.sent(), NO_SEGMENTS);
}

#[test]
fn test_time_wait_old_syn_is_answered_with_an_ack() {
    let mut h = time_wait();
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), [". 2:2(0) ack 2"]);
    assert_eq!(h.state(), State::TimeWait);
}

/// The server side closed first and sits in TIME-WAIT; its listener is still open.
fn server_time_wait() -> H {
    let mut h = established_passive();
    h.close();
    h.send(ACK, 1, 2);
    h.send(FIN | ACK, 1, 2);
    assert_eq!(h.state(), State::TimeWait);
    h.flush();
    h
}

#[test]
fn test_time_wait_new_syn_with_higher_seq_reopens_through_the_listener() {
    // Linux tcp_timewait_state_process: a SYN after rcv_nxt is TCP_TW_SYN.
    let mut h = server_time_wait();
    h.send(SYN, 100_000, 0);
    assert_eq!(
        h.edges(),
        [
            (State::TimeWait, State::Closed, Rule::TimeWaitReopened),
            (State::Listen, State::SynReceived, Rule::RcvSyn)
        ]
    );
    let syn_ack = h.sent_segments();
    assert_eq!(syn_ack.len(), 1);
    assert_eq!(syn_ack[0].flags, SYN | ACK);
    assert_eq!(syn_ack[0].ack, Seq(PEER_ISS + 100_001));
    let child = child_of(&h, h.remote);
    assert_eq!(h.host.sock(child).state, State::SynReceived);
}

#[test]
fn test_close_wait_read_gives_data_then_eof_for_ever() {
    // docs/sources.md#linux-obs-close-wait-read.
    let mut h = established();
    h.send_data(1, 1, 10);
    h.send(FIN | ACK, 11, 1);
    assert_eq!(h.state(), State::CloseWait);
    assert_eq!(h.read(100), Some(Ok(10)));
    for _ in 0..3 {
        assert_eq!(h.read(100), Some(Ok(0)));
    }
}

#[test]
fn test_close_wait_write_still_works() {
    let mut h = close_wait();
    assert_eq!(h.write(10), Some(Ok(10)));
    assert_eq!(h.sent(), ["P. 1:11(10) ack 2"]);
}

#[test]
fn test_close_wait_data_after_the_fin_is_ignored() {
    let mut h = close_wait();
    h.send_data(2, 1, 10);
    assert_eq!(h.state(), State::CloseWait);
    assert_eq!(h.s().tcb.unread, 0);
}

#[test]
fn test_close_wait_close_sends_fin_and_last_ack_ends_on_its_ack() {
    let mut h = last_ack();
    h.send(ACK, 2, 2);
    assert!(h.freed());
    assert_eq!(
        h.edges(),
        [(State::LastAck, State::Closed, Rule::RcvAckOfFin)]
    );
    assert_eq!(h.sent(), NO_SEGMENTS);
}

#[test]
fn test_close_wait_shutdown_wr_goes_to_last_ack_keeping_the_socket() {
    let mut h = close_wait();
    h.shutdown(How::Wr);
    assert_eq!(h.sent(), ["F. 1:1(0) ack 2"]);
    assert_eq!(h.state(), State::LastAck);
    h.send(ACK, 2, 2);
    assert_eq!(h.state(), State::Closed);
    assert!(!h.freed(), "the application still holds it");
    // shutdown again on the CLOSED socket is ENOTCONN (docs/sources.md#linux-obs-shut-wr).
    assert_eq!(h.shutdown(How::Wr), Some(Err(Errno::ENOTCONN)));
    assert_eq!(h.close(), Some(Ok(0)));
    assert!(h.freed());
}

#[test]
fn test_last_ack_retransmits_fin_then_gives_up() {
    let mut h = last_ack();
    let fins = h.send_times(600_000, |s| s.flags.fin());
    assert_eq!(fins.len(), 8, "orphan_retries = 8");
    assert!(h.freed());
}

#[test]
fn test_fin_wait_1_orphan_behind_a_zero_window_dies_silently_when_backoff_tops_out() {
    // docs/sources.md#linux-obs-orphan-zero-window: the orphan keeps probing with
    // backoff (answered `win 0`), sends neither FIN nor RST, and vanishes ~337 s after
    // close() once the probe interval reached the 120 s RTO cap. Here: probes at 0.2 s
    // doubling to 102.4 s, one capped 120 s interval, gone at 324.6 s.
    let (mut h, zero) = zero_window_orphan(linux());
    let start = h.now;
    let mut probes = 0;
    while !h.freed() && h.now.saturating_since(start) < Duration::from_secs(1_000) {
        assert!(h.next_timer_within_ms(1_000_000));
        for s in h.sent_segments() {
            assert_eq!(s.flags, ACK, "only probes: no FIN, no RST");
            probes += 1;
            h.inject(zero); // the peer answers every probe, still with win 0
        }
    }
    assert!(h.freed());
    assert_eq!(probes, 10);
    assert_eq!(h.now.saturating_since(start).as_ms(), 324_600);
}

/// The client of linger-big-queue on `--profile lan`: 46336 octets unread
/// (the quick ACKs ended once the buffer was half full), then the peer's last
/// segment with its FIN, and 10 ms later the tail loss probe's duplicate of it.
/// Returns the harness after the duplicate, and what went out at once.
fn close_wait_duplicate_with_buffer_half_full(old_data_ack_snd_check: bool) -> (H, usize) {
    let knob = old_data_ack_snd_check.to_string();
    let mut h = established_with(linux_with(&[("old_data_ack_snd_check", &knob)]));
    let mut seq = 1;
    while seq + 2 * MSS < 46_337 {
        h.send_data(seq, 1, MSS);
        seq += MSS;
    }
    assert_eq!(h.s().tcb.quick_acks, 0, "quick-ACK mode over");
    h.flush();
    let last = Segment {
        len: 46_337 - seq,
        ..h.peer(FIN | ACK, seq, 1)
    };
    h.inject(last);
    assert_eq!(h.state(), State::CloseWait);
    assert!(h.sent().is_empty(), "the FIN's ACK is delayed (ping-pong)");
    h.advance_ms(10);
    assert!(h.sent().is_empty());
    h.inject(last);
    let at_once = h.sent().len();
    (h, at_once)
}

#[test]
fn test_knob_old_data_ack_snd_check() {
    // Linux (on): tcp_data_queue's old-data path schedules the ACK, and
    // __tcp_ack_snd_check's window test ends quick-ACK mode with the buffer
    // half full, so the duplicate's ACK waits for the delayed-ACK timer that
    // the FIN armed: 30 ms more, not 40 from the duplicate.
    let (mut h, at_once) = close_wait_duplicate_with_buffer_half_full(true);
    assert_eq!(at_once, 0, "the duplicate is not ACKed at once");
    h.advance_ms(29);
    assert!(h.sent().is_empty());
    h.advance_ms(2);
    assert_eq!(h.sent(), [". 1:1(0) ack 46338"], "the delayed ACK");
    // Off: an unacceptable segment, ACKed at once.
    let (_, at_once) = close_wait_duplicate_with_buffer_half_full(false);
    assert_eq!(at_once, 1, "the duplicate is ACKed at once");
}
