use super::*;

const URL: &str = "https://mend.example.com/t/7K2QJX4MNP";

/// Decodes every QR code in a grey-scale image.
pub(crate) fn decode_all(
    width: usize,
    height: usize,
    grey: impl Fn(usize, usize) -> u8,
) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, grey);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, content)| content))
        .collect()
}

fn decode_png(bytes: &[u8]) -> (u32, Vec<String>) {
    let img = image::load_from_memory(bytes).unwrap().to_luma8();
    let (w, h) = img.dimensions();
    (
        w,
        decode_all(w as usize, h as usize, |x, y| {
            img.get_pixel(x as u32, y as u32)[0]
        }),
    )
}

/// A dark, busy logo: the worst case for the modules it covers.
fn logo() -> RgbaImage {
    RgbaImage::from_fn(200, 200, |x, y| {
        if (x / 20 + y / 20) % 2 == 0 {
            Rgba([20, 30, 120, 255])
        } else {
            Rgba([200, 40, 40, 255])
        }
    })
}

#[test]
fn png_decodes_to_the_url_at_every_size_and_is_never_larger_than_asked() {
    for px in [128, 200, 333, 600, 1024, 2048] {
        let (side, decoded) = decode_png(&png(URL, px, None).unwrap());
        assert_eq!(decoded, vec![URL.to_owned()], "px={px}");
        assert!(side <= px && side * 10 >= px * 9, "px={px} side={side}");
    }
}

#[test]
fn png_with_a_logo_still_decodes() {
    let logo = logo();
    for px in [256, 600, 1024] {
        let (_, decoded) = decode_png(&png(URL, px, Some(&logo)).unwrap());
        assert_eq!(decoded, vec![URL.to_owned()], "px={px}");
    }
}

#[test]
fn modules_are_whole_pixels_with_a_quiet_zone_of_at_least_four() {
    for px in [128, 600, 1000, 4096] {
        let code = encode(URL, false).unwrap();
        let modules = code.width() as u32;
        let l = layout(modules, px);
        assert!(l.offset >= QUIET_ZONE_MODULES * l.module, "px={px} {l:?}");
        assert!(l.side - l.offset - modules * l.module >= QUIET_ZONE_MODULES * l.module);
        assert!(l.side <= px && l.side * 10 >= px * 9, "px={px} {l:?}");
    }
    // And the pixels agree: every module is a solid square.
    let bytes = png(URL, 600, None).unwrap();
    let img = image::load_from_memory(&bytes).unwrap().to_luma8();
    assert!(
        img.pixels().all(|p| p[0] == 0 || p[0] == 255),
        "no grey edges"
    );
}

#[test]
fn sizes_outside_the_range_are_refused() {
    assert_eq!(parse_px(None), Ok(DEFAULT_PX));
    assert_eq!(parse_px(Some("600")), Ok(600));
    for bad in [
        "127",
        "4097",
        "0",
        "-5",
        "abc",
        "1e3",
        "99999999999999999999",
    ] {
        assert_eq!(parse_px(Some(bad)), Err(QrError::SizeOutOfRange), "{bad}");
    }
    assert_eq!(png(URL, 50, None), Err(QrError::SizeOutOfRange));
}

fn rasterize(svg: &str, px: u32) -> Vec<String> {
    let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).unwrap();
    let scale = px as f32 / tree.size().width();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(px, px).unwrap();
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let data = pixmap.data();
    decode_all(px as usize, px as usize, |x, y| {
        let i = (y * px as usize + x) * 4;
        ((u16::from(data[i]) + u16::from(data[i + 1]) + u16::from(data[i + 2])) / 3) as u8
    })
}

#[test]
fn svg_rasterized_decodes_to_the_url() {
    let svg = svg(URL, None).unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    for px in [300, 800] {
        assert_eq!(rasterize(&svg, px), vec![URL.to_owned()], "px={px}");
    }
}

#[test]
fn svg_with_a_logo_still_decodes() {
    let mut logo_png = Vec::new();
    logo()
        .write_to(
            &mut std::io::Cursor::new(&mut logo_png),
            image::ImageFormat::Png,
        )
        .unwrap();
    let svg = svg(URL, Some(SvgLogo::Embedded(&logo_png))).unwrap();
    assert!(svg.contains("data:image/png;base64,"));
    assert_eq!(rasterize(&svg, 800), vec![URL.to_owned()]);
}
