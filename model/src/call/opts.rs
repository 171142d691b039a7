//! What `getsockopt`/`ioctl` reads back, and the poll and select bits a
//! poll or select step asks for and reports (one lane per socket).

use super::Naming;
use serde::{Serialize, Serializer};

/// What `getsockopt`/`ioctl` reads back. The ioctls count bytes of the
/// connection's queues (Linux tcp_ioctl: SIOCINQ = FIONREAD, SIOCOUTQ,
/// SIOCOUTQNSD); SO_LINGER is read one field at a time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
pub enum SockOpt {
    /// The pending error, cleared by reading it: the step's result is that
    /// error (as if the call failed with it), or 0.
    #[serde(rename = "SO_ERROR")]
    SoError,
    /// `l_onoff` of SO_LINGER: 1 when on.
    #[serde(rename = "SO_LINGER.l_onoff")]
    LingerOnOff,
    /// `l_linger` of SO_LINGER, in the personality's unit.
    #[serde(rename = "SO_LINGER.l_linger")]
    LingerTime,
    /// TCP_LINGER2: the FIN-WAIT-2 timeout in seconds (Linux only).
    #[serde(rename = "TCP_LINGER2")]
    Linger2,
    /// FIONREAD (SIOCINQ): bytes received and not yet read.
    #[serde(rename = "FIONREAD")]
    InQ,
    /// SIOCOUTQ: bytes written and not yet acknowledged (Linux counts the FIN).
    #[serde(rename = "SIOCOUTQ")]
    OutQ,
    /// SIOCOUTQNSD: bytes written and not yet sent.
    #[serde(rename = "SIOCOUTQNSD")]
    OutQNsd,
    /// SO_RCVBUF: the receive buffer in octets, as the stack reports it
    /// (Linux's doubled value, FreeBSD's rounded to the MSS).
    #[serde(rename = "SO_RCVBUF")]
    RcvBuf,
    /// SO_SNDBUF: the send buffer in octets, as the stack reports it.
    #[serde(rename = "SO_SNDBUF")]
    SndBuf,
    /// `tcpi_state` of TCP_INFO: the connection's state (packetdrill's
    /// `%{ assert tcpi_state == TCPI_… }%`), as [`crate::State::code`].
    #[serde(rename = "TCP_INFO.tcpi_state")]
    TcpState,
}

impl SockOpt {
    /// Every option with its scenario words (the first is the canonical one).
    pub const WORDS: &'static [(SockOpt, &'static [&'static str])] = &[
        (SockOpt::SoError, &["SO_ERROR"]),
        (SockOpt::LingerOnOff, &["SO_LINGER.l_onoff"]),
        (SockOpt::LingerTime, &["SO_LINGER.l_linger"]),
        (SockOpt::Linger2, &["TCP_LINGER2"]),
        (SockOpt::InQ, &["FIONREAD", "SIOCINQ"]),
        (SockOpt::OutQ, &["SIOCOUTQ"]),
        (SockOpt::OutQNsd, &["SIOCOUTQNSD"]),
        (SockOpt::RcvBuf, &["SO_RCVBUF"]),
        (SockOpt::SndBuf, &["SO_SNDBUF"]),
        (SockOpt::TcpState, &["TCP_INFO.tcpi_state", "tcpi_state"]),
    ];

    /// The canonical word.
    pub fn word(self) -> &'static str {
        let (_, words) = Self::WORDS
            .iter()
            .find(|(o, _)| *o == self)
            .expect("listed");
        words[0]
    }

    /// The option a word names.
    pub fn parse(word: &str) -> Option<SockOpt> {
        Self::WORDS
            .iter()
            .find(|(_, words)| words.contains(&word))
            .map(|(o, _)| *o)
    }
}

/// poll() event bits, with Linux's values (include/uapi/asm-generic/poll.h),
/// so a kernel's revents compare as they are.
pub mod poll_bits {
    pub const POLLIN: u32 = 0x001;
    pub const POLLOUT: u32 = 0x004;
    pub const POLLERR: u32 = 0x008;
    pub const POLLHUP: u32 = 0x010;
    pub const POLLNVAL: u32 = 0x020;
    pub const POLLRDHUP: u32 = 0x2000;
    /// Every bit a step may name, with its name, in the order they print.
    pub const NAMES: &[(u32, &str)] = &[
        (POLLIN, "POLLIN"),
        (POLLOUT, "POLLOUT"),
        (POLLERR, "POLLERR"),
        (POLLHUP, "POLLHUP"),
        (POLLNVAL, "POLLNVAL"),
        (POLLRDHUP, "POLLRDHUP"),
    ];
    /// Reported whether asked for or not (poll(2)).
    pub const ALWAYS: u32 = POLLERR | POLLHUP | POLLNVAL;
    /// A poll step over several sockets returns each one's revents in a lane
    /// of this many bits of its result, the first socket's lowest, so a
    /// one-socket poll's result is its revents as it always was.
    pub const LANE_BITS: u32 = 16;

    /// The revents of socket `i` in a poll step's result.
    pub fn lane(result: u64, i: usize) -> u64 {
        (result >> (LANE_BITS as usize * i)) & ((1 << LANE_BITS) - 1)
    }

