//! `tcpsim packetdrill SCRIPT --to-scenario`: a script as a scenario file.
//! The endpoint under test is host `tested`; the script's remote peer is a
//! raw host `peer` (no stack: sim/src/raw.rs) whose `inject` steps are the
//! `<` lines and whose `expect` steps are the `>` lines, matched after the
//! run by the runner's own matcher (sim/src/segmatch.rs). System calls become
//! `tested`'s steps through the same translation the runner uses
//! (`syscall::map`), the leading sysctls its knobs (run through the
//! runner's own command handling).
//!
//! Times are absolute, computed as the runner schedules events when every
//! event happens at its script time (a relative time counts from the
//! previous event, consecutive inbound packets from the previous one's).

use super::parse::{Dir, Event, Packet, Script, Syscall, TcpOpt, Time, Usecs, What};
use super::report::Unsupported;
use super::run::{Runner, REMOTE_ISN, SCRIPT_PORT};
use super::syscall::{map, Mapped};
use model::call::Rename;
use model::call::SockOpt;
use model::personality::Knobs;
use model::{Call, Duration, Errno, Fds, Instant, Personality};
use scenario::steps::{StepDef, Text, Tok};
use sim::spec::{At, Expect, Within};
use std::fmt::Write;

/// The host under test and the raw peer, as the file names them.
const TESTED: &str = "tested";
const PEER: &str = "peer";

fn nope(line: usize, reason: impl Into<String>) -> Unsupported {
    Unsupported {
        line,
        reason: reason.into(),
    }
}

/// Which form the script's remote peer takes in the file.
pub enum PeerForm {
    /// A raw host replaying the `<` lines and expecting the `>` lines.
    Raw,
    /// A second TCP host running this personality, its calls derived from
    /// the `<` lines (src/packetdrill/peer.rs), checked by running the file.
    Tcp(Box<Personality>),
}

/// The scenario file, or the first line that cannot be one.
pub fn to_scenario(
    script: &Script,
    personality: &Personality,
    peer: PeerForm,
    name: &str,
    tolerance_usecs: Usecs,
) -> Result<String, Unsupported> {
    let (knobs, start) = leading_knobs(script, personality)?;
    let events = &script.events[start..];
    let mut c = Converter {
        tolerance_usecs,
        ..Converter::default()
    };
    if let PeerForm::Tcp(p) = peer {
        c.peer_tcp = Some(super::peer::PeerTcp::new(events, *p));
    }
    // Sysctls after the last other event (the suites restore their settings
    // there) change nothing the run does.
    let last = events
        .iter()
        .rposition(|e| !matches!(&e.what, What::Command(c) if c.trim().starts_with("sysctl ")))
        .map_or(0, |i| i + 1);
    for e in &events[..last] {
        c.event(e, personality.name == "linux")?;
    }
    for e in &events[last..] {
        if let What::Command(cmd) = &e.what {
            let text = cmd.trim();
            c.push(format!(
                "# line {}: `{text}` after the last event (no effect)",
                e.line
            ));
        }
    }
    // The peer's reads still due, after every event.
    let reads = c.peer_tcp.as_mut().map(|p| p.reads_until((Usecs::MAX, 0)));
    for s in reads.unwrap_or_default() {
        c.push(s);
    }
    let text = c.render(name, personality, &knobs);
    if let Some(peer) = &c.peer_tcp {
        // The peer's first steps (a listener's) come before every event's.
        let mut step_lines = vec![0; peer.first_steps().len()];
        step_lines.extend(&c.step_lines);
        let check = super::peer_check::Check {
            lines: &c.packets,
            step_lines: &step_lines,
            tolerance_usecs,
            peer: &peer.personality.name,
        };
        check.run(name, &text)?;
    }
    Ok(text)
}

