//! The weekly email to a location's managers, for locations that ask for it: the key
//! figures of the week before and the days that were out of the ordinary, from Monday
//! 08:00 store time. Enqueued once per manager and week (the outbox's dedupe key), and
//! rendered when sent, in the manager's language, from the same numbers as the dashboard.

use askama::Template;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};

use crate::db::queries::exports::Scope;
use crate::db::queries::users;
use crate::db::states::MailKind;
use crate::db::states::Role;
use crate::db::{Db, DbConnection, DbError};
use crate::domain::alert::AlertContext;
use crate::domain::insight::dashboard::{build, Period};
use crate::domain::language::Language;
use crate::domain::mail::MailError;
use crate::domain::mail::{enqueue, one_line, Enqueue, MailPayload, OutgoingEmail};

/// Store-local hour on Monday from which last week's email goes out.
pub const SEND_FROM_HOUR: u32 = 8;
/// Weeks of daily counts behind the control limits that flag a day of the week.
pub const CHART_WEEKS: i64 = 8;

/// The Monday of the week whose email is due at `now` in `tz`: the week before the
/// current one, once the store's Monday has reached 08:00; None before that.
pub fn due_week(tz: chrono_tz::Tz, now: NaiveDateTime) -> Option<NaiveDate> {
    let local = tz.from_utc_datetime(&now).naive_local();
    let monday = local.date() - Duration::days(i64::from(local.weekday().num_days_from_monday()));
    let send_from = monday.and_hms_opt(SEND_FROM_HOUR, 0, 0)?;
    (local >= send_from).then(|| monday - Duration::days(7))
}

/// Queues the due weekly emails of every location that wants them; returns how many
/// were new. Safe to run as often as one likes: each (location, week, manager) once.
pub fn enqueue_due(db: &Db, now: NaiveDateTime) -> Result<usize, DbError> {
    let wanted = db.read(crate::db::queries::locations::with_weekly_digest)?;
    let mut queued = 0;
    for (location_id, time_zone) in wanted {
        let tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
        let Some(week) = due_week(tz, now) else {
            continue;
        };
        queued += db.write(|c| enqueue_for_managers(c, &location_id, week, now))?;
    }
    Ok(queued)
}

fn enqueue_for_managers(
    c: &mut DbConnection,
    location_id: &str,
    week: NaiveDate,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    let mut queued = 0;
    for manager in users::with_role_at(c, location_id, &[Role::Manager])? {
        let payload = MailPayload::DigestMail {
            location_id: location_id.to_owned(),
            week: week.to_string(),
            lang: manager.language.clone(),
        };
        let fresh = enqueue(
            c,
            Enqueue {
                kind: MailKind::Digest,
                recipient: &manager.email,
                payload: &payload,
                dedupe_key: format!("digest:{location_id}:{week}:{}", manager.id),
                case_id: None,
                now,
            },
        )?;
        queued += usize::from(fresh);
    }
    Ok(queued)
}

struct DigestView {
    lang: &'static str,
    subject: String,
    heading: String,
    week: String,
    /// (label, value)
    figures: Vec<(String, String)>,
    top_categories_label: String,
    top_categories: Vec<String>,
    unusual_label: String,
    unusual: Vec<String>,
    link_label: String,
    url: String,
    settings_note: String,
}

#[derive(Template)]
#[template(path = "email/digest/subject.txt")]
struct Subject<'a> {
    m: &'a DigestView,
}
#[derive(Template)]
#[template(path = "email/digest/body.txt")]
struct Text<'a> {
    m: &'a DigestView,
}
#[derive(Template)]
#[template(path = "email/digest/body.html")]
struct Html<'a> {
    m: &'a DigestView,
}

