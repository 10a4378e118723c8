//! "You said, we did": a manager records what one or more stores changed because of
//! complaints ("We now check the restrooms every 30 minutes"), tied to a category and/or a
//! root cause. Telling customers the process was fixed, not only their case, raises
//! satisfaction and return intent, most of all for those whose own recovery failed (Van
//! Vaerenbergh et al., 2012). So a change is shown on the stores' public page, on their
//! complaint form and kiosk, on the status pages of the cases it answers, and, when the
//! manager asks, mailed once to the customers who complained about it in a period (at
//! most one such email per customer per calendar month, only to those who agreed to be
//! contacted). The dashboard compares its complaints before and after.

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::models::{new_id, ProcessChange, ProcessChangeStore};
use crate::db::queries::process_changes as q;
use crate::db::queries::stores;
use crate::db::states::MailKind;
use crate::db::{Db, DbConnection, DbError};
use crate::domain::case::workflow::root_causes_of;
use crate::domain::language::Language;
use crate::domain::mail::{enqueue, CustomerMailKind, Enqueue, MailPayload};
use crate::domain::setup::fields::{FieldError, Problem, SetupError};
use crate::domain::setup::{audit, Actor};

/// A change's text, per language: what a customer reads, so kept short.
pub const MAX_TEXT_CHARS: usize = 500;
/// Public pages show changes that took effect this many days back at most.
pub const SHOWN_DAYS: i64 = 180;
/// The outbox kind of the email to customers.
pub const MAIL_KIND: MailKind = MailKind::CustomerChanged;
/// Cases a mailing step looks at, in one transaction. The worker takes one step a second
/// (`outbox::POLL_EVERY`), so a mailing goes out at 25 emails a second at most: 10,000
/// customers in under seven minutes, while complaints arriving meanwhile find the machine
/// as it was (bench/said_did.sh; at 500 a step the form POST p99 rose by a third).
const MAIL_STEP: i64 = 25;
/// A mailing adds more only while fewer of its emails than this wait in the outbox, so an
/// alert about a new complaint never queues behind thousands of them.
const MAIL_BACKLOG: i64 = 200;
/// The longest period a mailing may look back over.
const MAX_MAIL_DAYS: i64 = 366;
/// Before and after are compared over the same number of days, this many at most.
const MAX_EFFECT_DAYS: i64 = 90;

/// A change's texts: language code -> text.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Texts(pub BTreeMap<String, String>);

impl Texts {
    pub fn parse(json: &str) -> Texts {
        Texts(serde_json::from_str(json).unwrap_or_default())
    }

    /// In the reader's language, else the store's, else English, else any.
    pub fn pick(&self, lang: Language, store_language: &str) -> &str {
        [lang.code(), store_language, "en"]
            .iter()
            .find_map(|l| self.0.get(*l).filter(|t| !t.is_empty()))
            .or_else(|| self.0.values().find(|t| !t.is_empty()))
            .map_or("", String::as_str)
    }

    /// The text written for one language, or "" (the form's value).
    pub fn written_in(&self, code: &str) -> &str {
        self.0.get(code).map_or("", String::as_str)
    }
}

/// What a manager sent, as typed.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub stores: Vec<String>,
    /// "All my stores": archived ones among `stores` are passed over, not refused.
    pub all_stores: bool,
    pub category: String,
    pub root_cause: String,
    pub texts: Vec<(Language, String)>,
    /// YYYY-MM-DD, or empty for today.
    pub effective_on: String,
    /// Tell the customers who complained about it in `[mail_from, mail_to]` (days).
    pub mail: bool,
    pub mail_from: String,
    pub mail_to: String,
}

/// A checked draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Checked {
    stores: Vec<String>,
    category: Option<String>,
    root_cause: Option<String>,
    texts: Texts,
    effective_on: NaiveDate,
    /// UTC window of the complaints to tell.
    mail: Option<(NaiveDateTime, NaiveDateTime)>,
}

