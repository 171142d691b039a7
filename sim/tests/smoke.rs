//! The reference worlds end as real Linux does (docs/sources.md#linux-obs-shut-wr:
//! "server writes 500, shutdown(SHUT_WR), client reads to EOF": no RST).

use model::State;
use sim::{examples, Outcome, World};

#[test]
fn small_close_with_half_close_is_clean_and_reads_everything() {
    let spec = examples::small_close(true);
    let mut w = World::new(spec.clone(), true);
    let v = w.run();
    assert_eq!(
        v.outcome,
        Outcome::Clean,
        "{}",
        sim::report::verdict_text(&spec, &v)
    );
    let c = &v.connections[0];
    assert_eq!(
        (c.directions[0].written, c.directions[0].read),
        (1000, 1000)
    );
    assert_eq!((c.directions[1].written, c.directions[1].read), (500, 500));
    // The server closed first: it waits in TIME-WAIT; the client went through LAST-ACK.
    assert!(c.endpoints[1].states.contains(&State::TimeWait));
    assert!(c.endpoints[0].states.contains(&State::LastAck));
    let ladder = sim::report::ladder(&spec, w.trace());
    assert!(ladder.contains("F. 501:501(0) ack 1001"), "{ladder}");
}

#[test]
fn bulk_transfer_delivers_every_byte() {
    let v = World::new(examples::bulk(10_000_000), false).run();
    assert_eq!(v.outcome, Outcome::Clean);
    assert_eq!(v.connections[0].directions[0].read, 10_000_000);
    assert!(v.segments_sent > 10_000_000 / 1460);
}

/// A world is plain data: fork it mid-run, and both halves finish exactly as
/// the unforked run does (what an explorer needs to branch and deduplicate).
#[test]
fn a_world_forked_mid_run_finishes_like_the_original() {
    let spec = examples::small_close(true);
    let mut whole = World::new(spec.clone(), true);
    let v_whole = whole.run();
    let mut w = World::new(spec, true);
    for _ in 0..10 {
        assert!(w.step());
    }
    let mut fork = w.clone();
    assert!(fork == w);
    assert_eq!(fork.state_hash(), w.state_hash());
    let (va, vb) = (w.run(), fork.run());
    assert_eq!(va, v_whole);
    assert_eq!(vb, v_whole);
    assert_eq!(w.trace(), whole.trace());
    assert_eq!(fork.trace(), whole.trace());
    // Different states hash differently.
    let mut earlier = World::new(examples::small_close(true), false);
    earlier.step();
    assert_ne!(earlier.state_hash(), w.state_hash());
}

/// The timer scenario: the client's read waits its 200 ms and fails (no data
/// came), then both close cleanly; the world's clock moved past the timeout.
#[test]
fn read_timeout_waits_its_200_ms_then_both_close() {
    let spec = examples::read_timeout();
    let mut w = World::new(spec.clone(), true);
    let v = w.run();
    let text = sim::report::verdict_text(&spec, &v);
    assert_eq!(v.outcome, Outcome::Clean, "{text}");
    assert!(v.end_ns.as_ns() >= 200_000_000, "{text}");
    let trace = format!("{:?}", w.trace());
    assert!(trace.contains("EAGAIN"), "the read timed out: {trace}");
}
