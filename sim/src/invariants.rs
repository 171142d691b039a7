//! Invariants of a run, checked after every event: each socket's own
//! (`Socket::invariant_violation`), and those that span events, which only
//! the trace and the sockets together show:
//!
//! - per socket, the in-order stream (RCV.NXT) only grows, and by exactly the
//!   octets the model reports `Delivered` (no octet delivered twice, none out
//!   of order); SND.UNA only grows;
//! - per socket, the receive buffer adds up (unread = unread before +
//!   delivered − read − discarded) and so do the octets written;
//! - per direction, read ≤ delivered ≤ written;
//! - no data sent beyond the right edge of the window its receiver advertised
//!   (one octet beyond is a zero-window probe);
//! - at the end, the verdict's accounting: written = read + lost, and the
//!   losses it explains add up to what it calls lost (`verdict_violation`).
//!
//! The fuzz property `invariants`, the fuzz targets of fuzz/ and the suite's
//! stress tests use this one checker.

use crate::trace::{Entry, What};
use crate::{Verdict, World, WorldSpec};
use model::socket::SockId;
use model::{Addr, Buffer, Conn, Event, HostId, Offset, Segment, Seq, State};

/// Which family of invariants a violation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Sequence numbers, delivery and byte accounting.
    Sequence,
    /// Windows respected.
    Window,
}

/// A broken invariant, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub family: Family,
    pub message: String,
}

fn broken(family: Family, message: String) -> Broken {
    Broken { family, message }
}

/// What one socket looked like after the last event.
#[derive(Clone, Copy, Debug)]
struct Seen {
    conn: Conn,
    state: State,
    in_order: u64,
    unread: u64,
    written: u64,
    snd_una: Offset,
}

/// One socket's counts in the entries of the latest event.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    wrote: u64,
    delivered: u64,
    read: u64,
    discarded: u64,
}

/// The incremental checker: feed it each event's new entries.
#[derive(Default)]
pub struct Invariants {
    /// Check sequence, delivery and accounting.
    sequence: bool,
    /// Check windows.
    window: bool,
    /// (from, to) → [written, delivered, read]
    dirs: Vec<((Addr, Addr), [u64; 3])>,
    /// (advertiser, peer) → highest right window edge advertised.
    edges: Vec<((Addr, Addr), Seq)>,
    /// (host, socket) → what it looked like after the last event.
    sockets: Vec<((HostId, SockId), Seen)>,
    /// (host, connection) → counts of the latest event.
    counts: Vec<((HostId, Conn), Counts)>,
    /// Per host, its change count (`World::host_changes`) when last found
    /// sound: a host no event has changed since is not checked again.
    host_changes: Vec<u64>,
    /// The next event's `sockets`, kept between events (no allocation per event).
    spare: Vec<((HostId, SockId), Seen)>,
}

impl Invariants {
    /// The sequence family, the window family, or both.
    pub fn new(sequence: bool, window: bool) -> Invariants {
        Invariants {
            sequence,
            window,
            ..Invariants::default()
        }
    }

    /// Every invariant.
    pub fn all() -> Invariants {
        Invariants::new(true, true)
    }

    /// Checks the entries one event produced and the world after it.
    pub fn check(&mut self, w: &World, new: &[Entry]) -> Result<(), Broken> {
        let spec = w.spec();
        self.counts.clear();
        // Hosts this event's model entries come from (checked whatever
        // their change count says).
        let mut touched = 0u64;
        for e in new {
            match e.what {
                What::Model { event } => {
                    touched |= 1 << (e.host % 64);
                    self.model_event(spec, e.host, &event)?
                }
                What::Send { seg } => self.sent(spec, &seg)?,
                // As the verdict counts it: injected payload is its host's, written.
                What::Inject { seg, .. } => self.dir(seg.src, seg.dst)[0] += u64::from(seg.len),
                _ => {}
            }
        }
        if !self.sequence {
            return Ok(());
        }
        // Bit h: host h (of the first 64) is as the last check found it.
        let unchanged = (0..w.hosts.len().min(64))
            .filter(|&hi| {
                touched & (1 << hi) == 0
                    && self.host_changes.get(hi) == Some(&w.host_changes(hi as HostId))
            })
            .fold(0u64, |m, hi| m | 1 << hi);
        for (hi, h) in w.hosts.iter().enumerate() {
            if hi < 64 && unchanged & (1 << hi) != 0 {
                continue;
            }
            if let Some(m) = h.invariant_violation() {
                return Err(broken(
                    Family::Sequence,
                    format!("{}: {m}", spec.hosts[hi].name),
                ));
            }
        }
        self.across_events(w, unchanged)?;
        self.host_changes.clear();
        self.host_changes
            .extend((0..w.hosts.len()).map(|h| w.host_changes(h as HostId)));
        Ok(())
    }

