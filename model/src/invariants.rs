//! What must hold of every socket between any two events, whatever it was
//! fed: the checks the fuzz targets, `tcpsim fuzz --property invariants` and
//! the suite's stress tests run after each event (sim's `Invariants` adds the
//! ones that span events: nothing delivered twice, bytes that add up).
//!
//! Each is cheap (a few comparisons per socket, the out-of-order list is at
//! most `OOO_RANGES_MAX` long), but they run outside the model's hot path,
//! called by whoever drives it, so a release run pays nothing unless asked.

use crate::seq::Offset;
use crate::socket::{Socket, OOO_RANGES_MAX};
use crate::state::State;
use crate::Host;

impl Socket {
    /// The first invariant this socket breaks, in words, or None.
    pub fn invariant_violation(&self) -> Option<String> {
        if matches!(self.state, State::Closed | State::Listen) {
            return None; // no connection: the TCB is not in use
        }
        self.send_violation().or_else(|| self.receive_violation())
    }

    /// SND.UNA ≤ SND.NXT ≤ SND.MAX, and nothing sent that was not written:
    /// the SYN at 0, the data at 1..=written, the FIN after it once asked for
    /// (RFC 9293 §3.3.1, send sequence space).
    fn send_violation(&self) -> Option<String> {
        let t = &self.tcb;
        if !(t.snd_una <= t.snd_nxt && t.snd_nxt <= t.snd_max) {
            return Some(format!(
                "snd.una {} snd.nxt {} snd.max {} out of order",
                t.snd_una, t.snd_nxt, t.snd_max
            ));
        }
        let end = self.write_seq() + u64::from(t.fin_queued);
        if t.snd_max > end {
            return Some(format!(
                "snd.max {} is past the end of what was written ({} octets, FIN {}: {end})",
                t.snd_max, t.written, t.fin_queued
            ));
        }
        None
    }

    /// The receive side once the peer's SYN is in (RCV.NXT is past it): the
    /// unread count within what arrived in order, out-of-order ranges sorted,
    /// apart, beyond RCV.NXT and bounded, an out-of-order FIN beyond them.
    fn receive_violation(&self) -> Option<String> {
        let t = &self.tcb;
        if matches!(self.state, State::SynSent) {
            return None; // RCV.NXT not yet set
        }
        if t.rcv_nxt < Offset::FIRST_DATA {
            return Some(format!(
                "rcv.nxt {} is before the first data octet",
                t.rcv_nxt
            ));
        }
        let in_order = t.rcv_nxt.0 - 1 - u64::from(t.fin_rcvd);
        if t.unread > in_order {
            return Some(format!(
                "{} octets unread but only {in_order} arrived in order",
                t.unread
            ));
        }
        let sorted = t.ooo.iter().all(|r| r.0 < r.1) && t.ooo.windows(2).all(|w| w[0].1 < w[1].0);
        let beyond = t.ooo.first().is_none_or(|r| r.0 > t.rcv_nxt);
        if !sorted || !beyond || t.ooo.len() > OOO_RANGES_MAX {
            return Some(format!(
                "out-of-order ranges {:?} not sorted, apart and beyond rcv.nxt {} (at most {OOO_RANGES_MAX})",
                t.ooo, t.rcv_nxt
            ));
        }
        if t.fin_rcvd && (!t.ooo.is_empty() || t.ooo_fin.is_some()) {
            return Some("data or a FIN queued out of order after the FIN".to_string());
        }
        let last = t.ooo.last().map_or(t.rcv_nxt, |r| r.1);
        if t.ooo_fin.is_some_and(|f| f < last) {
            return Some(format!(
                "out-of-order FIN at {:?} before data queued up to {last}",
                t.ooo_fin
            ));
        }
        None
    }
}

impl Host {
    /// The first socket that breaks an invariant, with what it breaks.
    pub fn invariant_violation(&self) -> Option<String> {
        self.sockets().find_map(|(id, s)| {
            s.invariant_violation().map(|m| {
                format!(
                    "socket {id} ({}:{} in {}): {m}",
                    s.local.host, s.local.port, s.state
                )
            })
        })
    }
}
