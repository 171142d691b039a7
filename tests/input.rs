//! Bad input, end to end: the corpus of tests/bad/ (each case with its
//! blessed error output), the limits on input, and docs/limits.md, whose
//! limits table and error classes are generated from the code and the corpus.
//!
//! A case is `tests/bad/NAME.toml`, run as `tcpsim run tests/bad/NAME.toml`
//! plus the arguments of a first line `# args: …`, or `tests/bad/NAME.args`,
//! a command line run in a directory of files the test makes (a sparse file
//! over a size limit, a link to `/dev/zero`). Its expected stderr is
//! `NAME.stderr`. `TCPSIM_BLESS=1 cargo test --release --test input` rewrites
//! them and docs/limits.md.

use scenario::diag::Class;
use scenario::limits::{PERSONALITY_FILE_BYTES_MAX, SCENARIO_FILE_BYTES_MAX};
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn bless() -> bool {
    std::env::var_os("TCPSIM_BLESS").is_some()
}

/// One bad input: the command line, where it runs, and its expected stderr.
struct Case {
    name: String,
    args: Vec<String>,
    dir: PathBuf,
    expected: PathBuf,
}

impl Case {
    /// The command as docs/limits.md shows it.
    fn command(&self) -> String {
        format!("tcpsim {}", self.args.join(" "))
    }

    fn run(&self) -> (Option<i32>, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
            .args(&self.args)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code(), text(out.stdout), text(out.stderr))
    }
}

/// Every case of tests/bad/, sorted by name.
fn cases() -> Vec<Case> {
    let dir = Path::new(ROOT).join("tests/bad");
    let generated = generated_dir();
    let mut v = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let expected = path.with_extension("stderr");
        match path.extension().and_then(|x| x.to_str()) {
            Some("toml") => {
                let bytes = std::fs::read(&path).unwrap();
                let first = String::from_utf8_lossy(&bytes)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let mut args = vec!["run".to_string(), format!("tests/bad/{name}.toml")];
                if let Some(extra) = first.strip_prefix("# args:") {
                    args.extend(extra.split_whitespace().map(String::from));
                }
                let dir = PathBuf::from(ROOT);
                v.push(Case {
                    name,
                    args,
                    dir,
                    expected,
                });
            }
            Some("args") => {
                let text = std::fs::read_to_string(&path).unwrap();
                let line = text.lines().find(|l| !l.starts_with('#')).unwrap();
                let args = line.split_whitespace().map(String::from).collect();
                let dir = generated.clone();
                v.push(Case {
                    name,
                    args,
                    dir,
                    expected,
                });
            }
            _ => {}
        }
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// The directory `.args` cases run in, with the files they need that the
/// repository cannot hold: sparse files one byte over each size limit (no
/// disk is used), and a personality file that is a link to a device.
/// Written once per test process: the tests of this file run in parallel,
/// and rewriting a file (truncate, then write) while another test's `tcpsim`
/// reads it showed that reader an empty script.
fn generated_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(write_generated_dir).clone()
}

fn write_generated_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-input");
    std::fs::create_dir_all(&dir).unwrap();
    let sparse = |name: &str, len: u64| {
        let f = std::fs::File::create(dir.join(name)).unwrap();
        f.set_len(len).unwrap();
    };
    sparse("too-large.toml", SCENARIO_FILE_BYTES_MAX + 1);
    sparse("big-personality.toml", PERSONALITY_FILE_BYTES_MAX + 1);
    let link = dir.join("zero.toml");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    // A packetdrill script whose second line has no TCP flags.
    std::fs::write(
        dir.join("bad-flags.pkt"),
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < Q 0:0(0) win 65535\n",
    )
    .unwrap();
    for (file, personality) in [
        ("uses-zero-personality.toml", "zero.toml"),
        ("uses-big-personality.toml", "big-personality.toml"),
    ] {
        let text = format!(
            "[hosts.client]\npersonality = \"{personality}\"\n\n[script]\nsteps = [\"0 client socket s\"]\n"
        );
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// Each `error[CLASS]` of an output, in order.
fn classes(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error[")?.split_once(']').map(|(c, _)| c))
        .collect()
}

/// The first error of an output: up to the next line that starts another.
fn first_error(stderr: &str) -> String {
    let mut out = Vec::new();
    for (i, line) in stderr.lines().enumerate() {
        if i > 0 && line.starts_with("error") {
            break;
        }
        out.push(line);
    }
    out.join("\n")
}

/// Classes of errors that have no place in a file to point at.
const UNLOCATED: [&str; 4] = ["usage", "read", "too-large", "personality-file"];

#[test]
fn bad_input_exits_2_with_a_located_error_and_a_hint() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the bad-input corpus has {} cases",
        cases.len()
    );
    for case in &cases {
        let (code, stdout, stderr) = case.run();
        let name = &case.name;
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stdout.is_empty(), "{name}: nothing may run");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(stderr.starts_with("error["), "{name}: {stderr}");
        // Every error is located (`--> file:line:col`) or is about something
        // without a place: an argument, a file that cannot be read.
        for block in stderr.split("\nerror").filter(|b| b.contains(']')) {
            let class = block.trim_start_matches("error").trim_start_matches('[');
            let class = class.split(']').next().unwrap();
            assert!(
                block.contains(" --> ")
                    || UNLOCATED.contains(&class)
                    || block.contains("missing field"),
                "{name}: an error without file:line:col:\n{block}"
            );
            assert!(
                block.contains("= help:") || block.contains("^"),
                "{name}: no hint:\n{block}"
            );
        }
        if bless() {
            std::fs::write(&case.expected, &stderr).unwrap();
        }
        let expected = std::fs::read_to_string(&case.expected).unwrap_or_else(|_| {
            panic!(
                "missing {}; run with TCPSIM_BLESS=1",
                case.expected.display()
            )
        });
        assert_eq!(stderr, expected, "{name}: error output changed");
    }
}

