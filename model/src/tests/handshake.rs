//! CLOSED, LISTEN, SYN-SENT, SYN-RECEIVED: opening, simultaneous open, and the
//! RSTs of the handshake (RFC 9293 §3.10.7.1–§3.10.7.4).

use super::*;
use crate::event::RstCause;
use crate::Errno;

#[test]
fn test_closed_connect_sends_syn_with_mss() {
    let mut h = closed();
    let to = h.remote;
    h.call(Call::Connect {
        sock: h.fd,
        to: to.into(),
    });
    let syn = h.sent_segments();
    assert_eq!(syn.len(), 1);
    assert_eq!(syn[0].flags, SYN);
    assert_eq!(syn[0].seq, Seq(OUR_ISS));
    assert_eq!(syn[0].mss, MSS as u16);
    assert_eq!(h.state(), State::SynSent);
}

#[test]
fn test_closed_port_syn_gets_rst_ack() {
    // RFC 9293 §3.10.7.1: no ACK on the SYN, so <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    let mut h = harness();
    let mut syn = h.peer(SYN, 0, 0);
    syn.dst.port = 9;
    h.inject(syn);
    let rst = h.sent_segments();
    assert_eq!(rst.len(), 1);
    assert_eq!(rst[0].flags, RST | ACK);
    assert_eq!(rst[0].seq, Seq(0));
    assert_eq!(rst[0].ack, Seq(PEER_ISS + 1));
    assert_eq!((rst[0].src, rst[0].dst), (syn.dst, syn.src));
    assert_eq!(rst_causes(&mut h), [RstCause::ClosedPort]);
}

#[test]
fn test_closed_port_ack_gets_rst_at_its_ack() {
    // With an ACK: <SEQ=SEG.ACK><CTL=RST>, no ACK bit.
    let mut h = harness();
    let seg = Segment {
        len: 10,
        ..h.peer(ACK, 1, 7)
    };
    h.inject(seg);
    assert_eq!(h.sent(), ["R 7:7(0)"]);
    assert_eq!(rst_causes(&mut h), [RstCause::NoConnection]);
}

#[test]
fn test_closed_port_rst_is_not_answered() {
    let mut h = harness();
    h.send(RST | ACK, 1, 1);
    assert_eq!(h.sent(), Vec::<String>::new());
}

#[test]
fn test_syn_sent_syn_ack_with_data_establishes_and_delivers() {
    let mut h = syn_sent();
    let seg = Segment {
        len: 100,
        ..h.peer(SYN | ACK, 0, 1)
    };
    h.inject(seg);
    assert_eq!(h.state(), State::Established);
    assert_eq!(h.s().tcb.unread, 100);
    // The data may be ACKed late, but the SYN is ACKed at once.
    assert_eq!(h.sent(), [". 1:1(0) ack 101"]);
    assert_eq!(h.read(1000), Some(Ok(100)));
}

#[test]
fn test_syn_sent_syn_ack_takes_an_rtt_sample() {
    // The SYN was sent once, so its ACK times the round trip (Karn's rule allows it):
    // a LAN RTT gives an RTO near the 200 ms floor, not the 1 s initial RTO.
    let mut h = syn_sent();
    h.now += Duration::from_ms(1);
    h.send(SYN | ACK, 0, 1);
    assert!(h.s().tcb.srtt > Duration::ZERO);
    assert!(
        h.s().tcb.rto < Duration::from_ms(300),
        "{:?}",
        h.s().tcb.rto
    );
}

#[test]
fn test_syn_sent_rst_with_acceptable_ack_refuses() {
    // Linux: ECONNREFUSED once, then reads give 0 and writes EPIPE
    // (docs/sources.md#linux-obs-connect-refused).
    let mut h = syn_sent();
    h.send(RST | ACK, 0, 1);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.read(10), Some(Err(Errno::ECONNREFUSED)));
    assert_eq!(h.read(10), Some(Ok(0)));
    assert_eq!(h.write(10), Some(Err(Errno::EPIPE)));
}

#[test]
fn test_syn_sent_rst_without_ack_is_ignored() {
    let mut h = syn_sent();
    h.send(RST, 0, 0);
    assert_eq!(h.state(), State::SynSent);
    assert_eq!(h.sent(), Vec::<String>::new());
}

