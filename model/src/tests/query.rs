//! poll() revents per personality, getsockopt()/ioctl() read-backs, and
//! calls that time out (a step's `timeout=`, SO_RCVTIMEO, SO_SNDTIMEO).
//! Linux's cells are also checked against the kernel by the corpus scenarios
//! (poll-hup-after-rst, so-error-after-rst, fionread-before-close,
//! drain-with-timeout through tests/real.rs).

use super::*;
use crate::call::poll_bits::*;
use crate::call::SockOpt;
use crate::Errno;

const ALL_IN: u32 = POLLIN | POLLOUT | POLLRDHUP;

fn poll(h: &mut H, events: u32, timeout_ms: Option<u64>) -> Option<CallResult> {
    h.call(Call::Poll {
        also: Default::default(),
        sock: h.fd,
        events,
        timeout: timeout_ms.map(Duration::from_ms),
    })
}

fn get(h: &mut H, opt: SockOpt) -> Option<CallResult> {
    h.call(Call::Getsockopt { sock: h.fd, opt })
}

fn bits(v: u32) -> Option<CallResult> {
    Some(Ok(u64::from(v)))
}

fn builtin(name: &str) -> Personality {
    Personality::builtin(name).expect("built in")
}

#[test]
fn poll_after_the_peers_fin_differs_per_stack() {
    // Linux tcp_poll: RCV_SHUTDOWN is POLLIN|POLLRDHUP, no POLLHUP while we
    // can send; FreeBSD sopoll_generic: the same, POLLHUP needs CANTSENDMORE
    // too; XNU poll_callback: the read filter's EV_EOF is POLLHUP already.
    for (name, want) in [
        ("linux", POLLIN | POLLOUT | POLLRDHUP),
        ("freebsd", POLLIN | POLLOUT | POLLRDHUP),
        ("macos", POLLIN | POLLHUP),
        ("windows", POLLIN | POLLOUT | POLLHUP),
    ] {
        let mut h = established_with(builtin(name));
        assert_eq!(
            poll(&mut h, ALL_IN, Some(0)),
            bits(POLLOUT),
            "{name} before"
        );
        h.send(FIN | ACK, 1, 1);
        assert_eq!(
            poll(&mut h, ALL_IN, None),
            bits(want),
            "{name}: {}",
            text(u64::from(want))
        );
    }
}

#[test]
fn poll_after_an_rst_is_hup_and_linux_adds_err_until_so_error_is_read() {
    for (name, want) in [
        ("linux", ALL_IN | POLLERR | POLLHUP),
        ("freebsd", ALL_IN | POLLHUP),
        ("macos", POLLIN | POLLHUP),
    ] {
        let mut h = established_with(builtin(name));
        h.send(RST, 1, 0);
        assert_eq!(
            poll(&mut h, ALL_IN, None),
            bits(want),
            "{name}: {}",
            text(u64::from(want))
        );
        assert_eq!(
            get(&mut h, SockOpt::SoError),
            Some(Err(Errno::ECONNRESET)),
            "{name}"
        );
        assert_eq!(
            get(&mut h, SockOpt::SoError),
            Some(Ok(0)),
            "{name}: cleared"
        );
        let after = poll(&mut h, ALL_IN, None).unwrap().unwrap() as u32;
        assert_eq!(after & POLLERR, 0, "{name}");
    }
}

#[test]
fn a_blocked_poll_wakes_on_data_and_one_with_a_timeout_returns_0() {
    let mut h = established();
    assert_eq!(poll(&mut h, POLLIN, None), None, "nothing to read: blocks");
    h.send_data(1, 1, 100);
    assert_eq!(h.woken(), [Ok(u64::from(POLLIN))]);
    assert_eq!(h.read(1000), Some(Ok(100)));
    assert_eq!(poll(&mut h, POLLIN, Some(50)), None);
    h.advance_ms(49);
    assert_eq!(h.woken(), []);
    h.advance_ms(1);
    assert_eq!(h.woken(), [Ok(0)], "timed out at 50 ms");
    assert_eq!(
        poll(&mut h, POLLIN, Some(0)),
        Some(Ok(0)),
        "timeout 0 never waits"
    );
    // A descriptor that is not open is POLLNVAL in revents, not EBADF.
    let bad = Call::Poll {
        also: Default::default(),
        sock: 99,
        events: POLLIN,
        timeout: None,
    };
    assert_eq!(h.call(bad), bits(POLLNVAL));
}

#[test]
fn so_rcvtimeo_gives_eagain_on_linux_and_etimedout_on_windows() {
    for (name, want) in [("linux", Errno::EAGAIN), ("windows", Errno::ETIMEDOUT)] {
        let mut h = established_with(builtin(name));
        h.nonblocking(false);
        let set = Call::RcvTimeo {
            sock: h.fd,
            ns: Duration::from_ms(200),
        };
        assert_eq!(h.call(set), Some(Ok(0)));
        assert_eq!(h.read(10), None);
        h.advance_ms(199);
        assert_eq!(h.woken(), [], "{name}");
        h.advance_ms(1);
        assert_eq!(h.woken(), [Err(want)], "{name}");
        // A step's own timeout is EAGAIN on every stack.
        let read = Call::Read {
            sock: h.fd,
            len: ReadLen::Bytes(10),
            timeout: Some(Duration::from_ms(10)),
        };
        assert_eq!(h.call(read), None);
        h.advance_ms(10);
        assert_eq!(h.woken(), [Err(Errno::EAGAIN)], "{name}");
    }
}

