//! One test per personality knob: the same scenario with the knob flipped (via
//! `Personality::set`, as `--set` does) behaves differently, in the way the
//! knob's documentation says. `test_every_knob_has_a_flip_test` fails when a
//! knob is added without one.

use super::*;
use crate::call::SockOpt;
use crate::event::{Buffer, DiscardCause, RstCause};
use crate::personality::Knobs;
use crate::Errno;

const NO_SEGMENTS: [&str; 0] = [];

/// The knobs tested here; `error_names` only renames errnos in reports and is
/// tested where they are rendered (sim/tests/linux.rs).
pub(super) const TESTED: &[&str] = &[
    "rto_initial_ms",
    "rto_min_ms",
    "rto_max_ms",
    "rto_rttvar_floor_ms",
    "rto_slop_ms",
    "tail_loss_probe",
    "delack_ms",
    "quickack_segs",
    "ack_pingpong",
    "ack_resends_fin",
    "old_segment_acks",
    "syn_retries",
    "syn_linear_timeouts",
    "connect_timeout_s",
    "synack_retries",
    "data_retries",
    "orphan_retries",
    "persist_timer",
    "rst_on_retransmit_limit",
    "rst_window_zero",
    "abort_rst_after_fin",
    "fin_wait_2_timeout_s",
    "fin_wait_2_timer",
    "fin_wait_2_expiry",
    "time_wait_s",
    "rcv_buf_bytes",
    "rcvbuf_setsockopt_factor",
    "rcv_wnd_initial_pct",
    "rcv_wnd_pct",
    "rcv_wnd_rounding",
    "rcv_wnd_update",
    "tcp_window_scaling",
    "tcp_rmem_max_bytes",
    "rcv_ssthresh_growth",
    "tcp_moderate_rcvbuf",
    "scaling_ratio_loopback",
    "ack_needs_window_advance",
    "snd_wnd_full_segment",
    "syncache_wnd_clip",
    "buf_mss_roundup",
    "tcp_timestamps",
    "snd_buf_bytes",
    "snd_buf_tuning",
    "snd_buf_max_bytes",
    "snd_buf_whole_segments",
    "sndbuf_setsockopt_factor",
    "gso",
    "slow_start_counts_acked",
    "initial_cwnd_segs",
    "nagle",
    "psh_ends_burst",
    "cork_option",
    "close_unread",
    "close_unread_counts_ooo",
    "data_after_close",
    "shut_rd_unread",
    "data_after_shut_rd",
    "read_after_shut_rd",
    "linger_unit",
    "linger_storage",
    "linger_expiry",
    "nonblocking_linger_close",
    "process_exit",
    "exit_skips_linger",
    "exit_drops_closed_pending",
    "rst_discards_unread",
    "rst_error_after_fin",
    "write_after_rst",
    "read_after_rst",
    "listen_overflow",
    "accept_queue_limit",
    "listener_rsts_synack",
    "drop_synfin",
    "syn_sent_keeps_syn_data",
    "rst_in_time_wait",
    "rst_after_reset",
    "syn_in_time_wait",
    "time_wait_needs_ack",
    "reuseaddr_bind",
    "rst_to_syn",
    "refused_syn_retries",
    "refused_syn_retry_ms",
    "challenge_ack",
    "syn_challenge_ack",
    "rst_seq_match",
    "keepalive_idle_s",
    "keepalive_intvl_s",
    "keepalive_probes",
    "keepalive_rst",
    "poll_style",
    "select_style",
    "query_style",
    "timeo_error",
    "accept_timeo",
    "close_while_blocked",
    "error_names",
];

#[test]
fn test_every_knob_has_a_flip_test() {
    let all: Vec<&str> = Knobs::INFO.iter().map(|i| i.name).collect();
    assert_eq!(all, TESTED, "add a test_knob_<name> for each new knob");
}

fn set(knob: &str, value: &str) -> Personality {
    linux_with(&[(knob, value)])
}

fn rst_causes(h: &mut H) -> Vec<RstCause> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::RstSent { cause, .. } => Some(cause),
            _ => None,
        })
        .collect()
}

fn discards(h: &mut H) -> Vec<(Buffer, u64, DiscardCause)> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Discard {
                buffer,
                bytes,
                cause,
                ..
            } => Some((buffer, bytes, cause)),
            _ => None,
        })
        .collect()
}

fn linger(h: &mut H, secs: u32) {
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Linger {
            sock: fd,
            linger: Some(secs)
        }),
        Some(Ok(0))
    );
}

// ---- timers and retransmission --------------------------------------------

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
    let mut h = established_with(p);
    let zero = Segment {
        wnd: 0,
        ..h.peer(ACK, 1, 1)
    };
    h.inject(zero);
    h.write(1000);
    h.close();
    h.flush();
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

// ---- buffers and windows --------------------------------------------------

/// The window on our SYN.
fn syn_window(p: Personality) -> u32 {
    let mut h = closed_with(p);
    let (fd, to) = (h.fd, h.remote);
    h.call(Call::Connect {
        sock: fd,
        to: to.into(),
    });
    h.sent_segments()[0].wnd
}

#[test]
fn test_knob_rcv_buf_bytes() {
    // Half the buffer, in MSS units: Linux's SYN window on Ethernet (64240).
    assert_eq!(syn_window(linux_with(&[])), 64_240);
    assert_eq!(syn_window(set("rcv_buf_bytes", "8192")), 2_920);
}

/// How many octets a peer sending full segments (1460, no timestamps) gets
/// into a receiver that set SO_RCVBUF 4096 before connecting and never reads.
fn fill(p: Personality) -> u64 {
    filled(p).s().tcb.unread
}

/// A connection whose peer filled the window of a 4096-octet SO_RCVBUF (see `fill`).
fn filled(p: Personality) -> H {
    let mut h = closed_with(p);
    let fd = h.fd;
    assert_eq!(
        h.call(Call::RcvBuf {
            sock: fd,
            bytes: 4096
        }),
        Some(Ok(0))
    );
    let mut h = established_from(syn_sent_from(h));
    let mut seq = 1;
    for _ in 0..100 {
        h.advance_ms(200); // a delayed ACK goes out
        let t = &h.s().tcb;
        // Offsets in the peer's stream are the relative numbers.
        let right = (t.last_ack_sent + t.rcv_wnd_sent as u64).0 as u32;
        let room = right.saturating_sub(seq).min(MSS);
        if room == 0 {
            return h;
        }
        h.send_data(seq, 1, room);
        seq += room;
    }
    panic!("the window never closed");
}

