//! The capture file: classic pcap or pcapng, written by the `pcap-file`
//! crate, link type Ethernet, nanosecond timestamps, little-endian headers
//! whatever the machine (so a file is the same bytes everywhere).

use crate::stream::StreamOffsets;
use crate::wire::{frame, WireSegment};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};
use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

/// Bytes kept of each frame: all of them (tcpdump's default snap length;
/// the largest frame is 14 + 65 535).
const SNAPLEN: u32 = 262_144;
/// pcapng's if_tsresol for nanoseconds: 10^-9 (RFC draft-ietf-opsawg-pcapng §4.2).
const TSRESOL_NS: u8 = 9;

/// The two container formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap (`.pcap`): what every tool reads; no comments.
    Pcap,
    /// pcapng (`.pcapng`): the same packets, and a comment on each one the
    /// network dropped or duplicated.
    PcapNg,
}

impl Format {
    /// `.pcapng` asks for pcapng; any other name gets classic pcap.
    pub fn of_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("pcapng") => Format::PcapNg,
            _ => Format::Pcap,
        }
    }
}

enum Inner<W: Write> {
    Pcap(PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

/// Writes segments into a capture file, one frame per segment, in the order given.
pub struct Writer<W: Write> {
    inner: Inner<W>,
    offsets: StreamOffsets,
}

fn io_error(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

impl<W: Write> Writer<W> {
    /// Starts a file: the global header (pcap), or the section and interface
    /// blocks (pcapng).
    pub fn new(out: W, format: Format) -> io::Result<Writer<W>> {
        let inner = match format {
            Format::Pcap => {
                let header = PcapHeader {
                    version_major: 2,
                    version_minor: 4,
                    ts_correction: 0,
                    ts_accuracy: 0,
                    snaplen: SNAPLEN,
                    datalink: DataLink::ETHERNET,
                    ts_resolution: TsResolution::NanoSecond,
                    endianness: Endianness::Little,
                };
                Inner::Pcap(PcapWriter::with_header(out, header).map_err(io_error)?)
            }
            Format::PcapNg => {
                let mut w =
                    PcapNgWriter::with_endianness(out, Endianness::Little).map_err(io_error)?;
                let interface = InterfaceDescriptionBlock {
                    linktype: DataLink::ETHERNET,
                    snaplen: SNAPLEN,
                    options: vec![InterfaceDescriptionOption::IfTsResol(TSRESOL_NS)],
                };
                w.write_pcapng_block(interface).map_err(io_error)?;
                Inner::PcapNg(w)
            }
        };
        Ok(Writer {
            inner,
            offsets: StreamOffsets::default(),
        })
    }

    /// Appends one segment as a frame stamped with its time.
    pub fn write(&mut self, s: &WireSegment) -> io::Result<()> {
        let f = frame(s, self.offsets.payload_offset(s));
        let timestamp = Duration::from_nanos(s.t_ns);
        match &mut self.inner {
            Inner::Pcap(w) => {
                w.write_packet(&PcapPacket::new(timestamp, f.orig_len, &f.data))
                    .map_err(io_error)?;
            }
            Inner::PcapNg(w) => {
                let options = s
                    .comment
                    .iter()
                    .map(|c| EnhancedPacketOption::Comment(Cow::Borrowed(c.as_str())))
                    .collect();
                let block = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp,
                    original_len: f.orig_len,
                    data: Cow::Borrowed(&f.data),
                    options,
                };
                w.write_pcapng_block(block).map_err(io_error)?;
            }
        }
        Ok(())
    }

    /// Ends the file and hands back what it was written into.
    pub fn finish(self) -> io::Result<W> {
        let mut out = match self.inner {
            Inner::Pcap(w) => w.into_writer(),
            Inner::PcapNg(w) => w.into_inner(),
        };
        out.flush()?;
        Ok(out)
    }
}

/// Writes `segments` into the file at `path`, pcapng if it ends in
/// `.pcapng`, classic pcap otherwise.
pub fn write_file(path: &Path, segments: impl IntoIterator<Item = WireSegment>) -> io::Result<()> {
    let file = io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = Writer::new(file, Format::of_path(path))?;
    for s in segments {
        w.write(&s)?;
    }
    w.finish().map(drop)
}
