//! Stores, their spots and categories, and people: read with any token (only the token's
//! stores and the people who work there), created, changed and archived with an `admin`
//! token, through the same functions, checks and audit log as the setup pages.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Api;
use super::error::{ApiError, ErrorBody};
use super::{parse_json, read, read_body, write_once, Failure};
use crate::db::models::{Spot, Store};
use crate::db::queries::{spots as spot_queries, stores as store_queries};
use crate::db::states::{Role, TokenScope};
use crate::db::DbConnection;
use crate::domain::account::{self, AccountError, Invitation};
use crate::domain::language::Language;
use crate::domain::setup::people::{self, Person, PersonChange};
use crate::domain::setup::stores::{self, StoreChange, StoreInput};
use crate::domain::setup::{categories, spots, Actor, SetupError};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stores", web::get().to(list_stores))
        .route("/stores", web::post().to(add_store))
        .route("/stores/{id}", web::get().to(show_store))
        .route("/stores/{id}", web::patch().to(edit_store))
        .route("/stores/{id}/archive", web::post().to(archive_store))
        .route("/stores/{id}/restore", web::post().to(restore_store))
        .route("/stores/{id}/spots", web::get().to(list_spots))
        .route("/stores/{id}/spots", web::post().to(add_spot))
        .route("/spots/{id}", web::patch().to(rename_spot))
        .route("/spots/{id}/retire", web::post().to(retire_spot))
        .route("/stores/{id}/categories", web::get().to(list_categories))
        .route("/stores/{id}/categories", web::post().to(add_category))
        .route("/people", web::get().to(list_people))
        .route("/people", web::post().to(invite_person))
        .route("/people/{id}", web::patch().to(edit_person))
        .route("/people/{id}/deactivate", web::post().to(deactivate_person))
        .route("/people/{id}/reactivate", web::post().to(reactivate_person));
}

/// Runs a setup function off the async threads; its refusal becomes the API's error.
async fn setup_call<T: Send + 'static>(
    lang: Language,
    f: impl FnOnce() -> Result<T, SetupError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(f)
        .await
        .map_err(|_| ApiError::unavailable(lang))?
        .map_err(|e| ApiError::setup(lang, e))
}

fn actor(api: &Api) -> Actor {
    Actor::User {
        id: api.caller.user.id.clone(),
        email: api.caller.user.email.clone(),
    }
}

/// An `admin` token, for a change at `store` (or, with none, across the chain: only an
/// admin's token that is not limited to some stores).
fn may_administer(api: &Api, store: Option<&str>) -> Result<(), ApiError> {
    api.require(TokenScope::Admin)?;
    let allowed = match store {
        Some(id) => api.caller.may_see(id),
        None => api.caller.stores.is_none(),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::new(api.lang, StatusCode::FORBIDDEN, "forbidden"))
    }
}

/// A store as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreOut {
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub region: Option<String>,
    /// IANA name, e.g. Asia/Seoul.
    pub time_zone: String,
    /// The language customers see first: en, ko, ja or pl.
    pub language: String,
    /// ISO 4217.
    pub currency: String,
    /// Minutes before an unacknowledged case escalates.
    pub sla_minutes: i32,
    /// The chain's own id for the store.
    #[serde(rename = "ref")]
    pub external_ref: Option<String>,
    pub archived: bool,
}

impl From<Store> for StoreOut {
    fn from(s: Store) -> Self {
        StoreOut {
            id: s.id,
            name: s.name,
            address: s.address,
            region: s.region,
            time_zone: s.time_zone,
            language: s.default_language,
            currency: s.currency,
            sla_minutes: s.sla_minutes,
            external_ref: s.external_ref,
            archived: s.archived_at.is_some(),
        }
    }
}

/// A new store, or a change to one (absent fields stay as they are; an empty text clears
/// an optional one).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreIn {
    pub name: Option<String>,
    pub address: Option<String>,
    pub region: Option<String>,
    pub time_zone: Option<String>,
    pub language: Option<String>,
    /// Default for a new store: the usual currency of its time zone's country.
    pub currency: Option<String>,
    /// Default for a new store: 15.
    pub sla_minutes: Option<i32>,
    #[serde(rename = "ref")]
    pub external_ref: Option<String>,
}

/// List stores
#[utoipa::path(get, path = "/api/v1/stores", tag = "stores",
    responses((status = 200, description = "The token's stores, archived ones too", body = [StoreOut]),
              (status = 401, description = "No valid token", body = ErrorBody)),
    security(("token" = [])))]
