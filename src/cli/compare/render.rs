//! The comparison as text (a matrix, then each divergence), CSV and Markdown.

use super::cell::{Cell, Comparison};
use super::diverge::Divergence;
use crate::scenario::Scenario;
use sim::Outcome;
use std::fmt::Write;

pub(super) fn colour(c: &Cell, text: &str, styled: bool) -> String {
    if !styled {
        return text.to_string();
    }
    let code = match c.outcome {
        Outcome::Clean => "32",
        Outcome::ResetWithoutLoss => "33",
        Outcome::ResetWithLoss | Outcome::LossWithoutReset => "31",
        Outcome::Hung | Outcome::EventBudget | Outcome::TimeLimit => "35",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

pub fn text(s: &Scenario, c: &Comparison, styled: bool) -> String {
    let mut o = String::new();
    // A long name and path wrap (the path on its own line) within 100 columns.
    o.push_str(&sim::report::fit(&format!(
        "scenario: {} ({})",
        s.name, s.path
    )));
    o.push('\n');
    matrix_text(&mut o, s, c, styled);
    if c.divergences.is_empty() {
        o.push_str("\nEvery pair ends the same.\n");
    }
    let mut rest = String::new();
    for d in &c.divergences {
        divergence_text(&mut rest, d);
    }
    for cell in c.cells.iter().filter(|x| !x.failures.is_empty()) {
        failures_text(&mut rest, cell);
    }
    o.push_str(&sim::report::fit(&rest));
    o
}

/// The matrix: first host's personality by row, second's by column, each
/// cell's ending in a few characters (so five columns fit 100), then a legend
/// naming the RST causes the cells refer to by letter.
pub(super) fn matrix_text(o: &mut String, s: &Scenario, c: &Comparison, styled: bool) {
    let n = c.cols.len();
    let h0 = s.spec.hosts.first().map_or("first", |h| h.name.as_str());
    let h1 = s.spec.hosts.get(1).map_or("second", |h| h.name.as_str());
    let corner = format!("{h0} \\ {h1}");
    let w0 = c
        .rows
        .iter()
        .map(|x| x.len())
        .max()
        .unwrap_or(0)
        .max(corner.len());
    let mut causes: Vec<String> = Vec::new();
    let marks: Vec<String> = c.cells.iter().map(|x| x.mark(&mut causes)).collect();
    let widths: Vec<usize> = (0..n)
        .map(|j| {
            let widest = (0..c.rows.len())
                .map(|i| marks[i * n + j].chars().count())
                .max();
            widest.unwrap_or(0).max(c.cols[j].len())
        })
        .collect();
    let _ = write!(o, "{corner:<w0$}");
    for (j, name) in c.cols.iter().enumerate() {
        let _ = write!(o, "  {name:<w$}", w = widths[j]);
    }
    o.truncate(o.trim_end().len());
    o.push('\n');
    for (i, name) in c.rows.iter().enumerate() {
        let _ = write!(o, "{name:<w0$}");
        for (j, width) in widths.iter().enumerate() {
            let (cell, t) = (&c.cells[i * n + j], &marks[i * n + j]);
            let pad = width.saturating_sub(t.chars().count());
            let _ = write!(o, "  {}{}", colour(cell, t, styled), " ".repeat(pad));
        }
        o.truncate(o.trim_end().len());
        o.push('\n');
    }
    let mut legend =
        String::from("\n−N: N bytes written and never read · ✗: an expectation failed");
    for (k, cause) in causes.iter().enumerate() {
        let _ = write!(legend, "\nRST {}: {cause}", cause_letter(k));
    }
    o.push_str(&sim::report::fit(&legend));
}

/// The letter by which the matrix names its `k`th distinct set of RST causes.
pub(super) fn cause_letter(k: usize) -> String {
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    match k < letters.len() {
        true => char::from(letters[k]).to_string(),
        false => format!("#{}", k + 1),
    }
}

/// One divergence: the two endings, where they first differ (in any entry,
/// then in states, RSTs and discards) and the knob responsible.
pub(super) fn divergence_text(o: &mut String, d: &Divergence) {
    let _ = writeln!(
        o,
        "\n{} as {}: {} vs {} (with {} on the other side)",
        d.host, d.a, d.a, d.b, d.other
    );
    let _ = writeln!(o, "  {}: {}\n  {}: {}", d.a, d.a_ends, d.b, d.b_ends);
    if !d.a_entry.is_empty() {
        let _ = writeln!(
            o,
            "  first divergence at {} ms:\n    {}: {}\n    {}: {}",
            d.at_ms, d.a, d.a_entry, d.b, d.b_entry
        );
    }
    if !d.a_decisive.is_empty() && d.a_decisive != d.a_entry {
        let _ = writeln!(
            o,
            "  first divergence in states, RSTs and discards, at {} ms:\n    {}: {}\n    {}: {}",
            d.decisive_at_ms, d.a, d.a_decisive, d.b, d.b_decisive
        );
    }
    for line in d.knobs.lines() {
        let _ = writeln!(o, "  {line}");
    }
}

/// A cell's failed expectations.
pub(super) fn failures_text(o: &mut String, cell: &Cell) {
    let _ = writeln!(
        o,
        "\nexpectations FAILED for {}/{}:",
        cell.first, cell.second
    );
    for f in &cell.failures {
        let _ = writeln!(
            o,
            "  {}: expected {}, actual {}",
            f.what, f.expected, f.actual
        );
    }
}

pub fn csv(c: &Comparison) -> String {
    let mut o = String::from("first,second,outcome,rst,lost,silent,expectations\n");
    for x in &c.cells {
        let _ = writeln!(
            o,
            "{},{},{},\"{}\",{},{},{}",
            x.first,
            x.second,
            x.outcome,
            x.rst.join("; "),
            x.lost,
            x.silent,
            if x.failures.is_empty() {
                "ok"
            } else {
                "failed"
            }
        );
    }
    o
}

pub fn markdown(s: &Scenario, c: &Comparison) -> String {
    let n = c.cols.len();
    let h0 = s.spec.hosts.first().map_or("first", |h| h.name.as_str());
    let h1 = s.spec.hosts.get(1).map_or("second", |h| h.name.as_str());
    let mut o = format!("| {h0} \\ {h1} |");
    for name in &c.cols {
        let _ = write!(o, " {name} |");
    }
    o.push_str("\n|---|");
    o.push_str(&"---|".repeat(n));
    o.push('\n');
    for (i, row) in c.rows.iter().enumerate() {
        let _ = write!(o, "| **{row}** |");
        for j in 0..n {
            let _ = write!(o, " {} |", c.cells[i * n + j].short().replace('|', "\\|"));
        }
        o.push('\n');
    }
    for d in &c.divergences {
        let _ = writeln!(
            o,
            "\n- {} as {} vs {} (other side {}): {} vs {}; {}",
            d.host,
            d.a,
            d.b,
            d.other,
            d.a_ends,
            d.b_ends,
            d.knobs.lines().join("; ")
        );
    }
    o
}
