//! The scenario's processes as real processes: each runs its steps with real
//! socket calls at their (scaled) times and reports every step's result to the
//! coordinator as one JSON line on a shared pipe (each line is written with a
//! single `write` well under PIPE_BUF, so lines from processes never mix).
//! `fork` steps are real `fork()`s: the child runs its own steps with copies
//! of every descriptor; `exit` is `_exit()`, so the kernel closes what is open.

use super::sys;
use serde::{Deserialize, Serialize};
use sim::spec::{Action, At, ProcId, WorldSpec};
use std::net::Ipv4Addr;

/// Largest buffer one write()/read() call uses; bigger transfers loop.
const IO_CHUNK_MAX: u64 = 64 << 20;
/// A read-until-EOF step reads this much per call (as the simulator does).
const READ_EOF_CHUNK: u64 = 1 << 20;

/// What a call returned: a count (or 0, or a descriptor) or an errno name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Res {
    Ok(u64),
    Err(String),
}

impl std::fmt::Display for Res {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Res::Ok(v) => write!(f, "{v}"),
            Res::Err(e) => f.write_str(e),
        }
    }
}

/// An IPv4 endpoint as (address, port).
pub type Ep = (Ipv4Addr, u16);

/// One report from a process. Times are ns since the scenario's time 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "kebab-case")]
pub enum Rec {
    /// A process started (top-level, or forked).
    Hello { proc: ProcId, pid: i32 },
    /// The process waits until `until` before its next step.
    Wait { proc: ProcId, step: u32, until: u64 },
    /// A step starts.
    Start { proc: ProcId, step: u32, t: u64 },
    /// A step finished.
    Done {
        proc: ProcId,
        step: u32,
        t0: u64,
        t: u64,
        res: Res,
        /// Bytes written or read by the step.
        moved: u64,
        /// The system calls made, as (call, result) text.
        calls: Vec<(String, String)>,
        /// The socket's (local, peer) endpoints, when known.
        conn: Option<(Ep, Ep)>,
        /// Who made the connection: true when this socket called connect().
        connector: bool,
    },
    /// The process ran out of steps (it keeps its descriptors open).
    Finished { proc: ProcId, t: u64 },
}

#[derive(Clone, Copy, Debug, Default)]
struct SlotState {
    fd: i32,
    bound: bool,
    conn: Option<(Ep, Ep)>,
    connector: bool,
}

/// What every process needs to run its steps.
pub struct Ctx<'a> {
    pub spec: &'a WorldSpec,
    pub proc_steps: Vec<Vec<u32>>,
    /// CLOCK_MONOTONIC ns of the scenario's time 0.
    pub t0: u64,
    pub scale: f64,
    /// The records pipe's write end.
    pub out_fd: i32,
    /// Each host's address.
    pub host_ip: Vec<Ipv4Addr>,
}

impl Ctx<'_> {
    fn send(&self, r: &Rec) {
        let mut line = serde_json::to_vec(r).expect("records serialize");
        line.push(b'\n');
        sys::write_all(self.out_fd, &line);
    }

    fn now(&self) -> u64 {
        sys::mono_ns().saturating_sub(self.t0)
    }

    fn scaled(&self, ns: u64) -> u64 {
        (ns as f64 * self.scale).round() as u64
    }
}

/// Runs process `p` from its first step, `start` being when it started (ns
/// since time 0). Never returns: the process ends by `_exit`, or waits to be
/// killed once it runs out of steps.
pub fn run_proc(cx: &Ctx, p: ProcId, slots: Vec<Option<SlotStateOpaque>>, start: u64) -> ! {
    // SAFETY: getpid has no arguments.
    let pid = unsafe { libc::getpid() };
    cx.send(&Rec::Hello { proc: p, pid });
    let mut w = Worker {
        cx,
        p,
        slots: slots.into_iter().map(|s| s.map(|o| o.0)).collect(),
    };
    let mut done_at = start;
    for &step in &cx.proc_steps[p as usize] {
        let s = &cx.spec.steps[step as usize];
        let at = match s.at {
            At::Next => done_at,
            At::Abs(t) => cx.scaled(t).max(done_at),
            At::After(d) => done_at + cx.scaled(d),
        };
        if at > cx.now() {
            cx.send(&Rec::Wait {
                proc: p,
                step,
                until: at,
            });
            sys::sleep_until(cx.t0 + at);
        }
        let t0 = cx.now();
        cx.send(&Rec::Start {
            proc: p,
            step,
            t: t0,
        });
        let out = w.exec(s.action);
        let t = cx.now();
        let sock = action_sock(s.action);
        let st = out
            .closed
            .or_else(|| sock.and_then(|k| w.slots.get(k as usize).copied().flatten()));
        cx.send(&Rec::Done {
            proc: p,
            step,
            t0,
            t,
            res: out.res,
            moved: out.moved,
            calls: out.calls,
            conn: st.and_then(|s| s.conn),
            connector: st.is_some_and(|s| s.connector),
        });
        if let Action::Exit = s.action {
            // SAFETY: ends this process; the kernel closes its descriptors.
            unsafe { libc::_exit(0) };
        }
        done_at = t;
    }
    cx.send(&Rec::Finished {
        proc: p,
        t: cx.now(),
    });
    loop {
        // SAFETY: waits for a signal (the coordinator's SIGKILL).
        unsafe { libc::pause() };
    }
}

