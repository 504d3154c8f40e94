//! Evaluation: which rules match a conversation's context, what they decide,
//! and a trace of why (for the dry-run simulator).

use crate::ast::{CmpOp, Expr, Lit, RuleSet};
use crate::check::parse_hhmm;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

/// Everything a rule can look at, gathered by the server before a decision.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Context {
    pub customer: Customer,
    pub conversation: ConversationInfo,
    pub page: PageInfo,
    /// What the bot made of the visitor's message.
    pub message: MessageInfo,
    /// The bot's part, when it hands a conversation off.
    pub bot: BotInfo,
    pub time: LocalTime,
    /// Live figures per group name.
    pub groups: HashMap<String, GroupStats>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Customer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub country: Option<String>,
    pub external_id: Option<String>,
    /// Identity verified by the customer's site (not just typed in).
    pub identified: bool,
    /// Has had a conversation before.
    pub returning: bool,
    pub tags: Vec<String>,
    /// The types of the contact's recent business events (`order.refunded`,
    /// …), each once; how recent is the server's choice (`[routing]
    /// recent_events_days`).
    pub recent_events: Vec<String>,
    /// `customer.level` and any `customer.<attribute>` read from here.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ConversationInfo {
    pub inbox: String,
    pub channel: String,
    pub first_message: String,
}

/// `message.intent`: the category of the knowledge-base entry that best
/// matches the visitor's message (empty when none matches well enough);
/// `message.language`: `zh` or `en`, detected from its text.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MessageInfo {
    pub intent: String,
    pub language: String,
}

/// `bot.confidence`: the score (0..=1) of that best entry; `bot.reason`:
/// why the bot handed the conversation off (`asked`, `low_confidence`,
/// `thumbs_down`, `max_turns`, …; empty for a conversation that never was
/// with the bot).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BotInfo {
    pub confidence: f64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PageInfo {
    pub url: String,
    pub referrer: String,
}

/// The time in the workspace's time zone (see [`crate::clock`]).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LocalTime {
    pub hour: u32,
    pub minute: u32,
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: u32,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub holiday: bool,
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct GroupStats {
    /// Members online (not away).
    pub online: u32,
    /// Online members below their capacity.
    pub available: u32,
    /// Conversations waiting in the group's queue.
    pub queue: u32,
    /// Within the group's business hours (a group without hours is always open).
    pub open: bool,
}

