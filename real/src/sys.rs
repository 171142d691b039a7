//! Thin wrappers over the system calls `tcpsim real` makes: errno names,
//! IPv4 socket addresses, clocks, interface ioctls and network namespaces.
//! Everything unsafe in `real` is in this file or calls through it.

use std::ffi::CString;
use std::net::Ipv4Addr;

/// The calling thread's errno.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The name of an errno value, as programs print it (`ECONNRESET`).
pub fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EAGAIN => "EAGAIN",
        libc::EPIPE => "EPIPE",
        libc::ECONNRESET => "ECONNRESET",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ENOTCONN => "ENOTCONN",
        libc::EISCONN => "EISCONN",
        libc::EINVAL => "EINVAL",
        libc::EBADF => "EBADF",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::EALREADY => "EALREADY",
        libc::ESHUTDOWN => "ESHUTDOWN",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EDOM => "EDOM",
        libc::EINTR => "EINTR",
        libc::ENOBUFS => "ENOBUFS",
        libc::ENOMEM => "ENOMEM",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EMFILE => "EMFILE",
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::ENOTTY => "ENOTTY",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// `sockaddr_in` for an address and port.
pub fn sockaddr(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = port.to_be();
    sa.sin_addr = libc::in_addr {
        s_addr: u32::from(ip).to_be(),
    };
    sa
}

/// (address, port) of a `sockaddr_in`.
pub fn from_sockaddr(sa: &libc::sockaddr_in) -> (Ipv4Addr, u16) {
    (
        Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
        u16::from_be(sa.sin_port),
    )
}

/// getsockname() or getpeername() of an IPv4 socket.
pub fn sock_name(fd: i32, peer: bool) -> Option<(Ipv4Addr, u16)> {
    // SAFETY: zeroed sockaddr_in and its length are passed to the kernel, which fills them.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let p = &mut sa as *mut libc::sockaddr_in as *mut libc::sockaddr;
    let r = unsafe {
        if peer {
            libc::getpeername(fd, p, &mut len)
        } else {
            libc::getsockname(fd, p, &mut len)
        }
    };
    (r == 0 && sa.sin_family == libc::AF_INET as libc::sa_family_t).then(|| from_sockaddr(&sa))
}

/// setsockopt with an `int` value.
pub fn set_int_opt(fd: i32, level: i32, name: i32, v: i32) -> i32 {
    // SAFETY: a pointer to a live i32 and its size.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &v as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    }
}

/// getsockopt of a value of type `T` (an `int`, a `struct linger`); -1 on error.
pub fn get_opt<T: Copy>(fd: i32, level: i32, name: i32) -> Result<T, i32> {
    // SAFETY: only used with plain C types (int, struct linger), for which zero is valid.
    let mut v: T = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: a pointer to a live T and its size, which the kernel writes at most.
    let r = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            &mut v as *mut T as *mut libc::c_void,
            &mut len,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(v)
    }
}

/// An ioctl that reads an `int` (FIONREAD, SIOCOUTQ, SIOCOUTQNSD).
pub fn ioctl_int(fd: i32, request: libc::c_ulong) -> Result<i32, i32> {
    let mut v: i32 = 0;
    // SAFETY: the request writes one int through the pointer.
    let r = unsafe { libc::ioctl(fd, request as _, &mut v as *mut i32) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(v)
    }
}

/// setsockopt of a `struct timeval` (SO_RCVTIMEO, SO_SNDTIMEO).
pub fn set_timeval_opt(fd: i32, name: i32, ns: u64) -> i32 {
    let tv = libc::timeval {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_usec: (ns % 1_000_000_000 / 1_000) as libc::suseconds_t,
    };
    // SAFETY: a pointer to a live timeval and its size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    }
}

/// ppoll() of one descriptor for `events`, waiting at most `ns` (None:
/// forever): its revents, 0 on timeout, or the errno. EINTR is retried with
/// what is left of the wait.
pub fn poll_one(fd: i32, events: i16, ns: Option<u64>) -> Result<i16, i32> {
    poll_fds(&[fd], events, ns).map(|r| r[0])
}

