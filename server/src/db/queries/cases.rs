use diesel::prelude::*;

use crate::db::models::{Case, CaseEvent};
use crate::db::schema::{case_events, cases};
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, case: &Case) -> QueryResult<()> {
    diesel::insert_into(cases::table)
        .values(case)
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_reference(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<Case>> {
    cases::table
        .filter(cases::reference.eq(reference))
        .select(Case::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_render_nonce(conn: &mut DbConnection, nonce: &str) -> QueryResult<Option<Case>> {
    cases::table
        .filter(cases::render_nonce.eq(nonce))
        .select(Case::as_select())
        .first(conn)
        .optional()
}

pub fn reference_taken(conn: &mut DbConnection, reference: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        cases::table.filter(cases::reference.eq(reference)),
    ))
    .get_result(conn)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    cases::table.count().get_result(conn)
}

pub fn add_event(conn: &mut DbConnection, event: &CaseEvent) -> QueryResult<()> {
    diesel::insert_into(case_events::table)
        .values(event)
        .execute(conn)
        .map(|_| ())
}

/// Events of these kinds, oldest first.
pub fn events_of_kind(
    conn: &mut DbConnection,
    case_id: &str,
    kind: &str,
) -> QueryResult<Vec<CaseEvent>> {
    case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq(kind))
        .order((case_events::created_at.asc(), case_events::id.asc()))
        .select(CaseEvent::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Case>> {
    cases::table
        .find(id)
        .select(Case::as_select())
        .first(conn)
        .optional()
}

/// Other cases from the same contact since `since` (a repeat complainant).
pub fn count_from_contact_since(
    conn: &mut DbConnection,
    contact_email: &str,
    since: chrono::NaiveDateTime,
    except_case_id: &str,
) -> QueryResult<i64> {
    cases::table
        .filter(cases::contact_email.eq(contact_email))
        .filter(cases::created_at.ge(since))
        .filter(cases::id.ne(except_case_id))
        .count()
        .get_result(conn)
}

/// Sets the acknowledgement time unless the case was already acknowledged; true when
/// this call did it.
pub fn acknowledge(
    conn: &mut DbConnection,
    case_id: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        cases::table
            .find(case_id)
            .filter(cases::acknowledged_at.is_null()),
    )
    .set(cases::acknowledged_at.eq(now))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Every event of a case, oldest first.
pub fn events(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<CaseEvent>> {
    case_events::table
        .filter(case_events::case_id.eq(case_id))
        .order((case_events::created_at.asc(), case_events::id.asc()))
        .select(CaseEvent::as_select())
        .load(conn)
}
