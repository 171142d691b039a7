//! The proptest strategies of the general generator: weighted picks, waits,
//! sizes, a step, a side, the network, a whole [`Case`].

use super::kind::{call_of, child_steps, EXTREME_KINDS, KINDS, PLAIN_KINDS};
use super::{graceful, normalize, Call, Case, Net, PartitionGen, Side, Step, Wait};
use model::How;
use proptest::prelude::*;
use std::sync::Arc;

/// What the general generator may produce.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Personalities each side draws from; shrinking goes toward the first.
    pub pool: Arc<Vec<String>>,
    /// Most generated steps per side.
    pub max_steps: usize,
    /// Allow every call kind (else: write, read, read eof, close only).
    pub all_calls: bool,
    /// Allow network faults and buffer options.
    pub faults: bool,
    /// Also draw what ordinary close sequences never do (issue 14):
    /// SO_KEEPALIVE, writes past 2^31 and 2^32 octets, and waits of hours
    /// to weeks (past the keepalive and FIN-WAIT-2 timers, towards the time
    /// horizon). Off by default: the survey's findings are about ordinary
    /// sequences, and its tables stay as they are.
    pub extreme: bool,
}

impl GenConfig {
    pub fn new(pool: Vec<String>) -> GenConfig {
        GenConfig {
            pool: Arc::new(pool),
            max_steps: 6,
            all_calls: true,
            faults: true,
            extreme: false,
        }
    }
}

// The strategies below avoid `prop_oneof!`: a union keeps a lazily generated
// tree, with its own copy of the runner, for every alternative it did not
// pick, which made generation the most expensive part of a case. A weighted
// choice is an index into a table instead (entries repeat by weight); the
// index shrinks toward entry 0, the simplest.

/// Picks from a weighted table; shrinks toward the first entry.
pub(super) fn pick<T: Clone + std::fmt::Debug + Send + Sync + 'static>(
    table: &'static [(u32, T)],
) -> impl Strategy<Value = T> + Clone {
    (0..total_weight(table)).prop_map(move |x| weighted(table, x).clone())
}

pub(super) fn total_weight<T>(table: &[(u32, T)]) -> u32 {
    table.iter().map(|e| e.0).sum()
}

/// The entry of a weighted table that index `x` (below the total weight)
/// falls on.
pub(super) fn weighted<T>(table: &[(u32, T)], mut x: u32) -> &T {
    for (w, v) in table {
        if x < *w {
            return v;
        }
        x -= w;
    }
    unreachable!("index below the total weight")
}

