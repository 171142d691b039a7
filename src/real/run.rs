//! The coordinator: builds the network (a private namespace with `lo`, or one
//! namespace per host joined by a delay line), forks one process per
//! scenario process, collects their reports and the segments on the wire,
//! decides when the run is over, and reads the kernel's socket states.

use super::capture::{self, Pkt, Sniffer};
use super::plan::{Net, Plan};
use super::sys;
use super::worker::{self, Rec, SlotStateOpaque};
use sim::spec::{At, ProcId, WorldSpec};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

/// After the last event the simulator expects, wait this long (real time).
const SETTLE_NS: u64 = 300_000_000;
/// The run is over once nothing (no report, no segment) happened for this long.
const QUIET_NS: u64 = 200_000_000;
/// Setup time before the scenario's time 0.
const LEAD_NS: u64 = 50_000_000;
/// Segments kept in memory (more are counted only).
const PKTS_MAX: usize = 200_000;

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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
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
    /// Time 0 on CLOCK_REALTIME (for pcap timestamps).
    pub epoch_real_ns: u64,
}

/// Why a run could not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// This host cannot reproduce the scenario (said as a reason).
    NotReproducible(String),
    /// Something failed that should not have.
    Failed(String),
}

/// The network as built.
struct Netw {
    /// One namespace descriptor per host (the same one for all on loopback); empty if none.
    ns: Vec<i32>,
    orig_ns: Option<i32>,
    host_ip: Vec<Ipv4Addr>,
    sniffer: Option<Sniffer>,
    capture_error: Option<String>,
    tun: Vec<i32>,
    notes: Vec<String>,
}

impl Drop for Netw {
    fn drop(&mut self) {
        if let Some(o) = self.orig_ns {
            let _ = sys::setns(o);
            sys::close(o);
        }
        let mut ns = self.ns.clone();
        ns.dedup();
        for fd in ns.into_iter().chain(self.tun.iter().copied()) {
            sys::close(fd);
        }
    }
}

fn apply_sysctls(
    list: &[(String, String, String)],
    notes: &mut Vec<String>,
    who: &str,
) -> Result<(), RunError> {
    for (k, v, why) in list {
        sys::write_sysctl(k, v)
            .map_err(|e| RunError::NotReproducible(format!("cannot set {k} = {v} ({why}): {e}")))?;
        notes.push(format!("{who}{k} = {v} ({why})"));
    }
    Ok(())
}

