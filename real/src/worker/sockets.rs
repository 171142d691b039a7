//! The socket calls that make, connect, configure or query a socket and
//! return without moving data: socket, bind, connect, accept, dup, the
//! options, poll and select, getsockopt and ioctl.

use super::{res_of, Res, SlotState, Worker};
use crate::sys;
use model::call::{Call, SockOpt};
use sim::spec::Action;
use std::net::Ipv4Addr;

impl Worker<'_> {
    fn host_ip(&self) -> Ipv4Addr {
        let h = self.cx.spec.procs[self.p as usize].host;
        self.cx.host_ip[h as usize]
    }

    pub(super) fn socket(&mut self, sock: u16) -> Res {
        // SAFETY: socket has no memory arguments.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        if fd >= 0 {
            // The congestion control the model follows (plan::CONGESTION_CONTROL).
            // A failure shows as this socket() failing, not as a silent
            // difference in timing.
            if let Err(e) = sys::set_congestion(fd, crate::plan::CONGESTION_CONTROL) {
                // SAFETY: closing the descriptor just created.
                unsafe { libc::close(fd) };
                return Res::Err(sys::errno_name(e.raw_os_error().unwrap_or(libc::EPERM)));
            }
            self.slots.set(
                sock,
                Some(SlotState {
                    fd,
                    ..SlotState::default()
                }),
            );
        }
        res_of(fd as isize)
    }

    /// bind() to this host's address, without SO_REUSEADDR (the scenario
    /// language has no such option, and the model's bind conflicts with every
    /// socket holding the port, TIME-WAIT included, as Linux's does without it).
    pub(super) fn bind(&mut self, sock: u16, port: u16) -> Res {
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
            self.slots.update(sock, |st| st.bound = true);
        }
        res_of(r as isize)
    }

    pub(super) fn connect(&mut self, sock: u16, host: u16, port: u16) -> Res {
        let fd = self.fd(sock);
        if self.slots.get(sock).is_some_and(|st| !st.bound) {
            // Bind to this host's own address so the two ends differ;
            // the port is still chosen at connect() time.
            sys::set_int_opt(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1);
            let _ = self.bind(sock, 0);
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
        // errno first: learning the endpoints makes calls of its own.
        let r = res_of(r as isize);
        self.note_conn(sock);
        r
    }

    pub(super) fn listen(&mut self, sock: u16, backlog: u32) -> Res {
        // SAFETY: listen has no memory arguments.
        res_of(unsafe { libc::listen(self.fd(sock), backlog as i32) } as isize)
    }

    pub(super) fn shutdown(&mut self, sock: u16, how: model::How) -> Res {
        let h = match how {
            model::How::Rd => libc::SHUT_RD,
            model::How::Wr => libc::SHUT_WR,
            model::How::RdWr => libc::SHUT_RDWR,
        };
        self.note_conn(sock);
        // SAFETY: shutdown has no memory arguments.
        res_of(unsafe { libc::shutdown(self.fd(sock), h) } as isize)
    }

    pub(super) fn accept(&mut self, listener: u16, new: u16) -> Res {
        let lfd = self.fd(listener);
        // SAFETY: null address arguments are allowed.
        let r = unsafe { libc::accept(lfd, std::ptr::null_mut(), std::ptr::null_mut()) };
        if r >= 0 {
            self.slots.set(
                new,
                Some(SlotState {
                    fd: r,
                    bound: true,
                    ..SlotState::default()
                }),
            );
            self.note_conn(new);
        }
        res_of(r as isize)
    }

    pub(super) fn dup(&mut self, sock: u16, new: u16) -> Res {
        // SAFETY: dup has no memory arguments.
        let r = unsafe { libc::dup(self.fd(sock)) };
        if r >= 0 {
            let mut st = self.slots.get(sock).unwrap_or_default();
            st.fd = r;
            self.slots.set(new, Some(st));
        }
        res_of(r as isize)
    }

    /// setsockopt() and fcntl() calls that set one option and return at once.
    pub(super) fn option_call(&mut self, c: &Action) -> Res {
        let bool_opt = |fd, name, on: bool| {
            res_of(sys::set_int_opt(fd, libc::SOL_SOCKET, name, i32::from(on)) as isize)
        };
        let tcp_opt = |fd, name, on: bool| {
            res_of(sys::set_int_opt(fd, libc::IPPROTO_TCP, name, i32::from(on)) as isize)
        };
        match *c {
            Call::Linger { sock, linger } => self.linger(self.fd(sock), linger),
            Call::Nonblocking { sock, on } => nonblocking(self.fd(sock), on),
            Call::Keepalive { sock, on } => bool_opt(self.fd(sock), libc::SO_KEEPALIVE, on),
            Call::ReuseAddr { sock, on } => bool_opt(self.fd(sock), libc::SO_REUSEADDR, on),
            Call::NoDelay { sock, on } => tcp_opt(self.fd(sock), libc::TCP_NODELAY, on),
            Call::Cork { sock, on } => tcp_opt(self.fd(sock), libc::TCP_CORK, on),
            Call::RcvBuf { sock, bytes } => self.buf_opt(sock, libc::SO_RCVBUF, bytes),
            Call::SndBuf { sock, bytes } => self.buf_opt(sock, libc::SO_SNDBUF, bytes),
            _ => unreachable!("not an option call"),
        }
    }

    fn linger(&mut self, fd: i32, linger: Option<u32>) -> Res {
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
        res_of(r as isize)
    }

    fn buf_opt(&mut self, sock: u16, opt: i32, bytes: u32) -> Res {
        let v = bytes.min(i32::MAX as u32) as i32;
        res_of(sys::set_int_opt(self.fd(sock), libc::SOL_SOCKET, opt, v) as isize)
    }

    /// poll(), getsockopt()/ioctl() and the timeout options.
    pub(super) fn query_call(&mut self, c: &Action) -> Res {
        match *c {
            Call::Poll {
                events, timeout, ..
            } => self.poll(c, events, timeout),
            Call::Select { sets, timeout, .. } => self.select(c, sets, timeout),
            Call::Getsockopt { sock, opt } => {
                self.note_conn(sock);
                getsockopt(self.fd(sock), opt)
            }
            Call::RcvTimeo { sock, ns } => {
                let ns = self.cx.scaled(ns.as_ns());
                res_of(sys::set_timeval_opt(self.fd(sock), libc::SO_RCVTIMEO, ns) as isize)
            }
            Call::SndTimeo { sock, ns } => {
                let ns = self.cx.scaled(ns.as_ns());
                res_of(sys::set_timeval_opt(self.fd(sock), libc::SO_SNDTIMEO, ns) as isize)
            }
            _ => unreachable!("not a query or timeout call"),
        }
    }

    /// The descriptors of the sockets a poll or select step watches, in
    /// lane order, each socket's endpoints learnt first.
    fn watched_fds(&mut self, c: &Action) -> Vec<i32> {
        let socks: Vec<u16> = c.watched().copied().collect();
        socks.iter().for_each(|s| self.note_conn(*s));
        socks.iter().map(|s| self.fd(*s)).collect()
    }

    /// poll() over the step's sockets: each one's revents in its lane, as
    /// the model packs them.
    fn poll(&mut self, c: &Action, events: u32, timeout: Option<model::Duration>) -> Res {
        let fds = self.watched_fds(c);
        let wait = timeout.map(|d| self.cx.scaled(d.as_ns()));
        let lane = |(i, r): (usize, &i16)| {
            u64::from(*r as u16) << (model::call::poll_bits::LANE_BITS as usize * i)
        };
        match sys::poll_fds(&fds, events as i16, wait) {
            Ok(revents) => Res::Ok(revents.iter().enumerate().map(lane).sum()),
            Err(e) => Res::Err(sys::errno_name(e)),
        }
    }

    /// select() (pselect6) over the step's sockets: each one's sets in its
    /// lane, as the model packs them.
    fn select(&mut self, c: &Action, sets: u32, timeout: Option<model::Duration>) -> Res {
        use model::call::select_sets::{EXCEPTFDS, NAMES, READFDS, WRITEFDS};
        let fds = self.watched_fds(c);
        let wait = timeout.map(|d| self.cx.scaled(d.as_ns()));
        let asked = [READFDS, WRITEFDS, EXCEPTFDS].map(|b| sets & b != 0);
        let lane = |(i, inset): (usize, &[bool; 3])| {
            let bits = NAMES.iter().zip(inset).filter(|(_, on)| **on);
            let v = bits.fold(0u64, |acc, ((b, _), _)| acc | u64::from(*b));
            v << (model::call::poll_bits::LANE_BITS as usize * i)
        };
        match sys::select_fds(&fds, asked, wait) {
            Ok(each) => Res::Ok(each.iter().enumerate().map(lane).sum()),
            Err(e) => Res::Err(sys::errno_name(e)),
        }
    }
}

