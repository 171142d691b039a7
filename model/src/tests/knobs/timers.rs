//! Knob flips: timers and retransmission (RTO, delayed ACK, SYN and data
//! retries, persist, FIN-WAIT-2 and TIME-WAIT lengths).

use super::*;

/// When each retransmission of 100 octets of data went out (ms after the write).
fn data_retransmissions(p: Personality, ms: u64) -> (Vec<u64>, H) {
    let mut h = established_with(p);
    h.write(100);
    h.flush();
    let t = h.send_times(ms, |s| s.len == 100);
    (t, h)
}

#[test]
fn test_knob_rto_initial_ms() {
    let first_syn_retry = |p| syn_sent_from(closed_with(p)).send_times(5_000, |s| s.flags.syn())[0];
    assert_eq!(
        first_syn_retry(Personality::builtin("linux").unwrap()),
        1_000
    );
    assert_eq!(first_syn_retry(set("rto_initial_ms", "3000")), 3_000);
}

#[test]
fn test_knob_rto_min_ms() {
    assert_eq!(data_retransmissions(linux_with(&[]), 300).0, [200]);
    assert_eq!(
        data_retransmissions(set("rto_min_ms", "1000"), 1_100).0,
        [1_000]
    );
}

#[test]
fn test_knob_rto_max_ms() {
    let (t, _) = data_retransmissions(set("rto_max_ms", "1000"), 4_500);
    assert_eq!(t, [200, 600, 1_400, 2_400, 3_400, 4_400]);
}

#[test]
fn test_knob_rto_rttvar_floor_ms() {
    let p = linux_with(&[("rto_rttvar_floor_ms", "500")]);
    assert_eq!(data_retransmissions(p, 600).0, [500]);
}

#[test]
fn test_knob_rto_slop_ms() {
    assert_eq!(
        data_retransmissions(set("rto_slop_ms", "300"), 600).0,
        [500]
    );
}

#[test]
fn test_knob_delack_ms() {
    let ack_after = |p| {
        let mut h = established_with(p);
        h.send_data(1, 1, 10);
        h.send_times(500, |s| s.len == 0)
    };
    assert_eq!(ack_after(delayed_acks()), [40]);
    let p = linux_with(&[("quickack_segs", "0"), ("delack_ms", "200")]);
    assert_eq!(ack_after(p), [200]);
}

/// How long after it arrived the ACK of `h`'s latest segment went out (ms).
fn ack_delay(h: &mut H) -> u64 {
    if h.sent().is_empty() {
        h.send_times(1_000, |s| s.len == 0)[0]
    } else {
        0
    }
}

#[test]
fn test_knob_quickack_segs() {
    // Three small segments 100 ms apart: each ACKed at once, or after 40 ms.
    let delays = |p| {
        let mut h = established_with(p);
        (0..3)
            .map(|i| {
                h.send_data(1 + 10 * i, 1, 10);
                let d = ack_delay(&mut h);
                h.advance_ms(100 - d);
                d
            })
            .collect::<Vec<u64>>()
    };
    assert_eq!(delays(linux_with(&[])), [0, 0, 0]);
    assert_eq!(delays(set("quickack_segs", "2")), [0, 0, 40]);
    assert_eq!(delays(set("quickack_segs", "0")), [40, 40, 40]);
}

#[test]
fn test_knob_ack_pingpong() {
    // A response, then the FIN: the FIN's ACK waits for a reply, or goes at once.
    let fin_ack = |value| {
        let mut h = established_with(set("ack_pingpong", value));
        h.send_data(1, 1, 100);
        assert_eq!(h.sent(), [". 1:1(0) ack 101"], "quick ACK");
        h.send(FIN | ACK, 101, 1);
        ack_delay(&mut h)
    };
    assert_eq!(fin_ack("true"), 40);
    assert_eq!(fin_ack("false"), 0);
    // We answer a request at once: the next request's ACK waits too.
    let next_request = |value| {
        let mut h = established_with(set("ack_pingpong", value));
        h.send_data(1, 1, 100);
        h.write(100);
        h.flush();
        h.send_data(101, 101, 100);
        ack_delay(&mut h)
    };
    assert_eq!(next_request("true"), 40);
    assert_eq!(next_request("false"), 0);
}