fn build_net(spec: &WorldSpec, plan: &Plan, scale: f64) -> Result<Netw, RunError> {
    let n = spec.hosts.len();
    let mut notes = Vec::new();
    let orig = sys::netns_fd().ok();
    let mut net = Netw {
        ns: Vec::new(),
        orig_ns: None,
        host_ip: Vec::new(),
        sniffer: None,
        capture_error: None,
        tun: Vec::new(),
        notes: Vec::new(),
    };
    let unshare_err = match (orig, plan.net) {
        (Some(o), Net::Namespaces) => {
            net.orig_ns = Some(o);
            let mut err = None;
            for i in 0..n {
                if let Err(e) = sys::unshare_net() {
                    err = Some(e);
                    break;
                }
                let fd = sys::netns_fd().map_err(|e| RunError::Failed(format!("netns: {e}")))?;
                net.ns.push(fd);
                sys::if_setup("lo", None, None)
                    .map_err(|e| RunError::Failed(format!("lo up: {e}")))?;
                let tun = sys::tun_open("tcpsim0").map_err(|e| {
                    RunError::NotReproducible(format!("no TUN device for the delay line: {e}"))
                })?;
                net.tun.push(tun);
                let ip = Ipv4Addr::new(10, 77, 0, i as u8 + 1);
                sys::if_setup(
                    "tcpsim0",
                    Some(plan.mtu[i]),
                    Some((ip, Ipv4Addr::new(255, 255, 255, 0))),
                )
                .map_err(|e| RunError::Failed(format!("tun setup: {e}")))?;
                net.host_ip.push(ip);
                let who = format!("{}: ", spec.hosts[i].name);
                apply_sysctls(&plan.sysctls[i], &mut notes, &who)?;
            }
            let _ = sys::setns(o);
            match err {
                None => {
                    notes.push(format!(
                        "network: one namespace per host (10.77.0.N on a TUN device), joined by \
                         tcpsim's delay line{}",
                        delays_text(spec, plan, scale)
                    ));
                    net.notes = notes;
                    return Ok(net);
                }
                Some(e) => {
                    let max = plan.delay_ns.iter().flatten().max().copied().unwrap_or(0);
                    if max as f64 * scale >= super::plan::LOOPBACK_DELAY_MAX_NS as f64 {
                        return Err(RunError::NotReproducible(format!(
                            "network namespaces are unavailable ({e}), and a one-way delay of {} µs \
                             is too long to leave to loopback",
                            max as f64 * scale / 1000.0
                        )));
                    }
                    notes.push(format!(
                        "network namespaces are unavailable ({e}): falling back to loopback"
                    ));
                    for fd in net.ns.drain(..) {
                        sys::close(fd);
                    }
                    for fd in net.tun.drain(..) {
                        sys::close(fd);
                    }
                    net.host_ip.clear();
                    Some(e)
                }
            }
        }
        (Some(o), Net::Loopback) => {
            net.orig_ns = Some(o);
            sys::unshare_net().err()
        }
        (None, _) => Some(std::io::Error::other("no /proc/thread-self/ns/net")),
    };
    // Loopback.
    net.host_ip = (0..n)
        .map(|i| Ipv4Addr::new(127, 0, 0, i as u8 + 1))
        .collect();
    match unshare_err {
        None => {
            let fd = sys::netns_fd().map_err(|e| RunError::Failed(format!("netns: {e}")))?;
            net.ns = vec![fd; n];
            let mtu = plan.mtu.iter().copied().min().unwrap_or(1500);
            sys::if_setup("lo", Some(mtu), None)
                .map_err(|e| RunError::Failed(format!("lo setup: {e}")))?;
            for (i, list) in plan.sysctls.iter().enumerate() {
                if i == 0 || list != &plan.sysctls[0] {
                    apply_sysctls(list, &mut notes, "")?;
                }
            }
            notes.push(format!(
                "network: loopback in a private network namespace, MTU {mtu}, hosts 127.0.0.N"
            ));
        }
        Some(e) => {
            if let Some(o) = net.orig_ns.take() {
                sys::close(o);
            }
            if let Some((k, v, why)) = plan.sysctls.iter().flatten().next() {
                return Err(RunError::NotReproducible(format!(
                    "{k} = {v} ({why}) needs a private network namespace, which cannot be created here ({e})"
                )));
            }
            notes.push(format!(
                "no private network namespace ({e}): running on this host's loopback \
                 (MTU as configured, not the scenario's)"
            ));
        }
    }
    match Sniffer::open("lo", true) {
        Ok(s) => net.sniffer = Some(s),
        Err(e) => {
            net.capture_error = Some(format!(
                "segments not captured: AF_PACKET on lo needs root or CAP_NET_RAW ({e})"
            ))
        }
    }
    net.notes = notes;
    Ok(net)
}

fn delays_text(spec: &WorldSpec, plan: &Plan, scale: f64) -> String {
    let mut parts = Vec::new();
    for (i, row) in plan.delay_ns.iter().enumerate() {
        for (j, d) in row.iter().enumerate() {
            if i != j {
                parts.push(format!(
                    "{}→{} {} µs",
                    spec.hosts[i].name,
                    spec.hosts[j].name,
                    (*d as f64 * scale / 1000.0)
                ));
            }
        }
    }
    format!(" ({})", parts.join(", "))
}

/// One packet in the delay line.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    due: u64,
    seq: u64,
    to: usize,
    bytes: Vec<u8>,
}

/// The delay line between the hosts' TUN devices: holds each packet for its
/// direction's one-way delay, then delivers it. It also sees every segment.
struct Relay {
    tun: Vec<i32>,
    host_ip: Vec<Ipv4Addr>,
    /// delay[i][j] in real ns.
    delay: Vec<Vec<u64>>,
    held: BinaryHeap<Reverse<Held>>,
    seq: u64,
    buf: Vec<u8>,
}

