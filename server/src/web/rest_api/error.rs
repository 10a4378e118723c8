//! The REST API's one error: JSON `{"code", "message", "field"}` with the status the code
//! calls for. The code is stable (programs act on it); the message is in the reader's
//! language (Accept-Language); `field` names the input at fault, when one is.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::account::api_token::Refused;
use crate::domain::case::workflow::WorkflowError;
use crate::domain::language::{Language, Refusal};
use crate::domain::setup::{FieldError, SetupError};

/// An error, as every endpoint answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable: `unauthorized`, `token_revoked`, `token_expired`, `forbidden`, `not_found`,
    /// `bad_request`, `invalid`, `conflict`, `idempotency_key_reused`, `rate_limited`,
    /// `too_large`, `unavailable`.
    pub code: String,
    /// For a person, in the language the request asked for.
    pub message: String,
    /// The input at fault (a body field or query parameter), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds to wait before trying again (429).
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body.code)
    }
}

impl ApiError {
    /// An error whose message is the catalog text `api.error.{code}`.
    pub fn new(lang: Language, status: StatusCode, code: &'static str) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: lang.text(&format!("api.error.{code}")),
                field: None,
            },
            retry_after: None,
        }
    }

    pub fn on(mut self, field: impl Into<String>) -> ApiError {
        self.body.field = Some(field.into());
        self
    }

    /// Someone else did it first (a decision already made).
    pub fn conflict(lang: Language) -> ApiError {
        ApiError::new(lang, StatusCode::CONFLICT, "conflict")
    }

    pub fn not_found(lang: Language) -> ApiError {
        ApiError::new(lang, StatusCode::NOT_FOUND, "not_found")
    }

    pub fn bad_request(lang: Language, field: Option<&str>) -> ApiError {
        let e = ApiError::new(lang, StatusCode::BAD_REQUEST, "bad_request");
        match field {
            Some(f) => e.on(f),
            None => e,
        }
    }

    pub fn unavailable(lang: Language) -> ApiError {
        ApiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    }

    pub fn refused_token(lang: Language, why: Refused) -> ApiError {
        let code = match why {
            Refused::Unknown | Refused::PersonGone => "unauthorized",
            Refused::Revoked => "token_revoked",
            Refused::Expired => "token_expired",
        };
        ApiError::new(lang, StatusCode::UNAUTHORIZED, code)
    }

    /// A field's problem, in the words the web pages use.
    pub fn field(lang: Language, e: &FieldError) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: ErrorBody {
                code: "invalid".into(),
                message: e.message(lang),
                field: Some(e.field.to_owned()),
            },
            retry_after: None,
        }
    }

    pub fn setup(lang: Language, e: SetupError) -> ApiError {
        match e {
            SetupError::Invalid(f) => ApiError::field(lang, &f),
            SetupError::NotFound(_) => ApiError::not_found(lang),
            SetupError::Db(e) => ApiError::from_db(lang, &e),
            SetupError::Password(_) => ApiError::unavailable(lang),
        }
    }

    /// A workflow refusal: a case in the wrong state for the action is a conflict (409),
    /// anything typed wrong is invalid (422), with the field it was about.
    pub fn workflow(lang: Language, e: WorkflowError) -> ApiError {
        match e {
            WorkflowError::Invalid(r) => ApiError::refusal(lang, &r),
            WorkflowError::Db(e) => ApiError::from_db(lang, &e),
        }
    }

    fn refusal(lang: Language, r: &Refusal) -> ApiError {
        let (status, code, field) = match r.key {
            "workflow.resolved_reopen_first"
            | "workflow.not_resolved"
            | "workflow.already_merged"
            | "workflow.not_flagged"
            | "remedy.already_waiting"
            | "remedy.nothing_waiting"
            | "remedy.nobody_to_ask" => (StatusCode::CONFLICT, "conflict", None),
            "remedy.not_yours" => (StatusCode::FORBIDDEN, "forbidden", None),
            "workflow.not_here" | "workflow.choose_person" | "account_error.no_account" => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("assignee"),
            ),
            "workflow.choose_root_cause" => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("root_cause"),
            ),
            "workflow.not_compensation" => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("compensation_type"),
            ),
            "workflow.give_value" | "workflow.not_amount" => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("compensation_value"),
            ),
            "workflow.not_currency" => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("compensation_currency"),
            ),
            "workflow.empty_what_was_done" => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("what_was_done"),
            ),
            "workflow.empty_reopen" => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("reason"))
            }
            _ => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("text")),
        };
        ApiError {
            status,
            body: ErrorBody {
                code: code.into(),
                message: r.text(lang),
                field: field.map(str::to_owned),
            },
            retry_after: None,
        }
    }

    pub fn from_db(lang: Language, e: &crate::db::DbError) -> ApiError {
        tracing::error!(error = %e, "REST API: database error");
        ApiError::unavailable(lang)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if let Some(s) = self.retry_after {
            r.insert_header((actix_web::http::header::RETRY_AFTER, s.to_string()));
        }
        r.json(&self.body)
    }
}
