//! Generated scenarios: an abstract [`Case`] (a personality pair, each side's
//! calls with their waits, buffer sizes, network conditions), the proptest
//! strategies that produce it, and its translation into a [`ScenarioFile`].
//!
//! Every case is valid by construction: a fixed client/server skeleton (the
//! server listens and accepts, the client connects at 1 ms) followed by
//! generated tails, normalized so that no call uses a descriptor after it was
//! released. Shrinking goes toward fewer steps (vectors shrink by removing
//! elements), smaller byte counts (ranges shrink toward their low end), fewer
//! faults (options shrink to `None`) and simpler personalities (indices
//! shrink toward the first of the pool, `linux` by default).

use model::call::poll_bits::{POLLIN, POLLRDHUP};
use model::{Duration, How, Naming, ReadLen};
use proptest::prelude::*;
use serde::Serialize;
use std::sync::Arc;

/// How long a step waits after the previous step of its process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub enum Wait {
    /// `-`: right after.
    Now,
    /// `+Nms`.
    Ms(u32),
}

/// The generator's socket names: each side has its connection socket and
/// at most one `dup` of it; the server also has its listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub enum Sock {
    /// `c` (client) or `s` (server).
    Main,
    /// `c2` or `s2`.
    Dup,
    /// The server's listener `l`, named only as a further socket of a
    /// poll (`poll s,l`: a server waiting on its connection and for the
    /// next one at once).
    Listener,
}

/// The generator's naming: [`Sock`]s, the one peer host, and a forked
/// child written as the steps it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub struct Gen;

impl Naming for Gen {
    type Sock = Sock;
    type New = Sock;
    type Host = ();
    type Proc = Vec<Step>;
    fn created(sock: &Sock) -> Sock {
        *sock
    }
}

/// One generated call, of the one vocabulary ([`model::call`]).
pub type Call = model::Call<Gen>;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct Step {
    pub wait: Wait,
    pub call: Call,
}

/// One host: its personality, socket buffer options and its tail of calls.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Side {
    pub personality: String,
    pub rcvbuf: Option<u32>,
    pub sndbuf: Option<u32>,
    pub steps: Vec<Step>,
    /// A second thread of the side's process blocks in `read eof` on the
    /// connection from when it is set up, while the tail tears it down
    /// (what a blocked reader sees: `close_while_blocked`). Not drawn by the
    /// plain generator.
    pub reader: bool,
}

/// A cut of the network: `dir` 0 both ways, 1 client→server, 2 server→client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartitionGen {
    pub from_ms: u32,
    pub len_ms: u32,
    pub dir: u8,
}

/// Network conditions; `None` is the default (50 µs, no faults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Net {
    pub delay_us: Option<u64>,
    pub jitter_us: Option<u64>,
    /// Probabilities in per mille.
    pub loss: Option<u32>,
    pub duplicate: Option<u32>,
    pub reorder: Option<u32>,
    pub partition: Option<PartitionGen>,
}

impl Net {
    /// How many fault kinds are on (delay excluded).
    pub fn faults(&self) -> u32 {
        [
            self.jitter_us.is_some(),
            self.loss.is_some(),
            self.duplicate.is_some(),
            self.reorder.is_some(),
            self.partition.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count() as u32
    }
}

/// A whole generated scenario.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Case {
    pub client: Side,
    pub server: Side,
    pub net: Net,
    /// Seed of the network's random faults.
    pub seed: u64,
}

/// The socket names the generated scripts use.
pub const CLIENT: &str = "client";
pub const SERVER: &str = "server";
const CLIENT_CHILD: &str = "client-child";
const SERVER_CHILD: &str = "server-child";

impl Case {
    pub fn sides(&self) -> [&Side; 2] {
        [&self.client, &self.server]
    }

    /// `"client/server"` personalities.
    pub fn pair(&self) -> String {
        format!("{}/{}", self.client.personality, self.server.personality)
    }