#[test]
fn test_syn_sent_rst_with_unacceptable_ack_is_ignored() {
    let mut h = syn_sent();
    h.send(RST | ACK, 0, 5);
    assert_eq!(h.state(), State::SynSent);
    assert_eq!(h.sent(), Vec::<String>::new());
}

#[test]
fn test_syn_sent_unacceptable_ack_gets_rst() {
    // §3.10.7.3 first check: SEG.ACK > SND.NXT → <SEQ=SEG.ACK><CTL=RST>; state unchanged.
    let mut h = syn_sent();
    h.send(SYN | ACK, 0, 5);
    assert_eq!(h.sent(), ["R 5:5(0)"]);
    assert_eq!(rst_causes(&mut h), [RstCause::UnacceptableAck]);
    assert_eq!(h.state(), State::SynSent);
    // An ACK of our ISS itself (SEG.ACK =< ISS) is just as unacceptable.
    h.send(SYN | ACK, 0, 0);
    assert_eq!(h.sent(), ["R 0:0(0)"]);
    assert_eq!(h.state(), State::SynSent);
}

#[test]
fn test_syn_sent_ack_without_syn_is_ignored() {
    let mut h = syn_sent();
    h.send(ACK, 0, 1);
    assert_eq!(h.state(), State::SynSent);
    assert_eq!(h.sent(), Vec::<String>::new());
}

#[test]
fn test_syn_sent_bare_syn_is_simultaneous_open() {
    // §3.10.7.3 fourth check: SYN without ACK → SYN-RECEIVED, SYN-ACK from the same ISS.
    let mut h = syn_sent();
    h.send(SYN, 0, 0);
    assert_eq!(h.state(), State::SynReceived);
    assert_eq!(h.sent(), ["S. 0:0(0) ack 1"]);
    assert_eq!(
        h.edges(),
        [(State::SynSent, State::SynReceived, Rule::RcvSynSimultaneous)]
    );
    // The peer's SYN-ACK (RFC 793 figure 8, line 5) completes the open at once.
    h.send(SYN | ACK, 0, 1);
    assert_eq!(h.state(), State::Established);
    assert_eq!(
        h.edges(),
        [(State::SynReceived, State::Established, Rule::RcvAckOfSyn)]
    );
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.write(10), Some(Ok(10)));
    assert_eq!(h.sent(), ["P. 1:11(10) ack 1"]);
}

#[test]
fn test_syn_sent_simultaneous_open_completed_by_plain_ack() {
    let mut h = syn_sent();
    h.send(SYN, 0, 0);
    h.flush();
    h.send(ACK, 1, 1);
    assert_eq!(h.state(), State::Established);
    assert!(h.s().connected);
}

#[test]
fn test_syn_sent_close_drops_the_connection_silently() {
    let mut h = syn_sent();
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), Vec::<String>::new());
    assert!(h.freed());
    // A late SYN-ACK now finds no socket and gets an RST.
    h.send(SYN | ACK, 0, 1);
    assert_eq!(h.sent(), ["R 1:1(0)"]);
}

#[test]
fn test_syn_sent_timeout_retries_linearly_then_etimedout() {
    // docs/sources.md#linux-obs-syn-retries: TCP_SYNCNT=2 fails after ~7.1 s with 6
    // SYNs: 1 s apart (tcp_syn_linear_timeouts), until the time two doubling
    // retransmissions would take (1 + 2 + 4 s) has passed.
    let mut h = syn_sent_from(closed_with(linux_with(&[("syn_retries", "2")])));
    h.advance_ms(999);
    assert_eq!(h.sent(), Vec::<String>::new());
    h.advance_ms(1);
    assert_eq!(h.sent(), ["S 0:0(0)"]);
    h.advance_ms(4_000);
    assert_eq!(h.sent(), ["S 0:0(0)"; 4]);
    h.advance_ms(1_999);
    assert_eq!(h.state(), State::SynSent);
    h.advance_ms(1);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(
        h.sent(),
        Vec::<String>::new(),
        "no RST for a SYN never answered"
    );
    assert_eq!(h.read(1), Some(Err(Errno::ETIMEDOUT)));
}

#[test]
fn test_listen_ack_gets_rst() {
    // §3.10.7.2: any ACK to a listener is for something never sent; in practice a
    // late segment of a connection that is gone, hence the cause.
    let mut h = listen();
    h.send(ACK, 1, 1);
    assert_eq!(h.sent(), ["R 1:1(0)"]);
    assert_eq!(rst_causes(&mut h), [RstCause::NoConnection]);
    assert_eq!(h.state(), State::Listen);
}

