//! Signed-in staff: a session cookie (signed and encrypted with a key derived from
//! `MEND_SECRET`, HttpOnly, SameSite=Lax, 12 hours) that names the user, and a per-session
//! token that every state-changing form must carry (CSRF).

use std::future::Future;
use std::pin::Pin;

use actix_session::config::PersistentSession;
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionExt, SessionMiddleware};
use actix_web::cookie::{time::Duration, Key, SameSite};
use actix_web::{web, FromRequest, HttpRequest};
use rand::RngCore;

use crate::config::SigningKey;
use crate::db::models::{SessionRow, User};
use crate::db::queries::{sessions, users};
use crate::db::states::Role;
use crate::db::DbError;
use crate::web::{AppError, AppState};

const USER_KEY: &str = "uid";
const CSRF_KEY: &str = "csrf";
const SINCE_KEY: &str = "since";
const SESSION_KEY: &str = "sid";
/// A session ends this long after sign-in, whatever the browser does with its cookie.
pub const SESSION_HOURS: i64 = 12;
pub const COOKIE_NAME: &str = "mend_session";

pub fn middleware(secret: &SigningKey, https: bool) -> SessionMiddleware<CookieSessionStore> {
    // SigningKey guarantees at least 32 bytes, which Key::derive_from requires.
    let key = Key::derive_from(secret.expose_bytes());
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name(COOKIE_NAME.to_owned())
        .cookie_secure(https)
        .cookie_http_only(true)
        // Lax: the session survives following an alert link from a mail app, but is not sent
        // on cross-site form posts.
        .cookie_same_site(SameSite::Lax)
        .session_lifecycle(PersistentSession::default().session_ttl(Duration::hours(SESSION_HOURS)))
        .build()
}

fn session_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("session: {e}"))
}

/// Starts a session for `user_id`: a row on the server (so that it can be ended there:
/// logout, a password change, deactivation) named by the cookie. The server also ends it
/// [`SESSION_HOURS`] after sign-in by the app's clock, even if a cookie outlives its expiry.
pub async fn sign_in(state: &AppState, session: &Session, user_id: &str) -> Result<(), AppError> {
    let now = state.clock.now();
    let row = SessionRow {
        id: new_session_id(),
        user_id: user_id.to_owned(),
        created_at: now,
        ended_at: None,
    };
    let db = state.db.clone();
    let sid = row.id.clone();
    web::block(move || db.write(|c| sessions::insert(c, &row).map_err(DbError::from))).await??;
    // A new cookie session on sign-in: a session fixed before login is worth nothing after,
    // and neither is a form token handed out before it.
    session.renew();
    session
        .insert(CSRF_KEY, new_csrf_token())
        .map_err(session_error)?;
    session
        .insert(SINCE_KEY, now.and_utc().timestamp())
        .map_err(session_error)?;
    session.insert(SESSION_KEY, sid).map_err(session_error)?;
    session.insert(USER_KEY, user_id).map_err(session_error)
}

fn new_session_id() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Ends this browser's session, on the server too: a copy of the cookie is worth nothing
/// afterwards.
pub async fn sign_out(state: &AppState, session: &Session) -> Result<(), AppError> {
    if let Ok(Some(sid)) = session.get::<String>(SESSION_KEY) {
        let (db, now) = (state.db.clone(), state.clock.now());
        web::block(move || db.write(|c| sessions::end(c, &sid, now).map_err(DbError::from)))
            .await??;
    }
    session.purge();
    Ok(())
}

/// Signing out on purpose ends every session of that person, on every device: someone who
/// left a session open on a shared till signs out from their phone and it is gone.
pub async fn sign_out_everywhere(state: &AppState, session: &Session) -> Result<(), AppError> {
    if let Ok(Some(user_id)) = session.get::<String>(USER_KEY) {
        let (db, now) = (state.db.clone(), state.clock.now());
        web::block(move || {
            db.write(|c| sessions::end_all_of(c, &user_id, None, now).map_err(DbError::from))
        })
        .await??;
    }
    sign_out(state, session).await
}

