//! What an exploration found, per personality pair, as plain data: the
//! summary `tcpsim explore` prints (text or `--format json`), and, with the
//! digests of every state, what `--save` writes for `tcpsim explore merge`.
//! A merge of all shards of one exploration is exactly the unsharded report.

use super::class::{rules_for, Class};
use super::search::{Config, Explored};
use super::setup::Setup;
use super::state::Choice;
use super::witness::witness;
use indexmap::IndexMap;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

/// Format version of `--save` files.
pub const FORMAT: u32 = 1;

/// A witness: its path's length and choices, its scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WitnessReport {
    pub choices: usize,
    pub path: Vec<Choice>,
    /// The file's name in `--out DIR`.
    pub file: String,
    /// Its run by `tcpsim run` reaches the same class (for a livelock: a limit).
    pub replays: bool,
    /// The scenario file (in `--save` files, not in the summary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl WitnessReport {
    /// Shortest first, then smallest in choice order: the unsharded search's pick.
    fn key(&self) -> (usize, &[Choice]) {
        (self.choices, &self.path)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClassReport {
    pub class: Class,
    pub text: String,
    /// Distinct states where a run ends in this class.
    pub states: u64,
    pub witness: WitnessReport,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<String>,
}

/// States the connection can cycle through for ever (a strongly connected
/// component of the graph).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LivelockReport {
    /// The smallest digest of its states.
    pub id: String,
    pub states: u64,
    /// The TCP state pairs it goes through.
    pub tcp_states: Vec<String>,
    pub witness: WitnessReport,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckReport {
    pub property: String,
    pub violated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<WitnessReport>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bound {
    pub max_states: u64,
    /// Every path of at most this many choices was followed.
    pub depth_complete: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PairReport {
    pub pair: [String; 2],
    pub states: u64,
    pub transitions: u64,
    /// `--max-states`, when it stopped the search, and how many choices
    /// every path was followed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_reached: Option<Bound>,
    pub classes: Vec<ClassReport>,
    pub livelocks: Vec<LivelockReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckReport>,
    /// Every state's digest and its number of transitions (`--save` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<(String, u32)>,
}

/// The whole exploration: what was asked, and per pair what was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub format: u32,
    pub scenario: String,
    /// The command's bounds, as one line (merges refuse different ones).
    pub bounds: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u64; 2]>,
    pub pairs: Vec<PairReport>,
}

/// Eight hex digits naming a text (witness file names that do not depend
/// on what else was found, so shards name them alike).
fn short_id(text: &str) -> String {
    format!("{:08x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()) as u32)
}

fn hex(d: u128) -> String {
    format!("{d:032x}")
}

/// The file name of a pair's witness: `linux-freebsd-03-reset-with-loss.toml`.
fn file_name(pair: &[String; 2], what: &str) -> String {
    let slug = |s: &str| {
        let name = std::path::Path::new(s)
            .file_stem()
            .map_or(s.to_string(), |f| f.to_string_lossy().into_owned());
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    };
    format!("{}-{}-{what}.toml", slug(&pair[0]), slug(&pair[1]))
}

/// A witness of node `n`'s path, as a report.
fn witness_report(
    setup: &Setup,
    cfg: &Config,
    path: Vec<Choice>,
    file: String,
    what: &str,
    expect: Option<&Class>,
) -> Result<WitnessReport, String> {
    let name = file.trim_end_matches(".toml");
    let w = witness(setup, rules_for(cfg.check, cfg.reduce), &path, name, what)?;
    let replays = match expect {
        Some(c) => w.replayed == *c,
        None => matches!(w.replayed_outcome.as_str(), "time-limit" | "event-budget"),
    };
    Ok(WitnessReport {
        choices: path.len(),
        path,
        file,
        replays,
        text: Some(w.text),
    })
}

/// The report of one pair's exploration, with every witness written.
pub fn pair_report(
    setup: &Setup,
    cfg: &Config,
    ex: &Explored,
    save: bool,
) -> Result<PairReport, String> {
    let mut classes: Vec<(&Class, &super::search::ClassSeen)> = ex.classes.iter().collect();
    classes.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (class, seen) in classes {
        let file = file_name(
            &setup.pair,
            &format!("{}-{}", class.outcome, short_id(&class.text())),
        );
        let what = format!(
            "The shortest path tcpsim explore found to a run ending: {}.",
            class.text()
        );
        let witness = witness_report(setup, cfg, ex.path(seen.first), file, &what, Some(class))?;
        let mut digests: Vec<String> = seen.states.iter().map(|&d| hex(d)).collect();
        digests.sort();
        out.push(ClassReport {
            class: class.clone(),
            text: class.text(),
            states: seen.states.len() as u64,
            witness,
            digests: if save { digests } else { Vec::new() },
        });
    }
    let digests = match save {
        true => ex
            .digests
            .iter()
            .enumerate()
            .map(|(i, &d)| (hex(d), ex.graph.edges(NodeIndex::new(i)).count() as u32))
            .collect(),
        false => Vec::new(),
    };
    Ok(PairReport {
        pair: setup.pair.clone(),
        states: ex.digests.len() as u64,
        transitions: ex.graph.edge_count() as u64,
        bound_reached: ex.bound_hit.then_some(Bound {
            max_states: cfg.max_states,
            depth_complete: ex.depth_complete,
        }),
        classes: out,
        livelocks: livelocks(setup, cfg, ex)?,
        check: check_report(setup, cfg, ex)?,
        digests,
    })
}

/// The strongly connected components that can cycle (more than one state,
/// or a state that leads to itself), each with a witness to its first state.
fn livelocks(setup: &Setup, cfg: &Config, ex: &Explored) -> Result<Vec<LivelockReport>, String> {
    let g = &ex.graph;
    let mut found = Vec::new();
    for scc in petgraph::algo::tarjan_scc(g) {
        let cycles = scc.len() > 1 || g.edges(scc[0]).any(|e| e.target() == scc[0]);
        if !cycles {
            continue;
        }
        let first = *scc.iter().min().expect("not empty");
        let id = scc
            .iter()
            .map(|n| ex.digests[n.index()])
            .min()
            .expect("not empty");
        let mut tcp: Vec<String> = scc
            .iter()
            .map(|&n| format!("{}/{}", g[n].pair[0], g[n].pair[1]))
            .collect();
        tcp.sort();
        tcp.dedup();
        found.push((first, id, scc.len(), tcp));
    }
    found.sort();
    let mut out = Vec::new();
    for (first, id, n, tcp_states) in found {
        let file = file_name(&setup.pair, &format!("livelock-{}", &hex(id)[..8]));
        let what = format!(
            "The shortest path tcpsim explore found into states the connection can cycle \
             through for ever ({}); a run of it stops at a limit.",
            tcp_states.join(", ")
        );
        out.push(LivelockReport {
            id: hex(id),
            states: n as u64,
            tcp_states,
            witness: witness_report(setup, cfg, ex.path(first), file, &what, None)?,
        });
    }
    out.sort_by(|a, b| a.witness.key().cmp(&b.witness.key()));
    Ok(out)
}

fn check_report(setup: &Setup, cfg: &Config, ex: &Explored) -> Result<Option<CheckReport>, String> {
    let Some(p) = cfg.check else { return Ok(None) };
    let Some((n, message)) = &ex.violation else {
        return Ok(Some(CheckReport {
            property: p.key().to_string(),
            violated: false,
            message: None,
            witness: None,
        }));
    };
    let file = file_name(&setup.pair, &format!("check-{}", p.key()));
    let what = format!("Property {p} fails: {message}");
    let class = ex.graph[*n]
        .class
        .map(|c| ex.classes.get_index(c as usize).expect("a class").0);
    let mut w = witness_report(setup, cfg, ex.path(*n), file, &what, class)?;
    w.replays |= class.is_none();
    Ok(Some(CheckReport {
        property: p.key().to_string(),
        violated: true,
        message: Some(message.clone()),
        witness: Some(w),
    }))
}

/// Merges the reports of shards: their union, with the unsharded search's
/// witness of each class (the shortest, then the smallest in choice order).
pub fn merge(parts: &[Report]) -> Result<Report, String> {
    let first = parts.first().ok_or("nothing to merge")?;
    let n = first.shard.map_or(1, |s| s[1]);
    let mut seen = vec![false; n as usize];
    for p in parts {
        if p.format != FORMAT || p.scenario != first.scenario || p.bounds != first.bounds {
            return Err(
                "the files come from different explorations (scenario, bounds or format)".into(),
            );
        }
        let [k, m] = p.shard.unwrap_or([0, 1]);
        if m != n {
            return Err(format!("shards of {m} and of {n} cannot be merged"));
        }
        if std::mem::replace(&mut seen[k as usize], true) {
            return Err(format!("shard {k}/{n} is given twice"));
        }
        if p.pairs.iter().any(|q| q.digests.is_empty()) {
            return Err("a file without its states' digests: write shards with --save".into());
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(format!("shard {k}/{n} is missing"));
    }
    let mut pairs: IndexMap<[String; 2], Vec<&PairReport>, FxBuildHasher> = IndexMap::default();
    for p in parts {
        for q in &p.pairs {
            pairs.entry(q.pair.clone()).or_default().push(q);
        }
    }
    Ok(Report {
        format: FORMAT,
        scenario: first.scenario.clone(),
        bounds: first.bounds.clone(),
        shard: None,
        pairs: pairs.values().map(|q| merge_pair(q)).collect(),
    })
}

fn min_witness(ws: impl Iterator<Item = WitnessReport>) -> Option<WitnessReport> {
    ws.min_by(|a, b| a.key().cmp(&b.key()))
}

fn merge_pair(parts: &[&PairReport]) -> PairReport {
    let mut digests: IndexMap<&str, u32, FxBuildHasher> = IndexMap::default();
    for (d, n) in parts.iter().flat_map(|p| &p.digests) {
        let e = digests.entry(d).or_insert(0);
        *e = (*e).max(*n);
    }
    let mut classes: IndexMap<&Class, Vec<&ClassReport>, FxBuildHasher> = IndexMap::default();
    for c in parts.iter().flat_map(|p| &p.classes) {
        classes.entry(&c.class).or_default().push(c);
    }
    let mut merged: Vec<ClassReport> = classes
        .into_iter()
        .map(|(class, cs)| {
            let mut ds: Vec<String> = cs.iter().flat_map(|c| c.digests.iter().cloned()).collect();
            ds.sort();
            ds.dedup();
            ClassReport {
                class: class.clone(),
                text: class.text(),
                states: ds.len() as u64,
                witness: min_witness(cs.iter().map(|c| c.witness.clone())).expect("a witness"),
                digests: ds,
            }
        })
        .collect();
    merged.sort_by(|a, b| a.class.cmp(&b.class));
    PairReport {
        pair: parts[0].pair.clone(),
        states: digests.len() as u64,
        transitions: digests.values().map(|&n| n as u64).sum(),
        bound_reached: parts
            .iter()
            .filter_map(|p| p.bound_reached)
            .min_by_key(|b| b.depth_complete),
        classes: merged,
        livelocks: merge_livelocks(parts),
        check: merge_check(parts),
        digests: digests
            .into_iter()
            .map(|(d, n)| (d.to_string(), n))
            .collect(),
    }
}

fn merge_livelocks(parts: &[&PairReport]) -> Vec<LivelockReport> {
    let mut by_id: IndexMap<&str, LivelockReport, FxBuildHasher> = IndexMap::default();
    for l in parts.iter().flat_map(|p| &p.livelocks) {
        let e = by_id.entry(&l.id).or_insert_with(|| l.clone());
        if l.witness.key() < e.witness.key() {
            e.witness = l.witness.clone();
        }
    }
    let mut out: Vec<LivelockReport> = by_id.into_values().collect();
    out.sort_by(|a, b| a.witness.key().cmp(&b.witness.key()));
    out
}

fn merge_check(parts: &[&PairReport]) -> Option<CheckReport> {
    let checks: Vec<&CheckReport> = parts.iter().filter_map(|p| p.check.as_ref()).collect();
    let first = (*checks.first()?).clone();
    let worst = checks.iter().filter(|c| c.violated).min_by(|a, b| {
        let k = |c: &CheckReport| c.witness.as_ref().map(|w| (w.choices, w.path.clone()));
        k(a).cmp(&k(b))
    });
    Some(worst.map_or(first, |c| (*c).clone()))
}
