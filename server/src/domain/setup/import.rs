//! Bulk setup for chains: stores with their spots, and people with their stores, from CSV
//! (UTF-8, BOM allowed) or XLSX. A file is first turned into a plan (what will be created,
//! changed, retired, and every bad line with its reason); applying it runs the same plan
//! inside one transaction, so a file with any bad line changes nothing, and the same file
//! twice changes nothing the second time. Rows match on the external reference, else the
//! name (stores), the touchpoint reference, else the label (spots), the email (people).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::db::models::{new_id, now_utc, AdminLogEntry, Spot, Store, User};
use crate::db::queries::{admin_log, spots, stores, users};
use crate::db::states::Role;
use crate::db::{Db, DbConnection, DbError};
use crate::domain::mail::PasswordMail;
use crate::domain::sticker::codes::new_touchpoint_code;

use super::audit::Actor;
use super::fields::{self, FieldError, Problem};
use super::stores::StoreInput;

/// Largest file accepted, in bytes (a 10,000-store chain with 5 spots each is ~4 MB).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
/// Most data rows in one file.
pub const MAX_ROWS: usize = 200_000;

pub const LOCATION_COLUMNS: [&str; 8] = [
    "ref",
    "location",
    "region",
    "time_zone",
    "language",
    "currency",
    "touchpoint_ref",
    "touchpoint",
];
pub const PEOPLE_COLUMNS: [&str; 4] = ["email", "role", "locations", "language"];

/// One bad line: its number in the file (the header is line 1) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub line: usize,
    pub error: FieldError,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Every bad line; nothing was stored.
    #[error("{} bad lines", .0.len())]
    Lines(Vec<LineError>),
    #[error(transparent)]
    Db(#[from] DbError),
    /// A person's change the lines passed but the store refused (checked again inside the
    /// write, against what it holds now).
    #[error(transparent)]
    Refused(#[from] super::SetupError),
    #[error(transparent)]
    Account(#[from] crate::domain::account::AccountError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::Db(e.into())
    }
}

fn whole_file(problem: Problem, value: &str) -> ImportError {
    ImportError::Lines(vec![LineError {
        line: 1,
        error: FieldError::new("file", problem, value),
    }])
}

/// A file's rows as text, by column name, with their line numbers.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// CSV or XLSX (told apart by content: an XLSX file is a ZIP archive). Every column
    /// in `required` must be in the header.
    pub fn read(bytes: &[u8], required: &[&str]) -> Result<Table, ImportError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(whole_file(
                Problem::TooMany,
                &format!("{} bytes", bytes.len()),
            ));
        }
        let mut all = if bytes.starts_with(b"PK\x03\x04") {
            read_xlsx(bytes)?
        } else {
            read_csv(bytes)?
        };
        if all.is_empty() {
            return Err(whole_file(Problem::MissingColumn, &required.join(",")));
        }
        let (_, header) = all.remove(0);
        let columns: Vec<String> = header
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .filter(|r| !columns.iter().any(|c| c == *r))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(whole_file(Problem::MissingColumn, &missing.join(",")));
        }
        if all.len() > MAX_ROWS {
            return Err(whole_file(Problem::TooMany, &all.len().to_string()));
        }
        all.retain(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
        Ok(Table { columns, rows: all })
    }

    fn get<'a>(&self, row: &'a [String], column: &str) -> &'a str {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| row.get(i))
            .map_or("", |v| v.trim())
    }
}

fn read_csv(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(1, |p| p.line() as usize);
            ImportError::Lines(vec![LineError {
                line,
                error: FieldError::new("file", Problem::Unreadable, "CSV (UTF-8)"),
            }])
        })?;
        let line = record
            .position()
            .map_or(out.len() + 1, |p| p.line() as usize);
        out.push((line, record.iter().map(str::to_owned).collect()));
        if out.len() > MAX_ROWS + 1 {
            break;
        }
    }
    Ok(out)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
    use calamine::{Reader, Xlsx};
    let unreadable = || whole_file(Problem::Unreadable, "XLSX");
    let mut book: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes.to_vec())).map_err(|_| unreadable())?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(unreadable)?
        .map_err(|_| unreadable())?;
    let first = range.start().map_or(0, |(row, _)| row as usize);
    Ok(range
        .rows()
        .take(MAX_ROWS + 2)
        .enumerate()
        .map(|(i, cells)| {
            (
                first + i + 1,
                cells.iter().map(ToString::to_string).collect(),
            )
        })
        .collect())
}

/// Counts of what an import does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub retired: usize,
}

