//! Capture files (`run --pcap`, `compare --pcap-dir`, the capture beside a
//! fuzz counterexample, `real --pcap`) read by Wireshark's own dissectors:
//! `tshark` (Debian package `tshark`) with IP and TCP checksum validation on
//! reads each file, and every frame is checked against the JSON report of
//! the same run, segment for segment: time, addresses, flags, relative
//! sequence and acknowledgment numbers, length and window; no malformed
//! packet, no checksum error, no expert error; Wireshark's expert info
//! (`tshark -z expert`) flags every RST the verdict names and every zero
//! window the trace has, and "Follow TCP Stream" gives each direction's
//! bytes in order. Files are byte-identical from process to process, and an
//! unwritable path is exit 2 with the path in the message.
//!
//! In CI (`CI=true`) a missing tshark fails these tests; elsewhere they
//! print why they skip.

mod common;

use common::{json, kernel_skip_reason, succeeds, tcpsim};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Corpus scenarios whose captures are checked: a close with unread data
/// (RST, then a reset for no connection), a lost FIN, zero windows, a lost
/// RST, an abortive close, random loss, sequence numbers that wrap, a port
/// reused after TIME-WAIT, the rsync data loss, a SYN refused (a direction
/// with no handshake of its own). (All of scenarios/ pass; these keep the
/// suite fast.)
const SCENARIOS: &[&str] = &[
    "close-with-unread",
    "connect-refused",
    "fin-lost",
    "zero-window-slow-reader",
    "rst-lost",
    "linger-zero-abort",
    "lossy-graceful-close",
    "seq-wrap",
    "time-wait-reconnect",
    "rsync-cygwin-exit",
    "learned-close-then-peer-data",
];

/// tshark's fields for one frame, in this order (`-e` each).
const FIELDS: &[&str] = &[
    "frame.time_epoch",
    "ip.src",
    "tcp.srcport",
    "ip.dst",
    "tcp.dstport",
    "tcp.flags",
    "tcp.seq",
    "tcp.ack",
    "tcp.len",
    "tcp.window_size_value",
    "tcp.window_size",
    "tcp.window_size_scalefactor",
    "ip.checksum.status",
    "tcp.checksum.status",
    "_ws.malformed",
    "_ws.expert.message",
    "_ws.expert.severity",
    "frame.comment",
];

/// Wireshark's expert severities (epan/proto.h PI_WARN, PI_ERROR).
const PI_ERROR: u64 = 0x0080_0000;
/// `*.checksum.status` when the checksum was checked and is right.
const CHECKSUM_GOOD: &str = "1";
/// Expert messages (epan/dissectors/packet-tcp.c).
const EXPERT_RST: &str = "Connection reset (RST)";
const EXPERT_ZERO_WINDOW: &str = "TCP Zero Window segment";

const SYN: u64 = 0x02;
const FIN: u64 = 0x01;
const RST: u64 = 0x04;
const ACK: u64 = 0x10;

fn scenario(name: &str) -> String {
    format!("scenarios/{name}.toml")
}

/// tshark on PATH; `None` (saying why) when there is none outside CI.
fn tshark() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let exe = std::env::split_paths(&path)
        .map(|d| d.join("tshark"))
        .find(|p| p.is_file());
    match exe {
        Some(exe) => Some(exe),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but no tshark on PATH: .ci/run installs the Debian package")
        }
        None => {
            eprintln!("skipped: no tshark on PATH (Debian: apt-get install tshark)");
            None
        }
    }
}

