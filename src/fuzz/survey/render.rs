//! A survey as text or Markdown: the overview, one matrix per pattern, and
//! each cause's smallest example shrunk to a scenario file.

use super::*;
use crate::fuzz::check::{compile, Compiled};
use crate::fuzz::gen::{mixed, Case, GenConfig};
use crate::fuzz::search::{case_tree, shrink};
use crate::scenario::causal_resets;
use crate::scenario::file::ScenarioFile;
use proptest::strategy::{Strategy, ValueTree};
use sim::{Verdict, World};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

fn pct(n: u64, d: u64) -> String {
    (n * 100 + d / 2)
        .checked_div(d)
        .map_or_else(|| "-".into(), |p| p.to_string())
}

/// A pattern's minimal example: the row example with the smallest case,
/// regenerated and shrunk while it keeps the pattern (same stacks, same side)
/// and the same ending (first RST cause, loss, silent loss).
pub struct Shrunk {
    pub row: Row,
    /// The case it was shrunk from.
    pub case: u64,
    /// The side showing the pattern: "client" or "server".
    pub actor: &'static str,
    /// "client linux, server freebsd"
    pub hosts: String,
    /// The whole scenario file, `[expect]` filled in.
    pub file_text: String,
    /// Network settings and steps, one per line.
    pub compact: Vec<String>,
    pub verdict: String,
}

fn summary(c: &Compiled, v: &Verdict) -> (Option<String>, bool, bool, String) {
    let first = causal_resets(v).next().map(|r| {
        format!(
            "{}: {}",
            c.spec.hosts[r.from.host as usize].name,
            r.cause.key()
        )
    });
    let mut text = v.outcome.key().to_string();
    let rst: Vec<String> = causal_resets(v)
        .map(|r| {
            format!(
                "{}: {}",
                c.spec.hosts[r.from.host as usize].name,
                r.cause.key()
            )
        })
        .collect();
    if !rst.is_empty() {
        let _ = write!(text, "; RST {}", rst.join(", "));
    }
    for conn in &v.connections {
        for d in &conn.directions {
            if d.lost > 0 {
                let (f, t) = (d.from.map_or(0, |a| a.host), d.to.map_or(0, |a| a.host));
                let _ = write!(
                    text,
                    "; lost {} {}->{}{}",
                    d.lost,
                    c.spec.hosts[f as usize].name,
                    c.spec.hosts[t as usize].name,
                    if d.silent { " (silently)" } else { "" }
                );
            }
        }
    }
    (first, v.lost_bytes() > 0, v.silent_loss(), text)
}

pub fn shrink_example(gen: &GenConfig, s: &Survey, row: &Row, key: &str) -> Option<Shrunk> {
    let e = row.examples.get(key)?;
    let strategy = mixed(gen).sboxed();
    let mut tree = case_tree(&strategy, s.seed, e.case);
    let original = tree.current();
    let pat = PATTERNS.iter().position(|p| p.0 == row.pattern)?;
    let keeps = |c: &Case| -> Option<crate::fuzz::check::Violation> {
        let (_, v) = compile_and_run(c)?;
        shows_ending(&acting_sides(c, pat, row), &v, key).then(|| crate::fuzz::check::Violation {
            property: crate::fuzz::check::Property::NoReset,
            message: String::new(),
        })
    };
    keeps(&original)?;
    let (min, _, _) = shrink(&mut tree, keeps, 2000);
    let (comp, v) = compile_and_run(&min)?;
    let mut file = comp.text_file();
    file.scenario.name = Some(example_name(&row.pattern));
    file.expect = Some(crate::fuzz::search::expect_from(&comp.spec, &v));
    let mut compact = compact_network(&comp);
    compact.extend(file.script.steps.iter().map(|l| l.get_ref().clone()));
    let actor = match acting_sides(&min, pat, row).first() {
        Some(1) => "server",
        _ => "client",
    };
    Some(Shrunk {
        row: row.clone(),
        case: e.case,
        actor,
        hosts: format!(
            "client {}, server {}",
            min.client.personality, min.server.personality
        ),
        file_text: crate::scenario::write(&file),
        compact,
        verdict: summary(&comp, &v).3,
    })
}

