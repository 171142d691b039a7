//! tcpsim's TCP endpoint model: sans-I/O and deterministic.
//!
//! A [`Host`] holds sockets, processes and a [`Personality`]. The world drives
//! it with three entry points, each given the current virtual time: a socket
//! call ([`Host::call`]), a segment ([`Host::on_segment`]) and timer expiry
//! ([`Host::on_timers`]); [`Host::poll_at`] says when it next needs waking.
//! Each fills an [`Output`] with segments to send and [`Event`]s to trace.
//! The model has no clock, no I/O and no random numbers.

pub mod ack;
pub mod api;
pub mod blocking;
pub mod call;
pub mod canonical;
pub mod close;
pub mod connect;
pub mod errno;
pub mod event;
pub mod host;
pub mod input;
pub mod invariants;
pub mod output;
pub mod personality;
pub mod query;
pub mod rcvbuf;
mod ready;
pub mod segment;
pub mod seq;
pub mod socket;
pub mod state;
pub mod time;
pub mod timer;
pub mod transfer;

#[cfg(test)]
mod tests;

pub use blocking::SysCall;
pub use call::{Call, Dest, Expansion, Fds, How, Naming, ReadLen, Rename};
pub use errno::{CallResult, Errno};
pub use event::{Buffer, Conn, DiscardCause, Event, Output, Pid, RstCause, TimerKind};
pub use host::{Fd, Host, HostConfig, NO_FD};
pub use personality::Personality;
pub use segment::{Addr, Flags, HostId, RawSeg, Segment, SynOpts};
pub use seq::{Offset, Seq};
pub use state::{Rule, State};

pub use time::{Duration, Instant};