    /// A poll step's result over `socks` sockets: `POLLIN,0` (one lane each).
    pub fn text_each(result: u64, socks: usize) -> String {
        text_each_of(NAMES, result, socks)
    }

    /// `POLLIN,0`: each lane's bits, packed as [`lane`] reads them, and the
    /// number of lanes; `None` if a name is unknown or there are too many.
    pub fn parse_each(text: &str) -> Option<(u64, usize)> {
        parse_each_of(NAMES, text)
    }

    /// `POLLIN|POLLHUP`, or `0`.
    pub fn text(bits: u64) -> String {
        text_of(NAMES, bits)
    }

    /// The bits of `POLLIN|POLLHUP` (`0` is none); `None` if a name is unknown.
    pub fn parse(text: &str) -> Option<u32> {
        parse_of(NAMES, text)
    }

    /// `A|B` of the names of `bits` in `names`, or `0`.
    pub(super) fn text_of(names: &[(u32, &str)], bits: u64) -> String {
        let names: Vec<&str> = names
            .iter()
            .filter(|(b, _)| bits & u64::from(*b) != 0)
            .map(|(_, n)| *n)
            .collect();
        match names.is_empty() {
            true => "0".into(),
            false => names.join("|"),
        }
    }

    /// The bits of `A|B` of `names` (`0` is none); `None` if a name is unknown.
    pub(super) fn parse_of(names: &[(u32, &str)], text: &str) -> Option<u32> {
        if text == "0" {
            return Some(0);
        }
        text.split('|').try_fold(0, |acc, w| {
            let (b, _) = names.iter().find(|(_, n)| *n == w)?;
            Some(acc | b)
        })
    }

    /// `A,B` over `socks` lanes of `result`, each lane's names in `names`.
    pub(super) fn text_each_of(names: &[(u32, &str)], result: u64, socks: usize) -> String {
        let lanes: Vec<String> = (0..socks.max(1))
            .map(|i| text_of(names, lane(result, i)))
            .collect();
        lanes.join(",")
    }

    /// `A,B` parsed: the lanes packed and their number.
    pub(super) fn parse_each_of(names: &[(u32, &str)], text: &str) -> Option<(u64, usize)> {
        let lanes: Vec<&str> = text.split(',').collect();
        if lanes.len() > super::POLL_SOCKS_MAX {
            return None;
        }
        lanes
            .iter()
            .enumerate()
            .try_fold((0, lanes.len()), |(acc, n), (i, l)| {
                Some((
                    acc | u64::from(parse_of(names, l)?) << (LANE_BITS as usize * i),
                    n,
                ))
            })
    }
}

/// select()'s three sets, as a select step asks for them (`readfds|writefds`)
/// and reports, per socket, which ones it is in (`= readfds,0`): one lane
/// per socket, as [`poll_bits`] packs revents.
pub mod select_sets {
    use super::poll_bits;
    pub const READFDS: u32 = 0x1;
    pub const WRITEFDS: u32 = 0x2;
    pub const EXCEPTFDS: u32 = 0x4;
    pub const NAMES: &[(u32, &str)] = &[
        (READFDS, "readfds"),
        (WRITEFDS, "writefds"),
        (EXCEPTFDS, "exceptfds"),
    ];

    /// `readfds|writefds`, or `0`.
    pub fn text(bits: u64) -> String {
        poll_bits::text_of(NAMES, bits)
    }

    pub fn parse(text: &str) -> Option<u32> {
        poll_bits::parse_of(NAMES, text)
    }

    /// A select step's result over `socks` sockets: `readfds,0`.
    pub fn text_each(result: u64, socks: usize) -> String {
        poll_bits::text_each_of(NAMES, result, socks)
    }

    pub fn parse_each(text: &str) -> Option<(u64, usize)> {
        poll_bits::parse_each_of(NAMES, text)
    }
}

/// The most sockets one poll step names (each has a [`poll_bits::LANE_BITS`]
/// lane of the 64-bit result).
pub const POLL_SOCKS_MAX: usize = 4;

/// The sockets of a poll step after its first (`poll s1,s2,s3`), in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PollAlso<N: Naming>(pub [Option<N::Sock>; POLL_SOCKS_MAX - 1]);

impl<N: Naming> Copy for PollAlso<N> where N::Sock: Copy {}

impl<N: Naming> Default for PollAlso<N> {
    fn default() -> Self {
        PollAlso([None, None, None])
    }
}

impl<N: Naming> PollAlso<N> {
    /// The sockets named, in order.
    pub fn iter(&self) -> impl Iterator<Item = &N::Sock> {
        self.0.iter().flatten()
    }

    pub fn is_empty(&self) -> bool {
        self.0[0].is_none()
    }

    /// Up to [`POLL_SOCKS_MAX`] − 1 sockets; `None` if there are more.
    pub fn from_socks(socks: Vec<N::Sock>) -> Option<Self> {
        let mut also = PollAlso::default();
        for (i, s) in socks.into_iter().enumerate() {
            *also.0.get_mut(i)? = Some(s);
        }
        Some(also)
    }
}

impl<N: Naming> Serialize for PollAlso<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<N: Naming> schemars::JsonSchema for PollAlso<N> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PollAlso".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = <Vec<N::Sock>>::json_schema(g);
        schema.insert(
            "description".into(),
            "The sockets a poll step names after its first.".into(),
        );
        schema
    }
}
