//! Normalizing a generated tail so that every call is valid where it stands:
//! no descriptor used after it was released, at most one dup, fork and
//! non-blocking switch, polls naming only the sockets still open.

use super::{Call, Gen, Sock, Step};

/// Makes a tail valid: nothing after `exit`; after `close c` only `close c2`
/// and `exit`; at most one `dup`, one `fork`, one `nonblocking`; `close c2`
/// only after a `dup`. Children get the same treatment (no fork, no dup).
/// A poll's further sockets are kept while open: `c2` between its `dup`
/// and its `close`, the listener on the server (`listener`) and not in a
/// child.
pub fn normalize(steps: Vec<Step>, child: bool, listener: bool) -> Vec<Step> {
    let mut out = Vec::with_capacity(steps.len());
    let mut tail = Tail::default();
    for s in steps {
        if !tail.keeps(&s.call, child) {
            continue;
        }
        tail.note(&s.call);
        let exit = s.call == Call::Exit {};
        out.push(tail_step(
            s,
            tail.dup && !tail.dup_closed,
            listener && !child,
        ));
        if exit {
            break;
        }
    }
    out
}

/// What a tail has done so far, as [`normalize`] reads it.
#[derive(Default)]
struct Tail {
    closed: bool,
    dup: bool,
    dup_closed: bool,
    forked: bool,
    nonblocking: bool,
}

impl Tail {
    /// Whether `call` may come next (in a child: no fork, no dup).
    fn keeps(&self, call: &Call, child: bool) -> bool {
        match call {
            Call::Exit {} => true,
            Call::Close { sock: Sock::Dup } => self.dup && !self.dup_closed,
            _ if self.closed => false,
            Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            } => !self.dup && !child,
            Call::Fork { child: _ } => !self.forked && !child,
            Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            } => !self.nonblocking,
            _ => true,
        }
    }

    /// Notes what a kept `call` did.
    fn note(&mut self, call: &Call) {
        match call {
            Call::Close { sock: Sock::Main } => self.closed = true,
            Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            } => self.dup = true,
            Call::Close { sock: Sock::Dup } => self.dup_closed = true,
            Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            } => self.nonblocking = true,
            Call::Fork { child: _ } => self.forked = true,
            _ => {}
        }
    }
}

/// A kept step as it goes into the tail: a fork's child normalized, a poll's
/// (select's) further sockets cut to those open (`dup`: the dup is,
/// `listener`: this process has the listener).
fn tail_step(s: Step, dup: bool, listener: bool) -> Step {
    let call = match s.call {
        Call::Fork { child: c } => Call::Fork {
            child: normalize(c, true, false),
        },
        Call::Poll {
            sock,
            also,
            events,
            timeout,
        } => Call::Poll {
            sock,
            also: open_lanes(also, dup, listener),
            events,
            timeout,
        },
        Call::Select {
            sock,
            also,
            sets,
            timeout,
        } => Call::Select {
            sock,
            also: open_lanes(also, dup, listener),
            sets,
            timeout,
        },
        call => call,
    };
    Step { wait: s.wait, call }
}

/// A poll's further sockets that are open: the dup while it is, the
/// listener where there is one.
fn open_lanes(
    also: model::call::PollAlso<Gen>,
    dup: bool,
    listener: bool,
) -> model::call::PollAlso<Gen> {
    let open = |s: &&Sock| match s {
        Sock::Main => false,
        Sock::Dup => dup,
        Sock::Listener => listener,
    };
    let kept = also.iter().filter(open).copied().collect();
    model::call::PollAlso::from_socks(kept).unwrap_or_default()
}