/// A slot's state, opaque outside this module (passed across `fork`).
#[derive(Clone, Copy, Debug)]
pub struct SlotStateOpaque(SlotState);

/// The socket slot an action works on (the new one for accept/dup).
fn action_sock(a: Action) -> Option<u16> {
    Some(match a {
        Action::Socket { sock }
        | Action::Bind { sock, .. }
        | Action::Listen { sock, .. }
        | Action::Connect { sock, .. }
        | Action::Write { sock, .. }
        | Action::Read { sock, .. }
        | Action::ReadToEof { sock }
        | Action::Shutdown { sock, .. }
        | Action::Close { sock }
        | Action::Linger { sock, .. }
        | Action::Nonblocking { sock, .. }
        | Action::Keepalive { sock, .. }
        | Action::RcvBuf { sock, .. }
        | Action::SndBuf { sock, .. } => sock,
        Action::Accept { sock, .. } => sock,
        Action::Dup { new, .. } => new,
        Action::Fork { .. } | Action::Exit | Action::Sleep { .. } => return None,
    })
}

struct Outcome {
    res: Res,
    moved: u64,
    calls: Vec<(String, String)>,
    /// The state of a slot the step closed.
    closed: Option<SlotState>,
}

struct Worker<'a> {
    cx: &'a Ctx<'a>,
    p: ProcId,
    slots: Vec<Option<SlotState>>,
}

/// The result of a system call returning -1 on error.
fn res_of(r: isize) -> Res {
    if r < 0 {
        Res::Err(sys::errno_name(sys::errno()))
    } else {
        Res::Ok(r as u64)
    }
}