/// `Some` with probability `percent`; shrinks toward `None`.
pub(super) fn chance<T: std::fmt::Debug + Clone>(
    percent: u8,
    s: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Option<T>> + Clone {
    (0u8..100, s).prop_map(move |(p, v)| (p >= 100 - percent).then_some(v))
}

pub(super) const WAITS: &[(u32, Wait)] = &[
    (4, Wait::Now),
    (1, Wait::Ms(1)),
    (1, Wait::Ms(10)),
    (1, Wait::Ms(200)),
];

/// `WAITS`, and waits past every timer: 2 h 2 min (Linux's keepalive idle
/// time is 7200 s), a day, 49 days (the most a `Wait::Ms` holds).
const EXTREME_WAITS: &[(u32, Wait)] = &[
    (4, Wait::Now),
    (1, Wait::Ms(1)),
    (1, Wait::Ms(200)),
    (1, Wait::Ms(7_320_000)),
    (1, Wait::Ms(86_400_000)),
    (1, Wait::Ms(u32::MAX)),
];

pub(super) fn wait() -> impl Strategy<Value = Wait> + Clone {
    pick(WAITS)
}

fn wait_of(extreme: bool) -> impl Strategy<Value = Wait> + Clone {
    pick(if extreme { EXTREME_WAITS } else { WAITS })
}

/// Byte counts: mostly one segment or less, some tens of KB, a few hundreds.
pub(super) fn size() -> impl Strategy<Value = u64> + Clone {
    const BUCKETS: &[(u32, (u64, u64))] =
        &[(4, (1, 1460)), (2, (1461, 20_000)), (1, (20_001, 300_000))];
    (pick(BUCKETS), any::<u32>()).prop_map(|((lo, hi), x)| lo + x as u64 % (hi - lo + 1))
}

/// `size`, or (extreme) writes around 2^31 and 2^32 and up to 2^40 too.
pub(super) fn size_of(extreme: bool) -> SBoxedStrategy<u64> {
    const EXTREME: &[(u32, (u64, u64))] = &[
        (4, (1, 1460)),
        (1, (20_001, 300_000)),
        (1, ((1 << 31) - 1, (1 << 31) + 1)),
        (1, ((1 << 32) - 1, (1 << 32) + 1)),
        (1, (1 << 33, 1 << 40)),
    ];
    if !extreme {
        return size().sboxed();
    }
    (pick(EXTREME), any::<u64>())
        .prop_map(|((lo, hi), x)| lo + x % (hi - lo + 1))
        .sboxed()
}

pub(super) fn how() -> impl Strategy<Value = How> + Clone {
    pick(&[(1, How::Wr), (1, How::Rd), (1, How::RdWr)])
}

/// A step; a fork takes its child's steps from `child`.
fn step(all: bool, extreme: bool) -> impl Strategy<Value = Step> + Clone {
    let kinds = match (all, extreme) {
        (_, true) => EXTREME_KINDS,
        (true, false) => KINDS,
        (false, false) => PLAIN_KINDS,
    };
    let call = call_of(kinds, extreme);
    (wait_of(extreme), call, child_steps()).prop_map(|(wait, call, child)| Step {
        wait,
        call: match call {
            Call::Fork { child: _ } => Call::Fork { child },
            c => c,
        },
    })
}

pub(super) fn personality(pool: &Arc<Vec<String>>) -> impl Strategy<Value = String> + Clone {
    let pool = Arc::clone(pool);
    (0..pool.len()).prop_map(move |i| pool[i].clone())
}

pub(super) fn net(faults: bool) -> SBoxedStrategy<Net> {
    if !faults {
        return Just(Net::default()).sboxed();
    }
    let w = |p| chance(p, any::<u8>());
    let pick = |o: Option<u8>, v: &'static [u64]| o.map(|x| v[x as usize % v.len()]);
    (
        w(20),
        w(10),
        w(15),
        w(8),
        w(8),
        chance(8, (0u32..=2000, 1u32..=3000, 0u8..=2)),
    )
        .prop_map(move |(d, j, l, du, r, p)| Net {
            delay_us: pick(d, &[1_000, 20_000]),
            jitter_us: pick(j, &[100, 2_000]),
            loss: pick(l, &[10, 50, 200]).map(|v| v as u32),
            duplicate: pick(du, &[10, 100]).map(|v| v as u32),
            reorder: pick(r, &[50, 250]).map(|v| v as u32),
            partition: p.map(|(from_ms, len_ms, dir)| PartitionGen {
                from_ms,
                len_ms,
                dir,
            }),
        })
        .sboxed()
}

/// A side's tail; `listener` on the server.
fn steps(cfg: &GenConfig, listener: bool) -> impl Strategy<Value = Vec<Step>> + Clone {
    let step = step(cfg.all_calls, cfg.extreme);
    prop::collection::vec(step, 0..=cfg.max_steps).prop_map(move |s| normalize(s, false, listener))
}

/// A side; `listener` on the server (its polls may name the listener).
fn side(cfg: &GenConfig, listener: bool) -> impl Strategy<Value = Side> + Clone {
    let b = if cfg.faults { 15 } else { 0 };
    let buf = (any::<bool>(), any::<u32>()).prop_map(|(big, x)| {
        if big {
            8193 + x % 254_080
        } else {
            512 + x % 7681
        }
    });
    // A reader thread (started `after` the side's connection is ready): a
    // quarter of the extreme generator's sides, a tenth of the default's
    // (every call kind); `Just` draws nothing for the plain one.
    let reader = match (cfg.extreme, cfg.all_calls) {
        (true, _) => chance(25, Just(())).prop_map(|r| r.is_some()).sboxed(),
        (false, true) => chance(10, Just(())).prop_map(|r| r.is_some()).sboxed(),
        (false, false) => Just(false).sboxed(),
    };
    (
        personality(&cfg.pool),
        chance(b, buf.clone()),
        chance(b, buf),
        steps(cfg, listener),
        reader,
    )
        .prop_map(|(personality, rcvbuf, sndbuf, steps, reader)| Side {
            personality,
            rcvbuf,
            sndbuf,
            steps,
            reader,
        })
}

/// Any scenario: both sides' tails drawn freely from every call kind.
pub fn general(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    (
        side(cfg, false),
        side(cfg, true),
        net(cfg.faults),
        0u64..1000,
    )
        .prop_map(|(client, server, net, seed)| Case {
            client,
            server,
            net,
            seed,
        })
}

pub fn mixed(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    prop_oneof![3 => general(cfg), 1 => graceful(cfg)]
}
