//! Unit tests of the endpoint model, smoltcp's shape: a small harness drives
//! one [`Host`] with segments the test writes and captures what it sends; one
//! fixture per state, each built by driving the real transitions from the one
//! before (`established` → `fin_wait_1` → `fin_wait_2` → `time_wait`); one file
//! per family of states; names `test_<state>_<event>`.
//!
//! Segments are written and read in tcpdump's relative numbers: our sequence
//! numbers count from our ISS, the peer's from its ISS, so `"F. 1:1(0) ack 2"`
//! is our FIN after no data, acknowledging the peer's FIN.

mod api;
mod closing;
mod established;
mod fuzz;
mod gso;
mod handshake;
mod knobs;
mod nagle;
mod query;
mod rst;
mod table;
mod timers;
mod wake;
mod wrap;

use crate::call::{How, ReadLen};
/// The calls these tests make: on descriptors, as a host takes them.
pub(crate) type Call = crate::blocking::SysCall;
use crate::errno::CallResult;
use crate::event::{Event, Output, Pid};
use crate::host::{Fd, Host, HostConfig};
use crate::personality::Personality;
use crate::segment::{Addr, Flags, Segment, SynOpts};
use crate::seq::{Offset, Seq};
use crate::socket::{SockId, Socket};
use crate::state::{Rule, State};
use crate::{Duration, Instant};
use std::sync::Arc;

pub const ACK: Flags = Flags::ACK;
pub const SYN: Flags = Flags::SYN;
pub const FIN: Flags = Flags::FIN;
pub const RST: Flags = Flags::RST;
pub const PSH: Flags = Flags::PSH;

/// Our ISS in the fixtures (HostConfig::isn_fixed pins it: no test-only ISN path).
pub const OUR_ISS: u32 = 1_000_000;
/// The peer's ISS.
pub const PEER_ISS: u32 = 5_000_000;
/// The window the peer advertises unless a test says otherwise.
pub const PEER_WND: u32 = 65_535;
/// Our MSS (MTU 1500) and the peer's MSS option.
pub const MSS: u32 = 1460;
/// Our first ephemeral port: the client side's local port.
pub const EPHEMERAL: u16 = 40_000;
/// Timer expiries one `advance` may run before the harness calls it a livelock.
const TIMER_STEPS_MAX: usize = 100_000;

/// A host under test, its one connection, and what it has sent so far.
#[derive(Clone)]
pub struct H {
    pub host: Host,
    pub now: Instant,
    pub out: Output,
    pub pid: Pid,
    /// The connection's descriptor (the listener's before accept).
    pub fd: Fd,
    /// The connection's socket (kept after close, to inspect the orphan).
    pub sid: SockId,
    pub local: Addr,
    pub remote: Addr,
    pub our_iss: u32,
    pub peer_iss: u32,
    /// Every state edge traced so far, kept when events are drained or flushed.
    pub history: Vec<(State, State, Rule)>,
}

