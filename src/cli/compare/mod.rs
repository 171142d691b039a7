//! `tcpsim compare FILE`: one scenario under every pair of personalities of its
//! first two hosts (a raw peer, which has no stack, is not varied). A matrix of
//! outcomes (rows: the first host's personality,
//! columns: the second's), then, for each two personalities that end
//! differently, where their traces first diverge and which knob is responsible.

mod blame;
mod cell;
mod diverge;
mod render;

pub use blame::{blame_by, knob_changes, Blame, KnobChange};
pub use cell::{compare, with_pair, Cell, Comparison};
pub use diverge::Divergence;
pub use render::{csv, markdown, text};

use super::{report_diags, ScenarioOpts, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::scenario::{self, Scenario};
use model::Personality;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
    Csv,
    Markdown,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file (its first two hosts are varied).
    pub file: PathBuf,
    /// Personalities to compare, comma-separated (default: all built-in).
    #[arg(long, value_delimiter = ',')]
    pub personalities: Vec<String>,
    #[command(flatten)]
    pub opts: ScenarioOpts,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also write the matrix, and each pair's ladder and trace, as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write each pair's segments as a capture file for Wireshark into
    /// DIR (created if missing), named after the pair:
    /// `client-linux.server-freebsd.pcap`.
    #[arg(long, value_name = "DIR")]
    pub pcap_dir: Option<PathBuf>,
}

/// The capture file of a cell: each of the first two hosts with its
/// personality, `client-linux.server-freebsd.pcap`, with any character a
/// file name might not take replaced by `_`.
pub fn pcap_name(s: &Scenario, cell: &Cell) -> String {
    let host = |i: usize| s.spec.hosts.get(i).map_or("?", |h| h.name.as_str());
    let name = format!("{}-{}.{}-{}", host(0), cell.first, host(1), cell.second);
    let safe: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect();
    format!("{safe}.pcap")
}

/// Writes each cell's capture file into `dir` (`--pcap-dir`).
fn write_pcaps(dir: &Path, s: &Scenario, c: &Comparison) -> Result<(), ExitCode> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!(
            "error: cannot create the capture directory {}: {e}",
            dir.display()
        );
        return Err(ExitCode::from(EXIT_INPUT));
    }
    for (cell, spec) in c.cells.iter().zip(&c.specs) {
        super::capture::write(&dir.join(pcap_name(s, cell)), spec)?;
    }
    Ok(())
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Json<'a> {
    scenario: &'a str,
    personalities: &'a [String],
    cells: &'a [Cell],
    divergences: &'a [Divergence],
}

pub fn exec(a: &Args) -> ExitCode {
    let s = match scenario::load(&a.file, &a.opts.overrides()) {
        Ok(s) => s,
        Err(d) => return report_diags(&d),
    };
    let names: Vec<String> = if a.personalities.is_empty() {
        Personality::BUILTIN.iter().map(|s| s.to_string()).collect()
    } else {
        a.personalities.clone()
    };
    let c = match compare(&s, &a.opts, &names) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    if let Some(path) = &a.html {
        if let Err(code) = crate::html::write(path, &crate::html::compare_report(&s, &c)) {
            return code;
        }
    }
    if let Some(dir) = &a.pcap_dir {
        if let Err(code) = write_pcaps(dir, &s, &c) {
            return code;
        }
    }
    match a.format {
        Format::Text => print!("{}", text(&s, &c, super::styled())),
        Format::Csv => print!("{}", csv(&c)),
        Format::Markdown => print!("{}", markdown(&s, &c)),
        Format::Json => {
            let j = Json {
                scenario: &s.name,
                personalities: &c.names,
                cells: &c.cells,
                divergences: &c.divergences,
            };
            println!("{}", serde_json::to_string_pretty(&j).expect("serializes"));
        }
    }
    ExitCode::from(if c.cells.iter().any(|x| !x.failures.is_empty()) {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
