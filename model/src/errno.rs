//! What a socket call can return besides a count: POSIX errno names.
//!
//! Personalities that speak Winsock render these through their own names at the
//! edge (the CLI); the model itself always uses the POSIX value.

use serde::Serialize;
use std::fmt;

#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema, PartialOrd, Ord,
)]
#[serde(into = "&'static str")]
pub enum Errno {
    EAGAIN,
    EPIPE,
    ECONNRESET,
    ECONNREFUSED,
    ECONNABORTED,
    ETIMEDOUT,
    ENOTCONN,
    EISCONN,
    EINVAL,
    EBADF,
    EADDRINUSE,
    EINPROGRESS,
    EALREADY,
    ESHUTDOWN,
    EOPNOTSUPP,
    EDOM,
}

impl Errno {
    pub const ALL: [Errno; 16] = [
        Errno::EAGAIN,
        Errno::EPIPE,
        Errno::ECONNRESET,
        Errno::ECONNREFUSED,
        Errno::ECONNABORTED,
        Errno::ETIMEDOUT,
        Errno::ENOTCONN,
        Errno::EISCONN,
        Errno::EINVAL,
        Errno::EBADF,
        Errno::EADDRINUSE,
        Errno::EINPROGRESS,
        Errno::EALREADY,
        Errno::ESHUTDOWN,
        Errno::EOPNOTSUPP,
        Errno::EDOM,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Errno::EAGAIN => "EAGAIN",
            Errno::EPIPE => "EPIPE",
            Errno::ECONNRESET => "ECONNRESET",
            Errno::ECONNREFUSED => "ECONNREFUSED",
            Errno::ECONNABORTED => "ECONNABORTED",
            Errno::ETIMEDOUT => "ETIMEDOUT",
            Errno::ENOTCONN => "ENOTCONN",
            Errno::EISCONN => "EISCONN",
            Errno::EINVAL => "EINVAL",
            Errno::EBADF => "EBADF",
            Errno::EADDRINUSE => "EADDRINUSE",
            Errno::EINPROGRESS => "EINPROGRESS",
            Errno::EALREADY => "EALREADY",
            Errno::ESHUTDOWN => "ESHUTDOWN",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::EDOM => "EDOM",
        }
    }

    /// The Winsock name of the same condition (`WSAE…`).
    pub fn winsock_name(self) -> &'static str {
        match self {
            Errno::EAGAIN => "WSAEWOULDBLOCK",
            Errno::EPIPE => "WSAESHUTDOWN",
            Errno::ECONNRESET => "WSAECONNRESET",
            Errno::ECONNREFUSED => "WSAECONNREFUSED",
            Errno::ECONNABORTED => "WSAECONNABORTED",
            Errno::ETIMEDOUT => "WSAETIMEDOUT",
            Errno::ENOTCONN => "WSAENOTCONN",
            Errno::EISCONN => "WSAEISCONN",
            Errno::EINVAL => "WSAEINVAL",
            Errno::EBADF => "WSAENOTSOCK",
            Errno::EADDRINUSE => "WSAEADDRINUSE",
            Errno::EINPROGRESS => "WSAEINPROGRESS",
            Errno::EALREADY => "WSAEALREADY",
            Errno::ESHUTDOWN => "WSAESHUTDOWN",
            Errno::EOPNOTSUPP => "WSAEOPNOTSUPP",
            // Winsock has no WSAEDOM; no Winsock personality returns it.
            Errno::EDOM => "EDOM",
        }
    }

    /// Parses a POSIX name, a Winsock name, or `EWOULDBLOCK`.
    pub fn parse(s: &str) -> Option<Errno> {
        if s == "EWOULDBLOCK" {
            return Some(Errno::EAGAIN);
        }
        // POSIX names first; WSAESHUTDOWN names both EPIPE and ESHUTDOWN, and
        // parses as ESHUTDOWN (step results compare Winsock names on Winsock stacks).
        Errno::ALL
            .iter()
            .copied()
            .find(|e| e.name() == s)
            .or_else(|| {
                Errno::ALL
                    .iter()
                    .copied()
                    .rev()
                    .find(|e| e.winsock_name() == s)
            })
    }
}

impl From<Errno> for &'static str {
    fn from(e: Errno) -> &'static str {
        e.name()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a call returns: a count (bytes, 0 at EOF, or a descriptor number) or an errno.
pub type CallResult = Result<u64, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in Errno::ALL {
            assert_eq!(Errno::parse(e.name()), Some(e));
        }
        assert_eq!(Errno::parse("WSAECONNRESET"), Some(Errno::ECONNRESET));
        assert_eq!(Errno::parse("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert_eq!(Errno::parse("ENOSUCH"), None);
    }
}
