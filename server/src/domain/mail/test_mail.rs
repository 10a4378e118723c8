//! "Send a test to me": a manager sees what a store's customers (the survey reminder, the
//! follow-up check) and managers (the weekly summary) will get, in the browser or in
//! their own mailbox at once, without waiting three days or a week. The survey emails are
//! about a made-up report, in the store's language; the weekly summary is the real one of
//! the last whole week, in the manager's language. The subject says it is a test.

use chrono::{Duration, NaiveDateTime};

use crate::db::models::User;
use crate::db::queries::locations;
use crate::db::states::MailKind;
use crate::db::{Db, DbError};
use crate::domain::alert::AlertContext;
use crate::domain::language::Language;
use crate::domain::mail::MailError;
use crate::domain::mail::SurveyMail;
use crate::domain::mail::{enqueue, Enqueue, MailPayload, OutgoingEmail, Sample};

/// The last whole week (its Monday) in a time zone.
fn last_week(time_zone: &str, now: NaiveDateTime) -> chrono::NaiveDate {
    use chrono::Datelike;
    let today = crate::domain::language::formats::local_day(time_zone, now);
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    monday - Duration::days(7)
}

/// The email as it would go out now; None when the store is gone. `recipient` is who gets
/// the test (their unsubscribe link is the one a customer would see); `lang` the
/// language of the weekly summary (the survey emails speak the store's language).
pub fn compose(
    db: &Db,
    ctx: &AlertContext,
    location_id: &str,
    sample: Sample,
    lang: Language,
    recipient: &str,
) -> Result<Option<OutgoingEmail>, MailError> {
    let Some(location) = db.read(|c| locations::find(c, location_id))? else {
        return Ok(None);
    };
    let now = ctx.clock.now();
    let store_lang = Language::or_default(&location.default_language);
    let (email, shown_in) = match sample {
        Sample::Reminder | Sample::FollowUp => {
            let mail = if sample == Sample::Reminder {
                SurveyMail::Reminder
            } else {
                SurveyMail::FollowUp
            };
            let facts =
                crate::domain::mail::survey::SurveyFacts::sample(&location, store_lang, now);
            (facts.compose(ctx, mail, recipient)?, store_lang)
        }
        Sample::Digest => {
            let week = last_week(&location.time_zone, now);
            let Some(email) =
                crate::domain::insight::digest::compose(db, ctx, location_id, week, lang)?
            else {
                return Ok(None);
            };
            (email, lang)
        }
    };
    Ok(Some(OutgoingEmail {
        subject: format!(
            "{} {}",
            shown_in.text("test_mail.subject_prefix"),
            email.subject
        ),
        ..email
    }))
}

/// Queues the test to the manager asking, due at once. A double click within the same
/// minute sends one.
pub fn enqueue_for(
    db: &Db,
    location_id: &str,
    sample: Sample,
    user: &User,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    db.write(|c| {
        enqueue(
            c,
            Enqueue {
                kind: MailKind::Test,
                recipient: &user.email,
                payload: &MailPayload::TestMail {
                    location_id: location_id.to_owned(),
                    sample,
                    lang: user.language.clone(),
                },
                dedupe_key: format!(
                    "test:{}:{location_id}:{}:{}",
                    user.id,
                    sample.key(),
                    now.format("%Y-%m-%dT%H:%M")
                ),
                case_id: None,
                now,
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_back_from_their_keys() {
        for s in Sample::ALL {
            assert_eq!(Sample::parse(s.key()), Some(s));
        }
        assert_eq!(Sample::parse("alert"), None);
    }

    #[test]
    fn last_week_is_the_monday_before_this_weeks() {
        let at = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        // Sunday 6 December 2026, 20:00 UTC is still Sunday in Warsaw, Monday in Seoul.
        let now = at("2026-12-06 20:00:00");
        assert_eq!(last_week("Europe/Warsaw", now).to_string(), "2026-11-23");
        assert_eq!(last_week("Asia/Seoul", now).to_string(), "2026-11-30");
    }
}
