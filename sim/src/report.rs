//! Human-readable reports: a ladder diagram of the trace (segments between
//! hosts over time, with calls and state changes beside them) and the verdict.
//! Sequence numbers are shown relative to each side's ISN, as tcpdump does.

use crate::spec::WorldSpec;
use crate::trace::{Entry, Tail, What};
use crate::verdict::{Connection, Direction, EndReason, Endpoint, Outcome, StepMismatch, Verdict};
use model::call::SockOpt;
use model::call::{Fds, Naming, Rename};
use model::{Addr, Call, Event, Fd, HostId, Pid, ReadLen, Segment, Seq, SysCall};
use model::{Duration, Instant};
use std::fmt::Write;

const TIME_W: usize = 11;
/// poll(fds, events, ms) or select(fds, sets, timeout) as a trace line shows it.
fn watch_text(c: &Call<Shown>) -> String {
    let socks: Vec<String> = c.watched().map(|s| s.to_string()).collect();
    let socks = socks.join(",");
    match *c {
        Call::Poll {
            events, timeout, ..
        } => {
            let ms = timeout.map_or("-1".into(), |d| d.as_ms().to_string());
            let ev = model::call::poll_bits::text(u64::from(events));
            format!("poll({socks}, {ev}, {ms})")
        }
        Call::Select { sets, timeout, .. } => {
            let ms = timeout.map_or("NULL".into(), |d| format!("{} ms", d.as_ms()));
            let sets = model::call::select_sets::text(u64::from(sets));
            format!("select({socks}, {sets}, {ms})")
        }
        _ => unreachable!("only poll and select"),
    }
}

/// The ladder fits a terminal this wide: longer entries wrap within their column.
const LADDER_W: usize = 100;

/// The width of one host's column when the ladder has `columns` of them.
fn side_w(columns: usize) -> usize {
    ((LADDER_W - TIME_W - 2) / columns.max(1)).saturating_sub(2)
}

/// An errno as the host's personality names it (WSAECONNRESET on Winsock stacks).
pub fn errno_name(spec: &WorldSpec, host: model::HostId, e: model::Errno) -> &'static str {
    let names = spec
        .hosts
        .get(host as usize)
        .map(|h| h.personality.knobs.error_names.value);
    match names {
        Some(model::personality::ErrorNames::Winsock) => e.winsock_name(),
        _ => e.name(),
    }
}

/// A call's result as the host's program would print it.
pub fn result_text(spec: &WorldSpec, host: model::HostId, r: &model::CallResult) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => errno_name(spec, host, *e).to_string(),
    }
}

/// Formats virtual time in milliseconds with microsecond precision.
pub fn ms(t: Instant) -> String {
    duration_ms(t.since_start())
}

/// Formats a length of time in milliseconds with microsecond precision.
pub fn duration_ms(d: Duration) -> String {
    let t = d.as_ns();
    format!("{}.{:03}", t / 1_000_000, (t / 1_000) % 1_000)
}

/// `host:port`, with host names from the spec.
pub fn addr(spec: &WorldSpec, a: Addr) -> String {
    let name = spec
        .hosts
        .get(a.host as usize)
        .map_or("?", |h| h.name.as_str());
    format!("{name}:{}", a.port)
}

/// Remembers each direction's ISN to print relative sequence numbers.
#[derive(Default)]
pub struct Isns(Vec<((Addr, Addr), Seq)>);

impl Isns {
    fn note(&mut self, s: &Segment) {
        if s.flags.syn() && !self.0.iter().any(|(k, _)| *k == (s.src, s.dst)) {
            self.0.push(((s.src, s.dst), s.seq));
        }
    }
    fn rel(&self, from: Addr, to: Addr, seq: Seq) -> u32 {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == (from, to))
            .map_or(seq.0, |(_, isn)| seq.0.wrapping_sub(isn.0))
    }
}

