//! `tcpsim packetdrill SCRIPT --to-scenario`: every script of the corpus
//! that passes in the runner either converts, and the converted scenario run
//! under the same personality meets all its expectations, or is refused
//! with a located reason (counted, so the count can only go up); a mutated
//! script fails in both; `tcpsim compare` runs a converted scenario.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tcpsim");

/// Scripts of the corpus that convert and pass; fewer is a regression.
const CONVERTED_MIN: usize = CONVERTED;
const CONVERTED: usize = 266;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/packetdrill")
}

fn passing() -> Vec<(String, &'static str)> {
    let table = std::fs::read_to_string(corpus().join("expected.txt")).unwrap();
    table
        .lines()
        // `PATH pass`, not an unsupported one whose rest passed (`| then: pass`).
        .filter(|l| l.split(' ').count() == 2)
        .filter_map(|l| l.strip_suffix(" pass"))
        .map(|p| {
            let personality = if p.starts_with("freebsd/") {
                "freebsd"
            } else {
                "linux"
            };
            (p.to_string(), personality)
        })
        .collect()
}

fn convert(script: &Path, personality: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["packetdrill", "--to-scenario", "--personality", personality])
        .arg(script)
        .output()
        .unwrap()
}

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("to-scenario");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Converts and runs; `Ok(exit code of run)`, or `Err(stderr)` when refused.
fn converted_run(script: &Path, personality: &str, name: &str) -> Result<i32, String> {
    let out = convert(script, personality);
    if out.status.code() != Some(0) {
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let file = dir().join(format!("{name}.toml"));
    std::fs::write(&file, &out.stdout).unwrap();
    let run = Command::new(BIN).arg("run").arg(&file).output().unwrap();
    Ok(run.status.code().unwrap())
}

#[test]
fn passing_scripts_convert_and_pass() {
    let mut converted = 0;
    let mut refused: std::collections::BTreeMap<String, usize> = Default::default();
    let mut differ = Vec::new();
    let all = passing();
    assert!(all.len() > 200, "the corpus table lists {}", all.len());
    for (i, (path, personality)) in all.iter().enumerate() {
        match converted_run(&corpus().join(path), personality, &format!("s{i}")) {
            Ok(0) => converted += 1,
            Ok(code) => differ.push(format!("{path}: run exit {code}")),
            Err(e) => {
                let reason = e
                    .lines()
                    .find_map(|l| l.split("cannot convert to a scenario: ").nth(1))
                    .unwrap_or("?")
                    .split(':')
                    .next()
                    .unwrap_or("?")
                    .to_string();
                *refused.entry(reason).or_default() += 1;
            }
        }
    }
    println!(
        "{converted} of {} passing scripts convert and pass; refused: {refused:#?}",
        all.len()
    );
    assert!(differ.is_empty(), "converted but not passing: {differ:#?}");
    assert!(converted >= CONVERTED_MIN, "{converted} < {CONVERTED_MIN}");
    assert_eq!(converted, CONVERTED, "more convert: raise CONVERTED");
}

#[test]
fn a_mutated_script_fails_in_both() {
    let src = corpus().join("linux/tcp/close/close-remote-fin-then-close.pkt");
    let text = std::fs::read_to_string(&src).unwrap();
    // Our FIN written as an RST: the runner and the scenario must both fail.
    let mutated = text.replacen("+0 > F. 1:1(0) ack 2", "+0 > R. 1:1(0) ack 2", 1);
    assert_ne!(mutated, text);
    let file = dir().join("mutated.pkt");
    std::fs::write(&file, mutated).unwrap();
    let runner = Command::new(BIN)
        .args(["packetdrill", "--personality", "linux"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        runner.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&runner.stdout)
    );
    assert_eq!(converted_run(&file, "linux", "mutated"), Ok(1));
    assert_eq!(converted_run(&src, "linux", "unmutated"), Ok(0));
}

#[test]
fn compare_varies_only_the_tested_host_and_checks_the_script() {
    let src = corpus().join("linux/tcp/shutdown/shutdown-wr-close.pkt");
    let out = convert(&src, "linux");
    let file = dir().join("compare.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let c = Command::new(BIN)
        .args(["compare", "--personalities", "linux,freebsd"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&c.stdout);
    // The freebsd cell fails the script: an expectation failed, exit 1.
    assert_eq!(
        c.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&c.stderr)
    );
    // One column: the raw peer is not varied.
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("tested \\ peer"))
        .take(3)
        .collect();
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["tested", "\\", "peer", "raw"],
        "{text}"
    );
    // The script, written for Linux, holds under linux and not under freebsd.
    assert!(
        rows[1].starts_with("linux") && !rows[1].contains('✗'),
        "{text}"
    );
    assert!(
        rows[2].starts_with("freebsd") && rows[2].contains('✗'),
        "{text}"
    );
    assert!(
        text.contains("expectations FAILED for freebsd/raw"),
        "{text}"
    );
    assert!(!text.contains("expectations FAILED for linux"), "{text}");
}

