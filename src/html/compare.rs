//! `compare --html`: the matrix of personality pairs (each cell links to its
//! pair's section and to its first divergence), the divergences with the
//! knobs responsible, then each pair's verdict, ladder and trace. Each pair's
//! trace comes from running its cell's world again with the trace recorded:
//! the same world the matrix ran, so the same verdict.

use super::ladder::Mark;
use super::{header, hosts, page, run_sections, verdict};
use crate::cli::compare::{Comparison, Divergence};
use crate::scenario::Scenario;
use maud::{html, Markup};
use model::Instant;
use sim::World;
use std::sync::Arc;

/// The id of cell `k`'s section.
fn cell_id(c: &Comparison, k: usize) -> String {
    let n = c.cols.len();
    format!("cell-{}-{}", k / n, k % n)
}

/// "client linux × server freebsd".
fn cell_label(s: &Scenario, c: &Comparison, k: usize) -> String {
    let host = |i: usize| s.spec.hosts.get(i).map_or("?", |h| h.name.as_str());
    let cell = &c.cells[k];
    format!("{} {} × {} {}", host(0), cell.first, host(1), cell.second)
}

/// A report's `ms` text ("12.345") back as an instant.
fn parse_ms(t: &str) -> Instant {
    let (whole, frac) = t.split_once('.').unwrap_or((t, "0"));
    let ms: u64 = whole.parse().unwrap_or(0);
    let us: u64 = frac.parse().unwrap_or(0);
    Instant::from_ns(ms * 1_000_000 + us * 1_000)
}

/// The divergences cell `k` takes part in, with the other cell of each.
fn divergences_of(c: &Comparison, k: usize) -> impl Iterator<Item = (usize, &Divergence, usize)> {
    c.divergences
        .iter()
        .enumerate()
        .filter_map(move |(i, d)| match d.cells {
            [a, b] if a == k => Some((i, d, b)),
            [a, b] if b == k => Some((i, d, a)),
            _ => None,
        })
}

/// The HTML report of a comparison.
pub fn compare_report(s: &Scenario, c: &Comparison) -> String {
    let body = html! {
        (header(s, &s.spec, "compare"))
        (hosts(&s.spec))
        main {
            section id="matrix" {
                h2 { "Personality matrix" }
                (matrix(s, c))
            }
            section id="divergences" {
                h2 { "Where pairs diverge" }
                @if c.divergences.is_empty() { p { "Every pair ends the same." } }
                ol { @for (i, d) in c.divergences.iter().enumerate() { (divergence(s, c, i, d)) } }
            }
            @for k in 0..c.cells.len() { (pair(s, c, k)) }
        }
    };
    page(&format!("tcpsim compare: {}", s.name), body)
}

/// Rows: the first host's personality; columns: the second's.
fn matrix(s: &Scenario, c: &Comparison) -> Markup {
    let n = c.cols.len();
    let h0 = s.spec.hosts.first().map_or("first", |h| h.name.as_str());
    let h1 = s.spec.hosts.get(1).map_or("second", |h| h.name.as_str());
    html! {
        div.scroll { table.matrix {
            thead { tr {
                th.corner { "rows: " (h0) br; "columns: " (h1) }
                @for name in &c.cols { th scope="col" { (name) } }
            } }
            tbody {
                @for (i, row) in c.rows.iter().enumerate() {
                    tr {
                        th scope="row" { (row) }
                        @for j in 0..n { (matrix_cell(s, c, i * n + j)) }
                    }
                }
            }
        } }
        p.legend {
            "Each cell: how the run ends (" span.badge.clean { "clean" } " "
            span.badge.reset { "RST" } " " span.badge.lost { "lost" } " " span.badge.hung { "hung" }
            "; ✗: an expectation failed; framed: the pair the file declares). Select a cell for its ladder; ≠ leads to where it first differs from another pair."
        }
    }
}