/// A segment as tcpdump would print it (relative numbers).
pub fn seg_text(isns: &Isns, s: &Segment) -> String {
    let seq = isns.rel(s.src, s.dst, s.seq);
    let mut t = format!("{} {}:{}({})", s.flags, seq, seq.wrapping_add(s.len), s.len);
    if s.flags.ack() {
        let _ = write!(t, " ack {}", isns.rel(s.dst, s.src, s.ack));
    }
    let _ = write!(t, " win {}", s.wnd);
    if s.mss != 0 {
        let ts = if s.opts.ts() { ",TS" } else { "" };
        let _ = write!(t, " <mss {}{ts}>", s.mss);
    }
    t
}

/// A descriptor as a report prints it: `-` for [`model::NO_FD`] (the call
/// named a socket that had none), not 4294967295; in JSON, `null` for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FdText(Fd);

impl FdText {
    /// The descriptor, if the call had one.
    fn some(self) -> Option<Fd> {
        (self.0 != model::NO_FD).then_some(self.0)
    }
}

impl std::fmt::Display for FdText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.some() {
            None => f.write_str("-"),
            Some(fd) => write!(f, "{fd}"),
        }
    }
}

impl serde::Serialize for FdText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.some().serialize(s)
    }
}

impl schemars::JsonSchema for FdText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <Option<Fd>>::schema_name()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Option<Fd>>::json_schema(g)
    }
}

/// Calls as printed (and written in JSON traces): descriptors as [`FdText`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub(crate) struct Shown;

impl Naming for Shown {
    type Sock = FdText;
    type New = ();
    type Host = HostId;
    type Proc = Pid;
    fn created(_: &FdText) {}
}

impl Rename<Fds, Shown> for Shown {
    fn sock(&mut self, s: &Fd) -> FdText {
        FdText(*s)
    }
    fn new_sock(&mut self, _: &()) {}
    fn host(&mut self, h: &HostId) -> HostId {
        *h
    }
    fn proc(&mut self, p: &Pid) -> Pid {
        *p
    }
}

/// A call as a JSON trace writes it (the trace's `call` fields): a call
/// that named a socket without a descriptor has `"fd": null`.
pub(crate) type CallJson = Call<Shown>;

/// Serializes a call as [`CallJson`].
pub(crate) fn call_json<S: serde::Serializer>(c: &SysCall, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&c.rename(&mut Shown), s)
}

fn dest_addr(to: model::call::Dest<Shown>) -> Addr {
    Addr {
        host: to.host,
        port: to.port,
    }
}

