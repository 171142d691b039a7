//! `tcpsim packetdrill SCRIPT --to-scenario --peer tcp`: the script's remote
//! peer as a second TCP host. Hand-picked scripts of both suites convert
//! and the written file passes `tcpsim run`; a script whose peer does what
//! no TCP does is refused at its line (by the derivation's rules, or by the
//! run of the file: what a TCP peer sent instead); the corpus-wide count of
//! scripts that convert is pinned as a floor per suite, each converted file
//! passing `tcpsim run`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tcpsim");

/// Scripts of each suite that convert with `--peer tcp` (peer personality:
/// the tested one) and whose file passes `tcpsim run`; fewer is a regression.
const CONVERTED_LINUX: usize = 2;
const CONVERTED_FREEBSD: usize = 7;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/packetdrill")
}

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("peer-tcp");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn personality_of(script: &Path) -> &'static str {
    match script.to_string_lossy().contains("/freebsd/") {
        true => "freebsd",
        false => "linux",
    }
}

fn convert(script: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(["packetdrill", "--to-scenario", "--peer", "tcp"])
        .args(["--personality", personality_of(script)])
        .args(extra)
        .arg(script)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Converts; `Ok(exit code of tcpsim run FILE)`, or `Err(stderr)` when refused (exit 2).
fn converted_run(script: &Path, extra: &[&str], name: &str) -> Result<i32, String> {
    let out = convert(script, extra);
    if out.status.code() != Some(0) {
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "a refused script writes no file");
        return Err(text(&out.stderr));
    }
    let file = dir().join(format!("{name}.toml"));
    std::fs::write(&file, &out.stdout).unwrap();
    let run = Command::new(BIN).arg("run").arg(&file).output().unwrap();
    Ok(run.status.code().unwrap())
}

#[test]
fn hand_picked_scripts_convert_and_pass() {
    for (script, extra) in [
        ("linux/tcp/shutdown/shutdown-wr-close.pkt", &[][..]),
        ("linux/tcp/shutdown/shutdown-rdwr-close.pkt", &[]),
        // A macOS peer ACKs our data and FIN at once, as the script's does.
        (
            "linux/tcp/close/close-local-close-then-remote-fin.pkt",
            &["--peer-personality", "macos"],
        ),
        ("freebsd/snippets/fin-wait-2-ipv4.pkt", &[]),
        ("freebsd/snippets/time-wait-via-fin-wait-2-ipv4.pkt", &[]),
        ("freebsd/snippets/syn-rcvd-via-listen-ipv4.pkt", &[]),
    ] {
        let name = script.replace('/', "-");
        let got = converted_run(&corpus().join(script), extra, &name);
        assert_eq!(got, Ok(0), "{script} {extra:?}");
    }
}

