//! `--to-scenario --peer tcp`: the script's remote peer as a second TCP
//! host, its process's calls derived from the script's `<` lines. Each line
//! is one of the shapes of [`RULES`] (the one table of packet shapes →
//! calls); what the peer's TCP sends by itself (ACKs, its SYN-ACK as a
//! listener, retransmissions) is implicit. Whether the peer's TCP then
//! sends what the script says is not assumed: `peer_check` runs the written
//! file and compares.

use super::parse::{Dir, Event, Packet, TcpOpt, Time, Usecs, What};
use super::report::Unsupported;
use super::run::{REMOTE_ISN, SCRIPT_PORT};
use super::scenario::ns;
use model::Personality;
use std::fmt::Write;

/// The peer's host, its process and its one connected socket, as the file names them.
pub const PEER: &str = "peer";
const SOCK: &str = "c";
/// What a read of the peer takes at once: everything there is.
const DRAIN_BYTES: u32 = 1 << 20;

/// What a `<` line is, to a TCP sending it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A SYN without ACK opening the connection.
    Syn,
    /// A SYN-ACK answering our SYN.
    SynAck,
    /// A SYN without ACK answering our SYN.
    SimultaneousOpen,
    /// A SYN or SYN-ACK later, or at another ISN than the first.
    SynLate,
    /// No SYN, FIN, RST or payload, at the next sequence number.
    Ack,
    /// Payload (no FIN) at the next sequence number.
    Data,
    /// A FIN (with or without payload) at the next sequence number.
    Fin,
    /// An RST at the next sequence number on an open socket.
    Rst,
    /// An RST where the peer has no socket: our SYN to a port nobody
    /// listens on, or a segment after its `close`.
    RstNoSocket,
    /// A sequence number left of the next one (not a SYN): a retransmission,
    /// a keepalive or a window probe.
    Old,
    /// A sequence number right of the next one: bytes skipped.
    Gap,
    /// Payload, or another FIN, after its own FIN.
    AfterFin,
    /// Anything else before a SYN: no connection to send it on.
    NoConnection,
}

/// What the peer's process does for a line of that shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derive {
    /// `connect c tested:8080` (with `nodelay`, then `nonblocking`).
    Connect,
    /// Nothing: the peer's TCP sends it by itself (or the check refuses).
    Implicit,
    /// `write c N`.
    Write,
    /// `write c N more` for its payload, then `shutdown c wr` when we still
    /// send data after it (or it resets the connection later), else `close c`.
    Fin,
    /// `linger c 0`, `close c`: an abortive close.
    Abort,
    /// Not something a TCP sends: refused with the rule's reason.
    Refuse,
}

pub struct Rule {
    pub shape: Shape,
    pub derive: Derive,
    /// Why, as the file's comments, the refusals and docs/packetdrill.md say it.
    pub why: &'static str,
}

/// The one table of packet shapes → the peer's calls.
pub const RULES: &[Rule] = &[
    Rule { shape: Shape::Syn, derive: Derive::Connect, why: "the peer opens: connect" },
    Rule { shape: Shape::SynAck, derive: Derive::Implicit, why: "the peer's listener answers our SYN by itself (it listens from the start)" },
    Rule { shape: Shape::SimultaneousOpen, derive: Derive::Refuse, why: "a SYN crossing ours (simultaneous open): a connect cannot time it, nor come from the port we connect to" },
    Rule { shape: Shape::SynLate, derive: Derive::Refuse, why: "a second SYN at another ISN or after the handshake: a TCP sends one SYN per connection" },
    Rule { shape: Shape::Ack, derive: Derive::Implicit, why: "an ACK: the peer's TCP sends its own" },
    Rule { shape: Shape::Data, derive: Derive::Write, why: "payload: a write of its length" },
    Rule { shape: Shape::Fin, derive: Derive::Fin, why: "a FIN: shutdown(SHUT_WR) when we still send data after it (or it sends an RST later), else close" },
    Rule { shape: Shape::Rst, derive: Derive::Abort, why: "an RST: close with SO_LINGER {1, 0}" },
    Rule { shape: Shape::RstNoSocket, derive: Derive::Implicit, why: "an RST where the peer has no socket: its TCP answers by itself" },
    Rule { shape: Shape::Old, derive: Derive::Implicit, why: "left of the next sequence number: a retransmission or probe, from the peer's own timers" },
    Rule { shape: Shape::Gap, derive: Derive::Refuse, why: "right of the next sequence number: a TCP sends its bytes in order, skipping none" },
    Rule { shape: Shape::AfterFin, derive: Derive::Refuse, why: "payload or a new FIN after its own FIN: a TCP sends nothing new after its FIN" },
    Rule { shape: Shape::NoConnection, derive: Derive::Refuse, why: "a segment before any SYN: a TCP sends nothing without a connection" },
];