/// Runs tshark on `file` with checksum validation on (off by default) and
/// `args`; its stdout.
fn run_tshark(exe: &Path, file: &Path, args: &[&str]) -> String {
    let out = Command::new(exe)
        .arg("-r")
        .arg(file)
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tshark on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One frame as tshark dissected it: each of [`FIELDS`] by name, several
/// occurrences joined by `;`.
type Frame = BTreeMap<&'static str, String>;

/// Every frame of `file`, and tshark's `-z expert` summary printed after them.
fn dissect(exe: &Path, file: &Path) -> (Vec<Frame>, String) {
    let mut args = vec!["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"];
    args.extend(["-E", "aggregator=;", "-z", "expert"]);
    for f in FIELDS {
        args.extend(["-e", f]);
    }
    let out = run_tshark(exe, file, &args);
    let mut frames = Vec::new();
    let mut lines = out.lines();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let values = line.split('|').map(str::to_string);
        frames.push(FIELDS.iter().copied().zip(values).collect());
    }
    (frames, lines.collect::<Vec<_>>().join("\n"))
}

/// `tcpsim ARGS`, which must succeed (exit 0 or 1: expectations may fail).
fn ok(args: &[&str]) -> Output {
    succeeds(tcpsim().args(args))
}

/// The segments a report's trace sent, in order.
fn sent(report: &Value) -> Vec<&Value> {
    let trace = report["trace"].as_array().unwrap();
    trace
        .iter()
        .filter(|e| e["kind"] == "send")
        .map(|e| &e["seg"])
        .collect()
}

