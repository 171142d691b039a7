//! A path through the state graph as a scenario file: the path replayed on
//! a world that keeps its clock and its trace, each call written as a step
//! at the instant it was made, each segment the network lost, duplicated or
//! held back written as a `[[network.drop]]` or `[[network.fault]]` on the
//! nth segment its sender sent. `tcpsim run` on the file takes the same path
//! (the file is loaded and run again here to say so).

use super::class::Class;
use super::search::PREFIX_EVENTS_MAX;
use super::setup::Setup;
use super::state::{apply, Choice, Node, Rules, Used};
use crate::fuzz::search::expect_from;
use crate::scenario::file::{DropDef, FaultDef, ScenarioFile};
use crate::scenario::steps::{parse_step, StepDef, Tok};
use crate::scenario::{self, Overrides};
use crate::units::format_duration;
use indexmap::IndexMap;
use model::{Duration, HostId, Instant};
use rustc_hash::FxBuildHasher;
use sim::spec::At;
use sim::{What, World};
use std::path::Path;
use toml::Spanned;

/// What the network did to one segment on the path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Fate {
    drop: bool,
    duplicate: bool,
    delay_ns: u64,
}

/// Which send each queued arrival is: (sender, nth segment it sent, when it
/// was first due), and the fates the path gave them.
#[derive(Default)]
struct Book {
    /// Segments each host sent so far, by host (a scenario may have more than two).
    sent: Vec<u32>,
    arrivals: IndexMap<u64, (HostId, u32, Instant), FxBuildHasher>,
    fates: IndexMap<(HostId, u32), Fate, FxBuildHasher>,
}

impl Book {
    /// Matches the segments sent since insertion number `seq0` (the trace's
    /// `Send` entries, two arrivals for a duplicate, none for a drop) with
    /// the arrivals queued since.
    fn absorb(&mut self, w: &mut World, seq0: u64) {
        let entries: Vec<_> = w.drain_trace().collect();
        let mut sends = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            // An injected segment meets the network's rules as a sent one.
            let (What::Send { seg } | What::Inject { seg, .. }) = e.what else {
                continue;
            };
            let h = seg.src.host;
            if self.sent.len() <= h as usize {
                self.sent.resize(h as usize + 1, 0);
            }
            self.sent[h as usize] += 1;
            let copies = match entries.get(i + 1).map(|e| e.what) {
                Some(What::Drop { .. }) => 0,
                Some(What::Duplicate { .. }) => 2,
                _ => 1,
            };
            sends.extend(std::iter::repeat_n((h, self.sent[h as usize]), copies));
        }
        let mut new: Vec<_> = w.in_flight().filter(|a| a.seq >= seq0).collect();
        new.sort_by_key(|a| a.seq);
        assert_eq!(new.len(), sends.len(), "every send queued is an arrival");
        for (a, (h, nth)) in new.iter().zip(sends) {
            self.arrivals.insert(a.seq, (h, nth, a.at));
        }
    }

    fn fate(&mut self, seq: u64) -> (&mut Fate, Instant) {
        let (h, nth, first) = self.arrivals[&seq];
        (self.fates.entry((h, nth)).or_default(), first)
    }
}

/// A path's replay: the calls made (side, menu item, when) and the fates.
struct Replay {
    calls: Vec<(usize, usize, Instant)>,
    book: Book,
    end: Instant,
}

/// Takes `path` from the start on a world that keeps its clock.
fn replay_path(setup: &Setup, rules: Rules, path: &[Choice]) -> Result<Replay, String> {
    let mut w = World::for_exploration(setup.spec.clone(), setup.prefix, true);
    let mut book = Book::default();
    for _ in 0..PREFIX_EVENTS_MAX {
        let seq0 = w.insertions();
        let more = w.step_to_start();
        book.absorb(&mut w, seq0);
        if !more {
            break;
        }
    }
    if !w.at_start() {
        return Err(format!(
            "the steps before the mark did not finish within {PREFIX_EVENTS_MAX} events"
        ));
    }
    let mut n = Node {
        world: Box::new(w),
        used: Used::NONE,
    };
    let mut calls = Vec::new();
    for &c in path {
        let arrival = n.world.next_arrival();
        let seq0 = n.world.insertions();
        match c {
            Choice::Call { side, item } => {
                let at = n.world.call_time().expect("a gap for the call");
                calls.push((side as usize, item as usize, at));
            }
            Choice::Lose => book.fate(arrival.expect("an arrival").seq).0.drop = true,
            Choice::Duplicate => book.fate(arrival.expect("an arrival").seq).0.duplicate = true,
            Choice::Next | Choice::Overtaken | Choice::TimerFirst => {}
        }
        apply(setup, rules, &mut n, c);
        if let (Choice::Overtaken | Choice::TimerFirst, Some(a)) = (c, arrival) {
            let now_at = n
                .world
                .in_flight()
                .find(|x| x.seq == a.seq)
                .expect("held, not gone")
                .at;
            let (f, first) = book.fate(a.seq);
            f.delay_ns = now_at.saturating_since(first).as_ns();
        }
        book.absorb(&mut n.world, seq0);
    }
    Ok(Replay {
        calls,
        book,
        end: n.world.now,
    })
}

