//! Sticker rendering: PNG at 600 and 1024 px, SVG, and a sheet of 100 stickers.
//! Side by side with a baseline in the same run: the qrcode crate's own image renderer
//! followed by the image crate's default PNG encoder (what a first version would do).
//! After criterion's figures, prints p50/p99 of 2,000 timed PNG renders at 600 px.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use mend_server::db::models::{now_utc, Location, Touchpoint};
use mend_server::domain::sticker::codes::new_touchpoint_code;
use mend_server::domain::sticker::qr;
use mend_server::domain::sticker::sheet::{Paper, StickerSize};
use mend_server::web::manage::stickers::render_sheet;

const URL: &str = "https://mend.example.com/t/7K2QJX4MNP";

fn baseline_png(px: u32) -> Vec<u8> {
    let code = qrcode::QrCode::with_error_correction_level(URL, qrcode::EcLevel::M).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(px, px)
        .max_dimensions(px, px)
        .build();
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn sheet_inputs(n: usize) -> (Location, Vec<Touchpoint>) {
    let location = Location {
        id: "loc".into(),
        name: "Bench Store".into(),
        time_zone: "Europe/Warsaw".into(),
        default_language: "en".into(),
        sla_minutes: 15,
        created_at: now_utc(),
    };
    let tps = (0..n)
        .map(|i| Touchpoint {
            id: format!("tp{i}"),
            location_id: "loc".into(),
            label: format!("Table {i}"),
            code: new_touchpoint_code(),
            created_at: now_utc(),
        })
        .collect();
    (location, tps)
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("qr");
    for px in [600u32, 1024] {
        g.bench_function(format!("mend_png_{px}"), |b| {
            b.iter(|| qr::png(black_box(URL), px, None).unwrap())
        });
        g.bench_function(format!("baseline_png_{px}"), |b| {
            b.iter(|| baseline_png(black_box(px)))
        });
    }
    g.bench_function("mend_svg", |b| {
        b.iter(|| qr::svg(black_box(URL), None).unwrap())
    });
    g.finish();

    let (location, tps) = sheet_inputs(100);
    c.bench_function("sheet_100_stickers", |b| {
        b.iter(|| {
            render_sheet(
                "https://mend.example.com",
                location.clone(),
                &tps,
                None,
                Paper::A4,
                StickerSize::Mm50,
            )
            .unwrap()
        })
    });
}

fn percentiles() {
    let mut times: Vec<Duration> = (0..2_000)
        .map(|_| {
            let t = Instant::now();
            black_box(qr::png(URL, 600, None).unwrap());
            t.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "mend_png_600 over {} renders: p50 {:?}, p99 {:?}, max {:?}",
        times.len(),
        at(0.50),
        at(0.99),
        times[times.len() - 1]
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    percentiles();
}
