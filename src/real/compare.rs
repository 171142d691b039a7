//! The simulator against the kernel: what must agree (outcome class, which
//! hosts sent RSTs, every step's result, bytes each application read, end
//! states) and where it does not. Exact segmentation, windows, ACK timing and
//! times may differ and are not compared (docs/real-kernel.md).

use super::report::{step_text, RealVerdict, StepResult};
use super::run::RealRun;
use super::worker::Res;
use model::{Event, HostId, State};
use serde::Serialize;
use sim::spec::{Action, WorldSpec};
use sim::{Entry, Verdict, What};

/// One compared item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub what: String,
    pub sim: String,
    pub kernel: String,
    pub agree: bool,
}

/// Each step's result in a simulation, from its trace.
pub fn sim_steps(spec: &WorldSpec, trace: &[Entry]) -> Vec<StepResult> {
    let n = spec.steps.len();
    let mut results: Vec<Vec<model::CallResult>> = vec![Vec::new(); n];
    let mut started = vec![false; n];
    let mut blocked = vec![false; n];
    let mut done = vec![None; n];
    let mark = |p: u16, pred: &dyn Fn(&Action) -> bool, done: &mut Vec<Option<Res>>| {
        if let Some(i) = spec
            .steps
            .iter()
            .enumerate()
            .position(|(i, s)| s.proc == p && done[i].is_none() && pred(&s.action))
        {
            done[i] = Some(Res::Ok(0));
        }
    };
    for e in trace {
        match e.what {
            What::Call { step, .. } => started[step as usize] = true,
            What::Blocked { step, .. } => blocked[step as usize] = true,
            What::Return { step, result, .. } => {
                blocked[step as usize] = false;
                results[step as usize].push(result);
            }
            What::Fork { proc, child } => mark(
                proc,
                &|a| matches!(a, Action::Fork { child: c } if *c == child),
                &mut done,
            ),
            What::Exit { proc } => mark(proc, &|a| matches!(a, Action::Exit {}), &mut done),
            What::Sleep { proc, .. } => {
                mark(proc, &|a| matches!(a, Action::Sleep { .. }), &mut done)
            }
            _ => {}
        }
    }
    (0..n)
        .map(|i| {
            if let Some(r) = &done[i] {
                return StepResult::Done(r.clone());
            }
            let rs = &results[i];
            if blocked[i] {
                return StepResult::Blocked;
            }
            if rs.is_empty() {
                return if started[i] {
                    StepResult::Blocked
                } else {
                    StepResult::NotRun
                };
            }
            let err = |e: model::Errno| StepResult::Done(Res::Err(e.name().to_string()));
            match spec.steps[i].action {
                Action::Read {
                    len: model::ReadLen::Eof,
                    ..
                } => match rs.last() {
                    Some(Err(e)) => err(*e),
                    Some(Ok(0)) => {
                        StepResult::Done(Res::Ok(rs.iter().map(|r| r.unwrap_or(0)).sum()))
                    }
                    _ => StepResult::Blocked,
                },
                _ => match rs.iter().find_map(|r| r.err()) {
                    Some(e) => err(e),
                    None => StepResult::Done(Res::Ok(rs.last().and_then(|r| r.ok()).unwrap_or(0))),
                },
            }
        })
        .collect()
}

/// A step result as compared: counts for reads and writes, "ok" for calls
/// whose value is a descriptor, a pid or 0.
/// A step whose scenario expects `= ok` has said its count does not matter.
fn norm(a: Action, expect: Option<sim::Expect>, r: &StepResult) -> String {
    match r {
        StepResult::Done(Res::Ok(_)) if expect == Some(sim::Expect::Ok) => "ok".into(),
        StepResult::Done(Res::Ok(v)) => match a {
            Action::Write { .. } | Action::Read { .. } => v.to_string(),
            _ => "ok".into(),
        },
        other => other.to_string(),
    }
}

/// Bytes read per direction (from host, to host).
fn sim_read(v: &Verdict, a: HostId, b: HostId) -> u64 {
    v.connections
        .iter()
        .flat_map(|c| c.directions.iter())
        .filter(|d| d.from.is_some_and(|f| f.host == a) && d.to.is_some_and(|t| t.host == b))
        .map(|d| d.read)
        .sum()
}

