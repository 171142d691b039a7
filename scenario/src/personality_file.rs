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

use crate::diag::{Class, Diag};
use crate::file::Keyed;
use crate::limits::PERSONALITY_FILE_BYTES_MAX;
use crate::source::{read_file, FileKind, Source};
use model::Personality;
use serde::Deserialize;
use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// Personality files: at most [`PERSONALITY_FILE_BYTES_MAX`].
pub const PERSONALITY_FILE: FileKind = FileKind {
    name: "personality file",
    bytes_max: PERSONALITY_FILE_BYTES_MAX,
    limit: "personality file size",
};

/// The keys of [`PersonalityFile`], for an error about one.
const PERSONALITY_KEYS: &str =
    "a personality file are `name`, `release`, `extends`, `set` and `sources` (as in personalities/)";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalityFile {
    name: String,
    #[serde(default)]
    release: Option<String>,
    extends: Spanned<String>,
    #[serde(default)]
    set: Keyed<Spanned<toml::Value>>,
    #[serde(default)]
    sources: Keyed<String>,
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
    /// A path that does not name a personality file (`*.toml`); it is not read.
    NotAPersonalityFile { message: String, help: String },
    /// A personality file that failed to load, with its own location.
    File(Box<Diag>),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::Unknown { message, help }
            | ResolveError::NotAPersonalityFile { message, help } => write!(f, "{message}: {help}"),
            ResolveError::File(d) => f.write_str(&d.render(false)),
        }
    }
}

/// Looks up a built-in name, or loads a personality file (relative to
/// `base`). Only a name ending in `.toml` is read as a file: any other path
/// (`/etc/os-release`, `/dev/zero`) is refused without being opened.
pub fn lookup(name: &str, base: &Path) -> Result<Personality, ResolveError> {
    if let Some(p) = Personality::builtin(name) {
        return Ok(p);
    }
    let known = Personality::BUILTIN.join(", ");
    if name.ends_with(".toml") {
        return load(&base.join(name)).map_err(ResolveError::File);
    }
    if name.contains('/') || name.contains('.') {
        return Err(ResolveError::NotAPersonalityFile {
            message: format!("`{name}` is not a personality file"),
            help: format!(
                "a personality file's name ends in `.toml` (see personalities/); built-in personalities: {known}"
            ),
        });
    }
    let hint = model::personality::closest(name, Personality::BUILTIN.iter().copied())
        .map(|g| format!("did you mean `{g}`? "))
        .unwrap_or_default();
    Err(ResolveError::Unknown {
        message: format!("unknown personality `{name}`"),
        help: format!("{hint}known: {known}, or a path to a personality file (*.toml)"),
    })
}

/// Like [`lookup`], with the error as one line of text (for the command line).
pub fn resolve(name: &str, base: &Path) -> Result<Personality, String> {
    lookup(name, base).map_err(|e| e.to_string())
}

/// Loads a personality file: a regular file within its size limit, TOML,
/// with `extends`. A TOML file without `extends` is not shown (it is some
/// other file); errors in one with it are located in it.
pub fn load(path: &Path) -> Result<Personality, Box<Diag>> {
    let shown = path.display().to_string();
    let source = read_file(path, PERSONALITY_FILE)?;
    let text = source.text();
    let diag = |class: Class,
                span: Option<Range<usize>>,
                message: String,
                label: &str,
                help: Option<String>| {
        Box::new(
            Diag::new(class, &shown, &source, span, message)
                .label(label)
                .help_opt(help),
        )
    };
    let file: PersonalityFile = toml::from_str(text).map_err(|e| {
        match toml::from_str::<toml::Table>(text) {
            Ok(t) if !t.contains_key("extends") => Box::new(
                Diag::new(Class::Personality, &shown, &Arc::new(Source::default()), None, format!("`{shown}` is not a personality file: it has no `extends`"))
                    .help("a personality file starts with `extends = \"linux\"` (or another built-in) and sets knobs under [set]; see personalities/"),
            ),
            _ => Box::new(crate::toml_error::diag(&e, &shown, &source, PERSONALITY_KEYS)),
        }
    })?;
    let mut p = extended(&file, &diag)?;
    p.name = Cow::Owned(file.name.clone());
    p.release = Cow::Owned(
        file.release
            .clone()
            .unwrap_or_else(|| format!("{} with overrides", file.extends.get_ref())),
    );
    set_knobs(&mut p, &file, &shown, &diag)?;
    check_sources(&file, &diag)?;
    Ok(p)
}

/// Makes a diagnostic in the file being loaded: class, span, message, label, help.
type MakeDiag<'a> =
    dyn Fn(Class, Option<Range<usize>>, String, &str, Option<String>) -> Box<Diag> + 'a;

/// The built-in personality the file `extends`.
fn extended(file: &PersonalityFile, diag: &MakeDiag) -> Result<Personality, Box<Diag>> {
    Personality::builtin(file.extends.get_ref()).ok_or_else(|| {
        diag(
            Class::Unknown,
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
                match e {
                    model::personality::KnobError::UnknownKnob { .. } => diag(
                        Class::Unknown,
                        file.set.key_span(knob),
                        e.to_string(),
                        "this knob",
                        help,
                    ),
                    model::personality::KnobError::BadValue { .. } => diag(
                        Class::Value,
                        Some(value.span()),
                        e.to_string(),
                        "this value",
                        help,
                    ),
                }
            })?;
    }
    Ok(())
}

/// Every `[sources]` entry must note a knob the file sets.
fn check_sources(file: &PersonalityFile, diag: &MakeDiag) -> Result<(), Box<Diag>> {
    for knob in file.sources.keys() {
        if !file.set.contains_key(knob) {
            return Err(diag(
                Class::Unknown,
                file.sources.key_span(knob),
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
        model::personality::KnobError::BadValue { name, .. } => {
            let doc = model::personality::Knobs::lookup(name).ok()?.doc.trim();
            // The meaning's first sentence: the whole is in `personalities show`.
            let meaning = doc.split_inclusive(". ").next().unwrap_or(doc).trim_end();
            Some(format!("`{name}`: {meaning}"))
        }
    }
}

/// Shares one loaded personality between hosts.
pub fn shared(p: Personality) -> Arc<Personality> {
    Arc::new(p)
}