impl Default for GroupStats {
    fn default() -> Self {
        GroupStats {
            online: 0,
            available: 0,
            queue: 0,
            open: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Route {
    Group(String),
    Agent(String),
}

/// What the rules decided for one conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decision {
    pub route: Option<Route>,
    pub priority: Option<String>,
    pub tags: Vec<String>,
    pub replies: Vec<String>,
    pub to_bot: bool,
    pub offline: bool,
    /// With [`Engine::explain`]: every rule looked at, in order, and why it
    /// matched or not.
    pub trace: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub rule: String,
    pub priority: i64,
    pub matched: bool,
    pub why: String,
}

/// A value during evaluation; text is borrowed from the rules or the
/// context, so a decision allocates (almost) nothing.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    List(Vec<Val<'a>>),
    Null,
}

impl<'a> Val<'a> {
    fn from_json(v: &'a serde_json::Value) -> Val<'a> {
        match v {
            serde_json::Value::String(s) => Val::Str(Cow::Borrowed(s)),
            serde_json::Value::Number(n) => n.as_f64().map_or(Val::Null, Val::Num),
            serde_json::Value::Bool(b) => Val::Bool(*b),
            serde_json::Value::Array(a) => Val::List(a.iter().map(Val::from_json).collect()),
            _ => Val::Null,
        }
    }

    fn truthy(&self) -> bool {
        matches!(self, Val::Bool(true))
    }

    fn show(&self) -> String {
        match self {
            Val::Str(s) => format!("{s:?}"),
            Val::Num(n) => format!("{n}"),
            Val::Bool(b) => format!("{b}"),
            Val::List(l) => format!(
                "[{}]",
                l.iter().map(Val::show).collect::<Vec<_>>().join(", ")
            ),
            Val::Null => "(not set)".into(),
        }
    }
}

/// A checked rule set ready to run: every condition lowered once to a form
/// with variables resolved, regular expressions compiled and times parsed,
/// so a decision does no lookups by name and (almost) no allocation.
#[derive(Debug, Clone)]
pub struct Engine {
    pub rules: RuleSet,
    conds: Vec<Node>,
    regexes: Vec<regex::Regex>,
}

impl Engine {
    /// Whether any rule reads a variable under `head` (`message`, `bot`):
    /// the server works out what only such rules need (the bot's reading of
    /// the message) only for them.
    pub fn reads(&self, head: &str) -> bool {
        let mut vars = Vec::new();
        for r in &self.rules.rules {
            vars_of(&r.when, &mut vars);
        }
        vars.iter().any(|v| v.first().is_some_and(|h| h == head))
    }
}

/// A variable, resolved from its dotted name.
#[derive(Debug, Clone, PartialEq)]
enum VarRef {
    Name,
    Email,
    Language,
    Country,
    ExternalId,
    Identified,
    Returning,
    Tags,
    RecentEvents,
    Attr(String),
    Inbox,
    Channel,
    FirstMessage,
    Url,
    Referrer,
    Hour,
    Minute,
    Weekday,
    Date,
    Holiday,
    Intent,
    MessageLanguage,
    BotConfidence,
    BotReason,
    Unknown,
}

impl VarRef {
    fn resolve(path: &[String]) -> VarRef {
        let (Some(head), Some(name), None) = (path.first(), path.get(1), path.get(2)) else {
            return VarRef::Unknown;
        };
        match (head.as_str(), name.as_str()) {
            ("customer", "name") => VarRef::Name,
            ("customer", "email") => VarRef::Email,
            ("customer", "language") => VarRef::Language,
            ("customer", "country") => VarRef::Country,
            ("customer", "external_id") => VarRef::ExternalId,
            ("customer", "identified") => VarRef::Identified,
            ("customer", "returning") => VarRef::Returning,
            ("customer", "tags") => VarRef::Tags,
            ("customer", "recent_events") => VarRef::RecentEvents,
            ("customer", attr) => VarRef::Attr(attr.to_string()),
            ("conversation", "inbox") => VarRef::Inbox,
            ("conversation", "channel") => VarRef::Channel,
            ("conversation", "first_message") => VarRef::FirstMessage,
            ("page", "url") => VarRef::Url,
            ("page", "referrer") => VarRef::Referrer,
            ("time", "hour") => VarRef::Hour,
            ("time", "minute") => VarRef::Minute,
            ("time", "weekday") => VarRef::Weekday,
            ("time", "date") => VarRef::Date,
            ("time", "holiday") => VarRef::Holiday,
            ("message", "intent") => VarRef::Intent,
            ("message", "language") => VarRef::MessageLanguage,
            ("bot", "confidence") => VarRef::BotConfidence,
            ("bot", "reason") => VarRef::BotReason,
            _ => VarRef::Unknown,
        }
    }

