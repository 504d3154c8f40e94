//! The pure core of kefu: the vocabulary every other crate speaks.
//!
//! Nothing in this crate performs I/O, so everything here is unit- and
//! property-tested in isolation and can be fuzzed.

pub mod bot;
pub mod conversation;
pub mod event;
pub mod ids;
pub mod macros;
pub mod mention;
pub mod message;
pub mod protocol;
pub mod role;
pub mod search;
pub mod sensitive;
pub mod text;
pub mod words;

pub use conversation::{ConversationStatus, TransitionError};
pub use ids::{ContactId, ConversationId, UserId, WorkspaceId};
pub use message::{AttachmentRef, Message, MessageKind, Sender, SenderKind, Waiting};
pub use role::{AgentStatus, Role};
pub use words::{Priority, Strategy};

/// Milliseconds since the Unix epoch: the one time representation in storage
/// and on the wire, identical on SQLite and PostgreSQL.
pub type Millis = i64;
