//! Sequence numbers near 2^32 (RFC 9293 §3.4): with both ISNs pinned just below
//! the wrap (HostConfig::isn_fixed), a transfer each way, loss, reordering and
//! the close all cross it.

use super::*;

/// Our ISS 100 below the wrap, the peer's 50 below it.
fn wrapping() -> H {
    let p = Personality::builtin("linux").unwrap();
    let h = harness_isn(p, u32::MAX - 100, u32::MAX - 50);
    established_from(syn_sent_from(closed_from(h)))
}

#[test]
fn test_established_transfer_and_close_across_the_wrap() {
    let mut h = wrapping();
    // Our 4000 octets cross 2^32 in the first segment.
    assert_eq!(h.write(4000), Some(Ok(4000)));
    let segs = h.sent_segments();
    assert_eq!(segs.len(), 3);
    assert_eq!(segs[0].seq, Seq(u32::MAX - 99));
    assert!(segs[1].seq.0 < 10_000, "wrapped: {:?}", segs[1].seq);
    h.check();
    // Partial ACK across the wrap, then the rest.
    h.send(ACK, 1, 1 + MSS);
    assert_eq!(h.s().snd_queued(), 4000 - MSS as u64);
    h.send(ACK, 1, 4001);
    assert_eq!(h.s().snd_queued(), 0);
    assert_eq!(h.s().tcb.send_timer.at(), None);
    h.check();
    // The peer's data crosses the wrap too, out of order.
    h.send_data(1001, 4001, 1000);
    h.send_data(1, 4001, 1000);
    assert_eq!(
        h.sent(),
        [". 4001:4001(0) ack 1", ". 4001:4001(0) ack 2001"]
    );
    assert_eq!(h.read(10_000), Some(Ok(2000)));
    // Close from both ends: FIN, its ACK, the peer's FIN, TIME-WAIT, expiry.
    h.close();
    assert_eq!(h.sent(), ["F. 4001:4001(0) ack 2001"]);
    h.send(ACK, 2001, 4002);
    assert_eq!(h.state(), State::FinWait2);
    h.send(FIN | ACK, 2001, 4002);
    assert_eq!(h.sent(), [". 4002:4002(0) ack 2002"]);
    assert_eq!(h.state(), State::TimeWait);
    h.advance_ms(60_000);
    assert!(h.freed());
}

#[test]
fn test_established_retransmission_across_the_wrap() {
    let mut h = wrapping();
    h.write(3 * MSS as u64);
    h.flush();
    h.send(ACK, 1, 1 + MSS);
    h.advance_ms(1_000);
    let rexmit = h.sent();
    assert_eq!(
        rexmit[0],
        format!(". {}:{}(1460) ack 1", 1 + MSS, 1 + 2 * MSS)
    );
    h.send(ACK, 1, 1 + 3 * MSS);
    assert_eq!(h.s().snd_queued(), 0);
    h.check();
}

#[test]
fn test_established_rst_validation_across_the_wrap() {
    let mut h = wrapping();
    // 200 octets in: RCV.NXT is past the wrap now.
    h.send_data(1, 1, 200);
    h.flush();
    h.send(RST, 100, 0); // before RCV.NXT: out of the window
    assert_eq!(h.sent(), Vec::<String>::new());
    h.send(RST, 300, 0); // in the window, not exact: challenge ACK
    assert_eq!(h.sent(), [". 1:1(0) ack 201"]);
    h.send(RST, 201, 0);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn test_syn_received_passive_open_across_the_wrap() {
    let p = Personality::builtin("linux").unwrap();
    let mut h = listen_with(p, 4);
    h.our_iss = u32::MAX;
    h.host.cfg.isn_fixed = Some(u32::MAX);
    h.peer_iss = u32::MAX;
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), ["S. 0:0(0) ack 1"]);
    let syn_ack_ack = h.peer(ACK, 1, 1);
    assert_eq!(
        syn_ack_ack.ack,
        Seq(0),
        "our SYN took the last number before the wrap"
    );
    h.inject(syn_ack_ack);
    h.sid = child_of(&h, h.remote);
    assert_eq!(h.state(), State::Established);
    h.send_data(1, 1, 10);
    assert_eq!(h.s().tcb.unread, 10);
}
