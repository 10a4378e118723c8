//! The one worker that sends every email (alerts, escalations, customer updates, surveys,
//! account links), fires due escalations and queues due surveys. It wakes the moment a
//! transaction enqueues mail, and polls once a second for what time has made due.
//!
//! Delivery: rows are claimed with a lease before sending, so several server processes on
//! one PostgreSQL never send the same row; a worker that dies mid-send leaves its rows
//! leased, and they come back (once) when the lease runs out. Up to [`MAX_IN_FLIGHT`]
//! messages are sent at once over pooled SMTP connections; without SMTP, a claim of up to
//! [`FILE_BATCH`] messages is written as .eml files together. The messages of a claim
//! are rendered together too, reading each store once.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::db::models::OutboxMessage;
use crate::db::queries::{escalations, outbox};
use crate::db::{Db, DbError};
use crate::domain::alert::escalation::{self, Fired};
use crate::domain::alert::AlertContext;
use crate::domain::mail::mask;
use crate::domain::mail::render::render_batch;
use crate::domain::mail::MailError;
use crate::jobs::mailer::{retry_delay, Mailer, SEND_TIMEOUT};

/// How often due retries and escalations are looked for when nothing wakes the worker.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How long the photo mover waits after the object store failed it.
const PHOTO_RETRY: Duration = Duration::from_secs(10);
/// Longer than any send may take, so a live worker always finishes before its lease ends.
pub const LEASE: Duration = Duration::from_secs(2 * SEND_TIMEOUT.as_secs());
pub const MAX_IN_FLIGHT: usize = 32;
/// Most .eml files written (and made durable together) per claim.
pub const FILE_BATCH: usize = 64;
/// After this many transient failures a message is given up (about 16 hours of retries).
pub const MAX_ATTEMPTS: i32 = 100;

/// Wakes the worker: called after a commit that enqueued mail.
#[derive(Clone)]
pub struct OutboxWaker(Arc<Notify>, Arc<Drain>);

/// "Run until idle": how many times someone asked the worker to finish everything that is
/// due, and how many of those asks it has answered.
struct Drain {
    asked: std::sync::atomic::AtomicU64,
    answered: tokio::sync::watch::Sender<u64>,
}

impl Default for OutboxWaker {
    fn default() -> Self {
        OutboxWaker(
            Arc::default(),
            Arc::new(Drain {
                asked: 0.into(),
                answered: tokio::sync::watch::Sender::new(0),
            }),
        )
    }
}

impl OutboxWaker {
    pub fn wake(&self) {
        // Stores a permit when the worker is busy, so no wake-up is lost.
        self.0.notify_one();
    }

    /// Returns once the worker has done everything due at this moment by the app's clock
    /// (escalations fired, surveys queued, every due message sent or failed and recorded)
    /// and found nothing more. Tests drain, then assert, instead of sleeping and hoping.
    pub async fn until_idle(&self) {
        let ask = self
            .1
            .asked
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        let mut answered = self.1.answered.subscribe();
        self.wake();
        let _ = answered.wait_for(|n| *n >= ask).await;
    }

    fn asked(&self) -> u64 {
        self.1.asked.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn answer(&self, ask: u64) {
        self.1.answered.send_if_modified(|n| {
            let newer = ask > *n;
            if newer {
                *n = ask;
            }
            newer
        });
    }
}

pub struct OutboxWorker {
    pub db: Db,
    pub mailer: Arc<Mailer>,
    pub ctx: AlertContext,
    pub waker: OutboxWaker,
    pub webhooks: Arc<crate::jobs::webhooks::WebhookSender>,
    pub photos: crate::jobs::photo_store::PhotoStore,
}

type Delivery = (OutboxMessage, Result<(), MailError>);
type Posted = (
    crate::jobs::webhooks::Prepared,
    crate::jobs::webhooks::Outcome,
);

impl OutboxWorker {
    /// Runs until the future is dropped: delivery, and beside it (never in its way) the
    /// hourly retention pass.
    pub async fn run(self) {
        tokio::join!(
            self.deliver(),
            self.keep_retention(),
            self.keep_photos_moving()
        );
    }