#[test]
fn test_knob_rcvbuf_setsockopt_factor() {
    // Doubled (Linux): an 8192-octet buffer, first window 2920, 4380 get in.
    assert_eq!(fill(linux_with(&[])), 4_380);
    // Taken as given: 4096, first window 1460, and then none.
    assert_eq!(fill(set("rcvbuf_setsockopt_factor", "1")), 1_460);
}

#[test]
fn test_knob_rcv_wnd_initial_pct() {
    assert_eq!(syn_window(linux_with(&[])), 64_240);
    assert_eq!(syn_window(set("rcv_wnd_initial_pct", "100")), 129_940);
}

#[test]
fn test_knob_rcv_wnd_pct() {
    // 62% of 8192 less 1460 leaves the 2920 offered (right edge 4380); at 50% it
    // shrinks to one MSS, and the right edge stays at 2920.
    assert_eq!(fill(linux_with(&[])), 4_380);
    assert_eq!(fill(set("rcv_wnd_pct", "50")), 2_920);
}

#[test]
fn test_knob_rcv_wnd_rounding() {
    assert_eq!(fill(linux_with(&[])), 4_380);
    // The free space itself: 62% of 8192.
    assert_eq!(fill(set("rcv_wnd_rounding", "free-space")), 5_079);
}

#[test]
fn test_knob_rcv_wnd_update() {
    // The window is closed with 4380 octets unread; reading one segment's worth
    // leaves 2159 free of the 5079 data may fill.
    let update = |p| {
        let mut h = filled(p);
        h.flush();
        assert_eq!(h.read(1460), Some(Ok(1460)));
        h.sent_segments()
            .iter()
            .map(|s| (s.len, s.wnd))
            .collect::<Vec<_>>()
    };
    // Linux: nothing was open, a 1460-octet window is at least twice that: ACK now.
    assert_eq!(update(linux_with(&[])), [(0, 1460)]);
    // Opened by one segment, less than two: the update waits for the next segment.
    assert!(update(set("rcv_wnd_update", "two-segments")).is_empty());
}

#[test]
fn test_knob_tcp_timestamps() {
    // Offered on our SYN; with a peer that agrees, segments are 12 octets shorter.
    let segment_size = |value| {
        let mut h = syn_sent_from(closed_with(set("tcp_timestamps", value)));
        let syn_ack = Segment {
            opts: SynOpts::TS,
            ..h.peer(SYN | ACK, 0, 1)
        };
        h.inject(syn_ack);
        h.flush();
        h.write(10_000);
        h.sent_segments()[0].len
    };
    assert_eq!(segment_size("true"), 1448);
    assert_eq!(segment_size("false"), 1460);
    let offered = |value| {
        let mut h = closed_with(set("tcp_timestamps", value));
        let (fd, to) = (h.fd, h.remote);
        h.call(Call::Connect {
            sock: fd,
            to: to.into(),
        });
        h.sent_segments()[0].opts.ts()
    };
    assert!(offered("true"));
    assert!(!offered("false"));
}

#[test]
fn test_knob_snd_buf_bytes() {
    assert_eq!(
        established_with(fixed_snd_buf()).write(1_000_000),
        Some(Ok(16_384))
    );
    let p = linux_with(&[("snd_buf_tuning", "fixed"), ("snd_buf_bytes", "4000000")]);
    let mut h = established_with(p);
    assert_eq!(h.write(1_000_000), Some(Ok(1_000_000)));
}

#[test]
fn test_knob_initial_cwnd_segs() {
    let first_flight = |p| {
        let mut h = established_with(p);
        h.write(100_000);
        h.sent().len()
    };
    assert_eq!(first_flight(linux_with(&[])), 10);
    assert_eq!(first_flight(set("initial_cwnd_segs", "2")), 2);
}

// ---- close, shutdown and unread data --------------------------------------

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

// ---- keepalive ------------------------------------------------------------------

/// SO_KEEPALIVE on an idle connection whose peer never answers: (seconds until
/// the first probe, seconds between probes, probes sent, RST at the end?, errno).
fn keepalive(knobs: &[(&str, &str)]) -> (u64, u64, usize, bool, Option<CallResult>) {
    let mut h = established_with(linux_with(knobs));
    assert_eq!(
        h.call(Call::Keepalive {
            sock: h.fd,
            on: true
        }),
        Some(Ok(0))
    );
    h.flush();
    let start = h.now;
    let mut probes = Vec::new();
    let mut rst = false;
    while h.state() == State::Established {
        h.advance_ms(1_000);
        for seg in h.sent_segments() {
            if seg.flags.rst() {
                rst = true;
            } else {
                probes.push(h.now.saturating_since(start).as_secs());
            }
        }
        assert!(
            h.now.saturating_since(start) < Duration::from_secs(20_000),
            "keepalive never gave up"
        );
    }
    let first = probes[0];
    let intvl = probes.get(1).map_or(0, |p| p - first);
    (first, intvl, probes.len(), rst, h.read(10))
}

#[test]
fn test_knob_keepalive_idle_s() {
    assert_eq!(keepalive(&[]).0, 7200);
    assert_eq!(keepalive(&[("keepalive_idle_s", "60")]).0, 60);
}

#[test]
fn test_knob_keepalive_intvl_s() {
    assert_eq!(keepalive(&[]).1, 75);
    assert_eq!(keepalive(&[("keepalive_intvl_s", "10")]).1, 10);
}

#[test]
fn test_knob_keepalive_probes() {
    assert_eq!(keepalive(&[]).2, 9);
    assert_eq!(keepalive(&[("keepalive_probes", "3")]).2, 3);
}

#[test]
fn test_knob_keepalive_rst() {
    let (_, _, _, rst, err) = keepalive(&[]);
    assert!(
        rst,
        "Linux resets a connection whose keepalives go unanswered"
    );
    assert_eq!(err, Some(Err(Errno::ETIMEDOUT)));
    let (_, _, _, rst, err) = keepalive(&[("keepalive_rst", "false")]);
    assert!(!rst);
    assert_eq!(err, Some(Err(Errno::ETIMEDOUT)));
}

/// poll(POLLIN|POLLOUT|POLLRDHUP) once the peer's FIN is in.
fn poll_after_fin(knobs: &[(&str, &str)]) -> Option<CallResult> {
    let mut h = established_with(linux_with(knobs));
    h.send(FIN | ACK, 1, 1);
    use crate::call::poll_bits::*;
    h.call(Call::Poll {
        also: Default::default(),
        sock: h.fd,
        events: POLLIN | POLLOUT | POLLRDHUP,
        timeout: None,
    })
}