/// Host `h`'s address in a simulator's capture (pcap/src/trace.rs).
fn host_ip(h: &Value) -> String {
    format!("10.77.0.{}", h.as_u64().unwrap() + 1)
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// "1.000050000" as ns.
fn epoch_ns(s: &str) -> u64 {
    let (secs, frac) = s.split_once('.').unwrap();
    secs.parse::<u64>().unwrap() * 1_000_000_000 + format!("{frac:0<9}").parse::<u64>().unwrap()
}

/// Each direction's ISN as Wireshark numbers it: from the latest SYN.
#[derive(Default)]
struct Isns(BTreeMap<(String, String), u64>);

impl Isns {
    fn key(seg: &Value, reverse: bool) -> (String, String) {
        let end = |e: &Value| format!("{}:{}", num(&e["host"]), num(&e["port"]));
        let (a, b) = (end(&seg["src"]), end(&seg["dst"]));
        if reverse {
            (b, a)
        } else {
            (a, b)
        }
    }

    /// Notes a SYN; the relative (seq, ack) of `seg` as Wireshark shows
    /// them. A direction seen first without its SYN counts from its first
    /// sequence number, or from one below the first number acknowledging it
    /// (epan/dissectors/packet-tcp.c, base_seq).
    fn relative(&mut self, seg: &Value) -> (u64, Option<u64>) {
        let flags = num(&seg["flags"]);
        let (fwd, rev) = (Self::key(seg, false), Self::key(seg, true));
        let (seq, ack) = (num(&seg["seq"]), num(&seg["ack"]));
        if flags & SYN != 0 {
            self.0.insert(fwd.clone(), seq);
        }
        let base_fwd = *self
            .0
            .entry(fwd)
            .or_insert(seq.wrapping_sub(1) & 0xffff_ffff);
        let rel = |base: u64, n: u64| n.wrapping_sub(base) & 0xffff_ffff;
        let ack = (flags & ACK != 0).then(|| {
            let base = *self
                .0
                .entry(rev)
                .or_insert(ack.wrapping_sub(1) & 0xffff_ffff);
            rel(base, ack)
        });
        (rel(base_fwd, seq), ack)
    }
}

/// The frame is the segment: time, ends, flags, numbers, length, window.
fn check_frame(name: &str, i: usize, f: &Frame, seg: &Value, t_ns: u64, isns: &mut Isns) {
    let at = format!("{name} frame {}", i + 1);
    let field = |k: &str| f[k].as_str();
    let int = |k: &str| -> u64 {
        let v = field(k);
        v.strip_prefix("0x")
            .map_or_else(|| v.parse(), |h| u64::from_str_radix(h, 16))
            .unwrap_or_else(|_| panic!("{at}: {k} = {v:?}"))
    };
    assert_eq!(epoch_ns(field("frame.time_epoch")), t_ns, "{at}: time");
    assert_eq!(field("ip.src"), host_ip(&seg["src"]["host"]), "{at}");
    assert_eq!(field("ip.dst"), host_ip(&seg["dst"]["host"]), "{at}");
    assert_eq!(int("tcp.srcport"), num(&seg["src"]["port"]), "{at}");
    assert_eq!(int("tcp.dstport"), num(&seg["dst"]["port"]), "{at}");
    let flags = num(&seg["flags"]);
    assert_eq!(int("tcp.flags"), flags, "{at}: flags");
    let (seq, ack) = isns.relative(seg);
    assert_eq!(int("tcp.seq"), seq, "{at}: relative seq");
    if let Some(ack) = ack {
        assert_eq!(int("tcp.ack"), ack, "{at}: relative ack");
    }
    assert_eq!(int("tcp.len"), num(&seg["len"]), "{at}: length");
    let wnd = num(&seg["wnd"]);
    if flags & SYN != 0 {
        assert_eq!(
            int("tcp.window_size_value"),
            wnd.min(65_535),
            "{at}: SYN window"
        );
    } else {
        // Scaled windows are rounded up to the next multiple of the scale factor.
        // Wireshark's factor is -1 without the handshake (the field as it is).
        let factor = field("tcp.window_size_scalefactor").parse::<i64>().unwrap();
        let (w, scale) = (int("tcp.window_size"), factor.max(1) as u64);
        assert!(
            w >= wnd && w < wnd + scale,
            "{at}: window {w} for {wnd} (×{scale})"
        );
        assert_eq!(
            w == 0,
            wnd == 0,
            "{at}: a zero window stays zero, no other becomes one"
        );
    }
}

/// Nothing malformed, both checksums checked and right, no expert error.
fn check_sound(name: &str, i: usize, f: &Frame) {
    let at = format!("{name} frame {}", i + 1);
    assert_eq!(f["ip.checksum.status"], CHECKSUM_GOOD, "{at}: IP checksum");
    assert_eq!(
        f["tcp.checksum.status"], CHECKSUM_GOOD,
        "{at}: TCP checksum"
    );
    assert_eq!(f["_ws.malformed"], "", "{at}: malformed");
    for sev in f["_ws.expert.severity"]
        .split(';')
        .filter(|s| !s.is_empty())
    {
        let sev: u64 = sev.parse().unwrap();
        assert!(
            sev < PI_ERROR,
            "{at}: expert error: {}",
            f["_ws.expert.message"]
        );
    }
}

fn has_expert(f: &Frame, message: &str) -> bool {
    f["_ws.expert.message"].split(';').any(|m| m == message)
}

/// How often `-z expert`'s summary lists `message` (0 when absent).
fn expert_count(summary: &str, message: &str) -> usize {
    summary
        .lines()
        .find(|l| l.trim_end().ends_with(message))
        .map_or(0, |l| l.split_whitespace().next().unwrap().parse().unwrap())
}

/// Every RST the verdict names is a frame Wireshark flags as a reset (at
/// its time, from its sender); every RST frame is flagged, and so is every
/// zero window (a segment with window 0 that is not SYN, FIN or RST), and
/// no other.
fn check_expert(
    name: &str,
    frames: &[Frame],
    report: &Value,
    segs: &[(u64, &Value)],
    summary: &str,
) {
    let rst_frames: Vec<usize> = (0..segs.len())
        .filter(|&i| num(&segs[i].1["flags"]) & RST != 0)
        .collect();
    for &i in &rst_frames {
        assert!(
            has_expert(&frames[i], EXPERT_RST),
            "{name} frame {}: RST not flagged",
            i + 1
        );
    }
    assert_eq!(
        expert_count(summary, EXPERT_RST),
        rst_frames.len(),
        "{name}: -z expert RSTs\n{summary}"
    );
    for r in report["verdict"]["resets"].as_array().unwrap() {
        let found = rst_frames.iter().any(|&i| {
            let (t, seg) = segs[i];
            t == num(&r["t_ns"]) && seg["src"] == r["from"] && has_expert(&frames[i], EXPERT_RST)
        });
        assert!(found, "{name}: the verdict's RST {r} is no flagged frame");
    }
    let zero: Vec<bool> = segs
        .iter()
        .map(|(_, s)| num(&s["wnd"]) == 0 && num(&s["flags"]) & (SYN | FIN | RST) == 0)
        .collect();
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(
            has_expert(f, EXPERT_ZERO_WINDOW),
            zero[i],
            "{name} frame {}: zero window",
            i + 1
        );
    }
    let zeros = zero.iter().filter(|z| **z).count();
    assert_eq!(
        expert_count(summary, EXPERT_ZERO_WINDOW),
        zeros,
        "{name}: -z expert zero windows"
    );
}

