//! The Linux and FreeBSD packetdrill suites as conformance tests: every
//! script under tests/packetdrill/linux runs against `linux`, every one under
//! tests/packetdrill/freebsd against `freebsd` (origins in
//! tests/packetdrill/ORIGIN.md).
//!
//! Each script's outcome is compared with tests/packetdrill/expected.txt:
//! one line per script, `PATH VERDICT [LINE REASON]`, where an unsupported
//! script gives its first unsupported line and the reason, and a failing one
//! the line of its mismatch; an unsupported one also says what the rest of
//! the script did with the unsupported lines skipped (`then: pass`, or the
//! mismatch), which is not counted but pinned, so a change in it is seen. A failure must also match a diagnosis in
//! [`DIAGNOSES`], each with its source. A script that does better than its
//! line (passes where it failed or was unsupported) fails the test until the
//! table is updated, so the counts can only improve.
//! `TCPSIM_BLESS=1 cargo test --release --test packetdrill` rewrites the table.

mod common;

use std::path::{Path, PathBuf};
use tcpsim::packetdrill::{self, report};

/// Why a script fails against its personality: (script, message fragment, diagnosis and source).
/// (None fails since the knob `tail_loss_probe` made
/// linux/tcp/shutdown/shutdown-rdwr-write-queue-close.pkt pass.)
const DIAGNOSES: &[(&str, &str, &str)] = &[];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/packetdrill")
}

/// One script's line of the table, and its failure message if it failed.
fn outcome_line(rel: &str, personality: &str) -> (String, Option<String>) {
    let p = model::Personality::builtin(personality).expect("built-in");
    let path = root().join(rel);
    let script = tcpsim::cli::packetdrill::load(&path, &packetdrill::defines(personality))
        .unwrap_or_else(|d| panic!("{rel} does not parse:\n{}", d.render(false)));
    let out = packetdrill::run(&script, &p, None);
    let verdict = out.verdict();
    let line = match verdict {
        "unsupported" => {
            // What the rest of the script did with the unsupported lines skipped.
            let then = match &out.failure {
                Some(f) => format!("{} {}", f.line, f.message),
                None => "pass".into(),
            };
            let u = &out.unsupported[0];
            format!("{rel} unsupported {} {} | then: {then}", u.line, u.reason)
        }
        "fail" => {
            let f = out.failure.as_ref().expect("a failure");
            format!("{rel} fail {} {}", f.line, f.message)
        }
        _ => format!("{rel} pass"),
    };
    let failure = (verdict == "fail").then(|| report::render(rel, &out));
    (line, failure)
}

#[test]
fn suites_match_their_expected_outcomes() {
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for (suite, personality) in [("linux", "linux"), ("freebsd", "freebsd")] {
        let mut all = Vec::new();
        common::pkt_files(&root().join(suite), &mut all);
        let (mut pass, mut fail, mut unsupported) = (0, 0, 0);
        for path in &all {
            let rel = path
                .strip_prefix(root())
                .expect("under root")
                .display()
                .to_string();
            let (line, failure) = outcome_line(&rel, personality);
            match line.split(' ').nth(1) {
                Some("pass") => pass += 1,
                Some("fail") => fail += 1,
                _ => unsupported += 1,
            }
            if let Some(f) = failure {
                failures.push((rel.clone(), f));
            }
            lines.push(line);
        }
        println!(
            "{suite} vs {personality}: {pass} passed, {fail} failed, {unsupported} unsupported"
        );
        assert!(all.len() >= 10, "the {suite} suite has its scripts");
    }
    for (rel, message) in &failures {
        let known = DIAGNOSES
            .iter()
            .find(|(s, m, _)| s == rel && message.contains(m));
        assert!(
            known.is_some(),
            "{rel} fails without a diagnosis:\n{message}"
        );
    }
    let table = lines.join("\n") + "\n";
    let file = root().join("expected.txt");
    if std::env::var_os("TCPSIM_BLESS").is_some() {
        std::fs::write(&file, &table).expect("write expected.txt");
        return;
    }
    let expected = std::fs::read_to_string(&file).expect("tests/packetdrill/expected.txt");
    for (want, got) in expected.lines().zip(table.lines()) {
        assert_eq!(
            got, want,
            "a script's outcome changed: update expected.txt (TCPSIM_BLESS=1) if it improved"
        );
    }
    assert_eq!(
        expected.lines().count(),
        table.lines().count(),
        "scripts added or removed: bless expected.txt"
    );
}

