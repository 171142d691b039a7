//! The `linux` personality against this host's kernel: every scenario of
//! scenarios/ whose hosts are all `linux` runs through `tcpsim real --compare`
//! (docs/real-kernel.md). Needs Linux, loopback sockets and root (the
//! capabilities `tcpsim real` names when it lacks them); elsewhere it prints
//! why it skipped. Without them, `tcpsim real` must refuse up front.
//!
//! A difference fails the test, except for the disagreements listed in
//! `KNOWN` (recorded with their diagnosis for the model's owner): those must
//! still differ, so the list is emptied as the model is fixed.

mod common;

use common::kernel_skip_reason as skip_reason;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// One kernel test at a time: two running at once (the test harness runs
/// tests on parallel threads) make each other's timing races go the other way.
static KERNEL: Mutex<()> = Mutex::new(());

fn kernel_turn() -> MutexGuard<'static, ()> {
    KERNEL.lock().unwrap_or_else(|e| e.into_inner())
}

/// What `tcpsim real --compare` notes when every run it made differed while
/// the host's scheduler disturbed it (a step late or out of order, a poll
/// woken long after its timeout; src/cli/real.rs, run_compared): no run
/// followed the script, so none tested the model.
const ALL_DISTURBED: &str = "kernel runs differed while the host's scheduler disturbed them";

/// Scenarios that take too long for the suite, and why.
const TOO_SLOW: &[(&str, &str)] = &[
    (
        "listen-queue-full",
        "waits 200 s for the SYN retransmissions to run out; the kernel's SYN timer cannot be scaled",
    ),
    (
        "time-wait-bind-in-use",
        "waits 61 s for TIME-WAIT to end; TCP_TIMEWAIT_LEN is fixed at 60 s, no sysctl scales it",
    ),
    (
        "zero-window-orphan-expires",
        "waits 10 min for the orphan's zero-window probes to give up; the backoff cannot be scaled",
    ),
];

/// Time scales other than `auto`, and why.
const SCALES: &[(&str, &str, &str)] = &[
    (
        "orphan-fin-wait-2-timeout",
        "0.1",
        "40 s of FIN-WAIT-2; tcp_fin_timeout (per namespace) is scaled with the script",
    ),
    (
        "http-close-at-once",
        "20",
        "its 50 µs delay must be emulated: left to loopback it is ~0, and the client's ACK reaches the server during its write() and opens the window before close",
    ),
    (
        "linger-zero-queued",
        "20",
        "its 50 µs delay must be emulated: left to loopback it is ~0, and the client's ACK reaches the server during its write() and opens the window before close",
    ),
];

/// Known disagreements between the simulator and the kernel (docs/real-kernel.md).
const KNOWN: &[(&str, &str)] = &[(
    "big-write-close-unread",
    "a count the kernel does not repeat: the write's blocking (≈ 41 ms, until the client's delayed ACK), the packets (7240, 7240, 10136, 4344, 14480, 2896, 30408, 30408, the probe's new 1448) and the RST agree, but the client reads 121912, 123960, 124136 or 127032 bytes in eight kernel runs (model 124984): the kernel's send buffer at 20 ms read 69120 in two runs and 92160 in one (tcp_sndbuf_expand at cwnd 15 or 20: whether SOCK_NOSPACE was already set when the first or the second ACK left the backlog, the writer's copy loop against the softirq), and with the same packets the client's window after the 14480-octet skb was 76 or 74 units of 1024 (the truesize of its receive queue). Host timing and memory, which no deterministic model repeats (docs/real-kernel.md)",
)];

