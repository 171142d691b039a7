//! Timer bookkeeping: the wake-up time is derived from the TCB's deadlines
//! (so the world's queue cannot disagree with the socket), timers that a state
//! change must cancel are cancelled, and an early wake-up does nothing.

use super::*;

#[test]
fn test_established_poll_at_is_the_earliest_deadline() {
    let mut h = established_with(delayed_acks());
    assert_eq!(
        h.host.poll_at(),
        None,
        "an idle connection needs no wake-up"
    );
    h.send_data(1, 1, 10);
    let delack = h.s().tcb.delack_at.expect("delayed ACK");
    assert_eq!(h.host.poll_at(), Some(delack));
    h.write(10);
    // The write carried the ACK: only the retransmission timer is left.
    assert_eq!(h.s().tcb.delack_at, None);
    assert_eq!(h.host.poll_at(), h.s().tcb.send_timer.at());
}

#[test]
fn test_established_early_wake_up_does_nothing() {
    let mut h = established();
    h.write(10);
    h.flush();
    let now = h.now + Duration::from_ns(1);
    h.host.on_timers(now, &mut h.out);
    assert_eq!(h.sent(), Vec::<String>::new());
    assert!(h.events().is_empty());
}

#[test]
fn test_time_wait_entry_stops_retransmission() {
    // The peer's FIN acknowledged ours: no FIN retransmission is left in TIME-WAIT,
    // only the 2MSL timer.
    let mut h = fin_wait_1();
    h.send(FIN | ACK, 1, 2);
    assert_eq!(h.state(), State::TimeWait);
    let t = &h.s().tcb;
    assert_eq!((t.send_timer.at(), t.delack_at), (None, None));
    assert_eq!(h.host.poll_at(), t.close_timer.map(|c| c.0));
}

#[test]
fn test_closed_by_rst_has_no_timers_left() {
    let mut h = established();
    h.write(100);
    h.send_data(1, 1, 10);
    h.send(RST, 11, 0);
    assert_eq!(h.host.poll_at(), None);
}

#[test]
fn test_fin_wait_2_ack_then_fin_cancels_the_fin_wait_2_timer() {
    let mut h = fin_wait_2();
    assert!(h.s().tcb.close_timer.is_some());
    h.advance_ms(30_000);
    h.send(FIN | ACK, 1, 2);
    // TIME-WAIT's own 60 s from now, not what was left of FIN-WAIT-2's.
    let (at, which) = h.s().tcb.close_timer.unwrap();
    assert_eq!(which, crate::socket::CloseTimer::TimeWait);
    assert_eq!(at.saturating_since(h.now), crate::Duration::from_secs(60));
}
