//! The transition table (`state::allowed`) against what the model does: every
//! edge the table allows is taken by some real scenario, and (since
//! `set_state` asserts the table) no other edge can be taken at all.

use super::*;
use crate::state::allowed;
use std::collections::BTreeSet;

/// Scenarios that between them take every edge.
fn scenarios() -> Vec<Scenario> {
    [opens_and_closes(), resets()].concat()
}

/// The edges of opening and of closing, RST aside.
fn opens_and_closes() -> Vec<Scenario> {
    vec![
        ("active close to TIME-WAIT expiry", || {
            let mut h = time_wait();
            h.advance_ms(60_000);
            h
        }),
        ("passive close", || {
            let mut h = last_ack();
            h.send(ACK, 2, 2);
            h
        }),
        ("simultaneous close", || {
            let mut h = closing();
            h.send(ACK, 2, 2);
            h
        }),
        ("FIN with the ACK of our FIN", || {
            let mut h = fin_wait_1();
            h.send(FIN | ACK, 1, 2);
            h
        }),
        ("passive open, listener closed", || {
            let mut h = established_passive();
            // The listener was the process's first descriptor.
            h.call(Call::Close {
                sock: crate::host::FD_FIRST,
            });
            h
        }),
        ("simultaneous open, then close", || {
            let mut h = syn_sent();
            h.send(SYN, 0, 0);
            h.close();
            h
        }),
        ("FIN-WAIT-2 timer", || {
            let mut h = fin_wait_2();
            h.advance_ms(60_000);
            h
        }),
    ]
}

/// The edges an RST takes, from each state that has one.
fn resets() -> Vec<Scenario> {
    vec![
        ("RST to a passive SYN-RECEIVED", || {
            let mut h = syn_received();
            h.send(RST, 1, 0);
            h
        }),
        ("connection refused", || {
            let mut h = syn_sent();
            h.send(RST | ACK, 0, 1);
            h
        }),
        ("RST in ESTABLISHED", || {
            let mut h = established();
            h.send(RST, 1, 0);
            h
        }),
        ("RST in FIN-WAIT-1", || {
            let mut h = fin_wait_1();
            h.send(RST, 1, 0);
            h
        }),
        ("RST in CLOSE-WAIT", || {
            let mut h = close_wait();
            h.send(RST, 2, 0);
            h
        }),
        ("RST in CLOSING", || {
            let mut h = closing();
            h.send(RST, 2, 0);
            h
        }),
    ]
}

#[test]
fn test_every_edge_of_the_table_is_taken() {
    let mut seen = BTreeSet::new();
    for (name, run) in scenarios() {
        let mut h = run();
        h.flush();
        assert!(!h.history.is_empty(), "{name}: no edges");
        seen.extend(h.history.iter().map(|&(from, to, _)| (from, to)));
    }
    let mut table = BTreeSet::new();
    for a in State::ALL {
        for b in State::ALL {
            if allowed(a, b) {
                table.insert((a, b));
            }
        }
    }
    let missing: Vec<_> = table.difference(&seen).collect();
    assert!(missing.is_empty(), "edges never taken: {missing:?}");
    assert!(seen.is_subset(&table));
}

#[test]
#[should_panic(expected = "illegal transition")]
fn test_set_state_refuses_an_edge_the_table_does_not_have() {
    let mut h = established();
    let p = Personality::builtin("linux").unwrap();
    let sid = h.sid;
    let s = h.host.socks[sid as usize].as_mut().unwrap();
    let mut ctx = crate::socket::Ctx {
        p: &p.knobs,
        now: crate::Instant::ZERO,
        out: &mut h.out,
    };
    s.set_state(&mut ctx, State::SynSent, Rule::AppConnect);
}