    /// Generated steps (children included), for size comparisons.
    pub fn steps(&self) -> usize {
        let readers = self.sides().iter().filter(|s| s.reader).count();
        self.sides()
            .iter()
            .map(|s| count_steps(&s.steps))
            .sum::<usize>()
            + readers
    }

    /// Bytes written by the scripts, children included.
    pub fn bytes(&self) -> u64 {
        self.sides().iter().map(|s| written(&s.steps)).sum()
    }

    /// A size for picking the simplest example: steps, faults, buffers, bytes.
    pub fn size(&self) -> (usize, u32, u32, u64) {
        let bufs = self
            .sides()
            .iter()
            .map(|s| s.rcvbuf.is_some() as u32 + s.sndbuf.is_some() as u32)
            .sum();
        (self.steps(), self.net.faults(), bufs, self.bytes())
    }
}

fn count_steps(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| match &s.call {
            Call::Fork { child: c } => 1 + c.len(),
            _ => 1,
        })
        .sum()
}

/// Bytes a tail writes (children included).
pub fn written(steps: &[Step]) -> u64 {
    steps
        .iter()
        .map(|s| match &s.call {
            Call::Write { bytes: n, .. } => *n,
            Call::Fork { child: c } => written(c),
            _ => 0,
        })
        .sum()
}

/// Where each generated step landed in the scenario file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Per side (0 client, 1 server): (process index, global step index) of
    /// each `read c eof`.
    pub read_eof: [Vec<(u16, u32)>; 2],
}

// ---------------------------------------------------------------- normalize

/// Makes a tail valid: nothing after `exit`; after `close c` only `close c2`
/// and `exit`; at most one `dup`, one `fork`, one `nonblocking`; `close c2`
/// only after a `dup`. Children get the same treatment (no fork, no dup).
/// A poll's further sockets are kept while open: `c2` between its `dup`
/// and its `close`, the listener on the server (`listener`) and not in a
/// child.
pub fn normalize(steps: Vec<Step>, child: bool, listener: bool) -> Vec<Step> {
    let mut out = Vec::with_capacity(steps.len());
    let mut tail = Tail::default();
    for s in steps {
        if !tail.keeps(&s.call, child) {
            continue;
        }
        tail.note(&s.call);
        let exit = s.call == Call::Exit {};
        out.push(tail_step(
            s,
            tail.dup && !tail.dup_closed,
            listener && !child,
        ));
        if exit {
            break;
        }
    }
    out
}

/// What a tail has done so far, as [`normalize`] reads it.
#[derive(Default)]
struct Tail {
    closed: bool,
    dup: bool,
    dup_closed: bool,
    forked: bool,
    nonblocking: bool,
}

impl Tail {
    /// Whether `call` may come next (in a child: no fork, no dup).
    fn keeps(&self, call: &Call, child: bool) -> bool {
        match call {
            Call::Exit {} => true,
            Call::Close { sock: Sock::Dup } => self.dup && !self.dup_closed,
            _ if self.closed => false,
            Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            } => !self.dup && !child,
            Call::Fork { child: _ } => !self.forked && !child,
            Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            } => !self.nonblocking,
            _ => true,
        }
    }

    /// Notes what a kept `call` did.
    fn note(&mut self, call: &Call) {
        match call {
            Call::Close { sock: Sock::Main } => self.closed = true,
            Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            } => self.dup = true,
            Call::Close { sock: Sock::Dup } => self.dup_closed = true,
            Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            } => self.nonblocking = true,
            Call::Fork { child: _ } => self.forked = true,
            _ => {}
        }
    }
}

/// A kept step as it goes into the tail: a fork's child normalized, a poll's
/// (select's) further sockets cut to those open (`dup`: the dup is,
/// `listener`: this process has the listener).
fn tail_step(s: Step, dup: bool, listener: bool) -> Step {
    let call = match s.call {
        Call::Fork { child: c } => Call::Fork {
            child: normalize(c, true, false),
        },
        Call::Poll {
            sock,
            also,
            events,
            timeout,
        } => Call::Poll {
            sock,
            also: open_lanes(also, dup, listener),
            events,
            timeout,
        },
        Call::Select {
            sock,
            also,
            sets,
            timeout,
        } => Call::Select {
            sock,
            also: open_lanes(also, dup, listener),
            sets,
            timeout,
        },
        call => call,
    };
    Step { wait: s.wait, call }
}