/// ppoll() on several descriptors for the same events, restarted on EINTR
/// with what is left of `ns` (none: no limit): each one's revents, all 0
/// when the time ran out.
pub fn poll_fds(fds: &[i32], events: i16, ns: Option<u64>) -> Result<Vec<i16>, i32> {
    let end = ns.map(|n| mono_ns() + n);
    loop {
        let mut p: Vec<libc::pollfd> = fds
            .iter()
            .map(|&fd| libc::pollfd {
                fd,
                events,
                revents: 0,
            })
            .collect();
        let ts = time_left(end);
        let tsp = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: p.len() live pollfds; a live timespec or null; no signal mask.
        let r = unsafe {
            libc::ppoll(
                p.as_mut_ptr(),
                p.len() as libc::nfds_t,
                tsp,
                std::ptr::null(),
            )
        };
        match r {
            r if r < 0 && errno() == libc::EINTR => continue,
            r if r < 0 => return Err(errno()),
            _ => return Ok(p.iter().map(|p| p.revents).collect()),
        }
    }
}

/// What is left until `end` (monotonic ns) as the timespec ppoll/pselect
/// take; none waits until a descriptor is ready.
fn time_left(end: Option<u64>) -> Option<libc::timespec> {
    end.map(|e| {
        let n = e.saturating_sub(mono_ns());
        libc::timespec {
            tv_sec: (n / 1_000_000_000) as libc::time_t,
            tv_nsec: (n % 1_000_000_000) as libc::c_long,
        }
    })
}

/// pselect6() over `fds`, each asked for the sets in `asked` (readfds,
/// writefds, exceptfds), for at most `ns` (none: until one is ready),
/// retried on EINTR: for each descriptor, which of the three it is in.
pub fn select_fds(fds: &[i32], asked: [bool; 3], ns: Option<u64>) -> Result<Vec<[bool; 3]>, i32> {
    // A slot with no descriptor (-1) is what select(2) calls a descriptor
    // not open; FD_SET must not see it, nor one past FD_SETSIZE.
    if fds.iter().any(|&fd| fd < 0) {
        return Err(libc::EBADF);
    }
    if fds.iter().any(|&fd| fd >= libc::FD_SETSIZE as i32) {
        return Err(libc::EINVAL);
    }
    let end = ns.map(|n| mono_ns() + n);
    let nfds = fds.iter().copied().max().unwrap_or(0) + 1;
    loop {
        // SAFETY: fd_set is plain data; FD_ZERO/FD_SET on live sets, fds < FD_SETSIZE.
        let mut sets: [libc::fd_set; 3] = unsafe { std::mem::zeroed() };
        for (set, on) in sets.iter_mut().zip(asked) {
            for &fd in fds.iter().filter(|_| on) {
                unsafe { libc::FD_SET(fd, set) };
            }
        }
        let ts = time_left(end);
        let tsp = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        let [r, w, x] = &mut sets;
        // SAFETY: three live fd_sets, a live timespec or null, no signal mask.
        let n = unsafe { libc::pselect(nfds, r, w, x, tsp, std::ptr::null()) };
        match n {
            n if n < 0 && errno() == libc::EINTR => continue,
            n if n < 0 => return Err(errno()),
            // SAFETY: FD_ISSET on the live sets pselect filled in.
            _ => {
                let each = |fd: i32| sets.each_ref().map(|s| unsafe { libc::FD_ISSET(fd, s) });
                return Ok(fds.iter().map(|&fd| each(fd)).collect());
            }
        }
    }
}

