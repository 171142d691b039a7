//! End-to-end tests of the `tcpsim` binary: exit codes, reports, and the
//! scenario corpus through `tcpsim test`. Bad input (the corpus of tests/bad/
//! with its blessed errors, limits, docs/limits.md) is tests/input.rs.
//!
//! `TCPSIM_BLESS=1 cargo test --test cli` rewrites the generated docs.

use std::path::Path;
use std::process::Command;

fn tcpsim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tcpsim"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    c
}

#[test]
fn usage_errors_exit_2() {
    let out = tcpsim().args(["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = tcpsim().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = tcpsim()
        .args(["run", "does/not/exist.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read scenario"));
    let out = tcpsim()
        .args(["run", "scenarios/close-with-unread.toml", "--set", "nohost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_prints_ladder_and_verdict_and_checks_expectations() {
    let out = tcpsim()
        .args(["run", "scenarios/close-with-unread.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("R. 501:501(0) ack 2001"), "{text}");
    assert!(text.contains("RST server:80 → client:40000"), "{text}");
    assert!(text.contains("close with unread data"), "{text}");
    assert!(text.contains("expectations: all hold"), "{text}");

    // Changing the server's personality through --set makes the expectations fail: exit 1 with a diff.
    let out = tcpsim()
        .args([
            "run",
            "-q",
            "scenarios/close-with-unread.toml",
            "--set",
            "server.close_unread=discard-fin",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("expected: server: close-with-unread"),
        "{text}"
    );
    assert!(text.contains("actual:   no RST"), "{text}");
}

#[test]
fn json_output_has_trace_and_verdict() {
    let out = tcpsim()
        .args([
            "run",
            "--format",
            "json",
            "scenarios/close-with-unread.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"]["outcome"], "reset-with-loss");
    assert_eq!(v["verdict"]["resets"][0]["cause"], "close-with-unread");
    assert_eq!(v["hosts"][1]["name"], "server");
    let trace = v["trace"].as_array().unwrap();
    assert!(
        trace
            .iter()
            .any(|e| e["kind"] == "send" && e["seg"]["flags"] == 0x14),
        "an R. segment in the trace"
    );
}

#[test]
fn same_seed_gives_byte_identical_output() {
    let run = |seed: &str| {
        tcpsim()
            .args([
                "run",
                "--format",
                "json",
                "scenarios/close-with-unread.toml",
                "--seed",
                seed,
            ])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run("7"), run("7"));
}

#[test]
fn the_scenario_corpus_passes() {
    let out = tcpsim().args(["test", "scenarios"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

/// Issue 14: 10 GB each way on one connection from ISNs just below 2^32
/// (tests/long/), from the scenario text (`write c 10GB`, `isn`) to exact
/// byte counts. Kept out of scenarios/, which the kernel comparison replays.
#[test]
fn streams_of_ten_gigabytes_each_way_complete() {
    let out = tcpsim().args(["test", "tests/long"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("1 passed, 0 failed"), "{text}");
}

#[test]
fn the_format_doc_lists_every_call_and_cause() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md"),
    )
    .unwrap();
    // The call table is generated from the one declaration (model::call::CALLS);
    // `TCPSIM_BLESS=1 cargo test --test cli` rewrites it.
    let head = "| call | syntax | what it does |\n|---|---|---|\n";
    let table = tcpsim::cli::calls::markdown()[head.len()..].to_string();
    if std::env::var_os("TCPSIM_BLESS").is_some() {
        let start = doc.find(head).expect("the call table's header") + head.len();
        let end = start
            + doc[start..]
                .find("\n\n")
                .expect("a blank line after the table")
            + 1;
        let blessed = format!("{}{table}{}", &doc[..start], &doc[end..]);
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md");
        std::fs::write(path, &blessed).unwrap();
        return;
    }
    assert!(
        doc.contains(&table),
        "docs/scenario-format.md's call table is not the generated one; expected:\n{table}"
    );
    for c in model::call::CALLS {
        assert_eq!(c.usage.split_whitespace().next(), Some(c.name));
    }
    for c in model::RstCause::ALL {
        assert!(
            doc.contains(&format!("`{}`", c.key())),
            "docs/scenario-format.md lacks cause `{}`",
            c.key()
        );
    }
    for o in sim::Outcome::ALL {
        assert!(
            doc.contains(&format!("`{}`", o.key())),
            "lacks outcome `{}`",
            o.key()
        );
    }
}

#[test]
fn written_scenarios_parse_back_to_the_same_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = tcpsim::cli::test::collect(&[root.join("scenarios")]);
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    for path in files {
        let f = path.to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = tcpsim::scenario::parse(&f, &text).unwrap();
        let written = tcpsim::scenario::write(&parsed);
        let again = tcpsim::scenario::parse("written", &written).unwrap();
        assert_eq!(parsed, again, "{written}");
        assert_eq!(tcpsim::scenario::write(&again), written);
    }
}

/// Citations of documents that are not in the repository (issue 9, "A
/// self-contained repository"): reference material beside a checkout, private
/// notes and probe corpora, ids from a search index, and a development machine's
/// absolute paths. Written in two halves so that this file does not cite them.
const OUT_OF_REPO: [&str; 13] = [
    concat!("shared", "/"),
    concat!("linux", "-facts"),
    concat!("linux", "-observed"),
    concat!("corpus", " q"),
    concat!("corpus", "-probes"),
    concat!("corpus", "-discrepancies"),
    concat!("kernel", "-probes"),
    concat!("notes", "/"),
    concat!("personality", "-sources"),
    concat!("index", " id"),
    concat!("/wo", "rk/"),
    concat!("/ho", "me/"),
    concat!("/ro", "ot/"),
];

/// The anchors of docs/sources.md: every `<a id="…">`.
fn source_anchors(sources: &str) -> std::collections::BTreeSet<&str> {
    sources
        .split("<a id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// The citations in `file` (its `text`) that do not resolve in this
/// repository, added to `problems`: an out-of-repo document (outside
/// docs/sources.md itself), or a `docs/sources.md#<anchor>` not in `anchors`.
/// How many docs/sources.md citations it has.
fn citation_problems(
    file: &str,
    text: &str,
    anchors: &std::collections::BTreeSet<&str>,
    problems: &mut Vec<String>,
) -> usize {
    let mut cited = 0;
    for (n, line) in text.lines().enumerate() {
        if file != "docs/sources.md" {
            for pattern in OUT_OF_REPO {
                if line.contains(pattern) {
                    problems.push(format!("{file}:{}: cites `{pattern}`", n + 1));
                }
            }
        }
        for rest in line.split(concat!("docs/sources.md", "#")).skip(1) {
            let anchor: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if rest[anchor.len()..].starts_with('<') {
                continue; // a placeholder: `#<anchor>`, `#row-<n>`
            }
            cited += 1;
            if !anchors.contains(anchor.as_str()) {
                problems.push(format!(
                    "{file}:{}: docs/sources.md has no anchor `{anchor}`",
                    n + 1
                ));
            }
        }
    }
    cited
}

/// Every source a knob, a scenario or a test cites resolves for someone who
/// cloned only this repository: no tracked file (Cargo.lock aside) cites a
/// document outside it, and every `docs/sources.md#<anchor>` exists (a `<`
/// right after the `#`, or after the anchor, marks a placeholder like this one).
#[test]
fn every_cited_source_is_public_or_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output();
    let files = match listed {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
        _ => {
            eprintln!("skipped: not a git checkout (or no git)");
            return;
        }
    };
    let files: Vec<&str> = files.split('\0').filter(|f| !f.is_empty()).collect();
    assert!(
        files.contains(&"docs/sources.md"),
        "docs/sources.md is missing"
    );
    let sources = std::fs::read_to_string(root.join("docs/sources.md")).unwrap();
    let anchors = source_anchors(&sources);
    assert!(anchors.contains("row-1") && anchors.contains("linux-close-unread"));
    let mut problems = Vec::new();
    let mut cited = 0;
    for file in files {
        if file == "Cargo.lock" {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue; // binary, or deleted from the work tree
        };
        cited += citation_problems(file, &text, &anchors, &mut problems);
    }
    assert!(
        cited > 100,
        "only {cited} citations of docs/sources.md found"
    );
    assert!(
        problems.is_empty(),
        "{} citation(s) that do not resolve in this repository:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The same check catches what it should: an out-of-repo citation, and an
/// anchor docs/sources.md does not have.
#[test]
fn the_citation_check_sees_bad_citations() {
    let sources = "<a id=\"row-1\"></a> <a id=\"linux-close-unread\"></a>";
    let anchors = source_anchors(sources);
    assert_eq!(
        anchors.iter().copied().collect::<Vec<_>>(),
        ["linux-close-unread", "row-1"]
    );
    let line = format!("see {}personalities.md", OUT_OF_REPO[0]);
    assert!(OUT_OF_REPO.iter().any(|p| line.contains(p)));
    assert!(!OUT_OF_REPO
        .iter()
        .any(|p| "docs/sources.md#row-1, RFC 2525 §2.17".contains(p)));
    let hash = concat!("docs/sources.md", "#");
    let text = format!("{line}\n{hash}row-1 {hash}row-9 {hash}row-<n>\n");
    let mut problems = Vec::new();
    let cited = citation_problems("a.rs", &text, &anchors, &mut problems);
    assert_eq!(cited, 2, "the placeholder is not a citation");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("a.rs:1: cites"), "{problems:?}");
    assert_eq!(problems[1], "a.rs:2: docs/sources.md has no anchor `row-9`");
}

#[test]
fn the_personality_matrix_doc_matches_the_code() {
    let out = tcpsim().args(["personalities", "matrix"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/personalities.md");
    if std::env::var_os("TCPSIM_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let doc = std::fs::read_to_string(path).unwrap();
    assert!(
        doc == generated,
        "docs/personalities.md is stale: run `tcpsim personalities matrix > docs/personalities.md`"
    );
    for name in model::Personality::BUILTIN {
        assert!(
            generated.contains(&format!("## Sources: {name} ")),
            "{name}"
        );
    }
}

#[test]
fn personalities_list_show_and_diff() {
    let out = tcpsim().args(["personalities"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for name in model::Personality::BUILTIN {
        assert!(text.contains(name), "{text}");
    }
    let out = tcpsim()
        .args(["personalities", "show", "winsock-xp"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("process_exit") && text.contains("source: "),
        "{text}"
    );
    let out = tcpsim()
        .args(["personalities", "diff", "linux", "freebsd"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("close_unread") && text.contains("discard-fin"),
        "{text}"
    );
    assert!(
        !text.contains("\ninitial_cwnd_segs "),
        "equal knobs are not listed: {text}"
    );
    let out = tcpsim()
        .args(["personalities", "show", "linxu"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `linux`"));
}

#[test]
fn an_older_release_is_a_small_file_away() {
    // macOS 10.13 flushed unread data silently where macOS 12 resets (docs/sources.md#row-1).
    let out = tcpsim()
        .args([
            "run",
            "scenarios/close-with-unread.toml",
            "--server",
            "personalities/macos-10.13.toml",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("verdict: loss-without-reset"), "{text}");
    assert!(text.contains("[macos-10.13]"), "{text}");
    let out = tcpsim()
        .args([
            "run",
            "-q",
            "scenarios/close-with-unread.toml",
            "--server",
            "macos",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("close with unread data"), "{text}");
    let out = tcpsim()
        .args([
            "personalities",
            "diff",
            "macos",
            "personalities/macos-10.13.toml",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("close_unread") && text.contains("xnu-4570"),
        "{text}"
    );
}

#[test]
fn winsock_personalities_name_errors_the_winsock_way() {
    let out = tcpsim()
        .args([
            "run",
            "--format",
            "json",
            "scenarios/close-with-unread.toml",
            "--client",
            "winsock-xp",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["error"] == "WSAECONNRESET" && e["posix"] == "ECONNRESET"),
        "{errors:?}"
    );
    let out = tcpsim()
        .args([
            "run",
            "scenarios/close-with-unread.toml",
            "--client",
            "winsock-xp",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("= WSAECONNRESET"));
}

#[test]
fn compare_runs_the_matrix_fast_and_names_the_knob() {
    let t = std::time::Instant::now();
    let out = tcpsim()
        .args([
            "compare",
            "scenarios/close-with-unread.toml",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 25);
    let divs = v["divergences"].as_array().unwrap();
    let server = divs
        .iter()
        .find(|d| d["host"] == "server" && d["a"] == "linux" && d["b"] == "freebsd")
        .expect("linux and freebsd servers end differently");
    // close_unread alone decides the outcome (RST on Linux, FIN on FreeBSD),
    // and the smallest set reproducing FreeBSD's exact ending contains it.
    let knob_names = |field: &str| -> Vec<String> {
        server["knobs"][field]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["knob"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        knob_names("decides_outcome").contains(&"close_unread".to_string()),
        "{server}"
    );
    let exact = knob_names("exact");
    assert!(exact.contains(&"close_unread".to_string()), "{server}");
    let differing = server["knobs"]["knobs_differing"].as_u64().unwrap();
    assert!(exact.len() < 5 && differing > 10, "{server}");
    // Not a timing test, a sanity bound: the whole process, 25 runs and the divergence search.
    assert!(elapsed.as_secs() < 20, "{elapsed:?}");
    for fmt in ["csv", "markdown", "text"] {
        let out = tcpsim()
            .args([
                "compare",
                "scenarios/close-with-unread.toml",
                "--format",
                fmt,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("freebsd"));
    }
}

#[test]
fn calls_lists_every_call_of_the_one_declaration() {
    let out = tcpsim().arg("calls").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for c in model::call::CALLS {
        assert!(text.contains(c.usage), "`tcpsim calls` lacks `{}`", c.usage);
    }
    assert!(text.contains("(also closesocket)"), "{text}");
    let md = tcpsim().args(["calls", "--markdown"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&md.stdout),
        tcpsim::cli::calls::markdown()
    );
}

#[test]
fn an_expectation_on_a_step_that_never_runs_fails_the_run() {
    let out = tcpsim()
        .args(["run", "-q", "tests/expect/step-after-exit.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("expectations: 1 FAILED"), "{text}");
    assert!(
        text.contains("step-after-exit.toml:17:3")
            && text.contains("never ran: the process had exited"),
        "{text}"
    );
    // Under a pair the file's expectations are not written for, the run says so.
    let out = tcpsim()
        .args([
            "run",
            "-q",
            "tests/expect/step-after-exit.toml",
            "--server",
            "freebsd",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("expectations: none apply to linux/freebsd"),
        "{text}"
    );
}

/// `tcpsim compare` on a packetdrill script converted to a scenario (a raw
/// peer): its exit code says whether the script held under every personality
/// compared (1 = an expectation failed, as `tcpsim run` says it).
/// `shutdown-wr-close.pkt` converted with `--to-scenario` and `args`, written
/// under `dir`: the file and its text.
fn converted_shutdown_wr_close(args: &[&str], dir: &str) -> (std::path::PathBuf, String) {
    let script = "tests/packetdrill/linux/tcp/shutdown/shutdown-wr-close.pkt";
    let out = tcpsim()
        .args(["packetdrill", script, "--to-scenario"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shutdown-wr-close.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    (file, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn compare_of_a_converted_script_exits_1_when_a_cell_fails() {
    let (file, _) =
        converted_shutdown_wr_close(&["--personality", "linux"], "cli-compare-converted");
    let compare = |names: &str, format: &str| {
        let out = tcpsim()
            .args(["compare", "--personalities", names, "--format", format])
            .arg(&file)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // Written for Linux: it holds under linux alone ...
    let (code, text) = compare("linux", "text");
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("expectations FAILED"), "{text}");
    // ... and a freebsd cell fails it, whatever the output format.
    for format in ["text", "json", "csv", "markdown"] {
        let (code, text) = compare("linux,freebsd", format);
        assert_eq!(code, Some(1), "--format {format}: {text}");
    }
    let (code, text) = compare("freebsd", "text");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("expectations FAILED for freebsd/raw"),
        "{text}"
    );
}

/// `tcpsim compare` on a script converted with `--peer tcp` (two TCP
/// hosts): both hosts vary, and the tested host's call results from the
/// script are checked in the cell of the file's own personalities.
#[test]
fn compare_of_a_script_converted_with_a_tcp_peer() {
    let (file, written) = converted_shutdown_wr_close(&["--peer", "tcp"], "cli-compare-peer-tcp");
    let compare = |file: &Path| {
        let out = tcpsim()
            .args(["compare", "--personalities", "linux,freebsd"])
            .arg(file)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = compare(&file);
    assert_eq!(code, Some(0), "{text}");
    // Both hosts vary: two columns (the peer is a TCP, not a raw host).
    assert!(text.contains("tested \\ peer  linux  freebsd"), "{text}");
    assert!(!text.contains("raw"), "{text}");
    // The script's call results are checked: a wrong one fails the file's cell.
    let wrong = written.replacen(
        "tested read fd4 1000 = 1000",
        "tested read fd4 1000 = 999",
        1,
    );
    assert_ne!(wrong, written);
    let wrong_file = file.with_file_name("wrong.toml");
    std::fs::write(&wrong_file, wrong).unwrap();
    let (code, text) = compare(&wrong_file);
    assert_eq!(code, Some(1), "{text}");
}

/// The ending of `tcpsim run` with the sender's and receiver's personalities
/// and `sets` (HOST.KNOB=VALUE): (outcome, bytes lost).
fn rsync_ending(sender: &str, receiver: &str, sets: &[String]) -> (String, u64) {
    let mut c = tcpsim();
    c.args([
        "run",
        "scenarios/rsync-cygwin-exit.toml",
        "--format",
        "json",
    ]);
    c.args(["--personality", &format!("sender={sender}")]);
    c.args(["--personality", &format!("receiver={receiver}")]);
    for s in sets {
        c.args(["--set", s]);
    }
    let out = c.output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lost = v["verdict"]["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["directions"].as_array().unwrap())
        .map(|d| d["lost"].as_u64().unwrap())
        .sum();
    (v["verdict"]["outcome"].as_str().unwrap().to_string(), lost)
}

#[test]
fn compare_blames_a_smallest_set_of_knobs_that_reproduces_the_ending() {
    let out = tcpsim()
        .args([
            "compare",
            "scenarios/rsync-cygwin-exit.toml",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = v["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["host"] == "sender" && d["knobs"]["exact"].as_array().unwrap().len() >= 2)
        .expect("a divergence that needs several knobs");
    let (a, b, other) = (
        d["a"].as_str().unwrap(),
        d["b"].as_str().unwrap(),
        d["other"].as_str().unwrap(),
    );
    let sets: Vec<String> = d["knobs"]["exact"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            format!(
                "sender.{}={}",
                k["knob"].as_str().unwrap(),
                k["to"].as_str().unwrap()
            )
        })
        .collect();
    let target = rsync_ending(b, other, &[]);
    assert_ne!(rsync_ending(a, other, &[]), target, "{d}");
    assert_eq!(
        rsync_ending(a, other, &sets),
        target,
        "the set reproduces B's ending: {d}"
    );
    for i in 0..sets.len() {
        let mut fewer = sets.clone();
        let left_out = fewer.remove(i);
        assert_ne!(
            rsync_ending(a, other, &fewer),
            target,
            "{left_out} is needed: {d}"
        );
    }
}
