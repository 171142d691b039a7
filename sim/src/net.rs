//! The network between hosts: per-direction delay, jitter, loss, duplication,
//! reordering, and scripted faults (drop the Nth matching segment, partitions).
//!
//! Each segment's fate is decided once, when it is sent, by an ordered chain
//! of named predicates: scripted drops first, partitions next, seeded random
//! faults last. Every drop carries its reason into the trace.

use crate::rng::{Ratio, SimRng};
use model::{Duration, HostId, Instant, Segment};
use serde::Serialize;
use smallvec::SmallVec;

/// One direction of a path between two hosts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Link {
    pub delay_ns: Duration,
    /// Extra delay drawn uniformly from `0..=jitter_ns` per segment (may reorder).
    pub jitter_ns: Duration,
    pub loss: Ratio,
    pub duplicate: Ratio,
    /// Probability that a segment is held back by `reorder_delay_ns`.
    pub reorder: Ratio,
    pub reorder_delay_ns: Duration,
    /// The link's rate in bits per second (0: none, a segment leaves the
    /// sender at once): each segment waits for the direction's segments
    /// before it to leave, then takes its serialization time.
    pub rate_bps: u64,
}

/// The octets of a segment on the wire, for its serialization time: IPv4 and
/// TCP headers, the 12 octets of RFC 7323 timestamps Linux puts on every
/// segment by default (`net.ipv4.tcp_timestamps = 1`), and the payload.
pub const WIRE_HEADER_OCTETS: u64 = 20 + 20 + 12;

/// How long `octets` take to leave at `rate_bps` (0: no time).
pub fn serialization_ns(octets: u64, rate_bps: u64) -> u64 {
    if rate_bps == 0 {
        return 0;
    }
    (octets as u128 * 8 * 1_000_000_000 / rate_bps as u128) as u64
}

impl Default for Link {
    fn default() -> Link {
        Link {
            delay_ns: Duration::from_ns(50_000), // 50 µs one way: a LAN
            jitter_ns: Duration::ZERO,
            loss: Ratio::ZERO,
            duplicate: Ratio::ZERO,
            reorder: Ratio::ZERO,
            reorder_delay_ns: Duration::ZERO,
            rate_bps: 0,
        }
    }
}

/// Which segments a scripted fault applies to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema, Default)]
pub struct Filter {
    /// Sent by this host only.
    pub from: Option<HostId>,
    /// All of these flag bits set (e.g. FIN).
    pub flags: u8,
    /// Carrying payload (true), or not (false).
    pub data: Option<bool>,
}

impl Filter {
    pub fn matches(&self, seg: &Segment) -> bool {
        self.from.is_none_or(|h| h == seg.src.host)
            && seg.flags.0 & self.flags == self.flags
            && self.data.is_none_or(|d| d == (seg.len > 0))
    }
}

/// Drop the `nth` (1-based) segment matching `filter`, and the `count - 1` matching after it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DropRule {
    pub filter: Filter,
    pub nth: u32,
    pub count: u32,
}

/// What a scripted fault does to the segments it matches: deliver them twice,
/// later, or both (a drop is a [`DropRule`]). The explorer's witnesses replay
/// its duplications and reorderings through these.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FaultRule {
    pub filter: Filter,
    /// The `nth` (1-based) matching segment, and the `count - 1` after it.
    pub nth: u32,
    pub count: u32,
    /// Deliver a second copy right behind the first.
    pub duplicate: bool,
    /// Extra delay on top of the link's.
    pub delay_ns: Duration,
}

/// Drop everything between `hosts` (both directions, or only `from → to`) in `[from_ns, until_ns)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Partition {
    pub from_ns: Instant,
    pub until_ns: Instant,
    /// Only segments sent by this host, if set.
    pub one_way_from: Option<HostId>,
}

/// What happens to one segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fate {
    Deliver { at: Instant },
    Duplicate { at: Instant, again_at: Instant },
    Drop { reason: &'static str },
}

/// The network's configuration and running state.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Network {
    hosts: usize,
    /// Indexed `src * hosts + dst`.
    /// (Inline for two hosts: cloning a world allocates nothing for it.)
    links: SmallVec<[Link; 4]>,
    pub drops: Vec<DropRule>,
    /// How many segments each drop rule has matched so far.
    matched: Vec<u32>,
    faults: Vec<FaultRule>,
    /// How many segments each fault rule has matched so far.
    fault_matched: Vec<u32>,
    pub partitions: Vec<Partition>,
    /// When each direction's transmitter is free again (indexed as `links`;
    /// only links with a rate use it).
    free_at: SmallVec<[Instant; 4]>,
    rng: SimRng,
}

impl Network {
    pub fn new(hosts: usize, link: Link, rng: SimRng) -> Network {
        Network {
            hosts,
            links: smallvec::smallvec![link; hosts * hosts],
            drops: Vec::new(),
            matched: Vec::new(),
            faults: Vec::new(),
            fault_matched: Vec::new(),
            partitions: Vec::new(),
            free_at: smallvec::smallvec![Instant::ZERO; hosts * hosts],
            rng,
        }
    }

