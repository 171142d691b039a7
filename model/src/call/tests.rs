//! The call table's rows and the expansion of steps into system calls.

use super::*;
use crate::errno::Errno;

/// Names as plain numbers (slot = descriptor), for the expansion tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, schemars::JsonSchema)]
struct Nums;
impl Naming for Nums {
    type Sock = u16;
    type New = u16;
    type Host = u16;
    type Proc = u16;
    fn created(s: &u16) -> u16 {
        *s
    }
}

/// Runs a step to its end, answering each system call with `answer`.
fn run(
    step: &Call<Nums>,
    has_fd: bool,
    mut answer: impl FnMut(&Call<Nums>) -> CallResult,
) -> (Vec<&'static str>, CallResult) {
    let mut x = Expansion::default();
    let mut names = Vec::new();
    for _ in 0..100 {
        let Next::Sys(sys) = x.next(step, |_| has_fd) else {
            panic!("not a socket call")
        };
        names.push(sys.name());
        if let Some(r) = x.absorb(step, &sys, answer(&sys)) {
            return (names, r);
        }
    }
    panic!("step never ended: {names:?}")
}

#[test]
fn listen_on_a_new_socket_is_socket_bind_listen() {
    let step = Call::Listen {
        sock: 0,
        port: Some(80),
        backlog: 5,
    };
    let (calls, r) = run(&step, false, |c| match c {
        Call::Socket { .. } => Ok(3),
        _ => Ok(0),
    });
    assert_eq!(calls, ["socket", "bind", "listen"]);
    assert_eq!(r, Ok(0));
    let (calls, _) = run(&step, true, |_| Ok(0));
    assert_eq!(
        calls,
        ["bind", "listen"],
        "an existing socket is not created again"
    );
    let bare = Call::Listen {
        sock: 0,
        port: None,
        backlog: 5,
    };
    assert_eq!(run(&bare, true, |_| Ok(0)).0, ["listen"]);
    assert!(bare.is_syscall() && !step.is_syscall());
}

#[test]
fn a_failed_sub_call_ends_the_step_with_its_error() {
    let step = Call::Listen {
        sock: 0,
        port: Some(80),
        backlog: 5,
    };
    let (calls, r) = run(&step, true, |c| match c {
        Call::Bind { .. } => Err(Errno::EADDRINUSE),
        _ => Ok(0),
    });
    assert_eq!(calls, ["bind"]);
    assert_eq!(r, Err(Errno::EADDRINUSE));
}

#[test]
fn connect_creates_its_socket_only_when_needed() {
    let step = Call::Connect {
        sock: 0,
        to: Dest { host: 1, port: 80 },
    };
    assert_eq!(run(&step, false, |_| Ok(0)).0, ["socket", "connect"]);
    assert_eq!(run(&step, true, |_| Ok(0)).0, ["connect"]);
}

#[test]
fn read_to_eof_totals_its_reads() {
    let step = Call::Read {
        sock: 0,
        len: ReadLen::Eof,
        timeout: None,
    };
    let mut left = [1000u64, 24, 0].into_iter();
    let (calls, r) = run(&step, true, |c| {
        assert_eq!(
            *c,
            Call::Read {
                sock: 0,
                len: ReadLen::Bytes(READ_EOF_CHUNK_BYTES),
                timeout: None,
            }
        );
        Ok(left.next().unwrap())
    });
    assert_eq!(calls.len(), 3);
    assert_eq!(r, Ok(1024));
    let mut n = 0;
    let (_, r) = run(&step, true, |_| {
        n += 1;
        if n == 1 {
            Ok(10)
        } else {
            Err(Errno::ECONNRESET)
        }
    });
    assert_eq!(
        r,
        Err(Errno::ECONNRESET),
        "an error ends the step as itself"
    );
}

#[test]
fn poll_bits_and_options_read_back() {
    let bits = poll_bits::parse("POLLIN|POLLHUP").unwrap();
    assert_eq!(bits, poll_bits::POLLIN | poll_bits::POLLHUP);
    assert_eq!(poll_bits::text(u64::from(bits)), "POLLIN|POLLHUP");
    assert_eq!(poll_bits::text(0), "0");
    assert_eq!(poll_bits::parse("POLLIN|POLLWHAT"), None);
    assert_eq!(SockOpt::parse("SIOCINQ"), Some(SockOpt::InQ));
    for (o, _) in SockOpt::WORDS {
        assert_eq!(SockOpt::parse(o.word()), Some(*o));
    }
}

#[test]
fn the_table_has_one_row_per_variant_in_order() {
    let samples: Vec<Call<Nums>> = vec![
        Call::Socket { new: 0 },
        Call::Close { sock: 0 },
        Call::Sleep {
            ns: crate::Duration::from_ns(1),
        },
        Call::Exit {},
    ];
    for c in &samples {
        assert_eq!(CALLS.iter().filter(|i| i.name == c.name()).count(), 1);
    }
    assert_eq!(Call::<Nums>::Exit {}.info().aliases, ["WSACleanup"]);
    let mut names: Vec<&str> = CALLS
        .iter()
        .flat_map(|i| i.aliases.iter().copied().chain([i.name]))
        .collect();
    let all = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all, "a word names one call");
}

#[test]
fn the_trace_spells_syscalls_as_before() {
    let c: Call<Fds> = Call::Listen {
        sock: 3,
        port: None,
        backlog: 128,
    };
    let j = serde_json::to_string(&c).unwrap();
    assert_eq!(j, r#"{"call":"listen","fd":3,"backlog":128}"#);
    let c: Call<Fds> = Call::Read {
        sock: 3,
        len: ReadLen::Bytes(10),
        timeout: None,
    };
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        r#"{"call":"read","fd":3,"max":10}"#
    );
    let c: Call<Fds> = Call::Connect {
        sock: 3,
        to: Dest { host: 1, port: 80 },
    };
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        r#"{"call":"connect","fd":3,"to":{"host":1,"port":80}}"#
    );
    let c: Call<Fds> = Call::Socket { new: () };
    assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"call":"socket"}"#);
}
