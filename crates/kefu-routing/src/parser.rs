//! Recursive-descent parser of the rule DSL (grammar in docs/rules.md).
//! Every error names the line:column and what was expected there.

use crate::ast::{Action, CmpOp, Expr, Lit, Rule, RuleSet};
use crate::error::{Pos, RuleError};
use crate::lexer::{Tok, lex};

/// Deepest nesting of parentheses / `!` accepted: a hostile rule set must
/// not overflow the stack.
const MAX_DEPTH: usize = 128;

/// Words of the language that cannot be variable names.
const RESERVED: &[&str] = &[
    "rule", "when", "then", "end", "continue", "priority", "and", "or", "not", "contains",
    "matches", "in",
];

struct Parser {
    toks: Vec<(Tok, Pos)>,
    i: usize,
    depth: usize,
}

pub fn parse(src: &str) -> Result<RuleSet, RuleError> {
    let mut p = Parser {
        toks: lex(src)?,
        i: 0,
        depth: 0,
    };
    let mut rules = Vec::new();
    while p.peek() != &Tok::Eof {
        rules.push(p.rule()?);
    }
    // Stable: equal priorities keep the order they were written in.
    rules.sort_by_key(|r| std::cmp::Reverse(r.priority));
    Ok(RuleSet { rules })
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].0
    }

    fn pos(&self) -> Pos {
        self.toks[self.i.min(self.toks.len() - 1)].1
    }

    fn next(&mut self) -> (Tok, Pos) {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn expected(&self, what: &str) -> RuleError {
        RuleError::new(
            self.pos(),
            format!("expected {what}, found {}", self.peek().describe()),
        )
    }

    fn keyword(&mut self, kw: &str) -> Result<Pos, RuleError> {
        match self.peek() {
            Tok::Ident(s) if s == kw => Ok(self.next().1),
            _ => Err(self.expected(&format!("`{kw}`"))),
        }
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == kw)
    }

    fn expect(&mut self, t: Tok) -> Result<Pos, RuleError> {
        if self.peek() == &t {
            Ok(self.next().1)
        } else {
            Err(self.expected(&t.describe()))
        }
    }

    fn rule(&mut self) -> Result<Rule, RuleError> {
        let pos = self.keyword("rule")?;
        let name = match self.next() {
            (Tok::Str(s), _) => s,
            (t, p) => {
                return Err(RuleError::new(
                    p,
                    format!("expected the rule's name in quotes, found {}", t.describe()),
                ));
            }
        };
        let mut priority = 0;
        if self.is_keyword("priority") {
            self.next();
            priority = match self.next() {
                (Tok::Num(n), _) if n.fract() == 0.0 && n.abs() < 1e9 => n as i64,
                (t, p) => {
                    return Err(RuleError::new(
                        p,
                        format!(
                            "expected a whole number after `priority`, found {}",
                            t.describe()
                        ),
                    ));
                }
            };
        }
        self.keyword("when")?;
        let when = self.expr()?;
        self.keyword("then")?;
        let mut then = vec![self.action()?];
        while self.peek() == &Tok::Comma {
            self.next();
            then.push(self.action()?);
        }
        let continues = if self.is_keyword("continue") {
            self.next();
            true
        } else {
            false
        };
        if !self.is_keyword("end") {
            return Err(self.expected(if continues {
                "`end`"
            } else {
                "`,` and another action, `continue` or `end`"
            }));
        }
        self.next();
        Ok(Rule {
            name,
            priority,
            when,
            then,
            continues,
            pos,
        })
    }

    fn action(&mut self) -> Result<Action, RuleError> {
        let (name, pos) = match self.next() {
            (Tok::Ident(s), p) => (s, p),
            (t, p) => {
                return Err(RuleError::new(
                    p,
                    format!(
                        "expected an action such as route_to(\"group\"), found {}",
                        t.describe()
                    ),
                ));
            }
        };
        self.expect(Tok::LParen)?;
        let mut args = Vec::new();
        if self.peek() != &Tok::RParen {
            loop {
                args.push(match self.next() {
                    (Tok::Str(s), _) => Lit::Str(s),
                    (Tok::Num(n), _) => Lit::Num(n),
                    (Tok::Ident(s), _) if s == "true" || s == "false" => Lit::Bool(s == "true"),
                    (t, p) => {
                        return Err(RuleError::new(
                            p,
                            format!(
                                "expected a string or number argument, found {}",
                                t.describe()
                            ),
                        ));
                    }
                });
                if self.peek() != &Tok::Comma {
                    break;
                }
                self.next();
            }
        }
        self.expect(Tok::RParen)?;
        Ok(Action { name, args, pos })
    }

    fn expr(&mut self) -> Result<Expr, RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::new(
                self.pos(),
                format!("expressions nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        let r = self.or();
        self.depth -= 1;
        r
    }

    /// Every `&&` / `||` link makes the (left-nested) tree one level deeper,
    /// so it counts against the same depth budget as parentheses: the tree
    /// that evaluation, checking and dropping walk recursively stays shallow.
    fn deeper(&mut self, pos: Pos) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::new(
                pos,
                format!(
                    "expressions nest deeper than {MAX_DEPTH} levels (count each && and || too); use `in [...]` or `matches` for long lists"
                ),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        let start = self.depth;
        let mut e = self.and()?;
        while self.peek() == &Tok::Or || self.is_keyword("or") {
            let pos = self.next().1;
            self.deeper(pos)?;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        self.depth = start;
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let start = self.depth;
        let mut e = self.not()?;
        while self.peek() == &Tok::And || self.is_keyword("and") {
            let pos = self.next().1;
            self.deeper(pos)?;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        self.depth = start;
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, RuleError> {
        if self.peek() == &Tok::Not || self.is_keyword("not") {
            let pos = self.next().1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(RuleError::new(
                    pos,
                    format!("expressions nest deeper than {MAX_DEPTH} levels"),
                ));
            }
            let inner = self.not();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?), pos));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, RuleError> {
        let left = self.primary()?;
        let pos = self.pos();
        let op = match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::Ident(s) if s == "contains" => CmpOp::Contains,
            Tok::Ident(s) if s == "matches" => CmpOp::Matches,
            Tok::Ident(s) if s == "in" => CmpOp::In,
            _ => return Ok(left),
        };
        self.next();
        let right = self.primary()?;
        Ok(Expr::Cmp(Box::new(left), op, Box::new(right), pos))
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        let (tok, pos) = self.next();
        match tok {
            Tok::Str(s) => Ok(Expr::Lit(Lit::Str(s), pos)),
            Tok::Num(n) => Ok(Expr::Lit(Lit::Num(n), pos)),
            Tok::Ident(s) if s == "true" || s == "false" => {
                Ok(Expr::Lit(Lit::Bool(s == "true"), pos))
            }
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Tok::LBracket => {
                if self.depth >= MAX_DEPTH {
                    return Err(RuleError::new(
                        pos,
                        format!("expressions nest deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.depth += 1;
                let mut items = Vec::new();
                if self.peek() != &Tok::RBracket {
                    loop {
                        items.push(self.primary()?);
                        if self.peek() != &Tok::Comma {
                            break;
                        }
                        self.next();
                    }
                }
                self.expect(Tok::RBracket)?;
                self.depth -= 1;
                Ok(Expr::List(items, pos))
            }
            Tok::Ident(word) if RESERVED.contains(&word.as_str()) => Err(RuleError::new(
                pos,
                format!("expected a value, a variable or `(`, found `{word}`"),
            )),
            Tok::Ident(first) => {
                let mut path = vec![first];
                while self.peek() == &Tok::Dot {
                    self.next();
                    match self.next() {
                        (Tok::Ident(s), _) => path.push(s),
                        (t, p) => {
                            return Err(RuleError::new(
                                p,
                                format!("expected a name after `.`, found {}", t.describe()),
                            ));
                        }
                    }
                }
                if self.peek() != &Tok::LParen {
                    return Ok(Expr::Var(path, pos));
                }
                self.next();
                let mut args = Vec::new();
                if self.peek() != &Tok::RParen {
                    loop {
                        args.push(self.expr()?);
                        if self.peek() != &Tok::Comma {
                            break;
                        }
                        self.next();
                    }
                }
                self.expect(Tok::RParen)?;
                let field = if self.peek() == &Tok::Dot {
                    self.next();
                    match self.next() {
                        (Tok::Ident(s), _) => Some(s),
                        (t, p) => {
                            return Err(RuleError::new(
                                p,
                                format!("expected a name after `.`, found {}", t.describe()),
                            ));
                        }
                    }
                } else {
                    None
                };
                Ok(Expr::Call {
                    func: path.join("."),
                    args,
                    field,
                    pos,
                })
            }
            t => Err(RuleError::new(
                pos,
                format!(
                    "expected a value, a variable or `(`, found {}",
                    t.describe()
                ),
            )),
        }
    }
}
