//! Telling staff: who hears of a case (`routing`, per store `settings`), the alert email
//! (here) and the escalation when no one acknowledges it (`escalation`).
//!
//! Staff alerts: who hears of a new case, and the email they get (in their language, with
//! everything needed to act and a signed "I'm on it" link).
//!
//! Who is decided, and the outbox rows written, inside the transaction that stores the
//! case, so a customer's success page means the alert is as durable as the complaint. What
//! the email says is rendered by the outbox worker when it sends, off the customer's path:
//! the single intake writer only inserts rows.

pub mod escalation;
pub mod routing;
pub mod settings;

use std::collections::HashMap;

use askama::Template;
use chrono::{Duration, NaiveDateTime, TimeZone};
use diesel::QueryResult;

use self::routing::{is_severe, OpeningHours, Routing};
use crate::config::SigningKey;
use crate::db::models::{
    Case, CaseEvent, Escalation, Location, LocationAlerting, OutboxMessage, Touchpoint,
};
use crate::db::queries::routing as routing_rows;
use crate::db::queries::{cases, escalations, locations, outbox, touchpoints, users};
use crate::db::states::EventKind;
use crate::db::states::Role;
use crate::db::{DbConnection, DbError};
use crate::domain::clock::Clock;
use crate::domain::language::Language;
use crate::domain::mail::CaseMailKind;
use crate::domain::mail::MailError;
use crate::domain::mail::{one_line, outbox_row, Enqueue, InlineImage, MailPayload, OutgoingEmail};
use crate::domain::signed_link;

/// A complaint from the same contact within this many days marks a repeat complainant:
/// recovery rarely works twice.
pub const REPEAT_WINDOW_DAYS: i64 = 90;
pub const ACK_PURPOSE: &str = "ack";

/// What composing a message needs besides the data: where links point, the key that signs
/// them, and the time.
#[derive(Debug, Clone)]
pub struct AlertContext {
    pub base_url: String,
    pub key: SigningKey,
    pub clock: Clock,
    pub ack_link_ttl: Duration,
}

impl AlertContext {
    pub fn new(settings: &crate::config::Settings, base_url: String, clock: Clock) -> Self {
        AlertContext {
            base_url,
            key: settings.secret.clone(),
            clock,
            ack_link_ttl: Duration::hours(i64::from(settings.ack_link_hours)),
        }
    }

    pub fn case_url(&self, reference: &str) -> String {
        format!("{}/manage/cases/{reference}", self.base_url)
    }

    /// `/ack/{reference}?to=..&exp=..&sig=..`: acknowledges as `recipient`, until it expires.
    pub fn ack_url(&self, reference: &str, recipient: &str) -> String {
        let expires = (self.clock.now() + self.ack_link_ttl).and_utc().timestamp();
        let sig = signed_link::sign(
            self.key.expose_bytes(),
            ACK_PURPOSE,
            &[reference, recipient],
            expires,
        );
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("to", recipient)
            .append_pair("exp", &expires.to_string())
            .append_pair("sig", &sig)
            .finish();
        format!("{}/ack/{reference}?{query}", self.base_url)
    }
}

struct Labels {
    category: String,
    where_: String,
    when: String,
    reference: String,
    contact: String,
    no_contact: String,
    no_consent: String,
    photo: String,
    on_it: String,
    open_case: String,
    escalated_subject: String,
}

impl Labels {
    fn new(lang: Language) -> Labels {
        Labels {
            category: lang.text("alert.category"),
            where_: lang.text("alert.where"),
            when: lang.text("alert.when"),
            reference: lang.text("alert.reference"),
            contact: lang.text("alert.contact"),
            no_contact: lang.text("alert.no_contact"),
            no_consent: lang.text("alert.no_consent"),
            photo: lang.text("alert.photo"),
            on_it: lang.text("alert.on_it"),
            open_case: lang.text("alert.open_case"),
            escalated_subject: lang.text("alert.escalated_subject"),
        }
    }
}

/// Everything an alert or escalation email shows, already in the recipient's language.
struct CaseMail {
    lang: &'static str,
    l: Labels,
    heading: String,
    store: String,
    spot: String,
    category: String,
    body: String,
    first_words: String,
    received: String,
    reference: String,
    flags: Vec<String>,
    subject_flags: Vec<String>,
    /// The customer's answer, one line a question (the "not satisfied" email).
    answer: Vec<String>,
    answer_heading: String,
    /// "What would make it right": heading and the customer's answer.
    wish: Option<(String, String)>,
    contact: Option<String>,
    /// The customer left an address but did not agree to be contacted about it.
    contact_refused: bool,
    has_photo: bool,
    ack_url: String,
    case_url: String,
    on_it_hint: String,
    why: String,
}