/// Renders the week's email for one location; None if the location is gone.
pub fn compose(
    db: &Db,
    ctx: &AlertContext,
    location_id: &str,
    week: NaiveDate,
    lang: Language,
) -> Result<Option<OutgoingEmail>, MailError> {
    let everyone = Scope {
        user_id: String::new(),
        is_admin: true,
    };
    let now = ctx.clock.now();
    let period = Period {
        from: week,
        to: week + Duration::days(6),
    };
    let Some(d) = build(db, &everyone, Some(location_id), period, now)? else {
        return Ok(None);
    };
    let labels =
        db.read(|c| crate::domain::setup::categories::Labels::read(c, &[location_id.to_owned()]))?;
    let longer = Period {
        from: week - Duration::days(7 * (CHART_WEEKS - 1)),
        to: period.to,
    };
    let unusual: Vec<String> = build(db, &everyone, Some(location_id), longer, now)?
        .map(|l| l.control.out_of_control)
        .unwrap_or_default()
        .into_iter()
        .filter(|(day, _)| period.contains(*day))
        .map(|(day, n)| {
            lang.count_with(
                "digest.unusual_day",
                u64::from(n),
                &[("day", &crate::domain::language::formats::date(lang, day))],
            )
        })
        .collect();
    let f = &d.figures;
    let store = d
        .location
        .as_ref()
        .map(|l| l.name.clone())
        .unwrap_or_default();
    let figures = f
        .shown(lang)
        .into_iter()
        .map(|s| (s.label, s.value))
        .collect();
    let m = DigestView {
        lang: lang.code(),
        subject: lang.count_with(
            "digest.subject",
            u64::try_from(f.complaints).unwrap_or(0),
            &[
                ("store", &store),
                (
                    "from",
                    &crate::domain::language::formats::date(lang, period.from),
                ),
            ],
        ),
        heading: lang.text_with("digest.heading", &[("store", &store)]),
        week: lang.text_with(
            "digest.week",
            &[
                ("from", &period.from.to_string()),
                ("to", &period.to.to_string()),
            ],
        ),
        figures,
        top_categories_label: lang.text("digest.top_categories"),
        top_categories: d
            .categories
            .iter()
            .take(3)
            .map(|b| {
                let label = labels.label(Some(location_id), &b.label, lang);
                format!("{label} ({})", b.count)
            })
            .collect(),
        unusual_label: lang.text("digest.unusual"),
        unusual: if unusual.is_empty() {
            vec![lang.text("digest.none_unusual")]
        } else {
            unusual
        },
        link_label: lang.text("digest.open_dashboard"),
        url: format!(
            "{}/manage/dashboard?from={}&to={}&location={location_id}",
            ctx.base_url, period.from, period.to
        ),
        settings_note: lang.text("digest.settings_note"),
    };
    Ok(Some(OutgoingEmail {
        subject: one_line(&Subject { m: &m }.render()?, 200),
        text: Text { m: &m }.render()?,
        html: Html { m: &m }.render()?,
        inline_images: Vec::new(),
        list_unsubscribe: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn last_weeks_email_is_due_from_monday_eight_in_the_store() {
        let warsaw: chrono_tz::Tz = "Europe/Warsaw".parse().unwrap();
        let seoul: chrono_tz::Tz = "Asia/Seoul".parse().unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let last_week = NaiveDate::from_ymd_opt(2026, 11, 16);
        // 06:59 UTC is 07:59 in Warsaw: not yet; 07:00 UTC is 08:00.
        assert_eq!(due_week(warsaw, utc("2026-11-23 06:59")), None);
        assert_eq!(due_week(warsaw, utc("2026-11-23 07:00")), last_week);
        // Sunday night in UTC is already Monday 08:00 in Seoul.
        assert_eq!(due_week(seoul, utc("2026-11-22 23:00")), last_week);
        // Later in the week it is still last week's email that is due.
        assert_eq!(due_week(warsaw, utc("2026-11-28 12:00")), last_week);
        assert_eq!(
            due_week(warsaw, utc("2026-11-30 07:00")),
            Some(monday),
            "the next Monday, the week that starts today"
        );
    }
}
