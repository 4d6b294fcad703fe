//! What the hub reads of other systems' HTTP answers, for the relay's deliveries and the
//! once-only register look-ups alike.

/// For a redirect (3xx), where it pointed, as errors say it: " to <Location>" without its
/// query or fragment (a signed URL's token stays out of dead letters, errors and the audit
/// log), at most 200 characters, or that there was no Location the hub could read. `None` for
/// any other answer.
pub fn redirect_target(resp: &reqwest::Response) -> Option<String> {
    if !resp.status().is_redirection() {
        return None;
    }
    Some(match resp.headers().get(reqwest::header::LOCATION) {
        Some(v) => {
            let l = String::from_utf8_lossy(v.as_bytes());
            let l = l.split(['?', '#']).next().unwrap_or_default();
            format!(" to {}", l.chars().take(200).collect::<String>())
        }
        None => " with no Location the hub could read".to_string(),
    })
}