/// `tcpsim run NAME --pcap` read back by tshark, against `--format json`.
fn check_scenario(exe: &Path, dir: &Path, name: &str) -> Value {
    let file = scenario(name);
    let pcap = dir.join(format!("{name}.pcap"));
    ok(&["run", &file, "--quiet", "--pcap", pcap.to_str().unwrap()]);
    let report = json(&["run", &file]);
    assert_eq!(
        report["trace_dropped"], 0,
        "{name}: the JSON report keeps the whole trace"
    );
    let trace = report["trace"].as_array().unwrap();
    // An injected segment is on the wire as a sent one (its frame says so in a comment).
    let segs: Vec<(u64, &Value)> = trace
        .iter()
        .filter(|e| e["kind"] == "send" || e["kind"] == "inject")
        .map(|e| (num(&e["t_ns"]), &e["seg"]))
        .collect();
    let (frames, summary) = dissect(exe, &pcap);
    assert_eq!(
        frames.len(),
        segs.len(),
        "{name}: one frame per segment sent"
    );
    let mut isns = Isns::default();
    for (i, (f, (t, seg))) in frames.iter().zip(&segs).enumerate() {
        check_sound(name, i, f);
        check_frame(name, i, f, seg, *t, &mut isns);
    }
    check_expert(name, &frames, &report, &segs, &summary);
    report
}

#[test]
fn wireshark_reads_each_segment_as_the_trace_has_it() {
    let Some(exe) = tshark() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut rsts = 0;
    let mut zero_windows = 0;
    for name in SCENARIOS {
        let report = check_scenario(&exe, dir.path(), name);
        rsts += report["verdict"]["resets"].as_array().unwrap().len();
        zero_windows += sent(&report).iter().filter(|s| s["wnd"] == 0).count();
    }
    // The list covers what it says it covers.
    assert!(
        rsts >= 4 && zero_windows >= 1,
        "{rsts} RSTs, {zero_windows} zero windows"
    );
}

/// The payload lines of pcap/src/wire.rs, written out anew: what
/// "Follow TCP Stream" must show for `n` octets of a stream.
fn pattern(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut at = 0;
    while out.len() < n {
        out.extend_from_slice(format!("tcpsim byte {at:019}\n").as_bytes());
        at += 32;
    }
    out.truncate(n);
    out
}

/// Follow TCP Stream (raw) of stream 0: each node's address (`ip:port`) and
/// the bytes it sent.
fn follow(exe: &Path, file: &Path) -> [(String, Vec<u8>); 2] {
    let out = run_tshark(exe, file, &["-q", "-z", "follow,tcp,raw,0"]);
    let node = |n: &str| {
        let line = out.lines().find_map(|l| l.strip_prefix(n)).unwrap();
        line.trim().to_string()
    };
    let mut sides = [
        (node("Node 0: "), Vec::new()),
        (node("Node 1: "), Vec::new()),
    ];
    let body = out.split_once("Node 1: ").unwrap().1;
    for line in body.lines().skip(1).filter(|l| !l.starts_with('=')) {
        let (side, hex) = line.strip_prefix('\t').map_or((0, line), |h| (1, h));
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        sides[side].1.extend(bytes);
    }
    sides
}

