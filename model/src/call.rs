//! The call vocabulary: every socket call a step can make, declared once.
//!
//! [`calls!`] declares each call with its scenario-text name and aliases, its
//! arguments (each with the syntax that parses and prints it), how it
//! completes, and its help text. From that one table come:
//! - [`Call<N>`], generic over how sockets, hosts and processes are named
//!   ([`Naming`]): words of a scenario line, slots of a world spec, descriptors
//!   of a host (the model's [`Fds`]), the kernel worker's descriptors;
//! - [`CALLS`], the metadata that help text, error messages and the call table
//!   of `docs/scenario-format.md` are generated from;
//! - [`Call::rename`], the one translation between namings;
//! - [`Call::read_args`]/[`Call::write_args`], parsing and printing through an
//!   [`ArgSyntax`] (the scenario language implements it; a packetdrill reader
//!   can implement another).
//!
//! Some steps are more than one system call (`listen` on an unnamed socket is
//! socket + bind + listen; `read S eof` reads until 0 or an error). [`Expansion`]
//! says which system call comes next and when the step is over; the simulator
//! and the kernel worker both follow it, so a step means the same on both.

use crate::errno::CallResult;
use crate::segment::{HostId, RawSeg};
use crate::{Duration, Pid};
use serde::{Serialize, Serializer};
use std::fmt::Debug;
use std::hash::Hash;

mod opts;
mod watched;
pub use opts::{poll_bits, select_sets, PollAlso, SockOpt, POLL_SOCKS_MAX};

/// How the names in a call are written. Each producer of calls picks one.
pub trait Naming: Copy + Clone + Debug + Default + PartialEq + Eq + Hash + 'static {
    /// A socket the call works on.
    type Sock: Clone + Debug + PartialEq + Eq + Hash + Serialize + schemars::JsonSchema;
    /// The name a call gives the descriptor it creates (socket, accept, dup).
    type New: Clone + Debug + PartialEq + Eq + Hash + Serialize + schemars::JsonSchema;
    /// A host a connect() goes to.
    type Host: Clone + Debug + PartialEq + Eq + Hash + Serialize + schemars::JsonSchema;
    /// A process a fork starts.
    type Proc: Clone + Debug + PartialEq + Eq + Hash + Serialize + schemars::JsonSchema;
    /// The name a socket created on demand gets (`connect c …` before `socket c`).
    fn created(sock: &Self::Sock) -> Self::New;
}

/// Descriptors of one host: what the model and a kernel take. A created
/// descriptor has no name of its own (it is the call's result).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub struct Fds;

impl Naming for Fds {
    type Sock = crate::Fd;
    type New = ();
    type Host = HostId;
    type Proc = Pid;
    fn created(_: &crate::Fd) {}
}

/// Where connect() goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(bound = "")]
pub struct Dest<N: Naming> {
    pub host: N::Host,
    pub port: u16,
}

impl<N: Naming> Copy for Dest<N> where N::Host: Copy {}

impl From<crate::segment::Addr> for Dest<Fds> {
    fn from(a: crate::segment::Addr) -> Dest<Fds> {
        Dest {
            host: a.host,
            port: a.port,
        }
    }
}

impl From<Dest<Fds>> for crate::segment::Addr {
    fn from(d: Dest<Fds>) -> crate::segment::Addr {
        crate::segment::Addr {
            host: d.host,
            port: d.port,
        }
    }
}

/// Which directions shutdown() closes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
pub enum How {
    #[serde(rename = "SHUT_RD")]
    Rd,
    #[serde(rename = "SHUT_WR")]
    Wr,
    #[serde(rename = "SHUT_RDWR")]
    RdWr,
}

impl How {
    /// The scenario word.
    pub fn word(self) -> &'static str {
        match self {
            How::Rd => "rd",
            How::Wr => "wr",
            How::RdWr => "rdwr",
        }
    }
    /// The C constant.
    pub fn constant(self) -> &'static str {
        match self {
            How::Rd => "SHUT_RD",
            How::Wr => "SHUT_WR",
            How::RdWr => "SHUT_RDWR",
        }
    }
}

