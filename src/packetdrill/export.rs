//! A scenario's Linux side as a packetdrill script (`tcpsim run FILE
//! --packetdrill-out OUT.pkt`): that host's system calls with their results,
//! the segments the other side sent that reached it as `<` lines, and the
//! segments it sent as `>` lines, so the same behaviour can be checked on a
//! real kernel with google/packetdrill (and with `tcpsim packetdrill`).
//!
//! Everything comes from the run's one trace (sim/src/trace.rs): a call's
//! line is where its `Call` entry is, with the `Return`'s result, and a call
//! that blocked gets packetdrill's `START...END` return time. A segment the
//! network dropped on its way to the Linux side is no `<` line (the kernel
//! never saw it); one the Linux side sent is a `>` line whatever became of it.
//!
//! The language is the one google/packetdrill's parser reads
//! (`gtests/net/packetdrill/parser.y`). Times are relative (`+`), as the
//! Linux suite writes them; packetdrill anchors a relative time to the
//! previous event as it happened (`run.c` `adjust_relative_event_times`),
//! and a blocking call's END counts from the same anchor as its START.
//! Options are written as Linux's `tcp_options_write` (`net/ipv4/tcp_output.c`)
//! orders them: MSS, then SACK-permitted and timestamps, then window scale.
//! The script's peer offers no SACK (the model has none, so neither side
//! must use it) and a window scale just large enough for its windows; a
//! Linux SYN's `wscale` is what the model's `tcp_rmem_max_bytes` gives
//! (`tcp_select_initial_window`: ilog2(33554432) − 15 = 10), written as
//! `tcp_rmem`'s maximum so the kernel offers the same. Outbound TS values are
//! not compared by packetdrill (`verify_outbound_tcp_option`, without
//! `--tcp_ts_tick_usecs`); an inbound `ecr` must name a TS val of an earlier
//! `>` line (`run_packet.c` `get_outbound_ts_val_mapping`), so it does.

use model::call::SockOpt;
use model::personality::Knobs;
use model::{Call, CallResult, Fds, HostId, Personality, ReadLen, Segment};
use sim::{Entry, What, WorldSpec};
use std::fmt::Write as _;

/// Why a scenario has no packetdrill form: what, and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unexportable {
    pub what: String,
    pub hint: String,
}

fn no(what: impl Into<String>, hint: impl Into<String>) -> Unexportable {
    Unexportable {
        what: what.into(),
        hint: hint.into(),
    }
}

/// packetdrill's tun device has MTU 1500 (`netdev.c`): the local MSS is 1460.
const PACKETDRILL_MTU: u32 = 1500;
/// A write this large is beyond what a script should make packetdrill
/// allocate (it fills a buffer of the call's size).
pub const WRITE_BYTES_MAX: u64 = 1 << 30;
/// Where the script's TS clocks start (any values: packetdrill maps them).
const OUT_TS_BASE: u64 = 100;
const IN_TS_BASE: u64 = 700;

/// The knobs that are Linux sysctls with the same meaning, and how a knob's
/// value is written as the sysctl's (the buffers are `tcp_rmem`/`tcp_wmem`'s
/// middle value, the one a socket starts with; the minimum is Linux's
/// default, `net/ipv4/tcp.c` `tcp_init`; `tcp_rmem`'s maximum is the
/// host's `tcp_rmem_max_bytes`, `tcp_wmem`'s its `snd_buf_max_bytes`).
const SYSCTLS: &[(&str, &str, SysctlValue)] = &[
    ("fin_wait_2_timeout_s", "tcp_fin_timeout", same),
    ("syn_retries", "tcp_syn_retries", same),
    ("syn_linear_timeouts", "tcp_syn_linear_timeouts", same),
    ("synack_retries", "tcp_synack_retries", same),
    ("data_retries", "tcp_retries2", same),
    ("keepalive_idle_s", "tcp_keepalive_time", same),
    ("keepalive_intvl_s", "tcp_keepalive_intvl", same),
    ("keepalive_probes", "tcp_keepalive_probes", same),
    ("tcp_timestamps", "tcp_timestamps", bool01),
    ("tcp_window_scaling", "tcp_window_scaling", bool01),
    ("rcv_buf_bytes", "tcp_rmem", |v, k| {
        format!("\"4096 {v} {}\"", k.tcp_rmem_max_bytes.value)
    }),
    ("snd_buf_bytes", "tcp_wmem", |v, k| {
        format!("\"4096 {v} {}\"", k.snd_buf_max_bytes.value)
    }),
];

