//! Property-based fuzzing of close sequences (`tcpsim fuzz`).
//!
//! - [`gen`]: generated scenarios ([`gen::Case`]) and their proptest strategies;
//!   a case becomes a [`crate::scenario::file::ScenarioFile`], the same form
//!   `tcpsim run` reads, so a counterexample replays exactly.
//! - [`check`]: the named properties ([`check::Property`]) and how a case is
//!   checked against them, invariants after every event included.
//! - [`search`]: the deterministic parallel search, shrinking, counterexample
//!   files.
//! - [`survey`]: classification of many cases by call pattern into RST, loss
//!   and silent-loss frequencies per pair of stacks; shards merge exactly.

pub mod check;
pub mod gen;
pub mod kernel;
pub mod search;
pub mod survey;

pub use check::{Property, Violation};
pub use gen::{Case, GenConfig};
pub use search::{SearchConfig, Shard};
pub use survey::Survey;