#[test]
fn test_knob_poll_style() {
    use crate::call::poll_bits::*;
    let bits = |b: u32| Some(Ok(u64::from(b)));
    assert_eq!(poll_after_fin(&[]), bits(POLLIN | POLLOUT | POLLRDHUP));
    assert_eq!(
        poll_after_fin(&[("poll_style", "kqueue")]),
        bits(POLLIN | POLLHUP),
        "EV_EOF on the read filter is POLLHUP and hides POLLOUT"
    );
    assert_eq!(
        poll_after_fin(&[("poll_style", "wsapoll")]),
        bits(POLLIN | POLLOUT | POLLHUP)
    );
}

/// select(readfds|writefds|exceptfds) of a connection after the peer's RST.
fn select_after_rst(knobs: &[(&str, &str)]) -> Option<CallResult> {
    let mut h = established_with(linux_with(knobs));
    h.send(RST | ACK, 1, 1);
    use crate::call::select_sets::*;
    h.call(Call::Select {
        also: Default::default(),
        sock: h.fd,
        sets: READFDS | WRITEFDS | EXCEPTFDS,
        timeout: None,
    })
}

#[test]
fn test_knob_select_style() {
    use crate::call::select_sets::*;
    let sets = |b: u32| Some(Ok(u64::from(b)));
    assert_eq!(
        select_after_rst(&[]),
        sets(READFDS | WRITEFDS),
        "POLLERR and POLLHUP are in POLLIN_SET, POLLERR in POLLOUT_SET"
    );
    assert_eq!(
        select_after_rst(&[("select_style", "bsd")]),
        sets(READFDS | WRITEFDS)
    );
    assert_eq!(
        select_after_rst(&[("select_style", "winsock")]),
        sets(READFDS),
        "a reset connection is readable only"
    );
}

#[test]
fn test_knob_query_style() {
    let get = |knobs: &[(&str, &str)], opt| {
        let mut h = established_with(linux_with(knobs));
        h.call(Call::Getsockopt { sock: h.fd, opt })
    };
    use crate::call::SockOpt;
    assert_eq!(get(&[], SockOpt::Linger2), Some(Ok(60)));
    assert_eq!(
        get(&[("query_style", "bsd")], SockOpt::Linger2),
        Some(Err(Errno::ENOPROTOOPT))
    );
    assert_eq!(get(&[], SockOpt::OutQNsd), Some(Ok(0)));
    assert_eq!(
        get(&[("query_style", "bsd")], SockOpt::OutQNsd),
        Some(Err(Errno::ENOTTY))
    );
    assert_eq!(
        get(&[("query_style", "winsock")], SockOpt::OutQ),
        Some(Err(Errno::EINVAL))
    );
}

#[test]
fn test_knob_timeo_error() {
    let timed_out = |knobs: &[(&str, &str)]| {
        let mut h = established_with(linux_with(knobs));
        h.nonblocking(false);
        let set = Call::RcvTimeo {
            sock: h.fd,
            ns: Duration::from_ms(5),
        };
        assert_eq!(h.call(set), Some(Ok(0)));
        assert_eq!(h.read(10), None, "blocks");
        h.advance_ms(5);
        h.events().into_iter().find_map(|e| match e {
            Event::CallDone { result, .. } => Some(result),
            _ => None,
        })
    };
    assert_eq!(timed_out(&[]), Some(Err(Errno::EAGAIN)));
    assert_eq!(
        timed_out(&[("timeo_error", "etimedout")]),
        Some(Err(Errno::ETIMEDOUT))
    );
}

#[test]
fn test_knob_accept_timeo() {
    let accept = |knobs: &[(&str, &str)]| {
        let mut h = listen_with(linux_with(knobs), 16);
        h.nonblocking(false);
        let set = Call::RcvTimeo {
            sock: h.fd,
            ns: Duration::from_ms(5),
        };
        assert_eq!(h.call(set), Some(Ok(0)));
        let accept = Call::Accept {
            sock: h.fd,
            new: (),
        };
        assert_eq!(h.call(accept), None, "nothing queued: blocks");
        h.advance_ms(5);
        h.events().into_iter().find_map(|e| match e {
            Event::CallDone { result, .. } => Some(result),
            _ => None,
        })
    };
    assert_eq!(accept(&[]), Some(Err(Errno::EAGAIN)));
    assert_eq!(accept(&[("accept_timeo", "false")]), None, "still waiting");
}

#[test]
fn test_knob_close_while_blocked() {
    // A thread of the harness's process blocks in read; the process closes
    // the descriptor: (what the read got, whether the FIN left at the close).
    let close_while_reading = |value: &str| {
        let mut h = established_with(set("close_while_blocked", value));
        h.nonblocking(false);
        let main = h.pid;
        h.pid = h.host.spawn_thread(main);
        assert_eq!(h.read(100), None, "nothing to read: blocks");
        h.pid = main;
        assert_eq!(h.call(Call::Close { sock: h.fd }), Some(Ok(0)));
        let woken = h.events().into_iter().find_map(|e| match e {
            Event::CallDone { result, .. } => Some(result),
            _ => None,
        });
        (woken, h.sent_segments().iter().any(|s| s.flags.fin()))
    };
    assert_eq!(
        close_while_reading("holds"),
        (None, false),
        "still reading, no FIN"
    );
    assert_eq!(
        close_while_reading("drain-ebadf"),
        (Some(Err(Errno::EBADF)), true)
    );
    assert_eq!(
        close_while_reading("cancel-eintr"),
        (Some(Err(Errno::EINTR)), true)
    );
}

#[test]
fn test_a_held_socket_closes_when_the_blocked_call_returns() {
    // `holds`: the FIN leaves when the read's SO_RCVTIMEO runs out.
    let mut h = established_with(set("close_while_blocked", "holds"));
    h.nonblocking(false);
    let set_timeo = Call::RcvTimeo {
        sock: h.fd,
        ns: Duration::from_ms(50),
    };
    assert_eq!(h.call(set_timeo), Some(Ok(0)));
    let main = h.pid;
    h.pid = h.host.spawn_thread(main);
    assert_eq!(h.read(100), None);
    h.pid = main;
    assert_eq!(h.call(Call::Close { sock: h.fd }), Some(Ok(0)));
    h.advance_ms(49);
    assert!(!h.sent_segments().iter().any(|s| s.flags.fin()));
    h.advance_ms(1);
    let woken = h.events().into_iter().find_map(|e| match e {
        Event::CallDone { result, .. } => Some(result),
        _ => None,
    });
    assert_eq!(woken, Some(Err(Errno::EAGAIN)));
    assert!(
        h.sent_segments().iter().any(|s| s.flags.fin()),
        "FIN at the return"
    );
}

