//! Unhappy kiosk taps piling up: N unhappy taps (rating 1 or 2) within M minutes at a
//! location (defaults 5 in 15) send one alert through the outbox, to whoever gets the
//! store's new-case alerts at that hour. After an alert, the next can come only once the
//! window has passed (one alert per window, not one per tap). Checked in the transaction
//! that stores the taps, so an alert is as durable as the taps that set it off.

use chrono::{Duration, NaiveDateTime};

use crate::db::queries::kiosks;
use crate::db::states::MailKind;
use crate::db::{Db, DbConnection, DbError};
use crate::domain::alert::{AlertContext, Audience};
use crate::domain::language::Language;
use crate::domain::mail::notice::Notice;
use crate::domain::mail::MailError;
use crate::domain::mail::{enqueue, Enqueue, MailPayload, OutgoingEmail};

/// Ratings at or under this are unhappy.
pub const UNHAPPY_MAX_RATING: i32 = 2;
/// Only taps this recent set off an alert: a backlog from a kiosk that was offline for
/// days is history, not something to run to now.
pub const RECENT: Duration = Duration::hours(2);
pub const DEFAULT_COUNT: i32 = 5;
pub const DEFAULT_MINUTES: i32 = 15;

/// The routing category the alert goes by (its fallback, after-hours and people rules).
const ROUTING_CATEGORY: &str = "kiosk";

/// After taps were stored at a location (`new_unhappy`: when the new unhappy ones were
/// tapped), sends an alert for each window that reached the threshold. Returns how many
/// alerts were queued (one per window, however many recipients).
pub fn check(
    c: &mut DbConnection,
    location_id: &str,
    mut new_unhappy: Vec<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    new_unhappy.retain(|t| *t >= now - RECENT);
    if new_unhappy.is_empty() {
        return Ok(0);
    }
    let (threshold, minutes, alerted_at) = kiosks::unhappy_rule(c, location_id)?;
    if threshold <= 0 || minutes <= 0 {
        return Ok(0);
    }
    let window = Duration::minutes(i64::from(minutes));
    new_unhappy.sort();
    let mut last = alerted_at;
    let mut sent = 0;
    for t in new_unhappy {
        if last.is_some_and(|l| t < l + window) {
            continue;
        }
        let count = kiosks::unhappy_between(c, location_id, UNHAPPY_MAX_RATING, t - window, t)?;
        if count >= i64::from(threshold) {
            enqueue_alert(c, location_id, t - window, t, count, now)?;
            last = Some(t);
            sent += 1;
        }
    }
    if last != alerted_at {
        kiosks::set_unhappy_alerted_at(c, location_id, last)?;
    }
    Ok(sent)
}

fn enqueue_alert(
    c: &mut DbConnection,
    location_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    count: i64,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let stamp = |t: NaiveDateTime| {
        t.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    crate::db::queries::webhooks::fan_out_store_event(
        c,
        location_id,
        crate::db::states::WebhookEvent::KioskUnhappyTaps,
        &serde_json::json!({ "from": stamp(from), "to": stamp(to), "count": count }),
        now,
    )?;
    let Some(audience) = Audience::load(c, location_id)? else {
        return Ok(());
    };
    for recipient in audience.recipients_for_new_case(ROUTING_CATEGORY, now) {
        let payload = MailPayload::KioskAlert {
            location_id: location_id.to_owned(),
            from: stamp(from),
            to: stamp(to),
            count,
            lang: audience.language_of(&recipient).code().to_owned(),
        };
        enqueue(
            c,
            Enqueue {
                kind: MailKind::KioskUnhappy,
                recipient: &recipient,
                payload: &payload,
                dedupe_key: format!("kiosk-unhappy:{location_id}:{}:{recipient}", stamp(to)),
                case_id: None,
                now,
            },
        )?;
    }
    Ok(())
}

/// The alert as sent; None when the location is gone.
pub fn compose(
    db: &Db,
    ctx: &AlertContext,
    location_id: &str,
    (from, to): (NaiveDateTime, NaiveDateTime),
    count: i64,
    lang: Language,
) -> Result<Option<OutgoingEmail>, MailError> {
    let Some(location) = db.read(|c| crate::db::queries::locations::find(c, location_id))? else {
        return Ok(None);
    };
    let local = |t: NaiveDateTime, format: &str| {
        use chrono::TimeZone;
        match location.time_zone.parse::<chrono_tz::Tz>() {
            Ok(tz) => tz.from_utc_datetime(&t).format(format).to_string(),
            Err(_) => t.format(format).to_string(),
        }
    };
    let (from_text, to_text) = (local(from, "%H:%M"), local(to, "%H:%M"));
    let day = local(to, "%Y-%m-%d");
    let minutes = (to - from).num_minutes().to_string();
    let args = [
        ("store", location.name.as_str()),
        ("count", &count.to_string()),
        ("minutes", minutes.as_str()),
        ("from", from_text.as_str()),
        ("to", to_text.as_str()),
        ("day", day.as_str()),
    ];
    let notice = Notice {
        lang,
        subject: lang.count_with(
            "kiosk_alert.subject",
            u64::try_from(count).unwrap_or(0),
            &args,
        ),
        heading: lang.text_with("kiosk_alert.heading", &args),
        what: lang.count_with("kiosk_alert.what", u64::try_from(count).unwrap_or(0), &args),
        advice: lang.text("kiosk_alert.advice"),
        link_label: lang.text("kiosk_alert.open_kiosks"),
        url: format!("{}/manage/locations/{location_id}/kiosks", ctx.base_url),
    };
    Ok(Some(notice.email()?))
}
