//! Knob flips: the handshake (RST to a SYN, SYN data, refused SYNs, RST
//! sequence checks, challenge ACKs).

use super::*;

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
