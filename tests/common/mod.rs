//! Helpers shared by the end-to-end tests: the binary, its JSON report, the
//! corpus files, and whether this process may run the kernel oracle. (Each
//! test binary uses part of them.)
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The packetdrill scripts (`.pkt`) under `dir`, at any depth, in path order.
pub fn pkt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            pkt_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "pkt") {
            out.push(p);
        }
    }
}

/// The TOML files of the repository's folder `dir` (e.g. `scenarios`), sorted.
pub fn toml_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

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
/// sockets and the privileges it names when it lacks them.
pub fn kernel_skip_reason() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("not Linux".into());
    }
    // What `tcpsim real` itself refuses to run without.
    if let Some(why) = tcpsim::real::plan::missing_privileges() {
        return Some(why);
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