impl Relay {
    fn read_all(&mut self, t0: u64, pkts: &mut Vec<Pkt>) {
        for i in 0..self.tun.len() {
            loop {
                // SAFETY: the buffer is valid for its length.
                let n = unsafe {
                    libc::read(
                        self.tun[i],
                        self.buf.as_mut_ptr() as *mut libc::c_void,
                        self.buf.len(),
                    )
                };
                if n <= 0 {
                    break;
                }
                let now = sys::mono_ns();
                let b = self.buf[..n as usize].to_vec();
                if b.len() < 20 || b[0] >> 4 != 4 {
                    continue;
                }
                let dst = Ipv4Addr::new(b[16], b[17], b[18], b[19]);
                let Some(j) = self.host_ip.iter().position(|&h| h == dst) else {
                    continue;
                };
                if let Some(p) = capture::parse_ipv4(&b, now.saturating_sub(t0)) {
                    pkts.push(p);
                }
                self.seq += 1;
                self.held.push(Reverse(Held {
                    due: now + self.delay[i][j],
                    seq: self.seq,
                    to: j,
                    bytes: b,
                }));
            }
        }
    }

    /// Delivers what is due; returns when the next packet is due.
    fn deliver(&mut self) -> Option<u64> {
        let now = sys::mono_ns();
        while let Some(Reverse(h)) = self.held.peek() {
            if h.due > now {
                return Some(h.due);
            }
            let Reverse(h) = self.held.pop().expect("peeked");
            // SAFETY: the packet buffer is valid for its length.
            unsafe {
                libc::write(
                    self.tun[h.to],
                    h.bytes.as_ptr() as *const libc::c_void,
                    h.bytes.len(),
                )
            };
        }
        None
    }
}

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
    let net = build_net(spec, plan, scale)?;
    let mut notes = net.notes.clone();
    let mut proc_steps = vec![Vec::new(); spec.procs.len()];
    for (i, s) in spec.steps.iter().enumerate() {
        proc_steps[s.proc as usize].push(i as u32);
    }
    let (rd, wr) = sys::pipe().map_err(|e| RunError::Failed(format!("pipe: {e}")))?;
    sys::set_nonblocking(rd);
    // Orphaned grandchildren (a forked child whose parent exited) come back to us.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let t0 = sys::mono_ns() + LEAD_NS;
    let epoch_real_ns = sys::real_ns() + LEAD_NS;
    let cx = worker::Ctx {
        spec,
        proc_steps: proc_steps.clone(),
        t0,
        scale,
        out_fd: wr,
        host_ip: net.host_ip.clone(),
    };
    let mut pids: Vec<i32> = Vec::new();
    let nslots = spec.slot_names.len();
    for (p, ps) in spec.procs.iter().enumerate() {
        if ps.forked_from.is_some() || proc_steps[p].is_empty() {
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
            // SAFETY: integer-only calls in the fresh child.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            }
            if let Some(&fd) = net.ns.get(ps.host as usize) {
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
            let slots: Vec<Option<SlotStateOpaque>> = vec![None; nslots];
            worker::run_proc(&cx, p as ProcId, slots, 0);
        }
        pids.push(pid);
    }
    sys::close(wr);

    let mut net = net;
    let mut relay = (!net.tun.is_empty()).then(|| Relay {
        tun: net.tun.clone(),
        host_ip: net.host_ip.clone(),
        delay: plan
            .delay_ns
            .iter()
            .map(|r| r.iter().map(|d| (*d as f64 * scale) as u64).collect())
            .collect(),
        held: BinaryHeap::new(),
        seq: 0,
        buf: vec![0; 1 << 16],
    });
    let mut pstate = vec![PState::NotStarted; spec.procs.len()];
    let mut recs: Vec<Rec> = Vec::new();
    let mut pkts: Vec<Pkt> = Vec::new();
    let mut pkts_total = 0u64;
    let mut line = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let last_abs = spec
        .steps
        .iter()
        .filter_map(|s| match s.at {
            At::Abs(t) => Some(t.as_ns()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let scaled = |ns: u64| (ns as f64 * scale) as u64;
    let horizon = scaled(hint.last_app_ns.max(last_abs)) + SETTLE_NS;
    let extra = (horizon / 10).max(2_000_000_000);
    let hard_cap = horizon + extra + 2_000_000_000;
    let mut last_activity = 0u64;
    let mut pipe_open = true;
    let mut cut_off = false;
    let end_ns = loop {
        // Wait for reports, segments or the delay line.
        let mut fds: Vec<libc::pollfd> = Vec::new();
        if pipe_open {
            fds.push(libc::pollfd {
                fd: rd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(s) = &net.sniffer {
            fds.push(libc::pollfd {
                fd: s.fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        for &t in &net.tun {
            fds.push(libc::pollfd {
                fd: t,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let mut wait_ns: u64 = 10_000_000;
        if let Some(r) = relay.as_mut() {
            if let Some(due) = r.deliver() {
                wait_ns = wait_ns.min(due.saturating_sub(sys::mono_ns()));
            }
        }
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
        let before = pkts.len();
        if let Some(r) = relay.as_mut() {
            r.read_all(t0, &mut pkts);
            r.deliver();
        }
        if let Some(s) = net.sniffer.as_mut() {
            s.drain(epoch_real_ns, &mut pkts);
        }
        let now = sys::mono_ns().saturating_sub(t0);
        if pkts.len() > before {
            last_activity = now;
            pkts_total += (pkts.len() - before) as u64;
            if pkts.len() > PKTS_MAX {
                pkts.truncate(PKTS_MAX);
            }
        }
        if pipe_open {
            loop {
                // SAFETY: the buffer is valid for its length.
                let n = unsafe { libc::read(rd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
                if n == 0 {
                    pipe_open = false;
                    break;
                }
                if n < 0 {
                    break;
                }
                last_activity = now;
                line.extend_from_slice(&buf[..n as usize]);
            }
            while let Some(i) = line.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = line.drain(..=i).collect();
                let Ok(r) = serde_json::from_slice::<Rec>(&l) else {
                    continue;
                };
                match &r {
                    Rec::Hello { proc, pid } => {
                        if !pids.contains(pid) {
                            pids.push(*pid);
                        }
                        pstate[*proc as usize] = PState::Between;
                    }
                    Rec::Wait { proc, until, .. } => {
                        pstate[*proc as usize] = PState::Waiting(*until)
                    }
                    Rec::Start { proc, step, .. } => pstate[*proc as usize] = PState::InStep(*step),
                    Rec::Done { proc, step, .. } => {
                        pstate[*proc as usize] =
                            if matches!(spec.steps[*step as usize].action, sim::Action::Exit {}) {
                                PState::Exited
                            } else {
                                PState::Between
                            }
                    }
                    Rec::Finished { proc, .. } => pstate[*proc as usize] = PState::Finished,
                    Rec::Call { .. } | Rec::Return { .. } => {}
                }
                recs.push(r);
            }
        }
        let quiet = now.saturating_sub(last_activity) >= QUIET_NS;
        let waiting = pstate.iter().any(|s| {
            matches!(s, PState::Waiting(u) if *u + QUIET_NS > now) || *s == PState::Between
        });
        let in_call = pstate.iter().enumerate().any(|(p, s)| match s {
            PState::InStep(step) => !hint.never_returns.contains(&(p as ProcId, *step)),
            _ => false,
        });
        if now >= horizon && quiet && !waiting && !in_call {
            break now;
        }
        if now >= horizon + extra && quiet && !waiting {
            break now;
        }
        if now >= hard_cap {
            cut_off = !quiet;
            break now;
        }
    };
    // A capture's kernel timestamps can run late (seen for SYNs on lo), but
    // its order is the order on the wire: no segment is earlier than the next.
    for i in (1..pkts.len()).rev() {
        pkts[i - 1].t = pkts[i - 1].t.min(pkts[i].t);
    }
    // End states, read before the processes are killed.
    let states = read_states(&net);
    if states.is_none() {
        notes.push("end states: /proc/net/tcp could not be read".into());
    }
    kill_all(&pids);
    sys::close(rd);
    Ok(RealRun {
        plan: plan.clone(),
        scale,
        host_ip: net.host_ip.clone(),
        recs,
        pkts,
        pkts_total,
        capture_error: net.capture_error.clone(),
        states,
        end_ns,
        cut_off,
        notes,
        labels: opts.labels.clone(),
        epoch_real_ns,
    })
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
}
