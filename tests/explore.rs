//! `tcpsim explore` end to end: a small exploration whose classes are
//! worked out by hand, witnesses that `tcpsim run` replays, shards that merge
//! into the unsharded result, the same result on any number of threads,
//! `--check`, the state bound, DOT, and bad arguments.

mod common;

use common::{json, succeeds, tcpsim};
use serde_json::Value;
use std::path::Path;

const START: &str = "scenarios/explore-close.toml";

/// One close or write each, and one of each of the network's faults.
const FAULTS: [&str; 10] = [
    "--calls",
    "close,write",
    "--max-calls",
    "1",
    "--losses",
    "1",
    "--dups",
    "1",
    "--reorders",
    "1",
];

/// Each class's one-line text, in the report's order.
fn class_texts(report: &Value) -> Vec<String> {
    report["pairs"][0]["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .map(|c| c["text"].as_str().expect("text").to_string())
        .collect()
}

/// With one call each (close) and a perfect network, by hand: nobody calls
/// (the connection stays up); one side closes and the other never does
/// (the closer's FIN-WAIT-2 timer ends it, the other stays in CLOSE-WAIT),
/// twice; both close before that timer (both end CLOSED, through TIME-WAIT
/// on the first closer); and one side closes after the other's FIN-WAIT-2
/// timer fired, so its FIN meets a closed port and draws an RST, twice.
/// Six classes: the explorer must find exactly these.
#[test]
fn one_close_each_ends_in_the_six_classes_worked_out_by_hand() {
    let r = json(&["explore", START, "--calls", "close", "--max-calls", "1"]);
    let texts = class_texts(&r);
    let expected = [
        "clean; ends CLOSE-WAIT/CLOSED",
        "clean; ends CLOSED/CLOSE-WAIT",
        "clean; ends CLOSED/CLOSED",
        "clean; ends ESTABLISHED/ESTABLISHED",
        "reset-without-loss; RST client: no-connection; ends CLOSED/CLOSED",
        "reset-without-loss; RST server: no-connection; ends CLOSED/CLOSED",
    ];
    assert_eq!(texts, expected, "{r:#}");
    let pair = &r["pairs"][0];
    // The states of those paths (each event of each interleaving), pinned:
    // a change in the model's event sequence shows up here.
    assert_eq!(pair["states"], 44, "{pair:#}");
    assert_eq!(pair["pair"], serde_json::json!(["linux", "linux"]));
}

/// Every witness of a bigger exploration (two calls of four, data both
/// ways), and of one where the network loses, duplicates and reorders
/// (written as `[[network.drop]]` and `[[network.fault]]`), is a scenario
/// file whose own expectations (outcome, RSTs with their causes, bytes lost,
/// final states) `tcpsim run` confirms.
#[test]
fn every_witness_replays_with_tcpsim_run() {
    for (extra, at_least) in [(&["--max-calls", "2"][..], 40), (&FAULTS[..], 15)] {
        witnesses_replay(extra, at_least);
    }
}

/// A read whose `blocked=` is checked, measured across the clock's moves
/// to the epoch (`World::canonicalize` moves when the call started with
/// it): each class's witness, run, ends in the class the explorer found
/// (a run of a hung read's witness fails its own expectation, so the
/// explorer's `replays` says it, not the exit code).
#[test]
fn a_blocked_expectation_replays_across_the_clocks_moves() {
    let menu = "read 1000 = 1000 blocked=0ms±1ms,write,close";
    let r = json(&["explore", START, "--calls", menu, "--max-calls", "2"]);
    let classes = r["pairs"][0]["classes"].as_array().unwrap();
    assert!(classes.len() >= 40, "{} classes", classes.len());
    for c in classes {
        assert_eq!(c["witness"]["replays"], true, "{}", c["text"]);
    }
}

fn witnesses_replay(extra: &[&str], at_least: usize) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = json(&[&["explore", START, "--out", out][..], extra].concat());
    let classes = r["pairs"][0]["classes"].as_array().unwrap();
    assert!(
        classes.len() >= at_least,
        "{extra:?}: {} classes",
        classes.len()
    );
    for c in classes {
        let file = c["witness"]["file"].as_str().unwrap();
        let path = Path::new(out).join(file);
        let run = tcpsim().arg("run").arg(&path).arg("-q").output().unwrap();
        assert_eq!(
            run.status.code(),
            Some(0),
            "{file} ({}) does not replay: {}{}",
            c["text"],
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

/// `--shard K/N` for every K, merged, is the unsharded result, byte for
/// byte; and the result does not depend on the number of threads.
#[test]
fn shards_merge_into_the_unsharded_result_on_any_number_of_threads() {
    let args = [
        "explore",
        START,
        "--calls",
        "close,shutdown-wr,read-all,write",
    ];
    let run = |extra: &[&str]| {
        let out = succeeds(tcpsim().args(args).args(extra).args(["--format", "json"]));
        String::from_utf8(out.stdout).unwrap()
    };
    let whole = run(&["--threads", "2"]);
    assert_eq!(run(&["--threads", "1"]), whole, "1 thread and 2 differ");
    let dir = tempfile::tempdir().unwrap();
    let saves: Vec<String> = (0..3)
        .map(|k| {
            dir.path()
                .join(format!("s{k}.json"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for (k, save) in saves.iter().enumerate() {
        run(&["--shard", &format!("{k}/3"), "--save", save]);
    }
    let merged = succeeds(
        tcpsim()
            .args(["explore", "merge"])
            .args(&saves)
            .args(["--format", "json"]),
    );
    assert_eq!(String::from_utf8(merged.stdout).unwrap(), whole);
    // A shard alone is not the whole.
    let one: Value = serde_json::from_str(&run(&["--shard", "0/3"])).unwrap();
    let all: Value = serde_json::from_str(&whole).unwrap();
    assert!(one["pairs"][0]["states"].as_u64() < all["pairs"][0]["states"].as_u64());
}

/// `--check no-silent-loss`: writing then closing can lose bytes silently
/// (exit 1, with a witness that shows it); half-closing and reading
/// everything cannot (exit 0).
#[test]
fn check_finds_a_silent_loss_and_proves_its_absence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let bad = tcpsim()
        .args(["explore", START, "--check", "no-silent-loss", "--out", out])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(text.contains("check no-silent-loss: VIOLATED"), "{text}");
    let witness = dir.path().join("linux-linux-check-no-silent-loss.toml");
    let replay = succeeds(tcpsim().arg("run").arg(&witness));
    let ladder = String::from_utf8_lossy(&replay.stdout);
    assert!(ladder.contains("SILENT"), "{ladder}");
    let good = tcpsim()
        .args(["explore", START, "--check", "no-silent-loss"])
        .args(["--calls", "shutdown-wr,read-all"])
        .output()
        .unwrap();
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("check no-silent-loss: holds"));
}

/// The state bound stops the search cleanly and the report says what the
/// result still covers.
#[test]
fn the_state_bound_is_named_in_the_result() {
    let out = succeeds(tcpsim().args(["explore", START, "--max-states", "100"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("100 distinct states"), "{text}");
    assert!(
        text.contains("the bound --max-states 100 was reached"),
        "{text}"
    );
    assert!(
        text.contains("the result covers every path of at most"),
        "{text}"
    );
}

/// The DOT quotient has one node per pair of TCP states reached and one
/// coloured node per class of ends.
#[test]
fn dot_quotient_names_state_pairs_and_colours_classes() {
    let dir = tempfile::tempdir().unwrap();
    let dot = dir.path().join("g.dot");
    succeeds(
        tcpsim()
            .args([
                "explore",
                START,
                "--calls",
                "close",
                "--max-calls",
                "1",
                "--dot-quotient",
            ])
            .arg("--dot")
            .arg(&dot),
    );
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.starts_with("digraph"), "{text}");
    for pair in [
        "ESTABLISHED/ESTABLISHED",
        "FIN-WAIT-2/CLOSE-WAIT",
        "TIME-WAIT/LAST-ACK",
    ] {
        assert!(text.contains(&format!("\"{pair}\"")), "no {pair}: {text}");
    }
    assert_eq!(text.matches("fillcolor").count(), 6, "{text}");
}

#[test]
fn bad_arguments_are_input_errors() {
    let cases: [&[&str]; 5] = [
        &["explore", START, "--calls", "bogus"],
        &["explore", START, "--personalities", "linux,nosuch"],
        &["explore", START, "--personalities", "linux"],
        &[
            "explore",
            "scenarios/listen-queue-full.toml",
            "--max-calls",
            "99",
        ],
        &["explore"],
    ];
    for args in cases {
        let out = tcpsim().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error"), "{args:?}: {err}");
        assert!(!err.contains("error: error"), "{args:?}: {err}");
    }
}

/// Each class's text and the length of its shortest witness, and each
/// livelock's length, sorted: what a reduction must leave as it is.
fn outcomes(report: &Value) -> (Vec<(String, u64)>, Vec<String>) {
    let pair = &report["pairs"][0];
    let mut classes: Vec<(String, u64)> = pair["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .map(|c| {
            let text = c["text"].as_str().expect("text").to_string();
            (text, c["witness"]["choices"].as_u64().expect("choices"))
        })
        .collect();
    classes.sort();
    let mut livelocks: Vec<String> = pair["livelocks"]
        .as_array()
        .expect("livelocks")
        .iter()
        .map(|l| l.to_string())
        .collect();
    livelocks.sort();
    (classes, livelocks)
}

/// The reduction (on unless `--no-reduction`) merges only states whose
/// futures are the same (a done process's position, a spent side's calls,
/// when a call started that no `blocked=` reads): on several complete
/// explorations (one of four hosts) it reaches the same classes, each by
/// a witness as short, the same livelocks, every witness replays, and it
/// keeps fewer states where a side can finish its calls by different
/// histories.
#[test]
fn the_reduction_keeps_every_class_and_its_shortest_witness() {
    let faults = [&FAULTS[..], &["--personalities", "linux,freebsd"]].concat();
    // A scenario of four hosts with injected segments, then the close.
    let learned = ["scenarios/learned-peer-rst-then-data.toml"];
    let with_faults = [&[START][..], &faults].concat();
    let explorations: [&[&str]; 5] = [
        &learned,
        &[START],
        &with_faults,
        &[
            START,
            "--calls",
            "close,shutdown-wr,linger0,nonblocking,exit",
            "--max-calls",
            "2",
            "--personalities",
            "linux,winsock-xp",
        ],
        &[
            START,
            "--check",
            "no-silent-loss",
            "--calls",
            "write,close,shutdown-wr,read-all",
        ],
    ];
    let mut fewer = 0;
    for args in explorations {
        let run = |extra: &[&str]| {
            let mut all = vec!["explore"];
            all.extend_from_slice(args);
            all.extend_from_slice(extra);
            json(&all)
        };
        let (reduced, whole) = (run(&[]), run(&["--no-reduction"]));
        assert_eq!(outcomes(&reduced), outcomes(&whole), "{args:?}");
        let states = |r: &Value| r["pairs"][0]["states"].as_u64().expect("states");
        assert!(states(&reduced) <= states(&whole), "{args:?}");
        fewer += usize::from(states(&reduced) < states(&whole));
        for c in reduced["pairs"][0]["classes"].as_array().expect("classes") {
            assert_eq!(c["witness"]["replays"], true, "{args:?}: {c:#}");
        }
    }
    assert!(
        fewer >= 3,
        "the reduction merged states in {fewer} explorations"
    );
}

/// A graph as comparable data: each state's digest, parent, TCP pair and
/// class, each transition in order, each class's first state and states,
/// the violation, how deep every path was followed.
fn graph_of(ex: &tcpsim::explore::search::Explored) -> String {
    use petgraph::visit::EdgeRef;
    let nodes: Vec<_> = ex
        .graph
        .node_indices()
        .map(|n| {
            (
                ex.digests[n.index()],
                &ex.graph[n].parent,
                ex.graph[n].pair,
                ex.graph[n].class,
            )
        })
        .collect();
    let edges: Vec<_> = ex
        .graph
        .edge_references()
        .map(|e| (e.source(), e.target(), *e.weight()))
        .collect();
    let classes: Vec<_> = ex.classes.iter().collect();
    format!(
        "{nodes:?}\n{edges:?}\n{classes:?}\n{:?} {}",
        ex.violation, ex.depth_complete
    )
}

/// The depth-first search, on one thread and on two (whose order of
/// finding states depends on timing), gives the breadth-first search's
/// graph exactly: the same states at the same numbers with the same
/// parents (so the same witnesses), the same transitions in the same
/// order, the same classes and the same first violation.
#[test]
fn the_depth_first_search_gives_the_breadth_first_graph() {
    use tcpsim::explore::dfs::depth_first;
    use tcpsim::explore::search::{breadth_first, Config};
    use tcpsim::explore::setup::{parse_items, setup, Bounds};
    use tcpsim::fuzz::{Property, Shard};
    let menus: [(&[&str], u8, u8, Option<Property>); 3] = [
        (&["close", "linger0", "read-all", "write"], 2, 0, None),
        (&["close", "write"], 1, 1, None),
        (
            &["close", "shutdown-wr", "write"],
            1,
            1,
            Property::parse("no-silent-loss"),
        ),
    ];
    for (calls, max_calls, faults, check) in menus {
        let calls: Vec<String> = calls.iter().map(|s| s.to_string()).collect();
        let bounds = Bounds {
            items: parse_items(&calls, 1000).expect("a menu"),
            max_calls,
            max_writes: 2,
            max_bytes: 1000,
            losses: 1,
            dups: faults,
            reorders: faults,
        };
        let pair = ["linux".to_string(), "freebsd".to_string()];
        let s = setup(Path::new(START), Some(&pair), &bounds).expect("the start");
        let cfg = Config {
            bounds,
            check,
            max_states: 1_000_000,
            shard: Shard::default(),
            reduce: true,
        };
        let bfs = graph_of(&breadth_first(&s, &cfg, &|_| {}).expect("explores"));
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool");
            let dfs = pool.install(|| depth_first(&s, &cfg, &|_| {}).expect("explores"));
            let dfs = graph_of(&dfs.expect("complete within the bound"));
            assert!(
                dfs == bfs,
                "{calls:?} on {threads} threads: the graphs differ"
            );
        }
        // A bound it reaches: the depth-first search gives up.
        let small = Config {
            max_states: 50,
            ..cfg
        };
        assert!(depth_first(&s, &small, &|_| {})
            .expect("explores")
            .is_none());
    }
}