/// Who may record changes for which stores: every store (an admin) or these.
pub enum Scope<'a> {
    Everywhere,
    Stores(&'a [String]),
}

impl Scope<'_> {
    fn allows(&self, id: &str) -> bool {
        match self {
            Scope::Everywhere => true,
            Scope::Stores(ids) => ids.iter().any(|s| s == id),
        }
    }
}

fn date(field: &'static str, raw: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, Problem::NotADate, raw))
}

/// Midnight of a store-local day, in UTC (the start of the day where the store is).
pub fn day_start_utc(time_zone: &str, day: NaiveDate) -> NaiveDateTime {
    use chrono::TimeZone;
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    time_zone
        .parse::<chrono_tz::Tz>()
        .ok()
        .and_then(|tz| tz.from_local_datetime(&midnight).earliest())
        .map_or(midnight, |t| t.naive_utc())
}

fn check(
    c: &mut DbConnection,
    scope: &Scope,
    d: &Draft,
    now: NaiveDateTime,
) -> Result<Checked, SetupError> {
    let mut store_ids: Vec<String> = Vec::new();
    let mut first_zone = None;
    let mut categories = HashSet::new();
    let mut root_causes = HashSet::new();
    for id in &d.stores {
        let found = stores::find(c, id)?.filter(|s| s.archived_at.is_none() && scope.allows(&s.id));
        let store = match found {
            Some(store) => store,
            None if d.all_stores => continue,
            None => return Err(FieldError::new("locations", Problem::UnknownStore, id).into()),
        };
        if store_ids.contains(&store.id) {
            continue;
        }
        first_zone.get_or_insert(store.time_zone.clone());
        for k in crate::domain::setup::categories::of_store(c, &store.id)? {
            categories.insert(k.key);
        }
        let configured = crate::db::queries::locations::root_causes(c, &store.id)?;
        root_causes.extend(root_causes_of(configured.as_deref()));
        store_ids.push(store.id);
    }
    let Some(zone) = first_zone else {
        return Err(FieldError::new("locations", Problem::Empty, "").into());
    };
    let chosen = |field: &'static str, raw: &str, offered: &HashSet<String>| {
        let v = raw.trim();
        match v {
            "" => Ok(None),
            v if offered.contains(v) => Ok(Some(v.to_owned())),
            v => Err(FieldError::new(field, Problem::NotOffered, v)),
        }
    };
    let category = chosen("category", &d.category, &categories)?;
    let root_cause = chosen("root_cause", &d.root_cause, &root_causes)?;
    if category.is_none() && root_cause.is_none() {
        return Err(FieldError::new("change_about", Problem::Empty, "").into());
    }
    let mut texts = BTreeMap::new();
    for (lang, raw) in &d.texts {
        let t: String = raw
            .trim()
            .chars()
            .filter(|ch| !ch.is_control() || *ch == '\n')
            .collect();
        if t.chars().count() > MAX_TEXT_CHARS {
            return Err(FieldError::new("change_text", Problem::TooLong, raw).into());
        }
        if !t.is_empty() {
            texts.insert(lang.code().to_owned(), t);
        }
    }
    if texts.is_empty() {
        return Err(FieldError::new("change_text", Problem::Empty, "").into());
    }
    let today = crate::domain::language::formats::local_day(&zone, now);
    let effective_on = if d.effective_on.trim().is_empty() {
        today
    } else {
        let day = date("effective_on", &d.effective_on)?;
        if (day - today).num_days().abs() > MAX_MAIL_DAYS {
            return Err(FieldError::new("effective_on", Problem::TooFar, &d.effective_on).into());
        }
        day
    };
    let mail = if d.mail {
        let from = date("mail_period", &d.mail_from)?;
        let to = date("mail_period", &d.mail_to)?;
        if from > to || to > today || (to - from).num_days() > MAX_MAIL_DAYS {
            let shown = format!("{} – {}", d.mail_from.trim(), d.mail_to.trim());
            return Err(FieldError::new("mail_period", Problem::BadPeriod, &shown).into());
        }
        Some((
            day_start_utc(&zone, from),
            day_start_utc(&zone, to + Duration::days(1)),
        ))
    } else {
        None
    };
    Ok(Checked {
        stores: store_ids,
        category,
        root_cause,
        texts: Texts(texts),
        effective_on,
        mail,
    })
}

