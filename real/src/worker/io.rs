//! The calls that move data: a read step's recv(), a write step's send()
//! calls, each with the step's timeout as a poll() before it.

use super::{res_of, Res, Worker, IO_BUF_MAX, IO_CHUNK_MAX};
use crate::sys;

impl Worker<'_> {
    /// A read step of at most `max` bytes: one recv() (EINTR retried); with
    /// a step's timeout, a poll() for data first, which running out is
    /// EAGAIN, and a non-blocking recv() after it: another reader of the
    /// socket (a thread) may take the data between the two, and a blocking
    /// recv() would then wait past the timeout, for ever if nothing more comes.
    pub(super) fn read_call(
        &mut self,
        sock: u16,
        max: u64,
        timeout: Option<model::Duration>,
    ) -> Res {
        self.note_conn(sock);
        let wait = timeout.map(|d| self.cx.scaled(d.as_ns()));
        self.recv(self.fd(sock), max, wait, 0)
    }

    /// A peek step: recv(MSG_PEEK), without a wait.
    pub(super) fn peek_call(&mut self, sock: u16, len: u64) -> Res {
        self.note_conn(sock);
        self.recv(self.fd(sock), len, None, libc::MSG_PEEK)
    }

    /// recv() with `flags` (MSG_PEEK for a peek step), after an optional wait.
    fn recv(&mut self, fd: i32, max: u64, wait_ns: Option<u64>, flags: i32) -> Res {
        let len = max.min(IO_CHUNK_MAX) as usize;
        let mut own = Vec::new();
        let buf = if len <= self.io.len() {
            &mut self.io[..len]
        } else {
            own.resize(len, 0u8);
            &mut own[..]
        };
        recv_within(fd, buf, flags, wait_ns)
    }

    /// A write step's send() calls: MSG_MORE with `more`, a scaled timeout.
    pub(super) fn write_call(
        &mut self,
        sock: u16,
        bytes: u64,
        more: bool,
        timeout: Option<model::Duration>,
    ) -> Res {
        self.note_conn(sock);
        let wait = timeout.map(|d| self.cx.scaled(d.as_ns()));
        let more = if more { libc::MSG_MORE } else { 0 };
        self.write(self.fd(sock), bytes, wait, more)
    }

    /// A write() of `bytes`: send() calls of up to IO_BUF_MAX each, until
    /// `bytes` are written; `more_flag` is MSG_MORE or 0. With a step's
    /// timeout, each send waits for room by poll() (what is left of the
    /// wait) and does not block; running out returns the count so far, or
    /// EAGAIN, as a send with SO_SNDTIMEO does.
    fn write(&mut self, fd: i32, bytes: u64, wait_ns: Option<u64>, more_flag: i32) -> Res {
        let buf = &self.io[..(bytes.min(IO_BUF_MAX) as usize).min(self.io.len())];
        let mut total = 0u64;
        let end = step_wait(fd, wait_ns).map(|n| sys::mono_ns() + n);
        loop {
            let k = (bytes - total).min(buf.len() as u64) as usize;
            let mut flags = libc::MSG_NOSIGNAL | more_flag;
            if let Some(end) = end {
                let left = end.saturating_sub(sys::mono_ns());
                match sys::poll_one(fd, libc::POLLOUT, Some(left)) {
                    Ok(0) if total > 0 => return Res::Ok(total),
                    Ok(0) => return Res::Err("EAGAIN".into()),
                    _ => flags |= libc::MSG_DONTWAIT,
                }
            }
            // SAFETY: the buffer is valid for k ≤ its length.
            let n = unsafe { libc::send(fd, buf.as_ptr() as *const libc::c_void, k, flags) };
            if n < 0 {
                let e = sys::errno();
                if e == libc::EINTR || (end.is_some() && e == libc::EAGAIN) {
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

/// recv() into `buf` (EINTR retried); with `wait_ns`, a poll() for data
/// first, which running out is EAGAIN, then a non-blocking recv(), polling
/// again when another reader took the data in between (see `Worker::recv`).
fn recv_within(fd: i32, buf: &mut [u8], flags: i32, wait_ns: Option<u64>) -> Res {
    let end = step_wait(fd, wait_ns).map(|n| sys::mono_ns() + n);
    loop {
        let mut flags = flags;
        if let Some(end) = end {
            let left = end.saturating_sub(sys::mono_ns());
            match sys::poll_one(fd, libc::POLLIN, Some(left)) {
                Ok(0) => return Res::Err("EAGAIN".into()),
                Ok(_) => flags |= libc::MSG_DONTWAIT,
                Err(e) => return Res::Err(sys::errno_name(e)),
            }
        }
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), flags) };
        let again = end.is_some() && sys::errno() == libc::EAGAIN;
        if n < 0 && (sys::errno() == libc::EINTR || again) {
            continue;
        }
        return res_of(n);
    }
}

/// A step's `timeout=` as the wait before its call: none on a non-blocking
/// descriptor, whose call returns at once as in the simulator (the timeout
/// bounds a wait that O_NONBLOCK rules out).
fn step_wait(fd: i32, wait_ns: Option<u64>) -> Option<u64> {
    // SAFETY: fcntl F_GETFL on the scenario's descriptor.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    wait_ns.filter(|_| fl < 0 || fl & libc::O_NONBLOCK == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read with a timeout returns by its timeout even when another reader
    /// of the socket, blocked first, takes the data that woke its poll
    /// (fuzz seed 1000 case 21 hung here: poll, then a blocking recv).
    #[test]
    fn a_read_with_a_timeout_returns_when_another_reader_takes_the_data() {
        let mut fds = [0i32; 2];
        // SAFETY: a two-int array for socketpair.
        let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
        assert_eq!(r, 0);
        let (a, b) = (fds[0], fds[1]);
        let other = std::thread::spawn(move || recv_within(a, &mut [0u8; 8], 0, None));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(recv_within(a, &mut [0u8; 8], 0, Some(100_000_000)));
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        sys::write_all(b, b"x");
        let timed = rx
            .recv_timeout(std::time::Duration::from_secs(2))
            .expect("the read with a timeout returned");
        // Whoever took the byte, the other one gets the next.
        sys::write_all(b, b"y");
        let first = other.join().expect("the blocked reader returned");
        assert!(
            matches!((&timed, &first), (Res::Ok(1), Res::Ok(1)))
                || matches!((&timed, &first), (Res::Err(e), Res::Ok(1)) if e == "EAGAIN"),
            "{timed:?} {first:?}"
        );
        sys::close(a);
        sys::close(b);
    }
}
