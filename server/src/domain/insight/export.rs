//! Exports of survey answers and cases as CSV (RFC 4180, optional UTF-8 BOM for Excel,
//! formula cells neutralised), XLSX and JSON. Rows are read and written a page at a time,
//! so memory stays flat however many there are.

use std::io::Write;

use crate::db::queries::exports::{self, CaseRow, ExportFilter, Scope, SurveyRow};
use crate::db::stored_time::{minute_text, unix_seconds};
use crate::db::{Db, DbError};

pub const PAGE: i64 = 2_000;

/// What people read in a spreadsheet: categories, root causes and kinds of compensation by
/// their labels in the reader's language (a store's own category by its own label). JSON,
/// which programs read, keeps the stable keys.
pub struct ExportLabels {
    pub lang: crate::domain::language::Language,
    categories: crate::domain::setup::categories::Labels,
}

impl ExportLabels {
    /// The labels of every store the reader may export.
    pub fn read(
        db: &Db,
        scope: &Scope,
        lang: crate::domain::language::Language,
    ) -> Result<ExportLabels, DbError> {
        let categories = db.read(|c| {
            let ids: Vec<String> = crate::db::queries::insight::locations_in_scope(c, scope, None)?
                .into_iter()
                .map(|l| l.id)
                .collect();
            crate::domain::setup::categories::Labels::read(c, &ids)
        })?;
        Ok(ExportLabels { lang, categories })
    }

    fn category(&self, key: &str) -> String {
        self.categories.label(None, key, self.lang)
    }
}

/// A key as the reader sees it: its label, or the key itself for programs (no labels).
fn keyed(
    labels: Option<&ExportLabels>,
    key: Option<&str>,
    label: impl Fn(&ExportLabels, &str) -> String,
) -> Cell {
    match (key, labels) {
        (Some(k), Some(l)) => Cell::Text(label(l, k)),
        (key, None) => opt_text(key),
        (None, _) => Cell::Empty,
    }
}

/// A customer's language by its own name ("한국어"), as the language switch shows it.
fn language_name(_: &ExportLabels, code: &str) -> String {
    crate::domain::language::Language::parse(code)
        .map_or_else(|| code.to_owned(), |l| l.native_name().to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Surveys,
    Cases,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv { bom: bool },
    Xlsx,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A moment in the store's time zone: Unix seconds shifted to local time, and the
    /// zone's offset then. CSV and JSON write it in ISO 8601 with the offset; XLSX as a
    /// date cell.
    Time {
        local_unix: i64,
        offset_secs: i32,
    },
    Empty,
}

pub const SURVEY_COLUMNS: &[&str] = &[
    "reference",
    "location",
    "touchpoint",
    "category",
    "language",
    "time_zone",
    "received",
    "acknowledged",
    "resolved",
    "minutes_to_acknowledge",
    "minutes_to_resolve",
    "root_cause",
    "compensation_type",
    "compensation_value",
    "compensation_currency",
    "answered",
    "csat",
    "fixed",
    "return_likelihood",
    "comment",
    "still_working",
    "wish",
];

pub const CASE_COLUMNS: &[&str] = &[
    "reference",
    "location",
    "touchpoint",
    "category",
    "language",
    "status",
    "time_zone",
    "received",
    "acknowledged",
    "resolved",
    "minutes_to_acknowledge",
    "minutes_to_resolve",
    "root_cause",
    "compensation_type",
    "compensation_value",
    "compensation_currency",
    "wish",
    "wish_words",
    "complaint",
];

pub fn columns(d: Dataset) -> &'static [&'static str] {
    match d {
        Dataset::Surveys => SURVEY_COLUMNS,
        Dataset::Cases => CASE_COLUMNS,
    }
}

/// The header row people read: each column's name in their language; the keys (the JSON
/// names) without labels.
pub fn headers(d: Dataset, labels: Option<&ExportLabels>) -> Vec<String> {
    columns(d)
        .iter()
        .map(|key| match labels {
            Some(l) => l.lang.text(&format!("export_column.{key}")),
            None => (*key).to_owned(),
        })
        .collect()
}