    /// Retention's hourly pass, checked each second, on a blocking thread of its own: a
    /// long sweep of photo files never holds up an alert.
    async fn keep_retention(&self) {
        let mut checked = None;
        loop {
            self.apply_retention(&mut checked).await;
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    async fn deliver(&self) {
        match &*self.mailer {
            Mailer::Files { .. } => tracing::warn!(
                mail = %self.mailer.describe(),
                "MEND_SMTP_URL is not set: emails are written as .eml files, not sent"
            ),
            Mailer::Smtp { .. } => {
                tracing::info!(mail = %self.mailer.describe(), "outbox worker started")
            }
        }
        let mut in_flight: JoinSet<Vec<Delivery>> = JoinSet::new();
        let mut posting: JoinSet<Posted> = JoinSet::new();
        let mut next_poll = tokio::time::Instant::now();
        let mut digests_checked = None;
        let mut answered = 0;
        loop {
            // Asked to run until idle: do the scheduled work now, and again on each turn
            // until a turn finds nothing at all to do.
            let asked = self.waker.asked();
            if tokio::time::Instant::now() >= next_poll || asked > answered {
                self.run_scheduled().await;
                self.queue_weekly_digests(&mut digests_checked).await;
                next_poll = tokio::time::Instant::now() + POLL_EVERY;
            }
            let claimed =
                self.claim_and_send(&mut in_flight).await + self.claim_and_post(&mut posting).await;
            if asked > answered && claimed == 0 && in_flight.is_empty() && posting.is_empty() {
                answered = asked;
                self.waker.answer(asked);
                continue;
            }
            tokio::select! {
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                    let mut finished = vec![done];
                    while let Some(more) = in_flight.try_join_next() {
                        finished.push(more);
                    }
                    self.record(finished).await;
                }
                Some(done) = posting.join_next(), if !posting.is_empty() => {
                    let mut finished = vec![done];
                    while let Some(more) = posting.try_join_next() {
                        finished.push(more);
                    }
                    self.record_posts(finished).await;
                }
                () = self.waker.0.notified() => {}
                () = tokio::time::sleep_until(next_poll) => {}
            }
        }
    }

    /// Claims what is due and starts sending it; the number claimed.
    async fn claim_and_send(&self, in_flight: &mut JoinSet<Vec<Delivery>>) -> usize {
        let room = if !self.mailer.writes_files() {
            MAX_IN_FLIGHT.saturating_sub(in_flight.len())
        } else if in_flight.is_empty() {
            FILE_BATCH
        } else {
            // One batch of files at a time: they are written by one thread anyway.
            0
        };
        if room == 0 {
            return 0;
        }
        let (db, clock) = (self.db.clone(), self.ctx.clock.clone());
        let claimed = crate::jobs::background::spawn_blocking(move || {
            let now = clock.now();
            let lease_until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
            db.write(|c| -> Result<_, DbError> {
                Ok(outbox::claim_due(c, now, lease_until, room as i64)?)
            })
        })
        .await;
        let rows = match claimed {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "outbox: cannot claim messages; will retry");
                return 0;
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox: claim task failed");
                return 0;
            }
        };
        if rows.is_empty() {
            return 0;
        }
        let count = rows.len();
        let (db, ctx, claimed) = (self.db.clone(), self.ctx.clone(), rows.clone());
        let rendered =
            crate::jobs::background::spawn_blocking(move || render_batch(&db, &ctx, &claimed))
                .await
                .unwrap_or_else(|e| {
                    let failed = MailError::Transient(format!("rendering failed: {e}"));
                    rows.iter().map(|_| Err(failed.clone())).collect()
                });
        let rows: Vec<_> = rows.into_iter().zip(rendered).collect();
        if self.mailer.writes_files() {
            let (mailer, photos) = (self.mailer.clone(), self.photos.clone());
            in_flight.spawn(async move { mailer.deliver_all(rows, &photos).await });
            return count;
        }
        // SMTP sends go side by side: one slow message does not hold up the others.
        for row in rows {
            let (mailer, photos) = (self.mailer.clone(), self.photos.clone());
            in_flight.spawn(async move { mailer.deliver_all(vec![row], &photos).await });
        }
        count
    }

