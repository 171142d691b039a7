//! User-defined personalities: a TOML file that `extends` a built-in one and
//! overrides knobs, each override keeping a source note.
//!
//! ```toml
//! name = "macos-10.13"
//! release = "macOS 10.13 (xnu-4570)"
//! extends = "macos"
//! [set]
//! close_unread = "discard-fin"
//! [sources]
//! close_unread = "[src] xnu-4570 tcp_usrreq.c tcp_disconnect: flushed silently"
//! ```

use crate::diag::Diag;
use indexmap::IndexMap;
use model::Personality;
use serde::Deserialize;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalityFile {
    name: String,
    #[serde(default)]
    release: Option<String>,
    extends: Spanned<String>,
    #[serde(default)]
    set: IndexMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    sources: IndexMap<String, String>,
}

/// Text of a knob value as written in TOML (strings without quotes).
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Why a personality name could not be used.
#[derive(Debug)]
pub enum ResolveError {
    /// Not a built-in name: message and hint.
    Unknown { message: String, help: String },
    /// A personality file that failed to load, with its own location.
    File(Box<Diag>),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::Unknown { message, help } => write!(f, "{message}: {help}"),
            ResolveError::File(d) => f.write_str(&d.render(false)),
        }
    }
}

/// Looks up a built-in name, or loads a personality file (relative to `base`).
pub fn lookup(name: &str, base: &Path) -> Result<Personality, ResolveError> {
    if let Some(p) = Personality::builtin(name) {
        return Ok(p);
    }
    if name.ends_with(".toml") || name.contains('/') {
        return load(&base.join(name)).map_err(ResolveError::File);
    }
    let hint = model::personality::closest(name, Personality::BUILTIN.iter().copied())
        .map(|g| format!("did you mean `{g}`? "))
        .unwrap_or_default();
    Err(ResolveError::Unknown {
        message: format!("unknown personality `{name}`"),
        help: format!(
            "{hint}known: {}, or a path to a personality file (*.toml)",
            Personality::BUILTIN.join(", ")
        ),
    })
}

/// Like [`lookup`], with the error as one line of text (for the command line).
pub fn resolve(name: &str, base: &Path) -> Result<Personality, String> {
    lookup(name, base).map_err(|e| e.to_string())
}

/// Loads a personality file.
pub fn load(path: &Path) -> Result<Personality, Box<Diag>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Box::new(Diag {
            path: shown.clone(),
            source: Arc::from(""),
            span: None,
            message: format!("cannot read personality file: {e}"),
            label: String::new(),
            help: None,
        })
    })?;
    let source: Arc<str> = Arc::from(text.as_str());
    let diag = |span: Option<std::ops::Range<usize>>,
                message: String,
                label: &str,
                help: Option<String>| {
        Box::new(Diag {
            path: shown.clone(),
            source: source.clone(),
            span,
            message,
            label: label.to_string(),
            help,
        })
    };
    let file: PersonalityFile =
        toml::from_str(&text).map_err(|e| diag(e.span(), e.message().to_string(), "here", None))?;
    let mut p = extended(&file, &diag)?;
    p.name = Cow::Owned(file.name.clone());
    p.release = Cow::Owned(
        file.release
            .clone()
            .unwrap_or_else(|| format!("{} with overrides", file.extends.get_ref())),
    );
    set_knobs(&mut p, &file, &shown, &diag)?;
    check_sources(&file, &text, &diag)?;
    Ok(p)
}

/// Makes a diagnostic in the file being loaded: span, message, label, help.
type MakeDiag<'a> =
    dyn Fn(Option<std::ops::Range<usize>>, String, &str, Option<String>) -> Box<Diag> + 'a;

/// The built-in personality the file `extends`.
fn extended(file: &PersonalityFile, diag: &MakeDiag) -> Result<Personality, Box<Diag>> {
    Personality::builtin(file.extends.get_ref()).ok_or_else(|| {
        diag(
            Some(file.extends.span()),
            format!(
                "`extends` names unknown personality `{}`",
                file.extends.get_ref()
            ),
            "not a built-in personality",
            Some(format!(
                "built-in personalities: {}",
                Personality::BUILTIN.join(", ")
            )),
        )
    })
}

/// The file's `[set]` knobs, each with its `[sources]` note (or "set in FILE").
fn set_knobs(
    p: &mut Personality,
    file: &PersonalityFile,
    shown: &str,
    diag: &MakeDiag,
) -> Result<(), Box<Diag>> {
    for (knob, value) in &file.set {
        let source = file
            .sources
            .get(knob)
            .cloned()
            .unwrap_or_else(|| format!("set in {shown}"));
        p.knobs
            .set(knob, &value_text(value.get_ref()), Cow::Owned(source))
            .map_err(|e| {
                let help = knob_help(&e);
                diag(Some(value.span()), e.to_string(), "this knob", help)
            })?;
    }
    Ok(())
}

/// Every `[sources]` entry must note a knob the file sets.
fn check_sources(file: &PersonalityFile, text: &str, diag: &MakeDiag) -> Result<(), Box<Diag>> {
    for knob in file.sources.keys() {
        if !file.set.contains_key(knob) {
            let span = text.find(knob.as_str()).map(|s| s..s + knob.len());
            return Err(diag(
                span,
                format!("source given for `{knob}`, which is not set"),
                "no matching entry in [set]",
                None,
            ));
        }
    }
    Ok(())
}

/// The hint under a knob error: where to find every knob (the message itself
/// carries "did you mean" and, for a bad value, the valid ones).
pub fn knob_help(e: &model::personality::KnobError) -> Option<String> {
    match e {
        model::personality::KnobError::UnknownKnob { .. } => Some(
            "`tcpsim personalities show linux` lists every knob with its meaning and source".into(),
        ),
        model::personality::KnobError::BadValue { .. } => None,
    }
}

/// Shares one loaded personality between hosts.
pub fn shared(p: Personality) -> Arc<Personality> {
    Arc::new(p)
}
