//! `/manage/stores/{id}/categories`: the complaint categories a store's form offers, with a
//! label per language, for the store's managers and admins.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::domain::language::Language;
use crate::domain::setup::categories::{self, Category, CategoryChange};
use crate::domain::setup::{Actor, SetupError};
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

use super::managed_location;

#[derive(Template)]
#[template(path = "manage/categories.html")]
struct CategoriesPage {
    l: Language,
    csrf: String,
    store_id: String,
    store_name: String,
    store_language: String,
    categories: Vec<Category>,
    languages: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    saved: bool,
}

async fn page(
    state: &web::Data<AppState>,
    who: &SignedIn,
    store_id: String,
    error: Option<String>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let location = managed_location(state, who, store_id).await?;
    let (db, id) = (state.db.clone(), location.id.clone());
    let all = web::block(move || db.read(|c| categories::of_store(c, &id))).await??;
    let l = Language::or_default(&who.user.language);
    let mut r = render::html(&CategoriesPage {
        l,
        csrf: csrf_token(&who.session)?,
        store_id: location.id,
        store_name: location.name,
        store_language: location.default_language,
        categories: all,
        languages: Language::choices(),
        saved,
        error: error.clone(),
    })?;
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

#[derive(serde::Deserialize)]
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
    page(&state, &who, path.into_inner(), None, query.saved).await
}

/// The form's fields: `csrf`, `label_en`, `label_ko`, `label_ja`, `label_pl`, `severe`.
struct CategoryForm {
    csrf: String,
    labels: Vec<(Language, String)>,
    severe: bool,
}

fn read_form(body: &str) -> CategoryForm {
    let mut form = CategoryForm {
        csrf: String::new(),
        labels: Vec::new(),
        severe: false,
    };
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        match name.as_ref() {
            "csrf" => form.csrf = value.into_owned(),
            "severe" => form.severe = true,
            other => {
                if let Some(lang) = other.strip_prefix("label_").and_then(Language::parse) {
                    form.labels.push((lang, value.into_owned()));
                }
            }
        }
    }
    form
}

fn actor(who: &SignedIn) -> Actor {
    Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    }
}

async fn answer(
    state: &web::Data<AppState>,
    who: &SignedIn,
    store_id: String,
    done: Result<(), SetupError>,
) -> Result<HttpResponse, AppError> {
    match done {
        Ok(()) => {
            // The form shows the change at once on this instance (others within seconds).
            super::stores::forget_codes(state, store_id.clone()).await?;
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/manage/stores/{store_id}/categories?saved=true"),
                ))
                .finish())
        }
        Err(SetupError::Invalid(e)) => {
            let message = e.message(Language::or_default(&who.user.language));
            page(state, who, store_id, Some(message), false).await
        }
        Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

/// `POST /manage/stores/{id}/categories`: a new category.
pub async fn add(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    body: String,
) -> Result<HttpResponse, AppError> {
    let form = read_form(&body);
    verify_csrf(&who.session, &form.csrf)?;
    let location = managed_location(&state, &who, path.into_inner()).await?;
    let (db, a, id) = (state.db.clone(), actor(&who), location.id.clone());
    let done =
        web::block(move || categories::add(&db, &a, &id, &form.labels, form.severe).map(drop))
            .await?;
    answer(&state, &who, location.id, done).await
}

/// `POST /manage/stores/{id}/categories/{key}/{action}`: save, retire, restore, up, down.
pub async fn act(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String, String)>,
    body: String,
) -> Result<HttpResponse, AppError> {
    let form = read_form(&body);
    verify_csrf(&who.session, &form.csrf)?;
    let (store_id, key, action) = path.into_inner();
    let location = managed_location(&state, &who, store_id).await?;
    let what = match action.as_str() {
        "save" => CategoryChange::Relabel {
            labels: form.labels,
            severe: form.severe,
        },
        "retire" => CategoryChange::Retire,
        "restore" => CategoryChange::Restore,
        "up" => CategoryChange::Shift(-1),
        "down" => CategoryChange::Shift(1),
        _ => return Err(AppError::NotFound),
    };
    let (db, a, id) = (state.db.clone(), actor(&who), location.id.clone());
    let done = web::block(move || categories::change(&db, &a, &id, &key, &what)).await?;
    answer(&state, &who, location.id, done).await
}
