//! Every limit on what tcpsim reads and runs, declared once. The loader
//! refuses input beyond them with an error that names the limit; a run stops
//! at its own limits with a verdict. `docs/limits.md` is generated from
//! [`table`] (extended by the crates above this one: `tcpsim::limits`) and
//! [`crate::diag::Class::ALL`]; a test compares it, like the call table of
//! `docs/scenario-format.md`.

use model::Duration;
use sim::spec::Limits;
use std::ops::RangeInclusive;

/// The largest scenario file read (16 MiB): several hundred thousand steps,
/// far beyond any hand-written or generated scenario, and loaded in well
/// under a second. Larger files, and anything that is not a regular file
/// (`/dev/zero`, a pipe), are refused before they are read.
pub const SCENARIO_FILE_BYTES_MAX: u64 = 16 << 20;

/// The largest personality file read (1 MiB): a personality file sets a few
/// dozen knobs with their sources.
pub const PERSONALITY_FILE_BYTES_MAX: u64 = 1 << 20;

/// The time horizon: no duration or time in a file may exceed it (365 days).
/// Virtual time is counted in nanoseconds in a `u64` (584 years) and every
/// sum saturates, so time never runs backwards; a value under a year keeps
/// every time a scenario means far from the clock's end (500 of them still
/// add up to less than it).
pub const HORIZON: Duration = Duration::from_secs(365 * 24 * 3600);

/// The MTU a host may have, in octets: 68 is the least every IPv4 host must
/// accept (RFC 791 §3.1, "Total Length"); 65536 is Linux loopback's MTU (the
/// largest `tcpsim real` uses; a datagram's length field stops at 65535).
pub const MTU_BYTES: RangeInclusive<u32> = 68..=65536;

/// The largest `max_events` a file may ask for: a run of a billion events
/// takes minutes, not hours (the simulator handles a few million a second).
pub const MAX_EVENTS_MAX: u64 = 1_000_000_000;

/// The most hosts a scenario may have: one IPv4 /24 network's host
/// addresses, as `tcpsim real` gives them (10.77.0.1–254, 127.0.0.1–254). The
/// simulator keeps a link per pair of hosts.
pub const HOSTS_MAX: usize = 254;

/// The most processes a scenario may have, each host's own included: each
/// keeps a table of every socket name.
pub const PROCESSES_MAX: usize = 1024;

/// The most socket names a scenario may use: with [`PROCESSES_MAX`], the
/// processes' socket tables stay under 32 MiB.
pub const SOCKET_NAMES_MAX: usize = 4096;

/// At most this many errors are printed for one input; the rest are counted.
pub const ERRORS_SHOWN_MAX: usize = 50;

/// One row of `docs/limits.md`'s table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// What is limited.
    pub what: &'static str,
    /// The limit, as a person reads it.
    pub value: String,
    /// What happens at the limit.
    pub beyond: &'static str,
    /// The constant that declares it (crate::path::NAME).
    pub declared: &'static str,
}

/// Every limit of this crate and of those below it (the simulator's, the
/// model's), one row each, in the order `docs/limits.md` lists them.
pub fn table() -> Vec<Limit> {
    let mut rows = input_rows();
    rows.extend(run_rows());
    rows
}

