//! The search: case `i` of a run is generated from its own RNG, seeded from
//! `(seed, i)`, so a case does not depend on which thread or shard runs it,
//! nor on the cases before it. Batches of cases run in parallel (rayon) and
//! their results are taken in index order: the first failure is the same on
//! one core or two, sharded or not. A failure is shrunk with proptest's value
//! tree (the same simplify/complicate walk as `TestRunner`), then written as a
//! scenario file whose `[expect]` states what happened.

use super::check::{check, compile, Checked, Compiled, Property, Violation};
use super::gen::{graceful, mixed, Case, GenConfig};
use crate::scenario::file::{ExpectDef, ScenarioFile};
use crate::scenario::{self, causal_resets, Overrides, Scenario};
use model::host::splitmix64;
use proptest::strategy::{SBoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rayon::prelude::*;
use sim::Verdict;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// `--shard K/N`: case `i` belongs to shard `i mod N`; K counts from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected K/N, e.g. 0/4"))?;
        let k: u64 = k.trim().parse().map_err(|_| format!("`{s}`: bad K"))?;
        let n: u64 = n.trim().parse().map_err(|_| format!("`{s}`: bad N"))?;
        if n == 0 || k >= n {
            return Err(format!("`{s}`: need 0 <= K < N (shards count from 0)"));
        }
        Ok(Shard { index: k, count: n })
    }

    /// The case indices of this shard, below `cases`, in order.
    pub fn indices(self, cases: u64) -> impl Iterator<Item = u64> + Clone {
        (self.index..cases).step_by(self.count as usize)
    }
}

/// The generator RNG of case `i`: ChaCha seeded from `(seed, i)`.
pub fn case_rng(seed: u64, i: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    let base = splitmix64(seed ^ 0x6675_7a7a_6361_7365) ^ splitmix64(i.wrapping_add(1));
    for (k, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&splitmix64(base.wrapping_add(k as u64)).to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// A proptest runner for case `i` (no failure persistence: results depend on
/// the seed only).
pub fn case_runner(seed: u64, i: u64) -> TestRunner {
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, case_rng(seed, i))
}

/// The value tree of case `i`.
pub fn case_tree<S: Strategy>(strategy: &S, seed: u64, i: u64) -> S::Tree {
    strategy
        .new_tree(&mut case_runner(seed, i))
        .expect("case strategies never reject")
}

/// The generator a set of properties is searched with: graceful closes for
/// `graceful-close-is-clean` alone, else mostly general scenarios.
pub fn strategy_for(props: &[Property], gen: &GenConfig) -> SBoxedStrategy<Case> {
    if props == [Property::GracefulCloseIsClean] {
        graceful(gen).sboxed()
    } else {
        mixed(gen).sboxed()
    }
}

/// Compiles and checks one case.
pub fn run_case(props: &[Property], case: &Case) -> Result<(Compiled, Checked), String> {
    let c = compile(case)?;
    let r = check(props, case, &c);
    Ok((c, r))
}

/// Shrinks a failing case: simplify while it still fails the same property,
/// complicate back when a simplification passes (proptest's algorithm).
/// Returns the minimal case, its violation and the number of accepted steps.
pub fn shrink<T: ValueTree<Value = Case>>(
    tree: &mut T,
    failing: impl Fn(&Case) -> Option<Violation>,
    max_iters: u32,
) -> (Case, Violation, u32) {
    let mut best = tree.current();
    let mut why = failing(&best).expect("shrink starts from a failing case");
    let mut accepted = 0;
    let mut iters = 0;
    if !tree.simplify() {
        return (best, why, 0);
    }
    while iters < max_iters {
        iters += 1;
        let cur = tree.current();
        match failing(&cur) {
            Some(v) => {
                best = cur;
                why = v;
                accepted += 1;
                if !tree.simplify() {
                    break;
                }
            }
            None => {
                if !tree.complicate() {
                    break;
                }
            }
        }
    }
    (best, why, accepted)
}

/// What a search is asked to do.
#[derive(Clone, Debug)]
pub struct SearchConfig {
    pub props: Vec<Property>,
    pub gen: GenConfig,
    pub seed: u64,
    pub cases: u64,
    pub shard: Shard,
    /// Go on after the first failure (one counterexample per property).
    pub keep_going: bool,
    /// Cases per progress report, and the unit `run` counts in when the
    /// search stops at a failure.
    pub batch: usize,
    pub max_shrink_iters: u32,
}

impl SearchConfig {
    pub fn new(props: Vec<Property>, gen: GenConfig, seed: u64, cases: u64) -> SearchConfig {
        SearchConfig {
            props,
            gen,
            seed,
            cases,
            shard: Shard::default(),
            keep_going: false,
            batch: 2048,
            max_shrink_iters: 4000,
        }
    }
}

/// A shrunk counterexample.
#[derive(Clone, Debug)]
pub struct Found {
    /// Index of the failing case in the sequence.
    pub index: u64,
    pub original: Case,
    pub original_violation: Violation,
    pub minimal: Case,
    pub violation: Violation,
    pub shrink_steps: u32,
    pub compiled: Compiled,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, Default)]
