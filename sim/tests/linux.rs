//! Linux teardown behaviour, end to end: small worlds built with SpecBuilder,
//! checked on the verdict and the trace. Each expectation cites what the real
//! kernel did, as an item of `docs/sources.md#linux-real-kernel`.

mod common;

use common::*;
use model::{Buffer, DiscardCause, Errno, Event, Flags, How, ReadLen, RstCause, State};
use model::{Duration, Instant};
use sim::{Action, Expect, Outcome, What};

#[test]
fn server_close_with_unread_request_resets_and_client_read_fails() {
    // Server closes with 1000 unread bytes → `R.`; the client's read returns
    // ECONNRESET (docs/sources.md#linux-obs-close-unread).
    let mut w = World2::new(1);
    let (s, c) = (w.s, w.c);
    w.listen_accept();
    w.b.then(
        "server",
        Action::Sleep {
            ns: Duration::from_ms(5),
        },
    );
    w.b.then("server", Action::Close { sock: s });
    w.connect();
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 1000,
            more: false,
            timeout: None,
        },
    )
    .expect(Expect::Value(1000));
    w.b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Bytes(1000),
            timeout: None,
        },
    )
    .expect(Expect::Error(Errno::ECONNRESET));
    let r = w.run();
    r.assert_expectations();
    assert_eq!(r.rsts(), [(SERVER, RstCause::CloseWithUnread)]);
    assert_eq!(r.verdict.resets[0].state, State::Established);
    let rst = r.sent(SERVER, Flags::RST);
    assert_eq!(
        rst[0].1.flags,
        Flags::RST | Flags::ACK,
        "`R.` from the socket"
    );
    let up = &r.verdict.connections[0].directions[0];
    assert_eq!(
        (up.written, up.delivered, up.read, up.lost),
        (1000, 1000, 0, 1000)
    );
    assert_eq!(up.losses[0].side, "receiver");
    assert_eq!(r.verdict.outcome, Outcome::ResetWithLoss);
}

#[test]
fn shutdown_wr_then_draining_both_sides_is_clean() {
    // Write 500, shutdown(SHUT_WR), the peer reads to EOF → `P.`, `F.`, 500 then EOF,
    // no RST (docs/sources.md#linux-obs-shut-wr).
    let mut w = World2::new(1);
    let (s, c) = (w.s, w.c);
    w.listen_accept();
    w.b.then(
        "server",
        Action::Write {
            sock: s,
            bytes: 500,
            more: false,
            timeout: None,
        },
    );
    w.b.then(
        "server",
        Action::Shutdown {
            sock: s,
            how: How::Wr,
        },
    );
    w.b.then(
        "server",
        Action::Read {
            sock: s,
            len: ReadLen::Eof,
            timeout: None,
        },
    )
    .expect(Expect::Value(1000));
    w.b.then("server", Action::Close { sock: s });
    w.connect();
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 1000,
            more: false,
            timeout: None,
        },
    );
    w.b.then(
        "client",
        Action::Shutdown {
            sock: c,
            how: How::Wr,
        },
    );
    w.b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Eof,
            timeout: None,
        },
    )
    .expect(Expect::Value(500));
    w.b.then("client", Action::Close { sock: c });
    let r = w.run();
    r.assert_expectations();
    assert!(r.rsts().is_empty());
    assert_eq!(r.verdict.lost_bytes(), 0);
    assert_eq!(r.verdict.outcome, Outcome::Clean);
    assert_eq!(r.verdict.end, sim::EndReason::Quiescent);
    for e in &r.verdict.connections[0].endpoints {
        assert_eq!(e.final_state, State::Closed);
    }
}

/// The client writes 10,000 bytes to a server whose receive buffer holds
/// 1000 and that reads only after 100 ms, then closes with SO_LINGER {1, 0}
/// at 50 ms; the server's read to EOF expects ECONNRESET.
fn linger_zero_with_data_queued() -> Run {
    let mut w = World2::new(1);
    let (l, s, c) = (w.l, w.s, w.c);
    // The server's receive buffer (SO_RCVBUF 1000, raised to SOCK_MIN_RCVBUF =
    // 2304: setsockopt_buf_min_bytes) takes 1152, its first window: the rest
    // stays queued at the client.
    w.b.at(0, "server", Action::Socket { new: l });
    w.b.then(
        "server",
        Action::RcvBuf {
            sock: l,
            bytes: 1000,
        },
    );
    w.b.then(
        "server",
        Action::Listen {
            sock: l,
            port: Some(PORT),
            backlog: 16,
        },
    );
    w.b.then("server", Action::Accept { sock: l, new: s });
    w.b.then(
        "server",
        Action::Sleep {
            ns: Duration::from_ms(100),
        },
    );
    w.b.then(
        "server",
        Action::Read {
            sock: s,
            len: ReadLen::Eof,
            timeout: None,
        },
    )
    .expect(Expect::Error(Errno::ECONNRESET));
    w.connect();
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 10_000,
            more: false,
            timeout: None,
        },
    )
    .expect(Expect::Value(10_000));
    w.b.then(
        "client",
        Action::Sleep {
            ns: Duration::from_ms(50),
        },
    );
    w.b.then(
        "client",
        Action::Linger {
            sock: c,
            linger: Some(0),
        },
    );
    w.b.then("client", Action::Close { sock: c });
    w.run()
}