fn matrix_cell(s: &Scenario, c: &Comparison, k: usize) -> Markup {
    let cell = &c.cells[k];
    let (class, words) = verdict::outcome_words(cell.outcome);
    let own = s.declared.first() == Some(&cell.first) && s.declared.get(1) == Some(&cell.second);
    let id = cell_id(c, k);
    let first = divergences_of(c, k).next();
    html! {
        td class=(format!("cell {class}{}", if own { " own" } else { "" })) {
            a href=(format!("#{id}")) title=(words) { (cell.short()) }
            @if let Some((i, d, _)) = first {
                " " a.diverge href=(format!("#{id}-d{i}")) title=(format!("first divergence at {} ms", d.at_ms)) { "≠ " (d.at_ms) }
            }
        }
    }
}

/// One divergence: the endings, the first entries that differ (each with
/// links to the marker in both ladders), the knobs responsible.
fn divergence(s: &Scenario, c: &Comparison, i: usize, d: &Divergence) -> Markup {
    let [ca, cb] = d.cells;
    let link = |k: usize, suffix: &str, name: &str| {
        html! { a href=(format!("#{}-d{i}{suffix}", cell_id(c, k))) title=(cell_label(s, c, k)) { (name) } }
    };
    let entries = |what: &str, at: &str, suffix: &str, ea: &str, eb: &str| {
        html! {
            p.entries { (what) " at " (at) " ms:" br;
                (link(ca, suffix, &d.a)) ": " code { (ea) } br;
                (link(cb, suffix, &d.b)) ": " code { (eb) } }
        }
    };
    html! {
        li id=(format!("div-{i}")) {
            p { strong { (d.host) } " as " (link(ca, "", &d.a)) " vs " (link(cb, "", &d.b))
                " (with " (d.other) " on the other side): " (d.a_ends) " vs " (d.b_ends) }
            @if !d.a_entry.is_empty() {
                (entries("first divergence", &d.at_ms, "", &d.a_entry, &d.b_entry))
            }
            @if !d.a_decisive.is_empty() && d.a_decisive != d.a_entry {
                (entries("first divergence in states, RSTs and discards", &d.decisive_at_ms,
                    "-decisive", &d.a_decisive, &d.b_decisive))
            }
            @for line in d.knobs.lines() { p.knobs { (line) } }
        }
    }
}

/// "linux/freebsd": a cell's personalities.
fn cell_short(c: &Comparison, k: usize) -> String {
    format!("{}/{}", c.cells[k].first, c.cells[k].second)
}

/// Cell `k`'s divergences as markers in its ladder: where its trace first
/// differs from the other cell's, and (when later) where its states, RSTs
/// and discards first differ.
fn marks(c: &Comparison, k: usize, id: &str) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (i, d, other) in divergences_of(c, k) {
        let other = cell_short(c, other);
        marks.push(Mark {
            id: format!("{id}-d{i}"),
            at: parse_ms(&d.at_ms),
            other: other.clone(),
            decisive: false,
        });
        if !d.a_decisive.is_empty() && d.a_decisive != d.a_entry {
            marks.push(Mark {
                id: format!("{id}-d{i}-decisive"),
                at: parse_ms(&d.decisive_at_ms),
                other,
                decisive: true,
            });
        }
    }
    marks
}

/// One pair's section: ending, expectations, verdict, ladder (with a marker
/// at each of its divergences) and trace.
fn pair(s: &Scenario, c: &Comparison, k: usize) -> Markup {
    let spec = &c.specs[k];
    let mut w = World::new(Arc::clone(spec), true);
    let v = w.run();
    let id = cell_id(c, k);
    let marks = marks(c, k, &id);
    let cell = &c.cells[k];
    let expect = if cell.failures.is_empty() {
        html! {}
    } else {
        verdict::expectations("", &cell.failures)
    };
    html! {
        section.pair id=(id) {
            h2 { (cell_label(s, c, k)) " " (verdict::badge(cell.outcome)) }
            p.back { a href="#matrix" { "↑ matrix" } }
            @for (i, d, other) in divergences_of(c, k) {
                p.diverges { a href=(format!("#div-{i}")) { "Differs from " (cell_label(s, c, other)) } " from " (d.at_ms) " ms on." }
            }
            (run_sections(spec, w.trace(), &v, expect, (&id, &marks)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_times_read_back_to_the_microsecond() {
        assert_eq!(parse_ms("12.345"), Instant::from_ns(12_345_000));
        assert_eq!(parse_ms("0.000"), Instant::ZERO);
        assert_eq!(sim::report::ms(parse_ms("210.150")), "210.150");
    }
}