    fn dir(&mut self, from: Addr, to: Addr) -> &mut [u64; 3] {
        let i = match self.dirs.iter().position(|d| d.0 == (from, to)) {
            Some(i) => i,
            None => {
                self.dirs.push(((from, to), [0; 3]));
                self.dirs.len() - 1
            }
        };
        &mut self.dirs[i].1
    }

    fn counts(&mut self, host: HostId, conn: Conn) -> &mut Counts {
        let key = (host, conn);
        let i = match self.counts.iter().position(|c| c.0 == key) {
            Some(i) => i,
            None => {
                self.counts.push((key, Counts::default()));
                self.counts.len() - 1
            }
        };
        &mut self.counts[i].1
    }

    /// Counts a write, delivery, read or discard into its direction and its socket.
    fn model_event(&mut self, spec: &WorldSpec, host: HostId, ev: &Event) -> Result<(), Broken> {
        match *ev {
            Event::AppWrote { conn, bytes, .. } => {
                self.dir(conn.local, conn.remote)[0] += bytes;
                self.counts(host, conn).wrote += bytes;
                Ok(())
            }
            Event::Delivered { conn, bytes } => {
                self.counts(host, conn).delivered += bytes;
                self.count(spec, conn, bytes, (1, "delivered", "written"))
            }
            Event::AppRead { conn, bytes, .. } => {
                self.counts(host, conn).read += bytes;
                self.count(spec, conn, bytes, (2, "read", "delivered"))
            }
            Event::Discard {
                conn,
                buffer: Buffer::Receive,
                bytes,
                ..
            } => {
                self.counts(host, conn).discarded += bytes;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Adds `bytes` arriving at `conn.local` to `stage` (1 delivered, 2
    /// read) of their direction; with `sequence`, more than the stage before
    /// holds is a violation, in the words `what` and `before`.
    fn count(
        &mut self,
        spec: &WorldSpec,
        conn: Conn,
        bytes: u64,
        (stage, what, before): (usize, &str, &str),
    ) -> Result<(), Broken> {
        let sequence = self.sequence;
        let d = self.dir(conn.remote, conn.local);
        d[stage] += bytes;
        if d[stage] > d[stage - 1] && sequence {
            return Err(broken(
                Family::Sequence,
                format!(
                    "{}→{}: {} bytes {what} but only {} {before}",
                    host_name(spec, conn.remote),
                    host_name(spec, conn.local),
                    d[stage],
                    d[stage - 1]
                ),
            ));
        }
        Ok(())
    }

    /// A segment sent: with `window`, its data must lie inside the window
    /// its receiver advertised; its ACK and window advertise a new edge.
    fn sent(&mut self, spec: &WorldSpec, seg: &Segment) -> Result<(), Broken> {
        if seg.len > 0 && self.window {
            let edge = self
                .edges
                .iter()
                .find(|x| x.0 == (seg.dst, seg.src))
                .map(|x| x.1);
            let end = seg.seq + seg.len;
            // One octet beyond the window is a zero-window probe.
            if edge.is_none_or(|edge| !end.le(edge + 1)) {
                return Err(broken(
                    Family::Window,
                    format!(
                        "{} sent {}..{} beyond the window {} advertised (right edge {})",
                        host_name(spec, seg.src),
                        seg.seq.0,
                        end.0,
                        host_name(spec, seg.dst),
                        edge.map_or("none".into(), |e| e.0.to_string())
                    ),
                ));
            }
        }
        if seg.flags.ack() && !seg.flags.rst() {
            let edge = seg.ack + seg.wnd;
            match self.edges.iter_mut().find(|x| x.0 == (seg.src, seg.dst)) {
                Some(x) => x.1 = x.1.max(edge),
                None => self.edges.push(((seg.src, seg.dst), edge)),
            }
        }
        Ok(())
    }

    /// Each connected socket against itself after the previous event and
    /// the counts of this one. A host `unchanged` since the last event keeps
    /// what was seen of it then (its sockets are as they were, and no entry
    /// counted anything for them): bit h of `unchanged`.
    fn across_events(&mut self, w: &World, unchanged: u64) -> Result<(), Broken> {
        let mut now = std::mem::take(&mut self.spare);
        now.clear();
        for (hi, h) in w.hosts.iter().enumerate() {
            if hi < 64 && unchanged & (1 << hi) != 0 {
                let kept = self.sockets.iter().filter(|x| x.0 .0 == hi as HostId);
                now.extend(kept);
                continue;
            }
            for (id, s) in h.sockets() {
                if matches!(s.state, State::Closed | State::Listen) {
                    continue; // not a connection (or no longer one)
                }
                let seen = seen(s);
                let key = (hi as HostId, id);
                if let Err(m) = self.one_step(key, &seen) {
                    let who = format!("{} socket {id} in {}", w.spec().hosts[hi].name, s.state);
                    self.spare = now;
                    return Err(broken(Family::Sequence, format!("{who}: {m}")));
                }
                now.push((key, seen));
            }
        }
        self.spare = std::mem::replace(&mut self.sockets, now);
        Ok(())
    }

    /// Socket `key`'s step from what was seen of it after the last event.
    fn one_step(&self, key: (HostId, SockId), seen: &Seen) -> Result<(), String> {
        let before = self
            .sockets
            .iter()
            .find(|x| x.0 == key && x.1.conn == seen.conn)
            .map(|x| x.1);
        let counts = self
            .counts
            .iter()
            .find(|c| c.0 == (key.0, seen.conn))
            .map_or(Counts::default(), |c| c.1);
        one_socket(before, seen, &counts)
    }
}

/// What the checker keeps of a connected socket.
fn seen(s: &model::socket::Socket) -> Seen {
    let t = &s.tcb;
    Seen {
        conn: s.conn(),
        state: s.state,
        in_order: match s.state {
            State::SynSent => 0,
            _ => t.rcv_nxt.0.saturating_sub(1 + u64::from(t.fin_rcvd)),
        },
        unread: t.unread,
        written: t.written,
        snd_una: t.snd_una,
    }
}

/// One socket's step: from `before` (a new connection starts from nothing)
/// to `now`, given what the event's entries say happened to it.
fn one_socket(before: Option<Seen>, now: &Seen, c: &Counts) -> Result<(), String> {
    // A socket back in the handshake after having left it is a new
    // connection on the same slot and addresses (its old one freed in this
    // event): it starts from nothing too.
    let opening = |s: State| matches!(s, State::SynSent | State::SynReceived);
    let before = before.filter(|b| !opening(now.state) || opening(b.state));
    let b = before.unwrap_or(Seen {
        in_order: 0,
        unread: 0,
        written: 0,
        ..*now
    });
    if now.in_order != b.in_order + c.delivered {
        return Err(format!(
            "the in-order stream went from {} to {} octets, but {} were delivered",
            b.in_order, now.in_order, c.delivered
        ));
    }
    if now.unread + c.read + c.discarded != b.unread + c.delivered {
        return Err(format!(
            "receive buffer does not add up: {} unread before + {} delivered − {} read − {} discarded ≠ {} unread",
            b.unread, c.delivered, c.read, c.discarded, now.unread
        ));
    }
    if now.written != b.written + c.wrote {
        return Err(format!(
            "written went from {} to {}, but the application wrote {}",
            b.written, now.written, c.wrote
        ));
    }
    if now.snd_una < b.snd_una {
        return Err(format!(
            "snd.una went back from {} to {}",
            b.snd_una, now.snd_una
        ));
    }
    Ok(())
}

fn host_name(spec: &WorldSpec, a: Addr) -> &str {
    &spec.hosts[a.host as usize].name
}

/// The verdict's accounting, per direction: read ≤ delivered ≤ written,
/// lost = written − read, and the losses it explains add up to it.
pub fn verdict_violation(v: &Verdict) -> Option<String> {
    for c in &v.connections {
        for d in &c.directions {
            let explained: u64 = d.losses.iter().map(|l| l.bytes).sum();
            let ordered = d.read <= d.delivered && d.delivered <= d.written;
            if !ordered || d.lost != d.written - d.read.min(d.written) || explained != d.lost {
                return Some(format!(
                    "{:?}→{:?}: written {} delivered {} read {} lost {}, losses explained {explained}",
                    d.from, d.to, d.written, d.delivered, d.read, d.lost
                ));
            }
        }
    }
    None
}

/// Runs `w` (which must record its trace) to the end, checking every
/// invariant after every event and the verdict at the end; the trace is
/// drained as it goes, so memory stays bounded.
pub fn run_checked(w: &mut World) -> Result<Verdict, Broken> {
    let mut inv = Invariants::all();
    let mut new = Vec::new();
    loop {
        new.clear();
        new.extend(w.drain_trace());
        inv.check(w, &new)?;
        if !w.step() {
            break;
        }
    }
    let v = w.verdict();
    match verdict_violation(&v) {
        Some(m) => Err(broken(Family::Sequence, m)),
        None => Ok(v),
    }
}