/// The sheet's name in the reader's language.
pub fn sheet_name(d: Dataset, labels: Option<&ExportLabels>) -> String {
    let key = match d {
        Dataset::Surveys => "export_sheet.surveys",
        Dataset::Cases => "export_sheet.cases",
    };
    labels.map_or_else(
        || key.trim_start_matches("export_sheet.").to_owned(),
        |l| l.lang.text(key),
    )
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn opt_text(s: Option<&str>) -> Cell {
    s.map_or(Cell::Empty, text)
}

/// A stored UTC time as Unix seconds; a time that does not parse counts as none.
fn unix(stored: Option<&str>) -> Option<i64> {
    stored.and_then(unix_seconds)
}

/// A time in the store's zone (the zone is parsed once per row: it is a lookup among 600
/// names), to the minute.
fn local(tz: Option<chrono_tz::Tz>, at: Option<i64>) -> Cell {
    use chrono::{Offset, TimeZone};
    let Some(at) = at else {
        return Cell::Empty;
    };
    let offset = tz.map_or(0, |tz| {
        let utc = chrono::DateTime::from_timestamp(at, 0)
            .unwrap_or_default()
            .naive_utc();
        tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
    });
    Cell::Time {
        local_unix: at + i64::from(offset),
        offset_secs: offset,
    }
}

fn minutes(from: Option<i64>, to: Option<i64>) -> Cell {
    match (from, to) {
        (Some(from), Some(to)) => Cell::Number(((to - from).div_euclid(60)) as f64),
        _ => Cell::Empty,
    }
}

/// A compensation's value in its currency's major unit (KRW and JPY have no minor unit).
fn amount(minor: Option<i32>, currency: Option<&str>) -> Cell {
    let digits = crate::domain::setup::fields::minor_digits(currency.unwrap_or("EUR"));
    let unit = 10_f64.powi(digits as i32);
    minor.map_or(Cell::Empty, |m| Cell::Number(f64::from(m) / unit))
}

fn case_cells(
    tz: Option<chrono_tz::Tz>,
    received: &str,
    acknowledged: Option<&str>,
    resolved: Option<&str>,
) -> [Cell; 5] {
    let (received, acknowledged, resolved) =
        (unix(Some(received)), unix(acknowledged), unix(resolved));
    [
        local(tz, received),
        local(tz, acknowledged),
        local(tz, resolved),
        minutes(received, acknowledged),
        minutes(received, resolved),
    ]
}

/// A store's time zone by name; the last one asked for is kept (rows come store by store
/// or all of one store), as the lookup among 600 names showed in profiles.
fn zone(name: &str) -> Option<chrono_tz::Tz> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(String, Option<chrono_tz::Tz>)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((n, tz)) if n == name => *tz,
            _ => {
                let tz = name.parse::<chrono_tz::Tz>().ok();
                *last = Some((name.to_owned(), tz));
                tz
            }
        }
    })
}