    pub fn set_link(&mut self, src: HostId, dst: HostId, link: Link) {
        self.links[src as usize * self.hosts + dst as usize] = link;
    }

    pub fn link(&self, src: HostId, dst: HostId) -> &Link {
        &self.links[src as usize * self.hosts + dst as usize]
    }

    pub fn add_drop(&mut self, rule: DropRule) {
        assert!(rule.nth >= 1, "drop rules count from the 1st match");
        assert!(rule.count >= 1, "a drop rule drops at least one segment");
        self.drops.push(rule);
        self.matched.push(0);
    }

    pub fn add_fault(&mut self, rule: FaultRule) {
        assert!(rule.nth >= 1, "fault rules count from the 1st match");
        assert!(
            rule.count >= 1,
            "a fault rule applies to at least one segment"
        );
        self.faults.push(rule);
        self.fault_matched.push(0);
    }

    /// Decides a segment's fate at send time `now`.
    pub fn fate(&mut self, now: Instant, seg: &Segment) -> Fate {
        // Fault rules count every segment sent, dropped ones included, as
        // drop rules do: a rule's `nth` is the nth segment its filter matches.
        let (duplicate, extra) = self.scripted_fault(seg);
        if (seg.dst.host as usize) >= self.hosts {
            return Fate::Drop {
                reason: "no route to host",
            };
        }
        if self.scripted_drop(seg) {
            return Fate::Drop {
                reason: "scripted drop",
            };
        }
        if self.partitioned(now, seg) {
            return Fate::Drop {
                reason: "partition",
            };
        }
        let link = *self.link(seg.src.host, seg.dst.host);
        if self.rng.chance(link.loss) {
            return Fate::Drop {
                reason: "random loss",
            };
        }
        let sent = self.transmit(now, seg, &link);
        let at = sent + self.delay(&link) + extra;
        if duplicate {
            return Fate::Duplicate { at, again_at: at };
        }
        if self.rng.chance(link.duplicate) {
            let again_at = sent + self.delay(&link) + extra;
            return Fate::Duplicate { at, again_at };
        }
        Fate::Deliver { at }
    }

    /// Whether a fault rule duplicates the segment, and the delay they add.
    fn scripted_fault(&mut self, seg: &Segment) -> (bool, Duration) {
        let (mut duplicate, mut extra) = (false, Duration::ZERO);
        for (rule, seen) in self.faults.iter().zip(self.fault_matched.iter_mut()) {
            if rule.filter.matches(seg) {
                *seen += 1;
                if *seen >= rule.nth && *seen < rule.nth + rule.count {
                    duplicate |= rule.duplicate;
                    extra += rule.delay_ns;
                }
            }
        }
        (duplicate, extra)
    }

    fn scripted_drop(&mut self, seg: &Segment) -> bool {
        let mut drop = false;
        for (rule, seen) in self.drops.iter().zip(self.matched.iter_mut()) {
            if rule.filter.matches(seg) {
                // Counted without overflow: the nth..nth+count window may reach past u32::MAX.
                *seen = seen.saturating_add(1);
                drop |= *seen >= rule.nth && *seen - rule.nth < rule.count;
            }
        }
        drop
    }

    fn partitioned(&self, now: Instant, seg: &Segment) -> bool {
        self.partitions.iter().any(|p| {
            now >= p.from_ns && now < p.until_ns && p.one_way_from.is_none_or(|h| h == seg.src.host)
        })
    }

    /// When `seg`, sent at `now`, has left its sender: on a link with a
    /// rate, after the segments before it in its direction and its own
    /// serialization time (tcpsim real's delay line does the same).
    fn transmit(&mut self, now: Instant, seg: &Segment, link: &Link) -> Instant {
        if link.rate_bps == 0 {
            return now;
        }
        let i = seg.src.host as usize * self.hosts + seg.dst.host as usize;
        let octets = WIRE_HEADER_OCTETS + seg.len as u64;
        let start = now.max(self.free_at[i]);
        self.free_at[i] = start + Duration::from_ns(serialization_ns(octets, link.rate_bps));
        self.free_at[i]
    }

