//! lienthong: a connector hub for public administration.
//!
//! It sits between the national population register, the one-stop systems of provinces and
//! ministries and the national public-service portal, and it translates, validates, relays and
//! records every record that crosses it. Inside the hub every record is canonical JSON that
//! validates against a versioned schema (`validate`); external formats exist only at the edges,
//! described by declarative adapter files (`config::adapter`) and turned to and from canonical
//! form by the translation engine (`translate`).

pub mod api;
pub mod audit;
pub mod auth;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod http;
pub mod ingest;
pub mod merkle;
pub mod metrics;
pub mod model;
pub mod onceonly;
pub mod quality;
pub mod registry;
pub mod relay;
pub mod server;
pub mod signing;
pub mod sim;
pub mod store;
pub mod translate;
pub mod units;
pub mod validate;

/// A hash map for tables fixed when they load and read on every record (code tables, the
/// administrative units): foldhash, randomly seeded per process, several times faster than
/// the standard library's SipHash on short codes and names.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