/// Records a change (and, when asked, starts its mailing): one transaction with its log
/// entry. Returns its id.
pub fn record(
    db: &Db,
    actor: &Actor,
    user_id: &str,
    scope: &Scope,
    draft: &Draft,
    now: NaiveDateTime,
) -> Result<String, SetupError> {
    db.write(|c| {
        let checked = check(c, scope, draft, now)?;
        let id = new_id();
        let change = ProcessChange {
            id: id.clone(),
            created_by: Some(user_id.to_owned()),
            created_at: now,
            effective_on: checked.effective_on,
            category: checked.category.clone(),
            root_cause: checked.root_cause.clone(),
            texts: serde_json::to_string(&checked.texts.0).map_err(DbError::Encode)?,
            mail_from: checked.mail.map(|m| m.0),
            mail_to: checked.mail.map(|m| m.1),
            mail_cursor: None,
            mailed_at: None,
            mailed_count: 0,
            withdrawn_at: None,
        };
        let rows: Vec<_> = checked
            .stores
            .iter()
            .map(|s| ProcessChangeStore {
                change_id: id.clone(),
                location_id: s.clone(),
            })
            .collect();
        q::insert(c, &change, &rows)?;
        // The change's own row keeps every detail (never deleted); the log says who
        // recorded which, in the words customers read.
        let said = crate::domain::mail::one_line(checked.texts.pick(Language::EN, "en"), 80);
        audit::record(c, actor, "change.record", &said, None::<&()>, None::<&()>)?;
        Ok(id)
    })
}

/// Withdraws a change recorded by mistake: it leaves every page, its mailing stops and
/// its emails not yet sent are dropped. Only by someone who manages all its stores.
pub fn withdraw(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), SetupError> {
    db.write(|c| {
        let change = q::find(c, id)?.ok_or(SetupError::NotFound("change"))?;
        let stores = q::stores_of(c, &[id])?;
        if !stores.iter().all(|(_, s)| scope.allows(s)) {
            return Err(SetupError::NotFound("change"));
        }
        if q::withdraw(c, id, now)? {
            q::drop_unsent_mail(c, MAIL_KIND, id)?;
            let said = crate::domain::mail::one_line(
                Texts::parse(&change.texts).pick(Language::EN, "en"),
                80,
            );
            audit::record(c, actor, "change.withdraw", &said, None::<&()>, None::<&()>)?;
        }
        Ok(())
    })
}

/// Does a case's category and root cause match a change's (each that the change names)?
pub fn answers(change: &ProcessChange, category: &str, root_cause: Option<&str>) -> bool {
    change.category.as_deref().is_none_or(|k| k == category)
        && change
            .root_cause
            .as_deref()
            .is_none_or(|r| Some(r) == root_cause)
}

/// The outbox's dedupe key: one email per customer per calendar month, whichever change
/// it is about. The address is hashed: the key outlives an erasure.
fn monthly_key(email: &str, now: NaiveDateTime) -> String {
    let hash = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!(
        "changed:{}:{}",
        hex::encode(&hash[..16]),
        now.format("%Y-%m")
    )
}

/// One step of the oldest unfinished mailing: the next cases (newest first), one email
/// per customer who agreed to be contacted and did not opt out. Returns the emails queued.
/// Called by the outbox worker; two workers never do the same step (the cursor moves by a
/// conditional update first).
pub fn mail_step(db: &Db, now: NaiveDateTime) -> Result<usize, DbError> {
    // Steps that find no one to write to go on at once, so a step's answer of 0 means the
    // mailings are done or waiting for their emails to go.
    for _ in 0..100 {
        let Some(step) = db.read(plan_step)? else {
            return Ok(0);
        };
        match db.write(|c| take_step(c, &step, now))? {
            Some(n) if n > 0 => return Ok(n),
            Some(_) => {}
            // Someone else moved it on, or it was withdrawn: look again.
            None => {}
        }
    }
    Ok(0)
}

