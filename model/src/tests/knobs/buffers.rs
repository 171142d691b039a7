//! Knob flips: buffers and windows (receive and send buffers, the
//! advertised window, timestamps, the initial congestion window).

use super::*;

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
