//! Configuration the hub reads: adapter definitions (`adapter`), and the hub's own settings.
//!
//! Every type here is a serde struct with `deny_unknown_fields` and a doc comment on every
//! field: the comments are the user's manual, and the shipped files under `adapters/` and
//! `config/` are commented examples of them.

pub mod adapter;
pub mod audit;
pub mod hub;
pub mod policy;
