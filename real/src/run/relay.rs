//! The delay line between the hosts' TUN devices: one thread per sending
//! host holds each packet for its direction's one-way delay, counted from
//! when the sender's kernel transmitted it, and then writes it into the
//! destination's TUN device. It also records every segment.
//!
//! Why it is built so (docs/real-kernel.md, "Network profiles"): a single
//! loop that took the time after its own wake-up and slept until each
//! packet was due added both wake-ups to every hop (≈ 80–100 µs median,
//! 160–200 µs p99 over 1 ms), and one direction's burst delayed the other's.
//! On a link with a rate (the `lan` profile's 1 Gbit/s) each packet also
//! waits for the packets before it in its direction and its serialization
//! time, as the simulated link makes it (`sim::net::Network::transmit`).
//! Here the send time is the kernel's (the `AF_PACKET` tap on the sender's
//! TUN device timestamps each packet in `dev_queue_xmit_nit`, before the
//! TUN driver queues it), each direction has its own thread, and the last
//! [`SPIN_NS`] before a release is spent polling the clock instead of
//! waiting for a timer wake-up.

use super::*;
use crate::capture::{self, Pkt};
use crate::plan::Plan;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A release closer than this is waited for by reading the clock: a timer
/// wake-up of a real-time thread came 20–60 µs late here.
const SPIN_NS: u64 = 60_000;
/// The longest a relay thread waits before it looks at its stop flag.
const IDLE_NS: u64 = 5_000_000;
/// The relay threads' `SCHED_FIFO` priority above the workers': a packet
/// due is released before a worker's step runs on that CPU.
const PRIORITY_ABOVE_WORKERS: i32 = 1;

/// One packet in the delay line.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    due: u64,
    seq: u64,
    to: usize,
    bytes: Vec<u8>,
}

/// The kernel's transmit times of the packets a host's TUN device carries:
/// an `AF_PACKET` socket on it that keeps outgoing frames (a TUN device has
/// no link-layer header: each frame is the IP packet).
pub(super) struct TxStamps {
    tap: capture::Sniffer,
    /// (transmit time on CLOCK_MONOTONIC, length, the IP header) of frames
    /// tapped and not yet read from the TUN device, in transmit order.
    queued: VecDeque<(u64, usize, [u8; 20])>,
}

impl TxStamps {
    /// Opens the tap on `ifname` in the calling thread's namespace.
    pub(super) fn open(ifname: &str) -> std::io::Result<TxStamps> {
        Ok(TxStamps {
            tap: capture::Sniffer::open(ifname, true)?,
            queued: VecDeque::new(),
        })
    }

    /// In a worker just forked: closes the coordinator's tap.
    pub(super) fn close_in_child(&self) {
        sys::close(self.tap.fd);
    }

    /// Reads the tap's waiting frames into `queued`.
    fn drain(&mut self) {
        while let Some((kind, real, frame)) = self.tap.next_frame() {
            if kind != libc::PACKET_OUTGOING || frame.len() < 20 {
                continue;
            }
            // CLOCK_REALTIME to CLOCK_MONOTONIC: their offset read now.
            let offset = sys::real_ns().saturating_sub(sys::mono_ns());
            let mut head = [0u8; 20];
            head.copy_from_slice(&frame[..20]);
            self.queued
                .push_back((real.saturating_sub(offset), frame.len(), head));
        }
    }

    /// When the kernel transmitted `packet`, just read from the TUN device:
    /// the tapped frame of the same length and IP header (the tap sees each
    /// frame before the device queues it). None if it was not tapped.
    fn sent_at(&mut self, packet: &[u8]) -> Option<u64> {
        self.drain();
        pop_match(&mut self.queued, packet)
    }
}

/// The transmit time of `packet` among the `queued` tapped frames: the first
/// of the same length and IP header. Frames before it (not IPv4, or never
/// read) are dropped with it; all of them when none matches.
fn pop_match(queued: &mut VecDeque<(u64, usize, [u8; 20])>, packet: &[u8]) -> Option<u64> {
    while let Some((t, len, head)) = queued.pop_front() {
        if len == packet.len() && packet.len() >= 20 && head[..] == packet[..20] {
            return Some(t);
        }
    }
    None
}