#[test]
fn test_keepalive_is_off_by_default_and_an_answer_restarts_the_idle_time() {
    let mut h = established_with(linux_with(&[("keepalive_idle_s", "10")]));
    h.advance_ms(60_000);
    assert!(
        h.sent_segments().is_empty(),
        "no keepalive without SO_KEEPALIVE"
    );
    assert_eq!(
        h.call(Call::Keepalive {
            sock: h.fd,
            on: true
        }),
        Some(Ok(0))
    );
    h.advance_ms(10_000);
    let probe = h.sent_segments();
    assert_eq!(probe.len(), 1);
    assert_eq!(
        probe[0].seq,
        h.s().tcb.snd_seq(h.s().tcb.snd_una - 1),
        "a probe sits one below SND.UNA"
    );
    // The peer answers: the connection stays, and the next probe is a full idle time away.
    h.send(ACK, 1, 1);
    h.advance_ms(9_000);
    assert!(h.sent_segments().is_empty());
    h.advance_ms(1_000);
    assert_eq!(h.sent_segments().len(), 1);
    assert_eq!(h.state(), State::Established);
}

// ---- listeners --------------------------------------------------------------

/// A listen(1) queue filled with two established children, then a third SYN: what
/// the listener sent in reply, and what completing that handshake drew.
fn overflow(value: &str) -> (Vec<Segment>, Vec<Segment>) {
    let mut h = listen_with(set("listen_overflow", value), 1);
    for port in [50_001, 50_002] {
        let peer = other_peer(port);
        h.inject(Segment {
            src: peer,
            ..h.peer(SYN, 0, 0)
        });
        h.inject(Segment {
            src: peer,
            ..h.peer(ACK, 1, 1)
        });
    }
    h.flush();
    h.send(SYN, 0, 0);
    let to_syn = h.sent_segments();
    h.send(ACK, 1, 1);
    (to_syn, h.sent_segments())
}

#[test]
fn test_knob_listen_overflow() {
    let (syn, ack) = overflow("drop-syn");
    assert!(syn.is_empty());
    assert_eq!(ack.len(), 1, "no child: the ACK finds the listener, RST");
    let (syn, _) = overflow("rst-syn");
    assert_eq!(syn.len(), 1);
    assert_eq!(syn[0].flags, RST | ACK);
    let (syn, ack) = overflow("handshake-then-rst");
    assert_eq!(syn[0].flags, SYN | ACK);
    assert_eq!(ack.len(), 1);
    assert_eq!(
        ack[0].flags,
        RST | ACK,
        "the child is reset when its ACK finds the queue full"
    );
}

#[test]
fn test_knob_accept_queue_limit() {
    let capacity = |value, backlog| {
        let mut h = listen_with(set("accept_queue_limit", value), backlog);
        for port in 0..20 {
            let peer = other_peer(50_001 + port);
            h.inject(Segment {
                src: peer,
                ..h.peer(SYN, 0, 0)
            });
            h.inject(Segment {
                src: peer,
                ..h.peer(ACK, 1, 1)
            });
        }
        let lfd = h.fd;
        let l = h.host.fd_sock(h.pid, lfd).unwrap();
        h.host.sock(l).listener.as_ref().unwrap().accept_q.len()
    };
    assert_eq!(capacity("backlog+1", 4), 5);
    assert_eq!(capacity("3/2*backlog", 4), 6);
    assert_eq!(capacity("3/2*backlog+1", 4), 7);
    assert_eq!(capacity("3/2*backlog+1", 0), 1);
    assert_eq!(capacity("backlog", 4), 4);
}

// ---- TIME-WAIT ----------------------------------------------------------------

#[test]
fn test_knob_rst_in_time_wait() {
    let mut h = time_wait_from(fin_wait_2_from(fin_wait_1_from(established_with(set(
        "rst_in_time_wait",
        "kill",
    )))));
    h.send(RST, 2, 0);
    assert!(h.freed());
    let mut h = time_wait_from(fin_wait_2_from(fin_wait_1_from(established_with(set(
        "rst_in_time_wait",
        "ignore",
    )))));
    h.send(RST, 2, 0);
    assert_eq!(h.state(), State::TimeWait);
}

/// RSTs we send for the peer's next two data segments after `setup`.
fn rsts_for_two_more(value: &str, setup: impl FnOnce(&mut H)) -> usize {
    let mut h = established_with(set("rst_after_reset", value));
    setup(&mut h);
    h.flush();
    h.send_data(101, 1, 10);
    h.send_data(111, 1, 10);
    h.sent_segments().iter().filter(|s| s.flags.rst()).count()
}

#[test]
fn test_knob_rst_after_reset() {
    // The peer reset the connection and the application closed it.
    let peer_reset = |h: &mut H| {
        h.send(RST, 1, 0);
        h.close();
        assert!(h.freed());
    };
    assert_eq!(rsts_for_two_more("every", peer_reset), 2);
    assert_eq!(rsts_for_two_more("silent", peer_reset), 0);
    // close() sent FIN; the peer's first data after it draws RST (data after
    // close), the second one RST again, or nothing.
    let closed = |h: &mut H| {
        h.close();
        assert_eq!(h.state(), State::FinWait1);
    };
    assert_eq!(rsts_for_two_more("every", closed), 2);
    assert_eq!(rsts_for_two_more("silent", closed), 1);
    // A reset connection the application still holds (CLOSED, not freed).
    let held = |h: &mut H| h.send(RST, 1, 0);
    assert_eq!(rsts_for_two_more("silent", held), 0);
    // A new connection from the same 4-tuple is not silenced.
    let mut h = established_with(set("rst_after_reset", "silent"));
    peer_reset(&mut h);
    h.flush();
    h.send(SYN, 50_000, 0);
    assert!(h.sent_segments().iter().any(|s| s.flags.rst()));
}

/// bind() of a new socket to the port a TIME-WAIT connection holds, with
/// SO_REUSEADDR set on the old socket, the new one, or both.
fn bind_over_time_wait(value: &str, old_reuse: bool, new_reuse: bool) -> CallResult {
    let mut h = time_wait_from(fin_wait_2_from(fin_wait_1_from(established_with(set(
        "reuseaddr_bind",
        value,
    )))));
    h.host.sock_mut(h.sid).reuse_addr = old_reuse;
    let new = h.call(Call::Socket { new: () }).unwrap().unwrap() as Fd;
    let on = new_reuse;
    assert_eq!(h.call(Call::ReuseAddr { sock: new, on }), Some(Ok(0)));
    let port = h.host.sock(h.sid).local.port;
    h.call(Call::Bind { sock: new, port })
        .expect("bind returns")
}