/// A poll's further sockets that are open: the dup while it is, the
/// listener where there is one.
fn open_lanes(
    also: model::call::PollAlso<Gen>,
    dup: bool,
    listener: bool,
) -> model::call::PollAlso<Gen> {
    let open = |s: &&Sock| match s {
        Sock::Main => false,
        Sock::Dup => dup,
        Sock::Listener => listener,
    };
    let kept = also.iter().filter(open).copied().collect();
    model::call::PollAlso::from_socks(kept).unwrap_or_default()
}

// ---------------------------------------------------------------- strategies

/// What the general generator may produce.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Personalities each side draws from; shrinking goes toward the first.
    pub pool: Arc<Vec<String>>,
    /// Most generated steps per side.
    pub max_steps: usize,
    /// Allow every call kind (else: write, read, read eof, close only).
    pub all_calls: bool,
    /// Allow network faults and buffer options.
    pub faults: bool,
    /// Also draw what ordinary close sequences never do (issue 14):
    /// SO_KEEPALIVE, writes past 2^31 and 2^32 octets, and waits of hours
    /// to weeks (past the keepalive and FIN-WAIT-2 timers, towards the time
    /// horizon). Off by default: the survey's findings are about ordinary
    /// sequences, and its tables stay as they are.
    pub extreme: bool,
}

impl GenConfig {
    pub fn new(pool: Vec<String>) -> GenConfig {
        GenConfig {
            pool: Arc::new(pool),
            max_steps: 6,
            all_calls: true,
            faults: true,
            extreme: false,
        }
    }
}

// The strategies below avoid `prop_oneof!`: a union keeps a lazily generated
// tree, with its own copy of the runner, for every alternative it did not
// pick, which made generation the most expensive part of a case. A weighted
// choice is an index into a table instead (entries repeat by weight); the
// index shrinks toward entry 0, the simplest.

/// Picks from a weighted table; shrinks toward the first entry.
fn pick<T: Clone + std::fmt::Debug + Send + Sync + 'static>(
    table: &'static [(u32, T)],
) -> impl Strategy<Value = T> + Clone {
    let total: u32 = table.iter().map(|e| e.0).sum();
    (0..total).prop_map(move |mut x| {
        for (w, v) in table {
            if x < *w {
                return v.clone();
            }
            x -= w;
        }
        unreachable!("index below the total weight")
    })
}

