//! The send decision for short segments: Nagle's algorithm (`nagle`),
//! TCP_NODELAY, TCP_CORK and MSG_MORE, and the persist timer that sends what
//! a cork held.

use super::*;
use crate::Errno;

fn nodelay(h: &mut H, on: bool) {
    assert_eq!(h.call(Call::NoDelay { sock: h.fd, on }), Some(Ok(0)));
}

fn cork(h: &mut H, on: bool) {
    assert_eq!(h.call(Call::Cork { sock: h.fd, on }), Some(Ok(0)));
}

fn write_more(h: &mut H, bytes: u64) {
    let call = Call::Write {
        sock: h.fd,
        bytes,
        more: true,
        timeout: None,
    };
    assert_eq!(h.call(call), Some(Ok(bytes)));
}

/// Two writes (`first` then 100 octets) on an established connection
/// with `nagle = rule`: what goes out before any ACK.
fn two_writes(rule: &str, first: u64) -> Vec<String> {
    let mut h = established_with(linux_with(&[("nagle", rule)]));
    assert_eq!(h.write(first), Some(Ok(first)));
    assert_eq!(h.write(100), Some(Ok(100)));
    h.sent()
}

#[test]
fn test_knob_nagle() {
    // A second short write waits for the first's ACK (both rules)…
    assert_eq!(two_writes("minshall", 100), ["P. 1:101(100) ack 1"]);
    assert_eq!(two_writes("unacked", 100), ["P. 1:101(100) ack 1"]);
    let off = ["P. 1:101(100) ack 1", "P. 101:201(100) ack 1"];
    assert_eq!(two_writes("off", 100), off);
    // …but after a full segment only RFC 896 holds it: Minshall waits for
    // an unacknowledged *short* segment only.
    let mss = u64::from(MSS);
    let both = ["P. 1:1461(1460) ack 1", "P. 1461:1561(100) ack 1"];
    assert_eq!(two_writes("minshall", mss), both);
    assert_eq!(two_writes("unacked", mss), ["P. 1:1461(1460) ack 1"]);
}

#[test]
fn test_nagle_held_segment_goes_on_the_ack() {
    let mut h = established();
    h.write(100);
    h.write(100);
    h.write(50);
    assert_eq!(h.sent(), ["P. 1:101(100) ack 1"]);
    // What was held goes as one segment.
    h.send(ACK, 1, 101);
    assert_eq!(h.sent(), ["P. 101:251(150) ack 1"]);
}

#[test]
fn test_nodelay_sends_every_write() {
    let mut h = established();
    nodelay(&mut h, true);
    h.write(100);
    h.write(100);
    assert_eq!(h.sent(), ["P. 1:101(100) ack 1", "P. 101:201(100) ack 1"]);
}

#[test]
fn test_nodelay_on_sends_what_nagle_held() {
    let mut h = established();
    h.write(100);
    h.write(100);
    assert_eq!(h.sent().len(), 1);
    nodelay(&mut h, true);
    assert_eq!(h.sent(), ["P. 101:201(100) ack 1"]);
}

#[test]
fn test_nagle_never_holds_the_fin() {
    let mut h = established();
    h.write(100);
    h.write(100);
    assert_eq!(h.sent().len(), 1);
    // close(): the held data goes with the FIN, unacknowledged data or not.
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), ["FP. 101:201(100) ack 1"]);
}

#[test]
fn test_cork_holds_until_uncorked() {
    let mut h = established();
    cork(&mut h, true);
    h.write(100);
    h.write(100);
    assert_eq!(h.sent(), Vec::<String>::new());
    cork(&mut h, false);
    assert_eq!(h.sent(), ["P. 1:201(200) ack 1"]);
}

#[test]
fn test_cork_sends_full_segments() {
    let mut h = established();
    cork(&mut h, true);
    h.write(u64::from(MSS) + 100);
    // The full segment goes; the short tail waits.
    assert_eq!(h.sent(), [". 1:1461(1460) ack 1"]);
}

#[test]
fn test_cork_persist_timer_sends_the_held_segment() {
    let mut h = established();
    cork(&mut h, true);
    h.write(100);
    assert_eq!(h.sent(), Vec::<String>::new());
    // Nothing in flight: the persist timer (Linux probe0, max(RTO, 200 ms))
    // sends it, with PSH, and the retransmission timer takes over.
    let rto_ms = h.s().tcb.rto.as_ms();
    assert!(rto_ms >= 200, "RTO {rto_ms} ms");
    assert!(h.send_times(rto_ms - 1, |_| true).is_empty());
    assert_eq!(h.send_times(2, |_| true), [1]);
    assert!(h.s().tcb.snd_nxt > h.s().tcb.snd_una);
}

#[test]
fn test_msg_more_corks_one_write() {
    let mut h = established();
    write_more(&mut h, 100);
    assert_eq!(h.sent(), Vec::<String>::new());
    // The next write without MSG_MORE pushes both.
    h.write(100);
    assert_eq!(h.sent(), ["P. 1:201(200) ack 1"]);
}

#[test]
fn test_cork_never_holds_the_fin() {
    let mut h = established();
    cork(&mut h, true);
    h.write(100);
    assert_eq!(h.shutdown(How::Wr), Some(Ok(0)));
    assert_eq!(h.sent(), ["FP. 1:101(100) ack 1"]);
}

#[test]
fn test_accepted_socket_inherits_nodelay() {
    let mut h = listen();
    nodelay(&mut h, true);
    cork(&mut h, true);
    let mut h = syn_received_from(h);
    h.send(ACK, 1, 1);
    assert_eq!(h.state(), State::Established);
    assert!(h.s().nodelay && h.s().cork);
}

#[test]
fn test_knob_cork_option() {
    for (on, want) in [("true", Ok(0)), ("false", Err(Errno::ENOPROTOOPT))] {
        let mut h = established_with(linux_with(&[("cork_option", on)]));
        let fd = h.fd;
        assert_eq!(h.call(Call::Cork { sock: fd, on: true }), Some(want));
        // Without the option nothing is corked: the write goes at once.
        h.write(100);
        let sent = h.sent().len();
        assert_eq!(sent, usize::from(on == "false"), "cork_option = {on}");
    }
}