/// getsockopt()/ioctl() of one option: SO_ERROR's pending error as the
/// result (as the model gives it), the others as numbers.
fn getsockopt(fd: i32, opt: SockOpt) -> Res {
    // include/uapi/linux/sockios.h: SIOCINQ = FIONREAD, SIOCOUTQ = TIOCOUTQ,
    // SIOCOUTQNSD = 0x894B.
    const SIOCOUTQNSD: libc::c_ulong = 0x894B;
    let v = match opt {
        SockOpt::SoError => match sys::get_opt::<i32>(fd, libc::SOL_SOCKET, libc::SO_ERROR) {
            Ok(0) => Ok(0),
            Ok(e) => return Res::Err(sys::errno_name(e)),
            Err(e) => Err(e),
        },
        SockOpt::LingerOnOff | SockOpt::LingerTime => {
            sys::get_opt::<libc::linger>(fd, libc::SOL_SOCKET, libc::SO_LINGER).map(|l| match opt {
                SockOpt::LingerOnOff => l.l_onoff,
                _ => l.l_linger,
            })
        }
        SockOpt::Linger2 => sys::get_opt::<i32>(fd, libc::IPPROTO_TCP, libc::TCP_LINGER2),
        SockOpt::InQ => sys::ioctl_int(fd, libc::FIONREAD as libc::c_ulong),
        SockOpt::OutQ => sys::ioctl_int(fd, libc::TIOCOUTQ as libc::c_ulong),
        SockOpt::OutQNsd => sys::ioctl_int(fd, SIOCOUTQNSD),
        SockOpt::RcvBuf => sys::get_opt::<i32>(fd, libc::SOL_SOCKET, libc::SO_RCVBUF),
        SockOpt::SndBuf => sys::get_opt::<i32>(fd, libc::SOL_SOCKET, libc::SO_SNDBUF),
        SockOpt::TcpState => sys::get_opt::<libc::tcp_info>(fd, libc::IPPROTO_TCP, libc::TCP_INFO)
            .map(|i| linux_state(i.tcpi_state).map_or(-1, |s| s.code() as i32)),
    };
    match v {
        Ok(n) => Res::Ok(n.max(0) as u64),
        Err(e) => Res::Err(sys::errno_name(e)),
    }
}

/// A Linux `tcpi_state` (include/net/tcp_states.h: TCP_ESTABLISHED = 1 …
/// TCP_CLOSING = 11) as the model's state.
fn linux_state(n: u8) -> Option<model::State> {
    use model::State::*;
    const BY_NUMBER: [model::State; 11] = [
        Established,
        SynSent,
        SynReceived,
        FinWait1,
        FinWait2,
        TimeWait,
        Closed,
        CloseWait,
        LastAck,
        Listen,
        Closing,
    ];
    BY_NUMBER.get(usize::from(n).checked_sub(1)?).copied()
}

/// O_NONBLOCK on or off.
fn nonblocking(fd: i32, on: bool) -> Res {
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
    res_of(r as isize)
}
