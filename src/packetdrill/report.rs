//! Messages in packetdrill's own words (google/packetdrill
//! `gtests/net/packetdrill/`): `SCRIPT:LINE: error handling packet: live
//! packet field tcp_fin: expected: 1 (0x1) vs actual: 0 (0x0)` (`run_packet.c`,
//! `check_field`), `SCRIPT:LINE: timing error: expected outbound packet at
//! 0.200000 sec but happened at 0.300000 sec; tolerance 0.004000 sec`
//! (`run.c`, `verify_time`), `SCRIPT:LINE: runtime error in close call:
//! Expected result 0 but got -1 with errno 104 (Connection reset by peer)`
//! (`run_system_call.c`). Unsupported lines say why.

use super::parse::{Syscall, Usecs};
use super::run::Outcome;
use model::Errno;

/// A mismatch: the script line and packetdrill's message (without the path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub line: usize,
    pub message: String,
}

/// A construct the runner cannot honour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub line: usize,
    pub reason: String,
}

pub fn fail(line: usize, message: String) -> Failure {
    Failure { line, message }
}

pub fn fail_packet(line: usize, err: String) -> Failure {
    fail(line, format!("error handling packet: {err}"))
}

/// `verify_time` (the one declaration: sim/src/segmatch.rs) at a script line.
pub fn check_time(
    line: usize,
    what: &str,
    window: (Usecs, Usecs),
    actual: Usecs,
    tolerance: Usecs,
) -> Result<(), Failure> {
    sim::segmatch::check_time(what, window, actual, tolerance).map_err(|m| fail(line, m))
}

/// Whose errno numbers a message prints: the platform the script runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Numbers {
    /// Linux's (include/uapi/asm-generic/errno*.h).
    Linux,
    /// FreeBSD's (sys/sys/errno.h): a FreeBSD packetdrill prints those.
    FreeBsd,
}

impl Numbers {
    pub fn of(e: Errno, numbers: Numbers) -> i32 {
        match numbers {
            Numbers::Linux => e.linux().0,
            Numbers::FreeBsd => e.freebsd(),
        }
    }
}

fn errno_words(e: Option<Errno>, numbers: Numbers) -> String {
    match e {
        // strerror()'s text is the same on both for the errnos the model has.
        Some(e) => format!("{} ({})", Numbers::of(e, numbers), e.linux().1),
        None => "0 (Success)".into(),
    }
}

pub fn fail_syscall(
    line: usize,
    s: &Syscall,
    actual: i64,
    errno: Option<Errno>,
    numbers: Numbers,
) -> Failure {
    let message = if matches!(s.name.as_str(), "socket" | "accept") && s.ret >= 0 {
        format!(
            "Expected non-negative result but got {actual} with errno {}",
            errno_words(errno, numbers)
        )
    } else {
        format!(
            "Expected result {} but got {actual} with errno {}",
            s.ret,
            errno_words(errno, numbers)
        )
    };
    fail(line, format!("runtime error in {} call: {message}", s.name))
}

pub fn fail_errno(
    line: usize,
    name: &str,
    want: &str,
    got: Option<Errno>,
    numbers: Numbers,
) -> Failure {
    let expected = match Errno::parse(want) {
        Some(e) => errno_words(Some(e), numbers),
        None => format!("{want} (not an errno the model knows)"),
    };
    fail(
        line,
        format!(
            "runtime error in {name} call: Expected errno {expected} but got {}",
            errno_words(got, numbers)
        ),
    )
}

/// The outcome of one script, as lines of text.
pub fn render(path: &str, out: &Outcome) -> String {
    let mut s = String::new();
    for u in &out.unsupported {
        s.push_str(&format!("{path}:{}: unsupported: {}\n", u.line, u.reason));
    }
    if let Some(f) = &out.failure {
        let after = out.unsupported.first().is_some_and(|u| u.line < f.line);
        let note = if after {
            " (after an unsupported line: not counted as a failure)"
        } else {
            ""
        };
        s.push_str(&format!("{path}:{}: {}{note}\n", f.line, f.message));
    }
    s.push_str(&format!("{path}: {}\n", out.verdict()));
    s
}
