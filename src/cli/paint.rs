//! Colour for the text report on a terminal (never when piped or with
//! `NO_COLOR`: [`super::styled`] decides). The report is built as plain text
//! (what tests, snapshots and pipes see); this paints whole lines by what
//! they say, so colour cannot change a character of the text.

use anstyle::{AnsiColor, Style};
use std::fmt::Write;

/// The colour of what a line reports, if it is worth one.
fn style_of(line: &str) -> Option<Style> {
    let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
    let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let magenta = Style::new().fg_color(Some(AnsiColor::Magenta.into()));
    let t = line.trim_start();
    if let Some(outcome) = t.strip_prefix("verdict: ") {
        return Some(match outcome {
            "clean" => green.bold(),
            "reset-without-loss" => yellow.bold(),
            "hung" | "event-budget" | "time-limit" => magenta.bold(),
            _ => red.bold(),
        });
    }
    if t.starts_with("expectations: all hold") {
        return Some(green);
    }
    if t.starts_with("expectations: ") && t.contains(" FAILED") {
        return Some(red.bold());
    }
    // Ladder lines: an RST segment or event, a loss, a discard.
    let rst_segment = line.contains(" R ") || line.contains(" R. ");
    if line.contains("RST") || rst_segment {
        return Some(red);
    }
    if line.contains('✕') || line.contains("discarded") {
        return Some(yellow);
    }
    None
}

/// `text` with its lines coloured, if `styled`; else `text` as it is.
pub fn paint(text: &str, styled: bool) -> String {
    if !styled {
        return text.to_string();
    }
    let mut o = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        match style_of(body) {
            Some(s) if !body.is_empty() => {
                let _ = write!(o, "{}{body}{}{nl}", s.render(), s.render_reset());
            }
            _ => o.push_str(line),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::paint;

    #[test]
    fn colour_adds_escapes_only_and_only_when_styled() {
        let text = "verdict: reset-with-loss\n  R. 501:501(0) ack 2001\nseed: 1\n";
        assert_eq!(paint(text, false), text);
        let painted = paint(text, true);
        assert!(painted.contains("\x1b["), "{painted:?}");
        let plain: String = painted
            .split('\x1b')
            .enumerate()
            .map(|(i, p)| {
                if i == 0 {
                    p
                } else {
                    p.split_once('m').map_or("", |x| x.1)
                }
            })
            .collect();
        assert_eq!(plain, text, "colour changes no character");
        assert!(painted.ends_with("seed: 1\n"), "a plain line stays plain");
    }
}