pub fn survey_cells(
    s: &SurveyRow,
    still_working: Option<bool>,
    labels: Option<&ExportLabels>,
) -> Vec<Cell> {
    let tz = zone(&s.time_zone);
    let [received, acknowledged, resolved, to_ack, to_resolve] = case_cells(
        tz,
        &s.received,
        s.acknowledged.as_deref(),
        s.resolved.as_deref(),
    );
    vec![
        text(&s.reference),
        text(&s.location),
        text(&s.touchpoint),
        keyed(labels, s.category.as_deref(), ExportLabels::category),
        keyed(labels, Some(&s.language), language_name),
        text(&s.time_zone),
        received,
        acknowledged,
        resolved,
        to_ack,
        to_resolve,
        keyed(labels, s.root_cause.as_deref(), |l, k| {
            l.lang.root_cause_label(k)
        }),
        keyed(labels, s.compensation_type.as_deref(), |l, k| {
            l.lang.compensation_label(k)
        }),
        amount(s.compensation_minor, s.compensation_currency.as_deref()),
        opt_text(s.compensation_currency.as_deref()),
        local(tz, unix(s.answered_at.as_deref())),
        s.csat.map_or(Cell::Empty, |n| Cell::Number(f64::from(n))),
        keyed(labels, s.fixed.as_deref(), |l, k| {
            l.lang.text(&format!("survey.fixed_{k}"))
        }),
        s.return_likelihood
            .map_or(Cell::Empty, |n| Cell::Number(f64::from(n))),
        opt_text(s.comment.as_deref()),
        keyed(
            labels,
            still_working.map(|w| if w { "yes" } else { "no" }),
            |l, k| l.lang.text(&format!("survey.{k}")),
        ),
        keyed(labels, s.wish.as_deref(), wish_label),
    ]
}

fn wish_label(l: &ExportLabels, key: &str) -> String {
    crate::db::states::Wish::parse(key).map_or_else(
        || key.to_owned(),
        |w| crate::domain::recovery::wish::label(l.lang, w),
    )
}

pub fn case_row_cells(c: &CaseRow, labels: Option<&ExportLabels>) -> Vec<Cell> {
    let tz = zone(&c.time_zone);
    let [received, acknowledged, resolved, to_ack, to_resolve] = case_cells(
        tz,
        &c.received,
        c.acknowledged.as_deref(),
        c.resolved.as_deref(),
    );
    vec![
        text(&c.reference),
        text(&c.location),
        text(&c.touchpoint),
        keyed(labels, Some(&c.category), ExportLabels::category),
        keyed(labels, Some(&c.language), language_name),
        keyed(labels, Some(&c.status), |l, k| match k {
            "new" => l.lang.text("case_status.new_short"),
            k => l.lang.text(&format!("case_status.{k}")),
        }),
        text(&c.time_zone),
        received,
        acknowledged,
        resolved,
        to_ack,
        to_resolve,
        keyed(labels, c.root_cause.as_deref(), |l, k| {
            l.lang.root_cause_label(k)
        }),
        keyed(labels, c.compensation_type.as_deref(), |l, k| {
            l.lang.compensation_label(k)
        }),
        amount(c.compensation_minor, c.compensation_currency.as_deref()),
        opt_text(c.compensation_currency.as_deref()),
        keyed(labels, c.wish.as_deref(), wish_label),
        opt_text(c.wish_text.as_deref()),
        text(&c.body),
    ]
}

/// One page of rows after `after`; returns the rows and the id to continue after.
pub fn page(
    db: &Db,
    d: Dataset,
    scope: &Scope,
    f: &ExportFilter,
    after: &str,
    labels: Option<&ExportLabels>,
) -> Result<(Vec<Vec<Cell>>, Option<String>), DbError> {
    match d {
        Dataset::Surveys => {
            let (rows, follow) = db.read(|c| {
                let rows = exports::survey_page(c, scope, f, after, PAGE)?;
                let ids: Vec<String> = rows.iter().map(|r| r.case_id.clone()).collect();
                Ok((rows, exports::follow_ups(c, &ids)?))
            })?;
            let last = rows.last().map(|r| r.id.clone());
            let follow: std::collections::HashMap<String, Option<bool>> =
                follow.into_iter().collect();
            let cells = rows
                .iter()
                .map(|r| survey_cells(r, follow.get(&r.case_id).copied().flatten(), labels))
                .collect();
            Ok((cells, last))
        }
        Dataset::Cases => {
            let rows = db.read(|c| exports::case_page(c, scope, f, after, PAGE))?;
            let last = rows.last().map(|r| r.id.clone());
            Ok((
                rows.iter().map(|r| case_row_cells(r, labels)).collect(),
                last,
            ))
        }
    }
}

