//! Reference worlds shared by benchmarks, tests and examples, so each is
//! defined once.

use crate::spec::{Action, Slot, SpecBuilder, WorldSpec};
use model::{Dest, Duration, How, Personality, ReadLen};
use std::sync::Arc;

/// The one shape of every reference world: two linux hosts (seed 1); the
/// server listens on port 80, accepts one connection as `s` and makes the
/// calls `server(s)` lists; the client connects as `c` at 1 ms and makes the
/// calls `client(c)` lists; then each side closes its socket.
fn connection(
    server: impl FnOnce(Slot) -> Vec<Action>,
    client: impl FnOnce(Slot) -> Vec<Action>,
) -> WorldSpec {
    let mut b = SpecBuilder::new(1);
    b.host("client", Personality::builtin("linux").expect("built-in"));
    b.host("server", Personality::builtin("linux").expect("built-in"));
    let (l, c, s) = (b.slot("l"), b.slot("c"), b.slot("s"));
    let listen = Action::Listen {
        sock: l,
        port: Some(80),
        backlog: 16,
    };
    b.at(0, "server", listen);
    b.then("server", Action::Accept { sock: l, new: s });
    for a in server(s) {
        b.then("server", a);
    }
    b.then("server", Action::Close { sock: s });
    let to = Dest { host: 1, port: 80 };
    b.at(1, "client", Action::Connect { sock: c, to });
    for a in client(c) {
        b.then("client", a);
    }
    b.then("client", Action::Close { sock: c });
    b.build()
}

/// A blocking read of `len` (no timeout).
fn read(sock: Slot, len: ReadLen) -> Action {
    Action::Read {
        sock,
        len,
        timeout: None,
    }
}

/// A blocking write of `bytes` (no timeout, no MSG_MORE).
fn write(sock: Slot, bytes: u64) -> Action {
    Action::Write {
        sock,
        bytes,
        more: false,
        timeout: None,
    }
}

/// The reference small close: connect, 1000 bytes up, 500 down, server closes
/// (with `half_close`, the server shuts down WR and drains before closing).
pub fn small_close(half_close: bool) -> Arc<WorldSpec> {
    let server = |s| {
        let mut calls = vec![read(s, ReadLen::Bytes(1000)), write(s, 500)];
        if half_close {
            calls.push(Action::Shutdown {
                sock: s,
                how: How::Wr,
            });
            calls.push(read(s, ReadLen::Eof));
        }
        calls
    };
    let client = |c| vec![write(c, 1000), read(c, ReadLen::Eof)];
    Arc::new(connection(server, client))
}

/// A one-way bulk transfer of `bytes`, read to EOF, then both close.
pub fn bulk(bytes: u64) -> Arc<WorldSpec> {
    let mut spec = connection(|s| vec![read(s, ReadLen::Eof)], |c| vec![write(c, bytes)]);
    // Room for 10 GB (a segment is about two events; 1 µs of virtual time
    // per byte is far beyond any link's need): the default limits stop a
    // run at 2 million events, about 1.9 GB.
    let limits = &mut spec.limits;
    limits.max_events = limits.max_events.max(bytes / 100);
    limits.max_time_ns = limits.max_time_ns.max(Duration::from_ns(bytes * 1000));
    Arc::new(spec)
}

/// The timer scenario of docs/performance.md: the client's read of an idle
/// connection times out after 200 ms (EAGAIN), then both close. A kernel
/// waits those 200 ms in real time; the world jumps over them.
pub fn read_timeout() -> Arc<WorldSpec> {
    let timed_read = |c| Action::Read {
        sock: c,
        len: ReadLen::Bytes(100),
        timeout: Some(Duration::from_ms(200)),
    };
    Arc::new(connection(
        |s| vec![read(s, ReadLen::Eof)],
        |c| vec![timed_read(c)],
    ))
}
