//! The bot's pure core (docs/bot.md): everything the bot decides, with no
//! I/O, so it is unit-tested, property-tested and fast.
//!
//! - [`kb`]: knowledge-base entries and their checks; [`formats`]: import
//!   and export as JSON, CSV and a Markdown FAQ.
//! - [`text`]: language detection and the analyzer (jieba words and
//!   character bigrams for Chinese, stemmed words for English).
//! - [`bm25`]: the lexical retrieval index over every phrasing of every entry.
//! - [`handoff`]: "转人工" / "talk to a person" detection.
//! - [`policy`]: merging plugins' candidates and deciding to answer,
//!   clarify or hand off, with the reason.
//! - [`semantic`]: sentence-embedding retrieval over given vectors and the
//!   cosine-to-confidence mapping; [`rag`]: the LLM plugin's prompt and
//!   the reading of its reply (citations, "I don't know").
//! - [`sensitive`]: the sensitive-word filter (mask, block, flag).
//! - [`eval`]: the metrics of `kefu bot eval`.

pub mod bm25;
pub mod dialog;
pub mod eval;
pub mod formats;
pub mod handoff;
pub mod kb;
pub mod pipeline;
pub mod policy;
pub mod rag;
pub mod semantic;
pub mod sensitive;
pub mod text;

pub use kb::{Entry, EntryError, Lang};