impl Converter {
    /// The file: its header, the two hosts, the network, the steps.
    fn render(&self, name: &str, personality: &Personality, knobs: &[String]) -> String {
        let mut out = String::new();
        let peer_is = match &self.peer_tcp {
            None => "the script's remote peer (no stack)".to_string(),
            Some(p) => format!(
                "the script's remote peer as a TCP ({}), its calls derived from the `<` lines",
                p.personality.name
            ),
        };
        let flag = if self.peer_tcp.is_some() {
            " --peer tcp"
        } else {
            ""
        };
        let _ = writeln!(out, "# Converted from packetdrill script {name} by `tcpsim packetdrill --to-scenario{flag}`:\n# `tested` runs the stack under test, `peer` is {peer_is}.\n");
        let _ = writeln!(out, "[scenario]\nname = {:?}\n", scenario_name(name));
        let _ = writeln!(
            out,
            "[hosts.{TESTED}]\npersonality = {:?}",
            personality.name
        );
        if !knobs.is_empty() {
            let _ = writeln!(out, "set = {{ {} }}", knobs.join(", "));
        }
        match &self.peer_tcp {
            Some(p) => {
                let _ = write!(out, "\n{}", p.host_section());
            }
            None => self.raw_peer_section(&mut out),
        }
        let network = match &self.peer_tcp {
            Some(p) => p.network_section(),
            None => "[network]\ndelay = \"0\"\n".into(),
        };
        let _ = writeln!(out, "\n{network}\n[script]\nsteps = [");
        let first = self
            .peer_tcp
            .as_ref()
            .map(|p| p.first_steps())
            .unwrap_or_default();
        for s in first.iter().chain(&self.steps) {
            let _ = writeln!(out, "  {s}");
        }
        out.push_str("]\n");
        out
    }

    fn raw_peer_section(&self, out: &mut String) {
        let opens = self.peer_opens.unwrap_or(false);
        let _ = writeln!(
            out,
            "\n[hosts.{PEER}]\npersonality = \"raw\"\nisn = {REMOTE_ISN}"
        );
        if opens {
            let _ = writeln!(out, "connect = \"{TESTED}:{SCRIPT_PORT}\"");
        }
        let _ = writeln!(out, "tolerance = \"{}us\"", self.tolerance_usecs);
    }

    /// A step (or a comment) of the current event's line.
    fn push(&mut self, s: String) {
        if !s.starts_with('#') {
            self.step_lines.push(self.cur_line);
        }
        self.steps.push(s);
    }
}

fn scenario_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.trim_end_matches(".pkt").to_string()
}

/// The sysctls before the first other event, as the knobs they set
/// (`KNOB = VALUE`), and where the rest of the script starts.
fn leading_knobs(
    script: &Script,
    personality: &Personality,
) -> Result<(Vec<String>, usize), Unsupported> {
    let mut runner = Runner::new(personality, 0);
    let mut start = 0;
    for e in &script.events {
        let What::Command(c) = &e.what else { break };
        if let Err(f) = runner.command(e.line, c) {
            return Err(nope(f.line, f.message));
        }
        if let Some(u) = runner.out.unsupported.first() {
            return Err(u.clone());
        }
        start += 1;
    }
    let set = Knobs::INFO
        .iter()
        .filter_map(|k| {
            let now = runner.personality.knobs.get(k.name)?.0;
            let was = personality.knobs.get(k.name)?.0;
            (now != was).then(|| format!("{} = {}", k.name, toml_value(&now)))
        })
        .collect();
    Ok((set, start))
}

fn toml_value(v: &str) -> String {
    match v.parse::<i64>().is_ok() || v == "true" || v == "false" {
        true => v.to_string(),
        false => format!("{v:?}"),
    }
}

/// The script's events so far.
#[derive(Default)]
struct Converter {
    steps: Vec<String>,
    /// The previous event's time and whether it was inbound.
    last: Option<(Usecs, bool)>,
    /// Whether the peer opens the connection (its first segment comes first).
    peer_opens: Option<bool>,
    /// Our window shift as our SYN line states it, the peer's once both
    /// offer scaling: as the runner learns them (src/packetdrill/packet.rs).
    our_shift: Option<u8>,
    peer_shift: Option<u8>,
    our_syn_without_wscale: bool,
    nonblocking: std::collections::BTreeSet<u32>,
    /// The descriptor `socket()` or `accept()` returned last (packetdrill's
    /// `socket_under_test`, which `tcpi_state` is read from).
    under_test: Option<u32>,
    /// How far a blocking call's return may be from its `...END`.
    tolerance_usecs: Usecs,
    /// Events so far: the nanoseconds each is put after its script time, so
    /// that events of one instant happen in script order, as the runner
    /// takes them (the two hosts' steps would otherwise run in either order).
    order_ns: u64,
    /// `--peer tcp`: the peer as the `<` lines so far describe it.
    peer_tcp: Option<super::peer::PeerTcp>,
    /// `--peer tcp`: the segment lines, for the check of the run.
    packets: Vec<super::peer_check::Line>,
    /// The script line of each step (comments aside), in file order after
    /// the peer's first steps, and of the event being converted.
    step_lines: Vec<usize>,
    cur_line: usize,
}

