//! Segments on the wire: an `AF_PACKET` socket on an interface (root or
//! CAP_NET_RAW), IPv4/TCP header parsing (etherparse), and the capture file,
//! written by the simulator's writer (the `pcap` crate).

use super::sys;
use super::trace::virt;
use etherparse::{IpNumber, Ipv4Slice, TcpOptionElement, TcpOptions, TcpSlice};
use std::net::{Ipv4Addr, SocketAddrV4};

/// ioctl: the last packet's receive time as a timespec (asm-generic/sockios.h).
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// One TCP segment as captured. Times are ns since the scenario's time 0.
#[derive(Clone, Debug, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Pkt {
    pub t: u64,
    pub src: (Ipv4Addr, u16),
    pub dst: (Ipv4Addr, u16),
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// The raw 16-bit window field.
    pub win_raw: u16,
    /// Payload length.
    pub len: u32,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    /// The segment carries RFC 7323 timestamps.
    pub ts: bool,
    /// The options as sent, for the capture file.
    #[serde(skip)]
    pub options: TcpOptions,
}

/// Parses an IPv4 packet carrying TCP (not a fragment).
pub fn parse_ipv4(ip: &[u8], t: u64) -> Option<Pkt> {
    let ip = Ipv4Slice::from_slice(ip).ok()?;
    if ip.payload_ip_number() != IpNumber::TCP || ip.is_payload_fragmented() {
        return None;
    }
    let tcp = TcpSlice::from_slice(ip.payload().payload).ok()?;
    let (mut mss, mut wscale, mut ts) = (None, None, false);
    for o in tcp.options_iterator() {
        match o {
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => mss = Some(m),
            Ok(TcpOptionElement::WindowScale(w)) => wscale = Some(w),
            Ok(TcpOptionElement::Timestamp(..)) => ts = true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let h = ip.header();
    Some(Pkt {
        t,
        src: (h.source_addr(), tcp.source_port()),
        dst: (h.destination_addr(), tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        // The flags octet (RFC 9293 §3.1: CWR ECE URG ACK PSH RST SYN FIN).
        flags: tcp.header_slice()[13],
        win_raw: tcp.window_size(),
        len: tcp.payload().len() as u32,
        mss,
        wscale,
        ts,
        options: TcpOptions::try_from(tcp.options()).ok()?,
    })
}

/// A captured segment for the capture file: its header fields and options as
/// the kernel sent them, its time as the kernel run's trace has it (virtual:
/// real time divided by `scale`).
fn wire_segment(p: &Pkt, scale: f64) -> pcap::WireSegment {
    pcap::WireSegment {
        t_ns: virt(scale, p.t),
        src: SocketAddrV4::new(p.src.0, p.src.1),
        dst: SocketAddrV4::new(p.dst.0, p.dst.1),
        seq: p.seq,
        ack: p.ack,
        flags: p.flags,
        window: p.win_raw,
        options: p.options.clone(),
        len: p.len,
        comment: None,
    }
}

/// Writes the captured segments through the simulator's writer: the same
/// framing, addresses as captured, checksums computed anew (on `lo` the
/// kernel leaves them to an offload that never happens), the payload pattern
/// in place of the zeros the worker sent. pcapng if `path` ends in `.pcapng`.
pub fn write_pcap(path: &std::path::Path, pkts: &[Pkt], scale: f64) -> std::io::Result<()> {
    pcap::write_file(path, pkts.iter().map(|p| wire_segment(p, scale)))
}

/// An AF_PACKET socket on one interface, non-blocking.
pub struct Sniffer {
    pub fd: i32,
    /// Keep only frames the host sent (`lo` shows each frame twice).
    outgoing_only: bool,
    buf: Vec<u8>,
}

impl Sniffer {
    /// Opens a capture on `ifname` in the calling thread's network namespace.
    pub fn open(ifname: &str, outgoing_only: bool) -> std::io::Result<Sniffer> {
        let idx = sys::if_index(ifname)
            .ok_or_else(|| std::io::Error::other(format!("no interface {ifname}")))?;
        let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
        // SAFETY: socket has no memory arguments.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                proto,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // A big buffer (root may exceed rmem_max), so a burst is not lost.
        sys::set_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 64 << 20);
        // SAFETY: sockaddr_ll is plain old data.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto as u16;
        sll.sll_ifindex = idx;
        // SAFETY: a valid sockaddr_ll and its size.
        let r = unsafe {
            libc::bind(
                fd,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            sys::close(fd);
            return Err(e);
        }
        Ok(Sniffer {
            fd,
            outgoing_only,
            buf: vec![0; 1 << 17],
        })
    }

    /// The next frame waiting, with its packet type (`PACKET_OUTGOING`, …)
    /// and the kernel's timestamp on CLOCK_REALTIME; None when none waits.
    pub fn next_frame(&mut self) -> Option<(u8, u64, &[u8])> {
        // SAFETY: sockaddr_ll is plain old data.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut sl = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: the buffer and address are valid for their lengths.
        let n = unsafe {
            libc::recvfrom(
                self.fd,
                self.buf.as_mut_ptr() as *mut libc::c_void,
                self.buf.len(),
                0,
                &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                &mut sl,
            )
        };
        if n <= 0 {
            return None;
        }
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: SIOCGSTAMPNS fills a timespec with the last packet's time.
        let t_real = if unsafe { libc::ioctl(self.fd, SIOCGSTAMPNS as _, &mut ts) } == 0 {
            ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
        } else {
            sys::real_ns()
        };
        Some((sll.sll_pkttype, t_real, &self.buf[..n as usize]))
    }

    /// Reads every frame waiting; `t0_real` is time 0 on CLOCK_REALTIME.
    pub fn drain(&mut self, t0_real: u64, out: &mut Vec<Pkt>) {
        let outgoing_only = self.outgoing_only;
        while let Some((kind, t_real, frame)) = self.next_frame() {
            if outgoing_only && kind != libc::PACKET_OUTGOING {
                continue;
            }
            // lo and veth frames carry a 14-byte Ethernet header.
            if frame.len() < 14 || u16::from_be_bytes([frame[12], frame[13]]) != 0x0800 {
                continue;
            }
            if let Some(p) = parse_ipv4(&frame[14..], t_real.saturating_sub(t0_real)) {
                out.push(p);
            }
        }
    }
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        sys::close(self.fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    const CLIENT: [u8; 4] = [127, 0, 0, 1];
    const SERVER: [u8; 4] = [127, 0, 0, 2];

    /// An IPv4/TCP SYN 127.0.0.1:40000 → 127.0.0.2:80 with MSS 1460 and wscale 7.
    fn syn() -> Vec<u8> {
        let b = PacketBuilder::ipv4(CLIENT, SERVER, 64)
            .tcp(40000, 80, 1000, 65535)
            .syn()
            .options(&[
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
            ])
            .unwrap();
        let mut p = Vec::new();
        b.write(&mut p, &[]).unwrap();
        p
    }

    /// 10 bytes from the client after that SYN.
    fn data() -> Vec<u8> {
        let b = PacketBuilder::ipv4(CLIENT, SERVER, 64)
            .tcp(40000, 80, 1001, 512)
            .ack(1)
            .psh();
        let mut p = Vec::new();
        b.write(&mut p, &[0; 10]).unwrap();
        p
    }

    #[test]
    fn parses_header_fields_and_options() {
        let p = parse_ipv4(&syn(), 5).unwrap();
        assert_eq!(p.src, (Ipv4Addr::new(127, 0, 0, 1), 40000));
        assert_eq!(p.dst, (Ipv4Addr::new(127, 0, 0, 2), 80));
        assert_eq!((p.seq, p.flags, p.win_raw, p.len), (1000, 0x02, 65535, 0));
        assert_eq!((p.mss, p.wscale, p.ts), (Some(1460), Some(7), false));
        assert_eq!(p.options.as_slice(), &[2, 4, 0x05, 0xb4, 1, 3, 3, 7]);
        let d = parse_ipv4(&data(), 6).unwrap();
        assert_eq!((d.seq, d.ack, d.flags, d.len), (1001, 1, 0x18, 10));
        assert!(parse_ipv4(&syn()[..30], 0).is_none());
    }

    /// The kernel's capture goes through the simulator's writer: each record
    /// is the frame `pcap::frame` builds, at virtual time, with the payload
    /// pattern from the stream's first byte.
    #[test]
    fn captured_segments_are_written_by_the_one_writer() {
        let path = std::env::temp_dir().join(format!("tcpsim-pcap-{}.pcap", std::process::id()));
        let pkts = [
            parse_ipv4(&syn(), 1_500_000).unwrap(),
            parse_ipv4(&data(), 3_000_000).unwrap(),
        ];
        write_pcap(&path, &pkts, 2.0).unwrap();
        let b = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        // Nanosecond pcap, little-endian, link type 1 (Ethernet).
        assert_eq!(&b[..4], &0xa1b2_3c4du32.to_le_bytes());
        assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), 1);
        let mut at = 24;
        let mut offsets = pcap::StreamOffsets::default();
        for (p, t_ns) in pkts.iter().zip([750_000u32, 1_500_000]) {
            let w = wire_segment(p, 2.0);
            let f = pcap::frame(&w, offsets.payload_offset(&w));
            assert_eq!(
                u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()),
                t_ns
            );
            assert_eq!(&b[at + 16..at + 16 + f.data.len()], &f.data[..]);
            at += 16 + f.data.len();
        }
        assert_eq!(at, b.len());
        let last = &b[b.len() - 10..];
        assert_eq!(last, b"tcpsim byt", "the stream's first bytes");
    }
}
