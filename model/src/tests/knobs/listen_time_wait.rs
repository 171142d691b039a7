//! Knob flips: listeners (queue overflow, the accept queue) and TIME-WAIT
//! (RSTs in it, a bind over it, a SYN to it).

use super::*;

/// A listen(1) queue filled with two established children, then a third SYN: what
/// the listener sent in reply, and what completing that handshake drew.
fn overflow(value: &str) -> (Vec<Segment>, Vec<Segment>) {
    let mut h = listen_with(set("listen_overflow", value), 1);
    for port in [50_001, 50_002] {
        handshake_from(&mut h, port);
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
            handshake_from(&mut h, 50_001 + port);
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
