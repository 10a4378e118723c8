//! `/manage/stores`: stores and their spots. Admins create, archive and restore stores;
//! managers edit the stores they manage and their spots. Every change goes through
//! `domain::setup`, which checks it and logs it.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::{Spot, Store};
use crate::db::queries::{spots as spot_queries, stores as store_queries};
use crate::db::states::Role;
use crate::domain::language::Language;
use crate::domain::setup::stores::{StoreChange, StoreInput};
use crate::domain::setup::{spots, stores, Actor, SetupError};
use crate::web::session::{csrf_token, verify_csrf, CsrfForm, SignedIn};
use crate::web::{render, AppError, AppState};

use super::managed_location;

fn actor(who: &SignedIn) -> Actor {
    Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    }
}

fn language(who: &SignedIn) -> Language {
    Language::or_default(&who.user.language)
}

fn languages() -> Vec<(&'static str, &'static str)> {
    Language::choices()
}

#[derive(Template)]
#[template(path = "manage/stores.html")]
struct StoresPage {
    lang: &'static str,
    l: Language,
    csrf: String,
    is_admin: bool,
    stores: Vec<Store>,
    error: Option<String>,
    languages: Vec<(&'static str, &'static str)>,
}

async fn visible_stores(state: &AppState, who: &SignedIn) -> Result<Vec<Store>, AppError> {
    let db = state.db.clone();
    let (admin, uid) = (who.role == Role::Admin, who.user.id.clone());
    Ok(web::block(move || {
        db.read(|c| {
            if admin {
                store_queries::all(c)
            } else {
                store_queries::for_user(c, &uid)
            }
        })
    })
    .await??)
}

async fn list_page(
    state: &AppState,
    who: &SignedIn,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    if who.role == Role::Staff {
        return Err(AppError::Forbidden);
    }
    let l = language(who);
    render::html(&StoresPage {
        lang: l.code(),
        l,
        csrf: csrf_token(&who.session)?,
        is_admin: who.role == Role::Admin,
        stores: visible_stores(state, who).await?,
        error,
        languages: languages(),
    })
}

pub async fn list(state: web::Data<AppState>, who: SignedIn) -> Result<HttpResponse, AppError> {
    list_page(&state, &who, None).await
}

#[derive(Deserialize)]
pub struct StoreForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    sla_minutes: String,
    #[serde(default)]
    external_ref: String,
}

