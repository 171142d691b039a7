//! The socket API as a program sees it: what each call returns in each
//! situation (errnos checked against the real kernel where Linux was measured:
//! docs/sources.md#linux-real-kernel),
//! blocking in virtual time, descriptor references (dup, fork), and exit.

use super::*;
use crate::event::RstCause;
use crate::Errno;

const NO_SEGMENTS: [&str; 0] = [];

fn call_done(h: &mut H) -> Vec<(Pid, CallResult)> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::CallDone { pid, result } => Some((pid, result)),
            _ => None,
        })
        .collect()
}

#[test]
fn test_closed_never_connected_write_epipe_read_enotconn() {
    // Write EPIPE, read ENOTCONN, shutdown ENOTCONN, fresh or bound
    // (docs/sources.md#linux-obs-never-connected).
    // Same order as the probe: reads before the shutdowns.
    let mut h = closed();
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Bind {
            sock: fd,
            port: 5000
        }),
        Some(Ok(0))
    );
    assert_eq!(h.write(10), Some(Err(Errno::EPIPE)));
    assert_eq!(h.read(10), Some(Err(Errno::ENOTCONN)));
    for how in [How::Wr, How::Rd, How::RdWr] {
        assert_eq!(h.shutdown(how), Some(Err(Errno::ENOTCONN)));
    }
    // inet_shutdown still records the shutdown on a CLOSED socket ("hack to wake up
    // other listeners"), so tcp_recvmsg now stops at RCV_SHUTDOWN: 0, not ENOTCONN.
    assert_eq!(h.read(10), Some(Ok(0)));
}

#[test]
fn test_closed_bad_descriptors_give_ebadf() {
    let mut h = closed();
    assert_eq!(
        h.call(Call::Read {
            sock: 99,
            len: ReadLen::Bytes(1),
            timeout: None,
        }),
        Some(Err(Errno::EBADF))
    );
    assert_eq!(h.call(Call::Close { sock: 2 }), Some(Err(Errno::EBADF)));
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.close(), Some(Err(Errno::EBADF)), "closed twice");
    assert_eq!(h.write(1), Some(Err(Errno::EBADF)));
}

#[test]
fn test_closed_bind_twice_einval_and_port_in_use_eaddrinuse() {
    let mut h = closed();
    let fd = h.fd;
    assert_eq!(h.call(Call::Bind { sock: fd, port: 80 }), Some(Ok(0)));
    assert_eq!(
        h.call(Call::Bind { sock: fd, port: 81 }),
        Some(Err(Errno::EINVAL))
    );
    let other = h.call(Call::Socket { new: () }).unwrap().unwrap() as Fd;
    assert_eq!(
        h.call(Call::Bind {
            sock: other,
            port: 80
        }),
        Some(Err(Errno::EADDRINUSE))
    );
}

#[test]
fn test_syn_sent_connect_again_ealready() {
    let mut h = syn_sent();
    let to = h.remote;
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Connect {
            sock: fd,
            to: to.into()
        }),
        Some(Err(Errno::EALREADY))
    );
}

#[test]
fn test_syn_sent_nonblocking_write_eagain() {
    let mut h = syn_sent();
    assert_eq!(h.write(10), Some(Err(Errno::EAGAIN)));
}

#[test]
fn test_syn_sent_blocking_write_waits_for_the_handshake() {
    let mut h = syn_sent();
    h.nonblocking(false);
    assert_eq!(h.write(10), None);
    h.flush();
    h.send(SYN | ACK, 0, 1);
    assert_eq!(call_done(&mut h), [(h.pid, Ok(10))]);
    assert_eq!(h.sent(), [". 1:1(0) ack 1", "P. 1:11(10) ack 1"]);
}

#[test]
fn test_syn_sent_shutdown_rd_does_not_abort_the_attempt() {
    // Linux tcp_shutdown acts on SEND_SHUTDOWN only.
    let mut h = syn_sent();
    assert_eq!(h.shutdown(How::Rd), Some(Ok(0)));
    assert_eq!(h.state(), State::SynSent);
    assert_eq!(h.shutdown(How::Wr), Some(Ok(0)));
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn test_established_connect_again_eisconn() {
    let mut h = established();
    let to = h.remote;
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Connect {
            sock: fd,
            to: to.into()
        }),
        Some(Err(Errno::EISCONN))
    );
}