impl Worker<'_> {
    fn host_ip(&self) -> Ipv4Addr {
        let h = self.cx.spec.procs[self.p as usize].host;
        self.cx.host_ip[h as usize]
    }

    fn fd(&self, s: u16) -> i32 {
        self.slots[s as usize].map_or(-1, |x| x.fd)
    }

    /// Learns the socket's endpoints while it has a peer.
    fn note_conn(&mut self, s: u16) {
        if let Some(Some(st)) = self.slots.get_mut(s as usize) {
            if let (Some(l), Some(r)) = (sys::sock_name(st.fd, false), sys::sock_name(st.fd, true))
            {
                st.conn = Some((l, r));
            }
        }
    }

    fn exec(&mut self, a: Action) -> Outcome {
        let mut calls: Vec<(String, String)> = Vec::new();
        let mut moved = 0u64;
        let mut closed = None;
        let call = |text: String, r: Res, calls: &mut Vec<(String, String)>| {
            calls.push((text, r.to_string()));
            r
        };
        let res = match a {
            Action::Socket { sock } => {
                let r = self.socket(sock);
                call("socket()".into(), r, &mut calls)
            }
            Action::Bind { sock, port } => {
                let fd = self.fd(sock);
                let r = self.bind(sock, port);
                call(format!("bind({fd}, :{port})"), r, &mut calls)
            }
            Action::Listen {
                sock,
                port,
                backlog,
            } => 'l: {
                if self.slots[sock as usize].is_none() {
                    let r = call("socket()".into(), self.socket(sock), &mut calls);
                    if let Res::Err(_) = r {
                        break 'l r;
                    }
                }
                let fd = self.fd(sock);
                let r = call(
                    format!("bind({fd}, :{port})"),
                    self.bind(sock, port),
                    &mut calls,
                );
                if let Res::Err(_) = r {
                    break 'l r;
                }
                // SAFETY: listen has no memory arguments.
                let r = res_of(unsafe { libc::listen(fd, backlog as i32) } as isize);
                call(format!("listen({fd}, {backlog})"), r, &mut calls)
            }
            Action::Accept { listener, sock } => {
                let lfd = self.fd(listener);
                // SAFETY: null address arguments are allowed.
                let r = unsafe { libc::accept(lfd, std::ptr::null_mut(), std::ptr::null_mut()) };
                if r >= 0 {
                    self.slots[sock as usize] = Some(SlotState {
                        fd: r,
                        bound: true,
                        ..SlotState::default()
                    });
                    self.note_conn(sock);
                }
                call(format!("accept({lfd})"), res_of(r as isize), &mut calls)
            }
            Action::Connect { sock, host, port } => 'c: {
                if self.slots[sock as usize].is_none() {
                    let r = call("socket()".into(), self.socket(sock), &mut calls);
                    if let Res::Err(_) = r {
                        break 'c r;
                    }
                }
                let fd = self.fd(sock);
                if let Some(st) = self.slots[sock as usize].as_mut() {
                    st.connector = true;
                    if !st.bound {
                        // Bind to this host's own address so the two ends differ;
                        // the port is still chosen at connect() time.
                        sys::set_int_opt(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1);
                        let _ = self.bind(sock, 0);
                    }
                }
                let ip = self
                    .cx
                    .host_ip
                    .get(host as usize)
                    .copied()
                    .unwrap_or(Ipv4Addr::UNSPECIFIED);
                let sa = sys::sockaddr(ip, port);
                // SAFETY: a valid sockaddr_in and its size.
                let r = unsafe {
                    libc::connect(
                        fd,
                        &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                        std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    )
                };
                let r = res_of(r as isize);
                self.note_conn(sock);
                let name = &self.cx.spec.hosts[host as usize].name;
                call(format!("connect({fd}, {name}:{port})"), r, &mut calls)
            }
            Action::Write { sock, bytes } => {
                self.note_conn(sock);
                let fd = self.fd(sock);
                let r = self.write(fd, bytes);
                if let Res::Ok(n) = r {
                    moved = n;
                }
                call(format!("write({fd}, {bytes})"), r, &mut calls)
            }
            Action::Read { sock, max } => {
                self.note_conn(sock);
                let fd = self.fd(sock);
                let mut buf = vec![0u8; max.min(IO_CHUNK_MAX) as usize];
                let r = loop {
                    // SAFETY: the buffer is valid for its length.
                    let n = unsafe {
                        libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0)
                    };
                    if n < 0 && sys::errno() == libc::EINTR {
                        continue;
                    }
                    break res_of(n);
                };
                if let Res::Ok(n) = r {
                    moved = n;
                }
                call(format!("read({fd}, {max})"), r, &mut calls)
            }
            Action::ReadToEof { sock } => {
                self.note_conn(sock);
                let fd = self.fd(sock);
                let mut buf = vec![0u8; READ_EOF_CHUNK as usize];
                let mut n_calls = 0u64;
                let r = loop {
                    // SAFETY: the buffer is valid for its length.
                    let n = unsafe {
                        libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0)
                    };
                    n_calls += 1;
                    if n < 0 && sys::errno() == libc::EINTR {
                        continue;
                    }
                    match res_of(n) {
                        Res::Ok(0) => break Res::Ok(moved),
                        Res::Ok(k) => moved += k,
                        e => break e,
                    }
                };
                let last = match &r {
                    Res::Ok(_) => "0".to_string(),
                    Res::Err(e) => e.clone(),
                };
                calls.push((
                    format!("read({fd}, {READ_EOF_CHUNK}) ×{n_calls}"),
                    format!("{moved} bytes, then {last}"),
                ));
                r
            }
            Action::Shutdown { sock, how } => {
                let fd = self.fd(sock);
                let (h, name) = match how {
                    model::How::Rd => (libc::SHUT_RD, "SHUT_RD"),
                    model::How::Wr => (libc::SHUT_WR, "SHUT_WR"),
                    model::How::RdWr => (libc::SHUT_RDWR, "SHUT_RDWR"),
                };
                self.note_conn(sock);
                // SAFETY: shutdown has no memory arguments.
                let r = res_of(unsafe { libc::shutdown(fd, h) } as isize);
                call(format!("shutdown({fd}, {name})"), r, &mut calls)
            }
            Action::Close { sock } => {
                self.note_conn(sock);
                let fd = self.fd(sock);
                // SAFETY: closing the scenario's descriptor (-1 gives EBADF).
                let r = res_of(unsafe { libc::close(fd) } as isize);
                // The slot is emptied either way, as in the simulator; its
                // endpoints stay in the report.
                closed = self.slots[sock as usize].take();
                call(format!("close({fd})"), r, &mut calls)
            }
            Action::Linger { sock, linger } => {
                let fd = self.fd(sock);
                let l = libc::linger {
                    l_onoff: linger.is_some() as i32,
                    l_linger: linger.unwrap_or(0) as i32,
                };
                // SAFETY: a pointer to a live linger struct and its size.
                let r = unsafe {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        &l as *const libc::linger as *const libc::c_void,
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    )
                };
                call(
                    format!(
                        "setsockopt({fd}, SO_LINGER, {{{}, {}}})",
                        l.l_onoff, l.l_linger
                    ),
                    res_of(r as isize),
                    &mut calls,
                )
            }
            Action::Nonblocking { sock, on } => {
                let fd = self.fd(sock);
                // SAFETY: fcntl on the scenario's descriptor.
                let r = unsafe {
                    let fl = libc::fcntl(fd, libc::F_GETFL);
                    if fl < 0 {
                        fl
                    } else if on {
                        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK)
                    } else {
                        libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK)
                    }
                };
                call(
                    format!("fcntl({fd}, O_NONBLOCK={})", u8::from(on)),
                    res_of(r as isize),
                    &mut calls,
                )
            }
            Action::Keepalive { sock, on } => {
                let fd = self.fd(sock);
                let r = sys::set_int_opt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, i32::from(on));
                call(
                    format!("setsockopt({fd}, SO_KEEPALIVE, {})", u8::from(on)),
                    res_of(r as isize),
                    &mut calls,
                )
            }
            Action::RcvBuf { sock, bytes } | Action::SndBuf { sock, bytes } => {
                let fd = self.fd(sock);
                let (opt, name) = if matches!(a, Action::RcvBuf { .. }) {
                    (libc::SO_RCVBUF, "SO_RCVBUF")
                } else {
                    (libc::SO_SNDBUF, "SO_SNDBUF")
                };
                let r =
                    sys::set_int_opt(fd, libc::SOL_SOCKET, opt, bytes.min(i32::MAX as u32) as i32);
                call(
                    format!("setsockopt({fd}, {name}, {bytes})"),
                    res_of(r as isize),
                    &mut calls,
                )
            }
            Action::Dup { sock, new } => {
                let fd = self.fd(sock);
                // SAFETY: dup has no memory arguments.
                let r = unsafe { libc::dup(fd) };
                if r >= 0 {
                    let mut st = self.slots[sock as usize].unwrap_or_default();
                    st.fd = r;
                    self.slots[new as usize] = Some(st);
                }
                call(format!("dup({fd})"), res_of(r as isize), &mut calls)
            }
            Action::Fork { child } => {
                // SAFETY: this process is single-threaded; the child only runs its steps.
                let r = unsafe { libc::fork() };
                if r == 0 {
                    let start = self.cx.now();
                    let slots = self.slots.iter().map(|s| s.map(SlotStateOpaque)).collect();
                    run_proc(self.cx, child, slots, start);
                }
                let child_name = &self.cx.spec.procs[child as usize].name;
                call(
                    format!("fork() → {child_name}"),
                    res_of(r as isize),
                    &mut calls,
                )
            }
            Action::Exit => call("exit()".into(), Res::Ok(0), &mut calls),
            Action::Sleep { ns } => {
                sys::sleep_until(sys::mono_ns() + self.cx.scaled(ns));
                call(format!("sleep {} ms", model_ms(ns)), Res::Ok(0), &mut calls)
            }
        };
        Outcome {
            res,
            moved,
            calls,
            closed,
        }
    }

    fn socket(&mut self, sock: u16) -> Res {
        // SAFETY: socket has no memory arguments.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        if fd >= 0 {
            self.slots[sock as usize] = Some(SlotState {
                fd,
                ..SlotState::default()
            });
        }
        res_of(fd as isize)
    }

    /// bind() to this host's address, without SO_REUSEADDR (the scenario
    /// language has no such option, and the model's bind conflicts with every
    /// socket holding the port, TIME-WAIT included, as Linux's does without it).
    fn bind(&mut self, sock: u16, port: u16) -> Res {
        let fd = self.fd(sock);
        let sa = sys::sockaddr(self.host_ip(), port);
        // SAFETY: a valid sockaddr_in and its size.
        let r = unsafe {
            libc::bind(
                fd,
                &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r == 0 {
            if let Some(st) = self.slots[sock as usize].as_mut() {
                st.bound = true;
            }
        }
        res_of(r as isize)
    }

    /// A write() of `bytes`: one call for up to IO_CHUNK_MAX, a loop beyond.
    fn write(&mut self, fd: i32, bytes: u64) -> Res {
        let buf = vec![0u8; bytes.min(IO_CHUNK_MAX) as usize];
        let mut total = 0u64;
        loop {
            let k = (bytes - total).min(buf.len() as u64) as usize;
            // SAFETY: the buffer is valid for k ≤ its length.
            let n = unsafe {
                libc::send(
                    fd,
                    buf.as_ptr() as *const libc::c_void,
                    k,
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                let e = sys::errno();
                if e == libc::EINTR {
                    continue;
                }
                return if total > 0 {
                    Res::Ok(total)
                } else {
                    Res::Err(sys::errno_name(e))
                };
            }
            total += n as u64;
            if total >= bytes || (n as usize) < k {
                return Res::Ok(total);
            }
        }
    }
}

fn model_ms(ns: u64) -> String {
    sim::report::ms(ns)
}
