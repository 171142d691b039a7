//! A call that waits in virtual time: what a host keeps for a process
//! blocked in it, and what one attempt at a call comes to. Shared by the
//! host's process table (`host.rs`) and the calls (`api.rs`, `close.rs`), so
//! neither depends on the other for it.

use crate::call::{Call, Fds};
use crate::errno::CallResult;
use crate::socket::SockId;
use crate::Instant;

/// A system call on one host's descriptors: what `Host::call` takes and the
/// trace records.
pub type SysCall = Call<Fds>;

/// A call waiting in virtual time.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Blocked {
    pub call: SysCall,
    pub sock: SockId,
    /// Octets already written by a blocking write.
    pub done: u64,
    /// When a linger wait runs out.
    pub deadline: Option<Instant>,
    /// A poll's further sockets (`poll s1,s2`), as they were when it
    /// blocked: the poll holds each one open and waits on each.
    pub polled: PollHeld,
}

impl Blocked {
    /// Whether the call holds `sid`: its socket, or one a poll also waits on.
    pub fn holds(&self, sid: SockId) -> bool {
        self.sock == sid || self.polled.iter().any(|p| p == sid)
    }
}

/// The sockets after the first that a blocked poll holds (Linux
/// fs/select.c __pollwait() takes a reference on each polled file with
/// get_file(), dropped by poll_freewait() when the poll returns).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct PollHeld(pub [Option<SockId>; crate::call::POLL_SOCKS_MAX - 1]);

impl PollHeld {
    pub fn iter(&self) -> impl Iterator<Item = SockId> + '_ {
        self.0.iter().flatten().copied()
    }
}

/// Hashes nothing when empty, so the state of a host with no poll over
/// several sockets hashes as it did before the field existed.
impl std::hash::Hash for PollHeld {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        if self.0.iter().any(Option::is_some) {
            self.0.hash(h);
        }
    }
}

/// The outcome of one attempt at a call.
#[derive(Debug)]
pub(crate) enum Step {
    Done(CallResult),
    Block {
        done: u64,
        deadline: Option<Instant>,
    },
}