pub struct SearchResult {
    /// Cases run.
    pub run: u64,
    pub found: Vec<Found>,
    /// Cases whose scenario did not compile (a generator bug).
    pub invalid: Vec<(u64, String)>,
}

/// Cases a worker takes from the sequence at a time: small enough that the
/// workers end within a case or two of each other, large enough that taking
/// them costs nothing.
const CHUNK: usize = 16;

/// What the workers of a search share.
struct Shared {
    /// The next position in the shard's case sequence to hand out.
    next: AtomicUsize,
    /// Per property (`Property as usize`), the first position failing it.
    first: [AtomicUsize; Property::COUNT],
    /// Cases done, and the most `progress` was told.
    done: AtomicU64,
    reported: AtomicU64,
    /// Positions whose case did not compile, and why.
    invalid: Mutex<Vec<(usize, String)>>,
}

impl Shared {
    /// The first failing position, any property.
    fn first_failure(&self) -> usize {
        self.first
            .iter()
            .map(|f| f.load(Ordering::Relaxed))
            .min()
            .unwrap_or(usize::MAX)
    }
}

/// Runs the search; `progress(n)` is called with the number of cases done
/// each time another `cfg.batch` of them is done, and once at the end.
///
/// Every core takes the next few cases of the sequence as it becomes free,
/// so no core waits for another until the last case (a batch's slowest case
/// used to hold up every core). The result is the one the cases taken in
/// order would give: each property's first failing case (only the first
/// failure without `keep_going`, and the cases after it are not run),
/// counted in whole batches (`run` ends at the failing case's batch).
pub fn search(cfg: &SearchConfig, progress: impl Fn(u64) + Sync) -> SearchResult {
    let strategy = strategy_for(&cfg.props, &cfg.gen);
    let indices: Vec<u64> = cfg.shard.indices(cfg.cases).collect();
    let shared = Shared {
        next: AtomicUsize::new(0),
        first: std::array::from_fn(|_| AtomicUsize::new(usize::MAX)),
        done: AtomicU64::new(0),
        reported: AtomicU64::new(0),
        invalid: Mutex::new(Vec::new()),
    };
    let batch = cfg.batch.max(1);
    rayon::broadcast(|_| search_worker(cfg, &strategy, &indices, &shared, &progress));
    let stop = shared.first_failure();
    let run = match (cfg.keep_going, stop) {
        (false, p) if p < indices.len() => ((p / batch + 1) * batch).min(indices.len()),
        _ => indices.len(),
    };
    progress(run as u64);
    let mut failing: Vec<(usize, Property)> = Property::ALL
        .iter()
        .map(|&p| (shared.first[p as usize].load(Ordering::Relaxed), p))
        .filter(|&(pos, _)| pos < indices.len() && (cfg.keep_going || pos == stop))
        .collect();
    failing.sort();
    let mut invalid = shared.invalid.into_inner().expect("no worker panicked");
    invalid.sort();
    invalid.retain(|(pos, _)| cfg.keep_going || *pos < stop);
    // Each shrink is a walk of its own: they run side by side.
    let found = failing
        .par_iter()
        .map(|&(pos, p)| {
            let i = indices[pos];
            let case = case_tree(&strategy, cfg.seed, i).current();
            let first = run_case(&cfg.props, &case)
                .ok()
                .and_then(|(_, r)| r.violation)
                .filter(|v| v.property == p)
                .expect("a case fails as it did");
            shrink_case(cfg, &strategy, i, first)
        })
        .collect();
    SearchResult {
        run: run as u64,
        found,
        invalid: invalid
            .into_iter()
            .map(|(pos, e)| (indices[pos], e))
            .collect(),
    }
}

