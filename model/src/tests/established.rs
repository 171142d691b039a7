//! ESTABLISHED: sending and receiving data, delayed ACK, reassembly, flow
//! control (zero window, persist probes, window updates) and retransmission
//! (RFC 9293 §3.8, §3.10.7.4; RFC 6298; RFC 5681; RFC 1122 §4.2.3.2).

use super::*;
use crate::event::{Buffer, DiscardCause};
use crate::Errno;

#[test]
fn test_established_write_sends_data_with_psh() {
    let mut h = established();
    assert_eq!(h.write(100), Some(Ok(100)));
    assert_eq!(h.sent(), ["P. 1:101(100) ack 1"]);
    h.check();
}

#[test]
fn test_established_write_splits_by_mss_and_pushes_the_last() {
    let mut h = established();
    assert_eq!(h.write(3000), Some(Ok(3000)));
    assert_eq!(
        h.sent(),
        [
            ". 1:1461(1460) ack 1",
            ". 1461:2921(1460) ack 1",
            "P. 2921:3001(80) ack 1"
        ]
    );
}

#[test]
fn test_established_initial_cwnd_limits_the_first_flight() {
    // RFC 6928: ten segments; the rest goes out as ACKs open cwnd (slow start).
    let mut h = established();
    assert_eq!(h.write(16_384), Some(Ok(16_384)));
    assert_eq!(h.sent().len(), 10);
    h.send(ACK, 1, 1 + 2 * MSS);
    assert_eq!(
        h.sent(),
        [". 14601:16061(1460) ack 1", "P. 16061:16385(324) ack 1"]
    );
    h.check();
}

/// `psh_ends_burst` (Linux, observed on 6.18 by packetdrill): the last
/// segment of a flight the congestion window stops carries PSH, though more is
/// queued; without the knob (BSD: PSH when the segment empties the send
/// buffer) it goes without. The last segment of all carries PSH either way.
#[test]
fn test_established_psh_on_the_last_segment_of_a_window_limited_burst() {
    for (ends_burst, tenth) in [
        ("true", "P. 13141:14601(1460) ack 1"),
        ("false", ". 13141:14601(1460) ack 1"),
    ] {
        let mut h = established_with(linux_with(&[("psh_ends_burst", ends_burst)]));
        assert_eq!(h.write(16_384), Some(Ok(16_384)));
        let sent = h.sent();
        assert_eq!(sent.len(), 10, "psh_ends_burst = {ends_burst}");
        assert!(sent[..9].iter().all(|s| s.starts_with(". ")), "{sent:?}");
        assert_eq!(sent[9], tenth, "psh_ends_burst = {ends_burst}");
        h.send(ACK, 1, 1 + 2 * MSS);
        assert_eq!(
            h.sent(),
            [". 14601:16061(1460) ack 1", "P. 16061:16385(324) ack 1"]
        );
        h.check();
    }
}

/// A corked tail is held by the cork, not the window: the burst before it
/// carries no PSH (as on Linux: scenarios/cork-tail-after-close.toml passes
/// on the kernel with `> . 1:1449(1448)`).
#[test]
fn test_established_psh_not_set_before_a_corked_tail() {
    let mut h = established();
    assert_eq!(
        h.call(Call::Cork {
            sock: h.fd,
            on: true
        }),
        Some(Ok(0))
    );
    assert_eq!(h.write(2000), Some(Ok(2000)));
    assert_eq!(h.sent(), [". 1:1461(1460) ack 1"]);
}

#[test]
fn test_established_send_buffer_full_gives_eagain() {
    // SO_SNDBUF = tcp_wmem[1] = 16384 in the Linux personality, not autotuned.
    let mut h = established_with(fixed_snd_buf());
    assert_eq!(h.write(20_000), Some(Ok(16_384)));
    assert_eq!(h.write(1), Some(Err(Errno::EAGAIN)));
    // An ACK frees space: the next write takes what fits.
    h.send(ACK, 1, 1001);
    assert_eq!(h.write(5_000), Some(Ok(1000)));
}