/// The next step of the oldest unfinished mailing, as read: who it would write to.
struct Step {
    change: ProcessChange,
    next_cursor: String,
    finished: bool,
    to: Vec<q::Candidate>,
}

/// Reads the next step without writing: the writer (one at a time on SQLite) is held only
/// for the short write of `take_step`, never for these scans. None when there is nothing
/// to do now: no mailing, or enough of its emails already waiting.
fn plan_step(c: &mut DbConnection) -> diesel::QueryResult<Option<Step>> {
    let Some(change) = q::next_mailing(c)? else {
        return Ok(None);
    };
    let (Some(from), Some(to)) = (change.mail_from, change.mail_to) else {
        return Ok(None);
    };
    if q::unsent_of_kind(c, MAIL_KIND)? >= MAIL_BACKLOG {
        return Ok(None);
    }
    let stores: Vec<String> = q::stores_of(c, &[&change.id])?
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let after = change.mail_cursor.as_deref().and_then(parse_cursor);
    let batch = q::mail_candidates(c, &stores, (from, to), after, MAIL_STEP)?;
    let next_cursor = batch.last().map_or_else(
        || change.mail_cursor.clone().unwrap_or_default(),
        |last| {
            format!(
                "{}|{}",
                last.created_at.format("%Y-%m-%d %H:%M:%S%.f"),
                last.id
            )
        },
    );
    let finished = batch.len() < MAIL_STEP as usize;
    let matching = batch
        .into_iter()
        .filter(|k| answers(&change, &k.category, k.root_cause.as_deref()))
        .collect();
    Ok(Some(Step {
        change,
        next_cursor,
        finished,
        to: matching,
    }))
}

/// Queues the step's emails and moves the cursor on, in one transaction; None (and
/// nothing written) when the cursor moved since the step was read.
fn take_step(
    c: &mut DbConnection,
    step: &Step,
    now: NaiveDateTime,
) -> Result<Option<usize>, DbError> {
    let change = &step.change;
    let done = step.finished.then_some(now);
    if !q::advance(
        c,
        &change.id,
        change.mail_cursor.as_deref(),
        &step.next_cursor,
        done,
    )? {
        return Ok(None);
    }
    let ids: Vec<&str> = step.to.iter().map(|k| k.id.as_str()).collect();
    let reachable: HashSet<String> = q::still_reachable(c, &ids)?.into_iter().collect();
    let emails: Vec<&str> = step.to.iter().map(|k| k.contact_email.as_str()).collect();
    let opted_out: HashSet<String> = q::opted_out_of(c, &emails)?.into_iter().collect();
    let mut queued = 0;
    for k in &step.to {
        if !reachable.contains(&k.id) || opted_out.contains(&k.contact_email) {
            continue;
        }
        let sent = enqueue(
            c,
            Enqueue {
                kind: MAIL_KIND,
                recipient: &k.contact_email,
                payload: &MailPayload::CustomerMail {
                    case_id: k.id.clone(),
                    mail: CustomerMailKind::Changed {
                        change_id: change.id.clone(),
                    },
                    lang: k.language.clone(),
                },
                dedupe_key: monthly_key(&k.contact_email, now),
                case_id: Some(&k.id),
                now,
            },
        )?;
        queued += usize::from(sent);
    }
    q::add_mailed(c, &change.id, queued as i32)?;
    Ok(Some(queued))
}

fn parse_cursor(s: &str) -> Option<(NaiveDateTime, String)> {
    let (at, id) = s.split_once('|')?;
    let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    Some((at, id.to_owned()))
}