impl Converter {
    fn event(&mut self, e: &Event, linux: bool) -> Result<(), Unsupported> {
        let inbound = matches!(&e.what, What::Packet(p) if p.dir == Dir::Inbound);
        let t = self.time(e)?;
        self.cur_line = e.line;
        self.last = Some((t, inbound));
        self.order_ns += 1;
        let t = (t, self.order_ns);
        match &e.what {
            What::Packet(p) => self.packet(e.line, t, p),
            What::Syscall(s) => self.syscall((e.line, e.time), t, s, linux),
            What::Command(c) => self.command(e.line, t, c),
            What::Code(code) => self.code(e.line, t, code),
        }
    }

    /// `%{ assert tcpi_state == TCPI_STATE }%` as a step reading the state
    /// of the socket under test, as the runner checks it (inspect.rs).
    fn code(&mut self, line: usize, t: (Usecs, u64), code: &str) -> Result<(), Unsupported> {
        let Some(state) = super::inspect::tcpi_state_assert(code) else {
            return Err(nope(
                line,
                "a %{ python }% block other than `assert tcpi_state == …`: a scenario reads no other tcp_info field",
            ));
        };
        let Some(sock) = self.under_test else {
            return Err(nope(
                line,
                "%{ assert tcpi_state }%: no socket under test is open",
            ));
        };
        let call: Call<Fds> = Call::Getsockopt {
            sock,
            opt: SockOpt::TcpState,
        };
        let op = call.rename(&mut Names { ret: 0 });
        self.push(step_def(t, op, Some(Expect::State(state)), None));
        Ok(())
    }

    /// A shell command after the first event: a sockstat count becomes a
    /// `sockets` step expecting it, `tcpdrop -s TIME_WAIT` a `tcpdrop` step.
    fn command(&mut self, line: usize, t: (Usecs, u64), c: &str) -> Result<(), Unsupported> {
        let c = c.trim();
        if c == "tcpdrop -s TIME_WAIT" {
            self.push(step(t, TESTED, "tcpdrop TIME-WAIT", None));
            return Ok(());
        }
        let Some(q) = super::inspect::parse_sockstat(c) else {
            return Err(nope(
                line,
                "a command after the script's first event: a scenario's knobs hold from the start",
            ));
        };
        let (Some(state), Ok(want)) = (q.exact_state(), q.want.parse::<u64>()) else {
            return Err(nope(
                line,
                "a sockstat pipeline counting a partial state name or matching a pattern: a `sockets` step counts one state",
            ));
        };
        let held = if q.owned { " held" } else { "" };
        let port = q.port.map_or(String::new(), |p| format!(" {p}"));
        let rest = format!("sockets {}{held}{port}", state.name());
        self.push(step(t, TESTED, &rest, Some(&want.to_string())));
        Ok(())
    }

    /// Every earlier event at its script time: a relative time counts from
    /// the previous one (`run.c` `adjust_relative_event_times`).
    fn time(&self, e: &Event) -> Result<Usecs, Unsupported> {
        let offset = self.last.map_or(0, |(t, _)| t);
        match e.time {
            Time::Abs(t) => Ok(t),
            Time::Rel(t) => Ok(offset + t),
            _ => Err(nope(
                e.line,
                "a time window or `*`: scenario steps happen at one time",
            )),
        }
    }

