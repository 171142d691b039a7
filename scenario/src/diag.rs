//! Errors in input, reported like a compiler: `error[CLASS]: message`,
//! `--> file:line:col`, the line with a caret under the value, and a `help:`
//! line. The classes are listed, each with an example, in `docs/limits.md`.
//!
//! A diagnostic holds its input's [`Source`] (text and line index), so its
//! location costs a binary search, and it renders only the lines it points
//! at, however long the file.

use crate::source::Source;
use annotate_snippets::{Level, Message, Renderer, Snippet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

macro_rules! classes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $key:literal,)+) => {
        /// What kind of mistake an error reports: its `error[KEY]`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Class { $($(#[doc = $doc])+ $variant,)+ }

        impl Class {
            pub const ALL: &'static [Class] = &[$(Class::$variant),+];

            /// The key shown in `error[KEY]`.
            pub fn key(self) -> &'static str {
                match self { $(Class::$variant => $key,)+ }
            }

            /// What the class covers, one line.
            pub fn meaning(self) -> &'static str {
                match self { $(Class::$variant => concat!($($doc),+).trim_ascii(),)+ }
            }
        }
    };
}

classes! {
    /// The file cannot be read: it does not exist, is not a regular file, or is not UTF-8.
    Read = "read",
    /// The file is larger than its limit.
    TooLarge = "too-large",
    /// The file is not TOML.
    Syntax = "syntax",
    /// A key the format does not have, a required key missing, or a value of the wrong type.
    Structure = "structure",
    /// A value that does not read as what its key wants: a duration without its unit, a size with a fraction, unknown flags.
    Value = "bad-value",
    /// A number outside its range: past the time horizon, an MTU, `max_events`, a port, `nth`.
    Range = "out-of-range",
    /// A name nothing declares: host, process, socket, call, personality, knob, state, outcome, RST cause.
    Unknown = "unknown-name",
    /// A step that is not `TIME PROCESS CALL ARGS… [= EXPECTED]`: an argument missing or too many.
    Step = "step",
    /// A host or process name that a step cannot write, or that two things share.
    Name = "name",
    /// A socket used where it does not exist: before the step that creates it, on another host, or in a process that did not inherit it.
    Socket = "socket",
    /// A personality file that cannot be used (its own error follows), or a file that is not one.
    Personality = "personality-file",
    /// A packetdrill script line that does not read as the language (`tcpsim packetdrill`): a time, a segment, a system call, a command.
    Script = "packetdrill",
    /// A command-line argument that does not fit the scenario (`--server`, `--client`, `--personality`, `--set`).
    Usage = "usage",
}

/// One problem in one input.
#[derive(Clone, Debug)]
pub struct Diag {
    pub class: Class,
    /// The input's name as shown (a file's path, or `command line`).
    pub path: String,
    pub source: Arc<Source>,
    /// Byte range of the problem in `source`, when known.
    pub span: Option<Range<usize>>,
    pub message: String,
    /// Short text under the caret.
    pub label: String,
    pub help: Option<String>,
    /// Other places of the same input the problem involves, each with its label.
    pub also: Vec<(Range<usize>, String)>,
}

/// The name command-line errors are reported under.
pub const COMMAND_LINE: &str = "command line";

