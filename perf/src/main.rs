//! The peers' side of `scripts/perf.sh`: the same small close (connect,
//! 1000 bytes up, 500 down, the server closes, the client reads to EOF and
//! closes) and one-way bulk transfer as `sim::examples`, on smoltcp, on
//! turmoil and on this host's kernel over loopback; and, on the kernel, the
//! timer scenario (a read that times out after 200 ms, which the kernel
//! waits in real time and a simulator skips).
//!
//!   tcpsim-perf STACK WORK N     STACK: smoltcp | turmoil | kernel
//!                                WORK: close (N runs) | bulk (N bytes) | timer (N runs)
//!
//! Prints `STACK WORK N SECONDS [PACKETS]`: the seconds of the work alone
//! (process start and exit excluded), which the script turns into ratios,
//! and for smoltcp's bulk the packets it took.

mod kernel;
mod smol;
mod turm;

use std::time::Instant;

/// The small close's sizes (as `sim::examples::small_close`).
pub const REQUEST_BYTES: usize = 1000;
pub const RESPONSE_BYTES: usize = 500;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [stack, work, n] = args.as_slice() else {
        eprintln!("usage: tcpsim-perf smoltcp|turmoil|kernel close|bulk|timer N");
        std::process::exit(2);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("error: N must be a number, not {n:?}");
        std::process::exit(2);
    };
    let start = Instant::now();
    let mut packets = None;
    let done = match (stack.as_str(), work.as_str()) {
        ("smoltcp", "close") => (0..n).all(|_| smol::small_close()),
        ("smoltcp", "bulk") => {
            packets = smol::bulk(n);
            packets.is_some()
        }
        ("turmoil", "close") => (0..n).all(|_| turm::small_close()),
        ("turmoil", "bulk") => turm::bulk(n),
        ("kernel", "close") => (0..n).all(|_| kernel::small_close()),
        ("kernel", "bulk") => kernel::bulk(n),
        ("kernel", "timer") => (0..n).all(|_| kernel::timer()),
        _ => {
            eprintln!("error: no {work} on {stack}");
            std::process::exit(2);
        }
    };
    let secs = start.elapsed().as_secs_f64();
    if !done {
        eprintln!("error: {stack} {work} did not complete");
        std::process::exit(1);
    }
    match packets {
        Some(p) => println!("{stack} {work} {n} {secs:.6} {p}"),
        None => println!("{stack} {work} {n} {secs:.6}"),
    }
}
