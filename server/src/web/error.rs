//! The one application error, and the one place it becomes an HTTP response.
//! Clients see a plain page with a clear message; the log gets the whole cause chain.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::DbError;
use crate::domain::language::Language;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// The message is shown to the user as it is.
    #[error("{0}")]
    BadRequest(String),
    /// Refused with a catalog key: the error page says it in the reader's language.
    #[error("{0}")]
    Refused(&'static str),
    /// Something that was valid once and no longer is (an expired link); the message is
    /// shown as it is.
    #[error("{0}")]
    Gone(String),
    /// Not signed in: go to the sign-in page, then back to this address.
    #[error("sign-in required")]
    SignInRequired(String),
    #[error("forbidden")]
    Forbidden,
    /// Too many attempts from this client: wait a minute.
    #[error("too many requests")]
    TooManyRequests,
    /// The request did not arrive whole in time.
    #[error("request timeout")]
    RequestTimeout,
    /// A page for a customer, in their language: title and message are catalog keys.
    #[error("{message_key}")]
    Customer {
        status: StatusCode,
        lang: crate::domain::language::Language,
        title_key: &'static str,
        message_key: &'static str,
    },
    /// A retired sticker, or one of an archived store: a polite page in the customer's
    /// language that points to the store's other spots (code, label).
    #[error("retired sticker")]
    RetiredSticker {
        lang: crate::domain::language::Language,
        archived: bool,
        others: Vec<(String, String)>,
    },
    #[error("temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<crate::jobs::photo_store::PhotoStoreError> for AppError {
    fn from(e: crate::jobs::photo_store::PhotoStoreError) -> Self {
        use crate::jobs::photo_store::PhotoStoreError;
        match e {
            PhotoStoreError::Db(db) => db.into(),
            // Back when the object store answers again: the page says "try again".
            e @ PhotoStoreError::Unreachable { .. } => AppError::Unavailable(e.into()),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Query(diesel::result::Error::NotFound) => AppError::NotFound,
            DbError::Unavailable(_) => AppError::Unavailable(e.into()),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<crate::domain::mail::MailError> for AppError {
    fn from(e: crate::domain::mail::MailError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(DbError::Query(e))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    l: Language,
    title: &'a str,
    message: &'a str,
    status_line: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) | AppError::Refused(_) => StatusCode::BAD_REQUEST,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::SignInRequired(_) => StatusCode::SEE_OTHER,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Customer { status, .. } => *status,
            AppError::RetiredSticker { .. } => StatusCode::GONE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let AppError::SignInRequired(back_to) = self {
            let next: String = url::form_urlencoded::byte_serialize(back_to.as_bytes()).collect();
            return HttpResponse::SeeOther()
                .insert_header(("Location", format!("/manage/login?next={next}")))
                .finish();
        }
        if status.is_server_error() {
            tracing::error!(error = %format!("{:#}", anyhow::Error::from(self.cause_chain())), "request failed");
        }
        if let AppError::Customer {
            lang,
            title_key,
            message_key,
            ..
        } = self
        {
            let (title, message) = (lang.text(title_key), lang.text(message_key));
            return page_response(status, *lang, &title, &message, false);
        }
        if let AppError::RetiredSticker {
            lang,
            archived,
            others,
        } = self
        {
            return retired_response(*lang, *archived, others);
        }
        let (title_key, message) = match self {
            AppError::NotFound => (
                "error_page.not_found",
                Message::Key("error_page.not_found_text"),
            ),
            AppError::BadRequest(message) => {
                ("error_page.bad_request", Message::Text(message.clone()))
            }
            AppError::Refused(key) => ("error_page.bad_request", Message::Key(key)),
            AppError::Gone(message) => ("error_page.gone", Message::Text(message.clone())),
            AppError::SignInRequired(_) => (
                "error_page.sign_in",
                Message::Key("error_page.sign_in_text"),
            ),
            AppError::Customer { .. } | AppError::RetiredSticker { .. } => (
                "error_page.internal",
                Message::Key("error_page.internal_text"),
            ),
            AppError::Forbidden => (
                "error_page.forbidden",
                Message::Key("error_page.forbidden_text"),
            ),
            AppError::TooManyRequests => (
                "error_page.too_many",
                Message::Key("error_page.too_many_text"),
            ),
            AppError::RequestTimeout => (
                "error_page.timeout",
                Message::Key("error_page.timeout_text"),
            ),
            AppError::Unavailable(_) => (
                "error_page.unavailable",
                Message::Key("error_page.unavailable_text"),
            ),
            AppError::Internal(_) => (
                "error_page.internal",
                Message::Key("error_page.internal_text"),
            ),
        };
        let page = ErrorPageText {
            status,
            title_key,
            message,
            retry: matches!(self, AppError::Unavailable(_)),
        };
        let mut response = page.render(Language::EN);
        response.extensions_mut().insert(page);
        response
    }
}

#[derive(Debug, Clone)]
enum Message {
    Key(&'static str),
    /// Already in words: the handler that refused wrote it.
    Text(String),
}

/// What an error page says, kept on the response so that it can be rendered again in the
/// reader's language (see `web::reader::localize_errors`).
#[derive(Debug, Clone)]
pub struct ErrorPageText {
    status: StatusCode,
    title_key: &'static str,
    message: Message,
    retry: bool,
}

impl ErrorPageText {
    pub fn render(&self, lang: Language) -> HttpResponse {
        let message = match &self.message {
            Message::Key(key) => lang.text(key),
            Message::Text(text) => text.clone(),
        };
        page_response(
            self.status,
            lang,
            &lang.text(self.title_key),
            &message,
            self.retry,
        )
    }
}

#[derive(Template)]
#[template(path = "public/retired.html")]
struct RetiredPage {
    lang: &'static str,
    title: String,
    message: String,
    others: Vec<(String, String)>,
}

fn retired_response(
    lang: crate::domain::language::Language,
    archived: bool,
    others: &[(String, String)],
) -> HttpResponse {
    let page = RetiredPage {
        lang: lang.code(),
        title: lang.text("retired_sticker.title"),
        message: lang.text(if archived || others.is_empty() {
            "retired_sticker.archived"
        } else {
            "retired_sticker.text"
        }),
        others: if archived {
            Vec::new()
        } else {
            others.to_vec()
        },
    };
    match page.render() {
        Ok(body) => HttpResponse::Gone()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(_) => HttpResponse::Gone().finish(),
    }
}

fn page_response(
    status: StatusCode,
    l: Language,
    title: &str,
    message: &str,
    retry: bool,
) -> HttpResponse {
    let page = ErrorPage {
        l,
        title,
        message,
        status_line: l.text_with(
            "error_page.status",
            &[("status", &status.as_u16().to_string())],
        ),
    };
    let mut response = HttpResponse::build(status);
    if retry {
        response.insert_header(("Retry-After", "5"));
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        response.insert_header(("Retry-After", "60"));
    }
    match page.render() {
        Ok(html) => response.content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            response
                .content_type("text/plain; charset=utf-8")
                .body(title.to_owned())
        }
    }
}

impl AppError {
    /// The error and its sources as one error, for a single log line.
    fn cause_chain(&self) -> ChainedError {
        let mut parts = vec![self.to_string()];
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            parts.push(s.to_string());
            source = s.source();
        }
        ChainedError(parts.join(": "))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ChainedError(String);

pub async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body_of(e: &AppError) -> String {
        let bytes = e
            .error_response()
            .into_body()
            .try_into_bytes()
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn storage_errors_map_to_the_status_a_client_can_act_on() {
        let not_found = AppError::from(DbError::Query(diesel::result::Error::NotFound));
        assert_eq!(not_found.status_code(), StatusCode::NOT_FOUND);
        let migration = AppError::from(DbError::Migration("boom".into()));
        assert_eq!(migration.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let rollback = AppError::from(DbError::Query(diesel::result::Error::RollbackTransaction));
        assert_eq!(rollback.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_server_error_page_never_shows_the_internal_cause() {
        let e = AppError::Internal(anyhow::anyhow!("password=hunter2 at /srv/mend/db.rs:42"));
        let body = body_of(&e);
        assert!(body.contains("Something went wrong on our side"));
        assert!(!body.contains("hunter2") && !body.contains("db.rs"));
    }

    #[test]
    fn a_bad_request_message_is_shown_escaped() {
        let body = body_of(&AppError::BadRequest("px must be <= 4096".into()));
        assert!(
            body.contains("px must be &lt;= 4096") || body.contains("px must be &#60;= 4096"),
            "{body}"
        );
    }
}