/// A named way to build a harness (a fixture, or a scenario driven to its end).
pub type Scenario = (&'static str, fn() -> H);

/// A harness with the Linux personality.
pub fn harness() -> H {
    harness_with(linux())
}

/// A harness for `p`, with a fresh process and no socket yet.
pub fn harness_with(p: Personality) -> H {
    harness_isn(p, OUR_ISS, PEER_ISS)
}

/// A harness whose ISNs are pinned to `our_iss` and `peer_iss`.
pub fn harness_isn(p: Personality, our_iss: u32, peer_iss: u32) -> H {
    let cfg = HostConfig {
        id: 0,
        mss: MSS,
        loopback: false,
        isn_key: 0,
        isn_fixed: Some(our_iss),
        ephemeral_first: EPHEMERAL,
        wake_latency: Duration::ZERO,
    };
    let mut host = Host::new(cfg, Arc::new(p));
    let pid = host.spawn();
    H {
        host,
        now: Instant::ZERO,
        out: Output::default(),
        pid,
        fd: 0,
        sid: 0,
        local: Addr {
            host: 0,
            port: EPHEMERAL,
        },
        remote: Addr { host: 1, port: 80 },
        our_iss,
        peer_iss,
        history: Vec::new(),
    }
}

/// Linux without quick-ACK mode: every data segment follows the delayed-ACK
/// rules (and the window does not grow by rcv_ssthresh, which asks for quick
/// ACKs while it grows).
pub fn delayed_acks() -> Personality {
    linux_with(&[("quickack_segs", "0"), ("rcv_ssthresh_growth", "false")])
}

/// Linux with a `buf`-octet receive buffer whose window is simply its free
/// space (BSD's rule), for tests about the window's edges, not its arithmetic.
pub fn plain_window(buf: u32) -> Personality {
    let buf = buf.to_string();
    linux_with(&[
        ("rcv_buf_bytes", &buf),
        ("rcv_wnd_initial_pct", "100"),
        ("rcv_wnd_pct", "100"),
        ("rcv_wnd_rounding", "free-space"),
        ("rcv_wnd_update", "two-segments"),
    ])
}

/// Linux with the send buffer fixed at tcp_wmem[1] = 16384, for tests about a
/// full send buffer, not its autotuning.
/// The Linux personality with a send buffer of exactly tcp_wmem[1]: not
/// autotuned, and a limit in octets, not whole segments.
pub fn fixed_snd_buf() -> Personality {
    linux_with(&[
        ("snd_buf_tuning", "fixed"),
        ("snd_buf_whole_segments", "false"),
    ])
}

/// The harness's Linux: the built-in one without its tail loss probe, so
/// that the tests of the RTO and its backoff see the RTO alone (a probe takes
/// the first retransmission's place: tests/timers.rs tests it, with
/// [`linux_tlp`]).
pub fn linux() -> Personality {
    let mut p = linux_tlp();
    p.set("tail_loss_probe", "false", "test")
        .expect("valid knob");
    p
}

/// The built-in Linux personality as it is, tail loss probe on.
pub fn linux_tlp() -> Personality {
    Personality::builtin("linux").expect("linux")
}

/// The harness's Linux ([`linux`]) with knobs overridden, as `--set name=value` would.
pub fn linux_with(knobs: &[(&str, &str)]) -> Personality {
    let mut p = linux();
    for (name, value) in knobs {
        p.set(name, value, "test").expect("valid knob");
    }
    p
}

impl H {
    // ---- driving ---------------------------------------------------------

    /// A socket call by the harness's process.
    /// Makes a call; `None` if it blocked. Its own completion is taken out of
    /// the output (tests of woken calls look at the `CallDone` events left).
    pub fn call(&mut self, call: Call) -> Option<CallResult> {
        let before = self.out.events.len();
        self.host.call(self.now, self.pid, call, &mut self.out);
        let pid = self.pid;
        let mine = self.out.events[before..]
            .iter()
            .position(|e| matches!(e, Event::CallDone { pid: p, .. } if *p == pid))?;
        match self.out.events.remove(before + mine) {
            Event::CallDone { result, .. } => Some(result),
            _ => unreachable!(),
        }
    }

    /// The results of the woken calls that finished (the `CallDone` events
    /// left in the output), taken out with the rest of its events.
    pub fn woken(&mut self) -> Vec<CallResult> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::CallDone { result, .. } => Some(result),
                _ => None,
            })
            .collect()
    }

    pub fn write(&mut self, bytes: u64) -> Option<CallResult> {
        self.call(Call::Write {
            sock: self.fd,
            bytes,
            more: false,
            timeout: None,
        })
    }

    pub fn read(&mut self, max: u64) -> Option<CallResult> {
        self.call(Call::Read {
            sock: self.fd,
            len: ReadLen::Bytes(max),
            timeout: None,
        })
    }

    pub fn close(&mut self) -> Option<CallResult> {
        self.call(Call::Close { sock: self.fd })
    }

    pub fn shutdown(&mut self, how: How) -> Option<CallResult> {
        self.call(Call::Shutdown { sock: self.fd, how })
    }

    pub fn nonblocking(&mut self, on: bool) {
        assert_eq!(
            self.call(Call::Nonblocking { sock: self.fd, on }),
            Some(Ok(0))
        );
    }

    /// A segment from the peer arrives.
    pub fn inject(&mut self, seg: Segment) {
        self.host.on_segment(self.now, &seg, &mut self.out);
    }

    /// The peer sends `flags` at relative `seq`, acknowledging our relative `ack`.
    pub fn send(&mut self, flags: Flags, seq: u32, ack: u32) {
        let seg = self.peer(flags, seq, ack);
        self.inject(seg);
    }

    /// The peer sends `len` octets of data at relative `seq`.
    pub fn send_data(&mut self, seq: u32, ack: u32, len: u32) {
        let seg = Segment {
            len,
            ..self.peer(ACK | PSH, seq, ack)
        };
        self.inject(seg);
    }

    /// The peer closes its window, acknowledging nothing new (our data not yet sent).
    pub fn zero_window(&mut self) {
        let zero = Segment {
            wnd: 0,
            ..self.peer(ACK, 1, 1)
        };
        self.inject(zero);
    }

    /// Runs timers for `ms` of virtual time, in deadline order.
    pub fn advance_ms(&mut self, ms: u64) {
        let until = self.now + Duration::from_ms(ms);
        for _ in 0..TIMER_STEPS_MAX {
            match self.host.poll_at() {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.host.on_timers(self.now, &mut self.out);
                }
                _ => {
                    self.now = until;
                    return;
                }
            }
        }
        panic!("timers still due after {TIMER_STEPS_MAX} expiries");
    }

    /// Runs the next due timer, if it comes within `ms`; returns whether one ran.
    pub fn next_timer_within_ms(&mut self, ms: u64) -> bool {
        match self.host.poll_at() {
            Some(at) if at <= self.now + Duration::from_ms(ms) => {
                self.now = self.now.max(at);
                self.host.on_timers(self.now, &mut self.out);
                true
            }
            _ => false,
        }
    }

    /// When segments `pick` selects go out while timers run for `ms`: ms since now.
    pub fn send_times(&mut self, ms: u64, pick: impl Fn(&Segment) -> bool) -> Vec<u64> {
        let start = self.now;
        let mut times = Vec::new();
        for _ in 0..TIMER_STEPS_MAX {
            let left = (start + Duration::from_ms(ms))
                .saturating_since(self.now)
                .as_ms();
            if !self.next_timer_within_ms(left) {
                break;
            }
            for s in self.sent_segments() {
                if pick(&s) {
                    times.push(self.now.saturating_since(start).as_ms());
                }
            }
        }
        self.now = self.now.max(start + Duration::from_ms(ms));
        times
    }

    // ---- segment templates ----------------------------------------------

    /// The peer's segment template: relative `seq` and `ack`, the peer's window.
    pub fn peer(&self, flags: Flags, seq: u32, ack: u32) -> Segment {
        Segment {
            src: self.remote,
            dst: self.local,
            seq: Seq(self.peer_iss.wrapping_add(seq)),
            ack: if flags.ack() {
                Seq(self.our_iss.wrapping_add(ack))
            } else {
                Seq(0)
            },
            flags,
            wnd: PEER_WND,
            len: 0,
            mss: if flags.syn() { MSS as u16 } else { 0 },
            opts: SynOpts::NONE,
        }
    }

    /// What we sent since the last look, in tcpdump's relative notation.
    pub fn sent(&mut self) -> Vec<String> {
        let segs: Vec<Segment> = self.out.segments.drain(..).collect();
        segs.iter().map(|s| self.render(s)).collect()
    }

    /// What we sent since the last look, as segments.
    pub fn sent_segments(&mut self) -> Vec<Segment> {
        self.out.segments.drain(..).collect()
    }

    /// Discards what was sent and traced so far (state edges stay in `history`).
    pub fn flush(&mut self) {
        self.events();
        self.out.clear();
    }

    /// `F. 1:1(0) ack 2`: flags, relative seq:end(len), relative ack if ACK.
    pub fn render(&self, s: &Segment) -> String {
        assert_eq!(s.src, self.local, "segment from another address: {s:?}");
        assert_eq!(s.dst, self.remote, "segment to another address: {s:?}");
        let seq = s.seq.0.wrapping_sub(self.our_iss);
        let mut t = format!("{} {}:{}({})", s.flags, seq, seq.wrapping_add(s.len), s.len);
        if s.flags.ack() {
            t.push_str(&format!(" ack {}", s.ack.0.wrapping_sub(self.peer_iss)));
        }
        t
    }

    /// Model events since the last look.
    pub fn events(&mut self) -> Vec<Event> {
        let events: Vec<Event> = self.out.events.drain(..).collect();
        for e in &events {
            if let Event::State { from, to, rule, .. } = *e {
                self.history.push((from, to, rule));
            }
        }
        events
    }

    /// The state edges traced since the last look (segments are left alone).
    pub fn edges(&mut self) -> Vec<(State, State, Rule)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::State { from, to, rule, .. } => Some((from, to, rule)),
                _ => None,
            })
            .collect()
    }

    // ---- inspection ------------------------------------------------------

    /// The connection's socket, if it still exists.
    pub fn sock(&self) -> Option<&Socket> {
        self.host.socks.get(self.sid as usize)?.as_ref()
    }

    /// The connection's socket; panics if it was freed.
    pub fn s(&self) -> &Socket {
        self.sock().expect("the connection's socket was freed")
    }

    /// The connection's state (CLOSED once freed).
    pub fn state(&self) -> State {
        self.sock().map_or(State::Closed, |s| s.state)
    }

    /// Whether the host freed the connection's socket.
    pub fn freed(&self) -> bool {
        self.sock().is_none()
    }

    /// Checks the TCB's sequence invariants (RFC 9293 §3.3.1).
    pub fn check(&self) {
        if let Some(s) = self.sock() {
            let t = &s.tcb;
            assert!(t.snd_una <= t.snd_nxt, "snd_una > snd_nxt: {t:?}");
            assert!(t.snd_nxt <= t.snd_max, "snd_nxt > snd_max: {t:?}");
        }
    }
}

