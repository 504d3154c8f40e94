//! Helpers of the bus tests (tests/bus.rs), one concern per file.

pub mod brokers;
pub mod check;
pub mod traffic;
