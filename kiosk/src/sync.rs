//! The sync loop: sends the outbox to the server in batches, oldest first, forever. A
//! batch leaves the outbox only when the server has answered that it is stored; failures
//! wait with exponential backoff and jitter (so the kiosks of a chain do not all retry in
//! step after an outage), without limit. The heartbeat runs beside it.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;

use crate::outbox::{Outbox, PendingTap};
use crate::server_api::{Sent, ServerApi};
use crate::store::Store;

/// The server takes at most this many taps per request.
pub const MAX_BATCH: usize = 500;
/// After a refused token, try again this rarely: someone has to re-register the kiosk.
const REFUSED_PAUSE: Duration = Duration::from_secs(300);

/// How long to wait before retry number `attempt` (0 = the first retry): between half and
/// all of `first * 2^attempt`, capped at `max`.
pub fn backoff(attempt: u32, first: Duration, max: Duration, rng: &mut impl Rng) -> Duration {
    let ceiling = first
        .saturating_mul(2u32.saturating_pow(attempt.min(20)))
        .min(max);
    let half = ceiling / 2;
    half + half.mul_f64(rng.random::<f64>())
}

#[derive(Debug, Clone, Copy)]
pub struct SyncTiming {
    pub first_retry: Duration,
    pub max_retry: Duration,
    pub heartbeat: Duration,
}