/// Knobs written as a part of another's sysctl: (knob, the knob whose line
/// carries it).
const WRITTEN_WITH: &[(&str, &str)] = &[
    ("tcp_rmem_max_bytes", "rcv_buf_bytes"),
    ("snd_buf_max_bytes", "snd_buf_bytes"),
];

/// Knobs written as sysctls even at Linux's defaults: the buffers' maximum
/// decides the window scale a SYN offers (`tcp_select_initial_window`), and
/// kernels differ in it (6 MiB and `wscale 7` on older ones, 32 MiB and
/// `wscale 10` on this machine's 6.18), so the script pins the model's, the
/// one the `wscale` of its SYN lines comes from, as the Linux suite's
/// `defaults.sh` pins its own.
const ALWAYS_SET: &[&str] = &["rcv_buf_bytes", "snd_buf_bytes"];

/// A knob's value (as `Knobs::get` prints it) written as its sysctl's,
/// with the host's other knobs.
type SysctlValue = fn(&str, &Knobs) -> String;

fn same(v: &str, _: &Knobs) -> String {
    v.to_string()
}

fn bool01(v: &str, _: &Knobs) -> String {
    if v == "true" { "1" } else { "0" }.to_string()
}

/// The host `--packetdrill-side` names, or the one Linux host.
pub fn side(spec: &WorldSpec, name: Option<&str>) -> Result<HostId, Unexportable> {
    let names: Vec<&str> = spec.hosts.iter().map(|h| h.name.as_str()).collect();
    let linux: Vec<usize> = (0..spec.hosts.len())
        .filter(|&i| spec.hosts[i].personality.name == "linux")
        .collect();
    let Some(name) = name else {
        return match linux[..] {
            [one] => Ok(one as HostId),
            [] => Err(no(
                format!("no host is Linux (hosts: {})", names.join(", ")),
                "the export checks a Linux kernel: give a host `personality = \"linux\"` \
                 (or `--personality HOST=linux`)",
            )),
            _ => Err(no(
                format!(
                    "{} hosts are Linux ({})",
                    linux.len(),
                    linux
                        .iter()
                        .map(|&i| names[i])
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "choose the side the script tests with `--packetdrill-side HOST`",
            )),
        };
    };
    let Some(i) = names.iter().position(|n| *n == name) else {
        return Err(no(
            format!("--packetdrill-side {name}: no such host"),
            format!("the hosts are {}", names.join(", ")),
        ));
    };
    if spec.hosts[i].personality.name != "linux" {
        return Err(no(
            format!(
                "--packetdrill-side {name}: the host is `{}`, not Linux",
                spec.hosts[i].personality.name
            ),
            "packetdrill scripts are checked on a Linux kernel: name a Linux host",
        ));
    }
    Ok(i as HostId)
}

/// The script for host `h` of the run whose whole trace is `entries`;
/// `header` is its opening comment (without `//`).
pub fn export(
    spec: &WorldSpec,
    h: HostId,
    entries: &[Entry],
    header: &str,
) -> Result<String, Unexportable> {
    check_host(spec, h)?;
    let sysctls = sysctls(spec, h)?;
    let items = collect(spec, h, entries)?;
    let conn = Conn::of(spec, h, entries, &items)?;
    let mut w = Writer::new(conn);
    for line in header.lines() {
        let _ = writeln!(w.out, "{}", format!("// {line}").trim_end());
    }
    w.out.push('\n');
    // One shell command before the first event, as the Linux suite writes
    // its setup (packetdrill's grammar takes no second untimed line).
    let lines: Vec<String> = sysctls
        .iter()
        .map(|s| format!("sysctl -q net.ipv4.{s}"))
        .collect();
    let _ = writeln!(w.out, "`{}`\n", lines.join("\n"));
    for item in coalesce(items) {
        w.item(&item)?;
    }
    Ok(w.out)
}

/// One process on a Linux host with packetdrill's MTU.
fn check_host(spec: &WorldSpec, h: HostId) -> Result<(), Unexportable> {
    let host = &spec.hosts[h as usize];
    if host.mtu != PACKETDRILL_MTU {
        return Err(no(
            format!("host {} has MTU {}", host.name, host.mtu),
            "packetdrill's tun device has MTU 1500 (MSS 1460): drop the host's `mtu`",
        ));
    }
    let procs: Vec<&str> = spec
        .procs
        .iter()
        .filter(|p| p.host == h)
        .map(|p| p.name.as_str())
        .collect();
    if procs.len() > 1 {
        return Err(no(
            format!(
                "host {} runs {} processes ({})",
                host.name,
                procs.len(),
                procs.join(", ")
            ),
            "a packetdrill script is one process making one call at a time",
        ));
    }
    Ok(())
}

/// The sysctls standing for the knobs the scenario set on the host (those
/// differing from the built-in `linux`), and the buffers'; a knob with no
/// Linux sysctl cannot be set on a kernel, so the scenario is not exportable.
fn sysctls(spec: &WorldSpec, h: HostId) -> Result<Vec<String>, Unexportable> {
    let host = &spec.hosts[h as usize];
    let base = Personality::builtin("linux").expect("built in");
    let mut out = Vec::new();
    for info in model::personality::Knobs::INFO {
        let (v, _) = host.personality.knobs.get(info.name).expect("listed");
        let (d, _) = base.knobs.get(info.name).expect("listed");
        if (v == d && !ALWAYS_SET.contains(&info.name))
            || WRITTEN_WITH.iter().any(|(k, _)| *k == info.name)
        {
            continue;
        }
        let Some((_, sysctl, value)) = SYSCTLS.iter().find(|(k, _, _)| *k == info.name) else {
            return Err(no(
                format!(
                    "host {} sets knob {}={v} (linux: {d}), which no Linux sysctl sets",
                    host.name, info.name
                ),
                "export the scenario without that knob, or check it another way",
            ));
        };
        out.push(format!("{sysctl}={}", value(&v, &host.personality.knobs)));
    }
    Ok(out)
}

/// A system call of the exported side, with how it ended.
#[derive(Clone, Copy, Debug)]
struct Sys {
    t_us: u64,
    call: Call<Fds>,
    result: CallResult,
    /// When a call that blocked returned.
    end_us: Option<u64>,
}

/// What the script says, in trace order.
#[derive(Clone, Copy, Debug)]
enum Item {
    Sys(Sys),
    /// A segment that reached the exported side.
    In(u64, Segment),
    /// A segment it sent.
    Out(u64, Segment),
}

fn usecs(e: &Entry) -> u64 {
    e.t_ns.as_ns() / 1000
}

/// The side's calls and segments; processes steps have no packetdrill form.
fn collect(spec: &WorldSpec, h: HostId, entries: &[Entry]) -> Result<Vec<Item>, Unexportable> {
    let mut items = Vec::new();
    let mut open: Option<(usize, bool)> = None;
    let host = &spec.hosts[h as usize].name;
    for e in entries {
        match e.what {
            What::Send { seg } if seg.src.host == h => items.push(Item::Out(usecs(e), seg)),
            What::Recv { seg } if seg.dst.host == h => items.push(Item::In(usecs(e), seg)),
            _ if e.host != h => {}
            What::Call { call, .. } => {
                open = Some((items.len(), false));
                items.push(Item::Sys(Sys {
                    t_us: usecs(e),
                    call,
                    result: Ok(0),
                    end_us: None,
                }));
            }
            What::Blocked { .. } => open = open.map(|(i, _)| (i, true)),
            What::Return { result, .. } => {
                if let Some((i, blocked)) = open.take() {
                    if let Item::Sys(s) = &mut items[i] {
                        s.result = result;
                        s.end_us = blocked.then(|| usecs(e));
                    }
                }
            }
            What::Fork { .. } => {
                return Err(no(
                    format!("host {host} forks"),
                    "a packetdrill script is one process: export a scenario without `fork`",
                ))
            }
            What::Exit { .. } => {
                return Err(no(
                    format!(
                    "a process of host {host} exits (closing its descriptors the way exit does)"
                ),
                    "packetdrill has no process exit: end the script with `close`",
                ))
            }
            _ => {}
        }
    }
    if let Some((i, _)) = open {
        if let Item::Sys(s) = items[i] {
            return Err(no(
                format!("{} on host {host} never returns", s.call.name()),
                "packetdrill fails a script whose blocking call is still running at its end: \
                 let the run go on until the call returns",
            ));
        }
    }
    Ok(items)
}

/// Consecutive segments sent at once, in sequence, as one `>` line: what
/// packetdrill sniffs before GSO segmentation (and what `tcpsim
/// packetdrill` merges back).
fn coalesce(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        if let (Some(Item::Out(t0, prev)), Item::Out(t, seg)) = (out.last_mut(), item) {
            let others = |s: &Segment| s.flags.0 & !(model::Flags::PSH.0 | model::Flags::FIN.0);
            let joins = *t0 == t
                && seg.len > 0
                && prev.len > 0
                && !prev.flags.fin()
                && seg.seq == prev.seq + prev.len
                && others(&seg) == others(prev);
            if joins {
                prev.len += seg.len;
                prev.flags = prev.flags | seg.flags;
                prev.ack = seg.ack;
                prev.wnd = seg.wnd;
                continue;
            }
        }
        out.push(item);
    }
    out
}