/// Reads every page in order into `pages` (rows with their cells), then `None` to say it
/// is complete; or up to the first error. Stops early when the receiver is gone. Run on its own thread,
/// so the next page is read while the last one is written out (two cores: about half the
/// time of doing both in turn).
pub fn read_pages(
    db: &Db,
    d: Dataset,
    scope: &Scope,
    f: &ExportFilter,
    labels: Option<&ExportLabels>,
    pages: &std::sync::mpsc::SyncSender<Result<Option<Vec<Vec<Cell>>>, DbError>>,
) {
    let mut after = String::new();
    loop {
        match page(db, d, scope, f, &after, labels) {
            Ok((rows, last)) => {
                let full = rows.len() as i64 == PAGE;
                if pages.send(Ok(Some(rows))).is_err() {
                    return;
                }
                match last {
                    Some(id) if full => after = id,
                    _ => {
                        let _ = pages.send(Ok(None));
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = pages.send(Err(e));
                return;
            }
        }
    }
}

/// A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) gets a leading
/// apostrophe, so it shows as text (OWASP's advice against CSV injection).
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        // The fullwidth forms too: spreadsheets in East Asian locales read them as
        // the ASCII ones.
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠') => {
            format!("'{s}").into()
        }
        _ => s.into(),
    }
}

/// A number as the CSV shows it: whole numbers bare, others with two decimals. Written
/// through integers: `format!("{:.2}")` of an f64 takes the exact (Dragon) path, which
/// was a visible part of an export's time.
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return (n as i64).to_string();
    }
    let cents = (n * 100.0).round() as i64;
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// "2026-11-28T12:27:00+09:00": ISO 8601 with the store's offset at that moment.
fn iso_text(local_unix: i64, offset_secs: i32) -> String {
    let minutes = minute_text(local_unix);
    let (date, time) = minutes.split_once(' ').unwrap_or((&minutes, "00:00"));
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let off = offset_secs.unsigned_abs();
    format!(
        "{date}T{time}:00{sign}{:02}:{:02}",
        off / 3600,
        off % 3600 / 60
    )
}

fn write_cell<W: Write>(w: &mut csv::Writer<W>, c: &Cell) -> Result<(), csv::Error> {
    match c {
        Cell::Text(s) => w.write_field(neutralize(s).as_bytes()),
        Cell::Number(n) => w.write_field(number_text(*n)),
        Cell::Time {
            local_unix,
            offset_secs,
        } => w.write_field(iso_text(*local_unix, *offset_secs)),
        Cell::Empty => w.write_field(b""),
    }
}

/// The CSV lines of some rows (and the header line first, when asked).
pub fn csv_chunk(header: Option<&[String]>, rows: &[Vec<Cell>]) -> Result<Vec<u8>, csv::Error> {
    // About 160 bytes a row: sized once, not grown by copying.
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 192 + 512));
    if let Some(h) = header {
        w.write_record(h)?;
    }
    for row in rows {
        for cell in row {
            write_cell(&mut w, cell)?;
        }
        w.write_record(None::<&[u8]>)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// JSON objects of some rows, each followed by a comma unless it is the last of all.
pub fn json_chunk(columns: &[&str], rows: &[Vec<Cell>], first: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if !(first && i == 0) {
            out.push(b',');
        }
        let object: serde_json::Map<String, serde_json::Value> = columns
            .iter()
            .zip(row)
            .map(|(k, c)| {
                let v = match c {
                    Cell::Text(s) => serde_json::Value::String(s.clone()),
                    Cell::Number(n) => serde_json::json!(n),
                    Cell::Time {
                        local_unix,
                        offset_secs,
                    } => serde_json::Value::String(iso_text(*local_unix, *offset_secs)),
                    Cell::Empty => serde_json::Value::Null,
                };
                ((*k).to_owned(), v)
            })
            .collect();
        let _ = serde_json::to_writer(&mut out, &object);
        out.push(b'\n');
    }
    out
}