/// Octets a side put on the wire at least once: the furthest end of its
/// segments, relative to its ISN (the SYN at 0, data from 1).
fn octets_sent(report: &Value, from: &str) -> u64 {
    let mut isns = Isns::default();
    let mut end = 1;
    for seg in sent(report) {
        let (seq, _) = isns.relative(seg);
        let src = format!(
            "{}:{}",
            host_ip(&seg["src"]["host"]),
            num(&seg["src"]["port"])
        );
        if src == from && num(&seg["len"]) > 0 {
            end = end.max(seq + num(&seg["len"]));
        }
    }
    end - 1
}

#[test]
fn follow_tcp_stream_gives_each_direction_in_order_despite_retransmissions() {
    let Some(exe) = tshark() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Random loss: retransmitted data must read as the bytes first sent.
    for name in ["lossy-graceful-close", "close-with-unread"] {
        let pcap = dir.path().join(format!("{name}.pcap"));
        ok(&[
            "run",
            &scenario(name),
            "--quiet",
            "--pcap",
            pcap.to_str().unwrap(),
        ]);
        let report = json(&["run", &scenario(name)]);
        for (node, got) in follow(&exe, &pcap) {
            let n = octets_sent(&report, &node);
            assert!(n > 0, "{name}: {node} sent data");
            assert_eq!(got.len() as u64, n, "{name}: {node}'s stream length");
            assert!(
                got == pattern(got.len()),
                "{name}: {node}'s bytes are not the stream in order"
            );
        }
    }
}

#[test]
fn pcapng_notes_each_segment_the_network_dropped() {
    let Some(exe) = tshark() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fin-lost.pcapng");
    ok(&[
        "run",
        &scenario("fin-lost"),
        "--quiet",
        "--pcap",
        file.to_str().unwrap(),
    ]);
    let report = json(&["run", &scenario("fin-lost")]);
    let trace = report["trace"].as_array().unwrap();
    let dropped: Vec<bool> = trace
        .iter()
        .enumerate()
        .filter(|(_, e)| e["kind"] == "send")
        .map(|(i, e)| {
            trace
                .get(i + 1)
                .is_some_and(|n| n["kind"] == "drop" && n["seg"] == e["seg"])
        })
        .collect();
    assert!(dropped.iter().any(|d| *d), "fin-lost drops a segment");
    let (frames, _) = dissect(&exe, &file);
    assert_eq!(frames.len(), dropped.len());
    for (i, (f, d)) in frames.iter().zip(&dropped).enumerate() {
        check_sound("fin-lost.pcapng", i, f);
        let noted = f["frame.comment"].contains("dropped by the network");
        assert_eq!(noted, *d, "frame {}: {:?}", i + 1, f["frame.comment"]);
    }
}

/// `tcpsim run FILE --pcap PATH` in a process of its own: the file's bytes.
fn capture(file: &str, path: &Path) -> Vec<u8> {
    ok(&["run", file, "--quiet", "--pcap", path.to_str().unwrap()]);
    std::fs::read(path).unwrap()
}

#[test]
fn captures_are_byte_identical_from_process_to_process() {
    let dir = tempfile::tempdir().unwrap();
    for (name, ext) in [("lossy-graceful-close", "pcap"), ("fin-lost", "pcapng")] {
        let a = capture(&scenario(name), &dir.path().join(format!("a.{ext}")));
        let b = capture(&scenario(name), &dir.path().join(format!("b.{ext}")));
        assert!(a.len() > 24, "{name}: a capture with packets");
        assert!(a == b, "{name}.{ext} differs between two runs");
    }
    // Classic pcap, nanosecond timestamps, little-endian, Ethernet frames.
    let a = capture(&scenario("fin-lost"), &dir.path().join("c.pcap"));
    assert_eq!(a[..4], 0xa1b2_3c4du32.to_le_bytes());
    assert_eq!(a[20..24], 1u32.to_le_bytes());
}

