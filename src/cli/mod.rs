//! The subcommands, one module each; `main.rs` only parses arguments.
//! Only this layer prints. Exit codes: 0 success, 1 an expectation or property
//! failed, 2 bad input or usage.

pub mod atlas;
pub mod calls;
pub mod capture;
pub mod compare;
pub mod explore;
pub mod fuzz;
pub mod fuzz_kernel;
pub mod packetdrill;
pub mod paint;
pub mod personalities;
pub mod real;
pub mod run;
pub mod schema;
pub mod test;

use crate::diag::Diag;
use crate::scenario::{KnobArg, Overrides, PersonalityArg};
use std::io::IsTerminal;
use std::process::ExitCode;

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_INPUT: u8 = 2;
/// A closed pipe as a shell reports a process SIGPIPE killed (128 + 13).
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// The report could not be written. A closed pipe ends the output quietly
/// (where `main` keeps SIGPIPE's default the process is killed first, as
/// `cat` would be); any other error is reported, exit 2.
pub fn output_failed(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return ExitCode::from(EXIT_BROKEN_PIPE);
    }
    eprintln!("error: cannot write the report: {e}");
    ExitCode::from(EXIT_INPUT)
}

/// `--format` of the commands whose report is text or one JSON document.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TextOrJson {
    #[default]
    Text,
    /// One JSON document (its schema: `tcpsim schema`).
    Json,
}

/// Prints one JSON document (pretty, newline-terminated) on stdout; exit 0,
/// or what a failed write means.
pub fn print_json(v: &impl serde::Serialize) -> ExitCode {
    print_json_code(v, EXIT_OK)
}

/// As [`print_json`], exiting with `code` once written.
pub fn print_json_code(v: &impl serde::Serialize, code: u8) -> ExitCode {
    use std::io::Write;
    let text = serde_json::to_string_pretty(v).expect("reports serialize") + "\n";
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(code),
        Err(e) => output_failed(e),
    }
}

/// Whether to colour output on stdout.
pub fn styled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Prints diagnostics to stderr and returns exit code 2.
pub fn report_diags(diags: &[Diag]) -> ExitCode {
    let styled = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprintln!("{}", crate::diag::render_all(diags, styled));
    ExitCode::from(EXIT_INPUT)
}

/// Parses `host.knob=value` for `--set`.
pub fn parse_set(s: &str) -> Result<(String, String, String), String> {
    let (lhs, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected HOST.KNOB=VALUE"))?;
    let (host, knob) = lhs.split_once('.').ok_or_else(|| {
        format!("`{s}`: expected HOST.KNOB=VALUE (e.g. server.tcp_fin_timeout=30)")
    })?;
    Ok((
        host.trim().to_string(),
        knob.trim().to_string(),
        value.trim().to_string(),
    ))
}

/// Parses `host=personality` for `--personality`.
pub fn parse_host_personality(s: &str) -> Result<(String, String), String> {
    let (h, p) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected HOST=PERSONALITY (e.g. client=freebsd)"))?;
    Ok((h.trim().to_string(), p.trim().to_string()))
}

/// Common scenario options of `run` and `test`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ScenarioOpts {
    /// Seed of the network's random faults (overrides the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a knob: HOST.KNOB=VALUE (repeatable), e.g. server.tcp_fin_timeout=30.
    #[arg(long = "set", value_name = "HOST.KNOB=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String, String)>,
    /// Personality of the host named `client` (a built-in name or a personality file).
    #[arg(long, value_name = "PERSONALITY")]
    pub client: Option<String>,
    /// Personality of the host named `server`.
    #[arg(long, value_name = "PERSONALITY")]
    pub server: Option<String>,
    /// Personality of any host: HOST=PERSONALITY (repeatable).
    #[arg(long = "personality", value_name = "HOST=PERSONALITY", value_parser = parse_host_personality)]
    pub personality: Vec<(String, String)>,
    /// Network profile: loopback (MTU 65536, ~0 delay) or lan (MTU 1500,
    /// 1 ms one way); replaces the file's `profile`, and its `delay` and
    /// hosts' `mtu` too.
    #[arg(long, value_name = "loopback|lan", value_parser = parse_profile)]
    pub profile: Option<&'static crate::scenario::profile::Profile>,
}

/// `--profile NAME`.
pub fn parse_profile(s: &str) -> Result<&'static crate::scenario::profile::Profile, String> {
    crate::scenario::profile::Profile::named(s).ok_or_else(|| {
        format!(
            "unknown network profile `{s}`; profiles: {}",
            crate::scenario::profile::Profile::names()
        )
    })
}

impl ScenarioOpts {
    /// The overrides, each with the argument it came from (for its errors).
    pub fn overrides(&self) -> Overrides {
        let pick = |arg: String, host: &str, p: &str| PersonalityArg {
            arg,
            host: host.to_string(),
            personality: p.to_string(),
        };
        let mut personality: Vec<PersonalityArg> = self
            .personality
            .iter()
            .map(|(h, p)| pick(format!("--personality {h}={p}"), h, p))
            .collect();
        for (flag, host, p) in [
            ("--client", "client", &self.client),
            ("--server", "server", &self.server),
        ] {
            if let Some(p) = p {
                personality.push(pick(format!("{flag} {p}"), host, p));
            }
        }
        let set = self
            .set
            .iter()
            .map(|(host, knob, value)| KnobArg {
                arg: format!("--set {host}.{knob}={value}"),
                host: host.clone(),
                knob: knob.clone(),
                value: value.clone(),
            })
            .collect();
        Overrides {
            seed: self.seed,
            personality,
            set,
            profile: self.profile,
        }
    }
}