/// A system call as C spells it: `write(3, 1000)`, `setsockopt(3, SO_LINGER, {1, 0})`;
/// `close(-)` when the socket name had no descriptor.
pub fn call_text(c: &SysCall, spec: &WorldSpec) -> String {
    match c.rename(&mut Shown) {
        Call::Socket { .. } => "socket()".into(),
        Call::Bind { sock, port } => format!("bind({sock}, :{port})"),
        Call::Listen { sock, backlog, .. } => format!("listen({sock}, {backlog})"),
        Call::Accept { sock, .. } => format!("accept({sock})"),
        Call::Connect { sock, to } => format!("connect({sock}, {})", addr(spec, dest_addr(to))),
        Call::Write {
            sock,
            bytes,
            more,
            timeout,
        } => {
            let call = match more {
                true => format!("send({sock}, {bytes}, MSG_MORE)"),
                false => format!("write({sock}, {bytes})"),
            };
            format!("{call}{}", within(timeout))
        }
        Call::Read { sock, len, timeout } => match len {
            ReadLen::Bytes(max) => format!("read({sock}, {max}){}", within(timeout)),
            ReadLen::Eof => format!("read({sock}, …) until EOF{}", within(timeout)),
        },
        Call::Peek { sock, len } => format!("recv({sock}, {len}, MSG_PEEK)"),
        c @ (Call::Poll { .. } | Call::Select { .. }) => watch_text(&c),
        Call::Getsockopt { sock, opt } => match opt {
            SockOpt::InQ | SockOpt::OutQ | SockOpt::OutQNsd => {
                format!("ioctl({sock}, {})", opt.word())
            }
            _ => format!("getsockopt({sock}, {})", opt.word()),
        },
        Call::RcvTimeo { sock, ns } => format!("setsockopt({sock}, SO_RCVTIMEO, {})", ns.text()),
        Call::SndTimeo { sock, ns } => format!("setsockopt({sock}, SO_SNDTIMEO, {})", ns.text()),
        Call::Shutdown { sock, how } => format!("shutdown({sock}, {})", how.constant()),
        Call::Close { sock } => format!("close({sock})"),
        Call::Linger { sock, linger } => match linger {
            None => format!("setsockopt({sock}, SO_LINGER, {{0, 0}})"),
            Some(n) => format!("setsockopt({sock}, SO_LINGER, {{1, {n}}})"),
        },
        Call::Nonblocking { sock, on } => format!("fcntl({sock}, O_NONBLOCK={})", u8::from(on)),
        Call::Keepalive { sock, on } => {
            format!("setsockopt({sock}, SO_KEEPALIVE, {})", u8::from(on))
        }
        Call::ReuseAddr { sock, on } => {
            format!("setsockopt({sock}, SO_REUSEADDR, {})", u8::from(on))
        }
        Call::NoDelay { sock, on } => {
            format!("setsockopt({sock}, TCP_NODELAY, {})", u8::from(on))
        }
        Call::Cork { sock, on } => format!("setsockopt({sock}, TCP_CORK, {})", u8::from(on)),
        Call::RcvBuf { sock, bytes } => format!("setsockopt({sock}, SO_RCVBUF, {bytes})"),
        Call::SndBuf { sock, bytes } => format!("setsockopt({sock}, SO_SNDBUF, {bytes})"),
        Call::Dup { sock, .. } => format!("dup({sock})"),
        Call::Fork { child } => format!("fork() = {child}"),
        Call::Exit {} => "exit()".into(),
        Call::Sleep { ns } => format!("sleep({})", duration_ms(ns)),
        Call::Inject { sock, seg } => format!("inject({sock}, {seg})"),
        Call::Sockets { state, held, port } => {
            let held = if held { ", held" } else { "" };
            let port = port.map_or(String::new(), |p| format!(", port {p}"));
            format!("sockets({state}{held}{port})")
        }
        Call::Tcpdrop { state } => format!("tcpdrop({state})"),
    }
}

/// A step's own timeout, after the call: ` within 300ms`.
fn within(timeout: Option<Duration>) -> String {
    timeout.map_or(String::new(), |d| format!(" within {}", d.text()))
}

/// One line of the ladder: time, then text in the host's column, or an arrow.
fn line(out: &mut String, t: Instant, column: usize, columns: usize, text: &str) {
    let pad = column.min(columns) * (side_w(columns) + 2);
    // An entry may run on into the columns right of its own (they are empty
    // on its line), up to the ladder's width; past that it wraps, indented.
    let room = (LADDER_W - TIME_W - 2).saturating_sub(pad).max(16);
    let wrap = textwrap::Options::new(room).subsequent_indent("  ");
    for (i, part) in textwrap::wrap(text, wrap).iter().enumerate() {
        let time = if i == 0 { ms(t) } else { String::new() };
        let _ = writeln!(out, "{time:>w$}  {:pad$}{part}", "", w = TIME_W);
    }
}

/// The ladder diagram of a recorded trace.
pub fn ladder(spec: &WorldSpec, trace: &[Entry]) -> String {
    ladder_tagged(spec, trace, None)
}

/// The ladder, each host's column headed by its name and `tag` (its
/// personality's name when `None`; a kernel run's trace says `kernel`).
pub fn ladder_tagged(spec: &WorldSpec, trace: &[Entry], tag: Option<&str>) -> String {
    let mut l = Ladder::new(spec, tag, usize::MAX);
    trace.iter().for_each(|e| l.push(e));
    l.finish()
}

