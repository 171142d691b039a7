//! `tcpsim fuzz --property agrees-with-kernel`: the differential fuzzer.
//! Linux/Linux close sequences from the ordinary generators, re-timed so
//! that no two processes act within a few milliseconds of each other, run on
//! the model and on this host's kernel through the one pipeline of `tcpsim
//! real --compare` (`cli::real::simulate_and_run`, `real::compare`); a case
//! whose comparison differs twice is a difference, classified by what
//! differed first (a call's result, RST, bytes read, blocking, ...), and the
//! first case of each class is shrunk to a scenario file.
//!
//! Why re-time: the model decides a race between two processes (or a process
//! and a segment) to the nanosecond, the kernel by its scheduler, whose
//! wake-ups here are tens of microseconds to a few milliseconds late. So
//! every process's tail runs on its own grid of absolute times: slot k of
//! a process is `TAIL_START_MS` + `GRID_MS`·k + its phase (client 0, client's child 5,
//! server 10, server's child 15 ms), each wait of the generated case moves
//! to the next slot at or after it (so +1 ms and +10 ms become the next
//! slot, +200 ms ten slots on), and `-` steps stay `-`. A segment a step
//! sends arrives one network delay (1 ms on the default `lan` profile,
//! ~0 on `loopback`) after it, at least 4 ms before the other process's next step, and a call that blocked
//! until an arrival is followed by the same arrival on both sides.
//! Timeouts are rounded up to whole slots for the same reason, plus 3.5 ms,
//! so that one restarted at an arrival does not expire at the next one.

use super::check::{compile_steps, Compiled, Property, Violation};
use super::gen::{mixed, to_file, Call, Case, GenConfig, Net, Step, CLIENT, SERVER};
use super::search::{case_tree, expect_from, shrink, Found, Shard};
use crate::cli::real::{compared_runs, simulate_and_run};
use crate::real::{compare::Item, RunError};
use crate::scenario::file::ScenarioFile;
use crate::scenario::profile::Profile;
use crate::scenario::steps::StepDef;
use crate::scenario::{self, Overrides, Scenario};
use model::{Duration, Instant};
use proptest::strategy::{SBoxedStrategy, Strategy, ValueTree};
use sim::spec::At;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The spacing of one process's steps (ms): wider than the network delay
/// plus the scheduler's late wake-ups here.
pub const GRID_MS: u64 = 20;

/// The network cases run on by default: the emulated LAN, whose delay is
/// long enough that the delay line, not loopback's few microseconds,
/// decides when a segment arrives (on loopback a write followed by close
/// races its own ACK).
pub const DEFAULT_PROFILE: &str = "lan";

/// Where the grids begin (ms): well after the handshake (4 ms in the model
/// on the LAN), because on a loaded host the kernel's accept() was seen
/// returning up to 25 ms late, after the client's first step at 20 ms.
pub const TAIL_START_MS: u64 = 50;

/// Offset of each generated process's grid (ms).
fn phase_ms(proc: &str) -> u64 {
    match proc {
        CLIENT => 0,
        SERVER => 10,
        p if p.starts_with(CLIENT) => 5,
        _ => 15,
    }
}

/// Linux/Linux cases of the ordinary generators (general and graceful
/// sequences, buffer options, forks, reader threads), without network
/// faults (the kernel cannot drop or reorder; the network is the profile's),
/// timeouts in slots.
pub fn strategy() -> SBoxedStrategy<Case> {
    let cfg = GenConfig::new(vec!["linux".to_string()]);
    mixed(&cfg).prop_map(for_kernel).sboxed()
}

fn for_kernel(mut c: Case) -> Case {
    c.net = Net::default();
    for side in [&mut c.client, &mut c.server] {
        side.personality = "linux".into();
        whole_slots(&mut side.steps);
    }
    c
}