/// One line of a preview: what happens to which store, spot or person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// `create`, `change` or `retire`.
    pub action: &'static str,
    pub what: String,
}

// ---------------------------------------------------------------------------------------
// Stores and spots

#[derive(Debug, Clone, Default)]
pub struct LocationsPlan {
    pub stores: Counts,
    pub spots: Counts,
    /// Every creation, change and retirement, in file order.
    pub items: Vec<Planned>,
    new_stores: Vec<Store>,
    changed_stores: Vec<(Store, Store)>,
    new_spots: Vec<Spot>,
    changed_spots: Vec<Spot>,
}

impl LocationsPlan {
    pub fn summary(&self) -> String {
        format!(
            "{} stores created, {} changed, {} unchanged; {} spots created, {} changed, {} unchanged, {} retired",
            self.stores.created,
            self.stores.changed,
            self.stores.unchanged,
            self.spots.created,
            self.spots.changed,
            self.spots.unchanged,
            self.spots.retired
        )
    }
}

struct Group {
    line: usize,
    store: Store,
    /// (line, touchpoint_ref, label)
    spots: Vec<(usize, Option<String>, String)>,
}

/// What importing `table` would do, against the database as `c` sees it.
pub fn plan_locations(c: &mut DbConnection, table: &Table) -> Result<LocationsPlan, ImportError> {
    let mut errors = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (line, row) in &table.rows {
        let line = *line;
        let get = |col: &str| table.get(row, col);
        let input = StoreInput {
            name: get("location").to_owned(),
            address: None,
            region: Some(get("region").to_owned()),
            time_zone: get("time_zone").to_owned(),
            language: get("language").to_owned(),
            currency: Some(get("currency").to_owned()),
            sla_minutes: None,
            external_ref: Some(get("ref").to_owned()),
        };
        let store = match input.parse() {
            Ok(s) => s,
            Err(error) => {
                errors.push(LineError { line, error });
                continue;
            }
        };
        let key = store
            .external_ref
            .clone()
            .unwrap_or_else(|| store.name.clone());
        let spot_label = get("touchpoint");
        let spot_ref = fields::external_ref(Some(get("touchpoint_ref")));
        let spot = match (spot_label, spot_ref) {
            ("", Ok(None)) => None,
            ("", Ok(Some(r))) => {
                errors.push(LineError {
                    line,
                    error: FieldError::new("touchpoint", Problem::Empty, &r),
                });
                continue;
            }
            (label, Ok(r)) => match fields::name("touchpoint", label) {
                Ok(label) => Some((line, r, label)),
                Err(error) => {
                    errors.push(LineError { line, error });
                    continue;
                }
            },
            (_, Err(error)) => {
                errors.push(LineError { line, error });
                continue;
            }
        };
        match by_key.get(&key) {
            Some(&i) => {
                let g = &mut groups[i];
                let same = g.store.name == store.name
                    && g.store.region == store.region
                    && g.store.time_zone == store.time_zone
                    && g.store.default_language == store.default_language
                    && g.store.currency == store.currency;
                if !same {
                    errors.push(LineError {
                        line,
                        error: FieldError::new("location", Problem::Conflicting, &store.name),
                    });
                    continue;
                }
                g.spots.extend(spot);
            }
            None => {
                by_key.insert(key, groups.len());
                groups.push(Group {
                    line,
                    store,
                    spots: spot.into_iter().collect(),
                });
            }
        }
    }

    let existing = stores::all(c)?;
    let by_ref: HashMap<&str, &Store> = existing
        .iter()
        .filter_map(|s| s.external_ref.as_deref().map(|r| (r, s)))
        .collect();
    let by_name: HashMap<&str, &Store> = existing.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut spots_of: HashMap<String, Vec<Spot>> = HashMap::new();
    for s in spots::all(c)? {
        spots_of.entry(s.location_id.clone()).or_default().push(s);
    }

    let mut plan = LocationsPlan::default();
    let mut names_in_file: HashSet<String> = HashSet::new();
    let now = now_utc();
    for g in groups {
        if !names_in_file.insert(g.store.name.clone()) {
            errors.push(LineError {
                line: g.line,
                error: FieldError::new("location", Problem::Repeated, &g.store.name),
            });
            continue;
        }
        let matched = match &g.store.external_ref {
            Some(r) => by_ref.get(r.as_str()).copied().or_else(|| {
                by_name
                    .get(g.store.name.as_str())
                    .copied()
                    .filter(|s| s.external_ref.is_none())
            }),
            None => by_name.get(g.store.name.as_str()).copied(),
        };
        // A name another store (not the matched one) has is refused, as on the web.
        if let Some(other) = by_name.get(g.store.name.as_str()) {
            if matched.map(|m| &m.id) != Some(&other.id) {
                errors.push(LineError {
                    line: g.line,
                    error: FieldError::new("location", Problem::DuplicateName, &g.store.name),
                });
                continue;
            }
        }
        let store = match matched {
            None => {
                plan.stores.created += 1;
                plan.items.push(Planned {
                    action: "create",
                    what: g.store.name.clone(),
                });
                plan.new_stores.push(g.store.clone());
                g.store.clone()
            }
            Some(before) => {
                let after = Store {
                    name: g.store.name.clone(),
                    region: g.store.region.clone(),
                    time_zone: g.store.time_zone.clone(),
                    default_language: g.store.default_language.clone(),
                    currency: g.store.currency.clone(),
                    external_ref: g.store.external_ref.clone().or(before.external_ref.clone()),
                    ..before.clone()
                };
                if after == *before {
                    plan.stores.unchanged += 1;
                } else {
                    plan.stores.changed += 1;
                    plan.items.push(Planned {
                        action: "change",
                        what: after.name.clone(),
                    });
                    plan.changed_stores.push((before.clone(), after.clone()));
                }
                after
            }
        };
        plan_spots(
            &mut plan,
            &mut errors,
            &store,
            &g.spots,
            spots_of.get(&store.id),
            now,
        );
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(ImportError::Lines(errors));
    }
    Ok(plan)
}