/// A witness: the path, its scenario file, and the class its replay by
/// `tcpsim run`'s loader reached.
#[derive(Clone, Debug)]
pub struct Witness {
    pub path: Vec<Choice>,
    pub text: String,
    pub replayed: Class,
    /// The replay's outcome (for livelocks: the limit that stopped it).
    pub replayed_outcome: String,
}

/// Writes the witness of `path` (named `name`, described by `what`).
pub fn witness(
    setup: &Setup,
    rules: Rules,
    path: &[Choice],
    name: &str,
    what: &str,
) -> Result<Witness, String> {
    let r = replay_path(setup, rules, path)?;
    let mut f = file_of(setup, &r);
    f.scenario.name = Some(name.to_string());
    f.scenario.description = Some(what.to_string());
    let text = scenario::write(&f);
    let shown = format!("{name}.toml");
    let s =
        scenario::from_text(&shown, &text, base(setup), &Overrides::default()).map_err(|d| {
            let d: Vec<String> = d.iter().map(|d| d.render(false)).collect();
            format!("a witness does not load back:\n{}", d.join("\n"))
        })?;
    let mut w = World::new(s.spec.clone(), false);
    let v = w.run();
    f.expect = Some(expect_from(&s.spec, &v));
    Ok(Witness {
        path: path.to_vec(),
        text: scenario::write(&f),
        replayed: Class::of(&w, &v),
        replayed_outcome: v.outcome.key().to_string(),
    })
}

/// Where a witness's relative personality files are found: beside the scenario.
fn base(setup: &Setup) -> &Path {
    Path::new(&setup.scenario.path)
        .parent()
        .unwrap_or(Path::new("."))
}

/// The scenario file of a replayed path: the scenario's hosts (under the
/// pair), network and processes, its steps before the mark (without their
/// expectations, which were written for its own pair), the calls at their
/// instants, and the network's choices as scripted drops and faults.
fn file_of(setup: &Setup, r: &Replay) -> ScenarioFile {
    let mut f = setup.scenario.file.clone();
    f.expect = None;
    for (h, name) in f.hosts.values_mut().zip(&setup.pair) {
        h.personality = Spanned::new(0..0, name.clone());
    }
    let mut lines: Vec<Spanned<String>> = f.script.steps[..setup.prefix]
        .iter()
        .map(|l| {
            let mut s = parse_step(l.get_ref()).expect("the prefix parsed before");
            s.expect = None;
            Spanned::new(0..0, s.to_string())
        })
        .collect();
    for &(side, item, at) in &r.calls {
        let s = &setup.sides[side];
        let step = StepDef {
            at: At::Abs(at),
            after: None,
            label: None,
            proc: Tok {
                text: s.name.clone(),
                at: 0..0,
            },
            ..s.defs[item].clone()
        };
        lines.push(Spanned::new(0..0, step.to_string()));
    }
    f.script.steps = lines;
    let host = |h: HostId| Some(Spanned::new(0..0, setup.sides[h as usize].name.clone()));
    for (&(h, nth), fate) in &r.book.fates {
        if fate.drop {
            f.network.drop.push(DropDef {
                from: host(h),
                flags: None,
                nth: Spanned::new(0..0, i64::from(nth)),
                count: Spanned::new(0..0, 1),
            });
        }
        if fate.duplicate || fate.delay_ns > 0 {
            let delay = Duration::from_ns(fate.delay_ns);
            f.network.fault.push(FaultDef {
                from: host(h),
                flags: None,
                nth: Spanned::new(0..0, i64::from(nth)),
                count: Spanned::new(0..0, 1),
                duplicate: fate.duplicate,
                delay: (fate.delay_ns > 0).then(|| Spanned::new(0..0, format_duration(delay))),
            });
        }
    }
    // A run longer than the default limit (1h) gets room to finish.
    let default = Duration::from_secs(3_600);
    if r.end.since_start() + Duration::from_secs(600) > default {
        let limit = Duration::from_secs(r.end.since_start().as_ns() / 1_000_000_000 * 2 + 3_600);
        f.scenario.duration = Some(Spanned::new(0..0, format_duration(limit)));
    }
    f
}
