//! Who is asking: passwords, tokens, API keys, and the [`Principal`] every
//! request and connection is resolved to before it touches data.

pub mod password;
pub mod principal;
pub mod roles;
pub mod scopes;
pub mod signature;
pub mod tokens;

pub use principal::{Auth, Principal};
pub use roles::{Admin, Staff};
pub use scopes::{Caller, Scope, Scoped, Scopes, need};