#[test]
fn test_established_blocking_write_finishes_as_acks_free_space() {
    let mut h = established_with(fixed_snd_buf());
    h.nonblocking(false);
    assert_eq!(h.write(20_000), None, "blocks with 16384 queued");
    h.flush();
    h.send(ACK, 1, 1 + 10 * MSS);
    let done: Vec<_> = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::CallDone { .. }))
        .collect();
    assert_eq!(
        done,
        [Event::CallDone {
            pid: h.pid,
            result: Ok(20_000)
        }]
    );
}

#[test]
fn test_established_data_is_acked_after_the_delayed_ack_timeout() {
    // delack_ms = 40 (Linux TCP_DELACK_MIN), once quick-ACK mode is over.
    let mut h = established_with(delayed_acks());
    h.send_data(1, 1, 100);
    assert_eq!(h.sent(), Vec::<String>::new());
    h.advance_ms(39);
    assert_eq!(h.sent(), Vec::<String>::new());
    h.advance_ms(1);
    assert_eq!(h.sent(), [". 1:1(0) ack 101"]);
    assert_eq!(h.read(1000), Some(Ok(100)));
}

#[test]
fn test_established_first_data_is_acked_at_once() {
    // Linux quick-ACK mode (tcp_event_data_recv → tcp_incr_quickack): the first data
    // segment after the handshake is ACKed at once (docs/sources.md#linux-obs-ack-timing).
    let mut h = established();
    h.send_data(1, 1, 100);
    assert_eq!(h.sent(), [". 1:1(0) ack 101"]);
    assert_eq!(h.s().tcb.quick_acks, 15, "16 quick ACKs, one used");
}

#[test]
fn test_established_quick_acks_run_out_and_come_back_after_an_idle_spell() {
    // Two quick ACKs, then the delayed-ACK rules; after an idle spell longer than
    // the RTO (200 ms here) quick-ACK mode starts again (tcp_event_data_recv).
    let mut h = established_with(linux_with(&[("quickack_segs", "2")]));
    for seq in [1, 11] {
        h.send_data(seq, 1, 10);
        assert_eq!(h.sent().len(), 1, "quick ACK");
    }
    h.send_data(21, 1, 10);
    assert_eq!(h.sent(), Vec::<String>::new(), "delayed");
    h.advance_ms(300);
    assert_eq!(h.sent(), [". 1:1(0) ack 31"]);
    h.send_data(31, 1, 10);
    assert_eq!(h.sent(), [". 1:1(0) ack 41"], "quick again");
}

#[test]
fn test_established_quick_acks_are_capped_by_the_window() {
    // quick = rcv_wnd / (2·MSS), at least 2: a 4380-byte window (half an 8760-byte
    // buffer) holds one.
    let mut h = established_with(linux_with(&[("rcv_buf_bytes", "8760")]));
    h.send_data(1, 1, 10);
    assert_eq!(h.sent().len(), 1);
    assert_eq!(h.s().tcb.quick_acks, 0);
}

#[test]
fn test_established_fin_after_data_is_acked_after_the_delayed_ack_timeout() {
    // docs/sources.md#linux-obs-ack-timing: the FIN's ACK waits ~41 ms (tcp_fin enters
    // ping-pong mode); a close() within that time carries the ACK on our FIN.
    let mut h = established();
    h.send_data(1, 1, 300);
    assert_eq!(h.sent(), [". 1:1(0) ack 301"]);
    h.send(FIN | ACK, 301, 1);
    assert_eq!(h.state(), State::CloseWait);
    assert_eq!(h.sent(), Vec::<String>::new());
    h.advance_ms(20);
    assert_eq!(h.read(1000), Some(Ok(300)));
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), ["F. 1:1(0) ack 302"]);
}