pub async fn list_stores(state: web::Data<AppState>, api: Api) -> Result<HttpResponse, ApiError> {
    let caller = api.caller.clone();
    let all = read(&state, api.lang, move |c| Ok(store_queries::all(c)?)).await?;
    let out: Vec<StoreOut> = all
        .into_iter()
        .filter(|s| caller.may_see(&s.id))
        .map(StoreOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

fn visible_store(
    c: &mut DbConnection,
    api_stores: &Option<Vec<String>>,
    lang: Language,
    id: &str,
) -> Result<Store, Failure> {
    let visible = api_stores
        .as_ref()
        .is_none_or(|s| s.iter().any(|v| v == id));
    match store_queries::find(c, id)? {
        Some(s) if visible => Ok(s),
        _ => Err(ApiError::not_found(lang).into()),
    }
}

/// One store
#[utoipa::path(get, path = "/api/v1/stores/{id}", tag = "stores",
    params(("id" = String, Path, description = "The store's id")),
    responses((status = 200, description = "The store", body = StoreOut),
              (status = 404, description = "Not one of the token's stores", body = ErrorBody)),
    security(("token" = [])))]
pub async fn show_store(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (lang, stores) = (api.lang, api.caller.stores.clone());
    let store = read(&state, lang, move |c| {
        visible_store(c, &stores, lang, &path)
    })
    .await?;
    Ok(HttpResponse::Ok().json(StoreOut::from(store)))
}

/// Create a store
///
/// Needs an `admin` token not limited to some stores. With an `Idempotency-Key`, sending
/// the same request again creates one store.
#[utoipa::path(post, path = "/api/v1/stores", tag = "stores", request_body = StoreIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique text, up to 200 characters")),
    responses((status = 201, description = "Created", body = StoreOut),
              (status = 400, description = "Not JSON of this shape", body = ErrorBody),
              (status = 403, description = "Not an admin token for the whole chain", body = ErrorBody),
              (status = 422, description = "A field is not acceptable", body = ErrorBody)),
    security(("token" = [])))]
pub async fn add_store(
    state: web::Data<AppState>,
    api: Api,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    may_administer(&api, None)?;
    let body = read_body(api.lang, payload).await?;
    let input: StoreIn = parse_json(api.lang, &body)?;
    let input = StoreInput {
        name: input.name.unwrap_or_default(),
        address: input.address,
        region: input.region,
        time_zone: input.time_zone.unwrap_or_default(),
        language: input.language.unwrap_or_default(),
        currency: input.currency,
        sla_minutes: input.sla_minutes.map(|m| m.to_string()),
        external_ref: input.external_ref,
    };
    let store = input.parse().map_err(|e| ApiError::field(api.lang, &e))?;
    let actor = actor(&api);
    write_once(&state, &api, &req, &body, StatusCode::CREATED, move |c| {
        stores::insert_checked(c, &actor, &store)?;
        Ok(StoreOut::from(store))
    })
    .await
}

/// Change a store
#[utoipa::path(patch, path = "/api/v1/stores/{id}", tag = "stores", request_body = StoreIn,
    params(("id" = String, Path, description = "The store's id")),
    responses((status = 200, description = "The store as it is now", body = StoreOut),
              (status = 403, description = "Not an admin token for this store", body = ErrorBody),
              (status = 404, description = "Not one of the token's stores", body = ErrorBody),
              (status = 422, description = "A field is not acceptable", body = ErrorBody)),
    security(("token" = [])))]
pub async fn edit_store(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    if !api.caller.may_see(&path) {
        return Err(ApiError::not_found(lang));
    }
    may_administer(&api, Some(&path))?;
    let body = read_body(lang, payload).await?;
    let input: StoreIn = parse_json(lang, &body)?;
    let change = StoreChange {
        name: input.name,
        address: input.address,
        region: input.region,
        time_zone: input.time_zone,
        language: input.language,
        currency: input.currency,
        sla_minutes: input.sla_minutes.map(|m| m.to_string()),
        external_ref: input.external_ref,
    };
    let (db, actor, id) = (state.db.clone(), actor(&api), path.into_inner());
    let store = setup_call(lang, move || stores::edit(&db, &actor, &id, &change)).await?;
    Ok(HttpResponse::Ok().json(StoreOut::from(store)))
}

