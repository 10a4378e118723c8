//! Forgotten passwords and invitations: `/manage/password/forgot` asks for a link by
//! email; `/manage/password/set` (the link) chooses a new password and signs in.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::users;
use crate::domain::account::password_link;
use crate::domain::account::{
    request_reset, set_password_by_link, AccountError, MIN_PASSWORD_CHARS,
};
use crate::domain::language::Language;
use crate::domain::signed_link::LinkError;
use crate::web::client::client_ip;
use crate::web::reader;
use crate::web::session::{csrf_token, sign_in, verify_csrf};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/forgot.html")]
struct ForgotPage {
    l: Language,
    csrf: String,
    sent: bool,
    error: Option<String>,
}

pub async fn forgot_form(req: HttpRequest, session: Session) -> Result<HttpResponse, AppError> {
    render::html(&ForgotPage {
        l: reader::of_request(&req),
        csrf: csrf_token(&session)?,
        sent: false,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    csrf: String,
    email: String,
}

pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&session, &form.csrf)?;
    let l = reader::of_request(&req);
    let email = form.email.trim().to_lowercase();
    let client = client_ip(&req, &state.settings.trusted_proxies);
    if !state.reset_rate_limit.allow_request(client) {
        let mut response = render::html(&ForgotPage {
            l,
            csrf: csrf_token(&session)?,
            sent: false,
            error: Some(l.text("staff.too_many")),
        })?;
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return Ok(response);
    }
    // One reset email per account per few minutes, whoever asks. The lookup and the mail
    // happen after the answer, so a known address takes no longer to answer than an
    // unknown one.
    if state.reset_rate_limit.allow_mail(&email, state.clock.now()) {
        let (db, now, waker) = (
            state.db.clone(),
            state.clock.now(),
            state.outbox_waker.clone(),
        );
        actix_web::rt::spawn(async move {
            match web::block(move || request_reset(&db, &email, now)).await {
                Ok(Ok(())) => waker.wake(),
                Ok(Err(e)) => tracing::error!(error = %e, "queueing a password reset failed"),
                Err(e) => tracing::error!(error = %e, "queueing a password reset failed"),
            }
        });
    }
    render::html(&ForgotPage {
        l,
        csrf: csrf_token(&session)?,
        sent: true,
        error: None,
    })
}

#[derive(Template)]
#[template(path = "manage/set_password.html")]
struct SetPasswordPage {
    l: Language,
    csrf: String,
    email: String,
    u: String,
    exp: i64,
    sig: String,
    min: usize,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LinkQuery {
    u: Option<String>,
    exp: Option<i64>,
    sig: Option<String>,
}

fn refused(l: Language, e: LinkError) -> AppError {
    match e {
        LinkError::Expired => AppError::Gone(l.text("staff.set_password.expired")),
        LinkError::Invalid => AppError::BadRequest(l.text("staff.set_password.invalid")),
    }
}

pub async fn set_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let (Some(u), Some(exp), Some(sig)) = (query.u.clone(), query.exp, query.sig.clone()) else {
        return Err(refused(reader::of_request(&req), LinkError::Invalid));
    };
    let (db, id) = (state.db.clone(), u.clone());
    let user = web::block(move || db.read(|c| users::find(c, &id)))
        .await??
        .ok_or_else(|| refused(reader::of_request(&req), LinkError::Invalid))?;
    // The invitation and the reset were written in the account's language: so is this.
    let l = Language::or_default(&user.language);
    password_link::verify(
        state.settings.secret.expose_bytes(),
        &user,
        exp,
        &sig,
        state.clock.now(),
    )
    .map_err(|e| refused(l, e))?;
    let mut page = render::html(&SetPasswordPage {
        l,
        csrf: csrf_token(&session)?,
        email: user.email,
        u,
        exp,
        sig,
        min: MIN_PASSWORD_CHARS,
        error: None,
    })?;
    page.add_cookie(&reader::cookie(l))
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(page)
}

#[derive(Deserialize)]
pub struct SetForm {
    csrf: String,
    u: String,
    exp: i64,
    sig: String,
    password: String,
}

pub async fn set(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<SetForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&session, &form.csrf)?;
    let client =
        client_ip(&req, &state.settings.trusted_proxies).map(crate::web::rate_limit::network_of);
    if !state.password_set_rate_limit.allow(client.as_ref()) {
        return Err(AppError::TooManyRequests);
    }
    let form = form.into_inner();
    let (db, key, now) = (
        state.db.clone(),
        state.settings.secret.clone(),
        state.clock.now(),
    );
    let (u, sig, password) = (form.u.clone(), form.sig.clone(), form.password.clone());
    let result = web::block(move || {
        set_password_by_link(&db, key.expose_bytes(), &u, form.exp, &sig, &password, now)
    })
    .await?;
    match result {
        Ok(user) => {
            sign_in(&state, &session, &user.id).await?;
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/manage/"))
                .finish())
        }
        Err(e @ AccountError::Invalid(..)) => {
            let l = reader::of_request(&req);
            let mut response = render::html(&SetPasswordPage {
                l,
                csrf: csrf_token(&session)?,
                email: String::new(),
                u: form.u,
                exp: form.exp,
                sig: form.sig,
                min: MIN_PASSWORD_CHARS,
                error: Some(e.text(l)),
            })?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}
