//! A loopback path (`WorldSpec::loopback`, the `loopback` profile and
//! `tcpsim real --compare` on `lo`): what a call sends is taken in by the
//! peer, and the peer's replies by the caller, before the call returns
//! (knob `loopback_delivers_in_call`; Linux's loopback runs the receive
//! softirq in the sender's context and the caller's socket takes the ACKs
//! from its backlog at release_sock).

mod common;

use common::*;
use model::{Duration, Flags, Instant, SysCall};
use sim::{Action, Expect, What};

/// scenarios/kernel/linger-big-queue.toml in small: at 5 ms the server
/// queues what a non-blocking write of 1,000,000 bytes takes, then closes
/// with SO_LINGER {1, 1} on the blocking socket; the client reads at 1.5 s.
fn linger_big_queue(loopback: bool, in_call: bool) -> Run {
    let mut server = linux();
    let value = if in_call { "true" } else { "false" };
    server
        .knobs
        .set("loopback_delivers_in_call", value, "test".into())
        .expect("a knob");
    let mut w = World2::with(1, linux(), server);
    let (s, c) = (w.s, w.c);
    w.listen_accept();
    w.b.at(5, "server", Action::Nonblocking { sock: s, on: true });
    w.b.then(
        "server",
        Action::Write {
            sock: s,
            bytes: 1_000_000,
            more: false,
            timeout: None,
        },
    )
    .expect(Expect::Value(46_336));
    w.b.then("server", Action::Nonblocking { sock: s, on: false });
    w.b.then(
        "server",
        Action::Linger {
            sock: s,
            linger: Some(1),
        },
    );
    w.b.then("server", Action::Close { sock: s });
    w.connect();
    w.b.at(
        1500,
        "client",
        Action::Read {
            sock: c,
            len: model::ReadLen::Eof,
            timeout: None,
        },
    )
    .expect(Expect::Value(46_336));
    let mut spec = w.b.build();
    spec.loopback = loopback;
    Run::new(spec)
}

/// When the server's write and close returned, and the ACKs it received
/// before the write returned.
fn write_and_close(r: &Run) -> (Instant, Instant, usize) {
    let mut write_done = None;
    let mut close_done = None;
    let mut acks_in_write = 0;
    for e in r.trace() {
        match e.what {
            What::Return { call, .. } if e.host == SERVER => match call {
                SysCall::Write { .. } => write_done = Some(e.t_ns),
                SysCall::Close { .. } => close_done = Some(e.t_ns),
                _ => {}
            },
            // The client's ACKs of the write's data (after the handshake).
            What::Recv { seg }
                if e.host == SERVER
                    && write_done.is_none()
                    && seg.flags.has(Flags::ACK)
                    && seg.len == 0
                    && e.t_ns > Instant::ZERO + Duration::from_ms(4) =>
            {
                acks_in_write += 1;
            }
            _ => {}
        }
    }
    (
        write_done.expect("write returned"),
        close_done.expect("close returned"),
        acks_in_write,
    )
}

#[test]
fn on_loopback_the_peers_acks_are_taken_in_before_the_write_returns() {
    let r = linger_big_queue(true, true);
    r.assert_expectations();
    let (write_done, close_done, acks) = write_and_close(&r);
    assert!(
        acks >= 5,
        "the client's quick ACKs within the write: {acks}"
    );
    // All 46,336 bytes acknowledged within the write: the FIN leaves alone.
    let fin = r.sent(SERVER, Flags::FIN);
    assert_eq!(fin[0].1.len, 0, "a lone FIN:\n{}", r.ladder());
    // The client in CLOSE-WAIT (ping-pong mode, tcp_fin) delays the FIN's
    // ACK by TCP_DELACK_MIN; the kernel's close() blocked 40.8 ms.
    let waited = close_done.saturating_since(write_done);
    assert!(
        waited >= Duration::from_ms(40) && waited < Duration::from_ms(45),
        "close waited {waited:?}:\n{}",
        r.ladder()
    );
}

/// The knob's flip test (model/src/tests/knobs: the world, not the model,
/// delivers): without it, or off a loopback path, ACKs take the path delay.
#[test]
fn test_knob_loopback_delivers_in_call() {
    for (loopback, in_call) in [(true, false), (false, true)] {
        let r = linger_big_queue(loopback, in_call);
        r.assert_expectations();
        let (write_done, close_done, acks) = write_and_close(&r);
        assert_eq!(acks, 0, "loopback {loopback}, knob {in_call}");
        // The FIN joins the last data segment, and the tail loss probe
        // resends it. On loopback (its larger buffer share) more than half
        // of the client's buffer is free and it ACKs the duplicate at once;
        // off it, half full, at its delayed-ACK timer (old_data_ack_snd_check:
        // the kernel's client on --profile lan).
        assert!(r.sent(SERVER, Flags::FIN)[0].1.len > 0, "{}", r.ladder());
        let waited = close_done.saturating_since(write_done);
        let expected = if loopback {
            Duration::ZERO..Duration::from_ms(10)
        } else {
            Duration::from_ms(35)..Duration::from_ms(45)
        };
        assert!(
            expected.contains(&waited),
            "close waited {waited:?}:\n{}",
            r.ladder()
        );
    }
}
