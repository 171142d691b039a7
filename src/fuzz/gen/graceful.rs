//! The graceful generator: both sides drain before they close, so a case
//! that loses data or resets shows a stack's doing, not the program's.

use super::strategy::{chance, net, personality, size, wait, GenConfig};
use super::{read_eof_main, write_main, Call, Case, Side, Sock, Step, Wait};
use model::How;
use proptest::prelude::*;
use std::sync::Arc;

/// A graceful close: both sides drain (read to EOF) before closing, nobody
/// uses linger 0, non-blocking sockets or exit. One side (the initiator)
/// writes, shuts down WR, reads to EOF and closes; the other writes a little
/// (at most what fits in the buffers), reads to EOF, writes its answer and
/// closes. Either may set linger off, use a dup'd descriptor it closes
/// first, or fork a child that closes its copy. (Linger N is left out: on
/// Windows a linger timeout that expires aborts the connection, so a close
/// with linger N is not graceful under loss; the survey shows it.)
pub fn graceful(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    let small = 1u64..=1024;
    let pre = prop::collection::vec((wait(), small), 0..=3);
    let writes = prop::collection::vec((wait(), size()), 0..=3);
    let extras = (
        chance(20, Just(None::<u32>)),
        any::<bool>(),
        chance(15, (wait(), any::<bool>())),
    );
    let pool = Arc::clone(&cfg.pool);
    let b = if cfg.faults { 15 } else { 0 };
    (
        (
            personality(&pool),
            personality(&pool),
            chance(b, 8192u32..=262_144),
            chance(b, 8192u32..=262_144),
        ),
        any::<bool>(),
        (writes.clone(), pre, writes),
        (extras.clone(), extras),
        (wait(), wait(), wait()),
        net(cfg.faults),
        0u64..1000,
    )
        .prop_map(
            |(
                (pc, ps, rb, sb),
                client_initiates,
                (iw, rpre, rw),
                (ei, er),
                (w1, w2, w3),
                net,
                seed,
            )| {
                let init = with_extras(ei, initiator_steps(iw, w1, w2));
                let resp = with_extras(er, responder_steps(rpre, rw, w3));
                let (cs, ss) = if client_initiates {
                    (init, resp)
                } else {
                    (resp, init)
                };
                let side = |personality, steps| Side {
                    personality,
                    rcvbuf: rb,
                    sndbuf: sb,
                    steps,
                    reader: false,
                };
                Case {
                    client: side(pc, cs),
                    server: side(ps, ss),
                    net,
                    seed,
                }
            },
        )
}

/// A graceful side's optional extras: linger off, a dup'd descriptor, a
/// forked child (its wait before closing, and whether it writes first).
type Extras = (Option<Option<u32>>, bool, Option<(Wait, bool)>);

fn step_after(wait: Wait, call: Call) -> Step {
    Step { wait, call }
}

/// `write c N` after each wait.
fn writes(sizes: Vec<(Wait, u64)>) -> impl Iterator<Item = Step> {
    sizes.into_iter().map(|(w, n)| step_after(w, write_main(n)))
}

fn read_eof() -> Step {
    step_after(Wait::Now, read_eof_main())
}

/// The initiator: writes, shuts down WR, reads to EOF and closes.
fn initiator_steps(sizes: Vec<(Wait, u64)>, shut: Wait, close: Wait) -> Vec<Step> {
    let mut v: Vec<Step> = writes(sizes).collect();
    let shutdown = Call::Shutdown {
        sock: Sock::Main,
        how: How::Wr,
    };
    v.push(step_after(shut, shutdown));
    v.push(read_eof());
    v.push(step_after(close, Call::Close { sock: Sock::Main }));
    v
}

/// The responder: writes a little, reads to EOF, writes its answer and closes.
fn responder_steps(pre: Vec<(Wait, u64)>, answer: Vec<(Wait, u64)>, close: Wait) -> Vec<Step> {
    let mut v: Vec<Step> = writes(pre).collect();
    v.push(read_eof());
    v.extend(writes(answer));
    v.push(step_after(close, Call::Close { sock: Sock::Main }));
    v
}

/// A side's steps with its extras around them: linger first, then the
/// fork, then the dup (after the fork, so the child holds only `c`), the
/// body, and the dup'd descriptor closed just before the last close.
fn with_extras((linger, dup, fork): Extras, body: Vec<Step>) -> Vec<Step> {
    let mut v = Vec::new();
    if let Some(l) = linger {
        let call = Call::Linger {
            sock: Sock::Main,
            linger: l,
        };
        v.push(step_after(Wait::Now, call));
    }
    if let Some((w, write)) = fork {
        v.push(step_after(
            Wait::Now,
            Call::Fork {
                child: fork_child(w, write),
            },
        ));
    }
    if dup {
        let call = Call::Dup {
            sock: Sock::Main,
            new: Sock::Dup,
        };
        v.push(step_after(Wait::Now, call));
    }
    v.extend(body);
    if dup {
        // the dup'd descriptor goes first, so the last close is `close c`
        let at = v.len() - 1;
        v.insert(at, step_after(Wait::Now, Call::Close { sock: Sock::Dup }));
    }
    v
}

/// A graceful side's child: perhaps 100 bytes, then its close after `w`.
fn fork_child(w: Wait, write: bool) -> Vec<Step> {
    let mut child = vec![];
    if write {
        child.push(step_after(Wait::Now, write_main(100)));
    }
    child.push(step_after(w, Call::Close { sock: Sock::Main }));
    child
}