/// setsockopt(TCP_CONGESTION): the socket's congestion control by name.
pub fn set_congestion(fd: i32, name: &str) -> std::io::Result<()> {
    // SAFETY: a pointer to the name's bytes and their length.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_ptr() as *const libc::c_void,
            name.len() as libc::socklen_t,
        )
    };
    match r {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn mono_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME in nanoseconds.
pub fn real_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    // SAFETY: clock_gettime fills the timespec.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Sleeps until CLOCK_MONOTONIC reaches `at_ns` (absolute).
pub fn sleep_until(at_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (at_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (at_ns % 1_000_000_000) as libc::c_long,
    };
    loop {
        // SAFETY: a valid timespec; a null remainder is allowed with TIMER_ABSTIME.
        let r = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
        if r != libc::EINTR {
            return;
        }
    }
}

/// Writes all of `buf` to a descriptor (records are small: one write each).
pub fn write_all(fd: i32, buf: &[u8]) {
    let mut off = 0;
    while off < buf.len() {
        // SAFETY: the slice is valid for its length.
        let n = unsafe {
            libc::write(
                fd,
                buf[off..].as_ptr() as *const libc::c_void,
                buf.len() - off,
            )
        };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return;
        }
        off += n as usize;
    }
}

/// A pipe (read end, write end), close-on-exec.
pub fn pipe() -> std::io::Result<(i32, i32)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

pub fn close(fd: i32) {
    // SAFETY: closing a descriptor we own.
    unsafe { libc::close(fd) };
}

pub fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// The netns of the calling thread, as a descriptor (for `setns`).
pub fn netns_fd() -> std::io::Result<i32> {
    open_path("/proc/thread-self/ns/net", libc::O_RDONLY | libc::O_CLOEXEC)
}

pub fn open_path(path: &str, flags: i32) -> std::io::Result<i32> {
    let c = CString::new(path).expect("no NUL in paths");
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(fd)
    }
}

/// Moves the calling thread into a new network namespace.
pub fn unshare_net() -> std::io::Result<()> {
    // SAFETY: unshare has no memory arguments.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the calling thread into the network namespace `fd`.
pub fn setns(fd: i32) -> std::io::Result<()> {
    // SAFETY: setns has no memory arguments.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Writes a sysctl of the calling thread's network namespace, e.g.
/// `net.ipv4.tcp_fin_timeout`.
pub fn write_sysctl(name: &str, value: &str) -> std::io::Result<()> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::write(&path, format!("{value}\n"))
}

pub fn read_sysctl(name: &str) -> Option<String> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn ifreq(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data; all-zero is valid.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in name.bytes().take(libc::IFNAMSIZ - 1).enumerate() {
        r.ifr_name[i] = b as libc::c_char;
    }
    r
}

fn ctl_socket() -> std::io::Result<i32> {
    // SAFETY: socket has no memory arguments.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(s)
    }
}

fn ioctl(s: i32, req: libc::c_ulong, r: &mut libc::ifreq) -> std::io::Result<()> {
    // SAFETY: the request matches the ifreq layout the kernel expects.
    if unsafe { libc::ioctl(s, req as _, r as *mut libc::ifreq) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sets an interface's MTU and IPv4 address/netmask (if given) and brings it up,
/// in the calling thread's network namespace.
pub fn if_setup(
    name: &str,
    mtu: Option<u32>,
    addr: Option<(Ipv4Addr, Ipv4Addr)>,
) -> std::io::Result<()> {
    let s = ctl_socket()?;
    let res = (|| {
        if let Some(mtu) = mtu {
            let mut r = ifreq(name);
            r.ifr_ifru.ifru_mtu = mtu as i32;
            ioctl(s, libc::SIOCSIFMTU, &mut r)?;
        }
        if let Some((ip, mask)) = addr {
            let mut r = ifreq(name);
            let sa = sockaddr(ip, 0);
            // SAFETY: sockaddr_in fits in the sockaddr union member.
            r.ifr_ifru.ifru_addr =
                unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sa) };
            ioctl(s, libc::SIOCSIFADDR, &mut r)?;
            let mut r = ifreq(name);
            let sa = sockaddr(mask, 0);
            r.ifr_ifru.ifru_netmask =
                unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sa) };
            ioctl(s, libc::SIOCSIFNETMASK, &mut r)?;
        }
        let mut r = ifreq(name);
        ioctl(s, libc::SIOCGIFFLAGS, &mut r)?;
        // SAFETY: SIOCGIFFLAGS filled the flags member.
        unsafe { r.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
        ioctl(s, libc::SIOCSIFFLAGS, &mut r)?;
        Ok(())
    })();
    close(s);
    res
}

