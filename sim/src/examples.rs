//! Reference worlds shared by benchmarks, tests and examples, so each is
//! defined once.

use crate::spec::{Action, SpecBuilder, WorldSpec};
use model::{Dest, Duration, How, Personality, ReadLen};
use std::sync::Arc;

fn linux_pair(seed: u64) -> SpecBuilder {
    let mut b = SpecBuilder::new(seed);
    b.host("client", Personality::builtin("linux").expect("built-in"));
    b.host("server", Personality::builtin("linux").expect("built-in"));
    b
}

/// The server listens on port 80 and accepts one connection as `s`; the
/// client will connect as `c`. Returns the slots (c, s).
fn server_accepts(b: &mut SpecBuilder) -> (u16, u16) {
    let (l, c, s) = (b.slot("l"), b.slot("c"), b.slot("s"));
    b.at(
        0,
        "server",
        Action::Listen {
            sock: l,
            port: Some(80),
            backlog: 16,
        },
    );
    b.then("server", Action::Accept { sock: l, new: s });
    (c, s)
}

/// The reference small close: connect, 1000 bytes up, 500 down, server closes
/// (with `half_close`, the server shuts down WR and drains before closing).
pub fn small_close(half_close: bool) -> Arc<WorldSpec> {
    let mut b = linux_pair(1);
    let (c, s) = server_accepts(&mut b);
    b.then(
        "server",
        Action::Read {
            sock: s,
            len: ReadLen::Bytes(1000),
            timeout: None,
        },
    );
    b.then(
        "server",
        Action::Write {
            sock: s,
            bytes: 500,
            more: false,
            timeout: None,
        },
    );
    if half_close {
        b.then(
            "server",
            Action::Shutdown {
                sock: s,
                how: How::Wr,
            },
        );
        b.then(
            "server",
            Action::Read {
                sock: s,
                len: ReadLen::Eof,
                timeout: None,
            },
        );
    }
    b.then("server", Action::Close { sock: s });
    b.at(
        1,
        "client",
        Action::Connect {
            sock: c,
            to: Dest { host: 1, port: 80 },
        },
    );
    b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 1000,
            more: false,
            timeout: None,
        },
    );
    b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Eof,
            timeout: None,
        },
    );
    b.then("client", Action::Close { sock: c });
    Arc::new(b.build())
}

/// A one-way bulk transfer of `bytes`, read to EOF, then both close.
pub fn bulk(bytes: u64) -> Arc<WorldSpec> {
    let mut b = linux_pair(1);
    let (c, s) = server_accepts(&mut b);
    b.then(
        "server",
        Action::Read {
            sock: s,
            len: ReadLen::Eof,
            timeout: None,
        },
    );
    b.then("server", Action::Close { sock: s });
    b.at(
        1,
        "client",
        Action::Connect {
            sock: c,
            to: Dest { host: 1, port: 80 },
        },
    );
    b.then(
        "client",
        Action::Write {
            sock: c,
            bytes,
            more: false,
            timeout: None,
        },
    );
    b.then("client", Action::Close { sock: c });
    let mut spec = b.build();
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
    let mut b = linux_pair(1);
    let (c, s) = server_accepts(&mut b);
    b.then(
        "server",
        Action::Read {
            sock: s,
            len: ReadLen::Eof,
            timeout: None,
        },
    );
    b.then("server", Action::Close { sock: s });
    b.at(
        1,
        "client",
        Action::Connect {
            sock: c,
            to: Dest { host: 1, port: 80 },
        },
    );
    b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Bytes(100),
            timeout: Some(Duration::from_ms(200)),
        },
    );
    b.then("client", Action::Close { sock: c });
    Arc::new(b.build())
}
