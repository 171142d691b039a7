//! The simulator against the kernel, on what a user of the program would
//! notice: the outcome class, which hosts sent RSTs, every step's result
//! (counts for reads and writes, errors), whether and for how long each step
//! blocked, the order in which steps of different processes returned, bytes
//! each application read, end states. Both sides are read from the same kind
//! of trace ([`sim::Entry`]) and verdict. Exact segmentation, windows and ACK
//! timing may differ and are not compared (docs/real-kernel.md).

use super::run::RealRun;
use super::trace::BLOCK_MIN_REAL_NS;
#[cfg(test)]
use super::worker::Rec;
use model::{CallResult, Event, HostId, State};
use scenario::Scenario;
use serde::Serialize;
use sim::spec::{Action, WorldSpec};
use sim::{Entry, Verdict, What};

/// One compared item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Item {
    pub what: String,
    pub sim: String,
    pub kernel: String,
    pub agree: bool,
}

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepResult {
    /// The step never started.
    NotRun,
    /// It started and had not returned when the run ended.
    Blocked,
    Done(CallResult),
}

impl std::fmt::Display for StepResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepResult::NotRun => f.write_str("never ran"),
            StepResult::Blocked => f.write_str("blocked"),
            StepResult::Done(Ok(v)) => write!(f, "{v}"),
            StepResult::Done(Err(e)) => f.write_str(e.name()),
        }
    }
}

/// A step as a trace shows it: its result, when it started and returned
/// (virtual ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepRun {
    pub result: StepResult,
    pub start_ns: Option<u64>,
    pub end_ns: Option<u64>,
}

/// Each step's run, from a trace of either producer: the results of its
/// system calls (a read to EOF totals its reads; otherwise the first error
/// or the last value), or its process entry (fork, exit, sleep).
pub fn step_runs(spec: &WorldSpec, trace: &[Entry]) -> Vec<StepRun> {
    let n = spec.steps.len();
    let mut results: Vec<Vec<CallResult>> = vec![Vec::new(); n];
    let mut runs = vec![
        StepRun {
            result: StepResult::NotRun,
            start_ns: None,
            end_ns: None,
        };
        n
    ];
    let mut process_done = vec![false; n];
    for e in trace {
        match e.what {
            What::Call { step, .. } => {
                let r = &mut runs[step as usize];
                r.start_ns.get_or_insert(e.t_ns.as_ns());
                r.end_ns = None;
            }
            What::Return { step, result, .. } => {
                runs[step as usize].end_ns = Some(e.t_ns.as_ns());
                results[step as usize].push(result);
            }
            What::Fork { proc, .. } | What::Exit { proc } | What::Sleep { proc, .. } => {
                let Some(i) = process_step(spec, &process_done, proc, &e.what) else {
                    continue;
                };
                process_done[i] = true;
                let end = match e.what {
                    What::Sleep { ns, .. } => (e.t_ns + ns).as_ns(),
                    _ => e.t_ns.as_ns(),
                };
                runs[i] = StepRun {
                    result: StepResult::Done(Ok(0)),
                    start_ns: Some(e.t_ns.as_ns()),
                    end_ns: Some(end),
                };
            }
            _ => {}
        }
    }
    for (i, r) in runs.iter_mut().enumerate() {
        if !process_done[i] && r.start_ns.is_some() {
            r.result = match r.end_ns {
                None => StepResult::Blocked,
                Some(_) => step_result(&spec.steps[i].action, &results[i]),
            };
        }
    }
    runs
}

/// The first step of `proc` not yet done that a process entry stands for.
fn process_step(spec: &WorldSpec, done: &[bool], proc: u16, what: &What) -> Option<usize> {
    spec.steps.iter().enumerate().position(|(i, s)| {
        s.proc == proc
            && !done[i]
            && match (s.action, what) {
                (Action::Fork { child }, What::Fork { child: c, .. }) => child == *c,
                (Action::Exit {}, What::Exit { .. }) => true,
                (Action::Sleep { .. }, What::Sleep { .. }) => true,
                _ => false,
            }
    })
}

