//! The kinds of call the generator draws, their weighted tables, and how a
//! kind and the drawn arguments make a [`Call`].

use super::strategy::{how, pick, size_of, total_weight, weighted, WAITS};
use super::{read_eof_main, write_main, Call, Sock, Step};
use model::call::poll_bits::{POLLIN, POLLRDHUP};
use model::{Duration, How, ReadLen};
use proptest::prelude::*;

/// What a generated call is, before its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
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
pub(super) const EXTREME_KINDS: &[(u32, Kind)] = &[
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

pub(super) const KINDS: &[(u32, Kind)] = EXTREME_KINDS.split_at(EXTREME_KINDS.len() - 1).0;

pub(super) const PLAIN_KINDS: &[(u32, Kind)] = &[
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
pub(super) fn call_of(
    kinds: &'static [(u32, Kind)],
    extreme: bool,
) -> impl Strategy<Value = Call> + Clone {
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
pub(super) struct Drawn {
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
    pub(super) fn call(self, d: Drawn) -> Call {
        match self {
            Kind::Write => write_main(d.n),
            Kind::Read => Call::Read {
                sock: Sock::Main,
                len: ReadLen::Bytes(d.r),
                timeout: None,
            },
            Kind::ReadEof => read_eof_main(),
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
pub(super) fn child_steps() -> impl Strategy<Value = Vec<Step>> + Clone {
    (0usize..=3, prop::array::uniform3(any::<u16>()))
        .prop_map(|(n, codes)| codes[..n].iter().map(|&c| child_step(c as u32)).collect())
}

/// One packed child step: the kind, then a write's size or a shutdown's
/// direction, then the wait, each from what the one before left of `code`.
fn child_step(code: u32) -> Step {
    let total = total_weight(CHILD_KINDS);
    let rest = code / total;
    let drawn = Drawn {
        n: 1 + rest as u64 % 1460,
        r: 0,
        h: [How::Wr, How::Rd, How::RdWr][(rest % 3) as usize],
        l: 0,
        off: false,
        opt: 0,
        ms: 0,
    };
    Step {
        wait: *weighted(WAITS, (rest / 3) % total_weight(WAITS)),
        call: weighted(CHILD_KINDS, code % total).call(drawn),
    }
}