    fn get<'a>(&'a self, ctx: &'a Context) -> Val<'a> {
        let s = |o: &'a Option<String>| {
            o.as_deref()
                .map_or(Val::Null, |v| Val::Str(Cow::Borrowed(v)))
        };
        let b = |v: &'a str| Val::Str(Cow::Borrowed(v));
        let c = &ctx.customer;
        match self {
            VarRef::Name => s(&c.name),
            VarRef::Email => s(&c.email),
            VarRef::Language => s(&c.language),
            VarRef::Country => s(&c.country),
            VarRef::ExternalId => s(&c.external_id),
            VarRef::Identified => Val::Bool(c.identified),
            VarRef::Returning => Val::Bool(c.returning),
            VarRef::Tags => Val::List(c.tags.iter().map(|t| b(t)).collect()),
            VarRef::RecentEvents => Val::List(c.recent_events.iter().map(|t| b(t)).collect()),
            VarRef::Attr(a) => c.attributes.get(a).map_or(Val::Null, Val::from_json),
            VarRef::Inbox => b(&ctx.conversation.inbox),
            VarRef::Channel => b(&ctx.conversation.channel),
            VarRef::FirstMessage => b(&ctx.conversation.first_message),
            VarRef::Url => b(&ctx.page.url),
            VarRef::Referrer => b(&ctx.page.referrer),
            VarRef::Hour => Val::Num(f64::from(ctx.time.hour)),
            VarRef::Minute => Val::Num(f64::from(ctx.time.minute)),
            VarRef::Weekday => Val::Num(f64::from(ctx.time.weekday)),
            VarRef::Date => b(&ctx.time.date),
            VarRef::Holiday => Val::Bool(ctx.time.holiday),
            VarRef::Intent => b(&ctx.message.intent),
            VarRef::MessageLanguage => b(&ctx.message.language),
            VarRef::BotConfidence => Val::Num(ctx.bot.confidence),
            VarRef::BotReason => b(&ctx.bot.reason),
            VarRef::Unknown => Val::Null,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum GroupField {
    Online,
    Available,
    Queue,
    Open,
}

/// A condition as it runs; mirrors the [`Expr`] it came from node for node
/// (explanations walk both together).
#[derive(Debug, Clone)]
enum Node {
    Str(String),
    Num(f64),
    Bool(bool),
    List(Vec<Node>),
    Var(VarRef),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cmp(Box<Node>, CmpOp, Box<Node>),
    /// Index into the engine's compiled regular expressions.
    Matches(Box<Node>, usize),
    /// Minutes after midnight; an overnight span wraps.
    Between(u32, u32),
    Group(String, GroupField),
    Null,
}

fn lower(e: &Expr, regexes: &mut Vec<regex::Regex>) -> Node {
    match e {
        Expr::Lit(Lit::Str(s), _) => Node::Str(s.clone()),
        Expr::Lit(Lit::Num(n), _) => Node::Num(*n),
        Expr::Lit(Lit::Bool(b), _) => Node::Bool(*b),
        Expr::List(items, _) => Node::List(items.iter().map(|i| lower(i, regexes)).collect()),
        Expr::Var(path, _) => Node::Var(VarRef::resolve(path)),
        Expr::Not(a, _) => Node::Not(Box::new(lower(a, regexes))),
        Expr::And(a, b) => Node::And(Box::new(lower(a, regexes)), Box::new(lower(b, regexes))),
        Expr::Or(a, b) => Node::Or(Box::new(lower(a, regexes)), Box::new(lower(b, regexes))),
        Expr::Cmp(l, CmpOp::Matches, r, _) => {
            let compiled = match &**r {
                Expr::Lit(Lit::Str(re), _) => regex::RegexBuilder::new(re)
                    .size_limit(1 << 20)
                    .build()
                    .ok(),
                _ => None,
            };
            match compiled {
                Some(re) => {
                    regexes.push(re);
                    Node::Matches(Box::new(lower(l, regexes)), regexes.len() - 1)
                }
                None => Node::Null,
            }
        }
        Expr::Cmp(l, op, r, _) => Node::Cmp(
            Box::new(lower(l, regexes)),
            *op,
            Box::new(lower(r, regexes)),
        ),
        Expr::Call {
            func, args, field, ..
        } => {
            let text = |i: usize| match args.get(i) {
                Some(Expr::Lit(Lit::Str(s), _)) => Some(s.as_str()),
                _ => None,
            };
            match (func.as_str(), field.as_deref()) {
                ("time.between", None) => {
                    match (text(0).and_then(parse_hhmm), text(1).and_then(parse_hhmm)) {
                        (Some(a), Some(b)) => Node::Between(a, b),
                        _ => Node::Null,
                    }
                }
                ("group", Some(f)) => {
                    let field = match f {
                        "online" => GroupField::Online,
                        "available" => GroupField::Available,
                        "open" => GroupField::Open,
                        _ => GroupField::Queue,
                    };
                    text(0).map_or(Node::Null, |g| Node::Group(g.to_string(), field))
                }
                _ => Node::Null,
            }
        }
    }
}

impl Engine {
    /// `rules` must have passed [`crate::check::check`].
    pub fn new(rules: RuleSet) -> Engine {
        let mut regexes = Vec::new();
        let conds = rules
            .rules
            .iter()
            .map(|r| lower(&r.when, &mut regexes))
            .collect();
        Engine {
            rules,
            conds,
            regexes,
        }
    }

    /// Runs the rules in order: the first match wins, unless it says
    /// `continue`. Actions of every matched rule apply; the route and the
    /// priority keep the first value set.
    pub fn decide(&self, ctx: &Context) -> Decision {
        self.run(ctx, false)
    }

    /// [`Engine::decide`] with a trace of every rule looked at and why it
    /// matched or not (the dry-run simulator; slower, so not for routing).
    pub fn explain(&self, ctx: &Context) -> Decision {
        self.run(ctx, true)
    }

    fn run(&self, ctx: &Context, trace: bool) -> Decision {
        let mut d = Decision::default();
        for (r, cond) in self.rules.rules.iter().zip(&self.conds) {
            let matched = self.eval(cond, ctx).truthy();
            if trace {
                let why = if matched {
                    "matched".to_string()
                } else {
                    self.why_not(&r.when, cond, ctx)
                };
                d.trace.push(Step {
                    rule: r.name.clone(),
                    priority: r.priority,
                    matched,
                    why,
                });
            }
            if !matched {
                continue;
            }
            for a in &r.then {
                let arg = match a.args.first() {
                    Some(Lit::Str(s)) => s.clone(),
                    _ => String::new(),
                };
                match a.name.as_str() {
                    "route_to" if d.route.is_none() => d.route = Some(Route::Group(arg)),
                    "route_to_agent" if d.route.is_none() => d.route = Some(Route::Agent(arg)),
                    "set_priority" if d.priority.is_none() => d.priority = Some(arg),
                    "tag" if !d.tags.contains(&arg) => d.tags.push(arg),
                    "auto_reply" => d.replies.push(arg),
                    "to_bot" => d.to_bot = true,
                    "offline" => d.offline = true,
                    _ => {}
                }
            }
            if !r.continues {
                break;
            }
        }
        d
    }

    fn eval<'a>(&'a self, n: &'a Node, ctx: &'a Context) -> Val<'a> {
        match n {
            Node::Str(s) => Val::Str(Cow::Borrowed(s)),
            Node::Num(x) => Val::Num(*x),
            Node::Bool(b) => Val::Bool(*b),
            Node::Null => Val::Null,
            Node::List(items) => Val::List(items.iter().map(|i| self.eval(i, ctx)).collect()),
            Node::Var(v) => v.get(ctx),
            Node::Not(a) => Val::Bool(!self.eval(a, ctx).truthy()),
            Node::And(a, b) => Val::Bool(self.eval(a, ctx).truthy() && self.eval(b, ctx).truthy()),
            Node::Or(a, b) => Val::Bool(self.eval(a, ctx).truthy() || self.eval(b, ctx).truthy()),
            Node::Matches(l, re) => Val::Bool(match self.eval(l, ctx) {
                Val::Str(s) => self.regexes.get(*re).is_some_and(|re| re.is_match(&s)),
                _ => false,
            }),
            Node::Cmp(l, op, r) => Val::Bool(compare(&self.eval(l, ctx), *op, &self.eval(r, ctx))),
            Node::Between(a, b) => {
                // Saturating: a simulated context may carry any numbers.
                let now = ctx
                    .time
                    .hour
                    .saturating_mul(60)
                    .saturating_add(ctx.time.minute);
                Val::Bool(if a <= b {
                    *a <= now && now < *b
                } else {
                    now >= *a || now < *b
                })
            }
            Node::Group(name, field) => {
                let g = ctx.groups.get(name).copied().unwrap_or_default();
                match field {
                    GroupField::Online => Val::Num(f64::from(g.online)),
                    GroupField::Available => Val::Num(f64::from(g.available)),
                    GroupField::Queue => Val::Num(f64::from(g.queue)),
                    GroupField::Open => Val::Bool(g.open),
                }
            }
        }
    }