/// A step's result from its calls' results.
fn step_result(a: &Action, rs: &[CallResult]) -> StepResult {
    match a {
        Action::Read {
            len: model::ReadLen::Eof,
            ..
        } => match rs.last() {
            Some(Err(e)) => StepResult::Done(Err(*e)),
            Some(Ok(0)) => StepResult::Done(Ok(rs.iter().map(|r| r.unwrap_or(0)).sum())),
            _ => StepResult::Blocked,
        },
        _ => match rs.iter().find_map(|r| r.err()) {
            Some(e) => StepResult::Done(Err(e)),
            None => StepResult::Done(Ok(rs.last().and_then(|r| r.ok()).unwrap_or(0))),
        },
    }
}

/// How far apart (virtual ns) two times of a step may be and still agree:
/// [`BLOCK_MIN_REAL_NS`] of real time (clock reads and process scheduling),
/// or 5% of the simulated duration for long waits (the kernel's
/// timers, e.g. a 200 ms RTO, are coarser than the model's).
pub fn tolerance_ns(scale: f64, sim_duration_ns: u64) -> u64 {
    let floor = (BLOCK_MIN_REAL_NS as f64 / scale).round() as u64;
    floor.max(sim_duration_ns / 20)
}

/// A step result as compared: counts for reads and writes, revents for
/// poll, the value read for getsockopt/ioctl, "ok" for calls whose value is
/// a descriptor, a pid or 0.
/// A step whose scenario expects `= ok` has said its count does not matter.
fn norm(a: Action, expect: Option<sim::Expect>, r: &StepResult) -> String {
    match r {
        StepResult::Done(Ok(_)) if expect == Some(sim::Expect::Ok) => "ok".into(),
        StepResult::Done(Ok(v)) => match a {
            Action::Getsockopt {
                opt: model::call::SockOpt::TcpState,
                ..
            } => State::code_text(*v),
            Action::Write { .. } | Action::Read { .. } | Action::Getsockopt { .. } => v.to_string(),
            Action::Poll { also, .. } => {
                model::call::poll_bits::text_each(*v, 1 + also.iter().count())
            }
            Action::Select { also, .. } => {
                model::call::select_sets::text_each(*v, 1 + also.iter().count())
            }
            _ => "ok".into(),
        },
        other => other.to_string(),
    }
}

/// One side of a comparison: its trace and verdict, and its steps.
pub struct Side<'a> {
    pub trace: &'a [Entry],
    pub verdict: &'a Verdict,
    pub steps: Vec<StepRun>,
}

impl<'a> Side<'a> {
    pub fn new(spec: &WorldSpec, trace: &'a [Entry], verdict: &'a Verdict) -> Side<'a> {
        Side {
            trace,
            verdict,
            steps: step_runs(spec, trace),
        }
    }
}

/// Collects items.
struct Items(Vec<Item>);

impl Items {
    fn push(&mut self, what: String, sim: String, kernel: String) {
        let agree = sim == kernel;
        self.push_as(what, sim, kernel, agree);
    }
    fn push_as(&mut self, what: String, sim: String, kernel: String, agree: bool) {
        self.0.push(Item {
            what,
            sim,
            kernel,
            agree,
        });
    }
}

/// Compares a simulation with a kernel run of the same scenario.
pub fn compare(s: &Scenario, sim: &Side, kernel: &Side, run: &RealRun) -> Vec<Item> {
    let spec = &s.spec;
    let mut items = Items(Vec::new());
    if run.capture_error.is_none() {
        verdict_items(spec, sim.verdict, kernel.verdict, &mut items);
    }
    let labels = labels(s);
    for (i, st) in spec.steps.iter().enumerate() {
        let what = format!(
            "step {:>2} {}: {}",
            i + 1,
            spec.procs[st.proc as usize].name,
            step_text(spec, &labels, i as u32)
        );
        let (a, b) = (&sim.steps[i].result, &kernel.steps[i].result);
        items.push(
            what.clone(),
            norm(st.action, st.expect, a),
            norm(st.action, st.expect, b),
        );
        if st.action.blocks() != model::call::Blocks::Process {
            timing_item(what, run.scale, &sim.steps[i], &kernel.steps[i], &mut items);
        }
    }
    order_item(spec, run.scale, sim, kernel, &mut items);
    bytes_items(spec, sim.verdict, kernel.verdict, &mut items);
    state_items(spec, sim, kernel.verdict, run, &mut items);
    items.0
}

