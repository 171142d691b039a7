//! Timer bookkeeping: the wake-up time is derived from the TCB's deadlines
//! (so the world's queue cannot disagree with the socket), timers that a state
//! change must cancel are cancelled, and an early wake-up does nothing.

use super::*;
use crate::event::TimerKind;

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

/// The tail loss probe's timer, whatever it is.
fn loss_probe_at(h: &H) -> (Instant, Instant) {
    match h.s().tcb.send_timer {
        crate::socket::SendTimer::LossProbe { at, rto_at } => (at, rto_at),
        t => panic!("no loss probe armed: {t:?}"),
    }
}

#[test]
fn test_tail_loss_probe_resends_the_last_segment_before_the_rto() {
    // Linux (tail_loss_probe): three segments out, the handshake's RTT ~0, so
    // the probe is due 2·SRTT + 2 ms (TCP_TIMEOUT_MIN_US) after the last.
    let mut h = established_with(linux_tlp());
    h.write(3000);
    assert_eq!(
        h.sent(),
        [
            ". 1:1461(1460) ack 1",
            ". 1461:2921(1460) ack 1",
            "P. 2921:3001(80) ack 1"
        ]
    );
    let (at, rto_at) = loss_probe_at(&h);
    assert!(at < rto_at);
    assert_eq!(at.saturating_since(h.now).as_ms(), 2);
    let sent_at = h.now;
    h.advance_ms(3);
    assert_eq!(
        h.sent(),
        ["P. 2921:3001(80) ack 1"],
        "the last segment again"
    );
    assert!(h.events().contains(&Event::Timer {
        conn: h.s().conn(),
        timer: TimerKind::LossProbe
    }));
    // Then the RTO, a full one from the probe: the head, go-back-N.
    let rto = h.s().tcb.rto;
    let times = h.send_times(1000, |_| true);
    assert_eq!(times.first().copied(), Some(rto.as_ms() - 1), "{times:?}");
    assert!(h.now.saturating_since(sent_at) > rto);
}

#[test]
fn test_tail_loss_probe_of_a_lone_fin_waits_for_a_delayed_ack() {
    // One segment out (the FIN): 2·SRTT + the minimum RTO, at most the RTO
    // itself, so the probe takes the first retransmission's place, then the
    // RTO counts from it (no backoff in between).
    let mut h = fin_wait_1_from(established_with(linux_tlp()));
    let (at, rto_at) = loss_probe_at(&h);
    assert_eq!(
        at, rto_at,
        "2·SRTT + 200 ms is past the RTO: the probe comes at the RTO"
    );
    let times = h.send_times(1000, |s| s.flags.fin());
    let rto_ms = h.s().tcb.rto.as_ms();
    assert_eq!(times.len(), 3, "{times:?}");
    assert_eq!(times[1] - times[0], 200, "{times:?} (rto now {rto_ms} ms)");
}

#[test]
fn test_tail_loss_probe_sends_new_data_that_fits_the_window() {
    // Ten segments out fill the initial congestion window, an eleventh
    // waits: the probe sends it (the peer's window takes it whole; the
    // congestion window does not count, tcp_send_loss_probe).
    let mut h = established_with(linux_tlp());
    h.write(11 * MSS as u64);
    assert_eq!(h.sent().len(), 10);
    h.advance_ms(3);
    assert_eq!(
        h.sent(),
        [format!("P. {}:{}(1460) ack 1", 1 + 10 * MSS, 1 + 11 * MSS)]
    );
}