pub fn rule(shape: Shape) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.shape == shape)
        .expect("every shape has a rule")
}

/// The peer as the script's `<` lines so far describe it.
pub struct PeerTcp {
    pub personality: Personality,
    /// Our SYN comes first.
    we_open: bool,
    /// The peer listens from the start: our SYN comes first and is answered by a `<` SYN-ACK.
    listens: bool,
    /// The peer's next sequence number (relative), once it sent a SYN.
    next: Option<u32>,
    /// The ISN of its SYN (relative), so a retransmitted SYN is known as one.
    syn_at: Option<u32>,
    fin_sent: bool,
    /// The socket is gone (closed or aborted).
    closed: bool,
    /// The last line on which we send payload (`>` with a length) or it
    /// sends an RST.
    socket_needed_until: usize,
    /// The MSS, timestamps and window-scale offer of its SYN, as host settings.
    mss: Option<u16>,
    ts: Option<bool>,
    wscale: Option<bool>,
    /// How long after our segment the script's peer answers in its
    /// handshake: the delay of the link to the peer, so that its TCP's own
    /// answers come when the script's do.
    pub delay_us: Usecs,
    /// When the peer reads next: as each of our payloads reaches it (the
    /// `>` line's time and place in its instant, after the step that sent it).
    reads: Vec<(Usecs, u64)>,
}

fn nope(line: usize, reason: impl Into<String>) -> Unsupported {
    Unsupported {
        line,
        reason: reason.into(),
    }
}

fn packet_of(e: &Event) -> Option<&Packet> {
    match &e.what {
        What::Packet(p) => Some(p),
        _ => None,
    }
}

impl PeerTcp {
    pub fn new(events: &[Event], personality: Personality) -> PeerTcp {
        let packets: Vec<&Packet> = events.iter().filter_map(packet_of).collect();
        let we_open = packets.first().is_some_and(|p| p.dir == Dir::Outbound);
        let answers = packets.iter().any(|p| {
            let f = super::packet::flags(p);
            p.dir == Dir::Inbound && f.syn() && f.ack()
        });
        // After its FIN the peer keeps its socket (shutdown, not close) while
        // we still send data or it still resets the connection.
        let socket_needed_until = events
            .iter()
            .filter(|e| {
                packet_of(e).is_some_and(|p| match p.dir {
                    Dir::Outbound => p.len > 0,
                    Dir::Inbound => super::packet::flags(p).rst(),
                })
            })
            .map(|e| e.line)
            .max()
            .unwrap_or(0);
        PeerTcp {
            personality,
            we_open,
            listens: we_open && answers,
            next: None,
            syn_at: None,
            fin_sent: false,
            closed: false,
            socket_needed_until,
            mss: None,
            ts: None,
            wscale: None,
            delay_us: handshake_delay(events),
            reads: Vec::new(),
        }
    }

    /// The shape of an inbound line, from the peer's state before it.
    fn shape(&self, p: &Packet) -> Shape {
        let f = super::packet::flags(p);
        let seq = p.seq.map(|(s, _)| s);
        if f.syn() {
            let again = self.syn_at.is_some() && self.syn_at == seq;
            return match (self.syn_at, f.ack()) {
                (None, false) if !self.we_open => Shape::Syn,
                (None, false) => Shape::SimultaneousOpen,
                (None, true) if self.listens => Shape::SynAck,
                (None, true) => Shape::NoConnection,
                _ if again => Shape::Old,
                _ => Shape::SynLate,
            };
        }
        let Some(next) = self.next else {
            return match f.rst() {
                true => Shape::RstNoSocket,
                false => Shape::NoConnection,
            };
        };
        if f.rst() && self.closed {
            return Shape::RstNoSocket;
        }
        let at = seq.unwrap_or(next);
        let new_bytes = p.len > 0 || f.fin();
        let end = at.wrapping_add(p.len + f.fin() as u32);
        match at.wrapping_sub(next) as i32 {
            // Old bytes with new ones after a FIN: new bytes after it.
            d if d < 0 && self.fin_sent && end.wrapping_sub(next) as i32 > 0 => Shape::AfterFin,
            d if d < 0 => Shape::Old,
            d if d > 0 => Shape::Gap,
            _ if self.fin_sent && new_bytes => Shape::AfterFin,
            _ if f.rst() => Shape::Rst,
            _ if f.fin() => Shape::Fin,
            _ if p.len > 0 => Shape::Data,
            _ => Shape::Ack,
        }
    }

