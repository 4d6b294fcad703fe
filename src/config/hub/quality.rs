//! `[quality]`: the service-quality indicators of Decision 766/QĐ-TTg (`crate::quality`).

use serde::Deserialize;

/// `[quality]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityConfig {
    /// Keep the indicators (a thread follows the audit log); false: `/v1/quality` answers 404.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// The destinations (adapter names) that are the national portal: a dossier is
    /// synchronised when one of them accepted its dossier record.
    #[serde(default = "default_portal")]
    pub portal: Vec<String>,
}

fn default_enabled() -> bool {
    true
}

fn default_portal() -> Vec<String> {
    vec!["national-portal".into()]
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            enabled: default_enabled(),
            portal: default_portal(),
        }
    }
}
