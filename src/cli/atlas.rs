//! `tcpsim atlas`: the teardown atlas (docs/atlas.md), every cell a run of
//! the model; `--diff A B` the cells where two personalities differ and the
//! knobs responsible; `--scenario SLUG` one cell's scenario file; `--kernel`
//! the `linux` column against this host's kernel.

use super::{output_failed, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::atlas::{self, kernel, render, Body, Key};
use crate::personality_file;
use model::Personality;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Markdown,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  tcpsim atlas --out docs/atlas.md\n  \
    tcpsim atlas --diff linux winsock-xp\n  \
    tcpsim atlas --scenario established/close/unread > cell.toml && tcpsim run cell.toml\n  \
    sudo tcpsim atlas --kernel --only established/")]
pub struct Args {
    /// Personalities, comma-separated (default: every built-in).
    #[arg(long, value_delimiter = ',')]
    pub personalities: Vec<String>,
    /// The personality of the peer host.
    #[arg(long, default_value = "linux")]
    pub peer: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write the atlas (or the diff) to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Only the cells where these two personalities differ, with the knobs responsible.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub diff: Vec<String>,
    /// Print the scenario file of one cell (STATE/CALL/DATA, e.g. close-wait/linger-0/unread)
    /// for the first of --personalities (default linux).
    #[arg(long, value_name = "SLUG")]
    pub scenario: Option<String>,
    /// Check the linux column against this host's kernel (needs root); exit 1 on a difference.
    #[arg(long)]
    pub kernel: bool,
    /// With --kernel: only this cell (a slug), or the cells under a prefix ending in `/`
    /// (`closing/`, `closing/linger-0/`); repeatable.
    #[arg(long, value_name = "PREFIX")]
    pub only: Vec<String>,
}

fn resolve(names: &[String]) -> Result<Vec<Personality>, String> {
    names
        .iter()
        .map(|n| personality_file::resolve(n, Path::new(".")))
        .collect()
}

fn emit(a: &Args, text: &str) -> ExitCode {
    let written = match &a.out {
        Some(path) => std::fs::write(path, text).map_err(|e| {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::from(EXIT_INPUT)
        }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(output_failed)
        }
    };
    written.err().unwrap_or(ExitCode::from(EXIT_OK))
}

fn json(v: &impl Serialize) -> String {
    serde_json::to_string_pretty(v).expect("serializes") + "\n"
}

/// The key named by a slug.
fn key_of(slug: &str) -> Result<Key, String> {
    Key::all()
        .into_iter()
        .find(|k| k.slug() == slug)
        .ok_or_else(|| {
            format!(
                "no atlas cell `{slug}`: expected STATE/CALL/DATA, e.g. established/close/unread \
                 (calls: {})",
                render::call_names()
            )
        })
}

pub fn exec(a: &Args) -> ExitCode {
    match run(a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

fn run(a: &Args) -> Result<ExitCode, String> {
    let names: Vec<String> = match (a.personalities.is_empty(), a.diff.is_empty()) {
        (_, false) => a.diff.clone(),
        (true, true) => Personality::BUILTIN.iter().map(|s| s.to_string()).collect(),
        (false, true) => a.personalities.clone(),
    };
    let ps = resolve(&names)?;
    let peer = personality_file::resolve(&a.peer, Path::new("."))?;
    if let Some(slug) = &a.scenario {
        let k = key_of(slug)?;
        if let Some(why) = atlas::cell::impossible(&k) {
            return Err(format!("`{slug}`: {why}"));
        }
        let p = a.personalities.first().map_or("linux", String::as_str);
        return Ok(emit(a, &atlas::cell::scenario_text(p, &a.peer, &k)));
    }
    if a.kernel {
        return Ok(kernel_column(a, &peer));
    }
    if !a.diff.is_empty() {
        return Ok(diff(a, (&ps[0], &ps[1]), &peer));
    }
    let at = atlas::atlas(&ps, &peer);
    Ok(match a.format {
        Format::Markdown => emit(a, &render::markdown(&at, &ps)),
        Format::Json => emit(a, &json(&at)),
    })
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct DiffJson<'a> {
    a: &'a str,
    b: &'a str,
    cells: usize,
    differences: &'a [render::Difference],
}

/// `--diff A B`.
fn diff(a: &Args, (pa, pb): (&Personality, &Personality), peer: &Personality) -> ExitCode {
    let keys = Key::all();
    let diffs: Vec<render::Difference> = keys
        .iter()
        .filter_map(|k| {
            let ca = atlas::run_cell(pa, peer, *k, None);
            let cb = atlas::run_cell(pb, peer, *k, None);
            if ca.body == cb.body {
                return None;
            }
            let knobs = match (&ca.body, &cb.body) {
                (Body::Ran { obs: oa, .. }, Body::Ran { obs: ob, .. }) => {
                    let base = atlas::cell::scenario("linux", "linux", k).spec;
                    Some(atlas::blame::diff_blame((pa, pb, peer), &base, k, (oa, ob)))
                }
                _ => None,
            };
            Some(render::Difference {
                slug: k.slug(),
                a: render::body_text(&ca.body),
                b: render::body_text(&cb.body),
                knobs,
            })
        })
        .collect();
    let text = match a.format {
        Format::Markdown => render::diff_text((&pa.name, &pb.name), &diffs, keys.len()),
        Format::Json => json(&DiffJson {
            a: &pa.name,
            b: &pb.name,
            cells: keys.len(),
            differences: &diffs,
        }),
    };
    emit(a, &text)
}

/// Whether `--only PATTERN` selects a cell: its slug, or a prefix ending in `/`.
fn selects(pattern: &str, slug: &str) -> bool {
    slug == pattern || (pattern.ends_with('/') && slug.starts_with(pattern))
}

/// `--kernel`: the linux column against this host's kernel.
fn kernel_column(a: &Args, peer: &Personality) -> ExitCode {
    if let Some(why) = kernel::unavailable() {
        eprintln!("error: the kernel check cannot run here: {why}");
        return ExitCode::from(EXIT_INPUT);
    }
    let linux = Personality::builtin("linux").expect("built in");
    let keys: Vec<Key> = Key::all()
        .into_iter()
        .filter(|k| atlas::cell::impossible(k).is_none())
        .filter(|k| a.only.is_empty() || a.only.iter().any(|p| selects(p, &k.slug())))
        .collect();
    let mut checks = Vec::new();
    let mut out = std::io::stdout().lock();
    for k in &keys {
        let c = atlas::run_cell(&linux, peer, *k, None);
        let model = match &c.body {
            Body::Ran { obs, .. } => Ok(obs.as_ref()),
            other => Err(render::body_text(other)),
        };
        let check = kernel::check(k, model);
        if a.format == Format::Markdown {
            let _ = writeln!(out, "{}", kernel::check_line(&check));
        }
        checks.push(check);
    }
    let summary = kernel::Summary::of(&checks);
    let _ = match a.format {
        Format::Markdown => writeln!(out, "\n{}", summary.line()),
        Format::Json => write!(
            out,
            "{}",
            json(&kernel::Report {
                summary: &summary,
                checks: &checks
            })
        ),
    };
    ExitCode::from(if summary.differ > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