macro_rules! email_template {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            m: &'a CaseMail,
        }
    };
}
email_template!(AlertSubject, "email/alert/subject.txt");
email_template!(AlertText, "email/alert/body.txt");
email_template!(AlertHtml, "email/alert/body.html");
email_template!(EscalationSubject, "email/escalation/subject.txt");
email_template!(EscalationText, "email/escalation/body.txt");
email_template!(EscalationHtml, "email/escalation/body.html");

fn render(kind: CaseMailKind, m: &CaseMail) -> Result<(String, String, String), askama::Error> {
    Ok(match kind {
        CaseMailKind::Alert => (
            AlertSubject { m }.render()?,
            AlertText { m }.render()?,
            AlertHtml { m }.render()?,
        ),
        CaseMailKind::Escalation { .. }
        | CaseMailKind::Unhappy
        | CaseMailKind::Assigned
        | CaseMailKind::Reopened => (
            EscalationSubject { m }.render()?,
            EscalationText { m }.render()?,
            EscalationHtml { m }.render()?,
        ),
    })
}

/// The facts about a case that every message about it shows.
pub struct CaseFacts {
    pub case: Case,
    pub location: Location,
    pub touchpoint: Touchpoint,
    pub sla_minutes: i32,
    pub repeat_count: i64,
    pub severe: bool,
    /// The store's categories (retired ones too), for the case's category's label.
    pub categories: Vec<crate::domain::setup::categories::Category>,
    /// The customer's latest survey answer, for the "not satisfied" email (read only
    /// for that one: see [`CaseFacts::with_answer`]).
    pub answer: Option<crate::db::models::Survey>,
    /// When the first alert went out and to whom (read for escalations only).
    pub alerted: Option<(NaiveDateTime, Vec<String>)>,
    /// What the customer said would make it right, if they said it before this was sent.
    pub wish: Option<crate::db::models::CaseWish>,
}

/// The customer's latest answered survey about a case.
pub fn latest_answer(
    c: &mut DbConnection,
    case_id: &str,
) -> QueryResult<Option<crate::db::models::Survey>> {
    Ok(crate::db::queries::surveys::for_case(c, case_id)?
        .into_iter()
        .filter(|s| s.answered_at.is_some())
        .max_by_key(|s| s.answered_at))
}

/// Stores, spots and alert settings already read, by id: rendering a rush of alerts
/// about one store reads them once instead of once per alert.
#[derive(Default)]
pub struct PlaceCache {
    locations: HashMap<String, Option<Location>>,
    touchpoints: HashMap<String, Option<Touchpoint>>,
    alerting: HashMap<String, Option<LocationAlerting>>,
    categories: HashMap<String, Option<Vec<crate::domain::setup::categories::Category>>>,
}

/// The value under `key`, read with `load` the first time.
fn remembered<T: Clone>(
    seen: &mut HashMap<String, Option<T>>,
    key: &str,
    load: impl FnOnce() -> QueryResult<Option<T>>,
) -> QueryResult<Option<T>> {
    if let Some(known) = seen.get(key) {
        return Ok(known.clone());
    }
    let value = load()?;
    seen.insert(key.to_owned(), value.clone());
    Ok(value)
}

impl CaseFacts {
    /// None when the case's location or touchpoint is gone.
    pub fn load(c: &mut DbConnection, case: Case) -> QueryResult<Option<CaseFacts>> {
        Self::load_with(c, case, &mut PlaceCache::default())
    }

    /// [`CaseFacts::load`], reading each store and spot once per `places`.
    pub fn load_with(
        c: &mut DbConnection,
        case: Case,
        places: &mut PlaceCache,
    ) -> QueryResult<Option<CaseFacts>> {
        let (Some(location), Some(touchpoint), Some(alerting)) = (
            remembered(&mut places.locations, &case.location_id, || {
                locations::find(c, &case.location_id)
            })?,
            remembered(&mut places.touchpoints, &case.touchpoint_id, || {
                touchpoints::find(c, &case.touchpoint_id)
            })?,
            remembered(&mut places.alerting, &case.location_id, || {
                routing_rows::alerting(c, &case.location_id)
            })?,
        ) else {
            return Ok(None);
        };
        let categories = remembered(&mut places.categories, &case.location_id, || {
            crate::domain::setup::categories::of_store(c, &case.location_id).map(Some)
        })?
        .unwrap_or_default();
        let repeat_count = cases::count_from_same_customer_since(
            c,
            &case,
            case.created_at - Duration::days(REPEAT_WINDOW_DAYS),
        )?;
        // As decided when the case came in; cases from before that was recorded are
        // judged by today's rules.
        let severe = case.severe.unwrap_or_else(|| {
            is_severe(
                &case.category,
                &case.body,
                alerting.severe_categories.as_deref(),
                alerting.severe_keywords.as_deref(),
            )
        });
        let wish = crate::db::queries::recovery::wish_of(c, &case.id)?;
        Ok(Some(CaseFacts {
            wish,
            case,
            location,
            touchpoint,
            sla_minutes: alerting.sla_minutes,
            repeat_count,
            severe,
            categories,
            answer: None,
            alerted: None,
        }))
    }

