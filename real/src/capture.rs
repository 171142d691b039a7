//! Segments on the wire: an `AF_PACKET` socket on an interface (root or
//! CAP_NET_RAW), IPv4/TCP header parsing, and a libpcap file writer.

use super::sys;
use std::io::Write;
use std::net::Ipv4Addr;

/// Bytes of each packet kept for the pcap file (IPv4 + TCP headers with options).
pub const SNAPLEN: usize = 128;
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
    /// The first SNAPLEN bytes of the IPv4 packet, and its full length (for pcap).
    #[serde(skip)]
    pub head: Vec<u8>,
    #[serde(skip)]
    pub ip_len: u32,
}

/// Parses an IPv4 packet carrying TCP.
pub fn parse_ipv4(ip: &[u8], t: u64) -> Option<Pkt> {
    if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 6 {
        return None;
    }
    let ihl = (ip[0] & 0x0f) as usize * 4;
    let total = (u16::from_be_bytes([ip[2], ip[3]]) as usize).min(ip.len());
    if total < ihl + 20 {
        return None;
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let tcp = &ip[ihl..total];
    let be16 = |o: usize| u16::from_be_bytes([tcp[o], tcp[o + 1]]);
    let be32 = |o: usize| u32::from_be_bytes([tcp[o], tcp[o + 1], tcp[o + 2], tcp[o + 3]]);
    let doff = (tcp[12] >> 4) as usize * 4;
    if doff < 20 || doff > tcp.len() {
        return None;
    }
    let (mut mss, mut wscale, mut ts) = (None, None, false);
    let opts = &tcp[20..doff];
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&l) = opts.get(i + 1) else { break };
                let l = (l as usize).max(2);
                let v = &opts[(i + 2).min(opts.len())..(i + l).min(opts.len())];
                match (kind, v.len()) {
                    (2, 2) => mss = Some(u16::from_be_bytes([v[0], v[1]])),
                    (3, 1) => wscale = Some(v[0]),
                    (8, 8) => ts = true,
                    _ => {}
                }
                i += l;
            }
        }
    }
    Some(Pkt {
        t,
        src: (src, be16(0)),
        dst: (dst, be16(2)),
        seq: be32(4),
        ack: be32(8),
        flags: tcp[13],
        win_raw: be16(14),
        len: (tcp.len() - doff) as u32,
        mss,
        wscale,
        ts,
        head: ip[..ip.len().min(SNAPLEN)].to_vec(),
        ip_len: total as u32,
    })
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

    /// Reads every frame waiting; `t0_real` is time 0 on CLOCK_REALTIME.
    pub fn drain(&mut self, t0_real: u64, out: &mut Vec<Pkt>) {
        loop {
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
                return;
            }
            if self.outgoing_only && sll.sll_pkttype != libc::PACKET_OUTGOING {
                continue;
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
            let frame = &self.buf[..n as usize];
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

/// Writes packets as a libpcap file (LINKTYPE_RAW: each record is an IPv4
/// packet). `epoch_ns` is time 0 on CLOCK_REALTIME.
pub fn write_pcap(path: &std::path::Path, pkts: &[Pkt], epoch_ns: u64) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    // Global header: magic (µs), version 2.4, zone 0, sigfigs 0, snaplen, link type 101 (raw IP).
    f.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    f.write_all(&2u16.to_le_bytes())?;
    f.write_all(&4u16.to_le_bytes())?;
    f.write_all(&0i32.to_le_bytes())?;
    f.write_all(&0u32.to_le_bytes())?;
    f.write_all(&(SNAPLEN as u32).to_le_bytes())?;
    f.write_all(&101u32.to_le_bytes())?;
    for p in pkts {
        let t = epoch_ns + p.t;
        f.write_all(&((t / 1_000_000_000) as u32).to_le_bytes())?;
        f.write_all(&(((t % 1_000_000_000) / 1000) as u32).to_le_bytes())?;
        f.write_all(&(p.head.len() as u32).to_le_bytes())?;
        f.write_all(&p.ip_len.to_le_bytes())?;
        f.write_all(&p.head)?;
    }
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4/TCP SYN 127.0.0.1:40000 → 127.0.0.2:80 with MSS 1460 and wscale 7.
    fn syn() -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 48, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2,
        ];
        p.extend_from_slice(&40000u16.to_be_bytes());
        p.extend_from_slice(&80u16.to_be_bytes());
        p.extend_from_slice(&1000u32.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&[7 << 4, 0x02]);
        p.extend_from_slice(&65535u16.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(&[2, 4, 0x05, 0xb4, 1, 3, 3, 7]);
        p
    }

    #[test]
    fn parses_header_fields_and_options() {
        let p = parse_ipv4(&syn(), 5).unwrap();
        assert_eq!(p.src, (Ipv4Addr::new(127, 0, 0, 1), 40000));
        assert_eq!(p.dst, (Ipv4Addr::new(127, 0, 0, 2), 80));
        assert_eq!((p.seq, p.flags, p.win_raw, p.len), (1000, 0x02, 65535, 0));
        assert_eq!((p.mss, p.wscale), (Some(1460), Some(7)));
        assert!(parse_ipv4(&syn()[..30], 0).is_none());
    }

    #[test]
    fn pcap_has_a_global_header_and_one_record_per_packet() {
        let dir = std::env::temp_dir().join(format!("tcpsim-pcap-{}", std::process::id()));
        let p = parse_ipv4(&syn(), 1_500_000).unwrap();
        write_pcap(&dir, &[p.clone(), p], 0).unwrap();
        let b = std::fs::read(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(b.len(), 24 + 2 * (16 + 48));
        assert_eq!(&b[..4], &0xa1b2_c3d4u32.to_le_bytes());
        assert_eq!(u32::from_le_bytes(b[28..32].try_into().unwrap()), 1500);
    }
}