/// When each SYN retransmission went out (ms after connect), and when (ms) and
/// how connect() ended, if it did within 200 s.
fn syn_schedule(p: Personality) -> (Vec<u64>, Option<(u64, CallResult)>) {
    let mut h = syn_sent_from(closed_with(p));
    let start = h.now;
    let mut syns = Vec::new();
    let mut ended = None;
    while h.now.saturating_since(start) < Duration::from_ms(200_000) {
        if !h.next_timer_within_ms(200_000) {
            break;
        }
        let ms = h.now.saturating_since(start).as_ms();
        syns.extend(
            h.sent_segments()
                .iter()
                .filter(|s| s.flags.syn())
                .map(|_| ms),
        );
        if h.state() == State::Closed {
            ended = Some((ms, h.read(1).expect("a result")));
            break;
        }
    }
    (syns, ended)
}

#[test]
fn test_knob_syn_retries() {
    // docs/sources.md#linux-obs-syn-retries: 10 SYN retransmissions and ETIMEDOUT at
    // ~134 s by default (6 + the 4 linear ones, the 11th timeout at 131 s); TCP_SYNCNT
    // 1 gives up after 3 s: the time one doubling retransmission would take, 1 + 2 s.
    let (syns, ended) = syn_schedule(linux_with(&[]));
    assert_eq!(syns.len(), 10);
    assert_eq!(ended, Some((131_000, Err(Errno::ETIMEDOUT))));
    let (syns, ended) = syn_schedule(set("syn_retries", "1"));
    assert_eq!(syns, [1_000, 2_000]);
    assert_eq!(ended, Some((3_000, Err(Errno::ETIMEDOUT))));
}

#[test]
fn test_knob_syn_linear_timeouts() {
    // SYNs at +1, +2, +3, +4, +5, +7, +11, +19, +35, +68 s
    // (docs/sources.md#linux-obs-syn-retries).
    let (syns, _) = syn_schedule(linux_with(&[]));
    assert_eq!(
        syns,
        [1_000, 2_000, 3_000, 4_000, 5_000, 7_000, 11_000, 19_000, 35_000, 67_000]
    );
    // Doubling from the start (RFC 6298 §5.5): 6 retransmissions, ETIMEDOUT at 127 s.
    let (syns, ended) = syn_schedule(set("syn_linear_timeouts", "0"));
    assert_eq!(syns, [1_000, 3_000, 7_000, 15_000, 31_000, 63_000]);
    assert_eq!(ended, Some((127_000, Err(Errno::ETIMEDOUT))));
}

#[test]
fn test_knob_connect_timeout_s() {
    // BSD tcp_keepinit: the connect ends at 75 s, after the SYN of 67 s, no RST.
    let (syns, ended) = syn_schedule(set("connect_timeout_s", "75"));
    assert_eq!(syns.last(), Some(&67_000));
    assert_eq!(ended, Some((75_000, Err(Errno::ETIMEDOUT))));
    // None (Linux): the SYN retransmissions decide.
    let (_, ended) = syn_schedule(set("connect_timeout_s", "0"));
    assert_eq!(ended, Some((131_000, Err(Errno::ETIMEDOUT))));
    // Established in time, the timer is gone.
    let mut h = established_with(set("connect_timeout_s", "75"));
    assert_eq!(h.s().tcb.close_timer, None);
    h.advance_ms(100_000);
    assert_eq!(h.state(), State::Established);
}

#[test]
fn test_knob_synack_retries() {
    let retransmissions = |p| {
        let mut h = syn_received_from(listen_with(p, 4));
        let n = h.send_times(200_000, |s| s.flags.syn()).len();
        (n, h.freed())
    };
    assert_eq!(retransmissions(linux_with(&[])), (5, true));
    assert_eq!(retransmissions(set("synack_retries", "1")), (1, true));
}

#[test]
fn test_knob_data_retries() {
    let (t, mut h) = data_retransmissions(set("data_retries", "3"), 10_000);
    assert_eq!(t, [200, 600, 1_400]);
    assert_eq!(h.read(1), Some(Err(Errno::ETIMEDOUT)));
    // The default (15) is still retransmitting: 200, 600, 1400, 3000, 6200 ms, …
    assert_eq!(data_retransmissions(linux_with(&[]), 10_000).0.len(), 5);
}

#[test]
fn test_knob_orphan_retries() {
    let fins = |p| {
        fin_wait_1_from(established_with(p))
            .send_times(600_000, |s| s.flags.fin())
            .len()
    };
    assert_eq!(fins(linux_with(&[])), 8);
    assert_eq!(fins(set("orphan_retries", "2")), 2);
}