    /// The same facts with what `kind` shows besides: the customer's latest survey answer
    /// for the "not satisfied" email, who was alerted and when for an escalation.
    pub fn with_answer(
        mut self,
        c: &mut DbConnection,
        kind: &CaseMailKind,
    ) -> QueryResult<CaseFacts> {
        match kind {
            CaseMailKind::Unhappy => self.answer = latest_answer(c, &self.case.id)?,
            CaseMailKind::Escalation { .. } => {
                self.alerted = cases::events_of_kind(c, &self.case.id, EventKind::Alerted)?
                    .into_iter()
                    .next()
                    .map(|e| {
                        let detail: serde_json::Value =
                            serde_json::from_str(&e.detail).unwrap_or_default();
                        let to = detail["to"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|v| v.as_str().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default();
                        (e.created_at, to)
                    });
            }
            _ => {}
        }
        Ok(self)
    }

    /// The label of the case's category in `lang` (the store's own, else the catalog's).
    pub fn category_label(&self, lang: Language) -> String {
        self.categories
            .iter()
            .find(|k| k.key == self.case.category)
            .map_or_else(
                || lang.category_label(&self.case.category),
                |k| k.label(lang, &self.location.default_language),
            )
    }

    /// The email about this case for `recipient`, in `lang`.
    pub fn compose(
        &self,
        ctx: &AlertContext,
        kind: CaseMailKind,
        recipient: &str,
        lang: Language,
    ) -> Result<OutgoingEmail, MailError> {
        let case = &self.case;
        let mut flags = Vec::new();
        let mut subject_flags = Vec::new();
        if self.severe {
            flags.push(lang.text("alert.severe"));
            subject_flags.push(lang.text("alert.severe"));
        }
        if self.repeat_count > 0 {
            flags.push(lang.count(
                "alert.repeat",
                u64::try_from(self.repeat_count).unwrap_or(0),
            ));
        }
        if let Some((at, to)) = &self.alerted {
            flags.push(lang.text_with(
                "alert.alerted_before",
                &[
                    (
                        "when",
                        &crate::domain::language::formats::date_time(
                            lang,
                            &self.location.time_zone,
                            *at,
                        ),
                    ),
                    ("to", &to.join(", ")),
                ],
            ));
        }
        let (heading, on_it_hint) = match kind {
            CaseMailKind::Alert => (
                lang.text("alert.new_case"),
                lang.text_with(
                    "alert.on_it_hint",
                    &[("minutes", &self.sla_minutes.to_string())],
                ),
            ),
            CaseMailKind::Escalation { minutes } => (
                lang.text_with("alert.escalated", &[("minutes", &minutes.to_string())]),
                lang.text("alert.escalation_hint"),
            ),
            CaseMailKind::Unhappy => (lang.text("alert.unhappy"), lang.text("alert.unhappy_hint")),
            CaseMailKind::Assigned => (
                lang.text("alert.assigned"),
                lang.text("alert.assigned_hint"),
            ),
            CaseMailKind::Reopened => (
                lang.text("alert.reopened"),
                lang.text("alert.assigned_hint"),
            ),
        };
        let mut labels = Labels::new(lang);
        match kind {
            CaseMailKind::Unhappy => labels.escalated_subject = lang.text("alert.unhappy_subject"),
            CaseMailKind::Assigned => {
                labels.escalated_subject = lang.text("alert.assigned_subject")
            }
            CaseMailKind::Reopened => {
                labels.escalated_subject = lang.text("alert.reopened_subject")
            }
            CaseMailKind::Alert | CaseMailKind::Escalation { .. } => {}
        }
        let m = CaseMail {
            lang: lang.code(),
            l: labels,
            heading,
            store: one_line(&self.location.name, 80),
            spot: one_line(&self.touchpoint.label, 80),
            category: one_line(&self.category_label(lang), 60),
            body: case.body.clone(),
            first_words: one_line(&case.body, 60),
            received: crate::domain::language::formats::date_time(
                lang,
                &self.location.time_zone,
                case.created_at,
            ),
            reference: case.reference.clone(),
            flags,
            subject_flags,
            answer: self
                .answer
                .as_ref()
                .map(|s| crate::domain::survey::answer_lines::survey_lines(lang, s))
                .unwrap_or_default(),
            answer_heading: lang.text("alert.answer_heading"),
            wish: self.wish.as_ref().map(|w| {
                (
                    lang.text("wish.staff_heading"),
                    crate::domain::recovery::wish::said(lang, w),
                )
            }),
            contact: case.contact_email.clone(),
            contact_refused: case.contact_email.is_some() && !case.contact_consent,
            has_photo: case.photo_thumb_path.is_some(),
            ack_url: ctx.ack_url(&case.reference, recipient),
            case_url: ctx.case_url(&case.reference),
            on_it_hint,
            why: lang.text_with("alert.why", &[("store", &self.location.name)]),
        };
        let (subject, text, html) = render(kind, &m)?;
        Ok(OutgoingEmail {
            subject: one_line(&subject, 200),
            text,
            html,
            inline_images: case
                .photo_thumb_path
                .iter()
                .map(|path| InlineImage {
                    cid: "photo".into(),
                    path: path.clone(),
                    content_type: "image/jpeg".into(),
                })
                .collect(),
            list_unsubscribe: None,
        })
    }
}

/// The people of a location and how to reach them, read once per location per intake
/// batch (a rush of complaints at one store reads its routing once, not per complaint).
#[derive(Debug, Clone)]
pub struct Audience {
    time_zone: String,
    default_language: String,
    sla_minutes: i32,
    routing: Routing,
    hours: Option<OpeningHours>,
    /// (email, role) of the users who work at the location.
    people: Vec<(String, Role)>,
    admins: Vec<String>,
    languages: HashMap<String, String>,
}

impl Audience {
    /// None when the location is gone.
    pub fn load(c: &mut DbConnection, location_id: &str) -> QueryResult<Option<Audience>> {
        let (Some(location), Some(alerting)) = (
            locations::find(c, location_id)?,
            routing_rows::alerting(c, location_id)?,
        ) else {
            return Ok(None);
        };
        let mut routing = Routing::from_rows(&routing_rows::recipients(c, location_id)?);
        let people: Vec<(String, Role)> =
            users::with_role_at(c, location_id, &[Role::Staff, Role::Manager])?
                .into_iter()
                .map(|u| (u.email, u.role))
                .collect();
        let admins: Vec<String> = users::with_role(c, Role::Admin)?
            .into_iter()
            .map(|u| u.email)
            .collect();
        let mut everyone: Vec<String> = routing
            .categories
            .values()
            .flatten()
            .chain(&routing.fallback)
            .chain(&routing.after_hours)
            .cloned()
            .collect();
        everyone.extend(people.iter().map(|(e, _)| e.clone()));
        everyone.extend(admins.iter().cloned());
        everyone.sort();
        everyone.dedup();
        // A deactivated person named in the routing hears nothing more; the rest of the
        // routing (or the fallbacks) still reaches someone.
        let gone = users::deactivated_among(c, &everyone)?;
        if !gone.is_empty() {
            routing.remove(&gone);
            everyone.retain(|e| !gone.contains(e));
        }
        let languages = users::languages_of(c, &everyone)?.into_iter().collect();
        Ok(Some(Audience {
            hours: alerting
                .opening_hours
                .as_deref()
                .and_then(|h| OpeningHours::parse(h).ok()),
            time_zone: location.time_zone,
            default_language: location.default_language,
            sla_minutes: alerting.sla_minutes,
            routing,
            people,
            admins,
            languages,
        }))
    }

