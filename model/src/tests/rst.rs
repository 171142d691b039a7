//! RSTs: which ones we accept (RFC 9293 §3.10.7.4 second check, RFC 5961 §3),
//! what accepting one does to the buffers and the API, and the RSTs our own
//! close() sends (RFC 2525 §2.17, SO_LINGER {1, 0}). The handshake's RSTs are
//! in `handshake.rs`.

use super::*;
use crate::event::{Buffer, DiscardCause, RstCause};
use crate::socket::{Ctx, Ending};
use crate::Errno;

const NO_SEGMENTS: [&str; 0] = [];

fn rsts_sent(h: &mut H) -> Vec<(State, RstCause)> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::RstSent { state, cause, .. } => Some((state, cause)),
            _ => None,
        })
        .collect()
}

#[test]
fn test_established_rst_at_rcv_nxt_resets() {
    let mut h = established();
    h.send(RST, 1, 0);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert_eq!(
        h.edges(),
        [(State::Established, State::Closed, Rule::RcvRst)]
    );
    // ECONNRESET once, then EOF for ever; writes EPIPE (docs/sources.md#linux-obs-rst-read).
    assert_eq!(h.read(10), Some(Err(Errno::ECONNRESET)));
    assert_eq!(h.read(10), Some(Ok(0)));
    assert_eq!(h.read(10), Some(Ok(0)));
    assert_eq!(h.write(10), Some(Err(Errno::EPIPE)));
}

#[test]
fn test_established_rst_is_the_connection_s_ending() {
    let mut h = established();
    assert_eq!(h.s().ending, None);
    h.send(RST, 1, 0);
    assert_eq!(h.s().ending, Some(Ending::RstReceived));
}

#[test]
#[should_panic(expected = "already cut off")]
fn test_closed_a_second_ending_is_a_bug() {
    let mut h = established();
    h.send(RST, 1, 0);
    let p = Arc::clone(&h.host.personality);
    let mut ctx = Ctx {
        p: &p.knobs,
        now: h.now,
        out: &mut h.out,
    };
    h.host
        .sock_mut(h.sid)
        .finish(&mut ctx, Ending::Dropped, Rule::Abort);
}

#[test]
fn test_established_retransmission_limit_ends_the_connection_as_dropped() {
    let mut h = established();
    h.write(10);
    h.advance_ms(3_600_000);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.s().ending, Some(Ending::Dropped));
}

