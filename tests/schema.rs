//! The JSON documents are what their schemas (docs/schema/, generated from
//! the serializing types by `tcpsim schema`) say: the files are current, and
//! real outputs of every command that writes JSON validate against them.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn tcpsim(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("tcpsim runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "tcpsim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The validator for `docs/schema/<name>.schema.json`.
fn validator(name: &str) -> jsonschema::Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/schema/{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("a schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .take(5)
        .collect();
    assert!(errors.is_empty(), "{what}: {}", errors.join("\n"));
}

#[test]
fn the_schema_files_are_what_tcpsim_schema_generates() {
    let dir = tempfile::tempdir().unwrap();
    tcpsim(&["schema", "--write", dir.path().to_str().unwrap()]);
    let listed = String::from_utf8(tcpsim(&["schema"])).unwrap();
    for line in listed.lines() {
        let name = line.split_whitespace().next().unwrap();
        let file = format!("{name}.schema.json");
        let generated = std::fs::read_to_string(dir.path().join(&file)).unwrap();
        let kept = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs/schema")
                .join(&file),
        )
        .unwrap_or_default();
        assert!(
            generated == kept,
            "docs/schema/{file} is stale: run `tcpsim schema --write docs/schema`"
        );
    }
}

#[test]
fn every_run_report_of_the_corpus_validates() {
    let (json, lines) = (validator("run"), validator("run-jsonl"));
    for file in common::toml_files("scenarios") {
        let f = file.to_str().unwrap();
        let doc: Value = serde_json::from_slice(&tcpsim(&["run", f, "--format", "json"])).unwrap();
        assert_valid(&json, &doc, f);
        for line in String::from_utf8(tcpsim(&["run", f, "--format", "jsonl"]))
            .unwrap()
            .lines()
        {
            assert_valid(&lines, &serde_json::from_str(line).unwrap(), f);
        }
    }
}

