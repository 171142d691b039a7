//! What a socket call can return besides a count: POSIX errno names.
//!
//! Personalities that speak Winsock render these through their own names at the
//! edge (the CLI); the model itself always uses the POSIX value.

use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, PartialOrd, Ord)]
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
}

impl Errno {
    pub const ALL: [Errno; 15] = [
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

/// In JSON an errno is its POSIX name, one of these.
impl schemars::JsonSchema for Errno {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Errno".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Errno::ALL.iter().map(|e| e.name()).collect();
        schemars::json_schema!({ "type": "string", "enum": names })
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

/// A `CallResult` in JSON as a C programmer reads a return value: the count
/// as a number (`5`), an error as its POSIX name (`"ECONNRESET"`), never
/// serde's `{"Ok":5}`. Use with `#[serde(serialize_with = "errno::result_json::serialize")]`
/// and `#[schemars(with = "errno::result_json::Json")]`.
pub mod result_json {
    use super::{CallResult, Errno};
    use serde::{Serialize, Serializer};

    /// The JSON shape of a call's result.
    #[derive(Serialize, schemars::JsonSchema)]
    #[serde(untagged)]
    pub enum Json {
        /// Bytes moved, 0 at end of stream, or a new descriptor.
        Count(u64),
        /// The call failed with this errno (POSIX name, on every personality).
        Errno(Errno),
    }

    pub fn serialize<S: Serializer>(r: &CallResult, s: S) -> Result<S::Ok, S::Error> {
        match r {
            Ok(n) => Json::Count(*n),
            Err(e) => Json::Errno(*e),
        }
        .serialize(s)
    }
}

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
