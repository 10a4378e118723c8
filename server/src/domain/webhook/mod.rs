//! Webhooks: other systems, chats and phones told about cases as they happen. A
//! subscription names a URL, the events it wants, a format and its secret; every event of
//! its store (or of all) becomes a delivery written in the event's own transaction
//! (`db::queries::webhooks::fan_out`), sent by the outbox worker (`jobs::webhooks`),
//! signed per Standard Webhooks (`signing`), shaped for its service (`presets`).

pub mod address;
pub mod payload;
pub mod presets;
pub mod signing;
pub mod stopped;

use chrono::NaiveDateTime;

use crate::db::models::{new_id, WebhookSubscription};
use crate::db::queries::webhooks;
use crate::db::states::{WebhookEvent, WebhookFormat, WebhookStop};
use crate::db::{Db, DbConnection};
use crate::domain::setup::audit::{record, Actor};
use crate::domain::setup::fields::{FieldError, Problem, SetupError};
use crate::domain::setup::stores;

/// A URL longer than this is not a webhook.
pub const MAX_URL_CHARS: usize = 2_000;
/// A subscription whose deliveries have failed this long is disabled and its owner told.
pub const DISABLE_AFTER_DAYS: i64 = 3;
/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_HOURS: i64 = 24;

/// Why a delivery did not arrive, as its log says it. Stored at the head of the
/// delivery's `last_error` ("unreachable: <the client's words>"), so the page can say it
/// in the reader's language and keep the technical words for a tooltip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    TimedOut,
    Unreachable,
    NotPublic,
    /// The receiver answered with a status that is not a success.
    Answered,
    Other,
}

impl Miss {
    pub const ALL: [Miss; 5] = [
        Miss::TimedOut,
        Miss::Unreachable,
        Miss::NotPublic,
        Miss::Answered,
        Miss::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Miss::TimedOut => "timed_out",
            Miss::Unreachable => "unreachable",
            Miss::NotPublic => "not_public",
            Miss::Answered => "answered",
            Miss::Other => "other",
        }
    }

    /// The text stored for it: "code: detail".
    pub fn describe(self, detail: &str) -> String {
        format!("{}: {detail}", self.code())
    }

    /// The miss a stored text names, and its detail.
    pub fn of_stored(text: &str) -> (Miss, &str) {
        let (code, detail) = text.split_once(": ").unwrap_or(("", text));
        Miss::ALL
            .into_iter()
            .find(|m| m.code() == code)
            .map_or((Miss::Other, text), |m| (m, detail))
    }
}

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

/// Whose subscriptions one may make and manage: every one (the command line, an admin),
/// or those of some stores (a manager's); a subscription for all stores is an admin's.
#[derive(Debug, Clone, Copy)]
pub enum Within<'a> {
    Everywhere,
    Stores(&'a [String]),
}

impl Within<'_> {
    pub fn reaches(&self, sub: &WebhookSubscription) -> bool {
        match (self, &sub.location_id) {
            (Within::Everywhere, _) => true,
            (Within::Stores(mine), Some(store)) => mine.contains(store),
            (Within::Stores(_), None) => false,
        }
    }
}

/// The subscriptions one may see, oldest first.
pub fn visible(
    c: &mut DbConnection,
    within: Within,
) -> diesel::QueryResult<Vec<WebhookSubscription>> {
    Ok(webhooks::all(c)?
        .into_iter()
        .filter(|s| within.reaches(s))
        .collect())
}

/// One subscription, if it is there and one may manage it.
pub fn managed(
    c: &mut DbConnection,
    within: Within,
    id: &str,
) -> Result<WebhookSubscription, SetupError> {
    webhooks::find(c, id)?
        .filter(|s| within.reaches(s))
        .ok_or(SetupError::NotFound("webhook"))
}

/// Makes a subscription with a new secret, logged. `url` was checked by the caller
/// (`jobs::webhooks::check_destination`).
pub fn subscribe(
    db: &Db,
    actor: &Actor,
    within: Within,
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
        let allowed = match (within, &location_id) {
            (Within::Everywhere, _) => true,
            (Within::Stores(mine), Some(id)) => mine.contains(id),
            (Within::Stores(_), None) => false,
        };
        if !allowed {
            let key = req.location.as_deref().unwrap_or_default();
            return Err(FieldError::new("location", Problem::NotYours, key).into());
        }
        // A second click on "Add" would send every event twice.
        let twice = webhooks::all(c)?.into_iter().any(|s| {
            s.disabled_at.is_none() && s.url == url.as_str() && s.location_id == location_id
        });
        if twice {
            return Err(FieldError::new("url", Problem::DuplicateName, url.as_str()).into());
        }
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
pub fn rotate(
    db: &Db,
    actor: &Actor,
    within: Within,
    id: &str,
    now: NaiveDateTime,
) -> Result<String, SetupError> {
    let secret = signing::new_secret();
    db.write(|c| {
        managed(c, within, id)?;
        let until = now + chrono::Duration::hours(ROTATION_HOURS);
        if !webhooks::rotate(c, id, &secret, until)? {
            return Err(SetupError::NotFound("webhook"));
        }
        record(c, actor, "webhook.rotate", id, None::<&()>, None::<&()>)?;
        Ok(secret.clone())
    })
}

/// Stops a subscription, logged; false if it was stopped before.
pub fn disable(
    db: &Db,
    actor: &Actor,
    within: Within,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, SetupError> {
    db.write(|c| {
        managed(c, within, id)?;
        let stopped = webhooks::disable(c, id, now, WebhookStop::Removed)?;
        if stopped {
            record(c, actor, "webhook.remove", id, None::<&()>, None::<&()>)?;
        }
        Ok(stopped)
    })
}

/// Sends one of a subscription's deliveries again, logged; false if it is waiting already.
pub fn send_again(
    db: &Db,
    actor: &Actor,
    within: Within,
    delivery_id: &str,
    now: NaiveDateTime,
) -> Result<bool, SetupError> {
    db.write(|c| {
        let delivery =
            webhooks::delivery(c, delivery_id)?.ok_or(SetupError::NotFound("delivery"))?;
        managed(c, within, &delivery.subscription_id)?;
        let again = webhooks::send_again(c, delivery_id, now)?;
        if again {
            record(
                c,
                actor,
                "webhook.send_again",
                delivery_id,
                None::<&()>,
                None::<&()>,
            )?;
        }
        Ok(again)
    })
}
