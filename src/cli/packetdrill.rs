//! `tcpsim packetdrill SCRIPT`: a packetdrill script against one personality
//! (src/packetdrill/). Prints packetdrill's own message for the first
//! mismatch and each unsupported line with its reason; exit 0 pass, 1 a
//! mismatch, 2 bad input, including a script that uses what the runner
//! cannot honour (unsupported: neither a pass nor a failure).

use super::{report_diags, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::diag::{Class, Diag};
use crate::packetdrill::scenario::PeerForm;
use crate::packetdrill::{self, report};
use crate::scenario::source::{read_file, FileKind};
use std::path::PathBuf;
use std::process::ExitCode;

/// Scripts are read under the scenario file's size limit (docs/limits.md).
pub const SCRIPT_FILE: FileKind = FileKind {
    name: "packetdrill script",
    bytes_max: crate::scenario::limits::SCENARIO_FILE_BYTES_MAX,
    limit: "scenario file size",
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The script (`.pkt`).
    pub script: PathBuf,
    /// The stack under test: a built-in personality or a personality file.
    #[arg(long, default_value = "linux")]
    pub personality: String,
    /// Timing tolerance in microseconds when the script sets none (packetdrill's default 4000).
    #[arg(
        long = "tolerance_usecs",
        alias = "tolerance-usecs",
        value_name = "USECS"
    )]
    pub tolerance_usecs: Option<i64>,
    /// Print the script as a scenario file instead of running it: the
    /// personality as host `tested`, the remote peer as host `peer` (`--peer`).
    #[arg(long)]
    pub to_scenario: bool,
    /// With `--to-scenario`: the remote peer as a raw host replaying the
    /// script (`raw`), or as a second TCP host whose calls come from the
    /// script's `<` lines (`tcp`; refused where the script's peer is not a
    /// plain TCP).
    #[arg(long, value_enum, default_value_t, requires = "to_scenario")]
    pub peer: PeerArg,
    /// With `--peer tcp`: the peer host's personality (default: the tested one).
    #[arg(long, value_name = "PERSONALITY", requires = "to_scenario")]
    pub peer_personality: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeerArg {
    /// A raw host: `inject` the `<` lines, `expect` the `>` lines.
    #[default]
    Raw,
    /// A TCP host running `--peer-personality`.
    Tcp,
}

/// Reads and parses a script; a located diagnostic on bad input.
pub fn load(path: &std::path::Path, defines: &[&str]) -> Result<packetdrill::Script, Box<Diag>> {
    let source = read_file(path, SCRIPT_FILE)?;
    let shown = path.display().to_string();
    packetdrill::parse(source.text(), defines).map_err(|e| {
        let label = format!("expected {}", e.expected);
        Box::new(
            Diag::new(Class::Script, &shown, &source, Some(e.span), e.message)
                .label(label)
                .help_opt(e.hint),
        )
    })
}

/// A personality named on the command line (`--personality` or `--peer-personality`).
fn personality(flag: &str, name: &str) -> Result<model::Personality, ExitCode> {
    let base = std::env::current_dir().unwrap_or_default();
    crate::personality_file::lookup(name, &base).map_err(|e| {
        let d = Diag::usage(
            format!("--{flag} {name}: {e}"),
            "a built-in name (linux, freebsd, …) or a personality file",
        );
        report_diags(&[d])
    })
}

pub fn exec(a: &Args) -> ExitCode {
    let personality = match personality("personality", &a.personality) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let defines = packetdrill::defines(&personality.name);
    let script = match load(&a.script, &defines) {
        Ok(s) => s,
        Err(d) => return report_diags(&[*d]),
    };
    if a.to_scenario {
        return to_scenario(a, &script, &personality);
    }
    let outcome = packetdrill::run(&script, &personality, a.tolerance_usecs);
    print!(
        "{}",
        report::render(&a.script.display().to_string(), &outcome)
    );
    ExitCode::from(match outcome.verdict() {
        "pass" => EXIT_OK,
        "fail" => EXIT_FAILED,
        _ => EXIT_INPUT,
    })
}

/// `--to-scenario`: the file on stdout, or the first line that cannot be
/// converted as an error at it (exit 2).
fn to_scenario(a: &Args, script: &packetdrill::Script, p: &model::Personality) -> ExitCode {
    let shown = a.script.display().to_string();
    let tolerance = script
        .option("tolerance_usecs")
        .and_then(|v| v.parse().ok())
        .or(a.tolerance_usecs)
        .unwrap_or(packetdrill::DEFAULT_TOLERANCE_USECS);
    let peer = match (a.peer, &a.peer_personality) {
        (PeerArg::Raw, None) => PeerForm::Raw,
        (PeerArg::Raw, Some(_)) => {
            let d = Diag::usage(
                "--peer-personality without --peer tcp: a raw peer has no stack",
                "add `--peer tcp`, or leave out `--peer-personality`",
            );
            return report_diags(&[d]);
        }
        (PeerArg::Tcp, None) => PeerForm::Tcp(Box::new(p.clone())),
        (PeerArg::Tcp, Some(name)) => match personality("peer-personality", name) {
            Ok(peer) => PeerForm::Tcp(Box::new(peer)),
            Err(code) => return code,
        },
    };
    let hint = match a.peer {
        PeerArg::Raw => {
            "the runner runs it (`tcpsim packetdrill SCRIPT`); a scenario has no step for this"
        }
        PeerArg::Tcp => "`--peer raw` converts a script whose peer is not a plain TCP",
    };
    match packetdrill::scenario::to_scenario(script, p, peer, &shown, tolerance) {
        Ok(text) => {
            print!("{text}");
            ExitCode::from(EXIT_OK)
        }
        Err(u) => {
            let span = script
                .events
                .iter()
                .find(|e| e.line == u.line)
                .map(|e| e.span.clone());
            let d = match read_file(&a.script, SCRIPT_FILE) {
                Ok(source) => Diag::new(
                    Class::Script,
                    &shown,
                    &source,
                    span,
                    format!("cannot convert to a scenario: {}", u.reason),
                )
                .label("not convertible".to_string())
                .help_opt(Some(hint.into())),
                Err(d) => *d,
            };
            report_diags(&[d])
        }
    }
}