#[test]
fn test_established_fin_on_a_connection_without_data_is_acked_at_once() {
    // ATO 0 before any data: the delayed ACK fires on the next tick (~1 ms:
    // docs/sources.md#linux-obs-ack-timing).
    let mut h = established();
    h.send(FIN | ACK, 1, 1);
    assert_eq!(h.sent(), [". 1:1(0) ack 2"]);
}

#[test]
fn test_established_second_full_segment_is_acked_at_once() {
    // RFC 1122 §4.2.3.2: ACK at least every second full-sized segment.
    let mut h = established_with(delayed_acks());
    h.send_data(1, 1, MSS);
    assert_eq!(h.sent(), Vec::<String>::new());
    h.send_data(1 + MSS, 1, MSS);
    assert_eq!(h.sent(), [format!(". 1:1(0) ack {}", 1 + 2 * MSS)]);
    assert_eq!(
        h.s().tcb.delack_at,
        None,
        "the ACK cancelled the delayed ACK"
    );
}

#[test]
fn test_established_data_piggybacks_the_pending_ack() {
    let mut h = established_with(delayed_acks());
    h.send_data(1, 1, 100);
    assert_eq!(h.write(10), Some(Ok(10)));
    assert_eq!(h.sent(), ["P. 1:11(10) ack 101"]);
    h.advance_ms(100);
    assert_eq!(h.sent(), Vec::<String>::new(), "no ACK left owed");
}

#[test]
fn test_established_out_of_order_data_is_acked_at_once_and_reassembled() {
    let mut h = established();
    h.send_data(101, 1, 100);
    assert_eq!(h.sent(), [". 1:1(0) ack 1"], "duplicate ACK for the hole");
    assert_eq!(h.s().tcb.unread, 0);
    h.send_data(301, 1, 100);
    assert_eq!(h.sent(), [". 1:1(0) ack 1"]);
    h.send_data(1, 1, 100);
    assert_eq!(h.sent(), [". 1:1(0) ack 201"], "the hole at 201 remains");
    h.send_data(201, 1, 100);
    assert_eq!(h.sent(), [". 1:1(0) ack 401"]);
    assert_eq!(h.read(1000), Some(Ok(400)));
}

#[test]
fn test_established_out_of_order_fin_waits_for_the_data() {
    let mut h = established();
    let fin = Segment {
        len: 100,
        ..h.peer(ACK | FIN, 101, 1)
    };
    h.inject(fin);
    assert_eq!(h.state(), State::Established);
    assert_eq!(h.sent(), [". 1:1(0) ack 1"]);
    h.send_data(1, 1, 100);
    assert_eq!(h.state(), State::CloseWait);
    assert_eq!(h.sent(), [". 1:1(0) ack 202"]);
    assert_eq!(h.read(1000), Some(Ok(200)));
    assert_eq!(h.read(1000), Some(Ok(0)));
}

#[test]
fn test_established_duplicate_data_is_acked_again_at_once() {
    let mut h = established();
    h.send_data(1, 1, 100);
    h.advance_ms(40);
    h.flush();
    h.send_data(1, 1, 100);
    assert_eq!(h.sent(), [". 1:1(0) ack 101"]);
    assert_eq!(h.s().tcb.unread, 100);
}

#[test]
fn test_established_data_beyond_the_window_is_trimmed() {
    let mut h = established_with(plain_window(1000));
    h.send_data(1, 1, 1500);
    assert_eq!(h.s().tcb.unread, 1000);
    let acks = h.sent_segments();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].ack, Seq(PEER_ISS + 1001));
    assert_eq!(acks[0].wnd, 0);
    // Out-of-order data beyond the right edge is not kept either.
    h.send_data(1501, 1, 100);
    assert!(h.s().tcb.ooo.is_empty());
}