#[test]
fn test_listen_connect_eisconn_and_read_enotconn() {
    let mut h = listen();
    let fd = h.fd;
    let to = h.remote;
    assert_eq!(
        h.call(Call::Connect {
            sock: fd,
            to: to.into()
        }),
        Some(Err(Errno::EISCONN))
    );
    assert_eq!(h.read(10), Some(Err(Errno::ENOTCONN)));
}

#[test]
fn test_established_listen_and_accept_einval() {
    let mut h = established();
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Listen {
            sock: fd,
            port: None,
            backlog: 1
        }),
        Some(Err(Errno::EINVAL))
    );
    assert_eq!(
        h.call(Call::Accept { sock: fd, new: () }),
        Some(Err(Errno::EINVAL))
    );
}

#[test]
fn test_listen_blocking_accept_returns_when_a_connection_arrives() {
    let mut h = listen();
    h.nonblocking(false);
    let lfd = h.fd;
    assert_eq!(h.call(Call::Accept { sock: lfd, new: () }), None);
    h.send(SYN, 0, 0);
    h.send(ACK, 1, 1);
    let done = call_done(&mut h);
    assert_eq!(done.len(), 1);
    assert!(done[0].1.is_ok());
}

#[test]
fn test_closed_blocking_connect_refused_then_fresh_again() {
    // ECONNREFUSED; then write EPIPE, read ENOTCONN, shutdown ENOTCONN, and connect()
    // again sends a new SYN (docs/sources.md#linux-obs-connect-refused).
    let mut h = closed();
    h.nonblocking(false);
    let to = h.remote;
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Connect {
            sock: fd,
            to: to.into()
        }),
        None
    );
    h.flush();
    h.send(RST | ACK, 0, 1);
    assert_eq!(call_done(&mut h), [(h.pid, Err(Errno::ECONNREFUSED))]);
    h.nonblocking(true);
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
    assert_eq!(h.read(1), Some(Err(Errno::ENOTCONN)));
    assert_eq!(h.shutdown(How::Wr), Some(Err(Errno::ENOTCONN)));
    assert_eq!(
        h.call(Call::Connect {
            sock: fd,
            to: to.into()
        }),
        Some(Err(Errno::EINPROGRESS))
    );
    assert_eq!(h.sent(), ["S 0:0(0)"]);
}

#[test]
fn test_closed_nonblocking_connect_refused_reports_then_retries() {
    // A 2nd connect() returns the pending ECONNREFUSED, a 3rd starts anew
    // (docs/sources.md#linux-obs-connect-refused).
    let mut h = syn_sent();
    h.send(RST | ACK, 0, 1);
    let to = h.remote;
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Connect {
            sock: fd,
            to: to.into()
        }),
        Some(Err(Errno::ECONNREFUSED))
    );
    assert_eq!(
        h.call(Call::Connect {
            sock: fd,
            to: to.into()
        }),
        Some(Err(Errno::EINPROGRESS))
    );
    assert_eq!(h.state(), State::SynSent);
}