/// What a timeout adds to its whole slots (µs): a timeout restarts when
/// data arrives (a `read eof timeout=`'s next read), one network delay
/// after a slot, so a whole number of slots would expire on the instant the
/// same writer's next segment arrives, a tie the model and the kernel break
/// differently (fuzz loopback seed 2002 case 49). 3.5 ms lies between the
/// arrivals and replies of one slot (+1 and +2 ms on the LAN) and the next
/// process's phase (+5 ms).
const TIMEOUT_PAST_SLOTS_US: u64 = 3_500;

/// Rounds every timeout up to a whole number of slots (at least one), plus
/// [`TIMEOUT_PAST_SLOTS_US`].
fn whole_slots(steps: &mut [Step]) {
    let grid = Duration::from_ms(GRID_MS);
    let round = |d: &mut Duration| {
        let slots = d.as_ns().div_ceil(grid.as_ns()).max(1);
        *d = Duration::from_ns(slots * grid.as_ns() + TIMEOUT_PAST_SLOTS_US * 1_000);
    };
    for s in steps {
        match &mut s.call {
            Call::Poll {
                timeout: Some(d), ..
            }
            | Call::Select {
                timeout: Some(d), ..
            }
            | Call::Read {
                timeout: Some(d), ..
            }
            | Call::Write {
                timeout: Some(d), ..
            }
            | Call::RcvTimeo { ns: d, .. } => round(d),
            Call::Fork { child } => whole_slots(child),
            _ => {}
        }
    }
}

/// Where a process is on its grid.
#[derive(Clone, Copy, Default)]
struct Cursor {
    /// Past its skeleton (connect, accept): its tail has begun.
    tail: bool,
    /// The slot of its last timed step, if any.
    last: Option<u64>,
}

fn slot_time(proc: &str, slot: u64) -> At {
    At::Abs(Instant::ZERO + Duration::from_ms(TAIL_START_MS + GRID_MS * slot + phase_ms(proc)))
}

/// Re-times the generated steps onto each process's grid (module doc).
pub fn space(steps: &mut [StepDef]) {
    let mut at: BTreeMap<String, Cursor> = BTreeMap::new();
    // A forked child starts on its parent's slot of the fork.
    let mut child_from: BTreeMap<String, u64> = BTreeMap::new();
    for s in steps.iter_mut() {
        let proc = s.proc.text.clone();
        let forked = child_from.get(&proc).copied();
        let c = at.entry(proc.clone()).or_insert(Cursor {
            tail: forked.is_some(),
            last: None,
        });
        if !c.tail {
            // The skeleton: the tail begins after connect or accept.
            c.tail = matches!(s.op, scenario::steps::Op::Connect { .. })
                || matches!(s.op, scenario::steps::Op::Accept { .. });
            continue;
        }
        if s.after.is_some() {
            continue; // a reader thread's one step, after its label
        }
        let slot = match (c.last, s.at) {
            (None, _) => Some(forked.unwrap_or(0)),
            (Some(k), At::After(d)) => Some(k + d.as_ns().div_ceil(GRID_MS * 1_000_000).max(1)),
            _ => None,
        };
        if let Some(k) = slot {
            s.at = slot_time(&proc, k);
            c.last = Some(k);
        }
        if let scenario::steps::Op::Fork { child } = &s.op {
            child_from.insert(child.text.clone(), c.last.unwrap_or(0));
        }
    }
}

/// A case as it runs on the kernel: its scenario file on the network
/// `profile`, re-timed.
pub fn compile_case(case: &Case, profile: &Profile) -> Result<Compiled, String> {
    let (mut file, layout, mut steps) = to_file(case);
    file.network.profile = Some(toml::Spanned::new(0..0, profile.name.to_string()));
    space(&mut steps);
    compile_steps(file, layout, steps)
}