/// The outcome class and, per host, whether it sent an RST.
fn verdict_items(spec: &WorldSpec, sv: &Verdict, kv: &Verdict, items: &mut Items) {
    items.push(
        "outcome".into(),
        sv.outcome.to_string(),
        kv.outcome.to_string(),
    );
    for h in 0..spec.hosts.len() as HostId {
        let sends = |v: &Verdict| {
            let yes = v.resets.iter().any(|r| r.from.host == h);
            if yes { "sends RST" } else { "no RST" }.to_string()
        };
        items.push(
            format!("RST from {}", spec.hosts[h as usize].name),
            sends(sv),
            sends(kv),
        );
    }
}

/// How long a step took to return, as shown: `at once` within the
/// blocking threshold, else the wait.
fn wait_text(scale: f64, r: &StepRun) -> String {
    match (r.start_ns, r.end_ns) {
        (Some(a), Some(b)) if b - a <= tolerance_ns(scale, 0) => "at once".into(),
        (Some(a), Some(b)) => format!(
            "blocks {} ms",
            sim::report::duration_ms(model::Duration::from_ns(b - a))
        ),
        (Some(_), None) => "blocks, never returns".into(),
        (None, _) => "never ran".into(),
    }
}

/// Whether a step blocked, and for how long, on each side: listed when it
/// blocked on either. Waits agree within [`tolerance_ns`].
fn timing_item(what: String, scale: f64, sim: &StepRun, kernel: &StepRun, items: &mut Items) {
    let duration = |r: &StepRun| Some(r.end_ns? - r.start_ns?);
    let (ds, dk) = (duration(sim), duration(kernel));
    let blocked = |r: &StepRun, d: Option<u64>| {
        r.start_ns.is_some() && d.is_none_or(|d| d > tolerance_ns(scale, 0))
    };
    if !blocked(sim, ds) && !blocked(kernel, dk) {
        return;
    }
    let agree = match (ds, dk) {
        (Some(a), Some(b)) => a.abs_diff(b) <= tolerance_ns(scale, a),
        (None, None) => sim.start_ns.is_some() == kernel.start_ns.is_some(),
        _ => false,
    };
    items.push_as(
        format!("{what} (blocking)"),
        wait_text(scale, sim),
        wait_text(scale, kernel),
        agree,
    );
}

/// The order in which steps of different processes returned: a pair the
/// simulator has clearly apart (more than the tolerance) must return in the
/// same order on the kernel. The first pair that does not is shown.
fn order_item(spec: &WorldSpec, scale: f64, sim: &Side, kernel: &Side, items: &mut Items) {
    let ends = |i: usize| Some((sim.steps[i].end_ns?, kernel.steps[i].end_ns?));
    let n = spec.steps.len();
    let name = |i: usize| {
        format!(
            "step {} ({})",
            i + 1,
            spec.procs[spec.steps[i].proc as usize].name
        )
    };
    let mut inverted = None;
    'outer: for i in 0..n {
        for j in 0..n {
            let (Some((si, ki)), Some((sj, kj))) = (ends(i), ends(j)) else {
                continue;
            };
            let apart = si + tolerance_ns(scale, 0) < sj;
            if spec.steps[i].proc != spec.steps[j].proc && apart && kj < ki {
                inverted = Some((i, j));
                break 'outer;
            }
        }
    }
    let (sim_text, kernel_text) = match inverted {
        None => ("as listed by time".to_string(), "the same".to_string()),
        Some((i, j)) => (
            format!("{} before {}", name(i), name(j)),
            format!("{} before {}", name(j), name(i)),
        ),
    };
    items.push_as(
        "order of returns across processes".into(),
        sim_text,
        kernel_text,
        inverted.is_none(),
    );
}

/// Bytes read per direction (from host, to host).
fn read_bytes(v: &Verdict, a: HostId, b: HostId) -> u64 {
    v.connections
        .iter()
        .flat_map(|c| c.directions.iter())
        .filter(|d| d.from.is_some_and(|f| f.host == a) && d.to.is_some_and(|t| t.host == b))
        .map(|d| d.read)
        .sum()
}

