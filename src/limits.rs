//! Every limit of every crate, for `docs/limits.md`: the scenario loader's
//! (with the simulator's and the model's, which it can see), then those of
//! the crates above it. A limit declared in one of those is one more row here,
//! read from the constant that declares it; `tests/input.rs` keeps the doc in
//! step.

use scenario::limits::{row, Limit};

/// Every limit, one row each, in the order `docs/limits.md` lists them.
pub fn table() -> Vec<Limit> {
    let mut rows = scenario::limits::table();
    rows.push(row(
        "MTU with one network namespace per host (`tcpsim real`)",
        format!("{} octets", real::plan::TUN_MTU_MAX),
        "not reproducible on this kernel, said with the reason (loopback takes them all)",
        "real::plan::TUN_MTU_MAX",
    ));
    rows.push(row(
        "one write() in a packetdrill export (`run --packetdrill-out`)",
        format!("{} bytes", crate::packetdrill::export::WRITE_BYTES_MAX),
        "not exported: exit 2 naming the write (packetdrill allocates the call's buffer)",
        "packetdrill::export::WRITE_BYTES_MAX",
    ));
    // Limits of the kernel run, the fuzzer or the CLI: one row each, here.
    rows
}

/// The limits table of `docs/limits.md`.
pub fn markdown() -> String {
    scenario::limits::markdown_table(&table())
}
