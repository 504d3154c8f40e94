//! The rule set as parsed.

use crate::error::Pos;

#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// In evaluation order: priority (highest first), then as written.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub priority: i64,
    pub when: Expr,
    pub then: Vec<Action>,
    /// Keep evaluating later rules after this one matched.
    pub continues: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Lit, Pos),
    /// A variable such as `customer.level` or `page.url`.
    Var(Vec<String>, Pos),
    /// `time.between("09:00", "18:00")`, `group("billing")`, then `.online`.
    Call {
        func: String,
        args: Vec<Expr>,
        field: Option<String>,
        pos: Pos,
    },
    Not(Box<Expr>, Pos),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Box<Expr>, CmpOp, Box<Expr>, Pos),
    List(Vec<Expr>, Pos),
}

impl Expr {
    pub fn pos(&self) -> Pos {
        match self {
            Expr::Lit(_, p)
            | Expr::Var(_, p)
            | Expr::Not(_, p)
            | Expr::Cmp(_, _, _, p)
            | Expr::List(_, p) => *p,
            Expr::Call { pos, .. } => *pos,
            Expr::And(a, _) | Expr::Or(a, _) => a.pos(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Matches,
    In,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
            CmpOp::Matches => "matches",
            CmpOp::In => "in",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub name: String,
    pub args: Vec<Lit>,
    pub pos: Pos,
}