    /// A user's own language, else the store's.
    pub fn language_of(&self, email: &str) -> Language {
        Language::or_default(
            self.languages
                .get(email)
                .map_or(self.default_language.as_str(), String::as_str),
        )
    }

    /// Who hears of a new case: the location's routing; without any, the people who
    /// work there; without them, the admins. Nobody is never the answer while anyone
    /// could act.
    pub fn recipients_for_new_case(&self, category: &str, now: NaiveDateTime) -> Vec<String> {
        let open = match (&self.hours, self.time_zone.parse::<chrono_tz::Tz>()) {
            (Some(hours), Ok(tz)) => hours.is_open(tz.from_utc_datetime(&now).naive_local()),
            _ => true,
        };
        let to = self.routing.recipients(category, open);
        if !to.is_empty() {
            return to;
        }
        let people: Vec<String> = self.people.iter().map(|(e, _)| e.clone()).collect();
        if !people.is_empty() {
            return people;
        }
        self.admins.clone()
    }

    /// Who hears of an escalation at `level`: the managers, then the admins.
    pub fn escalation_recipients(&self, level: i32) -> Vec<String> {
        if level == 1 {
            self.people
                .iter()
                .filter(|(_, role)| *role == Role::Manager)
                .map(|(e, _)| e.clone())
                .collect()
        } else {
            self.admins.clone()
        }
    }

