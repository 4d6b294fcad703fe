//! Look-ups of idempotency keys made together: every push asks whether its key was accepted
//! before (on any node), and on a database that is a round trip and a transaction each. While
//! one look-up is under way, the keys asked meanwhile wait and go together in the next, so that
//! under load a few transactions answer many pushes and an idle hub answers each at once.

use crate::store::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

/// What one look-up of many keys found (key → exchange), or why it failed.
type Found = Result<Arc<HashMap<String, String>>, Arc<StoreError>>;

#[derive(Default)]
struct State {
    /// The keys of the next look-up, and its number.
    next: Vec<String>,
    next_round: u64,
    /// A look-up is under way.
    running: bool,
    /// The answers of finished rounds not yet taken by all of their callers: (answer, callers
    /// left).
    answers: HashMap<u64, (Found, usize)>,
}

/// Gathers look-ups of keys into rounds of one `seen_many` each.
#[derive(Default)]
pub(super) struct Together {
    state: Mutex<State>,
    done: Condvar,
}

impl Together {
    /// Whether `key` was accepted, and as which exchange, asking `many` for every key waiting
    /// at once.
    pub(super) fn seen(
        &self,
        key: &str,
        many: impl Fn(&[String]) -> Result<HashMap<String, String>, StoreError>,
    ) -> Result<Option<String>, StoreError> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let round = s.next_round;
        s.next.push(key.to_string());
        loop {
            if let Some((found, left)) = s.answers.get_mut(&round) {
                let out = match found {
                    Ok(m) => Ok(m.get(key).cloned()),
                    Err(e) => Err(again(e)),
                };
                *left -= 1;
                if *left == 0 {
                    s.answers.remove(&round);
                }
                return out;
            }
            if !s.running && s.next_round == round {
                // This caller asks for its round and everyone in it.
                s.running = true;
                s.next_round += 1;
                let keys = std::mem::take(&mut s.next);
                drop(s);
                // A look-up that panicked fails its round rather than leaving its callers waiting.
                let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| many(&keys)))
                    .unwrap_or_else(|_| {
                        Err(StoreError::Format(
                            "the look-up of idempotency keys failed".into(),
                        ))
                    })
                    .map(Arc::new)
                    .map_err(Arc::new);
                s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                s.running = false;
                s.answers.insert(round, (found, keys.len()));
                self.done.notify_all();
                continue;
            }
            s = self.done.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The same failure again, for each caller of a round (a store error is not `Clone`): of the
/// same kind where the kind tells the caller what to do (a database away is tried again).
fn again(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable { action, .. } => StoreError::Unavailable {
            action,
            source: e.to_string().into(),
        },
        StoreError::Unwritable(cause) => StoreError::Unwritable(cause.clone()),
        other => StoreError::Format(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn keys_asked_while_a_look_up_runs_go_together_in_the_next_and_each_gets_its_answer() {
        let t = Arc::new(Together::default());
        let rounds = Arc::new(AtomicUsize::new(0));
        let many = {
            let (rounds, t) = (rounds.clone(), t.clone());
            move |keys: &[String]| {
                // The first round lasts until the eight other callers have queued their keys.
                if rounds.fetch_add(1, Ordering::SeqCst) == 0 {
                    while t.state.lock().unwrap().next.len() < 8 {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                }
                Ok(keys
                    .iter()
                    .filter(|k| k.starts_with("old"))
                    .map(|k| (k.clone(), format!("x-{k}")))
                    .collect())
            }
        };
        let first = {
            let (t, many) = (t.clone(), many.clone());
            std::thread::spawn(move || t.seen("old-0", many))
        };
        while rounds.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let others: Vec<_> = (1..=8)
            .map(|i| {
                let (t, many) = (t.clone(), many.clone());
                let key = if i % 2 == 0 {
                    format!("old-{i}")
                } else {
                    format!("new-{i}")
                };
                std::thread::spawn(move || (key.clone(), t.seen(&key, many)))
            })
            .collect();
        assert_eq!(first.join().unwrap().unwrap().as_deref(), Some("x-old-0"));
        for h in others {
            let (key, found) = h.join().unwrap();
            let found = found.unwrap();
            if key.starts_with("old") {
                assert_eq!(found, Some(format!("x-{key}")));
            } else {
                assert_eq!(found, None);
            }
        }
        assert_eq!(
            rounds.load(Ordering::SeqCst),
            2,
            "the eight keys asked while the first look-up ran went together"
        );
        assert!(
            t.state.lock().unwrap().answers.is_empty(),
            "every answer taken"
        );
    }

    #[test]
    fn a_failed_look_up_fails_each_of_its_callers_with_the_same_kind() {
        let t = Together::default();
        let e = t
            .seen("k", |_| {
                Err(StoreError::Unavailable {
                    action: "read dedup",
                    source: "connection refused".into(),
                })
            })
            .unwrap_err();
        assert!(matches!(e, StoreError::Unavailable { .. }), "{e}");
        assert!(e.to_string().contains("connection refused"));
    }
}
