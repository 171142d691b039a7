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
}

/// The outcome of one attempt at a call.
pub(crate) enum Step {
    Done(CallResult),
    Block {
        done: u64,
        deadline: Option<Instant>,
    },
}