#[test]
fn test_established_rcvbuf_shrunk_under_data_keeps_the_window_promised() {
    // SO_RCVBUF made smaller than what is held and promised: the window already
    // offered is honoured (its right edge never moves left), so the buffer holds
    // more than its new size, and nothing more is offered until reads free it.
    // (Without Linux's floor, SOCK_MIN_RCVBUF: 500 → 1000, not 2304.)
    let mut p = plain_window(4000);
    p.set("setsockopt_buf_min_bytes", "0", "test")
        .expect("valid knob");
    let mut h = established_with(p);
    h.send_data(1, 1, 1000);
    h.advance_ms(50);
    let acks = h.sent_segments();
    assert_eq!((acks[0].ack.0 - PEER_ISS, acks[0].wnd), (1001, 3000));
    let fd = h.fd;
    assert_eq!(
        h.call(Call::RcvBuf {
            sock: fd,
            bytes: 500
        }),
        Some(Ok(0))
    );
    let mut acks = Vec::new();
    for (seq, len) in [(1001, 1000), (2001, 2000)] {
        h.send_data(seq, 1, len);
        h.advance_ms(50);
        let a = h.sent_segments().pop().expect("an ACK");
        acks.push((a.ack.0 - PEER_ISS, a.wnd));
    }
    assert_eq!(acks, [(2001, 2000), (4001, 0)]);
    assert_eq!(h.s().tcb.unread, 4000);
    assert_eq!(h.s().rcv_buf, 1000, "Linux doubles SO_RCVBUF");
    assert_eq!(h.read(3500), Some(Ok(3500)));
    let a = h.sent_segments().pop().expect("a window update");
    assert_eq!((a.ack.0 - PEER_ISS, a.wnd), (4001, 500));
}

#[test]
fn test_established_small_rcvbuf_takes_4368_octets_as_linux_does() {
    // docs/sources.md#linux-obs-rcv-window: SO_RCVBUF 4096 → an 8192-octet buffer; SYN
    // win 2920 (half, in 1460-octet MSS units); the 2920 stays offered after the first
    // 1448 (right edge 4368), the free space then shrinks below an MSS, and the right
    // edge never moves back: 3 × 1448 + 24 get in, then the window is 0.
    let mut h = closed();
    let (fd, to) = (h.fd, h.remote);
    assert_eq!(
        h.call(Call::RcvBuf {
            sock: fd,
            bytes: 4096
        }),
        Some(Ok(0))
    );
    h.call(Call::Connect {
        sock: fd,
        to: to.into(),
    });
    let syn = h.sent_segments();
    assert_eq!(
        (syn[0].wnd, syn[0].mss, syn[0].opts),
        (2920, 1460, SynOpts(SynOpts::TS.0 | SynOpts::WS.0))
    );
    let syn_ack = Segment {
        opts: SynOpts::TS,
        ..h.peer(SYN | ACK, 0, 1)
    };
    h.inject(syn_ack);
    assert_eq!(h.s().tcb.mss, 1448, "MSS less the timestamps option");
    h.flush();
    let mut acks = Vec::new();
    for (seq, len) in [(1, 1448), (1449, 1448), (2897, 1448), (4345, 24)] {
        h.send_data(seq, 1, len);
        h.advance_ms(50);
        let a = h.sent_segments().pop().expect("an ACK");
        acks.push((a.ack.0 - PEER_ISS, a.wnd));
    }
    assert_eq!(acks, [(1449, 2920), (2897, 1472), (4345, 24), (4369, 0)]);
    assert_eq!(h.s().tcb.unread, 4368);
}

#[test]
fn test_established_unacceptable_segment_draws_an_ack() {
    // §3.10.7.4 first check: not acceptable and not RST → <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    let mut h = established();
    h.send_data(200_001, 1, 10);
    assert_eq!(h.sent(), [". 1:1(0) ack 1"]);
    assert_eq!(h.s().tcb.unread, 0);
}

#[test]
fn test_established_ack_of_unsent_data_is_acked_and_dropped() {
    let mut h = established();
    let seg = Segment {
        len: 10,
        ..h.peer(ACK, 1, 500)
    };
    h.inject(seg);
    assert_eq!(h.sent(), [". 1:1(0) ack 1"]);
    assert_eq!(h.s().tcb.unread, 0, "the segment was dropped, data too");
    assert_eq!(h.s().tcb.snd_una, Offset::FIRST_DATA);
}