/// The case's scenario, loaded from its text as `tcpsim real` loads a file.
pub fn scenario_of(c: &Compiled, name: &str) -> Result<Scenario, String> {
    let text = scenario::write(&c.text_file());
    scenario::from_text(name, &text, Path::new("."), &Overrides::default()).map_err(|d| {
        d.iter()
            .map(|d| d.render(false))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// A case compared with the model, after the reruns of `tcpsim real
/// --compare` (a run that differs while the host's scheduler disturbed it is
/// run again).
#[derive(Clone, Debug)]
pub enum Run {
    Agree,
    NotReproducible(String),
    /// The items that differ.
    Differ(Vec<Item>),
    /// Every run differed while the host's scheduler disturbed it: the items
    /// of the last.
    Disturbed(Vec<Item>),
}

/// The lock `TCPSIM_KERNEL_LOCK` names, if any: other users of this host's
/// kernel take the same one, so two kernel runs never disturb each other's
/// timing. Err if it names a file that cannot be locked.
fn kernel_lock() -> Result<Option<crate::real::sys::FileLock>, String> {
    let Some(path) = std::env::var_os("TCPSIM_KERNEL_LOCK") else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    crate::real::sys::FileLock::take(&path)
        .map(Some)
        .map_err(|e| format!("TCPSIM_KERNEL_LOCK {}: {e}", path.display()))
}

/// Runs the scenario on the model and on the kernel as `tcpsim real
/// --compare` does ([`compared_runs`]: once, or again while disturbed), each
/// kernel run under the lock and counted in `runs`; Err when a kernel run
/// itself failed.
pub fn run_once(s: &Scenario, runs: &Cell<u64>) -> Result<Run, String> {
    let one = || {
        let _lock = kernel_lock().map_err(RunError::Failed)?;
        runs.set(runs.get() + 1);
        simulate_and_run(s, 1.0)
    };
    match compared_runs(s, true, one) {
        Ok(c) => {
            let differ: Vec<Item> = c.items.into_iter().flatten().filter(|i| !i.agree).collect();
            Ok(match (differ.is_empty(), c.disturbed) {
                (true, _) => Run::Agree,
                (false, false) => Run::Differ(differ),
                (false, true) => Run::Disturbed(differ),
            })
        }
        Err(RunError::NotReproducible(r)) => Ok(Run::NotReproducible(r)),
        Err(RunError::Failed(e)) => Err(e),
    }
}

/// A differing item's class: what differed, without the counts and step
/// numbers that make every case unique.
pub fn item_class(i: &Item) -> String {
    let cat = |v: &str| {
        if v.parse::<u64>().is_ok() {
            "a count".to_string()
        } else if let Some(rest) = v.strip_prefix("blocks ") {
            if rest.starts_with("never") {
                v.to_string()
            } else {
                "blocks".to_string()
            }
        } else {
            v.to_string()
        }
    };
    let versus = |i: &Item| {
        let (a, b) = (cat(&i.sim), cat(&i.kernel));
        if a == b {
            format!("{a} differs")
        } else {
            format!("model {a}, kernel {b}")
        }
    };
    if let Some(step) = i.what.strip_prefix("step ") {
        let call = step
            .split_once(": ")
            .map_or(step, |(_, t)| t)
            .trim_end_matches(" (blocking)");
        let words: Vec<&str> = call.split_whitespace().collect();
        let verb = match words.get(2..) {
            Some(["read", _, "eof", ..]) => "read eof".to_string(),
            Some([v, ..]) => v.to_string(),
            _ => call.to_string(),
        };
        let proc = words.get(1).copied().unwrap_or("?");
        let what = if i.what.ends_with("(blocking)") {
            "blocking of"
        } else {
            "result of"
        };
        return format!("{what} {proc} {verb}: {}", versus(i));
    }
    if i.what.starts_with("state of") {
        let who = i.what.split(" at ").next().unwrap_or(&i.what);
        return format!("{who}: model {}, kernel {}", i.sim, i.kernel);
    }
    if i.what.starts_with("bytes ") {
        let more = i.sim.parse::<u64>().ok() < i.kernel.parse::<u64>().ok();
        let how = if more { "more" } else { "fewer" };
        return format!("{}: {how} on the kernel", i.what);
    }
    if i.what.starts_with("order") || i.what.starts_with("connection") {
        return i.what.clone();
    }
    format!("{}: model {}, kernel {}", i.what, i.sim, i.kernel)
}

/// Which differing item names a case's class: a call's result first (what a
/// program sees), then RSTs, bytes read, the outcome, blocking, order, states.
fn rank(i: &Item) -> u8 {
    let w = &i.what;
    match () {
        _ if w.starts_with("step") && !w.ends_with("(blocking)") => 0,
        _ if w.starts_with("RST") => 1,
        _ if w.starts_with("bytes") => 2,
        _ if w == "outcome" => 3,
        _ if w.ends_with("(blocking)") => 4,
        _ if w.starts_with("order") => 5,
        _ => 6,
    }
}

/// The class of a comparison's differences (see [`rank`]).
pub fn class_of(differ: &[Item]) -> String {
    differ
        .iter()
        .min_by_key(|i| rank(i))
        .map_or_else(String::new, item_class)
}

/// One line per differing item.
pub fn describe(differ: &[Item]) -> String {
    differ
        .iter()
        .map(|i| format!("{}: model {}, kernel {}", i.what.trim(), i.sim, i.kernel))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a kernel search is asked to do.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    pub seed: u64,
    pub cases: u64,
    pub shard: Shard,
    /// The network the cases run on.
    pub profile: &'static Profile,
    /// Go on after the first difference class (shrink one case per class).
    pub keep_going: bool,
    /// Most kernel runs shrinking one class may make (a simplification that
    /// still differs takes two).
    pub max_shrink_runs: u64,
}

/// A difference class: the cases that showed it first, its shrunk example.
#[derive(Clone, Debug)]
pub struct Class {
    pub class: String,
    pub cases: Vec<u64>,
    pub found: Option<Found>,
}

#[derive(Clone, Debug, Default)]
pub struct KernelResult {
    /// Cases run.
    pub run: u64,
    pub agree: u64,
    /// Cases the kernel cannot run, by reason.
    pub not_reproducible: BTreeMap<String, u64>,
    /// Cases that differed once and agreed when run again: (case, class).
    pub flaky: Vec<(u64, String)>,
    /// Cases that differed in every run while the host's scheduler disturbed
    /// them (a step started > 10 ms late): (case, class). Not a class: the
    /// script's timing did not hold.
    pub disturbed: Vec<(u64, String)>,
    /// Cases whose kernel run failed, or that did not compile.
    pub failed: Vec<(u64, String)>,
    pub classes: Vec<Class>,
    /// Kernel runs made, shrinking included.
    pub kernel_runs: u64,
}

/// How one case went on the kernel.
enum Verdict {
    Agree,
    NotReproducible(String),
    /// Differed, then agreed: the first run's class.
    Flaky(String),
    /// Differed twice: the second run's differences.
    Differ(Vec<Item>),
    /// Differed while disturbed in every run: the class.
    Disturbed(String),
    Failed(String),
}

/// Runs a case, and once more if it differs: a difference must happen twice
/// (the kernel's timing is not deterministic), each time in runs the host's
/// scheduler did not disturb ([`run_once`]).
fn check_case(case: &Case, cfg: &KernelConfig, name: &str, runs: &Cell<u64>) -> Verdict {
    let s = match compile_case(case, cfg.profile).and_then(|c| scenario_of(&c, name)) {
        Ok(s) => s,
        Err(e) => return Verdict::Failed(format!("the case does not compile: {e}")),
    };
    let once = || run_once(&s, runs);
    match once() {
        Ok(Run::Agree) => Verdict::Agree,
        Ok(Run::NotReproducible(r)) => Verdict::NotReproducible(r),
        Ok(Run::Disturbed(items)) => Verdict::Disturbed(class_of(&items)),
        Err(e) => Verdict::Failed(e),
        Ok(Run::Differ(first)) => match once() {
            Ok(Run::Differ(second)) => Verdict::Differ(second),
            Ok(Run::Disturbed(items)) => Verdict::Disturbed(class_of(&items)),
            Ok(_) => Verdict::Flaky(class_of(&first)),
            Err(e) => Verdict::Failed(e),
        },
    }
}

fn case_name(seed: u64, i: u64) -> String {
    format!("<fuzz agrees-with-kernel seed {seed} case {i}>")
}

/// Runs the search on this kernel, one case at a time; `progress` is told
/// after each case.
pub fn search(cfg: &KernelConfig, progress: impl Fn(&KernelResult)) -> KernelResult {
    let strategy = strategy();
    let mut out = KernelResult::default();
    let runs = Cell::new(0);
    for i in cfg.shard.indices(cfg.cases) {
        let case = case_tree(&strategy, cfg.seed, i).current();
        out.run += 1;
        match check_case(&case, cfg, &case_name(cfg.seed, i), &runs) {
            Verdict::Agree => out.agree += 1,
            Verdict::NotReproducible(r) => *out.not_reproducible.entry(r).or_default() += 1,
            Verdict::Flaky(class) => out.flaky.push((i, class)),
            Verdict::Disturbed(class) => out.disturbed.push((i, class)),
            Verdict::Failed(e) => out.failed.push((i, e)),
            Verdict::Differ(items) => {
                let class = class_of(&items);
                if let Some(c) = out.classes.iter_mut().find(|c| c.class == class) {
                    c.cases.push(i);
                } else {
                    let first = Violation {
                        property: Property::AgreesWithKernel,
                        message: describe(&items),
                    };
                    let found = shrink_class(cfg, &strategy, i, first, &class, &runs);
                    out.classes.push(Class {
                        class,
                        cases: vec![i],
                        found,
                    });
                }
            }
        }
        out.kernel_runs = runs.get();
        progress(&out);
        if !cfg.keep_going && !out.classes.is_empty() {
            break;
        }
    }
    out
}

/// Shrinks case `i` while it differs in the same class (twice each time).
fn shrink_class(
    cfg: &KernelConfig,
    strategy: &SBoxedStrategy<Case>,
    i: u64,
    first: Violation,
    class: &str,
    runs: &Cell<u64>,
) -> Option<Found> {
    let mut tree = case_tree(strategy, cfg.seed, i);
    let original = tree.current();
    let name = case_name(cfg.seed, i);
    // Many simplifications change only what `for_kernel` overrides (faults,
    // personalities): a case seen before is answered from memory, and only
    // kernel runs count against the budget.
    // A few thousand cases at most: a list is enough.
    let seen: std::cell::RefCell<Vec<(Case, Option<Violation>)>> =
        std::cell::RefCell::new(vec![(original.clone(), Some(first.clone()))]);
    let budget = Cell::new(cfg.max_shrink_runs);
    let failing = |c: &Case| {
        if let Some((_, v)) = seen.borrow().iter().find(|(k, _)| *k == *c) {
            return v.clone();
        }
        if budget.get() == 0 {
            return None;
        }
        let before = runs.get();
        let v = match check_case(c, cfg, &name, runs) {
            Verdict::Differ(items) if class_of(&items) == class => Some(Violation {
                property: Property::AgreesWithKernel,
                message: describe(&items),
            }),
            _ => None,
        };
        budget.set(budget.get().saturating_sub(runs.get() - before));
        seen.borrow_mut().push((c.clone(), v.clone()));
        v
    };
    let (minimal, violation, shrink_steps) = shrink(&mut tree, failing, 4000);
    let compiled = compile_case(&minimal, cfg.profile).ok()?;
    let verdict = sim::run_verdict(&compiled.spec);
    Some(Found {
        index: i,
        original,
        original_violation: first.clone(),
        minimal,
        violation,
        shrink_steps,
        compiled,
        verdict,
    })
}

/// A shrunk difference as a scenario file: named and described, with
/// `[expect]` stating what the model does (so `tcpsim run` passes on it and
/// `tcpsim real --compare` shows the difference).
pub fn counterexample(f: &Found, class: &str, seed: u64) -> ScenarioFile {
    let mut file = f.compiled.text_file();
    file.scenario.name = Some(format!(
        "fuzz-agrees-with-kernel-seed{seed}-case{}",
        f.index
    ));
    file.scenario.description = Some(format!(
        "Found by `tcpsim fuzz --property agrees-with-kernel --seed {seed}` (case {}), shrunk by \
         {} simplifications.\nThe model and this kernel differ: {class}.\n{}\n\
         [expect] records what the model does; `tcpsim real --compare` on this file shows the kernel's.",
        f.index, f.shrink_steps, f.violation.message
    ));
    file.expect = Some(expect_from(&f.compiled.spec, &f.verdict));
    file
}

/// Writes each class's counterexample into `dir`: (class index, path).
pub fn write_counterexamples(
    dir: &Path,
    r: &KernelResult,
    seed: u64,
) -> std::io::Result<Vec<(usize, PathBuf)>> {
    let mut out = Vec::new();
    for (k, c) in r.classes.iter().enumerate() {
        let Some(f) = &c.found else { continue };
        std::fs::create_dir_all(dir)?;
        let file = counterexample(f, &c.class, seed);
        let path = dir.join(format!(
            "{}.toml",
            file.scenario.name.as_deref().unwrap_or("x")
        ));
        std::fs::write(&path, scenario::write(&file))?;
        out.push((k, path));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::search::case_tree;

    /// Each process's first tail step is on its grid, and no two timed
    /// steps of different processes are closer than a network delay plus
    /// the scheduler's jitter.
    #[test]
    fn spaced_steps_of_different_processes_are_milliseconds_apart() {
        let strategy = strategy();
        let mut timed = 0;
        for i in 0..200 {
            let case = case_tree(&strategy, 3, i).current();
            assert!(case.net == Net::default() && case.pair() == "linux/linux");
            let lan = Profile::named(DEFAULT_PROFILE).unwrap();
            let c = compile_case(&case, lan).expect("compiles");
            assert_eq!(c.spec.link.delay_ns.as_ns(), lan.delay_ns);
            assert!(c.spec.hosts.iter().all(|h| h.mtu == lan.mtu_bytes));
            let spec = &c.spec;
            let mut abs: Vec<(u64, u16)> = spec
                .steps
                .iter()
                .filter_map(|s| match s.at {
                    At::Abs(t) if t.as_ns() >= TAIL_START_MS * 1_000_000 => {
                        Some((t.as_ns(), s.proc))
                    }
                    _ => None,
                })
                .collect();
            abs.sort();
            timed += abs.len();
            for w in abs.windows(2).filter(|w| w[0].1 != w[1].1) {
                assert!(w[1].0 - w[0].0 >= 5_000_000, "case {i}: {w:?}");
            }
            // No generated tail step keeps a relative wait.
            assert!(
                spec.steps.iter().all(|s| !matches!(s.at, At::After(_))),
                "case {i}"
            );
        }
        assert!(timed > 200, "the grid was used ({timed} timed steps)");
    }

    /// One scheduling mode's kernel runs, measured.
    #[derive(Default)]
    struct Tally {
        runs: usize,
        /// Steps that started more than `BLOCK_MIN_REAL_NS` late.
        late: u32,
        worst_ns: u64,
        worst: String,
        differ: u32,
        connect_ms: Vec<f64>,
    }

    impl Tally {
        fn add(&mut self, f: &str, s: &Scenario, b: &crate::cli::real::Both) {
            use crate::real::worker::Rec;
            self.runs += 1;
            let items: Vec<Item> = crate::cli::real::comparison(s, b)
                .into_iter()
                .filter(|i| !i.agree)
                .collect();
            if !items.is_empty() {
                self.differ += 1;
                println!("  {f}: {}", describe(&items));
            }
            for r in &b.run.recs {
                match *r {
                    Rec::Start { t, due, step, .. } => {
                        let late_ns = t.saturating_sub(due);
                        if late_ns > self.worst_ns {
                            (self.worst_ns, self.worst) =
                                (late_ns, format!("{f} step {}", step + 1));
                        }
                        self.late += (late_ns > crate::real::trace::BLOCK_MIN_REAL_NS) as u32;
                    }
                    Rec::Done { step, t0, t, .. } => {
                        if let sim::Action::Connect { .. } = s.spec.steps[step as usize].action {
                            self.connect_ms.push((t - t0) as f64 / 1e6);
                        }
                    }
                    _ => {}
                }
            }
        }

        fn print(&mut self, mode: &str) {
            self.connect_ms.sort_by(f64::total_cmp);
            let pct = |q: f64| self.connect_ms[((self.connect_ms.len() - 1) as f64 * q) as usize];
            println!(
                "{mode}: {} runs, {} steps > 10 ms late (worst {:.1} ms, {}), {} runs differ; \
                 connect ms median {:.1}, p90 {:.1}, max {:.1}",
                self.runs,
                self.late,
                self.worst_ns as f64 / 1e6,
                self.worst,
                self.differ,
                pct(0.5),
                pct(0.9),
                pct(1.0)
            );
        }
    }

    /// What real-time scheduling buys beside a build: `RUNS` kernel runs of
    /// a few corpus scenarios on the `lan` profile under the ordinary
    /// scheduler (`TCPSIM_REAL_SCHED=other`), then as many under
    /// `SCHED_FIFO`; prints the steps that started > 10 ms late, the runs
    /// that differed and the handshake's connect() times of each. Run as root
    /// with `cargo test --release --lib real_time -- --ignored --nocapture`
    /// while the host is loaded (TCPSIM_KERNEL_LOCK honoured).
    #[test]
    #[ignore = "a measurement: root, about 3 minutes of kernel runs"]
    fn real_time_scheduling_keeps_kernel_runs_on_time() {
        if crate::real::plan::missing_privileges().is_some() {
            println!("skipped: not root");
            return;
        }
        const RUNS: usize = 20;
        let files = [
            "scenarios/half-close.toml",
            "scenarios/close-with-unread.toml",
            "scenarios/poll-half-close.toml",
            "scenarios/kernel/transfer-100k.toml",
        ];
        let over = Overrides {
            profile: Profile::named("lan"),
            ..Overrides::default()
        };
        let mut late_by_mode = Vec::new();
        for mode in ["other", "fifo"] {
            std::env::set_var("TCPSIM_REAL_SCHED", mode);
            let mut tally = Tally::default();
            for f in files {
                let s = scenario::load(Path::new(f), &over).expect("loads");
                for _ in 0..RUNS {
                    let _lock = kernel_lock().expect("lock");
                    let b = simulate_and_run(&s, 1.0).expect("runs");
                    tally.add(f, &s, &b);
                }
            }
            tally.print(mode);
            late_by_mode.push(tally.late);
        }
        std::env::remove_var("TCPSIM_REAL_SCHED");
        assert!(
            late_by_mode[1] <= late_by_mode[0],
            "real-time scheduling made more steps late: {late_by_mode:?}"
        );
    }

    #[test]
    fn differences_are_classed_by_what_differed_not_by_counts() {
        let item = |what: &str, sim: &str, kernel: &str| Item {
            what: what.into(),
            sim: sim.into(),
            kernel: kernel.into(),
            agree: false,
        };
        let a = item(
            "step  5 server: 30ms server write s 46081",
            "46080",
            "46081",
        );
        let b = item("step  8 server: - server write s 300", "100", "300");
        assert_eq!(item_class(&a), item_class(&b));
        assert_eq!(item_class(&a), "result of server write: a count differs");
        let c = item("step  3 client: - client read c eof", "ECONNRESET", "700");
        assert_eq!(
            item_class(&c),
            "result of client read eof: model ECONNRESET, kernel a count"
        );
        let blocking = item(
            "step  3 client: - client read c eof (blocking)",
            "at once",
            "blocks 41 ms",
        );
        assert_eq!(
            class_of(&[blocking.clone(), c.clone()]),
            item_class(&c),
            "a call's result names the class before its blocking"
        );
        assert_eq!(
            item_class(&blocking),
            "blocking of client read eof: model at once, kernel blocks"
        );
    }
}
