//! The text reports as a network engineer reads them, pinned for a handful of
//! corpus scenarios: the ladder, the verdict and `compare`'s matrix. A change
//! to any of them shows up here as a diff to review (`cargo insta review`, or
//! `INSTA_UPDATE=always` to accept), never silently.

use std::process::Command;

fn tcpsim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("tcpsim runs");
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// RSTs with their causes, a lost FIN, a lost RST, a zero window, a
/// simultaneous close: one of each kind of ending.
const SCENARIOS: [&str; 6] = [
    "close-with-unread",
    "rsync-cygwin-exit",
    "fin-lost",
    "rst-lost",
    "zero-window-slow-reader",
    "simultaneous-close",
];

#[test]
fn run_reports_are_pinned() {
    for name in SCENARIOS {
        let report = tcpsim(&["run", &format!("scenarios/{name}.toml")]);
        insta::assert_snapshot!(format!("run-{name}"), report);
    }
}

#[test]
fn compare_matrices_are_pinned() {
    for name in ["close-with-unread", "rsync-cygwin-exit"] {
        let report = tcpsim(&["compare", &format!("scenarios/{name}.toml")]);
        insta::assert_snapshot!(format!("compare-{name}"), report);
    }
}

#[test]
fn text_reports_fit_100_columns() {
    for name in SCENARIOS {
        for command in ["run", "compare"] {
            let report = tcpsim(&[command, &format!("scenarios/{name}.toml")]);
            for line in report.lines() {
                let width = line.chars().count();
                assert!(width <= 100, "{command} {name}: {width} columns:\n{line}");
                assert_eq!(line, line.trim_end(), "{command} {name}: trailing blanks");
            }
        }
    }
}

/// Every report of the corpus, subfolders included, fits 100 columns: `run`
/// of each scenario, `compare` of a sample (the matrix's width depends on
/// the personalities, not the scenario).
#[test]
fn every_corpus_report_fits_100_columns() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/personalities", "scenarios/kernel"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    assert!(files.len() > 60, "{} files", files.len());
    for (i, f) in files.iter().enumerate() {
        let mut reports = vec![tcpsim(&["run", f])];
        if i % 8 == 0 {
            reports.push(tcpsim(&["compare", f]));
        }
        for report in reports {
            for line in report.lines() {
                let width = line.chars().count();
                assert!(width <= 100, "{f}: {width} columns:\n{line}");
            }
        }
    }
}

/// One packetdrill export (`run --packetdrill-out`), the server of
/// close-with-unread: its calls, the client's segments and its RST.
#[test]
fn a_packetdrill_export_is_pinned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("server.pkt");
    tcpsim(&[
        "run",
        "-q",
        "scenarios/close-with-unread.toml",
        "--packetdrill-out",
        out.to_str().expect("utf-8 path"),
        "--packetdrill-side",
        "server",
    ]);
    let script = std::fs::read_to_string(&out).expect("the script was written");
    insta::assert_snapshot!("packetdrill-close-with-unread-server", script);
}
