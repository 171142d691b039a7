//! A synthetic kernel run (records and segments as the worker and the
//! capture report them) through the conversion to trace entries and verdict.

use super::*;
use crate::capture::Pkt;
use model::{RstCause, State};
use scenario::Scenario;
use sim::verdict::ResetCause;
use std::net::Ipv4Addr;

const SCENARIO: &str = r#"
[scenario]
name = "synthetic"
[hosts.client]
personality = "linux"
[hosts.server]
personality = "linux"
[script]
steps = [
  "0    server listen l 80",
  "-    server accept l as s",
  "20ms client connect c server:80",
  "-    client write c 1000 = 1000",
  "40ms server close s = 0",
]
[expect]
outcome = "reset-with-loss"
rst = ["server: close-with-unread"]
lost = { "client->server" = 1000 }
"#;

const CLIENT: Ep = (Ipv4Addr::new(127, 0, 0, 1), 40000);
const SERVER: Ep = (Ipv4Addr::new(127, 0, 0, 2), 80);

fn pkt(t: u64, src: Ep, dst: Ep, seq: u32, ack: u32, flags: u8, len: u32) -> Pkt {
    Pkt {
        t,
        src,
        dst,
        seq,
        ack,
        flags,
        win_raw: 65535,
        len,
        mss: (flags & 0x02 != 0).then_some(1460),
        wscale: None,
        ts: false,
        options: Default::default(),
    }
}

/// One system call as the worker reports it: before, then after.
fn call(out: &mut Vec<Rec>, at: (u16, u32), fd: i32, had_fd: bool, t: (u64, u64), r: Res) {
    let (proc, step) = at;
    out.push(Rec::Call {
        proc,
        step,
        fds: vec![fd],
        had_fd,
        t: t.0,
    });
    let conn = match (fd, proc) {
        (-1, _) => None,
        (_, 0) => Some((CLIENT, SERVER)),
        _ => Some((SERVER, CLIENT)),
    };
    out.push(Rec::Return {
        proc,
        step,
        t: t.1,
        res: r,
        conn: conn.filter(|_| step > 0),
    });
}

/// One step as the worker reports it: its calls (descriptor, whether the
/// step's socket had one, (before, after) ns, result), then its end, which
/// spans the calls and has the last one's result.
fn step(out: &mut Vec<Rec>, at: (u16, u32), calls: &[(i32, bool, (u64, u64), Res)]) {
    for (fd, had_fd, t, r) in calls {
        call(out, at, *fd, *had_fd, *t, r.clone());
    }
    let (first, last) = (&calls[0], &calls[calls.len() - 1]);
    out.push(Rec::Done {
        proc: at.0,
        step: at.1,
        t0: first.2 .0,
        t: last.2 .1,
        res: last.3.clone(),
        read: 0,
    });
}

/// A scenario of these tests, from its text.
fn load(text: &str) -> Scenario {
    scenario::from_text(
        "t.toml",
        text,
        std::path::Path::new("."),
        &Default::default(),
    )
    .expect("the scenario loads")
}

/// The scenario, and a kernel run of it in which the server's accept
/// returns `accept_return_ns` (real) after time 0.
pub(crate) fn fixture(accept_return_ns: u64) -> (Scenario, RealRun) {
    let s = load(SCENARIO);
    assert_eq!(s.spec.procs[0].name, "client");
    let plan = crate::plan(&s.spec, 1.0).expect("plannable");
    let pkts = fixture_pkts();
    let run = RealRun {
        plan,
        scale: 1.0,
        host_ip: vec![CLIENT.0, SERVER.0],
        recs: fixture_recs(accept_return_ns),
        pkts_total: pkts.len() as u64,
        pkts,
        capture_error: None,
        states: Some(Vec::new()),
        end_ns: 8_000_000,
        cut_off: false,
        notes: Vec::new(),
        labels: Vec::new(),
    };
    (s, run)
}