async fn set_archived(
    state: web::Data<AppState>,
    api: Api,
    id: String,
    archived: bool,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    if !api.caller.may_see(&id) {
        return Err(ApiError::not_found(lang));
    }
    may_administer(&api, Some(&id))?;
    let (db, actor) = (state.db.clone(), actor(&api));
    let store = setup_call(lang, move || {
        stores::set_archived(&db, &actor, &id, archived)
    })
    .await?;
    Ok(HttpResponse::Ok().json(StoreOut::from(store)))
}

/// Archive a store
///
/// Its stickers stop taking complaints; its history stays. Doing it twice changes nothing.
#[utoipa::path(post, path = "/api/v1/stores/{id}/archive", tag = "stores",
    params(("id" = String, Path, description = "The store's id")),
    responses((status = 200, description = "The store as it is now", body = StoreOut),
              (status = 403, description = "Not an admin token for this store", body = ErrorBody),
              (status = 404, description = "Not one of the token's stores", body = ErrorBody)),
    security(("token" = [])))]
pub async fn archive_store(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_archived(state, api, path.into_inner(), true).await
}

/// Restore an archived store
#[utoipa::path(post, path = "/api/v1/stores/{id}/restore", tag = "stores",
    params(("id" = String, Path, description = "The store's id")),
    responses((status = 200, description = "The store as it is now", body = StoreOut),
              (status = 403, description = "Not an admin token for this store", body = ErrorBody),
              (status = 404, description = "Not one of the token's stores", body = ErrorBody)),
    security(("token" = [])))]
pub async fn restore_store(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_archived(state, api, path.into_inner(), false).await
}

/// A spot (where a sticker hangs) as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpotOut {
    pub id: String,
    pub store_id: String,
    pub label: String,
    /// The sticker's code: the form is at `{base}/t/{code}`.
    pub code: String,
    pub form_url: String,
    #[serde(rename = "ref")]
    pub external_ref: Option<String>,
    pub retired: bool,
}

fn spot_out(base: &str, s: Spot) -> SpotOut {
    SpotOut {
        form_url: format!("{base}/t/{}", s.code),
        id: s.id,
        store_id: s.location_id,
        label: s.label,
        code: s.code,
        external_ref: s.external_ref,
        retired: s.retired_at.is_some(),
    }
}

/// A new spot, or a new label for one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpotIn {
    pub label: String,
    #[serde(rename = "ref")]
    pub external_ref: Option<String>,
}

/// List a store's spots
#[utoipa::path(get, path = "/api/v1/stores/{id}/spots", tag = "stores",
    params(("id" = String, Path, description = "The store's id")),
    responses((status = 200, description = "Its spots, retired ones too, in sticker order", body = [SpotOut]),
              (status = 404, description = "Not one of the token's stores", body = ErrorBody)),
    security(("token" = [])))]
pub async fn list_spots(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (lang, stores, base) = (api.lang, api.caller.stores.clone(), state.base_url.clone());
    let out = read(&state, lang, move |c| {
        let store = visible_store(c, &stores, lang, &path)?;
        Ok(spot_queries::for_location(c, &store.id)?
            .into_iter()
            .map(|s| spot_out(&base, s))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Add a spot
///
/// A spot of the same label that was retired comes back instead. With an
/// `Idempotency-Key`, sending the same request again adds one spot.
#[utoipa::path(post, path = "/api/v1/stores/{id}/spots", tag = "stores", request_body = SpotIn,
    params(("id" = String, Path, description = "The store's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Any unique text, up to 200 characters")),
    responses((status = 201, description = "Created", body = SpotOut),
              (status = 403, description = "Not an admin token for this store", body = ErrorBody),
              (status = 404, description = "Not one of the token's stores", body = ErrorBody),
              (status = 422, description = "A field is not acceptable", body = ErrorBody)),
    security(("token" = [])))]
pub async fn add_spot(
    state: web::Data<AppState>,
    api: Api,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    if !api.caller.may_see(&path) {
        return Err(ApiError::not_found(lang));
    }
    may_administer(&api, Some(&path))?;
    let body = read_body(lang, payload).await?;
    let input: SpotIn = parse_json(lang, &body)?;
    let (actor, stores, base, id) = (
        actor(&api),
        api.caller.stores.clone(),
        state.base_url.clone(),
        path.into_inner(),
    );
    write_once(&state, &api, &req, &body, StatusCode::CREATED, move |c| {
        let store = visible_store(c, &stores, lang, &id)?;
        let spot = spots::insert_checked(
            c,
            &actor,
            &store,
            &input.label,
            input.external_ref.as_deref(),
        )?;
        Ok(spot_out(&base, spot))
    })
    .await
}

/// The store of a spot, if the caller may administer it.
async fn spot_for_admin(state: &AppState, api: &Api, id: &str) -> Result<Spot, ApiError> {
    let (lang, stores, id) = (api.lang, api.caller.stores.clone(), id.to_owned());
    let spot = read(state, lang, move |c| {
        let spot = spot_queries::find(c, &id)?.ok_or_else(|| ApiError::not_found(lang))?;
        visible_store(c, &stores, lang, &spot.location_id)?;
        Ok(spot)
    })
    .await?;
    may_administer(api, Some(&spot.location_id))?;
    Ok(spot)
}

/// Rename a spot
#[utoipa::path(patch, path = "/api/v1/spots/{id}", tag = "stores", request_body = SpotIn,
    params(("id" = String, Path, description = "The spot's id")),
    responses((status = 200, description = "The spot as it is now", body = SpotOut),
              (status = 403, description = "Not an admin token for its store", body = ErrorBody),
              (status = 404, description = "Not at one of the token's stores", body = ErrorBody),
              (status = 422, description = "A field is not acceptable", body = ErrorBody)),
    security(("token" = [])))]
