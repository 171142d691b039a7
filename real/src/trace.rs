//! A kernel run as the simulator's trace: the same [`Entry`] values, so one
//! [`Observer`], one ladder and one expectation check serve both.
//!
//! What the kernel lets us know becomes entries:
//! - each system call a step made (its start, its return, its result) becomes
//!   `Call`, `Blocked` (when it returned more than [`BLOCK_MIN_REAL_NS`] after
//!   it started, or never) and `Return`; bytes written or read and errors on
//!   a connection become the model's `AppWrote`/`AppRead`/`AppError`;
//! - each captured segment becomes `Send` (and `Recv` one delay later), with
//!   sequence numbers relative to its sender's ISN;
//! - state changes are derived from the segments ([`Tracker`]): only the
//!   transitions a segment shows (a SYN sent, a FIN acknowledged, an RST);
//!   bytes that entered a receive buffer are the ones its ACKs cover;
//! - an RST is `RstSeen`: its cause is not observable on the wire.

use super::capture::Pkt;
use super::plan::Net;
use super::run::RealRun;
use super::worker::{Ep, Rec, Res};
use model::call::{Expansion, Fds, Next, Rename};
use model::{Addr, CallResult, Conn, Errno, Event, Flags, HostId, Pid, Segment, Seq, SysCall};
use sim::spec::{Action, ProcId, Slots, Within, WorldSpec};
use sim::verdict::{Observer, StepMismatch, Stuck};
use sim::{EndReason, Entry, Verdict, What};

mod tracker;
use tracker::Tracker;

/// A call that returned more than this long (real time) after it started
/// blocked. Below it, the clock reads around a call and the wake-up and
/// scheduling of a process blocked in the kernel cannot tell a call that
/// waited from one that did not: on this 2-CPU machine shared with builds
/// (load average 5), wake-ups were seen up to 6 ms late, and a transfer the
/// model finishes in 1 ms took 2 to 6 ms.
pub const BLOCK_MIN_REAL_NS: u64 = 10_000_000;

/// One system call a step made on the kernel. Times are real ns since time 0.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelCall {
    pub proc: ProcId,
    pub step: u32,
    /// The call, with the kernel's descriptor.
    pub call: SysCall,
    pub t_start_ns: u64,
    /// None: it had not returned when the run ended.
    pub t_end_ns: Option<u64>,
    pub res: Option<Res>,
    /// The socket's (local, peer) endpoints, when known.
    pub conn: Option<(Ep, Ep)>,
}

/// A call as the host sees it: each socket it names as the kernel
/// descriptor the worker reported for it, in the same order.
struct KernelFds<'a> {
    fds: std::slice::Iter<'a, i32>,
}

impl Rename<Slots, Fds> for KernelFds<'_> {
    fn sock(&mut self, _: &u16) -> model::Fd {
        // -1 (no descriptor) reads as the simulator's "no such descriptor".
        match self.fds.next() {
            Some(&fd) if fd >= 0 => fd as model::Fd,
            _ => model::NO_FD,
        }
    }
    fn new_sock(&mut self, _: &u16) {}
    fn host(&mut self, h: &u16) -> u16 {
        *h
    }
    fn proc(&mut self, p: &ProcId) -> Pid {
        *p as Pid
    }
}

/// A kernel result as the model's: errnos the model has no name for read as
/// EINVAL (see [`unmodelled_errors`]).
pub fn call_result(r: &Res) -> CallResult {
    match r {
        Res::Ok(v) => Ok(*v),
        Res::Err(name) => Err(Errno::parse(name).unwrap_or(Errno::EINVAL)),
    }
}

