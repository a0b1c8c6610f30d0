//! Source lines cut to the terminal's width around what is underlined, as rustc does: miette's
//! graphical renderer draws a source line whole, so a 300-column line wraps in the terminal and the
//! carets end up under the wrong text. [`Windowed`] is a copy of the source in which each line wider
//! than the window keeps only a window around the spans that start on it, with `…` where it was cut;
//! the spans are moved to match. Lines are never removed, so line numbers stay; widths count
//! characters, and cuts fall on character boundaries.

use std::ops::Range;

/// The ellipsis written where a line was cut.
const ELLIPSIS: &str = "…";

/// One line of the source and what of it is kept.
#[derive(Debug)]
struct Line {
    /// Byte offset of the line in the original text.
    old_start: usize,
    /// Byte offset of the line in the windowed text.
    new_start: usize,
    /// The kept bytes of the line (relative to its start) and whether `…` stands before and after
    /// them; `None` when the line is kept whole.
    cut: Option<Cut>,
}

#[derive(Debug, Clone, Copy)]
struct Cut {
    keep: (usize, usize),
    left: bool,
    right: bool,
}

/// A copy of a source with its long lines cut (see the module docs).
#[derive(Debug)]
pub struct Windowed {
    /// The text to show.
    pub text: String,
    lines: Vec<Line>,
}

impl Windowed {
    /// Cuts every line of `text` wider than `width` characters around the spans (byte ranges into
    /// `text`) that start on it; a long line with no span keeps its beginning.
    pub fn new(text: &str, spans: &[Range<usize>], width: usize) -> Windowed {
        let width = width.max(8);
        let mut out = String::with_capacity(text.len());
        let mut lines = Vec::new();
        let mut old_start = 0;
        for raw in text.split_inclusive('\n') {
            let body = raw.trim_end_matches(['\n', '\r']);
            let end = &raw[body.len()..];
            let new_start = out.len();
            let chars = body.chars().count();
            let cut = (chars > width).then(|| {
                let line_end = old_start + body.len();
                let starting: Vec<Range<usize>> = spans
                    .iter()
                    .filter(|s| (old_start..=line_end).contains(&s.start))
                    .map(|s| s.start - old_start..s.end.min(line_end).max(s.start) - old_start)
                    .collect();
                cut_line(body, chars, &starting, width)
            });
            match cut {
                None => out.push_str(body),
                Some(c) => {
                    if c.left {
                        out.push_str(ELLIPSIS);
                    }
                    out.push_str(&body[c.keep.0..c.keep.1]);
                    if c.right {
                        out.push_str(ELLIPSIS);
                    }
                }
            }
            out.push_str(end);
            lines.push(Line {
                old_start,
                new_start,
                cut,
            });
            old_start += raw.len();
        }
        Windowed { text: out, lines }
    }

    /// Whether any line was cut.
    pub fn is_cut(&self) -> bool {
        self.lines.iter().any(|l| l.cut.is_some())
    }

    /// Where a span of the original text is in the windowed one: a start in a cut part moves to the
    /// `…` there, and so does an end.
    pub fn span(&self, old: Range<usize>) -> Range<usize> {
        let start = self.offset(old.start, false);
        let end = self.offset(old.end, true).max(start);
        start..end
    }

    /// The windowed offset of an original one; `end` places an offset in a cut part after the `…`.
    fn offset(&self, old: usize, end: bool) -> usize {
        let i = self
            .lines
            .partition_point(|l| l.old_start <= old)
            .saturating_sub(1);
        let Some(line) = self.lines.get(i) else {
            return old;
        };
        let k = old - line.old_start;
        let Some(c) = line.cut else {
            return line.new_start + k;
        };
        let lead = if c.left { ELLIPSIS.len() } else { 0 };
        let within = if k < c.keep.0 {
            if end && c.left { ELLIPSIS.len() } else { 0 }
        } else if k <= c.keep.1 {
            lead + k - c.keep.0
        } else {
            let after = lead + c.keep.1 - c.keep.0;
            if end && c.right {
                after + ELLIPSIS.len()
            } else {
                after
            }
        };
        line.new_start + within
    }

    /// The original offset of a windowed one that lies in a kept part (an offset in a `…` goes to
    /// where the cut begins).
    pub fn original(&self, new: usize) -> usize {
        let i = self
            .lines
            .partition_point(|l| l.new_start <= new)
            .saturating_sub(1);
        let Some(line) = self.lines.get(i) else {
            return new;
        };
        let k = new - line.new_start;
        let Some(c) = line.cut else {
            return line.old_start + k;
        };
        let lead = if c.left { ELLIPSIS.len() } else { 0 };
        let kept = c.keep.1 - c.keep.0;
        line.old_start + c.keep.0 + k.saturating_sub(lead).min(kept)
    }
}

/// Which part of a line of `chars` characters to keep so that it and its `…` fit `width`, with the
/// spans (byte ranges in the line) that start on it in view: all of them when they fit, else the start
/// of the first.
fn cut_line(line: &str, chars: usize, spans: &[Range<usize>], width: usize) -> Cut {
    // Character index of a byte offset, and back.
    let char_at = |byte: usize| line[..byte.min(line.len())].chars().count();
    let byte_at = |ch: usize| line.char_indices().nth(ch).map_or(line.len(), |(b, _)| b);
    let lo = spans.iter().map(|s| char_at(s.start)).min();
    let hi = spans.iter().map(|s| char_at(s.end)).max();
    let (start, end) = match (lo, hi) {
        (Some(lo), Some(hi)) => window(chars, lo, hi.max(lo + 1), width),
        _ => (0, width - 1),
    };
    Cut {
        keep: (byte_at(start), byte_at(end)),
        left: start > 0,
        right: end < chars,
    }
}

