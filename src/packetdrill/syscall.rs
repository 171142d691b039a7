//! System-call lines as calls of the one vocabulary (`Call<Fds>`,
//! model/src/call.rs): each packetdrill call is translated to the call the
//! scenario language would make, run on the host, and its result compared
//! with the script's `= RET [ERRNO]` (google/packetdrill
//! `run_system_call.c`: "Expected result … but got …", "Expected errno …").
//! A call the vocabulary lacks is unsupported, with the reason.

use super::parse::{Expr, Syscall, Usecs};
use super::report::{self, Failure};
use super::run::{Pending, Runner};
use model::call::SockOpt;
use model::{Call, CallResult, Dest, Errno, Fds, How, Output, ReadLen, Rename};

/// O_RDWR, the access mode packetdrill scripts expect from F_GETFL.
const O_RDWR: i64 = 0x2;

/// What a packetdrill call comes to.
pub enum Mapped {
    /// A call of the vocabulary.
    Call(Call<Fds>),
    /// A call with no effect on a one-connection script, answered at once.
    Answer(i64),
    /// Not supported, and why.
    Unsupported(String),
}

fn int(e: Option<&Expr>) -> Option<i64> {
    match e? {
        Expr::Int(n) => Some(*n),
        Expr::List(v) if v.len() == 1 => int(v.first()),
        _ => None,
    }
}

fn word(e: Option<&Expr>) -> Option<&str> {
    match e? {
        Expr::Word(w) => Some(w),
        _ => None,
    }
}

fn words(e: Option<&Expr>) -> Vec<&str> {
    match e {
        Some(Expr::Or(v)) => v.iter().filter_map(|x| word(Some(x))).collect(),
        Some(Expr::Word(w)) => vec![w.as_str()],
        _ => Vec::new(),
    }
}

fn field(e: Option<&Expr>, name: &str) -> Option<i64> {
    match e? {
        Expr::Struct(fields) => fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| int(Some(v))),
        _ => None,
    }
}

/// The total length of an iovec list `[{iov_base=..., iov_len=N}, …]`.
fn iov_len(e: Option<&Expr>) -> Option<u64> {
    match e? {
        Expr::List(v) => v
            .iter()
            .map(|x| field(Some(x), "iov_len").map(|n| n as u64))
            .sum(),
        _ => None,
    }
}

/// Translates one packetdrill call. `o_nonblock` is the platform's flag value.
pub fn map(s: &Syscall, nonblocking: impl Fn(u32) -> bool, o_nonblock: i64) -> Mapped {
    let a = &s.args;
    let fd = int(a.first()).map(|n| n as u32);
    let need = |what: &str| Mapped::Unsupported(format!("{}(): cannot read its {what}", s.name));
    let Some(sock) = fd.or(if s.name == "socket" { Some(0) } else { None }) else {
        return need("descriptor");
    };
    let call = match s.name.as_str() {
        "socket" => match word(a.get(1)) {
            Some("SOCK_STREAM") => Call::Socket { new: () },
            _ => {
                return Mapped::Unsupported(
                    "socket(): only SOCK_STREAM sockets are modelled".into(),
                )
            }
        },
        "bind" => Call::Bind {
            sock,
            port: super::run::SCRIPT_PORT,
        },
        "listen" => Call::Listen {
            sock,
            port: None,
            backlog: int(a.get(1)).unwrap_or(1).max(0) as u32,
        },
        "accept" => Call::Accept { sock, new: () },
        "connect" => Call::Connect {
            sock,
            to: Dest {
                host: 1,
                port: super::run::SCRIPT_PORT,
            },
        },
        "write" | "send" | "writev" | "read" | "recv" | "readv" => return map_io(s, sock),
        "shutdown" => match word(a.get(1)) {
            Some("SHUT_RD") => Call::Shutdown { sock, how: How::Rd },
            Some("SHUT_WR") => Call::Shutdown { sock, how: How::Wr },
            Some("SHUT_RDWR") => Call::Shutdown {
                sock,
                how: How::RdWr,
            },
            _ => return need("`how`"),
        },
        "close" => Call::Close { sock },
        "setsockopt" => return setsockopt(s, sock),
        "getsockopt" | "ioctl" => return getsockopt(s, sock),
        "fcntl" => return fcntl(s, sock, nonblocking(sock), o_nonblock),
        other => {
            return Mapped::Unsupported(format!(
                "{other}() is not in the call vocabulary (model/src/call.rs)"
            ))
        }
    };
    Mapped::Call(call)
}

