//! One segment as an Ethernet frame: the header fields a capture file needs,
//! built into Ethernet II / IPv4 / TCP by etherparse (which computes the IPv4
//! header checksum and the TCP checksum), and the payload from a pattern.
//!
//! Neither the simulator nor the kernel run keeps payload bytes (the model
//! counts octets; the kernel worker sends zeros and the capture keeps only
//! headers), so every payload byte is a function of its stream offset: a
//! retransmission carries the bytes it carried the first time, and
//! Wireshark's "Follow TCP Stream" shows lines that each name their offset.

use etherparse::{IpHeaders, Ipv4Header, PacketBuilder, TcpHeader, TcpOptions};
use std::net::{Ipv4Addr, SocketAddrV4};

/// One TCP segment as a capture file records it.
#[derive(Clone, Debug, PartialEq)]
pub struct WireSegment {
    /// When it was sent, ns since the scenario's time 0.
    pub t_ns: u64,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    /// Absolute 32-bit sequence and acknowledgment numbers, as on the wire.
    pub seq: u32,
    pub ack: u32,
    /// The flags octet: CWR ECE URG ACK PSH RST SYN FIN (RFC 9293 §3.1).
    pub flags: u8,
    /// The 16-bit window field as sent (already scaled down by the sender's shift).
    pub window: u16,
    pub options: TcpOptions,
    /// Payload length in octets.
    pub len: u32,
    /// A note that a pcapng file keeps with the packet (a classic pcap has
    /// nowhere to put it): why the network dropped or duplicated it.
    pub comment: Option<String>,
}

/// A frame's bytes and the length it had on the wire (longer when the
/// payload did not fit an IPv4 packet and was cut).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub data: Vec<u8>,
    pub orig_len: u32,
}

/// The SYN and ACK bits of [`WireSegment::flags`].
pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;

/// Octets in each line of the payload pattern.
pub const PATTERN_LINE_BYTES: u64 = 32;
/// The pattern's offsets are printed with 19 digits, so it repeats after 10^19 octets.
const PATTERN_PERIOD: u64 = 10_000_000_000_000_000_000;
/// The largest IPv4 packet (its total-length field is 16 bits).
const IPV4_TOTAL_MAX: usize = 65_535;
/// Time to live of every packet (Linux's default, net.ipv4.ip_default_ttl).
const TTL: u8 = 64;

/// The pattern line that starts at stream offset `start` (a multiple of
/// [`PATTERN_LINE_BYTES`]): `tcpsim byte 0000000000000000032\n`.
fn pattern_line(start: u64) -> [u8; PATTERN_LINE_BYTES as usize] {
    let text = format!("tcpsim byte {:019}\n", start % PATTERN_PERIOD);
    let mut line = [0u8; PATTERN_LINE_BYTES as usize];
    line.copy_from_slice(text.as_bytes());
    line
}

/// Fills `out` with the payload bytes at stream offsets `offset..`.
pub fn fill_payload(offset: u64, out: &mut [u8]) {
    let mut at = 0usize;
    while at < out.len() {
        let pos = offset.wrapping_add(at as u64);
        let start = pos - pos % PATTERN_LINE_BYTES;
        let line = pattern_line(start);
        let from = (pos - start) as usize;
        let n = (line.len() - from).min(out.len() - at);
        out[at..at + n].copy_from_slice(&line[from..from + n]);
        at += n;
    }
}

/// A locally administered MAC address that carries the IPv4 address
/// (02:00:a:b:c:d), so each host keeps one address in every file.
pub fn mac_of(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x00, a, b, c, d]
}

/// The TCP header of a segment (checksum and data offset are filled in when written).
fn tcp_header(s: &WireSegment) -> TcpHeader {
    let bit = |mask: u8| s.flags & mask != 0;
    TcpHeader {
        source_port: s.src.port(),
        destination_port: s.dst.port(),
        sequence_number: s.seq,
        acknowledgment_number: s.ack,
        fin: bit(0x01),
        syn: bit(0x02),
        rst: bit(0x04),
        psh: bit(0x08),
        ack: bit(0x10),
        urg: bit(0x20),
        ece: bit(0x40),
        cwr: bit(0x80),
        window_size: s.window,
        options: s.options.clone(),
        ..TcpHeader::default()
    }
}