/// The one connection's numbers: both ISNs (sequence numbers are written
/// relative to them), whether timestamps were agreed, the peer's window shift.
#[derive(Clone, Copy, Debug, Default)]
struct Conn {
    local_isn: u32,
    peer_isn: u32,
    ts: bool,
    peer_shift: u8,
    /// The window shift our SYN offers.
    local_shift: u8,
}

impl Conn {
    fn of(
        spec: &WorldSpec,
        h: HostId,
        entries: &[Entry],
        items: &[Item],
    ) -> Result<Conn, Unexportable> {
        let segs = || {
            items.iter().filter_map(|i| match i {
                Item::In(_, s) => Some((false, *s)),
                Item::Out(_, s) => Some((true, *s)),
                Item::Sys(_) => None,
            })
        };
        one_connection(spec, h, segs())?;
        // The peer's SYN as it sent it: it may never have reached the Linux side.
        let peer_syn = entries.iter().find_map(|e| match e.what {
            What::Send { seg } if seg.flags.syn() && seg.dst.host == h => Some(seg),
            _ => None,
        });
        let local_syn = segs()
            .find(|(out, s)| *out && s.flags.syn())
            .map(|(_, s)| s);
        let wnd_max = segs()
            .filter(|(out, s)| !out && !s.flags.syn())
            .map(|(_, s)| s.wnd)
            .max()
            .unwrap_or(0);
        let peer_shift = (0..14u8).find(|s| wnd_max >> s <= 0xffff).unwrap_or(14);
        Ok(Conn {
            local_shift: local_shift(&spec.hosts[h as usize].personality.knobs, items),
            local_isn: local_syn.map_or(0, |s| s.seq.0),
            peer_isn: peer_syn.map_or(0, |s| s.seq.0),
            ts: local_syn.is_some_and(|s| s.opts.ts()) && peer_syn.is_some_and(|s| s.opts.ts()),
            peer_shift,
        })
    }
}

