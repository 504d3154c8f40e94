//! Rule set errors: where (line:column, 1-based) and what was expected.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{line}:{col}: {message}", line = pos.line, col = pos.col)]
pub struct RuleError {
    #[serde(flatten)]
    pub pos: Pos,
    pub message: String,
}

impl RuleError {
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        RuleError {
            pos,
            message: message.into(),
        }
    }
}
