//! Following a group rename in the rules' text, so a renamed group keeps
//! getting its conversations without anyone editing the rules by hand.

use crate::lexer::{Tok, lex};

/// `src` with every reference to group `old` (`route_to("old")` and
/// `group("old")`) naming `new` instead; comments, layout and every other
/// string stay as written. `None`: nothing refers to `old`, or `src` does
/// not lex (a stored rule set always does).
pub fn rename_group(src: &str, old: &str, new: &str) -> Option<String> {
    let toks = lex(src).ok()?;
    let mut at: Vec<(usize, usize)> = toks
        .windows(3)
        .filter_map(|w| match w {
            [(Tok::Ident(f), _), (Tok::LParen, _), (Tok::Str(s), p)]
                if (f == "route_to" || f == "group") && s == old =>
            {
                Some((p.line, p.col))
            }
            _ => None,
        })
        .collect();
    if at.is_empty() {
        return None;
    }
    at.reverse();
    let literal = quote(new);
    let mut out = String::with_capacity(src.len() + at.len() * literal.len());
    let (mut line, mut col) = (1usize, 1usize);
    let mut chars = src.chars();
    while let Some(c) = chars.next() {
        if at.last() == Some(&(line, col)) {
            at.pop();
            // Skip the old literal (opening quote, body with escapes, closing quote).
            let mut escaped = false;
            for c in chars.by_ref() {
                col += 1;
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => escaped = false,
                }
            }
            col += 1;
            out.push_str(&literal);
            continue;
        }
        out.push(c);
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    Some(out)
}

/// A string literal of the DSL holding `s`.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_only_group_references() {
        let src = "# billing team\nrule \"billing\" when group(\"billing\").online > 0 && page.url contains \"billing\"\nthen route_to(\"billing\"), tag(\"billing\") end\n";
        let out = rename_group(src, "billing", "账务 \"A\"").unwrap();
        assert_eq!(
            out,
            "# billing team\nrule \"billing\" when group(\"账务 \\\"A\\\"\").online > 0 && page.url contains \"billing\"\nthen route_to(\"账务 \\\"A\\\"\"), tag(\"billing\") end\n"
        );
        let engine = crate::compile(&out, &crate::Known::default());
        assert!(engine.is_ok(), "{engine:?}");
    }

    #[test]
    fn escaped_names_and_no_match() {
        let src = "rule \"r\" when true then route_to(\"a\\\\b\") end";
        assert_eq!(
            rename_group(src, "a\\b", "c").as_deref(),
            Some("rule \"r\" when true then route_to(\"c\") end")
        );
        assert_eq!(rename_group(src, "zzz", "c"), None);
        assert_eq!(rename_group("rule \"unclosed", "a", "b"), None);
    }
}