/// Known disagreements of the corpus under `--profile lan` (MTU 1500, 1 ms
/// one way on the delay line), each with its diagnosis (docs/real-kernel.md).
/// An entry must differ in one of two runs (kernel timing is not
/// deterministic): one that agrees twice is reported, to be removed.
const KNOWN_LAN: &[(&str, &str)] = &[
    (
        "big-write-close-unread",
        "the receive window over a 2 ms RTT: the kernel's client takes 89808 bytes before it goes quiet, the model's 88328, one segment less: the fourth window is 76800 on the kernel, 75776 in the model (tcp_grow_window's room is the free space, which the kernel counts in the truesize of coalesced skbs, the model as one share of the buffer, rcv_wnd_pct); both send 20 quick ACKs and the write's blocking agrees",
    ),
    (
        "transfer-10m",
        "the writer's wake-up: with the lan profile's 1 Gbit/s rate and 130 µs wake-up latency the reader agrees (93.1 ms against 92.4-92.9) and the writer blocks 63.5 ms against 74.5-78.2. A writer asleep in sk_stream_wait_memory is woken by sk_stream_write_space only once __sk_stream_is_writeable holds (a third of the buffer free): with that rule (knob write_wake_min_wspace) the writer agrees (72.8 against 78.2), but write-timeout-slow-reader then differs on both profiles (the model's timed writer leaves room the kernel's buffer does not have: its growth and truesize), so Linux keeps it off. What is read agrees",
    ),
];

/// Scenarios of the lan pass whose one difference sits at the tolerance's
/// edge, so that a run may agree or differ: (name, the only compare item
/// that may differ, why). Either is accepted; a difference in any other
/// item fails the pass.
const LAN_AT_THE_EDGE: &[(&str, &str, &str)] = &[];

/// The corpus pass under the other profile must cover the whole corpus
/// within this: about 50 s of runs on a quiet host (69 scenarios, the known
/// ones run twice), several times that beside builds.
const PROFILE_PASS_SECS: f64 = 300.0;

/// Whether the lan pass leaves a scenario out: those that take minutes
/// (`TOO_SLOW`), and those whose time scale shrinks a kernel timer. A scale
/// above 1 emulates a delay below loopback's, which the lan profile replaces.
fn lan_pass_skips(name: &str) -> bool {
    TOO_SLOW.iter().any(|(n, _)| *n == name)
        || SCALES
            .iter()
            .any(|(n, scale, _)| *n == name && scale.parse::<f64>().is_ok_and(|x| x < 1.0))
}

/// What became of one scenario of the lan pass.
enum LanVerdict {
    Passed,
    /// No run followed its script (ALL_DISTURBED): not tested.
    Disturbed,
    Failed(String),
}

/// One scenario of the lan pass: a difference must happen twice, and a
/// `KNOWN_LAN` entry must differ in one of two runs. A scenario whose every
/// run differed while the host's scheduler disturbed it (`tcpsim real
/// --compare` runs such a run again, up to 3 runs) is run once more, then
/// counted as not tested, as the loopback pass does.
fn lan_verdict(f: &Path, name: &str) -> LanVerdict {
    let args = ["--profile", "lan", "--time-scale", "1"];
    let known = KNOWN_LAN.iter().any(|(n, _)| *n == name);
    let (mut code, mut out) = compare_with(f, &args);
    if code == 1 || (code == 0 && known) {
        (code, out) = compare_with(f, &args);
    }
    if code == 1 && !known && out.contains(ALL_DISTURBED) {
        (code, out) = compare_with(f, &args);
    }
    if let Some((_, item, _)) = LAN_AT_THE_EDGE.iter().find(|(n, _, _)| *n == name) {
        let diffs: Vec<&str> = out
            .lines()
            .filter(|l| l.trim_start().starts_with("DIFF"))
            .collect();
        return match code {
            0 => LanVerdict::Passed,
            1 if !diffs.is_empty() && diffs.iter().all(|l| l.contains(item)) => {
                println!(
                    "{name}: differs at the tolerance's edge only: {}",
                    diffs.join("; ")
                );
                LanVerdict::Passed
            }
            c => LanVerdict::Failed(format!(
                "{name} differs beyond `{item}` on lan ({c}):\n{out}"
            )),
        };
    }
    match (code, known) {
        (0, _) if out.contains("not reproducible") => println!("{name}: not reproducible"),
        (0, false) => println!("{name}: agrees"),
        (1, true) => println!("{name}: known difference"),
        (0, true) => {
            return LanVerdict::Failed(format!(
                "{name} agreed twice on lan: remove it from KNOWN_LAN"
            ))
        }
        (1, false) if out.contains(ALL_DISTURBED) => {
            println!("{name}: not tested, the host too busy:\n{out}");
            return LanVerdict::Disturbed;
        }
        (1, false) => return LanVerdict::Failed(format!("{name} differs on lan:\n{out}")),
        (c, _) => return LanVerdict::Failed(format!("{name}: tcpsim real exited {c}:\n{out}")),
    }
    LanVerdict::Passed
}

