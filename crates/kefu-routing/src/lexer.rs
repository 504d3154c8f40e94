//! Tokens of the rule DSL, each with the line:column where it starts.

use crate::error::{Pos, RuleError};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    And,
    Or,
    Not,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(s) => format!("the string {s:?}"),
            Tok::Num(n) => format!("the number {n}"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Dot => "`.`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Not => "`!`".into(),
            Tok::Eq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::Eof => "the end of the rules".into(),
        }
    }
}

/// Longest rule set accepted, in bytes: bounds parse time and memory.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

pub fn lex(src: &str) -> Result<Vec<(Tok, Pos)>, RuleError> {
    if src.len() > MAX_SOURCE_BYTES {
        return Err(RuleError::new(
            Pos { line: 1, col: 1 },
            format!(
                "the rule set is {} bytes; the limit is {MAX_SOURCE_BYTES}",
                src.len()
            ),
        ));
    }
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    let (mut line, mut col) = (1usize, 1usize);
    while let Some(&(at, c)) = it.peek() {
        let pos = Pos { line, col };
        let mut bump = |it: &mut std::iter::Peekable<std::str::CharIndices>| {
            let (_, ch) = it.next().unwrap_or((0, '\0'));
            if ch == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
            ch
        };
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                bump(&mut it);
            }
            '#' => {
                while it.peek().is_some_and(|&(_, c)| c != '\n') {
                    bump(&mut it);
                }
            }
            '"' => {
                bump(&mut it);
                let mut s = String::new();
                loop {
                    match it.peek().map(|&(_, c)| c) {
                        None | Some('\n') => {
                            return Err(RuleError::new(pos, "this string is not closed with `\"`"));
                        }
                        Some('"') => {
                            bump(&mut it);
                            break;
                        }
                        Some('\\') => {
                            bump(&mut it);
                            match it.peek().map(|&(_, c)| c) {
                                Some('"') => s.push('"'),
                                Some('\\') => s.push('\\'),
                                Some('n') => s.push('\n'),
                                _ => {
                                    return Err(RuleError::new(
                                        Pos { line, col },
                                        "unknown escape; use \\\" \\\\ or \\n",
                                    ));
                                }
                            }
                            bump(&mut it);
                        }
                        Some(_) => s.push(bump(&mut it)),
                    }
                }
                out.push((Tok::Str(s), pos));
            }
            c if c.is_ascii_digit()
                || (c == '-' && src[at..].chars().nth(1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let mut s = String::new();
                if c == '-' {
                    s.push(bump(&mut it));
                }
                while it
                    .peek()
                    .is_some_and(|&(_, c)| c.is_ascii_digit() || c == '.')
                {
                    s.push(bump(&mut it));
                }
                let n: f64 = s
                    .parse()
                    .map_err(|_| RuleError::new(pos, format!("{s:?} is not a number")))?;
                out.push((Tok::Num(n), pos));
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut s = String::new();
                while it
                    .peek()
                    .is_some_and(|&(_, c)| c.is_alphanumeric() || c == '_')
                {
                    s.push(bump(&mut it));
                }
                out.push((Tok::Ident(s), pos));
            }
            _ => {
                bump(&mut it);
                let next = it.peek().map(|&(_, c)| c);
                let two = |it: &mut std::iter::Peekable<std::str::CharIndices>, t: Tok| {
                    it.next();
                    t
                };
                let tok = match (c, next) {
                    ('(', _) => Tok::LParen,
                    (')', _) => Tok::RParen,
                    ('[', _) => Tok::LBracket,
                    (']', _) => Tok::RBracket,
                    (',', _) => Tok::Comma,
                    ('.', _) => Tok::Dot,
                    ('&', Some('&')) => two(&mut it, Tok::And),
                    ('|', Some('|')) => two(&mut it, Tok::Or),
                    ('=', Some('=')) => two(&mut it, Tok::Eq),
                    ('!', Some('=')) => two(&mut it, Tok::Ne),
                    ('<', Some('=')) => two(&mut it, Tok::Le),
                    ('>', Some('=')) => two(&mut it, Tok::Ge),
                    ('!', _) => Tok::Not,
                    ('<', _) => Tok::Lt,
                    ('>', _) => Tok::Gt,
                    ('=', _) => {
                        return Err(RuleError::new(
                            pos,
                            "`=` is not an operator; compare with `==`",
                        ));
                    }
                    _ => {
                        return Err(RuleError::new(pos, format!("unexpected character {c:?}")));
                    }
                };
                if matches!(
                    tok,
                    Tok::And | Tok::Or | Tok::Eq | Tok::Ne | Tok::Le | Tok::Ge
                ) {
                    col += 1;
                }
                out.push((tok, pos));
            }
        }
    }
    out.push((Tok::Eof, Pos { line, col }));
    Ok(out)
}