fn plan_spots(
    plan: &mut LocationsPlan,
    errors: &mut Vec<LineError>,
    store: &Store,
    rows: &[(usize, Option<String>, String)],
    existing: Option<&Vec<Spot>>,
    now: chrono::NaiveDateTime,
) {
    let empty = Vec::new();
    let existing = existing.unwrap_or(&empty);
    let mut seen_labels: HashSet<&str> = HashSet::new();
    let mut matched_ids: HashSet<&str> = HashSet::new();
    let mut next_position = existing.iter().map(|s| s.position + 1).max().unwrap_or(0);
    for (line, spot_ref, label) in rows {
        if !seen_labels.insert(label) {
            errors.push(LineError {
                line: *line,
                error: FieldError::new("touchpoint", Problem::Repeated, label),
            });
            continue;
        }
        let found = spot_ref
            .as_ref()
            .and_then(|r| existing.iter().find(|s| s.external_ref.as_ref() == Some(r)))
            .or_else(|| existing.iter().find(|s| &s.label == label));
        match found {
            None => {
                plan.spots.created += 1;
                plan.items.push(Planned {
                    action: "create",
                    what: format!("{} / {label}", store.name),
                });
                plan.new_spots.push(Spot {
                    id: new_id(),
                    location_id: store.id.clone(),
                    label: label.clone(),
                    code: new_touchpoint_code(),
                    position: next_position,
                    retired_at: None,
                    external_ref: spot_ref.clone(),
                    previous_code: None,
                    previous_code_retired_at: None,
                    created_at: now,
                });
                next_position += 1;
            }
            Some(before) => {
                matched_ids.insert(&before.id);
                let after = Spot {
                    label: label.clone(),
                    retired_at: None,
                    external_ref: spot_ref.clone().or(before.external_ref.clone()),
                    ..before.clone()
                };
                if after == *before {
                    plan.spots.unchanged += 1;
                } else {
                    plan.spots.changed += 1;
                    plan.items.push(Planned {
                        action: "change",
                        what: format!("{} / {label}", store.name),
                    });
                    plan.changed_spots.push(after);
                }
            }
        }
    }
    // The file speaks for the spots of each store it lists with spots: the others retire.
    if rows.is_empty() {
        return;
    }
    for s in existing {
        if s.retired_at.is_none() && !matched_ids.contains(s.id.as_str()) {
            plan.spots.retired += 1;
            plan.items.push(Planned {
                action: "retire",
                what: format!("{} / {}", store.name, s.label),
            });
            plan.changed_spots.push(Spot {
                retired_at: Some(now),
                ..s.clone()
            });
        }
    }
}