    /// Why a condition is false: the first failing part, with the values it saw.
    fn why_not(&self, e: &Expr, n: &Node, ctx: &Context) -> String {
        if let (Expr::And(ea, eb), Node::And(na, nb)) = (e, n) {
            return if !self.eval(na, ctx).truthy() {
                self.why_not(ea, na, ctx)
            } else {
                self.why_not(eb, nb, ctx)
            };
        }
        let mut s = format!("`{}` is false", render(e));
        let mut vars = Vec::new();
        vars_of(e, &mut vars);
        vars.dedup();
        for v in vars.iter().take(4) {
            let _ = write!(
                s,
                "; {} = {}",
                v.join("."),
                VarRef::resolve(v).get(ctx).show()
            );
        }
        s
    }
}

fn compare(l: &Val, op: CmpOp, r: &Val) -> bool {
    match (op, l, r) {
        (CmpOp::Eq, a, b) => eq(a, b),
        (CmpOp::Ne, a, b) => !eq(a, b) && *a != Val::Null,
        (CmpOp::Lt, Val::Num(a), Val::Num(b)) => a < b,
        (CmpOp::Le, Val::Num(a), Val::Num(b)) => a <= b,
        (CmpOp::Gt, Val::Num(a), Val::Num(b)) => a > b,
        (CmpOp::Ge, Val::Num(a), Val::Num(b)) => a >= b,
        // Text search ignores case: "Refund" matches "refund".
        (CmpOp::Contains, Val::Str(a), Val::Str(b)) => contains_ignore_case(a, b),
        (CmpOp::Contains, Val::List(a), b) => a.iter().any(|x| eq(x, b)),
        (CmpOp::In, a, Val::List(b)) => b.iter().any(|x| eq(a, x)),
        _ => false,
    }
}

/// Case-insensitive `contains`, without allocating for ASCII text.
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(&needle.to_lowercase())
}

fn eq(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, _) | (_, Val::Null) => false,
        (Val::Num(x), Val::Num(y)) => (x - y).abs() < 1e-9,
        _ => a == b,
    }
}

