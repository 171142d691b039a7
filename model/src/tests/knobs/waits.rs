//! Knob flips: keepalive, and the calls that wait or look (poll, select,
//! getsockopt, the timeout options, a close while a call is blocked).

use super::*;

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
        h.woken().into_iter().next()
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
        h.woken().into_iter().next()
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
        let woken = h.woken().into_iter().next();
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
    let woken = h.woken().into_iter().next();
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
