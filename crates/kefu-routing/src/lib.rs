//! kefu's routing engine, pure (no I/O): the rule DSL (lexer, parser, type
//! checker, evaluator with an explanation of every decision), agent
//! assignment strategies, the priority queue and business hours in a time
//! zone. The server gathers the context, calls this, and applies the result
//! atomically in the store. The DSL is documented in docs/rules.md.

pub mod assign;
pub mod ast;
pub mod check;
pub mod clock;
pub mod error;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod queue;
pub mod rename;

pub use check::Known;
pub use error::{Pos, RuleError};
pub use eval::{Context, Decision, Engine, Route};
pub use rename::rename_group;

/// Parses and checks a rule set; the result is ready to run.
pub fn compile(src: &str, known: &Known) -> Result<Engine, RuleError> {
    let rules = parser::parse(src)?;
    check::check(&rules, known)?;
    Ok(Engine::new(rules))
}
