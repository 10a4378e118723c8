//! Exports of survey answers and cases as CSV (RFC 4180, optional UTF-8 BOM for Excel,
//! formula cells neutralised), XLSX and JSON. Rows are read and written a page at a time,
//! so memory stays flat however many there are.

use std::io::Write;

use chrono::NaiveDateTime;

use crate::db::queries::exports::{self, CaseRow, ExportFilter, Scope, SurveyRow};
use crate::db::{Db, DbError};

pub const PAGE: i64 = 2_000;

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
    Empty,
}

pub const SURVEY_COLUMNS: &[&str] = &[
    "reference",
    "location",
    "touchpoint",
    "category",
    "language",
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
];

pub const CASE_COLUMNS: &[&str] = &[
    "reference",
    "location",
    "touchpoint",
    "category",
    "language",
    "status",
    "received",
    "acknowledged",
    "resolved",
    "minutes_to_acknowledge",
    "minutes_to_resolve",
    "root_cause",
    "compensation_type",
    "compensation_value",
    "compensation_currency",
    "complaint",
];

pub fn columns(d: Dataset) -> &'static [&'static str] {
    match d {
        Dataset::Surveys => SURVEY_COLUMNS,
        Dataset::Cases => CASE_COLUMNS,
    }
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn opt_text(s: Option<&str>) -> Cell {
    s.map_or(Cell::Empty, text)
}

/// A time in the store's zone (parsed once per row: it is a lookup among 600 names).
fn local(tz: Option<chrono_tz::Tz>, at: Option<NaiveDateTime>) -> Cell {
    use chrono::TimeZone;
    match (at, tz) {
        (None, _) => Cell::Empty,
        (Some(at), Some(tz)) => text(
            tz.from_utc_datetime(&at)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        ),
        (Some(at), None) => text(at.format("%Y-%m-%d %H:%M").to_string()),
    }
}

fn minutes(from: NaiveDateTime, to: Option<NaiveDateTime>) -> Cell {
    to.map_or(Cell::Empty, |to| {
        Cell::Number((to - from).num_minutes() as f64)
    })
}

fn amount(minor: Option<i32>) -> Cell {
    minor.map_or(Cell::Empty, |m| Cell::Number(f64::from(m) / 100.0))
}

fn case_cells(
    tz: Option<chrono_tz::Tz>,
    received: NaiveDateTime,
    acknowledged: Option<NaiveDateTime>,
    resolved: Option<NaiveDateTime>,
) -> [Cell; 5] {
    [
        local(tz, Some(received)),
        local(tz, acknowledged),
        local(tz, resolved),
        minutes(received, acknowledged),
        minutes(received, resolved),
    ]
}

pub fn survey_cells(s: &SurveyRow, still_working: Option<bool>) -> Vec<Cell> {
    let tz = s.time_zone.parse::<chrono_tz::Tz>().ok();
    let [received, acknowledged, resolved, to_ack, to_resolve] =
        case_cells(tz, s.received, s.acknowledged, s.resolved);
    vec![
        text(&s.reference),
        text(&s.location),
        text(&s.touchpoint),
        opt_text(s.category.as_deref()),
        text(&s.language),
        received,
        acknowledged,
        resolved,
        to_ack,
        to_resolve,
        opt_text(s.root_cause.as_deref()),
        opt_text(s.compensation_type.as_deref()),
        amount(s.compensation_minor),
        opt_text(s.compensation_currency.as_deref()),
        local(tz, s.answered_at),
        s.csat.map_or(Cell::Empty, |n| Cell::Number(f64::from(n))),
        opt_text(s.fixed.as_deref()),
        s.return_likelihood
            .map_or(Cell::Empty, |n| Cell::Number(f64::from(n))),
        opt_text(s.comment.as_deref()),
        still_working.map_or(Cell::Empty, |w| text(if w { "yes" } else { "no" })),
    ]
}

pub fn case_row_cells(c: &CaseRow) -> Vec<Cell> {
    let tz = c.time_zone.parse::<chrono_tz::Tz>().ok();
    let [received, acknowledged, resolved, to_ack, to_resolve] =
        case_cells(tz, c.received, c.acknowledged, c.resolved);
    vec![
        text(&c.reference),
        text(&c.location),
        text(&c.touchpoint),
        text(&c.category),
        text(&c.language),
        text(&c.status),
        received,
        acknowledged,
        resolved,
        to_ack,
        to_resolve,
        opt_text(c.root_cause.as_deref()),
        opt_text(c.compensation_type.as_deref()),
        amount(c.compensation_minor),
        opt_text(c.compensation_currency.as_deref()),
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
                .map(|r| survey_cells(r, follow.get(&r.case_id).copied().flatten()))
                .collect();
            Ok((cells, last))
        }
        Dataset::Cases => {
            let rows = db.read(|c| exports::case_page(c, scope, f, after, PAGE))?;
            let last = rows.last().map(|r| r.id.clone());
            Ok((rows.iter().map(case_row_cells).collect(), last))
        }
    }
}

/// A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) gets a leading
/// apostrophe, so it shows as text (OWASP's advice against CSV injection).
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => neutralize(s).into_owned(),
        Cell::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
        Cell::Number(n) => format!("{n:.2}"),
        Cell::Empty => String::new(),
    }
}

/// The CSV lines of some rows (and the header line first, when asked).
pub fn csv_chunk(header: Option<&[&str]>, rows: &[Vec<Cell>]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    if let Some(h) = header {
        w.write_record(h)?;
    }
    for row in rows {
        w.write_record(row.iter().map(cell_text))?;
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
    tmp: &std::path::Path,
    file: &mut std::fs::File,
) -> anyhow::Result<u64> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut book = Workbook::new();
    book.set_tempdir(tmp)?;
    let bold = XFormat::new().set_bold();
    let sheet = book.add_worksheet_with_constant_memory();
    sheet.set_name(match d {
        Dataset::Surveys => "Surveys",
        Dataset::Cases => "Cases",
    })?;
    for (col, name) in columns(d).iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold)?;
    }
    let (mut row, mut after) = (1u32, String::new());
    loop {
        let (rows, last) = page(db, d, scope, f, &after)?;
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
        for evil in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralize(evil).starts_with('\''), "{evil}");
        }
        assert_eq!(neutralize("No soap"), "No soap");
        assert_eq!(neutralize("비누 없음"), "비누 없음");
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_ends_lines_with_crlf() {
        let rows = vec![vec![
            Cell::Text("a, \"b\"\nc".into()),
            Cell::Number(4.0),
            Cell::Number(4.5),
            Cell::Empty,
        ]];
        let out = csv_chunk(Some(&["x", "y", "z", "w"]), &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "x,y,z,w\r\n\"a, \"\"b\"\"\nc\",4,4.50,\r\n"
        );
    }
}