/// `Some` with probability `percent`; shrinks toward `None`.
fn chance<T: std::fmt::Debug + Clone>(
    percent: u8,
    s: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Option<T>> + Clone {
    (0u8..100, s).prop_map(move |(p, v)| (p >= 100 - percent).then_some(v))
}

const WAITS: &[(u32, Wait)] = &[
    (4, Wait::Now),
    (1, Wait::Ms(1)),
    (1, Wait::Ms(10)),
    (1, Wait::Ms(200)),
];

/// `WAITS`, and waits past every timer: 2 h 2 min (Linux's keepalive idle
/// time is 7200 s), a day, 49 days (the most a `Wait::Ms` holds).
const EXTREME_WAITS: &[(u32, Wait)] = &[
    (4, Wait::Now),
    (1, Wait::Ms(1)),
    (1, Wait::Ms(200)),
    (1, Wait::Ms(7_320_000)),
    (1, Wait::Ms(86_400_000)),
    (1, Wait::Ms(u32::MAX)),
];

fn wait() -> impl Strategy<Value = Wait> + Clone {
    pick(WAITS)
}

fn wait_of(extreme: bool) -> impl Strategy<Value = Wait> + Clone {
    pick(if extreme { EXTREME_WAITS } else { WAITS })
}

/// Byte counts: mostly one segment or less, some tens of KB, a few hundreds.
fn size() -> impl Strategy<Value = u64> + Clone {
    const BUCKETS: &[(u32, (u64, u64))] =
        &[(4, (1, 1460)), (2, (1461, 20_000)), (1, (20_001, 300_000))];
    (pick(BUCKETS), any::<u32>()).prop_map(|((lo, hi), x)| lo + x as u64 % (hi - lo + 1))
}

/// `size`, or (extreme) writes around 2^31 and 2^32 and up to 2^40 too.
fn size_of(extreme: bool) -> SBoxedStrategy<u64> {
    const EXTREME: &[(u32, (u64, u64))] = &[
        (4, (1, 1460)),
        (1, (20_001, 300_000)),
        (1, ((1 << 31) - 1, (1 << 31) + 1)),
        (1, ((1 << 32) - 1, (1 << 32) + 1)),
        (1, (1 << 33, 1 << 40)),
    ];
    if !extreme {
        return size().sboxed();
    }
    (pick(EXTREME), any::<u64>())
        .prop_map(|((lo, hi), x)| lo + x % (hi - lo + 1))
        .sboxed()
}

fn how() -> impl Strategy<Value = How> + Clone {
    pick(&[(1, How::Wr), (1, How::Rd), (1, How::RdWr)])
}

/// What a generated call is, before its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Write,
    Read,
    ReadEof,
    Shutdown,
    Close,
    Linger,
    Nonblocking,
    Dup,
    CloseDup,
    Fork,
    Exit,
    Keepalive,
    /// poll() for input with a timeout (a poll-driven program's wait).
    Poll,
    /// poll() of the connection and one more socket: the server's listener
    /// (on the client, the dup if one is open; otherwise the poll is of one).
    PollMany,
    /// select() of the connection (and, as PollMany, one more socket) for
    /// reading, or reading and writing, with a timeout.
    Select,
    /// getsockopt()/ioctl() of one option: SO_ERROR clears a pending error.
    Query,
    /// A drain with a step timeout: `read S eof timeout=D`.
    ReadEofTimeout,
    /// SO_RCVTIMEO, so later blocking reads give up.
    RcvTimeo,
    /// recv(MSG_PEEK): looks at the data and leaves it unread.
    Peek,
    /// TCP_NODELAY on or off: whether Nagle holds a short segment.
    NoDelay,
    /// TCP_CORK on or off: a short last segment waits (or is sent).
    Cork,
    /// send(MSG_MORE): a write whose short tail waits for more.
    WriteMore,
}

/// What a step's call is drawn from, SO_KEEPALIVE last: the `extreme`
/// generator draws from all of it, the default one from all but keepalive
/// (a keepalive case runs for hours of virtual time).
const EXTREME_KINDS: &[(u32, Kind)] = &[
    (6, Kind::Write),
    (2, Kind::Read),
    (3, Kind::ReadEof),
    (2, Kind::Shutdown),
    (4, Kind::Close),
    (2, Kind::Linger),
    (1, Kind::Nonblocking),
    (1, Kind::Dup),
    (1, Kind::CloseDup),
    (1, Kind::Fork),
    (1, Kind::Exit),
    (1, Kind::Poll),
    (1, Kind::PollMany),
    (1, Kind::Select),
    (1, Kind::Query),
    (1, Kind::ReadEofTimeout),
    (1, Kind::RcvTimeo),
    (1, Kind::Peek),
    (1, Kind::NoDelay),
    (1, Kind::Cork),
    (1, Kind::WriteMore),
    (3, Kind::Keepalive),
];

const KINDS: &[(u32, Kind)] = EXTREME_KINDS.split_at(EXTREME_KINDS.len() - 1).0;

const PLAIN_KINDS: &[(u32, Kind)] = &[
    (3, Kind::Write),
    (1, Kind::Read),
    (1, Kind::ReadEof),
    (2, Kind::Close),
];

const CHILD_KINDS: &[(u32, Kind)] = &[
    (2, Kind::Close),
    (1, Kind::Write),
    (1, Kind::ReadEof),
    (1, Kind::Shutdown),
    (1, Kind::Exit),
];

