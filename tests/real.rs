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
const KNOWN: &[(&str, &str)] = &[
    (
        "big-write-close-unread",
        "the ACK clock of loopback GSO: the kernel's server sends skbs of cwnd/2 segments (tcp_cwnd_test) that the client ACKs one each, 6 quick ACKs for 32 segments, then the delayed ACK at 108600 offers round_down(122368 - 108600, 1024) = 13312 (121912 held); the model ACKs each 1448-byte segment, spends its 16 quick ACKs on 16, its sender has sent 60816 at the first delayed ACK, and the client holds 86880 (rcv_ssthresh growth, window scaling and the loopback ratio are modelled and give the kernel's 64512, 79872, 94208 on the same skbs: model/src/tests/established.rs)",
    ),
];

/// Runs `tcpsim real --compare`; (exit code, stdout).
fn compare(file: &Path, scale: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["real", "--compare", "--time-scale", scale])
        .arg(file)
        .output()
        .expect("tcpsim runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn linux_scenarios_agree_with_the_kernel() {
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let start = std::time::Instant::now();
    let (mut agree, mut known, mut unrepro, mut slow) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    // scenarios/kernel/ holds the ones learned from the kernel itself.
    let files = common::toml_files("scenarios")
        .into_iter()
        .chain(common::toml_files("scenarios/kernel"));
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let s = match tcpsim::scenario::load(&f, &Default::default()) {
            Ok(s) => s,
            Err(_) => {
                println!("{name}: does not load (tests/cli.rs reports it)");
                continue;
            }
        };
        if !s.spec.hosts.iter().all(|h| h.personality.name == "linux") {
            continue;
        }
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
        let (mut code, mut out) = compare(&f, scale);
        if code == 1 {
            // Kernel timing is not deterministic: a difference must happen twice.
            (code, out) = compare(&f, scale);
        }
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
            (1, None) => failures.push(format!("{name} differs from the kernel:\n{out}")),
            (c, _) => failures.push(format!("{name}: tcpsim real exited {c}:\n{out}")),
        }
    }
    println!(
        "\nreal kernel: {agree} agree, {known} known differences, {unrepro} not reproducible, \
         {slow} too slow, in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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