/// A ladder drawn as the entries go by, keeping the lines of the last
/// `max_entries` entries only: its memory does not grow with the run. Every
/// entry is still followed (the ISNs of relative sequence numbers come from
/// SYNs long gone), and the ladder says how many entries it left out.
pub struct Ladder<'a> {
    spec: &'a WorldSpec,
    tag: Option<&'a str>,
    isns: Isns,
    /// Per entry, its line (`None` for entries the ladder leaves out).
    lines: Tail<Option<String>>,
}

impl<'a> Ladder<'a> {
    pub fn new(spec: &'a WorldSpec, tag: Option<&'a str>, max_entries: usize) -> Ladder<'a> {
        Ladder {
            spec,
            tag,
            isns: Isns::default(),
            lines: Tail::new(max_entries),
        }
    }

    pub fn push(&mut self, e: &Entry) {
        let line_text = entry_text(self.spec, &mut self.isns, e).map(|text| {
            let mut o = String::new();
            line(
                &mut o,
                e.t_ns,
                e.host as usize,
                self.spec.hosts.len(),
                &text,
            );
            o
        });
        self.lines.push(line_text);
    }

    /// The header, a note of the entries left out, and the lines kept.
    pub fn finish(mut self) -> String {
        let mut out = String::new();
        if self.lines.dropped() > 0 {
            let _ = writeln!(
                out,
                "trace: last {} of {} entries shown (`--format jsonl` writes them all)",
                self.lines.kept().len(),
                self.lines.seen()
            );
        }
        let mut head = format!("{:>w$}  ", "time (ms)", w = TIME_W);
        let side = side_w(self.spec.hosts.len());
        for h in &self.spec.hosts {
            let name = format!("{} [{}]", h.name, self.tag.unwrap_or(&h.personality.name));
            let _ = write!(head, "{name:<side$}  ");
        }
        out.push_str(head.trim_end());
        out.push('\n');
        for l in self.lines.kept().iter().flatten() {
            out.push_str(l);
        }
        out
    }
}

/// A call's result as the ladder shows it: revents by name for poll, a
/// state by name for `TCP_INFO.tcpi_state`, else as the program prints it.
fn returned_text(
    spec: &WorldSpec,
    host: model::HostId,
    call: &SysCall,
    result: &model::CallResult,
) -> String {
    match (call, result) {
        (Call::Poll { also, .. }, Ok(bits)) => {
            model::call::poll_bits::text_each(*bits, 1 + also.iter().count())
        }
        (Call::Select { also, .. }, Ok(sets)) => {
            model::call::select_sets::text_each(*sets, 1 + also.iter().count())
        }
        (
            Call::Getsockopt {
                opt: SockOpt::TcpState,
                ..
            },
            Ok(n),
        ) => model::State::code_text(*n),
        _ => result_text(spec, host, result),
    }
}

/// The raw host's `expect` step that `proc` runs at `t` (its spec step is a
/// `sleep 0`, which is how the trace records it).
fn seg_expect_at(spec: &WorldSpec, proc: u16, t: Instant) -> Option<&crate::raw::SegExpect> {
    spec.seg_expects
        .iter()
        .find(|x| x.proc == proc && x.window.0 == t)
}

