use diesel::prelude::*;
use diesel::sql_types::{Array, Text};

use crate::db::models::{Case, CaseEvent, Location};
use crate::db::queries::search::Cursor;
use crate::db::schema::{case_events, cases, locations, store_categories, touchpoints, users};
use crate::db::states::{CaseStatus, EventKind};
use crate::db::stored_time::StoredTime;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, case: &Case) -> QueryResult<()> {
    diesel::insert_into(cases::table)
        .values(case)
        .execute(conn)
        .map(|_| ())
}

/// Inserts many cases in one statement (SQLite and PostgreSQL both take a multi-row
/// `VALUES` list, since [`Case`] writes `NULL` rather than `DEFAULT` for absent values).
pub fn insert_many(conn: &mut DbConnection, rows: &[Case]) -> QueryResult<()> {
    insert_all!(conn, cases::table, rows)
}

pub fn find_by_reference(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<Case>> {
    cases::table
        .filter(cases::reference.eq(reference))
        .select(Case::as_select())
        .first(conn)
        .optional()
}

/// A case with its store, in one query (the status page's first read).
pub fn find_by_reference_with_location(
    conn: &mut DbConnection,
    reference: &str,
) -> QueryResult<Option<(Case, Location)>> {
    cases::table
        .inner_join(locations::table)
        .filter(cases::reference.eq(reference))
        .select((Case::as_select(), Location::as_select()))
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

/// The stored cases that hold one of `references` or came from one of the form renders
/// `nonces`, as (render nonce, reference): one lookup for a batch of new complaints.
pub fn holding_references_or_renders(
    conn: &mut DbConnection,
    references: &[String],
    nonces: &[String],
) -> QueryResult<Vec<(Option<String>, String)>> {
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        render_nonce: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        reference: String,
    }
    match conn {
        // Sent unprepared (`sql_query` is never cached). Diesel keeps a prepared statement
        // per connection, and PostgreSQL, after five runs, keeps one generic plan for it:
        // one made while `cases` was nearly empty (a new install, a fresh rush) is a scan,
        // and stayed a scan at 40,000 cases (50-80 ms a lookup in bench/form_load.sh).
        // Unprepared, each lookup is planned for the table as it is: its unique indexes.
        DbConnection::Postgres(pg) => Ok(diesel::sql_query(
            "SELECT render_nonce, reference FROM cases
              WHERE reference = ANY($1) OR render_nonce = ANY($2)",
        )
        .bind::<Array<Text>, _>(references)
        .bind::<Array<Text>, _>(nonces)
        .load::<Held>(pg)?
        .into_iter()
        .map(|h| (h.render_nonce, h.reference))
        .collect()),
        DbConnection::Sqlite(_) => cases::table
            .filter(
                cases::reference
                    .eq_any(references)
                    .or(cases::render_nonce.eq_any(nonces)),
            )
            .select((cases::render_nonce, cases::reference))
            .load(conn),
    }
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    cases::table.count().get_result(conn)
}

/// Records an event on a case's timeline, with a webhook delivery for each subscription
/// that wants it, in the caller's transaction: an event is never told without having
/// happened, nor happens without being told.
pub fn add_event(conn: &mut DbConnection, event: &CaseEvent) -> QueryResult<()> {
    diesel::insert_into(case_events::table)
        .values(event)
        .execute(conn)?;
    super::webhooks::fan_out(conn, std::slice::from_ref(event))
}

/// [`add_event`] for many events in one statement.
pub fn add_events(conn: &mut DbConnection, rows: &[CaseEvent]) -> QueryResult<()> {
    insert_all!(conn, case_events::table, rows)?;
    super::webhooks::fan_out(conn, rows)
}

/// Events of this kind, oldest first.
pub fn events_of_kind(
    conn: &mut DbConnection,
    case_id: &str,
    kind: EventKind,
) -> QueryResult<Vec<CaseEvent>> {
    case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq(kind))
        .order((case_events::created_at.asc(), case_events::id.asc()))
        .select(CaseEvent::as_select())
        .load(conn)
}

