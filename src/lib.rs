//! tcpsim: run, compare and search TCP teardown behaviour.
//!
//! The library behind the `tcpsim` binary: the subcommands (`cli`) and the
//! fuzzer (`fuzz`). The crates beside it, each one idea:
//! - `model`: one host's TCP (the call vocabulary, the state machine, personalities);
//! - `sim`: the deterministic world, its trace and verdict;
//! - `scenario`: scenario files, their step language, diagnostics and
//!   user-defined personalities, resolved into a world spec;
//! - `real`: the kernel oracle, the same steps on this host's Linux kernel,
//!   observed as the simulator's trace;
//! - `pcap`: capture files (pcap, pcapng) of simulated and kernel runs, one writer.
//!
//! They are re-exported here under the names the CLI uses.

pub mod atlas;
pub mod cli;
pub mod explore;
pub mod fuzz;
pub mod html;
pub mod limits;
pub mod packetdrill;

pub use pcap;
pub use real;
pub use scenario;
pub use scenario::{diag, personality_file, units};
