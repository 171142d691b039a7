//! Segments on the wire: addresses, the flag bitset, and the header fields that
//! matter at teardown. Payload is never copied: a segment carries only its
//! length, and the bytes are the sender's stream offsets `seq - (ISS + 1)`.

use crate::seq::Seq;
use serde::Serialize;
use std::fmt;

/// Index of a host in the world.
pub type HostId = u16;

/// A transport address: host and port.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema, PartialOrd, Ord,
)]
pub struct Addr {
    pub host: HostId,
    pub port: u16,
}

/// TCP flags as a bitset, so any combination a fuzzer or a packetdrill script
/// sends (SYN+FIN, RST+data, …) can be expressed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: Flags = Flags(0x01);
    pub const SYN: Flags = Flags(0x02);
    pub const RST: Flags = Flags(0x04);
    pub const PSH: Flags = Flags(0x08);
    pub const ACK: Flags = Flags(0x10);
    pub const NONE: Flags = Flags(0);

    #[inline]
    pub fn has(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }
    #[inline]
    pub fn fin(self) -> bool {
        self.has(Flags::FIN)
    }
    #[inline]
    pub fn syn(self) -> bool {
        self.has(Flags::SYN)
    }
    #[inline]
    pub fn rst(self) -> bool {
        self.has(Flags::RST)
    }
    #[inline]
    pub fn ack(self) -> bool {
        self.has(Flags::ACK)
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    #[inline]
    fn bitor(self, o: Flags) -> Flags {
        Flags(self.0 | o.0)
    }
}

/// tcpdump's spelling: `S`, `S.`, `P.`, `F.`, `R`, `R.`, `.`
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(5);
        if self.syn() {
            s.push('S');
        }
        if self.fin() {
            s.push('F');
        }
        if self.rst() {
            s.push('R');
        }
        if self.has(Flags::PSH) {
            s.push('P');
        }
        if self.ack() {
            s.push('.');
        }
        if s.is_empty() {
            s.push_str("none");
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One TCP segment. Windows are in octets (window scaling is not modelled: the
/// field is wide enough for any buffer).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
pub struct Segment {
    pub src: Addr,
    pub dst: Addr,
    pub seq: Seq,
    pub ack: Seq,
    pub flags: Flags,
    pub wnd: u32,
    /// Payload length in octets.
    pub len: u32,
    /// MSS option (only on SYNs); 0 when absent.
    pub mss: u16,
    /// Other options on a SYN or SYN-ACK (offered, or agreed to).
    pub opts: SynOpts,
}

/// Options a SYN offers or a SYN-ACK agrees to, besides the MSS: a bitset. (A
/// byte, not a `bool`: a `bool` would become the niche of enums that carry a
/// segment, and writing that one byte then reading the whole value stalls.)
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct SynOpts(pub u8);

impl SynOpts {
    pub const NONE: SynOpts = SynOpts(0);
    /// RFC 7323 timestamps. Once agreed every segment carries them; only their
    /// 12 octets are modelled.
    pub const TS: SynOpts = SynOpts(1);
    /// RFC 7323 window scaling offered. The shift itself is the sender's
    /// affair: windows here are counted in octets, so only whether both ends
    /// agreed (and so round their windows to the shift) is carried.
    pub const WS: SynOpts = SynOpts(2);

    #[inline]
    pub fn ts(self) -> bool {
        self.0 & SynOpts::TS.0 != 0
    }

    #[inline]
    pub fn ws(self) -> bool {
        self.0 & SynOpts::WS.0 != 0
    }
}

/// A segment a scenario step injects (`inject S PKT`), written as a
/// packetdrill packet line: sequence numbers relative to the connection
/// (`seq` from the sender's ISN, `ack` from the receiver's), as packetdrill,
/// tcpdump and the ladder print them. [`RawSeg::segment`] places it on a
/// connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, schemars::JsonSchema)]
pub struct RawSeg {
    pub flags: Flags,
    /// The first sequence number, relative to the sender's ISN (`0` on a SYN).
    pub seq: u32,
    /// Payload length in octets.
    pub len: u32,
    /// The acknowledgment number, relative to the receiver's ISN (`None`: 0 on the wire).
    pub ack: Option<u32>,
    /// The window in octets (`None`: [`RawSeg::DEFAULT_WIN`]).
    pub win: Option<u32>,
    /// The MSS option (SYNs only; `None`: none on the wire).
    pub mss: Option<u16>,
    /// Carries the timestamps option.
    pub ts: bool,
}

impl RawSeg {
    /// The window of a line without `win`: the largest unscaled one.
    pub const DEFAULT_WIN: u32 = 65_535;

    /// The segment on the wire from `src` (whose ISN is `iss`) to `dst`
    /// (whose ISN is `irs`).
    pub fn segment(&self, src: Addr, dst: Addr, iss: Seq, irs: Seq) -> Segment {
        Segment {
            src,
            dst,
            seq: Seq(iss.0.wrapping_add(self.seq)),
            ack: Seq(self.ack.map_or(0, |a| irs.0.wrapping_add(a))),
            flags: self.flags,
            wnd: self.win.unwrap_or(Self::DEFAULT_WIN),
            len: self.len,
            mss: self.mss.unwrap_or(0),
            opts: if self.ts { SynOpts::TS } else { SynOpts::NONE },
        }
    }
}

/// packetdrill's spelling, which the scenario parser reads back:
/// `S 0:0(0) win 65535 <mss 1460>`, `P. 1:101(100) ack 1`.
impl fmt::Display for RawSeg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.seq.wrapping_add(self.len);
        write!(f, "{} {}:{}({})", self.flags, self.seq, end, self.len)?;
        if let Some(a) = self.ack {
            write!(f, " ack {a}")?;
        }
        if let Some(w) = self.win {
            write!(f, " win {w}")?;
        }
        let mut opts = Vec::new();
        if let Some(m) = self.mss {
            opts.push(format!("mss {m}"));
        }
        if self.ts {
            opts.push("TS val 0 ecr 0".to_string());
        }
        if !opts.is_empty() {
            write!(f, " <{}>", opts.join(","))?;
        }
        Ok(())
    }
}

impl Segment {
    /// Sequence space the segment occupies: payload plus one for SYN and FIN.
    #[inline]
    pub fn seq_len(&self) -> u32 {
        self.len + self.flags.syn() as u32 + self.flags.fin() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_print_like_tcpdump() {
        assert_eq!((Flags::SYN).to_string(), "S");
        assert_eq!((Flags::SYN | Flags::ACK).to_string(), "S.");
        assert_eq!((Flags::FIN | Flags::ACK).to_string(), "F.");
        assert_eq!((Flags::RST | Flags::ACK).to_string(), "R.");
        assert_eq!((Flags::PSH | Flags::ACK).to_string(), "P.");
        assert_eq!((Flags::ACK).to_string(), ".");
        assert!((Flags::SYN | Flags::FIN).fin());
    }

    #[test]
    fn syn_and_fin_occupy_sequence_space() {
        let a = Addr { host: 0, port: 1 };
        let mut s = Segment {
            src: a,
            dst: a,
            seq: Seq(0),
            ack: Seq(0),
            flags: Flags::SYN | Flags::FIN,
            wnd: 0,
            len: 10,
            mss: 0,
            opts: SynOpts::NONE,
        };
        assert_eq!(s.seq_len(), 12);
        s.flags = Flags::ACK;
        assert_eq!(s.seq_len(), 10);
    }
}