#[test]
fn test_knob_reuseaddr_bind() {
    use Errno::EADDRINUSE;
    // Linux: both sockets must have asked (inet_bind_conflict()).
    assert_eq!(bind_over_time_wait("both", false, false), Err(EADDRINUSE));
    assert_eq!(bind_over_time_wait("both", false, true), Err(EADDRINUSE));
    assert_eq!(bind_over_time_wait("both", true, false), Err(EADDRINUSE));
    assert_eq!(bind_over_time_wait("both", true, true), Ok(0));
    // BSD: the new socket's option alone (in_pcbbind_setup()).
    assert_eq!(bind_over_time_wait("new", false, false), Err(EADDRINUSE));
    assert_eq!(bind_over_time_wait("new", false, true), Ok(0));
    assert_eq!(bind_over_time_wait("new", true, true), Ok(0));
    // A listener holds its port whatever either socket set.
    for value in ["both", "new"] {
        let mut h = listen_with(set("reuseaddr_bind", value), 16);
        let lfd = h.fd;
        assert_eq!(
            h.call(Call::ReuseAddr {
                sock: lfd,
                on: true
            }),
            Some(Ok(0))
        );
        let new = h.call(Call::Socket { new: () }).unwrap().unwrap() as Fd;
        assert_eq!(
            h.call(Call::ReuseAddr {
                sock: new,
                on: true
            }),
            Some(Ok(0))
        );
        let port = h.host.sock(h.sid).local.port;
        assert_eq!(
            h.call(Call::Bind { sock: new, port }),
            Some(Err(EADDRINUSE))
        );
    }
}

#[test]
fn test_knob_syn_in_time_wait() {
    let new_syn = |value| {
        let mut h = established_passive_with(set("syn_in_time_wait", value));
        h.close();
        h.send(ACK, 1, 2);
        h.send(FIN | ACK, 1, 2);
        assert_eq!(h.state(), State::TimeWait);
        h.flush();
        h.send(SYN, 100_000, 0);
        h.sent_segments()[0].flags
    };
    assert_eq!(new_syn("reopen-if-newer"), SYN | ACK);
    assert_eq!(new_syn("ack"), ACK);
}

// ---- the handshake ----------------------------------------------------------

#[test]
fn test_knob_rst_to_syn() {
    let mut h = syn_sent_from(closed_with(set("rst_to_syn", "refuse")));
    h.send(RST | ACK, 0, 1);
    assert_eq!(h.state(), State::Closed);
    let p = linux_with(&[("rst_to_syn", "retry-syn"), ("refused_syn_retries", "3")]);
    let mut h = syn_sent_from(closed_with(p));
    h.send(RST | ACK, 0, 1);
    assert_eq!(
        h.state(),
        State::SynSent,
        "ignored; the SYN will be retried"
    );
}

#[test]
fn test_knob_syn_sent_keeps_syn_data() {
    // Simultaneous open with 3 octets on the peer's SYN; then the ACK of our SYN-ACK.
    let after = |value| {
        let mut h = syn_sent_from(closed_with(set("syn_sent_keeps_syn_data", value)));
        h.nonblocking(true);
        let syn = Segment {
            len: 3,
            ..h.peer(SYN, 0, 0)
        };
        h.inject(syn);
        let synack = h.sent();
        h.send(ACK, 4, 1);
        (synack, h.read(100))
    };
    let (synack, read) = after("true");
    assert_eq!(
        synack,
        ["S. 0:0(0) ack 1"],
        "the SYN-ACK acknowledges the SYN only"
    );
    assert_eq!(read, Some(Ok(3)));
    let (synack, read) = after("false");
    assert_eq!(synack, ["S. 0:0(0) ack 1"]);
    assert_eq!(read, Some(Err(Errno::EAGAIN)));
}

#[test]
fn test_knob_refused_syn_retries() {
    // KB 175523: each RST is ignored and the SYN retried at a fixed interval, then refused.
    let syns_before_refusal = |retries| {
        let p = linux_with(&[
            ("rst_to_syn", "retry-syn"),
            ("refused_syn_retries", retries),
            ("refused_syn_retry_ms", "500"),
        ]);
        let mut h = syn_sent_from(closed_with(p));
        let mut syns = 0;
        for _ in 0..20 {
            h.send(RST | ACK, 0, 1);
            if h.state() == State::Closed {
                break;
            }
            // The retry comes 500 ms after the RST, before any RTO-driven retransmission.
            syns += h.send_times(600, |s| s.flags.syn()).len();
        }
        assert_eq!(h.read(1), Some(Err(Errno::ECONNREFUSED)));
        syns
    };
    assert_eq!(syns_before_refusal("1"), 1);
    assert_eq!(syns_before_refusal("3"), 3);
}

#[test]
fn test_knob_rst_seq_match() {
    // 100 bytes arrive (ACKed at once, or not yet with `quickack_segs` 0), maybe
    // a FIN after them, then an RST at `rst_at`: reset, challenge ACK, or dropped?
    let rst = |knobs: &[(&str, &str)], fin: bool, rst_at: u32| {
        let mut h = established_with(linux_with(knobs));
        h.send_data(1, 1, 100);
        if fin {
            h.send(FIN | ACK, 101, 1);
        }
        h.flush();
        h.send(RST, rst_at, 0);
        match (h.state(), h.sent().len()) {
            (State::Closed, _) => "reset",
            (_, 0) => "dropped",
            (_, _) => "challenge ACK",
        }
    };
    let linux = ("rst_seq_match", "rcv-nxt-or-one-below-after-fin");
    let rfc = ("rst_seq_match", "rcv-nxt");
    let bsd = ("rst_seq_match", "last-ack-sent");
    let xnu = ("rst_seq_match", "last-ack-sent-or-one-below-after-fin");
    let delayed = ("quickack_segs", "0");
    let fin_acked = ("ack_pingpong", "false");
    // CLOSE-WAIT, an RST answering our ACK of the data sent before the FIN came.
    assert_eq!(rst(&[linux], true, 101), "reset");
    assert_eq!(rst(&[rfc], true, 101), "dropped");
    // The ACK of the data is still delayed: last_ack_sent trails RCV.NXT.
    assert_eq!(rst(&[rfc, delayed], false, 101), "reset");
    assert_eq!(rst(&[bsd, delayed], false, 101), "challenge ACK");
    assert_eq!(rst(&[bsd, delayed], false, 1), "reset");
    assert_eq!(rst(&[rfc, delayed], false, 1), "dropped");
    // The FIN was ACKed: one below the last ACK in CLOSE-WAIT.
    assert_eq!(rst(&[xnu, fin_acked], true, 101), "reset");
    assert_eq!(rst(&[bsd, fin_acked], true, 101), "dropped");
}