/// A call of a kind drawn from `kinds`; every argument is drawn, the kind
/// picks the ones it uses.
fn call_of(kinds: &'static [(u32, Kind)], extreme: bool) -> impl Strategy<Value = Call> + Clone {
    (
        pick(kinds),
        size_of(extreme),
        1u64..=65_536,
        how(),
        (0u32..=5, any::<bool>()),
        (0..model::call::SockOpt::WORDS.len(), 0u64..=200),
    )
        .prop_map(|(k, n, r, h, (l, off), (opt, ms))| {
            k.call(Drawn {
                n,
                r,
                h,
                l,
                off,
                opt,
                ms,
            })
        })
}

/// The arguments drawn for every call; each kind uses some.
struct Drawn {
    /// A write's size.
    n: u64,
    /// A read's or peek's length.
    r: u64,
    h: How,
    /// SO_LINGER's seconds, and whether the option is off.
    l: u32,
    off: bool,
    /// Which option a query reads.
    opt: usize,
    /// A timeout.
    ms: u64,
}

impl Kind {
    fn call(self, d: Drawn) -> Call {
        match self {
            Kind::Write => Call::Write {
                sock: Sock::Main,
                bytes: d.n,
                more: false,
                timeout: None,
            },
            Kind::Read => Call::Read {
                sock: Sock::Main,
                len: ReadLen::Bytes(d.r),
                timeout: None,
            },
            Kind::ReadEof => Call::Read {
                sock: Sock::Main,
                len: ReadLen::Eof,
                timeout: None,
            },
            Kind::Shutdown => Call::Shutdown {
                sock: Sock::Main,
                how: d.h,
            },
            Kind::Close => Call::Close { sock: Sock::Main },
            Kind::Dup => Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            },
            Kind::CloseDup => Call::Close { sock: Sock::Dup },
            Kind::Fork => Call::Fork { child: Vec::new() },
            Kind::Exit => Call::Exit {},
            Kind::ReadEofTimeout => Call::Read {
                sock: Sock::Main,
                len: ReadLen::Eof,
                timeout: Some(Duration::from_ms(d.ms)),
            },
            Kind::Peek => Call::Peek {
                sock: Sock::Main,
                len: d.r,
            },
            Kind::Poll | Kind::PollMany | Kind::Select => self.wait_call(d),
            Kind::Linger | Kind::Nonblocking | Kind::Keepalive | Kind::Query | Kind::RcvTimeo => {
                self.option_call(d)
            }
            Kind::NoDelay | Kind::Cork | Kind::WriteMore => self.send_decision(d),
        }
    }

    /// The calls that wait for a socket to be ready: poll (of one socket or
    /// several) and select.
    fn wait_call(self, d: Drawn) -> Call {
        match self {
            Kind::Poll => Call::Poll {
                sock: Sock::Main,
                also: Default::default(),
                events: POLLIN | POLLRDHUP,
                timeout: Some(Duration::from_ms(d.ms)),
            },
            Kind::PollMany => {
                let other = if d.off { Sock::Dup } else { Sock::Listener };
                Call::Poll {
                    sock: Sock::Main,
                    also: model::call::PollAlso([Some(other), None, None]),
                    events: POLLIN | POLLRDHUP,
                    timeout: Some(Duration::from_ms(d.ms)),
                }
            }
            _ => {
                use model::call::select_sets::{READFDS, WRITEFDS};
                let other = [None, Some(Sock::Listener), Some(Sock::Dup)][d.opt % 3];
                Call::Select {
                    sock: Sock::Main,
                    also: model::call::PollAlso([other, None, None]),
                    sets: if d.off { READFDS } else { READFDS | WRITEFDS },
                    timeout: Some(Duration::from_ms(d.ms)),
                }
            }
        }
    }

    /// The calls that set or read a socket option.
    fn option_call(self, d: Drawn) -> Call {
        match self {
            // linger off, 0 (abortive) or N seconds
            Kind::Linger => Call::Linger {
                sock: Sock::Main,
                linger: (!d.off || d.l == 0).then_some(d.l),
            },
            Kind::Nonblocking => Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            },
            Kind::Keepalive => Call::Keepalive {
                sock: Sock::Main,
                on: !d.off,
            },
            Kind::Query => Call::Getsockopt {
                sock: Sock::Main,
                opt: model::call::SockOpt::WORDS[d.opt].0,
            },
            _ => Call::RcvTimeo {
                sock: Sock::Main,
                ns: Duration::from_ms(d.ms),
            },
        }
    }

    /// The calls that decide when a short segment goes (Nagle, cork, MSG_MORE).
    fn send_decision(self, d: Drawn) -> Call {
        match self {
            Kind::NoDelay => Call::NoDelay {
                sock: Sock::Main,
                on: !d.off,
            },
            Kind::Cork => Call::Cork {
                sock: Sock::Main,
                on: !d.off,
            },
            _ => Call::Write {
                sock: Sock::Main,
                bytes: d.n,
                more: true,
                timeout: None,
            },
        }
    }
}

