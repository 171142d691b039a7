//! The summary as text, and the graph as DOT (Graphviz), whole or as its
//! quotient by TCP state pair, with the classes of ends coloured.

use super::report::{PairReport, Report, WitnessReport};
use super::search::Explored;
use super::setup::Setup;
use super::state::Choice;
use indexmap::IndexMap;
use petgraph::dot::{Config, Dot};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use rustc_hash::FxBuildHasher;
use std::fmt::Write as _;

/// Colours of the classes of ends, in class order (ColorBrewer "Set3",
/// https://colorbrewer2.org, qualitative, 12 classes).
const PALETTE: [&str; 12] = [
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
    "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
];

fn witness_text(w: &WitnessReport) -> String {
    let warn = if w.replays { "" } else { " (does not replay!)" };
    format!("witness: {} choices, {}{warn}", w.choices, w.file)
}

/// The text summary of a report.
pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "tcpsim explore {}", r.scenario);
    let _ = writeln!(o, "  {}", r.bounds);
    for p in &r.pairs {
        pair_text(&mut o, p);
    }
    o
}

fn pair_text(o: &mut String, p: &PairReport) {
    let _ = writeln!(o, "\n{}/{}:", p.pair[0], p.pair[1]);
    let _ = write!(
        o,
        "  {} distinct states, {} transitions: ",
        p.states, p.transitions
    );
    match p.bound_reached {
        None => {
            let _ = writeln!(o, "every path within the bounds followed");
        }
        Some(b) => {
            let _ = writeln!(
                o,
                "explored {} states, the bound --max-states {} was reached; the result covers \
                 every path of at most {} choices (classes and livelocks found are reachable, \
                 others may lie deeper)",
                p.states, b.max_states, b.depth_complete
            );
        }
    }
    let _ = writeln!(o, "  {} classes of ends:", p.classes.len());
    for c in &p.classes {
        let _ = writeln!(o, "    {}", c.text);
        let _ = writeln!(o, "      {} states; {}", c.states, witness_text(&c.witness));
    }
    if p.livelocks.is_empty() {
        let _ = writeln!(o, "  no livelocks (no cycle of states)");
    }
    for l in &p.livelocks {
        let _ = writeln!(
            o,
            "  livelock: {} states cycling through {}; {}",
            l.states,
            l.tcp_states.join(", "),
            witness_text(&l.witness)
        );
    }
    if let Some(c) = &p.check {
        match (&c.message, &c.witness) {
            (Some(m), Some(w)) => {
                let _ = writeln!(
                    o,
                    "  check {}: VIOLATED: {m}; {}",
                    c.property,
                    witness_text(w)
                );
            }
            _ => {
                let _ = writeln!(o, "  check {}: holds in every state explored", c.property);
            }
        }
    }
}

/// A choice as an edge label.
fn choice_label(setup: &Setup, c: Choice) -> String {
    match c {
        Choice::Next => "next".into(),
        Choice::Lose => "lose".into(),
        Choice::Duplicate => "duplicate".into(),
        Choice::Overtaken => "overtaken".into(),
        Choice::TimerFirst => "timer first".into(),
        Choice::Call { side, item } => {
            let s = &setup.sides[side as usize];
            format!(
                "{}: {}",
                s.name,
                super::setup::item_label(&s.defs[item as usize])
            )
        }
    }
}

fn quoted(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A graph to draw: nodes with their label and fill, edges with a label.
type Drawing = DiGraph<(String, Option<&'static str>, &'static str), String>;

fn dot_of(g: &Drawing) -> String {
    let dot = Dot::with_attr_getters(
        g,
        &[Config::NodeNoLabel, Config::EdgeNoLabel],
        &|_, e| format!("label = \"{}\"", quoted(e.weight())),
        &|_, (_, (label, fill, shape))| {
            let fill = fill.map_or(String::new(), |c| {
                format!(", style = filled, fillcolor = \"{c}\"")
            });
            format!("label = \"{}\", shape = {shape}{fill}", quoted(label))
        },
    );
    format!("{dot:?}")
}

/// The whole graph: each state labelled with its TCP state pair, the states
/// where a run ends filled with their class's colour.
pub fn dot(setup: &Setup, ex: &Explored, report: &PairReport) -> String {
    let colour = class_colours(ex, report);
    let mut g: Drawing = DiGraph::default();
    for n in ex.graph.node_indices() {
        let info = &ex.graph[n];
        let label = format!("{}/{}", info.pair[0], info.pair[1]);
        let fill = info.class.map(|c| colour[c as usize]);
        g.add_node((
            label,
            fill,
            if n.index() == 0 {
                "doublecircle"
            } else {
                "ellipse"
            },
        ));
    }
    for e in ex.graph.edge_references() {
        g.add_edge(e.source(), e.target(), choice_label(setup, *e.weight()));
    }
    dot_of(&g)
}

/// Each class's colour, by the class's place in the report (its index in
/// the explored graph's classes maps to its sorted place).
fn class_colours(ex: &Explored, report: &PairReport) -> Vec<&'static str> {
    ex.classes
        .keys()
        .map(|c| {
            let i = report
                .classes
                .iter()
                .position(|r| r.class == *c)
                .unwrap_or(0);
            PALETTE[i % PALETTE.len()]
        })
        .collect()
}

/// The quotient by TCP state pair: one node per pair of states, an edge
/// where some transition changes the pair (labelled with the kinds of
/// choice that do), and one coloured box per class of ends, linked from the
/// pairs where runs end in it.
pub fn dot_quotient(setup: &Setup, ex: &Explored, report: &PairReport) -> String {
    let colour = class_colours(ex, report);
    let mut g: Drawing = DiGraph::default();
    let mut pairs: IndexMap<[model::State; 2], NodeIndex, FxBuildHasher> = IndexMap::default();
    let mut node = |g: &mut Drawing, p: [model::State; 2]| {
        *pairs
            .entry(p)
            .or_insert_with(|| g.add_node((format!("{}/{}", p[0], p[1]), None, "ellipse")))
    };
    let mut edges: IndexMap<(NodeIndex, NodeIndex), Vec<String>, FxBuildHasher> =
        IndexMap::default();
    for e in ex.graph.edge_references() {
        let (a, b) = (
            node(&mut g, ex.graph[e.source()].pair),
            node(&mut g, ex.graph[e.target()].pair),
        );
        if a == b {
            continue;
        }
        let label = match e.weight() {
            Choice::Call { .. } => choice_label(setup, *e.weight()),
            c => choice_label(setup, *c),
        };
        let labels = edges.entry((a, b)).or_default();
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    for ((a, b), labels) in edges {
        g.add_edge(a, b, labels.join(", "));
    }
    let classes: Vec<NodeIndex> = ex
        .classes
        .keys()
        .enumerate()
        .map(|(i, c)| g.add_node((c.text(), Some(colour[i]), "box")))
        .collect();
    let mut linked: Vec<(NodeIndex, NodeIndex)> = Vec::new();
    for n in ex.graph.node_indices() {
        if let Some(c) = ex.graph[n].class {
            let from = node(&mut g, ex.graph[n].pair);
            let link = (from, classes[c as usize]);
            if !linked.contains(&link) {
                linked.push(link);
                g.add_edge(link.0, link.1, "ends".into());
            }
        }
    }
    dot_of(&g)
}
