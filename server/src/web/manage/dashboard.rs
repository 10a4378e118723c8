//! `GET /manage/dashboard?from=&to=&location=`: the managers' view of a period, for one
//! of their locations or all of them. Numbers come from [`crate::domain::dashboard`];
//! this module only formats them and draws the charts.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::exports::Scope;
use crate::db::queries::insight::{locations_in_scope, LocationInfo};
use crate::domain::charts::{self, ChartError};
use crate::domain::dashboard::{build, Dashboard, Period};
use crate::domain::insight::{one_decimal, Figures, ParetoBar};
use crate::domain::language::Language;
use crate::domain::role::Role;
use crate::domain::setup::categories::Labels;
use crate::web::session::SignedIn;
use crate::web::{render, AppError, AppState};

#[derive(Deserialize)]
pub struct DashboardQuery {
    from: Option<String>,
    to: Option<String>,
    location: Option<String>,
}

/// A headline figure as shown: a label and a formatted value ("-" when there is none).
pub struct Shown {
    pub label: &'static str,
    pub value: String,
}

pub struct LocationLine {
    pub id: String,
    pub name: String,
    pub figures: Vec<Shown>,
}

#[derive(Template)]
#[template(path = "manage/dashboard.html")]
struct DashboardPage {
    lang: &'static str,
    from: String,
    to: String,
    choices: Vec<(String, String, bool)>,
    title: String,
    figures: Vec<Shown>,
    by_location: Vec<LocationLine>,
    /// (location, touchpoint, scans, complaints, per 100 scans)
    touchpoints: Vec<(String, String, i64, usize, String)>,
    heatmap: String,
    busiest: Vec<String>,
    categories: String,
    category_rows: Vec<(String, usize, String)>,
    root_causes: String,
    root_cause_rows: Vec<(String, usize, String)>,
    control: String,
    control_line: String,
    out_of_control: Vec<(String, u32)>,
    trend: String,
    has_trend: bool,
    export_query: String,
}

pub fn shown(f: &Figures) -> Vec<Shown> {
    let money = f.compensation_text();
    vec![
        Shown {
            label: "Complaints",
            value: f.complaints.to_string(),
        },
        Shown {
            label: "Median minutes to acknowledge",
            value: one_decimal(f.median_minutes_to_acknowledge, ""),
        },
        Shown {
            label: "Median minutes to resolve",
            value: one_decimal(f.median_minutes_to_resolve, ""),
        },
        Shown {
            label: "Acknowledged within SLA",
            value: one_decimal(f.acknowledged_within_sla_pct, "%"),
        },
        Shown {
            label: "Recovery CSAT (4-5 of 5)",
            value: one_decimal(f.csat_pct, "%"),
        },
        Shown {
            label: "Mean rating",
            value: f
                .csat_mean
                .map_or_else(|| "-".to_owned(), |m| format!("{m:.2} of 5")),
        },
        Shown {
            label: "Survey answers",
            value: f.answers.to_string(),
        },
        Shown {
            label: "Fixed, say customers",
            value: one_decimal(f.fixed_pct, "%"),
        },
        Shown {
            label: "Repeat complainants",
            value: one_decimal(f.repeat_pct, "%"),
        },
        Shown {
            label: "Compensation given",
            value: money,
        },
    ]
}

fn rows(bars: &[ParetoBar]) -> Vec<(String, usize, String)> {
    bars.iter()
        .map(|b| {
            (
                b.label.clone(),
                b.count,
                format!("{:.1}%", b.cumulative_pct),
            )
        })
        .collect()
}

fn busiest(d: &Dashboard) -> Vec<String> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
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
        .map(|(n, day, hour)| format!("{} {hour:02}:00-{:02}:00: {n}", DAYS[day], hour + 1))
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
    let (all, labels) = web::block(move || {
        db.read(|c| {
            let all: Vec<LocationInfo> = locations_in_scope(c, &s, None)?;
            let ids: Vec<String> = all.iter().map(|l| l.id.clone()).collect();
            Ok((all, Labels::read(c, &ids)?))
        })
    })
    .await??;
    let today = local_today(&all, location.as_deref(), now);
    let period = Period::parse(query.from.as_deref(), query.to.as_deref(), today)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (db, wanted) = (state.db.clone(), location.clone());
    let dashboard =
        web::block(move || build(&db, &scope, wanted.as_deref(), period, now)).await??;
    let mut d = dashboard.ok_or(AppError::NotFound)?;
    // Bars are counted by key; people read labels.
    let lang = Language::En;
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
        None => "All your locations".to_owned(),
    };
    let c = &d.control;
    render::html(&DashboardPage {
        lang: "en",
        choices: all
            .into_iter()
            .map(|l| {
                let chosen = l.id == location;
                (l.id, l.name, chosen)
            })
            .collect(),
        title,
        figures: shown(&d.figures),
        by_location: d
            .by_location
            .iter()
            .map(|l| LocationLine {
                id: l.id.clone(),
                name: l.name.clone(),
                figures: shown(&l.figures),
            })
            .collect(),
        touchpoints: d
            .touchpoints
            .iter()
            .map(|t| {
                (
                    t.location.clone(),
                    t.label.clone(),
                    t.line.scans,
                    t.line.complaints,
                    one_decimal(t.line.per_hundred_scans, ""),
                )
            })
            .collect(),
        heatmap: charts::heatmap_svg(&d.heatmap).map_err(chart_failed)?,
        busiest: busiest(&d),
        categories: charts::pareto_svg("Complaints by category", &d.categories)
            .map_err(chart_failed)?,
        category_rows: rows(&d.categories),
        root_causes: charts::pareto_svg("Root causes of resolved complaints", &d.root_causes)
            .map_err(chart_failed)?,
        root_cause_rows: rows(&d.root_causes),
        control: charts::control_chart_svg(c).map_err(chart_failed)?,
        control_line: format!(
            "Mean {:.2} a day; limits {:.2} to {:.2} (3 sigma).",
            c.centre, c.lower, c.upper
        ),
        out_of_control: c
            .out_of_control
            .iter()
            .map(|(day, n)| (day.format("%a %Y-%m-%d").to_string(), *n))
            .collect(),
        has_trend: !d.trend.is_empty(),
        trend: charts::trend_svg(&d.trend).map_err(chart_failed)?,
        export_query: query_string(&from, &to, &location),
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