/// The segment as an Ethernet II frame with correct IPv4 and TCP checksums,
/// its payload the pattern from stream offset `payload_offset` on. A payload
/// too long for one IPv4 packet is cut to fit (`orig_len` keeps the full length).
pub fn frame(s: &WireSegment, payload_offset: u64) -> Frame {
    let tcp = tcp_header(s);
    let headers_len = Ipv4Header::MIN_LEN + tcp.header_len();
    let full_len = s.len as usize;
    let kept = full_len.min(IPV4_TOTAL_MAX - headers_len);
    let mut payload = vec![0u8; kept];
    fill_payload(payload_offset, &mut payload);
    let ip = Ipv4Header {
        source: s.src.ip().octets(),
        destination: s.dst.ip().octets(),
        time_to_live: TTL,
        // Linux sets DF on TCP (path MTU discovery, RFC 1191).
        dont_fragment: true,
        ..Ipv4Header::default()
    };
    let builder = PacketBuilder::ethernet2(mac_of(*s.src.ip()), mac_of(*s.dst.ip()))
        .ip(IpHeaders::Ipv4(ip, Default::default()))
        .tcp_header(tcp);
    let mut data = Vec::with_capacity(builder.size(kept));
    builder
        .write(&mut data, &payload)
        .expect("the payload was cut to fit an IPv4 packet, and a Vec does not fail");
    let orig_len = (data.len() + (full_len - kept)) as u32;
    Frame { data, orig_len }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{SlicedPacket, TcpOptionElement, TransportSlice};

    fn seg(len: u32) -> WireSegment {
        WireSegment {
            t_ns: 0,
            src: SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 1), 40000),
            dst: SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 80),
            seq: 0xffff_fff0,
            ack: 7,
            flags: 0x18,
            window: 512,
            options: TcpOptions::try_from(&[TcpOptionElement::Noop, TcpOptionElement::Noop][..])
                .unwrap(),
            len,
            comment: None,
        }
    }

    #[test]
    fn payload_is_a_function_of_the_stream_offset() {
        let mut whole = vec![0u8; 100];
        fill_payload(0, &mut whole);
        assert_eq!(&whole[..32], b"tcpsim byte 0000000000000000000\n");
        assert_eq!(&whole[32..64], b"tcpsim byte 0000000000000000032\n");
        // Any slice of the stream is the same bytes, wherever it starts.
        let mut part = vec![0u8; 50];
        fill_payload(37, &mut part);
        assert_eq!(part, whole[37..87]);
    }

    #[test]
    fn frames_parse_back_with_their_fields_and_valid_checksums() {
        let s = seg(1000);
        let f = frame(&s, 37);
        assert_eq!(f.orig_len as usize, f.data.len());
        assert_eq!(f.data.len(), 14 + 20 + 24 + 1000);
        let p = SlicedPacket::from_ethernet(&f.data).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else {
            panic!("not IPv4")
        };
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
            panic!("not TCP")
        };
        assert_eq!(
            (tcp.sequence_number(), tcp.acknowledgment_number()),
            (s.seq, 7)
        );
        assert!(tcp.psh() && tcp.ack() && !tcp.syn());
        let sum = tcp
            .calc_checksum_ipv4(ip.header().source(), ip.header().destination())
            .unwrap();
        assert_eq!(tcp.checksum(), sum);
        let mut want = vec![0u8; 1000];
        fill_payload(37, &mut want);
        assert_eq!(tcp.payload(), &want[..]);
    }

    #[test]
    fn a_payload_too_long_for_ipv4_is_cut_and_keeps_its_length() {
        let f = frame(&seg(70_000), 0);
        assert_eq!(f.data.len(), 14 + 65_535);
        assert_eq!(f.orig_len as usize, 14 + 20 + 24 + 70_000);
    }
}