/// How much a read() asks for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReadLen {
    /// One read() of at most this many bytes.
    Bytes(u64),
    /// read() until it returns 0 or an error; the step's result is the total.
    Eof,
}

impl schemars::JsonSchema for ReadLen {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ReadLen".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "At most this many bytes, or \"eof\": read until 0 or an error.",
            "anyOf": [{ "type": "integer", "minimum": 0 }, { "const": "eof" }]
        })
    }
}

impl Serialize for ReadLen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ReadLen::Bytes(n) => s.serialize_u64(*n),
            ReadLen::Eof => s.serialize_str("eof"),
        }
    }
}

/// For serde: a flag left out when unset.
fn is_false(b: &bool) -> bool {
    !*b
}

/// A read-until-EOF step reads at most this much per read() call, in the
/// simulator and on the kernel alike.
pub const READ_EOF_CHUNK_BYTES: u64 = 1 << 20;

/// How a call completes, for help text and for the explorer's choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Blocks {
    /// Returns at once.
    Never,
    /// May wait in (virtual) time; non-blocking sockets return EAGAIN/EINPROGRESS.
    Maybe,
    /// Not a socket call: the runner does it (fork, exit, sleep). `step`, as
    /// `tcpsim calls` marks it.
    #[serde(rename = "step")]
    Process,
}

/// What [`CALLS`] says of one call.
#[derive(Clone, Copy, Debug)]
pub struct CallInfo {
    /// The scenario word.
    pub name: &'static str,
    /// Other words accepted for it (Winsock and BSD spellings).
    pub aliases: &'static [&'static str],
    /// The argument syntax, as in `docs/scenario-format.md`.
    pub usage: &'static str,
    pub blocks: Blocks,
    /// One line of help: the scenario-format table's third column.
    pub help: &'static str,
}

impl CallInfo {
    /// The row of the call table in `docs/scenario-format.md`.
    pub fn doc_row(&self) -> String {
        let mut help = self.help.to_string();
        if !self.aliases.is_empty() {
            let names: Vec<String> = self.aliases.iter().map(|a| format!("`{a}`")).collect();
            help.push_str(&format!(". Also {}", names.join(", ")));
        }
        format!(
            "| `{}` | `{}` | {} |",
            self.name,
            self.usage.replace('|', "\\|"),
            help.replace('|', "\\|")
        )
    }
}

/// The argument syntaxes a call's fields are written in. The scenario
/// language implements it over the words of a step; each method reads (or,
/// in [`ArgWriter`], writes) one argument.
pub trait ArgSyntax<N: Naming> {
    type Err;
    fn sock(&mut self) -> Result<N::Sock, Self::Err>;
    /// The name of a socket created by this call (`socket S`).
    fn name(&mut self) -> Result<N::New, Self::Err>;
    /// `as NAME` (or just `NAME`).
    fn new_sock(&mut self) -> Result<N::New, Self::Err>;
    /// `HOST:PORT`.
    fn dest(&mut self) -> Result<Dest<N>, Self::Err>;
    fn port(&mut self) -> Result<u16, Self::Err>;
    /// An optional port (`listen S [PORT]`).
    fn opt_port(&mut self) -> Result<Option<u16>, Self::Err>;
    /// `backlog=N`, optional (128).
    fn backlog(&mut self) -> Result<u32, Self::Err>;
    /// A byte count.
    fn size(&mut self) -> Result<u64, Self::Err>;
    /// A byte count that fits a socket option (u32).
    fn size32(&mut self) -> Result<u32, Self::Err>;
    /// A byte count or `eof`.
    fn read_len(&mut self) -> Result<ReadLen, Self::Err>;
    fn how(&mut self) -> Result<How, Self::Err>;
    /// `off` or a number in the personality's unit.
    fn linger(&mut self) -> Result<Option<u32>, Self::Err>;
    /// `on` (the default when absent) or `off`.
    fn on_off(&mut self) -> Result<bool, Self::Err>;
    /// An optional `more` flag (send's MSG_MORE).
    fn more(&mut self) -> Result<bool, Self::Err>;
    fn duration(&mut self) -> Result<Duration, Self::Err>;
    /// `timeout=DURATION`, optional (none: wait as long as it takes).
    fn timeout(&mut self) -> Result<Option<Duration>, Self::Err>;
    /// What getsockopt/ioctl reads (`SO_ERROR`, `FIONREAD`…).
    fn sockopt(&mut self) -> Result<SockOpt, Self::Err>;
    /// The first socket of a poll step (`s1` of `s1,s2`).
    fn poll_sock(&mut self) -> Result<N::Sock, Self::Err>;
    /// The rest of a poll step's sockets (`s2` of `s1,s2`), none for one.
    fn poll_also(&mut self) -> Result<PollAlso<N>, Self::Err>;
    /// poll() events, `POLLIN|POLLRDHUP`.
    fn events(&mut self) -> Result<u32, Self::Err>;
    /// The select() sets asked for, `readfds|writefds`.
    fn select_sets(&mut self) -> Result<u32, Self::Err>;
    fn proc(&mut self) -> Result<N::Proc, Self::Err>;
    /// A packetdrill packet line (`F. 1:1(0) ack 1`): the rest of the step.
    fn raw(&mut self) -> Result<RawSeg, Self::Err>;
    /// A TCP state by its RFC 9293 name (`TIME-WAIT`, `SYN-RECEIVED`).
    fn state(&mut self) -> Result<crate::State, Self::Err>;
    /// An optional `held` flag (only endpoints a descriptor holds).
    fn held(&mut self) -> Result<bool, Self::Err>;
}