/// The session's form token, made on first use.
pub fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).map_err(session_error)? {
        return Ok(token);
    }
    let token = new_csrf_token();
    session.insert(CSRF_KEY, &token).map_err(session_error)?;
    Ok(token)
}

/// A new form token. Made at sign-in (replacing any from before it), so the first pages
/// opened at once after signing in share one token instead of each making its own.
fn new_csrf_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A form that carries nothing but its CSRF token (a button that acts).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub fn verify_csrf(session: &Session, submitted: &str) -> Result<(), AppError> {
    let expected = session.get::<String>(CSRF_KEY).map_err(session_error)?;
    match expected {
        Some(e)
            if bool::from(subtle::ConstantTimeEq::ct_eq(
                e.as_bytes(),
                submitted.as_bytes(),
            )) =>
        {
            Ok(())
        }
        _ => Err(AppError::Refused("error_page.form_expired")),
    }
}

/// The signed-in staff member. As an extractor, it sends anyone without a session to the
/// sign-in page, and brings them back afterwards.
pub struct SignedIn {
    pub user: User,
    pub role: Role,
    pub session: Session,
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<SignedIn, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let back_to = req
            .uri()
            .path_and_query()
            .map_or_else(|| "/manage/".to_owned(), ToString::to_string);
        Box::pin(async move {
            let state = state.ok_or_else(|| session_error("no application state"))?;
            let user_id = session.get::<String>(USER_KEY).unwrap_or(None);
            let since = session.get::<i64>(SINCE_KEY).unwrap_or(None);
            let sid = session.get::<String>(SESSION_KEY).unwrap_or(None);
            let (Some(user_id), Some(since), Some(sid)) = (user_id, since, sid) else {
                session.purge();
                return Err(AppError::SignInRequired(back_to));
            };
            let now = state.clock.now().and_utc().timestamp();
            if now - since > SESSION_HOURS * 3600 {
                sign_out(&state, &session).await?;
                return Err(AppError::SignInRequired(back_to));
            }
            let db = state.db.clone();
            // The session must still be live on the server, and its account active.
            let user = web::block(move || {
                db.read(|c| {
                    if sessions::live_user(c, &sid)?.as_deref() != Some(user_id.as_str()) {
                        return Ok(None);
                    }
                    if users::deactivated_at(c, &user_id)?.is_some() {
                        return Ok(None);
                    }
                    users::find(c, &user_id)
                })
            })
            .await??;
            let Some((user, role)) = user.map(|u| {
                let role = u.role;
                (u, role)
            }) else {
                // Ended on the server, or the account is gone or deactivated.
                session.purge();
                return Err(AppError::SignInRequired(back_to));
            };
            Ok(SignedIn {
                user,
                role,
                session,
            })
        })
    }
}

impl SignedIn {
    /// The language the person reads Mend in: their account's.
    pub fn language(&self) -> crate::domain::language::Language {
        crate::domain::language::Language::or_default(&self.user.language)
    }
}

/// Where to go after signing in: only back into the manager pages of this site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // No control characters: a CR/LF would end up in the Location header.
        Some(n)
            if n.starts_with("/manage")
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/manage/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_sign_in_we_only_go_back_into_manager_pages() {
        assert_eq!(
            safe_next(Some("/manage/locations/x/stickers?paper=a4")),
            "/manage/locations/x/stickers?paper=a4"
        );
        for evil in [
            "https://evil.example/",
            "//evil.example",
            "/t/ABC",
            "/manage\\..\\x",
            "/manage/\r\nSet-Cookie: x=1",
            "/manage/\n",
        ] {
            assert_eq!(safe_next(Some(evil)), "/manage/", "{evil}");
        }
        assert_eq!(safe_next(None), "/manage/");
    }
}
