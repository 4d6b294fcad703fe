//! `[audit]` of the hub's configuration: the log's name, the signing key, checkpoints.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[audit]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// The log's name: the origin line of its checkpoints and the name of the hub's signing
    /// key (a URL without scheme, no spaces, no '+').
    #[serde(default = "default_origin")]
    pub origin: String,
    /// The hub's Ed25519 signing key (base64 seed). Created on first start if missing; empty:
    /// `signing.key` in the data directory. Relative paths are relative to the config file.
    #[serde(default)]
    pub key_file: PathBuf,
    /// A signed checkpoint is made after this many new entries…
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
    /// …or this many seconds after the last one, if the log has grown since.
    #[serde(default = "default_checkpoint_secs")]
    pub checkpoint_secs: u64,
}

fn default_origin() -> String {
    "lienthong.local/audit".into()
}
fn default_checkpoint_every() -> u64 {
    1000
}
fn default_checkpoint_secs() -> u64 {
    10
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            origin: default_origin(),
            key_file: PathBuf::new(),
            checkpoint_every: default_checkpoint_every(),
            checkpoint_secs: default_checkpoint_secs(),
        }
    }
}

impl AuditConfig {
    /// The key file, with its default beside the store.
    pub fn key_path(&self, data_dir: &Path) -> PathBuf {
        if self.key_file.as_os_str().is_empty() {
            data_dir.join("signing.key")
        } else {
            self.key_file.clone()
        }
    }
}