/// Notes for kernel errors the model cannot name.
pub fn unmodelled_errors(calls: &[KernelCall]) -> Vec<String> {
    let mut names: Vec<&str> = calls
        .iter()
        .filter_map(|c| match &c.res {
            Some(Res::Err(n)) if Errno::parse(n).is_none() => Some(n.as_str()),
            _ => None,
        })
        .collect();
    names.dedup();
    names
        .iter()
        .map(|n| {
            format!(
                "the kernel returned {n}, which the model has no name for: the trace shows EINVAL"
            )
        })
        .collect()
}

/// The system calls of every step, named by replaying each step's
/// [`Expansion`] over the results the worker reported (the worker follows
/// the same expansion, so the n-th call of a step is the same call).
pub fn calls(spec: &WorldSpec, recs: &[Rec]) -> Vec<KernelCall> {
    let n = spec.procs.len();
    let mut cur: Vec<Option<(u32, Expansion, Option<Action>)>> = vec![None; n];
    let mut open: Vec<Option<usize>> = vec![None; n];
    let mut out: Vec<KernelCall> = Vec::new();
    for r in recs {
        match *r {
            Rec::Call {
                proc,
                step,
                ref fds,
                had_fd,
                t,
            } => {
                let c = &mut cur[proc as usize];
                if c.as_ref().is_none_or(|(s, _, _)| *s != step) {
                    *c = Some((step, Expansion::default(), None));
                }
                let (_, x, pending) = c.as_mut().expect("just set");
                let action = spec.steps[step as usize].action;
                let Next::Sys(named) = x.next(&action, |_| had_fd) else {
                    continue;
                };
                *pending = Some(named);
                open[proc as usize] = Some(out.len());
                out.push(KernelCall {
                    proc,
                    step,
                    call: named.rename(&mut KernelFds { fds: fds.iter() }),
                    t_start_ns: t,
                    t_end_ns: None,
                    res: None,
                    conn: None,
                });
            }
            Rec::Return {
                proc,
                t,
                ref res,
                conn,
                ..
            } => {
                let Some(i) = open[proc as usize].take() else {
                    continue;
                };
                out[i].t_end_ns = Some(t);
                out[i].res = Some(res.clone());
                out[i].conn = conn;
                if let Some((step, x, pending)) = cur[proc as usize].as_mut() {
                    if let Some(named) = pending.take() {
                        let action = spec.steps[*step as usize].action;
                        x.absorb(&action, &named, call_result(res));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// How a kernel run was disturbed by the host's scheduler, when it was:
/// the step worst hit, and by how many real ns. A run did not follow the
/// script's timing when
/// - a step started more than [`BLOCK_MIN_REAL_NS`] after it was due, or
///   after a step of another process that the script has after it had
///   started (a loaded 2-CPU host started a client's `1ms connect` at 14 ms,
///   after the server's `10ms poll`: thread-close-polled), or
/// - a poll or select with a timeout returned more than
///   [`BLOCK_MIN_REAL_NS`] after the timeout (no call waits past its
///   timeout: its wake-up was late; seen 12 ms late at load average 14).
///
/// Its differences from the simulator may then be the host's, not the model's.
pub fn disturbed(spec: &WorldSpec, scale: f64, recs: &[Rec]) -> Option<(ProcId, u32, u64)> {
    let starts: Vec<(ProcId, u32, u64, u64)> = recs
        .iter()
        .filter_map(|r| match *r {
            Rec::Start { proc, step, t, due } => Some((proc, step, t, due)),
            _ => None,
        })
        .collect();
    let overtaken = |&(p, _, t, due): &(ProcId, u32, u64, u64)| {
        starts
            .iter()
            .any(|&(q, _, tq, _)| q != p && due < tq && tq < t)
    };
    let late_starts = starts
        .iter()
        .filter(|s| s.2.saturating_sub(s.3) > BLOCK_MIN_REAL_NS || overtaken(s))
        .map(|&(p, step, t, due)| (p, step, t.saturating_sub(due)));
    let late_wakes = recs.iter().filter_map(|r| {
        let Rec::Done {
            proc, step, t0, t, ..
        } = *r
        else {
            return None;
        };
        let timeout = match spec.steps[step as usize].action {
            Action::Poll { timeout, .. } | Action::Select { timeout, .. } => timeout?,
            _ => return None,
        };
        let limit = (timeout.as_ns() as f64 * scale).round() as u64;
        let late = (t - t0).saturating_sub(limit);
        (late > BLOCK_MIN_REAL_NS).then_some((proc, step, late))
    });
    late_starts
        .chain(late_wakes)
        .max_by_key(|&(_, step, late)| (late, std::cmp::Reverse(step)))
}

/// The host of an address.
pub fn host_of(host_ip: &[std::net::Ipv4Addr], ip: std::net::Ipv4Addr) -> Option<HostId> {
    host_ip.iter().position(|&h| h == ip).map(|i| i as HostId)
}

/// An endpoint as the model's address.
pub fn addr_of(host_ip: &[std::net::Ipv4Addr], e: Ep) -> Option<Addr> {
    Some(Addr {
        host: host_of(host_ip, e.0)?,
        port: e.1,
    })
}

/// Each direction's ISN (from its SYN) and window scale (when both SYNs
/// offered one), learnt in capture order: a new SYN on a 4-tuple (a new
/// connection) starts its numbers again.
#[derive(Default)]
pub struct SeqBase {
    isn: Vec<((Ep, Ep), u32, Option<u8>)>,
}

impl SeqBase {
    /// Learns from a segment; call in capture order, before its numbers are read.
    pub fn note(&mut self, p: &Pkt) {
        if p.flags & 0x02 == 0 {
            return;
        }
        let k = (p.src, p.dst);
        match self.isn.iter_mut().find(|(key, _, _)| *key == k) {
            // A SYN-ACK retransmitted keeps the numbers; a new SYN starts anew.
            Some(e) if p.flags & 0x10 == 0 || e.1 != p.seq => *e = (k, p.seq, p.wscale),
            Some(_) => {}
            None => self.isn.push((k, p.seq, p.wscale)),
        }
    }
    fn get(&self, from: Ep, to: Ep) -> Option<(u32, Option<u8>)> {
        self.isn
            .iter()
            .find(|(k, _, _)| *k == (from, to))
            .map(|(_, s, w)| (*s, *w))
    }
    pub fn rel_seq(&self, p: &Pkt) -> u32 {
        self.get(p.src, p.dst)
            .map_or(p.seq, |(i, _)| p.seq.wrapping_sub(i))
    }
    pub fn rel_ack(&self, p: &Pkt) -> u32 {
        self.get(p.dst, p.src)
            .map_or(p.ack, |(i, _)| p.ack.wrapping_sub(i))
    }
    /// The window in octets (scaled when both sides offered scaling).
    pub fn window(&self, p: &Pkt) -> u32 {
        if p.flags & 0x02 != 0 {
            return p.win_raw as u32;
        }
        match (self.get(p.src, p.dst), self.get(p.dst, p.src)) {
            (Some((_, Some(a))), Some((_, Some(_)))) => (p.win_raw as u32) << a.min(14),
            _ => p.win_raw as u32,
        }
    }
}

/// A captured segment as the model's, sequence numbers relative to each
/// side's ISN (so ISNs read 0; `base` must have noted the segment). None
/// for a segment between unknown hosts.
pub fn segment(host_ip: &[std::net::Ipv4Addr], base: &SeqBase, p: &Pkt) -> Option<Segment> {
    let opts = match p.ts && p.flags & 0x02 != 0 {
        true => model::SynOpts::TS,
        false => model::SynOpts::NONE,
    };
    Some(Segment {
        src: addr_of(host_ip, p.src)?,
        dst: addr_of(host_ip, p.dst)?,
        seq: Seq(base.rel_seq(p)),
        ack: Seq(if p.flags & 0x10 != 0 {
            base.rel_ack(p)
        } else {
            0
        }),
        flags: Flags(p.flags & 0x1f),
        wnd: base.window(p),
        len: p.len,
        mss: p.mss.unwrap_or(0),
        opts,
    })
}

/// Real ns since time 0 as virtual ns.
pub(crate) fn virt(scale: f64, t_real_ns: u64) -> u64 {
    (t_real_ns as f64 / scale).round() as u64
}

/// The whole run as trace entries, in time order (virtual time: real time
/// divided by the time scale).
pub fn entries(spec: &WorldSpec, run: &RealRun, calls: &[KernelCall]) -> Vec<Entry> {
    let mut out = app_entries(spec, run, calls);
    out.extend(Tracker::new(run).entries());
    // Stable: at one instant, a process's own entries stay in their order.
    out.sort_by_key(|e| e.t_ns);
    out
}

/// Calls, returns, process steps and what the call results say of the data.
fn app_entries(spec: &WorldSpec, run: &RealRun, calls: &[KernelCall]) -> Vec<Entry> {
    let at = |t: u64| virt(run.scale, t);
    let host = |p: ProcId| spec.procs[p as usize].host;
    let mut out = Vec::new();
    for c in calls {
        let (proc, step, call) = (c.proc, c.step, c.call);
        let h = host(proc);
        let mut push = |t: u64, what: What| {
            out.push(Entry {
                t_ns: model::Instant::from_ns(at(t)),
                host: h,
                what,
            })
        };
        push(c.t_start_ns, What::Call { proc, step, call });
        let waited = c
            .t_end_ns
            .is_none_or(|t| t.saturating_sub(c.t_start_ns) > BLOCK_MIN_REAL_NS);
        if waited {
            push(c.t_start_ns, What::Blocked { proc, step, call });
        }
        let (Some(t), Some(res)) = (c.t_end_ns, &c.res) else {
            continue;
        };
        let result = call_result(res);
        push(
            t,
            What::Return {
                proc,
                step,
                call,
                result,
            },
        );
        if let Some(event) = data_event(&run.host_ip, c, result) {
            push(t, What::Model { event });
        }
    }
    for r in &run.recs {
        if let Some(e) = process_entry(spec, run.scale, r) {
            out.push(e);
        }
    }
    out
}

/// What a call's result says of a connection's data: bytes written or read,
/// or an error on it.
fn data_event(host_ip: &[std::net::Ipv4Addr], c: &KernelCall, r: CallResult) -> Option<Event> {
    let (local, remote) = c.conn?;
    let conn = Conn {
        local: addr_of(host_ip, local)?,
        remote: addr_of(host_ip, remote)?,
    };
    let pid = c.proc as Pid;
    match (c.call, r) {
        (model::Call::Write { .. }, Ok(bytes)) if bytes > 0 => {
            Some(Event::AppWrote { conn, pid, bytes })
        }
        (model::Call::Read { .. }, Ok(bytes)) if bytes > 0 => {
            Some(Event::AppRead { conn, pid, bytes })
        }
        // Not errors of the connection: a non-blocking call that would wait.
        (_, Err(Errno::EAGAIN | Errno::EINPROGRESS | Errno::EALREADY)) => None,
        (_, Err(errno)) if conn.remote.port != 0 => Some(Event::AppError { conn, pid, errno }),
        _ => None,
    }
}

/// fork, exit, sleep and a process running out of steps.
fn process_entry(spec: &WorldSpec, scale: f64, r: &Rec) -> Option<Entry> {
    let (proc, t, what) = match *r {
        Rec::Done {
            proc, step, t0, t, ..
        } => match spec.steps[step as usize].action {
            Action::Fork { child } => (proc, t, What::Fork { proc, child }),
            Action::Exit {} => (proc, t0, What::Exit { proc }),
            Action::Sleep { ns } => (proc, t0, What::Sleep { proc, ns }),
            _ => return None,
        },
        Rec::Finished { proc, t } => (proc, t, What::Finished { proc }),
        _ => return None,
    };
    Some(Entry {
        t_ns: model::Instant::from_ns(virt(scale, t)),
        host: spec.procs[proc as usize].host,
        what,
    })
}

/// The verdict of a kernel run, by the simulator's [`Observer`] over the
/// run's entries; step expectations as the simulator checks them.
pub fn verdict(spec: &WorldSpec, run: &RealRun, calls: &[KernelCall], trace: &[Entry]) -> Verdict {
    let mut obs = Observer::default();
    for e in trace {
        obs.observe(e);
    }
    for m in step_mismatches(spec, run.scale, &run.recs) {
        obs.step_mismatch(m);
    }
    // A call its process's exit ended (the thread went with the process)
    // is not stuck, as in the simulator.
    let process_of = |p: ProcId| spec.procs[p as usize].thread_of.unwrap_or(p);
    let exited: Vec<ProcId> = run
        .recs
        .iter()
        .filter_map(|r| match *r {
            Rec::Done { proc, step, .. }
                if matches!(spec.steps[step as usize].action, Action::Exit {}) =>
            {
                Some(process_of(proc))
            }
            _ => None,
        })
        .collect();
    let stuck = calls
        .iter()
        .filter(|c| c.t_end_ns.is_none() && !exited.contains(&process_of(c.proc)))
        .map(|c| Stuck {
            proc: c.proc,
            step: c.step,
            what: format!("blocked in {}", sim::report::call_text(&c.call, spec)),
            blocked_in: Some(c.call.name()),
        })
        .collect();
    // Segments still flowing when the run was stopped: it did not end by itself.
    let end = match run.cut_off {
        true => EndReason::TimeLimit,
        false => EndReason::Quiescent,
    };
    let end_at = model::Instant::from_ns(virt(run.scale, run.end_ns));
    // The kernel run's time limit is how long it was watched.
    let limits = sim::spec::Limits {
        max_time_ns: match run.cut_off {
            true => end_at.since_start(),
            false => spec.limits.max_time_ns,
        },
        ..spec.limits
    };
    obs.finish(end, end_at, trace.len() as u64, limits, stuck)
}

/// Steps whose `= EXPECTED` or `blocked=` did not hold on the kernel (the
/// same [`Expect::holds`] and [`Within::holds`] as the simulator's; times
/// in virtual time).
fn step_mismatches(spec: &WorldSpec, scale: f64, recs: &[Rec]) -> Vec<StepMismatch> {
    let mut out = Vec::new();
    for r in recs {
        let Rec::Done {
            proc,
            step,
            t0,
            t,
            ref res,
            read,
        } = *r
        else {
            continue;
        };
        let s = &spec.steps[step as usize];
        let result = match res {
            Res::Ok(n) => Ok(*n),
            Res::Err(e) => Err(e.as_str()),
        };
        let mut wrong = Vec::new();
        if let Some(e) = s.expect {
            if !e.holds(result, read, |e, name| e.name() == name) {
                wrong.push((e.to_string(), e.actual_text(result, read)));
            }
        }
        if let Some(w) = s.blocked {
            let blocked = model::Duration::from_ns(virt(scale, t.saturating_sub(t0)));
            if !w.holds(blocked) {
                wrong.push((w.to_string(), Within::text(blocked)));
            }
        }
        for (expected, actual) in wrong {
            out.push(StepMismatch {
                step,
                proc,
                expected,
                actual,
                origin: s.origin.clone(),
            });
        }
    }
    out
}

/// Where the segments travel: one delay line per pair of hosts, or loopback.
pub(crate) fn recv_delay_ns(run: &RealRun, from: HostId, to: HostId) -> u64 {
    match run.plan.net {
        Net::Namespaces => run.plan.delay_ns[from as usize][to as usize],
        Net::Loopback => 0,
    }
}

#[cfg(test)]
pub(crate) mod tests;
