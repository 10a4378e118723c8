//! Sign in with email and password; sign out.

use std::sync::OnceLock;

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::users;
use crate::domain::account::password::{hash_password, verify_password};
use crate::domain::language::Language;
use crate::web::client::client_ip;
use crate::web::reader;
use crate::web::session::{
    csrf_token, safe_next, sign_in, sign_out_everywhere, verify_csrf, CsrfForm,
};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/login.html")]
struct LoginPage {
    l: Language,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn form(
    req: HttpRequest,
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    render::html(&LoginPage {
        l: reader::of_request(&req),
        csrf: csrf_token(&session)?,
        next: safe_next(query.next.as_deref()),
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
    csrf: String,
}

/// A hash to verify against when the email is unknown, so that the answer takes as long
/// as for a known email and does not tell which addresses have accounts.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&session, &form.csrf)?;
    let form = form.into_inner();
    let email = form.email.trim().to_lowercase();
    let client = client_ip(&req, &state.settings.trusted_proxies);
    let l = reader::of_request(&req);
    if !state.login_rate_limit.allow(client, &email) {
        let page = LoginPage {
            l,
            csrf: csrf_token(&session)?,
            next: safe_next(form.next.as_deref()),
            email,
            error: Some(l.text("staff.login.too_many")),
        };
        let mut response = render::html(&page)?;
        *response.status_mut() = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("60"),
        );
        return Ok(response);
    }
    let db = state.db.clone();
    let lookup = email.clone();
    let password = form.password;
    // Lookup and argon2 both block: off the request threads.
    let user = web::block(move || -> Result<_, AppError> {
        let (user, deactivated) = db.read(|c| {
            let user = users::find_by_email(c, &lookup)?;
            let deactivated = match &user {
                Some(u) => users::deactivated_at(c, &u.id)?.is_some(),
                None => false,
            };
            Ok((user, deactivated))
        })?;
        let hash = user
            .as_ref()
            .map_or(dummy_hash(), |u| u.password_hash.as_str());
        let ok = verify_password(hash, &password);
        // A deactivated account is refused like a wrong password: nothing to learn.
        Ok(user.filter(|_| ok && !deactivated))
    })
    .await??;
    match user {
        Some(user) => {
            sign_in(&state, &session, &user.id).await?;
            // Pages before the next sign-in, and error pages, follow the account's language.
            Ok(HttpResponse::SeeOther()
                .cookie(reader::cookie(Language::or_default(&user.language)))
                .insert_header(("Location", safe_next(form.next.as_deref())))
                .finish())
        }
        None => {
            let page = LoginPage {
                l,
                csrf: csrf_token(&session)?,
                next: safe_next(form.next.as_deref()),
                email,
                error: Some(l.text("staff.login.wrong")),
            };
            let mut response = render::html(&page)?;
            *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
            Ok(response)
        }
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&session, &form.csrf)?;
    sign_out_everywhere(&state, &session).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/manage/login"))
        .finish())
}
