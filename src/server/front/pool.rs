//! Threads for the front door, reused across connections.
//!
//! A job runs on an idle thread when there is one and on a new thread
//! otherwise; a thread idle for [`IDLE_EXIT`] ends. The number of jobs is
//! bounded by the caller (the connection cap), so the pool needs no bound of
//! its own. Reuse keeps short connections from paying for a thread spawn.
//!
//! Every idle thread keeps its own clock: after a burst, all the threads it
//! left idle end about [`IDLE_EXIT`] later, and with them what each holds
//! (its stack's touched pages, the allocator's per-thread cache). (Waiting
//! on a channel behind a mutex, only the thread holding the mutex could time
//! out, so idle threads ended one per [`IDLE_EXIT`]: 256 of them took two
//! hours.)

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a thread waits for a new job before it ends.
const IDLE_EXIT: Duration = Duration::from_secs(30);

/// Stack size of a front-door thread: its buffers live on the heap.
const STACK: usize = 256 * 1024;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    /// Jobs handed to idle threads, not taken yet; never more than `idle`.
    queue: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
    /// Threads of the pool, busy or idle.
    threads: usize,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
    idle_exit: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pool. Cheap to share behind an `Arc`.
pub(crate) struct Pool {
    shared: Arc<Shared>,
    name: &'static str,
}

impl Pool {
    pub(crate) fn new(name: &'static str) -> Pool {
        Pool::with_idle_exit(name, IDLE_EXIT)
    }

    fn with_idle_exit(name: &'static str, idle_exit: Duration) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                cv: Condvar::new(),
                idle_exit,
            }),
            name,
        }
    }

    /// Runs `job` on a pool thread. Fails only when no thread can be started.
    pub(crate) fn spawn(&self, job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let job: Job = Box::new(job);
        {
            let mut s = self.shared.lock();
            // An idle thread leaves only when the queue is empty (it looks
            // under this lock), so a queued job always finds a thread.
            if s.queue.len() < s.idle {
                s.queue.push_back(job);
                drop(s);
                self.shared.cv.notify_one();
                return Ok(());
            }
            s.threads += 1;
        }
        let shared = self.shared.clone();
        let started = std::thread::Builder::new()
            .name(self.name.to_owned())
            .stack_size(STACK)
            .spawn(move || run(job, &shared));
        if started.is_err() {
            self.shared.lock().threads -= 1;
        }
        started.map(drop)
    }

    /// Threads of the pool, busy or idle.
    #[cfg(test)]
    fn threads(&self) -> usize {
        self.shared.lock().threads
    }
}

/// Counts a pool thread out when it ends, even by a panicking job.
struct Leave<'a>(&'a Shared);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.lock().threads -= 1;
    }
}

fn run(first: Job, shared: &Shared) {
    let _leave = Leave(shared);
    let mut job = first;
    loop {
        job();
        let mut s = shared.lock();
        s.idle += 1;
        let until = Instant::now() + shared.idle_exit;
        let next = loop {
            if let Some(j) = s.queue.pop_front() {
                break Some(j);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            s = shared
                .cv
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        };
        s.idle -= 1;
        drop(s);
        match next {
            Some(j) => job = j,
            None => return,
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

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

    #[test]
    fn every_idle_thread_ends_after_the_idle_time() {
        let idle_exit = Duration::from_millis(200);
        let pool = Pool::with_idle_exit("test-pool", idle_exit);
        let n = 12;
        let barrier = Arc::new(std::sync::Barrier::new(n + 1));
        for _ in 0..n {
            let b = barrier.clone();
            pool.spawn(move || {
                b.wait();
            })
            .unwrap();
        }
        barrier.wait();
        assert_eq!(pool.threads(), n);
        // All idle at about the same time, so all gone after about one
        // idle time; ending one at a time would take n of them.
        let deadline = Instant::now() + idle_exit * 4;
        while pool.threads() > 0 {
            assert!(
                Instant::now() < deadline,
                "{} of {n} threads still there",
                pool.threads()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // The pool still works after they ended.
        let (tx, rx) = mpsc::channel();
        pool.spawn(move || tx.send(()).unwrap()).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn a_panicking_job_is_counted_out() {
        let pool = Pool::with_idle_exit("test-pool", Duration::from_secs(30));
        pool.spawn(|| panic!("job panics")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while pool.threads() > 0 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