/// One trace entry as the ladder shows it, or `None` for entries the ladder
/// leaves out (receptions, bookkeeping). `isns` follows the SYNs seen so far.
pub fn entry_text(spec: &WorldSpec, isns: &mut Isns, e: &Entry) -> Option<String> {
    let col = e.host as usize;
    let n = spec.hosts.len();
    let proc_name = |p: &u16| spec.procs[*p as usize].name.as_str();
    Some(match &e.what {
        What::Call { .. } | What::Finished { .. } | What::Recv { .. } => return None,
        What::Blocked { proc, call, .. } => {
            format!("{}: {} blocks…", proc_name(proc), call_text(call, spec))
        }
        What::Return {
            proc, call, result, ..
        } => {
            let shown = returned_text(spec, e.host, call, result);
            format!("{}: {} = {shown}", proc_name(proc), call_text(call, spec))
        }
        What::Fork { proc, child } => format!("{}: fork() → {}", proc_name(proc), proc_name(child)),
        What::Exit { proc } => format!("{}: exit()", proc_name(proc)),
        What::Sleep { proc, ns } => match seg_expect_at(spec, *proc, e.t_ns) {
            Some(x) if ns.is_zero() => format!("{}: expects {}", proc_name(proc), x.text),
            _ => format!("{}: sleep {} ms", proc_name(proc), duration_ms(*ns)),
        },
        What::Send { seg } => {
            isns.note(seg);
            let arrow = if seg.dst.host as usize > col {
                "──▶"
            } else {
                "◀──"
            };
            let to = if n > 2 {
                format!(" {}", addr(spec, seg.dst))
            } else {
                String::new()
            };
            format!("{} {arrow}{to}", seg_text(isns, seg))
        }
        What::Inject { proc, seg, .. } => {
            isns.note(seg);
            let arrow = if seg.dst.host as usize > col {
                "──▶"
            } else {
                "◀──"
            };
            format!(
                "{} {arrow} injected by {} (its stack unaware)",
                seg_text(isns, seg),
                proc_name(proc)
            )
        }
        What::RstSeen { state, .. } => format!("RST sent in {state} (cause not observable)"),
        What::Drop { seg, reason } => format!("✕ {} lost ({reason})", seg_text(isns, seg)),
        What::Duplicate { seg } => format!("⧉ {} duplicated", seg_text(isns, seg)),
        What::Model { event } => match event {
            Event::State { from, to, rule, .. } => format!("{from} → {to}  ({rule})"),
            Event::RstSent { cause, state, .. } => format!("RST sent in {state}: {cause}"),
            Event::RstReceived { state, .. } => format!("RST accepted in {state}"),
            Event::Discard { bytes, cause, .. } => format!("{bytes} B {cause}"),
            Event::Timer { timer, .. } => format!("{timer} fired"),
            Event::SynDropped { reason, .. } => format!("SYN dropped: {reason}"),
            Event::Ignored { reason, .. } => format!("segment ignored: {reason}"),
            Event::Delivered { .. }
            | Event::AppWrote { .. }
            | Event::AppRead { .. }
            | Event::AppError { .. }
            | Event::CallDone { .. } => return None,
        },
    })
}

/// The verdict as text.
pub fn verdict_text(spec: &WorldSpec, v: &Verdict) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "verdict: {}", v.outcome);
    if let Some(t) = limit_text(v) {
        let _ = writeln!(o, "  {t}");
    }
    resets_text(&mut o, spec, v);
    for c in &v.connections {
        connection_text(&mut o, spec, c);
    }
    for m in &v.step_mismatches {
        mismatch_text(&mut o, spec, m);
    }
    for s in &v.stuck {
        let _ = writeln!(o, "  {}: {}", spec.procs[s.proc as usize].name, s.what);
    }
    let _ = writeln!(
        o,
        "  run ended: {}, {} segments sent, {} dropped",
        end_text(v),
        v.segments_sent,
        v.segments_dropped
    );
    fit(&o)
}

/// Text wrapped to the ladder's width: each line too long is broken between
/// words, its continuation indented four columns past the line's own indent.
pub fn fit(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let indent = " ".repeat(line.len() - line.trim_start().len() + 4);
        let wrap = textwrap::Options::new(LADDER_W).subsequent_indent(&indent);
        for part in textwrap::wrap(line, wrap) {
            out.push_str(part.trim_end());
            out.push('\n');
        }
    }
    out
}

