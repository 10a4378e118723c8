//! `GET /metrics` in Prometheus' text format: requests and their latency per route, how
//! long complaints wait for and take in the intake's group commit, mail waiting in the
//! outbox and the age of the oldest, cases waiting past their store's SLA.
//! Counters live in memory per process (each instance is its own scrape target); the
//! outbox and case figures are read from the database at each scrape, so every instance
//! reports the same shared truth.
//!
//! Who may read it: with `MEND_METRICS_TOKEN` set, a request bearing that token; without,
//! only clients on this machine (the TCP peer, not a forwarded address).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use secrecy::ExposeSecret;

use crate::db::queries::operations;
use crate::jobs::intake::IntakeTimes;
use crate::web::{AppError, AppState};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    outbox_unsent: IntGauge,
    outbox_failed: IntGauge,
    oldest_unsent_age: Gauge,
    past_sla: IntGauge,
    pub intake: IntakeTimes,
}

/// Latency buckets (seconds) around the goals: form 20 ms, post 50 ms, dashboard 200 ms.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 10.0,
];

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("mend_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "mend_http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let outbox_unsent = IntGauge::new(
            "mend_outbox_unsent",
            "Emails waiting in the outbox (not sent, not given up on)",
        )?;
        let outbox_failed = IntGauge::new(
            "mend_outbox_failed",
            "Emails given up on after a permanent failure",
        )?;
        let oldest_unsent_age = Gauge::new(
            "mend_outbox_oldest_unsent_age_seconds",
            "Age of the oldest email waiting in the outbox (0 when none waits)",
        )?;
        let past_sla = IntGauge::new(
            "mend_cases_past_sla",
            "Open cases nobody acknowledged within their store's SLA",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(outbox_unsent.clone()))?;
        registry.register(Box::new(outbox_failed.clone()))?;
        registry.register(Box::new(oldest_unsent_age.clone()))?;
        registry.register(Box::new(past_sla.clone()))?;
        let intake = IntakeTimes::new()?;
        registry.register(Box::new(intake.waited.clone()))?;
        registry.register(Box::new(intake.stored.clone()))?;
        registry.register(Box::new(intake.batch_size.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            outbox_unsent,
            outbox_failed,
            oldest_unsent_age,
            past_sla,
            intake,
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, status.to_string().as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }
}

/// Counts every request by its route pattern (`/t/{code}`, not the code: the number of
/// series stays bounded whatever is asked for).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    let res = next.call(req).await?;
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        state.metrics.observe(
            &method,
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

fn allowed(state: &AppState, req: &HttpRequest) -> bool {
    match &state.settings.metrics_token {
        Some(token) => req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| {
                use subtle::ConstantTimeEq;
                given
                    .trim()
                    .as_bytes()
                    .ct_eq(token.expose_secret().as_bytes())
                    .into()
            }),
        // A proxy on this machine (the README's Caddy) forwards the world from loopback:
        // a forwarded request is someone else's.
        None => {
            let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"]
                .iter()
                .any(|h| req.headers().contains_key(*h));
            !forwarded && req.peer_addr().is_some_and(|a| a.ip().is_loopback())
        }
    }
}

pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    if !allowed(&state, &req) {
        return Ok(HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("Metrics are for this machine, or for requests with MEND_METRICS_TOKEN.\n"));
    }
    let db = state.db.clone();
    let (outbox, waiting) = web::block(move || {
        db.read(|c| {
            Ok((
                operations::outbox_status(c)?,
                operations::unacknowledged(c)?,
            ))
        })
    })
    .await??;
    let now = state.clock.now();
    let m = &state.metrics;
    m.outbox_unsent.set(outbox.unsent);
    m.outbox_failed.set(outbox.failed);
    m.oldest_unsent_age.set(
        outbox
            .oldest_unsent
            .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0),
    );
    m.past_sla.set(
        waiting
            .iter()
            .filter(|(at, sla)| now - *at > chrono::Duration::minutes(i64::from(*sla)))
            .count() as i64,
    );
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&m.registry.gather(), &mut text)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("encoding metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
