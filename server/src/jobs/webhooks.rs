//! Sending webhook deliveries: claimed by the outbox worker beside the mail, posted with
//! connect and total timeouts, to public addresses only (unless
//! `MEND_WEBHOOK_ALLOW_PRIVATE=1`) checked when the name is resolved for the connection
//! itself, so a name that changes its address between the check and the request cannot
//! reach inside. Redirects are not followed (a redirect to an inside address would be a
//! way around the check).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::db::models::{WebhookDelivery, WebhookSubscription};
use crate::db::queries::webhooks;
use crate::db::states::WebhookStop;
use crate::db::{Db, DbError};
use crate::domain::alert::AlertContext;
use crate::domain::language::Language;
use crate::domain::setup::fields::{FieldError, Problem};
use crate::domain::webhook::address::is_public;
use crate::domain::webhook::{self, payload, presets, signing, Miss};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Longer than any send may take.
pub const LEASE: Duration = Duration::from_secs(60);
pub const MAX_IN_FLIGHT: usize = 32;
/// Waits between attempts: about a day in all, each with up to a fifth of jitter so
/// receivers coming back are not hit by every sender at once.
const BACKOFF_SECONDS: &[u64] = &[5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800];

/// The wait before attempt `attempts + 1`; None: give up.
pub fn retry_delay(attempts: i32, jitter: f64) -> Option<Duration> {
    let base = *BACKOFF_SECONDS.get(usize::try_from(attempts.max(1) - 1).ok()?)?;
    Some(Duration::from_secs_f64(
        base as f64 * (1.0 + 0.2 * jitter.clamp(0.0, 1.0)),
    ))
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered(u16),
    /// 410 Gone: the receiver does not want these any more.
    Gone,
    /// Worth trying again later.
    Failed(Option<u16>, String),
    /// Never worth trying again (the address is not allowed, nothing to send).
    Refused(String),
}

/// A resolver that leaves out addresses a webhook may not reach.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(
                    format!("{host} resolves only to addresses webhooks may not reach").into(),
                );
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Checks where a URL points, when a subscription is made: it must resolve, and (unless
/// allowed) only to public addresses. Blocking (it resolves the name).
pub fn check_destination(url: &str, allow_private: bool) -> Result<(), FieldError> {
    let parsed = webhook::parse_url(url)?;
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|_| FieldError::new("url", Problem::Unresolvable, &host))?
            .map(|a| a.ip())
            .collect(),
    };
    if addrs.is_empty() {
        return Err(FieldError::new("url", Problem::Unresolvable, &host));
    }
    if !allow_private && addrs.iter().any(|ip| !is_public(*ip)) {
        return Err(FieldError::new("url", Problem::PrivateAddress, &host));
    }
    Ok(())
}

pub struct WebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl WebhookSender {
    pub fn new(allow_private: bool) -> Result<WebhookSender, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(concat!("Mend-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(WebhookSender {
            client,
            allow_private,
        })
    }

    /// Posts one request, signed; what came of it.
    pub async fn post(
        &self,
        id: &str,
        secrets: &[String],
        request: presets::Request,
        at: i64,
    ) -> Outcome {
        let Ok(url) = url::Url::parse(&request.url) else {
            return Outcome::Refused(Miss::Other.describe("not a URL"));
        };
        // A literal address is never resolved, so the resolver cannot check it.
        if let Some(host) = url.host_str() {
            if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
                if !self.allow_private && !is_public(ip) {
                    return Outcome::Refused(
                        Miss::NotPublic.describe(&format!("{ip} is not a public address")),
                    );
                }
            }
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let signature = signing::header(&secrets, id, at, &request.body);
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", at.to_string())
            .header("webhook-signature", signature)
            .body(request.body)
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => Outcome::Delivered(res.status().as_u16()),
            Ok(res) if res.status() == reqwest::StatusCode::GONE => Outcome::Gone,
            Ok(res) => Outcome::Failed(
                Some(res.status().as_u16()),
                Miss::Answered.describe(&res.status().to_string()),
            ),
            Err(e) if e.is_timeout() => Outcome::Failed(None, Miss::TimedOut.describe("timed out")),
            Err(e) if e.is_connect() => {
                Outcome::Failed(None, Miss::Unreachable.describe(&error_chain(&e)))
            }
            Err(e) => Outcome::Failed(None, Miss::Other.describe(&error_chain(&e))),
        }
    }
}

