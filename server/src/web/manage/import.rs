//! `/manage/import`: stores (with their spots) and people from a spreadsheet, for admins.
//! An upload is checked first and shown as a preview (what will be created, changed and
//! retired, or every bad line); nothing changes until the admin confirms. Between the two
//! steps the file waits in the data dir under a name only its uploader can confirm.

use actix_multipart::form::{bytes::Bytes as UploadBytes, text::Text, MultipartForm};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::states::Role;
use crate::domain::language::Language;
use crate::domain::setup::import::{
    import_locations, import_people, Counts, ImportError, Planned, LOCATION_COLUMNS,
    MAX_FILE_BYTES, PEOPLE_COLUMNS,
};
use crate::domain::setup::Actor;
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(MultipartForm)]
pub struct ImportUpload {
    csrf: Text<String>,
    #[multipart(limit = "33MiB")]
    file: UploadBytes,
}

pub fn upload_config() -> actix_multipart::form::MultipartFormConfig {
    actix_multipart::form::MultipartFormConfig::default()
        .total_limit(MAX_FILE_BYTES + 1024 * 1024)
        .memory_limit(MAX_FILE_BYTES + 1024 * 1024)
        .error_handler(|_, req| {
            AppError::BadRequest(crate::web::reader::of_request(req).text("import.unreadable"))
                .into()
        })
}

/// What a file brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Locations,
    People,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind, AppError> {
        match s {
            "locations" => Ok(Kind::Locations),
            "people" => Ok(Kind::People),
            _ => Err(AppError::NotFound),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::Locations => "locations",
            Kind::People => "people",
        }
    }
}

/// One section of the preview: a heading (counts) and its lines.
struct Outcome {
    kind: &'static str,
    counts: Vec<String>,
    items: Vec<(String, String)>,
    more: usize,
    bad_lines: Vec<String>,
    /// The waiting upload to confirm (None: nothing to confirm).
    upload: Option<String>,
    done: bool,
}

#[derive(Template)]
#[template(path = "manage/import.html")]
struct ImportPage {
    l: Language,
    csrf: String,
    location_header: String,
    people_header: String,
    outcome: Option<Outcome>,
}

/// Lines of a preview shown on the page; the counts cover them all.
const SHOWN_ITEMS: usize = 500;

fn admins_only(who: &SignedIn) -> Result<(), AppError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn page(who: &SignedIn, outcome: Option<Outcome>) -> Result<HttpResponse, AppError> {
    let l = Language::or_default(&who.user.language);
    let bad = outcome.as_ref().is_some_and(|o| !o.bad_lines.is_empty());
    let mut r = render::html(&ImportPage {
        l,
        csrf: csrf_token(&who.session)?,
        location_header: LOCATION_COLUMNS.join(","),
        people_header: PEOPLE_COLUMNS.join(","),
        outcome,
    })?;
    if bad {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn form(who: SignedIn) -> Result<HttpResponse, AppError> {
    admins_only(&who)?;
    page(&who, None)
}

fn counts_text(l: Language, kind: Kind, stores: &Counts, spots: &Counts) -> Vec<String> {
    let n = |v: usize| v.to_string();
    let line = |key: &str, c: &Counts| {
        l.text_with(
            key,
            &[
                ("created", &n(c.created)),
                ("changed", &n(c.changed)),
                ("unchanged", &n(c.unchanged)),
                ("retired", &n(c.retired)),
            ],
        )
    };
    match kind {
        Kind::Locations => vec![
            line("stores.count_stores", stores),
            line("stores.count_spots", spots),
        ],
        Kind::People => vec![line("stores.count_people", stores)],
    }
}

/// Runs the import (or its dry run) and turns the result into a page section.
fn outcome(
    l: Language,
    kind: Kind,
    result: Result<(Counts, Counts, Vec<Planned>), ImportError>,
    upload: Option<String>,
    done: bool,
) -> Result<Outcome, AppError> {
    match result {
        Ok((stores, spots, items)) => Ok(Outcome {
            kind: kind.path(),
            counts: counts_text(l, kind, &stores, &spots),
            more: items.len().saturating_sub(SHOWN_ITEMS),
            items: items
                .into_iter()
                .take(SHOWN_ITEMS)
                .map(|p| (l.text(&format!("stores.action_{}", p.action)), p.what))
                .collect(),
            bad_lines: Vec::new(),
            upload,
            done,
        }),
        Err(ImportError::Lines(lines)) => Ok(Outcome {
            kind: kind.path(),
            counts: Vec::new(),
            items: Vec::new(),
            more: 0,
            bad_lines: lines
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        l.text_with("stores.line", &[("line", &e.line.to_string())]),
                        e.error.message(l)
                    )
                })
                .collect(),
            upload: None,
            done: false,
        }),
        Err(ImportError::Db(e)) => Err(AppError::from(e)),
        Err(e @ (ImportError::Refused(_) | ImportError::Account(_))) => {
            Err(AppError::Internal(e.into()))
        }
    }
}