/// The kept characters `start..end` of a line of `len > width` characters that should show
/// `lo..hi`: at the start with `…` after, at the end with `…` before, or in the middle with `…` on
/// both sides, centred; a span wider than the middle keeps its start, a little after the `…`.
fn window(len: usize, lo: usize, hi: usize, width: usize) -> (usize, usize) {
    let one_cut = width - 1;
    if hi <= one_cut {
        return (0, one_cut);
    }
    if len - lo <= one_cut {
        return (len - one_cut, len);
    }
    let room = width - 2;
    let start = if hi - lo <= room {
        lo.saturating_sub((room - (hi - lo)) / 2)
    } else {
        lo - (room / 8).min(lo)
    };
    if start == 0 {
        return (0, one_cut);
    }
    let end = (start + room).min(len);
    if end == len {
        return (len - one_cut, len);
    }
    (start, end)
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // one span is a list of one
mod tests {
    use super::*;

    /// The windowed text and the first span moved, as the text under it.
    fn cut(text: &str, spans: &[&str], width: usize) -> (String, Vec<String>) {
        let ranges: Vec<Range<usize>> = spans
            .iter()
            .map(|s| {
                let at = text.find(s).unwrap();
                at..at + s.len()
            })
            .collect();
        let w = Windowed::new(text, &ranges, width);
        let under = ranges
            .iter()
            .map(|r| w.text[w.span(r.clone())].to_owned())
            .collect();
        (w.text, under)
    }

    fn line(n: usize, marker: &str, at: usize) -> String {
        let mut s = "a".repeat(n);
        s.replace_range(at..at + marker.len(), marker);
        s
    }

    #[test]
    fn short_lines_are_kept_whole() {
        let text = "a: 1\nb: { port: 80 }\n";
        let (t, under) = cut(text, &["80"], 40);
        assert_eq!(t, text);
        assert_eq!(under, ["80"]);
        assert!(!Windowed::new(text, &[], 40).is_cut());
    }

    #[test]
    fn a_span_near_the_start_keeps_the_start() {
        let text = format!("{}\nnext\n", line(300, "PORT", 10));
        let (t, under) = cut(&text, &["PORT"], 40);
        let first = t.lines().next().unwrap();
        assert_eq!(first.chars().count(), 40);
        assert!(first.starts_with("aaaaaaaaaaPORT") && first.ends_with('…'));
        assert_eq!(under, ["PORT"]);
        assert!(t.ends_with("\nnext\n"), "other lines stay: {t}");
    }

    #[test]
    fn a_span_near_the_end_keeps_the_end() {
        let text = format!("x\n{}\n", line(300, "PORT", 290));
        let (t, under) = cut(&text, &["PORT"], 40);
        let second = t.lines().nth(1).unwrap();
        assert_eq!(second.chars().count(), 40);
        assert!(second.starts_with('…') && second.ends_with("PORTaaaaaa"));
        assert_eq!(under, ["PORT"]);
    }

    #[test]
    fn a_span_in_the_middle_is_centred_between_two_cuts() {
        let text = line(300, "PORT", 150);
        let (t, under) = cut(&text, &["PORT"], 40);
        assert_eq!(t.chars().count(), 40);
        assert!(t.starts_with('…') && t.ends_with('…'));
        let at = t.chars().position(|c| c == 'P').unwrap();
        assert!((16..=20).contains(&at), "centred: {at} in {t}");
        assert_eq!(under, ["PORT"]);
    }

    #[test]
    fn several_spans_on_a_line_stay_in_view_together() {
        let mut text = line(300, "ONE", 120);
        text.replace_range(140..143, "TWO");
        let (t, under) = cut(&text, &["ONE", "TWO"], 40);
        assert_eq!(under, ["ONE", "TWO"]);
        assert_eq!(t.chars().count(), 40);
    }

    #[test]
    fn a_span_out_of_the_window_points_at_the_cut() {
        let mut text = line(300, "ONE", 20);
        text.replace_range(250..253, "TWO");
        let (t, under) = cut(&text, &["ONE", "TWO"], 40);
        assert_eq!(under[0], "ONE");
        assert_eq!(under[1], "…", "{t}");
    }

    #[test]
    fn a_span_wider_than_the_window_keeps_its_start() {
        let mut text = "a".repeat(100);
        text.push_str(&"W".repeat(150));
        text.push_str(&"a".repeat(50));
        let w = Windowed::new(&text, &[100..250], 40);
        assert_eq!(w.text.chars().count(), 40);
        let s = w.span(100..250);
        assert!(w.text[s.clone()].starts_with("WWW"), "{}", w.text);
        assert!(w.text[s].ends_with('…'));
        assert!(w.text.starts_with("…aaa"));
    }

    #[test]
    fn non_ascii_is_cut_on_characters_and_counted_by_characters() {
        let text = format!("{}PORT{}\n", "é".repeat(150), "ü".repeat(150));
        let (t, under) = cut(&text, &["PORT"], 40);
        let first = t.lines().next().unwrap();
        assert_eq!(first.chars().count(), 40);
        assert_eq!(under, ["PORT"]);
    }

    #[test]
    fn offsets_map_back_to_the_original() {
        let text = format!("x\n{}\ny: 1\n", line(300, "PORT", 150));
        let at = text.find("PORT").unwrap();
        let w = Windowed::new(&text, &[at..at + 4], 40);
        let s = w.span(at..at + 4);
        assert_eq!(w.original(s.start), at);
        let y = text.find("y: 1").unwrap();
        let ny = w.span(y..y + 1).start;
        assert_eq!(&w.text[ny..ny + 4], "y: 1");
        assert_eq!(w.original(ny), y);
        assert_eq!(
            w.text.lines().count(),
            text.lines().count(),
            "line numbers stay"
        );
    }
}
