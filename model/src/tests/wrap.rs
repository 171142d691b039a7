//! Sequence numbers near 2^32 (RFC 9293 §3.4): with both ISNs pinned just below
//! the wrap (HostConfig::isn_fixed), a transfer each way, loss, reordering and
//! the close all cross it. Then streams far longer than the wire numbers: 5 GiB
//! each way, past 2^31 and 2^32 octets, where every position is a 64-bit
//! offset and each number received maps to the offset nearest its window edge.

use super::*;
use crate::seq::Offset;

/// Our ISS 100 below the wrap, the peer's 50 below it.
fn wrapping() -> H {
    let h = harness_isn(linux(), u32::MAX - 100, u32::MAX - 50);
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

/// SYN-SENT, SND.UNA at the ISS just below the wrap: only an ACK of the SYN
/// itself is acceptable. The ISS, the number one before it (no octet of the
/// stream: it maps a wrap later, far beyond SND.MAX) and one 2^31 away are
/// all answered with an RST, and the attempt goes on.
#[test]
fn test_syn_sent_maps_acks_around_the_iss() {
    let p = Personality::builtin("linux").unwrap();
    let mut h = syn_sent_from(closed_from(harness_isn(p, u32::MAX - 100, u32::MAX - 50)));
    let t = &h.s().tcb;
    assert_eq!(t.ack_offset(t.iss + 1), Offset::FIRST_DATA);
    assert_eq!(t.ack_offset(t.iss), Offset::SYN);
    assert_eq!(t.ack_offset(t.iss - 1), Offset((1 << 32) - 1));
    for bad in [0, u32::MAX, 1 << 31] {
        h.send(SYN | ACK, 0, bad);
        assert_eq!(h.sent(), [format!("R {bad}:{bad}(0)")], "ack {bad}");
        assert_eq!(h.state(), State::SynSent);
    }
    h.send(SYN | ACK, 0, 1);
    assert_eq!(h.state(), State::Established);
}

const GIB: u64 = 1 << 30;
const TWO_31: u64 = 1 << 31;
/// Octets each stream carries in `past_2_pow_32`: past 2^31 and 2^32.
const LONG: u64 = 5 * GIB;
/// ACKs the peer sends while `past_2_pow_32` writes `LONG` octets.
const ACK_ROUNDS_MAX: usize = 10_000;

/// The peer's segment at offsets `seq` (in its stream) and `ack` (in ours),
/// with a 1 GiB window: the harness's relative numbers are the offsets modulo 2^32.
fn at(h: &H, flags: Flags, seq: u64, ack: u64) -> Segment {
    Segment {
        wnd: GIB as u32,
        ..h.peer(flags, seq as u32, ack as u32)
    }
}

/// ESTABLISHED after `LONG` octets each way, by real transfers, both ISNs
/// just below the wrap. Payload is counted, never stored, so the peer sends
/// 1 GiB segments into our 1 GiB window, and we send the largest segments an
/// MSS option allows (65535) into its 1 GiB window: a few hundred thousand
/// segments would otherwise become tens of millions.
pub(super) fn past_2_pow_32() -> H {
    let mut p = plain_window(GIB as u32);
    p.set("snd_buf_bytes", &GIB.to_string(), "test").unwrap();
    let mut h = harness_isn(p, u32::MAX - 100, u32::MAX - 50);
    h.host.cfg.mss = u16::MAX as u32;
    let mut h = syn_sent_from(closed_from(h));
    h.inject(Segment {
        mss: u16::MAX,
        ..at(&h, SYN | ACK, 0, 1)
    });
    assert_eq!(h.state(), State::Established);
    for k in 0..LONG / GIB {
        h.inject(Segment {
            len: GIB as u32,
            ..at(&h, ACK | PSH, 1 + k * GIB, 1)
        });
        assert_eq!(h.read(u64::MAX), Some(Ok(GIB)));
    }
    let mut written = 0;
    for _ in 0..ACK_ROUNDS_MAX {
        if let Some(Ok(n)) = h.write(LONG - written) {
            written += n;
        }
        let t = &h.s().tcb;
        if t.snd_una == Offset(1 + LONG) {
            break;
        }
        let ack = at(&h, ACK, 1 + LONG, t.snd_max.0);
        h.flush();
        h.inject(ack);
    }
    h.check();
    let t = &h.s().tcb;
    assert_eq!((t.snd_una, t.rcv_nxt), (Offset(1 + LONG), Offset(1 + LONG)));
    assert_eq!((written, t.unread), (LONG, 0));
    h.flush();
    h
}

/// Past 2^32 octets both ways the wire numbers have wrapped, and each one
/// received maps to the offset nearest its edge (RCV.NXT for sequence
/// numbers, SND.UNA for acknowledgments): within 2^31 either side, exactly
/// 2^31 ahead read as behind.
#[test]
fn test_established_past_2_pow_32_maps_numbers_to_the_nearest_offset() {
    let h = past_2_pow_32();
    let t = &h.s().tcb;
    // Both ISNs were within 100 of 2^32: 5 GiB on, the numbers have wrapped
    // twice and are below them.
    assert_eq!(t.rcv_seq(t.rcv_nxt), t.irs + (1 + LONG) as u32);
    assert!(t.rcv_seq(t.rcv_nxt).0 < t.irs.0 && t.snd_seq(t.snd_una).0 < t.iss.0);
    // The peer's stream (sequence numbers) and ours (acknowledgments).
    let wire = |peers: bool, o| if peers { t.rcv_seq(o) } else { t.snd_seq(o) };
    let read = |peers: bool, s| {
        if peers {
            t.seq_offset(s)
        } else {
            t.ack_offset(s)
        }
    };
    for (peers, edge) in [(true, t.rcv_nxt), (false, t.snd_una)] {
        let read = |o| read(peers, wire(peers, o));
        for d in [0, 1, 65_535, GIB, TWO_31 - 1] {
            assert_eq!(read(edge + d), edge + d, "{d} ahead of {edge}");
            assert_eq!(read(edge - d), edge - d, "{d} behind {edge}");
        }
        assert_eq!(read(edge + TWO_31), edge - TWO_31, "2^31 ahead");
    }
}

/// What the mapping means for segments past 2^32: numbers far from the
/// edges are refused as the RFC refuses them, numbers at the edges work.
#[test]
fn test_established_past_2_pow_32_checks_segments_against_the_edges() {
    let mut h = past_2_pow_32();
    let nxt = 1 + LONG;
    let ack_line = |seq: u64| format!(". {}:{}(0) ack {}", nxt as u32, nxt as u32, seq as u32);
    // 2^31 behind RCV.NXT: out of the window, dropped.
    h.inject(at(&h, RST, nxt - TWO_31, 0));
    assert_eq!((h.sent(), h.state()), (vec![], State::Established));
    // Data just under 2^31 ahead, and a gigabyte back: unacceptable, re-ACKed.
    for seq in [nxt + TWO_31 - 1, nxt - GIB] {
        h.inject(Segment {
            len: 1000,
            ..at(&h, ACK, seq, nxt)
        });
        assert_eq!(h.sent(), [ack_line(nxt)], "data at {seq}");
    }
    // An ACK just under 2^31 beyond SND.MAX acknowledges nothing sent.
    h.inject(at(&h, ACK, nxt, nxt + TWO_31 - 1));
    assert_eq!(h.sent(), [ack_line(nxt)]);
    // One 2^31 old changes nothing.
    h.inject(at(&h, ACK, nxt, nxt - TWO_31));
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.s().tcb.snd_una, Offset(nxt));
    // In-order data is taken; an RST in the window but not at RCV.NXT is
    // challenged; one at RCV.NXT resets.
    h.inject(Segment {
        len: 100,
        ..at(&h, ACK | PSH, nxt, nxt)
    });
    assert_eq!(h.s().tcb.unread, 100);
    h.flush();
    h.inject(at(&h, RST, nxt + 1000, 0));
    assert_eq!(h.sent(), [ack_line(nxt + 100)]);
    h.inject(at(&h, RST, nxt + 100, 0));
    assert_eq!(h.state(), State::Closed);
}