#[test]
fn test_established_read_nonblocking_with_nothing_gives_eagain() {
    let mut h = established();
    assert_eq!(h.read(100), Some(Err(Errno::EAGAIN)));
}

#[test]
fn test_established_read_reopening_a_closed_window_sends_an_update() {
    let mut h = established_with(plain_window(4000));
    h.send_data(1, 1, 2000);
    h.send_data(2001, 1, 2000);
    h.advance_ms(40);
    let ack = h.sent_segments();
    assert_eq!(ack.last().map(|s| s.wnd), Some(0), "window closed");
    assert_eq!(h.read(100), Some(Ok(100)));
    assert_eq!(
        h.sent(),
        Vec::<String>::new(),
        "100 octets: not worth an update"
    );
    assert_eq!(h.read(4000), Some(Ok(3900)));
    let upd = h.sent_segments();
    assert_eq!(upd.len(), 1, "window update");
    assert_eq!((upd[0].ack, upd[0].wnd), (Seq(PEER_ISS + 4001), 4000));
}

#[test]
fn test_established_zero_window_persist_probe_then_window_update() {
    let mut h = established();
    assert_eq!(h.write(100), Some(Ok(100)));
    h.flush();
    // The peer takes the 100 octets and closes its window.
    let zero = Segment {
        wnd: 0,
        ..h.peer(ACK, 1, 101)
    };
    h.inject(zero);
    assert_eq!(h.write(100), Some(Ok(100)));
    assert_eq!(h.sent(), Vec::<String>::new(), "nothing fits a zero window");
    assert!(h.s().tcb.send_timer.is_persist());
    // Probes (an ACK just below SND.UNA, Linux style) at RTO, then with backoff.
    let probes = h.send_times(1_500, |s| s.len == 0);
    assert_eq!(probes, [200, 600, 1400]);
    h.inject(zero);
    assert_eq!(h.s().tcb.probes_out, 0, "an answer resets the probe count");
    // A window update: the data goes out at once, and the backoff is forgotten.
    h.send(ACK, 1, 101);
    assert_eq!(h.sent(), ["P. 101:201(100) ack 1"]);
    assert!(!h.s().tcb.send_timer.is_persist());
    assert!(h.s().tcb.rto < Duration::from_ms(300));
    h.check();
}

#[test]
fn test_established_persist_probe_renders_below_snd_una() {
    let mut h = established();
    h.zero_window();
    h.write(10);
    h.advance_ms(201);
    assert_eq!(h.sent(), [". 0:0(0) ack 1"]);
}

#[test]
fn test_established_unanswered_probes_end_in_etimedout() {
    // Linux tcp_probe_timer: tcp_retries2 probes nobody answered, then tcp_write_err.
    let mut h = established_with(linux_with(&[("data_retries", "3")]));
    h.zero_window();
    h.write(10);
    let probes = h.send_times(10_000, |s| s.len == 0 && !s.flags.rst());
    assert_eq!(probes, [200, 600, 1400]);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.read(10), Some(Err(Errno::ETIMEDOUT)));
}

#[test]
fn test_established_retransmission_backs_off_then_etimedout() {
    // RFC 6298 §5.5 doubling from the measured RTO (200 ms floor), up to tcp_retries2 = 15
    // retransmissions; Linux tcp_write_err: ETIMEDOUT, no RST, send queue lost.
    let mut h = established();
    h.write(100);
    h.flush();
    let at = h.send_times(2_000_000, |s| s.len == 100);
    let gaps: Vec<u64> = at
        .iter()
        .scan(0, |prev, t| Some(t - std::mem::replace(prev, *t)))
        .collect();
    assert_eq!(gaps.len(), 15);
    assert_eq!(&gaps[..4], &[200, 400, 800, 1600]);
    assert_eq!(*gaps.last().unwrap(), 120_000, "capped at rto_max");
    assert_eq!(h.state(), State::Closed);
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::Discard {
            buffer: Buffer::Send,
            bytes: 100,
            cause: DiscardCause::Timeout,
            ..
        }
    )));
    assert_eq!(h.read(10), Some(Err(Errno::ETIMEDOUT)));
    assert_eq!(h.write(10), Some(Err(Errno::EPIPE)));
}

