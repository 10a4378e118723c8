//! The dashboard's charts as SVG, drawn on the server with plotters (the chart crate the
//! Rust community uses; its SVG backend escapes every text it writes). No JavaScript: the
//! SVG scales to the width of the page, and the fonts are large enough to read on a
//! phone once scaled down.

use chrono::NaiveDate;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::domain::insight::{ControlChart, Heatmap, ParetoBar, TrendPoint};
use crate::domain::language::formats;
use crate::domain::language::Language;

const WIDTH: u32 = 400;
const FONT: &str = "sans-serif";
const BLUE: RGBColor = RGBColor(11, 87, 208);
const RED: RGBColor = RGBColor(165, 14, 14);
const GREY: RGBColor = RGBColor(110, 110, 110);
/// Catalog keys of the weekdays' short names, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "weekday.mon",
    "weekday.tue",
    "weekday.wed",
    "weekday.thu",
    "weekday.fri",
    "weekday.sat",
    "weekday.sun",
];
/// Bars shown in a Pareto chart; the table beside it lists them all.
pub const PARETO_BARS: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("chart drawing failed: {0}")]
pub struct ChartError(String);

fn err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError(format!("{e:?}"))
}

/// Lets the SVG shrink to the page: keeps its viewBox, drops the fixed size.
fn responsive(svg: String, label: &str) -> String {
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    match svg.find("viewBox") {
        Some(at) => format!(
            "<svg role=\"img\" aria-label=\"{label}\" class=\"chart\" {}",
            &svg[at..]
        ),
        None => svg,
    }
}

/// Segment `i` of a segmented axis over `0..=last`; one past the end is its right edge.
fn segment(i: u32, last: u32) -> SegmentValue<u32> {
    if i <= last {
        SegmentValue::Exact(i)
    } else {
        SegmentValue::Last
    }
}

/// Complaints by hour (across) and weekday (down), darker for more.
pub fn heatmap_svg(lang: Language, cells: &Heatmap) -> Result<String, ChartError> {
    let weekdays: Vec<String> = WEEKDAYS.iter().map(|k| lang.text(k)).collect();
    let mut svg = String::new();
    let max = cells.iter().flatten().copied().max().unwrap_or(0).max(1);
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 250)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(46)
            .build_cartesian_2d((0u32..23).into_segmented(), (0u32..6).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(24)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(h) if h % 3 == 0 => format!("{h}"),
                _ => String::new(),
            })
            .y_labels(7)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(row) => weekdays
                    .get(6usize.saturating_sub(*row as usize))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, 19))
            .draw()
            .map_err(err)?;
        let rects = cells.iter().enumerate().flat_map(|(day, hours)| {
            let row = 6 - day as u32;
            hours.iter().enumerate().map(move |(hour, n)| {
                let share = f64::from(*n) / f64::from(max);
                let mix = |full: u8| (255.0 - (255.0 - f64::from(full)) * share).round() as u8;
                let colour = if *n == 0 {
                    RGBColor(244, 244, 244)
                } else {
                    RGBColor(mix(BLUE.0), mix(BLUE.1), mix(BLUE.2))
                };
                let hour = hour as u32;
                let mut r = Rectangle::new(
                    [
                        (segment(hour, 23), segment(row, 6)),
                        (segment(hour + 1, 23), segment(row + 1, 6)),
                    ],
                    colour.filled(),
                );
                r.set_margin(1, 1, 1, 1);
                r
            })
        });
        chart.draw_series(rects).map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(responsive(svg, &lang.text("chart.heatmap")))
}

/// Bars of the most frequent causes, with the running share of the total as a line. The
/// bars are numbered by rank: a label cut to fit under a bar ("waiti…") says nothing in
/// any language, and the table beside the chart gives each number its whole name.
pub fn pareto_svg(title: &str, bars: &[ParetoBar]) -> Result<String, ChartError> {
    let shown = &bars[..bars.len().min(PARETO_BARS)];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let last = shown.len().max(1) as u32 - 1;
        let top = shown.first().map_or(1, |b| b.count).max(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(40)
            .right_y_label_area_size(48)
            .build_cartesian_2d((0u32..last).into_segmented(), 0u32..top + top / 10 + 1)
            .map_err(err)?
            .set_secondary_coord((0u32..last).into_segmented(), 0f64..100f64);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(shown.len().max(1))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if (*i as usize) < shown.len() => format!("{}", i + 1),
                _ => String::new(),
            })
            .y_labels(5)
            .label_style((FONT, 18))
            .x_label_style((FONT, 14))
            .draw()
            .map_err(err)?;
        chart
            .configure_secondary_axes()
            .y_labels(5)
            .y_label_formatter(&|v| format!("{v:.0}%"))
            .label_style((FONT, 18))
            .draw()
            .map_err(err)?;
        let histogram = Histogram::vertical(&chart)
            .style(BLUE.filled())
            .margin(6)
            .data(
                shown
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (i as u32, b.count as u32)),
            );
        chart.draw_series(histogram).map_err(err)?;
        let line: Vec<(SegmentValue<u32>, f64)> = shown
            .iter()
            .enumerate()
            .map(|(i, b)| (SegmentValue::CenterOf(i as u32), b.cumulative_pct))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(line.clone(), RED.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_secondary_series(line.into_iter().map(|p| Circle::new(p, 4, RED.filled())))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(responsive(svg, title))
}