/// An error with its causes: reqwest's own text is "error sending request".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.chars().take(500).collect()
}

/// A claimed delivery, ready to post: None when there is nothing to say any more.
pub struct Prepared {
    pub delivery: WebhookDelivery,
    pub subscription: WebhookSubscription,
    pub request: Option<presets::Request>,
}

/// Claims due deliveries and builds their requests, off the async threads.
pub fn claim(db: &Db, ctx: &AlertContext, room: usize) -> Result<Vec<Prepared>, DbError> {
    let now = ctx.clock.now();
    let lease_until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let claimed = db.write(|c| -> Result<_, DbError> {
        Ok(webhooks::claim_due(
            c,
            now,
            lease_until,
            i64::try_from(room).unwrap_or(32),
        )?)
    })?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    db.read(|c| {
        let mut subs: Vec<WebhookSubscription> = Vec::new();
        let mut out = Vec::with_capacity(claimed.len());
        for d in claimed {
            let sub = match subs.iter().find(|s| s.id == d.subscription_id) {
                Some(s) => s.clone(),
                None => {
                    let Some(s) = webhooks::find(c, &d.subscription_id)? else {
                        continue;
                    };
                    subs.push(s.clone());
                    s
                }
            };
            let lang = match crate::db::queries::stores::find(c, &d.location_id)? {
                Some(s) => Language::or_default(&s.default_language),
                None => Language::EN,
            };
            let request = payload::build(c, ctx, &sub, &d)?
                .map(|m| presets::render(sub.format, &sub.url, lang, &m));
            out.push(Prepared {
                delivery: d,
                subscription: sub,
                request,
            });
        }
        Ok(out)
    })
}

/// Records what came of the attempts, in one transaction: delivered; retried later; given
/// up; a 410 disables the subscription, and so do days of failures.
pub fn record(
    db: &Db,
    now: chrono::NaiveDateTime,
    done: &[(Prepared, Outcome)],
) -> Result<Vec<String>, DbError> {
    let mut rng = rand::rng();
    db.write(|c| -> Result<Vec<String>, DbError> {
        let mut disabled = Vec::new();
        for (p, outcome) in done {
            let (d, sub) = (&p.delivery, &p.subscription);
            match outcome {
                Outcome::Delivered(status) => {
                    webhooks::mark_delivered(c, &d.id, i32::from(*status), now)?;
                    webhooks::set_failing(c, &sub.id, None)?;
                }
                Outcome::Gone => {
                    let e = Miss::Answered.describe("410 Gone");
                    webhooks::mark_failed(c, &d.id, Some(410), &e, now)?;
                    if webhooks::disable(c, &sub.id, now, WebhookStop::Gone)? {
                        webhook::stopped::tell_owner(c, sub, now)?;
                        disabled.push(sub.id.clone());
                    }
                }
                Outcome::Refused(e) => webhooks::mark_failed(c, &d.id, None, e, now)?,
                Outcome::Failed(status, e) => {
                    let status = status.map(i32::from);
                    match retry_delay(d.attempts, rng.random::<f64>()) {
                        Some(wait) => {
                            let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                            webhooks::mark_retry(c, &d.id, status, e, next)?;
                        }
                        None => webhooks::mark_failed(c, &d.id, status, e, now)?,
                    }
                    webhooks::set_failing(c, &sub.id, Some(now))?;
                    let failing_for = sub.failing_since.map(|since| now - since);
                    if failing_for
                        .is_some_and(|f| f >= chrono::Duration::days(webhook::DISABLE_AFTER_DAYS))
                        && webhooks::disable(c, &sub.id, now, WebhookStop::Failing)?
                    {
                        webhook::stopped::tell_owner(c, sub, now)?;
                        disabled.push(sub.id.clone());
                    }
                }
            }
        }
        Ok(disabled)
    })
}