/// The window shift Linux's SYN offers: from `tcp_rmem`'s maximum (the
/// host's `tcp_rmem_max_bytes`, the model's own rule), or, once
/// SO_RCVBUF has locked the buffer, from the window it allows
/// (`tcp_select_initial_window`: ilog2 of the space less 15; the space of a
/// locked buffer of N is its doubled size at the default half scaling ratio,
/// about N).
fn local_shift(k: &Knobs, items: &[Item]) -> u8 {
    let max = k.tcp_rmem_max_bytes.value.max(1);
    let mut shift = (max.ilog2().saturating_sub(15)).min(14) as u8;
    for item in items {
        match item {
            Item::Sys(Sys {
                call: Call::RcvBuf { bytes, .. },
                ..
            }) => shift = (bytes.max(&1).ilog2().saturating_sub(15)).min(14) as u8,
            Item::Out(_, s) if s.flags.syn() => break,
            _ => {}
        }
    }
    shift
}

/// Every segment belongs to one 4-tuple and each side opens it once: a
/// packetdrill script has one connection.
fn one_connection(
    spec: &WorldSpec,
    h: HostId,
    segs: impl Iterator<Item = (bool, Segment)>,
) -> Result<(), Unexportable> {
    let host = &spec.hosts[h as usize].name;
    let name = |id: HostId| spec.hosts[id as usize].name.clone();
    let mut tuple = None;
    let mut syns: [Option<u32>; 2] = [None, None];
    for (out, s) in segs {
        let (local, remote) = if out { (s.src, s.dst) } else { (s.dst, s.src) };
        let t = (local.port, remote.host, remote.port);
        if *tuple.get_or_insert(t) != t {
            let (p, r, rp) = tuple.expect("set");
            return Err(no(
                format!(
                    "host {host} has more than one connection (port {p} with {}:{rp}, \
                     port {} with {}:{})",
                    name(r),
                    t.0,
                    name(t.1),
                    t.2
                ),
                "a packetdrill script has one connection: export a scenario with one",
            ));
        }
        if s.flags.syn() {
            let seen = &mut syns[out as usize];
            if seen.is_some_and(|isn| isn != s.seq.0) {
                let who = if out { host.clone() } else { name(remote.host) };
                return Err(no(
                    format!("{who} opens a second connection to the same port (a new SYN)"),
                    "a packetdrill script has one connection: export a scenario with one",
                ));
            }
            *seen = Some(s.seq.0);
        }
    }
    Ok(())
}