fn day_label(lang: Language, days: &[(NaiveDate, u32)], i: i32) -> String {
    usize::try_from(i)
        .ok()
        .and_then(|i| days.get(i))
        .map(|(d, _)| formats::month_day(lang, *d))
        .unwrap_or_default()
}

/// Complaints per day with the centre line and the 3-sigma limits; days outside the
/// limits are drawn as red dots.
pub fn control_chart_svg(lang: Language, chart_data: &ControlChart) -> Result<String, ChartError> {
    let days = &chart_data.days;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let last = (days.len() as i32 - 1).max(1);
        let highest = days.iter().map(|d| f64::from(d.1)).fold(0.0, f64::max);
        let top = highest.max(chart_data.upper).max(1.0) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(24)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0i32..last, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(5)
            .x_label_formatter(&|i| day_label(lang, days, *i))
            .y_labels(5)
            // Whole complaints only: a tick at 1.5 would read "2" beside the real 2.
            .y_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .label_style((FONT, 18))
            .draw()
            .map_err(err)?;
        let flat = |y: f64| vec![(0, y), (last, y)];
        chart
            .draw_series(LineSeries::new(
                flat(chart_data.centre),
                GREY.stroke_width(1),
            ))
            .map_err(err)?;
        for limit in [chart_data.upper, chart_data.lower] {
            if limit > 0.0 {
                chart
                    .draw_series(DashedLineSeries::new(
                        flat(limit),
                        6,
                        4,
                        RED.stroke_width(1),
                    ))
                    .map_err(err)?;
            }
        }
        let points: Vec<(i32, f64)> = days
            .iter()
            .enumerate()
            .map(|(i, (_, n))| (i as i32, f64::from(*n)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2)))
            .map_err(err)?;
        let upper = chart_data.upper;
        let lower = chart_data.lower;
        chart
            .draw_series(points.into_iter().map(|(i, n)| {
                if n > upper || (lower > 0.0 && n < lower) {
                    Circle::new((i, n), 5, RED.filled())
                } else {
                    Circle::new((i, n), 2, BLUE.filled())
                }
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(responsive(svg, &lang.text("chart.control")))
}

/// Mean rating per week, on the 1-5 scale.
pub fn trend_svg(lang: Language, points: &[TrendPoint]) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 240)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let last = (points.len() as i32 - 1).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(30)
            .x_label_area_size(30)
            .y_label_area_size(32)
            .build_cartesian_2d(0i32..last, 1f64..5f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(5)
            .x_label_formatter(&|i| {
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| points.get(i))
                    .map(|p| formats::month_day(lang, p.week))
                    .unwrap_or_default()
            })
            .y_labels(5)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 18))
            .draw()
            .map_err(err)?;
        let line: Vec<(i32, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (i as i32, p.csat_mean))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), BLUE.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(line.into_iter().map(|p| Circle::new(p, 4, BLUE.filled())))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(responsive(svg, &lang.text("chart.trend")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::insight::pareto;

    #[test]
    fn charts_are_svg_that_scales_and_escapes_their_labels() {
        let bars = pareto(["<script>alert(1)</script>", "wait", "wait"]);
        let svg = pareto_svg("Categories & <script>", &bars).unwrap();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"Categories &amp; &lt;script>\""));
        assert!(svg.contains("viewBox=\"0 0 400 300\""));
        assert!(!svg.contains("<script"));
        // Bars are numbered by rank; the names are in the table beside the chart.
        assert!(!svg.contains("alert(1)"));
        let opening = &svg[..svg.find('>').unwrap()];
        assert!(!opening.contains("width="), "{opening}");
    }

    #[test]
    fn every_chart_draws_with_no_data_at_all() {
        let empty = ControlChart {
            days: vec![],
            centre: 0.0,
            upper: 0.0,
            lower: 0.0,
            out_of_control: vec![],
        };
        assert!(heatmap_svg(Language::parse("ko").unwrap(), &[[0; 24]; 7]).is_ok());
        assert!(pareto_svg("x", &[]).is_ok());
        assert!(control_chart_svg(Language::parse("pl").unwrap(), &empty).is_ok());
        assert!(trend_svg(Language::parse("ja").unwrap(), &[]).is_ok());
    }
}
