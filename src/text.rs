//! Terminal text that fits in [`WIDTH`] columns: a table renderer (each
//! column as wide as its widest cell, optional group labels over runs of
//! columns) and a word wrapper for prose lines. Pure: strings in, a string out.

/// The terminal width every line `run`, `vm` and `analyze` print fits in.
pub const WIDTH: usize = 80;

/// Spaces between two columns: two, or one where two would not fit.
const GAP: usize = 2;

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    /// A label shared by a run of adjacent columns, printed above them ("" for none).
    pub group: &'static str,
    pub head: &'static str,
    /// Left-aligned (words); otherwise right-aligned (figures).
    pub left: bool,
}

/// A right-aligned column without a group.
pub const fn col(head: &'static str) -> Col {
    Col {
        group: "",
        head,
        left: false,
    }
}

/// A left-aligned column without a group.
pub const fn word(head: &'static str) -> Col {
    Col {
        group: "",
        head,
        left: true,
    }
}

/// A right-aligned column under `group`.
pub const fn under(group: &'static str, head: &'static str) -> Col {
    Col {
        group,
        head,
        left: false,
    }
}

/// The table: a group line (if any column has a group), the heads, one line
/// per row. Trailing spaces are trimmed.
pub fn render(cols: &[Col], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = cols.iter().map(|c| c.head.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let total = widths.iter().sum::<usize>() + GAP * cols.len().saturating_sub(1);
    let gap = if total > WIDTH { 1 } else { GAP };
    let spans = groups(cols);
    for &(start, end) in &spans {
        let label = cols[start].group.chars().count();
        let span = widths[start..end].iter().sum::<usize>() + gap * (end - start - 1);
        // A label wider than its columns widens them, evenly.
        let extra = label.saturating_sub(span);
        let n = end - start;
        for (k, w) in widths[start..end].iter_mut().enumerate() {
            *w += extra / n + usize::from(k < extra % n);
        }
    }
    let mut out = String::new();
    if !spans.is_empty() {
        out.push_str(&group_line(cols, &widths, &spans, gap));
    }
    let heads: Vec<String> = cols.iter().map(|c| c.head.to_string()).collect();
    out.push_str(&line(cols, &widths, &heads, gap));
    for row in rows {
        out.push_str(&line(cols, &widths, row, gap));
    }
    out
}

/// Runs of adjacent columns with one non-empty group: (first, past the last).
fn groups(cols: &[Col]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < cols.len() {
        let mut end = i + 1;
        while end < cols.len() && cols[end].group == cols[i].group {
            end += 1;
        }
        if !cols[i].group.is_empty() {
            spans.push((i, end));
        }
        i = end;
    }
    spans
}

/// Each group's label, left-aligned over its first column.
fn group_line(cols: &[Col], widths: &[usize], spans: &[(usize, usize)], gap: usize) -> String {
    let mut text = String::new();
    let mut at = 0usize;
    for (i, w) in widths.iter().enumerate() {
        if let Some(&(start, _)) = spans.iter().find(|s| s.0 == i) {
            text.push_str(&" ".repeat(at.saturating_sub(text.chars().count())));
            text.push_str(cols[start].group);
        }
        at += w + gap;
    }
    text.push('\n');
    text
}

fn line(cols: &[Col], widths: &[usize], cells: &[String], gap: usize) -> String {
    let mut text = String::new();
    for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
        let cell = cells.get(i).map_or("", String::as_str);
        if i > 0 {
            text.push_str(&" ".repeat(gap));
        }
        if c.left {
            text.push_str(&format!("{cell:<w$}"));
        } else {
            text.push_str(&format!("{cell:>w$}"));
        }
    }
    let mut text = text.trim_end().to_string();
    text.push('\n');
    text
}

