//! Structure-aware mutations of the scenarios in scenarios/ and tests/bad/:
//! a file chosen by the input, then edits at the level of its lines and of a
//! step's words (swap a word for one from a dictionary of calls, names,
//! times and sizes near every boundary; drop, duplicate or move a line; set
//! a `key = value` line to a hostile value), so mutated files stay close to
//! real ones and reach the resolver and the engine, not only the TOML parser.

use arbitrary::{Arbitrary, Unstructured};
use std::sync::OnceLock;

/// Words a step may be made of, the odd ones included.
const WORDS: &[&str] = &[
    "-",
    "0",
    "+0",
    "1ms",
    "+1ms",
    "+8760h",
    "8761h",
    "+18446744073709551615ns",
    "1.5",
    "-1",
    "client",
    "server",
    "nobody",
    "my client",
    "socket",
    "bind",
    "listen",
    "accept",
    "connect",
    "write",
    "read",
    "shutdown",
    "close",
    "linger",
    "nonblocking",
    "keepalive",
    "rcvbuf",
    "sndbuf",
    "dup",
    "fork",
    "exit",
    "sleep",
    "as",
    "c",
    "s",
    "l",
    "x",
    "server:80",
    "client:0",
    "server:65536",
    "eof",
    "on",
    "off",
    "rd",
    "wr",
    "rdwr",
    "backlog=0",
    "backlog=4294967296",
    "=",
    "= 0",
    "= ECONNRESET",
    "= EAGAIN",
    "2147483648",
    "4294967296",
    "10GB",
    "18446744073709551615",
    "1KiB",
    "\t",
    "\\u0000",
    "é",
    "\"",
];

/// Values for `key = value` lines.
const VALUES: &[&str] = &[
    "0",
    "40",
    "68",
    "65536",
    "70000",
    "4294967295",
    "18446744073709551616",
    "-1",
    "1.5",
    "\"linux\"",
    "\"winsock-xp\"",
    "\"/dev/zero\"",
    "\"../personalities/typo.toml\"",
    "\"18446744073709551615ns\"",
    "\"8760h\"",
    "\"100%\"",
    "\"1/0\"",
    "true",
    "[]",
    "{}",
    "\"\"",
    "\"S F R P .\"",
    "1000000000",
    "1000000001",
];

/// The corpus: every scenario file of scenarios/ and tests/bad/, read once.
pub fn files() -> &'static [String] {
    static FILES: OnceLock<Vec<String>> = OnceLock::new();
    FILES.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut v = Vec::new();
        for dir in ["scenarios", "tests/bad", "tests/limits", "tests/long"] {
            let Ok(rd) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                if p.extension().is_some_and(|x| x == "toml") {
                    if let Ok(bytes) = std::fs::read(&p) {
                        v.push(String::from_utf8_lossy(&bytes).into_owned());
                    }
                }
            }
        }
        assert!(!v.is_empty(), "the corpus is beside fuzz/");
        v
    })
}

/// One edit.
#[derive(Arbitrary, Debug)]
enum Edit {
    /// Replace word `word` of line `line` with a dictionary word.
    Word {
        line: u16,
        word: u8,
        with: u8,
    },
    /// Insert a dictionary word before word `word` of line `line`.
    Insert {
        line: u16,
        word: u8,
        with: u8,
    },
    /// Delete word `word` of line `line`.
    DeleteWord {
        line: u16,
        word: u8,
    },
    /// Replace the value of a `key = value` line.
    Value {
        line: u16,
        with: u8,
    },
    /// Delete, duplicate or move a line.
    DeleteLine {
        line: u16,
    },
    DuplicateLine {
        line: u16,
    },
    MoveLine {
        from: u16,
        to: u16,
    },
    /// A line from another corpus file.
    Splice {
        file: u8,
        line: u16,
        to: u16,
    },
    /// A step written from scratch (`gen`'s generator).
    Step {
        to: u16,
    },
}

/// The mutated text of a corpus file.
pub fn mutate(u: &mut Unstructured) -> arbitrary::Result<String> {
    let files = files();
    let base = &files[u.choose_index(files.len())?];
    let mut lines: Vec<String> = base.lines().map(String::from).collect();
    for _ in 0..u.int_in_range(0..=8u8)? {
        let edit = Edit::arbitrary(u)?;
        apply(u, &mut lines, edit)?;
    }
    Ok(lines.join("\n"))
}

fn apply(u: &mut Unstructured, lines: &mut Vec<String>, edit: Edit) -> arbitrary::Result<()> {
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    let at = |i: u16| i as usize % n;
    let word = |i: u8| WORDS[i as usize % WORDS.len()];
    match edit {
        Edit::Word {
            line,
            word: w,
            with,
        } => edit_words(&mut lines[at(line)], w, |ws, i| {
            ws[i] = word(with).to_string();
        }),
        Edit::Insert {
            line,
            word: w,
            with,
        } => edit_words(&mut lines[at(line)], w, |ws, i| {
            ws.insert(i, word(with).to_string());
        }),
        Edit::DeleteWord { line, word: w } => edit_words(&mut lines[at(line)], w, |ws, i| {
            ws.remove(i);
        }),
        Edit::Value { line, with } => {
            let l = &mut lines[at(line)];
            if let Some(eq) = l.find(" = ") {
                l.truncate(eq + 3);
                l.push_str(VALUES[with as usize % VALUES.len()]);
            }
        }
        Edit::DeleteLine { line } => {
            lines.remove(at(line));
        }
        Edit::DuplicateLine { line } => {
            let l = lines[at(line)].clone();
            lines.insert(at(line), l);
        }
        Edit::MoveLine { from, to } => {
            let l = lines.remove(at(from));
            lines.insert(to as usize % lines.len().max(1), l);
        }
        Edit::Splice { file, line, to } => {
            let files = files();
            let other: Vec<&str> = files[file as usize % files.len()].lines().collect();
            if !other.is_empty() {
                let l = other[line as usize % other.len()].to_string();
                lines.insert(at(to), l);
            }
        }
        Edit::Step { to } => {
            let hosts = ["client".to_string(), "server".to_string()];
            let who = u.choose(&hosts)?.clone();
            let s = super::gen::step_line(u, &who, &hosts)?;
            lines.insert(at(to), format!("  \"{s}\","));
        }
    }
    Ok(())
}

/// Edits the words of a step line (inside its quotes), or of any line.
fn edit_words(line: &mut String, w: u8, f: impl FnOnce(&mut Vec<String>, usize)) {
    let (head, body, tail) = match (line.find('"'), line.rfind('"')) {
        (Some(a), Some(b)) if a < b => (&line[..=a], &line[a + 1..b], &line[b..]),
        _ => ("", line.as_str(), ""),
    };
    let mut ws: Vec<String> = body.split(' ').map(String::from).collect();
    let i = w as usize % ws.len();
    f(&mut ws, i);
    *line = format!("{head}{}{tail}", ws.join(" "));
}