#[test]
fn test_closed_nonblocking_connect_refused_write_first() {
    // write ECONNREFUSED, write EPIPE, read 0 (docs/sources.md#linux-obs-connect-refused).
    let mut h = syn_sent();
    h.send(RST | ACK, 0, 1);
    assert_eq!(h.write(1), Some(Err(Errno::ECONNREFUSED)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
    assert_eq!(h.read(1), Some(Ok(0)));
}

#[test]
fn test_established_shutdown_wr_then_write_epipe() {
    // docs/sources.md#linux-obs-shut-wr.
    let mut h = established();
    assert_eq!(h.shutdown(How::Wr), Some(Ok(0)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
    assert_eq!(h.read(1), Some(Err(Errno::EAGAIN)), "reading still works");
}

#[test]
fn test_established_shutdown_rd_eof_at_once_then_later_data_readable() {
    // Read 0 at once; data arriving later is ACKed, queued, readable
    // (docs/sources.md#linux-obs-shut-rd).
    let mut h = established();
    assert_eq!(h.shutdown(How::Rd), Some(Ok(0)));
    assert_eq!(h.read(100), Some(Ok(0)));
    h.send_data(1, 1, 1000);
    assert_eq!(h.read(2000), Some(Ok(1000)));
    assert_eq!(h.read(2000), Some(Ok(0)));
    assert_eq!(h.state(), State::Established);
}

#[test]
fn test_established_shutdown_rdwr_with_unread_data_sends_fin_and_keeps_the_data() {
    // docs/sources.md#linux-obs-shut-rdwr.
    let mut h = established();
    h.send_data(1, 1, 1000);
    h.flush();
    assert_eq!(h.shutdown(How::RdWr), Some(Ok(0)));
    assert_eq!(h.sent(), ["F. 1:1(0) ack 1001"]);
    assert_eq!(h.read(2000), Some(Ok(1000)));
    assert_eq!(h.read(2000), Some(Ok(0)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
}

#[test]
fn test_established_rst_sequences_match_linux() {
    // Read to ECONNRESET, then write EPIPE, then read 0 (docs/sources.md#linux-obs-rst-read).
    let mut h = established();
    h.send_data(1, 1, 500);
    h.send(RST | ACK, 501, 1);
    assert_eq!(h.read(1000), Some(Ok(500)));
    assert_eq!(h.read(1000), Some(Err(Errno::ECONNRESET)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
    assert_eq!(h.read(1000), Some(Ok(0)));
}

#[test]
fn test_established_blocked_read_wakes_with_econnreset() {
    let mut h = established();
    h.nonblocking(false);
    assert_eq!(h.read(100), None);
    h.send(RST, 1, 0);
    assert_eq!(call_done(&mut h), [(h.pid, Err(Errno::ECONNRESET))]);
}

#[test]
fn test_established_blocked_read_wakes_with_eof() {
    let mut h = established();
    h.nonblocking(false);
    assert_eq!(h.read(100), None);
    h.send(FIN | ACK, 1, 1);
    assert_eq!(call_done(&mut h), [(h.pid, Ok(0))]);
}

#[test]
fn test_established_dup_close_one_sends_nothing_close_both_sends_fin() {
    let mut h = established();
    let fd = h.fd;
    let copy = h.call(Call::Dup { sock: fd, new: () }).unwrap().unwrap() as Fd;
    assert_eq!(h.s().refs, 2);
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert_eq!(h.state(), State::Established);
    assert_eq!(
        h.call(Call::Write {
            sock: copy,
            bytes: 5,
            more: false,
            timeout: None,
        }),
        Some(Ok(5))
    );
    assert_eq!(h.call(Call::Close { sock: copy }), Some(Ok(0)));
    assert_eq!(h.sent(), ["P. 1:6(5) ack 1", "F. 6:6(0) ack 1"]);
}

#[test]
fn test_established_fork_parent_close_waits_for_the_child() {
    // A forked child still holds the socket; the parent closes → no FIN until the child
    // exits; then a normal FIN (docs/sources.md#linux-fork).
    let mut h = established();
    let child = h.host.fork(h.pid);
    assert_eq!(h.s().refs, 2);
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert!(!h.s().closed);
    let now = h.now;
    h.host.exit(now, child, &mut h.out);
    assert_eq!(h.sent(), ["F. 1:1(0) ack 1"]);
    assert!(h.s().closed, "an orphan now");
}

#[test]
fn test_established_fork_shutdown_acts_at_once() {
    // shutdown(SHUT_RDWR) with a forked child holding the socket → FIN at once
    // (docs/sources.md#linux-fork).
    let mut h = established();
    let _child = h.host.fork(h.pid);
    assert_eq!(h.shutdown(How::RdWr), Some(Ok(0)));
    assert_eq!(h.sent(), ["F. 1:1(0) ack 1"]);
}

#[test]
fn test_established_exit_closes_each_descriptor() {
    let mut h = established();
    let now = h.now;
    h.host.exit(now, h.pid, &mut h.out);
    assert_eq!(h.sent(), ["F. 1:1(0) ack 1"]);
    assert!(h.s().closed);
}

#[test]
fn test_established_exit_with_unread_data_resets() {
    // Same as close with unread data (docs/sources.md#linux-obs-exit).
    let mut h = established();
    h.send_data(1, 1, 200);
    h.flush();
    let now = h.now;
    h.host.exit(now, h.pid, &mut h.out);
    assert_eq!(h.sent(), ["R. 1:1(0) ack 201"]);
}

#[test]
fn test_established_exit_skips_the_linger_wait() {
    // Exit does not wait; the orphan keeps its data in FIN-WAIT-1
    // (docs/sources.md#linux-obs-exit).
    let mut h = established();
    h.zero_window();
    h.write(1000);
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(5),
    });
    let now = h.now;
    h.host.exit(now, h.pid, &mut h.out);
    assert!(h.host.procs[h.pid as usize].blocked.is_none());
    assert_eq!(h.state(), State::FinWait1);
    assert_eq!(h.s().snd_queued(), 1000);
    // A byte from the peer now draws a bare RST and the queued data is lost.
    h.flush();
    h.send_data(1, 1, 1);
    assert_eq!(h.sent(), ["R 1:1(0)"]);
}

#[test]
fn test_established_blocking_linger_close_returns_when_the_fin_is_acked() {
    // SO_LINGER {1, 1}, blocking, fast reader: close returns after the data is
    // acknowledged; graceful FIN; nothing lost (docs/sources.md#linux-obs-linger-wait).
    let mut h = established();
    h.nonblocking(false);
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(1),
    });
    h.write(1000);
    assert_eq!(h.close(), None, "blocks in the linger wait");
    h.flush();
    h.advance_ms(10);
    h.send(ACK, 1, 1002);
    assert_eq!(call_done(&mut h), [(h.pid, Ok(0))]);
    assert_eq!(h.state(), State::FinWait2);
}

#[test]
fn test_established_linger_timeout_returns_zero_and_the_close_goes_on() {
    // close() blocks N s even non-blocking, returns 0; the orphan goes on
    // (docs/sources.md#linux-obs-linger-wait).
    let mut h = established();
    h.zero_window();
    h.write(1000);
    let fd = h.fd;
    h.call(Call::Linger {
        sock: fd,
        linger: Some(2),
    });
    assert_eq!(h.close(), None);
    h.flush();
    h.advance_ms(1_999);
    assert_eq!(call_done(&mut h), []);
    h.advance_ms(1);
    assert_eq!(call_done(&mut h), [(h.pid, Ok(0))]);
    assert_eq!(h.state(), State::FinWait1);
    let rsts = h.sent_segments().iter().filter(|s| s.flags.rst()).count();
    assert_eq!(rsts, 0);
}

#[test]
fn test_listen_close_resets_queued_connections() {
    // Every connection in the accept queue gets `R.`, data or not
    // (docs/sources.md#linux-obs-listener-close).
    let mut h = listen();
    h.send(SYN, 0, 0);
    h.send(ACK, 1, 1);
    h.send_data(1, 1, 100);
    handshake_from(&mut h, 50_001);
    h.flush();
    assert_eq!(h.close(), Some(Ok(0)));
    let rsts: Vec<Segment> = h.sent_segments();
    assert_eq!(rsts.len(), 2);
    assert!(rsts.iter().all(|s| s.flags == RST | ACK));
    assert_eq!(rsts[0].ack, Seq(PEER_ISS + 101));
    assert_eq!(rsts[1].ack, Seq(PEER_ISS + 1));
    let causes: Vec<RstCause> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::RstSent { cause, .. } => Some(cause),
            _ => None,
        })
        .collect();
    assert_eq!(causes, [RstCause::ListenerClosed; 2]);
    assert_eq!(h.host.sockets().count(), 0);
    // New SYNs find no listener.
    h.send(SYN, 0, 0);
    let rst = h.sent_segments();
    assert_eq!(rst[0].flags, RST | ACK);
}

#[test]
fn test_listen_shutdown_rd_acts_like_close() {
    // RST to the queue, accept EINVAL, new SYNs refused
    // (docs/sources.md#linux-obs-listener-shutdown).
    let mut h = listen();
    h.send(SYN, 0, 0);
    h.send(ACK, 1, 1);
    h.flush();
    assert_eq!(h.shutdown(How::Rd), Some(Ok(0)));
    assert_eq!(h.sent_segments().len(), 1);
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Accept { sock: fd, new: () }),
        Some(Err(Errno::EINVAL))
    );
    // listen() again on the explicitly bound port works.
    assert_eq!(
        h.call(Call::Listen {
            sock: fd,
            port: None,
            backlog: 4
        }),
        Some(Ok(0))
    );
    assert_eq!(h.state(), State::Listen);
}