/// The data calls: the length is the third argument, or the iovecs' total.
fn map_io(s: &Syscall, sock: u32) -> Mapped {
    let a = &s.args;
    let need = |what: &str| Mapped::Unsupported(format!("{}(): cannot read its {what}", s.name));
    // send()/recv() flags other than 0, MSG_PEEK and send's MSG_MORE change
    // what the call does in ways the vocabulary does not hold (MSG_DONTWAIT…).
    let flags = a
        .get(3)
        .filter(|_| matches!(s.name.as_str(), "send" | "recv"));
    let more = s.name == "send" && word(flags) == Some("MSG_MORE");
    if let Some(f) = flags {
        if int(Some(f)) != Some(0) && word(Some(f)) != Some("MSG_PEEK") && !more {
            return need("flags (only 0, MSG_PEEK and send's MSG_MORE are modelled)");
        }
    }
    let call = match s.name.as_str() {
        "write" | "send" => match int(a.get(2)) {
            Some(n) => Call::Write {
                sock,
                bytes: n.max(0) as u64,
                more,
                timeout: None,
            },
            None => return need("length"),
        },
        "writev" => match iov_len(a.get(1)) {
            Some(n) => Call::Write {
                sock,
                bytes: n,
                more: false,
                timeout: None,
            },
            None => return need("iovec lengths"),
        },
        "recv" if word(a.get(3)) == Some("MSG_PEEK") => match int(a.get(2)) {
            Some(n) => Call::Peek {
                sock,
                len: n.max(0) as u64,
            },
            None => return need("length"),
        },
        "read" | "recv" => match int(a.get(2)) {
            Some(n) => Call::Read {
                sock,
                len: ReadLen::Bytes(n.max(0) as u64),
                timeout: None,
            },
            None => return need("length"),
        },
        "readv" => match iov_len(a.get(1)) {
            Some(n) => Call::Read {
                sock,
                len: ReadLen::Bytes(n),
                timeout: None,
            },
            None => return need("iovec lengths"),
        },
        _ => return need("arguments"),
    };
    Mapped::Call(call)
}

fn setsockopt(s: &Syscall, sock: u32) -> Mapped {
    let a = &s.args;
    let on = int(a.get(3)).map(|v| v != 0);
    match (word(a.get(1)), word(a.get(2))) {
        (Some("SOL_SOCKET"), Some("SO_LINGER")) => {
            // packetdrill's grammar spells them `onoff`, `linger` (parser.y `linger`).
            let either = |a2: &str, b: &str| field(a.get(3), a2).or_else(|| field(a.get(3), b));
            let onoff = either("onoff", "l_onoff").unwrap_or(0);
            let secs = either("linger", "l_linger").unwrap_or(0).max(0) as u32;
            Mapped::Call(Call::Linger {
                sock,
                linger: (onoff != 0).then_some(secs),
            })
        }
        (Some("SOL_SOCKET"), Some("SO_RCVBUF")) => match int(a.get(3)) {
            Some(n) => Mapped::Call(Call::RcvBuf {
                sock,
                bytes: n.max(0) as u32,
            }),
            None => Mapped::Unsupported("setsockopt(SO_RCVBUF): cannot read the size".into()),
        },
        (Some("SOL_SOCKET"), Some("SO_SNDBUF")) => match int(a.get(3)) {
            Some(n) => Mapped::Call(Call::SndBuf {
                sock,
                bytes: n.max(0) as u32,
            }),
            None => Mapped::Unsupported("setsockopt(SO_SNDBUF): cannot read the size".into()),
        },
        (Some("SOL_SOCKET"), Some("SO_KEEPALIVE")) => Mapped::Call(Call::Keepalive {
            sock,
            on: on.unwrap_or(true),
        }),
        (Some("SOL_SOCKET"), Some("SO_REUSEADDR")) => Mapped::Call(Call::ReuseAddr {
            sock,
            on: on.unwrap_or(true),
        }),
        (Some("IPPROTO_TCP" | "SOL_TCP"), Some("TCP_NODELAY")) => Mapped::Call(Call::NoDelay {
            sock,
            on: on.unwrap_or(true),
        }),
        (Some("IPPROTO_TCP" | "SOL_TCP"), Some("TCP_CORK")) => Mapped::Call(Call::Cork {
            sock,
            on: on.unwrap_or(true),
        }),
        // A script has one connection on its port: port sharing changes nothing the model decides.
        (Some("SOL_SOCKET"), Some("SO_REUSEPORT")) => Mapped::Answer(0),
        (level, name) => Mapped::Unsupported(format!(
            "setsockopt({}, {}) is not in the call vocabulary (model/src/call.rs)",
            level.unwrap_or("?"),
            name.unwrap_or("?")
        )),
    }
}