#[test]
fn the_ladder_shows_what_the_peer_expects() {
    let src = corpus().join("linux/tcp/close/close-remote-fin-then-close.pkt");
    let out = convert(&src, "linux");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (code, all) = run_text("ladder.toml", &text);
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("peer: expects F. 1:1(0) ack 2"), "{all}");
    assert!(!all.contains("peer: sleep"), "{all}");
}

#[test]
fn an_unconvertible_line_is_located() {
    let file = dir().join("code.pkt");
    std::fs::write(
        &file,
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 %{ assert tcpi_options == 0 }%\n",
    )
    .unwrap();
    let out = convert(&file, "freebsd");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("code.pkt:2:"), "{err}");
    assert!(
        err.contains("cannot convert to a scenario: a %{ python }% block other than"),
        "{err}"
    );
}

/// A two-host run: the client closes first and is left in TIME-WAIT.
fn time_wait_scenario(after_close: &str) -> String {
    format!(
        "[hosts.client]\npersonality = \"freebsd\"\n\n[hosts.server]\npersonality = \"freebsd\"\n\n\
         [script]\nsteps = [\n  \"0 server listen l 80\",\n  \"1ms client connect c server:80\",\n  \
         \"2ms server accept l as s\",\n  \"3ms client close c\",\n  \"4ms server close s\",\n{after_close}]\n"
    )
}

fn run_text(name: &str, text: &str) -> (i32, String) {
    let file = dir().join(name);
    std::fs::write(&file, text).unwrap();
    let out = Command::new(BIN).arg("run").arg(&file).output().unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), all)
}

#[test]
fn sockets_counts_and_tcpdrop_drops_time_wait() {
    let steps = "  \"100ms client sockets TIME-WAIT = 1\",\n  \"101ms server sockets TIME-WAIT = 0\",\n  \
                 \"102ms client sockets LISTEN = 0\",\n  \"103ms server sockets LISTEN held 80 = 1\",\n  \
                 \"104ms client tcpdrop TIME-WAIT = 1\",\n  \"105ms client sockets TIME-WAIT = 0\",\n";
    let (code, text) = run_text("tw.toml", &time_wait_scenario(steps));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("client: sockets(TIME-WAIT) = 1"), "{text}");
    assert!(text.contains("client: tcpdrop(TIME-WAIT) = 1"), "{text}");
    // Without the drop the connection is still in TIME-WAIT: the last count fails.
    let undropped = steps.replace("  \"104ms client tcpdrop TIME-WAIT = 1\",\n", "");
    let (code, text) = run_text("tw-kept.toml", &time_wait_scenario(&undropped));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("expected: 0\n    actual:   1"), "{text}");
}

/// Converts `script`, checks the scenario says `want`, and runs it as
/// converted (must pass) and with `want` replaced by `wrong` (must fail).
fn converted_step_decides(script: &str, personality: &str, want: &str, wrong: &str) {
    let out = convert(&corpus().join(script), personality);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains(want), "{script}: no `{want}` in\n{text}");
    let run = |name: &str, text: &str| run_text(name, text);
    let (code, all) = run("step-right.toml", &text);
    assert_eq!(code, 0, "{all}");
    let (code, all) = run("step-wrong.toml", &text.replace(want, wrong));
    assert_eq!(code, 1, "{all}");
}

#[test]
fn a_tcpi_state_block_is_a_state_step() {
    converted_step_decides(
        "freebsd/snippets/fin-wait-2-ipv4.pkt",
        "freebsd",
        "getsockopt fd3 TCP_INFO.tcpi_state = FIN-WAIT-2",
        "getsockopt fd3 TCP_INFO.tcpi_state = CLOSE-WAIT",
    );
}

#[test]
fn a_blocking_calls_end_is_how_long_it_blocks() {
    converted_step_decides(
        "linux/tcp/close/close-local-close-then-remote-fin.pkt",
        "linux",
        "connect fd3 peer:8080 = 0 blocked=1ms±4ms",
        "connect fd3 peer:8080 = 0 blocked=20ms±4ms",
    );
}
