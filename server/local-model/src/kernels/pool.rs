//! A persistent pool of worker threads that split one parallel loop at a time with the calling
//! thread. Decoding one token runs some two hundred matrix products of a few microseconds to a
//! millisecond each, so threads are never spawned per product and idle workers spin briefly
//! before they sleep: a condition-variable wake-up per product would cost as much as the work.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins for the next job before it sleeps.
const SPIN: Duration = Duration::from_millis(3);

type Job = &'static (dyn Fn(usize) + Sync);

struct Shared {
    /// Bumped once per job; workers start a job when they see it change.
    generation: AtomicUsize,
    job: Mutex<Option<Job>>,
    tasks: AtomicUsize,
    next: AtomicUsize,
    /// Workers that have not finished the current job.
    pending: AtomicUsize,
    sleepers: AtomicUsize,
    wake: Condvar,
    sleep: Mutex<()>,
    panicked: AtomicBool,
    shutdown: AtomicBool,
}

/// The pool: `threads - 1` workers plus the thread that calls [`Pool::run`].
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// A pool computing on `threads` threads in all (at least 1).
    pub fn new(threads: usize) -> Self {
        let shared = Arc::new(Shared {
            generation: AtomicUsize::new(0),
            job: Mutex::new(None),
            tasks: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            wake: Condvar::new(),
            sleep: Mutex::new(()),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
        });
        let workers = (1..threads.max(1))
            .filter_map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("spark-local-{i}"))
                    .spawn(move || worker(&shared))
                    .ok()
            })
            .collect();
        Self { shared, workers }
    }

    /// Threads computing, the caller included.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Calls `f(i)` for every `i < tasks`, spread over the pool; returns when all are done.
    /// A panic in any task is re-raised here once every thread has let go of `f`.
    pub fn run(&self, tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        if self.workers.is_empty() || tasks <= 1 {
            (0..tasks).for_each(f);
            return;
        }
        let s = &*self.shared;
        // SAFETY: the 'static lifetime is a lie told only to the workers, and this function
        // does not return or unwind before every worker has stopped using the reference:
        // `pending` reaches zero only after each worker has finished its last call of `f` for
        // this generation and dropped its copy, and the slot is cleared before we return.
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
        *lock(&s.job) = Some(job);
        s.tasks.store(tasks, Ordering::SeqCst);
        s.next.store(0, Ordering::SeqCst);
        s.pending.store(self.workers.len(), Ordering::SeqCst);
        s.generation.fetch_add(1, Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = lock(&s.sleep);
            s.wake.notify_all();
        }
        let mine = catch_unwind(AssertUnwindSafe(|| claim(s, f)));
        let mut spins = 0u32;
        while s.pending.load(Ordering::Acquire) > 0 {
            spins += 1;
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        *lock(&s.job) = None;
        if let Err(panic) = mine {
            resume_unwind(panic);
        }
        if s.panicked.swap(false, Ordering::SeqCst) {
            panic!("a local model worker thread panicked");
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        {
            let _guard = lock(&self.shared.sleep);
            self.shared.wake.notify_all();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// Runs tasks of the current job until none is left.
fn claim(s: &Shared, f: &(dyn Fn(usize) + Sync)) {
    let tasks = s.tasks.load(Ordering::SeqCst);
    loop {
        let i = s.next.fetch_add(1, Ordering::SeqCst);
        if i >= tasks {
            break;
        }
        f(i);
    }
}

fn worker(s: &Shared) {
    // Generation 0 is "no job yet", whatever `run` did before this thread got going.
    let mut seen = 0;
    loop {
        let started = Instant::now();
        let mut spins = 0u32;
        while s.generation.load(Ordering::SeqCst) == seen {
            spins = spins.wrapping_add(1);
            std::hint::spin_loop();
            if spins % 1024 == 0 && started.elapsed() > SPIN {
                let mut guard = lock(&s.sleep);
                s.sleepers.fetch_add(1, Ordering::SeqCst);
                while s.generation.load(Ordering::SeqCst) == seen {
                    guard = s.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                s.sleepers.fetch_sub(1, Ordering::SeqCst);
            }
        }
        seen = s.generation.load(Ordering::SeqCst);
        if s.shutdown.load(Ordering::SeqCst) {
            return;
        }
        {
            let job = *lock(&s.job);
            let failed =
                job.is_some_and(|job| catch_unwind(AssertUnwindSafe(|| claim(s, job))).is_err());
            if failed {
                s.panicked.store(true, Ordering::SeqCst);
            }
        }
        s.pending.fetch_sub(1, Ordering::Release);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
