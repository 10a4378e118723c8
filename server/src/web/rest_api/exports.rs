//! `GET /api/v1/exports/{file}`: the same exports as the managers' download, for the
//! token's stores: survey answers or cases, as CSV, XLSX or JSON, streamed.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::db::queries::exports::{ExportFilter, Scope};
use crate::db::states::Role;
use crate::domain::insight::export::Format;
use crate::web::manage::export::{parse, stream, ExportJob};
use crate::web::AppState;

use super::auth::Api;
use super::cases::{given, moment};
use super::error::{ApiError, ErrorBody};

/// Which file: survey answers or cases, as CSV (with a BOM, for spreadsheets), XLSX or
/// JSON (an array of objects with stable keys).
#[derive(Debug, Deserialize, ToSchema)]
pub enum ExportFile {
    #[serde(rename = "surveys.csv")]
    SurveysCsv,
    #[serde(rename = "surveys.xlsx")]
    SurveysXlsx,
    #[serde(rename = "surveys.json")]
    SurveysJson,
    #[serde(rename = "cases.csv")]
    CasesCsv,
    #[serde(rename = "cases.xlsx")]
    CasesXlsx,
    #[serde(rename = "cases.json")]
    CasesJson,
}

/// What to export.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// On or after this day (YYYY-MM-DD, UTC) or moment (RFC 3339).
    pub from: Option<String>,
    /// Before the end of this day (YYYY-MM-DD, UTC) or before this moment.
    pub to: Option<String>,
    /// A store id.
    pub store: Option<String>,
    /// A category key.
    pub category: Option<String>,
}

/// Export survey answers or cases
///
/// The token's stores only. Spreadsheets label their columns in the token's person's
/// language; JSON uses stable keys.
#[utoipa::path(get, path = "/api/v1/exports/{file}", tag = "exports",
    params(("file" = ExportFile, Path, description = "surveys or cases, as csv, xlsx or json"), ExportQuery),
    responses(
        (status = 200, description = "The file, streamed", content(
            (String = "text/csv"),
            (Vec<serde_json::Value> = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
    ),
    security(("token" = [])))]
pub async fn download(
    state: web::Data<AppState>,
    api: Api,
    file: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let (dataset, mut format) = parse(&file).ok_or_else(|| ApiError::not_found(lang))?;
    // A program reads the CSV: no byte-order mark.
    if let Format::Csv { bom } = &mut format {
        *bom = false;
    }
    let filter = ExportFilter {
        from: moment(lang, "from", &query.from, false)?,
        to: moment(lang, "to", &query.to, true)?,
        location_id: given(&query.store),
        within: api.caller.narrowed_to(),
        category: given(&query.category),
    };
    let job = ExportJob {
        dataset,
        format,
        scope: Scope {
            user_id: api.caller.user.id.clone(),
            is_admin: api.caller.user.role == Role::Admin,
        },
        filter,
        lang,
        name: file.into_inner(),
    };
    stream(&state, job).await.map_err(|e| {
        tracing::error!(error = %e, "API export failed");
        ApiError::unavailable(lang)
    })
}