fn run(
    db: &crate::db::Db,
    actor: &Actor,
    kind: Kind,
    bytes: &[u8],
    dry_run: bool,
) -> Result<(Counts, Counts, Vec<Planned>), ImportError> {
    match kind {
        Kind::Locations => {
            import_locations(db, actor, bytes, dry_run).map(|p| (p.stores, p.spots, p.items))
        }
        Kind::People => {
            import_people(db, actor, bytes, dry_run).map(|p| (p.people, Counts::default(), p.items))
        }
    }
}

fn actor(who: &SignedIn) -> Actor {
    Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    }
}

/// Where an upload waits for its confirmation: named for its uploader and a random id.
fn waiting_file(state: &AppState, who: &SignedIn, id: &str) -> Option<std::path::PathBuf> {
    let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| {
        state
            .settings
            .data_dir
            .join("imports")
            .join(format!("{}-{id}", who.user.id))
    })
}

/// `POST /manage/import/{kind}/preview`: checks the file and shows what it would do.
pub async fn preview(
    state: web::Data<AppState>,
    who: SignedIn,
    kind: web::Path<String>,
    form: MultipartForm<ImportUpload>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    admins_only(&who)?;
    let kind = Kind::parse(&kind)?;
    let l = Language::or_default(&who.user.language);
    let bytes = form.into_inner().file.data.to_vec();
    let mut id_bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut id_bytes);
    let id = hex::encode(id_bytes);
    let path = waiting_file(&state, &who, &id).ok_or(AppError::NotFound)?;
    let (db, a) = (state.db.clone(), actor(&who));
    let result = web::block(move || -> Result<_, AppError> {
        let result = run(&db, &a, kind, &bytes, true);
        if result.is_ok() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| AppError::Internal(e.into()))?;
                forget_stale_uploads(dir);
            }
            std::fs::write(&path, &bytes).map_err(|e| AppError::Internal(e.into()))?;
        }
        Ok(result)
    })
    .await??;
    let upload = result.is_ok().then_some(id);
    page(&who, Some(outcome(l, kind, result, upload, false)?))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    upload: String,
}

/// `POST /manage/import/{kind}/confirm`: applies the previewed file in one transaction.
pub async fn confirm(
    state: web::Data<AppState>,
    who: SignedIn,
    kind: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    admins_only(&who)?;
    let kind = Kind::parse(&kind)?;
    let l = Language::or_default(&who.user.language);
    let path = waiting_file(&state, &who, &form.upload).ok_or(AppError::NotFound)?;
    let (db, a) = (state.db.clone(), actor(&who));
    let result = web::block(move || -> Result<_, AppError> {
        // Gone: confirmed already (a double click), or never uploaded by this person.
        let bytes = std::fs::read(&path).map_err(|_| AppError::NotFound)?;
        let result = run(&db, &a, kind, &bytes, false);
        if result.is_ok() {
            let _ = std::fs::remove_file(&path);
        }
        Ok(result)
    })
    .await??;
    if result.is_ok() {
        state.outbox_waker.wake();
    }
    page(&who, Some(outcome(l, kind, result, None, true)?))
}

/// How long a previewed upload waits for its confirmation.
const UPLOAD_KEPT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Deletes previews nobody confirmed within [`UPLOAD_KEPT`] (run at each new preview).
fn forget_stale_uploads(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > UPLOAD_KEPT);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
