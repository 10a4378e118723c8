//! `GET /manage/export/{surveys,cases}.{csv,xlsx,json}?from=&to=&location=&category=&bom=`:
//! downloads for the signed-in person's locations (admins: all). Streamed: rows are read a
//! page at a time on a blocking thread and sent as they are ready, with backpressure.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::db::queries::exports::{ExportFilter, Scope};
use crate::db::states::Role;
use crate::domain::insight::export::{
    columns, csv_chunk, headers, json_chunk, read_pages, write_xlsx, Dataset, ExportLabels, Format,
};
use crate::web::session::SignedIn;
use crate::web::{AppError, AppState};

#[derive(Deserialize)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    location: Option<String>,
    category: Option<String>,
    bom: Option<String>,
}

fn date(name: &str, s: &Option<String>) -> Result<Option<NaiveDate>, AppError> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                tracing::debug!(field = name, value = v, "export date not read");
                AppError::Refused("error_page.bad_date")
            }),
    }
}

/// `surveys.csv`, `cases.xlsx`, ...: what a file name asks for.
pub fn parse(file: &str) -> Option<(Dataset, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    let dataset = match name {
        "surveys" => Dataset::Surveys,
        "cases" => Dataset::Cases,
        _ => return None,
    };
    let format = match ext {
        "csv" => Format::Csv { bom: true },
        "xlsx" => Format::Xlsx,
        "json" => Format::Json,
        _ => return None,
    };
    Some((dataset, format))
}

type Chunk = Result<Bytes, std::io::Error>;

fn body_of(rx: mpsc::Receiver<Chunk>) -> impl futures_util::Stream<Item = Chunk> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) })
}

pub async fn download(
    state: web::Data<AppState>,
    who: SignedIn,
    file: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let (dataset, mut format) = parse(&file).ok_or(AppError::NotFound)?;
    if let Format::Csv { bom } = &mut format {
        *bom = query.bom.as_deref() != Some("0");
    }
    let from = date("from", &query.from)?;
    let to = date("to", &query.to)?;
    let filter = ExportFilter {
        from: from.and_then(|d| d.and_hms_opt(0, 0, 0)),
        // "to" is the last day wanted, so the bound is the next midnight.
        to: to.and_then(|d| (d + Duration::days(1)).and_hms_opt(0, 0, 0)),
        location_id: query.location.clone().filter(|l| !l.trim().is_empty()),
        within: None,
        category: query.category.clone().filter(|c| !c.trim().is_empty()),
    };
    let job = ExportJob {
        dataset,
        format,
        scope: Scope {
            user_id: who.user.id.clone(),
            is_admin: who.role == Role::Admin,
        },
        filter,
        lang: crate::domain::language::Language::or_default(&who.user.language),
        name: file.into_inner(),
    };
    stream(&state, job).await.map_err(AppError::Internal)
}

/// One download: what, for whom, and its file name.
pub struct ExportJob {
    pub dataset: Dataset,
    pub format: Format,
    pub scope: Scope,
    pub filter: ExportFilter,
    /// Spreadsheets' column labels are in this language.
    pub lang: crate::domain::language::Language,
    pub name: String,
}

/// Streams an export (the manager's download and the REST API's `/exports`).
pub async fn stream(state: &AppState, job: ExportJob) -> anyhow::Result<HttpResponse> {
    let ExportJob {
        dataset,
        format,
        scope,
        filter,
        lang,
        name,
    } = job;
    // Spreadsheets are for people: labels in the reader's language. JSON is for programs:
    // the stable keys.
    let labels = match format {
        Format::Json => None,
        Format::Csv { .. } | Format::Xlsx => {
            let (db, scope) = (state.db.clone(), scope.clone());
            Some(web::block(move || ExportLabels::read(&db, &scope, lang)).await??)
        }
    };
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    let db = state.db.clone();
    let tmp_dir = state.settings.data_dir.join("tmp");
    let content_type = match format {
        Format::Csv { .. } => "text/csv; charset=utf-8",
        Format::Json => "application/json",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    // A thread of its own, not the blocking pool: a slow download waits in blocking_send
    // for as long as the client takes, and must not hold a thread that database reads for
    // every other page share.
    let producer = std::thread::Builder::new()
        .name("export".into())
        .spawn(move || {
            let send = |chunk: Chunk| tx.blocking_send(chunk).is_ok();
            let fail = |e: &dyn std::fmt::Display| {
                tracing::error!(error = %e, "export failed part-way");
                let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
            };
            match format {
                Format::Xlsx => {
                    let written = std::fs::create_dir_all(&tmp_dir)
                        .map_err(anyhow::Error::from)
                        .and_then(|()| tempfile::tempfile_in(&tmp_dir).map_err(anyhow::Error::from))
                        .and_then(|mut f| {
                            write_xlsx(
                                &db,
                                dataset,
                                &scope,
                                &filter,
                                labels.as_ref(),
                                &tmp_dir,
                                &mut f,
                            )?;
                            Ok(f)
                        });
                    match written {
                        Ok(mut f) => {
                            use std::io::{Read, Seek};
                            if let Err(e) = f.rewind() {
                                return fail(&e);
                            }
                            let mut buf = vec![0u8; 64 * 1024];
                            loop {
                                match f.read(&mut buf) {
                                    Ok(0) => break,
                                    Ok(n) => {
                                        if !send(Ok(Bytes::copy_from_slice(&buf[..n]))) {
                                            return;
                                        }
                                    }
                                    Err(e) => return fail(&e),
                                }
                            }
                        }
                        Err(e) => fail(&e),
                    }
                }
                Format::Csv { .. } | Format::Json => {
                    let is_csv = matches!(format, Format::Csv { .. });
                    let bom = matches!(format, Format::Csv { bom: true });
                    let mut first = true;
                    let opening: &[u8] = match (is_csv, bom) {
                        (true, true) => b"\xEF\xBB\xBF",
                        (true, false) => b"",
                        (false, _) => b"[\n",
                    };
                    if !opening.is_empty() && !send(Ok(Bytes::from_static(opening))) {
                        return;
                    }
                    let header = headers(dataset, labels.as_ref());
                    let (pages_tx, pages) = std::sync::mpsc::sync_channel(2);
                    let reader = std::thread::Builder::new()
                        .name("export-reader".into())
                        .spawn(move || {
                            read_pages(&db, dataset, &scope, &filter, labels.as_ref(), &pages_tx)
                        });
                    if let Err(e) = reader {
                        return fail(&e);
                    }
                    loop {
                        let rows = match pages.recv() {
                            Ok(Ok(Some(rows))) => rows,
                            Ok(Ok(None)) => break,
                            Ok(Err(e)) => return fail(&e),
                            // The reader stopped without saying it was done: never a short file
                            // that looks complete.
                            Err(e) => return fail(&e),
                        };
                        let chunk = if is_csv {
                            match csv_chunk(first.then_some(header.as_slice()), &rows) {
                                Ok(c) => c,
                                Err(e) => return fail(&e),
                            }
                        } else {
                            json_chunk(columns(dataset), &rows, first)
                        };
                        first = false;
                        if !chunk.is_empty() && !send(Ok(Bytes::from(chunk))) {
                            return;
                        }
                    }
                    if !is_csv {
                        send(Ok(Bytes::from_static(b"]\n")));
                    }
                }
            }
        });
    if let Err(e) = producer {
        anyhow::bail!("starting an export: {e}");
    }
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(body_of(rx)))
}