#[test]
fn a_failing_script_says_what_packetdrill_would() {
    // close() is expected to send FIN but a linger {1, 0} makes it send RST.
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                +0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n\
                +0 < S 0:0(0) win 32792 <mss 1000>\n+0 > S. 0:0(0) ack 1 <mss 1460>\n\
                +0 < . 1:1(0) ack 1 win 257\n+0 accept(3, ..., ...) = 4\n\
                +0 setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0\n\
                +0 close(4) = 0\n+0 > F. 1:1(0) ack 1\n";
    let script = packetdrill::parse(text, &[]).expect("parses");
    let linux = model::Personality::builtin("linux").expect("linux");
    let out = packetdrill::run(&script, &linux, None);
    let f = out.failure.expect("a mismatch");
    assert_eq!(f.line, 10);
    assert_eq!(
        f.message,
        "error handling packet: live packet field tcp_fin: expected: 1 (0x1) vs actual: 0 (0x0)"
    );
    // Without the linger the same script passes.
    let text = text.replace(
        "+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0\n",
        "",
    );
    let out = packetdrill::run(
        &packetdrill::parse(&text, &[]).expect("parses"),
        &linux,
        None,
    );
    assert_eq!(out.verdict(), "pass", "{out:?}");
}

#[test]
fn timing_is_checked_with_the_tolerance() {
    // The FIN goes out at close(), 0.1 s; the script expects it at 0.3 s.
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n\
                +0 listen(3, 1) = 0\n+0 < S 0:0(0) win 32792 <mss 1000>\n\
                +0 > S. 0:0(0) ack 1 <mss 1460>\n+0 < . 1:1(0) ack 1 win 257\n\
                +0 accept(3, ..., ...) = 4\n0.1 close(4) = 0\n0.3 > F. 1:1(0) ack 1\n";
    let linux = model::Personality::builtin("linux").expect("linux");
    let script = packetdrill::parse(text, &[]).expect("parses");
    let f = packetdrill::run(&script, &linux, None)
        .failure
        .expect("late");
    assert_eq!(
        f.message,
        "timing error: expected outbound packet at 0.300000 sec but happened at 0.100000 sec; tolerance 0.004000 sec"
    );
    // A tolerance of 0.25 s lets it through.
    assert_eq!(
        packetdrill::run(&script, &linux, Some(250_000)).verdict(),
        "pass"
    );
}

#[test]
fn unsupported_lines_are_neither_pass_nor_fail() {
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                +0 getsockopt(3, IPPROTO_TCP, TCP_KEEPIDLE, [7200], [4]) = 0\n+0 close(3) = 0\n";
    let linux = model::Personality::builtin("linux").expect("linux");
    let out = packetdrill::run(
        &packetdrill::parse(text, &[]).expect("parses"),
        &linux,
        None,
    );
    assert_eq!(out.verdict(), "unsupported");
    assert_eq!(out.unsupported[0].line, 2);
    assert!(out.unsupported[0].reason.contains("getsockopt"));
}