pub async fn rename_spot(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let spot = spot_for_admin(&state, &api, &path).await?;
    let body = read_body(lang, payload).await?;
    let input: SpotIn = parse_json(lang, &body)?;
    let (db, actor) = (state.db.clone(), actor(&api));
    let spot = setup_call(lang, move || {
        spots::rename(&db, &actor, &spot.id, &input.label)
    })
    .await?;
    Ok(HttpResponse::Ok().json(spot_out(&state.base_url, spot)))
}

/// Retire a spot
///
/// Its sticker stops taking complaints. Doing it twice changes nothing.
#[utoipa::path(post, path = "/api/v1/spots/{id}/retire", tag = "stores",
    params(("id" = String, Path, description = "The spot's id")),
    responses((status = 200, description = "The spot as it is now", body = SpotOut),
              (status = 403, description = "Not an admin token for its store", body = ErrorBody),
              (status = 404, description = "Not at one of the token's stores", body = ErrorBody)),
    security(("token" = [])))]
pub async fn retire_spot(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let spot = spot_for_admin(&state, &api, &path).await?;
    let (db, actor) = (state.db.clone(), actor(&api));
    let spot = setup_call(lang, move || {
        spots::set_retired(&db, &actor, &spot.id, None, true)
    })
    .await?;
    Ok(HttpResponse::Ok().json(spot_out(&state.base_url, spot)))
}

/// A complaint category of a store.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    /// Stable key: what cases and filters carry.
    pub key: String,
    /// In the language of the request.
    pub label: String,
    /// Language code to label.
    #[schema(value_type = Object)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Cases of this category alert the store's managers at once.
    pub severe: bool,
    pub retired: bool,
}

/// A new category: a label in at least the store's language.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryIn {
    /// Language code (en, ko, ja, pl) to label.
    #[schema(value_type = Object)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub severe: bool,
}

fn category_out(lang: Language, store: &Store, k: categories::Category) -> CategoryOut {
    CategoryOut {
        label: k.label(lang, &store.default_language),
        key: k.key,
        labels: k.labels,
        severe: k.severe,
        retired: k.retired,
    }
}

/// List a store's categories
#[utoipa::path(get, path = "/api/v1/stores/{id}/categories", tag = "stores",
    params(("id" = String, Path, description = "The store's id")),
    responses((status = 200, description = "Its categories, retired ones too, in form order", body = [CategoryOut]),
              (status = 404, description = "Not one of the token's stores", body = ErrorBody)),
    security(("token" = [])))]