/// An orphan in FIN-WAIT-1 behind a zero window whose peer answers every
/// probe 5 ms later for `answer_s` seconds, then goes quiet: (when the last answer went,
/// when the orphan was freed, ms after close(); None if it still lives at 3000 s).
fn orphan_behind_zero_window(p: Personality, answer_s: u64) -> (u64, Option<u64>) {
    let (mut h, zero) = zero_window_orphan(p);
    let start = h.now;
    let (mut answered_ms, horizon) = (0, Duration::from_secs(3_000));
    while !h.freed() && h.now.saturating_since(start) < horizon {
        assert!(h.next_timer_within_ms(1_000_000));
        let now_ms = h.now.saturating_since(start).as_ms();
        if !h.sent_segments().is_empty() && now_ms < answer_s * 1000 {
            h.advance_ms(5); // one round trip: an answer at once would leave
            h.inject(zero); // exactly the probe interval of silence
            answered_ms = now_ms + 5;
        }
    }
    let freed = h.freed().then(|| h.now.saturating_since(start).as_ms());
    (answered_ms, freed)
}

#[test]
fn test_knob_persist_timer() {
    // Linux: the orphan dies once the backoff tops out, answered or not.
    let (_, freed) = orphan_behind_zero_window(linux_with(&[]), u64::MAX);
    assert_eq!(freed, Some(324_600));
    // FreeBSD: answered probes keep it; 60 s of silence past CLOSE-WAIT ends it.
    let bsd = || set("persist_timer", "bsd-orphan-60s");
    assert_eq!(orphan_behind_zero_window(bsd(), u64::MAX).1, None);
    let (answered, freed) = orphan_behind_zero_window(bsd(), 200);
    let silent_ms = freed.expect("dropped once the peer went quiet") - answered;
    assert!((60_000..=180_000).contains(&silent_ms), "{silent_ms}");
    // XNU: no orphan rule; with the retries out of reach, answered or silent, it lives on.
    let xnu = |retries| linux_with(&[("persist_timer", "bsd"), ("data_retries", retries)]);
    assert_eq!(orphan_behind_zero_window(xnu("100"), 200).1, None);
    // After a full backoff (3 probes), silence of min(2 h, RTO × 511) ends it.
    let (answered, freed) = orphan_behind_zero_window(xnu("3"), 200);
    assert!(freed.expect("dropped after the full backoff") > answered + 60_000);
}

#[test]
fn test_knob_rst_on_retransmit_limit() {
    // data_retries = 1: one retransmission at 200 ms, the limit at 600 ms.
    let rst_times = |value| {
        let p = linux_with(&[("data_retries", "1"), ("rst_on_retransmit_limit", value)]);
        let (_, mut h) = data_retransmissions(p, 0);
        h.send_times(10_000, |s| s.flags.rst())
    };
    assert_eq!(rst_times("false"), Vec::<u64>::new());
    assert_eq!(rst_times("true"), [600]);
}

#[test]
fn test_knob_fin_wait_2_timeout_s() {
    let lifetime = |p| {
        let mut h = fin_wait_2_from(fin_wait_1_from(established_with(p)));
        let start = h.now;
        while !h.freed() {
            h.advance_ms(1_000);
        }
        h.now.saturating_since(start).as_secs()
    };
    assert_eq!(lifetime(linux_with(&[])), 60);
    assert_eq!(lifetime(set("fin_wait_2_timeout_s", "10")), 10);
}

#[test]
fn test_knob_fin_wait_2_timer() {
    // After shutdown(how) and the ACK of our FIN, with the descriptor kept: armed?
    let armed = |value, how| {
        let mut h = established_with(set("fin_wait_2_timer", value));
        h.shutdown(how);
        h.send(ACK, 1, 2);
        assert_eq!(h.state(), State::FinWait2);
        h.s().tcb.close_timer.is_some()
    };
    assert!(!armed("orphan", How::Wr));
    assert!(!armed("orphan", How::RdWr));
    assert!(!armed("cantrcvmore", How::Wr));
    assert!(armed("cantrcvmore", How::RdWr));
    assert!(armed("always", How::Wr));
}

#[test]
fn test_knob_fin_wait_2_expiry() {
    let at_expiry = |value| {
        let mut h = fin_wait_2_from(fin_wait_1_from(established_with(set(
            "fin_wait_2_expiry",
            value,
        ))));
        h.advance_ms(60_000);
        assert!(h.freed());
        h.sent()
    };
    assert_eq!(at_expiry("close"), NO_SEGMENTS);
    assert_eq!(at_expiry("rst"), ["R. 2:2(0) ack 1"]);
}

#[test]
fn test_knob_time_wait_s() {
    let lifetime = |p| {
        let mut h = time_wait_from(fin_wait_2_from(fin_wait_1_from(established_with(p))));
        let start = h.now;
        while !h.freed() {
            h.advance_ms(1_000);
        }
        h.now.saturating_since(start).as_secs()
    };
    assert_eq!(lifetime(linux_with(&[])), 60);
    assert_eq!(lifetime(set("time_wait_s", "240")), 240);
}