    fn packet(&mut self, line: usize, t: (Usecs, u64), p: &Packet) -> Result<(), Unsupported> {
        if let Some(why) = super::packet::unsupported(p) {
            return Err(nope(line, why));
        }
        self.peer_opens.get_or_insert(p.dir == Dir::Inbound);
        let syn = super::packet::flags(p).syn();
        let wscale = p.opts.iter().flatten().find_map(|o| match o {
            TcpOpt::Wscale(w) => Some(*w),
            _ => None,
        });
        match p.dir {
            Dir::Inbound => {
                if syn && wscale.is_some() && !self.our_syn_without_wscale {
                    self.peer_shift = wscale;
                }
            }
            Dir::Outbound if syn => {
                self.our_shift = wscale;
                self.our_syn_without_wscale = p.opts.as_ref().is_some_and(|_| wscale.is_none());
                if self.our_syn_without_wscale {
                    self.peer_shift = None;
                }
            }
            Dir::Outbound => {}
        }
        let scaled = !syn && self.our_shift.is_some() && self.peer_shift.is_some();
        if self.peer_tcp.is_some() {
            return self.packet_tcp(line, t, p, scaled);
        }
        match p.dir {
            Dir::Inbound => {
                let shift = if syn { 0 } else { self.peer_shift.unwrap_or(0) };
                let text = line_text(p, Some(shift));
                scenario::packet::raw_seg(&text).map_err(|e| nope(line, e.expected))?;
                self.push(step(t, PEER, &format!("inject {TESTED} {text}"), None));
            }
            Dir::Outbound => {
                if p.win.is_some() && scaled {
                    return Err(nope(
                        line,
                        "the window of a scaled connection: expect steps compare windows in octets",
                    ));
                }
                let text = line_text(p, None);
                self.push(step(t, PEER, &format!("expect {text}"), None));
            }
        }
        Ok(())
    }

    /// `--peer tcp`: an inbound line is the peer's calls (its rule in
    /// `peer::RULES`), an outbound one a read of what it carries; both are
    /// kept for the check of the run (`peer_check`).
    fn packet_tcp(
        &mut self,
        line: usize,
        t: (Usecs, u64),
        p: &Packet,
        scaled: bool,
    ) -> Result<(), Unsupported> {
        let peer = self.peer_tcp.as_mut().expect("the tcp form");
        let steps = match p.dir {
            Dir::Inbound => peer.inbound(line, t, p)?,
            Dir::Outbound => {
                peer.outbound(t, p);
                Vec::new()
            }
        };
        let shift = match scaled {
            true => self.our_shift.unwrap_or(0),
            false => 0,
        };
        self.packets.push(super::peer_check::Line {
            line,
            t_us: t.0,
            packet: p.clone(),
            win_shift: shift,
        });
        for s in steps {
            self.push(s);
        }
        Ok(())
    }

    /// `(line, time)`: where the call is and its time as the script writes it.
    fn syscall(
        &mut self,
        (line, e_time): (usize, Time),
        t: (Usecs, u64),
        s: &Syscall,
        linux: bool,
    ) -> Result<(), Unsupported> {
        let o_nonblock = if linux { 0x800 } else { 0x4 };
        let nb = self.nonblocking.clone();
        let call = match map(s, |fd| nb.contains(&fd), o_nonblock) {
            Mapped::Unsupported(why) => return Err(nope(line, why)),
            // Answered from the script's own state, not the model's: nothing to run.
            Mapped::Answer(_) => return Ok(()),
            Mapped::Call(c) => c,
        };
        if let Call::Nonblocking { sock, on } = call {
            match on {
                true => self.nonblocking.insert(sock),
                false => self.nonblocking.remove(&sock),
            };
        }
        if matches!(call, Call::Socket { .. } | Call::Accept { .. }) && s.ret >= 0 {
            self.under_test = Some(s.ret as u32);
        }
        let op = call.rename(&mut Names { ret: s.ret });
        let expect = expectation(s, &call);
        let blocked = self.blocked(e_time, t.0, s);
        self.push(step_def(t, op, expect, blocked));
        Ok(())
    }

    /// A blocking call's `...END` as how long it blocks: END counts from
    /// what the line's start counts from, as the runner takes it
    /// (`Runner::return_window`, `run.c` `adjust_relative_event_times`).
    fn blocked(&self, start_time: Time, start: Usecs, s: &Syscall) -> Option<Within> {
        let anchor = match start_time {
            Time::Rel(t) => start - t,
            _ => 0,
        };
        let end = match s.end? {
            Time::Abs(t) => anchor + t,
            Time::Rel(t) => start + t,
            _ => start,
        };
        Some(Within {
            ns: Duration::from_ns((end - start).max(0) as u64 * 1000),
            tolerance_ns: Duration::from_ns(self.tolerance_usecs.max(0) as u64 * 1000),
        })
    }
}