/// The fixture's reports: the server listens (socket, bind, listen) and
/// accepts, the client connects and writes 1000 bytes, the server closes.
fn fixture_recs(accept_return_ns: u64) -> Vec<Rec> {
    let (c, sv) = (0u16, 1u16);
    let mut recs = Vec::new();
    let listen = [
        (-1, false, (0, 10), Res::Ok(3)),
        (3, false, (20, 30), Res::Ok(0)),
        (3, false, (40, 50), Res::Ok(0)),
    ];
    step(&mut recs, (sv, 0), &listen);
    let accept = (3, true, (60, accept_return_ns), Res::Ok(4));
    step(&mut recs, (sv, 1), &[accept]);
    let connect = [
        (-1, false, (20_000_000, 20_000_010), Res::Ok(3)),
        (3, false, (20_000_020, 20_130_000), Res::Ok(0)),
    ];
    step(&mut recs, (c, 2), &connect);
    let write = (3, true, (20_190_000, 20_200_000), Res::Ok(1000));
    step(&mut recs, (c, 3), &[write]);
    let close = (4, true, (40_000_000, 40_000_010), Res::Ok(0));
    step(&mut recs, (sv, 4), &[close]);
    recs.push(Rec::Finished {
        proc: c,
        t: 20_200_000,
    });
    recs.push(Rec::Finished {
        proc: sv,
        t: 40_000_010,
    });
    recs
}

/// The fixture's segments: handshake, the 1000 bytes and their ACK, the server's RST.
fn fixture_pkts() -> Vec<Pkt> {
    vec![
        pkt(20_100_000, CLIENT, SERVER, 1000, 0, 0x02, 0),
        pkt(20_110_000, SERVER, CLIENT, 5000, 1001, 0x12, 0),
        pkt(20_120_000, CLIENT, SERVER, 1001, 5001, 0x10, 0),
        pkt(20_200_000, CLIENT, SERVER, 1001, 5001, 0x18, 1000),
        pkt(20_210_000, SERVER, CLIENT, 5001, 2001, 0x10, 0),
        pkt(40_000_005, SERVER, CLIENT, 5001, 2001, 0x14, 0),
    ]
}

/// The run's trace and verdict, through the conversion.
pub(crate) fn convert(s: &Scenario, run: &RealRun) -> (Vec<Entry>, Verdict) {
    let calls = calls(&s.spec, &run.recs);
    let trace = entries(&s.spec, run, &calls);
    let v = verdict(&s.spec, run, &calls, &trace);
    (trace, v)
}

#[test]
fn calls_are_named_by_replaying_the_step_expansion() {
    let (s, run) = fixture(20_125_000);
    let calls = calls(&s.spec, &run.recs);
    let names: Vec<&str> = calls.iter().map(|c| c.call.name()).collect();
    assert_eq!(
        names,
        ["socket", "bind", "listen", "accept", "socket", "connect", "write", "close"]
    );
    assert_eq!(sim::report::call_text(&calls[3].call, &s.spec), "accept(3)");
    assert_eq!(
        calls[6].call,
        model::Call::Write {
            sock: 3,
            bytes: 1000,
            more: false,
            timeout: None,
        }
    );
}

#[test]
fn a_kernel_run_becomes_the_simulators_entries_and_verdict() {
    let (s, run) = fixture(20_125_000);
    let (trace, v) = convert(&s, &run);
    let blocked: Vec<u32> = trace
        .iter()
        .filter_map(|e| match e.what {
            What::Blocked { step, .. } => Some(step),
            _ => None,
        })
        .collect();
    assert_eq!(blocked, [1], "only the accept waited more than 10 ms");
    assert_eq!(v.outcome, sim::Outcome::ResetWithLoss);
    assert_eq!(v.resets.len(), 1);
    let r = &v.resets[0];
    assert_eq!(
        (r.from.host, r.state, r.accepted),
        (1, State::Established, true)
    );
    assert_eq!(
        r.cause,
        ResetCause::Unobserved,
        "RST causes are not invented"
    );
    let c = &v.connections[0];
    assert_eq!(c.endpoints[0].addr.port, 40000, "the connector comes first");
    assert_eq!(
        c.endpoints[0].states,
        [
            State::Closed,
            State::SynSent,
            State::Established,
            State::Closed
        ]
    );
    assert_eq!(
        c.endpoints[1].states,
        [
            State::Listen,
            State::SynReceived,
            State::Established,
            State::Closed
        ]
    );
    let d = &c.directions[0];
    assert_eq!(
        (d.written, d.delivered, d.read, d.lost),
        (1000, 1000, 0, 1000)
    );
    assert!(s.check(&v).is_empty(), "{:?}", s.check(&v));
}

