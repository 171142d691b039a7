//! A world at its start, made in place in the buffers of its last run
//! (`World::renew`; `World::new` makes it on an empty world): its hosts,
//! step lists, queue and tables, so that running a spec again allocates
//! none of them.

use super::{Queued, SharedHost, QUEUE_START_CAPACITY};
use crate::spec::{At, WorldSpec};
use model::host::splitmix64;
use model::{Host, HostConfig, HostId, Instant};
use smallvec::SmallVec;
use std::sync::Arc;

const ISN_KEY_SALT: u64 = 0x6973_6e5f_6b65_7973;

/// Host `i`'s configuration, from the spec.
fn host_config(spec: &WorldSpec, i: usize) -> HostConfig {
    HostConfig {
        id: i as HostId,
        mss: spec.hosts[i].mtu.saturating_sub(40).max(64),
        // The network profile's to say: only `loopback` names the
        // interface; any other path is taken as the emulated LAN
        // `rcv_wnd_pct` was measured on.
        loopback: spec.loopback,
        isn_key: splitmix64(spec.seed ^ ISN_KEY_SALT ^ ((i as u64) << 40)),
        isn_fixed: spec.hosts[i].isn,
        ephemeral_first: 40_000,
        wake_latency: spec.wake_latency,
    }
}

/// Makes `hosts` the spec's hosts at their start: each host this world
/// alone holds is made new in place; any other (shared with a world the
/// explorer copied, or missing) is allocated.
pub(super) fn hosts(spec: &WorldSpec, hosts: &mut SmallVec<[Arc<SharedHost>; 4]>) {
    hosts.truncate(spec.hosts.len());
    for (i, h) in spec.hosts.iter().enumerate() {
        let (cfg, personality) = (host_config(spec, i), Arc::clone(&h.personality));
        if let Some(shared) = hosts.get_mut(i).and_then(Arc::get_mut) {
            shared.renew(cfg, personality);
            continue;
        }
        let fresh = SharedHost::new(Host::new(cfg, personality));
        match hosts.get_mut(i) {
            Some(slot) => *slot = fresh,
            None => hosts.push(fresh),
        }
    }
}

/// Makes `lists` each process's steps (indices into the spec's), in order:
/// kept if they already are (the same spec run again), else new lists, each
/// allocated once at its final length (pushed into from empty, a process
/// with five steps reallocated its list on the way).
pub(super) fn steps_by_proc(spec: &WorldSpec, lists: &mut SmallVec<[Arc<Vec<u32>>; 4]>) {
    if steps_fit(spec, lists) {
        return;
    }
    let mut counts: SmallVec<[usize; 4]> = smallvec::smallvec![0; spec.procs.len()];
    for s in &spec.steps {
        counts[s.proc as usize] += 1;
    }
    let mut fresh: SmallVec<[Vec<u32>; 4]> =
        counts.iter().map(|&n| Vec::with_capacity(n)).collect();
    for (i, s) in spec.steps.iter().enumerate() {
        fresh[s.proc as usize].push(i as u32);
    }
    *lists = fresh.into_iter().map(Arc::new).collect();
}

/// Whether `lists` are the spec's step lists: one per process, each
/// increasing and naming only its process's steps, all steps named. Then
/// they are exactly the lists `steps_by_proc` would build.
fn steps_fit(spec: &WorldSpec, lists: &[Arc<Vec<u32>>]) -> bool {
    if lists.len() != spec.procs.len()
        || lists.iter().map(|l| l.len()).sum::<usize>() != spec.steps.len()
    {
        return false;
    }
    lists.iter().enumerate().all(|(p, list)| {
        list.windows(2).all(|w| w[0] < w[1])
            && list.iter().all(|&i| {
                spec.steps
                    .get(i as usize)
                    .is_some_and(|s| s.proc as usize == p)
            })
    })
}

/// Empties the event queue, with room for a small close (a queue grown
/// from empty reallocates twice on the way).
pub(super) fn queue(heap: &mut Vec<Queued>) {
    heap.clear();
    heap.reserve(QUEUE_START_CAPACITY);
}

/// Makes `v` `n` copies of `x`.
pub(super) fn filled<A: smallvec::Array>(v: &mut SmallVec<A>, n: usize, x: A::Item)
where
    A::Item: Clone,
{
    v.clear();
    v.resize(n, x);
}

/// When each step returned, for a spec with a step that starts `after`
/// another; empty for others.
pub(super) fn step_done(spec: &WorldSpec, done: &mut Vec<Option<Instant>>) {
    done.clear();
    if spec.steps.iter().any(|s| matches!(s.at, At::Once { .. })) {
        done.resize(spec.steps.len(), None);
    }
}

#[cfg(test)]
mod tests {
    use crate::{examples, World, WorldSpec};
    use std::sync::Arc;

    /// Worlds of different shapes: processes, steps, timers, a half close.
    fn specs() -> Vec<Arc<WorldSpec>> {
        vec![
            examples::small_close(false),
            examples::bulk(300_000),
            examples::small_close(true),
            examples::read_timeout(),
            examples::small_close(false),
        ]
    }

    /// A renewed world is the new one: at its start (equal, same digest),
    /// and through its run (the same trace and verdict), whatever ran in
    /// its buffers before, recording or not.
    #[test]
    fn a_renewed_world_runs_as_a_new_one() {
        let mut reused = World::new(examples::bulk(100_000), false);
        reused.run();
        for (i, spec) in specs().into_iter().enumerate() {
            let record = i % 2 == 0;
            reused.renew(Arc::clone(&spec), record);
            let mut fresh = World::new(spec, record);
            assert!(reused == fresh, "spec {i}: not the new world at its start");
            assert_eq!(reused.state_hash(), fresh.state_hash(), "spec {i}");
            let (v_reused, v_fresh) = (reused.run(), fresh.run());
            assert_eq!(v_reused, v_fresh, "spec {i}");
            assert_eq!(reused.trace(), fresh.trace(), "spec {i}");
            assert_eq!(reused.trace().is_empty(), !record, "spec {i}");
            assert_eq!(reused.state_hash(), fresh.state_hash(), "spec {i}");
            assert!(v_fresh.events > 10, "spec {i}: {v_fresh:?}");
        }
    }

    /// A world whose hosts another world shares (an explorer's copy) is
    /// renewed without touching them: the copy keeps its state.
    #[test]
    fn renewing_leaves_a_copy_sharing_its_hosts_alone() {
        let spec = examples::small_close(false);
        let mut w = World::new(Arc::clone(&spec), false);
        for _ in 0..8 {
            w.step();
        }
        let copy = w.clone();
        let digest = copy.state_hash();
        w.renew(Arc::clone(&spec), false);
        assert_eq!(copy.state_hash(), digest);
        assert!(w == World::new(Arc::clone(&spec), false));
        assert_eq!(w.run(), World::new(spec, false).run());
    }
}
