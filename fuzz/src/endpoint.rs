//! The TCP endpoint fed anything: two model hosts wired by hand, the input
//! choosing each action. Segments each sends wait in a queue; the input
//! delivers, drops, duplicates or rewrites them (any flags, seq/ack anywhere
//! in the 32-bit space or near the live edges, any length, window and
//! options), injects segments of its own, makes socket calls on either
//! host, and lets time pass (timers firing between). Real exchanges bring
//! the connection into every state; the rewrites then hit each state with
//! everything. After each action every socket's invariants must hold.

use arbitrary::{Arbitrary, Unstructured};
use model::{
    Call, Duration, Fd, Flags, Host, HostConfig, HostId, How, Instant, Output, Personality,
    ReadLen, Segment, Seq, SynOpts, SysCall,
};
use std::sync::Arc;

/// Actions per input, at most.
const ACTIONS_MAX: usize = 400;
/// Segments waiting per direction, at most (the oldest go first).
const QUEUE_MAX: usize = 64;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Number {
    /// Relative to the live edge the receiver expects (its RCV.NXT or SND.UNA).
    Near(i16),
    /// Anywhere in the 32-bit space.
    Any(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Rewrite {
    flags: Option<u8>,
    seq: Option<Number>,
    ack: Option<Number>,
    len: Option<u32>,
    wnd: Option<u32>,
    mss: Option<u16>,
    opts: Option<u8>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Action {
    Deliver {
        to_b: bool,
    },
    Drop {
        to_b: bool,
    },
    Duplicate {
        to_b: bool,
    },
    Rewrite {
        to_b: bool,
        how: Rewrite,
    },
    /// A segment from nowhere for a connection of the receiver's (or not).
    Inject {
        to_b: bool,
        how: Rewrite,
        other_port: bool,
    },
    Call {
        on_b: bool,
        proc: bool,
        call: CallPick,
    },
    /// Time passes: nanoseconds, milliseconds, or hours.
    Wait {
        amount: u32,
        unit: u8,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum CallPick {
    Socket,
    Bind(u16),
    Listen(u8),
    Accept(u8),
    Connect(u8),
    Write(u8, u64),
    Read(u8, u32),
    Shutdown(u8, u8),
    Close(u8),
    Linger(u8, Option<u8>),
    Nonblocking(u8, bool),
    Keepalive(u8, bool),
    RcvBuf(u8, u32),
    SndBuf(u8, u32),
    Dup(u8),
    NoDelay(u8, bool),
    Cork(u8, bool),
    WriteMore(u8, u64),
}

/// Two hosts (A is 0, B is 1), two processes each, the segments in flight.
pub struct Pair {
    hosts: [Host; 2],
    pids: [[model::Pid; 2]; 2],
    queues: [Vec<Segment>; 2],
    now: Instant,
    out: Output,
}

impl Pair {
    fn new(personality: &str, isn: Option<u32>) -> Pair {
        let p = Arc::new(Personality::builtin(personality).expect("built-in"));
        let host = |id: HostId| {
            let cfg = HostConfig {
                id,
                mss: 1460,
                isn_key: 0x5eed ^ u64::from(id),
                isn_fixed: isn,
                ephemeral_first: 40_000,
            };
            Host::new(cfg, Arc::clone(&p))
        };
        let mut hosts = [host(0), host(1)];
        let pids = [0, 1].map(|h: usize| [hosts[h].spawn(), hosts[h].spawn()]);
        Pair {
            hosts,
            pids,
            queues: [Vec::new(), Vec::new()],
            now: Instant::ZERO,
            out: Output::default(),
        }
    }

    /// Moves what host `h` produced into the queue towards the other.
    fn collect(&mut self, h: usize) {
        let q = &mut self.queues[1 - h];
        q.extend(self.out.segments.drain(..));
        if q.len() > QUEUE_MAX {
            q.drain(..q.len() - QUEUE_MAX);
        }
        self.out.clear();
    }

    fn arrive(&mut self, h: usize, seg: Segment) {
        self.hosts[h].on_segment(self.now, &seg, &mut self.out);
        self.collect(h);
    }

    /// The descriptor a small number names in a process (its nth open one).
    fn fd(&self, h: usize, pid: model::Pid, n: u8) -> Fd {
        let fds = &self.hosts[h].procs[pid as usize].fds;
        let open: Vec<usize> = (0..fds.len()).filter(|&i| fds[i].is_some()).collect();
        match open.len() {
            0 => model::host::FD_FIRST + u32::from(n % 4),
            k => model::host::FD_FIRST + open[n as usize % k] as u32,
        }
    }

    fn call(&mut self, h: usize, proc: bool, pick: CallPick) {
        let pid = self.pids[h][usize::from(proc)];
        let p = &self.hosts[h].procs[pid as usize];
        if p.blocked.is_some() || p.exited {
            return;
        }
        let fd = |n| self.fd(h, pid, n);
        let call: SysCall = match pick {
            CallPick::Socket => Call::Socket { new: () },
            CallPick::Bind(port) => Call::Bind { sock: fd(0), port },
            CallPick::Listen(n) => Call::Listen {
                sock: fd(n),
                port: None,
                backlog: u32::from(n % 4),
            },
            CallPick::Accept(n) => Call::Accept {
                sock: fd(n),
                new: (),
            },
            CallPick::Connect(n) => Call::Connect {
                sock: fd(n),
                to: model::Dest {
                    host: (1 - h) as HostId,
                    port: [80, 81, 40_000][n as usize % 3],
                },
            },
            CallPick::Write(n, bytes) => Call::Write {
                sock: fd(n),
                bytes: bytes % (1 << 34),
                more: false,
                timeout: None,
            },
            CallPick::WriteMore(n, bytes) => Call::Write {
                sock: fd(n),
                bytes: bytes % (1 << 34),
                more: true,
                timeout: None,
            },
            CallPick::NoDelay(n, on) => Call::NoDelay { sock: fd(n), on },
            CallPick::Cork(n, on) => Call::Cork { sock: fd(n), on },
            CallPick::Read(n, len) => Call::Read {
                sock: fd(n),
                len: ReadLen::Bytes(u64::from(len)),
                timeout: None,
            },
            CallPick::Shutdown(n, how) => Call::Shutdown {
                sock: fd(n),
                how: [How::Rd, How::Wr, How::RdWr][how as usize % 3],
            },
            CallPick::Close(n) => Call::Close { sock: fd(n) },
            CallPick::Linger(n, l) => Call::Linger {
                sock: fd(n),
                linger: l.map(u32::from),
            },
            CallPick::Nonblocking(n, on) => Call::Nonblocking { sock: fd(n), on },
            CallPick::Keepalive(n, on) => Call::Keepalive { sock: fd(n), on },
            CallPick::RcvBuf(n, bytes) => Call::RcvBuf { sock: fd(n), bytes },
            CallPick::SndBuf(n, bytes) => Call::SndBuf { sock: fd(n), bytes },
            CallPick::Dup(n) => Call::Dup {
                sock: fd(n),
                new: (),
            },
        };
        self.hosts[h].call(self.now, pid, call, &mut self.out);
        self.collect(h);
    }

    /// Time passes by `by`; every timer due fires at its deadline, in order.
    fn wait(&mut self, by: Duration) {
        let until = self.now + by;
        for _ in 0..10_000 {
            let next = (0..2)
                .filter_map(|h| self.hosts[h].poll_at().map(|t| (t, h)))
                .min();
            match next {
                Some((at, h)) if at <= until => {
                    self.now = self.now.max(at);
                    self.hosts[h].on_timers(self.now, &mut self.out);
                    self.collect(h);
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    /// The live edge a segment's numbers are taken relative to: the
    /// receiver's RCV.NXT (for seq) and SND.UNA (for ack) on its first
    /// connected socket, or 0.
    fn edges(&self, h: usize) -> (Seq, Seq) {
        let s = self.hosts[h].sockets().map(|(_, s)| s).find(|s| {
            !matches!(
                s.state,
                model::State::Closed | model::State::Listen | model::State::SynSent
            )
        });
        s.map_or((Seq(0), Seq(0)), |s| {
            let t = &s.tcb;
            (t.rcv_seq(t.rcv_nxt), t.snd_seq(t.snd_una))
        })
    }

    fn rewrite(&self, to: usize, mut seg: Segment, how: Rewrite) -> Segment {
        let (rcv, una) = self.edges(to);
        let num = |n: Number, edge: Seq| match n {
            Number::Near(d) => Seq(edge.0.wrapping_add(d as i32 as u32)),
            Number::Any(x) => Seq(x),
        };
        if let Some(f) = how.flags {
            seg.flags = Flags(f);
        }
        if let Some(n) = how.seq {
            seg.seq = num(n, rcv);
        }
        if let Some(n) = how.ack {
            seg.ack = num(n, una);
        }
        seg.len = how.len.map_or(seg.len, |l| l % 200_000);
        seg.wnd = how.wnd.map_or(seg.wnd, |w| w % (1 << 30));
        seg.mss = how.mss.unwrap_or(seg.mss);
        seg.opts = how.opts.map_or(seg.opts, SynOpts);
        seg
    }

    fn act(&mut self, a: Action) {
        let q = |to_b: bool| usize::from(to_b);
        match a {
            Action::Deliver { to_b } | Action::Duplicate { to_b } => {
                let h = q(to_b);
                if self.queues[h].is_empty() {
                    return;
                }
                let seg = self.queues[h][0];
                if matches!(a, Action::Deliver { .. }) {
                    self.queues[h].remove(0);
                }
                self.arrive(h, seg);
            }
            Action::Drop { to_b } => {
                let h = q(to_b);
                if !self.queues[h].is_empty() {
                    self.queues[h].remove(0);
                }
            }
            Action::Rewrite { to_b, how } => {
                let h = q(to_b);
                if self.queues[h].is_empty() {
                    return;
                }
                let seg = self.queues[h].remove(0);
                let seg = self.rewrite(h, seg, how);
                self.arrive(h, seg);
            }
            Action::Inject {
                to_b,
                how,
                other_port,
            } => {
                let h = q(to_b);
                let seg = self.forged(h, other_port);
                let seg = self.rewrite(h, seg, how);
                self.arrive(h, seg);
            }
            Action::Call { on_b, proc, call } => self.call(q(on_b), proc, call),
            Action::Wait { amount, unit } => {
                let ns = match unit % 3 {
                    0 => u64::from(amount),
                    1 => u64::from(amount) * 1_000_000,
                    _ => u64::from(amount % 10_000) * 3_600_000_000_000,
                };
                self.wait(Duration::from_ns(ns));
            }
        }
    }

    /// A segment to host `h` as if from the peer of its first socket.
    fn forged(&self, h: usize, other_port: bool) -> Segment {
        let s = self.hosts[h].sockets().map(|(_, s)| s).next();
        let (dst, mut src) = s.map_or(
            (
                model::Addr {
                    host: h as HostId,
                    port: 80,
                },
                model::Addr {
                    host: (1 - h) as HostId,
                    port: 40_000,
                },
            ),
            |s| (s.local, s.remote),
        );
        if other_port || src.port == 0 {
            src = model::Addr {
                host: (1 - h) as HostId,
                port: 40_001,
            };
        }
        Segment {
            src,
            dst,
            seq: Seq(0),
            ack: Seq(0),
            flags: Flags(0),
            wnd: 65_535,
            len: 0,
            mss: 0,
            opts: SynOpts::default(),
        }
    }

    /// Every socket's invariants, and each event the model reported well formed.
    fn check(&self) {
        for (i, h) in self.hosts.iter().enumerate() {
            if let Some(m) = h.invariant_violation() {
                panic!("host {i} at {} ns: {m}", self.now.as_ns());
            }
        }
    }
}

/// Runs one input: a personality, fixed ISNs or not, then the actions.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(p) = u.choose(Personality::BUILTIN) else {
        return;
    };
    let isn = match u.int_in_range(0..=2u8) {
        Ok(0) => Some(u32::MAX - 100),
        Ok(1) => Some(1 << 31),
        _ => None,
    };
    let mut pair = Pair::new(p, isn);
    for _ in 0..ACTIONS_MAX {
        let Ok(a) = Action::arbitrary(&mut u) else {
            break;
        };
        pair.act(a);
        pair.check();
    }
}