/// Every linux scenario under `--profile lan`: a difference (twice) must be
/// listed in `KNOWN_LAN`, and the pass must finish within `PROFILE_PASS_SECS`.
#[test]
fn linux_scenarios_agree_with_the_kernel_on_the_lan_profile() {
    let _turn = kernel_turn();
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let start = std::time::Instant::now();
    let (mut ran, mut disturbed, mut failures) = (0, 0, Vec::new());
    for (f, name) in linux_corpus() {
        if lan_pass_skips(&name) {
            continue;
        }
        assert!(
            start.elapsed().as_secs_f64() < PROFILE_PASS_SECS,
            "the lan pass ran out of its {PROFILE_PASS_SECS} s after {ran} scenarios"
        );
        ran += 1;
        match lan_verdict(&f, &name) {
            LanVerdict::Passed => {}
            LanVerdict::Disturbed => disturbed += 1,
            LanVerdict::Failed(why) => failures.push(why),
        }
    }
    println!(
        "lan profile: {ran} scenarios ({disturbed} disturbed in every run) in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    assert!(ran >= 60, "the pass ran {ran} scenarios");
    assert!(
        disturbed * 10 <= ran,
        "{disturbed} of {ran} scenarios disturbed in every run: the pass tested too few"
    );
    failures.extend(
        KNOWN_LAN
            .iter()
            .filter(|(n, _)| !Path::new("scenarios").join(format!("{n}.toml")).exists())
            .filter(|(n, _)| {
                !Path::new("scenarios/kernel")
                    .join(format!("{n}.toml"))
                    .exists()
            })
            .map(|(n, _)| format!("KNOWN_LAN lists {n}, which is no scenario")),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The buffer and window scenarios of scenarios/kernel/ (issue 10), run
/// again on `--profile loopback`: MTU 65536, so other segment sizes, send
/// buffers (2626560 at establishment) and windows than the corpus pass's.
const LOOPBACK_PROFILE: &[&str] = &[
    "transfer-100k",
    "transfer-1m",
    "transfer-10m",
    "linger-big-queue",
    "linger-nonblocking-big-queue",
    "slow-reader-small-buffer",
    "slow-reader-autotuned",
];

#[test]
fn buffer_scenarios_agree_with_the_kernel_on_the_loopback_profile() {
    let _turn = kernel_turn();
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let mut failures = Vec::new();
    for name in LOOPBACK_PROFILE {
        let f = Path::new("scenarios/kernel").join(format!("{name}.toml"));
        let args = ["--profile", "loopback"];
        let (mut code, mut out) = compare_with(&f, &args);
        if code == 1 {
            // Kernel timing is not deterministic: a difference must happen twice.
            (code, out) = compare_with(&f, &args);
        }
        match code {
            0 => println!("{name}: agrees on loopback"),
            1 => failures.push(format!("{name} differs on loopback:\n{out}")),
            c => failures.push(format!("{name}: tcpsim real exited {c}:\n{out}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Difference classes the differential fuzzer's suite slice may find, each
/// with its diagnosis (docs/real-kernel.md, "The differential fuzzer"):
/// matched as prefixes of the class.
const KNOWN_CLASSES: &[(&str, &str)] = &[
    (
        "result of server write: a count differs",
        "send-buffer accounting: tcp_sendmsg checks sk_stream_memory_free before each new skb and counts skb truesize; the model takes whole segments too (snd_buf_whole_segments) but counts payload octets, and its skbs are one MSS where loopback's TSO skbs are larger",
    ),
    (
        "result of client write: a count differs",
        "send-buffer accounting, as for the server's write",
    ),
    (
        "result of client write: model blocked, kernel a count",
        "a big write to a peer that does not read: the kernel's send buffer grows while the flight is not cwnd-limited (tcp_new_space, tcp_should_expand_sndbuf) and the receiver's window grows (tcp_grow_window, scaling_ratio), so the write completes; the model's buffers stay small and it blocks (model/ buffers and windows, issue 10)",
    ),
    (
        "result of server write: model blocked, kernel a count",
        "as for the client's write",
    ),
    (
        "outcome: model time-limit, kernel loss-without-reset",
        "the receive window: the model offers a fixed share of the buffer (81088 bytes on the LAN) and probes a zero window for the last byte; the kernel's window has grown past it (tcp_grow_window, scaling_ratio) and goes quiet",
    ),
    (
        "outcome: model time-limit, kernel hung",
        "the window closes at another count on each side (1000/26: 90976 bytes delivered on the kernel, 112520 in the model), then both probe a zero window with the writer blocked: the model is simulated to its time limit, the kernel watched until 200 ms of quiet (hung). (The tiny SO_RCVBUF of the earlier run is fixed: SOCK_MIN_RCVBUF, setsockopt_buf_min_bytes)",
    ),
];

/// The fuzzer's slice: seed and cases (each case is one or two kernel runs, < 1 s each).
const SLICE: (&str, &str) = ("1", "20");

/// `tcpsim fuzz --property agrees-with-kernel` on a fixed slice: every case
/// runs on both sides, and every difference class it finds is a known one.
#[test]
fn the_differential_fuzzer_finds_only_known_classes() {
    let _turn = kernel_turn();
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("tcpsim-fuzz-kernel-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "fuzz",
            "--property",
            "agrees-with-kernel",
            "--keep-going",
            "-q",
        ])
        .args(["--seed", SLICE.0, "--cases", SLICE.1, "--format", "json"])
        .args(["--kernel-shrink-runs", "0", "--out"])
        .arg(&dir)
        .output()
        .expect("tcpsim runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    println!("{stderr}{}", serde_json::to_string_pretty(&j).unwrap());
    assert_eq!(j["cases"].to_string(), SLICE.1);
    assert_eq!(j["failed"].as_array().map(Vec::len), Some(0), "{j}");
    let classes = j["classes"].as_array().expect("classes");
    let differ: u64 = classes
        .iter()
        .map(|c| c["cases"].as_array().map_or(0, |v| v.len() as u64))
        .sum();
    let unrepro: u64 = j["not_reproducible"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(|v| v.as_u64()).sum());
    let flaky = j["flaky"].as_array().map_or(0, |v| v.len() as u64);
    let disturbed = j["disturbed"].as_array().map_or(0, |v| v.len() as u64);
    let agree = j["agree"].as_u64().unwrap_or(0);
    assert_eq!(
        agree + differ + unrepro + flaky + disturbed,
        SLICE.1.parse::<u64>().unwrap(),
        "{j}"
    );
    assert!(agree >= 10, "most of the slice agrees: {j}");
    for c in classes {
        let class = c["class"].as_str().unwrap_or("");
        let known = KNOWN_CLASSES.iter().find(|(k, _)| class.starts_with(k));
        assert!(known.is_some(), "a new difference class: {class}\n{c}");
        // Its counterexample replays, and differs, under `tcpsim real --compare`.
        let file = c["file"].as_str().expect("a counterexample file");
        let (code, text) = compare(Path::new(file), "1");
        assert_eq!(code, 1, "{file} differs when replayed:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `compare`, and again on a difference: kernel timing is not
/// deterministic, so a difference must happen twice.
fn compare_twice(file: &Path, scale: &str) -> (i32, String) {
    match compare(file, scale) {
        (1, _) => compare(file, scale),
        first => first,
    }
}

/// Runs `tcpsim real --compare`; (exit code, stdout).
fn compare(file: &Path, scale: &str) -> (i32, String) {
    compare_with(file, &["--time-scale", scale])
}

/// Runs `tcpsim real --compare` with more arguments; (exit code, stdout).
/// Under `TCPSIM_KERNEL_LOCK=FILE` it holds that lock meanwhile, as the
/// fuzzer's kernel runs do: other users of this kernel never overlap it.
fn compare_with(file: &Path, args: &[&str]) -> (i32, String) {
    let _lock = std::env::var_os("TCPSIM_KERNEL_LOCK")
        .map(|p| tcpsim::real::sys::FileLock::take(Path::new(&p)).expect("the kernel lock"));
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["real", "--compare"])
        .args(args)
        .arg(file)
        .output()
        .expect("tcpsim runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// The corpus scenarios (scenarios/ and scenarios/kernel/, the ones learned
/// from the kernel itself) whose hosts are all `linux`, with their names.
fn linux_corpus() -> Vec<(std::path::PathBuf, String)> {
    let files = common::toml_files("scenarios")
        .into_iter()
        .chain(common::toml_files("scenarios/kernel"));
    let mut out = Vec::new();
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let Ok(s) = tcpsim::scenario::load(&f, &Default::default()) else {
            println!("{name}: does not load (tests/cli.rs reports it)");
            continue;
        };
        if s.spec.hosts.iter().all(|h| h.personality.name == "linux") {
            out.push((f, name));
        }
    }
    out
}

#[test]
fn linux_scenarios_agree_with_the_kernel() {
    let _turn = kernel_turn();
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let start = std::time::Instant::now();
    let (mut agree, mut known, mut unrepro, mut slow, mut disturbed) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for (f, name) in linux_corpus() {
        if let Some((_, why)) = TOO_SLOW.iter().find(|(n, _)| *n == name) {
            println!("{name}: too slow for the suite: {why}");
            slow += 1;
            continue;
        }
        let scale = SCALES
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or("auto", |(_, x, _)| x);
        let t = std::time::Instant::now();
        let (code, out) = compare_twice(&f, scale);
        let secs = t.elapsed().as_secs_f64();
        let known_why = KNOWN.iter().find(|(n, _)| *n == name).map(|(_, w)| *w);
        match (code, known_why) {
            (0, None) if out.contains("not reproducible") => {
                let why = out
                    .lines()
                    .find(|l| l.contains("not reproducible"))
                    .unwrap_or("");
                println!("{why}");
                unrepro += 1;
            }
            (0, None) => {
                println!("{name}: agrees ({secs:.1} s)");
                agree += 1;
            }
            (0, Some(_)) => failures.push(format!(
                "{name} now agrees with the kernel: remove it from KNOWN in tests/real.rs\n{out}"
            )),
            (1, Some(why)) => {
                println!("{name}: known difference: {why}");
                known += 1;
            }
            // No run of this scenario followed its script (ALL_DISTURBED).
            (1, None) if out.contains(ALL_DISTURBED) => {
                println!("{name}: not tested, the host too busy:\n{out}");
                disturbed += 1;
            }
            (1, None) => failures.push(format!("{name} differs from the kernel:\n{out}")),
            (c, _) => failures.push(format!("{name}: tcpsim real exited {c}:\n{out}")),
        }
    }
    println!(
        "\nreal kernel: {agree} agree, {known} known differences, {unrepro} not reproducible, \
         {slow} too slow, {disturbed} disturbed in every run, in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        disturbed <= agree,
        "{disturbed} scenarios disturbed in every run, {agree} agree: the pass tested too few"
    );
}

/// How to run a program as an unprivileged user: nothing when this process
/// already is one, else `setpriv` or `su` to `nobody`; None if neither exists.
fn unprivileged(program: &Path, args: &[&str]) -> Option<Command> {
    if tcpsim::real::plan::missing_privileges().is_some() {
        let mut c = Command::new(program);
        c.args(args);
        return Some(c);
    }
    let found = |tool: &str| {
        Command::new(tool)
            .arg("--help")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    };
    if found("setpriv") {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(program)
            .args(args);
        return Some(c);
    }
    if found("su") {
        let line = std::iter::once(program.to_string_lossy().into_owned())
            .chain(args.iter().map(|a| a.to_string()))
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut c = Command::new("su");
        c.args(["nobody", "-s", "/bin/sh", "-c", &line]);
        return Some(c);
    }
    None
}

/// Without the privileges a kernel run needs, `tcpsim real` says so and why
/// before running anything (exit 2), instead of reporting every call that
/// fails for want of them as a difference from the simulator.
#[test]
fn without_privileges_real_says_why_and_runs_nothing() {
    if !cfg!(target_os = "linux") {
        println!("skipped: not Linux");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    // The binary and a scenario where any user can read them.
    let dir = std::env::temp_dir().join(format!("tcpsim-unprivileged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.join("tcpsim");
    std::fs::copy(env!("CARGO_BIN_EXE_tcpsim"), &bin).expect("copy the binary");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("close-with-unread.toml");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/close-with-unread.toml");
    std::fs::copy(src, &file).expect("copy the scenario");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = file.to_string_lossy().into_owned();
    for format in ["text", "json"] {
        let args = ["real", "--compare", "--format", format, &file];
        let Some(mut cmd) = unprivileged(&bin, &args) else {
            println!("skipped: neither setpriv nor su to run as an unprivileged user");
            break;
        };
        let out = cmd
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(2), "{format}: {stdout}{stderr}");
        assert!(stderr.contains("not reproducible here"), "{stderr}");
        assert!(
            stderr.contains("CAP_NET_RAW (capturing the segments)"),
            "{stderr}"
        );
        assert!(stderr.contains("CAP_SYS_ADMIN"), "{stderr}");
        assert!(
            !stdout.contains("compare:") && !stdout.contains("DIFF"),
            "{stdout}"
        );
        if format == "json" {
            let j: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            assert_eq!(j["kernel"]["reproducible"], false);
            assert!(j.get("verdict").is_none(), "nothing ran: {stdout}");
        } else {
            assert!(stdout.is_empty(), "{stdout}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `getsockopt S TCP_INFO.tcpi_state` reads the kernel's `tcpi_state`: after
/// the client's shutdown(SHUT_WR) both sides name the same states.
#[test]
fn tcp_info_state_agrees_with_the_kernel() {
    let _turn = kernel_turn();
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tcpi-state.toml");
    std::fs::write(
        &file,
        "[hosts.client]\npersonality = \"linux\"\n\n[hosts.server]\npersonality = \"linux\"\n\n\
         [script]\nsteps = [\n  \"0 server listen l 80\",\n  \"1ms client connect c server:80\",\n  \
         \"2ms server accept l as s\",\n  \"3ms client getsockopt c TCP_INFO.tcpi_state = ESTABLISHED\",\n  \
         \"4ms client shutdown c wr\",\n  \"50ms client getsockopt c TCP_INFO.tcpi_state = FIN-WAIT-2\",\n  \
         \"51ms server getsockopt s TCP_INFO.tcpi_state = CLOSE-WAIT\",\n]\n",
    )
    .unwrap();
    let (code, out) = compare(&file, "auto");
    assert_eq!(code, 0, "{out}");
    for state in ["ESTABLISHED", "FIN-WAIT-2", "CLOSE-WAIT"] {
        let line = out
            .lines()
            .find(|l| l.contains(&format!("tcpi_state = {state}")))
            .unwrap_or_else(|| panic!("no {state} step in\n{out}"));
        // The expectation, the simulator's value and the kernel's.
        assert_eq!(line.matches(state).count(), 3, "{line}");
    }
}