pub async fn list_categories(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (lang, stores) = (api.lang, api.caller.stores.clone());
    let out = read(&state, lang, move |c| {
        let store = visible_store(c, &stores, lang, &path)?;
        Ok(categories::of_store(c, &store.id)?
            .into_iter()
            .map(|k| category_out(lang, &store, k))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Add a category
#[utoipa::path(post, path = "/api/v1/stores/{id}/categories", tag = "stores", request_body = CategoryIn,
    params(("id" = String, Path, description = "The store's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Any unique text, up to 200 characters")),
    responses((status = 201, description = "Created", body = CategoryOut),
              (status = 403, description = "Not an admin token for this store", body = ErrorBody),
              (status = 404, description = "Not one of the token's stores", body = ErrorBody),
              (status = 422, description = "A label is missing or not acceptable", body = ErrorBody)),
    security(("token" = [])))]
pub async fn add_category(
    state: web::Data<AppState>,
    api: Api,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    if !api.caller.may_see(&path) {
        return Err(ApiError::not_found(lang));
    }
    may_administer(&api, Some(&path))?;
    let body = read_body(lang, payload).await?;
    let input: CategoryIn = parse_json(lang, &body)?;
    let mut labels = Vec::new();
    for (code, label) in &input.labels {
        let l = Language::parse(code).ok_or_else(|| {
            ApiError::field(
                lang,
                &crate::domain::setup::FieldError::new(
                    "language",
                    crate::domain::setup::Problem::UnknownLanguage,
                    code,
                ),
            )
        })?;
        labels.push((l, label.clone()));
    }
    let (actor, stores, id) = (actor(&api), api.caller.stores.clone(), path.into_inner());
    write_once(&state, &api, &req, &body, StatusCode::CREATED, move |c| {
        let store = visible_store(c, &stores, lang, &id)?;
        let made = categories::add_in(c, &actor, &store.id, &labels, input.severe)?;
        Ok(category_out(lang, &store, made))
    })
    .await
}

/// A person as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonOut {
    pub id: String,
    pub email: String,
    /// staff, manager or admin.
    pub role: String,
    pub language: String,
    /// Store ids.
    pub stores: Vec<String>,
    pub active: bool,
}

impl From<Person> for PersonOut {
    fn from(p: Person) -> Self {
        PersonOut {
            id: p.id,
            email: p.email,
            role: p.role.as_str().to_owned(),
            language: p.language,
            stores: p.store_ids,
            active: p.active,
        }
    }
}

/// List people
#[utoipa::path(get, path = "/api/v1/people", tag = "people",
    responses((status = 200, description = "Everyone who works at the token's stores (admins too, for an unlimited admin token)", body = [PersonOut])),
    security(("token" = [])))]
pub async fn list_people(state: web::Data<AppState>, api: Api) -> Result<HttpResponse, ApiError> {
    let stores = api.caller.stores.clone();
    let all = read(&state, api.lang, move |c| {
        Ok(people::list(c, stores.as_deref())?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(all.into_iter().map(PersonOut::from).collect::<Vec<_>>()))
}

/// A new person (invited by email to set their password), or a change to one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonIn {
    /// Only when inviting.
    pub email: Option<String>,
    /// staff, manager or admin.
    pub role: Option<String>,
    /// Store ids, names or references.
    pub stores: Option<Vec<String>>,
    /// en, ko, ja or pl.
    pub language: Option<String>,
}

fn account_error(lang: Language, e: AccountError) -> ApiError {
    match e {
        AccountError::Invalid(r) => {
            let field = match r.key {
                "account_error.choose_role" => "role",
                "account_error.choose_language" => "language",
                "account_error.needs_location" | "account_error.no_location" => "stores",
                _ => "email",
            };
            let mut e = ApiError::new(lang, StatusCode::UNPROCESSABLE_ENTITY, "invalid").on(field);
            if r.key == "account_error.taken" {
                e.status = StatusCode::CONFLICT;
                e.body.code = "conflict".into();
            }
            e.body.message = r.text(lang);
            e
        }
        AccountError::Db(e) => ApiError::from_db(lang, &e),
        AccountError::Password(_) => ApiError::unavailable(lang),
    }
}

/// Invite a person
///
/// Creates the account and emails them a link to set their password, in their language.
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = PersonIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique text, up to 200 characters")),
    responses((status = 201, description = "Invited", body = PersonOut),
              (status = 403, description = "Not an admin token (or a store outside it)", body = ErrorBody),
              (status = 409, description = "Someone has this email already", body = ErrorBody),
              (status = 422, description = "A field is not acceptable", body = ErrorBody)),
    security(("token" = [])))]
