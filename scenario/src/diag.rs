//! Errors in input files, reported like a compiler: `--> file:line:col`, the
//! line with a caret under the problem, and a `help:` line.

use annotate_snippets::{Level, Renderer, Snippet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// One problem in one input file.
#[derive(Clone, Debug)]
pub struct Diag {
    pub path: String,
    pub source: Arc<str>,
    /// Byte range of the problem in `source`, when known.
    pub span: Option<Range<usize>>,
    pub message: String,
    /// Short text under the caret.
    pub label: String,
    pub help: Option<String>,
}

impl Diag {
    /// `path:line:col` of the span's start (1-based), or just the path.
    pub fn location(&self) -> String {
        match &self.span {
            Some(r) => {
                let (line, col) = line_col(&self.source, r.start);
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
        let loc = format!("in {}", self.location());
        let mut msg = Level::Error.title(&self.message);
        if let Some(span) = &self.span {
            let span = clamp(span.clone(), self.source.len());
            msg = msg.snippet(
                Snippet::source(&self.source)
                    .origin(&self.path)
                    .fold(true)
                    .annotation(Level::Error.span(span).label(&self.label)),
            );
        }
        if self.span.is_none() {
            msg = msg.footer(Level::Note.title(&loc));
        }
        if let Some(h) = &self.help {
            msg = msg.footer(Level::Help.title(h));
        }
        let text = renderer.render(msg).to_string();
        text
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diag {}

fn clamp(r: Range<usize>, len: usize) -> Range<usize> {
    let start = r.start.min(len);
    let end = r.end.clamp(start, len);
    if start == end && start < len {
        start..start + 1
    } else {
        start..end
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based() {
        let src: Arc<str> = "a = 1\nb = oops\n".into();
        let d = Diag {
            path: "x.toml".into(),
            source: src,
            span: Some(10..14),
            message: "bad value".into(),
            label: "here".into(),
            help: Some("try 1".into()),
        };
        assert_eq!(d.location(), "x.toml:2:5");
        let text = d.render(false);
        assert!(text.contains("x.toml:2:5"), "{text}");
        assert!(text.contains("^^^^"), "{text}");
        assert!(text.contains("help: try 1"), "{text}");
    }
}