#[test]
fn test_knob_refused_syn_retry_ms() {
    // How long after the RST the SYN goes out again (KB 175523: no backoff).
    let retry_after = |ms| {
        let p = linux_with(&[
            ("rst_to_syn", "retry-syn"),
            ("refused_syn_retries", "3"),
            ("refused_syn_retry_ms", ms),
        ]);
        let mut h = syn_sent_from(closed_with(p));
        h.send(RST | ACK, 0, 1);
        let first = h.send_times(5_000, |s| s.flags.syn())[0];
        h.send(RST | ACK, 0, 1);
        (first, h.send_times(5_000, |s| s.flags.syn())[0])
    };
    assert_eq!(retry_after("500"), (500, 500));
    assert_eq!(retry_after("1000"), (1_000, 1_000));
}

#[test]
fn test_knob_challenge_ack() {
    let mut h = established_with(set("challenge_ack", "true"));
    h.send(RST, 100, 0);
    assert_eq!(
        (h.state(), h.sent()),
        (State::Established, vec![". 1:1(0) ack 1".into()])
    );
    let mut h = established_with(set("challenge_ack", "false"));
    h.send(RST, 100, 0);
    assert_eq!(
        h.state(),
        State::Closed,
        "RFC 793: any RST in the window resets"
    );
}

#[test]
fn test_knob_syn_challenge_ack() {
    // A SYN in the window: challenge ACK, or RST and abort; the RST check is apart.
    let mut h = established_with(set("syn_challenge_ack", "true"));
    h.send(SYN, 1, 0);
    assert_eq!(
        (h.state(), h.sent()),
        (State::Established, vec![". 1:1(0) ack 1".into()])
    );
    let mut h = established_with(linux_with(&[
        ("syn_challenge_ack", "false"),
        ("challenge_ack", "true"),
    ]));
    h.send(SYN, 1, 0);
    assert_eq!(h.sent(), ["R. 1:1(0) ack 1"]);
    assert_eq!(rst_causes(&mut h), [RstCause::SynInWindow]);
    assert_eq!(h.state(), State::Closed);
}

// ---- what the FreeBSD packetdrill suite showed ----------------------------

#[test]
fn test_knob_ack_resends_fin() {
    // Simultaneous close: the ACK of the peer's FIN carries our FIN again.
    let closing = |value| {
        let mut h = fin_wait_1_from(established_with(set("ack_resends_fin", value)));
        h.send(FIN | ACK, 1, 1);
        assert_eq!(h.state(), State::Closing);
        h.sent()
    };
    assert_eq!(closing("true"), ["F. 1:1(0) ack 2"]);
    assert_eq!(closing("false"), [". 2:2(0) ack 2"]);
    // A challenge ACK never does (BSD tcp_respond).
    let mut h = fin_wait_1_from(established_with(set("ack_resends_fin", "true")));
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), [". 2:2(0) ack 1"]);
}

#[test]
fn test_knob_rst_window_zero() {
    let rst_window = |value| {
        let mut h = established_with(linux_with(&[
            ("rst_window_zero", value),
            ("syn_challenge_ack", "false"),
        ]));
        h.send(SYN, 1, 0);
        let rst: Vec<_> = h
            .sent_segments()
            .into_iter()
            .filter(|s| s.flags.rst())
            .collect();
        assert_eq!(rst.len(), 1);
        rst[0].wnd
    };
    assert_eq!(rst_window("true"), 0);
    assert!(rst_window("false") > 0);
}

#[test]
fn test_knob_abort_rst_after_fin() {
    // A SYN in the window in LAST-ACK (insecure_syn): tcp_drop's RST, or none.
    let rsts = |value| {
        let mut h = established_with(linux_with(&[
            ("abort_rst_after_fin", value),
            ("syn_challenge_ack", "false"),
        ]));
        h.send(FIN | ACK, 1, 1);
        h.close();
        assert_eq!(h.state(), State::LastAck);
        h.flush();
        h.send(SYN, 2, 0);
        assert_eq!(h.state(), State::Closed);
        h.sent()
    };
    assert_eq!(rsts("true"), ["R. 2:2(0) ack 2"]);
    assert_eq!(rsts("false"), Vec::<String>::new());
}

/// getsockopt(SO_RCVBUF) and getsockopt(SO_SNDBUF) once connected.
fn bufs(p: Personality) -> (Option<CallResult>, Option<CallResult>) {
    let mut h = established_with(p);
    let fd = h.fd;
    let rcv = h.call(Call::Getsockopt {
        sock: fd,
        opt: SockOpt::RcvBuf,
    });
    let snd = h.call(Call::Getsockopt {
        sock: fd,
        opt: SockOpt::SndBuf,
    });
    (rcv, snd)
}

#[test]
fn test_knob_snd_buf_tuning() {
    // Established with MSS 1460: 2 × 10 segments × (2048 + 256) octets
    // (tcp_sndbuf_expand), or tcp_wmem[1] as it was.
    assert_eq!(bufs(linux_with(&[])).1, Some(Ok(46_080)));
    assert_eq!(bufs(fixed_snd_buf()).1, Some(Ok(16_384)));
    // A full window's ACKs grow the buffer with cwnd; SO_SNDBUF stops it.
    let grown = |p, sndbuf: Option<u32>| {
        let mut h = closed_with(p);
        let fd = h.fd;
        if let Some(bytes) = sndbuf {
            assert_eq!(h.call(Call::SndBuf { sock: fd, bytes }), Some(Ok(0)));
        }
        let mut h = established_from(syn_sent_from(h));
        h.nonblocking(true);
        let wrote = h.write(100_000);
        h.send(ACK, 1, 1 + 10 * MSS);
        let fd = h.fd;
        let snd = h.call(Call::Getsockopt {
            sock: fd,
            opt: SockOpt::SndBuf,
        });
        (wrote, snd)
    };
    let (wrote, snd) = grown(linux_with(&[]), None);
    // In whole segments (snd_buf_whole_segments): 32 × 1460.
    assert_eq!(wrote, Some(Ok(46_720)));
    assert!(matches!(snd, Some(Ok(n)) if n > 46_080), "{snd:?}");
    // SO_SNDBUF 20000: 14 whole segments (snd_buf_whole_segments).
    assert_eq!(
        grown(linux_with(&[]), Some(20_000)),
        (Some(Ok(20_440)), Some(Ok(40_000)))
    );
}

