//! smoltcp: one interface on its loopback device (127.0.0.1), a listening
//! and a connecting socket, polled on a virtual clock that jumps to the
//! interface's next deadline (as a simulator does).

use crate::{REQUEST_BYTES, RESPONSE_BYTES};
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Loopback, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

/// Socket buffers of the bulk transfer (smoltcp scales its window for
/// buffers over 64 KiB).
const BULK_BUFFER_BYTES: usize = 256 * 1024;
/// Socket buffers of the small close: what its 1000 bytes need (smoltcp's
/// buffers are real memory, zeroed per run; tcpsim's windows are numbers).
const CLOSE_BUFFER_BYTES: usize = 2048;
/// A run that has not finished within this virtual time has failed.
const GIVE_UP_MS: i64 = 600_000;

/// The loopback device with an Ethernet-sized MTU (smoltcp's own is 65,535,
/// which would make a bulk transfer's segments 45 times tcpsim's), counting
/// the packets it delivers.
struct Wire {
    inner: Loopback,
    packets: u64,
}

impl Device for Wire {
    type RxToken<'a> = <Loopback as Device>::RxToken<'a>;
    type TxToken<'a> = <Loopback as Device>::TxToken<'a>;

    fn receive(&mut self, t: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let r = self.inner.receive(t);
        self.packets += u64::from(r.is_some());
        r
    }

    fn transmit(&mut self, t: Instant) -> Option<Self::TxToken<'_>> {
        self.inner.transmit(t)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = self.inner.capabilities();
        c.max_transmission_unit = 1500;
        c
    }
}

struct Net {
    device: Wire,
    iface: Interface,
    sockets: SocketSet<'static>,
    server: SocketHandle,
    client: SocketHandle,
    now: Instant,
}

fn socket(buffer_bytes: usize) -> tcp::Socket<'static> {
    let rx = tcp::SocketBuffer::new(vec![0u8; buffer_bytes]);
    let tx = tcp::SocketBuffer::new(vec![0u8; buffer_bytes]);
    let mut s = tcp::Socket::new(rx, tx);
    s.set_nagle_enabled(false);
    s
}

impl Net {
    fn new(buffer_bytes: usize) -> Net {
        let mut device = Wire {
            inner: Loopback::new(Medium::Ip),
            packets: 0,
        };
        let now = Instant::from_millis(0);
        let mut iface = Interface::new(Config::new(HardwareAddress::Ip), &mut device, now);
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8))
                .expect("one address");
        });
        let mut sockets = SocketSet::new(Vec::new());
        let server = sockets.add(socket(buffer_bytes));
        let client = sockets.add(socket(buffer_bytes));
        sockets
            .get_mut::<tcp::Socket>(server)
            .listen(80)
            .expect("listen");
        let cx = iface.context();
        sockets
            .get_mut::<tcp::Socket>(client)
            .connect(cx, (IpAddress::v4(127, 0, 0, 1), 80), 49152)
            .expect("connect");
        Net {
            device,
            iface,
            sockets,
            server,
            client,
            now,
        }
    }

    /// Polls until nothing changes (what one poll sends is in the loopback's
    /// queue until the next one), then moves the clock to the next deadline.
    fn poll(&mut self) {
        while self
            .iface
            .poll(self.now, &mut self.device, &mut self.sockets)
            == PollResult::SocketStateChanged
        {}
        let wait = self
            .iface
            .poll_delay(self.now, &self.sockets)
            .unwrap_or(Duration::from_millis(1));
        self.now += wait;
    }

    fn sock(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(h)
    }
}

/// Writes `request` bytes up and closes; the server reads them all, writes
/// `response` bytes and closes; the client reads to EOF. True when both
/// sockets reached CLOSED (or TIME-WAIT, for the side closing first) with
/// every byte read.
fn run(request: u64, response: u64, buffer_bytes: usize) -> Option<u64> {
    let mut n = Net::new(buffer_bytes);
    let chunk = vec![7u8; buffer_bytes];
    let (mut sent, mut got, mut replied, mut back) = (0u64, 0u64, 0u64, 0u64);
    let mut sink = vec![0u8; buffer_bytes];
    while n.now < Instant::from_millis(GIVE_UP_MS) {
        n.poll();
        let (c, s) = (n.client, n.server);
        let cs = n.sock(c);
        while sent < request && cs.can_send() {
            let k = (request - sent).min(chunk.len() as u64) as usize;
            sent += cs.send_slice(&chunk[..k]).unwrap_or(0) as u64;
        }
        while cs.can_recv() {
            back += cs.recv_slice(&mut sink).unwrap_or(0) as u64;
        }
        let client_done = back == response && !cs.may_recv() && sent == request;
        if client_done {
            cs.close();
        }
        let ss = n.sock(s);
        while ss.can_recv() {
            got += ss.recv_slice(&mut sink).unwrap_or(0) as u64;
        }
        if got == request {
            while replied < response && ss.can_send() {
                let k = (response - replied).min(chunk.len() as u64) as usize;
                replied += ss.send_slice(&chunk[..k]).unwrap_or(0) as u64;
            }
            if replied == response {
                ss.close();
            }
        }
        let closed = |st: tcp::State| matches!(st, tcp::State::Closed | tcp::State::TimeWait);
        if client_done && closed(n.sock(s).state()) && closed(n.sock(c).state()) {
            return Some(n.device.packets);
        }
    }
    if std::env::var_os("PERF_DEBUG").is_some() {
        let (c, s) = (n.client, n.server);
        eprintln!(
            "sent {sent} got {got} replied {replied} back {back} client {} server {} at {}",
            n.sock(c).state(),
            n.sock(s).state(),
            n.now
        );
    }
    None
}

pub fn small_close() -> bool {
    run(
        REQUEST_BYTES as u64,
        RESPONSE_BYTES as u64,
        CLOSE_BUFFER_BYTES,
    )
    .is_some()
}

/// The packets the transfer took, if it completed.
pub fn bulk(bytes: u64) -> Option<u64> {
    run(bytes, 0, BULK_BUFFER_BYTES)
}
