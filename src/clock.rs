//! Wall-clock time as the hub writes it: RFC 3339, UTC, milliseconds.

/// The format: fixed width, so that text order is time order.
pub const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// Now, as RFC 3339 in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format(FORMAT).to_string()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// A time given in milliseconds since the Unix epoch, written the same way.
pub fn rfc3339_ms(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format(FORMAT).to_string())
        .unwrap_or_default()
}