/// What the relay threads hand the coordinator.
#[derive(Default)]
pub(super) struct Seen {
    /// Segments read, not yet taken (times: ns since time 0, at transmit).
    pub(super) pkts: Vec<Pkt>,
}

/// The running delay line: one thread per host's TUN device.
pub(super) struct Relay {
    threads: Vec<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
}

/// One sending host's side of the delay line.
struct Sender {
    from: usize,
    tun: Vec<i32>,
    host_ip: Vec<Ipv4Addr>,
    /// delay[j]: real ns to host j.
    delay: Vec<u64>,
    /// rate[j]: the link's rate to host j (bits per virtual second; 0: none).
    rate_bps: Vec<u64>,
    /// free_at[j]: when the link to host j has sent what it holds (real ns).
    free_at: Vec<u64>,
    scale: f64,
    stamps: Option<TxStamps>,
    t0_mono_ns: u64,
    held: BinaryHeap<Reverse<Held>>,
    seq: u64,
    buf: Vec<u8>,
}

impl Relay {
    /// Starts the delay line between the TUN devices, if there are any.
    pub(super) fn start(net: &mut Netw, plan: &Plan, scale: f64, t0_mono_ns: u64) -> Option<Relay> {
        if net.tun.is_empty() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut stamps: Vec<Option<TxStamps>> = net.tx_stamps.drain(..).collect();
        stamps.resize_with(net.tun.len(), || None);
        let threads = stamps
            .into_iter()
            .enumerate()
            .map(|(from, stamps)| {
                let mut s = Sender {
                    from,
                    tun: net.tun.clone(),
                    host_ip: net.host_ip.clone(),
                    delay: plan.delay_ns[from]
                        .iter()
                        .map(|&d| real_ns(d, scale))
                        .collect(),
                    rate_bps: plan.rate_bps[from].clone(),
                    free_at: vec![0; net.tun.len()],
                    scale,
                    stamps,
                    t0_mono_ns,
                    held: BinaryHeap::new(),
                    seq: 0,
                    buf: vec![0; 1 << 16],
                };
                let (stop, seen) = (stop.clone(), seen.clone());
                std::thread::spawn(move || s.run(&stop, &seen))
            })
            .collect();
        Some(Relay {
            threads,
            stop,
            seen,
        })
    }

    /// The segments seen since the last call.
    pub(super) fn take(&self) -> Vec<Pkt> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut seen.pkts)
    }

    /// Stops the threads (packets still held are dropped: the run is over)
    /// and adds what they saw last, up to `end_ns`, to `pkts`, merged in
    /// time order (each thread times its own direction).
    pub(super) fn finish(mut self, pkts: &mut Vec<Pkt>, end_ns: u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
        pkts.extend(self.take().into_iter().filter(|p| p.t <= end_ns));
        pkts.sort_by_key(|p| p.t);
    }
}