#[test]
fn test_established_rst_in_window_gets_a_challenge_ack() {
    // RFC 5961 §3.2: in the window but not at RCV.NXT → ACK, connection untouched.
    let mut h = established();
    h.send(RST, 100, 0);
    assert_eq!(h.sent(), [". 1:1(0) ack 1"]);
    assert_eq!(h.state(), State::Established);
    // The peer's answer to the challenge, at RCV.NXT, is accepted.
    h.send(RST, 1, 0);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn test_established_rst_out_of_window_is_ignored_silently() {
    let mut h = established();
    h.send(RST, 200_000, 0);
    h.send(RST, 0, 0); // just below RCV.NXT
    h.send(RST | ACK, u32::MAX - 10, 1);
    assert_eq!(h.sent(), NO_SEGMENTS, "no ACK for an unacceptable RST");
    assert_eq!(h.state(), State::Established);
}

#[test]
fn test_established_rst_with_unread_data_leaves_the_data_readable() {
    // FIONREAD 500; read 200, 300, then ECONNRESET, then 0
    // (docs/sources.md#linux-obs-rst-read).
    let mut h = established();
    h.send_data(1, 1, 500);
    h.send(RST | ACK, 501, 1);
    assert_eq!(discards(&mut h), []);
    assert_eq!(h.read(200), Some(Ok(200)));
    assert_eq!(h.read(1000), Some(Ok(300)));
    assert_eq!(h.read(1000), Some(Err(Errno::ECONNRESET)));
    assert_eq!(h.read(1000), Some(Ok(0)));
}

#[test]
fn test_established_rst_then_write_first_consumes_the_error() {
    // Write ECONNRESET, then EPIPE; read still gives the data, then 0
    // (docs/sources.md#linux-obs-rst-write).
    let mut h = established();
    h.send_data(1, 1, 500);
    h.send(RST | ACK, 501, 1);
    assert_eq!(h.write(1), Some(Err(Errno::ECONNRESET)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
    assert_eq!(h.read(1000), Some(Ok(500)));
    assert_eq!(h.read(1000), Some(Ok(0)));
}

#[test]
fn test_established_rst_throws_away_the_send_queue() {
    let mut h = established();
    h.zero_window();
    h.write(300);
    h.flush();
    h.send(RST, 1, 0);
    assert_eq!(
        discards(&mut h),
        [(Buffer::Send, 300, DiscardCause::RstReceived)]
    );
}

#[test]
fn test_established_syn_gets_a_challenge_ack() {
    // RFC 5961 §4: a SYN in a synchronized state is answered with an ACK.
    let mut h = established();
    h.send(SYN, 1, 0);
    assert_eq!(h.sent(), [". 1:1(0) ack 1"]);
    assert_eq!(h.state(), State::Established);
}

#[test]
fn test_close_wait_rst_gives_epipe_not_econnreset() {
    // In CLOSE-WAIT the RST's error is EPIPE; reads give 0
    // (docs/sources.md#linux-obs-rst-close-wait).
    let mut h = close_wait();
    h.write(1);
    h.send(RST, 2, 0);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
    assert_eq!(h.read(10), Some(Ok(0)));
    assert_eq!(h.read(10), Some(Ok(0)));
}

#[test]
fn test_close_wait_rst_one_below_rcv_nxt_resets() {
    // Linux tcp_reset_check (docs/sources.md#linux-obs-rst-below-rcv-nxt): our quick
    // ACK of the response drew an RST from the peer's listener, which left its FIN
    // behind it: seq = RCV.NXT − 1.
    let mut h = established();
    h.send_data(1, 1, 500);
    assert_eq!(h.sent(), [". 1:1(0) ack 501"]);
    h.send(FIN | ACK, 501, 1);
    assert_eq!(h.state(), State::CloseWait);
    h.send(RST, 501, 0);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.read(1000), Some(Ok(500)));
    assert_eq!(h.read(1000), Some(Ok(0)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
}

#[test]
fn test_established_rst_one_below_rcv_nxt_is_ignored() {
    // Without the peer's FIN, one below RCV.NXT is outside the window.
    let mut h = established();
    h.send_data(1, 1, 500);
    h.flush();
    h.send(RST, 500, 0);
    assert_eq!((h.state(), h.sent()), (State::Established, vec![]));
}

#[test]
fn test_fin_wait_2_rst_resets() {
    let mut h = fin_wait_2_from(fin_wait_1_half());
    h.send(RST, 1, 0);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.read(10), Some(Err(Errno::ECONNRESET)));
}

#[test]
fn test_last_ack_rst_closes_without_error() {
    let mut h = last_ack();
    h.send(RST, 2, 0);
    assert!(h.freed());
}

#[test]
fn test_closing_rst_closes() {
    let mut h = closing();
    h.send(RST, 2, 0);
    assert!(h.freed());
}

// ---- our RSTs -----------------------------------------------------------

#[test]
fn test_established_close_with_unread_data_sends_rst() {
    // close() with unread data → `R.` (docs/sources.md#linux-obs-close-unread)
    // with seq = SND.NXT; the unread bytes are the receiver's loss.
    let mut h = established();
    h.send_data(1, 1, 1000);
    h.flush();
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), ["R. 1:1(0) ack 1001"]);
    assert!(h.freed());
    let ev = h.events();
    assert!(ev.contains(&Event::RstSent {
        conn: crate::event::Conn {
            local: h.local,
            remote: h.remote
        },
        state: State::Established,
        cause: RstCause::CloseWithUnread
    }));
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Discard {
            buffer: Buffer::Receive,
            bytes: 1000,
            cause: DiscardCause::CloseUnread,
            ..
        }
    )));
}

#[test]
fn test_close_wait_close_with_unread_data_sends_rst() {
    // 300 bytes and the FIN unread → `R. seq 1 ack 302`
    // (docs/sources.md#linux-obs-close-unread).
    let mut h = established();
    h.send_data(1, 1, 300);
    h.send(FIN | ACK, 301, 1);
    h.flush();
    h.close();
    assert_eq!(h.sent(), ["R. 1:1(0) ack 302"]);
}

#[test]
fn test_close_wait_close_with_only_the_fin_unread_sends_fin() {
    // An unread EOF is not unread data (docs/sources.md#linux-obs-close-fin-only).
    let mut h = close_wait();
    h.close();
    assert_eq!(h.sent(), ["F. 1:1(0) ack 2"]);
}

#[test]
fn test_fin_wait_2_close_with_unread_data_sends_rst() {
    // SHUT_RDWR, then close() with data unread → `R. seq 2`
    // (docs/sources.md#linux-obs-close-unread).
    let mut h = established();
    h.send_data(1, 1, 1000);
    h.shutdown(How::RdWr);
    h.send(ACK, 1001, 2);
    assert_eq!(h.state(), State::FinWait2);
    h.flush();
    h.close();
    assert_eq!(h.sent(), ["R. 2:2(0) ack 1001"]);
}