#[test]
fn test_established_retransmission_goes_back_n_with_cwnd_one() {
    let mut h = established();
    h.write(3 * MSS as u64);
    h.flush();
    h.advance_ms(201);
    assert_eq!(
        h.sent(),
        [". 1:1461(1460) ack 1"],
        "cwnd = 1 MSS after a timeout"
    );
    h.send(ACK, 1, 1 + MSS);
    assert_eq!(
        h.sent(),
        [". 1461:2921(1460) ack 1", "P. 2921:4381(1460) ack 1"]
    );
    h.check();
}

#[test]
fn test_established_fast_retransmit_after_three_duplicate_acks() {
    let mut h = established();
    h.write(5 * MSS as u64);
    h.flush();
    h.send(ACK, 1, 1 + MSS);
    for _ in 0..2 {
        h.send(ACK, 1, 1 + MSS);
        assert_eq!(h.sent(), Vec::<String>::new());
    }
    h.send(ACK, 1, 1 + MSS);
    assert_eq!(h.sent(), [". 1461:2921(1460) ack 1"]);
}

#[test]
fn test_established_ack_restarts_the_retransmission_timer() {
    let mut h = established();
    h.write(2 * MSS as u64);
    h.flush();
    h.advance_ms(150);
    h.send(ACK, 1, 1 + MSS);
    // The ACK timed the first segment (150 ms): SRTT 18.75 ms, RTTVAR 37.5 ms,
    // RTO = SRTT + max(4·RTTVAR, 200 ms) = 218.75 ms from now.
    assert_eq!(h.s().tcb.rto, Duration::from_ns(218_750_000));
    assert_eq!(h.send_times(300, |s| s.len > 0), [218]);
}

#[test]
fn test_established_pure_ack_after_a_rewind_is_at_snd_max() {
    // After a timeout SND.NXT goes back to SND.UNA (go-back-N); an ACK sent then must
    // not carry that old number, or a peer that holds more finds it unacceptable and
    // answers with an ACK that is unacceptable in turn (an ACK war).
    let mut h = established_with(delayed_acks());
    h.write(3 * MSS as u64);
    h.flush();
    h.advance_ms(201);
    assert_eq!(h.sent(), [". 1:1461(1460) ack 1"]);
    assert_eq!(h.s().tcb.snd_nxt, Offset(1 + MSS as u64));
    h.send_data(1, 1, MSS);
    h.send_data(1 + MSS, 1, MSS);
    assert_eq!(h.sent(), [format!(". 4381:4381(0) ack {}", 1 + 2 * MSS)]);
}

/// A Linux client on a loopback path whose peer agreed to timestamps and
/// window scaling: the handshake done, its ACK taken.
fn linux_loopback_established() -> H {
    loopback_established_with(linux())
}

/// [`linux_loopback_established`] with personality `p`.
pub(super) fn loopback_established_with(p: Personality) -> H {
    let mut h = closed_with(p);
    h.host.cfg.loopback = true;
    let sid = h.sid;
    let k = h.host.personality.knobs.clone();
    // The socket was made before the path was set: make it again on loopback.
    let s = h.host.socks[sid as usize].as_mut().expect("socket");
    s.wnd = crate::socket::WndRule::of(&k, true);
    let buf = s.rcv_buf;
    s.set_rcv_buf(buf);
    let mut h = syn_sent_from(h);
    let syn_ack = Segment {
        opts: SynOpts(SynOpts::TS.0 | SynOpts::WS.0),
        ..h.peer(SYN | ACK, 0, 1)
    };
    h.inject(syn_ack);
    let ack = h.sent_segments();
    assert_eq!(ack.len(), 1);
    // tcp_init_buffer_space: clamp 65536 − 1448 = 64088, offered as
    // ALIGN(64088, 1 << 10) (tcp_rmem[2] = 32 MiB: shift 10).
    assert_eq!(ack[0].wnd, 64_512, "the first window after the handshake");
    assert_eq!(h.s().tcb.rcv_wscale, 10);
    h
}