    /// Enqueues one message about a case per recipient, each in that person's language.
    /// The worker renders it when it sends.
    pub fn enqueue_case_mail(
        &self,
        c: &mut DbConnection,
        case_id: &str,
        kind: CaseMailKind,
        recipients: &[String],
        dedupe: &str,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        for row in self.case_mail_rows(case_id, kind, recipients, dedupe, now)? {
            outbox::enqueue(c, &row)?;
        }
        Ok(())
    }

    /// The outbox rows of [`Audience::enqueue_case_mail`], not yet stored.
    fn case_mail_rows(
        &self,
        case_id: &str,
        kind: CaseMailKind,
        recipients: &[String],
        dedupe: &str,
        now: NaiveDateTime,
    ) -> Result<Vec<OutboxMessage>, DbError> {
        recipients
            .iter()
            .map(|recipient| {
                let payload = MailPayload::CaseMail {
                    case_id: case_id.to_owned(),
                    mail: kind,
                    lang: self.language_of(recipient).code().to_owned(),
                };
                outbox_row(Enqueue {
                    kind: kind.mail_kind(),
                    recipient,
                    payload: &payload,
                    dedupe_key: format!("{dedupe}:{case_id}:{recipient}"),
                    case_id: Some(case_id),
                    now,
                })
            })
            .collect()
    }
}

/// Audiences read in this transaction, by location id.
#[derive(Default)]
pub struct AudienceCache(HashMap<String, Option<Audience>>);

impl AudienceCache {
    pub fn get(
        &mut self,
        c: &mut DbConnection,
        location_id: &str,
    ) -> QueryResult<Option<&Audience>> {
        if !self.0.contains_key(location_id) {
            let audience = Audience::load(c, location_id)?;
            self.0.insert(location_id.to_owned(), audience);
        }
        Ok(self.0.get(location_id).and_then(Option::as_ref))
    }

    /// The audience of a case's location, which must still exist.
    pub fn require(
        &mut self,
        c: &mut DbConnection,
        location_id: &str,
    ) -> Result<&Audience, DbError> {
        self.get(c, location_id)?
            .ok_or(DbError::Query(diesel::result::Error::NotFound))
    }
}

/// The rows that alert the right people about a new case and start its escalation clock:
/// one outbox message per recipient, the case's `alerted` event and its first escalation.
pub struct NewCaseAlert {
    pub mails: Vec<OutboxMessage>,
    pub event: CaseEvent,
    pub escalation: Escalation,
}

impl NewCaseAlert {
    pub fn new(ctx: &AlertContext, case: &Case, audience: &Audience) -> Result<Self, DbError> {
        let now = ctx.clock.now();
        let to = audience.recipients_for_new_case(&case.category, now);
        let mails = audience.case_mail_rows(&case.id, CaseMailKind::Alert, &to, "alert", now)?;
        let event = CaseEvent::new(
            &case.id,
            None,
            EventKind::Alerted,
            serde_json::json!({ "to": to }),
            now,
        );
        let escalation = Escalation {
            case_id: case.id.clone(),
            level: 1,
            due_at: case.created_at + Duration::minutes(i64::from(audience.sla_minutes)),
            fired_at: None,
            cancelled_at: None,
        };
        Ok(NewCaseAlert {
            mails,
            event,
            escalation,
        })
    }
}

/// Alerts the right people about a new case and starts its escalation clock. Runs inside
/// the transaction that stores the case.
pub fn alert_new_case(
    c: &mut DbConnection,
    ctx: &AlertContext,
    case: &Case,
    audiences: &mut AudienceCache,
) -> Result<(), DbError> {
    let alert = NewCaseAlert::new(ctx, case, audiences.require(c, &case.location_id)?)?;
    for mail in &alert.mails {
        outbox::enqueue(c, mail)?;
    }
    cases::add_event(c, &alert.event)?;
    escalations::schedule(c, &alert.escalation)?;
    Ok(())
}