/// The writing side of [`ArgSyntax`]: each method writes one argument.
pub trait ArgWriter<N: Naming> {
    fn sock(&mut self, v: &N::Sock);
    fn name(&mut self, v: &N::New);
    fn new_sock(&mut self, v: &N::New);
    fn dest(&mut self, v: &Dest<N>);
    fn port(&mut self, v: &u16);
    fn opt_port(&mut self, v: &Option<u16>);
    fn backlog(&mut self, v: &u32);
    fn size(&mut self, v: &u64);
    fn size32(&mut self, v: &u32);
    fn read_len(&mut self, v: &ReadLen);
    fn how(&mut self, v: &How);
    fn linger(&mut self, v: &Option<u32>);
    fn on_off(&mut self, v: &bool);
    fn more(&mut self, v: &bool);
    fn duration(&mut self, v: &Duration);
    fn timeout(&mut self, v: &Option<Duration>);
    fn sockopt(&mut self, v: &SockOpt);
    fn poll_sock(&mut self, v: &N::Sock);
    fn poll_also(&mut self, v: &PollAlso<N>);
    fn events(&mut self, v: &u32);
    fn select_sets(&mut self, v: &u32);
    fn proc(&mut self, v: &N::Proc);
    fn raw(&mut self, v: &RawSeg);
    fn state(&mut self, v: &crate::State);
    fn held(&mut self, v: &bool);
}

/// A translation of names from one [`Naming`] to another (resolving a
/// scenario's words to slots, a process's slots to its descriptors).
pub trait Rename<A: Naming, B: Naming> {
    fn sock(&mut self, s: &A::Sock) -> B::Sock;
    fn new_sock(&mut self, s: &A::New) -> B::New;
    fn host(&mut self, h: &A::Host) -> B::Host;
    fn proc(&mut self, p: &A::Proc) -> B::Proc;
}

/// Renames one argument: names go through the [`Rename`], values are copied.
macro_rules! arg_rename {
    ($r:ident, sock, $v:expr) => {
        $r.sock($v)
    };
    ($r:ident, new_sock, $v:expr) => {
        $r.new_sock($v)
    };
    ($r:ident, name, $v:expr) => {
        $r.new_sock($v)
    };
    ($r:ident, poll_sock, $v:expr) => {
        $r.sock($v)
    };
    ($r:ident, poll_also, $v:expr) => {
        PollAlso($v.0.each_ref().map(|s| s.as_ref().map(|s| $r.sock(s))))
    };
    ($r:ident, dest, $v:expr) => {
        Dest {
            host: $r.host(&$v.host),
            port: $v.port,
        }
    };
    ($r:ident, proc, $v:expr) => {
        $r.proc($v)
    };
    ($r:ident, $syntax:ident, $v:expr) => {
        *$v
    };
}

