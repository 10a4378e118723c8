//! `/manage/users`: the accounts, and inviting someone (admins only). The invitation is an
//! email with a link to choose a password; until then nobody can sign in to the account.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::locations;
use crate::domain::accounts::{invite as invite_user, AccountError, Invitation};
use crate::domain::language::Language;
use crate::domain::role::Role;
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/users.html")]
struct UsersPage {
    lang: &'static str,
    csrf: String,
    /// (email, role, language, locations, active)
    people: Vec<(String, String, String, String, bool)>,
    locations: Vec<(String, String)>,
    languages: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    typed_email: String,
}

fn admins_only(who: &SignedIn) -> Result<(), AppError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn page(
    state: &AppState,
    who: &SignedIn,
    error: Option<String>,
    typed_email: String,
) -> Result<UsersPage, AppError> {
    let db = state.db.clone();
    let (everyone, places) = web::block(move || {
        db.read(|c| {
            let everyone = crate::domain::setup::people::list(c, None)?
                .into_iter()
                .map(|p| (p.email, p.role, p.language, p.stores.join(", "), p.active))
                .collect::<Vec<_>>();
            Ok((everyone, locations::all(c)?))
        })
    })
    .await??;
    Ok(UsersPage {
        lang: "en",
        csrf: csrf_token(&who.session)?,
        people: everyone,
        locations: places.into_iter().map(|l| (l.id, l.name)).collect(),
        languages: Language::ALL
            .iter()
            .map(|l| (l.code(), l.native_name()))
            .collect(),
        error,
        typed_email,
    })
}

pub async fn list(state: web::Data<AppState>, who: SignedIn) -> Result<HttpResponse, AppError> {
    admins_only(&who)?;
    render::html(&page(&state, &who, None, String::new()).await?)
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf: String,
    email: String,
    role: String,
    language: String,
    /// Location ids, one field per ticked box.
    #[serde(default)]
    location: Vec<String>,
}

pub async fn invite(
    state: web::Data<AppState>,
    who: SignedIn,
    body: String,
) -> Result<HttpResponse, AppError> {
    admins_only(&who)?;
    // Several boxes share one name, which serde_urlencoded's struct form cannot gather.
    let mut form = InviteForm {
        csrf: String::new(),
        email: String::new(),
        role: String::new(),
        language: String::new(),
        location: Vec::new(),
    };
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        match name.as_ref() {
            "csrf" => form.csrf = value.into_owned(),
            "email" => form.email = value.into_owned(),
            "role" => form.role = value.into_owned(),
            "language" => form.language = value.into_owned(),
            "location" => form.location.push(value.into_owned()),
            _ => {}
        }
    }
    verify_csrf(&who.session, &form.csrf)?;
    let invitation = Invitation {
        email: form.email.clone(),
        role: form.role,
        location_ids: form.location,
        language: form.language,
    };
    let (db, now) = (state.db.clone(), state.clock.now());
    match web::block(move || invite_user(&db, &invitation, now)).await? {
        Ok(_) => {
            state.outbox_waker.wake();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/manage/users"))
                .finish())
        }
        Err(AccountError::Invalid(message)) => {
            let mut response = render::html(&page(&state, &who, Some(message), form.email).await?)?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

#[derive(Deserialize)]
pub struct PersonForm {
    csrf: String,
    email: String,
}

/// Deactivates someone (admins): locked out at once, everywhere (see
/// `domain::setup::people::deactivate`).
pub async fn deactivate(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<PersonForm>,
) -> Result<HttpResponse, AppError> {
    set_active(state, who, form, false).await
}

pub async fn reactivate(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<PersonForm>,
) -> Result<HttpResponse, AppError> {
    set_active(state, who, form, true).await
}

async fn set_active(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<PersonForm>,
    active: bool,
) -> Result<HttpResponse, AppError> {
    use crate::domain::setup::{people, Actor, SetupError};
    verify_csrf(&who.session, &form.csrf)?;
    admins_only(&who)?;
    let actor = Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    };
    let (db, now, email) = (state.db.clone(), state.clock.now(), form.email.clone());
    let result = web::block(move || {
        if active {
            people::reactivate(&db, &actor, &email).map(drop)
        } else {
            people::deactivate(&db, &actor, &email, now).map(drop)
        }
    })
    .await?;
    match result {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/manage/users"))
            .finish()),
        Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
        Err(SetupError::Invalid(e)) => {
            let message = e.message(Language::or_default(&who.user.language));
            let mut r = render::html(&page(&state, &who, Some(message), String::new()).await?)?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}
