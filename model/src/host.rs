//! One host's TCP: its sockets, processes and descriptor tables, segment
//! demultiplexing, the listener's part of SEGMENT ARRIVES, and the entry
//! points the world drives (`call`, `on_segment`, `on_timers`, `poll_at`).
//!
//! Every entry point takes the current time and fills an [`Output`]; after
//! each, calls blocked in virtual time are retried (`wake_blocked`).

use crate::event::{Conn, Event, Output, Pid, RstCause};
use crate::input::{Arrival, ListenerRoom};
use crate::personality::{AcceptQueueLimit, ListenOverflow, Personality, RstAfterReset};
use crate::segment::{Addr, HostId, Segment};
use crate::seq::Seq;
use crate::socket::{rst_reply, Ctx, SockId, Socket, WndRule};
use crate::state::{Rule, State};
use crate::{Duration, Instant};
use smallvec::SmallVec;
use std::sync::Arc;

/// Descriptor number, as a program sees it.
pub type Fd = u32;

/// The descriptor a call names when its socket name has none (closed, or
/// never opened): no process has it, so the host says EBADF. Reports print
/// it as `-`.
pub const NO_FD: Fd = Fd::MAX;

/// The first descriptor number handed out (0–2 are stdio).
pub const FD_FIRST: Fd = 3;

/// A process's descriptor table and the call it is blocked in, if any. A
/// thread is a process of its own (it blocks on its own) whose descriptors
/// are those of the process it belongs to.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Process {
    /// Index `fd - FD_FIRST` (empty for a thread: see `thread_of`). Inline
    /// for a few descriptors, as a host's sockets and processes: a world's
    /// clone (the explorer's, per choice) allocates nothing for them.
    pub fds: SmallVec<[Option<SockId>; 4]>,
    /// The process whose descriptor table this thread shares.
    pub thread_of: Option<Pid>,
    pub blocked: Option<crate::blocking::Blocked>,
    pub exited: bool,
}

/// The largest MSS IPv4 allows: its 16-bit total length (65535, Linux
/// IPV4_MAX_PMTU) less 40 octets of headers. Linux ipv4_default_advmss()
/// takes the smaller of this and the MTU's: 65495 on a 65536-byte loopback.
pub const IPV4_MSS_MAX: u32 = 65_535 - 40;

/// Static facts about a host, fixed when the world is built.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct HostConfig {
    pub id: HostId,
    /// Our MSS, from the path MTU (at most [`IPV4_MSS_MAX`]).
    pub mss: u32,
    /// The path is a loopback interface (the world's network profile): it
    /// decides the receive buffer's share for data (`scaling_ratio_loopback`).
    pub loopback: bool,
    /// Key of the deterministic ISN function (from the world's seed).
    pub isn_key: u64,
    /// A fixed ISN for every connection (tests of wrap-around), instead of the function.
    pub isn_fixed: Option<u32>,
    /// First ephemeral port.
    pub ephemeral_first: u16,
    /// How long a process blocked in a call takes to run again after a
    /// segment made its call able to go on: the kernel's wake-up
    /// (`sk_data_ready`/`sk_write_space` → `try_to_wake_up`, then the
    /// scheduler) is a property of the host, not of its TCP. Zero: the
    /// process runs in the segment's instant. Segments that arrive in the
    /// meantime are queued before it runs, as on the kernel.
    pub wake_latency: Duration,
}

/// A host: sockets, processes, and the personality that governs them.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Host {
    pub cfg: HostConfig,
    pub personality: Arc<Personality>,
    pub socks: SmallVec<[Option<Socket>; 2]>,
    pub procs: SmallVec<[Process; 2]>,
    pub(crate) next_ephemeral: u16,
    pub(crate) connections_made: u32,
    /// Freed connections that were reset, oldest first, at most
    /// [`RESET_TUPLES_KEPT`] (for `rst_after_reset = silent`; empty otherwise).
    pub(crate) reset_tuples: Vec<Conn>,
    /// When the processes an arrival woke run (`HostConfig::wake_latency`
    /// after the first such arrival); `None`: no wake-up pending.
    pub(crate) wake_at: Option<Instant>,
}

/// How many reset 4-tuples a `rst_after_reset = silent` host remembers. The
/// learned models say nothing about how long Windows remembers one; a bound
/// keeps a long run's memory flat, and a tuple forgotten is answered again.
pub const RESET_TUPLES_KEPT: usize = 64;