/// The call table. Each row: the variant with its fields (`name: Type [syntax]`,
/// serde attributes as the trace's JSON spells them), then the scenario word,
/// its aliases, the usage line, how it completes, and its help.
macro_rules! calls {
    ($(
        $(#[$vattr:meta])*
        $variant:ident { $( $(#[$fattr:meta])* $field:ident : $ty:ty [$syntax:ident] ),* $(,)? }
        = $name:literal [$($alias:literal),*] $usage:literal, $blocks:ident,
        $help:literal;
    )*) => {
        /// A socket call (or a process step: fork, exit, sleep), its names
        /// written in the naming `N`.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
        #[serde(tag = "call", rename_all = "kebab-case", bound = "")]
        pub enum Call<N: Naming> {
            $(
                $(#[$vattr])*
                $variant { $( $(#[$fattr])* $field: $ty ),* },
            )*
        }

        /// Every call, in table order.
        pub const CALLS: &[CallInfo] = &[$(
            CallInfo {
                name: $name,
                aliases: &[$($alias),*],
                usage: $usage,
                blocks: Blocks::$blocks,
                help: $help,
            },
        )*];

        impl<N: Naming> Call<N> {
            /// The scenario word.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Call::$variant { .. } => $name, )*
                }
            }

            /// How the call completes.
            pub fn blocks(&self) -> Blocks {
                match self {
                    $( Call::$variant { .. } => Blocks::$blocks, )*
                }
            }

            /// Its row of [`CALLS`].
            pub fn info(&self) -> &'static CallInfo {
                let name = self.name();
                CALLS.iter().find(|i| i.name == name).expect("every variant has a row")
            }

            /// The same call with its names translated.
            pub fn rename<M: Naming>(&self, r: &mut impl Rename<N, M>) -> Call<M> {
                match self {
                    $(
                        Call::$variant { $($field),* } => Call::$variant {
                            $( $field: arg_rename!(r, $syntax, $field) ),*
                        },
                    )*
                }
            }

            /// Reads the arguments of the call whose scenario word (or alias)
            /// is `word`; `None` if no call has that word.
            pub fn read_args<A: ArgSyntax<N>>(
                word: &str,
                a: &mut A,
            ) -> Option<Result<Call<N>, A::Err>> {
                $(
                    if word == $name $(|| word == $alias)* {
                        let read = |_a: &mut A| -> Result<Call<N>, A::Err> {
                            Ok(Call::$variant { $( $field: _a.$syntax()? ),* })
                        };
                        return Some(read(a));
                    }
                )*
                None
            }

            /// Writes the arguments, each in its syntax.
            pub fn write_args(&self, w: &mut impl ArgWriter<N>) {
                match self {
                    $( Call::$variant { $($field),* } => { $( w.$syntax($field); )* } )*
                }
            }
        }
    };
}

calls! {
    Socket { #[serde(skip)] new: N::New [name] }
        = "socket" [] "socket S", Never,
        "create a socket named S";
    Bind { #[serde(rename = "fd")] sock: N::Sock [sock], port: u16 [port] }
        = "bind" [] "bind S PORT", Never,
        "bind to a local port (e.g. to reuse one for TIME-WAIT tests)";
    Listen {
        #[serde(rename = "fd")] sock: N::Sock [sock],
        #[serde(skip_serializing_if = "Option::is_none")] port: Option<u16> [opt_port],
        backlog: u32 [backlog],
    }
        = "listen" [] "listen S [PORT] [backlog=N]", Never,
        "socket (if S has none) + bind (if PORT is given) + listen; backlog 128 by default";
    Accept { #[serde(rename = "fd")] sock: N::Sock [sock], #[serde(skip)] new: N::New [new_sock] }
        = "accept" [] "accept L as S", Maybe,
        "accept a connection from listener L (blocks until one is queued)";
    Connect { #[serde(rename = "fd")] sock: N::Sock [sock], to: Dest<N> [dest] }
        = "connect" [] "connect S HOST:PORT", Maybe,
        "connect S (created if needed); blocks until established or refused";
    Write {
        #[serde(rename = "fd")] sock: N::Sock [sock],
        bytes: u64 [size],
        #[serde(skip_serializing_if = "is_false")] more: bool [more],
        #[serde(skip_serializing_if = "Option::is_none")] timeout: Option<Duration> [timeout],
    }
        = "write" ["send"] "write S SIZE [more] [timeout=D]", Maybe,
        "write SIZE bytes; blocks while the send buffer is full (non-blocking: partial count or EAGAIN). \
         `more` is send(MSG_MORE): a short last segment waits for more, as under `cork`. \
         With `timeout=D` it blocks at most D, then returns the partial count or EAGAIN";
    Read {
        #[serde(rename = "fd")] sock: N::Sock [sock],
        #[serde(rename = "max")] len: ReadLen [read_len],
        #[serde(skip_serializing_if = "Option::is_none")] timeout: Option<Duration> [timeout],
    }
        = "read" ["recv"] "read S SIZE|eof [timeout=D]", Maybe,
        "read up to SIZE bytes: what is there, 0 at EOF, or an error; blocks when empty. \
         `read S eof` reads until 0 or an error: the result is the total, or the error \
         (`= 500+ECONNRESET` expects both). With `timeout=D` each read waits at most D for data, \
         then fails EAGAIN (`read S eof timeout=300ms`: drain until 300 ms pass without data)";
    Peek {
        #[serde(rename = "fd")] sock: N::Sock [sock],
        #[serde(rename = "max")] len: u64 [size],
    }
        = "peek" ["MSG_PEEK"] "peek S SIZE", Maybe,
        "recv(MSG_PEEK): up to SIZE unread bytes, left unread (the next read gets them again); \
         0 at EOF, or an error; blocks when empty, as read";
    Poll {
        #[serde(rename = "fd")] sock: N::Sock [poll_sock],
        #[serde(skip_serializing_if = "PollAlso::is_empty")] also: PollAlso<N> [poll_also],
        events: u32 [events],
        #[serde(skip_serializing_if = "Option::is_none")] timeout: Option<Duration> [timeout],
    }
        = "poll" [] "poll S[,S2…] EVENTS [timeout=D]", Maybe,
        "poll() one socket, or up to 4 (`poll l,s POLLIN`), for EVENTS (`POLLIN|POLLOUT|POLLRDHUP`, asked of each); \
         the result is revents (`= POLLIN|POLLHUP`; POLLERR and POLLHUP come unasked), one per socket \
         in order for several (`= POLLIN,0`); it blocks until one is ready, or is `0` when `timeout=D` passes first. \
         What sets each bit is the personality's `poll_style`";
    Select {
        #[serde(rename = "fd")] sock: N::Sock [poll_sock],
        #[serde(skip_serializing_if = "PollAlso::is_empty")] also: PollAlso<N> [poll_also],
        sets: u32 [select_sets],
        #[serde(skip_serializing_if = "Option::is_none")] timeout: Option<Duration> [timeout],
    }
        = "select" [] "select S[,S2…] SETS [timeout=D]", Maybe,
        "select() over one socket or up to 4 (`select l,s readfds`), each asked for SETS \
         (`readfds|writefds|exceptfds`); the result is, per socket in order, the sets it is in \
         (`= readfds,0`; `0` when `timeout=D` passes first); it blocks until one is in a set. \
         A descriptor not open fails the call EBADF. What puts a socket in each set is the \
         personality's `select_style` (Linux: readable with POLLIN/POLLHUP/POLLERR, writable \
         with POLLOUT/POLLERR; Winsock: exceptfds for a failed connection attempt)";
    Getsockopt { #[serde(rename = "fd")] sock: N::Sock [sock], opt: SockOpt [sockopt] }
        = "getsockopt" ["ioctl"] "getsockopt S OPTION", Never,
        "read an option or a queue size: SO_ERROR (the pending error as the result, cleared; 0 if none), \
         SO_LINGER's two fields, TCP_LINGER2 (s), FIONREAD/SIOCINQ (bytes unread), SIOCOUTQ (unacknowledged), \
         SIOCOUTQNSD (unsent), TCP_INFO.tcpi_state (the TCP state: `= FIN-WAIT-2`); which exist where is the \
         personality's `query_style`";
    RcvTimeo { #[serde(rename = "fd")] sock: N::Sock [sock], ns: Duration [duration] }
        = "rcvtimeo" ["SO_RCVTIMEO"] "rcvtimeo S DURATION", Never,
        "SO_RCVTIMEO (0 = none): a blocking read that waits this long fails with the personality's `timeo_error`; \
         on Linux a blocking accept too (EAGAIN, `accept_timeo`)";
    SndTimeo { #[serde(rename = "fd")] sock: N::Sock [sock], ns: Duration [duration] }
        = "sndtimeo" ["SO_SNDTIMEO"] "sndtimeo S DURATION", Never,
        "SO_SNDTIMEO (0 = none): a blocking write that waits this long returns its partial count, or fails with `timeo_error`";
    Shutdown { #[serde(rename = "fd")] sock: N::Sock [sock], how: How [how] }
        = "shutdown" [] "shutdown S rd|wr|rdwr", Never,
        "shutdown(); also `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`, `SD_RECEIVE`, `SD_SEND`, `SD_BOTH`";
    Close { #[serde(rename = "fd")] sock: N::Sock [sock] }
        = "close" ["closesocket"] "close S", Maybe,
        "release the descriptor; the last one closes the connection (blocks with SO_LINGER {1, N})";
    Linger { #[serde(rename = "fd")] sock: N::Sock [sock], linger: Option<u32> [linger] }
        = "linger" [] "linger S off|N", Never,
        "SO_LINGER: off; `0` = {1, 0} abortive close; `N` = {1, N} (the personality's unit)";
    Nonblocking { #[serde(rename = "fd")] sock: N::Sock [sock], on: bool [on_off] }
        = "nonblocking" [] "nonblocking S [on|off]", Never,
        "O_NONBLOCK";
    Keepalive { #[serde(rename = "fd")] sock: N::Sock [sock], on: bool [on_off] }
        = "keepalive" [] "keepalive S [on|off]", Never,
        "SO_KEEPALIVE: probe an idle connection (`keepalive_idle_s`, `keepalive_intvl_s`, \
         `keepalive_probes`), drop it with ETIMEDOUT when unanswered";
    NoDelay { #[serde(rename = "fd")] sock: N::Sock [sock], on: bool [on_off] }
        = "nodelay" ["TCP_NODELAY"] "nodelay S [on|off]", Never,
        "TCP_NODELAY: a short segment goes out at once, not held while data is unacknowledged \
         (the personality's `nagle`); turning it on sends what Nagle held";
    Cork { #[serde(rename = "fd")] sock: N::Sock [sock], on: bool [on_off] }
        = "cork" ["TCP_CORK", "TCP_NOPUSH"] "cork S [on|off]", Never,
        "TCP_CORK (BSD TCP_NOPUSH): hold a short last segment until the option is cleared, the FIN \
         goes, or the persist timer fires (Linux: after max(RTO, 200 ms) with nothing in flight); \
         turning it off sends what it held. ENOPROTOOPT where the personality has none (`cork_option`)";
    ReuseAddr { #[serde(rename = "fd")] sock: N::Sock [sock], on: bool [on_off] }
        = "reuseaddr" ["SO_REUSEADDR"] "reuseaddr S [on|off]", Never,
        "SO_REUSEADDR, before bind: whether a port still held by TIME-WAIT or connected sockets \
         can be bound is the personality's `reuseaddr_bind`; a listener always holds its port";
    RcvBuf { #[serde(rename = "fd")] sock: N::Sock [sock], bytes: u32 [size32] }
        = "rcvbuf" [] "rcvbuf S SIZE", Never,
        "SO_RCVBUF (the advertised window is its free space)";
    SndBuf { #[serde(rename = "fd")] sock: N::Sock [sock], bytes: u32 [size32] }
        = "sndbuf" [] "sndbuf S SIZE", Never,
        "SO_SNDBUF";
    Dup { #[serde(rename = "fd")] sock: N::Sock [sock], #[serde(skip)] new: N::New [new_sock] }
        = "dup" [] "dup S as S2", Never,
        "a second descriptor for the same socket";
    Fork { child: N::Proc [proc] }
        = "fork" [] "fork CHILD", Process,
        "start process CHILD (declared `forked_from` this one) with copies of every descriptor";
    Exit {}
        = "exit" ["WSACleanup"] "exit", Process,
        "process exit: every descriptor is closed, or reset, per the personality";
    Sleep { ns: Duration [duration] }
        = "sleep" [] "sleep DURATION", Process,
        "do nothing for a while";
    Sockets {
        state: crate::State [state],
        #[serde(skip_serializing_if = "is_false")] held: bool [held],
        #[serde(skip_serializing_if = "Option::is_none")] port: Option<u16> [opt_port],
    }
        = "sockets" ["sockstat"] "sockets STATE [held] [PORT]", Process,
        "how many of this host's TCP endpoints are in STATE (`TIME-WAIT`; half-open ones a listener \
         holds count as SYN-RECEIVED), as FreeBSD's `sockstat -4 -P tcp -s` lists them: only those a \
         descriptor still holds (`held`), those with PORT as local or remote port; the count is the \
         result (`= 1`); not run by the kernel worker";
    Tcpdrop { state: crate::State [state] }
        = "tcpdrop" [] "tcpdrop TIME-WAIT", Process,
        "FreeBSD's `tcpdrop -s TIME_WAIT` (tcpdrop(8)): every TIME-WAIT connection of this host \
         ends at once, silently, as when its 2MSL runs out; the result is how many; only TIME-WAIT; \
         not run by the kernel worker";
    Inject { #[serde(rename = "fd")] sock: N::Sock [sock], seg: RawSeg [raw] }
        = "inject" [] "inject S PKT", Process,
        "send a segment on S's connection as if this host sent it, its stack unaware (spoofed, as a \
         middlebox or a test harness sends): PKT is a packetdrill packet line (`F. 1:1(0) ack 1`), \
         seq relative to this host's ISN, ack to the peer's; not run by the kernel worker";
}

impl<N: Naming> Copy for Call<N>
where
    N::Sock: Copy,
    N::New: Copy,
    N::Host: Copy,
    N::Proc: Copy,
{
}

impl<N: Naming> Call<N> {
    /// The socket the call works on (the listener, for accept).
    pub fn sock(&self) -> Option<&N::Sock> {
        match self {
            Call::Bind { sock, .. }
            | Call::Listen { sock, .. }
            | Call::Accept { sock, .. }
            | Call::Connect { sock, .. }
            | Call::Write { sock, .. }
            | Call::Read { sock, .. }
            | Call::Shutdown { sock, .. }
            | Call::Close { sock }
            | Call::Linger { sock, .. }
            | Call::Nonblocking { sock, .. }
            | Call::Keepalive { sock, .. }
            | Call::ReuseAddr { sock, .. }
            | Call::NoDelay { sock, .. }
            | Call::Cork { sock, .. }
            | Call::Peek { sock, .. }
            | Call::RcvBuf { sock, .. }
            | Call::SndBuf { sock, .. }
            | Call::Poll { sock, .. }
            | Call::Select { sock, .. }
            | Call::Getsockopt { sock, .. }
            | Call::RcvTimeo { sock, .. }
            | Call::SndTimeo { sock, .. }
            | Call::Dup { sock, .. }
            | Call::Inject { sock, .. } => Some(sock),
            Call::Socket { .. }
            | Call::Fork { .. }
            | Call::Exit {}
            | Call::Sleep { .. }
            | Call::Sockets { .. }
            | Call::Tcpdrop { .. } => None,
        }
    }

    /// The name the call's resulting descriptor gets.
    pub fn gives(&self) -> Option<&N::New> {
        match self {
            Call::Socket { new } | Call::Accept { new, .. } | Call::Dup { new, .. } => Some(new),
            _ => None,
        }
    }

    /// The name a successful call releases (close).
    pub fn releases(&self) -> Option<&N::Sock> {
        match self {
            Call::Close { sock } => Some(sock),
            _ => None,
        }
    }

    /// Whether this is a single system call the model (or a kernel) makes as
    /// it stands: not a compound step, not a process step.
    pub fn is_syscall(&self) -> bool {
        match self {
            Call::Listen { port, .. } => port.is_none(),
            Call::Read { len, .. } => *len != ReadLen::Eof,
            _ => self.blocks() != Blocks::Process,
        }
    }
}

/// What a step does next, per [`Expansion::next`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next<N: Naming> {
    /// Make this system call.
    Sys(Call<N>),
    /// A process step (fork, exit, sleep): the runner does it.
    Process,
}

/// Where a step is among its system calls. Plain data, so a world that
/// holds it can be cloned and hashed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Expansion {
    /// System calls of this step already made.
    calls: u32,
    /// A compound step's socket() came first.
    created: bool,
    /// Bytes read so far by a read-until-EOF step.
    read_total: u64,
}

impl Expansion {
    /// The next system call of `step`. `has_fd` says whether a socket name
    /// already stands for a descriptor (so `listen`/`connect` create one only
    /// when it does not).
    pub fn next<N: Naming>(&self, step: &Call<N>, has_fd: impl Fn(&N::Sock) -> bool) -> Next<N> {
        let create = |sock: &N::Sock| Call::Socket {
            new: N::created(sock),
        };
        let sys = match step {
            Call::Fork { .. }
            | Call::Exit {}
            | Call::Sleep { .. }
            | Call::Inject { .. }
            | Call::Sockets { .. }
            | Call::Tcpdrop { .. } => return Next::Process,
            Call::Listen {
                sock,
                port,
                backlog,
            } => match (self.calls, self.created) {
                (0, _) if !has_fd(sock) => create(sock),
                (0, _) | (1, true) if port.is_some() => Call::Bind {
                    sock: sock.clone(),
                    port: port.unwrap_or(0),
                },
                _ => Call::Listen {
                    sock: sock.clone(),
                    port: None,
                    backlog: *backlog,
                },
            },
            Call::Connect { sock, .. } if self.calls == 0 && !has_fd(sock) => create(sock),
            Call::Read {
                sock,
                len: ReadLen::Eof,
                timeout,
            } => Call::Read {
                sock: sock.clone(),
                len: ReadLen::Bytes(READ_EOF_CHUNK_BYTES),
                timeout: *timeout,
            },
            other => other.clone(),
        };
        debug_assert!(sys.is_syscall());
        Next::Sys(sys)
    }

    /// Takes the result of the system call [`Expansion::next`] gave; `Some`
    /// with the step's result when the step is over.
    pub fn absorb<N: Naming>(
        &mut self,
        step: &Call<N>,
        sys: &Call<N>,
        r: CallResult,
    ) -> Option<CallResult> {
        self.calls += 1;
        let created = matches!(sys, Call::Socket { .. }) && !matches!(step, Call::Socket { .. });
        self.created |= created;
        match (step, r) {
            (_, Err(e)) => Some(Err(e)),
            (Call::Listen { .. }, Ok(_)) if !matches!(sys, Call::Listen { .. }) => None,
            (Call::Listen { .. }, Ok(v)) => Some(Ok(v)),
            (Call::Connect { .. }, Ok(_)) if created => None,
            (
                Call::Read {
                    len: ReadLen::Eof, ..
                },
                Ok(0),
            ) => Some(Ok(self.read_total)),
            (
                Call::Read {
                    len: ReadLen::Eof, ..
                },
                Ok(n),
            ) => {
                self.read_total += n;
                None
            }
            (_, Ok(v)) => Some(Ok(v)),
        }
    }

    /// Bytes a read-until-EOF step has read so far.
    pub fn read_total(&self) -> u64 {
        self.read_total
    }
}

#[cfg(test)]
mod tests;