/// Plans and (unless `dry_run`) applies a store file in one transaction.
pub fn import_locations(
    db: &Db,
    actor: &Actor,
    bytes: &[u8],
    dry_run: bool,
) -> Result<LocationsPlan, ImportError> {
    let table = Table::read(bytes, &["location", "time_zone", "language"])?;
    if dry_run {
        return db.read(|c| Ok(plan_locations(c, &table)))?;
    }
    db.write(|c| {
        let plan = plan_locations(c, &table)?;
        stores::insert_many(c, &plan.new_stores)?;
        for (_, after) in &plan.changed_stores {
            stores::update(c, after)?;
        }
        spots::insert_many(c, &plan.new_spots)?;
        for s in &plan.changed_spots {
            spots::update(c, s)?;
        }
        let mut log: Vec<AdminLogEntry> = plan
            .new_stores
            .iter()
            .map(|s| entry(actor, "store.create", &s.name, None, json(s)))
            .chain(
                plan.changed_stores
                    .iter()
                    .map(|(b, a)| entry(actor, "store.edit", &a.name, json(b), json(a))),
            )
            .collect();
        log.push(entry(
            actor,
            "import.locations",
            &plan.summary(),
            None,
            json(&plan.items),
        ));
        admin_log::insert_many(c, &log)?;
        Ok(plan)
    })
}

fn json<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_string(v).ok()
}

fn entry(
    actor: &Actor,
    action: &str,
    subject: &str,
    before: Option<String>,
    after: Option<String>,
) -> AdminLogEntry {
    let (actor_user_id, actor) = match actor {
        Actor::CommandLine => (None, "command line".to_owned()),
        Actor::User { id, email } => (Some(id.clone()), email.clone()),
    };
    AdminLogEntry {
        id: new_id(),
        actor_user_id,
        actor,
        action: action.to_owned(),
        subject: subject.to_owned(),
        before,
        after,
        created_at: now_utc(),
    }
}

/// The store list in the import format, one row per spot in use (a store without any has
/// one row with the spot columns empty), archived stores left out: a chain round-trips it
/// through a spreadsheet.
fn location_rows(c: &mut DbConnection) -> diesel::QueryResult<Vec<[String; 8]>> {
    let all = stores::all(c)?;
    let mut spots_of: HashMap<String, Vec<Spot>> = HashMap::new();
    for s in spots::all(c)? {
        spots_of.entry(s.location_id.clone()).or_default().push(s);
    }
    let mut rows = Vec::new();
    for store in all.iter().filter(|s| s.archived_at.is_none()) {
        let cells = |spot: Option<&Spot>| -> [String; 8] {
            [
                store.external_ref.clone().unwrap_or_default(),
                store.name.clone(),
                store.region.clone().unwrap_or_default(),
                store.time_zone.clone(),
                store.default_language.clone(),
                store.currency.clone(),
                spot.and_then(|s| s.external_ref.clone())
                    .unwrap_or_default(),
                spot.map_or_else(String::new, |s| s.label.clone()),
            ]
        };
        let live: Vec<&Spot> = spots_of
            .get(&store.id)
            .map(|v| v.iter().filter(|s| s.retired_at.is_none()).collect())
            .unwrap_or_default();
        if live.is_empty() {
            rows.push(cells(None));
        }
        rows.extend(live.into_iter().map(|spot| cells(Some(spot))));
    }
    Ok(rows)
}

/// The store list as CSV, formula-looking cells neutralised (a name typed as "=cmd()"
/// must not run in the spreadsheet that opens it).
pub fn export_locations(c: &mut DbConnection) -> diesel::QueryResult<Vec<u8>> {
    use crate::domain::insight::export::neutralize;
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(LOCATION_COLUMNS);
    for row in location_rows(c)? {
        let _ = out.write_record(row.iter().map(|v| neutralize(v).into_owned()));
    }
    Ok(out.into_inner().unwrap_or_default())
}

/// The store list as XLSX (string cells: Excel runs no formula from them).
pub fn export_locations_xlsx(c: &mut DbConnection) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let rows = location_rows(c)?;
    let write = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = book.add_worksheet();
        sheet.set_name("locations")?;
        for (col, name) in LOCATION_COLUMNS.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *name, &bold)?;
        }
        for (n, row) in rows.iter().enumerate() {
            for (col, value) in row.iter().enumerate() {
                if !value.is_empty() {
                    sheet.write_string(n as u32 + 1, col as u16, value)?;
                }
            }
        }
        book.save_to_buffer()
    };
    Ok(write()?)
}

// ---------------------------------------------------------------------------------------
// People

#[derive(Debug, Clone, Default)]
pub struct PeoplePlan {
    pub people: Counts,
    pub items: Vec<Planned>,
    new_people: Vec<(User, Vec<String>)>,
    changed_people: Vec<(String, super::people::PersonChange)>,
}