impl Host {
    pub fn new(cfg: HostConfig, personality: Arc<Personality>) -> Host {
        Host {
            next_ephemeral: cfg.ephemeral_first,
            cfg,
            personality,
            socks: SmallVec::new(),
            procs: SmallVec::new(),
            connections_made: 0,
            reset_tuples: Vec::new(),
            wake_at: None,
        }
    }

    /// Makes this host what `Host::new(cfg, personality)` builds, in place
    /// and in its own buffers: a world run again from its spec
    /// (`World::renew`) allocates no host (and moves none: its sockets are
    /// inline). Every field is named, so a new one cannot be forgotten.
    pub fn renew(&mut self, cfg: HostConfig, personality: Arc<Personality>) {
        let Host {
            cfg: my_cfg,
            personality: my_personality,
            socks,
            procs,
            next_ephemeral,
            connections_made,
            reset_tuples,
            wake_at,
        } = self;
        *next_ephemeral = cfg.ephemeral_first;
        *my_cfg = cfg;
        *my_personality = personality;
        socks.clear();
        procs.clear();
        *connections_made = 0;
        reset_tuples.clear();
        *wake_at = None;
    }

    /// Starts a process with an empty descriptor table.
    pub fn spawn(&mut self) -> Pid {
        self.procs.push(Process::default());
        (self.procs.len() - 1) as Pid
    }

    /// Starts a thread of `owner`: it shares `owner`'s descriptor table.
    pub fn spawn_thread(&mut self, owner: Pid) -> Pid {
        let owner = self.table(owner) as Pid;
        self.procs.push(Process {
            thread_of: Some(owner),
            ..Process::default()
        });
        (self.procs.len() - 1) as Pid
    }

    /// The index of the process whose descriptor table `pid` uses.
    pub(crate) fn table(&self, pid: Pid) -> usize {
        self.procs[pid as usize].thread_of.unwrap_or(pid) as usize
    }

    /// `pid` and the threads sharing its table (`pid` is the owner).
    pub(crate) fn threads_of(&self, pid: Pid) -> Vec<Pid> {
        (0..self.procs.len() as Pid)
            .filter(|&q| self.procs[q as usize].thread_of == Some(pid))
            .collect()
    }

    pub fn sock(&self, sid: SockId) -> &Socket {
        self.socks[sid as usize].as_ref().expect("live socket")
    }

    pub(crate) fn sock_mut(&mut self, sid: SockId) -> &mut Socket {
        self.socks[sid as usize].as_mut().expect("live socket")
    }

