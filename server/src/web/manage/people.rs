//! `/manage/users`: the accounts, and inviting someone (admins only). The invitation is an
//! email with a link to choose a password; until then nobody can sign in to the account.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::{locations, users};
use crate::db::states::Role;
use crate::domain::account::access::may_manage_person;
use crate::domain::account::{invite as invite_user, AccountError, Invitation};
use crate::domain::language::Language;
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/users.html")]
struct UsersPage {
    l: Language,
    is_admin: bool,
    csrf: String,
    /// (email, role, language, locations, active)
    people: Vec<(String, String, String, String, bool)>,
    locations: Vec<(String, String)>,
    languages: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    typed_email: String,
}

/// Admins and managers; managers see and manage only staff of their own stores.
fn admins_and_managers(who: &SignedIn) -> Result<(), AppError> {
    if who.role == Role::Staff {
        Err(AppError::Forbidden)
    } else {
        Ok(())
    }
}

/// The stores a manager's people page is limited to (None for admins).
async fn scope(state: &AppState, who: &SignedIn) -> Result<Option<Vec<String>>, AppError> {
    if who.role == Role::Admin {
        return Ok(None);
    }
    let (db, uid) = (state.db.clone(), who.user.id.clone());
    Ok(Some(
        web::block(move || db.read(|c| users::location_ids(c, &uid))).await??,
    ))
}

async fn page(
    state: &AppState,
    who: &SignedIn,
    error: Option<String>,
    typed_email: String,
) -> Result<UsersPage, AppError> {
    let db = state.db.clone();
    let mine = scope(state, who).await?;
    let lang = who.language();
    let (everyone, places) = web::block(move || {
        db.read(|c| {
            let everyone = crate::domain::setup::people::list(c, mine.as_deref())?
                .into_iter()
                .filter(|p| {
                    mine.as_ref()
                        .is_none_or(|m| may_manage_person(Role::Manager, m, p.role, &p.store_ids))
                })
                .map(|p| {
                    let role = lang.text(&format!("role.{}", p.role));
                    let language = Language::or_default(&p.language).native_name().to_owned();
                    (p.email, role, language, p.stores.join(", "), p.active)
                })
                .collect::<Vec<_>>();
            let places = locations::all(c)?
                .into_iter()
                .filter(|l| mine.as_ref().is_none_or(|m| m.contains(&l.id)))
                .collect::<Vec<_>>();
            Ok((everyone, places))
        })
    })
    .await??;
    Ok(UsersPage {
        l: lang,
        is_admin: who.role == Role::Admin,
        csrf: csrf_token(&who.session)?,
        people: everyone,
        locations: places.into_iter().map(|l| (l.id, l.name)).collect(),
        languages: Language::choices(),
        error,
        typed_email,
    })
}