#[test]
fn test_last_ack_close_with_unread_data_sends_rst() {
    // __tcp_close resets whatever the state when data was unread.
    let mut h = established();
    h.send_data(1, 1, 100);
    h.send(FIN | ACK, 101, 1);
    h.shutdown(How::Wr);
    assert_eq!(h.state(), State::LastAck);
    h.flush();
    h.close();
    assert_eq!(h.sent(), ["R. 2:2(0) ack 102"]);
    assert_eq!(
        rsts_sent(&mut h),
        [(State::LastAck, RstCause::CloseWithUnread)]
    );
}

#[test]
fn test_time_wait_close_with_unread_data_keeps_time_wait() {
    // The application's socket is already CLOSED in Linux (a timewait minisock took
    // over): no RST, and TIME-WAIT runs its course.
    let mut h = fin_wait_2_from(fin_wait_1_half());
    h.send_data(1, 2, 100);
    h.send(FIN | ACK, 101, 2);
    assert_eq!(h.state(), State::TimeWait);
    h.flush();
    h.close();
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert_eq!(h.state(), State::TimeWait);
    h.advance_ms(60_000);
    assert!(h.freed());
}

#[test]
fn test_established_linger_zero_close_sends_rst_and_discards_the_send_queue() {
    // `R.` with seq = SND.NXT; queued data is lost at the sender
    // (docs/sources.md#linux-obs-linger-zero).
    let mut h = established();
    h.zero_window();
    h.write(500);
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(0),
    });
    h.flush();
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), ["R. 1:1(0) ack 1"]);
    assert!(h.freed());
    assert_eq!(
        discards(&mut h),
        [(Buffer::Send, 500, DiscardCause::Abort(RstCause::LingerZero))]
    );
}

#[test]
fn test_close_wait_linger_zero_sends_rst() {
    // docs/sources.md#linux-obs-linger-zero.
    let mut h = close_wait();
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(0),
    });
    h.close();
    assert_eq!(h.sent(), ["R. 1:1(0) ack 2"]);
}

#[test]
fn test_fin_wait_2_linger_zero_sends_rst() {
    // `R. seq 2 ack 1` (docs/sources.md#linux-obs-linger-zero).
    let mut h = fin_wait_2_from(fin_wait_1_half());
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(0),
    });
    h.close();
    assert_eq!(h.sent(), ["R. 2:2(0) ack 1"]);
}

#[test]
fn test_last_ack_linger_zero_with_everything_sent_sends_no_rst() {
    // Linux tcp_disconnect: CLOSING/LAST-ACK only reset with data still unsent.
    let mut h = close_wait();
    h.shutdown(How::Wr);
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(0),
    });
    h.flush();
    h.close();
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert!(h.freed());
}

#[test]
fn test_syn_sent_linger_zero_sends_no_rst() {
    let mut h = syn_sent();
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(0),
    });
    h.close();
    assert_eq!(h.sent(), NO_SEGMENTS);
}

#[test]
fn test_established_unread_data_wins_over_linger_zero() {
    // __tcp_close: "Check zero linger _after_ checking for unread data."
    let mut h = established();
    h.send_data(1, 1, 10);
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(0),
    });
    h.flush();
    h.close();
    assert_eq!(
        rsts_sent(&mut h),
        [(State::Established, RstCause::CloseWithUnread)]
    );
}

#[test]
fn test_linux_rst_between_last_ack_and_rcv_nxt_draws_a_challenge_ack() {
    // As the kernel does it (tcpsim real --profile lan
    // scenarios/http-close-at-once.toml, Linux 6.18: the client has ACKed
    // 1448 octets, the next wait for its delayed ACK, the closed server's RST
    // at 1449 draws a challenge ACK of 2897): tcp_sequence() tests an RST
    // against the window from rcv_wup, the last ACK sent, so one between it
    // and RCV.NXT is let through and, not at RCV.NXT, draws a challenge ACK;
    // one before rcv_wup is dropped silently.
    let arrive = |rst_at: u32| {
        let mut h = established_with(linux_with(&[("quickack_segs", "1")]));
        h.send_data(1, 1, 1448);
        assert_eq!(h.sent(), [". 1:1(0) ack 1449"], "the quick ACK");
        h.send_data(1449, 1, 100);
        assert_eq!(h.sent(), NO_SEGMENTS, "the ACK of 1549 is delayed");
        h.send(RST, rst_at, 0);
        (h.state(), h.sent())
    };
    assert_eq!(
        arrive(1449),
        (State::Established, vec![". 1:1(0) ack 1549".to_string()])
    );
    assert_eq!(arrive(1), (State::Established, vec![]));
    assert_eq!(arrive(1549).0, State::Closed);
}