/// Writes the whole export as XLSX into `file`, a page at a time (the workbook keeps
/// only the current row in memory, spilling to `tmp`).
pub fn write_xlsx(
    db: &Db,
    d: Dataset,
    scope: &Scope,
    f: &ExportFilter,
    labels: Option<&ExportLabels>,
    tmp: &std::path::Path,
    file: &mut std::fs::File,
) -> anyhow::Result<u64> {
    use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
    let mut book = Workbook::new();
    book.set_tempdir(tmp)?;
    let bold = XFormat::new().set_bold();
    // The store's local time as a real date cell; the zone is in its own column.
    let when = XFormat::new().set_num_format("yyyy-mm-dd hh:mm");
    let sheet = book.add_worksheet_with_constant_memory();
    sheet.set_name(sheet_name(d, labels))?;
    for (col, name) in headers(d, labels).iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, name, &bold)?;
    }
    let (mut row, mut after) = (1u32, String::new());
    loop {
        let (rows, last) = page(db, d, scope, f, &after, labels)?;
        for cells in &rows {
            for (col, cell) in cells.iter().enumerate() {
                let col = col as u16;
                match cell {
                    // Excel does not run formulas from string cells; no neutralising needed.
                    Cell::Text(s) => {
                        sheet.write_string(row, col, s)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(row, col, *n)?;
                    }
                    Cell::Time { local_unix, .. } => {
                        let at = ExcelDateTime::from_timestamp(*local_unix)?;
                        sheet.write_datetime_with_format(row, col, &at, &when)?;
                    }
                    Cell::Empty => {}
                }
            }
            row += 1;
        }
        match last {
            Some(id) if rows.len() as i64 == PAGE => after = id,
            _ => break,
        }
    }
    book.save_to_writer(&mut *file)?;
    file.flush()?;
    Ok(u64::from(row - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_the_rest_left_alone() {
        for evil in [
            "=HYPERLINK(\"x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "＝HYPERLINK(\"x\")",
            "＋1",
            "－2",
            "＠SUM(A1)",
        ] {
            assert!(neutralize(evil).starts_with('\''), "{evil}");
        }
        assert_eq!(neutralize("No soap"), "No soap");
        assert_eq!(number_text(12.5), "12.50");
        assert_eq!(number_text(-0.05), "-0.05");
        assert_eq!(number_text(7.0), "7");
        assert_eq!(number_text(0.1 + 0.2), "0.30");
        assert_eq!(neutralize("비누 없음"), "비누 없음");
    }

    #[test]
    fn times_are_iso_8601_with_the_zone_offset_of_their_moment() {
        let utc = unix_seconds("2026-11-28 03:27:00").unwrap();
        let seoul = zone("Asia/Seoul");
        let Cell::Time {
            local_unix,
            offset_secs,
        } = local(seoul, Some(utc))
        else {
            panic!("a time")
        };
        assert_eq!(
            iso_text(local_unix, offset_secs),
            "2026-11-28T12:27:00+09:00"
        );
        // Summer time in New York, then not.
        let ny = zone("America/New_York");
        let at = |s| match local(ny, unix_seconds(s)) {
            Cell::Time {
                local_unix,
                offset_secs,
            } => iso_text(local_unix, offset_secs),
            other => panic!("{other:?}"),
        };
        assert_eq!(at("2026-07-01 12:00:00"), "2026-07-01T08:00:00-04:00");
        assert_eq!(at("2026-12-01 12:00:00"), "2026-12-01T07:00:00-05:00");
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_ends_lines_with_crlf() {
        let rows = vec![vec![
            Cell::Text("a, \"b\"\nc".into()),
            Cell::Number(4.0),
            Cell::Number(4.5),
            Cell::Empty,
        ]];
        let header = ["x", "y", "z", "w"].map(String::from);
        let out = csv_chunk(Some(&header), &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "x,y,z,w\r\n\"a, \"\"b\"\"\nc\",4,4.50,\r\n"
        );
    }
}
