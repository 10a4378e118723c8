//! The sticker sheet printed from a real headless Chromium: the right number of pages, the
//! right paper, stickers of the exact size, and every sticker scans to its touchpoint's URL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use mend_server::db::models::{new_id, now_utc, Touchpoint};
use mend_server::db::queries::touchpoints;
use mend_server::domain::sticker::codes::new_touchpoint_code;
use mend_server::domain::sticker::sheet::{Paper, SheetLayout, StickerSize, GAP_MM, MARGIN_MM};
use mend_testing::{browser_tools, seed_demo, TestApp, TestDb};

const PASSWORD: &str = "a long enough password";
const DPI: u32 = 150;

/// 23 touchpoints: more than one page of every layout.
async fn store_with_many_touchpoints() -> (TestApp, String, BTreeSet<String>) {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let store = seed_demo(&app);
    let location = app.location_of(&store.touchpoints[0].code);
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            for i in 0..20 {
                touchpoints::insert(
                    c,
                    &Touchpoint {
                        id: new_id(),
                        location_id: location.clone(),
                        label: format!("Table {}", i + 1),
                        code: new_touchpoint_code(),
                        created_at: now_utc(),
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    app.add_user("manager", "boss@store.example", PASSWORD, &[&location]);
    let urls = app
        .db
        .read(|c| touchpoints::for_location(c, &location))
        .unwrap()
        .into_iter()
        .map(|t| format!("{}/t/{}", app.base_url, t.code))
        .collect();
    (app, location, urls)
}

/// Width and height in millimetres of the dark things in an image: a sticker's cut line
/// is its outermost mark.
fn extent_mm(img: &image::GrayImage) -> (f64, f64) {
    let dark: Vec<(u32, u32)> = img
        .enumerate_pixels()
        .filter(|(_, _, p)| p[0] < 200)
        .map(|(x, y, _)| (x, y))
        .collect();
    let span = |v: Vec<u32>| {
        let (min, max) = (v.iter().min().unwrap(), v.iter().max().unwrap());
        f64::from(max - min + 1) * 25.4 / f64::from(DPI)
    };
    (
        span(dark.iter().map(|p| p.0).collect()),
        span(dark.iter().map(|p| p.1).collect()),
    )
}

#[tokio::test]
async fn printed_sheets_have_the_right_pages_and_sizes_and_every_sticker_scans() {
    let Some(browser) = browser_tools() else {
        return;
    };
    let (app, location, urls) = store_with_many_touchpoints().await;
    let client = app.sign_in("boss@store.example", PASSWORD).await;
    let out = tempfile::tempdir().unwrap();

    // (paper, sticker size in mm, stickers per page, paper name in pdfinfo)
    for (paper, size, per_page, paper_name) in [
        ("a4", 50, 15, "(A4)"),
        ("a4", 70, 6, "(A4)"),
        ("letter", 50, 12, "(letter)"),
        ("letter", 70, 6, "(letter)"),
    ] {
        let html = client
            .get(app.url(&format!(
                "/manage/locations/{location}/stickers?paper={paper}&size={size}"
            )))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The page is self-contained (inline SVG, no external resources): print the same
        // HTML a signed-in manager gets.
        let page = out.path().join(format!("{paper}-{size}.html"));
        std::fs::write(&page, html).unwrap();
        let pdf = out.path().join(format!("{paper}-{size}.pdf"));
        browser.print_to_pdf(&format!("file://{}", page.display()), &pdf);

        let (pages, page_size) = browser.pdf_info(&pdf);
        assert_eq!(pages, urls.len().div_ceil(per_page), "{paper} {size}mm");
        assert!(page_size.ends_with(paper_name), "{paper}: {page_size}");

        // Cut each sticker out where the layout puts it, in millimetres, and scan it alone.
        let layout = SheetLayout::new(
            Paper::parse(paper).unwrap(),
            StickerSize::parse(&size.to_string()).unwrap(),
        );
        let (paper_w, _) = Paper::parse(paper).unwrap().mm();
        let size_mm = f64::from(size);
        let grid_w = layout.columns as f64 * size_mm + (layout.columns - 1) as f64 * GAP_MM;
        let left = (paper_w - grid_w) / 2.0;
        let px = |mm: f64| (mm * f64::from(DPI) / 25.4).round() as u32;
        let mut found = BTreeSet::new();
        for (n, page) in browser.pdf_pages(&pdf, DPI).iter().enumerate() {
            let on_page = per_page.min(urls.len() - n * per_page);
            for i in 0..on_page {
                let (col, row) = (i % layout.columns, i / layout.columns);
                let x = left + col as f64 * (size_mm + GAP_MM);
                let y = MARGIN_MM + row as f64 * (size_mm + GAP_MM);
                // 2 mm of slack on each side: inside the 5 mm gap, so no neighbour is cut in.
                let slack = 2.0;
                let cell = image::imageops::crop_imm(
                    page,
                    px(x - slack),
                    px(y - slack),
                    px(size_mm + 2.0 * slack),
                    px(size_mm + 2.0 * slack),
                )
                .to_image();
                let (w, h) = extent_mm(&cell);
                let at = format!("{paper} {size}mm page {} sticker {}", n + 1, i + 1);
                assert!(
                    (w - size_mm).abs() < 0.5 && (h - size_mm).abs() < 0.5,
                    "{at}: {w:.2} x {h:.2} mm"
                );
                // As a phone's scanner does, a second look if the first fails: the same
                // cell in pure black and white (rqrr's sampling of anti-aliased edges at
                // this resolution failed error correction once in many runs).
                let sharp = image::GrayImage::from_fn(cell.width(), cell.height(), |x, y| {
                    image::Luma([if cell.get_pixel(x, y).0[0] < 128 {
                        0
                    } else {
                        255
                    }])
                });
                let decoded = [cell, sharp].into_iter().find_map(|img| {
                    let mut prepared = rqrr::PreparedImage::prepare(img);
                    let grids = prepared.detect_grids();
                    assert_eq!(grids.len(), 1, "{at}");
                    grids[0].decode().ok().map(|(_, text)| text)
                });
                found.insert(decoded.unwrap_or_else(|| panic!("{at}: no decode")));
            }
        }
        assert_eq!(found, urls, "{paper} {size}mm: every sticker, once");
    }
}
