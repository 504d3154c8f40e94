//! A word as an admin gives it, checked and normalized, and the text format
//! of bulk import and export: one word per line, optionally followed by a
//! tab and its action (`赌博\tblock`). Export writes every line with its
//! action, so an exported file imports back to the same list. Pure.

use kefu_core::sensitive::SensitiveAction;

/// A word as stored: trimmed and ASCII-lowercased (matching ignores ASCII
/// case, so "Fraud" and "fraud" are one word). Refuses empty words, longer
/// ones than `max_chars` characters, and control characters (a tab or a
/// line break would break the file format).
pub fn normalize(raw: &str, max_chars: usize) -> Result<String, String> {
    let w = raw.trim();
    if w.is_empty() {
        return Err("a word must not be empty".into());
    }
    if w.chars().any(char::is_control) {
        return Err(format!(
            "the word {w:?} contains a control character (tab, line break…)"
        ));
    }
    let n = w.chars().count();
    if n > max_chars {
        return Err(format!(
            "the word {w:?} has {n} characters; the limit is {max_chars}"
        ));
    }
    Ok(w.to_ascii_lowercase())
}

/// A line of an import that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// Reads an import file: each non-blank line a word, with `default` as its
/// action unless the line names one after a tab. Bad lines are reported and
/// left out; the rest is returned in file order.
pub fn parse(
    text: &str,
    default: SensitiveAction,
    max_chars: usize,
) -> (Vec<(String, SensitiveAction)>, Vec<LineError>) {
    let mut words = Vec::new();
    let mut errors = Vec::new();
    // A file saved by Windows tools may start with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (word, action) = match line.split_once('\t') {
            Some((w, a)) => match a.trim().parse::<SensitiveAction>() {
                Ok(a) => (w, a),
                Err(e) => {
                    errors.push(LineError {
                        line: i + 1,
                        message: e,
                    });
                    continue;
                }
            },
            None => (line, default),
        };
        match normalize(word, max_chars) {
            Ok(w) => words.push((w, action)),
            Err(message) => errors.push(LineError {
                line: i + 1,
                message,
            }),
        }
    }
    (words, errors)
}

/// The export file: `word<TAB>action` per line, in the order given.
pub fn export<'a>(words: impl IntoIterator<Item = (&'a str, SensitiveAction)>) -> String {
    let mut out = String::new();
    for (w, a) in words {
        out.push_str(w);
        out.push('\t');
        out.push_str(a.as_str());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use SensitiveAction::*;

    #[test]
    fn normalizes_and_refuses() {
        assert_eq!(normalize("  Fraud ", 64), Ok("fraud".into()));
        assert_eq!(normalize("傻瓜", 2), Ok("傻瓜".into()));
        assert!(normalize("傻瓜蛋", 2).is_err());
        assert!(normalize("   ", 64).is_err());
        assert!(normalize("a\tb", 64).is_err());
        assert!(normalize("a\u{7}", 64).is_err());
    }

    #[test]
    fn reads_lines_with_and_without_actions() {
        let (w, e) = parse(
            "\u{feff}赌博\tblock\r\nDamn\n\n  scam \t flag \nbad\tzap\n",
            Mask,
            64,
        );
        assert_eq!(
            w,
            [
                ("赌博".to_string(), Block),
                ("damn".to_string(), Mask),
                ("scam".to_string(), Flag)
            ]
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 5);
    }

    #[test]
    fn export_reads_back() {
        let list = [("赌博", Block), ("damn", Mask), ("scam", Flag)];
        let text = export(list);
        let (w, e) = parse(&text, Flag, 64);
        assert!(e.is_empty());
        assert_eq!(w, list.map(|(w, a)| (w.to_string(), a)).to_vec());
    }
}
