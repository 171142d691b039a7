//! An input's text with its line index, and reading input files within a
//! size limit.
//!
//! Positions are computed once: the index of line starts is built in one pass
//! when the text is read, and a byte offset's line is a binary search in it, so
//! locating every step of a 100,000-step file costs no more than reading it.

use crate::diag::{Class, Diag};
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Text with the byte offset of every line's start.
#[derive(Clone, Debug, Default)]
pub struct Source {
    text: String,
    /// Where each line starts (the first is 0).
    line_starts: Vec<usize>,
    /// Where each line's first non-ASCII byte is (or its end): up to there a
    /// column is a byte difference, past it characters are counted.
    ascii_until: Vec<usize>,
}

impl Source {
    pub fn new(text: impl Into<String>) -> Source {
        let text = text.into();
        let mut line_starts = vec![0];
        let mut ascii_until = Vec::new();
        let mut first_non_ascii = None;
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                ascii_until.push(first_non_ascii.take().unwrap_or(i));
                line_starts.push(i + 1);
            } else if !b.is_ascii() && first_non_ascii.is_none() {
                first_non_ascii = Some(i);
            }
        }
        ascii_until.push(first_non_ascii.unwrap_or(text.len()));
        Source {
            text,
            line_starts,
            ascii_until,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The 0-based line holding byte `offset` (the last line past the end).
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// 1-based line and column (in characters) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.floor_char_boundary(offset.min(self.text.len()));
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let ascii = self.ascii_until[line];
        let col = if offset <= ascii {
            offset - start
        } else {
            (ascii - start) + self.text[ascii..offset].chars().count()
        };
        (line + 1, col + 1)
    }

    /// The bytes of lines `first..=last` (0-based), without the last newline.
    pub fn lines(&self, first: usize, last: usize) -> Range<usize> {
        let start = self.line_starts[first];
        let end = self
            .line_starts
            .get(last + 1)
            .map_or(self.text.len(), |&next| next - 1);
        start..end.max(start)
    }

    fn floor_char_boundary(&self, mut offset: usize) -> usize {
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

/// What kind of input a file is, for messages and its size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileKind {
    /// "scenario", "personality file".
    pub name: &'static str,
    pub bytes_max: u64,
    /// The limit's name in `docs/limits.md`'s table.
    pub limit: &'static str,
}

/// Reads a whole input file: a regular file of at most `kind.bytes_max`
/// bytes, in UTF-8. Anything else is refused with a located error before it
/// can fill memory (`/dev/zero`, a pipe, a huge file).
pub fn read_file(path: &Path, kind: FileKind) -> Result<Arc<Source>, Box<Diag>> {
    let shown = path.display().to_string();
    let refuse = |class: Class, message: String, help: String| {
        Box::new(Diag::new(class, &shown, &Arc::default(), None, message).help(help))
    };
    let cannot = |e: std::io::Error| {
        refuse(
            Class::Read,
            format!("cannot read {} `{shown}`: {}", kind.name, io_reason(&e)),
            "check the path (relative paths start from the current directory)".into(),
        )
    };
    // A FIFO would block in open(): look before opening.
    let meta = std::fs::metadata(path).map_err(cannot)?;
    let too_large = |len: u64| {
        refuse(
            Class::TooLarge,
            format!(
                "{} `{shown}` is larger than {} ({} bytes or more)",
                kind.name,
                crate::limits::bytes(kind.bytes_max),
                len
            ),
            format!(
                "the {} limit is {} (docs/limits.md)",
                kind.limit,
                crate::limits::bytes(kind.bytes_max)
            ),
        )
    };
    if !meta.is_file() {
        return Err(refuse(
            Class::Read,
            format!("{} `{shown}` is not a regular file", kind.name),
            format!(
                "a {} is a TOML file; this is {}",
                kind.name,
                file_type(&meta)
            ),
        ));
    }
    if meta.len() > kind.bytes_max {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(kind.bytes_max + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > kind.bytes_max {
        return Err(too_large(bytes.len() as u64));
    }
    decode(&shown, bytes, kind)
}

/// The bytes as UTF-8 text, or an error at the first byte that is not.
fn decode(shown: &str, bytes: Vec<u8>, kind: FileKind) -> Result<Arc<Source>, Box<Diag>> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Arc::new(Source::new(text))),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bad = e.as_bytes()[at];
            let lossy = Arc::new(Source::new(String::from_utf8_lossy(e.as_bytes())));
            // Up to the first bad byte the lossy text is the file's, byte for byte.
            let message = format!("{} `{shown}` is not UTF-8 text", kind.name);
            let replacement = char::REPLACEMENT_CHARACTER.len_utf8();
            let span = Some(at..at + replacement);
            let d = Diag::new(Class::Read, shown, &lossy, span, message)
                .label(format!("byte 0x{bad:02X} (offset {at}) is not UTF-8"))
                .help("TOML files are UTF-8; convert it (e.g. `iconv -t UTF-8`)");
            Err(Box::new(d))
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn file_type(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line index against a plain rescan of the text, at every offset.
    #[test]
    fn positions_match_a_rescan_at_every_offset() {
        let text = "a = 1\n\tb = \"é x\"\n\n  ü\nlast";
        let src = Source::new(text);
        for offset in (0..=text.len()).filter(|&o| text.is_char_boundary(o)) {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
            assert_eq!(src.line_col(offset), (line, col), "offset {offset}");
        }
        assert_eq!(src.lines(1, 1), 6..17);
        assert_eq!(&text[src.lines(4, 4)], "last");
        assert_eq!(src.line_col(10_000), (5, 5));
    }

    /// Locating is a binary search: the index has one entry per line and
    /// nothing is rescanned (a million lines are indexed once).
    #[test]
    fn the_index_is_built_once_per_line() {
        let text = "x\n".repeat(1_000_000);
        let src = Source::new(text);
        assert_eq!(src.line_starts.len(), 1_000_001);
        assert_eq!(src.ascii_until.len(), src.line_starts.len());
        assert_eq!(src.line_col(2 * 999_999), (1_000_000, 1));
    }
}