/// Other open, unmerged cases of the same spot and category within `window` of `case`.
pub fn open_alike(
    conn: &mut DbConnection,
    case: &Case,
    window: chrono::Duration,
) -> QueryResult<Vec<Case>> {
    cases::table
        .filter(cases::touchpoint_id.eq(&case.touchpoint_id))
        .filter(cases::category.eq(&case.category))
        .filter(cases::id.ne(&case.id))
        .filter(cases::created_at.between(case.created_at - window, case.created_at + window))
        .filter(cases::resolved_at.is_null())
        .filter(cases::merged_into.is_null())
        .order(cases::created_at.asc())
        .select(Case::as_select())
        .load(conn)
}

/// The kind and detail of a case's events of these kinds.
pub fn event_details(
    conn: &mut DbConnection,
    case_id: &str,
    kinds: &[EventKind],
) -> QueryResult<Vec<(EventKind, String)>> {
    case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq_any(kinds))
        .select((case_events::kind, case_events::detail))
        .load(conn)
}

/// The cases with these ids (those that still exist), in no particular order.
pub fn find_many(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<Case>> {
    cases::table
        .filter(cases::id.eq_any(ids))
        .select(Case::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Case>> {
    cases::table
        .find(id)
        .select(Case::as_select())
        .first(conn)
        .optional()
}

/// Earlier cases since `since` from the same contact or the same device (a repeat
/// complainant).
pub fn count_from_same_customer_since(
    conn: &mut DbConnection,
    case: &Case,
    since: chrono::NaiveDateTime,
) -> QueryResult<i64> {
    let (contact, device) = (case.contact_email.clone(), case.device_hash.clone());
    if contact.is_none() && device.is_none() {
        return Ok(0);
    }
    let same_contact = cases::contact_email.eq(contact.unwrap_or_default());
    let same_device = cases::device_hash.eq(device.unwrap_or_default());
    cases::table
        .filter(same_contact.or(same_device))
        .filter(cases::created_at.ge(since))
        .filter(cases::created_at.le(case.created_at))
        .filter(cases::id.ne(&case.id))
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

/// The duplicates merged into a case.
pub fn merged_into(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<Case>> {
    cases::table
        .filter(cases::merged_into.eq(case_id))
        .order(cases::created_at.asc())
        .select(Case::as_select())
        .load(conn)
}

/// The case with this reference, if `user_id` may see it: admins see every case, everyone
/// else the cases of the locations they work at. Access is decided here, in the query,
/// so no page can forget it.
pub fn find_visible(
    conn: &mut DbConnection,
    reference: &str,
    user_id: &str,
    is_admin: bool,
) -> QueryResult<Option<Case>> {
    use crate::db::schema::user_locations;
    if is_admin {
        return find_by_reference(conn, reference);
    }
    cases::table
        .inner_join(
            user_locations::table.on(user_locations::location_id
                .eq(cases::location_id)
                .and(user_locations::user_id.eq(user_id))),
        )
        .filter(cases::reference.eq(reference))
        .select(Case::as_select())
        .first(conn)
        .optional()
}

/// What the inbox may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub status: Option<String>,
    pub location_id: Option<String>,
    pub category: Option<String>,
}

/// Open cases (not resolved, not merged) and flagged ones that `user_id` may see, with
/// their location: flagged first, then unacknowledged, then oldest first.
pub fn inbox(
    conn: &mut DbConnection,
    user_id: &str,
    is_admin: bool,
    filter: &InboxFilter,
    limit: i64,
) -> QueryResult<Vec<(Case, crate::db::models::Location)>> {
    use crate::db::models::Location;
    use crate::db::schema::{locations, user_locations};
    // Open cases, and resolved ones an unhappy answer flagged that nobody has handled.
    let mut query = cases::table
        .inner_join(locations::table)
        .filter(
            cases::resolved_at
                .is_null()
                .and(cases::merged_into.is_null())
                .or(cases::flagged_at.is_not_null()),
        )
        .into_boxed();
    if !is_admin {
        let mine = user_locations::table
            .filter(user_locations::user_id.eq(user_id.to_owned()))
            .select(user_locations::location_id);
        query = query.filter(cases::location_id.eq_any(mine));
    }
    if let Some(status) = &filter.status {
        query = query.filter(cases::status.eq(status.clone()));
    }
    if let Some(location_id) = &filter.location_id {
        query = query.filter(cases::location_id.eq(location_id.clone()));
    }
    if let Some(category) = &filter.category {
        query = query.filter(cases::category.eq(category.clone()));
    }
    query
        .order((
            cases::flagged_at.is_null().asc(),
            cases::acknowledged_at.is_not_null().asc(),
            cases::created_at.asc(),
        ))
        .limit(limit)
        .select((Case::as_select(), Location::as_select()))
        .load(conn)
}

/// Which cases a search is for, besides the reader's stores.
#[derive(Debug, Clone, Default)]
pub struct CaseSearch {
    pub status: SearchStatus,
    pub location_id: Option<String>,
    /// Only these stores, besides the reader's own (an API token limited to some stores).
    pub within: Option<Vec<String>>,
    pub category: Option<String>,
    pub touchpoint_id: Option<String>,
    /// `Some(None)`: nobody has it.
    pub assignee: Option<Option<String>>,
    /// Received at or after, and before (UTC).
    pub from: Option<chrono::NaiveDateTime>,
    pub until: Option<chrono::NaiveDateTime>,
    pub reference: Option<String>,
    pub email: Option<String>,
    /// The words, as (FTS5 expression, tsquery).
    pub words: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SearchStatus {
    /// Not resolved and not merged.
    #[default]
    Open,
    New,
    InProgress,
    Resolved,
    Merged,
    Any,
}

/// A page of cases that match, newest first, and where the next page starts (none when
/// this is the last).
pub struct Found {
    pub cases: Vec<(Case, crate::db::models::Location)>,
    pub next: Option<Cursor>,
}

/// Cases that match, newest first, `limit` at a time from `before`. Words are looked up
/// in the index newest first, a growing batch at a time, and the batch's cases filtered
/// here: a common word stops after a few hundred, a rare one is a short list, instead of
/// every match being gathered and sorted.
pub fn search(
    conn: &mut DbConnection,
    user_id: &str,
    is_admin: bool,
    s: &CaseSearch,
    before: Option<&Cursor>,
    limit: usize,
) -> QueryResult<Found> {
    let Some((fts5, tsquery)) = &s.words else {
        let mut cases = filtered(
            conn,
            user_id,
            is_admin,
            s,
            time_cursor(before),
            Some(limit + 1),
        )?
        .select((Case::as_select(), Location::as_select()))
        .load(conn)?;
        let next = page_end(&mut cases, limit, |(c, _)| {
            Cursor::Time(c.created_at, c.id.clone())
        });
        return Ok(Found { cases, next });
    };
    let mine: Option<std::collections::HashSet<String>> = if is_admin {
        None
    } else {
        Some(
            crate::db::queries::users::location_ids(conn, user_id)?
                .into_iter()
                .collect(),
        )
    };
    let mut after = before.cloned();
    let mut cases = Vec::new();
    let mut last: Option<Cursor> = None;
    let mut batch = 200_i64;
    loop {
        let candidates =
            crate::db::queries::search::newest(conn, fts5, tsquery, after.as_ref(), batch)?;
        let exhausted = candidates.len() < usize::try_from(batch).unwrap_or(usize::MAX);
        let ids: Vec<String> = candidates.iter().map(|(id, _)| id.clone()).collect();
        // Looked up by key and filtered here: with the filters in SQL, SQLite's planner
        // walked the reader's stores' cases by store (a million rows) to find 200 keys.
        let mut kept: std::collections::HashMap<String, (Case, crate::db::models::Location)> =
            by_ids(conn, &ids)?
                .into_iter()
                .filter(|(c, _)| {
                    s.admits(c) && mine.as_ref().is_none_or(|m| m.contains(&c.location_id))
                })
                .map(|(c, l)| (c.id.clone(), (c, l)))
                .collect();
        for (id, cursor) in &candidates {
            let Some(found) = kept.remove(id) else {
                continue;
            };
            if cases.len() == limit {
                return Ok(Found { cases, next: last });
            }
            cases.push(found);
            last = Some(cursor.clone());
        }
        if exhausted {
            return Ok(Found { cases, next: None });
        }
        after = candidates.last().map(|(_, cursor)| cursor.clone());
        batch = (batch * 2).min(5_000);
    }
}

/// Cases by key, with their store.
fn by_ids(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<(Case, crate::db::models::Location)>> {
    cases::table
        .inner_join(locations::table)
        .filter(cases::id.eq_any(ids))
        .select((Case::as_select(), Location::as_select()))
        .load(conn)
}

impl CaseSearch {
    /// Whether a case passes the filters (words and the reader's stores aside): the same
    /// rules as [`filtered`]'s SQL, for cases found by their words.
    pub fn admits(&self, c: &Case) -> bool {
        let status = match self.status {
            SearchStatus::Open => c.resolved_at.is_none() && c.merged_into.is_none(),
            SearchStatus::New => c.status == CaseStatus::New && c.merged_into.is_none(),
            SearchStatus::InProgress => c.status.is_being_worked() && c.merged_into.is_none(),
            SearchStatus::Resolved => c.resolved_at.is_some() && c.merged_into.is_none(),
            SearchStatus::Merged => c.merged_into.is_some(),
            SearchStatus::Any => true,
        };
        status
            && self
                .location_id
                .as_ref()
                .is_none_or(|v| *v == c.location_id)
            && self
                .within
                .as_ref()
                .is_none_or(|v| v.contains(&c.location_id))
            && self.category.as_ref().is_none_or(|v| *v == c.category)
            && self
                .touchpoint_id
                .as_ref()
                .is_none_or(|v| *v == c.touchpoint_id)
            && self.assignee.as_ref().is_none_or(|v| *v == c.assignee_id)
            && self.from.is_none_or(|t| c.created_at >= t)
            && self.until.is_none_or(|t| c.created_at < t)
            && self.reference.as_ref().is_none_or(|v| *v == c.reference)
            && self
                .email
                .as_ref()
                .is_none_or(|v| c.contact_email.as_ref() == Some(v))
    }
}

/// Up to this many stores, a reader's cases are found by store; past it, by time.
const FEW_STORES: usize = 20;

/// What a list of cases reads from: each case with its store, and (left joins, on unique
/// keys: a query that selects none of their columns does not visit them) its spot, its
/// assignee and its store's own row for its category.
type Listing = diesel::dsl::LeftJoinOn<
    diesel::dsl::LeftJoinOn<
        diesel::dsl::LeftJoinOn<
            diesel::dsl::InnerJoin<cases::table, locations::table>,
            touchpoints::table,
            diesel::dsl::Eq<touchpoints::id, cases::touchpoint_id>,
        >,
        users::table,
        diesel::dsl::Eq<diesel::dsl::Nullable<users::id>, cases::assignee_id>,
    >,
    store_categories::table,
    diesel::dsl::And<
        diesel::dsl::Eq<store_categories::location_id, cases::location_id>,
        diesel::dsl::Eq<store_categories::key, cases::category>,
    >,
>;
type ListingQuery = diesel::dsl::IntoBoxed<'static, Listing, <DbConnection as Connection>::Backend>;

fn listing() -> Listing {
    cases::table
        .inner_join(locations::table)
        .left_join(touchpoints::table.on(touchpoints::id.eq(cases::touchpoint_id)))
        .left_join(users::table.on(users::id.nullable().eq(cases::assignee_id)))
        .left_join(
            store_categories::table.on(store_categories::location_id
                .eq(cases::location_id)
                .and(store_categories::key.eq(cases::category))),
        )
}

/// A case as a list shows it: only the columns a list needs, its spot's label, its
/// assignee's email and its store's own labels for its category, in one row. Reading
/// whole [`Case`] rows and then the names in three more queries was most of the API case
/// list's time.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases)]
pub struct CaseLine {
    pub id: String,
    pub reference: String,
    pub location_id: String,
    #[diesel(select_expression = locations::name)]
    pub store_name: String,
    #[diesel(select_expression = locations::default_language)]
    pub store_language: String,
    pub touchpoint_id: String,
    #[diesel(select_expression = touchpoints::label.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<touchpoints::label>)]
    pub spot_label: Option<String>,
    pub category: String,
    /// The store's own labels for the category (JSON by language), when it has a row.
    #[diesel(select_expression = store_categories::labels.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<store_categories::labels>)]
    pub category_labels: Option<String>,
    pub body: String,
    pub language: String,
    pub status: CaseStatus,
    pub created_at: StoredTime,
    pub acknowledged_at: Option<StoredTime>,
    pub resolved_at: Option<StoredTime>,
    #[diesel(select_expression = cases::merged_into.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<cases::merged_into>)]
    pub merged: bool,
    pub assignee_id: Option<String>,
    #[diesel(select_expression = users::email.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<users::email>)]
    pub assignee_email: Option<String>,
    #[diesel(select_expression = cases::flagged_at.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<cases::flagged_at>)]
    pub flagged: bool,
    #[diesel(select_expression = cases::photo_thumb_path.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<cases::photo_thumb_path>)]
    pub has_photo: bool,
}

/// A page of [`CaseLine`]s and where the next page starts.
pub struct Lines {
    pub lines: Vec<CaseLine>,
    pub next: Option<Cursor>,
}

/// Keeps the first `limit` of `rows` (read with one more than a page) and returns the
/// cursor after the last kept one when there was more.
fn page_end<T>(rows: &mut Vec<T>, limit: usize, cursor: impl Fn(&T) -> Cursor) -> Option<Cursor> {
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(cursor)
}

/// [`search`] as [`CaseLine`]s: the same cases, pages and cursors.
pub fn search_lines(
    conn: &mut DbConnection,
    user_id: &str,
    is_admin: bool,
    s: &CaseSearch,
    before: Option<&Cursor>,
    limit: usize,
) -> QueryResult<Lines> {
    if s.words.is_some() {
        let found = search(conn, user_id, is_admin, s, before, limit)?;
        let ids: Vec<String> = found.cases.iter().map(|(c, _)| c.id.clone()).collect();
        let query = listing()
            .filter(cases::id.eq_any(&ids))
            .select(CaseLine::as_select());
        let mut by_id: std::collections::HashMap<String, CaseLine> =
            with_general_plan(conn, |c| query.load(c))?
                .into_iter()
                .map(|l| (l.id.clone(), l))
                .collect();
        return Ok(Lines {
            lines: ids.iter().filter_map(|id| by_id.remove(id)).collect(),
            next: found.next,
        });
    }
    let query = filtered(
        conn,
        user_id,
        is_admin,
        s,
        time_cursor(before),
        Some(limit + 1),
    )?
    .select(CaseLine::as_select());
    let mut lines = with_general_plan(conn, |c| query.load(c))?;
    let next = page_end(&mut lines, limit, |l| {
        Cursor::Time(l.created_at.0, l.id.clone())
    });
    Ok(Lines { lines, next })
}

/// One case as a list shows it.
pub fn line(conn: &mut DbConnection, case_id: &str) -> QueryResult<Option<CaseLine>> {
    listing()
        .filter(cases::id.eq(case_id))
        .select(CaseLine::as_select())
        .first(conn)
        .optional()
}

/// Runs a list's statement with PostgreSQL's general plan for it. PostgreSQL plans a
/// prepared statement again for each run while it guesses a plan for the values at hand is
/// cheaper than the general one; for "every case, first page" it kept guessing so, and
/// planning the five-table join (2 ms) cost more than reading the page (0.8 ms). Set for
/// this transaction only: other statements keep PostgreSQL's own choice.
fn with_general_plan<T>(
    conn: &mut DbConnection,
    read: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    match conn {
        DbConnection::Postgres(_) => conn.transaction(|c| {
            diesel::connection::SimpleConnection::batch_execute(
                c,
                "SET LOCAL plan_cache_mode = force_generic_plan",
            )?;
            read(c)
        }),
        DbConnection::Sqlite(_) => read(conn),
    }
}

fn time_cursor(before: Option<&Cursor>) -> Option<(chrono::NaiveDateTime, String)> {
    match before {
        Some(Cursor::Time(at, id)) => Some((*at, id.clone())),
        _ => None,
    }
}

/// The cases of the reader's stores that pass the filters (words aside), newest first
/// from `before`, at most `limit`, for the caller to choose the columns.
fn filtered(
    conn: &mut DbConnection,
    user_id: &str,
    is_admin: bool,
    s: &CaseSearch,
    before: Option<(chrono::NaiveDateTime, String)>,
    limit: Option<usize>,
) -> QueryResult<ListingQuery> {
    use crate::db::schema::user_locations;
    // A reader of a few stores: their stores' cases by the location index. Of many (a
    // chain's admin, a regional manager, an API token): walk every case newest first by
    // the time index and keep theirs, which finds a page after a page's worth of rows;
    // `location_id || ''` keeps the planner off the location index, which would sort
    // every case of every store for each page.
    let many = match (&s.within, is_admin) {
        (Some(ids), _) => ids.len() > FEW_STORES,
        (None, true) => true,
        (None, false) => {
            user_locations::table
                .filter(user_locations::user_id.eq(user_id.to_owned()))
                .count()
                .get_result::<i64>(conn)?
                > i64::try_from(FEW_STORES).unwrap_or(i64::MAX)
        }
    };
    let mut query = listing().into_boxed();
    if !is_admin {
        let mine = user_locations::table
            .filter(user_locations::user_id.eq(user_id.to_owned()))
            .select(user_locations::location_id);
        query = if many {
            query.filter(cases::location_id.concat("").eq_any(mine))
        } else {
            query.filter(cases::location_id.eq_any(mine))
        };
    }
    query = match s.status {
        SearchStatus::Open => query
            .filter(cases::resolved_at.is_null())
            .filter(cases::merged_into.is_null()),
        SearchStatus::New => query
            .filter(cases::status.eq(CaseStatus::New))
            .filter(cases::merged_into.is_null()),
        SearchStatus::InProgress => query
            .filter(cases::status.eq_any([CaseStatus::Acknowledged, CaseStatus::InProgress]))
            .filter(cases::merged_into.is_null()),
        SearchStatus::Resolved => query
            .filter(cases::resolved_at.is_not_null())
            .filter(cases::merged_into.is_null()),
        SearchStatus::Merged => query.filter(cases::merged_into.is_not_null()),
        SearchStatus::Any => query,
    };
    if let Some(id) = &s.location_id {
        query = query.filter(cases::location_id.eq(id.clone()));
    }
    if let Some(ids) = &s.within {
        query = if many {
            query.filter(cases::location_id.concat("").eq_any(ids.clone()))
        } else {
            query.filter(cases::location_id.eq_any(ids.clone()))
        };
    }
    if let Some(category) = &s.category {
        query = query.filter(cases::category.eq(category.clone()));
    }
    if let Some(id) = &s.touchpoint_id {
        query = query.filter(cases::touchpoint_id.eq(id.clone()));
    }
    match &s.assignee {
        Some(Some(id)) => query = query.filter(cases::assignee_id.eq(id.clone())),
        Some(None) => query = query.filter(cases::assignee_id.is_null()),
        None => {}
    }
    if let Some(from) = s.from {
        query = query.filter(cases::created_at.ge(from));
    }
    if let Some(until) = s.until {
        query = query.filter(cases::created_at.lt(until));
    }
    if let Some(reference) = &s.reference {
        query = query.filter(cases::reference.eq(reference.clone()));
    }
    if let Some(email) = &s.email {
        query = query.filter(cases::contact_email.eq(email.clone()));
    }
    if let Some((at, id)) = before {
        query = query.filter(
            cases::created_at
                .lt(at)
                .or(cases::created_at.eq(at).and(cases::id.lt(id))),
        );
    }
    query = query.order((cases::created_at.desc(), cases::id.desc()));
    if let Some(limit) = limit {
        query = query.limit(i64::try_from(limit).unwrap_or(i64::MAX));
    }
    Ok(query)
}

/// The customer says it is not resolved: back to work.
pub fn reopen_by_customer(conn: &mut DbConnection, case_id: &str) -> QueryResult<()> {
    diesel::update(cases::table.find(case_id))
        .set((
            cases::status.eq(CaseStatus::InProgress),
            cases::resolved_at.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The open cases (not resolved, not merged) assigned to a user.
pub fn open_assigned_to(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<Case>> {
    cases::table
        .filter(cases::assignee_id.eq(user_id))
        .filter(cases::resolved_at.is_null())
        .filter(cases::merged_into.is_null())
        .select(Case::as_select())
        .load(conn)
}

/// Who acknowledged a case (the email its "acknowledged" event names), if anyone did.
pub fn acknowledged_by(conn: &mut DbConnection, case_id: &str) -> QueryResult<Option<String>> {
    let detail: Option<String> = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq(EventKind::Acknowledged))
        .order(case_events::created_at.asc())
        .select(case_events::detail)
        .first(conn)
        .optional()?;
    Ok(detail
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|v| v.get("by")?.as_str().map(str::to_owned))
        .filter(|by| !by.is_empty()))
}

/// Marks a case as needing a look (an unhappy survey answer): it stays in the inbox.
pub fn flag(conn: &mut DbConnection, case_id: &str, at: chrono::NaiveDateTime) -> QueryResult<()> {
    diesel::update(cases::table.find(case_id))
        .set(cases::flagged_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}

/// Takes the mark off; true when there was one (of two racing clicks, the first).
pub fn unflag(conn: &mut DbConnection, case_id: &str) -> QueryResult<bool> {
    diesel::update(
        cases::table
            .find(case_id)
            .filter(cases::flagged_at.is_not_null()),
    )
    .set(cases::flagged_at.eq(None::<chrono::NaiveDateTime>))
    .execute(conn)
    .map(|n| n > 0)
}

/// Gives a case to a person if nobody has it.
pub fn assign_if_nobody(conn: &mut DbConnection, case_id: &str, user_id: &str) -> QueryResult<()> {
    diesel::update(
        cases::table
            .find(case_id)
            .filter(cases::assignee_id.is_null()),
    )
    .set(cases::assignee_id.eq(user_id))
    .execute(conn)
    .map(|_| ())
}

/// Takes a case off its assignee: back in the store's queue.
pub fn unassign(conn: &mut DbConnection, case_id: &str) -> QueryResult<()> {
    diesel::update(cases::table.find(case_id))
        .set(cases::assignee_id.eq(None::<String>))
        .execute(conn)
        .map(|_| ())
}

/// A case's state changes, each conditional on the state it leaves: of two racing clicks
/// (PostgreSQL runs them at once), the second finds the row changed and changes nothing.
/// Each returns whether it changed the case.
pub mod transitions {
    use chrono::NaiveDateTime;
    use diesel::prelude::*;

    use crate::db::schema::cases;
    use crate::db::states::CaseStatus;
    use crate::db::DbConnection;

    pub fn set_status(c: &mut DbConnection, case_id: &str, status: CaseStatus) -> QueryResult<()> {
        diesel::update(cases::table.find(case_id))
            .set(cases::status.eq(status))
            .execute(c)
            .map(drop)
    }

    /// Gives the case to `assignee_id`, unless it is theirs already.
    pub fn assign(c: &mut DbConnection, case_id: &str, assignee_id: &str) -> QueryResult<bool> {
        diesel::update(
            cases::table.find(case_id).filter(
                cases::assignee_id
                    .is_null()
                    .or(cases::assignee_id.ne(assignee_id)),
            ),
        )
        .set((
            cases::assignee_id.eq(assignee_id),
            cases::status.eq(CaseStatus::InProgress),
        ))
        .execute(c)
        .map(|n| n > 0)
    }

    /// What resolving writes; a compensation left out is stored as none (NULL), not kept
    /// from an earlier resolution.
    #[derive(AsChangeset)]
    #[diesel(table_name = cases, treat_none_as_null = true)]
    pub struct Resolved<'a> {
        pub status: CaseStatus,
        pub resolved_at: NaiveDateTime,
        pub resolution: &'a str,
        pub root_cause: &'a str,
        pub compensation_type: Option<&'a str>,
        pub compensation_minor: Option<i32>,
        pub compensation_currency: Option<&'a str>,
    }

    /// Resolves the case while it is unresolved.
    pub fn resolve(c: &mut DbConnection, case_id: &str, r: &Resolved<'_>) -> QueryResult<bool> {
        diesel::update(
            cases::table
                .find(case_id)
                .filter(cases::resolved_at.is_null()),
        )
        .set(r)
        .execute(c)
        .map(|n| n > 0)
    }

    /// Opens a resolved case again (in progress).
    pub fn reopen(c: &mut DbConnection, case_id: &str) -> QueryResult<bool> {
        diesel::update(
            cases::table
                .find(case_id)
                .filter(cases::resolved_at.is_not_null()),
        )
        .set((
            cases::status.eq(CaseStatus::InProgress),
            cases::resolved_at.eq(None::<NaiveDateTime>),
        ))
        .execute(c)
        .map(|n| n > 0)
    }

    /// Marks `duplicate_id` merged into `into_id`, while it is neither merged nor resolved.
    pub fn merge(c: &mut DbConnection, duplicate_id: &str, into_id: &str) -> QueryResult<bool> {
        diesel::update(
            cases::table
                .find(duplicate_id)
                .filter(cases::merged_into.is_null())
                .filter(cases::resolved_at.is_null()),
        )
        .set(cases::merged_into.eq(into_id))
        .execute(c)
        .map(|n| n > 0)
    }
}