/// A forked child's steps, packed: up to three (wait, call) codes. Drawn for
/// every step (a fork is decided after), so kept to four numbers; each code
/// shrinks toward a plain `- close`.
fn child_steps() -> impl Strategy<Value = Vec<Step>> + Clone {
    (0usize..=3, prop::array::uniform3(any::<u16>())).prop_map(|(n, codes)| {
        let total: u32 = CHILD_KINDS.iter().map(|e| e.0).sum();
        let wtotal: u32 = WAITS.iter().map(|e| e.0).sum();
        let from = |table: &[(u32, Wait)], mut x: u32| {
            for (w, v) in table {
                if x < *w {
                    return *v;
                }
                x -= w;
            }
            Wait::Now
        };
        codes[..n]
            .iter()
            .map(|&c| {
                let c = c as u32;
                let mut k = c % total;
                let mut kind = Kind::Close;
                for (w, v) in CHILD_KINDS {
                    if k < *w {
                        kind = *v;
                        break;
                    }
                    k -= w;
                }
                let call = match kind {
                    Kind::Write => Call::Write {
                        sock: Sock::Main,
                        bytes: 1 + (c / total) as u64 % 1460,
                        more: false,
                        timeout: None,
                    },
                    Kind::ReadEof => Call::Read {
                        sock: Sock::Main,
                        len: ReadLen::Eof,
                        timeout: None,
                    },
                    Kind::Shutdown => Call::Shutdown {
                        sock: Sock::Main,
                        how: [How::Wr, How::Rd, How::RdWr][(c / total % 3) as usize],
                    },
                    Kind::Exit => Call::Exit {},
                    _ => Call::Close { sock: Sock::Main },
                };
                Step {
                    wait: from(WAITS, (c / total / 3) % wtotal),
                    call,
                }
            })
            .collect()
    })
}

/// A step; a fork takes its child's steps from `child`.
fn step(all: bool, extreme: bool) -> impl Strategy<Value = Step> + Clone {
    let kinds = match (all, extreme) {
        (_, true) => EXTREME_KINDS,
        (true, false) => KINDS,
        (false, false) => PLAIN_KINDS,
    };
    let call = call_of(kinds, extreme);
    (wait_of(extreme), call, child_steps()).prop_map(|(wait, call, child)| Step {
        wait,
        call: match call {
            Call::Fork { child: _ } => Call::Fork { child },
            c => c,
        },
    })
}

fn personality(pool: &Arc<Vec<String>>) -> impl Strategy<Value = String> + Clone {
    let pool = Arc::clone(pool);
    (0..pool.len()).prop_map(move |i| pool[i].clone())
}

