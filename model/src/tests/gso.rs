//! Loopback GSO (`gso`), slow start by acknowledged segments
//! (`slow_start_counts_acked`) and the end of quick-ACK mode at a half-full
//! buffer, pinned to what the kernel sent on `lo` at MTU 1500
//! (`tcpsim real --compare scenarios/kernel/linger-big-queue.toml` and
//! `big-write-close-unread.toml`, Linux 6.18, 1448-octet MSS with timestamps).

use super::established::loopback_established_with;
use super::knobs::TESTED;
use super::*;

/// The payload lengths of what we sent since the last look.
fn lens(h: &mut H) -> Vec<u32> {
    h.sent_segments().iter().map(|s| s.len).collect()
}

#[test]
fn test_knob_gso() {
    // cwnd 10, nothing in flight: tcp_cwnd_test's quota is min(10, 10 / 2)
    // = 5 segments, then min(10 − 5, 5): two GSO packets of 7240 octets.
    let mut h = loopback_established_with(linux());
    h.write(100_000);
    assert_eq!(lens(&mut h), [7240, 7240]);
    let mut h = loopback_established_with(linux_with(&[("gso", "false")]));
    h.write(100_000);
    assert_eq!(lens(&mut h), [1448; 10]);
    // Not on another path: the emulated LAN splits every packet into MSS.
    let mut h = established_with(linux());
    h.write(100_000);
    assert_eq!(lens(&mut h), [1460; 10]);
    assert!(TESTED.contains(&"gso"));
}

#[test]
fn test_knob_slow_start_counts_acked() {
    // The ACK of the first 5 segments raises cwnd by 5 (tcp_slow_start),
    // not by one MSS.
    let cwnd_after_ack = |p| {
        let mut h = loopback_established_with(p);
        h.write(100_000);
        h.sent_segments();
        h.send(ACK, 1, 7241);
        h.s().tcb.cwnd / 1448
    };
    assert_eq!(cwnd_after_ack(linux()), 15);
    let one_mss = linux_with(&[("slow_start_counts_acked", "false")]);
    assert_eq!(cwnd_after_ack(one_mss), 11);
}

#[test]
fn test_linux_loopback_gso_packets_follow_the_cwnd_quota() {
    // The kernel's server in linger-big-queue (a non-blocking write of
    // 46336 octets): 7240, 7240; after the ACK of the first (cwnd 15, 5
    // out) 10136 (quota 7) and 4344 (15 − 12 = 3); after the second (cwnd
    // 20, 10 out) 14480; after the third (cwnd 27, 13 out) the last 2896.
    let mut h = loopback_established_with(linux());
    h.nonblocking(true);
    assert_eq!(h.write(1_000_000), Some(Ok(46_336)));
    assert_eq!(lens(&mut h), [7240, 7240]);
    h.send(ACK, 1, 7241);
    assert_eq!(lens(&mut h), [10_136, 4344]);
    h.send(ACK, 1, 14_481);
    assert_eq!(lens(&mut h), [14_480]);
    h.send(ACK, 1, 24_617);
    assert_eq!(lens(&mut h), [2896]);
}

#[test]
fn test_linux_loopback_quick_acks_end_when_the_buffer_is_half_full() {
    // The kernel's client in big-write-close-unread ACKs the GSO packets of
    // 7240, 7240, 10136, 14480, 4344 and 2896 octets at once (quick-ACK
    // mode), then not the 30408 that leaves less than half of its 122368
    // free: __tcp_select_window sets icsk_ack.quick = 0, and the window
    // would shrink (__tcp_ack_snd_check), so the ACK waits for the timer.
    let mut h = loopback_established_with(linux());
    let mut seq = 1;
    for len in [7240, 7240, 10_136, 14_480, 4344, 2896] {
        h.send_data(seq, 1, len);
        seq += len;
        let acks = h.sent_segments();
        assert_eq!(
            acks.len(),
            1,
            "the ACK of {len} octets at {seq} goes at once"
        );
        assert_eq!(acks[0].ack.0.wrapping_sub(h.peer_iss), seq);
    }
    assert!(h.s().tcb.quick_acks > 0, "quick-ACK mode still on");
    h.send_data(seq, 1, 30_408);
    assert!(h.sent_segments().is_empty(), "no ACK at once");
    assert_eq!(h.s().tcb.quick_acks, 0);
    h.advance_ms(41);
    assert_eq!(h.sent_segments().len(), 1, "the delayed ACK");
}