/// Sets an interface's transmit queue length (`ip link set NAME txqueuelen
/// LEN`) in the calling thread's network namespace.
pub fn if_txqueuelen(name: &str, len: u32) -> std::io::Result<()> {
    let s = ctl_socket()?;
    let mut r = ifreq(name);
    r.ifr_ifru.ifru_metric = len as i32; // ifr_qlen shares the union with ifr_metric
    let res = ioctl(s, libc::SIOCSIFTXQLEN, &mut r);
    close(s);
    res
}

/// Creates a TUN device (IPv4 packets, no packet-info header) in the calling
/// thread's network namespace; returns its descriptor (non-blocking).
pub fn tun_open(name: &str) -> std::io::Result<i32> {
    let fd = open_path(
        "/dev/net/tun",
        libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
    )?;
    let mut r = ifreq(name);
    r.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF takes an ifreq.
    if unsafe { libc::ioctl(fd, libc::TUNSETIFF as _, &mut r as *mut libc::ifreq) } != 0 {
        let e = std::io::Error::last_os_error();
        close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// The index of an interface in the calling thread's namespace.
pub fn if_index(name: &str) -> Option<i32> {
    let c = CString::new(name).ok()?;
    // SAFETY: a NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i as i32)
}

/// Counters in memory shared with every process forked after it is made
/// (an anonymous MAP_SHARED mapping), unmapped when dropped.
pub struct SharedCounters {
    ptr: *mut std::sync::atomic::AtomicU64,
    len: usize,
}

impl SharedCounters {
    /// `len` counters, all 0.
    pub fn new(len: usize) -> std::io::Result<SharedCounters> {
        let bytes = len.max(1) * std::mem::size_of::<u64>();
        // SAFETY: a fresh anonymous mapping; no memory of ours is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(SharedCounters {
            ptr: ptr as *mut std::sync::atomic::AtomicU64,
            len,
        })
    }

    pub fn get(&self) -> &[std::sync::atomic::AtomicU64] {
        // SAFETY: the mapping holds `len` zero-filled, aligned u64s for as
        // long as self lives; AtomicU64 has u64's layout.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for SharedCounters {
    fn drop(&mut self) {
        let bytes = self.len.max(1) * std::mem::size_of::<u64>();
        // SAFETY: unmapping the mapping made in new().
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, bytes) };
    }
}

/// An exclusive `flock` on a file, held until dropped: kernel runs that
/// take the same lock never overlap (two at once disturb each other's
/// timing on a small machine).
pub struct FileLock(std::fs::File);

impl FileLock {
    /// Opens (creating) `path` and waits for the lock.
    pub fn take(path: &std::path::Path) -> std::io::Result<FileLock> {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        // SAFETY: flock on a descriptor `f` owns.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(FileLock(f))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `take`; closing the file would release it too.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// The calling thread under `SCHED_FIFO` until dropped, then back under the
/// policy it had. Processes and threads it starts meanwhile inherit the
/// policy (sched(7): a child created by fork(2) inherits the scheduling
/// policy and parameters).
pub struct RealTime {
    policy: i32,
    param: libc::sched_param,
}

impl RealTime {
    /// Takes `SCHED_FIFO` at `priority` (1-99); Err when not permitted
    /// (no CAP_SYS_NICE, an RLIMIT_RTPRIO below it, a cgroup without
    /// real-time runtime).
    pub fn enter(priority: i32) -> std::io::Result<RealTime> {
        // SAFETY: the calling thread's policy; sched_param is plain data.
        let policy = unsafe { libc::sched_getscheduler(0) };
        let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
        if policy < 0 || unsafe { libc::sched_getparam(0, &mut param) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let rt = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: a valid sched_param for the calling thread.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &rt) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(RealTime { policy, param })
    }
}

impl Drop for RealTime {
    fn drop(&mut self) {
        // SAFETY: the policy and parameters read in `enter`.
        unsafe { libc::sched_setscheduler(0, self.policy, &self.param) };
    }
}
