//! Importing another customer-service system's history into a workspace.
//! One module per source system; today GOFLY (docs/import-gofly.md).

pub mod gofly;
mod summary;

pub use summary::{StepSummary, Summary};