impl Default for SyncTiming {
    fn default() -> Self {
        SyncTiming {
            first_retry: Duration::from_millis(500),
            max_retry: Duration::from_secs(60),
            heartbeat: Duration::from_secs(60),
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::outbox::OutboxError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Sends the outbox until the process ends. `wake` is notified by every new tap.
pub async fn run(
    outbox: Arc<Outbox>,
    api: ServerApi,
    store: Arc<Store>,
    wake: Arc<Notify>,
    timing: SyncTiming,
) {
    let mut batch_size = MAX_BATCH;
    let mut failures: u32 = 0;
    loop {
        // Taps are sent only once a heartbeat has told the server's clock: a kiosk whose
        // clock runs fast (a Raspberry Pi has no battery clock) would otherwise have its
        // taps refused as "in the future" and set aside for good.
        if !store.clock_known() {
            let _ = tokio::time::timeout(Duration::from_millis(200), wake.notified()).await;
            continue;
        }
        let pending = {
            let outbox = outbox.clone();
            blocking(move || outbox.pending(batch_size)).await
        };
        let pending = match pending {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox");
                tokio::time::sleep(timing.max_retry).await;
                continue;
            }
        };
        if pending.is_empty() {
            // Idle: wake for the next tap, or look again shortly in case a wake was missed.
            let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
            continue;
        }
        let wait = match api.send_taps(&pending, store.clock_offset_ms()).await {
            Sent::Stored { .. } => {
                failures = 0;
                let seqs: Vec<i64> = pending.iter().map(|t| t.seq).collect();
                let outbox = outbox.clone();
                if let Err(e) = blocking(move || outbox.acknowledge(&seqs)).await {
                    // Sent again later; the server counts each key once.
                    tracing::error!(error = %e, "forgetting sent taps");
                }
                store.mark_synced();
                None
            }
            Sent::InvalidTap { index, detail } => {
                set_aside(&outbox, pending.get(index).cloned(), &detail).await;
                None
            }
            Sent::TooLarge => {
                batch_size = (batch_size / 2).max(1);
                tracing::warn!(batch_size, "the server found a batch too large");
                None
            }
            Sent::Refused { code } => {
                tracing::error!(code, "the server refused this kiosk's token; register the kiosk again and restart it with the new token");
                store.set_refused(true);
                Some(REFUSED_PAUSE)
            }
            Sent::Retry { reason } => {
                let wait = backoff(
                    failures,
                    timing.first_retry,
                    timing.max_retry,
                    &mut rand::rng(),
                );
                failures = failures.saturating_add(1);
                tracing::warn!(
                    reason,
                    batch = pending.len(),
                    wait_ms = wait.as_millis() as u64,
                    "sending taps failed; will retry"
                );
                Some(wait)
            }
        };
        // A smaller batch after "too large" stays smaller: a size limit on the way (the
        // server's, or a proxy's) does not change while the kiosk runs.
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }
}

async fn set_aside(outbox: &Arc<Outbox>, tap: Option<PendingTap>, detail: &str) {
    let Some(tap) = tap else { return };
    tracing::warn!(
        key = tap.key,
        detail,
        "the server refused a tap; it is kept aside, not sent again"
    );
    let outbox = outbox.clone();
    let reason = detail.to_owned();
    if let Err(e) = blocking(move || outbox.reject(&tap, &reason)).await {
        tracing::error!(error = %e, "setting a refused tap aside");
    }
}

/// Tells the server every `timing.heartbeat` that the kiosk is alive, and learns the
/// store's details and clock.
pub async fn heartbeats(outbox: Arc<Outbox>, api: ServerApi, store: Arc<Store>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let buffered = {
            let outbox = outbox.clone();
            blocking(move || outbox.buffered()).await.unwrap_or(0)
        };
        match api.heartbeat(buffered, crate::VERSION).await {
            Ok((info, offset)) => {
                store.set_heartbeat_error(None);
                store.learned(info, offset, &outbox);
            }
            // The server's own answer that the token is unknown or revoked.
            Err(e) if e.starts_with("401 ") => {
                tracing::error!(error = %e, "the server refused this kiosk's token; register the kiosk again and restart it with the new token");
                store.set_refused(true);
            }
            // A warning with the reason: a wrong server URL fails every heartbeat, and
            // must not pass for a short network outage. Taps keep being kept meanwhile.
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat failed; taps are kept on the kiosk until the server answers");
                store.set_heartbeat_error(Some(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let first = Duration::from_millis(500);
        let max = Duration::from_secs(60);
        for attempt in 0..30 {
            let ceiling = (first * 2u32.pow(attempt.min(20))).min(max);
            for _ in 0..50 {
                let d = backoff(attempt, first, max, &mut rng);
                assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d:?}");
            }
        }
        assert!(backoff(40, first, max, &mut rng) <= max);
    }

    /// A server that takes at most `limit` taps a request, recording each request's size.
    async fn limited_server(
        limit: usize,
        sizes: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    ) -> String {
        use actix_web::{web, App, HttpResponse, HttpServer};
        let server = HttpServer::new(move || {
            let sizes = sizes.clone();
            App::new().route(
                "/api/kiosk/v1/taps",
                web::post().to(move |body: web::Json<serde_json::Value>| {
                    let sizes = sizes.clone();
                    async move {
                        let n = body["taps"].as_array().map_or(0, Vec::len);
                        sizes.lock().unwrap().push(n);
                        if n > limit {
                            HttpResponse::PayloadTooLarge()
                                .json(serde_json::json!({"error": "too_large", "detail": "x"}))
                        } else {
                            HttpResponse::Ok()
                                .json(serde_json::json!({"accepted": n, "duplicates": 0}))
                        }
                    }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        actix_web::rt::spawn(server.run());
        format!("http://{addr}")
    }

    #[actix_web::test]
    async fn a_batch_too_large_is_halved_until_it_fits_and_stays_so() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Arc::new(Outbox::open(&dir.path().join("k.sqlite")).unwrap());
        for i in 0..700 {
            outbox.record(i % 4 + 1, 1_000 + i64::from(i)).unwrap();
        }
        let store = Arc::new(Store::remembered(&outbox));
        store.learned(Default::default(), 0, &outbox);
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let base = limited_server(100, sizes.clone()).await;
        let api = ServerApi::new(&base, "mk_test_token").unwrap();
        let sync = actix_web::rt::spawn(run(
            outbox.clone(),
            api,
            store,
            Arc::new(Notify::new()),
            SyncTiming::default(),
        ));
        let start = std::time::Instant::now();
        while outbox.buffered().unwrap() > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{:?}",
                sizes.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        sync.abort();
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(&sizes[..3], &[500, 250, 125], "{sizes:?}");
        assert!(sizes[3..].iter().all(|n| *n <= 62), "{sizes:?}");
        assert_eq!(sizes[3..].iter().sum::<usize>(), 700);
    }

    #[test]
    fn jitter_spreads_kiosks_apart() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let waits: std::collections::HashSet<Duration> = (0..20)
            .map(|_| {
                backoff(
                    6,
                    Duration::from_millis(500),
                    Duration::from_secs(60),
                    &mut rng,
                )
            })
            .collect();
        assert!(waits.len() > 15);
    }
}
