//! What a delivery says: the documented JSON of its event (the Standard Webhooks body),
//! and a title and a line in the store's language for chat and push presets. Built when
//! the delivery is sent, from the event recorded with the case.

use serde_json::{json, Value};

use crate::db::models::{WebhookDelivery, WebhookSubscription};
use crate::db::queries::{cases, stores, users};
use crate::db::states::WebhookEvent;
use crate::db::DbConnection;
use crate::domain::alert::{AlertContext, CaseFacts};
use crate::domain::language::Language;
use crate::domain::mail::one_line;

/// The longest piece of the customer's words a chat message quotes.
const QUOTE_CHARS: usize = 280;

pub struct Message {
    pub event: WebhookEvent,
    /// `{"type", "timestamp", "data"}`.
    pub body: Value,
    /// In the store's language.
    pub title: String,
    pub text: String,
    /// A severe case: pushed at the highest priority.
    pub severe: bool,
    /// The case page, and the "I'm on it" link (signed, expiring; it asks to confirm).
    pub case_url: Option<String>,
    pub ack_url: Option<String>,
}

fn utc(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The message of a delivery; None when what it was about is gone (an erased case).
pub fn build(
    c: &mut DbConnection,
    ctx: &AlertContext,
    sub: &WebhookSubscription,
    d: &WebhookDelivery,
) -> diesel::QueryResult<Option<Message>> {
    let Some(store) = stores::find(c, &d.location_id)? else {
        return Ok(None);
    };
    let lang = Language::or_default(&store.default_language);
    let store_json = json!({ "id": store.id, "name": store.name, "ref": store.external_ref });
    let Some(case_id) = &d.case_id else {
        // Unhappy kiosk taps: the store and the count.
        let detail: Value = serde_json::from_str(&d.detail).unwrap_or_default();
        let count = detail["count"].as_i64().unwrap_or(0).to_string();
        return Ok(Some(Message {
            event: d.event,
            body: json!({
                "type": d.event.as_str(),
                "timestamp": utc(d.created_at),
                "data": { "store": store_json, "taps": detail },
            }),
            title: lang.text_with(
                "webhook.title.kiosk_unhappy_taps",
                &[("store", &store.name), ("count", &count)],
            ),
            text: String::new(),
            severe: true,
            case_url: None,
            ack_url: None,
        }));
    };
    let Some(case) = cases::find(c, case_id)? else {
        return Ok(None);
    };
    let Some(facts) = CaseFacts::load(c, case)? else {
        return Ok(None);
    };
    let event = match &d.case_event_id {
        Some(id) => cases::events(c, case_id)?.into_iter().find(|e| e.id == *id),
        None => None,
    };
    let by = match event.as_ref().and_then(|e| e.actor_user_id.clone()) {
        Some(id) => users::find(c, &id)?.map(|u| u.email),
        None => None,
    };
    let detail: Value = event
        .as_ref()
        .and_then(|e| serde_json::from_str(&e.detail).ok())
        .unwrap_or_default();
    let case = &facts.case;
    let label = facts.category_label(lang);
    let erased = case.erased_at.is_some();
    let url = format!("{}/manage/cases/{}", ctx.base_url, case.reference);
    let status = if case.merged_into.is_some() {
        "merged"
    } else if case.resolved_at.is_some() {
        "resolved"
    } else if case.acknowledged_at.is_none() {
        "new"
    } else {
        "in_progress"
    };
    let mut data = json!({
        "case": {
            "reference": case.reference,
            "status": status,
            "category": { "key": case.category, "label": label },
            "text": if erased { Value::Null } else { json!(case.body) },
            "language": case.language,
            "severe": facts.severe,
            "received_at": utc(case.created_at),
            "url": url,
        },
        "store": store_json,
        "spot": { "id": facts.touchpoint.id, "label": facts.touchpoint.label },
        "event": {
            "id": d.case_event_id,
            "at": utc(d.created_at),
            "by": by,
            "detail": detail,
        },
    });
    if sub.with_contact && !erased {
        data["customer"] = json!({ "email": case.contact_email });
    }
    let args = [
        ("store", store.name.as_str()),
        ("category", label.as_str()),
        ("reference", case.reference.as_str()),
        ("by", by.as_deref().unwrap_or("Mend")),
    ];
    let key = d.event.as_str().replace('.', "_");
    let title = lang.text_with(&format!("webhook.title.{key}"), &args);
    let text = match d.event {
        WebhookEvent::CaseCreated if !erased => format!(
            "{} · {}",
            facts.touchpoint.label,
            one_line(&case.body, QUOTE_CHARS)
        ),
        WebhookEvent::CaseUpdated | WebhookEvent::CaseReopened => one_line(
            detail["text"]
                .as_str()
                .or(detail["reason"].as_str())
                .unwrap_or(""),
            QUOTE_CHARS,
        ),
        WebhookEvent::CaseResolved => {
            one_line(detail["what_was_done"].as_str().unwrap_or(""), QUOTE_CHARS)
        }
        _ => facts.touchpoint.label.clone(),
    };
    Ok(Some(Message {
        event: d.event,
        body: json!({ "type": d.event.as_str(), "timestamp": utc(d.created_at), "data": data }),
        title,
        text,
        severe: facts.severe,
        ack_url: (d.event == WebhookEvent::CaseCreated && case.acknowledged_at.is_none())
            .then(|| ctx.ack_url(&case.reference, &ack_name(c, sub))),
        case_url: Some(url),
    }))
}

/// Who an "I'm on it" tapped in a chat or on a phone acknowledges as: the person who set
/// the subscription up, else the channel itself.
fn ack_name(c: &mut DbConnection, sub: &WebhookSubscription) -> String {
    sub.created_by
        .as_ref()
        .and_then(|id| users::find(c, id).ok().flatten())
        .map_or_else(|| format!("{}-webhook", sub.format), |u| u.email)
}
