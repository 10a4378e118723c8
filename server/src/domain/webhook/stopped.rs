//! The mail that tells a webhook's owner Mend stopped sending to it (410 Gone, or failing
//! for days): written in the same transaction that stops it, sent by the outbox.

use chrono::NaiveDateTime;

use crate::db::models::WebhookSubscription;
use crate::db::queries::{users, webhooks};
use crate::db::states::{MailKind, Role, WebhookStop};
use crate::db::{Db, DbConnection, DbError};
use crate::domain::alert::AlertContext;
use crate::domain::language::{formats, Language};
use crate::domain::mail::notice::Notice;
use crate::domain::mail::{enqueue, Enqueue, MailError, MailPayload, OutgoingEmail};
use crate::domain::webhook::DISABLE_AFTER_DAYS;

/// Queues the notice for whoever owns the subscription: the person who made it, or, for
/// one made on the command line (or by someone since gone), every active admin.
pub fn tell_owner(
    c: &mut DbConnection,
    sub: &WebhookSubscription,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let maker = match &sub.created_by {
        Some(id) => users::find(c, id)?,
        None => None,
    };
    let maker = match maker {
        Some(u) if users::deactivated_at(c, &u.id)?.is_none() => Some(u),
        _ => None,
    };
    let owners = match maker {
        Some(u) => vec![u],
        None => {
            let mut admins = Vec::new();
            for u in users::all(c)? {
                if u.role == Role::Admin && users::deactivated_at(c, &u.id)?.is_none() {
                    admins.push(u);
                }
            }
            admins
        }
    };
    for owner in owners {
        let payload = MailPayload::WebhookStopped {
            subscription_id: sub.id.clone(),
            lang: Language::or_default(&owner.language).code().to_owned(),
        };
        enqueue(
            c,
            Enqueue {
                kind: MailKind::WebhookStopped,
                recipient: &owner.email,
                payload: &payload,
                dedupe_key: format!("webhook-stopped:{}:{}", sub.id, owner.email),
                case_id: None,
                now,
            },
        )?;
    }
    Ok(())
}

/// The notice as sent; None when the subscription is gone or running again.
pub fn compose(
    db: &Db,
    ctx: &AlertContext,
    subscription_id: &str,
    lang: Language,
) -> Result<Option<OutgoingEmail>, MailError> {
    let Some(sub) = db.read(|c| webhooks::find(c, subscription_id))? else {
        return Ok(None);
    };
    let (Some(stopped_at), Some(why)) = (sub.disabled_at, sub.disabled_reason) else {
        return Ok(None);
    };
    let host = url::Url::parse(&sub.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| sub.url.clone());
    let since = sub.failing_since.unwrap_or(stopped_at);
    let args = [
        ("host", host.as_str()),
        ("since", &formats::date_time(lang, "UTC", since)),
        ("days", &formats::number(lang, DISABLE_AFTER_DAYS)),
    ];
    let what = match why {
        WebhookStop::Gone => "webhook_stopped.gone",
        WebhookStop::Failing => "webhook_stopped.failing",
        // Someone removed it by hand: they know.
        WebhookStop::Removed => return Ok(None),
    };
    let notice = Notice {
        lang,
        subject: lang.text_with("webhook_stopped.subject", &args),
        heading: lang.text_with("webhook_stopped.heading", &args),
        what: lang.text_with(what, &args),
        advice: lang.text("webhook_stopped.advice"),
        link_label: lang.text("webhook_stopped.open"),
        url: format!(
            "{}/manage/integrations/webhooks/{subscription_id}",
            ctx.base_url
        ),
    };
    Ok(Some(notice.email()?))
}
