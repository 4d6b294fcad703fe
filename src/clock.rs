//! Wall-clock time as the hub writes it: RFC 3339, UTC, milliseconds.

/// Now, as RFC 3339 in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
