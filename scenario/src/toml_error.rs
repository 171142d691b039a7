//! toml's errors in the words of someone writing TOML. The parser and serde
//! describe what they wanted in Rust's terms (`expected u32`, `a sequence`,
//! `struct HostDef`); a scenario's or personality file's author knows
//! integers, arrays and tables. One translation serves every file tcpsim
//! reads, so no error shows a Rust type.

use crate::diag::{Class, Diag};
use crate::source::Source;
use std::sync::Arc;

/// The error for text that does not deserialize as the file's type: a syntax
/// error if it is not TOML at all, else a structure (or range) error. `keys`
/// says where the file's keys are documented.
pub fn diag(e: &toml::de::Error, path: &str, source: &Arc<Source>, keys: &str) -> Diag {
    let (class, message, label, help) = explain(e.message(), keys);
    // Only on error: is it TOML at all, or TOML that is not this file's type?
    let class = match toml::from_str::<toml::Table>(source.text()) {
        Ok(_) => class,
        Err(_) => Class::Syntax,
    };
    // A key missing from the top level has no place: toml points at the
    // file's first byte (often a comment), which would mislead.
    let span = e
        .span()
        .filter(|s| !(s.is_empty() && message.starts_with("missing")));
    Diag::new(class, path, source, span, message)
        .label(label)
        .help_opt(help)
}

/// Class, message, label and help for toml's message `m`.
fn explain(m: &str, keys: &str) -> (Class, String, String, Option<String>) {
    let m = m.trim();
    let here = "here".to_string();
    if m == "number too large to fit in target type" {
        let help = format!("TOML integers are 64-bit: at most {}", i64::MAX);
        return (Class::Range, "integer too large".into(), here, Some(help));
    }
    let Some((what, wanted)) = m.split_once(", expected ") else {
        let keyed = m.starts_with("unknown field") || m.starts_with("missing field");
        let help = keyed.then(|| format!("the keys of {keys}"));
        return (Class::Structure, m.to_string(), here, help);
    };
    let range = int_range(wanted);
    let words = match &range {
        Some(r) => format!("an integer {r}"),
        None => toml_words(wanted).to_string(),
    };
    match (what.strip_prefix("invalid value: integer "), range) {
        (Some(n), Some(range)) => (
            Class::Range,
            format!("integer {n} is out of range"),
            format!("not within {range}"),
            Some(format!("expected {words}")),
        ),
        _ => (
            Class::Structure,
            what.to_string(),
            here,
            Some(format!("expected {words}")),
        ),
    }
}

/// serde's name for what it wanted, as TOML calls it.
fn toml_words(wanted: &str) -> &str {
    match wanted {
        "a sequence" => "an array",
        "a map" => "a table",
        "a boolean" => "`true` or `false`",
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer",
        w if w.starts_with("struct ") || w.starts_with("map") => "a table",
        w => w,
    }
}

/// The range of an unsigned Rust integer type that serde named (TOML's
/// integers stop at `i64::MAX`).
fn int_range(wanted: &str) -> Option<String> {
    let max = match wanted {
        "u8" => u64::from(u8::MAX),
        "u16" => u64::from(u16::MAX),
        "u32" => u64::from(u32::MAX),
        "u64" | "usize" => i64::MAX as u64,
        _ => return None,
    };
    Some(format!("0–{max}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rust_type_reaches_the_user() {
        let e = |m: &str| explain(m, "x");
        let (class, message, label, help) = e("invalid value: integer `-1`, expected u32");
        assert_eq!(class, Class::Range);
        assert_eq!(message, "integer `-1` is out of range");
        assert_eq!(label, "not within 0–4294967295");
        assert_eq!(help.unwrap(), "expected an integer 0–4294967295");
        let (class, message, _, help) = e("invalid type: string \"1500\", expected i64");
        assert_eq!(
            (class, message.as_str()),
            (Class::Structure, "invalid type: string \"1500\"")
        );
        assert_eq!(help.unwrap(), "expected an integer");
        assert_eq!(
            e("invalid type: integer `5`, expected struct HostDef")
                .3
                .unwrap(),
            "expected a table"
        );
        assert_eq!(
            e("invalid type: integer `5`, expected a sequence")
                .3
                .unwrap(),
            "expected an array"
        );
        assert_eq!(
            e("invalid type: string \"x\", expected u32").3.unwrap(),
            "expected an integer 0–4294967295"
        );
        assert_eq!(e("number too large to fit in target type").0, Class::Range);
        assert_eq!(e("missing field `hosts`").3.unwrap(), "the keys of x");
    }
}