#[test]
fn the_file_has_a_tcp_peer_its_calls_and_the_scripts_delay() {
    let script = corpus().join("freebsd/snippets/time-wait-via-fin-wait-2-ipv4.pkt");
    let out = convert(&script, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = text(&out.stdout);
    for want in [
        "[hosts.peer]\n",
        "personality = \"freebsd\"\n",
        "\"0 peer listen l 8080\"",
        "\"0 peer accept l as c\"",
        "peer close c\"",
        // The script's peer answers our SYN 100 ms later.
        "[network.links.\"tested->peer\"]\ndelay = \"100ms\"",
        "tested connect fd3 peer:8080 = EINPROGRESS",
    ] {
        assert!(file.contains(want), "no {want:?} in\n{file}");
    }
    assert!(
        !file.contains("inject") && !file.contains("expect "),
        "{file}"
    );
    // The raw form stays the default, and says so.
    let raw = Command::new(BIN)
        .args(["packetdrill", "--to-scenario", "--personality", "freebsd"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(text(&raw.stdout).contains("personality = \"raw\""));
}

/// A script whose peer does what no TCP does, the line named with the hint.
fn assert_refused(name: &str, script: &str, line: usize, why: &str, extra: &[&str]) {
    let file = dir().join(format!("{name}.pkt"));
    std::fs::write(&file, script).unwrap();
    let err = converted_run(&file, extra, name).expect_err(name);
    let at = format!("{}:{line}:", file.display());
    assert!(err.contains(&at), "{name}: not at line {line}:\n{err}");
    assert!(err.contains(why), "{name}: no {why:?} in\n{err}");
    assert!(err.contains("--peer raw"), "{name}: no hint:\n{err}");
}

fn shutdown_wr_close() -> String {
    std::fs::read_to_string(corpus().join("linux/tcp/shutdown/shutdown-wr-close.pkt")).unwrap()
}

/// The script's line `line` (1-based) replaced by `with`.
fn with_line(text: &str, line: usize, with: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines[line - 1] = with;
    lines.join("\n") + "\n"
}

#[test]
fn a_peer_no_tcp_would_be_is_refused_at_its_line() {
    let base = shutdown_wr_close();
    // Sanity: the unmutated script converts.
    assert_eq!(
        converted_run(
            &corpus().join("linux/tcp/shutdown/shutdown-wr-close.pkt"),
            &[],
            "base"
        ),
        Ok(0)
    );
    assert!(base
        .lines()
        .nth(23)
        .unwrap()
        .contains("< . 1:1001(1000) ack 2"));
    // Data after its own FIN (line 30 is the peer's FIN, at 1001).
    assert!(base.lines().nth(29).unwrap().contains("< F. 1001:1001(0)"));
    let after_fin = format!("{base} +0 < . 1001:1101(100) ack 2 win 257\n");
    let last = after_fin.lines().count();
    assert_refused("after-fin", &after_fin, last, "after its own FIN", &[]);
    // An out-of-window segment: bytes skipped.
    let gap = with_line(&base, 24, " +.01 < . 5001:6001(1000) ack 2 win 257");
    assert_refused("gap", &gap, 24, "skipping none", &[]);
    // A bare RST in ESTABLISHED at an odd sequence number.
    let rst = with_line(&base, 24, " +.01 < R 500:500(0) win 257");
    assert_refused(
        "odd-rst",
        &rst,
        24,
        "right of the next sequence number",
        &[],
    );
    // A second SYN after the handshake.
    let syn = with_line(&base, 24, " +.01 < S 7:7(0) win 257");
    assert_refused("late-syn", &syn, 24, "one SYN per connection", &[]);
}

#[test]
fn a_peer_whose_segments_a_tcp_would_not_send_is_refused_by_the_run() {
    // The script's peer ACKs our FIN at once; a Linux TCP delays that ACK
    // (`ack_pingpong`: tcp_fin() enters ping-pong mode) and sends it with its
    // own FIN, 10 ms later at the script's next `<` line.
    let script =
        std::fs::read_to_string(corpus().join("linux/tcp/shutdown/shutdown-rd-close.pkt")).unwrap();
    assert!(script
        .lines()
        .nth(27)
        .unwrap()
        .contains("< .  1:1(0) ack 1002"));
    assert_refused(
        "rd-close",
        &script,
        28,
        "a TCP peer (linux) sent `F. 1:1(0) ack 1002` at 0.040000",
        &[],
    );
    // A call result that differs with a TCP peer: the script's peer never
    // ACKs our FIN, so the state stays FIN-WAIT-1; a TCP peer's ACK moves it.
    let fw1 = corpus().join("freebsd/snippets/fin-wait-1-ipv4.pkt");
    let err = converted_run(&fw1, &[], "fin-wait-1").expect_err("fin-wait-1");
    assert!(
        err.contains("gives FIN-WAIT-2 where the script expects FIN-WAIT-1"),
        "{err}"
    );
    // At the line of that call (the `tcpi_state` assertion), past the
    // listening peer's first steps.
    let at = format!("{}:59:", fw1.display());
    assert!(err.contains(&at), "{err}");
    // The `>` lines are checked too: our ACK mutated (line 25) is refused
    // with what the tested host sent.
    let ours = with_line(&shutdown_wr_close(), 25, "   +0 > . 2:2(0) ack 1000");
    assert_refused(
        "our-ack",
        &ours,
        25,
        "the tested host sent `. 2:2(0) ack 1001`",
        &[],
    );
    // The same script converts with a peer that ACKs as the script's does.
    let ok = converted_run(
        &corpus().join("linux/tcp/shutdown/shutdown-rd-close.pkt"),
        &["--peer-personality", "macos"],
        "rd-close-macos",
    );
    assert_eq!(ok, Ok(0));
}

/// The peer half-closes first, then reads our response and our FIN.
const HALF_CLOSE: &str = "\
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
   +0 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
 +.01 < F. 1:1(0) ack 1 win 257
   +0 > . 1:1(0) ack 2
   +0 read(4, ..., 1000) = 0
 +.01 write(4, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 2
   +0 < . 2:2(0) ack 1001 win 257
 +.01 close(4) = 0
   +0 > F. 1001:1001(0) ack 2
   +0 < . 2:2(0) ack 1002 win 257
";

/// Converts `script` (written under `name`), which must convert and pass
/// `tcpsim run`; the written file.
fn converts(name: &str, script: &str, extra: &[&str]) -> String {
    let file = dir().join(format!("{name}.pkt"));
    std::fs::write(&file, script).unwrap();
    let out = convert(&file, extra);
    assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
    assert_eq!(converted_run(&file, extra, name), Ok(0), "{name}");
    text(&out.stdout)
}

#[test]
fn fin_rst_and_payload_lines_become_the_peers_calls() {
    let base = shutdown_wr_close();
    // Its FIN with payload: the write, held (`more`) so the FIN goes with
    // it, then close (we send no data after it).
    let data_fin = with_line(&base, 24, " +.01 < F. 1:101(100) ack 2 win 257");
    let data_fin = with_line(&data_fin, 25, "   +0 > . 2:2(0) ack 102");
    let data_fin = with_line(&data_fin, 26, "   +0 read(4, ..., 1000) = 100");
    let data_fin = with_line(&data_fin, 30, "");
    let data_fin = with_line(&data_fin, 31, "");
    let file = converts("data-fin", &data_fin, &[]);
    assert!(
        file.contains("peer write c 100 more\",\n  \"20000013ns peer close c\""),
        "{file}"
    );
    // An RST at its next sequence number: an abortive close.
    let abort = with_line(&base, 30, " +.01 < R. 1001:1001(0) ack 2 win 257");
    let abort = with_line(&abort, 31, "");
    let file = converts("abort", &abort, &[]);
    assert!(
        file.contains("peer linger c 0\",\n  \"40000017ns peer close c\""),
        "{file}"
    );
    // A FIN while we still send data after it: shutdown(SHUT_WR), and the
    // peer goes on reading.
    let file = converts("half-close", HALF_CLOSE, &[]);
    assert!(file.contains("peer shutdown c wr"), "{file}");
    assert!(!file.contains("peer close c"), "{file}");
    // A FreeBSD peer delays its ACK of our data (line 14): refused there.
    let hc = dir().join("half-close.pkt");
    let err = converted_run(
        &hc,
        &["--peer-personality", "freebsd"],
        "half-close-freebsd",
    )
    .expect_err("freebsd");
    assert!(err.contains(&format!("{}:14:", hc.display())), "{err}");
}

#[test]
fn peer_flags_need_to_scenario() {
    let out = Command::new(BIN)
        .args(["packetdrill", "--peer", "tcp"])
        .arg(corpus().join("linux/tcp/shutdown/shutdown-wr-close.pkt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--to-scenario"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn peer_personality_needs_peer_tcp() {
    let out = Command::new(BIN)
        .args([
            "packetdrill",
            "--to-scenario",
            "--peer-personality",
            "linux",
        ])
        .arg(corpus().join("linux/tcp/shutdown/shutdown-wr-close.pkt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--peer tcp"),
        "{}",
        text(&out.stderr)
    );
    let out = convert(
        &corpus().join("linux/tcp/shutdown/shutdown-wr-close.pkt"),
        &["--peer-personality", "nosuch"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// The refusal's reason, its first words (the rule, or what the run found).
fn reason(stderr: &str) -> String {
    let why = stderr
        .lines()
        .find_map(|l| l.split("cannot convert to a scenario: ").nth(1))
        .unwrap_or("?");
    if why.contains(", a TCP peer (") {
        // What differed: a field, the time, or nothing sent; and the line's flags.
        let flags = why
            .split('`')
            .nth(1)
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("?");
        let miss = [
            "timing error",
            "Timed out",
            "tcp_seq",
            "tcp_ack_seq",
            "tcp_fin",
            "tcp_syn",
            "tcp_rst",
            "tcp_ack",
            "payload",
        ]
        .into_iter()
        .find(|m| why.contains(m))
        .unwrap_or("?");
        return format!("a TCP peer sent other segments than a `< {flags}` line: {miss}");
    }
    if why.contains("the tested host sent") {
        return "the tested host sent other segments with a TCP peer".into();
    }
    if why.contains("the call gives") {
        return "a call result differs with a TCP peer".into();
    }
    why.split(": ").take(2).collect::<Vec<_>>().join(": ")
}

#[test]
fn corpus_count_per_suite() {
    let mut all = Vec::new();
    common::pkt_files(&corpus(), &mut all);
    assert!(all.len() > 280, "{} scripts", all.len());
    let mut converted: BTreeMap<&str, usize> = BTreeMap::new();
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut failing = Vec::new();
    for (i, script) in all.iter().enumerate() {
        match converted_run(script, &[], &format!("c{i}")) {
            Ok(0) => *converted.entry(personality_of(script)).or_default() += 1,
            Ok(code) => failing.push(format!("{}: run exit {code}", script.display())),
            Err(e) => *refused.entry(reason(&e)).or_default() += 1,
        }
    }
    println!("converted with --peer tcp: {converted:?}; refused: {refused:#?}");
    assert!(
        failing.is_empty(),
        "converted but failing tcpsim run: {failing:#?}"
    );
    let (linux, freebsd) = (
        converted.get("linux").copied().unwrap_or(0),
        converted.get("freebsd").copied().unwrap_or(0),
    );
    assert!(
        linux >= CONVERTED_LINUX,
        "linux: {linux} < {CONVERTED_LINUX}"
    );
    assert!(
        freebsd >= CONVERTED_FREEBSD,
        "freebsd: {freebsd} < {CONVERTED_FREEBSD}"
    );
    assert_eq!(
        (linux, freebsd),
        (CONVERTED_LINUX, CONVERTED_FREEBSD),
        "more convert: raise the floor"
    );
}
