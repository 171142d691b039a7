//! Where a segment's payload sits in its sender's byte stream, read from the
//! sequence numbers alone, so that every producer's payload bytes follow the
//! same rule (a retransmission carries what the first transmission carried).
//!
//! A direction's SYN gives its ISN; a later number is read as the 64-bit
//! offset nearest the furthest octet seen so far, as the receiving endpoint
//! reads it (`model::Offset::nearest`), so a stream longer than 4 GiB keeps
//! counting instead of repeating its first bytes. Without a SYN in the file
//! (a capture that started late) the absolute sequence number stands in.

use crate::wire::WireSegment;
use model::{Offset, Seq};
use std::collections::BTreeMap;
use std::net::SocketAddrV4;

/// One direction as far as the file has seen it.
#[derive(Clone, Copy)]
struct Direction {
    isn: Seq,
    /// One past the furthest octet any segment so far has carried.
    edge: Offset,
}

/// The directions of every connection in a file, keyed by (sender, receiver).
#[derive(Default)]
pub struct StreamOffsets {
    directions: BTreeMap<(SocketAddrV4, SocketAddrV4), Direction>,
}

impl StreamOffsets {
    /// The stream offset of `s`'s first payload octet (0: the octet after
    /// the SYN). Call in file order: a SYN starts its direction's numbers
    /// anew (a new connection on the same ports), a SYN-ACK sent again with
    /// the same ISN keeps them.
    pub fn payload_offset(&mut self, s: &WireSegment) -> u64 {
        let key = (s.src, s.dst);
        let syn = s.flags & crate::wire::SYN != 0;
        if syn {
            let again = s.flags & crate::wire::ACK != 0
                && self.directions.get(&key).is_some_and(|d| d.isn.0 == s.seq);
            if !again {
                let fresh = Direction {
                    isn: Seq(s.seq),
                    edge: Offset::FIRST_DATA,
                };
                self.directions.insert(key, fresh);
            }
        }
        let first = Seq(s.seq) + syn as u32;
        let Some(d) = self.directions.get_mut(&key) else {
            return first.0 as u64;
        };
        let at = Offset::nearest(first, d.isn, d.edge);
        d.edge = d.edge.max(at + s.len as u64);
        // A segment below the first data octet (a probe one below SND.UNA
        // right after the handshake) carries no payload of its own.
        at.0.saturating_sub(Offset::FIRST_DATA.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn seg(seq: u32, flags: u8, len: u32) -> WireSegment {
        WireSegment {
            t_ns: 0,
            src: SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 1), 40000),
            dst: SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 80),
            seq,
            ack: 0,
            flags,
            window: 0,
            options: Default::default(),
            len,
            comment: None,
        }
    }

    #[test]
    fn offsets_count_from_the_octet_after_the_syn_across_the_wrap() {
        let mut o = StreamOffsets::default();
        let isn = u32::MAX - 10;
        assert_eq!(o.payload_offset(&seg(isn, 0x02, 0)), 0);
        assert_eq!(o.payload_offset(&seg(isn.wrapping_add(1), 0x18, 100)), 0);
        assert_eq!(
            o.payload_offset(&seg(isn.wrapping_add(101), 0x18, 100)),
            100
        );
        // A retransmission of the first segment carries the same octets.
        assert_eq!(o.payload_offset(&seg(isn.wrapping_add(1), 0x18, 100)), 0);
        // A zero-window probe one below SND.UNA right after the handshake.
        assert_eq!(o.payload_offset(&seg(isn, 0x10, 0)), 0);
    }

    #[test]
    fn a_stream_longer_than_4_gib_keeps_counting() {
        let mut o = StreamOffsets::default();
        o.payload_offset(&seg(7, 0x02, 0));
        let chunk = 1u32 << 30;
        let mut at = 0u64;
        for _ in 0..6 {
            let seq = 8u32.wrapping_add(at as u32);
            assert_eq!(o.payload_offset(&seg(seq, 0x10, chunk)), at);
            at += chunk as u64;
        }
        assert!(at > 1 << 32);
    }

    #[test]
    fn a_new_syn_on_the_same_ports_starts_again_and_no_syn_means_absolute() {
        let mut o = StreamOffsets::default();
        assert_eq!(o.payload_offset(&seg(5000, 0x18, 10)), 5000);
        o.payload_offset(&seg(100, 0x02, 0));
        assert_eq!(o.payload_offset(&seg(111, 0x18, 10)), 10);
        o.payload_offset(&seg(9000, 0x02, 0));
        assert_eq!(o.payload_offset(&seg(9001, 0x18, 10)), 0);
    }
}
