//! What `tcpsim` writes, and what writing it costs: `--format jsonl` is
//! `--format json` line by line; a long run is reported in bounded memory
//! (checked under an address-space limit the whole trace would not fit in);
//! runs stopped by a limit say which; output into a closed pipe ends quietly.

mod common;

use serde_json::Value;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};

fn tcpsim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tcpsim"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    c
}

/// `tcpsim ARGS` under `ulimit -v KIB` (an address-space limit): a run that
/// needs more memory than that fails to allocate and aborts.
fn tcpsim_within(kib: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .output()
        .expect("sh runs")
}

fn stdout(o: &Output) -> &str {
    std::str::from_utf8(&o.stdout).expect("UTF-8 output")
}

/// The lines of `--format jsonl` output, each with its `type` taken out.
fn jsonl_lines(text: &str) -> Vec<(String, Value)> {
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let ty = v
                .as_object_mut()
                .and_then(|o| o.remove("type"))
                .unwrap_or_else(|| panic!("a line without a type: {l}"));
            (ty.as_str().expect("a string type").to_string(), v)
        })
        .collect()
}

/// The one line of type `ty`.
fn the_line<'a>(lines: &'a [(String, Value)], ty: &str) -> &'a Value {
    let mut it = lines.iter().filter(|(t, _)| t == ty);
    let line = it.next().unwrap_or_else(|| panic!("no `{ty}` line"));
    assert!(it.next().is_none(), "two `{ty}` lines");
    &line.1
}

