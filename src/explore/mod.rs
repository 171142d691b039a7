//! Exhaustive exploration of a close (`tcpsim explore`): from a scenario's
//! `explore` mark, every interleaving of the two applications' calls (a menu,
//! within bounds) and of the network's choices (loss, duplication,
//! reordering, within budgets), on the model code `tcpsim run` uses; the
//! state graph (petgraph), the classes of ends it can reach with the
//! shortest witness of each as a scenario file, livelocks, properties.
//!
//! - [`setup`]: the start state per personality pair and the menus;
//! - [`state`]: a state, its digest, the choices out of it;
//! - [`class`]: the classes of ends and the fuzzer's properties on states;
//! - [`search`]: the breadth-first search and its shards;
//! - [`dfs`]: the depth-first search, on every core, numbered as the breadth-first;
//! - [`witness`]: a path replayed into a scenario file `tcpsim run` reproduces;
//! - [`report`]: what was found, as data (text, JSON, `--save`), and its merge;
//! - [`render`]: the summary as text, the graph as DOT.
//!
//! docs/explore.md says what the exploration keeps and what it abstracts.

pub mod class;
pub mod dfs;
pub mod render;
pub mod report;
pub mod search;
pub mod setup;
pub mod state;
pub mod witness;
