//! The trace as a table, every entry one row, with a filter by host, kind
//! and text (the page's script hides the rows that do not match). Kinds are
//! spelled as the JSON report spells them: the entry's `kind`, or for an
//! event inside a host its `event` (`state`, `rst-sent`, `discard`…).

use super::ladder::NoteKind;
use maud::{html, Markup};
use model::Event;
use sim::report::{addr, call_text, entry_text, errno_name, ms, result_text, seg_text, Isns};
use sim::{Entry, What, WorldSpec};

/// An entry's kind as the JSON report names it (`model` entries by their event).
pub fn kind(e: &Entry) -> String {
    let v = serde_json::to_value(e.what).expect("trace entries serialize");
    let k = if v["kind"] == "model" {
        &v["event"]["event"]
    } else {
        &v["kind"]
    };
    k.as_str()
        .expect("entries and events are tagged")
        .to_string()
}

/// An entry in words: the ladder's text where the ladder shows it, otherwise
/// what the entry records. `isns` follows the SYNs seen so far.
pub fn entry_words(spec: &WorldSpec, isns: &mut Isns, e: &Entry) -> String {
    let ladder = entry_text(spec, isns, e);
    let proc_name = |p: u16| spec.procs[p as usize].name.as_str();
    match e.what {
        What::Send { seg } => format!("{} → {}", seg_text(isns, &seg), addr(spec, seg.dst)),
        What::Inject { proc, seg, .. } => format!(
            "{} → {}, injected by {} (its stack unaware)",
            seg_text(isns, &seg),
            addr(spec, seg.dst),
            proc_name(proc)
        ),
        What::Recv { seg } => format!("{} from {}", seg_text(isns, &seg), addr(spec, seg.src)),
        What::Call { proc, call, .. } => {
            format!("{}: {} called", proc_name(proc), call_text(&call, spec))
        }
        What::Finished { proc } => format!("{}: no steps left", proc_name(proc)),
        What::Model { event } => match event {
            Event::Delivered { bytes, .. } => format!("{bytes} B into the receive buffer"),
            Event::AppWrote { bytes, .. } => format!("the application wrote {bytes} B"),
            Event::AppRead { bytes, .. } => format!("the application read {bytes} B"),
            Event::AppError { errno, .. } => {
                format!("a call failed with {}", errno_name(spec, e.host, errno))
            }
            Event::CallDone { result, .. } => {
                format!(
                    "a blocked call finished: {}",
                    result_text(spec, e.host, &result)
                )
            }
            _ => ladder.unwrap_or_default(),
        },
        _ => ladder.unwrap_or_default(),
    }
}

/// The filter form and the table of `trace`; rows are `{id}-e{index}`.
pub fn table(spec: &WorldSpec, trace: &[Entry], id: &str) -> Markup {
    let mut isns = Isns::default();
    let rows: Vec<(String, String)> = trace
        .iter()
        .map(|e| (kind(e), entry_words(spec, &mut isns, e)))
        .collect();
    // Kinds in order of first appearance: the same trace lists them the same way.
    let mut kinds: Vec<&str> = Vec::new();
    for (k, _) in &rows {
        if !kinds.contains(&k.as_str()) {
            kinds.push(k);
        }
    }
    let host = |e: &Entry| {
        spec.hosts
            .get(e.host as usize)
            .map_or("?", |h| h.name.as_str())
    };
    let table_id = format!("{id}-table");
    html! {
        form.filter data-table=(table_id) {
            label { "host " select name="host" {
                option value="" { "all" }
                @for h in &spec.hosts { option value=(h.name) { (h.name) } }
            } }
            label { "kind " select name="kind" {
                option value="" { "all" }
                @for k in &kinds { option value=(k) { (k) } }
            } }
            label.text { "text " input name="text" type="search" placeholder="RST, ECONNRESET, 1001…" {} }
            output { (trace.len()) " entries" }
        }
        div.scroll {
            table.trace id=(table_id) {
                thead { tr { th { "#" } th { "time (ms)" } th { "host" } th { "kind" } th { "what" } } }
                tbody {
                    @for (i, (e, (k, words))) in trace.iter().zip(&rows).enumerate() {
                        tr id=(format!("{id}-e{i}")) class=(NoteKind::of(e).class())
                            data-host=(host(e)) data-kind=(k) {
                            td.n { (i) } td.t { (ms(e.t_ns)) } td { (host(e)) } td { (k) } td.w { (words) }
                        }
                    }
                }
            }
        }
    }
}