impl Sender {
    fn run(&mut self, stop: &AtomicBool, seen: &Mutex<Seen>) {
        raise_priority();
        let mut fresh = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let next = self.release();
            let now = sys::mono_ns();
            let wait_ns = next.map_or(IDLE_NS, |due| due.saturating_sub(now).min(IDLE_NS));
            if wait_ns > SPIN_NS {
                let mut fd = libc::pollfd {
                    fd: self.tun[self.from],
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: (wait_ns - SPIN_NS) as libc::c_long,
                };
                // SAFETY: one valid pollfd and a valid timespec.
                unsafe { libc::ppoll(&mut fd, 1, &ts, std::ptr::null()) };
            } else {
                while sys::mono_ns() < now + wait_ns {
                    std::hint::spin_loop();
                }
            }
            self.read_all(&mut fresh);
            if !fresh.is_empty() {
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                seen.pkts.append(&mut fresh);
            }
        }
    }

    /// Reads every packet the sender's TUN device holds, and holds it until
    /// its transmit time plus the delay to its destination.
    fn read_all(&mut self, pkts: &mut Vec<Pkt>) {
        loop {
            // SAFETY: the buffer is valid for its length.
            let n = unsafe {
                libc::read(
                    self.tun[self.from],
                    self.buf.as_mut_ptr() as *mut libc::c_void,
                    self.buf.len(),
                )
            };
            if n <= 0 {
                return;
            }
            let now = sys::mono_ns();
            let b = self.buf[..n as usize].to_vec();
            let sent = self
                .stamps
                .as_mut()
                .and_then(|s| s.sent_at(&b))
                .map_or(now, |t| t.min(now));
            if b.len() < 20 || b[0] >> 4 != 4 {
                continue;
            }
            let dst = Ipv4Addr::new(b[16], b[17], b[18], b[19]);
            let Some(to) = self.host_ip.iter().position(|&h| h == dst) else {
                continue;
            };
            if let Some(p) = capture::parse_ipv4(&b, sent.saturating_sub(self.t0_mono_ns)) {
                pkts.push(p);
            }
            // The simulated link's rule (sim::net::Network::transmit): the
            // packet leaves after those before it and its serialization time.
            let ser_ns = sim::net::serialization_ns(b.len() as u64, self.rate_bps[to]);
            let left = sent.max(self.free_at[to]) + real_ns(ser_ns, self.scale);
            self.free_at[to] = left;
            self.seq += 1;
            self.held.push(Reverse(Held {
                due: left + self.delay[to],
                seq: self.seq,
                to,
                bytes: b,
            }));
        }
    }

    /// Writes what is due; returns when the next packet is due.
    fn release(&mut self) -> Option<u64> {
        let now = sys::mono_ns();
        while let Some(Reverse(h)) = self.held.peek() {
            if h.due > now {
                return Some(h.due);
            }
            let Reverse(h) = self.held.pop().expect("peeked");
            // SAFETY: the packet buffer is valid for its length.
            unsafe {
                libc::write(
                    self.tun[h.to],
                    h.bytes.as_ptr() as *const libc::c_void,
                    h.bytes.len(),
                )
            };
        }
        None
    }
}

/// A relay thread of a real-time run takes [`PRIORITY_ABOVE_WORKERS`] more
/// than the coordinator it inherited `SCHED_FIFO` from; otherwise nothing.
fn raise_priority() {
    // SAFETY: the calling thread's policy and parameters; plain data.
    unsafe {
        let mut param: libc::sched_param = std::mem::zeroed();
        if libc::sched_getscheduler(0) == libc::SCHED_FIFO
            && libc::sched_getparam(0, &mut param) == 0
        {
            param.sched_priority += PRIORITY_ABOVE_WORKERS;
            libc::sched_setscheduler(0, libc::SCHED_FIFO, &param);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet read from the TUN device takes the transmit time of its own
    /// tapped frame, skipping frames the reader never got (an IPv6 router
    /// solicitation, say); one never tapped gets none and empties the queue.
    #[test]
    fn each_packet_takes_the_transmit_time_of_its_tapped_frame() {
        let ip = |id: u8, len: usize| {
            let mut p = vec![0u8; len];
            p[0] = 0x45;
            p[5] = id;
            p
        };
        let head = |p: &[u8]| <[u8; 20]>::try_from(&p[..20]).unwrap();
        let (a, b, c) = (ip(1, 60), ip(2, 1500), ip(3, 1500));
        let mut queued: VecDeque<_> = [
            (10, 60, head(&a)),
            (20, 1500, head(&b)),
            (30, 1500, head(&c)),
        ]
        .into_iter()
        .collect();
        assert_eq!(pop_match(&mut queued, &b), Some(20));
        assert_eq!(queued.len(), 1, "the frame before it is dropped");
        assert_eq!(pop_match(&mut queued, &a), None);
        assert!(queued.is_empty());
    }
}