fn compile_and_run(c: &Case) -> Option<(Compiled, Verdict)> {
    let comp = compile(c).ok()?;
    let v = World::new(Arc::clone(&comp.spec), false).run();
    Some((comp, v))
}

/// The sides (0 client, 1 server) of case `c` that show pattern `pat` with
/// `row`'s stacks (the acting side's, then its peer's), in the order of
/// [`patterns`].
fn acting_sides(c: &Case, pat: usize, row: &Row) -> Vec<usize> {
    let sides = c.sides();
    patterns(c)
        .iter()
        .filter(|&&(p, x)| {
            p == pat && sides[x].personality == row.actor && sides[1 - x].personality == row.peer
        })
        .map(|&(_, x)| x)
        .collect()
}

/// What an example must keep showing: the RST of `key` sent by an acting
/// side (or the other side, as `key` says), or loss without any RST.
fn shows_ending(actors: &[usize], v: &Verdict, key: &str) -> bool {
    if key == LOSS {
        return !actors.is_empty() && v.resets.is_empty() && v.lost_bytes() > 0;
    }
    causal_resets(v).any(|r| {
        actors
            .iter()
            .any(|&x| who(r.from.host as usize == x, r.cause.key()) == key)
    })
}

/// An example's scenario name: `survey-` and the pattern in letters,
/// digits and single dashes.
fn example_name(pattern: &str) -> String {
    let slug: String = pattern
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("survey-{}", slug.replace("--", "-"))
}

/// The compiled case's network settings as the file's lines, without
/// section headers and empty lists.
fn compact_network(comp: &Compiled) -> Vec<String> {
    let only_network = ScenarioFile {
        network: comp.file.network.clone(),
        ..ScenarioFile::default()
    };
    let skip = ["[scenario]", "[hosts]", "[script]", "steps = []", "]"];
    crate::scenario::write(&only_network)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !skip.contains(l) && !l.starts_with("steps"))
        .map(str::to_string)
        .collect()
}

/// Totals of one pattern over every pair.
fn totals(rows: &[&Row]) -> (u64, u64, u64, u64) {
    rows.iter().fold((0, 0, 0, 0), |a, r| {
        (a.0 + r.cases, a.1 + r.rst, a.2 + r.loss, a.3 + r.silent)
    })
}

/// The survey as text (`markdown` for docs/findings.md).
pub fn render(s: &Survey, gen: &GenConfig, markdown: bool) -> String {
    let mut o = String::new();
    let by_pattern = |p: &str| -> Vec<&Row> { s.rows.iter().filter(|r| r.pattern == p).collect() };
    overview_header(&mut o, markdown);
    for (p, _) in PATTERNS {
        overview_row(&mut o, p, &by_pattern(p), markdown);
    }
    // Per pattern: the matrix and a minimal example.
    for (p, def) in PATTERNS {
        let rows = by_pattern(p);
        if rows.is_empty() {
            continue;
        }
        matrix(&mut o, (p, def), &s.personalities, &rows, markdown);
        // The examples: for each of the pattern's most frequent RSTs, the
        // smallest case that shows it.
        for key in example_keys(&rows) {
            let best = rows
                .iter()
                .filter_map(|r| r.examples.get(&key).map(|e| (e.key(), *r)))
                .min_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, r)| r);
            if let Some(ex) = best.and_then(|r| shrink_example(gen, s, r, &key)) {
                example(&mut o, &ex, markdown);
            }
        }
    }
    o
}

fn overview_header(o: &mut String, markdown: bool) {
    if markdown {
        let _ = writeln!(
            o,
            "| pattern | cases | RST | loss | silent loss | most frequent RST causes |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---|");
    } else {
        let _ = writeln!(
            o,
            "{:<32} {:>7} {:>5} {:>5} {:>7}  most frequent RST causes",
            "pattern", "cases", "RST%", "loss%", "silent%"
        );
    }
}

