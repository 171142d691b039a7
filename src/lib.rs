//! tcpsim: run, compare and search TCP teardown behaviour.
//!
//! The library behind the `tcpsim` binary: scenario files (`scenario`),
//! diagnostics (`diag`), user-defined personalities (`personality_file`) and
//! the subcommands (`cli`). The engine is in the `model` and `sim` crates.

pub mod cli;
pub mod diag;
pub mod fuzz;
pub mod personality_file;
pub mod real;
pub mod scenario;
pub mod units;
