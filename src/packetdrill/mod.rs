//! `tcpsim packetdrill`: packetdrill scripts run against a personality.
//!
//! The script plays the remote peer; the endpoint under test is one model
//! host (model/), driven as packetdrill drives a kernel. `parse` reads the
//! language, `run` drives the host (`packet` for segment lines, `syscall`
//! for system calls through the one call vocabulary, `command` for the
//! suites' sysctls, `inspect` for sockstat and `tcpi_state`), `report`
//! words the results as packetdrill does, and `export` writes a scenario's
//! Linux side as a script (`run --packetdrill-out`). `scenario` writes a
//! script as a scenario file, its peer a raw host or (`peer`, checked by
//! `peer_check`) a second TCP host.

mod command;
pub mod export;
mod inspect;
mod packet;
pub mod parse;
mod peer;
mod peer_check;
pub mod report;
pub mod run;
pub mod scenario;
mod syscall;

pub use parse::{parse, Script};
pub use run::{Outcome, Runner, DEFAULT_TOLERANCE_USECS};

use model::Personality;

/// The names `#ifdef` tests for a personality (the FreeBSD suite's
/// `#ifdef FreeBSD`, freebsd-net/tcp-testsuite).
pub fn defines(personality: &str) -> Vec<&'static str> {
    match personality {
        "freebsd" => vec!["FreeBSD"],
        "linux" => vec!["Linux"],
        _ => Vec::new(),
    }
}

/// Runs a parsed script; the tolerance is the script's `--tolerance_usecs`,
/// else `tolerance_usecs`.
pub fn run(script: &Script, personality: &Personality, tolerance_usecs: Option<i64>) -> Outcome {
    let tolerance = script
        .option("tolerance_usecs")
        .and_then(|v| v.parse().ok())
        .or(tolerance_usecs)
        .unwrap_or(DEFAULT_TOLERANCE_USECS);
    Runner::new(personality, tolerance).run(script)
}