#[test]
fn test_knob_snd_buf_whole_segments() {
    // A non-blocking write into the 46080-octet buffer: 32 whole segments
    // of 1460, as the kernel takes 32 × 1448 = 46336 with timestamps
    // (scenarios/kernel/linger-big-queue.toml); or the buffer exactly.
    let wrote = |p| {
        let mut h = established_from(syn_sent_from(closed_with(p)));
        h.nonblocking(true);
        h.write(100_000)
    };
    assert_eq!(wrote(linux_with(&[])), Some(Ok(46_720)));
    // The room is tested before each segment: of a fixed 16384, 12 × 1460
    // are queued; an ACK of 1000 leaves no room (16520 queued), one of
    // 2000 leaves 864, so one more segment.
    let fixed = linux_with(&[("snd_buf_tuning", "fixed")]);
    let mut h = established_from(syn_sent_from(closed_with(fixed)));
    h.nonblocking(true);
    assert_eq!(h.write(100_000), Some(Ok(17_520)));
    h.send(ACK, 1, 1001);
    assert_eq!(h.write(5000), Some(Err(Errno::EAGAIN)));
    h.send(ACK, 1, 2001);
    assert_eq!(h.write(5000), Some(Ok(1460)));
    assert_eq!(
        wrote(linux_with(&[("snd_buf_whole_segments", "false")])),
        Some(Ok(46_080))
    );
}

#[test]
fn test_knob_snd_buf_max_bytes() {
    assert_eq!(bufs(set("snd_buf_max_bytes", "30000")).1, Some(Ok(30_000)));
    assert_eq!(
        bufs(set("snd_buf_max_bytes", "4194304")).1,
        Some(Ok(46_080))
    );
}

#[test]
fn test_knob_buf_mss_roundup() {
    // 131072 and 16384 rounded up to multiples of 1460: 90 and 12 segments.
    assert_eq!(
        bufs(linux_with(&[
            ("buf_mss_roundup", "true"),
            ("snd_buf_tuning", "fixed")
        ])),
        (Some(Ok(131_400)), Some(Ok(17_520)))
    );
    assert_eq!(
        bufs(linux_with(&[
            ("buf_mss_roundup", "false"),
            ("snd_buf_tuning", "fixed")
        ])),
        (Some(Ok(131_072)), Some(Ok(16_384)))
    );
    // The window follows the receive buffer: an RST at its old right edge is in it.
    let rst_at_old_edge = |value| {
        let mut h = established_with(linux_with(&[
            ("buf_mss_roundup", value),
            ("rcv_ssthresh_growth", "false"),
            ("rcv_wnd_initial_pct", "100"),
            ("rcv_wnd_pct", "100"),
            ("rcv_wnd_rounding", "free-space"),
        ]));
        h.send(RST, 131_073, 0);
        h.sent()
    };
    assert_eq!(
        rst_at_old_edge("true"),
        [". 1:1(0) ack 1"],
        "a challenge ACK: in the window"
    );
    assert_eq!(
        rst_at_old_edge("false"),
        Vec::<String>::new(),
        "outside: dropped"
    );
}

#[test]
fn test_knob_sndbuf_setsockopt_factor() {
    let set_then_read = |factor| {
        let mut h = closed_with(set("sndbuf_setsockopt_factor", factor));
        let fd = h.fd;
        h.call(Call::SndBuf {
            sock: fd,
            bytes: 4000,
        });
        let read = h.call(Call::Getsockopt {
            sock: fd,
            opt: SockOpt::SndBuf,
        });
        (read, h.s().snd_buf)
    };
    assert_eq!(set_then_read("2"), (Some(Ok(8000)), 4000));
    assert_eq!(set_then_read("1"), (Some(Ok(4000)), 4000));
}

#[test]
fn test_knob_rst_error_after_fin() {
    // shutdown(SHUT_WR), the peer's FIN crossing ours (CLOSING), then its RST.
    let so_error = |value| {
        let mut h = established_with(set("rst_error_after_fin", value));
        h.shutdown(How::Wr);
        h.send(FIN | ACK, 1, 1);
        assert_eq!(h.state(), State::Closing);
        h.send(RST, 2, 0);
        assert_eq!(h.state(), State::Closed);
        let fd = h.fd;
        h.call(Call::Getsockopt {
            sock: fd,
            opt: SockOpt::SoError,
        })
    };
    assert_eq!(so_error("true"), Some(Err(Errno::ECONNRESET)));
    assert_eq!(so_error("false"), Some(Ok(0)));
}

#[test]
fn test_knob_listener_rsts_synack() {
    let answer = |value| {
        let mut h = listen_with(set("listener_rsts_synack", value), 1);
        h.send(SYN | ACK, 17, 34);
        h.sent()
    };
    assert_eq!(answer("true").len(), 1);
    assert_eq!(answer("false"), Vec::<String>::new());
}

#[test]
fn test_knob_time_wait_needs_ack() {
    // The peer's FIN again, without ACK: dropped, or answered.
    let answer = |value| {
        let mut h = time_wait_from(fin_wait_2_from(fin_wait_1_from(established_with(set(
            "time_wait_needs_ack",
            value,
        )))));
        h.send(FIN, 1, 0);
        assert_eq!(h.state(), State::TimeWait);
        h.sent()
    };
    assert_eq!(answer("true"), Vec::<String>::new());
    assert_eq!(answer("false"), [". 2:2(0) ack 2"]);
}

#[test]
fn test_knob_drop_synfin() {
    let answer = |value| {
        let mut h = listen_with(set("drop_synfin", value), 1);
        h.send(SYN | FIN, 0, 0);
        h.sent()
    };
    assert_eq!(answer("true"), Vec::<String>::new());
    assert_eq!(answer("false"), ["S. 0:0(0) ack 1"]);
}

#[test]
fn test_knob_syncache_wnd_clip() {
    // A listener's half-open connection with a 1 MB buffer: an RST at 65536
    // past the SYN is outside a clipped window (ignored), inside the full one.
    let answer = |value| {
        let p = linux_with(&[
            ("syncache_wnd_clip", value),
            ("rcv_buf_bytes", "1000000"),
            ("rcv_wnd_initial_pct", "100"),
        ]);
        let mut h = syn_received_from(listen_with(p, 1));
        h.send(RST | ACK, 65_536, 0);
        (h.state(), h.sent().len())
    };
    assert_eq!(answer("true"), (State::SynReceived, 0));
    assert_ne!(answer("false"), (State::SynReceived, 0));
}

#[test]
fn test_knob_old_segment_acks() {
    // CLOSING; the peer's FIN again, now with the ACK of ours: TIME-WAIT, or still CLOSING.
    let after = |value| {
        let mut h = fin_wait_1_from(established_with(set("old_segment_acks", value)));
        h.send(FIN | ACK, 1, 1);
        assert_eq!(h.state(), State::Closing);
        h.flush();
        h.send(FIN | ACK, 1, 2);
        h.state()
    };
    assert_eq!(after("true"), State::TimeWait);
    assert_eq!(after("false"), State::Closing);
}

