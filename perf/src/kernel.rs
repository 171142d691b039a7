//! The kernel over loopback: a listener on 127.0.0.1, the server side on a
//! thread, the client on the calling thread.

use crate::{REQUEST_BYTES, RESPONSE_BYTES};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// Reads until EOF, returning the bytes read.
fn drain(s: &mut TcpStream, buf: &mut [u8]) -> usize {
    let mut total = 0;
    loop {
        match s.read(buf) {
            Ok(0) | Err(_) => return total,
            Ok(k) => total += k,
        }
    }
}

/// Runs `server` on the accepted connection while the client thread runs `client`.
fn pair(server: fn(TcpStream) -> bool, client: fn(TcpStream) -> bool) -> bool {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = l.local_addr().expect("its address");
    let t = thread::spawn(move || l.accept().map(|(s, _)| server(s)).unwrap_or(false));
    let ok = TcpStream::connect(addr).map(client).unwrap_or(false);
    t.join().unwrap_or(false) && ok
}

pub fn small_close() -> bool {
    pair(
        |mut s| {
            let mut buf = [0u8; REQUEST_BYTES];
            s.read_exact(&mut buf).is_ok() && s.write_all(&buf[..RESPONSE_BYTES]).is_ok()
        },
        |mut c| {
            let mut buf = [0u8; 4096];
            c.write_all(&[7u8; REQUEST_BYTES]).is_ok() && drain(&mut c, &mut buf) == RESPONSE_BYTES
        },
    )
}

/// The client writes `bytes` and closes; the server reads to EOF.
pub fn bulk(bytes: u64) -> bool {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = l.local_addr().expect("its address");
    let t = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut buf = vec![0u8; 1 << 16];
        drain(&mut s, &mut buf) as u64
    });
    let mut c = TcpStream::connect(addr).expect("connect");
    let chunk = vec![7u8; 1 << 16];
    let mut left = bytes;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        if c.write_all(&chunk[..k]).is_err() {
            return false;
        }
        left -= k as u64;
    }
    let _ = c.shutdown(Shutdown::Write);
    t.join().map(|n| n == bytes).unwrap_or(false)
}

/// The client's read times out after 200 ms (SO_RCVTIMEO), then both close.
pub fn timer() -> bool {
    pair(
        |mut s| {
            let mut buf = [0u8; 16];
            drain(&mut s, &mut buf) == 0
        },
        |mut c| {
            let mut buf = [0u8; 100];
            c.set_read_timeout(Some(Duration::from_millis(200)))
                .expect("SO_RCVTIMEO");
            matches!(c.read(&mut buf), Err(e) if e.kind() == ErrorKind::WouldBlock)
        },
    )
}