    /// The peer's steps for inbound line `line` at `time` (a step's time
    /// text), each a step string, or the line refused with its rule.
    pub fn inbound(
        &mut self,
        line: usize,
        t: (Usecs, u64),
        p: &Packet,
    ) -> Result<Vec<String>, Unsupported> {
        let shape = self.shape(p);
        let r = rule(shape);
        let time = time_text(t);
        let step = |rest: &str| format!("{:?},", format!("{time} {PEER} {rest}"));
        let mut out = self.reads_until(t);
        out.push(format!("# line {line}: {} → {}", p.flags.trim(), r.why));
        match r.derive {
            Derive::Refuse => {
                return Err(nope(
                    line,
                    format!("the script's peer is not a plain TCP here: {}", r.why),
                ))
            }
            Derive::Implicit => {}
            Derive::Connect => {
                self.learn_syn(p);
                out.push(step(&format!("socket {SOCK}")));
                out.push(step(&format!("nodelay {SOCK}")));
                out.push(step(&format!("connect {SOCK} tested:{SCRIPT_PORT}")));
                out.push(format!("{:?},", format!("- {PEER} nonblocking {SOCK}")));
            }
            Derive::Write => out.push(step(&format!("write {SOCK} {}", p.len))),
            Derive::Fin => {
                out.push(step(&format!("read {SOCK} {DRAIN_BYTES}")));
                if p.len > 0 {
                    out.push(step(&format!("write {SOCK} {} more", p.len)));
                }
                if self.socket_needed_until > line {
                    out.push(step(&format!("shutdown {SOCK} wr")));
                } else {
                    out.push(step(&format!("close {SOCK}")));
                    self.closed = true;
                }
            }
            Derive::Abort => {
                out.push(step(&format!("linger {SOCK} 0")));
                out.push(step(&format!("close {SOCK}")));
                self.closed = true;
            }
        }
        if shape == Shape::SynAck {
            self.learn_syn(p);
        }
        self.advance(shape, p);
        Ok(out)
    }

    fn learn_syn(&mut self, p: &Packet) {
        self.syn_at = p.seq.map(|(s, _)| s).or(Some(0));
        if let Some(opts) = &p.opts {
            self.mss = opts.iter().find_map(|o| match o {
                TcpOpt::Mss(m) => Some(*m),
                _ => None,
            });
            self.ts = Some(opts.iter().any(|o| matches!(o, TcpOpt::Ts { .. })));
            self.wscale = Some(opts.iter().any(|o| matches!(o, TcpOpt::Wscale(_))));
        }
    }

    fn advance(&mut self, shape: Shape, p: &Packet) {
        match shape {
            Shape::Syn | Shape::SynAck => self.next = self.syn_at.map(|s| s.wrapping_add(1)),
            Shape::Data | Shape::Fin => {
                let fin = super::packet::flags(p).fin() as u32;
                self.next = self.next.map(|n| n.wrapping_add(p.len + fin));
                self.fin_sent |= fin == 1;
            }
            _ => {}
        }
    }

    /// An outbound line with payload: the peer reads what there is once it
    /// has arrived, as an application that keeps up (its window stays open).
    pub fn outbound(&mut self, (t_us, order_ns): (Usecs, u64), p: &Packet) {
        let open = self.syn_at.is_some() && !self.closed;
        if p.len > 0 && open && !super::packet::flags(p).syn() {
            self.reads.push((t_us + self.delay_us, order_ns));
        }
    }

