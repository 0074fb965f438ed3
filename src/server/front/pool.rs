//! Threads for the front door, reused across connections.
//!
//! A job runs on an idle thread when there is one and on a new thread
//! otherwise; a thread idle for [`IDLE_EXIT`] ends. The number of jobs is
//! bounded by the caller (the connection cap), so the pool needs no bound of
//! its own. Reuse keeps short connections from paying for a thread spawn.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a thread waits for a new job before it ends.
const IDLE_EXIT: Duration = Duration::from_secs(30);

/// Stack size of a front-door thread: its buffers live on the heap.
const STACK: usize = 256 * 1024;

type Job = Box<dyn FnOnce() + Send>;

struct Shared {
    rx: Mutex<Receiver<Job>>,
    /// Threads waiting for a job, minus jobs sent but not yet taken.
    idle: AtomicUsize,
}

/// The pool. Cheap to share behind an `Arc`.
pub(crate) struct Pool {
    tx: Mutex<Sender<Job>>,
    shared: Arc<Shared>,
    name: &'static str,
}

impl Pool {
    pub(crate) fn new(name: &'static str) -> Pool {
        let (tx, rx) = mpsc::channel();
        Pool {
            tx: Mutex::new(tx),
            shared: Arc::new(Shared {
                rx: Mutex::new(rx),
                idle: AtomicUsize::new(0),
            }),
            name,
        }
    }

    /// Runs `job` on a pool thread. Fails only when no thread can be started.
    pub(crate) fn spawn(&self, job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let job: Job = Box::new(job);
        let claimed = self
            .shared
            .idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if claimed {
            let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(mpsc::SendError(job)) = tx.send(job) {
                // Cannot happen while `self` holds the receiver's Arc.
                drop(tx);
                return self.start(job);
            }
            return Ok(());
        }
        self.start(job)
    }

    fn start(&self, job: Job) -> std::io::Result<()> {
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name(self.name.to_owned())
            .stack_size(STACK)
            .spawn(move || run(job, &shared))
            .map(drop)
    }
}

fn run(first: Job, shared: &Shared) {
    first();
    'wait: loop {
        shared.idle.fetch_add(1, Ordering::AcqRel);
        loop {
            let next = {
                let rx = shared.rx.lock().unwrap_or_else(|e| e.into_inner());
                rx.recv_timeout(IDLE_EXIT)
            };
            match next {
                Ok(job) => {
                    job();
                    continue 'wait;
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Leave only if no job was promised to the waiting
                    // threads (idle ≥ 1 means more threads wait than jobs
                    // are queued); otherwise keep waiting, still counted.
                    let left = shared
                        .idle
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                        .is_ok();
                    if left {
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_reused() {
        let pool = Pool::new("test-pool");
        let (tx, rx) = mpsc::channel();
        for _ in 0..20 {
            let tx = tx.clone();
            pool.spawn(move || {
                let _ = tx.send(std::thread::current().id());
            })
            .unwrap();
            // Give the thread time to go back to waiting.
            rx.recv_timeout(Duration::from_secs(5)).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut ids = std::collections::HashSet::new();
        for _ in 0..20 {
            let tx = tx.clone();
            pool.spawn(move || {
                let _ = tx.send(std::thread::current().id());
            })
            .unwrap();
            ids.insert(rx.recv_timeout(Duration::from_secs(5)).unwrap());
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(ids.len(), 1, "one thread ran every sequential job");
    }

    #[test]
    fn concurrent_jobs_get_their_own_threads() {
        let pool = Pool::new("test-pool");
        let barrier = Arc::new(std::sync::Barrier::new(9));
        for _ in 0..8 {
            let b = barrier.clone();
            pool.spawn(move || {
                b.wait();
            })
            .unwrap();
        }
        // Would deadlock if two jobs shared a thread.
        barrier.wait();
    }
}
