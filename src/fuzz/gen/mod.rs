//! Generated scenarios: an abstract [`Case`] (a personality pair, each side's
//! calls with their waits, buffer sizes, network conditions), the proptest
//! strategies that produce it, and its translation into a [`ScenarioFile`].
//!
//! Every case is valid by construction: a fixed client/server skeleton (the
//! server listens and accepts, the client connects at 1 ms) followed by
//! generated tails, normalized so that no call uses a descriptor after it was
//! released. Shrinking goes toward fewer steps (vectors shrink by removing
//! elements), smaller byte counts (ranges shrink toward their low end), fewer
//! faults (options shrink to `None`) and simpler personalities (indices
//! shrink toward the first of the pool, `linux` by default).

use model::Naming;
use serde::Serialize;

/// How long a step waits after the previous step of its process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub enum Wait {
    /// `-`: right after.
    Now,
    /// `+Nms`.
    Ms(u32),
}

/// The generator's socket names: each side has its connection socket and
/// at most one `dup` of it; the server also has its listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub enum Sock {
    /// `c` (client) or `s` (server).
    Main,
    /// `c2` or `s2`.
    Dup,
    /// The server's listener `l`, named only as a further socket of a
    /// poll (`poll s,l`: a server waiting on its connection and for the
    /// next one at once).
    Listener,
}

/// The generator's naming: [`Sock`]s, the one peer host, and a forked
/// child written as the steps it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub struct Gen;

impl Naming for Gen {
    type Sock = Sock;
    type New = Sock;
    type Host = ();
    type Proc = Vec<Step>;
    fn created(sock: &Sock) -> Sock {
        *sock
    }
}

/// One generated call, of the one vocabulary ([`model::call`]).
pub type Call = model::Call<Gen>;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct Step {
    pub wait: Wait,
    pub call: Call,
}

/// One host: its personality, socket buffer options and its tail of calls.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Side {
    pub personality: String,
    pub rcvbuf: Option<u32>,
    pub sndbuf: Option<u32>,
    pub steps: Vec<Step>,
    /// A second thread of the side's process blocks in `read eof` on the
    /// connection from when it is set up, while the tail tears it down
    /// (what a blocked reader sees: `close_while_blocked`). Not drawn by the
    /// plain generator.
    pub reader: bool,
}

/// A cut of the network: `dir` 0 both ways, 1 client→server, 2 server→client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartitionGen {
    pub from_ms: u32,
    pub len_ms: u32,
    pub dir: u8,
}

/// Network conditions; `None` is the default (50 µs, no faults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Net {
    pub delay_us: Option<u64>,
    pub jitter_us: Option<u64>,
    /// Probabilities in per mille.
    pub loss: Option<u32>,
    pub duplicate: Option<u32>,
    pub reorder: Option<u32>,
    pub partition: Option<PartitionGen>,
}

impl Net {
    /// How many fault kinds are on (delay excluded).
    pub fn faults(&self) -> u32 {
        [
            self.jitter_us.is_some(),
            self.loss.is_some(),
            self.duplicate.is_some(),
            self.reorder.is_some(),
            self.partition.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count() as u32
    }
}

/// A whole generated scenario.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Case {
    pub client: Side,
    pub server: Side,
    pub net: Net,
    /// Seed of the network's random faults.
    pub seed: u64,
}

/// The socket names the generated scripts use.
pub const CLIENT: &str = "client";
pub const SERVER: &str = "server";
const CLIENT_CHILD: &str = "client-child";
const SERVER_CHILD: &str = "server-child";

impl Case {
    pub fn sides(&self) -> [&Side; 2] {
        [&self.client, &self.server]
    }

    /// `"client/server"` personalities.
    pub fn pair(&self) -> String {
        format!("{}/{}", self.client.personality, self.server.personality)
    }

    /// Generated steps (children included), for size comparisons.
    pub fn steps(&self) -> usize {
        let readers = self.sides().iter().filter(|s| s.reader).count();
        self.sides()
            .iter()
            .map(|s| count_steps(&s.steps))
            .sum::<usize>()
            + readers
    }

    /// Bytes written by the scripts, children included.
    pub fn bytes(&self) -> u64 {
        self.sides().iter().map(|s| written(&s.steps)).sum()
    }

    /// A size for picking the simplest example: steps, faults, buffers, bytes.
    pub fn size(&self) -> (usize, u32, u32, u64) {
        let bufs = self
            .sides()
            .iter()
            .map(|s| s.rcvbuf.is_some() as u32 + s.sndbuf.is_some() as u32)
            .sum();
        (self.steps(), self.net.faults(), bufs, self.bytes())
    }
}

fn count_steps(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| match &s.call {
            Call::Fork { child: c } => 1 + c.len(),
            _ => 1,
        })
        .sum()
}

/// Bytes a tail writes (children included).
pub fn written(steps: &[Step]) -> u64 {
    steps
        .iter()
        .map(|s| match &s.call {
            Call::Write { bytes: n, .. } => *n,
            Call::Fork { child: c } => written(c),
            _ => 0,
        })
        .sum()
}

/// `write c N`: the connection, blocking, without MSG_MORE.
fn write_main(bytes: u64) -> Call {
    Call::Write {
        sock: Sock::Main,
        bytes,
        more: false,
        timeout: None,
    }
}

/// `read c eof`: the connection, to EOF, without a timeout.
fn read_eof_main() -> Call {
    Call::Read {
        sock: Sock::Main,
        len: model::ReadLen::Eof,
        timeout: None,
    }
}

/// Where each generated step landed in the scenario file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Per side (0 client, 1 server): (process index, global step index) of
    /// each `read c eof`.
    pub read_eof: [Vec<(u16, u32)>; 2],
}

// The normalizer, the strategies (by kind of call, general, graceful) and a
// case as a scenario file.
mod file;
mod graceful;
mod kind;
mod normalize;
mod strategy;

pub use file::to_file;
pub use graceful::graceful;
pub use normalize::normalize;
pub use strategy::{general, mixed, GenConfig};