/// The step's `= EXPECTED`: a descriptor is any non-error result, an
/// option its value, an error its name, else the result.
fn expectation(s: &Syscall, call: &Call<Fds>) -> Option<Expect> {
    if let Some(e) = s.errno.as_deref().and_then(Errno::parse) {
        return Some(Expect::Error(e));
    }
    match call {
        Call::Socket { .. } | Call::Accept { .. } => Some(Expect::Ok),
        Call::Getsockopt { .. } => {
            let at = if s.name == "ioctl" { 2 } else { 3 };
            optval(s.args.get(at)?)
        }
        _ => Some(Expect::Value(s.ret.max(0) as u64)),
    }
}

fn optval(e: &super::parse::Expr) -> Option<Expect> {
    use super::parse::Expr;
    match e {
        Expr::List(v) if v.len() == 1 => optval(&v[0]),
        Expr::Int(n) => Some(Expect::Value((*n).max(0) as u64)),
        Expr::Word(w) => Errno::parse(w).map(Expect::Error),
        _ => None,
    }
}

/// Script descriptors as socket names (`fd3`), the peer as host `peer`.
struct Names {
    ret: i64,
}

fn tok(text: String) -> Tok {
    Tok { text, at: 0..0 }
}

impl Rename<Fds, Text> for Names {
    fn sock(&mut self, s: &u32) -> Tok {
        tok(format!("fd{s}"))
    }
    fn new_sock(&mut self, _: &()) -> Tok {
        tok(format!("fd{}", self.ret))
    }
    fn host(&mut self, _: &u16) -> Tok {
        tok(PEER.into())
    }
    fn proc(&mut self, p: &u32) -> Tok {
        tok(p.to_string())
    }
}

/// A script time (usecs) and the event's place in its instant (ns).
pub(super) fn ns((t, order_ns): (Usecs, u64)) -> Duration {
    Duration::from_ns(t.max(0) as u64 * 1000 + order_ns)
}

fn step_def(
    t: (Usecs, u64),
    op: Call<Text>,
    expect: Option<Expect>,
    blocked: Option<Within>,
) -> String {
    let d = StepDef {
        at: At::Abs(Instant::ZERO + ns(t)),
        after: None,
        proc: tok(TESTED.into()),
        op,
        label: None,
        expect,
        blocked,
        segment: None,
    };
    format!("{:?},", d.to_string())
}

fn step(t: (Usecs, u64), proc: &str, rest: &str, expect: Option<&str>) -> String {
    let time = scenario::units::format_duration(ns(t));
    let e = expect.map(|e| format!(" = {e}")).unwrap_or_default();
    format!("{:?},", format!("{time} {proc} {rest}{e}"))
}

/// A packet line without its direction; `Some(shift)`: an inbound one, its
/// window in octets (scaled by the peer's shift) and without `wscale`,
/// which the model does not carry.
fn line_text(p: &Packet, inbound: Option<u8>) -> String {
    let mut s = format!("{} ", p.flags);
    match p.seq {
        Some((a, b)) => {
            let _ = write!(s, "{a}:{b}({})", p.len);
        }
        None => {
            let _ = write!(s, "...({})", p.len);
        }
    }
    if let Some(a) = p.ack {
        let _ = write!(s, " ack {a}");
    }
    if let Some(w) = p.win {
        let _ = write!(s, " win {}", w << inbound.unwrap_or(0).min(14));
    }
    match &p.opts {
        None => s.push_str(" <...>"),
        Some(opts) => {
            let words: Vec<String> = opts
                .iter()
                .filter(|o| inbound.is_none() || !matches!(o, TcpOpt::Wscale(_)))
                .map(opt_text)
                .collect();
            if !words.is_empty() {
                let _ = write!(s, " <{}>", words.join(","));
            }
        }
    }
    s
}

fn opt_text(o: &TcpOpt) -> String {
    match o {
        TcpOpt::Mss(m) => format!("mss {m}"),
        TcpOpt::SackOk => "sackOK".into(),
        TcpOpt::Nop => "nop".into(),
        TcpOpt::Eol => "eol".into(),
        TcpOpt::Wscale(w) => format!("wscale {w}"),
        TcpOpt::Ts { val, ecr } => format!("TS val {val} ecr {ecr}"),
        TcpOpt::Sack(blocks) => {
            let b: Vec<String> = blocks.iter().map(|(a, b)| format!("{a}:{b}")).collect();
            format!("sack {}", b.join(" "))
        }
        TcpOpt::Other(t) => t.clone(),
    }
}