/// A connection of `p` whose peer offers timestamps and window scaling: the
/// window of our ACK of its SYN-ACK, and the harness.
fn scaled_established(p: Personality) -> (u32, H) {
    let mut h = syn_sent_from(closed_with(p));
    let syn_ack = Segment {
        opts: SynOpts(SynOpts::TS.0 | SynOpts::WS.0),
        ..h.peer(SYN | ACK, 0, 1)
    };
    h.inject(syn_ack);
    let ack = h.sent_segments();
    (ack[0].wnd, h)
}

#[test]
fn test_knob_tcp_window_scaling() {
    // Scaled: ALIGN(64088, 1 << 10), the SYN's 64240 less than one unit
    // away; unscaled the SYN's 64240 is kept (never shrunk).
    assert_eq!(
        scaled_established(set("tcp_window_scaling", "true")).0,
        64_512
    );
    assert_eq!(
        scaled_established(set("tcp_window_scaling", "false")).0,
        64_240
    );
}

#[test]
fn test_knob_tcp_rmem_max_bytes() {
    let shift = |v| {
        scaled_established(set("tcp_rmem_max_bytes", v))
            .1
            .s()
            .tcb
            .rcv_wscale
    };
    assert_eq!(shift("33554432"), 10);
    assert_eq!(shift("6291456"), 7);
}

#[test]
fn test_knob_rcv_ssthresh_growth() {
    // On: the clamp keeps one 1448-octet segment in reserve (64088), ALIGNed;
    // off: the free space within the 65536 clamp.
    assert_eq!(
        scaled_established(set("rcv_ssthresh_growth", "true")).0,
        64_512
    );
    assert_eq!(
        scaled_established(set("rcv_ssthresh_growth", "false")).0,
        65_536
    );
}

/// getsockopt(SO_RCVBUF) after 200 ms of a reader that takes each
/// 536-octet segment as it arrives, one a millisecond (after SO_RCVBUF
/// `locked` if given).
fn rcvbuf_after_reading(p: Personality, locked: Option<u32>) -> Option<CallResult> {
    let mut h = closed_with(p);
    if let Some(bytes) = locked {
        let fd = h.fd;
        assert_eq!(h.call(Call::RcvBuf { sock: fd, bytes }), Some(Ok(0)));
    }
    let mut h = established_from(syn_sent_from(h));
    for i in 0..200u32 {
        h.send_data(1 + i * 536, 1, 536);
        assert_eq!(h.read(536), Some(Ok(536)));
        h.advance_ms(1);
        h.flush();
    }
    let fd = h.fd;
    h.call(Call::Getsockopt {
        sock: fd,
        opt: SockOpt::RcvBuf,
    })
}

#[test]
fn test_knob_tcp_moderate_rcvbuf() {
    // A window of 64240 arrives in 120 ms (the receive RTT); the first read
    // after it has copied 120 segments, more than the first measure of
    // 10 × 536: tcp_rcvbuf_grow. Off, or with SO_RCVBUF, the buffer stays.
    let grown = rcvbuf_after_reading(linux_with(&[]), None);
    assert!(matches!(grown, Some(Ok(n)) if n > 1_000_000), "{grown:?}");
    let off = linux_with(&[("tcp_moderate_rcvbuf", "false")]);
    assert_eq!(rcvbuf_after_reading(off, None), Some(Ok(131_072)));
    assert_eq!(
        rcvbuf_after_reading(linux_with(&[]), Some(4096)),
        Some(Ok(8192))
    );
}

#[test]
fn test_knob_scaling_ratio_loopback() {
    // Applied only on a loopback path: the buffer's share for data.
    let space = |v: &str, loopback| {
        let mut h = closed_with(set("scaling_ratio_loopback", v));
        h.host.cfg.loopback = loopback;
        h.host.new_socket(h.local).rcv_space
    };
    assert_eq!(space("239", true), 122_368);
    assert_eq!(space("128", true), 65_536);
    assert_eq!(space("239", false), 81_264, "rcv_wnd_pct elsewhere");
}

#[test]
fn test_knob_ack_needs_window_advance() {
    // 29200 octets unread of the 81264 the buffer takes: the window offered
    // shrinks with each segment, so two more full ones wait for the timer.
    let acks = |v| {
        let mut h = established_with(linux_with(&[
            ("ack_needs_window_advance", v),
            ("quickack_segs", "0"),
            ("rcv_ssthresh_growth", "false"),
        ]));
        for i in 0..20 {
            h.send_data(1 + i * 1460, 1, 1460);
        }
        h.flush();
        h.send_data(1 + 20 * 1460, 1, 1460);
        h.send_data(1 + 21 * 1460, 1, 1460);
        h.sent().len()
    };
    assert_eq!(acks("false"), 1);
    assert_eq!(acks("true"), 0);
}

#[test]
fn test_knob_snd_wnd_full_segment() {
    // A 1000-octet window and 3000 queued, nothing in flight: Linux waits
    // for the probe timer; the RFC rule sends the short segment.
    let first = |v| {
        let mut h = established_with(set("snd_wnd_full_segment", v));
        let w = Segment {
            wnd: 1000,
            ..h.peer(ACK, 1, 1)
        };
        h.inject(w);
        h.flush();
        h.write(3000);
        h.sent()
    };
    // The window stops the burst there: PSH (Linux's psh_ends_burst).
    assert_eq!(first("false"), ["P. 1:1001(1000) ack 1"]);
    assert_eq!(first("true"), Vec::<String>::new());
}

#[test]
fn test_knob_tail_loss_probe() {
    // On (Linux's own value), the tail of a write is probed 2·SRTT + 2 ms
    // after it went: the last segment again, long before the RTO. Off (the
    // harness's Linux, and FreeBSD's value), only the RTO retransmits.
    for (p, probe) in [
        (linux_tlp(), true),
        (set("tail_loss_probe", "false"), false),
        (Personality::builtin("freebsd").expect("freebsd"), false),
    ] {
        let name = format!(
            "{} tail_loss_probe={}",
            p.name, p.knobs.tail_loss_probe.value
        );
        let mut h = established_with(p);
        h.write(3000);
        h.flush();
        let rto = h.s().tcb.rto;
        let times = h.send_times(rto.as_ms() + 1, |_| true);
        if probe {
            assert_eq!(times, [2], "{name}: the probe only, within the RTO");
        } else {
            assert_eq!(times, [rto.as_ms()], "{name}: the RTO only");
        }
    }
}
