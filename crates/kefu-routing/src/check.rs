//! Type checking: every variable, function, operator and action is known and
//! used with the right types, before a rule set may run. A rule set that
//! fails here is rejected whole; the running one stays.

use crate::ast::{Action, CmpOp, Expr, Lit, RuleSet};
use crate::error::{Pos, RuleError};
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    Num,
    Bool,
    List,
    /// A customer attribute: its type is only known at run time.
    Any,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Str => "text",
            Ty::Num => "a number",
            Ty::Bool => "true/false",
            Ty::List => "a list",
            Ty::Any => "any value",
        }
    }

    fn fits(self, want: Ty) -> bool {
        self == want || self == Ty::Any || want == Ty::Any
    }
}

/// The variables rules can read.
pub const VARIABLES: &[(&str, Ty)] = &[
    ("customer.level", Ty::Num),
    ("customer.name", Ty::Str),
    ("customer.email", Ty::Str),
    ("customer.language", Ty::Str),
    ("customer.country", Ty::Str),
    ("customer.external_id", Ty::Str),
    ("customer.identified", Ty::Bool),
    ("customer.tags", Ty::List),
    ("customer.returning", Ty::Bool),
    ("customer.recent_events", Ty::List),
    ("conversation.inbox", Ty::Str),
    ("conversation.channel", Ty::Str),
    ("conversation.first_message", Ty::Str),
    ("message.intent", Ty::Str),
    ("message.language", Ty::Str),
    ("bot.confidence", Ty::Num),
    ("bot.reason", Ty::Str),
    ("page.url", Ty::Str),
    ("page.referrer", Ty::Str),
    ("time.hour", Ty::Num),
    ("time.minute", Ty::Num),
    ("time.weekday", Ty::Num),
    ("time.date", Ty::Str),
    ("time.holiday", Ty::Bool),
];

/// Actions, with their argument types.
pub const ACTIONS: &[(&str, &[Ty])] = &[
    ("route_to", &[Ty::Str]),
    ("route_to_agent", &[Ty::Str]),
    ("set_priority", &[Ty::Str]),
    ("tag", &[Ty::Str]),
    ("auto_reply", &[Ty::Str]),
    ("to_bot", &[]),
    ("offline", &[]),
];

/// Longest tag (the store's limit for agents' tags too).
pub const MAX_TAG_CHARS: usize = 32;
pub const GROUP_FIELDS: &[&str] = &["online", "available", "queue", "open"];

/// What the rules may refer to besides built-ins (from the workspace).
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Group names; `None` skips the check (e.g. fuzzing the parser alone).
    pub groups: Option<HashSet<String>>,
}

pub fn check(rs: &RuleSet, known: &Known) -> Result<(), RuleError> {
    let mut names = HashSet::new();
    for r in &rs.rules {
        if !names.insert(r.name.as_str()) {
            return Err(RuleError::new(
                r.pos,
                format!("a second rule is named {:?}; names must be unique", r.name),
            ));
        }
        let t = ty(&r.when, known)?;
        if !t.fits(Ty::Bool) {
            return Err(RuleError::new(
                r.when.pos(),
                format!(
                    "a `when` condition must be true/false, this is {}",
                    t.name()
                ),
            ));
        }
        for a in &r.then {
            action(a, known)?;
        }
    }
    Ok(())
}

fn action(a: &Action, known: &Known) -> Result<(), RuleError> {
    let Some((_, params)) = ACTIONS.iter().find(|(n, _)| *n == a.name) else {
        let names: Vec<_> = ACTIONS.iter().map(|(n, _)| *n).collect();
        return Err(RuleError::new(
            a.pos,
            format!(
                "unknown action `{}`; expected one of {}",
                a.name,
                names.join(", ")
            ),
        ));
    };
    if a.args.len() != params.len() {
        return Err(RuleError::new(
            a.pos,
            format!(
                "`{}` takes {} argument(s), found {}",
                a.name,
                params.len(),
                a.args.len()
            ),
        ));
    }
    let text = |i: usize| match a.args.get(i) {
        Some(Lit::Str(s)) => Ok(s.as_str()),
        _ => Err(RuleError::new(
            a.pos,
            format!("`{}` takes text in quotes", a.name),
        )),
    };
    match a.name.as_str() {
        "route_to" => {
            let g = text(0)?;
            if let Some(groups) = &known.groups
                && !groups.contains(g)
            {
                return Err(RuleError::new(a.pos, format!("there is no group {g:?}")));
            }
        }
        "set_priority" => {
            let p = text(0)?;
            if let Err(e) = p.parse::<kefu_core::Priority>() {
                return Err(RuleError::new(a.pos, e));
            }
        }
        "tag" => {
            // The limits a conversation's tags have when agents set them.
            let t = text(0)?.trim();
            if t.is_empty() || t.chars().count() > MAX_TAG_CHARS || t.chars().any(char::is_control)
            {
                return Err(RuleError::new(
                    a.pos,
                    format!("a tag is 1 to {MAX_TAG_CHARS} printable characters"),
                ));
            }
        }
        "route_to_agent" | "auto_reply" if text(0)?.trim().is_empty() => {
            return Err(RuleError::new(
                a.pos,
                format!("`{}` needs non-empty text", a.name),
            ));
        }
        _ => {}
    }
    Ok(())
}

pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

fn str_lit(e: &Expr) -> Option<&str> {
    match e {
        Expr::Lit(Lit::Str(s), _) => Some(s),
        _ => None,
    }
}

