//! The coordinator: builds the network (a private namespace with `lo`, or one
//! namespace per host joined by a delay line), forks one process per
//! scenario process, collects their reports and the segments on the wire,
//! decides when the run is over, and reads the kernel's socket states.

use super::capture::Pkt;
use super::plan::Plan;
use super::sys;
use super::worker::{self, Rec, SlotStateOpaque};
use sim::spec::{At, ProcId, WorldSpec};
use std::net::Ipv4Addr;

/// After the last event the simulator expects, wait this long (real time).
const SETTLE_NS: u64 = 300_000_000;
/// The run is over once nothing (no report, no segment) happened for this long.
const QUIET_NS: u64 = 200_000_000;
/// Setup time before the scenario's time 0.
const LEAD_NS: u64 = 50_000_000;
/// Segments kept in memory (more are counted only).
const PKTS_MAX: usize = 200_000;
/// The `SCHED_FIFO` priority of the coordinator (delay line, capture) and
/// the workers it forks: above every ordinary task, so a build beside the
/// run cannot delay their wake-ups (on 2 CPUs at load 10 they came 10-30 ms
/// late), and far below the kernel's own real-time threads (migration,
/// watchdog at 99). Every one of them blocks in system calls between steps
/// and segments (the delay line's threads, one priority above, spin at most
/// 60 µs before a release), and the kernel's real-time throttle
/// (`sched_rt_runtime_us`, 0.95 s per second by default) leaves ordinary
/// tasks the rest should one spin.
const RT_PRIORITY: i32 = 10;
/// `TCPSIM_REAL_SCHED=other` runs the kernel run under the ordinary
/// scheduler, as before real-time scheduling (to measure what it buys).
const SCHED_ENV: &str = "TCPSIM_REAL_SCHED";

/// What `tcpsim real` is asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// Real ns per virtual ns.
    pub time_scale: f64,
    /// Each step's text, for reports (may be empty).
    pub labels: Vec<String>,
}

/// What the simulator expects, to know how long to watch the kernel.
#[derive(Clone, Debug, Default)]
pub struct Hint {
    /// Virtual time of the last call result, fork or exit.
    pub last_app_ns: u64,
    /// Steps (process, step index) that never return in the simulation.
    pub never_returns: Vec<(ProcId, u32)>,
}

/// A socket as `/proc/net/tcp` lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct SockState {
    pub host: u16,
    pub local: (Ipv4Addr, u16),
    pub remote: (Ipv4Addr, u16),
    /// RFC 9293 spelling (`TIME-WAIT`), or the kernel's for NEW_SYN_RECV.
    pub state: String,
}

/// Everything one real run recorded.
#[derive(Clone, Debug)]
pub struct RealRun {
    pub plan: Plan,
    pub scale: f64,
    pub host_ip: Vec<Ipv4Addr>,
    /// Reports from the processes, in arrival order.
    pub recs: Vec<Rec>,
    pub pkts: Vec<Pkt>,
    pub pkts_total: u64,
    /// Why segments could not be captured, if they could not.
    pub capture_error: Option<String>,
    /// Socket states at the end (None: not readable).
    pub states: Option<Vec<SockState>>,
    /// When the run ended (ns since time 0).
    pub end_ns: u64,
    /// True when the run was cut off while segments were still flowing.
    pub cut_off: bool,
    pub notes: Vec<String>,
    /// Each step's text, for reports.
    pub labels: Vec<String>,
}

/// Why a run could not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// This host cannot reproduce the scenario (said as a reason).
    NotReproducible(String),
    /// Something failed that should not have.
    Failed(String),
}

mod net;
mod relay;
use net::*;
use relay::Relay;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PState {
    NotStarted,
    Waiting(u64),
    InStep(u32),
    Between,
    Finished,
    Exited,
}