/// A peek waits under SO_RCVTIMEO as a read does (it had a deadline that
/// never timed it out: the run spun at it until its event budget ran out;
/// fuzz agrees-with-kernel seed 1003 case 8).
#[test]
fn a_peek_with_so_rcvtimeo_times_out() {
    let mut h = established();
    h.nonblocking(false);
    let set = Call::RcvTimeo {
        sock: h.fd,
        ns: Duration::from_ms(20),
    };
    assert_eq!(h.call(set), Some(Ok(0)));
    let peek = Call::Peek { sock: h.fd, len: 1 };
    assert_eq!(h.call(peek), None, "nothing to peek at: blocks");
    h.advance_ms(19);
    assert_eq!(h.woken(), []);
    h.advance_ms(1);
    assert_eq!(h.woken(), [Err(Errno::EAGAIN)], "timed out at 20 ms");
}

#[test]
fn a_write_that_times_out_returns_what_it_moved() {
    let mut h = established();
    h.nonblocking(false);
    h.zero_window();
    h.flush();
    let buf = h.s().snd_buf as u64;
    let write = Call::Write {
        sock: h.fd,
        bytes: buf + 1000,
        more: false,
        timeout: Some(Duration::from_ms(100)),
    };
    assert_eq!(h.call(write), None, "the buffer fills: blocks");
    h.advance_ms(100);
    // The buffer in whole segments (snd_buf_whole_segments): 32 × 1460.
    assert_eq!(buf, 46_080);
    assert_eq!(h.woken(), [Ok(46_720)], "the partial count at expiry");
    let write = Call::Write {
        sock: h.fd,
        bytes: 10,
        more: false,
        timeout: Some(Duration::from_ms(100)),
    };
    assert_eq!(h.call(write), None);
    h.advance_ms(100);
    assert_eq!(h.woken(), [Err(Errno::EAGAIN)], "nothing moved");
}

#[test]
fn queue_sizes_and_options_read_back() {
    let mut h = established();
    h.send_data(1, 1, 700);
    assert_eq!(get(&mut h, SockOpt::InQ), Some(Ok(700)));
    assert_eq!(h.write(300), Some(Ok(300)));
    assert_eq!(
        get(&mut h, SockOpt::OutQ),
        Some(Ok(300)),
        "sent, not acknowledged"
    );
    assert_eq!(get(&mut h, SockOpt::OutQNsd), Some(Ok(0)), "all sent");
    assert_eq!(h.shutdown(How::Wr), Some(Ok(0)));
    assert_eq!(
        get(&mut h, SockOpt::OutQ),
        Some(Ok(301)),
        "Linux's write_seq counts the FIN"
    );
    h.send(ACK, 701, 302);
    assert_eq!(get(&mut h, SockOpt::OutQ), Some(Ok(0)), "FIN acknowledged");
    assert_eq!(get(&mut h, SockOpt::Linger2), Some(Ok(60)));
    assert_eq!(get(&mut h, SockOpt::LingerOnOff), Some(Ok(0)));
    let linger = Call::Linger {
        sock: h.fd,
        linger: Some(7),
    };
    assert_eq!(h.call(linger), Some(Ok(0)));
    assert_eq!(get(&mut h, SockOpt::LingerOnOff), Some(Ok(1)));
    assert_eq!(get(&mut h, SockOpt::LingerTime), Some(Ok(7)));
    let mut b = established_with(builtin("freebsd"));
    assert_eq!(b.write(300), Some(Ok(300)));
    assert_eq!(b.shutdown(How::Wr), Some(Ok(0)));
    assert_eq!(
        get(&mut b, SockOpt::OutQ),
        Some(Ok(300)),
        "FIONWRITE: bytes, no FIN"
    );
    assert_eq!(get(&mut b, SockOpt::OutQNsd), Some(Err(Errno::ENOTTY)));
    assert_eq!(get(&mut b, SockOpt::Linger2), Some(Err(Errno::ENOPROTOOPT)));
    let mut w = established_with(builtin("windows"));
    assert_eq!(get(&mut w, SockOpt::OutQ), Some(Err(Errno::EINVAL)));
    assert_eq!(get(&mut w, SockOpt::InQ), Some(Ok(0)));
}

#[test]
fn a_poll_over_several_sockets_blocks_until_one_is_ready_and_reports_each() {
    use crate::call::PollAlso;
    let mut h = established();
    let fd = h.fd;
    let poll_two = |timeout_ms: Option<u64>| Call::Poll {
        sock: fd,
        also: PollAlso::from_socks(vec![fd + 7]).unwrap(),
        events: POLLIN,
        timeout: timeout_ms.map(Duration::from_ms),
    };
    // poll(2) takes a descriptor twice; each entry has its lane.
    // The second descriptor is not open: POLLNVAL in its lane, at once.
    let nval = u64::from(POLLNVAL) << LANE_BITS;
    assert_eq!(h.call(poll_two(None)), Some(Ok(nval)));
    let both = Call::Poll {
        sock: fd,
        also: PollAlso::from_socks(vec![fd]).unwrap(),
        events: POLLIN,
        timeout: Some(Duration::from_ms(50)),
    };
    assert_eq!(h.call(both), None, "nothing to read on either: blocks");
    h.advance_ms(49);
    assert_eq!(h.woken(), []);
    h.advance_ms(1);
    assert_eq!(h.woken(), [Ok(0)], "the timeout passes with every lane 0");
    assert_eq!(h.call(both), None);
    h.send_data(1, 1, 100);
    let lanes = u64::from(POLLIN) | u64::from(POLLIN) << LANE_BITS;
    assert_eq!(h.woken(), [Ok(lanes)], "data wakes it; each lane reports");
    assert_eq!(text_each(lanes, 2), "POLLIN,POLLIN");
    assert_eq!(parse_each("POLLIN,POLLIN"), Some((lanes, 2)));
}
