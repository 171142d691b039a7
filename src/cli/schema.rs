//! `tcpsim schema [DOCUMENT]`: the JSON Schema of every JSON document tcpsim
//! writes, generated from the very types that serialize it (schemars), so a
//! schema cannot say something the output does not do. `docs/schema/` holds
//! them as files (`tcpsim schema --write docs/schema`; a test checks they are
//! current and validates real outputs against them).

use super::{EXIT_INPUT, EXIT_OK};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The document (default: list them all).
    pub document: Option<String>,
    /// Write every schema as DIR/<document>.schema.json.
    #[arg(long, value_name = "DIR", conflicts_with = "document")]
    pub write: Option<PathBuf>,
}

/// One JSON document a command writes.
pub struct Document {
    pub name: &'static str,
    /// The command that writes it, as typed.
    pub written_by: &'static str,
    schema: fn() -> Schema,
}

impl Document {
    pub fn schema(&self) -> Schema {
        let mut s = closed((self.schema)());
        s.insert("title".into(), format!("tcpsim {}", self.written_by).into());
        s
    }

    /// The schema as the file in docs/schema/ holds it.
    pub fn text(&self) -> String {
        serde_json::to_string_pretty(&self.schema()).expect("schemas serialize") + "\n"
    }
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
}

/// Closes the root and every definition: an object may carry no field its
/// schema does not name, so a renamed or new field cannot slip past the
/// documentation. `unevaluatedProperties` (not `additionalProperties`) sees
/// the fields of flattened parts and of the `oneOf` branch a tagged enum
/// takes; inline parts are left open for the same reason.
fn closed(mut s: Schema) -> Schema {
    let mut open = Vec::new();
    extended_defs(s.as_value(), &mut open);
    close(&mut s);
    if let Some(defs) = s.get_mut("$defs").and_then(|d| d.as_object_mut()) {
        for (name, def) in defs.iter_mut() {
            let extended = open.iter().any(|o| o == name);
            if let (false, Ok(def)) = (extended, <&mut Schema>::try_from(def)) {
                close(def);
            }
        }
    }
    s
}

/// The definitions some schema extends: a `$ref` beside fields of its own
/// (a flattened struct, a tagged enum's newtype variant). Those stay open, the
/// schema that extends them is closed where it is a definition or the root.
fn extended_defs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            if let (Some(r), true) = (
                o.get("$ref").and_then(|r| r.as_str()),
                o.contains_key("properties"),
            ) {
                out.push(r.trim_start_matches("#/$defs/").to_string());
            }
            o.values().for_each(|x| extended_defs(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| extended_defs(x, out)),
        _ => {}
    }
}

fn close(s: &mut Schema) {
    let Some(o) = s.as_object_mut() else { return };
    let has_fields = |v: &serde_json::Value| v.get("properties").is_some();
    let branches = ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|k| o.get(*k))
        .flat_map(|b| b.as_array().into_iter().flatten());
    let objects = o.contains_key("properties") || branches.clone().any(has_fields);
    if objects && !o.contains_key("additionalProperties") {
        o.insert("unevaluatedProperties".into(), false.into());
    }
}

fn one<T: JsonSchema>() -> Schema {
    generator().into_root_schema_for::<T>()
}

/// `tcpsim real --format json`: the kernel's report, or why it could not run.
fn real() -> Schema {
    let mut g = generator();
    let ran = g.subschema_for::<super::run::JsonReport<super::real::KernelJson>>();
    let not_run = g.subschema_for::<super::real::NotRunJson>();
    let mut s = schemars::json_schema!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "anyOf": [ran, not_run]
    });
    s.insert("$defs".into(), g.take_definitions(true).into());
    s
}

/// `tcpsim personalities matrix --format json`: every built-in, its knobs.
fn matrix() -> Schema {
    one::<Vec<super::personalities::ShowJson>>()
}

/// Every document, in the order `tcpsim schema` lists them.
pub const DOCUMENTS: [Document; 17] = [
    Document {
        name: "run",
        written_by: "run --format json",
        schema: one::<super::run::JsonReport<()>>,
    },
    Document {
        name: "run-jsonl",
        written_by: "run --format jsonl (one line)",
        schema: one::<super::run::JsonLine<()>>,
    },
    Document {
        name: "real",
        written_by: "real --format json",
        schema: real,
    },
    Document {
        name: "real-jsonl",
        written_by: "real --format jsonl (one line)",
        schema: one::<super::run::JsonLine<super::real::KernelJson>>,
    },
    Document {
        name: "compare",
        written_by: "compare --format json",
        schema: one::<super::compare::Json>,
    },
    Document {
        name: "survey",
        written_by: "fuzz --survey --format json (and --out FILE, fuzz merge)",
        schema: one::<crate::fuzz::survey::Survey>,
    },
    Document {
        name: "fuzz",
        written_by: "fuzz --format json",
        schema: one::<super::fuzz::SearchJson>,
    },
    Document {
        name: "test",
        written_by: "test --format json",
        schema: one::<super::test::Json>,
    },
    Document {
        name: "calls",
        written_by: "calls --format json",
        schema: one::<Vec<super::calls::CallJson>>,
    },
    Document {
        name: "personalities",
        written_by: "personalities --format json",
        schema: one::<Vec<super::personalities::NameJson>>,
    },
    Document {
        name: "personality",
        written_by: "personalities show NAME --format json",
        schema: one::<super::personalities::ShowJson>,
    },
    Document {
        name: "personalities-diff",
        written_by: "personalities diff A B --format json",
        schema: one::<super::personalities::DiffJson>,
    },
    Document {
        name: "personalities-matrix",
        written_by: "personalities matrix --format json",
        schema: matrix,
    },
    Document {
        name: "atlas",
        written_by: "atlas --format json",
        schema: one::<crate::atlas::Atlas>,
    },
    Document {
        name: "atlas-diff",
        written_by: "atlas --diff A B --format json",
        schema: one::<super::atlas::DiffJson>,
    },
    Document {
        name: "atlas-kernel",
        written_by: "atlas --kernel --format json",
        schema: one::<crate::atlas::kernel::Report>,
    },
    Document {
        name: "explore",
        written_by: "explore --format json (and explore merge)",
        schema: one::<crate::explore::report::Report>,
    },
];

pub fn exec(a: &Args) -> ExitCode {
    if let Some(dir) = &a.write {
        for d in &DOCUMENTS {
            let path = dir.join(format!("{}.schema.json", d.name));
            if let Err(e) = std::fs::write(&path, d.text()) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(EXIT_INPUT);
            }
        }
        return ExitCode::from(EXIT_OK);
    }
    let Some(name) = &a.document else {
        let width = DOCUMENTS.iter().map(|d| d.name.len()).max().unwrap_or(0);
        for d in &DOCUMENTS {
            println!("{:<width$}  tcpsim {}", d.name, d.written_by);
        }
        return ExitCode::from(EXIT_OK);
    };
    match DOCUMENTS.iter().find(|d| d.name == name) {
        Some(d) => {
            print!("{}", d.text());
            ExitCode::from(EXIT_OK)
        }
        None => {
            let names: Vec<&str> = DOCUMENTS.iter().map(|d| d.name).collect();
            eprintln!(
                "error: no document `{name}`; documents: {}",
                names.join(", ")
            );
            ExitCode::from(EXIT_INPUT)
        }
    }
}
