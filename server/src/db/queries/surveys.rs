//! Surveys and the customers who asked for no more mail.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::Survey;
use crate::db::schema::{mail_opt_outs, surveys};
use crate::db::states::SurveyKind;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, survey: &Survey) -> QueryResult<()> {
    diesel::insert_into(surveys::table)
        .values(survey)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Survey>> {
    surveys::table
        .find(id)
        .select(Survey::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_token_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<Survey>> {
    surveys::table
        .filter(surveys::token_hash.eq(hash))
        .select(Survey::as_select())
        .first(conn)
        .optional()
}

pub fn for_case(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<Survey>> {
    surveys::table
        .filter(surveys::case_id.eq(case_id))
        // A case's satisfaction survey and its follow-up are made in one transaction, at
        // one time: the id (time-ordered) keeps them in the order they were made, where
        // PostgreSQL would otherwise return ties in whatever order its plan meets them.
        .order((surveys::created_at.asc(), surveys::id.asc()))
        .select(Survey::as_select())
        .load(conn)
}

/// Surveys emailed to this address since `since`.
pub fn count_to_recipient_since(
    conn: &mut DbConnection,
    recipient: &str,
    kind: SurveyKind,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    surveys::table
        .filter(surveys::recipient.eq(recipient))
        .filter(surveys::kind.eq(kind))
        .filter(surveys::created_at.ge(since))
        .count()
        .get_result(conn)
}

/// Surveys with an address whose time has come and that were not sent yet.
pub fn due_to_send(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Survey>> {
    surveys::table
        .filter(surveys::sent_at.is_null())
        .filter(surveys::recipient.is_not_null())
        .filter(surveys::due_at.le(now))
        .order(surveys::due_at.asc())
        .limit(limit)
        .select(Survey::as_select())
        .load(conn)
}

/// Satisfaction surveys sent before `sent_before`, unanswered and not reminded yet.
pub fn due_for_reminder(
    conn: &mut DbConnection,
    sent_before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Survey>> {
    surveys::table
        .filter(surveys::kind.eq(SurveyKind::Satisfaction))
        .filter(surveys::sent_at.le(sent_before))
        .filter(surveys::answered_at.is_null())
        .filter(surveys::reminded_at.is_null())
        .filter(surveys::recipient.is_not_null())
        .limit(limit)
        .select(Survey::as_select())
        .load(conn)
}

/// Marks a survey sent (or given up: `due_at` cleared); false when another worker did.
pub fn mark_sent(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(surveys::table.find(id).filter(surveys::sent_at.is_null()))
        .set(surveys::sent_at.eq(now))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn mark_reminded(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(
        surveys::table
            .find(id)
            .filter(surveys::reminded_at.is_null()),
    )
    .set(surveys::reminded_at.eq(now))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Stores an answer unless there is one already; false when it was answered before.
pub fn record_answer(conn: &mut DbConnection, answered: &Survey) -> QueryResult<bool> {
    let changed = diesel::update(
        surveys::table
            .find(&answered.id)
            .filter(surveys::answered_at.is_null()),
    )
    .set((
        surveys::answered_at.eq(answered.answered_at),
        surveys::csat.eq(answered.csat),
        surveys::fixed.eq(&answered.fixed),
        surveys::return_likelihood.eq(answered.return_likelihood),
        surveys::comment.eq(&answered.comment),
        surveys::still_working.eq(answered.still_working),
        surveys::location_id.eq(&answered.location_id),
        surveys::touchpoint_id.eq(&answered.touchpoint_id),
        surveys::category.eq(&answered.category),
        surveys::root_cause.eq(&answered.root_cause),
        surveys::compensation_type.eq(&answered.compensation_type),
        surveys::compensation_minor.eq(answered.compensation_minor),
        surveys::compensation_currency.eq(&answered.compensation_currency),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

macro_rules! opt_out {
    ($conn:expr, $email:expr, $now:expr) => {
        diesel::insert_into(mail_opt_outs::table)
            .values((
                mail_opt_outs::email.eq($email),
                mail_opt_outs::created_at.eq($now),
            ))
            .on_conflict(mail_opt_outs::email)
            .do_nothing()
            .execute($conn)
    };
}

pub fn opt_out(conn: &mut DbConnection, email: &str, now: NaiveDateTime) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => opt_out!(c, email, now),
        DbConnection::Postgres(c) => opt_out!(c, email, now),
    }
    .map(|_| ())
}

pub fn opted_out(conn: &mut DbConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        mail_opt_outs::table.filter(mail_opt_outs::email.eq(email)),
    ))
    .get_result(conn)
}
