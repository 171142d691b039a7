//! How a world holds its hosts: each behind an `Arc` shared with the worlds
//! cloned from it, on a clock of its own against the world's.

use model::{Host, HostId, Instant};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A host's clock against the world's.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HostClock {
    /// How far the host's clock is ahead of the world's (wrapping): the
    /// explorer moves the world's clock to its epoch without rewriting every
    /// host ([`World::canonicalize`]). Zero in every run that is not
    /// explored; a canonical world hashes each host's times relative to the
    /// world's clock instead.
    pub(crate) ahead_ns: u64,
    /// The host's next timer deadline (on its own clock) and its change
    /// count when that was asked: the event loop asks after every event, and
    /// again when the timer event comes up, of a host mostly unchanged since.
    pub(crate) poll_memo: Option<(u64, Option<Instant>)>,
}

/// An instant `at` of a clock `ahead_ns` ahead of the world's, on the world's.
#[inline]
pub(crate) fn on_world_clock(ahead_ns: u64, at: Option<Instant>) -> Option<Instant> {
    at.map(|at| match at {
        Instant::MAX => at,
        _ => Instant::from_ns(at.as_ns().wrapping_sub(ahead_ns)),
    })
}

/// A host as a world holds it: behind an `Arc` shared by the worlds the
/// explorer copies from one another, with the digest of its canonical form
/// once the explorer has taken it (`World::canonicalize`). Hashed and
/// compared as the host alone.
#[derive(Debug)]
pub struct SharedHost {
    pub(crate) host: Host,
    /// Taken by `canonicalize`, forgotten by every change ([`shared_mut`]).
    pub(crate) digest: Option<HostDigest>,
    /// How many times the host was lent to be changed ([`shared_mut`]):
    /// while it stays the same the host is the same, so a check of the
    /// host after every event (`Invariants`) can skip one no event touched,
    /// and the event loop need not ask it its next deadline again.
    pub(crate) changes: u64,
}

/// The digest of a host's canonical form (`World::canonicalize`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HostDigest {
    /// XXH3-128 of the host's `hash_state` bytes, its earliest instant
    /// moved to the epoch.
    pub(crate) digest: u128,
    /// Whether the host holds any instant (else no earliest one to place).
    pub(crate) timed: bool,
}

impl SharedHost {
    pub(crate) fn new(host: Host) -> Arc<SharedHost> {
        Arc::new(SharedHost {
            host,
            digest: None,
            changes: 0,
        })
    }
}

impl SharedHost {
    /// Made what `SharedHost::new(Host::new(cfg, personality))` holds, in place.
    pub(crate) fn renew(&mut self, cfg: model::HostConfig, personality: Arc<model::Personality>) {
        self.host.renew(cfg, personality);
        self.digest = None;
        self.changes = 0;
    }
}

impl Clone for SharedHost {
    /// A copy is made to be changed: it keeps no digest.
    fn clone(&self) -> SharedHost {
        SharedHost {
            host: self.host.clone(),
            digest: None,
            changes: self.changes,
        }
    }

    fn clone_from(&mut self, o: &SharedHost) {
        self.host.clone_from(&o.host);
        self.digest = None;
        self.changes = o.changes;
    }
}

impl std::ops::Deref for SharedHost {
    type Target = Host;
    fn deref(&self) -> &Host {
        &self.host
    }
}

impl Hash for SharedHost {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.host.hash(h);
    }
}

impl PartialEq for SharedHost {
    fn eq(&self, o: &SharedHost) -> bool {
        self.host == o.host
    }
}

/// Host `h` of `hosts`, to change: copied first if another world shares
/// it, and its digest forgotten. (A function of the field, not of the
/// world, so the world's output buffer can be lent beside it.)
#[inline]
pub(crate) fn shared_mut(hosts: &mut [Arc<SharedHost>], h: HostId) -> &mut Host {
    let shared = Arc::make_mut(&mut hosts[h as usize]);
    shared.digest = None;
    shared.changes = shared.changes.wrapping_add(1);
    &mut shared.host
}