/// The active close past 2^32: FIN-WAIT-1, the ACK of our FIN, the peer's
/// FIN and its retransmission in TIME-WAIT, expiry.
#[test]
fn test_fin_wait_past_2_pow_32_closes_in_order() {
    let mut h = past_2_pow_32();
    let (end, fin) = ((1 + LONG) as u32, (2 + LONG) as u32);
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), [format!("F. {end}:{end}(0) ack {end}")]);
    assert_eq!(h.state(), State::FinWait1);
    h.inject(at(&h, ACK, 1 + LONG, 2 + LONG));
    assert_eq!(h.state(), State::FinWait2);
    let peer_fin = at(&h, FIN | ACK, 1 + LONG, 2 + LONG);
    h.inject(peer_fin);
    assert_eq!(h.state(), State::TimeWait);
    assert_eq!(h.sent(), [format!(". {fin}:{fin}(0) ack {fin}")]);
    h.inject(peer_fin);
    assert_eq!(
        h.sent(),
        [format!(". {fin}:{fin}(0) ack {fin}")],
        "FIN again"
    );
    h.advance_ms(60_000);
    assert!(h.freed());
}

/// The passive close past 2^32: CLOSE-WAIT, LAST-ACK, CLOSED at the ACK of our FIN.
#[test]
fn test_close_wait_past_2_pow_32_closes_in_order() {
    let mut h = past_2_pow_32();
    let (end, fin) = ((1 + LONG) as u32, (2 + LONG) as u32);
    h.inject(at(&h, FIN | ACK, 1 + LONG, 1 + LONG));
    assert_eq!(h.state(), State::CloseWait);
    assert_eq!(h.read(1), Some(Ok(0)), "EOF after 5 GiB");
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.state(), State::LastAck);
    // The FIN's ACK was delayed (ping-pong mode): it rides on ours.
    assert_eq!(h.sent(), [format!("F. {end}:{end}(0) ack {fin}")]);
    h.inject(at(&h, ACK, 2 + LONG, 2 + LONG));
    assert!(h.freed());
}
