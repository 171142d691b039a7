//! `tcpsim calls`: the calls a step can make, from the one declaration
//! (`model::call::CALLS`); `--markdown` prints the table of
//! `docs/scenario-format.md`.

use super::{print_json, EXIT_OK};
use model::call::{Blocks, CALLS};
use serde::Serialize;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Markdown table of docs/scenario-format.md.
    #[arg(long, conflicts_with = "format")]
    pub markdown: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: super::TextOrJson,
}

/// `tcpsim calls --format json`: one entry per call, in the table's order.
#[derive(Serialize, schemars::JsonSchema)]
pub struct CallJson {
    /// The scenario word.
    name: &'static str,
    /// Other words accepted for it.
    aliases: &'static [&'static str],
    /// The argument syntax, as in docs/scenario-format.md.
    usage: &'static str,
    blocks: Blocks,
    help: &'static str,
}

/// Every call of the table, for JSON.
pub fn json() -> Vec<CallJson> {
    CALLS
        .iter()
        .map(|c| CallJson {
            name: c.name,
            aliases: c.aliases,
            usage: c.usage,
            blocks: c.blocks,
            help: c.help,
        })
        .collect()
}

/// One line per call: usage, whether it can block, help, aliases.
pub fn text() -> String {
    let width = CALLS.iter().map(|c| c.usage.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in CALLS {
        let blocks = match c.blocks {
            Blocks::Never => "      ",
            Blocks::Maybe => "blocks",
            Blocks::Process => "step  ",
        };
        let aliases = if c.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {})", c.aliases.join(", "))
        };
        out.push_str(&format!(
            "  {:<width$}  {blocks}  {}{aliases}\n",
            c.usage, c.help
        ));
    }
    out
}

/// The call table of docs/scenario-format.md.
pub fn markdown() -> String {
    let mut out = String::from("| call | syntax | what it does |\n|---|---|---|\n");
    for c in CALLS {
        out.push_str(&c.doc_row());
        out.push('\n');
    }
    out
}

pub fn exec(a: &Args) -> ExitCode {
    if a.format == super::TextOrJson::Json {
        return print_json(&json());
    }
    if a.markdown {
        print!("{}", markdown());
    } else {
        println!("A step is `TIME PROCESS CALL ARGS… [= EXPECTED]`. The calls:\n");
        print!("{}", text());
        println!("\n`blocks`: may wait in virtual time (non-blocking sockets: EAGAIN/EINPROGRESS); `step`: a process step, not a socket call. See docs/scenario-format.md.");
    }
    ExitCode::from(EXIT_OK)
}