fn net(faults: bool) -> SBoxedStrategy<Net> {
    if !faults {
        return Just(Net::default()).sboxed();
    }
    let w = |p| chance(p, any::<u8>());
    let pick = |o: Option<u8>, v: &'static [u64]| o.map(|x| v[x as usize % v.len()]);
    (
        w(20),
        w(10),
        w(15),
        w(8),
        w(8),
        chance(8, (0u32..=2000, 1u32..=3000, 0u8..=2)),
    )
        .prop_map(move |(d, j, l, du, r, p)| Net {
            delay_us: pick(d, &[1_000, 20_000]),
            jitter_us: pick(j, &[100, 2_000]),
            loss: pick(l, &[10, 50, 200]).map(|v| v as u32),
            duplicate: pick(du, &[10, 100]).map(|v| v as u32),
            reorder: pick(r, &[50, 250]).map(|v| v as u32),
            partition: p.map(|(from_ms, len_ms, dir)| PartitionGen {
                from_ms,
                len_ms,
                dir,
            }),
        })
        .sboxed()
}

/// A side's tail; `listener` on the server.
fn steps(cfg: &GenConfig, listener: bool) -> impl Strategy<Value = Vec<Step>> + Clone {
    let step = step(cfg.all_calls, cfg.extreme);
    prop::collection::vec(step, 0..=cfg.max_steps).prop_map(move |s| normalize(s, false, listener))
}

/// A side; `listener` on the server (its polls may name the listener).
fn side(cfg: &GenConfig, listener: bool) -> impl Strategy<Value = Side> + Clone {
    let b = if cfg.faults { 15 } else { 0 };
    let buf = (any::<bool>(), any::<u32>()).prop_map(|(big, x)| {
        if big {
            8193 + x % 254_080
        } else {
            512 + x % 7681
        }
    });
    // A reader thread (started `after` the side's connection is ready): a
    // quarter of the extreme generator's sides, a tenth of the default's
    // (every call kind); `Just` draws nothing for the plain one.
    let reader = match (cfg.extreme, cfg.all_calls) {
        (true, _) => chance(25, Just(())).prop_map(|r| r.is_some()).sboxed(),
        (false, true) => chance(10, Just(())).prop_map(|r| r.is_some()).sboxed(),
        (false, false) => Just(false).sboxed(),
    };
    (
        personality(&cfg.pool),
        chance(b, buf.clone()),
        chance(b, buf),
        steps(cfg, listener),
        reader,
    )
        .prop_map(|(personality, rcvbuf, sndbuf, steps, reader)| Side {
            personality,
            rcvbuf,
            sndbuf,
            steps,
            reader,
        })
}

/// Any scenario: both sides' tails drawn freely from every call kind.
pub fn general(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    (
        side(cfg, false),
        side(cfg, true),
        net(cfg.faults),
        0u64..1000,
    )
        .prop_map(|(client, server, net, seed)| Case {
            client,
            server,
            net,
            seed,
        })
}

/// A graceful close: both sides drain (read to EOF) before closing, nobody
/// uses linger 0, non-blocking sockets or exit. One side (the initiator)
/// writes, shuts down WR, reads to EOF and closes; the other writes a little
/// (at most what fits in the buffers), reads to EOF, writes its answer and
/// closes. Either may set linger off, use a dup'd descriptor it closes
/// first, or fork a child that closes its copy. (Linger N is left out: on
/// Windows a linger timeout that expires aborts the connection, so a close
/// with linger N is not graceful under loss; the survey shows it.)
pub fn graceful(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    let small = 1u64..=1024;
    let pre = prop::collection::vec((wait(), small), 0..=3);
    let writes = prop::collection::vec((wait(), size()), 0..=3);
    let extras = (
        chance(20, Just(None::<u32>)),
        any::<bool>(),
        chance(15, (wait(), any::<bool>())),
    );
    let pool = Arc::clone(&cfg.pool);
    let b = if cfg.faults { 15 } else { 0 };
    (
        (
            personality(&pool),
            personality(&pool),
            chance(b, 8192u32..=262_144),
            chance(b, 8192u32..=262_144),
        ),
        any::<bool>(),
        (writes.clone(), pre, writes),
        (extras.clone(), extras),
        (wait(), wait(), wait()),
        net(cfg.faults),
        0u64..1000,
    )
        .prop_map(
            |(
                (pc, ps, rb, sb),
                client_initiates,
                (iw, rpre, rw),
                (ei, er),
                (w1, w2, w3),
                net,
                seed,
            )| {
                let init = with_extras(ei, initiator_steps(iw, w1, w2));
                let resp = with_extras(er, responder_steps(rpre, rw, w3));
                let (cs, ss) = if client_initiates {
                    (init, resp)
                } else {
                    (resp, init)
                };
                let side = |personality, steps| Side {
                    personality,
                    rcvbuf: rb,
                    sndbuf: sb,
                    steps,
                    reader: false,
                };
                Case {
                    client: side(pc, cs),
                    server: side(ps, ss),
                    net,
                    seed,
                }
            },
        )
}

