//! The complaint writer threads (group commit): every complaint queued while the previous
//! batch was being made durable is committed in the next transaction, and each request is
//! answered only after the batch holding it is durable. One fsync then serves many
//! complaints, and requests wait in a fair FIFO queue instead of contending for the
//! database. What a batch writes, and how repeats are found, is `domain::case::intake`.
//!
//! SQLite has one writer at a time, so it gets one writer thread. PostgreSQL takes
//! concurrent transactions and each statement is a network round trip, so there several
//! writer threads take turns at the queue and commit their batches side by side.

use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use prometheus::{Histogram, HistogramOpts};
use tokio::sync::oneshot;

use crate::db::{Backend, Db, DbError};
use crate::domain::alert::AlertContext;
use crate::domain::case::intake::{prepare, store_batch, Outcome, Pending, Receipt, Submission};
use crate::jobs::outbox::OutboxWaker;

/// Most complaints committed in one transaction.
pub const MAX_BATCH: usize = 256;

/// Writer threads on PostgreSQL: two keep its commits overlapping (one batch is written
/// while the other's commit is flushed), well under the pool's 16 connections so that
/// readers always find one. Four made smaller batches, so more statements and commits per
/// complaint: on 2 cores two writers took 5% more posts at 200 connections and 19% more
/// at 50 (bench/RESULTS.md).
const POSTGRES_WRITERS: usize = 2;

/// A complaint in the queue, and the request waiting for its fate.
struct Job {
    pending: Pending,
    queued_at: Instant,
    reply: oneshot::Sender<Outcome>,
}

/// Where a complaint's storage time goes, for `/metrics`: waiting for a writer, and the
/// writing of the batch it joined, up to its durable commit. With the HTTP latency of the
/// POST, these tell a slow disk or database from a busy server.
#[derive(Clone)]
pub struct IntakeTimes {
    pub waited: Histogram,
    pub stored: Histogram,
    pub batch_size: Histogram,
}

impl IntakeTimes {
    pub fn new() -> Result<IntakeTimes, prometheus::Error> {
        let seconds = |name: &str, help: &str| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
            ]))
        };
        Ok(IntakeTimes {
            waited: seconds(
                "mend_intake_wait_seconds",
                "Time a complaint waited in the queue until a writer took it",
            )?,
            stored: seconds(
                "mend_intake_batch_seconds",
                "Time to store a batch of complaints, up to its durable commit",
            )?,
            batch_size: Histogram::with_opts(
                HistogramOpts::new(
                    "mend_intake_batch_size",
                    "Complaints committed together in one transaction",
                )
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            )?,
        })
    }
}

/// The queue to the writer thread. Dropping the last handle ends the thread once the
/// queue is empty.
#[derive(Clone)]
pub struct IntakeQueue {
    jobs: mpsc::Sender<Job>,
    /// The clock the alert rows and escalations of a case are stamped by: its own times
    /// come from the same one, so "received" and "escalate at" never disagree.
    clock: crate::domain::clock::Clock,
}

impl IntakeQueue {
    pub fn start(
        db: Db,
        alerts: AlertContext,
        waker: OutboxWaker,
        times: IntakeTimes,
    ) -> IntakeQueue {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let clock = alerts.clock.clone();
        let writers = match db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => POSTGRES_WRITERS,
        };
        for n in 0..writers {
            let (db, alerts, waker, queue, times) = (
                db.clone(),
                alerts.clone(),
                waker.clone(),
                queue.clone(),
                times.clone(),
            );
            let spawned = std::thread::Builder::new()
                .name(format!("mend-intake-{n}"))
                .spawn(move || write_batches(&db, &alerts, &waker, &queue, &times));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "intake writer thread did not start");
            }
        }
        IntakeQueue { jobs, clock }
    }

    pub async fn submit(&self, key: &[u8], s: Submission<'_>) -> Result<Receipt, DbError> {
        let (pending, token) = prepare(key, &s, self.clock.now());
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                pending,
                queued_at: Instant::now(),
                reply,
            })
            .map_err(|_| DbError::Stopped("the intake writer"))?;
        let (reference, repeated) = answer
            .await
            .map_err(|_| DbError::Stopped("the intake writer"))??;
        Ok(Receipt {
            reference,
            token,
            repeated,
        })
    }
}

/// The next batch: waits for one complaint, then takes whatever else is queued. Holding
/// the queue while waiting is what makes writers take turns.
fn next_batch(queue: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    // A writer that panicked held no job of anyone else's; the queue is still good.
    let queue = queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut batch = vec![queue.recv().ok()?];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn write_batches(
    db: &Db,
    alerts: &AlertContext,
    waker: &OutboxWaker,
    queue: &Mutex<mpsc::Receiver<Job>>,
    times: &IntakeTimes,
) {
    while let Some(batch) = next_batch(queue) {
        let taken = Instant::now();
        for job in &batch {
            times
                .waited
                .observe(taken.duration_since(job.queued_at).as_secs_f64());
        }
        let (mut pending, replies): (Vec<Pending>, Vec<_>) = batch
            .into_iter()
            .map(|job| (job.pending, job.reply))
            .unzip();
        let stored = store_batch(db, alerts, &mut pending);
        times.stored.observe(taken.elapsed().as_secs_f64());
        times.batch_size.observe(replies.len() as f64);
        match stored {
            Ok(outcomes) => {
                waker.wake();
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                // Nothing of this batch was committed: every sender hears so.
                let message = e.to_string();
                tracing::error!(error = %message, size = replies.len(), "complaint batch not stored");
                for reply in replies {
                    let _ = reply.send(Err(DbError::Batch(message.clone())));
                }
            }
        }
    }
}