#[test]
fn an_unwritable_capture_path_is_exit_2_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("x.pcap");
    let file = dir.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let cases: [Vec<&str>; 2] = [
        vec![
            "run",
            "scenarios/fin-lost.toml",
            "--pcap",
            missing.to_str().unwrap(),
        ],
        vec![
            "compare",
            "scenarios/fin-lost.toml",
            "--pcap-dir",
            file.to_str().unwrap(),
        ],
    ];
    for args in cases {
        let out = tcpsim().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let path = args.last().unwrap();
        assert!(
            err.starts_with("error: cannot ") && err.contains(path),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn compare_writes_one_capture_per_pair_named_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cells");
    let personalities = "linux,freebsd,windows";
    let file = scenario("close-with-unread");
    ok(&[
        "compare",
        &file,
        "--personalities",
        personalities,
        "--pcap-dir",
        out.to_str().unwrap(),
    ]);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut want = Vec::new();
    for a in personalities.split(',') {
        for b in personalities.split(',') {
            want.push(format!("client-{a}.server-{b}.pcap"));
        }
    }
    want.sort();
    assert_eq!(names, want);
    // Each cell's file is what `run` writes for that pair.
    let single = capture_with(
        &file,
        &["--client", "windows", "--server", "freebsd"],
        dir.path(),
    );
    let cell = std::fs::read(out.join("client-windows.server-freebsd.pcap")).unwrap();
    assert!(
        cell == single,
        "the compare cell differs from run --client windows --server freebsd"
    );
}

/// `tcpsim run FILE ARGS --pcap` into `dir`: the file's bytes.
fn capture_with(file: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let path = dir.join("single.pcap");
    let mut all = vec!["run", file, "--quiet", "--pcap", path.to_str().unwrap()];
    all.extend(args);
    ok(&all);
    std::fs::read(path).unwrap()
}

#[test]
fn a_fuzz_counterexample_has_its_capture_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = tcpsim()
        .args(["fuzz", "--property", "no-reset", "--personalities", "linux"])
        .args(["--cases", "500", "--seed", "3", "--quiet", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let toml = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "toml"))
        .expect("a counterexample");
    let beside = toml.with_extension("pcap");
    assert!(
        stdout.contains(&format!("capture for Wireshark: {}", beside.display())),
        "{stdout}"
    );
    // The capture is the counterexample's run, as `tcpsim run` replays it.
    let replayed = capture_with(toml.to_str().unwrap(), &[], dir.path());
    assert!(std::fs::read(&beside).unwrap() == replayed);
}

/// The kernel's own segments go through the same writer: Wireshark reads
/// every one as the kernel run's trace has it, checksums right, its RST flagged.
#[test]
fn the_kernel_run_capture_reads_as_its_trace() {
    let Some(exe) = tshark() else { return };
    if let Some(why) = kernel_skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("kernel.pcap");
    let file = scenario("close-with-unread");
    let out = ok(&[
        "real",
        &file,
        "--format",
        "json",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let segs = sent(&report);
    let (frames, summary) = dissect(&exe, &pcap);
    assert_eq!(
        frames.len(),
        segs.len(),
        "one frame per segment the kernel sent"
    );
    let mut isns = Isns::default();
    for (i, (f, seg)) in frames.iter().zip(&segs).enumerate() {
        check_sound("kernel", i, f);
        let (seq, _) = isns.relative(seg);
        assert_eq!(f["tcp.seq"], seq.to_string(), "kernel frame {}", i + 1);
        assert_eq!(
            f["tcp.len"],
            seg["len"].to_string(),
            "kernel frame {}",
            i + 1
        );
        assert_eq!(
            u64::from_str_radix(&f["tcp.flags"][2..], 16).unwrap(),
            num(&seg["flags"])
        );
    }
    let rsts = segs.iter().filter(|s| num(&s["flags"]) & RST != 0).count();
    assert!(rsts >= 1, "the kernel resets on close with unread data");
    assert_eq!(expert_count(&summary, EXPERT_RST), rsts, "{summary}");
}