pub async fn list(state: web::Data<AppState>, who: SignedIn) -> Result<HttpResponse, AppError> {
    admins_and_managers(&who)?;
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
    admins_and_managers(&who)?;
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
    if let Some(mine) = scope(&state, &who).await? {
        let own = form.role == Role::Staff.as_str()
            && !form.location.is_empty()
            && form.location.iter().all(|l| mine.contains(l));
        if !own {
            return Err(AppError::Forbidden);
        }
    }
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
        Err(AccountError::Invalid(refusal)) => {
            let message = refusal.text(who.language());
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
    managed_person(&state, &who, &form.email).await?;
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

/// The person, if they exist and the signed-in user may manage them: a manager gets 404 for
/// someone who shares none of their stores (as for nobody), 403 for an admin or manager of
/// their own stores (the wrong role).
async fn managed_person(
    state: &AppState,
    who: &SignedIn,
    email: &str,
) -> Result<crate::domain::setup::people::Person, AppError> {
    use crate::domain::setup::{people, SetupError};
    admins_and_managers(who)?;
    let mine = scope(state, who).await?;
    let (db, email) = (state.db.clone(), email.to_owned());
    let person = web::block(move || db.read(|c| Ok(people::find(c, &email)))).await??;
    let person = match person {
        Ok(p) => p,
        Err(SetupError::NotFound(_) | SetupError::Invalid(_)) => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    if let Some(mine) = mine {
        if !person.store_ids.iter().any(|s| mine.contains(s)) {
            return Err(AppError::NotFound);
        }
        if !may_manage_person(who.role, &mine, person.role, &person.store_ids) {
            return Err(AppError::Forbidden);
        }
    }
    Ok(person)
}

#[derive(Template)]
#[template(path = "manage/person.html")]
struct PersonPage {
    l: Language,
    csrf: String,
    is_admin: bool,
    person: crate::domain::setup::people::Person,
    /// (id, name, theirs)
    stores: Vec<(String, String, bool)>,
    languages: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    saved: bool,
}

#[derive(Deserialize)]
pub struct PersonQuery {
    email: String,
    #[serde(default)]
    saved: bool,
}

async fn person_page(
    state: &AppState,
    who: &SignedIn,
    email: &str,
    error: Option<String>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let person = managed_person(state, who, email).await?;
    let mine = scope(state, who).await?;
    let db = state.db.clone();
    let all = web::block(move || db.read(locations::all)).await??;
    let l = Language::or_default(&who.user.language);
    let mut r = render::html(&PersonPage {
        l,
        csrf: csrf_token(&who.session)?,
        is_admin: who.role == Role::Admin,
        stores: all
            .into_iter()
            .filter(|s| mine.as_ref().is_none_or(|m| m.contains(&s.id)))
            .map(|s| {
                let theirs = person.store_ids.contains(&s.id);
                (s.id, s.name, theirs)
            })
            .collect(),
        person,
        languages: Language::choices(),
        saved,
        error: error.clone(),
    })?;
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// `GET /manage/users/edit?email=E`: one person's role, stores and language.
pub async fn edit_form(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<PersonQuery>,
) -> Result<HttpResponse, AppError> {
    person_page(&state, &who, &query.email, None, query.saved).await
}

/// `POST /manage/users/edit`: saves role, stores (`location`, repeated) and language.
pub async fn edit(
    state: web::Data<AppState>,
    who: SignedIn,
    body: String,
) -> Result<HttpResponse, AppError> {
    use crate::domain::setup::people::{apply_change, PersonChange};
    use crate::domain::setup::{Actor, SetupError};
    let (mut csrf, mut email, mut role, mut language, mut stores) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        Vec::new(),
    );
    // Several boxes share one name, which serde_urlencoded's struct form cannot gather.
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        match name.as_ref() {
            "csrf" => csrf = value.into_owned(),
            "email" => email = value.into_owned(),
            "role" => role = value.into_owned(),
            "language" => language = value.into_owned(),
            "location" => stores.push(value.into_owned()),
            _ => {}
        }
    }
    verify_csrf(&who.session, &csrf)?;
    let person = managed_person(&state, &who, &email).await?;
    let mine = scope(&state, &who).await?;
    let db = state.db.clone();
    // Store ids from the page; resolve_stores takes references or names, so give names.
    let names = web::block(move || {
        db.read(|c| {
            let all = locations::all(c)?;
            Ok(stores
                .iter()
                .filter_map(|id| all.iter().find(|s| &s.id == id).map(|s| s.name.clone()))
                .collect::<Vec<_>>())
        })
    })
    .await??;
    let actor = Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    };
    let change = PersonChange {
        role: Some(role),
        stores: Some(names),
        language: Some(language),
    };
    let db = state.db.clone();
    let target = person.email.clone();
    let result = web::block(move || {
        db.write(|c| apply_change(c, &actor, &target, &change, mine.as_deref()))
    })
    .await?;
    match result {
        Ok(p) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!(
                    "/manage/users/edit?saved=true&email={}",
                    url::form_urlencoded::byte_serialize(p.email.as_bytes()).collect::<String>()
                ),
            ))
            .finish()),
        Err(SetupError::Invalid(e)) => {
            let message = e.message(Language::or_default(&who.user.language));
            person_page(&state, &who, &person.email, Some(message), false).await
        }
        Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

/// `POST /manage/users/resend`: a new invitation email with a fresh link.
pub async fn resend(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<PersonForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let person = managed_person(&state, &who, &form.email).await?;
    let (db, now, id) = (state.db.clone(), state.clock.now(), person.id.clone());
    match web::block(move || crate::domain::account::resend_invitation(&db, &id, now)).await? {
        Ok(()) => {
            state.outbox_waker.wake();
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!(
                        "/manage/users/edit?saved=true&email={}",
                        url::form_urlencoded::byte_serialize(person.email.as_bytes())
                            .collect::<String>()
                    ),
                ))
                .finish())
        }
        Err(AccountError::Invalid(refusal)) => {
            let message = refusal.text(who.language());
            person_page(&state, &who, &person.email, Some(message), false).await
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}