/// The state of a simulated endpoint at virtual time `t`.
fn sim_state_at(trace: &[Entry], local: model::Addr, remote: model::Addr, t: u64) -> State {
    let mut st = State::Closed;
    for e in trace.iter().take_while(|e| e.t_ns <= t) {
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

/// Compares a simulation with a kernel run of the same scenario.
pub fn compare(
    spec: &WorldSpec,
    trace: &[Entry],
    sv: &Verdict,
    run: &RealRun,
    rv: &RealVerdict,
) -> Vec<Item> {
    let mut items = Vec::new();
    let host = |h: HostId| spec.hosts[h as usize].name.clone();
    let mut push = |what: String, sim: String, kernel: String| {
        let agree = sim == kernel;
        items.push(Item {
            what,
            sim,
            kernel,
            agree,
        });
    };
    if let Some(o) = rv.outcome {
        push("outcome".into(), sv.outcome.to_string(), o.to_string());
        for h in 0..spec.hosts.len() as HostId {
            let sim_rst = trace.iter().any(
                |e| matches!(e.what, What::Send { seg } if seg.flags.rst() && seg.src.host == h),
            );
            let real_rst = rv.resets.iter().any(|r| r.from == h);
            let yn = |b: bool| if b { "sends RST" } else { "no RST" }.to_string();
            push(format!("RST from {}", host(h)), yn(sim_rst), yn(real_rst));
        }
    }
    let ss = sim_steps(spec, trace);
    for (i, s) in spec.steps.iter().enumerate() {
        let sim = norm(s.action, s.expect, &ss[i]);
        let kernel = norm(s.action, s.expect, &rv.steps[i].result);
        push(
            format!(
                "step {:>2} {}: {}",
                i + 1,
                spec.procs[s.proc as usize].name,
                step_text(spec, &run.labels, i as u32)
            ),
            sim,
            kernel,
        );
    }
    let n = spec.hosts.len() as HostId;
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            let sim = sim_read(sv, a, b);
            let kernel: u64 = rv
                .connections
                .iter()
                .flat_map(|c| c.directions.iter())
                .filter(|d| d.from == a && d.to == b)
                .map(|d| d.read)
                .sum();
            let any_conn = sv.connections.iter().any(|c| {
                c.endpoints.iter().any(|e| e.addr.host == a)
                    && c.endpoints.iter().any(|e| e.addr.host == b)
            }) || !rv.connections.is_empty();
            if any_conn {
                push(
                    format!("bytes {} read from {}", host(b), host(a)),
                    sim.to_string(),
                    kernel.to_string(),
                );
            }
        }
    }
    // End states, connection by connection: matched by (connector host,
    // acceptor host, acceptor port) and order of appearance.
    let t_obs = (run.end_ns as f64 / run.scale) as u64;
    let mut used = vec![false; rv.connections.len()];
    let sim_established = |c: &sim::verdict::Connection| {
        c.endpoints
            .iter()
            .any(|e| e.states.contains(&State::Established))
    };
    for c in &sv.connections {
        let [a, b] = &c.endpoints;
        let m = rv.connections.iter().enumerate().find(|(i, rc)| {
            !used[*i] && rc.hosts == [a.addr.host, b.addr.host] && rc.ends[1].1 == b.addr.port
        });
        let Some((i, rc)) = m else {
            if !sim_established(c) {
                continue; // a failed attempt: its call results are compared
            }
            push(
                format!(
                    "connection {}→{}:{}",
                    host(a.addr.host),
                    host(b.addr.host),
                    b.addr.port
                ),
                "exists".into(),
                "not made".into(),
            );
            continue;
        };
        used[i] = true;
        for (k, e) in [a, b].iter().enumerate() {
            let other = if k == 0 { b } else { a };
            let Some(kst) = &rc.final_states[k] else {
                continue;
            };
            let sst = sim_state_at(trace, e.addr, other.addr, t_obs);
            push(
                format!(
                    "state of {}'s end ({}→{}:{}) at {} ms",
                    host(e.addr.host),
                    host(a.addr.host),
                    host(b.addr.host),
                    b.addr.port,
                    sim::report::ms(t_obs)
                ),
                sst.name().to_string(),
                kst.clone(),
            );
        }
    }
    for (i, rc) in rv.connections.iter().enumerate() {
        let established = run
            .pkts
            .iter()
            .any(|p| p.flags & 0x12 == 0x12 && (p.src, p.dst) == (rc.ends[1], rc.ends[0]));
        if !used[i] && established {
            push(
                format!(
                    "connection {}→{}:{}",
                    host(rc.hosts[0]),
                    host(rc.hosts[1]),
                    rc.ends[1].1
                ),
                "not made".into(),
                "exists".into(),
            );
        }
    }
    items
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
    let _ = writeln!(o, "  {:<6}{:<w$}  {:<20}  kernel", "", "", "simulator");
    for i in items {
        let _ = writeln!(
            o,
            "  {:<6}{:<w$}  {:<20}  {}",
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
