//! Who is asking: passwords, tokens, API keys, and the [`Principal`] every
//! request and connection is resolved to before it touches data.

pub mod password;
pub mod principal;
pub mod roles;
pub mod tokens;

pub use principal::{Auth, Principal};
pub use roles::{Admin, Staff};
