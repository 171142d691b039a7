//! Raw hosts: a host with no TCP stack (a scenario's `personality = "raw"`), the
//! scripted peer a packetdrill script plays. Its segments come only from its
//! `inject` steps, on its one connection; what reaches it is traced and never
//! answered (no stack, so no RST either). Like packetdrill it learns the other
//! side from what it receives: the 4-tuple of a connection the other side
//! opened, and the other side's ISN from its SYN, so injected `ack` numbers
//! count from it. Its `expect` steps ([`SegExpect`]) are matched after the
//! run against the segments sent to it, by the one matcher
//! ([`crate::segmatch`]), in packetdrill's words.

use crate::segmatch::{take_next, Isns, SegPattern, Usecs};
use crate::spec::{ProcId, WorldSpec};
use crate::verdict::StepMismatch;
use model::{Addr, Instant, Segment, Seq};
use std::collections::VecDeque;

/// The ISN of a raw host that sets none: packetdrill scripts number the
/// peer's sequence from its own ISN, so any fixed one does.
pub const RAW_ISN: u32 = 0x1000_0000;

/// A host without a stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RawSpec {
    /// Its port on a connection it opens.
    pub port: u16,
    /// Where a connection it opens goes: (host, port). `None`: it only answers one.
    pub connect: Option<(u16, u16)>,
}

/// "The next segment sent to this raw host must be `pattern`", due in
/// `window` (virtual time) within `tolerance`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SegExpect {
    /// Its step in the spec (a `sleep 0`: it takes no time).
    pub step: u32,
    pub proc: ProcId,
    pub window: (Instant, Instant),
    pub tolerance_ns: u64,
    pub pattern: SegPattern,
    /// Where it came from (scenario line), for messages.
    pub origin: Option<String>,
    /// The line as written, the expectation's text.
    pub text: String,
}

/// A raw host's one connection, as far as it knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RawConn {
    pub local: Addr,
    pub remote: Option<Addr>,
    pub iss: Seq,
    /// The other side's ISN, from its SYN.
    pub irs: Option<Seq>,
}

impl RawConn {
    pub fn new(host: u16, spec: &RawSpec, isn: Option<u32>) -> RawConn {
        RawConn {
            local: Addr {
                host,
                port: spec.port,
            },
            remote: spec.connect.map(|(host, port)| Addr { host, port }),
            iss: Seq(isn.unwrap_or(RAW_ISN)),
            irs: None,
        }
    }

    /// Learns from a segment that reached it.
    pub fn receive(&mut self, seg: &Segment) {
        if self.remote.is_none() {
            self.remote = Some(seg.src);
            self.local.port = seg.dst.port;
        }
        if seg.flags.syn() && self.irs.is_none() && self.remote == Some(seg.src) {
            self.irs = Some(seg.seq);
        }
    }
}

fn usecs(t: Instant) -> Usecs {
    (t.as_ns() / 1000) as Usecs
}

/// Each raw host's expectations against the segments sent to it
/// (`sent`: when, what, in order); the first miss of each host, as
/// packetdrill stops at its first.
pub fn mismatches(
    spec: &WorldSpec,
    conns: &[Option<RawConn>],
    sent: &[(Instant, Segment)],
) -> Vec<StepMismatch> {
    let mut out = Vec::new();
    for (h, conn) in conns.iter().enumerate() {
        let Some(conn) = conn else { continue };
        let mut queue: VecDeque<(Usecs, Segment)> = sent
            .iter()
            .filter(|(_, s)| s.dst.host as usize == h)
            .map(|(t, s)| (usecs(*t), *s))
            .collect();
        let mut isns = Isns {
            sender: None,
            receiver: conn.iss.0,
        };
        let expects = spec
            .seg_expects
            .iter()
            .filter(|e| spec.procs[e.proc as usize].host as usize == h);
        for e in expects {
            let window = (usecs(e.window.0), usecs(e.window.1));
            let tol = (e.tolerance_ns / 1000) as Usecs;
            if let Err(miss) = take_next(&e.pattern, window, tol, &mut queue, &mut isns) {
                out.push(StepMismatch {
                    step: e.step,
                    proc: e.proc,
                    expected: e.text.clone(),
                    actual: miss.to_string(),
                    origin: e.origin.clone(),
                });
                break;
            }
        }
    }
    out
}
