//! Capture files for Wireshark and tcpdump: the segments of a run as
//! Ethernet/IPv4/TCP frames in a classic pcap or a pcapng file.
//!
//! One writer serves every producer. A producer turns its segments into
//! [`WireSegment`]s (header fields and options as sent) and [`Writer`]
//! builds the frames (etherparse: checksums, option layout; the payload
//! pattern at each segment's stream offset) and the container (pcap-file).
//! The simulator's trace goes through [`TraceCapture`], entry by entry; the
//! kernel run (`real/`) maps its captured headers to the same `WireSegment`,
//! so both files have the same framing, addresses scheme, payload pattern
//! and time base (virtual ns since time 0).
//!
//! - `wire`: a segment as a frame; the payload pattern; MAC addresses.
//! - `stream`: where each segment's payload sits in its stream, from its
//!   sequence numbers (the same for every producer).
//! - `file`: the container: [`Format`] (pcap or pcapng), [`Writer`], [`write_file`].
//! - `trace`: the simulator's trace as segments, as it goes by: addresses,
//!   window scaling, timestamps, the comments on dropped and duplicated segments.
//!
//! A file depends only on its segments: the same scenario and seed give the
//! same bytes.

mod file;
mod stream;
mod trace;
mod wire;

pub use file::{write_file, Format, Writer};
pub use stream::StreamOffsets;
pub use trace::{host_ipv4, write_trace_to, TraceCapture, WindowShifts};
pub use wire::{fill_payload, frame, mac_of, Frame, WireSegment, PATTERN_LINE_BYTES};

/// Writes the segments of a simulator's trace at hand to `path` (pcapng if
/// it ends in `.pcapng`, classic pcap otherwise). A run too long to hold
/// feeds a [`TraceCapture`] instead.
pub fn write_trace(path: &std::path::Path, trace: &[sim::Entry]) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    write_trace_to(file, Format::of_path(path), trace).map(drop)
}

/// Re-exported for producers that build [`WireSegment::options`] themselves.
pub use etherparse::{TcpOptionElement, TcpOptions};
