//! kefu's reports, pure (no I/O): what each metric means, computed from a
//! conversation's events as they happen.
//!
//! The server's `reports` outbox consumer turns every stored event into a
//! [`Step`], folds it into the conversation's [`ConvState`] with
//! [`fold::apply`], and stores the [`Fact`]s that come out (one row each:
//! a metric, when, how long, for which agent, group and inbox). A report is
//! then a sum over facts in a time range, grouped by day, hour of the week,
//! agent, group or inbox ([`summary`]). Definitions follow Chatwoot's
//! reporting events so that figures can be compared; docs/reports.md states
//! each one exactly, and the tests in [`fold`] pin them on constructed
//! timelines.

pub mod calendar;
pub mod fold;
pub mod metric;
pub mod range;
pub mod step;
pub mod summary;

pub use calendar::{AlwaysOpen, Calendar};
pub use fold::{ConvState, Fact, apply};
pub use metric::Metric;
pub use range::{GroupBy, Range, RangeError};
pub use step::Step;
pub use summary::{AggRow, SummaryRow, summarize};