    /// Claims the webhook deliveries that are due and starts posting them; the number
    /// claimed.
    async fn claim_and_post(&self, posting: &mut JoinSet<Posted>) -> usize {
        use crate::jobs::webhooks::{claim, Outcome, MAX_IN_FLIGHT as MAX_POSTS};
        let room = MAX_POSTS.saturating_sub(posting.len());
        if room == 0 {
            return 0;
        }
        let (db, ctx) = (self.db.clone(), self.ctx.clone());
        let claimed = crate::jobs::background::spawn_blocking(move || claim(&db, &ctx, room)).await;
        let prepared = match claimed {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "webhooks: cannot claim deliveries; will retry");
                return 0;
            }
            Err(e) => {
                tracing::error!(error = %e, "webhooks: claim task failed");
                return 0;
            }
        };
        let count = prepared.len();
        for p in prepared {
            let (sender, now) = (self.webhooks.clone(), self.ctx.clock.now());
            posting.spawn(async move {
                let outcome = match &p.request {
                    None => Outcome::Refused("what it was about is gone".into()),
                    Some(request) => {
                        let secrets: Vec<String> =
                            crate::domain::webhook::secrets_in_use(&p.subscription, now)
                                .into_iter()
                                .map(str::to_owned)
                                .collect();
                        // The signature's time is the real one (receivers refuse a
                        // stale or future timestamp), whatever the app's clock says.
                        let sent_at = chrono::Utc::now().timestamp();
                        sender
                            .post(&p.delivery.id, &secrets, request.clone(), sent_at)
                            .await
                    }
                };
                (p, outcome)
            });
        }
        count
    }

    /// Records finished webhook posts, in one transaction.
    async fn record_posts(&self, finished: Vec<Result<Posted, tokio::task::JoinError>>) {
        let done: Vec<Posted> = finished
            .into_iter()
            .filter_map(|f| {
                f.map_err(|e| tracing::error!(error = %e, "webhooks: a post task failed"))
                    .ok()
            })
            .collect();
        for (p, outcome) in &done {
            tracing::info!(
                id = %p.delivery.id,
                event = %p.delivery.event,
                subscription = %p.subscription.id,
                attempt = p.delivery.attempts,
                outcome = ?outcome,
                "webhook posted"
            );
        }
        let (db, now) = (self.db.clone(), self.ctx.clock.now());
        let written = crate::jobs::background::spawn_blocking(move || {
            crate::jobs::webhooks::record(&db, now, &done)
        })
        .await;
        match written {
            Ok(Ok(disabled)) => {
                for id in disabled {
                    tracing::warn!(subscription = %id, "webhook subscription disabled");
                }
            }
            // Posted but not recorded: sent again after the lease, with the same
            // webhook-id, which receivers use to drop duplicates.
            Ok(Err(e)) => tracing::error!(error = %e, "webhooks: cannot record results"),
            Err(e) => tracing::error!(error = %e, "webhooks: record task failed"),
        }
    }

    /// Records the outcome of finished sends, in one transaction.
    async fn record(&self, finished: Vec<Result<Vec<Delivery>, tokio::task::JoinError>>) {
        let (db, clock) = (self.db.clone(), self.ctx.clock.clone());
        let outcomes: Vec<Delivery> = finished
            .into_iter()
            .filter_map(|f| match f {
                Ok(done) => Some(done),
                // The row stays leased and is tried again when the lease runs out.
                Err(e) => {
                    tracing::error!(error = %e, "outbox: a send task failed");
                    None
                }
            })
            .flatten()
            .collect();
        for (row, result) in &outcomes {
            match result {
                Ok(()) => tracing::info!(
                    id = %row.id,
                    kind = %row.kind,
                    to = %mask(&row.recipient),
                    attempt = row.attempts,
                    "mail sent"
                ),
                Err(e) => tracing::warn!(
                    id = %row.id,
                    kind = %row.kind,
                    to = %mask(&row.recipient),
                    attempt = row.attempts,
                    error = %e,
                    "mail not sent"
                ),
            }
        }
        let written = crate::jobs::background::spawn_blocking(move || {
            let now = clock.now();
            let mut rng = rand::rng();
            db.write(|c| -> Result<(), DbError> {
                let sent: Vec<&str> = outcomes
                    .iter()
                    .filter(|(_, result)| result.is_ok())
                    .map(|(row, _)| row.id.as_str())
                    .collect();
                outbox::mark_all_sent(c, &sent, now)?;
                for (row, result) in &outcomes {
                    match result {
                        Ok(()) => {}
                        Err(MailError::Permanent(e)) => outbox::mark_failed(c, &row.id, now, e)?,
                        Err(MailError::Transient(e)) if row.attempts >= MAX_ATTEMPTS => {
                            let e = format!("gave up after {} attempts: {e}", row.attempts);
                            outbox::mark_failed(c, &row.id, now, &e)?
                        }
                        Err(MailError::Transient(e)) => {
                            let delay = retry_delay(row.attempts, rng.random::<f64>());
                            let next = now + chrono::Duration::from_std(delay).unwrap_or_default();
                            outbox::mark_retry(c, &row.id, next, e)?
                        }
                    }
                }
                Ok(())
            })
        })
        .await;
        if let Ok(Err(e)) | Err(e) = written.map_err(|_| DbError::Stopped("the delivery recorder"))
        {
            // Rows sent but not marked come back after their lease: sent twice at most,
            // with the same Message-ID.
            tracing::error!(error = %e, "outbox: cannot record delivery results");
        }
    }

    /// What comes due with time rather than with a commit: escalations, surveys, reminders,
    /// and the next step of a "you said, we did" mailing.
    async fn run_scheduled(&self) {
        let (db, ctx) = (self.db.clone(), self.ctx.clone());
        let fired = crate::jobs::background::spawn_blocking(move || {
            let surveys = crate::domain::survey::send_due(&db, ctx.clock.now());
            if let Err(e) = &surveys {
                tracing::warn!(error = %e, "surveys not sent yet; will retry");
            }
            // "You said, we did" mailings, a step at a time beside the rest of the mail.
            let changes = crate::domain::process_changes::mail_step(&db, ctx.clock.now());
            if let Err(e) = &changes {
                tracing::warn!(error = %e, "change mailing not advanced; will retry");
            }
            escalate_unacknowledged_cases(&db, &ctx)
                .map(|n| n + surveys.unwrap_or(0) + changes.unwrap_or(0))
        })
        .await;
        match fired {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(queued = n, "escalations and surveys queued"),
            Ok(Err(e)) => tracing::warn!(error = %e, "escalations not checked; will retry"),
            Err(e) => tracing::error!(error = %e, "escalation task failed"),
        }
    }
}

