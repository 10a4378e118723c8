//! Who is calling: the bearer token, checked against its hash, its expiry, its person and
//! its rate limit, before any handler runs. The language of messages comes from the
//! request's Accept-Language, else the token's person, else English.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;
use crate::db::queries::api_tokens;
use crate::db::states::TokenScope;
use crate::domain::account::api_token::{authenticate, token_hash, Caller};
use crate::domain::language::Language;
use crate::web::AppState;

/// An authenticated API request.
pub struct Api {
    pub caller: Caller,
    pub lang: Language,
}

impl Api {
    /// Refuses (403) a token whose scope does not reach `needed`.
    pub fn require(&self, needed: TokenScope) -> Result<(), ApiError> {
        if self.caller.scope.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::new(self.lang, StatusCode::FORBIDDEN, "forbidden"))
        }
    }
}

/// The reader's language from the request alone (for errors before the token is known).
pub fn language_of(req: &HttpRequest) -> Language {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Language::negotiate(None, accept, "en")
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

impl FromRequest for Api {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Api, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let lang = language_of(&req);
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::unavailable(lang))?;
            let token = bearer(&req)
                .ok_or_else(|| ApiError::new(lang, StatusCode::UNAUTHORIZED, "unauthorized"))?;
            // Counted before the database is asked: a token over its limit costs nothing.
            let key = token_hash(&token);
            if let Some(wait) = state.api_rate_limit.wait(&key) {
                let mut e = ApiError::new(lang, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
                e.retry_after = Some(wait.as_secs().max(1));
                return Err(e);
            }
            let now = state.clock.now();
            let db = state.db.clone();
            let caller = web::block(move || db.read(|c| authenticate(c, &token, now)))
                .await
                .map_err(|_| ApiError::unavailable(lang))?
                .map_err(|e| ApiError::from_db(lang, &e))?
                .map_err(|why| ApiError::refused_token(lang, why))?;
            if caller.stale_use {
                let (db, id) = (state.db.clone(), caller.token_id.clone());
                // When it was last used is a courtesy: a busy database does not fail the
                // request over it.
                let _ = web::block(move || {
                    db.write(|c| -> Result<(), crate::db::DbError> {
                        Ok(api_tokens::used(c, &id, now)?)
                    })
                })
                .await;
            }
            let lang = if req.headers().contains_key(header::ACCEPT_LANGUAGE) {
                lang
            } else {
                Language::or_default(&caller.user.language)
            };
            Ok(Api { caller, lang })
        })
    }
}