#[test]
fn test_listen_shutdown_wr_is_a_no_op() {
    // docs/sources.md#linux-obs-listener-shutdown.
    let mut h = listen();
    assert_eq!(h.shutdown(How::Wr), Some(Ok(0)));
    assert_eq!(h.state(), State::Listen);
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), ["S. 0:0(0) ack 1"]);
}

#[test]
fn test_listen_child_reset_in_the_queue_is_still_accepted_dead() {
    // accept() returns it; SO_ERROR ECONNRESET; read 0; write EPIPE
    // (docs/sources.md#linux-obs-accept-reset-child).
    let mut h = listen();
    h.send(SYN, 0, 0);
    h.send(ACK, 1, 1);
    h.send(RST | ACK, 1, 1);
    let lfd = h.fd;
    let fd = h
        .call(Call::Accept { sock: lfd, new: () })
        .unwrap()
        .unwrap() as Fd;
    assert_eq!(
        h.call(Call::Read {
            sock: fd,
            len: ReadLen::Bytes(10),
            timeout: None,
        }),
        Some(Err(Errno::ECONNRESET))
    );
    assert_eq!(
        h.call(Call::Read {
            sock: fd,
            len: ReadLen::Bytes(10),
            timeout: None,
        }),
        Some(Ok(0))
    );
    assert_eq!(
        h.call(Call::Write {
            sock: fd,
            bytes: 1,
            more: false,
            timeout: None
        }),
        Some(Err(Errno::EPIPE))
    );
    assert_eq!(
        h.call(Call::Accept { sock: lfd, new: () }),
        Some(Err(Errno::EAGAIN))
    );
}

