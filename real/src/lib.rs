//! `tcpsim real`: a scenario's steps run with real sockets on this host's
//! kernel, to check the `linux` personality against the stack it models.
//!
//! - `plan`: can the scenario be reproduced here, and on which network
//!   (loopback in a private namespace, or one namespace per host joined by a
//!   delay line), with which sysctls.
//! - `worker`: each scenario process is a real process (real `fork`, `_exit`);
//!   each step's calls and results are reported to the coordinator.
//! - `run`: the coordinator: network setup, processes, capture, end states.
//! - `capture`: `AF_PACKET` capture, TCP header parsing, the capture file (through `pcap`).
//! - `trace`: the run as the simulator's trace entries (calls, segments,
//!   the states they show), so the simulator's verdict, ladder and
//!   expectation check serve the kernel run too.
//! - `compare`: simulator against kernel.
//!
//! See docs/real-kernel.md for what must agree and what may differ.

pub mod capture;
pub mod compare;
pub mod plan;
pub mod run;
pub mod sys;
pub mod trace;
pub mod worker;

pub use plan::{plan, Net, Plan};
pub use run::{execute, Hint, Options, RealRun, RunError};

use sim::{Entry, What};

/// What the simulator expects, for the kernel run's observation window.
pub fn hint(spec: &sim::WorldSpec, trace: &[Entry]) -> Hint {
    let last_app_ns = trace
        .iter()
        .filter_map(|e| match e.what {
            What::Return { .. } | What::Fork { .. } | What::Exit { .. } | What::Finished { .. } => {
                Some(e.t_ns.as_ns())
            }
            What::Sleep { ns, .. } => Some((e.t_ns + ns).as_ns()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let never_returns = compare::step_runs(spec, trace)
        .iter()
        .enumerate()
        .filter(|(_, r)| r.result == compare::StepResult::Blocked)
        .map(|(i, _)| (spec.steps[i].proc, i as u32))
        .collect();
    Hint {
        last_app_ns,
        never_returns,
    }
}

/// `uname -sr` of this host.
pub fn kernel_release() -> String {
    // SAFETY: utsname is plain old data, filled by uname.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown kernel".into();
    }
    let s = |f: &[libc::c_char]| {
        let b: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    };
    format!("{} {}", s(&u.sysname), s(&u.release))
}