/// Writes the lines, keeping the time of the last and the TS values.
struct Writer {
    out: String,
    conn: Conn,
    last_us: Option<u64>,
    /// The TS val of the last `>` and `<` line (what each side echoes).
    out_ts: u64,
    in_ts: u64,
}

/// Seconds as packetdrill reads them: `0`, `1.5`, `0.000123`.
fn secs(us: u64) -> String {
    let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Writer {
    fn new(conn: Conn) -> Writer {
        Writer {
            out: String::new(),
            conn,
            last_us: None,
            out_ts: 0,
            in_ts: 0,
        }
    }

    /// The line's time: absolute for the first, then relative to the
    /// previous; with the value written (seconds as usecs).
    fn when(&mut self, t_us: u64) -> (String, u64) {
        // packetdrill wants the first event at 0: the script starts there.
        let (text, value) = match self.last_us {
            None => ("0".to_string(), 0),
            Some(prev) => (format!("+{}", secs(t_us - prev)), t_us - prev),
        };
        self.last_us = Some(t_us);
        (text, value)
    }

    fn line(&mut self, time: &str, body: &str) {
        let _ = writeln!(self.out, "{time:>9} {body}");
    }

    fn item(&mut self, item: &Item) -> Result<(), Unexportable> {
        match *item {
            Item::Sys(s) => {
                let body = syscall(&s.call, s.result)?;
                let (start, value) = self.when(s.t_us);
                let time = match s.end_us {
                    // END counts from the anchor START does: START's value plus the wait.
                    Some(end) => format!("{start}...{}", secs(value + end - s.t_us)),
                    None => start,
                };
                self.line(&time, &body);
            }
            Item::In(t, seg) => {
                let (time, _) = self.when(t);
                let body = self.inbound(t, &seg);
                self.line(&time, &body);
            }
            Item::Out(t, seg) => {
                let (time, _) = self.when(t);
                let body = self.outbound(t, &seg);
                self.line(&time, &body);
            }
        }
        Ok(())
    }

    /// `< FLAGS start:end(len) [ack A] win W [<options>]`, numbers relative.
    fn inbound(&mut self, t_us: u64, s: &Segment) -> String {
        let c = self.conn;
        let mut o = head('<', s, c.peer_isn, c.local_isn);
        let win = if s.flags.syn() {
            s.wnd.min(0xffff)
        } else {
            s.wnd >> c.peer_shift
        };
        let _ = write!(o, " win {win}");
        let val = IN_TS_BASE + t_us / 1000;
        let ecr = if s.flags.syn() && !s.flags.ack() {
            0
        } else {
            self.out_ts
        };
        let ts = format!("TS val {val} ecr {ecr}");
        if s.flags.syn() {
            let mss = (s.mss != 0).then(|| format!("mss {},", s.mss));
            let ts = s.opts.ts().then(|| format!("nop,nop,{ts},"));
            // wscale only if the peer offered it (RFC 7323 §2.2): a SYN without it
            // keeps both directions unscaled, and Linux rounds its window as such.
            let ws = s.opts.ws().then(|| format!("nop,wscale {}", c.peer_shift));
            let opts = format!(
                "{}{}{}",
                mss.unwrap_or_default(),
                ts.unwrap_or_default(),
                ws.unwrap_or_default()
            );
            let _ = write!(o, " <{}>", opts.trim_end_matches(','));
        } else if c.ts && !s.flags.rst() {
            let _ = write!(o, " <nop,nop,{ts}>");
        }
        if s.opts.ts() || (c.ts && !s.flags.rst()) {
            self.in_ts = val;
        }
        o
    }

    /// `> FLAGS start:end(len) [ack A] [<options>]`: no `win` (a kernel's
    /// window follows its buffer autotuning, which the model does not have).
    fn outbound(&mut self, t_us: u64, s: &Segment) -> String {
        let c = self.conn;
        let mut o = head('>', s, c.local_isn, c.peer_isn);
        let val = OUT_TS_BASE + t_us / 1000;
        let ecr = if s.flags.syn() && !s.flags.ack() {
            0
        } else {
            self.in_ts
        };
        let ts = format!("TS val {val} ecr {ecr}");
        if s.flags.syn() {
            // tcp_options_write: SACK-permitted shares TS's word when both are
            // on, else takes its own; our SYN offers SACK, our SYN-ACK agrees
            // only if the peer offered it (it does not).
            let sack = !s.flags.ack();
            let mss = (s.mss != 0).then(|| format!("mss {},", s.mss));
            let opts = match (sack, s.opts.ts()) {
                (true, true) => format!("sackOK,{ts},"),
                (true, false) => "nop,nop,sackOK,".into(),
                (false, true) => format!("nop,nop,{ts},"),
                (false, false) => String::new(),
            };
            // Linux's SYN offers wscale; its SYN-ACK only if the peer's SYN did.
            let ws = s.opts.ws().then(|| format!("nop,wscale {}", c.local_shift));
            let opts = format!(
                "{}{opts}{}",
                mss.unwrap_or_default(),
                ws.unwrap_or_default()
            );
            let _ = write!(o, " <{}>", opts.trim_end_matches(','));
        } else if c.ts && s.flags.rst() {
            // A reset from a socket carries timestamps (tcp_send_active_reset),
            // one for a segment no socket takes does not (tcp_v4_send_reset).
            o.push_str(" <...>");
        } else if c.ts {
            let _ = write!(o, " <nop,nop,{ts}>");
        }
        if s.opts.ts() || (c.ts && !s.flags.rst()) {
            self.out_ts = val;
        }
        o
    }
}

#[cfg(test)]
fn parse_secs(text: &str) -> u64 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<6}");
    whole.parse::<u64>().unwrap_or(0) * 1_000_000 + frac[..6].parse::<u64>().unwrap_or(0)
}