#[test]
fn test_listen_close_with_a_reset_child_queued_sends_no_rst_for_it() {
    // The peer reset the queued child: close() of the listener finds it cut off
    // already (its one ending), so it is freed with no RST of ours.
    let mut h = listen();
    h.send(SYN, 0, 0);
    h.send(ACK, 1, 1);
    h.send(RST | ACK, 1, 1);
    let child = child_of(&h, h.remote);
    assert_eq!(
        h.host.sock(child).ending,
        Some(crate::socket::Ending::RstReceived)
    );
    h.flush();
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.host.sockets().count(), 0);
}

#[test]
fn test_listen_backlog_overflow_drops_the_syn_silently() {
    // listen(fd, 1) holds 2 (backlog + 1); the 3rd SYN gets nothing
    // (docs/sources.md#linux-obs-listen-overflow).
    let mut h = listen_with(Personality::builtin("linux").unwrap(), 1);
    for port in [50_001, 50_002] {
        handshake_from(&mut h, port);
    }
    h.flush();
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), NO_SEGMENTS);
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::SynDropped { .. })));
    // accept() frees a slot; the client's SYN retransmission then completes.
    let lfd = h.fd;
    assert!(h.call(Call::Accept { sock: lfd, new: () }).unwrap().is_ok());
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), ["S. 0:0(0) ack 1"]);
}

#[test]
fn test_established_blocked_write_cut_short_returns_its_count_and_keeps_the_error() {
    // Linux: a write that copied something returns the count; sk_err waits for the
    // next call.
    let mut h = established_with(linux_with(&[
        ("data_retries", "1"),
        ("snd_buf_tuning", "fixed"),
        ("snd_buf_whole_segments", "false"),
    ]));
    h.nonblocking(false);
    assert_eq!(h.write(20_000), None);
    h.flush();
    h.advance_ms(10_000);
    assert_eq!(call_done(&mut h), [(h.pid, Ok(16_384))]);
    assert_eq!(h.read(10), Some(Err(Errno::ETIMEDOUT)));
}

#[test]
fn test_established_blocked_write_cut_short_by_rst_then_econnreset() {
    let mut h = established_with(fixed_snd_buf());
    h.nonblocking(false);
    assert_eq!(h.write(20_000), None);
    h.flush();
    h.send(RST, 1, 0);
    assert_eq!(call_done(&mut h), [(h.pid, Ok(16_384))]);
    assert_eq!(h.write(1), Some(Err(Errno::ECONNRESET)));
    assert_eq!(h.write(1), Some(Err(Errno::EPIPE)));
}

#[test]
fn test_time_wait_holds_its_port_against_bind() {
    // Linux inet_csk_bind_conflict: the TIME-WAIT sock stays in the port's bind
    // bucket until it expires; without SO_REUSEADDR a new bind gets EADDRINUSE.
    let mut h = time_wait();
    let other = h.call(Call::Socket { new: () }).unwrap().unwrap() as Fd;
    let port = EPHEMERAL;
    assert_eq!(
        h.call(Call::Bind { sock: other, port }),
        Some(Err(Errno::EADDRINUSE))
    );
    h.advance_ms(60_000);
    assert_eq!(h.call(Call::Bind { sock: other, port }), Some(Ok(0)));
}

#[test]
fn test_established_connection_holds_its_port_against_bind() {
    let mut h = established_passive();
    let fd = h.fd;
    h.call(Call::Close {
        sock: crate::host::FD_FIRST,
    });
    let other = h.call(Call::Socket { new: () }).unwrap().unwrap() as Fd;
    assert_eq!(
        h.call(Call::Bind {
            sock: other,
            port: 80
        }),
        Some(Err(Errno::EADDRINUSE)),
        "the accepted connection still uses port 80"
    );
    let _ = fd;
}