/// The corpus shows every class of error at least once, as the first error
/// of some case (docs/limits.md takes its examples from there).
#[test]
fn every_class_of_error_has_an_example_in_the_corpus() {
    let outputs: Vec<String> = cases().iter().map(|c| c.run().2).collect();
    for class in Class::ALL {
        assert!(
            outputs
                .iter()
                .any(|o| classes(o).first() == Some(&class.key())),
            "no case of tests/bad/ starts with error[{}]",
            class.key()
        );
    }
    for o in &outputs {
        for c in classes(o) {
            assert!(
                Class::ALL.iter().any(|k| k.key() == c),
                "unknown class {c} in\n{o}"
            );
        }
    }
}

/// The parts of docs/limits.md the code generates: the limits table (from
/// `tcpsim::limits::table`) and the error classes, each with the shortest
/// corpus case that shows it first. The prose around them is written by hand.
#[test]
fn docs_limits_md_is_generated_from_the_code_and_the_corpus() {
    let cases = cases();
    let runs: Vec<(String, String)> = cases.iter().map(|c| (c.command(), c.run().2)).collect();
    let example = |class: Class| {
        runs.iter()
            .filter(|(_, err)| classes(err).first() == Some(&class.key()))
            .map(|(cmd, err)| (cmd.clone(), first_error(err)))
            .min_by_key(|(cmd, err)| (err.lines().count(), cmd.clone()))
    };
    let sections = [
        ("limits", tcpsim::limits::markdown()),
        ("errors", scenario::diag::classes_markdown(example)),
    ];
    let path = Path::new(ROOT).join("docs/limits.md");
    let mut doc = std::fs::read_to_string(&path).unwrap();
    for (name, generated) in sections {
        let (begin, end) = (
            format!("<!-- {name}:begin -->\n"),
            format!("<!-- {name}:end -->"),
        );
        let start = doc
            .find(&begin)
            .unwrap_or_else(|| panic!("docs/limits.md lacks {begin}"))
            + begin.len();
        let stop = start
            + doc[start..]
                .find(&end)
                .unwrap_or_else(|| panic!("docs/limits.md lacks {end}"));
        if bless() {
            doc.replace_range(start..stop, &generated);
        } else {
            assert_eq!(
                doc[start..stop],
                generated,
                "docs/limits.md's {name} section is not the generated one; run with TCPSIM_BLESS=1"
            );
        }
    }
    if bless() {
        std::fs::write(&path, doc).unwrap();
    }
}

/// A generated 100,000-step file loads, every step located at its own line.
/// Loading is linear by construction (one line index, binary searches: see
/// scenario/src/source.rs's tests); the bound below only catches a return to
/// rescanning, which took a second per 10,000 steps (100 s here).
#[test]
fn a_100000_step_file_loads_in_well_under_a_second() {
    let steps = 100_000;
    let mut text = String::from(
        "[hosts.client]\npersonality = \"linux\"\n[hosts.server]\npersonality = \"linux\"\n[script]\nsteps = [\n  \"0 server listen l 80\",\n  \"- server accept l as s\",\n  \"1ms client connect c server:80\",\n",
    );
    for i in 3..steps {
        text.push_str(&format!("  \"- client write c {}\",\n", i % 1000 + 1));
    }
    text.push_str("]\n");
    let t = std::time::Instant::now();
    let s = scenario::from_text("big.toml", &text, Path::new("."), &Default::default()).unwrap();
    let elapsed = t.elapsed();
    assert_eq!(s.spec.steps.len(), steps);
    let last = s.spec.steps.last().unwrap().origin.clone().unwrap();
    assert_eq!(last, format!("big.toml:{}:3", steps + 6));
    eprintln!("{steps} steps loaded in {elapsed:?}");
    assert!(elapsed.as_secs() < 10, "{steps} steps took {elapsed:?}");
}

/// At the horizon's edge (a delay, steps and a run of 8760 h each), time
/// only goes forward: every trace entry is at or after the one before, and
/// every segment arrives at or after it was sent.
#[test]
fn time_never_runs_backwards_at_the_horizon() {
    let text = r#"
[scenario]
duration = "8760h"
[hosts.client]
personality = "linux"
[hosts.server]
personality = "linux"
[network]
delay = "8760h"
jitter = "8760h"
[script]
steps = [
  "0 server listen l 80",
  "8760h client connect c server:80",
  "+8760h client write c 10",
  "+8760h client close c",
]
"#;
    let s = scenario::from_text("edge.toml", text, Path::new("."), &Default::default()).unwrap();
    let mut w = sim::World::new(s.spec.clone(), true);
    let v = w.run();
    let times: Vec<model::Instant> = w.trace().iter().map(|e| e.t_ns).collect();
    assert!(times.len() > 3, "the run did something: {v:?}");
    assert!(
        times.windows(2).all(|p| p[0] <= p[1]),
        "time went backwards: {times:?}"
    );
    let past = scenario::from_text(
        "past.toml",
        &text.replace("delay = \"8760h\"", "delay = \"8761h\""),
        Path::new("."),
        &Default::default(),
    );
    let e = past.unwrap_err();
    assert_eq!(e[0].class, Class::Range);
    assert_eq!(e[0].location(), "past.toml:9:9");
}