impl Diag {
    pub fn new(
        class: Class,
        path: &str,
        source: &Arc<Source>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Diag {
        Diag {
            class,
            path: path.to_string(),
            source: source.clone(),
            span,
            message: message.into(),
            label: String::new(),
            help: None,
            also: Vec::new(),
        }
    }

    /// An error in a command-line argument: no file, no position.
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Diag {
        Diag::new(Class::Usage, COMMAND_LINE, &Arc::default(), None, message).help(help)
    }

    pub fn label(mut self, label: impl Into<String>) -> Diag {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Diag {
        self.help = help;
        self
    }

    /// Points at a second place of the same input.
    pub fn also(mut self, span: Range<usize>, label: impl Into<String>) -> Diag {
        self.also.push((span, label.into()));
        self
    }

    /// `path:line:col` of the span's start (1-based), or just the path.
    pub fn location(&self) -> String {
        match &self.span {
            Some(r) => {
                let (line, col) = self.source.line_col(r.start);
                format!("{}:{line}:{col}", self.path)
            }
            None => self.path.clone(),
        }
    }

    /// Renders with colour when `styled`.
    pub fn render(&self, styled: bool) -> String {
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut places: Vec<(Range<usize>, &str, Level)> = Vec::new();
        if let Some(span) = &self.span {
            places.push((span.clone(), &self.label, Level::Error));
        }
        for (span, label) in &self.also {
            places.push((span.clone(), label, Level::Note));
        }
        let excerpts: Vec<Excerpt> = places
            .into_iter()
            .map(|(span, label, level)| Excerpt::new(&self.source, span, label, level))
            .collect();
        let mut msg = Level::Error.title(&self.message).id(self.class.key());
        for e in &excerpts {
            msg = msg.snippet(e.snippet(&self.path));
        }
        if self.span.is_none() {
            let note = if self.path == COMMAND_LINE {
                "an argument of the command line".to_string()
            } else {
                format!("in {}", self.location())
            };
            return finish(&renderer, msg.footer(Level::Note.title(&note)), &self.help);
        }
        finish(&renderer, msg, &self.help)
    }
}

fn finish(renderer: &Renderer, msg: Message<'_>, help: &Option<String>) -> String {
    let msg = match help {
        Some(h) => msg.footer(Level::Help.title(h)),
        None => msg,
    };
    renderer.render(msg).to_string()
}

/// The lines a span covers, cut from the input, tabs shown as one space
/// each so that the caret stands under the character it means.
struct Excerpt<'a> {
    text: String,
    first_line: usize,
    span: Range<usize>,
    label: &'a str,
    level: Level,
}

impl<'a> Excerpt<'a> {
    fn new(src: &Source, span: Range<usize>, label: &'a str, level: Level) -> Excerpt<'a> {
        let span = on_char_boundaries(src.text(), clamp(span, src.text().len()));
        let (first, last) = (src.line_of(span.start), src.line_of(span.end.max(1) - 1));
        let lines = src.lines(first, last.max(first));
        let text = src.text()[lines.clone()].replace('\t', " ");
        let rel = span.start.saturating_sub(lines.start)..span.end.saturating_sub(lines.start);
        Excerpt {
            span: on_char_boundaries(&text, clamp(rel, text.len())),
            text,
            first_line: first + 1,
            label,
            level,
        }
    }

    fn snippet<'s>(&'s self, origin: &'s str) -> Snippet<'s> {
        Snippet::source(&self.text)
            .line_start(self.first_line)
            .origin(origin)
            .fold(true)
            .annotation(self.level.span(self.span.clone()).label(self.label))
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diag {}

/// Every diagnostic of one input, at most [`crate::limits::ERRORS_SHOWN_MAX`]
/// of them, then how many there were.
pub fn render_all(diags: &[Diag], styled: bool) -> String {
    let shown = crate::limits::ERRORS_SHOWN_MAX;
    let mut out: Vec<String> = diags.iter().take(shown).map(|d| d.render(styled)).collect();
    if diags.len() > shown {
        out.push(format!(
            "error: {} more problems not shown (at most {shown} are)",
            diags.len() - shown
        ));
    }
    if diags.len() > 1 {
        out.push(format!("error: {} problems; nothing was run", diags.len()));
    }
    out.join("\n")
}

/// `r` widened to whole characters.
fn on_char_boundaries(text: &str, r: Range<usize>) -> Range<usize> {
    let (mut start, mut end) = (r.start, r.end);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// The error classes of `docs/limits.md`: each with its meaning and an
/// example, `(command, output)` (from the bad-input corpus).
pub fn classes_markdown(example: impl Fn(Class) -> Option<(String, String)>) -> String {
    let mut o = String::new();
    for c in Class::ALL {
        o.push_str(&format!("### `{}`\n\n{}\n\n", c.key(), c.meaning()));
        if let Some((command, output)) = example(*c) {
            o.push_str(&format!(
                "```text\n$ {command}\n{}\n```\n\n",
                output.trim_end()
            ));
        }
    }
    o
}

fn clamp(r: Range<usize>, len: usize) -> Range<usize> {
    let start = r.start.min(len);
    let end = r.end.clamp(start, len);
    if start == end && start < len {
        start..start + 1
    } else {
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(text: &str, span: Range<usize>) -> Diag {
        let src = Arc::new(Source::new(text));
        Diag::new(Class::Value, "x.toml", &src, Some(span), "bad value")
            .label("here")
            .help("try 1")
    }

    #[test]
    fn locations_are_one_based() {
        let d = diag("a = 1\nb = oops\n", 10..14);
        assert_eq!(d.location(), "x.toml:2:5");
        let text = d.render(false);
        assert!(text.contains("error[bad-value]: bad value"), "{text}");
        assert!(text.contains("x.toml:2:5"), "{text}");
        assert!(text.contains("^^^^"), "{text}");
        assert!(text.contains("help: try 1"), "{text}");
        assert!(
            !text.contains("a = 1"),
            "only the line it points at: {text}"
        );
    }

    /// With tabs before it, the caret is under the word, not 3 columns per tab to its left.
    #[test]
    fn the_caret_is_under_the_word_after_tabs() {
        let d = diag("steps = [\"-\tserver\tfrob\ts\"]\n", 19..23);
        let text = d.render(false);
        let lines: Vec<&str> = text.lines().collect();
        let code = lines.iter().position(|l| l.contains("frob")).unwrap();
        let caret = lines[code + 1].find('^').unwrap();
        assert_eq!(lines[code].find("frob"), Some(caret), "{text}");
    }

    /// A span that starts or ends inside a character is widened to it (the
    /// renderer would panic on it).
    #[test]
    fn a_span_inside_a_character_is_widened() {
        let text = diag("a = \"é\"\n", 6..7).render(false);
        assert!(text.contains("^^") || text.contains('^'), "{text}");
    }

    #[test]
    fn a_second_place_is_shown_with_its_own_location() {
        let d = diag("one\ntwo\nthree\n", 8..13).also(0..3, "first here");
        let text = d.render(false);
        assert!(
            text.contains("x.toml:3:1") && text.contains("x.toml:1:1"),
            "{text}"
        );
        assert!(text.contains("first here"), "{text}");
    }

    #[test]
    fn every_class_has_a_key_and_a_meaning() {
        for c in Class::ALL {
            assert!(!c.key().is_empty() && c.meaning().ends_with('.'), "{c:?}");
        }
    }
}