#[test]
fn test_peek_leaves_the_bytes_unread() {
    // recv(MSG_PEEK), Linux tcp_recvmsg_locked(): copied out, not consumed.
    let mut h = established();
    let peek = |h: &mut H, len| h.call(Call::Peek { sock: h.fd, len });
    assert_eq!(peek(&mut h, 10), Some(Err(Errno::EAGAIN)));
    h.send_data(1, 1, 100);
    h.flush();
    assert_eq!(peek(&mut h, 40), Some(Ok(40)));
    assert_eq!(peek(&mut h, 500), Some(Ok(100)));
    assert_eq!(h.host.sock(h.sid).tcb.unread, 100);
    assert_eq!(h.read(500), Some(Ok(100)));
    h.send(FIN | ACK, 101, 1);
    assert_eq!(peek(&mut h, 10), Some(Ok(0)), "EOF");
}

#[test]
fn test_blocked_peek_returns_when_data_arrives() {
    let mut h = established();
    h.nonblocking(false);
    assert_eq!(
        h.call(Call::Peek {
            sock: h.fd,
            len: 10
        }),
        None
    );
    h.send_data(1, 1, 30);
    assert_eq!(call_done(&mut h), [(h.pid, Ok(10))]);
    assert_eq!(
        h.read(100),
        Some(Ok(30)),
        "the peeked bytes are still there"
    );
}

#[test]
fn test_established_blocked_read_keeps_blocking_when_another_thread_sets_o_nonblock() {
    // Linux fixes a call's mode when it starts (net/socket.c sock_read_iter,
    // tcp_recvmsg_locked: timeo = sock_rcvtimeo(sk, nonblock), computed once):
    // the reader blocked before O_NONBLOCK went on waits for the data.
    // Kernel: fuzz seed 1000 case 45, 1001/33 (scenarios/kernel/thread-nonblock-blocked-read.toml).
    let mut h = established();
    h.nonblocking(false);
    let reader = h.host.spawn_thread(h.pid);
    let read = Call::Read {
        sock: h.fd,
        len: ReadLen::Bytes(500),
        timeout: None,
    };
    h.host.call(h.now, reader, read, &mut h.out);
    h.nonblocking(true);
    assert_eq!(call_done(&mut h), [], "still blocked, not EAGAIN");
    h.send_data(1, 1, 100);
    assert_eq!(call_done(&mut h), [(reader, Ok(100))]);
    assert_eq!(
        h.read(500),
        Some(Err(Errno::EAGAIN)),
        "a new call is non-blocking"
    );
}

#[test]
fn test_established_blocked_write_keeps_blocking_when_another_thread_sets_o_nonblock() {
    // tcp_sendmsg_locked: timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT), once.
    let mut h = established_with(fixed_snd_buf());
    h.nonblocking(false);
    let writer = h.host.spawn_thread(h.pid);
    let write = Call::Write {
        sock: h.fd,
        bytes: 40_000,
        more: false,
        timeout: None,
    };
    h.host.call(h.now, writer, write, &mut h.out);
    assert_eq!(
        call_done(&mut h),
        [],
        "the 16384-byte buffer blocks the write"
    );
    h.nonblocking(true);
    let acked = h.s().tcb.snd_nxt - h.s().tcb.snd_una;
    h.send(ACK, 1, 1 + acked as u32);
    assert_eq!(call_done(&mut h), [], "still blocked, no short count");
}

#[test]
fn test_established_blocked_read_takes_every_segment_of_one_instant() {
    // The kernel's reader runs after the softirq queued the burst, and
    // tcp_recvmsg_locked copies every queued skb up to the read's length
    // (fuzz seed 1000 case 7; scenarios/kernel/cork-burst-read.toml).
    let mut h = established();
    h.nonblocking(false);
    assert_eq!(h.read(10_000), None);
    let seg = |h: &H, seq| Segment {
        len: 1448,
        ..h.peer(ACK, seq, 1)
    };
    let (first, second) = (seg(&h, 1), seg(&h, 1449));
    h.host
        .on_segment_of_instant(h.now, &first, false, &mut h.out);
    assert_eq!(call_done(&mut h), [], "more arrives at this instant");
    h.host
        .on_segment_of_instant(h.now, &second, true, &mut h.out);
    assert_eq!(call_done(&mut h), [(h.pid, Ok(2896))]);
}
