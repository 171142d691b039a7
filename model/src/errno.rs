//! What a socket call can return besides a count: POSIX errno names.
//!
//! Personalities that speak Winsock render these through their own names at the
//! edge (the CLI); the model itself always uses the POSIX value.

use serde::Serialize;
use std::fmt;

/// Declares [`Errno`] from one table: each error with its Winsock name, its
/// number on Linux (asm-generic/errno-base.h, errno.h), its number on FreeBSD
/// (freebsd/freebsd-src `sys/sys/errno.h`; packetdrill scripts compare
/// getsockopt(SO_ERROR) values as numbers) and Linux's strerror() text
/// (which packetdrill prints).
macro_rules! errnos {
    ($($(#[$doc:meta])* $name:ident = $winsock:literal, $linux:literal, $freebsd:literal, $text:literal;)*) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, PartialOrd, Ord)]
        #[serde(into = "&'static str")]
        pub enum Errno {
            $($(#[$doc])* $name,)*
        }

        impl Errno {
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// The Winsock name of the same condition (`WSAE…`).
            pub fn winsock_name(self) -> &'static str {
                match self {
                    $(Errno::$name => $winsock,)*
                }
            }

            /// Linux's number for it (asm-generic/errno*.h) and strerror() text.
            pub fn linux(self) -> (i32, &'static str) {
                match self {
                    $(Errno::$name => ($linux, $text),)*
                }
            }

            /// FreeBSD's number for it (sys/sys/errno.h).
            pub fn freebsd(self) -> i32 {
                match self {
                    $(Errno::$name => $freebsd,)*
                }
            }
        }
    };
}

errnos! {
    EAGAIN = "WSAEWOULDBLOCK", 11, 35, "Resource temporarily unavailable";
    EPIPE = "WSAESHUTDOWN", 32, 32, "Broken pipe";
    ECONNRESET = "WSAECONNRESET", 104, 54, "Connection reset by peer";
    ECONNREFUSED = "WSAECONNREFUSED", 111, 61, "Connection refused";
    ECONNABORTED = "WSAECONNABORTED", 103, 53, "Software caused connection abort";
    ETIMEDOUT = "WSAETIMEDOUT", 110, 60, "Connection timed out";
    ENOTCONN = "WSAENOTCONN", 107, 57, "Transport endpoint is not connected";
    EISCONN = "WSAEISCONN", 106, 56, "Transport endpoint is already connected";
    EINVAL = "WSAEINVAL", 22, 22, "Invalid argument";
    EBADF = "WSAENOTSOCK", 9, 9, "Bad file descriptor";
    EADDRINUSE = "WSAEADDRINUSE", 98, 48, "Address already in use";
    EINPROGRESS = "WSAEINPROGRESS", 115, 36, "Operation now in progress";
    EALREADY = "WSAEALREADY", 114, 37, "Operation already in progress";
    ESHUTDOWN = "WSAESHUTDOWN", 108, 58, "Cannot send after transport endpoint shutdown";
    EOPNOTSUPP = "WSAEOPNOTSUPP", 95, 45, "Operation not supported";
    /// getsockopt() of an option the stack does not have (TCP_LINGER2 off Linux).
    ENOPROTOOPT = "WSAENOPROTOOPT", 92, 42, "Protocol not available";
    /// ioctl() of a request the stack does not have (SIOCOUTQ on BSD). Winsock
    /// has no such error: ioctlsocket() of an unknown command fails WSAEINVAL,
    /// which the model says as EINVAL.
    ENOTTY = "ENOTTY", 25, 25, "Inappropriate ioctl for device";
    /// setsockopt(SO_LINGER) beyond what the stack stores (FreeBSD). Winsock
    /// has no WSAEDOM; no Winsock personality returns it.
    EDOM = "EDOM", 33, 33, "Numerical argument out of domain";
    /// A blocked call cancelled because another thread closed its socket (Winsock).
    EINTR = "WSAEINTR", 4, 4, "Interrupted system call";
}

impl Errno {
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
        for &e in Errno::ALL {
            assert_eq!(Errno::parse(e.name()), Some(e));
        }
        assert_eq!(Errno::parse("WSAECONNRESET"), Some(Errno::ECONNRESET));
        assert_eq!(Errno::parse("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert_eq!(Errno::parse("ENOSUCH"), None);
    }
}