// ---- fixtures: each state reached by the real transitions from the one before ----

/// A socket (fd) on a fresh host, non-blocking, not connected.
pub fn closed() -> H {
    closed_with(linux())
}

pub fn closed_with(p: Personality) -> H {
    closed_from(harness_with(p))
}

pub fn closed_from(mut h: H) -> H {
    let fd = h
        .call(Call::Socket { new: () })
        .expect("socket")
        .expect("fd") as Fd;
    h.fd = fd;
    h.sid = h.host.fd_sock(h.pid, fd).expect("socket");
    h.nonblocking(true);
    h
}

/// connect() sent our SYN.
pub fn syn_sent() -> H {
    syn_sent_from(closed())
}

pub fn syn_sent_from(mut h: H) -> H {
    let to = h.remote;
    let r = h.call(Call::Connect {
        sock: h.fd,
        to: to.into(),
    });
    assert_eq!(r, Some(Err(crate::Errno::EINPROGRESS)));
    assert_eq!(h.sent(), ["S 0:0(0)"]);
    assert_eq!(h.state(), State::SynSent);
    h.flush();
    h
}

/// The SYN-ACK arrived; we ACKed it.
pub fn established() -> H {
    established_with(linux())
}

pub fn established_with(p: Personality) -> H {
    established_from(syn_sent_from(closed_with(p)))
}