/// Pattern `p`'s line of the overview, over all pairs; none if no case shows it.
fn overview_row(o: &mut String, p: &str, rows: &[&Row], markdown: bool) {
    let (n, r, l, si) = totals(rows);
    if n == 0 {
        return;
    }
    let top: Vec<String> = ranked_causes(rows, |_| true)
        .iter()
        .take(3)
        .map(|(c, k)| format!("{c} {}%", pct(*k, n)))
        .collect();
    let (r, l, si, top) = (pct(r, n), pct(l, n), pct(si, n), top.join(", "));
    if markdown {
        let _ = writeln!(o, "| {p} | {n} | {r}% | {l}% | {si}% | {top} |");
    } else {
        let _ = writeln!(o, "{p:<32} {n:>7} {r:>5} {l:>5} {si:>7}  {top}");
    }
}

/// The RST causes of `rows` that `keep` keeps, summed over the rows (in
/// cases), most frequent first, ties by name.
fn ranked_causes<'a>(rows: &[&'a Row], keep: impl Fn(&str) -> bool) -> Vec<(&'a str, u64)> {
    let mut causes: BTreeMap<&str, u64> = BTreeMap::new();
    for row in rows {
        for (c, k) in &row.causes {
            if keep(c) {
                *causes.entry(c).or_default() += k;
            }
        }
    }
    let mut cv: Vec<(&str, u64)> = causes.into_iter().collect();
    cv.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    cv
}

/// Which endings a pattern's examples show: up to two, the pattern's two
/// most frequent RSTs (as in the overview's causes column), else loss.
fn example_keys(rows: &[&Row]) -> Vec<String> {
    let mut keys: Vec<String> = ranked_causes(rows, |c| !c.ends_with("no-connection"))
        .into_iter()
        .take(2)
        .map(|(c, _)| c.to_string())
        .collect();
    if keys.is_empty() {
        keys.push(LOSS.to_string());
    }
    keys
}

/// A pattern's heading and its matrix: the acting stack by the peer's.
fn matrix(o: &mut String, (p, def): (&str, &str), names: &[String], rows: &[&Row], markdown: bool) {
    if markdown {
        let _ = writeln!(o, "\n## {p}\n\nThe acting side {def}. Rows: its stack; columns: the peer's. Each cell: % of cases with an RST / with loss / with silent loss (cases).\n");
        let _ = write!(o, "| actor \\ peer |");
        for b in names {
            let _ = write!(o, " {b} |");
        }
        let _ = writeln!(o);
        let _ = writeln!(o, "|---|{}", "---|".repeat(names.len()));
    } else {
        let _ = writeln!(o, "\n{p}: the acting side {def}");
        let _ = write!(o, "  {:<12}", "actor\\peer");
        for b in names {
            let _ = write!(o, " {b:>18}");
        }
        let _ = writeln!(o);
    }
    for a in names {
        if markdown {
            let _ = write!(o, "| **{a}** |");
        } else {
            let _ = write!(o, "  {a:<12}");
        }
        for b in names {
            let row = rows.iter().find(|r| &r.actor == a && &r.peer == b);
            let txt = cell_text(row.copied());
            if markdown {
                let _ = write!(o, " {txt} |");
            } else {
                let _ = write!(o, " {txt:>18}");
            }
        }
        let _ = writeln!(o);
    }
}

/// A matrix cell: % RST / % loss / % silent loss (cases), or `-`.
fn cell_text(row: Option<&Row>) -> String {
    match row {
        Some(r) => format!(
            "{}/{}/{} ({})",
            pct(r.rst, r.cases),
            pct(r.loss, r.cases),
            pct(r.silent, r.cases),
            r.cases
        ),
        None => "-".into(),
    }
}

/// A minimal example: the whole file in markdown, else the compact lines.
fn example(o: &mut String, ex: &Shrunk, markdown: bool) {
    let case = ex.case;
    if markdown {
        let _ = writeln!(
            o,
            "\nMinimal example ({}; the {} acts; case {case}): {}\n\n```toml\n{}```",
            ex.hosts, ex.actor, ex.verdict, ex.file_text
        );
    } else {
        let _ = writeln!(
            o,
            "  minimal example ({}; the {} acts; case {case}): {}",
            ex.hosts, ex.actor, ex.verdict
        );
        for l in &ex.compact {
            let _ = writeln!(o, "    {l}");
        }
    }
}