impl OutboxWorker {
    /// Moves photos to the object store (and deletes erased ones there), beside the mail
    /// and never in its way: an unreachable store is tried again a little later, and
    /// meanwhile its photos are served, and mailed, from the database.
    async fn keep_photos_moving(&self) {
        if !self.photos.is_remote() {
            return;
        }
        loop {
            let pause = match self.photos.step().await {
                Ok(step) if step.moved + step.deleted > 0 => continue,
                Ok(_) => POLL_EVERY,
                Err(e) => {
                    tracing::warn!(error = %e, "photos not moved to the object store yet; will retry");
                    PHOTO_RETRY
                }
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// Erases what stores no longer keep (see `domain::privacy::retention`), once an hour of the
    /// worker's clock.
    async fn apply_retention(&self, checked: &mut Option<i64>) {
        let now = self.ctx.clock.now();
        let hour = now.and_utc().timestamp() / 3600;
        if *checked == Some(hour) {
            return;
        }
        *checked = Some(hour);
        let (db, dir) = (self.db.clone(), self.mailer.data_dir().to_owned());
        let done = crate::jobs::background::spawn_blocking(move || {
            let done = crate::domain::privacy::retention::apply(&db, &dir, now)?;
            let orphans = crate::domain::privacy::retention::sweep_orphan_photos(&db, now)?;
            if orphans > 0 {
                tracing::info!(photos = orphans, "photos of posts never sent deleted");
            }
            Ok::<_, crate::db::DbError>(done)
        })
        .await;
        match done {
            Ok(Ok(d)) if d.cases > 0 => tracing::info!(
                cases = d.cases,
                photos = d.photos_deleted,
                "customer data past its retention erased"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "retention not applied; will retry"),
            Err(e) => tracing::error!(error = %e, "retention task failed"),
        }
    }

    /// Weekly emails to managers, checked once a minute (of the worker's clock).
    async fn queue_weekly_digests(&self, checked: &mut Option<i64>) {
        let now = self.ctx.clock.now();
        let minute = now.and_utc().timestamp() / 60;
        if *checked == Some(minute) {
            return;
        }
        *checked = Some(minute);
        let db = self.db.clone();
        let queued = crate::jobs::background::spawn_blocking(move || {
            crate::domain::insight::digest::enqueue_due(&db, now)
        })
        .await;
        match queued {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                tracing::info!(queued = n, "weekly emails queued");
                self.waker.wake();
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "weekly emails not queued yet; will retry"),
            Err(e) => tracing::error!(error = %e, "weekly email task failed"),
        }
    }
}

/// Fires every escalation that has come due; returns how many were sent on.
pub fn escalate_unacknowledged_cases(db: &Db, ctx: &AlertContext) -> Result<usize, DbError> {
    let now = ctx.clock.now();
    let due = db.read(|c| escalations::due(c, now, 100))?;
    let mut fired = 0;
    for e in due {
        let outcome = db.write(|c| escalation::fire(c, ctx, &e))?;
        if let Fired::Escalated { level, to } = outcome {
            tracing::info!(case = %e.case_id, level, recipients = to.len(), "case escalated");
            fired += 1;
        }
    }
    Ok(fired)
}

#[cfg(test)]
mod tests {
    #[test]
    fn logged_addresses_are_masked() {
        use crate::domain::mail::mask;
        assert_eq!(mask("jane.doe@shop.example"), "j***@shop.example");
        assert_eq!(mask("nonsense"), "***");
    }
}