#[test]
fn test_linux_loopback_window_grows_by_twice_each_segment() {
    // The kernel's client ACKs 7240-byte loopback skbs with windows 79872 and
    // 94208 (scenarios/kernel/big-write-close-unread.toml): the first segment
    // sets the clamp to 239/256 of 131072 and rcv_ssthresh to the 64512
    // offered, then each adds twice its length (tcp_grow_window), rounded
    // up to 1024, and is ACKed at once.
    let mut h = linux_loopback_established();
    h.send_data(1, 1, 7240);
    let a = h.sent_segments();
    assert_eq!(a.len(), 1, "tcp_grow_window asks for an ACK at once");
    assert_eq!(a[0].wnd, 79_872);
    assert_eq!(h.s().rcv_clamp, 122_368);
    h.send_data(7241, 1, 7240);
    assert_eq!(h.sent_segments()[0].wnd, 94_208);
}

#[test]
fn test_linux_window_rounds_down_to_the_scale_below_half_the_space() {
    // 108600 octets held of the 122368 the loopback buffer takes: 13768
    // free, under half, so round_down(13768, 1024) = 13312, the kernel's
    // last window before the RST. Only the free space counts once
    // rcv_ssthresh is past it.
    let mut h = linux_loopback_established();
    let mut seq = 1;
    while seq < 108_601 {
        let len = (108_601 - seq).min(7240);
        h.send_data(seq, 1, len);
        seq += len;
    }
    h.advance_ms(200);
    let acks = h.sent_segments();
    let last = acks.last().expect("an ACK");
    assert_eq!(last.ack.0.wrapping_sub(h.peer_iss), 108_601);
    let promised = h.s().tcb.rcv_wnd_sent;
    assert!(promised >= 13_312, "never below the free space: {promised}");
    assert_eq!(h.s().free_rcv_wnd(), 13_312);
}

#[test]
fn test_linux_each_window_growth_adds_a_quick_ack() {
    // The kernel's client on the emulated LAN (tcpsim real --profile lan
    // scenarios/kernel/big-write-close-unread.toml, Linux 6.18) ACKs the
    // first 20 segments of 1448 octets one by one, with windows 67584,
    // 70656, 73728 for the first three, then delays its ACK: 16 quick ACKs
    // (tcp_incr_quickack, TCP_MAX_QUICKACKS) and one more for each of the
    // four segments that grew the window (tcp_grow_window: quick |= 1 on an
    // even count).
    let mut h = syn_sent_from(closed());
    let syn_ack = Segment {
        opts: SynOpts(SynOpts::TS.0 | SynOpts::WS.0),
        ..h.peer(SYN | ACK, 0, 1)
    };
    h.inject(syn_ack);
    h.sent_segments();
    let mut at_once = Vec::new();
    for i in 0..24u32 {
        h.send_data(1 + i * 1448, 1, 1448);
        if let Some(ack) = h.sent_segments().last() {
            at_once.push((i + 1, ack.wnd));
        }
    }
    let counts: Vec<u32> = at_once.iter().map(|&(n, _)| n).collect();
    assert_eq!(counts, (1..=20).collect::<Vec<u32>>());
    let windows: Vec<u32> = at_once.iter().take(3).map(|&(_, w)| w).collect();
    assert_eq!(windows, [67_584, 70_656, 73_728]);
}