impl PeoplePlan {
    pub fn summary(&self) -> String {
        format!(
            "{} people created, {} changed, {} unchanged",
            self.people.created, self.people.changed, self.people.unchanged
        )
    }
}

pub fn plan_people(c: &mut DbConnection, table: &Table) -> Result<PeoplePlan, ImportError> {
    let existing = super::people::list(c, None)?;
    let by_email: HashMap<&str, &super::people::Person> =
        existing.iter().map(|p| (p.email.as_str(), p)).collect();
    let all_stores = stores::all(c)?;
    let store_by_key = |key: &str| {
        all_stores
            .iter()
            .find(|s| s.external_ref.as_deref() == Some(key))
            .or_else(|| all_stores.iter().find(|s| s.name == key))
    };
    let mut plan = PeoplePlan::default();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (line, row) in &table.rows {
        let line = *line;
        let get = |col: &str| table.get(row, col);
        let parsed = (|| -> Result<_, FieldError> {
            let email = fields::email(get("email"))?;
            let role = fields::role(get("role"))?;
            let language = match get("language") {
                "" => "en".to_owned(),
                l => fields::language(l)?.code().to_owned(),
            };
            let mut ids: Vec<String> = Vec::new();
            for key in get("locations")
                .split(';')
                .map(str::trim)
                .filter(|k| !k.is_empty())
            {
                let store = store_by_key(key)
                    .ok_or_else(|| FieldError::new("locations", Problem::UnknownStore, key))?;
                if !ids.contains(&store.id) {
                    ids.push(store.id.clone());
                }
            }
            if role != Role::Admin && ids.is_empty() {
                return Err(FieldError::new("locations", Problem::NeedsStore, ""));
            }
            Ok((email, role, language, ids))
        })();
        let (email, role, language, mut ids) = match parsed {
            Ok(p) => p,
            Err(error) => {
                errors.push(LineError { line, error });
                continue;
            }
        };
        if !seen.insert(email.clone()) {
            errors.push(LineError {
                line,
                error: FieldError::new("email", Problem::Repeated, &email),
            });
            continue;
        }
        ids.sort();
        match by_email.get(email.as_str()) {
            None => {
                plan.people.created += 1;
                plan.items.push(Planned {
                    action: "create",
                    what: email.clone(),
                });
                plan.new_people.push((
                    User {
                        id: new_id(),
                        email,
                        // Nobody knows a password for this: the invitation's link is the way in.
                        password_hash: "!invited".into(),
                        role,
                        language,
                        created_at: now_utc(),
                    },
                    ids,
                ));
            }
            Some(p) => {
                let mut theirs = p.store_ids.clone();
                theirs.sort();
                if p.role == role && p.language == language && theirs == ids {
                    plan.people.unchanged += 1;
                } else {
                    plan.people.changed += 1;
                    plan.items.push(Planned {
                        action: "change",
                        what: email.clone(),
                    });
                    plan.changed_people.push((
                        email,
                        super::people::PersonChange {
                            role: Some(role.as_str().into()),
                            stores: Some(ids),
                            language: Some(language),
                        },
                    ));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines(errors));
    }
    Ok(plan)
}

/// Plans and (unless `dry_run`) applies a people file in one transaction; new people get
/// an invitation email (queued in the same transaction).
pub fn import_people(
    db: &Db,
    actor: &Actor,
    bytes: &[u8],
    dry_run: bool,
) -> Result<PeoplePlan, ImportError> {
    let table = Table::read(bytes, &PEOPLE_COLUMNS)?;
    if dry_run {
        return db.read(|c| Ok(plan_people(c, &table)))?;
    }
    let now = now_utc();
    db.write(|c| {
        let plan = plan_people(c, &table)?;
        let mut log = Vec::new();
        for (user, store_ids) in &plan.new_people {
            users::insert(c, user)?;
            users::set_locations(c, &user.id, store_ids)?;
            crate::domain::account::queue_password_mail(c, user, PasswordMail::Invite, now)?;
            log.push(entry(
                actor,
                "person.invite",
                &user.email,
                None,
                json(&user.role),
            ));
        }
        for (email, change) in &plan.changed_people {
            super::people::apply_change(c, actor, email, change, None).map_err(|e| match e {
                super::SetupError::Db(d) => ImportError::Db(d),
                other => ImportError::Refused(other),
            })?;
        }
        log.push(entry(
            actor,
            "import.people",
            &plan.summary(),
            None,
            json(&plan.items),
        ));
        admin_log::insert_many(c, &log)?;
        Ok(plan)
    })
}
