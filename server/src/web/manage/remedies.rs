//! `/manage/locations/{id}/remedies`: what staff (and managers) of a store may grant on
//! their own, and the store's reply texts per language. Managers set staff's limit;
//! only admins set managers' own.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::models::Location;
use crate::db::queries::stores;
use crate::db::states::Role;
use crate::db::DbError;
use crate::domain::case::workflow::COMPENSATION_TYPES;
use crate::domain::language::{formats, Language, Refusal};
use crate::domain::recovery::{limits, replies};
use crate::domain::setup::Actor;
use crate::web::manage::managed_location;
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/remedies.html")]
struct RemediesPage {
    l: Language,
    csrf: String,
    id: String,
    name: String,
    currency: String,
    error: Option<String>,
    saved: bool,
    roles: Vec<RoleLimit>,
    /// (field name, label, text) per kind and language.
    replies: Vec<(String, String, String)>,
}

struct RoleLimit {
    role: &'static str,
    title: String,
    editable: bool,
    /// (kind, label, ticked)
    kinds: Vec<(&'static str, String, bool)>,
    amount: String,
    /// "No limit" for a role without one.
    summary: String,
    /// It has a limit that can be removed.
    limited: bool,
}

fn actor(who: &SignedIn) -> Actor {
    Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    }
}

fn may_edit(who: &SignedIn, role: Role) -> bool {
    match role {
        Role::Staff => matches!(who.role, Role::Manager | Role::Admin),
        Role::Manager => who.role == Role::Admin,
        Role::Admin => false,
    }
}

async fn page(
    state: &AppState,
    who: &SignedIn,
    location: Location,
    error: Option<String>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let lang = who.language();
    let (db, id) = (state.db.clone(), location.id.clone());
    let (currency, current, texts) = web::block(move || {
        db.read(|c| {
            let currency = stores::find(c, &id)?
                .map(|s| s.currency)
                .unwrap_or_else(|| "EUR".into());
            let mut current = Vec::new();
            for role in limits::LIMITED_ROLES {
                current.push((*role, limits::limit_for(c, &id, *role)?));
            }
            let mut texts = Vec::new();
            for kind in replies::KINDS {
                for l in Language::all() {
                    texts.push((*kind, l, replies::text(c, &id, kind, l)?));
                }
            }
            Ok::<_, diesel::result::Error>((currency, current, texts))
        })
    })
    .await??;
    let roles = current
        .into_iter()
        .map(|(role, limit)| {
            let amount = limit
                .as_ref()
                .map(|l| crate::domain::recovery::approval::typed_amount(l.max_minor, &currency));
            RoleLimit {
                role: role.as_str(),
                title: lang.text(match role {
                    Role::Manager => "remedies.role_manager",
                    Role::Staff | Role::Admin => "remedies.role_staff",
                }),
                editable: may_edit(who, role),
                kinds: COMPENSATION_TYPES
                    .iter()
                    .map(|k| {
                        let ticked = limit
                            .as_ref()
                            .is_none_or(|l| l.kinds.iter().any(|x| x == k));
                        (*k, lang.compensation_label(k), ticked)
                    })
                    .collect(),
                amount: amount.unwrap_or_default(),
                limited: limit.is_some(),
                summary: match &limit {
                    None => lang.text("remedies.no_limit"),
                    Some(l) => lang.text_with(
                        "remedies.summary",
                        &[("amount", &formats::money(lang, l.max_minor, &currency))],
                    ),
                },
            }
        })
        .collect();
    let replies = texts
        .into_iter()
        .map(|(kind, l, text)| {
            (
                format!("reply_{kind}_{}", l.code()),
                format!("{} · {}", replies::label(lang, kind), l.native_name()),
                text,
            )
        })
        .collect();
    let mut response = render::html(&RemediesPage {
        l: lang,
        csrf: csrf_token(&who.session)?,
        id: location.id,
        name: location.name,
        currency,
        saved,
        roles,
        replies,
        error: error.clone(),
    })?;
    if error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    let location = managed_location(&state, &who, path.into_inner()).await?;
    page(&state, &who, location, None, query.saved.is_some()).await
}

fn value<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn saved(id: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/manage/locations/{id}/remedies?saved=1"),
        ))
        .finish()
}

/// `POST /manage/locations/{id}/remedies/limit`: one role's limit (`role`, ticked `kind`s,
/// `amount` in the store's currency), or none again (`action=remove`).
pub async fn save_limit(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, value(&form, "csrf"))?;
    let location = managed_location(&state, &who, path.into_inner()).await?;
    let role = Role::parse(value(&form, "role"))
        .filter(|r| limits::LIMITED_ROLES.contains(r))
        .ok_or(AppError::Refused("error_page.bad_form"))?;
    if !may_edit(&who, role) {
        return Err(AppError::Forbidden);
    }
    if value(&form, "action") == "remove" {
        let (db, id, actor) = (state.db.clone(), location.id.clone(), actor(&who));
        web::block(move || {
            db.write(|c| -> Result<bool, DbError> { Ok(limits::remove(c, &actor, &id, role)?) })
        })
        .await??;
        return Ok(saved(&location.id));
    }
    let kinds: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "kind")
        .map(|(_, v)| v.clone())
        .collect();
    let (db, id, amount, actor, now) = (
        state.db.clone(),
        location.id.clone(),
        value(&form, "amount").to_owned(),
        actor(&who),
        state.clock.now(),
    );
    let done = web::block(move || {
        db.write(|c| -> Result<Result<(), Refusal>, DbError> {
            let currency = stores::find(c, &id)?
                .map(|s| s.currency)
                .unwrap_or_else(|| "EUR".into());
            let limit = match limits::parse(&kinds, &amount, &currency) {
                Ok(l) => l,
                Err(r) => return Ok(Err(r)),
            };
            limits::set(c, &actor, &id, role, &limit, now)?;
            Ok(Ok(()))
        })
    })
    .await??;
    match done {
        Ok(()) => Ok(saved(&location.id)),
        Err(refusal) => {
            let message = refusal.text(who.language());
            page(&state, &who, location, Some(message), false).await
        }
    }
}

/// `POST /manage/locations/{id}/remedies/replies`: every reply text in every language.
pub async fn save_replies(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, value(&form, "csrf"))?;
    let location = managed_location(&state, &who, path.into_inner()).await?;
    let mut typed = Vec::new();
    for kind in replies::KINDS {
        for l in Language::all() {
            let name = format!("reply_{kind}_{}", l.code());
            typed.push((*kind, l, value(&form, &name).to_owned()));
        }
    }
    let (db, id, actor) = (state.db.clone(), location.id.clone(), actor(&who));
    let done = web::block(move || {
        db.write(|c| match replies::save(c, &actor, &id, &typed) {
            Ok(()) => Ok(Ok(())),
            Err(replies::SaveError::Invalid(r)) => Ok(Err(r)),
            Err(replies::SaveError::Db(e)) => Err(DbError::Query(e)),
        })
    })
    .await??;
    match done {
        Ok(()) => Ok(saved(&location.id)),
        Err(refusal) => {
            let message = refusal.text(who.language());
            page(&state, &who, location, Some(message), false).await
        }
    }
}