#[test]
fn so_error_is_read_with_getsockopt_and_compared_by_name() {
    // The peer resets an established connection: SO_ERROR holds ECONNRESET,
    // which the platform numbers (Linux 104, FreeBSD 54, sys/sys/errno.h).
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                +0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n\
                +0 < S 0:0(0) win 32792 <mss 1000>\n+0 > S. 0:0(0) ack 1 <...>\n\
                +0 < . 1:1(0) ack 1 win 257\n+0 accept(3, ..., ...) = 4\n\
                +0 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n\
                +0.1 < R 1:1(0) win 257\n\
                +0 getsockopt(4, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0\n\
                +0 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n";
    for (name, number) in [("linux", 104), ("freebsd", 54)] {
        let p = model::Personality::builtin(name).expect("built-in");
        let script = packetdrill::parse(text, &[]).expect("parses");
        let out = packetdrill::run(&script, &p, None);
        assert_eq!(out.verdict(), "pass", "{name}: {out:?}");
        // Expecting no error where there is one fails with the platform's number.
        let wrong = text.replace("[ECONNRESET]", "[0]");
        let out = packetdrill::run(&packetdrill::parse(&wrong, &[]).expect("parses"), &p, None);
        let f = out.failure.expect("a mismatch");
        assert_eq!(f.line, 10, "{name}");
        assert_eq!(
            f.message,
            format!("runtime error in getsockopt call: Bad getsockopt optval: expected: 0 actual: {number}")
        );
    }
}

#[test]
fn fionread_counts_the_unread_bytes() {
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                +0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n\
                +0 < S 0:0(0) win 32792 <mss 1000>\n+0 > S. 0:0(0) ack 1 <...>\n\
                +0 < . 1:1(0) ack 1 win 257\n+0 accept(3, ..., ...) = 4\n\
                +0 < P. 1:11(10) ack 1 win 257\n+0 ioctl(4, FIONREAD, [10]) = 0\n";
    let linux = model::Personality::builtin("linux").expect("linux");
    let run =
        |t: &str| packetdrill::run(&packetdrill::parse(t, &[]).expect("parses"), &linux, None);
    assert_eq!(run(text).verdict(), "pass");
    let f = run(&text.replace("[10]", "[5]"))
        .failure
        .expect("a mismatch");
    assert_eq!(
        f.message,
        "runtime error in ioctl call: Bad ioctl optval: expected: 5 actual: 10"
    );
}

#[test]
fn the_command_exits_as_documented() {
    let tcpsim = env!("CARGO_BIN_EXE_tcpsim");
    let run = |args: &[&str]| {
        std::process::Command::new(tcpsim)
            .args(args)
            .output()
            .expect("runs")
    };
    let pass = root().join("linux/tcp/close/close-remote-fin-then-close.pkt");
    let out = run(&[
        "packetdrill",
        pass.to_str().expect("utf-8"),
        "--personality",
        "linux",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": pass\n"));
    // A Linux script that needs the tail loss probe: it passes under linux
    // and fails, exit 1, under freebsd, whose default stack has none.
    let fail = root().join("linux/tcp/shutdown/shutdown-rdwr-write-queue-close.pkt");
    let out = run(&["packetdrill", fail.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&[
        "packetdrill",
        fail.to_str().expect("utf-8"),
        "--personality",
        "freebsd",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains(":36: error handling packet: Timed out waiting for packet"));
    let unsupported = root().join("linux/tcp/fastopen/server/listener-closed-trigger-rst.pkt");
    let out = run(&["packetdrill", unsupported.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains(":11: unsupported: TCP option `FOEXP TFO_COOKIE`"));
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.pkt");
    std::fs::write(
        &bad,
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < Q 0:0(0) win 1\n",
    )
    .expect("write");
    let out = run(&["packetdrill", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[packetdrill]"), "{err}");
    assert!(err.contains("bad.pkt:2:6"), "{err}");
    assert!(err.contains("TCP flags"), "{err}");
    let out = run(&[
        "packetdrill",
        pass.to_str().expect("utf-8"),
        "--personality",
        "nosuch",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_script_gives_the_same_outcome_every_time() {
    // No clock, no randomness: the same script and personality, the same text.
    for rel in [
        "linux/tcp/shutdown/shutdown-rdwr-write-queue-close.pkt",
        "freebsd/state-event-engine/rcv-rst-closing/rcv-rst-closing-left-edge-secure-ipv4.pkt",
    ] {
        let personality = rel.split('/').next().expect("suite");
        let first = outcome_line(rel, personality);
        assert_eq!(first, outcome_line(rel, personality), "{rel}");
    }
}

#[test]
fn so_rcvbuf_reads_the_buffer_freebsd_rounds_to_the_mss() {
    // FreeBSD tcp_mss(): 65536 before the handshake, 45 × 1460 after.
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                +0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0\n\
                +0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0\n\
                +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
                +0 > S 0:0(0) win 65535 <...>\n\
                +0.1 < S. 0:0(0) ack 1 win 32767 <mss 1460>\n\
                +0 > . 1:1(0) ack 1 win 65535\n\
                +0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65700], [4]) = 0\n\
                +0 getsockopt(3, SOL_SOCKET, SO_SNDBUF, [33580], [4]) = 0\n";
    let freebsd = model::Personality::builtin("freebsd").expect("freebsd");
    let run =
        |t: &str| packetdrill::run(&packetdrill::parse(t, &[]).expect("parses"), &freebsd, None);
    assert_eq!(run(text).verdict(), "pass", "{:?}", run(text));
    let f = run(&text.replace("[65700]", "[65536]"))
        .failure
        .expect("a mismatch");
    assert_eq!(
        f.message,
        "runtime error in getsockopt call: Bad getsockopt optval: expected: 65536 actual: 65700"
    );
}

#[test]
fn sockstat_and_tcpi_state_read_the_host() {
    let text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n\
                +0 listen(3, 1) = 0\n+0 %{ assert tcpi_state == TCPI_LISTEN }%\n\
                +0 < S 0:0(0) win 32792 <mss 1000>\n+0 > S. 0:0(0) ack 1 <...>\n\
                +0 `sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 1`\n\
                +0 < . 1:1(0) ack 1 win 257\n\
                +0 `sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 0`\n\
                +0 accept(3, ..., ...) = 4\n+0 %{ assert tcpi_state == TCPI_ESTABLISHED }%\n";
    let freebsd = model::Personality::builtin("freebsd").expect("freebsd");
    let run =
        |t: &str| packetdrill::run(&packetdrill::parse(t, &[]).expect("parses"), &freebsd, None);
    assert_eq!(run(text).verdict(), "pass", "{:?}", run(text));
    let f = run(&text.replace("SYN_RCVD | grep 1", "SYN_RCVD | grep 2"))
        .failure
        .expect("a mismatch");
    assert_eq!(f.line, 7);
    assert!(
        f.message.contains("command: non-zero status 1"),
        "{}",
        f.message
    );
    let f = run(&text.replace("TCPI_ESTABLISHED", "TCPI_CLOSE_WAIT"))
        .failure
        .expect("a mismatch");
    assert_eq!(f.line, 11);
    assert!(
        f.message.contains("the state is TCPI_ESTABLISHED"),
        "{}",
        f.message
    );
}

#[test]
fn nagle_nodelay_and_msg_more_decide_when_a_short_write_goes() {
    // Nagle: the second short write waits for the first's ACK; with
    // TCP_NODELAY it goes at once; MSG_MORE holds a write until the next.
    // Each script (with SO_REUSEADDR on the listener, which the runner
    // answers without the model) passes on Linux 6.18 under the packetdrill
    // binary, and the `[0]` variant fails there at the same line.
    let head = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                +0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n\
                +0 < S 0:0(0) win 32792 <mss 1000>\n+0 > S. 0:0(0) ack 1 <...>\n\
                +0 < . 1:1(0) ack 1 win 257\n+0 accept(3, ..., ...) = 4\n";
    let nagle = "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n\
                 +0 write(4, ..., 100) = 100\n+0.01 < . 1:1(0) ack 101 win 257\n\
                 +0 > P. 101:201(100) ack 1\n";
    let nodelay = "+0 setsockopt(4, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0\n\
                   +0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n\
                   +0 write(4, ..., 100) = 100\n+0 > P. 101:201(100) ack 1\n";
    let more = "+0 send(4, ..., 100, MSG_MORE) = 100\n+0.01 write(4, ..., 100) = 100\n\
                +0 > P. 1:201(200) ack 1\n";
    let linux = model::Personality::builtin("linux").expect("linux");
    let run = |body: &str| {
        let text = format!("{head}{body}");
        packetdrill::run(
            &packetdrill::parse(&text, &[]).expect("parses"),
            &linux,
            None,
        )
    };
    for body in [nagle, nodelay, more] {
        let out = run(body);
        assert_eq!(out.verdict(), "pass", "{body}: {out:?}");
    }
    // Without TCP_NODELAY the second write does not go at once.
    let held = nodelay.replace("[1]", "[0]");
    assert_eq!(run(&held).verdict(), "fail");
}