/// `= RET` or `= -1 ERRNO (text)`, as strace and packetdrill write it.
fn returns(result: CallResult) -> String {
    match result {
        Ok(n) => n.to_string(),
        Err(e) => format!("-1 {} ({})", e.name(), e.linux().1),
    }
}

/// `DIR FLAGS start:end(len) [ack A]`: seq relative to the sender's ISN
/// (`from_isn`), ack to the receiver's (`to_isn`), as packetdrill numbers them.
fn head(dir: char, s: &Segment, from_isn: u32, to_isn: u32) -> String {
    let start = s.seq.0.wrapping_sub(from_isn);
    let end = start.wrapping_add(s.len);
    let mut o = format!("{dir} {} {start}:{end}({})", s.flags, s.len);
    if s.flags.ack() {
        let _ = write!(o, " ack {}", s.ack.0.wrapping_sub(to_isn));
    }
    o
}

/// One system call as packetdrill writes it, with its result.
fn syscall(call: &Call<Fds>, result: CallResult) -> Result<String, Unexportable> {
    let r = returns(result);
    let text = match *call {
        Call::Socket { .. } => format!("socket(..., SOCK_STREAM, IPPROTO_TCP) = {r}"),
        Call::Bind { sock, .. } => format!("bind({sock}, ..., ...) = {r}"),
        Call::Listen { sock, backlog, .. } => format!("listen({sock}, {backlog}) = {r}"),
        Call::Accept { sock, .. } => format!("accept({sock}, ..., ...) = {r}"),
        Call::Connect { sock, .. } => format!("connect({sock}, ..., ...) = {r}"),
        Call::Write {
            sock,
            bytes,
            more,
            timeout: None,
        } if bytes <= WRITE_BYTES_MAX => match more {
            true => format!("send({sock}, ..., {bytes}, MSG_MORE) = {r}"),
            false => format!("write({sock}, ..., {bytes}) = {r}"),
        },
        Call::Read {
            sock,
            len: ReadLen::Bytes(n),
            timeout: None,
        } => format!("read({sock}, ..., {n}) = {r}"),
        Call::Peek { sock, len } => format!("recv({sock}, ..., {len}, MSG_PEEK) = {r}"),
        Call::Shutdown { sock, how } => format!("shutdown({sock}, {}) = {r}", how.constant()),
        Call::Close { sock } => format!("close({sock}) = {r}"),
        Call::ReuseAddr { sock, on } => format!(
            "setsockopt({sock}, SOL_SOCKET, SO_REUSEADDR, [{}], 4) = {r}",
            on as u8
        ),
        Call::Linger { sock, linger } => format!(
            "setsockopt({sock}, SOL_SOCKET, SO_LINGER, {{onoff={}, linger={}}}, 8) = {r}",
            linger.is_some() as u8,
            linger.unwrap_or(0)
        ),
        Call::Nonblocking { sock, on } => {
            let flags = if on { "O_RDWR|O_NONBLOCK" } else { "O_RDWR" };
            format!("fcntl({sock}, F_SETFL, {flags}) = {r}")
        }
        Call::NoDelay { sock, on } => format!(
            "setsockopt({sock}, IPPROTO_TCP, TCP_NODELAY, [{}], 4) = {r}",
            on as u8
        ),
        Call::Cork { sock, on } => format!(
            "setsockopt({sock}, IPPROTO_TCP, TCP_CORK, [{}], 4) = {r}",
            on as u8
        ),
        Call::Keepalive { sock, on } => format!(
            "setsockopt({sock}, SOL_SOCKET, SO_KEEPALIVE, [{}], 4) = {r}",
            on as u8
        ),
        Call::RcvBuf { sock, bytes } => {
            format!("setsockopt({sock}, SOL_SOCKET, SO_RCVBUF, [{bytes}], 4) = {r}")
        }
        Call::SndBuf { sock, bytes } => {
            format!("setsockopt({sock}, SOL_SOCKET, SO_SNDBUF, [{bytes}], 4) = {r}")
        }
        Call::Getsockopt { sock, opt } => return getsockopt(sock, opt, result),
        other => return Err(not_a_script_call(&other)),
    };
    Ok(text)
}