/// Complaints it answers at its stores over the same number of days before and after it
/// took effect; None until a whole day has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effect {
    pub days: i64,
    pub before: i64,
    pub after: i64,
}

impl Effect {
    /// The change in percent (None when there was nothing before).
    pub fn percent(&self) -> Option<i64> {
        (self.before > 0).then(|| ((self.after - self.before) * 100) / self.before)
    }
}

pub fn effect(
    c: &mut DbConnection,
    change: &ProcessChange,
    stores: &[String],
    time_zone: &str,
    today: NaiveDate,
) -> diesel::QueryResult<Option<Effect>> {
    let days = (today - change.effective_on)
        .num_days()
        .min(MAX_EFFECT_DAYS);
    if days < 1 {
        return Ok(None);
    }
    let start = change.effective_on;
    let at = |d: NaiveDate| day_start_utc(time_zone, d);
    let window = |from: NaiveDate, to: NaiveDate| (at(from), at(to));
    let count = |c: &mut DbConnection, w| {
        q::count_matching(
            c,
            stores,
            w,
            change.category.as_deref(),
            change.root_cause.as_deref(),
        )
    };
    let before = count(c, window(start - Duration::days(days), start))?;
    let after = count(c, window(start, start + Duration::days(days)))?;
    Ok(Some(Effect {
        days,
        before,
        after,
    }))
}

/// A store's changes as its public pages show them (newest first).
pub fn shown_at(
    c: &mut DbConnection,
    location_id: &str,
    today: NaiveDate,
    limit: i64,
) -> diesel::QueryResult<Vec<ProcessChange>> {
    q::shown_at(
        c,
        location_id,
        today - Duration::days(SHOWN_DAYS),
        today,
        limit,
    )
}

/// The changes that answer a case: recorded after it, at its store, about its category or
/// root cause.
pub fn answering(
    c: &mut DbConnection,
    case: &crate::db::models::Case,
) -> diesel::QueryResult<Vec<ProcessChange>> {
    Ok(q::recorded_since(c, &case.location_id, case.created_at)?
        .into_iter()
        .filter(|ch| answers(ch, &case.category, case.root_cause.as_deref()))
        .collect())
}

/// A change as the managers' pages list it: its stores (those the reader sees) and how
/// its complaints went since.
pub struct Listed {
    pub change: ProcessChange,
    pub stores: Vec<String>,
    pub effect: Option<Effect>,
}

/// Changes at the stores a reader sees (`zones`: store id -> time zone; every change when
/// `all`), newest first.
pub fn listed(
    c: &mut DbConnection,
    zones: &std::collections::HashMap<String, String>,
    all: bool,
    now: NaiveDateTime,
    limit: i64,
) -> diesel::QueryResult<Vec<Listed>> {
    let ids: Vec<String> = zones.keys().cloned().collect();
    let changes = q::listed(c, (!all).then_some(ids.as_slice()), limit)?;
    let keys: Vec<&str> = changes.iter().map(|ch| ch.id.as_str()).collect();
    let mut stores_of: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (change, store) in q::stores_of(c, &keys)? {
        if zones.contains_key(&store) {
            stores_of.entry(change).or_default().push(store);
        }
    }
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        let stores = stores_of.remove(&change.id).unwrap_or_default();
        let zone = stores.first().and_then(|s| zones.get(s)).cloned();
        let effect = match &zone {
            Some(zone) if change.withdrawn_at.is_none() => {
                let today = crate::domain::language::formats::local_day(zone, now);
                effect(c, &change, &stores, zone, today)?
            }
            _ => None,
        };
        out.push(Listed {
            change,
            stores,
            effect,
        });
    }
    Ok(out)
}