/// A graceful side's optional extras: linger off, a dup'd descriptor, a
/// forked child (its wait before closing, and whether it writes first).
type Extras = (Option<Option<u32>>, bool, Option<(Wait, bool)>);

fn step_after(wait: Wait, call: Call) -> Step {
    Step { wait, call }
}

/// `write c N` after each wait.
fn writes(sizes: Vec<(Wait, u64)>) -> impl Iterator<Item = Step> {
    sizes.into_iter().map(|(w, n)| {
        let write = Call::Write {
            sock: Sock::Main,
            bytes: n,
            more: false,
            timeout: None,
        };
        step_after(w, write)
    })
}

fn read_eof() -> Step {
    let read = Call::Read {
        sock: Sock::Main,
        len: ReadLen::Eof,
        timeout: None,
    };
    step_after(Wait::Now, read)
}

/// The initiator: writes, shuts down WR, reads to EOF and closes.
fn initiator_steps(sizes: Vec<(Wait, u64)>, shut: Wait, close: Wait) -> Vec<Step> {
    let mut v: Vec<Step> = writes(sizes).collect();
    let shutdown = Call::Shutdown {
        sock: Sock::Main,
        how: How::Wr,
    };
    v.push(step_after(shut, shutdown));
    v.push(read_eof());
    v.push(step_after(close, Call::Close { sock: Sock::Main }));
    v
}

/// The responder: writes a little, reads to EOF, writes its answer and closes.
fn responder_steps(pre: Vec<(Wait, u64)>, answer: Vec<(Wait, u64)>, close: Wait) -> Vec<Step> {
    let mut v: Vec<Step> = writes(pre).collect();
    v.push(read_eof());
    v.extend(writes(answer));
    v.push(step_after(close, Call::Close { sock: Sock::Main }));
    v
}

/// A side's steps with its extras around them: linger first, then the
/// fork, then the dup (after the fork, so the child holds only `c`), the
/// body, and the dup'd descriptor closed just before the last close.
fn with_extras((linger, dup, fork): Extras, body: Vec<Step>) -> Vec<Step> {
    let mut v = Vec::new();
    if let Some(l) = linger {
        let call = Call::Linger {
            sock: Sock::Main,
            linger: l,
        };
        v.push(step_after(Wait::Now, call));
    }
    if let Some((w, write)) = fork {
        v.push(step_after(
            Wait::Now,
            Call::Fork {
                child: fork_child(w, write),
            },
        ));
    }
    if dup {
        let call = Call::Dup {
            sock: Sock::Main,
            new: Sock::Dup,
        };
        v.push(step_after(Wait::Now, call));
    }
    v.extend(body);
    if dup {
        // the dup'd descriptor goes first, so the last close is `close c`
        let at = v.len() - 1;
        v.insert(at, step_after(Wait::Now, Call::Close { sock: Sock::Dup }));
    }
    v
}

/// A graceful side's child: perhaps 100 bytes, then its close after `w`.
fn fork_child(w: Wait, write: bool) -> Vec<Step> {
    let mut child = vec![];
    if write {
        let call = Call::Write {
            sock: Sock::Main,
            bytes: 100,
            more: false,
            timeout: None,
        };
        child.push(step_after(Wait::Now, call));
    }
    child.push(step_after(w, Call::Close { sock: Sock::Main }));
    child
}

/// Mostly general scenarios, one in four graceful.
pub fn mixed(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    prop_oneof![3 => general(cfg), 1 => graceful(cfg)]
}

// A case as a scenario file.
mod file;
pub use file::to_file;