/// Runs the scenario on this kernel.
pub fn execute(
    spec: &WorldSpec,
    plan: &Plan,
    opts: &Options,
    hint: &Hint,
) -> Result<RealRun, RunError> {
    let scale = opts.time_scale;
    let mut net = build_net(spec, plan, scale)?;
    let mut notes = net.notes.clone();
    // Held until the run is over; the simulation around it stays ordinary.
    let _rt = real_time(&mut notes);
    let (rd, wr) = sys::pipe().map_err(|e| RunError::Failed(format!("pipe: {e}")))?;
    sys::set_nonblocking(rd);
    // Orphaned grandchildren (a forked child whose parent exited) come back to us.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let clock = Clock {
        t0_mono_ns: sys::mono_ns() + LEAD_NS,
        t0_real_ns: sys::real_ns() + LEAD_NS,
    };
    let shared = || {
        sys::SharedCounters::new(spec.steps.len())
            .map_err(|e| RunError::Failed(format!("mmap: {e}")))
    };
    let (done, after) = (shared()?, shared()?);
    let cx = worker::Ctx {
        spec,
        proc_steps: steps_by_proc(spec),
        t0: clock.t0_mono_ns,
        scale,
        out_fd: wr,
        host_ip: net.host_ip.clone(),
        done: done.get(),
        after: after.get(),
    };
    let pids = fork_procs(&cx, &net, rd)?;
    sys::close(wr);

    let relay = Relay::start(&mut net, plan, scale, clock.t0_mono_ns);
    let mut w = Watch::new(spec, pids, rd);
    let limits = Limits::new(spec, hint, scale);
    let (end_ns, cut_off) = watch(&mut w, &mut net, relay.as_ref(), clock, spec, hint, &limits);
    // End states, read before the processes are killed.
    let states = read_states(&net);
    if let Some(r) = relay {
        r.finish(&mut w.pkts, end_ns);
    }
    wire_order_times(&mut w.pkts);
    if states.is_none() {
        notes.push("end states: /proc/net/tcp could not be read".into());
    }
    kill_all(&w.pids);
    sys::close(rd);
    Ok(RealRun {
        plan: plan.clone(),
        scale,
        host_ip: net.host_ip.clone(),
        recs: w.recs,
        pkts: w.pkts,
        pkts_total: w.pkts_total,
        capture_error: net.capture_error.clone(),
        states,
        end_ns,
        cut_off,
        notes,
        labels: opts.labels.clone(),
    })
}

/// The coordinator (and so the workers it forks) under `SCHED_FIFO`
/// ([`RT_PRIORITY`]), unless [`SCHED_ENV`] says `other` or the host does not
/// permit it; the notes say when it runs without.
fn real_time(notes: &mut Vec<String>) -> Option<sys::RealTime> {
    let rt = if std::env::var_os(SCHED_ENV).is_some_and(|v| v == "other") {
        Err(format!("ordinary scheduling ({SCHED_ENV}=other)"))
    } else {
        sys::RealTime::enter(RT_PRIORITY)
            .map_err(|e| format!("real-time scheduling not permitted ({e})"))
    };
    rt.map_err(|why| {
        notes.push(format!(
            "{why}: beside other work, steps and the delay line may wake late"
        ))
    })
    .ok()
}

/// Why kernel runs here would go without real-time scheduling, if they would.
pub fn without_real_time() -> Option<String> {
    let mut notes = Vec::new();
    drop(real_time(&mut notes));
    notes.pop()
}

/// Virtual ns as real ns under time scale `scale`.
fn real_ns(virtual_ns: u64, scale: f64) -> u64 {
    (virtual_ns as f64 * scale) as u64
}

/// Each process's steps (indices into `spec.steps`), in script order.
fn steps_by_proc(spec: &WorldSpec) -> Vec<Vec<u32>> {
    let mut proc_steps = vec![Vec::new(); spec.procs.len()];
    for (i, s) in spec.steps.iter().enumerate() {
        proc_steps[s.proc as usize].push(i as u32);
    }
    proc_steps
}

/// Forks one child per scenario process that has steps and is not forked by
/// another (the worker forks those itself); returns their pids. `rd` is the
/// report pipe's read end, which the children close.
fn fork_procs(cx: &worker::Ctx, net: &Netw, rd: i32) -> Result<Vec<i32>, RunError> {
    let mut pids: Vec<i32> = Vec::new();
    for (p, ps) in cx.spec.procs.iter().enumerate() {
        // Threads are started by their process's worker.
        if ps.forked_from.is_some() || ps.thread_of.is_some() {
            continue;
        }
        let threads_busy = cx
            .spec
            .procs
            .iter()
            .enumerate()
            .any(|(q, t)| t.thread_of == Some(p as ProcId) && !cx.proc_steps[q].is_empty());
        if cx.proc_steps[p].is_empty() && !threads_busy {
            continue;
        }
        // SAFETY: the coordinator is single-threaded here; the child runs the
        // scenario process and never returns.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            kill_all(&pids);
            return Err(RunError::Failed(format!(
                "fork: {}",
                std::io::Error::last_os_error()
            )));
        }
        if pid == 0 {
            enter_child(net, ps.host, rd);
            let slots: Vec<Option<SlotStateOpaque>> = vec![None; cx.spec.slot_names.len()];
            worker::run_proc(cx, p as ProcId, slots, 0);
        }
        pids.push(pid);
    }
    Ok(pids)
}