fn see_other(to: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// A refused input shown on the page it came from, with 422.
fn unprocessable(mut r: HttpResponse) -> HttpResponse {
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

pub async fn create(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<StoreForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    if who.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let f = form.into_inner();
    let input = StoreInput {
        name: f.name,
        address: Some(f.address),
        region: Some(f.region),
        time_zone: f.time_zone,
        language: f.language,
        currency: Some(f.currency),
        sla_minutes: Some(f.sla_minutes),
        external_ref: Some(f.external_ref),
    };
    let (db, a) = (state.db.clone(), actor(&who));
    match web::block(move || stores::add(&db, &a, &input)).await? {
        Ok(store) => Ok(see_other(format!("/manage/stores/{}", store.id))),
        Err(SetupError::Invalid(e)) => {
            let message = e.message(language(&who));
            Ok(unprocessable(list_page(&state, &who, Some(message)).await?))
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

#[derive(Template)]
#[template(path = "manage/store.html")]
struct StorePage {
    l: Language,
    csrf: String,
    is_admin: bool,
    store: Store,
    spots: Vec<Spot>,
    base_url: String,
    error: Option<String>,
    saved: bool,
    languages: Vec<(&'static str, &'static str)>,
}

async fn store_page(
    state: &AppState,
    who: &SignedIn,
    store_id: String,
    error: Option<String>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let db = state.db.clone();
    let (store, all_spots) = web::block(move || {
        db.read(|c| {
            Ok((
                store_queries::find(c, &store_id)?,
                spot_queries::for_location(c, &store_id)?,
            ))
        })
    })
    .await??;
    let store = store.ok_or(AppError::NotFound)?;
    let l = language(who);
    render::html(&StorePage {
        l,
        csrf: csrf_token(&who.session)?,
        is_admin: who.role == Role::Admin,
        store,
        spots: all_spots,
        base_url: state.settings.public_base_url(),
        error,
        saved,
        languages: languages(),
    })
}

#[derive(Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: bool,
}

pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    let location = managed_location(&state, &who, path.into_inner()).await?;
    store_page(&state, &who, location.id, None, query.saved).await
}

/// After a change to a store or its spots: back to the store's page (its codes forgotten
/// by this instance's form cache), or the page again with the refused field's message.
async fn answer(
    state: &AppState,
    who: &SignedIn,
    store_id: String,
    done: Result<(), SetupError>,
) -> Result<HttpResponse, AppError> {
    match done {
        Ok(()) => {
            forget_codes(state, store_id.clone()).await?;
            Ok(see_other(format!("/manage/stores/{store_id}?saved=true")))
        }
        Err(SetupError::Invalid(e)) => {
            let message = e.message(language(who));
            Ok(unprocessable(
                store_page(state, who, store_id, Some(message), false).await?,
            ))
        }
        Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

/// Forgets the store's codes in this instance's form cache, so a change shows at once.
pub(super) async fn forget_codes(state: &AppState, store_id: String) -> Result<(), AppError> {
    let db = state.db.clone();
    let all = web::block(move || db.read(|c| spot_queries::for_location(c, &store_id))).await??;
    for s in all {
        state.places.forget(&s.code);
        if let Some(old) = &s.previous_code {
            state.places.forget(old);
        }
    }
    Ok(())
}

pub async fn save(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<StoreForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let location = managed_location(&state, &who, path.into_inner()).await?;
    let f = form.into_inner();
    let change = StoreChange {
        name: Some(f.name),
        address: Some(f.address),
        region: Some(f.region),
        time_zone: Some(f.time_zone),
        language: Some(f.language),
        currency: Some(f.currency),
        sla_minutes: Some(f.sla_minutes),
        external_ref: Some(f.external_ref),
    };
    let (db, a, id) = (state.db.clone(), actor(&who), location.id.clone());
    let done = web::block(move || stores::edit(&db, &a, &id, &change).map(drop)).await?;
    answer(&state, &who, location.id, done).await
}

/// `archive` or `restore` (admins only).
pub async fn archive(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let (id, action) = path.into_inner();
    let archived = match action.as_str() {
        "archive" => true,
        "restore" => false,
        _ => return Err(AppError::NotFound),
    };
    let location = managed_location(&state, &who, id).await?;
    if who.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let (db, a, id) = (state.db.clone(), actor(&who), location.id.clone());
    web::block(move || stores::set_archived(&db, &a, &id, archived))
        .await?
        .map_err(|e| AppError::Internal(e.into()))?;
    forget_codes(&state, location.id.clone()).await?;
    Ok(see_other(format!(
        "/manage/stores/{}?saved=true",
        location.id
    )))
}

#[derive(Deserialize)]
pub struct SpotForm {
    csrf: String,
    #[serde(default)]
    label: String,
}

pub async fn add_spot(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<SpotForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let location = managed_location(&state, &who, path.into_inner()).await?;
    let (db, a, id, label) = (
        state.db.clone(),
        actor(&who),
        location.id.clone(),
        form.label.clone(),
    );
    let done = web::block(move || spots::add(&db, &a, &id, &label).map(drop)).await?;
    answer(&state, &who, location.id, done).await
}

/// One action on a spot: rename, retire, restore, replace, retire_old, up, down.
pub async fn spot_action(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<SpotForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let (spot_id, action) = path.into_inner();
    let db = state.db.clone();
    let lookup = spot_id.clone();
    let spot = web::block(move || db.read(|c| spot_queries::find(c, &lookup)))
        .await??
        .ok_or(AppError::NotFound)?;
    let location = managed_location(&state, &who, spot.location_id.clone()).await?;
    let (db, a, label) = (state.db.clone(), actor(&who), form.label.clone());
    let done = web::block(move || -> Result<(), SetupError> {
        match action.as_str() {
            "rename" => spots::rename(&db, &a, &spot_id, &label).map(drop),
            "retire" => spots::set_retired(&db, &a, &spot_id, None, true).map(drop),
            "restore" => spots::set_retired(&db, &a, &spot_id, None, false).map(drop),
            "replace" => spots::replace(&db, &a, &spot.code).map(drop),
            "retire_old" => match &spot.previous_code {
                Some(old) => spots::set_retired(&db, &a, &spot_id, Some(old), true).map(drop),
                None => Ok(()),
            },
            "up" => spots::shift(&db, &a, &spot_id, -1),
            "down" => spots::shift(&db, &a, &spot_id, 1),
            _ => Err(SetupError::NotFound("action")),
        }
    })
    .await?;
    answer(&state, &who, location.id, done).await
}

/// The store list in the import format (admins): a chain round-trips it through a
/// spreadsheet.
pub async fn export_csv(
    state: web::Data<AppState>,
    who: SignedIn,
) -> Result<HttpResponse, AppError> {
    if who.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let db = state.db.clone();
    let bytes =
        web::block(move || db.read(crate::domain::setup::import::export_locations)).await??;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"stores.csv\"",
        ))
        .body(bytes))
}

/// The same list as an Excel workbook, which imports back as it is.
pub async fn export_xlsx(
    state: web::Data<AppState>,
    who: SignedIn,
) -> Result<HttpResponse, AppError> {
    if who.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let db = state.db.clone();
    let bytes =
        web::block(move || db.read(|c| Ok(crate::domain::setup::import::export_locations_xlsx(c))))
            .await??
            .map_err(AppError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"stores.xlsx\"",
        ))
        .body(bytes))
}