/// The trace entries of JSON lines.
fn entries(lines: &[(String, Value)]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|(t, _)| t == "entry")
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn jsonl_is_the_json_report_line_by_line() {
    let mut checked = 0;
    for f in common::toml_files("scenarios") {
        let json = tcpsim()
            .arg("run")
            .arg(&f)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let jsonl = tcpsim()
            .arg("run")
            .arg(&f)
            .args(["--format", "jsonl"])
            .output()
            .unwrap();
        assert_eq!(json.status.code(), jsonl.status.code(), "{}", f.display());
        let doc: Value = serde_json::from_str(stdout(&json)).expect("one JSON document");
        let lines = jsonl_lines(stdout(&jsonl));
        let kinds: Vec<&str> = lines.iter().map(|(t, _)| t.as_str()).collect();
        let n = kinds.len();
        assert_eq!(kinds[0], "run", "{}", f.display());
        assert_eq!(kinds[n - 3..], ["verdict", "errors", "expectations"]);
        assert!(kinds[1..n - 3].iter().all(|k| *k == "entry"));
        let run = &lines[0].1;
        for key in ["scenario", "seed", "hosts"] {
            assert_eq!(run[key], doc[key], "{key} of {}", f.display());
        }
        let trace: Vec<&Value> = doc["trace"].as_array().expect("trace").iter().collect();
        assert_eq!(entries(&lines), trace, "{}", f.display());
        assert_eq!(doc["trace_entries"], trace.len() as u64);
        assert_eq!(doc["trace_dropped"], 0);
        assert_eq!(*the_line(&lines, "verdict"), doc["verdict"]);
        assert_eq!(the_line(&lines, "errors")["errors"], doc["errors"]);
        assert_eq!(
            the_line(&lines, "expectations")["expectations_failed"],
            doc["expectations_failed"]
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} corpus scenarios");
}

/// 400,000 events, about 1.3 million trace entries: 85 MB held whole, more
/// than the 64 MiB of address space each run below is given.
const LONG: &str = "tests/limits/long-transfer.toml";
const LIMIT_KIB: u64 = 64 * 1024;

#[test]
fn a_long_run_is_reported_in_bounded_memory() {
    let jsonl = tcpsim_within(LIMIT_KIB, &["run", LONG, "--format", "jsonl"]);
    assert_eq!(
        jsonl.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&jsonl.stderr)
    );
    let lines = jsonl_lines(stdout(&jsonl));
    let all = entries(&lines);
    assert!(all.len() > 1_000_000, "{} entries", all.len());
    let json = tcpsim_within(
        LIMIT_KIB,
        &["run", LONG, "--format", "json", "--max-trace-entries", "50"],
    );
    assert_eq!(
        json.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let doc: Value = serde_json::from_str(stdout(&json)).unwrap();
    // The bounded report's verdict is the streamed run's, which saw every entry.
    assert_eq!(doc["verdict"], *the_line(&lines, "verdict"));
    assert_eq!(doc["verdict"]["outcome"], "event-budget");
    assert_eq!(doc["trace_entries"], all.len() as u64);
    assert_eq!(doc["trace_dropped"], all.len() as u64 - 50);
    let kept: Vec<&Value> = doc["trace"].as_array().unwrap().iter().collect();
    assert_eq!(kept, all[all.len() - 50..]);
    let text = tcpsim_within(LIMIT_KIB, &["run", LONG]);
    assert_eq!(text.status.code(), Some(0));
    let shown = format!("trace: last 100000 of {} entries shown", all.len());
    assert!(stdout(&text).contains(&shown), "{}", stdout(&text));
    let quiet = tcpsim_within(LIMIT_KIB, &["run", LONG, "-q"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(!stdout(&quiet).contains("trace:"));
}

#[test]
fn a_run_stopped_by_a_limit_names_it() {
    let out = tcpsim()
        .args(["run", "tests/limits/event-budget.toml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "outcome = \"event-budget\" holds"
    );
    let text = stdout(&out);
    assert!(text.contains("verdict: event-budget\n"), "{text}");
    assert!(
        text.contains("stopped by its event budget of 300 events"),
        "{text}"
    );
    assert!(text.contains("run ended: the event budget of 300 events ran out at "));
    let out = tcpsim()
        .args(["run", "tests/limits/event-budget.toml", "--format", "json"])
        .output()
        .unwrap();
    let v = &serde_json::from_str::<Value>(stdout(&out)).unwrap()["verdict"];
    assert_eq!(
        (&v["outcome"], &v["end"]),
        (&"event-budget".into(), &"event-budget".into())
    );
    assert_eq!(
        (&v["events"], &v["limits"]["max_events"]),
        (&300.into(), &300.into())
    );

    let out = tcpsim()
        .args(["run", "tests/limits/time-limit.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "outcome = \"time-limit\" holds");
    let text = stdout(&out);
    assert!(text.contains("verdict: time-limit\n"), "{text}");
    assert!(
        text.contains("run ended: the time limit of 1000.000 ms was reached"),
        "{text}"
    );
    let out = tcpsim()
        .args(["run", "tests/limits/time-limit.toml", "--format", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_str(stdout(&out)).unwrap();
    let v = &doc["verdict"];
    assert_eq!(
        (&v["outcome"], &v["end"]),
        (&"time-limit".into(), &"time-limit".into())
    );
    // The limit, not the last event's time.
    assert_eq!(v["end_ns"], 1_000_000_000u64);
    assert_eq!(v["limits"]["max_time_ns"], 1_000_000_000u64);
    let last_ns = doc["trace"].as_array().unwrap().last().unwrap()["t_ns"]
        .as_u64()
        .unwrap();
    assert!(
        last_ns < 10_000_000,
        "the last event is near the start: {last_ns}"
    );
}

/// Runs `tcpsim ARGS` with its stdout a pipe nobody reads any more: the
/// reading process has exited before tcpsim starts.
fn into_a_closed_pipe(args: &[&str]) -> Output {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("true runs");
    let pipe = reader.stdin.take().expect("a pipe");
    reader.wait().expect("true exits");
    tcpsim()
        .args(args)
        .stdout(Stdio::from(pipe))
        .stderr(Stdio::piped())
        .output()
        .expect("tcpsim runs")
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let commands: [&[&str]; 8] = [
        &["personalities", "matrix"],
        &[
            "run",
            "scenarios/close-with-unread.toml",
            "--format",
            "json",
        ],
        &["test", "scenarios"],
        &["fuzz", "--survey", "--markdown", "--cases", "200"],
        &["fuzz", "--cases", "200"],
        &["test", "scenarios", "--format", "json"],
        &["calls", "--format", "json"],
        &["compare", "scenarios/rsync-cygwin-exit.toml"],
    ];
    for args in commands {
        let out = into_a_closed_pipe(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Killed by SIGPIPE at its first write, as `cat` would be (a shell
        // shows status 141), with no panic and no message about the pipe.
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {:?}\n{stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

/// The pipelines as a user types them: `head` reads its first line and
/// leaves. Output longer than a pipe holds (64 KiB) meets the closed pipe:
/// the shell sees tcpsim killed by SIGPIPE (status 141, what `yes | head -1`
/// shows); a short one may be written whole before `head` leaves (status 0).
/// Either way nothing on stderr.
#[test]
fn piped_into_head_ends_with_the_conventional_status() {
    let pipelines = [
        ("run tests/limits/long-transfer.toml | head -1", "141"),
        (
            "run tests/limits/long-transfer.toml --format jsonl | head -1",
            "141",
        ),
        (
            "run scenarios/lossy-graceful-close.toml --format json | head -1",
            "141",
        ),
        ("atlas | head -1", "141"),
        ("fuzz --cases 2000 | head -1", "0|141"),
        ("test scenarios | head -1", "0|141"),
        ("personalities matrix | head -1", "0|141"),
    ];
    for (line, status) in pipelines {
        let out = Command::new("bash")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .arg("-c")
            .arg(format!(
                "\"$0\" {line} >/dev/null; echo \"status ${{PIPESTATUS[0]}}\" >&2"
            ))
            .arg(env!("CARGO_BIN_EXE_tcpsim"))
            .output()
            .expect("bash runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown = stderr.strip_prefix("status ").map(str::trim);
        assert!(
            shown.is_some_and(|s| status.split('|').any(|x| x == s)),
            "tcpsim {line}: expected status {status} and nothing else on stderr:\n{stderr}"
        );
    }
}

/// `tcpsim ARGS` on a terminal (util-linux `script` gives it a pty), with
/// `NO_COLOR` set or not; what the terminal showed.
fn on_a_terminal(args: &str, no_color: bool) -> String {
    let mut c = Command::new("script");
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .args(["-q", "-e", "-c"])
        .arg(format!("{} {args}", env!("CARGO_BIN_EXE_tcpsim")))
        .arg("/dev/null");
    if no_color {
        c.env("NO_COLOR", "1");
    }
    let out = c.output().expect("script runs");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Colour on a terminal, none with `NO_COLOR`, none into a pipe; the text is
/// the same either way.
#[test]
fn colour_only_on_a_terminal_and_not_with_no_color() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` (util-linux) to make a terminal");
        return;
    }
    for args in [
        "run scenarios/close-with-unread.toml",
        "compare scenarios/close-with-unread.toml",
    ] {
        let tty = on_a_terminal(args, false);
        assert!(tty.contains("\x1b["), "{args}: no colour on a terminal");
        let plain = on_a_terminal(args, true);
        assert!(!plain.contains('\x1b'), "{args}: colour with NO_COLOR");
        let mut piped = tcpsim();
        piped.env_remove("NO_COLOR");
        let piped = piped.args(args.split(' ')).output().expect("tcpsim runs");
        let piped = String::from_utf8(piped.stdout).unwrap();
        assert!(!piped.contains('\x1b'), "{args}: colour into a pipe");
        assert_eq!(plain.replace("\r\n", "\n"), piped, "{args}: the same text");
    }
    let tty = on_a_terminal("run scenarios/close-with-unread.toml", false);
    let verdict = tty.lines().find(|l| l.contains("verdict: ")).unwrap();
    assert!(
        verdict.starts_with("\x1b["),
        "the verdict is coloured: {verdict:?}"
    );
}

/// The number after `prefix` in `text`, up to the next space.
fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    rest.split(' ').next()?.parse().ok()
}

/// A loss whose discard the ladder shows as larger says why: the verdict's
/// bytes are the discard less what had already arrived, and the discard is
/// the one the trace (the ladder's line) reports. Over the whole corpus.
#[test]
fn the_discard_line_and_the_verdicts_loss_agree_or_say_why() {
    let mut explained = 0;
    for file in common::toml_files("scenarios") {
        let doc = common::json(&["run", file.to_str().unwrap()]);
        let discards: Vec<u64> = doc["trace"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["event"] == "discard")
            .map(|e| e["event"]["bytes"].as_u64().unwrap())
            .collect();
        let directions = doc["verdict"]["connections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["directions"].as_array().unwrap().clone());
        for loss in directions.flat_map(|d| d["losses"].as_array().unwrap().clone()) {
            let why = loss["why"].as_str().unwrap();
            let Some(arrived) = number_after(why, "of which ") else {
                continue;
            };
            let discarded = number_after(why, "(").or_else(|| {
                let at = why.rfind("B discarded")?;
                why[..at].trim_end().rsplit(['(', ' ']).next()?.parse().ok()
            });
            let discarded = discarded.unwrap();
            assert_eq!(
                loss["bytes"].as_u64().unwrap() + arrived,
                discarded,
                "{}: {why}",
                file.display()
            );
            assert!(discards.contains(&discarded), "{}: {why}", file.display());
            explained += 1;
        }
    }
    assert!(
        explained >= 3,
        "the corpus explains {explained} such losses"
    );
}

/// A call on a socket name that has no descriptor (here a second close)
/// prints `-` where the descriptor goes, not the u32::MAX the simulator
/// passes its host to mean "no such descriptor".
/// The `fd` of every `close` call in a JSON document, in order.
fn close_fds(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) if m.get("call") == Some(&Value::from("close")) => {
            out.push(m.get("fd").cloned().expect("a close names its fd"));
        }
        Value::Object(m) => m.values().for_each(|x| close_fds(x, out)),
        Value::Array(a) => a.iter().for_each(|x| close_fds(x, out)),
        _ => {}
    }
}

#[test]
fn a_call_without_a_descriptor_is_a_dash_in_text_and_null_in_json() {
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("close-twice.toml");
    std::fs::write(
        &file,
        "[hosts.client]\npersonality = \"linux\"\n[hosts.server]\npersonality = \"linux\"\n\
         [script]\nsteps = [\n  \"0 server listen l 80\",\n  \"1ms client connect c server:80\",\n  \
         \"5ms server accept l as s\",\n  \"20ms server close s = 0\",\n  \
         \"- server close s = EBADF\",\n]\n",
    )
    .unwrap();
    let out = tcpsim()
        .arg("run")
        .arg(&file)
        .output()
        .expect("tcpsim runs");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("server: close(4) = 0"), "{text}");
    assert!(text.contains("server: close(-) = EBADF"), "{text}");
    assert!(!text.contains("4294967295"), "{text}");
    // In JSON the missing descriptor is `null`, the one that exists a number.
    for format in ["json", "jsonl"] {
        let out = tcpsim()
            .args(["run", "--format", format])
            .arg(&file)
            .output()
            .expect("tcpsim runs");
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{format}: {text}");
        let mut fds = Vec::new();
        for doc in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            close_fds(&doc.expect("JSON"), &mut fds);
        }
        // Each close is traced as its call and its return.
        let want: Vec<Value> = vec![4.into(), 4.into(), Value::Null, Value::Null];
        assert_eq!(fds, want, "{format}: {text}");
        assert!(!text.contains("4294967295"), "{format}: {text}");
    }
}