fn vars_of(e: &Expr, out: &mut Vec<Vec<String>>) {
    match e {
        Expr::Var(p, _) => out.push(p.clone()),
        Expr::Cmp(a, _, b, _) | Expr::And(a, b) | Expr::Or(a, b) => {
            vars_of(a, out);
            vars_of(b, out);
        }
        Expr::Not(a, _) => vars_of(a, out),
        Expr::List(items, _) => items.iter().for_each(|i| vars_of(i, out)),
        Expr::Call { args, .. } => args.iter().for_each(|i| vars_of(i, out)),
        Expr::Lit(..) => {}
    }
}

/// An expression written back as DSL text (for explanations).
pub fn render(e: &Expr) -> String {
    match e {
        Expr::Lit(Lit::Str(s), _) => format!("{s:?}"),
        Expr::Lit(Lit::Num(n), _) => format!("{n}"),
        Expr::Lit(Lit::Bool(b), _) => format!("{b}"),
        Expr::List(items, _) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Expr::Var(p, _) => p.join("."),
        Expr::Not(a, _) => format!("!{}", render(a)),
        Expr::And(a, b) => format!("({} && {})", render(a), render(b)),
        Expr::Or(a, b) => format!("({} || {})", render(a), render(b)),
        Expr::Cmp(a, op, b, _) => format!("{} {} {}", render(a), op.as_str(), render(b)),
        Expr::Call {
            func, args, field, ..
        } => format!(
            "{func}({}){}",
            args.iter().map(render).collect::<Vec<_>>().join(", "),
            field.as_ref().map(|f| format!(".{f}")).unwrap_or_default()
        ),
    }
}