    /// Live sockets, in slot order.
    pub fn sockets(&self) -> impl Iterator<Item = (SockId, &Socket)> {
        self.socks
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as SockId, s)))
    }

    pub(crate) fn alloc(&mut self, s: Socket) -> SockId {
        if let Some(i) = self.socks.iter().position(|s| s.is_none()) {
            self.socks[i] = Some(s);
            i as SockId
        } else {
            self.socks.push(Some(s));
            (self.socks.len() - 1) as SockId
        }
    }

    /// A new socket with this host's buffer sizes and MSS.
    pub(crate) fn new_socket(&self, local: Addr) -> Socket {
        let k = &self.personality.knobs;
        Socket::new(
            local,
            k.rcv_buf_bytes.value,
            k.snd_buf_bytes.value,
            WndRule::of(k, self.cfg.loopback),
            self.cfg.mss.min(IPV4_MSS_MAX),
        )
    }

    /// The initial sequence number for a new connection: a keyed mix of the
    /// four-tuple and a counter (RFC 6528's shape), or the fixed one.
    pub(crate) fn next_isn(&mut self, local: Addr, remote: Addr) -> Seq {
        self.connections_made += 1;
        if let Some(isn) = self.cfg.isn_fixed {
            return Seq(isn);
        }
        let tuple = (local.host as u64) << 48
            | (local.port as u64) << 32
            | (remote.host as u64) << 16
            | remote.port as u64;
        Seq(splitmix64(self.cfg.isn_key ^ tuple ^ ((self.connections_made as u64) << 56)) as u32)
    }

    /// Frees a socket once nothing refers to it and the connection is over. A
    /// child waiting in the accept queue is owed to accept() even once reset:
    /// Linux returns it as a dead socket (docs/sources.md#linux-obs-accept-reset-child).
    pub(crate) fn maybe_free(&mut self, sid: SockId) {
        let s = self.sock(sid);
        let queued = s.parent.is_some_and(|l| self.in_accept_queue(l, sid));
        let unreferenced =
            s.refs == 0 && (s.closed || (s.parent.is_some() && !queued)) && !self.lingering(sid);
        if s.state == State::Closed && unreferenced {
            assert!(
                s.next_deadline().is_none(),
                "freeing a socket with a timer still set"
            );
            let (parent, reset, conn) = (s.parent, s.reset, s.conn());
            if let Some(parent) = parent {
                self.unlink_child(parent, sid);
            }
            if reset && self.personality.knobs.rst_after_reset.value == RstAfterReset::Silent {
                if self.reset_tuples.len() == RESET_TUPLES_KEPT {
                    self.reset_tuples.remove(0);
                }
                self.reset_tuples.push(conn);
            }
            self.socks[sid as usize] = None;
        }
    }

    fn in_accept_queue(&self, listener: SockId, child: SockId) -> bool {
        self.socks[listener as usize]
            .as_ref()
            .and_then(|l| l.listener.as_ref())
            .is_some_and(|q| q.accept_q.contains(&child))
    }

    fn lingering(&self, sid: SockId) -> bool {
        self.procs
            .iter()
            .any(|p| matches!(p.blocked, Some(ref b) if b.sock == sid))
    }

    fn unlink_child(&mut self, parent: SockId, child: SockId) {
        if let Some(Some(l)) = self.socks.get_mut(parent as usize).map(|s| s.as_mut()) {
            if let Some(q) = l.listener.as_mut() {
                q.accept_q.retain(|c| *c != child);
                q.embryonic.retain(|c| *c != child);
            }
        }
    }

    /// Whether any process is blocked in a call.
    #[inline]
    pub fn has_blocked(&self) -> bool {
        self.procs.iter().any(|p| p.blocked.is_some())
    }

    /// The earliest time this host needs waking: socket timers and linger deadlines.
    pub fn poll_at(&self) -> Option<Instant> {
        let socks = self
            .socks
            .iter()
            .flatten()
            .filter_map(|s| s.next_deadline());
        let calls = self
            .procs
            .iter()
            .filter_map(|p| p.blocked.as_ref().and_then(|b| b.deadline));
        socks.chain(calls).chain(self.wake_at).min()
    }

    /// A segment arrives from the network.
    pub fn on_segment(&mut self, now: Instant, seg: &Segment, out: &mut Output) {
        self.on_segment_of_instant(now, seg, true, out);
    }

    /// A segment arrives, `last` of those reaching this host at this instant:
    /// blocked calls are retried after the last one only. The kernel's
    /// receive path queues every segment at hand (a softirq's batch, or a
    /// GSO skb) before the woken reader runs, and tcp_recvmsg_locked then
    /// copies every queued skb up to its length: a reader woken at the first
    /// of a burst would take one segment where the kernel's takes the burst
    /// (fuzz seed 1000 case 7, 1002/37; scenarios/kernel/cork-burst-read.toml).
    pub fn on_segment_of_instant(
        &mut self,
        now: Instant,
        seg: &Segment,
        last: bool,
        out: &mut Output,
    ) {
        self.segment_input(now, seg, out);
        if last {
            self.wake_after_arrival(now, out);
        }
    }

    /// The blocked calls after the last arrival of an instant: retried now,
    /// or, on a host with a `wake_latency`, once it has passed (`on_timers`).
    pub fn wake_after_arrival(&mut self, now: Instant, out: &mut Output) {
        if self.cfg.wake_latency.is_zero() {
            self.wake_blocked(now, out);
        } else if self.has_blocked() && self.wake_at.is_none() {
            self.wake_at = Some(now + self.cfg.wake_latency);
        }
    }

    fn segment_input(&mut self, now: Instant, seg: &Segment, out: &mut Output) {
        assert_eq!(
            seg.dst.host, self.cfg.id,
            "segment delivered to the wrong host"
        );
        let synfin = seg.flags.syn() && seg.flags.fin();
        if synfin && self.personality.knobs.drop_synfin.value {
            out.events.push(Event::SynDropped {
                conn: Conn {
                    local: seg.dst,
                    remote: seg.src,
                },
                reason: "SYN with FIN (drop_synfin)",
            });
            return;
        }
        let mut budget = 2; // a TIME-WAIT reopen hands the SYN on once
        while budget > 0 {
            budget -= 1;
            match self.demux(seg) {
                Some(sid) if self.sock(sid).state == State::Listen => {
                    self.listen_input(now, sid, seg, out);
                }
                Some(sid) => {
                    let room = self.listener_room(sid);
                    let personality = Arc::clone(&self.personality);
                    let mut ctx = Ctx {
                        p: &personality.knobs,
                        now,
                        out,
                    };
                    let arrival = self.sock_mut(sid).input(&mut ctx, seg, room);
                    let reopen = self.after_arrival(sid, arrival);
                    if reopen {
                        continue;
                    }
                }
                None => self.no_socket(seg, out),
            }
            break;
        }
    }

    /// Finds the connection for a segment, or the listener on its port.
    fn demux(&self, seg: &Segment) -> Option<SockId> {
        let mut listener = None;
        for (sid, s) in self.sockets() {
            if s.local.port != seg.dst.port {
                continue;
            }
            if s.state == State::Listen {
                listener = Some(sid);
            } else if s.state != State::Closed && s.remote == seg.src {
                return Some(sid);
            }
        }
        listener
    }

    fn listener_room(&self, sid: SockId) -> ListenerRoom {
        let s = self.sock(sid);
        let accept_full = match s.parent {
            Some(l) => self.accept_queue_full(l),
            None => false,
        };
        ListenerRoom { accept_full }
    }

    fn accept_queue_full(&self, listener: SockId) -> bool {
        let l = self.sock(listener).listener.as_ref().expect("listener");
        let limit = match self.personality.knobs.accept_queue_limit.value {
            AcceptQueueLimit::BacklogPlusOne => l.backlog + 1,
            AcceptQueueLimit::ThreeHalvesBacklog => (3 * l.backlog / 2).max(1),
            AcceptQueueLimit::ThreeHalvesBacklogPlusOne => 3 * l.backlog / 2 + 1,
            AcceptQueueLimit::Backlog => l.backlog.max(1),
        };
        l.accept_q.len() as u32 >= limit
    }

    /// Applies what a socket's input or timer asked of the host; true to re-demux (TIME-WAIT reopen).
    pub(crate) fn after_arrival(&mut self, sid: SockId, arrival: Arrival) -> bool {
        match arrival {
            Arrival::Done => false,
            Arrival::Established => {
                if let Some(parent) = self.sock(sid).parent {
                    let l = self.sock_mut(parent).listener.as_mut().expect("listener");
                    l.embryonic.retain(|c| *c != sid);
                    l.accept_q.push(sid);
                }
                false
            }
            Arrival::Closed => {
                self.maybe_free(sid);
                false
            }
            Arrival::Reopen => {
                // The TIME-WAIT connection is CLOSED now; free it if the app let it go.
                self.maybe_free(sid);
                true
            }
        }
    }

    /// Whether `seg`'s 4-tuple belongs to a connection that was reset and
    /// is gone, on a host that answers such a tuple no more (`rst_after_reset`).
    fn silent_after_reset(&self, seg: &Segment, out: &mut Output) -> bool {
        let new_connection = seg.flags.syn() && !seg.flags.ack();
        if new_connection || self.personality.knobs.rst_after_reset.value != RstAfterReset::Silent {
            return false;
        }
        let conn = Conn {
            local: seg.dst,
            remote: seg.src,
        };
        let closed_here = self
            .sockets()
            .any(|(_, s)| s.state == State::Closed && s.reset && s.conn() == conn);
        let silent = closed_here || self.reset_tuples.contains(&conn);
        if silent && !seg.flags.rst() {
            out.events.push(Event::Ignored {
                conn,
                reason: "connection already reset: no second RST (rst_after_reset = silent)",
            });
        }
        silent
    }

    /// RFC 9293 §3.10.7.1: no connection and no listener.
    fn no_socket(&mut self, seg: &Segment, out: &mut Output) {
        if self.silent_after_reset(seg, out) {
            return;
        }
        let cause = if seg.flags.syn() && !seg.flags.ack() {
            RstCause::ClosedPort
        } else {
            RstCause::NoConnection
        };
        refuse(seg, State::Closed, cause, out);
    }

    /// §3.10.7.2: a segment for a listener.
    fn listen_input(&mut self, now: Instant, lid: SockId, seg: &Segment, out: &mut Output) {
        let f = seg.flags;
        let conn = crate::event::Conn {
            local: seg.dst,
            remote: seg.src,
        };
        if f.rst() {
            return;
        }
        if f.ack() {
            if f.syn() && !self.personality.knobs.listener_rsts_synack.value {
                out.events.push(Event::Ignored {
                    conn,
                    reason: "SYN-ACK at a listener: dropped (listener_rsts_synack = false)",
                });
            } else if !self.silent_after_reset(seg, out) {
                refuse(seg, State::Listen, RstCause::NoConnection, out);
            }
            return;
        }
        if !f.syn() {
            return;
        }
        if self.accept_queue_full(lid) {
            match self.personality.knobs.listen_overflow.value {
                ListenOverflow::DropSyn => {
                    out.events.push(Event::SynDropped {
                        conn,
                        reason: "accept queue full",
                    });
                    return;
                }
                ListenOverflow::RstSyn => {
                    refuse(seg, State::Listen, RstCause::ListenOverflow, out);
                    return;
                }
                // The handshake completes; the child is reset when its ACK finds the queue full.
                ListenOverflow::HandshakeThenRst => {}
            }
        }
        let personality = Arc::clone(&self.personality);
        let k = &personality.knobs;
        let iss = self.next_isn(seg.dst, seg.src);
        let mut child = self.new_socket(seg.dst);
        let listener = self.sock(lid);
        child.set_rcv_buf(listener.rcv_buf);
        child.snd_buf = listener.snd_buf;
        child.snd_buf_opt = listener.snd_buf_opt;
        child.snd_buf_locked = listener.snd_buf_locked;
        child.rcv_buf_locked = listener.rcv_buf_locked;
        child.linger = listener.linger;
        child.reuse_addr = listener.reuse_addr;
        child.nodelay = listener.nodelay;
        child.cork = listener.cork;
        child.remote = seg.src;
        child.bound = true;
        child.parent = Some(lid);
        child.init_tcb(iss, k, k.rto_initial_ms.value.duration());
        child.learn_peer_syn(k, seg, k.tcp_timestamps.value);
        child.state = State::Listen; // the child is the listener's TCB, forked
        let mut ctx = Ctx { p: k, now, out };
        child.set_state(&mut ctx, State::SynReceived, Rule::RcvSyn);
        child.send_syn(&mut ctx);
        let cid = self.alloc(child);
        let l = self.sock_mut(lid).listener.as_mut().expect("listener");
        l.embryonic.push(cid);
    }

    /// Runs every timer that is due.
    /// An administrator's drop of every connection in TIME-WAIT (FreeBSD
    /// `tcpdrop -s TIME_WAIT`, tcpdrop(8)): each goes to CLOSED at once,
    /// silently, as when its 2MSL runs out. Returns how many were dropped.
    pub fn drop_time_wait(&mut self, now: Instant, out: &mut Output) -> usize {
        let personality = Arc::clone(&self.personality);
        let mut dropped = 0;
        for i in 0..self.socks.len() {
            let sid = i as SockId;
            if self.socks[i].as_ref().map(|s| s.state) != Some(State::TimeWait) {
                continue;
            }
            let mut ctx = Ctx {
                p: &personality.knobs,
                now,
                out,
            };
            self.sock_mut(sid)
                .set_state(&mut ctx, State::Closed, Rule::DropSilently);
            self.after_arrival(sid, Arrival::Closed);
            dropped += 1;
        }
        dropped
    }

    pub fn on_timers(&mut self, now: Instant, out: &mut Output) {
        let personality = Arc::clone(&self.personality);
        for i in 0..self.socks.len() {
            let sid = i as SockId;
            let due = match &self.socks[i] {
                Some(s) => s.next_deadline().is_some_and(|t| t <= now),
                None => false,
            };
            if due {
                let mut ctx = Ctx {
                    p: &personality.knobs,
                    now,
                    out,
                };
                let arrival = self.sock_mut(sid).on_timers(&mut ctx);
                self.after_arrival(sid, arrival);
            }
        }
        // A wake-up still to come leaves the blocked calls asleep until then.
        if self.wake_at.is_some_and(|t| t > now) {
            return;
        }
        self.wake_at = None;
        self.wake_blocked(now, out);
    }
}

/// SplitMix64: a fixed, well-known mixing function (for ISNs; not a PRNG stream).
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Answers `seg` with the RST built from it (unless it is an RST), in `state`.
fn refuse(seg: &Segment, state: State, cause: RstCause, out: &mut Output) {
    if let Some(rst) = rst_reply(seg) {
        let conn = Conn {
            local: seg.dst,
            remote: seg.src,
        };
        out.events.push(Event::RstSent { conn, state, cause });
        out.send(rst);
    }
}