#[test]
fn linger_zero_resets_and_loses_the_queued_send_data_at_the_sender() {
    // SO_LINGER {1, 0} → `R.`, the send queue is discarded; the peer still reads what
    // was delivered, then ECONNRESET [src][obs] (docs/sources.md#row-2,
    // docs/sources.md#linux-obs-linger-zero).
    let r = linger_zero_with_data_queued();
    r.assert_expectations();
    assert_eq!(r.rsts(), [(CLIENT, RstCause::LingerZero)]);
    let discards: Vec<_> = r
        .events(CLIENT)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::Discard {
                buffer,
                bytes,
                cause,
                ..
            } => Some((buffer, bytes, cause)),
            _ => None,
        })
        .collect();
    assert_eq!(
        discards,
        [(
            Buffer::Send,
            8_848,
            DiscardCause::Abort(RstCause::LingerZero)
        )]
    );
    let up = &r.verdict.connections[0].directions[0];
    assert_eq!((up.written, up.delivered, up.read), (10_000, 1_152, 1_152));
    assert_eq!(up.losses.len(), 1);
    assert_eq!((up.losses[0].bytes, up.losses[0].side), (8_848, "sender"));
    assert!(
        up.losses[0].why.contains("linger-0"),
        "{}",
        up.losses[0].why
    );
}

#[test]
fn server_writes_then_closes_with_request_unread_client_reads_then_reset() {
    // `P.` 500 then `R.`; the client can still read the 500 bytes, then ECONNRESET
    // (docs/sources.md#linux-obs-close-unread).
    let mut w = World2::new(1);
    let (s, c) = (w.s, w.c);
    w.listen_accept();
    w.b.then(
        "server",
        Action::Sleep {
            ns: Duration::from_ms(5),
        },
    );
    w.b.then(
        "server",
        Action::Write {
            sock: s,
            bytes: 500,
            more: false,
            timeout: None,
        },
    );
    w.b.then("server", Action::Close { sock: s });
    w.connect();
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 1000,
            more: false,
            timeout: None,
        },
    );
    w.b.then(
        "client",
        Action::Sleep {
            ns: Duration::from_ms(20),
        },
    );
    let read = Action::Read {
        sock: c,
        len: ReadLen::Bytes(1000),
        timeout: None,
    };
    for e in [Expect::Value(500), Expect::Error(Errno::ECONNRESET)] {
        w.b.then("client", read).expect(e);
    }
    let r = w.run();
    r.assert_expectations();
    let data = r.sent(SERVER, Flags::PSH);
    let rst = r.sent(SERVER, Flags::RST);
    assert_eq!(data[0].1.len, 500);
    assert!(data[0].0 <= rst[0].0, "the data goes out before the RST");
    // The client quick-ACKs the response; that ACK crosses the RST and draws a
    // second one from the server's listener (`C>S . ack 501`, then `S>C R seq 501
    // win 0`: docs/sources.md#linux-obs-rst-below-rcv-nxt), which the closed client
    // ignores.
    assert_eq!(
        r.rsts(),
        [
            (SERVER, RstCause::CloseWithUnread),
            (SERVER, RstCause::NoConnection)
        ]
    );
    let down = &r.verdict.connections[0].directions[1];
    assert_eq!((down.written, down.read, down.lost), (500, 500, 0));
}