/// Where the option's name and expected value are: `getsockopt(fd, LEVEL,
/// NAME, [VALUE], [LEN])`, `ioctl(fd, NAME, [VALUE])`.
fn optval_arg(s: &Syscall) -> usize {
    if s.name == "ioctl" {
        2
    } else {
        3
    }
}

/// getsockopt/ioctl as `Call::Getsockopt`, when the vocabulary can read the
/// option (`SockOpt`, model/src/call.rs) and the script's value is a number
/// or an errno name.
fn getsockopt(s: &Syscall, sock: u32) -> Mapped {
    let a = &s.args;
    let name = word(a.get(optval_arg(s) - 1)).unwrap_or("?");
    let level = if s.name == "ioctl" {
        None
    } else {
        word(a.get(1))
    };
    let opt = match (level, name) {
        (Some("SOL_SOCKET"), "SO_ERROR" | "SO_RCVBUF" | "SO_SNDBUF") => SockOpt::parse(name),
        (Some("IPPROTO_TCP" | "SOL_TCP"), "TCP_LINGER2") => Some(SockOpt::Linger2),
        (None, "FIONREAD" | "SIOCINQ" | "SIOCOUTQ" | "SIOCOUTQNSD") => SockOpt::parse(name),
        _ => None,
    };
    let Some(opt) = opt else {
        // The TCP_KEEP* values are set by calls and knobs but not read back
        // by any SockOpt: comparing them would be made up.
        return Mapped::Unsupported(format!(
            "{}({}{name}): the call vocabulary cannot read this option back (SockOpt, model/src/call.rs)",
            s.name,
            level.map(|l| format!("{l}, ")).unwrap_or_default()
        ));
    };
    match a.get(optval_arg(s)).and_then(expected_optval) {
        Some(_) => Mapped::Call(Call::Getsockopt { sock, opt }),
        None => Mapped::Unsupported(format!(
            "{}({name}): cannot read the expected value",
            s.name
        )),
    }
}

/// The script's expected option value: a number, or an errno name (SO_ERROR).
enum OptVal {
    Num(i64),
    Errno(Errno),
}

fn expected_optval(e: &Expr) -> Option<OptVal> {
    match e {
        Expr::List(v) if v.len() == 1 => expected_optval(&v[0]),
        Expr::Int(n) => Some(OptVal::Num(*n)),
        Expr::Word(w) => Errno::parse(w).map(OptVal::Errno),
        _ => None,
    }
}

fn fcntl(s: &Syscall, sock: u32, nonblocking: bool, o_nonblock: i64) -> Mapped {
    match word(s.args.get(1)) {
        Some("F_SETFL") => {
            let on = words(s.args.get(2)).contains(&"O_NONBLOCK");
            Mapped::Call(Call::Nonblocking { sock, on })
        }
        // The file status flags are the descriptor's, set by the script's own F_SETFL.
        Some("F_GETFL") => Mapped::Answer(O_RDWR | if nonblocking { o_nonblock } else { 0 }),
        other => Mapped::Unsupported(format!("fcntl({}) is not modelled", other.unwrap_or("?"))),
    }
}

/// Script descriptors to the model's.
struct FdMap<'a>(&'a std::collections::BTreeMap<u32, u32>);

impl Rename<Fds, Fds> for FdMap<'_> {
    fn sock(&mut self, s: &u32) -> u32 {
        self.0.get(s).copied().unwrap_or(*s)
    }
    fn new_sock(&mut self, _: &()) {}
    fn host(&mut self, h: &u16) -> u16 {
        *h
    }
    fn proc(&mut self, p: &u32) -> u32 {
        *p
    }
}

