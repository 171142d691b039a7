//! The verdict as HTML: the outcome, every RST with its cause, each
//! connection's bytes in each direction with where lost bytes were lost, each
//! end's states, steps that did not return what they expected, and how the
//! run ended. The same [`Verdict`] the text and JSON reports print.

use crate::scenario::Mismatch;
use maud::{html, Markup};
use sim::report::{addr, errno_name, ms};
use sim::verdict::{Connection, Direction, Endpoint};
use sim::{Outcome, Verdict, WorldSpec};

/// The outcome's CSS class and what it means, in words.
pub fn outcome_words(o: Outcome) -> (&'static str, &'static str) {
    match o {
        Outcome::Clean => ("clean", "every byte written was read, no RST that mattered"),
        Outcome::ResetWithoutLoss => ("reset", "an RST ended a connection, no byte was lost"),
        Outcome::ResetWithLoss => ("lost", "an RST ended a connection and bytes were lost"),
        Outcome::LossWithoutReset => ("lost", "bytes were lost without an RST"),
        Outcome::Hung => (
            "hung",
            "a process was still blocked when nothing was left to happen",
        ),
        Outcome::EventBudget => ("hung", "the event budget ran out before the run finished"),
        Outcome::TimeLimit => ("hung", "the time limit was reached before the run finished"),
    }
}

/// The outcome as a badge: its name, coloured by class, and what it means.
pub fn badge(o: Outcome) -> Markup {
    let (class, words) = outcome_words(o);
    html! { span class=(format!("badge {class}")) title=(words) { (o.key()) } }
}

/// The verdict section's content.
pub fn verdict(spec: &WorldSpec, v: &Verdict) -> Markup {
    html! {
        p.outcome { (badge(v.outcome)) " " (outcome_words(v.outcome).1) }
        (resets(spec, v))
        @for c in &v.connections { (connection(spec, c)) }
        @if !v.step_mismatches.is_empty() {
            h4 { "Steps that did not return what they expected" }
            ul.mismatches {
                @for m in &v.step_mismatches {
                    li {
                        "step " (m.step + 1) " (" (spec.procs[m.proc as usize].name) "): expected "
                        code { (m.expected) } ", " (if m.actual.starts_with("never") { "but it " } else { "got " })
                        code { (m.actual) }
                        @if let Some(o) = &m.origin { " [" (o) "]" }
                    }
                }
            }
        }
        @if !v.stuck.is_empty() {
            ul.stuck { @for s in &v.stuck { li { (spec.procs[s.proc as usize].name) ": " (s.what) } } }
        }
        p.ended {
            "Run ended: " (v.end.key()) ", at " (ms(v.end_ns)) " ms after " (v.events) " events; "
            (v.segments_sent) " segments sent, " (v.segments_dropped) " lost by the network."
        }
    }
}

/// Every RST with who sent it, when, in which state and why.
fn resets(spec: &WorldSpec, v: &Verdict) -> Markup {
    html! {
        @if v.resets.is_empty() {
            p { "No RST." }
        } @else {
            div.scroll { table.resets {
                thead { tr { th { "time (ms)" } th { "RST" } th { "state" } th { "cause" } th { "acted on" } } }
                tbody {
                    @for r in &v.resets {
                        tr class=(if r.matters() { "rst" } else { "stray" }) {
                            td.t { (ms(r.t_ns)) }
                            td { (addr(spec, r.from)) " → " (addr(spec, r.to)) }
                            td { (r.state) }
                            td.cause { (r.cause) }
                            td { (if r.accepted { "yes" } else { "no" }) }
                        }
                    }
                }
            } }
        }
    }
}

fn connection(spec: &WorldSpec, c: &Connection) -> Markup {
    let [a, b] = &c.endpoints;
    html! {
        h4 { "Connection " (addr(spec, a.addr)) " ⇄ " (addr(spec, b.addr)) }
        div.scroll { table.bytes {
            thead { tr {
                th { "direction" } th.n { "written" } th.n { "delivered" } th.n { "read" } th.n { "lost" }
            } }
            tbody { @for d in &c.directions { (direction(spec, d)) } }
        } }
        ul.endpoints { @for e in &c.endpoints { (endpoint(spec, e)) } }
    }
}

/// One direction's byte counts, then a row per place its lost bytes were lost.
fn direction(spec: &WorldSpec, d: &Direction) -> Markup {
    let (Some(f), Some(t)) = (d.from, d.to) else {
        return html! {};
    };
    html! {
        tr class=(if d.lost > 0 { "lost" } else { "" }) {
            td { (addr(spec, f)) " → " (addr(spec, t)) }
            td.n { (d.written) } td.n { (d.delivered) } td.n { (d.read) }
            td.n { strong { (d.lost) } @if d.silent { " " span.silent { "SILENT" } } }
        }
        @for l in &d.losses {
            tr.loss { td colspan="5" { (l.bytes) " B lost at the " (l.side) ": " (l.why) } }
        }
        @if d.silent {
            tr.loss { td colspan="5" { "The writer saw no error: it believes these bytes were sent." } }
        }
    }
}

fn endpoint(spec: &WorldSpec, e: &Endpoint) -> Markup {
    let path: Vec<&str> = e.states.iter().map(|s| s.name()).collect();
    html! {
        li {
            strong { (addr(spec, e.addr)) } " ends in " (e.final_state) ": " (path.join(" → "))
            @if !e.errors.is_empty() {
                "; its application saw "
                @for (i, x) in e.errors.iter().enumerate() {
                    @if i > 0 { ", " }
                    span.errno { (errno_name(spec, e.addr.host, *x)) }
                }
            }
        }
    }
}

/// The expectations' result: each failure, or the text report's sentence.
pub fn expectations(summary: &str, failures: &[Mismatch]) -> Markup {
    html! {
        h4 { "Expectations" }
        @if failures.is_empty() {
            p.expect { (summary.trim()) }
        } @else {
            p.expect.failed { (failures.len()) " expectation" (if failures.len() == 1 { "" } else { "s" }) " FAILED" }
            div.scroll { table.failures {
                thead { tr { th { "what" } th { "expected" } th { "actual" } } }
                tbody { @for f in failures { tr { td { (f.what) } td { (f.expected) } td { (f.actual) } } } }
            } }
        }
    }
}