pub fn established_from(mut h: H) -> H {
    h.send(SYN | ACK, 0, 1);
    assert_eq!(h.sent(), [". 1:1(0) ack 1"]);
    assert_eq!(h.state(), State::Established);
    h.flush();
    h
}

/// close(): our FIN is out, unacknowledged; the socket is an orphan.
pub fn fin_wait_1() -> H {
    fin_wait_1_from(established())
}

pub fn fin_wait_1_from(mut h: H) -> H {
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), ["F. 1:1(0) ack 1"]);
    assert_eq!(h.state(), State::FinWait1);
    h.flush();
    h
}

/// shutdown(SHUT_WR): our FIN is out; the application still holds the socket.
pub fn fin_wait_1_half() -> H {
    let mut h = established();
    assert_eq!(h.shutdown(How::Wr), Some(Ok(0)));
    assert_eq!(h.sent(), ["F. 1:1(0) ack 1"]);
    assert_eq!(h.state(), State::FinWait1);
    h.flush();
    h
}

/// The peer acknowledged our FIN.
pub fn fin_wait_2() -> H {
    fin_wait_2_from(fin_wait_1())
}

pub fn fin_wait_2_from(mut h: H) -> H {
    h.send(ACK, 1, 2);
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.state(), State::FinWait2);
    h.flush();
    h
}

/// The peer's FIN arrived in FIN-WAIT-2; we ACKed it.
pub fn time_wait() -> H {
    time_wait_from(fin_wait_2())
}

pub fn time_wait_from(mut h: H) -> H {
    h.send(FIN | ACK, 1, 2);
    assert_eq!(h.sent(), [". 2:2(0) ack 2"]);
    assert_eq!(h.state(), State::TimeWait);
    h.flush();
    h
}

/// Simultaneous close: the peer's FIN crossed ours (it does not ACK ours).
pub fn closing() -> H {
    let mut h = fin_wait_1();
    h.send(FIN | ACK, 1, 1);
    assert_eq!(h.sent(), [". 2:2(0) ack 2"]);
    assert_eq!(h.state(), State::Closing);
    h.flush();
    h
}

/// The peer closed first; we ACKed its FIN.
pub fn close_wait() -> H {
    close_wait_from(established())
}

