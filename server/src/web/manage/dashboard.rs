//! `GET /manage/dashboard?from=&to=&location=`: the managers' view of a period, for one
//! of their locations or all of them. Numbers come from [`crate::domain::insight::dashboard`];
//! this module only formats them and draws the charts.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::exports::Scope;
use crate::db::queries::insight::{locations_in_scope, LocationInfo};
use crate::db::states::Role;
use crate::domain::insight::charts::{self, ChartError};
use crate::domain::insight::dashboard::{build, Dashboard, Period};
use crate::domain::insight::{one_decimal, ParetoBar, Shown};
use crate::domain::language::formats;
use crate::domain::language::Language;
use crate::domain::setup::categories::Labels;
use crate::web::session::SignedIn;
use crate::web::{render, AppError, AppState};

#[derive(Deserialize)]
pub struct DashboardQuery {
    from: Option<String>,
    to: Option<String>,
    location: Option<String>,
}

pub struct LocationLine {
    pub id: String,
    pub name: String,
    pub figures: Vec<Shown>,
}

#[derive(Template)]
#[template(path = "manage/dashboard.html")]
struct DashboardPage {
    l: Language,
    from: String,
    to: String,
    /// The period in words of the reader's language.
    period: String,
    choices: Vec<(String, String, bool)>,
    title: String,
    figures: Vec<Shown>,
    by_location: Vec<LocationLine>,
    /// (location, touchpoint, scans, complaints, per 100 scans)
    touchpoints: Vec<(String, String, String, String, String)>,
    heatmap: String,
    busiest: Vec<String>,
    categories: String,
    category_rows: Vec<(String, String, String)>,
    root_causes: String,
    root_cause_rows: Vec<(String, String, String)>,
    control: String,
    control_line: String,
    out_of_control: Vec<(String, String)>,
    trend: String,
    has_trend: bool,
    export_query: String,
    /// "You said, we did": each change in scope, with complaints before and after.
    changes: Vec<super::changes::ChangeLine>,
    /// (what customers asked for, cases, what they got in words)
    asked: Vec<(String, String, String)>,
    /// (remedy, answers, mean satisfaction, would come back)
    remedy_scores: Vec<(String, String, String, String)>,
    remedy_note: String,
}

fn rows(lang: Language, bars: &[ParetoBar]) -> Vec<(String, String, String)> {
    bars.iter()
        .map(|b| {
            (
                b.label.clone(),
                formats::number(lang, i64::try_from(b.count).unwrap_or(i64::MAX)),
                format!("{}%", formats::decimal(lang, b.cumulative_pct, 1)),
            )
        })
        .collect()
}

fn busiest(lang: Language, d: &Dashboard) -> Vec<String> {
    let mut cells: Vec<(u32, usize, usize)> = d
        .heatmap
        .iter()
        .enumerate()
        .flat_map(|(day, hours)| {
            hours
                .iter()
                .enumerate()
                .map(move |(hour, n)| (*n, day, hour))
        })
        .filter(|c| c.0 > 0)
        .collect();
    cells.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    cells
        .into_iter()
        .take(3)
        .map(|(n, day, hour)| {
            let weekday = charts::WEEKDAYS
                .get(day)
                .map_or_else(String::new, |k| lang.text(k));
            format!("{weekday} {hour:02}:00-{:02}:00: {n}", hour + 1)
        })
        .collect()
}

fn chart_failed(e: ChartError) -> AppError {
    AppError::Internal(e.into())
}

fn query_string(from: &str, to: &str, location: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("from", from)
        .append_pair("to", to)
        .append_pair("location", location)
        .finish()
}

/// The day it is in the chosen store, or the latest day among the stores shown: a Seoul
/// store's day starts nine hours before UTC's, and its complaints of this morning belong
/// in "the last 28 days".
fn local_today(
    stores: &[LocationInfo],
    chosen: Option<&str>,
    now: chrono::NaiveDateTime,
) -> chrono::NaiveDate {
    use chrono::TimeZone;
    stores
        .iter()
        .filter(|l| chosen.is_none_or(|id| l.id == id))
        .filter_map(|l| l.time_zone.parse::<chrono_tz::Tz>().ok())
        .map(|tz| tz.from_utc_datetime(&now).date_naive())
        .max()
        .unwrap_or(now.date())
}

pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<DashboardQuery>,
) -> Result<HttpResponse, AppError> {
    if who.role == Role::Staff {
        return Err(AppError::Forbidden);
    }
    let now = state.clock.now();
    let location = query
        .location
        .clone()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty());
    let scope = Scope {
        user_id: who.user.id.clone(),
        is_admin: who.role == Role::Admin,
    };
    let (db, s) = (state.db.clone(), scope.clone());
    let chosen = location.clone();
    let (all, labels, changes, languages) = web::block(move || {
        db.read(|c| {
            let all: Vec<LocationInfo> = locations_in_scope(c, &s, None)?;
            let ids: Vec<String> = all.iter().map(|l| l.id.clone()).collect();
            // The changes at the stores shown (the chosen one, or all of the reader's).
            let zones: std::collections::HashMap<String, String> = all
                .iter()
                .filter(|l| chosen.as_deref().is_none_or(|id| l.id == id))
                .map(|l| (l.id.clone(), l.time_zone.clone()))
                .collect();
            let changes = crate::domain::process_changes::listed(c, &zones, false, now, 20)?
                .into_iter()
                .filter(|ch| ch.change.withdrawn_at.is_none() && !ch.stores.is_empty())
                .collect::<Vec<_>>();
            let languages = crate::db::queries::process_changes::languages_of(c, &ids)?;
            Ok((all, Labels::read(c, &ids)?, changes, languages))
        })
    })
    .await??;
    let today = local_today(&all, location.as_deref(), now);
    let lang = who.language();
    let period = Period::parse(query.from.as_deref(), query.to.as_deref(), today)
        .map_err(|e| AppError::BadRequest(e.text(lang)))?;
    let (db, wanted) = (state.db.clone(), location.clone());
    let dashboard =
        web::block(move || build(&db, &scope, wanted.as_deref(), period, now)).await??;
    // Remedies over the same store-local days (the chosen store's zone, else the first's).
    let shown_ids: Vec<String> = all
        .iter()
        .filter(|l| location.as_deref().is_none_or(|id| l.id == id))
        .map(|l| l.id.clone())
        .collect();
    let tz = all
        .iter()
        .find(|l| location.as_deref().is_none_or(|id| l.id == id))
        .and_then(|l| l.time_zone.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    let utc = |day: chrono::NaiveDate| {
        use chrono::TimeZone;
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&midnight)
            .earliest()
            .map_or(midnight, |t| t.naive_utc())
    };
    let (window_from, window_to) = (utc(period.from), utc(period.to + chrono::Duration::days(1)));
    let db = state.db.clone();
    let remedies = web::block(move || {
        db.read(|c| {
            crate::domain::recovery::suggest::figures(c, &shown_ids, window_from, window_to)
        })
    })
    .await??;
    let mut d = dashboard.ok_or(AppError::NotFound)?;
    // Bars are counted by key; people read labels.
    let store = d.location.as_ref().map(|l| l.id.clone());
    for bar in &mut d.categories {
        bar.label = labels.label(store.as_deref(), &bar.label, lang);
    }
    for bar in &mut d.root_causes {
        bar.label = lang.root_cause_label(&bar.label);
    }
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let location = location.unwrap_or_default();
    let title = match &d.location {
        Some(l) => l.name.clone(),
        None => lang.text("dashboard.all_locations"),
    };
    let names: std::collections::HashMap<String, (String, String)> = all
        .iter()
        .map(|l| {
            let language = languages.get(&l.id).cloned().unwrap_or_default();
            (l.id.clone(), (l.name.clone(), language))
        })
        .collect();
    let changes = super::changes::lines(lang, &changes, &names, &labels);
    let c = &d.control;
    let number = |n: i64| formats::number(lang, n);
    render::html(&DashboardPage {
        l: lang,
        period: lang.text_with(
            "dashboard.period",
            &[
                ("from", &formats::date(lang, period.from)),
                ("to", &formats::date(lang, period.to)),
            ],
        ),
        choices: all
            .into_iter()
            .map(|l| {
                let chosen = l.id == location;
                (l.id, l.name, chosen)
            })
            .collect(),
        title,
        figures: d.figures.shown(lang),
        by_location: d
            .by_location
            .iter()
            .map(|l| LocationLine {
                id: l.id.clone(),
                name: l.name.clone(),
                figures: l.figures.shown(lang),
            })
            .collect(),
        touchpoints: d
            .touchpoints
            .iter()
            .map(|t| {
                (
                    t.location.clone(),
                    t.label.clone(),
                    number(t.line.scans),
                    number(i64::try_from(t.line.complaints).unwrap_or(i64::MAX)),
                    one_decimal(lang, t.line.per_hundred_scans, ""),
                )
            })
            .collect(),
        heatmap: charts::heatmap_svg(lang, &d.heatmap).map_err(chart_failed)?,
        busiest: busiest(lang, &d),
        categories: charts::pareto_svg(&lang.text("chart.categories"), &d.categories)
            .map_err(chart_failed)?,
        category_rows: rows(lang, &d.categories),
        root_causes: charts::pareto_svg(&lang.text("chart.root_causes"), &d.root_causes)
            .map_err(chart_failed)?,
        root_cause_rows: rows(lang, &d.root_causes),
        control: charts::control_chart_svg(lang, c).map_err(chart_failed)?,
        control_line: lang.text_with(
            "dashboard.control_line",
            &[
                ("mean", &formats::decimal(lang, c.centre, 2)),
                ("lower", &formats::decimal(lang, c.lower, 2)),
                ("upper", &formats::decimal(lang, c.upper, 2)),
            ],
        ),
        out_of_control: c
            .out_of_control
            .iter()
            .map(|(day, n)| {
                (
                    formats::date(lang, *day),
                    lang.count("dashboard.complaints", u64::from(*n)),
                )
            })
            .collect(),
        has_trend: !d.trend.is_empty(),
        trend: charts::trend_svg(lang, &d.trend).map_err(chart_failed)?,
        export_query: query_string(&from, &to, &location),
        changes,
        asked: remedies
            .asked
            .iter()
            .map(|(wish, n, given)| {
                (
                    crate::domain::recovery::wish::label(lang, *wish),
                    number(i64::try_from(*n).unwrap_or(i64::MAX)),
                    given
                        .iter()
                        .map(|(kind, n)| {
                            let label = kind.as_deref().map_or_else(
                                || lang.text("suggest.nothing_given"),
                                |k| lang.compensation_label(k),
                            );
                            format!("{label} {}", number(i64::try_from(*n).unwrap_or(i64::MAX)))
                        })
                        .collect::<Vec<_>>()
                        .join(" · "),
                )
            })
            .collect(),
        remedy_scores: remedies
            .answered
            .iter()
            .map(|r| {
                let dash = || "–".to_owned();
                (
                    r.kind.as_deref().map_or_else(
                        || lang.text("suggest.nothing_given"),
                        |k| lang.compensation_label(k),
                    ),
                    number(i64::try_from(r.answers).unwrap_or(i64::MAX)),
                    r.csat.map_or_else(dash, |v| formats::decimal(lang, v, 1)),
                    r.would_return.map_or_else(dash, |v| {
                        format!("{}%", formats::decimal(lang, v * 100.0, 0))
                    }),
                )
            })
            .collect(),
        remedy_note: lang.text_with(
            "dashboard.remedies_note",
            &[(
                "answers",
                &crate::domain::recovery::suggest::MIN_ANSWERS.to_string(),
            )],
        ),
        from,
        to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(id: &str, zone: &str) -> LocationInfo {
        LocationInfo {
            id: id.into(),
            name: id.into(),
            time_zone: zone.into(),
            sla_minutes: 15,
        }
    }

    #[test]
    fn today_is_the_stores_own_day_not_utcs() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|d| d.and_hms_opt(16, 0, 0))
            .unwrap_or_default();
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default();
        let stores = [
            store("seoul", "Asia/Seoul"),
            store("krakow", "Europe/Warsaw"),
        ];
        assert_eq!(local_today(&stores, Some("seoul"), now), day(29));
        assert_eq!(local_today(&stores, Some("krakow"), now), day(28));
        assert_eq!(local_today(&stores, None, now), day(29));
        assert_eq!(local_today(&[], None, now), day(28));
    }
}
