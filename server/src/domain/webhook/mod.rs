//! Webhooks: other systems, chats and phones told about cases as they happen. A
//! subscription names a URL, the events it wants, a format and its secret; every event of
//! its store (or of all) becomes a delivery written in the event's own transaction
//! (`db::queries::webhooks::fan_out`), sent by the outbox worker (`jobs::webhooks`),
//! signed per Standard Webhooks (`signing`), shaped for its service (`presets`).

pub mod address;
pub mod payload;
pub mod presets;
pub mod signing;

use chrono::NaiveDateTime;

use crate::db::models::{new_id, WebhookSubscription};
use crate::db::queries::webhooks;
use crate::db::states::{WebhookEvent, WebhookFormat};
use crate::db::Db;
use crate::domain::setup::audit::{record, Actor};
use crate::domain::setup::fields::{FieldError, Problem, SetupError};
use crate::domain::setup::stores;

/// A URL longer than this is not a webhook.
pub const MAX_URL_CHARS: usize = 2_000;
/// A subscription whose deliveries have failed this long is disabled and its owner told.
pub const DISABLE_AFTER_DAYS: i64 = 3;
/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_HOURS: i64 = 24;

/// A subscription as asked for.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionRequest {
    pub url: String,
    /// A store's name or reference; none: every store.
    pub location: Option<String>,
    /// Event names; empty: every event.
    pub events: Vec<String>,
    pub format: String,
    /// Payloads carry the customer's email.
    pub with_contact: bool,
}

/// A URL a webhook may be sent to, by its form (where it points is checked by the sender,
/// which resolves it).
pub fn parse_url(raw: &str) -> Result<url::Url, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new("url", Problem::Empty, raw));
    }
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(FieldError::new("url", Problem::TooLong, raw));
    }
    let url = url::Url::parse(raw).map_err(|_| FieldError::new("url", Problem::NotAUrl, raw))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(FieldError::new("url", Problem::NotAUrl, raw));
    }
    Ok(url)
}

pub fn parse_events(raw: &[String]) -> Result<Vec<WebhookEvent>, FieldError> {
    let mut events = Vec::new();
    for name in raw
        .iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let event = WebhookEvent::parse(name)
            .ok_or_else(|| FieldError::new("events", Problem::NotOffered, name))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        events = WebhookEvent::ALL.to_vec();
    }
    Ok(events)
}

/// Makes a subscription with a new secret, logged. `url` was checked by the caller
/// (`jobs::webhooks::check_destination`).
pub fn subscribe(
    db: &Db,
    actor: &Actor,
    req: &SubscriptionRequest,
    now: NaiveDateTime,
) -> Result<WebhookSubscription, SetupError> {
    let url = parse_url(&req.url)?;
    let format = WebhookFormat::parse(req.format.trim())
        .ok_or_else(|| FieldError::new("format", Problem::NotOffered, &req.format))?;
    if format == WebhookFormat::Ntfy && presets::ntfy_parts(url.as_str()).1.is_empty() {
        return Err(FieldError::new("url", Problem::NotAUrl, url.as_str()).into());
    }
    let events = parse_events(&req.events)?;
    db.write(|c| {
        let location_id = match req
            .location
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            Some(key) => Some(stores::resolve(c, key)?.id),
            None => None,
        };
        let sub = WebhookSubscription {
            id: new_id(),
            location_id,
            url: url.to_string(),
            format,
            secret: signing::new_secret(),
            previous_secret: None,
            previous_secret_until: None,
            with_contact: req.with_contact,
            created_by: match actor {
                Actor::User { id, .. } => Some(id.clone()),
                Actor::CommandLine => None,
            },
            created_at: now,
            failing_since: None,
            disabled_at: None,
            disabled_reason: None,
        };
        webhooks::insert(c, &sub, &events)?;
        record(
            c,
            actor,
            "webhook.create",
            url.host_str().unwrap_or_default(),
            None::<&()>,
            Some(&serde_json::json!({
                "id": sub.id, "url": sub.url, "format": format.as_str(),
                "events": events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                "store": sub.location_id, "with_contact": sub.with_contact,
            })),
        )?;
        Ok(sub)
    })
}

/// The secrets a delivery is signed with now: the current one, and the previous one
/// during a rotation.
pub fn secrets_in_use(sub: &WebhookSubscription, now: NaiveDateTime) -> Vec<&str> {
    let mut secrets = vec![sub.secret.as_str()];
    if let (Some(previous), Some(until)) = (&sub.previous_secret, sub.previous_secret_until) {
        if now < until {
            secrets.push(previous);
        }
    }
    secrets
}

/// Gives a subscription a new secret, logged; the old one signs too for
/// [`ROTATION_HOURS`], so the receiver can switch without losing a message.
pub fn rotate(db: &Db, actor: &Actor, id: &str, now: NaiveDateTime) -> Result<String, SetupError> {
    let secret = signing::new_secret();
    db.write(|c| {
        let until = now + chrono::Duration::hours(ROTATION_HOURS);
        if !webhooks::rotate(c, id, &secret, until)? {
            return Err(SetupError::NotFound("webhook"));
        }
        record(c, actor, "webhook.rotate", id, None::<&()>, None::<&()>)?;
        Ok(secret.clone())
    })
}

/// Stops a subscription, logged; false if it was stopped before.
pub fn disable(db: &Db, actor: &Actor, id: &str, now: NaiveDateTime) -> Result<bool, SetupError> {
    db.write(|c| {
        if webhooks::find(c, id)?.is_none() {
            return Err(SetupError::NotFound("webhook"));
        }
        let stopped = webhooks::disable(c, id, now, "removed")?;
        if stopped {
            record(c, actor, "webhook.remove", id, None::<&()>, None::<&()>)?;
        }
        Ok(stopped)
    })
}