/// In a fresh child: dies with the coordinator, takes write errors on a
/// closed socket as errors rather than SIGPIPE, enters host `host`'s
/// namespace, and closes the coordinator's descriptors.
fn enter_child(net: &Netw, host: u16, rd: i32) {
    // SAFETY: integer-only calls in the fresh child.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    if let Some(&fd) = net.ns.get(host as usize) {
        if net.orig_ns.is_some() && sys::setns(fd).is_err() {
            // SAFETY: leaving the child.
            unsafe { libc::_exit(101) };
        }
    }
    sys::close(rd);
    if let Some(s) = &net.sniffer {
        sys::close(s.fd);
    }
    for &t in &net.tun {
        sys::close(t);
    }
    for s in net.tx_stamps.iter().flatten() {
        s.close_in_child();
    }
}

/// Time 0 of the run on both clocks.
#[derive(Clone, Copy)]
struct Clock {
    /// CLOCK_MONOTONIC ns.
    t0_mono_ns: u64,
    /// CLOCK_REALTIME ns (for the capture's timestamps).
    t0_real_ns: u64,
}

/// When the run may end (real ns since time 0).
struct Limits {
    /// The simulator's last expected event, plus time to settle.
    horizon_ns: u64,
    /// How long past the horizon a call the simulator expects to return may take.
    extra_ns: u64,
    /// The run ends here whatever happens.
    hard_cap_ns: u64,
}

