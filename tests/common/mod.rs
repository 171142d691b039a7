//! What several test binaries share: the binary, its JSON report, and
//! whether this process may run the kernel oracle. (Each binary uses part
//! of it.)
#![allow(dead_code)]

use serde_json::Value;
use std::process::{Command, Output};

/// The `tcpsim` binary, run from the repository's root without colour.
pub fn tcpsim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tcpsim"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    c
}

/// Runs `c`, which must not be an input error (exit 0, or 1 for a failed
/// expectation); its output.
pub fn succeeds(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.code().is_some_and(|code| code <= 1),
        "tcpsim {:?}: {}",
        c.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON report of `tcpsim ARGS --format json`.
pub fn json(args: &[&str]) -> Value {
    let out = succeeds(tcpsim().args(args).args(["--format", "json"]));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Why `tcpsim real` cannot run here, if it cannot: it needs Linux, loopback
/// sockets and root or CAP_NET_RAW (to see RSTs on the wire).
pub fn kernel_skip_reason() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("not Linux".into());
    }
    // CAP_NET_RAW (bit 13) lets `tcpsim real` capture segments on lo.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    if cap_eff & (1 << 13) == 0 {
        return Some("neither root nor CAP_NET_RAW: RSTs on the wire cannot be seen".into());
    }
    let l = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => return Some(format!("no loopback sockets: {e}")),
    };
    let addr = l.local_addr().expect("bound");
    if let Err(e) = std::net::TcpStream::connect(addr) {
        return Some(format!("loopback connect fails: {e}"));
    }
    None
}