#[test]
fn client_closes_then_server_writes_twice_first_ok_draws_rst_second_epipe() {
    // The first write succeeds and draws an `R` from the orphaned client; later writes
    // fail with EPIPE: a bare `R` without ACK, and in CLOSE-WAIT the error is EPIPE,
    // never ECONNRESET (docs/sources.md#linux-obs-data-after-close,
    // docs/sources.md#linux-obs-rst-close-wait).
    let mut w = World2::new(1);
    let (s, c) = (w.s, w.c);
    w.listen_accept();
    w.b.then(
        "server",
        Action::Sleep {
            ns: Duration::from_ms(10),
        },
    );
    w.b.then(
        "server",
        Action::Write {
            sock: s,
            bytes: 100,
            more: false,
            timeout: None,
        },
    )
    .expect(Expect::Value(100));
    w.b.then(
        "server",
        Action::Sleep {
            ns: Duration::from_ms(10),
        },
    );
    w.b.then(
        "server",
        Action::Write {
            sock: s,
            bytes: 100,
            more: false,
            timeout: None,
        },
    )
    .expect(Expect::Error(Errno::EPIPE));
    w.b.then(
        "server",
        Action::Read {
            sock: s,
            len: ReadLen::Bytes(100),
            timeout: None,
        },
    )
    .expect(Expect::Value(0));
    w.connect();
    w.b.then("client", Action::Close { sock: c });
    let r = w.run();
    r.assert_expectations();
    assert_eq!(r.rsts(), [(CLIENT, RstCause::DataAfterClose)]);
    let rst = r.sent(CLIENT, Flags::RST);
    assert_eq!(rst.len(), 1);
    assert_eq!(rst[0].1.flags, Flags::RST, "a bare R, no ACK");
    assert_eq!(rst[0].1.wnd, 0);
    let server_errors = &r.verdict.connections[0].endpoints[1].errors;
    assert_eq!(server_errors, &[Errno::EPIPE]);
    assert!(!r.verdict.connections[0].directions[1].silent);
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    // `S`, answered by `R. seq 0 ack 1 win 0`; connect fails ECONNREFUSED
    // (docs/sources.md#linux-obs-connect-refused).
    let mut w = World2::new(1);
    let c = w.c;
    w.connect();
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 1,
            more: false,
            timeout: None,
        },
    )
    .expect(Expect::Error(Errno::EPIPE));
    w.b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Bytes(1),
            timeout: None,
        },
    )
    .expect(Expect::Error(Errno::ENOTCONN));
    let r = w.run();
    // The connect step itself expected nothing; check its result in the trace.
    let connect = r.trace().iter().find_map(|e| match e.what {
        What::Return {
            call: model::Call::Connect { .. },
            result,
            ..
        } => Some(result),
        _ => None,
    });
    assert_eq!(connect, Some(Err(Errno::ECONNREFUSED)));
    r.assert_expectations();
    let rst = r.sent(SERVER, Flags::RST);
    assert_eq!(rst.len(), 1);
    assert_eq!(rst[0].1.flags, Flags::RST | Flags::ACK);
    assert_eq!((rst[0].1.seq.0, rst[0].1.wnd), (0, 0));
    assert_eq!(r.rsts(), [(SERVER, RstCause::ClosedPort)]);
}

#[test]
fn listener_closed_with_a_queued_connection_resets_it() {
    // The connection waiting in the accept queue with data gets `R.`; the client's read
    // fails ECONNRESET (docs/sources.md#linux-obs-listener-close).
    let mut w = World2::new(1);
    let (l, c) = (w.l, w.c);
    w.b.at(
        0,
        "server",
        Action::Listen {
            sock: l,
            port: Some(PORT),
            backlog: 16,
        },
    );
    w.b.step(
        sim::At::Abs(Instant::ZERO + Duration::from_ms(10)),
        "server",
        Action::Close { sock: l },
    );
    w.connect();
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 100,
            more: false,
            timeout: None,
        },
    );
    w.b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Bytes(100),
            timeout: None,
        },
    )
    .expect(Expect::Error(Errno::ECONNRESET));
    w.b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Bytes(100),
            timeout: None,
        },
    )
    .expect(Expect::Value(0));
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 1,
            more: false,
            timeout: None,
        },
    )
    .expect(Expect::Error(Errno::EPIPE));
    let r = w.run();
    r.assert_expectations();
    assert_eq!(r.rsts(), [(SERVER, RstCause::ListenerClosed)]);
    assert_eq!(
        r.sent(SERVER, Flags::RST)[0].1.flags,
        Flags::RST | Flags::ACK
    );
}

/// A server that forks after accept; the parent then does `parent_op` on the
/// connection and the child exits 100 ms later.
fn fork_world(parent_op: Action) -> Run {
    let mut w = World2::new(1);
    let c = w.c;
    w.b.forked("child", "server");
    w.listen_accept();
    let child = w.b.proc("child");
    w.b.then("server", Action::Fork { child });
    w.b.then("server", parent_op);
    w.b.then(
        "child",
        Action::Sleep {
            ns: Duration::from_ms(100),
        },
    );
    w.b.then("child", Action::Exit {});
    w.connect();
    w.b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Eof,
            timeout: None,
        },
    )
    .expect(Expect::Value(0));
    w.b.then("client", Action::Close { sock: c });
    w.run()
}

fn exit_time(r: &Run, proc: u16) -> Instant {
    r.trace()
        .iter()
        .find_map(|e| match e.what {
            What::Exit { proc: p } if p == proc => Some(e.t_ns),
            _ => None,
        })
        .expect("the child exits")
}