pub async fn invite_person(
    state: web::Data<AppState>,
    api: Api,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    api.require(TokenScope::Admin)?;
    let body = read_body(lang, payload).await?;
    let input: PersonIn = parse_json(lang, &body)?;
    let keys = input.stores.clone().unwrap_or_default();
    let resolved = read(&state, lang, move |c| {
        people::resolve_stores(c, &keys).map_err(Failure::Setup)
    })
    .await?;
    let role = input.role.clone().unwrap_or_default();
    // An admin account reaches every store: only a token for the whole chain makes one.
    if role.trim() == Role::Admin.as_str() {
        may_administer(&api, None)?;
    }
    for id in &resolved {
        may_administer(&api, Some(id))?;
    }
    let invitation = Invitation {
        email: input.email.clone().unwrap_or_default(),
        role,
        location_ids: resolved,
        language: input.language.clone().unwrap_or_else(|| "en".into()),
    };
    let checked = web::block(move || account::check_invitation(&invitation))
        .await
        .map_err(|_| ApiError::unavailable(lang))?
        .map_err(|e| account_error(lang, e))?;
    let now = state.clock.now();
    write_once(&state, &api, &req, &body, StatusCode::CREATED, move |c| {
        let user = account::invite_in(c, &checked, now)
            .map_err(|e| Failure::Api(account_error(lang, e)))?;
        Ok(PersonOut::from(people::find(c, &user.email)?))
    })
    .await
}

/// The person with this id, if the caller may see them.
async fn visible_person(state: &AppState, api: &Api, id: &str) -> Result<Person, ApiError> {
    let (lang, stores, id) = (api.lang, api.caller.stores.clone(), id.to_owned());
    read(state, lang, move |c| {
        let found = people::list(c, stores.as_deref())?
            .into_iter()
            .find(|p| p.id == id);
        found.ok_or_else(|| ApiError::not_found(lang).into())
    })
    .await
}

/// Change a person
///
/// Their role, stores or language; absent fields stay as they are. A token limited to some
/// stores may only make staff of those stores.
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "people", request_body = PersonIn,
    params(("id" = String, Path, description = "The person's id")),
    responses((status = 200, description = "The person as they are now", body = PersonOut),
              (status = 403, description = "Not an admin token", body = ErrorBody),
              (status = 404, description = "Nobody of the token's stores has this id", body = ErrorBody),
              (status = 422, description = "A field is not acceptable", body = ErrorBody)),
    security(("token" = [])))]
pub async fn edit_person(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let person = visible_person(&state, &api, &path).await?;
    api.require(TokenScope::Admin)?;
    let body = read_body(lang, payload).await?;
    let input: PersonIn = parse_json(lang, &body)?;
    if input.email.is_some() {
        return Err(ApiError::bad_request(lang, Some("email")));
    }
    let change = PersonChange {
        role: input.role,
        stores: input.stores,
        language: input.language,
    };
    let (db, actor, scope) = (state.db.clone(), actor(&api), api.caller.stores.clone());
    let after = setup_call(lang, move || {
        db.write(|c| people::apply_change(c, &actor, &person.email, &change, scope.as_deref()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(PersonOut::from(after)))
}

async fn set_active(
    state: web::Data<AppState>,
    api: Api,
    id: String,
    active: bool,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let person = visible_person(&state, &api, &id).await?;
    api.require(TokenScope::Admin)?;
    if person.role == Role::Admin {
        may_administer(&api, None)?;
    }
    let (db, actor, now) = (state.db.clone(), actor(&api), state.clock.now());
    let after = setup_call(lang, move || {
        if active {
            people::reactivate(&db, &actor, &person.email)
        } else {
            people::deactivate(&db, &actor, &person.email, now).map(|d| d.person)
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(PersonOut::from(after)))
}

/// Deactivate a person
///
/// They are locked out at once: sessions and API tokens stop, their open cases go back to
/// their store's queue. Doing it twice changes nothing.
#[utoipa::path(post, path = "/api/v1/people/{id}/deactivate", tag = "people",
    params(("id" = String, Path, description = "The person's id")),
    responses((status = 200, description = "The person as they are now", body = PersonOut),
              (status = 403, description = "Not an admin token", body = ErrorBody),
              (status = 404, description = "Nobody of the token's stores has this id", body = ErrorBody),
              (status = 422, description = "A token cannot deactivate its own person", body = ErrorBody)),
    security(("token" = [])))]
pub async fn deactivate_person(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_active(state, api, path.into_inner(), false).await
}

/// Reactivate a person
#[utoipa::path(post, path = "/api/v1/people/{id}/reactivate", tag = "people",
    params(("id" = String, Path, description = "The person's id")),
    responses((status = 200, description = "The person as they are now", body = PersonOut),
              (status = 403, description = "Not an admin token", body = ErrorBody),
              (status = 404, description = "Nobody of the token's stores has this id", body = ErrorBody)),
    security(("token" = [])))]
pub async fn reactivate_person(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_active(state, api, path.into_inner(), true).await
}