#[test]
fn compare_and_survey_documents_validate() {
    let compare = validator("compare");
    for f in [
        "scenarios/rsync-cygwin-exit.toml",
        "scenarios/close-with-unread.toml",
    ] {
        let doc: Value =
            serde_json::from_slice(&tcpsim(&["compare", f, "--format", "json"])).unwrap();
        assert_valid(&compare, &doc, f);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("survey.json");
    tcpsim(&[
        "fuzz",
        "--survey",
        "--cases",
        "300",
        "--out",
        out.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_valid(&validator("survey"), &doc, "survey");
}

#[test]
fn the_schemas_reject_what_tcpsim_does_not_write() {
    let v = validator("run");
    let doc: Value = serde_json::from_slice(&tcpsim(&[
        "run",
        "scenarios/fin-lost.toml",
        "--format",
        "json",
    ]))
    .unwrap();
    let mut renamed = doc.clone();
    let verdict = renamed.as_object_mut().unwrap().remove("verdict").unwrap();
    renamed["result"] = verdict;
    assert!(!v.is_valid(&renamed), "a renamed field passes");
    let mut bad_outcome = doc.clone();
    bad_outcome["verdict"]["outcome"] = "fine".into();
    assert!(!v.is_valid(&bad_outcome), "an unknown outcome passes");
    for at in [
        "/verdict",
        "/trace/0",
        "/verdict/connections/0/directions/0",
        "/hosts/0",
    ] {
        let mut extra = doc.clone();
        extra.pointer_mut(at).unwrap()["undocumented"] = 1.into();
        assert!(
            !v.is_valid(&extra),
            "a field the schema does not name passes at {at}"
        );
    }
    let mut bad_cause = doc;
    bad_cause["verdict"]["resets"] = serde_json::json!([]);
    assert!(
        v.is_valid(&bad_cause),
        "an empty reset list is a valid document"
    );
}

#[test]
fn a_kernel_report_validates() {
    if let Some(why) = tcpsim::real::plan::missing_privileges() {
        eprintln!("skipped: {why}");
        return;
    }
    let (json, lines) = (validator("real"), validator("real-jsonl"));
    let f = "scenarios/close-with-unread.toml";
    let doc: Value =
        serde_json::from_slice(&tcpsim(&["real", f, "--compare", "--format", "json"])).unwrap();
    assert_valid(&json, &doc, f);
    for line in String::from_utf8(tcpsim(&["real", f, "--format", "jsonl"]))
        .unwrap()
        .lines()
    {
        assert_valid(&lines, &serde_json::from_str(line).unwrap(), f);
    }
}

/// Every object key and every one-word string value of a document is spelled
/// the documented way: field names in snake_case, names in kebab-case (or an RFC
/// state / errno / option name in capitals), never a Rust enum's PascalCase
/// variant (`"DelayedAck"`, `{"Ok": 5}`); a call's result is a count or an
/// errno name.
fn assert_spelled(v: &Value, at: &str, what: &str) {
    // Winsock's own API names (`WSACleanup`, a call's alias) are spelled as
    // Microsoft spells them.
    let pascal = |s: &str| {
        let mut c = s.chars();
        if s.starts_with("WSA") {
            return false;
        }
        // C names (`SO_LINGER.l_onoff`) have `_` or `.`; a Rust variant has neither.
        let word = s.chars().all(|x| x.is_ascii_alphanumeric());
        word && c.next().is_some_and(|f| f.is_ascii_uppercase())
            && c.any(|x| x.is_ascii_lowercase())
    };
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                // A field is snake_case; a map's key is data (`"actor:
                // data-after-close"`), but never a Rust variant (`"Ok"`).
                let field = k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                let snake = k
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                assert!(
                    !field || snake,
                    "{what}: key `{k}` at {at} is not snake_case"
                );
                if k == "result" {
                    let errno = x.as_str().is_some_and(|e| {
                        e.starts_with('E') && e.chars().all(|c| c.is_ascii_uppercase())
                    });
                    assert!(x.is_u64() || errno, "{what}: result {x} at {at}");
                }
                assert_spelled(x, &format!("{at}/{k}"), what);
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_spelled(x, &format!("{at}/{i}"), what)),
        Value::String(s) if !s.contains(' ') => {
            assert!(!pascal(s), "{what}: `{s}` at {at} is a Rust name")
        }
        _ => {}
    }
}

/// Every scenario file of the corpus, subfolders included.
fn corpus() -> Vec<std::path::PathBuf> {
    let mut files = common::toml_files("scenarios");
    for sub in ["scenarios/personalities", "scenarios/kernel"] {
        files.extend(common::toml_files(sub));
    }
    files
}

#[test]
fn every_json_document_of_the_corpus_is_spelled_one_way() {
    for file in corpus() {
        let f = file.to_str().unwrap();
        let doc: Value = serde_json::from_slice(&tcpsim(&["run", f, "--format", "json"])).unwrap();
        assert_spelled(&doc, "", f);
    }
    let doc: Value = serde_json::from_slice(&tcpsim(&[
        "compare",
        "scenarios/rsync-cygwin-exit.toml",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_spelled(&doc, "", "compare");
}

#[test]
fn a_call_result_is_a_count_or_an_errno_name() {
    let doc: Value = serde_json::from_slice(&tcpsim(&[
        "run",
        "scenarios/close-with-unread.toml",
        "--format",
        "json",
    ]))
    .unwrap();
    let results: Vec<&Value> = doc["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.get("result"))
        .collect();
    assert!(results.contains(&&Value::from(1000u64)), "{results:?}");
    assert!(results.contains(&&Value::from("ECONNRESET")), "{results:?}");
}

/// Each document and a command that writes it (`out`: a directory for
/// counterexamples).
fn documents(out: &str) -> [(&'static str, Vec<&str>); 12] {
    [
        ("test", vec!["test", "scenarios", "--format", "json"]),
        ("calls", vec!["calls", "--format", "json"]),
        ("personalities", vec!["personalities", "--format", "json"]),
        (
            "personality",
            vec!["personalities", "show", "winsock-xp", "--format", "json"],
        ),
        (
            "personalities-diff",
            vec![
                "personalities",
                "diff",
                "linux",
                "personalities/macos-10.13.toml",
                "--format",
                "json",
            ],
        ),
        (
            "personalities-matrix",
            vec!["personalities", "matrix", "--format", "json"],
        ),
        ("fuzz", vec!["fuzz", "--cases", "200", "--format", "json"]),
        (
            "fuzz",
            vec![
                "fuzz",
                "--property",
                "no-silent-loss",
                "--out",
                out,
                "--format",
                "json",
            ],
        ),
        (
            "survey",
            vec!["fuzz", "--survey", "--cases", "200", "--format", "json"],
        ),
        (
            "atlas-diff",
            vec!["atlas", "--diff", "linux", "winsock-xp", "--format", "json"],
        ),
        (
            "explore",
            vec![
                "explore",
                "scenarios/explore-close.toml",
                "--calls",
                "close,read-all",
                "--format",
                "json",
            ],
        ),
        (
            "compare",
            vec![
                "compare",
                "scenarios/close-with-unread.toml",
                "--format",
                "json",
            ],
        ),
    ]
}

/// Each command's JSON document, written for real, against its schema and
/// the one spelling; `fuzz` with a property that fails, so its
/// counterexamples are in the document.
#[test]
fn every_command_writes_the_json_its_schema_documents() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for (name, args) in documents(out) {
        let doc: Value = serde_json::from_slice(&tcpsim(&args))
            .unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"));
        assert_valid(&validator(name), &doc, &format!("{args:?}"));
        assert_spelled(&doc, "", &format!("{args:?}"));
    }
    let found: Value = serde_json::from_slice(&tcpsim(&[
        "fuzz",
        "--property",
        "no-silent-loss",
        "--out",
        out,
        "--format",
        "json",
    ]))
    .unwrap();
    let first = &found["counterexamples"][0];
    assert_eq!(first["property"], "no-silent-loss");
    let file = first["file"].as_str().unwrap();
    assert!(Path::new(file).is_file(), "{file} is written");
    assert!(Path::new(first["capture"].as_str().unwrap()).is_file());
}

#[test]
fn the_whole_atlas_validates() {
    let doc: Value = serde_json::from_slice(&tcpsim(&["atlas", "--format", "json"])).unwrap();
    assert_valid(&validator("atlas"), &doc, "atlas");
    assert_spelled(&doc, "", "atlas");
}

/// A document's counts are the statuses it lists: `test --format json` is
/// the text report's verdict, not a constant.
#[test]
fn the_test_document_counts_what_it_lists() {
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("failing.toml");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/close-with-unread.toml"),
    )
    .unwrap()
    .replace("\"client->server\" = 1000", "\"client->server\" = 999");
    std::fs::write(&failing, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "test",
            "scenarios/fin-lost.toml",
            failing.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failed expectation is exit 1");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&doc["passed"], &doc["failed"]), (&1.into(), &1.into()));
    let failed = &doc["scenarios"][0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failures"][0]["expected"], "999");
}

/// docs/json.md's table names every document `tcpsim schema` lists, with its
/// schema file.
#[test]
fn docs_json_lists_every_document() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md"))
        .unwrap();
    let listed = String::from_utf8(tcpsim(&["schema"])).unwrap();
    for line in listed.lines() {
        let name = line.split_whitespace().next().unwrap();
        let row = format!("| {name} | ");
        let file = format!("`docs/schema/{name}.schema.json`");
        assert!(
            doc.lines()
                .any(|l| l.starts_with(&row) && l.contains(&file)),
            "docs/json.md has no row for `{name}`"
        );
    }
}