pub fn ty(e: &Expr, known: &Known) -> Result<Ty, RuleError> {
    Ok(match e {
        Expr::Lit(Lit::Str(_), _) => Ty::Str,
        Expr::Lit(Lit::Num(_), _) => Ty::Num,
        Expr::Lit(Lit::Bool(_), _) => Ty::Bool,
        Expr::List(items, _) => {
            for i in items {
                ty(i, known)?;
            }
            Ty::List
        }
        Expr::Var(path, pos) => var_ty(path, *pos)?,
        Expr::Not(inner, pos) => {
            let t = ty(inner, known)?;
            if !t.fits(Ty::Bool) {
                return Err(RuleError::new(
                    *pos,
                    format!("`!` needs true/false, found {}", t.name()),
                ));
            }
            Ty::Bool
        }
        Expr::And(a, b) | Expr::Or(a, b) => {
            for x in [a, b] {
                let t = ty(x, known)?;
                if !t.fits(Ty::Bool) {
                    return Err(RuleError::new(
                        x.pos(),
                        format!(
                            "`&&` and `||` join true/false conditions, this is {}",
                            t.name()
                        ),
                    ));
                }
            }
            Ty::Bool
        }
        Expr::Cmp(l, op, r, pos) => {
            let (lt, rt) = (ty(l, known)?, ty(r, known)?);
            let bad = |msg: String| Err(RuleError::new(*pos, msg));
            match op {
                CmpOp::Eq | CmpOp::Ne if !lt.fits(rt) => {
                    return bad(format!("cannot compare {} with {}", lt.name(), rt.name()));
                }
                CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge
                    if !(lt.fits(Ty::Num) && rt.fits(Ty::Num)) =>
                {
                    return bad(format!(
                        "`{}` compares numbers, found {} and {}",
                        op.as_str(),
                        lt.name(),
                        rt.name()
                    ));
                }
                CmpOp::Contains
                    if !(matches!(lt, Ty::Str | Ty::List | Ty::Any) && rt.fits(Ty::Str)) =>
                {
                    return bad(format!(
                        "`contains` looks for text in text or a list, found {} and {}",
                        lt.name(),
                        rt.name()
                    ));
                }
                CmpOp::Matches => {
                    if !lt.fits(Ty::Str) {
                        return bad(format!("`matches` applies to text, found {}", lt.name()));
                    }
                    let Some(re) = str_lit(r) else {
                        return bad("`matches` takes a regular expression in quotes".into());
                    };
                    if let Err(e) = regex::RegexBuilder::new(re).size_limit(1 << 20).build() {
                        return Err(RuleError::new(
                            r.pos(),
                            format!(
                                "invalid regular expression: {}",
                                e.to_string().lines().last().unwrap_or("syntax error")
                            ),
                        ));
                    }
                }
                CmpOp::In if !rt.fits(Ty::List) => {
                    return bad(format!(
                        "`in` needs a list on the right, found {}",
                        rt.name()
                    ));
                }
                _ => {}
            }
            Ty::Bool
        }
        Expr::Call {
            func,
            args,
            field,
            pos,
        } => call_ty(func, args, field.as_deref(), *pos, known)?,
    })
}

fn var_ty(path: &[String], pos: Pos) -> Result<Ty, RuleError> {
    let name = path.join(".");
    if let Some((_, t)) = VARIABLES.iter().find(|(n, _)| *n == name) {
        return Ok(*t);
    }
    // Any other customer.<attribute> comes from the contact's attributes.
    if path.len() == 2 && path[0] == "customer" {
        return Ok(Ty::Any);
    }
    let vars: Vec<_> = VARIABLES.iter().map(|(n, _)| *n).collect();
    Err(RuleError::new(
        pos,
        format!(
            "unknown variable `{name}`; expected one of {} or customer.<attribute>",
            vars.join(", ")
        ),
    ))
}

fn call_ty(
    func: &str,
    args: &[Expr],
    field: Option<&str>,
    pos: Pos,
    known: &Known,
) -> Result<Ty, RuleError> {
    match func {
        "time.between" => {
            if field.is_some() || args.len() != 2 {
                return Err(RuleError::new(
                    pos,
                    "time.between takes two times, e.g. time.between(\"09:00\", \"18:00\")",
                ));
            }
            for a in args {
                if str_lit(a).and_then(parse_hhmm).is_none() {
                    return Err(RuleError::new(
                        a.pos(),
                        "expected a time \"HH:MM\" from 00:00 to 24:00",
                    ));
                }
            }
            Ok(Ty::Bool)
        }
        "group" => {
            let name = match args {
                [a] => str_lit(a)
                    .ok_or_else(|| RuleError::new(a.pos(), "group takes a group name in quotes"))?,
                _ => {
                    return Err(RuleError::new(
                        pos,
                        "group takes one group name, e.g. group(\"billing\").online",
                    ));
                }
            };
            if let Some(groups) = &known.groups
                && !groups.contains(name)
            {
                return Err(RuleError::new(pos, format!("there is no group {name:?}")));
            }
            match field {
                Some("open") => Ok(Ty::Bool),
                Some(f) if GROUP_FIELDS.contains(&f) => Ok(Ty::Num),
                _ => Err(RuleError::new(
                    pos,
                    format!(
                        "expected group(\"{name}\") followed by .{}",
                        GROUP_FIELDS.join(", .")
                    ),
                )),
            }
        }
        _ => Err(RuleError::new(
            pos,
            format!("unknown function `{func}`; expected time.between or group"),
        )),
    }
}