    /// The reads due by `t`, before the peer's steps then (its steps stay
    /// in time order: a later read waits for a later step or the end).
    pub fn reads_until(&mut self, t: (Usecs, u64)) -> Vec<String> {
        let due = self.reads.iter().take_while(|r| **r <= t).count();
        let open = !self.closed;
        self.reads
            .drain(..due)
            .filter(|_| open)
            .map(|r| {
                format!(
                    "{:?},",
                    format!("{} {PEER} read {SOCK} {DRAIN_BYTES}", time_text(r))
                )
            })
            .collect()
    }

    /// The `[network]` section: no delay, but on the link to the peer when
    /// the script's peer answers late.
    pub fn network_section(&self) -> String {
        let mut s = "[network]\ndelay = \"0\"\n".to_string();
        if self.delay_us > 0 {
            let _ = write!(
                s,
                "\n# The script's peer answers our SYN{} {d} later: the delay to the peer.\n\
                 [network.links.\"tested->{PEER}\"]\ndelay = \"{d}\"\n",
                if self.listens { "" } else { "-ACK" },
                d = time_text((self.delay_us, 0)),
            );
        }
        s
    }

    /// The steps the file starts with: a listening peer's listen and accept.
    pub fn first_steps(&self) -> Vec<String> {
        if !self.listens {
            return Vec::new();
        }
        [
            format!("0 {PEER} listen l {SCRIPT_PORT}"),
            format!("0 {PEER} accept l as {SOCK}"),
            format!("- {PEER} nodelay {SOCK}"),
            format!("- {PEER} nonblocking {SOCK}"),
        ]
        .iter()
        .map(|s| format!("{s:?},"))
        .collect()
    }

    /// The `[hosts.peer]` section: its personality and what its SYN said.
    pub fn host_section(&self) -> String {
        let name = &self.personality.name;
        let mut s = format!(
            "[hosts.{PEER}]\n# The script's remote peer as a TCP host (`--peer tcp`), running {name}\n\
             # (`--peer-personality`; by default the tested personality).\npersonality = {name:?}\n"
        );
        let isn = REMOTE_ISN.wrapping_add(self.syn_at.unwrap_or(0));
        let _ = writeln!(s, "isn = {isn}");
        // The MTU a host may have (docs/limits.md); else the TCP's own MSS.
        let mtu = self
            .mss
            .map(|m| u32::from(m) + 40)
            .filter(|m| (68..=65536).contains(m));
        if let (Some(mtu), Some(mss)) = (mtu, self.mss) {
            let _ = writeln!(s, "mtu = {mtu}  # its SYN's mss {mss}");
        }
        let knobs: Vec<String> = [
            ("tcp_timestamps", self.ts),
            ("tcp_window_scaling", self.wscale),
        ]
        .iter()
        .filter_map(|(k, v)| {
            let v = (*v)?;
            let was = self.personality.knobs.get(k)?.0;
            (was != v.to_string()).then(|| format!("{k} = {v}"))
        })
        .collect();
        if !knobs.is_empty() {
            let _ = writeln!(
                s,
                "set = {{ {} }}  # as its SYN's options say",
                knobs.join(", ")
            );
        }
        s
    }
}

fn time_text(t: (Usecs, u64)) -> String {
    scenario::units::format_duration(ns(t))
}

/// How long the script's peer takes to answer in the handshake: from our
/// SYN to its SYN-ACK, or from our SYN-ACK to its next segment; 0 when the
/// script's times do not say (a window, `*`).
fn handshake_delay(events: &[Event]) -> Usecs {
    let mut now = 0;
    let mut ours: Option<Usecs> = None;
    for e in events {
        now = match e.time {
            Time::Abs(t) => t,
            Time::Rel(t) => now + t,
            _ => return 0,
        };
        let Some(p) = packet_of(e) else { continue };
        let syn = super::packet::flags(p).syn();
        match (p.dir, ours) {
            (Dir::Outbound, None) if syn => ours = Some(now),
            (Dir::Inbound, Some(at)) => return (now - at).max(0),
            _ => {}
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_has_one_rule() {
        for r in RULES {
            let same = RULES.iter().filter(|o| o.shape == r.shape).count();
            assert_eq!(
                same, 1,
                "{:?} has {same} rules: the later ones are never used",
                r.shape
            );
        }
    }
}