#[test]
fn test_listen_rst_is_ignored() {
    let mut h = listen();
    h.send(RST, 0, 0);
    h.send(RST | ACK, 0, 1);
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.state(), State::Listen);
}

#[test]
fn test_listen_segment_without_syn_is_dropped() {
    let mut h = listen();
    h.send(FIN, 1, 0);
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.host.sockets().count(), 1);
}

#[test]
fn test_listen_syn_makes_a_child() {
    let mut h = listen();
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), ["S. 0:0(0) ack 1"]);
    let child = child_of(&h, h.remote);
    assert_eq!(h.host.sock(child).state, State::SynReceived);
    assert_eq!(
        h.edges(),
        [(State::Listen, State::SynReceived, Rule::RcvSyn)]
    );
    // accept() has nothing yet.
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Accept { sock: fd, new: () }),
        Some(Err(Errno::EAGAIN))
    );
}

#[test]
fn test_syn_received_ack_establishes_and_queues_for_accept() {
    let mut h = syn_received();
    h.send(ACK, 1, 1);
    assert_eq!(h.state(), State::Established);
    assert_eq!(
        h.edges(),
        [(State::SynReceived, State::Established, Rule::RcvAckOfSyn)]
    );
    let lfd = h.fd;
    let fd = h
        .call(Call::Accept { sock: lfd, new: () })
        .unwrap()
        .unwrap();
    assert_eq!(h.host.fd_sock(h.pid, fd as Fd), Some(h.sid));
}

#[test]
fn test_syn_received_ack_with_data_and_fin_is_queued_in_close_wait() {
    let mut h = syn_received();
    let seg = Segment {
        len: 20,
        ..h.peer(ACK | PSH | FIN, 1, 1)
    };
    h.inject(seg);
    assert_eq!(h.state(), State::CloseWait);
    // Linux tcp_fin: CLOSE-WAIT is interactive, the ACK waits for a reply.
    assert_eq!(h.sent(), Vec::<String>::new());
    h.advance_ms(40);
    assert_eq!(h.sent(), [". 1:1(0) ack 22"]);
    let lfd = h.fd;
    let fd = h
        .call(Call::Accept { sock: lfd, new: () })
        .unwrap()
        .unwrap() as Fd;
    assert_eq!(
        h.call(Call::Read {
            sock: fd,
            len: ReadLen::Bytes(100),
            timeout: None,
        }),
        Some(Ok(20))
    );
    assert_eq!(
        h.call(Call::Read {
            sock: fd,
            len: ReadLen::Bytes(100),
            timeout: None,
        }),
        Some(Ok(0))
    );
}

#[test]
fn test_syn_received_unacceptable_ack_gets_rst() {
    let mut h = syn_received();
    h.send(ACK, 1, 5);
    assert_eq!(h.sent(), ["R 5:5(0)"]);
    assert_eq!(rst_causes(&mut h), [RstCause::UnacceptableAck]);
    assert_eq!(h.state(), State::SynReceived);
}

#[test]
fn test_syn_received_rst_frees_the_child_quietly() {
    let mut h = syn_received();
    h.send(RST, 1, 0);
    assert!(h.freed());
    assert_eq!(h.sent(), Vec::<String>::new());
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Accept { sock: fd, new: () }),
        Some(Err(Errno::EAGAIN))
    );
    assert!(h
        .host
        .sock(h.host.fd_sock(h.pid, fd).unwrap())
        .listener
        .as_ref()
        .unwrap()
        .embryonic
        .is_empty());
}

#[test]
fn test_syn_received_retransmitted_syn_gets_syn_ack_again() {
    let mut h = syn_received();
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), ["S. 0:0(0) ack 1"]);
    assert_eq!(h.state(), State::SynReceived);
}

#[test]
fn test_syn_received_syn_ack_retransmitted_then_child_dropped() {
    // tcp_synack_retries = 5: 1+2+4+8+16 s of retransmissions, dropped after 32 s more.
    let mut h = syn_received();
    let mut sent = Vec::new();
    for _ in 0..200 {
        h.advance_ms(1_000);
        sent.extend(h.sent());
    }
    assert_eq!(sent, vec!["S. 0:0(0) ack 1"; 5]);
    assert!(h.freed());
    // The listener carries on.
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), ["S. 0:0(0) ack 1"]);
}
