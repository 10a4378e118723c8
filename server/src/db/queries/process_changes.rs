//! "You said, we did": process changes, their stores, and the cases a mailing goes through.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::{ProcessChange, ProcessChangeStore};
use crate::db::schema::{cases, mail_opt_outs, outbox, process_change_stores, process_changes};
use crate::db::states::MailKind;
use crate::db::DbConnection;

pub fn insert(
    conn: &mut DbConnection,
    change: &ProcessChange,
    stores: &[ProcessChangeStore],
) -> QueryResult<()> {
    insert_all!(conn, process_changes::table, change)?;
    insert_all!(conn, process_change_stores::table, stores)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ProcessChange>> {
    process_changes::table
        .find(id)
        .select(ProcessChange::as_select())
        .first(conn)
        .optional()
}

/// The stores of each change: (change, store) pairs.
pub fn stores_of(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<(String, String)>> {
    process_change_stores::table
        .filter(process_change_stores::change_id.eq_any(ids))
        .select((
            process_change_stores::change_id,
            process_change_stores::location_id,
        ))
        .load(conn)
}

/// Changes at any of `location_ids` (every change when None), newest first.
pub fn listed(
    conn: &mut DbConnection,
    location_ids: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<ProcessChange>> {
    let mut q = process_changes::table
        .select(ProcessChange::as_select())
        .order((
            process_changes::effective_on.desc(),
            process_changes::created_at.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(ids) = location_ids {
        let at_stores = process_change_stores::table
            .filter(process_change_stores::location_id.eq_any(ids.to_vec()))
            .select(process_change_stores::change_id);
        q = q.filter(process_changes::id.eq_any(at_stores));
    }
    q.load(conn)
}

/// A store's changes in effect, not withdrawn, that took effect in `[since, until]`,
/// newest first.
pub fn shown_at(
    conn: &mut DbConnection,
    location_id: &str,
    since: NaiveDate,
    until: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<ProcessChange>> {
    process_changes::table
        .inner_join(process_change_stores::table)
        .filter(process_change_stores::location_id.eq(location_id))
        .filter(process_changes::withdrawn_at.is_null())
        .filter(process_changes::effective_on.ge(since))
        .filter(process_changes::effective_on.le(until))
        .order((
            process_changes::effective_on.desc(),
            process_changes::created_at.desc(),
        ))
        .limit(limit)
        .select(ProcessChange::as_select())
        .load(conn)
}

/// A store's changes recorded at or after `since`, not withdrawn: those that may answer a
/// case made then.
pub fn recorded_since(
    conn: &mut DbConnection,
    location_id: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<ProcessChange>> {
    process_changes::table
        .inner_join(process_change_stores::table)
        .filter(process_change_stores::location_id.eq(location_id))
        .filter(process_changes::withdrawn_at.is_null())
        .filter(process_changes::created_at.ge(since))
        .order(process_changes::created_at.desc())
        .limit(20)
        .select(ProcessChange::as_select())
        .load(conn)
}

/// The oldest change whose mailing is not finished.
pub fn next_mailing(conn: &mut DbConnection) -> QueryResult<Option<ProcessChange>> {
    process_changes::table
        .filter(process_changes::mail_from.is_not_null())
        .filter(process_changes::mailed_at.is_null())
        .filter(process_changes::withdrawn_at.is_null())
        .order(process_changes::created_at.asc())
        .select(ProcessChange::as_select())
        .first(conn)
        .optional()
}

/// A case a mailing may write to.
#[derive(Debug, Clone, Queryable)]
pub struct Candidate {
    pub id: String,
    pub created_at: NaiveDateTime,
    pub location_id: String,
    pub category: String,
    pub root_cause: Option<String>,
    pub contact_email: String,
    pub language: String,
}

/// Cases at `location_ids` made in `[from, to)` whose customer gave an email and agreed to
/// be contacted (an erased case has no email left), newest first, after `after`
/// ((created_at, id) of the last one already looked at).
pub fn mail_candidates(
    conn: &mut DbConnection,
    location_ids: &[String],
    (from, to): (NaiveDateTime, NaiveDateTime),
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<Candidate>> {
    let mut q = cases::table
        .filter(cases::location_id.eq_any(location_ids.to_vec()))
        .filter(cases::created_at.ge(from))
        .filter(cases::created_at.lt(to))
        .filter(cases::contact_consent.eq(true))
        .filter(cases::erased_at.is_null())
        .filter(cases::anonymized_at.is_null())
        .order((cases::created_at.desc(), cases::id.desc()))
        .limit(limit)
        .select((
            cases::id,
            cases::created_at,
            cases::location_id,
            cases::category,
            cases::root_cause,
            cases::contact_email.assume_not_null(),
            cases::language,
        ))
        .filter(cases::contact_email.is_not_null())
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            cases::created_at
                .lt(at)
                .or(cases::created_at.eq(at).and(cases::id.lt(id))),
        );
    }
    q.load(conn)
}

/// Which of these cases may still be written to (checked again as their emails are queued:
/// an erasure or a withdrawn consent since they were read wins).
pub fn still_reachable(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<String>> {
    cases::table
        .filter(cases::id.eq_any(ids))
        .filter(cases::contact_consent.eq(true))
        .filter(cases::erased_at.is_null())
        .filter(cases::anonymized_at.is_null())
        .filter(cases::contact_email.is_not_null())
        .select(cases::id)
        .load(conn)
}

/// Which of these addresses asked for no more mail.
pub fn opted_out_of(conn: &mut DbConnection, emails: &[&str]) -> QueryResult<Vec<String>> {
    mail_opt_outs::table
        .filter(mail_opt_outs::email.eq_any(emails))
        .select(mail_opt_outs::email)
        .load(conn)
}

/// Messages of a kind not yet sent nor given up on: the mailing's backlog.
pub fn unsent_of_kind(conn: &mut DbConnection, kind: MailKind) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .filter(outbox::kind.eq(kind))
        .count()
        .get_result(conn)
}

/// Moves a mailing on from `cursor` (only if no one else did and it was not withdrawn
/// meanwhile: false otherwise).
pub fn advance(
    conn: &mut DbConnection,
    id: &str,
    cursor: Option<&str>,
    next: &str,
    done: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    let target = process_changes::table
        .filter(process_changes::id.eq(id))
        .filter(process_changes::mailed_at.is_null())
        .filter(process_changes::withdrawn_at.is_null());
    let set = (
        process_changes::mail_cursor.eq(next),
        process_changes::mailed_at.eq(done),
    );
    let n = match cursor {
        Some(cur) => diesel::update(target.filter(process_changes::mail_cursor.eq(cur)))
            .set(set)
            .execute(conn)?,
        None => diesel::update(target.filter(process_changes::mail_cursor.is_null()))
            .set(set)
            .execute(conn)?,
    };
    Ok(n == 1)
}

pub fn add_mailed(conn: &mut DbConnection, id: &str, added: i32) -> QueryResult<()> {
    diesel::update(process_changes::table.find(id))
        .set(process_changes::mailed_count.eq(process_changes::mailed_count + added))
        .execute(conn)
        .map(drop)
}

/// Drops a withdrawn change's emails still waiting (the payload names the change).
pub fn drop_unsent_mail(
    conn: &mut DbConnection,
    kind: MailKind,
    change_id: &str,
) -> QueryResult<usize> {
    diesel::delete(
        outbox::table
            .filter(outbox::kind.eq(kind))
            .filter(outbox::sent_at.is_null())
            .filter(outbox::payload.like(format!("%\"change_id\":\"{change_id}\"%"))),
    )
    .execute(conn)
}

pub fn withdraw(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        process_changes::table
            .filter(process_changes::id.eq(id))
            .filter(process_changes::withdrawn_at.is_null()),
    )
    .set(process_changes::withdrawn_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Complaints at `location_ids` in `[from, to)` of a category and/or root cause (merged
/// duplicates left out): a change's before and after.
pub fn count_matching(
    conn: &mut DbConnection,
    location_ids: &[String],
    (from, to): (NaiveDateTime, NaiveDateTime),
    category: Option<&str>,
    root_cause: Option<&str>,
) -> QueryResult<i64> {
    let mut q = cases::table
        .filter(cases::location_id.eq_any(location_ids.to_vec()))
        .filter(cases::created_at.ge(from))
        .filter(cases::created_at.lt(to))
        .filter(cases::merged_into.is_null())
        .into_boxed();
    if let Some(k) = category {
        q = q.filter(cases::category.eq(k.to_owned()));
    }
    if let Some(r) = root_cause {
        q = q.filter(cases::root_cause.eq(r.to_owned()));
    }
    q.count().get_result(conn)
}

/// The stores' own root-cause lists (None: the defaults).
pub fn root_cause_lists(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<Option<String>>> {
    use crate::db::schema::locations;
    let mut out = Vec::new();
    for chunk in ids.chunks(1_000) {
        out.extend(
            locations::table
                .filter(locations::id.eq_any(chunk))
                .filter(locations::root_causes.is_not_null())
                .select(locations::root_causes)
                .load::<Option<String>>(conn)?,
        );
    }
    Ok(out)
}

/// Each store's language (the texts' fallback).
pub fn languages_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<std::collections::HashMap<String, String>> {
    use crate::db::schema::locations;
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(1_000) {
        out.extend(
            locations::table
                .filter(locations::id.eq_any(chunk))
                .select((locations::id, locations::default_language))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}