impl Limits {
    fn new(spec: &WorldSpec, hint: &Hint, scale: f64) -> Limits {
        let last_abs_ns = spec
            .steps
            .iter()
            .filter_map(|s| match s.at {
                At::Abs(t) => Some(t.as_ns()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let horizon_ns = real_ns(hint.last_app_ns.max(last_abs_ns), scale) + SETTLE_NS;
        let extra_ns = (horizon_ns / 10).max(2_000_000_000);
        Limits {
            horizon_ns,
            extra_ns,
            hard_cap_ns: horizon_ns + extra_ns + 2_000_000_000,
        }
    }

    /// Whether the run is over at `now_ns`: None while it goes on, else
    /// whether it was cut off while segments were still flowing. `quiet`:
    /// nothing happened for [`QUIET_NS`].
    fn over(&self, now_ns: u64, quiet: bool, pstate: &[PState], hint: &Hint) -> Option<bool> {
        // A process about to act, or waiting to (until shortly before).
        let waiting = pstate.iter().any(|s| {
            matches!(s, PState::Waiting(u) if *u + QUIET_NS > now_ns) || *s == PState::Between
        });
        // A call the simulator expects to return has not yet.
        let in_call = pstate.iter().enumerate().any(|(p, s)| match s {
            PState::InStep(step) => !hint.never_returns.contains(&(p as ProcId, *step)),
            _ => false,
        });
        if now_ns >= self.horizon_ns && quiet && !waiting && !in_call {
            return Some(false);
        }
        if now_ns >= self.horizon_ns + self.extra_ns && quiet && !waiting {
            return Some(false);
        }
        if now_ns >= self.hard_cap_ns {
            return Some(!quiet);
        }
        None
    }
}

/// What the coordinator has gathered while the run goes on.
struct Watch {
    pstate: Vec<PState>,
    /// Reports from the processes, in arrival order.
    recs: Vec<Rec>,
    /// Segments kept (at most [`PKTS_MAX`]).
    pkts: Vec<Pkt>,
    /// Segments seen.
    pkts_total: u64,
    /// The processes to kill at the end (forked ones report theirs).
    pids: Vec<i32>,
    /// The report pipe's read end, while the processes hold its write end.
    pipe: Option<i32>,
    /// Report bytes read, not yet a whole line.
    line: Vec<u8>,
    /// When a report or segment last came (real ns since time 0).
    last_activity_ns: u64,
}

impl Watch {
    /// Nothing gathered yet from the processes `pids`, which report on `rd`.
    fn new(spec: &WorldSpec, pids: Vec<i32>, rd: i32) -> Watch {
        Watch {
            pstate: vec![PState::NotStarted; spec.procs.len()],
            recs: Vec::new(),
            pkts: Vec::new(),
            pkts_total: 0,
            pids,
            pipe: Some(rd),
            line: Vec::new(),
            last_activity_ns: 0,
        }
    }
}

/// Watches the run until it is over; returns when it ended (real ns since
/// time 0) and whether it was cut off while segments were still flowing.
fn watch(
    w: &mut Watch,
    net: &mut Netw,
    relay: Option<&Relay>,
    clock: Clock,
    spec: &WorldSpec,
    hint: &Hint,
    limits: &Limits,
) -> (u64, bool) {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // Wait for reports, segments or the delay line.
        let mut fds = poll_fds(w.pipe, net);
        // The delay line runs on its own threads: its segments are taken
        // at least this often.
        ppoll_ns(&mut fds, 10_000_000);
        let before = w.pkts.len();
        if let Some(r) = relay {
            w.pkts.append(&mut r.take());
        }
        if let Some(s) = net.sniffer.as_mut() {
            s.drain(clock.t0_real_ns, &mut w.pkts);
        }
        let now_ns = sys::mono_ns().saturating_sub(clock.t0_mono_ns);
        if w.pkts.len() > before {
            w.last_activity_ns = now_ns;
            w.pkts_total += (w.pkts.len() - before) as u64;
            w.pkts.truncate(PKTS_MAX);
        }
        if let Some(rd) = w.pipe {
            let (got, open) = read_pipe(rd, &mut buf, &mut w.line);
            if got {
                w.last_activity_ns = now_ns;
            }
            if !open {
                w.pipe = None;
            }
            for r in whole_recs(&mut w.line) {
                if let Rec::Hello { pid, .. } = &r {
                    if !w.pids.contains(pid) {
                        w.pids.push(*pid);
                    }
                }
                if let Some((p, s)) = state_after(spec, &r) {
                    w.pstate[p as usize] = s;
                }
                w.recs.push(r);
            }
        }
        let quiet = now_ns.saturating_sub(w.last_activity_ns) >= QUIET_NS;
        if let Some(cut_off) = limits.over(now_ns, quiet, &w.pstate, hint) {
            return (now_ns, cut_off);
        }
    }
}

/// What to poll for input: the report pipe (while open), the sniffer.
fn poll_fds(pipe: Option<i32>, net: &Netw) -> Vec<libc::pollfd> {
    let sniffer = net.sniffer.as_ref().map(|s| s.fd);
    pipe.into_iter()
        .chain(sniffer)
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect()
}

/// Waits until one of `fds` has input, or `wait_ns` passed.
fn ppoll_ns(fds: &mut [libc::pollfd], wait_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (wait_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (wait_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: the pollfd array and timespec are valid.
    unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            &ts,
            std::ptr::null(),
        )
    };
}

/// Appends what the non-blocking pipe `rd` holds to `line`; returns whether
/// anything was read, and whether the pipe is still open.
fn read_pipe(rd: i32, buf: &mut [u8], line: &mut Vec<u8>) -> (bool, bool) {
    let mut got = false;
    loop {
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { libc::read(rd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n == 0 {
            return (got, false);
        }
        if n < 0 {
            return (got, true);
        }
        got = true;
        line.extend_from_slice(&buf[..n as usize]);
    }
}

/// Takes the whole lines off `line` and returns the reports among them.
fn whole_recs(line: &mut Vec<u8>) -> Vec<Rec> {
    let mut out = Vec::new();
    while let Some(i) = line.iter().position(|&b| b == b'\n') {
        let l: Vec<u8> = line.drain(..=i).collect();
        if let Ok(r) = serde_json::from_slice::<Rec>(&l) {
            out.push(r);
        }
    }
    out
}

/// The state a report puts its process in, if it changes it.
fn state_after(spec: &WorldSpec, r: &Rec) -> Option<(ProcId, PState)> {
    let s = match r {
        Rec::Hello { proc, .. } => (*proc, PState::Between),
        Rec::Wait { proc, until, .. } => (*proc, PState::Waiting(*until)),
        Rec::Start { proc, step, .. } => (*proc, PState::InStep(*step)),
        Rec::Done { proc, step, .. } => {
            let exit = matches!(spec.steps[*step as usize].action, sim::Action::Exit {});
            (
                *proc,
                if exit {
                    PState::Exited
                } else {
                    PState::Between
                },
            )
        }
        Rec::Finished { proc, .. } => (*proc, PState::Finished),
        Rec::Call { .. } | Rec::Return { .. } => return None,
    };
    Some(s)
}

/// Makes the segments' times non-decreasing by lowering the late ones. A
/// capture's kernel timestamps can run late (seen for SYNs on lo), but its
/// order is the order on the wire: no segment is earlier than the next.
fn wire_order_times(pkts: &mut [Pkt]) {
    for i in (1..pkts.len()).rev() {
        pkts[i - 1].t = pkts[i - 1].t.min(pkts[i].t);
    }
}

fn kill_all(pids: &[i32]) {
    for &p in pids {
        // SAFETY: signalling processes this run started.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
    // Reap them (and any orphan handed to us as subreaper).
    let deadline = sys::mono_ns() + 2_000_000_000;
    loop {
        let mut st = 0;
        // SAFETY: waitpid with a valid status pointer.
        let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
        if r < 0 || sys::mono_ns() > deadline {
            return;
        }
        if r == 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

/// `/proc/net/tcp` of each host's namespace.
fn read_states(net: &Netw) -> Option<Vec<SockState>> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let groups: Vec<(Option<i32>, Vec<u16>)> = if net.ns.is_empty() {
        vec![(None, (0..net.host_ip.len() as u16).collect())]
    } else {
        let mut g: Vec<(Option<i32>, Vec<u16>)> = Vec::new();
        for (h, &fd) in net.ns.iter().enumerate() {
            match g.iter_mut().find(|(f, _)| *f == Some(fd)) {
                Some((_, hs)) => hs.push(h as u16),
                None => g.push((Some(fd), vec![h as u16])),
            }
        }
        g
    };
    for (fd, hosts) in groups {
        if let Some(fd) = fd {
            sys::setns(fd).ok()?;
        }
        let text = std::fs::read_to_string("/proc/thread-self/net/tcp").ok();
        if let (Some(_), Some(o)) = (fd, net.orig_ns) {
            // Loopback mode stays in its namespace until the Netw is dropped.
            if net.ns.windows(2).any(|w| w[0] != w[1]) {
                let _ = sys::setns(o);
            }
        }
        let text = text?;
        for l in text.lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            let (Some(local), Some(remote)) = (hexaddr(f[1]), hexaddr(f[2])) else {
                continue;
            };
            let Some(&host) = hosts
                .iter()
                .find(|&&h| net.host_ip.get(h as usize) == Some(&local.0))
            else {
                continue;
            };
            let key = (local, remote);
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            out.push(SockState {
                host,
                local,
                remote,
                state: state_name(f[3]).to_string(),
            });
        }
    }
    Some(out)
}

fn hexaddr(s: &str) -> Option<(Ipv4Addr, u16)> {
    let (a, p) = s.split_once(':')?;
    let a = u32::from_str_radix(a, 16).ok()?;
    let p = u16::from_str_radix(p, 16).ok()?;
    Some((Ipv4Addr::from(a.to_ne_bytes()), p))
}

fn state_name(hex: &str) -> &'static str {
    match hex {
        "01" => "ESTABLISHED",
        "02" => "SYN-SENT",
        "03" => "SYN-RECEIVED",
        "04" => "FIN-WAIT-1",
        "05" => "FIN-WAIT-2",
        "06" => "TIME-WAIT",
        "07" => "CLOSED",
        "08" => "CLOSE-WAIT",
        "09" => "LAST-ACK",
        "0A" => "LISTEN",
        "0B" => "CLOSING",
        "0C" => "SYN-RECEIVED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_fields() {
        assert_eq!(
            hexaddr("0100007F:0050"),
            Some((Ipv4Addr::new(127, 0, 0, 1), 80))
        );
        assert_eq!(state_name("06"), "TIME-WAIT");
        assert_eq!(state_name("0A"), "LISTEN");
    }

    /// A run's coordinator takes SCHED_FIFO, what it starts inherits it, and
    /// it gets its own policy back at the end.
    #[test]
    fn kernel_runs_take_real_time_scheduling_and_give_it_back() {
        // SAFETY: integer-only calls on the calling thread.
        let policy = || unsafe { libc::sched_getscheduler(0) };
        if unsafe { libc::geteuid() } != 0 || std::env::var_os(SCHED_ENV).is_some() {
            println!("skipped: not root, or {SCHED_ENV} set");
            return;
        }
        let before = policy();
        let mut notes = Vec::new();
        let rt = real_time(&mut notes);
        assert!(rt.is_some() && notes.is_empty(), "{notes:?}");
        assert_eq!(policy(), libc::SCHED_FIFO);
        let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::sched_getparam(0, &mut param) }, 0);
        assert_eq!(param.sched_priority, RT_PRIORITY);
        let thread = std::thread::spawn(policy).join().expect("the thread runs");
        assert_eq!(thread, libc::SCHED_FIFO, "a worker's thread inherits it");
        drop(rt);
        assert_eq!(policy(), before);
        assert_eq!(without_real_time(), None);
        assert_eq!(policy(), before);
    }
}