/// One core's share of a search: the next chunk of cases until none is
/// left, or (without `keep_going`) none before the first failure.
fn search_worker(
    cfg: &SearchConfig,
    strategy: &SBoxedStrategy<Case>,
    indices: &[u64],
    shared: &Shared,
    progress: &(impl Fn(u64) + Sync),
) {
    let batch = cfg.batch.max(1) as u64;
    loop {
        let from = shared.next.fetch_add(CHUNK, Ordering::Relaxed);
        if from >= indices.len() || (!cfg.keep_going && from > shared.first_failure()) {
            return;
        }
        let to = (from + CHUNK).min(indices.len());
        for (pos, &i) in indices.iter().enumerate().take(to).skip(from) {
            if !cfg.keep_going && pos > shared.first_failure() {
                break;
            }
            let case = case_tree(strategy, cfg.seed, i).current();
            match run_case(&cfg.props, &case).map(|(_, r)| r.violation) {
                Ok(None) => {}
                Ok(Some(v)) => {
                    shared.first[v.property as usize].fetch_min(pos, Ordering::Relaxed);
                }
                Err(e) => shared
                    .invalid
                    .lock()
                    .expect("no worker panicked")
                    .push((pos, e)),
            }
        }
        let n = (to - from) as u64;
        let done = shared.done.fetch_add(n, Ordering::Relaxed) + n;
        if done / batch > (done - n) / batch
            && shared.reported.fetch_max(done, Ordering::Relaxed) < done
        {
            progress(done);
        }
    }
}

/// Regenerates case `i` and shrinks it against the property it violated.
pub fn shrink_case(
    cfg: &SearchConfig,
    strategy: &SBoxedStrategy<Case>,
    i: u64,
    first: Violation,
) -> Found {
    let mut tree = case_tree(strategy, cfg.seed, i);
    let original = tree.current();
    let prop = [first.property];
    let failing = |c: &Case| match run_case(&prop, c) {
        Ok((_, r)) => r.violation,
        Err(_) => None,
    };
    let (minimal, violation, shrink_steps) = shrink(&mut tree, failing, cfg.max_shrink_iters);
    let (compiled, _) = run_case(&prop, &minimal).expect("the minimal case compiles");
    // The full run (a failed invariant stops the checked run where it fails).
    let verdict = sim::run_verdict(&compiled.spec);
    Found {
        index: i,
        original,
        original_violation: first,
        minimal,
        violation,
        shrink_steps,
        compiled,
        verdict,
    }
}

/// The `[expect]` section stating what a run did.
pub fn expect_from(spec: &sim::WorldSpec, v: &Verdict) -> ExpectDef {
    let sp = |s: String| toml::Spanned::new(0..0, s);
    let host = |h: u16| spec.hosts[h as usize].name.clone();
    let mut e = ExpectDef {
        outcome: Some(sp(v.outcome.key().to_string())),
        rst: Some(
            causal_resets(v)
                .map(|r| sp(format!("{}: {}", host(r.from.host), r.cause.key())))
                .collect(),
        ),
        silent_loss: Some(v.silent_loss()),
        ..ExpectDef::default()
    };
    let n = spec.hosts.len() as u16;
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            let lost: u64 = v
                .connections
                .iter()
                .flat_map(|c| &c.directions)
                .filter(|d| {
                    d.from.is_some_and(|f| f.host == a) && d.to.is_some_and(|t| t.host == b)
                })
                .map(|d| d.lost)
                .sum();
            e.lost.insert(format!("{}->{}", host(a), host(b)), lost);
        }
    }
    for h in 0..n {
        let end = v
            .connections
            .iter()
            .flat_map(|c| c.endpoints.iter())
            .find(|e| e.addr.host == h);
        if let Some(end) = end {
            e.final_state
                .insert(host(h), sp(end.final_state.name().to_string()));
        }
    }
    e
}

/// The counterexample as a scenario file: the minimal case, named and
/// described, with `[expect]` filled in from its run.
pub fn counterexample(f: &Found, seed: u64) -> ScenarioFile {
    let mut file = f.compiled.text_file();
    let prop = f.violation.property;
    file.scenario.name = Some(format!("fuzz-{prop}-seed{seed}-case{}", f.index));
    file.scenario.description = Some(format!(
        "Found by `tcpsim fuzz --property {prop} --seed {seed}` (case {}), shrunk by {} simplifications.\n\
         Property {prop} fails: {}\n\
         [expect] records what happened, so `tcpsim run` on this file passes while the behaviour lasts.",
        f.index, f.shrink_steps, f.violation.message
    ));
    file.expect = Some(expect_from(&f.compiled.spec, &f.verdict));
    file
}

/// Writes a scenario file's text and loads it back with the CLI's parser, as
/// `tcpsim run` would; the run must meet every expectation it states.
pub fn replay(path: &str, text: &str) -> Result<(Scenario, Vec<scenario::Mismatch>), String> {
    let s =
        scenario::from_text(path, text, Path::new("."), &Overrides::default()).map_err(|d| {
            d.iter()
                .map(|d| d.render(false))
                .collect::<Vec<_>>()
                .join("\n")
        })?;
    let v = sim::run_verdict(&s.spec);
    let m = s.check(&v);
    Ok((s, m))
}