impl Runner {
    /// Runs a system-call line.
    pub(super) fn syscall(&mut self, line: usize, s: &Syscall) -> Result<(), Failure> {
        let o_nonblock = if self.personality.name == "linux" {
            0x800
        } else {
            0x4
        };
        let nb = self.nonblocking.clone();
        let call = match map(s, |fd| nb.get(&fd).copied().unwrap_or(false), o_nonblock) {
            Mapped::Unsupported(reason) => {
                self.unsupported(line, reason);
                return Ok(());
            }
            Mapped::Answer(v) => return self.check_result(line, s, Ok(v.max(0) as u64)),
            Mapped::Call(c) => c,
        };
        if self.pending.is_some() {
            return Err(report::fail(line, "error executing system call: a blocking system call is still running (the model blocked it; one call at a time is supported)".into()));
        }
        let call = call.rename(&mut FdMap(&self.fds));
        if let Call::Nonblocking { sock, on } = call {
            self.nonblocking.insert(sock, on);
        }
        let mut out = Output::default();
        let now = self.instant();
        self.host.call(now, self.pid, call, &mut out);
        self.absorb(out);
        match self.done.take() {
            Some(result) => {
                let result = self.check_optval(line, s, result)?;
                self.check_result(line, s, result)?;
                self.note_fd(s, result);
                Ok(())
            }
            None => {
                let window = self.return_window(s);
                self.pending = Some(Pending {
                    line,
                    call: s.clone(),
                    window,
                });
                Ok(())
            }
        }
    }

    /// Whose errno numbers the messages print: FreeBSD's for every
    /// personality but `linux` (as SO_ERROR's value already did).
    pub(super) fn numbers(&self) -> report::Numbers {
        if self.personality.name == "linux" {
            report::Numbers::Linux
        } else {
            report::Numbers::FreeBsd
        }
    }

    /// The script's number for a descriptor the call created, as packetdrill maps them.
    pub(super) fn note_fd(&mut self, s: &Syscall, got: CallResult) {
        if let (true, Ok(fd)) = (matches!(s.name.as_str(), "socket" | "accept"), got) {
            if s.ret >= 0 {
                self.fds.insert(s.ret as u32, fd as u32);
                self.under_test = Some(s.ret as u32);
            }
        }
    }

    /// When a blocked call must return: its `...END`, or at once. END
    /// counts from what the line's START counts from (`run.c`
    /// `adjust_relative_event_times` adds the same offset to both).
    fn return_window(&self, s: &Syscall) -> (Usecs, Usecs) {
        use super::parse::Time;
        let t = match s.end {
            Some(Time::Abs(t)) => self.anchor_usecs + t,
            Some(Time::Rel(t)) => self.now_usecs + t,
            _ => self.now_usecs,
        };
        (t, t)
    }

    /// getsockopt/ioctl: the call succeeds with the option in its buffer, and
    /// the value is compared as `run_system_call.c` `syscall_getsockopt` does
    /// ("Bad getsockopt optval: expected: %d actual: %d"). SO_ERROR's value is
    /// the model's pending error (its step result, model/src/query.rs) as the
    /// platform numbers it, so an errno name compares by name. Returns the
    /// result left to compare with `= RET`.
    fn check_optval(
        &self,
        line: usize,
        s: &Syscall,
        got: CallResult,
    ) -> Result<CallResult, Failure> {
        if !matches!(s.name.as_str(), "getsockopt" | "ioctl") {
            return Ok(got);
        }
        let numbers = self.numbers();
        let number = |e: Errno| i64::from(report::Numbers::of(e, numbers));
        let is_so_error = word(s.args.get(2)) == Some("SO_ERROR");
        let actual = match got {
            Ok(v) => v as i64,
            Err(e) if is_so_error => number(e),
            Err(_) => return Ok(got),
        };
        let expected = match s.args.get(optval_arg(s)).and_then(expected_optval) {
            Some(OptVal::Num(n)) => n,
            Some(OptVal::Errno(e)) => number(e),
            None => return Ok(Ok(0)),
        };
        if expected != actual {
            return Err(report::fail(
                line,
                format!("runtime error in {} call: Bad {} optval: expected: {expected} actual: {actual}", s.name, s.name),
            ));
        }
        Ok(Ok(0))
    }

    /// `= RET [ERRNO]` against what the call returned.
    pub(super) fn check_result(
        &self,
        line: usize,
        s: &Syscall,
        got: CallResult,
    ) -> Result<(), Failure> {
        let (ret, errno) = match got {
            Ok(n) => (n as i64, None),
            Err(e) => (-1, Some(e)),
        };
        let fd_result = matches!(s.name.as_str(), "socket" | "accept");
        let ret_ok = if fd_result && s.ret >= 0 {
            ret >= 0
        } else {
            ret == s.ret
        };
        if !ret_ok {
            return Err(report::fail_syscall(line, s, ret, errno, self.numbers()));
        }
        if let Some(want) = &s.errno {
            if Errno::parse(want) != errno || errno.is_none() {
                return Err(report::fail_errno(
                    line,
                    &s.name,
                    want,
                    errno,
                    self.numbers(),
                ));
            }
        }
        Ok(())
    }
}
