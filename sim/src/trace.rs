//! The trace: everything that happened, in order, with its virtual time.
//! The verdict observes the same entries whether or not they are stored.

use crate::spec::ProcId;
use model::{CallResult, Conn, Event, HostId, Segment, State, SysCall, TimeNs};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum What {
    /// A process made a socket call.
    Call {
        proc: ProcId,
        step: u32,
        call: SysCall,
    },
    /// The call returned (at once, or after blocking).
    Return {
        proc: ProcId,
        step: u32,
        call: SysCall,
        result: CallResult,
    },
    /// The call blocks in virtual time.
    Blocked {
        proc: ProcId,
        step: u32,
        call: SysCall,
    },
    Fork {
        proc: ProcId,
        child: ProcId,
    },
    Exit {
        proc: ProcId,
    },
    Sleep {
        proc: ProcId,
        ns: TimeNs,
    },
    /// A process ran out of steps.
    Finished {
        proc: ProcId,
    },
    Send {
        seg: Segment,
    },
    Recv {
        seg: Segment,
    },
    Drop {
        seg: Segment,
        reason: &'static str,
    },
    Duplicate {
        seg: Segment,
    },
    /// Something inside a host.
    Model {
        event: Event,
    },
    /// An RST whose cause the trace's producer cannot see (a real kernel run:
    /// only the segment is captured): the sender's view of the connection and
    /// its state, as far as the segments before it tell.
    RstSeen {
        conn: Conn,
        state: State,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Entry {
    pub t_ns: TimeNs,
    pub host: HostId,
    #[serde(flatten)]
    pub what: What,
}

/// FNV-1a, 64-bit: a stable digest of rendered trace text (for determinism checks).
pub fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