/// What the form offers across the reader's stores: category keys (the defaults when a
/// store never set its own) and root causes.
pub fn offered(
    c: &mut DbConnection,
    store_ids: &[String],
) -> diesel::QueryResult<(Vec<String>, Vec<String>)> {
    let mut categories: Vec<String> = Vec::new();
    let rows = crate::db::queries::categories::for_locations(c, store_ids)?;
    let with_own: HashSet<&str> = rows.iter().map(|(r, _)| r.location_id.as_str()).collect();
    if store_ids.iter().any(|s| !with_own.contains(s.as_str())) {
        categories.extend(crate::domain::case::complaint::categories_of(None));
    }
    for (row, _) in &rows {
        if row.retired_at.is_none() && !categories.contains(&row.key) {
            categories.push(row.key.clone());
        }
    }
    let mut root_causes = root_causes_of(None);
    for list in q::root_cause_lists(c, store_ids)? {
        for r in root_causes_of(list.as_deref()) {
            if !root_causes.contains(&r) {
                root_causes.push(r);
            }
        }
    }
    Ok((categories, root_causes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(category: Option<&str>, root_cause: Option<&str>) -> ProcessChange {
        ProcessChange {
            id: "x".into(),
            created_by: None,
            created_at: NaiveDateTime::default(),
            effective_on: NaiveDate::default(),
            category: category.map(str::to_owned),
            root_cause: root_cause.map(str::to_owned),
            texts: "{}".into(),
            mail_from: None,
            mail_to: None,
            mail_cursor: None,
            mailed_at: None,
            mailed_count: 0,
            withdrawn_at: None,
        }
    }

    #[test]
    fn a_change_answers_cases_that_match_everything_it_names() {
        let restroom = change(Some("cleanliness"), None);
        assert!(answers(&restroom, "cleanliness", None));
        assert!(answers(&restroom, "cleanliness", Some("staffing")));
        assert!(!answers(&restroom, "waiting_time", None));
        let both = change(Some("cleanliness"), Some("cleaning"));
        assert!(answers(&both, "cleanliness", Some("cleaning")));
        assert!(!answers(&both, "cleanliness", Some("staffing")));
        assert!(!answers(&both, "cleanliness", None));
        let cause = change(None, Some("training"));
        assert!(answers(&cause, "anything", Some("training")));
    }

    #[test]
    fn texts_fall_back_to_the_stores_language_then_english_then_any() {
        let t = Texts(BTreeMap::from([
            ("ko".to_owned(), "화장실을 30분마다 점검합니다".to_owned()),
            ("pl".to_owned(), "Sprawdzamy łazienki".to_owned()),
        ]));
        let ja = Language::parse("ja").unwrap();
        let pl = Language::parse("pl").unwrap();
        assert_eq!(t.pick(pl, "ko"), "Sprawdzamy łazienki");
        assert_eq!(t.pick(ja, "ko"), "화장실을 30분마다 점검합니다");
        assert_eq!(t.pick(ja, "en"), "화장실을 30분마다 점검합니다");
    }

    #[test]
    fn the_monthly_key_is_the_same_for_one_address_however_written_within_a_month() {
        let at = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let a = monthly_key("Ana@Example.com ", at("2026-12-01 00:00:00"));
        assert_eq!(a, monthly_key("ana@example.com", at("2026-12-31 23:59:59")));
        assert_ne!(a, monthly_key("ana@example.com", at("2027-01-01 00:00:00")));
        assert!(!a.contains("example"));
    }

    #[test]
    fn the_effect_percent_is_none_without_a_before() {
        let e = Effect {
            days: 7,
            before: 8,
            after: 2,
        };
        assert_eq!(e.percent(), Some(-75));
        assert_eq!(
            Effect {
                days: 7,
                before: 0,
                after: 2
            }
            .percent(),
            None
        );
    }

    #[test]
    fn a_cursor_reads_back() {
        let at = NaiveDateTime::parse_from_str("2026-12-06 10:11:12.345", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        let s = format!("{}|{}", at.format("%Y-%m-%d %H:%M:%S%.f"), "019-abc");
        assert_eq!(parse_cursor(&s), Some((at, "019-abc".to_owned())));
    }
}