/// getsockopt returns 0 and the value in its buffer (`run_system_call.c`
/// `syscall_getsockopt` compares it); SO_ERROR's value is the pending
/// error, which the model gives as the step's result.
fn getsockopt(sock: u32, opt: SockOpt, result: CallResult) -> Result<String, Unexportable> {
    let value = match result {
        Ok(n) => n.to_string(),
        Err(e) if opt == SockOpt::SoError => e.name().to_string(),
        Err(_) => return Ok(format!("getsockopt({sock}, ...) = {}", returns(result))),
    };
    let text = match opt {
        SockOpt::SoError => format!("getsockopt({sock}, SOL_SOCKET, SO_ERROR, [{value}], [4]) = 0"),
        SockOpt::Linger2 => format!("getsockopt({sock}, SOL_TCP, TCP_LINGER2, [{value}], [4]) = 0"),
        SockOpt::InQ => format!("ioctl({sock}, FIONREAD, [{value}]) = 0"),
        SockOpt::RcvBuf => format!("getsockopt({sock}, SOL_SOCKET, SO_RCVBUF, [{value}], [4]) = 0"),
        SockOpt::SndBuf => format!("getsockopt({sock}, SOL_SOCKET, SO_SNDBUF, [{value}], [4]) = 0"),
        SockOpt::OutQ | SockOpt::OutQNsd | SockOpt::LingerOnOff | SockOpt::LingerTime => {
            return Err(no(
                format!("getsockopt {}", opt.word()),
                "packetdrill's Linux symbols have no SIOCOUTQ/SIOCOUTQNSD, and `tcpsim \
                 packetdrill` reads no SO_LINGER back: export a scenario without it",
            ))
        }
        SockOpt::TcpState => {
            return Err(no(
                "getsockopt TCP_INFO.tcpi_state",
                "packetdrill reads tcp_info only in a %{ python }% block, which the export does \
                 not write: export a scenario without it",
            ))
        }
    };
    Ok(text)
}