/// What a scenario or personality file may hold: refused when loading.
fn input_rows() -> Vec<Limit> {
    let mtu = format!("{}–{} octets", MTU_BYTES.start(), MTU_BYTES.end());
    vec![
        row(
            "scenario file size",
            bytes(SCENARIO_FILE_BYTES_MAX),
            "refused before reading, like a file that is not a regular file",
            "scenario::limits::SCENARIO_FILE_BYTES_MAX",
        ),
        row(
            "personality file size",
            bytes(PERSONALITY_FILE_BYTES_MAX),
            "refused before reading, like a file that is not a regular file",
            "scenario::limits::PERSONALITY_FILE_BYTES_MAX",
        ),
        row(
            "any duration or time in a file",
            format!("{} days", HORIZON.as_secs() / 86_400),
            "refused at the value",
            "scenario::limits::HORIZON",
        ),
        row(
            "`mtu` of a host",
            mtu,
            "refused at the value",
            "scenario::limits::MTU_BYTES",
        ),
        row(
            "`max_events` of a scenario",
            format!("1–{}", thousands(MAX_EVENTS_MAX)),
            "refused at the value",
            "scenario::limits::MAX_EVENTS_MAX",
        ),
        row(
            "hosts of a scenario",
            HOSTS_MAX.to_string(),
            "refused at the first host past it",
            "scenario::limits::HOSTS_MAX",
        ),
        row(
            "processes of a scenario (each host's own included)",
            PROCESSES_MAX.to_string(),
            "refused at the first process past it",
            "scenario::limits::PROCESSES_MAX",
        ),
        row(
            "socket names of a scenario",
            SOCKET_NAMES_MAX.to_string(),
            "refused at the first step past it",
            "scenario::limits::SOCKET_NAMES_MAX",
        ),
        row(
            "steps of a scenario",
            "no limit of their own: the file size bounds them".to_string(),
            "(loading is linear in the file's size)",
            "scenario::limits::SCENARIO_FILE_BYTES_MAX",
        ),
        row(
            "errors printed for one input",
            ERRORS_SHOWN_MAX.to_string(),
            "the rest are counted, nothing runs",
            "scenario::limits::ERRORS_SHOWN_MAX",
        ),
    ]
}

/// The simulator's and the model's own limits: most end a run (with an
/// outcome naming the limit), trim a report or drop what is past them; the
/// model's poll width is also checked when a file is loaded.
fn run_rows() -> Vec<Limit> {
    let run = Limits::default();
    vec![
        row(
            "events of a run (default `max_events`)",
            thousands(run.max_events),
            "the run ends with the outcome `event-budget`",
            "sim::spec::Limits::default",
        ),
        row(
            "virtual time of a run (default `duration`)",
            format!("{} s", run.max_time_ns.as_secs()),
            "the run ends with the outcome `time-limit`",
            "sim::spec::Limits::default",
        ),
        row(
            "trace entries a report keeps (default `--max-trace-entries`)",
            thousands(sim::trace::MAX_TRACE_ENTRIES as u64),
            "the report keeps the last ones and says how many it left out; `--format jsonl` streams all",
            "sim::trace::MAX_TRACE_ENTRIES",
        ),
        row(
            "out-of-order ranges a receiver keeps",
            model::socket::OOO_RANGES_MAX.to_string(),
            "more are dropped (and retransmitted by the peer)",
            "model::socket::OOO_RANGES_MAX",
        ),
        row(
            "sockets of one poll step",
            model::call::POLL_SOCKS_MAX.to_string(),
            "refused at the first socket past it (each has a 16-bit lane of the result)",
            "model::call::POLL_SOCKS_MAX",
        ),
        // A limit of the simulator or the model is one more row here, from
        // the constant that declares it; one of a crate above this one is a
        // row of `tcpsim::limits::table`.
    ]
}

/// One row of the table.
pub fn row(
    what: &'static str,
    value: String,
    beyond: &'static str,
    declared: &'static str,
) -> Limit {
    Limit {
        what,
        value,
        beyond,
        declared,
    }
}

/// `16 MiB`, `1 MiB`, `512 KiB` or a plain count of octets.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} octets"),
    }
}

/// `1,000,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The limits table of `docs/limits.md`.
pub fn markdown_table(rows: &[Limit]) -> String {
    let mut o = String::from("| limit | value | beyond it | declared in |\n|---|---|---|---|\n");
    for l in rows {
        o.push_str(&format!(
            "| {} | {} | {} | `{}` |\n",
            l.what, l.value, l.beyond, l.declared
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_its_values_from_the_constants() {
        let t = table();
        assert!(t.iter().any(|l| l.value == "16 MiB"));
        assert!(t.iter().any(|l| l.value == "365 days"));
        assert!(t.iter().any(|l| l.value == "68–65536 octets"));
        assert_eq!(thousands(1_000_000_000), "1,000,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(bytes(1536), "1536 octets");
        // The horizon leaves room: 500 of them still fit in the clock.
        assert!(HORIZON.as_ns().checked_mul(500).is_some());
    }
}