/// How the run ended and when, naming the limit that stopped it (the limit,
/// not the last event, is when a time limit ended it).
pub fn end_text(v: &Verdict) -> String {
    match v.end {
        EndReason::Quiescent => format!(
            "nothing left to happen at {} ms after {} events",
            ms(v.end_ns),
            v.events
        ),
        EndReason::EventBudget => format!(
            "the event budget of {} events ran out at {} ms",
            v.limits.max_events,
            ms(v.end_ns)
        ),
        EndReason::TimeLimit => format!(
            "the time limit of {} ms was reached after {} events",
            duration_ms(v.limits.max_time_ns),
            v.events
        ),
    }
}

/// What a verdict stopped by a limit means.
pub fn limit_text(v: &Verdict) -> Option<String> {
    let limit = match v.outcome {
        Outcome::EventBudget => format!("its event budget of {} events", v.limits.max_events),
        Outcome::TimeLimit => format!("its time limit of {} ms", duration_ms(v.limits.max_time_ns)),
        _ => return None,
    };
    Some(format!("the run did not finish: it was stopped by {limit}"))
}

/// Every RST of the run, or "no RST".
fn resets_text(o: &mut String, spec: &WorldSpec, v: &Verdict) {
    if v.resets.is_empty() {
        let _ = writeln!(o, "  no RST");
    }
    for r in &v.resets {
        let _ = writeln!(
            o,
            "  RST {} → {} at {} ms in {}: {}{}",
            addr(spec, r.from),
            addr(spec, r.to),
            ms(r.t_ns),
            r.state,
            r.cause,
            if r.accepted { "" } else { " (not acted on)" }
        );
    }
}

/// One connection: its data in each direction, then each end's states and errors.
fn connection_text(o: &mut String, spec: &WorldSpec, c: &Connection) {
    let [a, b] = &c.endpoints;
    let _ = writeln!(
        o,
        "  connection {} ⇄ {}",
        addr(spec, a.addr),
        addr(spec, b.addr)
    );
    for d in &c.directions {
        direction_text(o, spec, d);
    }
    for e in &c.endpoints {
        endpoint_text(o, spec, e);
    }
}

/// The bytes one direction of a connection wrote, delivered, read and lost.
fn direction_text(o: &mut String, spec: &WorldSpec, d: &Direction) {
    let (Some(f), Some(t)) = (d.from, d.to) else {
        return;
    };
    let _ = writeln!(
        o,
        "    {} → {}: written {}, delivered {}, read {}, lost {}{}",
        addr(spec, f),
        addr(spec, t),
        d.written,
        d.delivered,
        d.read,
        d.lost,
        if d.silent {
            " (SILENT: the writer saw no error)"
        } else {
            ""
        }
    );
    for l in &d.losses {
        let _ = writeln!(o, "      {} B at the {}: {}", l.bytes, l.side, l.why);
    }
}

/// One end's final state, the path of states to it and the errors its application saw.
fn endpoint_text(o: &mut String, spec: &WorldSpec, e: &Endpoint) {
    let path: Vec<&str> = e.states.iter().map(|s| s.name()).collect();
    let errors: Vec<&str> = e
        .errors
        .iter()
        .map(|x| errno_name(spec, e.addr.host, *x))
        .collect();
    let _ = writeln!(
        o,
        "    {}: {} ({}){}",
        addr(spec, e.addr),
        e.final_state,
        path.join(" → "),
        if errors.is_empty() {
            String::new()
        } else {
            format!("; app errors: {}", errors.join(", "))
        }
    );
}

/// A step whose result was not the one the scenario expected.
fn mismatch_text(o: &mut String, spec: &WorldSpec, m: &StepMismatch) {
    let _ = writeln!(
        o,
        "  step {} ({}): expected {}, {}{}",
        m.step + 1,
        spec.procs[m.proc as usize].name,
        m.expected,
        // A step that never ran says why ("never ran: the process had exited").
        if m.actual.starts_with("never") {
            format!("but it {}", m.actual)
        } else {
            format!("got {}", m.actual)
        },
        m.origin
            .as_ref()
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default()
    );
}
