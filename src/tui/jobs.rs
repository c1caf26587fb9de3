//! One job of a kind at a time: registry checks and rescans each run alone, and asks
//! that arrive while one runs are merged into a single next run. Pressing `r` sixty
//! times, or a home changing faster than it can be scanned, costs one job in flight and
//! one waiting — never a pile of threads, connections and full rescans.

use super::model::RowKey;
use std::sync::{Arc, Mutex};

/// What a waiting job will do, merged from every ask that came in meanwhile.
pub trait Merge {
    fn merge(self, other: Self) -> Self;
}

impl Merge for () {
    fn merge(self, _: Self) -> Self {}
}

/// Which identities a registry check asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    All,
    Only(Vec<RowKey>),
}

impl From<Option<Vec<RowKey>>> for Wanted {
    fn from(only: Option<Vec<RowKey>>) -> Self {
        only.map_or(Self::All, Self::Only)
    }
}

impl Wanted {
    pub fn keys(&self) -> Option<&[RowKey]> {
        match self {
            Self::All => None,
            Self::Only(k) => Some(k),
        }
    }
}

impl Merge for Wanted {
    fn merge(self, other: Self) -> Self {
        match (self, other) {
            (Self::Only(mut a), Self::Only(b)) => {
                for k in b {
                    if !a.contains(&k) {
                        a.push(k);
                    }
                }
                Self::Only(a)
            }
            _ => Self::All,
        }
    }
}

/// Whether a job of this kind runs, and the merged ask waiting for it (with how many
/// asks it stands for).
pub struct Queue<T> {
    running: bool,
    waiting: Option<(T, u32)>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self {
            running: false,
            waiting: None,
        }
    }
}

fn lock<T>(q: &Mutex<Queue<T>>) -> std::sync::MutexGuard<'_, Queue<T>> {
    q.lock().unwrap_or_else(|e| e.into_inner())
}

/// `Some((t, 1))` when the caller is to start a job now; `None` when one runs (the ask
/// waits, merged, and that job runs it next).
pub fn start<T: Merge>(q: &Mutex<Queue<T>>, t: T) -> Option<(T, u32)> {
    let mut g = lock(q);
    if g.running {
        g.waiting = Some(match g.waiting.take() {
            Some((w, n)) => (w.merge(t), n.saturating_add(1)),
            None => (t, 1),
        });
        return None;
    }
    g.running = true;
    Some((t, 1))
}

/// Called by the running job when it ends: what to run next, or `None` (the queue is
/// idle again).
pub fn next<T>(q: &Mutex<Queue<T>>) -> Option<(T, u32)> {
    let mut g = lock(q);
    let w = g.waiting.take();
    if w.is_none() {
        g.running = false;
    }
    w
}

/// Held by the running job: should it die (a panic), the queue is freed, so later asks
/// start a new job instead of waiting forever.
pub struct Turn<T>(pub Arc<Mutex<Queue<T>>>);

impl<T> Drop for Turn<T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut g = lock(&self.0);
            g.running = false;
            g.waiting = None;
        }
    }
}

/// Debug builds: each rescan's start and end appended to the file named by
/// CAPISCIO_TUI_TEST_SCANS, so a test can see that rescans never overlap.
#[cfg(debug_assertions)]
pub fn trace_scan(what: &str) {
    use std::io::Write;
    if let Some(p) = std::env::var_os("CAPISCIO_TUI_TEST_SCANS")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
    {
        let _ = writeln!(f, "{what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::Kind;

    fn key(id: &str) -> RowKey {
        (Kind::Agent, id.into(), format!("/h/{id}"))
    }

    #[test]
    fn asks_while_a_job_runs_merge_into_one_next_job() {
        let q = Mutex::new(Queue::default());
        assert_eq!(
            start(&q, Wanted::Only(vec![key("a")])),
            Some((Wanted::Only(vec![key("a")]), 1))
        );
        for _ in 0..60 {
            assert_eq!(start(&q, Wanted::Only(vec![key("b")])), None);
        }
        assert_eq!(start(&q, Wanted::Only(vec![key("c")])), None);
        assert_eq!(
            next(&q),
            Some((Wanted::Only(vec![key("b"), key("c")]), 61)),
            "one job for 61 asks"
        );
        assert_eq!(start(&q, Wanted::All), None);
        assert_eq!(start(&q, Wanted::Only(vec![key("d")])), None);
        assert_eq!(next(&q), Some((Wanted::All, 2)));
        assert_eq!(next(&q), None, "idle");
        assert!(
            start(&q, Wanted::All).is_some(),
            "the next ask starts at once"
        );
    }

    #[test]
    fn a_job_that_panics_frees_the_queue() {
        let q = Arc::new(Mutex::new(Queue::<()>::default()));
        assert!(start(&q, ()).is_some());
        let turn = Turn(q.clone());
        let r = std::thread::spawn(move || {
            let _turn = turn;
            panic!("scan failed");
        })
        .join();
        assert!(r.is_err());
        assert!(start(&q, ()).is_some(), "a new job starts");
    }
}