#[test]
fn rst_expectations_compare_senders_when_causes_are_unobserved() {
    let (mut s, run) = fixture(20_125_000);
    s.expect.rst = Some(vec![(0, RstCause::CloseWithUnread)]);
    let (_, v) = convert(&s, &run);
    let m = s.check(&v);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].what, "rst (senders; causes not observable)");
    assert_eq!(
        (m[0].expected.as_str(), m[0].actual.as_str()),
        ("client", "server")
    );
}

#[test]
fn an_out_of_window_rst_is_not_acted_on() {
    let (s, mut run) = fixture(20_125_000);
    run.pkts[5].seq = 5000; // one before the client's rcv_nxt, in ESTABLISHED
    let (_, v) = convert(&s, &run);
    assert!(!v.resets[0].accepted);
    assert_eq!(
        *v.connections[0].endpoints[0].states.last().unwrap(),
        State::Established
    );
}

/// A poll names each of its sockets by its own descriptor, and a call on a
/// name without one prints `-` (not 4294967295).
#[test]
fn each_socket_of_a_call_keeps_its_own_descriptor() {
    let text = r#"
[hosts.client]
personality = "linux"
[hosts.server]
personality = "linux"
[script]
steps = [
  "0    server listen l 80",
  "1ms  client connect c server:80",
  "5ms  server accept l as s",
  "10ms server poll l,s POLLIN timeout=1ms",
  "20ms server close s = 0",
  "-    server close s",
]
"#;
    let s = load(text);
    let sv = s.spec.steps[0].proc;
    let mut recs = Vec::new();
    step(&mut recs, (sv, 3), &[(6, true, (0, 1), Res::Ok(0))]);
    if let Some(Rec::Call { fds, .. }) = recs.first_mut() {
        *fds = vec![6, 7];
    }
    step(&mut recs, (sv, 4), &[(7, true, (2, 3), Res::Ok(0))]);
    step(
        &mut recs,
        (sv, 5),
        &[(-1, false, (4, 5), Res::Err("EBADF".into()))],
    );
    let calls = calls(&s.spec, &recs);
    let text: Vec<String> = calls
        .iter()
        .map(|c| sim::report::call_text(&c.call, &s.spec))
        .collect();
    assert_eq!(text, ["poll(6,7, POLLIN, 1)", "close(7)", "close(-)"]);
}

/// A run in which a step started more than the blocking threshold after it
/// was due, or after another process's step due later, or whose poll
/// returned long after its timeout, names that step; a few ms late does not.
#[test]
fn a_disturbed_run_is_found() {
    let (s, _) = fixture(20_125_000);
    let start = |proc, step, t, due| Rec::Start { proc, step, t, due };
    let ms = 1_000_000;
    let on_time = [start(1, 0, 0, 0), start(0, 2, 23 * ms, 20 * ms)];
    assert_eq!(disturbed(&s.spec, 1.0, &on_time), None);
    let late = [start(1, 0, 0, 0), start(0, 2, 33 * ms, 20 * ms)];
    assert_eq!(disturbed(&s.spec, 1.0, &late), Some((0, 2, 13 * ms)));
    // The client's step due at 20 ms starts at 26 ms, after the server's
    // close, due and started at 25 ms: 6 ms late, and out of order.
    let overtaken = [start(0, 2, 26 * ms, 20 * ms), start(1, 4, 25 * ms, 25 * ms)];
    assert_eq!(disturbed(&s.spec, 1.0, &overtaken), Some((0, 2, 6 * ms)));
}

/// A poll with a timeout that returned more than the threshold after it.
#[test]
fn a_poll_woken_late_after_its_timeout_is_found() {
    let text = r#"
[hosts.client]
personality = "linux"
[script]
steps = ["0 client socket c", "1ms client poll c POLLIN timeout=100ms"]
"#;
    let s = load(text);
    let done = |t| Rec::Done {
        proc: 0,
        step: 1,
        t0: 1_000_000,
        t,
        res: Res::Ok(0),
        read: 0,
    };
    assert_eq!(disturbed(&s.spec, 1.0, &[done(106_000_000)]), None);
    assert_eq!(
        disturbed(&s.spec, 1.0, &[done(113_000_000)]),
        Some((0, 1, 12_000_000))
    );
}