#[test]
fn fork_close_in_the_parent_sends_no_fin_until_the_child_exits() {
    // A forked child still holds the socket; the parent closes → no FIN until the
    // child exits; then a normal FIN exchange (docs/sources.md#linux-fork).
    let s = 1; // the slot "s"
    let r = fork_world(Action::Close { sock: s });
    r.assert_expectations();
    let child = r.spec.procs.iter().position(|p| p.name == "child").unwrap() as u16;
    let fin = r.sent(SERVER, Flags::FIN);
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].0, exit_time(&r, child));
    assert!(fin[0].0.since_start() >= Duration::from_ms(100));
    assert!(r.rsts().is_empty());
}

#[test]
fn fork_shutdown_in_the_parent_sends_fin_at_once() {
    // shutdown(SHUT_RDWR) while a forked child still holds the socket → FIN at once
    // (shutdown acts on the socket, not the descriptor: docs/sources.md#linux-fork).
    let s = 1;
    let r = fork_world(Action::Shutdown {
        sock: s,
        how: How::RdWr,
    });
    r.assert_expectations();
    let child = r.spec.procs.iter().position(|p| p.name == "child").unwrap() as u16;
    let fin = r.sent(SERVER, Flags::FIN);
    assert_eq!(fin.len(), 1);
    assert!(fin[0].0 < exit_time(&r, child));
    assert!(fin[0].0.since_start() < Duration::from_ms(10));
}

#[test]
fn process_exit_with_unread_data_resets() {
    // Like close() with unread data: RST (docs/sources.md#linux-obs-exit).
    let mut w = World2::new(1);
    let c = w.c;
    w.listen_accept();
    w.b.then(
        "server",
        Action::Sleep {
            ns: Duration::from_ms(5),
        },
    );
    w.b.then("server", Action::Exit {});
    w.connect();
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 200,
            more: false,
            timeout: None,
        },
    );
    w.b.then(
        "client",
        Action::Read {
            sock: c,
            len: ReadLen::Bytes(10),
            timeout: None,
        },
    )
    .expect(Expect::Error(Errno::ECONNRESET));
    let r = w.run();
    r.assert_expectations();
    assert_eq!(r.rsts(), [(SERVER, RstCause::CloseWithUnread)]);
}

#[test]
fn linger_one_second_blocking_close_with_a_fast_reader_is_graceful() {
    // SO_LINGER {1, 1}, 200 kB queued, fast reader: close returns after the data is
    // acknowledged; graceful FIN; nothing lost (docs/sources.md#linux-obs-linger-wait).
    let mut w = World2::new(1);
    let (s, c) = (w.s, w.c);
    w.listen_accept();
    w.b.then(
        "server",
        Action::Read {
            sock: s,
            len: ReadLen::Eof,
            timeout: None,
        },
    )
    .expect(Expect::Value(200_000));
    w.b.then("server", Action::Close { sock: s });
    w.connect();
    w.b.then(
        "client",
        Action::SndBuf {
            sock: c,
            bytes: 262_144,
        },
    );
    w.b.then(
        "client",
        Action::Linger {
            sock: c,
            linger: Some(1),
        },
    );
    w.b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 200_000,
            more: false,
            timeout: None,
        },
    );
    w.b.then("client", Action::Close { sock: c })
        .expect(Expect::Value(0));
    let r = w.run();
    r.assert_expectations();
    assert!(r.rsts().is_empty());
    assert_eq!(r.verdict.lost_bytes(), 0);
    // close() returned once everything, FIN included, was acknowledged.
    let close_returned = r
        .trace()
        .iter()
        .find_map(|e| match e.what {
            What::Return {
                call: model::Call::Close { .. },
                ..
            } if e.host == CLIENT => Some(e.t_ns),
            _ => None,
        })
        .unwrap();
    let fin = r.sent(CLIENT, Flags::FIN)[0].0;
    assert!(close_returned > fin);
    assert!(close_returned.since_start() < Duration::from_ms(1_000));
}

#[test]
fn winsock_error_names_are_a_reporting_choice_only() {
    // error_names renames errnos in reports; the model's results stay POSIX values.
    let run = |names: &str| {
        let mut client = linux();
        client.set("error_names", names, "test").unwrap();
        let mut w = World2::with(1, client, linux());
        let c = w.c;
        w.connect();
        w.b.then(
            "client",
            Action::Write {
                sock: c,
                bytes: 1,
                more: false,
                timeout: None,
            },
        );
        w.run()
    };
    let posix = run("posix");
    let winsock = run("winsock");
    assert_eq!(posix.verdict, winsock.verdict);
    assert!(posix.ladder().contains("= ECONNREFUSED"));
    assert!(winsock.ladder().contains("= WSAECONNREFUSED"));
}