fn not_a_script_call(call: &Call<Fds>) -> Unexportable {
    let (what, hint) = match call {
        Call::Write { bytes, .. } if *bytes > WRITE_BYTES_MAX => (
            format!("write of {bytes} bytes"),
            format!(
                "packetdrill allocates the call's buffer: write at most {WRITE_BYTES_MAX} bytes"
            ),
        ),
        Call::Write { .. } | Call::Read { .. } => (
            format!("{} with timeout=", call.name()),
            "the timeout is SO_RCVTIMEO/SO_SNDTIMEO, which `tcpsim packetdrill` cannot set: \
             export a scenario without it"
                .to_string(),
        ),
        _ => (
            format!("the call `{}`", call.name()),
            "the export writes socket, bind, listen, accept, connect, read, write, shutdown, \
             close, SO_LINGER, O_NONBLOCK, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, SO_ERROR, \
             TCP_LINGER2 and FIONREAD"
                .to_string(),
        ),
    };
    no(what, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_back_as_written() {
        assert_eq!(secs(0), "0");
        assert_eq!(secs(1_500_000), "1.5");
        assert_eq!(secs(123), "0.000123");
        for us in [0, 1, 999_999, 1_000_000, 42_000_123] {
            assert_eq!(parse_secs(&secs(us)), us);
        }
    }

    #[test]
    fn results_are_written_with_linux_errno_text() {
        assert_eq!(returns(Ok(4)), "4");
        assert_eq!(returns(Err(model::Errno::EPIPE)), "-1 EPIPE (Broken pipe)");
    }
}