pub fn close_wait_from(mut h: H) -> H {
    h.send(FIN | ACK, 1, 1);
    assert_eq!(h.sent(), [". 1:1(0) ack 2"]);
    assert_eq!(h.state(), State::CloseWait);
    h.flush();
    h
}

/// close() in CLOSE-WAIT: our FIN is out.
pub fn last_ack() -> H {
    let mut h = close_wait();
    assert_eq!(h.close(), Some(Ok(0)));
    assert_eq!(h.sent(), ["F. 1:1(0) ack 2"]);
    assert_eq!(h.state(), State::LastAck);
    h.flush();
    h
}

/// A listener on port 80 with `backlog`; `h.fd` is the listener.
pub fn listen_with(p: Personality, backlog: u32) -> H {
    let mut h = closed_with(p);
    h.local = Addr { host: 0, port: 80 };
    h.remote = Addr {
        host: 1,
        port: 50_000,
    };
    assert_eq!(
        h.call(Call::Bind {
            sock: h.fd,
            port: 80
        }),
        Some(Ok(0))
    );
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Listen {
            sock: fd,
            port: None,
            backlog
        }),
        Some(Ok(0))
    );
    assert_eq!(h.state(), State::Listen);
    h.flush();
    h
}

pub fn listen() -> H {
    listen_with(linux(), 16)
}

/// The peer's SYN reached the listener; `h.sid` is the child, in SYN-RECEIVED.
pub fn syn_received() -> H {
    syn_received_from(listen())
}

pub fn syn_received_from(mut h: H) -> H {
    h.send(SYN, 0, 0);
    assert_eq!(h.sent(), ["S. 0:0(0) ack 1"]);
    h.sid = child_of(&h, h.remote);
    assert_eq!(h.state(), State::SynReceived);
    h.flush();
    h
}

/// The child whose peer is `remote`.
pub fn child_of(h: &H, remote: Addr) -> SockId {
    h.host
        .sockets()
        .find(|(_, s)| s.remote == remote && s.state != State::Listen)
        .map(|(sid, _)| sid)
        .expect("a child for that peer")
}

/// The handshake completed and accept() returned the child; `h.fd` is the child.
pub fn established_passive() -> H {
    established_passive_with(linux())
}

pub fn established_passive_with(p: Personality) -> H {
    let mut h = syn_received_from(listen_with(p, 16));
    h.send(ACK, 1, 1);
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.state(), State::Established);
    let lfd = h.fd;
    let fd = h
        .call(Call::Accept { sock: lfd, new: () })
        .expect("accept")
        .expect("fd");
    h.fd = fd as Fd;
    assert_eq!(h.host.fd_sock(h.pid, h.fd), Some(h.sid));
    h.nonblocking(true);
    h.flush();
    h
}

/// The peer's address for a second client.
pub fn other_peer(port: u16) -> Addr {
    Addr { host: 1, port }
}

/// A second client at `port` completes its handshake with the listener:
/// its SYN, then its ACK of the SYN-ACK.
pub fn handshake_from(h: &mut H, port: u16) {
    let peer = other_peer(port);
    h.inject(Segment {
        src: peer,
        ..h.peer(SYN, 0, 0)
    });
    h.inject(Segment {
        src: peer,
        ..h.peer(ACK, 1, 1)
    });
}

/// A connection closed with 1000 bytes it cannot send: the peer's window
/// is zero, so it is an orphan in FIN-WAIT-1 that only probes; with the
/// peer's zero-window ACK, to answer those probes with.
pub fn zero_window_orphan(p: Personality) -> (H, Segment) {
    let mut h = established_with(p);
    let zero = Segment {
        wnd: 0,
        ..h.peer(ACK, 1, 1)
    };
    h.inject(zero);
    h.write(1000);
    h.close();
    assert_eq!(h.state(), State::FinWait1);
    h.flush();
    (h, zero)
}

/// The causes of the RSTs the host sent, in order.
pub fn rst_causes(h: &mut H) -> Vec<crate::event::RstCause> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::RstSent { cause, .. } => Some(cause),
            _ => None,
        })
        .collect()
}

/// The bytes the host discarded: from which buffer, how many, why.
pub fn discards(h: &mut H) -> Vec<(crate::event::Buffer, u64, crate::event::DiscardCause)> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Discard {
                buffer,
                bytes,
                cause,
                ..
            } => Some((buffer, bytes, cause)),
            _ => None,
        })
        .collect()
}