fn bytes_items(spec: &WorldSpec, sv: &Verdict, kv: &Verdict, items: &mut Items) {
    let n = spec.hosts.len() as HostId;
    let joins = |v: &Verdict, a: HostId, b: HostId| {
        v.connections.iter().any(|c| {
            c.endpoints.iter().any(|e| e.addr.host == a)
                && c.endpoints.iter().any(|e| e.addr.host == b)
        })
    };
    for a in 0..n {
        for b in (0..n).filter(|&b| b != a) {
            if joins(sv, a, b) || joins(kv, a, b) {
                items.push(
                    format!(
                        "bytes {} read from {}",
                        spec.hosts[b as usize].name, spec.hosts[a as usize].name
                    ),
                    read_bytes(sv, a, b).to_string(),
                    read_bytes(kv, a, b).to_string(),
                );
            }
        }
    }
}

/// The state of a simulated endpoint at virtual time `t`.
fn sim_state_at(trace: &[Entry], local: model::Addr, remote: model::Addr, t: u64) -> State {
    let mut st = State::Closed;
    for e in trace.iter().take_while(|e| e.t_ns.as_ns() <= t) {
        if let What::Model {
            event: Event::State { conn, to, .. },
        } = e.what
        {
            if conn.local == local && conn.remote == remote {
                st = to;
            }
        }
    }
    st
}

/// The kernel's state of an endpoint at the end, from /proc/net/tcp (absent: CLOSED).
fn kernel_state(run: &RealRun, local: model::Addr, remote: model::Addr) -> Option<String> {
    let ep = |a: model::Addr| (run.host_ip[a.host as usize], a.port);
    let listed = run.states.as_ref()?;
    let s = listed
        .iter()
        .find(|s| s.local == ep(local) && s.remote == ep(remote));
    Some(s.map_or("CLOSED".to_string(), |s| s.state.clone()))
}

/// End states, connection by connection: matched by (connector host,
/// acceptor host, acceptor port) and order of appearance. The simulator's
/// state is taken when the kernel's was read.
fn state_items(spec: &WorldSpec, sim: &Side, kv: &Verdict, run: &RealRun, items: &mut Items) {
    let trace = sim.trace;
    let host = |h: HostId| spec.hosts[h as usize].name.clone();
    let t_obs = super::trace::virt(run.scale, run.end_ns);
    let mut used = vec![false; kv.connections.len()];
    let established = |c: &sim::verdict::Connection| {
        c.endpoints
            .iter()
            .any(|e| e.states.contains(&State::Established))
    };
    // `client→server:80`: the connector, the acceptor and its port.
    let label_of = |c: &sim::verdict::Connection| {
        let [a, b] = &c.endpoints;
        format!(
            "{}→{}:{}",
            host(a.addr.host),
            host(b.addr.host),
            b.addr.port
        )
    };
    for c in &sim.verdict.connections {
        let [a, b] = &c.endpoints;
        let label = label_of(c);
        let m = kv.connections.iter().enumerate().find(|(i, k)| {
            let [ka, kb] = &k.endpoints;
            !used[*i]
                && (ka.addr.host, kb.addr.host, kb.addr.port)
                    == (a.addr.host, b.addr.host, b.addr.port)
        });
        let Some((i, k)) = m else {
            if established(c) {
                items.push(
                    format!("connection {label}"),
                    "exists".into(),
                    "not made".into(),
                );
            }
            continue;
        };
        used[i] = true;
        for n in 0..2 {
            let (e, other) = (&c.endpoints[n], &c.endpoints[1 - n]);
            let (ke, kother) = (&k.endpoints[n], &k.endpoints[1 - n]);
            let Some(kst) = kernel_state(run, ke.addr, kother.addr) else {
                continue;
            };
            let sst = sim_state_at(trace, e.addr, other.addr, t_obs);
            let what = format!(
                "state of {}'s end ({label}) at {} ms",
                host(e.addr.host),
                sim::report::ms(model::Instant::from_ns(t_obs))
            );
            items.push(what, sst.name().to_string(), kst);
        }
    }
    for (i, k) in kv.connections.iter().enumerate() {
        if !used[i] && established(k) {
            let label = label_of(k);
            items.push(
                format!("connection {label}"),
                "not made".into(),
                "exists".into(),
            );
        }
    }
}

/// A step as the scenario wrote it (from `labels`), or where it came from.
pub fn step_text(spec: &WorldSpec, labels: &[String], step: u32) -> String {
    if let Some(l) = labels.get(step as usize) {
        return l.clone();
    }
    let s = &spec.steps[step as usize];
    match &s.origin {
        Some(o) => o.clone(),
        None => format!("{:?}", s.action),
    }
}

