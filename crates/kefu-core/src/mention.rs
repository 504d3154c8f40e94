//! `@name` mentions in agents' private notes.
//!
//! The console completes `@` to a colleague's display name, and the API
//! accepts the same text, so the server finds mentions in the note's text
//! itself: no hidden markup that an API client would have to imitate.
//! Names may hold spaces and Chinese characters; the longest name that
//! follows an `@` wins ("@Li Lei" is Li Lei, not Li).

/// A person who can be mentioned: their id and display name.
#[derive(Debug, Clone, Copy)]
pub struct Mentionable<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// The ids of the people `text` mentions, each once, in order of first mention.
pub fn mentioned<'a>(text: &str, people: &[Mentionable<'a>]) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        // `a@b` is an address, not a mention.
        let starts = c == '@' && !prev.is_some_and(word_char);
        prev = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[i + 1..];
        let hits: Vec<(usize, &'a str)> = people
            .iter()
            .filter_map(|p| matched_len(rest, p.name).map(|n| (n, p.id)))
            .collect();
        // Everyone with the longest matching name: two colleagues who share
        // a name are both told (nobody silently misses a mention).
        let longest = hits.iter().map(|(n, _)| *n).max();
        for (n, id) in hits {
            if Some(n) == longest && !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// Letters and digits that glue a Latin name to what follows (CJK text has
/// no spaces between words, so a Chinese name needs no boundary).
fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// How many bytes of `rest` the name covers, if `rest` starts with it
/// (case-insensitively) and it ends at a word boundary.
fn matched_len(rest: &str, name: &str) -> Option<usize> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut r = rest.char_indices();
    let mut end = 0;
    for n in name.chars() {
        let (i, c) = r.next()?;
        if !c.to_lowercase().eq(n.to_lowercase()) {
            return None;
        }
        end = i + c.len_utf8();
    }
    let last = name.chars().next_back()?;
    let next = rest[end..].chars().next();
    if word_char(last) && next.is_some_and(word_char) {
        return None;
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people() -> Vec<Mentionable<'static>> {
        vec![
            Mentionable {
                id: "u1",
                name: "Li",
            },
            Mentionable {
                id: "u2",
                name: "Li Lei",
            },
            Mentionable {
                id: "u3",
                name: "张三",
            },
            Mentionable {
                id: "u4",
                name: "Ann",
            },
            Mentionable {
                id: "u5",
                name: "  ",
            },
            Mentionable {
                id: "u6",
                name: "张三",
            },
        ]
    }

    #[test]
    fn finds_latin_chinese_and_longest_names() {
        let p = people();
        assert_eq!(mentioned("@Li Lei please look", &p), ["u2"]);
        assert_eq!(mentioned("@li, and @ann.", &p), ["u1", "u4"]);
        // Two colleagues named 张三: both are told.
        assert_eq!(mentioned("请@张三看一下", &p), ["u3", "u6"]);
        assert_eq!(mentioned("@张三你好 @张三", &p), ["u3", "u6"]);
    }

    #[test]
    fn ignores_addresses_partial_words_and_blank_names() {
        let p = people();
        assert!(mentioned("mail ann@li.com", &p).is_empty());
        assert!(mentioned("@Annie is new", &p).is_empty());
        assert!(mentioned("@ nobody @", &p).is_empty());
        assert!(mentioned("", &p).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_only_returns_known_ids(text in "\\PC{0,60}") {
            let p = people();
            for id in mentioned(&text, &p) {
                proptest::prop_assert!(p.iter().any(|x| x.id == id));
            }
        }

        #[test]
        fn a_name_after_a_space_is_always_found(pre in "[a-z ]{0,10}", post in "[ ,.!?]{0,3}") {
            let p = people();
            let text = format!("{pre} @张三{post}");
            proptest::prop_assert_eq!(mentioned(&text, &p), vec!["u3", "u6"]);
        }
    }
}