    fn delay(&mut self, link: &Link) -> Duration {
        let mut d = link.delay_ns;
        if !link.jitter_ns.is_zero() {
            d += Duration::from_ns(self.rng.below(link.jitter_ns.as_ns().saturating_add(1)));
        }
        if self.rng.chance(link.reorder) {
            d += link.reorder_delay_ns;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Addr, Flags, Seq};

    fn seg(from: HostId, flags: Flags, len: u32) -> Segment {
        Segment {
            src: Addr {
                host: from,
                port: 1,
            },
            dst: Addr {
                host: 1 - from,
                port: 2,
            },
            seq: Seq(0),
            ack: Seq(0),
            flags,
            wnd: 0,
            len,
            mss: 0,
            opts: model::SynOpts::NONE,
        }
    }

    #[test]
    fn scripted_drop_takes_the_nth_match_only() {
        let mut n = Network::new(2, Link::default(), SimRng::new(1, 1));
        n.add_drop(DropRule {
            filter: Filter {
                from: Some(0),
                flags: Flags::FIN.0,
                data: None,
            },
            nth: 2,
            count: 1,
        });
        let fin = seg(0, Flags::FIN | Flags::ACK, 0);
        assert!(matches!(
            n.fate(Instant::ZERO, &seg(0, Flags::ACK, 0)),
            Fate::Deliver { .. }
        ));
        assert!(matches!(n.fate(Instant::ZERO, &fin), Fate::Deliver { .. }));
        assert_eq!(
            n.fate(Instant::ZERO, &fin),
            Fate::Drop {
                reason: "scripted drop"
            }
        );
        assert!(matches!(n.fate(Instant::ZERO, &fin), Fate::Deliver { .. }));
        assert!(matches!(
            n.fate(Instant::ZERO, &seg(1, Flags::FIN, 0)),
            Fate::Deliver { .. }
        ));
    }

    #[test]
    fn fault_rules_duplicate_and_delay_the_nth_match_counting_every_send() {
        let mut n = Network::new(2, Link::default(), SimRng::new(1, 1));
        let from0 = Filter {
            from: Some(0),
            flags: 0,
            data: None,
        };
        n.add_drop(DropRule {
            filter: from0,
            nth: 1,
            count: 1,
        });
        n.add_fault(FaultRule {
            filter: from0,
            nth: 2,
            count: 1,
            duplicate: true,
            delay_ns: Duration::from_ns(7),
        });
        n.add_fault(FaultRule {
            filter: from0,
            nth: 3,
            count: 1,
            duplicate: false,
            delay_ns: Duration::from_ns(100),
        });
        let s = seg(0, Flags::ACK, 1);
        // The first is dropped, and still counted by the fault rules.
        assert!(matches!(n.fate(Instant::ZERO, &s), Fate::Drop { .. }));
        assert_eq!(
            n.fate(Instant::ZERO, &s),
            Fate::Duplicate {
                at: Instant::from_ns(50_007),
                again_at: Instant::from_ns(50_007)
            }
        );
        assert_eq!(
            n.fate(Instant::ZERO, &s),
            Fate::Deliver {
                at: Instant::from_ns(50_100)
            }
        );
        assert_eq!(
            n.fate(Instant::ZERO, &s),
            Fate::Deliver {
                at: Instant::from_ns(50_000)
            }
        );
    }

    /// A link with a rate sends its segments one after another: the second
    /// of two sent at once arrives one serialization time after the first,
    /// and one sent after the link went idle waits for nothing.
    #[test]
    fn a_rate_queues_each_direction_behind_its_serialization_times() {
        let link = Link {
            delay_ns: Duration::from_ns(1_000_000),
            rate_bps: 1_000_000_000,
            ..Link::default()
        };
        let mut n = Network::new(2, link, SimRng::new(1, 1));
        let at = |f: Fate| match f {
            Fate::Deliver { at } => at.as_ns(),
            other => panic!("{other:?}"),
        };
        let full = seg(0, Flags::ACK, 1448);
        // 1500 octets at 1 Gbit/s: 12 µs.
        assert_eq!(serialization_ns(1500, 1_000_000_000), 12_000);
        assert_eq!(at(n.fate(Instant::ZERO, &full)), 1_012_000);
        assert_eq!(at(n.fate(Instant::ZERO, &full)), 1_024_000);
        // The other direction has its own transmitter.
        assert_eq!(at(n.fate(Instant::ZERO, &seg(1, Flags::ACK, 0))), 1_000_416);
        let later = Instant::from_ns(1_000_000);
        assert_eq!(at(n.fate(later, &full)), 2_012_000);
        // Without a rate nothing waits.
        let mut free = Network::new(2, Link::default(), SimRng::new(1, 1));
        assert_eq!(at(free.fate(Instant::ZERO, &full)), 50_000);
        assert_eq!(at(free.fate(Instant::ZERO, &full)), 50_000);
    }

    #[test]
    fn partitions_cover_a_window_of_send_times() {
        let mut n = Network::new(2, Link::default(), SimRng::new(1, 1));
        n.partitions.push(Partition {
            from_ns: Instant::from_ns(10),
            until_ns: Instant::from_ns(20),
            one_way_from: Some(1),
        });
        let s = seg(1, Flags::ACK, 1);
        assert!(
            matches!(n.fate(Instant::from_ns(9), &s), Fate::Deliver { at } if at.as_ns() == 50_009)
        );
        assert_eq!(
            n.fate(Instant::from_ns(10), &s),
            Fate::Drop {
                reason: "partition"
            }
        );
        assert!(matches!(
            n.fate(Instant::from_ns(10), &seg(0, Flags::ACK, 1)),
            Fate::Deliver { .. }
        ));
        assert!(matches!(
            n.fate(Instant::from_ns(20), &s),
            Fate::Deliver { .. }
        ));
    }
}