/// Each step's text as written in the scenario file, spaces collapsed.
pub fn labels(s: &Scenario) -> Vec<String> {
    let v: Vec<String> = s
        .file
        .script
        .steps
        .iter()
        .map(|l| l.get_ref().split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if v.len() == s.spec.steps.len() {
        v
    } else {
        Vec::new()
    }
}

/// The comparison as text: differences first, then what agrees.
pub fn text(items: &[Item]) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let w = items
        .iter()
        .map(|i| i.what.chars().count())
        .max()
        .unwrap_or(10)
        .min(70);
    let _ = writeln!(o, "  {:<6}{:<w$}  {:<22}  kernel", "", "", "simulator");
    for i in items {
        let _ = writeln!(
            o,
            "  {:<6}{:<w$}  {:<22}  {}",
            if i.agree { "ok" } else { "DIFF" },
            i.what,
            i.sim,
            i.kernel
        );
    }
    let d = items.iter().filter(|i| !i.agree).count();
    if d == 0 {
        let _ = writeln!(
            o,
            "\nthe simulator and the kernel agree ({} items)",
            items.len()
        );
    } else {
        let _ = writeln!(
            o,
            "\n{d} difference{} between the simulator and the kernel",
            if d == 1 { "" } else { "s" }
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::tests::{convert, fixture};

    /// The simulator's run of the fixture scenario beside a kernel run of it.
    fn items(accept_return_ns: u64) -> Vec<Item> {
        let (s, run) = fixture(accept_return_ns);
        let (ktrace, kv) = convert(&s, &run);
        let mut w = sim::World::new(s.spec.clone(), true);
        let sv = w.run();
        let sim = Side::new(&s.spec, w.trace(), &sv);
        let kernel = Side::new(&s.spec, &ktrace, &kv);
        compare(&s, &sim, &kernel, &run)
    }

    #[test]
    fn a_step_that_blocks_on_one_side_only_is_a_difference_naming_it() {
        // The simulator's accept waits 20.1 ms for the connection; this
        // kernel's returns at once.
        let diffs: Vec<Item> = items(100_000).into_iter().filter(|i| !i.agree).collect();
        let accept: Vec<&Item> = diffs
            .iter()
            .filter(|i| i.what.contains("(blocking)"))
            .collect();
        assert_eq!(accept.len(), 1, "{diffs:#?}");
        assert!(
            accept[0]
                .what
                .contains("step  2 server: - server accept l as s"),
            "{}",
            accept[0].what
        );
        assert_eq!(accept[0].kernel, "at once");
        assert!(
            accept[0].sim.starts_with("blocks 20.1"),
            "{}",
            accept[0].sim
        );
    }

    #[test]
    fn waits_agree_within_the_tolerance() {
        let all = items(20_125_000);
        let accept = all
            .iter()
            .find(|i| i.what.ends_with("accept l as s (blocking)"))
            .unwrap();
        assert!(accept.agree, "{accept:?}");
        assert_eq!(tolerance_ns(1.0, 0), 10_000_000);
        assert_eq!(
            tolerance_ns(50.0, 0),
            200_000,
            "10 ms of real time at scale 50"
        );
        assert_eq!(
            tolerance_ns(1.0, 3_400_000_000),
            170_000_000,
            "5% of a long wait"
        );
    }

    #[test]
    fn returns_out_of_order_across_processes_are_a_difference() {
        // The server's close (40 ms in the simulation) returning before the
        // client's write (20.1 ms) is an inversion.
        let (s, mut run) = fixture(20_125_000);
        for r in &mut run.recs {
            if let Rec::Return {
                proc: 0,
                step: 3,
                t,
                ..
            } = r
            {
                *t = 45_000_000;
            }
        }
        let (ktrace, kv) = convert(&s, &run);
        let mut w = sim::World::new(s.spec.clone(), true);
        let sv = w.run();
        let items = compare(
            &s,
            &Side::new(&s.spec, w.trace(), &sv),
            &Side::new(&s.spec, &ktrace, &kv),
            &run,
        );
        let order = items
            .iter()
            .find(|i| i.what == "order of returns across processes")
            .unwrap();
        assert!(!order.agree);
        assert_eq!(order.kernel, "step 5 (server) before step 4 (client)");
    }
}
