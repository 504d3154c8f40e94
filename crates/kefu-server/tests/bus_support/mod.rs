//! Helpers of the bus tests (tests/bus.rs), one concern per file.

pub mod amqp;
pub mod check;
pub mod machine;
pub mod nats;
pub mod traffic;