/// `text` broken at spaces into lines of at most [`WIDTH`] columns: its own
/// leading spaces kept, lines after the first indented by `indent` spaces. A
/// word longer than a line (a path) stays whole on a line of its own.
pub fn wrap(text: &str, indent: usize) -> String {
    let own = text.len() - text.trim_start_matches(' ').len();
    let mut out = String::new();
    let mut current = " ".repeat(own);
    let mut has_word = false;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if has_word && current.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&current);
            out.push('\n');
            current = " ".repeat(indent);
            has_word = false;
        }
        if has_word {
            current.push(' ');
        }
        current.push_str(word);
        has_word = true;
    }
    out.push_str(&current);
    out.push('\n');
    out
}

/// Every line of `text` wrapped (see [`wrap`]), continuation lines indented
/// `extra` spaces more than the line's own indent.
pub fn wrap_lines(text: &str, extra: usize) -> String {
    text.lines()
        .map(|l| wrap(l, l.len() - l.trim_start_matches(' ').len() + extra))
        .collect()
}

/// Ids as a short list: runs of three or more as `first-last` (`1, 3-12`).
pub fn id_list(ids: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}-{}", ids[i], ids[j]));
        } else {
            parts.extend(ids[i..=j].iter().map(u32::to_string));
        }
        i = j + 1;
    }
    parts.join(", ")
}

/// The widest line of `text`, in characters.
pub fn max_width(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let cols = [col("vm"), word("stop"), col("ticks")];
        let rows = vec![
            vec!["1".into(), "runtime".into(), "5".into()],
            vec!["12".into(), "DIED".into(), "123456".into()],
        ];
        let t = render(&cols, &rows);
        assert_eq!(
            t,
            "vm  stop      ticks\n 1  runtime       5\n12  DIED     123456\n"
        );
    }

    #[test]
    fn group_labels_sit_over_their_columns_and_widen_them() {
        let cols = [col("vm"), under("wait ms", "mean"), under("wait ms", "max")];
        let rows = vec![vec!["1".into(), "2.0".into(), "3.0".into()]];
        let t = render(&cols, &rows);
        assert_eq!(t, "    wait ms\nvm  mean  max\n 1   2.0  3.0\n", "{t}");
        // A label wider than its columns widens them evenly.
        let cols = [
            col("vm"),
            under("queue growth/s", "pred"),
            under("queue growth/s", "meas"),
        ];
        let t = render(&cols, &[vec!["1".into(), "0.5".into(), "-".into()]]);
        assert_eq!(
            t,
            "    queue growth/s\nvm    pred    meas\n 1     0.5       -\n"
        );
    }

    #[test]
    fn a_table_too_wide_for_two_spaces_gets_one() {
        let cols: Vec<Col> = (0..10).map(|_| col("x")).collect();
        let row: Vec<String> = (0..10).map(|_| "1234567".to_string()).collect();
        let t = render(&cols, &[row]);
        assert_eq!(max_width(&t), 10 * 7 + 9, "{t}");
    }

    #[test]
    fn prose_wraps_at_80_with_a_hanging_indent() {
        let long = "word ".repeat(40);
        let w = wrap(long.trim_end(), 4);
        assert!(max_width(&w) <= WIDTH, "{w}");
        assert!(w.lines().skip(1).all(|l| l.starts_with("    word")), "{w}");
        assert_eq!(w.split_whitespace().count(), 40);
        assert_eq!(wrap("short line", 2), "short line\n");
        let path = format!("report: /{}", "p".repeat(100));
        assert_eq!(wrap(&path, 2), format!("report:\n  /{}\n", "p".repeat(100)));
        let kept = wrap_lines(&format!("  a: {}", "b ".repeat(50)), 2);
        assert!(
            kept.starts_with("  a: b") && max_width(&kept) <= WIDTH,
            "{kept}"
        );
        assert!(kept.lines().nth(1).unwrap().starts_with("    b"), "{kept}");
    }

    #[test]
    fn id_lists_shorten_runs() {
        assert_eq!(id_list(&[2, 3]), "2, 3");
        assert_eq!(id_list(&[1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), "1, 3-12");
        assert_eq!(id_list(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7, 8");
        assert_eq!(id_list(&[]), "");
    }
}
