//! Sticker QR codes that scan on the first try: a quiet zone of at least 4 modules, whole
//! pixels per module (no blurry scaling), error correction M, or H when a logo covers the
//! middle.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, Rgba, RgbaImage};
use qrcode::{Color, EcLevel, QrCode};

pub const MIN_PX: u32 = 128;
pub const MAX_PX: u32 = 4096;
pub const DEFAULT_PX: u32 = 1024;
pub const QUIET_ZONE_MODULES: u32 = 4;
/// Share of the code's width a logo may cover: level H restores 30% damage; a centred
/// square of 22% of the width hides under 5% of the modules, and none of the finder patterns.
const LOGO_SHARE: f64 = 0.22;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QrError {
    #[error("px must be a whole number from {MIN_PX} to {MAX_PX}")]
    SizeOutOfRange,
    #[error("the address is too long for a QR code")]
    TooLong,
}

/// Parses the `px` query value of a PNG request.
pub fn parse_px(value: Option<&str>) -> Result<u32, QrError> {
    match value {
        None => Ok(DEFAULT_PX),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|px| (MIN_PX..=MAX_PX).contains(px))
            .ok_or(QrError::SizeOutOfRange),
    }
}

fn encode(url: &str, with_logo: bool) -> Result<QrCode, QrError> {
    let level = if with_logo { EcLevel::H } else { EcLevel::M };
    QrCode::with_error_correction_level(url.as_bytes(), level).map_err(|_| QrError::TooLong)
}

/// Where the code sits in a square image of about `px` pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// Side of the whole image in pixels: never more than asked, never under 90% of it.
    pub side: u32,
    /// Pixels per module.
    pub module: u32,
    /// Pixels from the edge to the first module (the quiet zone: at least 4 modules).
    pub offset: u32,
}

pub fn layout(modules: u32, px: u32) -> Layout {
    let total = modules + 2 * QUIET_ZONE_MODULES;
    let module = (px / total).max(1);
    let tight = module * total;
    // When whole modules with a 4-module margin fall short of 90% of the size asked for,
    // the image keeps the size asked for and the margin grows: modules stay sharp.
    let side = if u64::from(tight) * 10 >= u64::from(px) * 9 {
        tight
    } else {
        px.max(tight)
    };
    Layout {
        side,
        module,
        offset: (side - module * modules) / 2,
    }
}

/// The sticker PNG. `logo` is a small RGBA image placed in the middle on a white pad.
pub fn png(url: &str, px: u32, logo: Option<&RgbaImage>) -> Result<Vec<u8>, QrError> {
    if !(MIN_PX..=MAX_PX).contains(&px) {
        return Err(QrError::SizeOutOfRange);
    }
    let code = encode(url, logo.is_some())?;
    let modules = code.width() as u32;
    let l = layout(modules, px);
    let colors = code.to_colors();

    // Grey-scale rows, drawn directly: no scaling step, so every module edge is exact.
    let side = l.side as usize;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = ((i as u32 % modules), (i as u32 / modules));
        let x0 = (l.offset + mx * l.module) as usize;
        let y0 = (l.offset + my * l.module) as usize;
        for y in y0..y0 + l.module as usize {
            pixels[y * side + x0..y * side + x0 + l.module as usize].fill(0);
        }
    }

    let mut out = Vec::with_capacity(side * side / 16);
    let encoder = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub);
    match logo {
        None => encoder.write_image(&pixels, l.side, l.side, image::ExtendedColorType::L8),
        Some(logo) => {
            let mut rgba = RgbaImage::from_fn(l.side, l.side, |x, y| {
                let v = pixels[y as usize * side + x as usize];
                Rgba([v, v, v, 255])
            });
            place_logo(&mut rgba, &l, modules, logo);
            encoder.write_image(
                rgba.as_raw(),
                l.side,
                l.side,
                image::ExtendedColorType::Rgba8,
            )
        }
    }
    .map_err(|_| QrError::TooLong)?;
    Ok(out)
}

/// The logo's box in module units: (start, size), centred, whole modules.
fn logo_box(modules: u32) -> (u32, u32) {
    let mut size = ((f64::from(modules) * LOGO_SHARE).floor() as u32).max(3);
    if (modules - size) % 2 == 1 {
        size -= 1;
    }
    ((modules - size) / 2, size)
}

fn place_logo(img: &mut RgbaImage, l: &Layout, modules: u32, logo: &RgbaImage) {
    let (start, size) = logo_box(modules);
    let pad_x = l.offset + start * l.module;
    let pad_side = size * l.module;
    // White pad over the covered modules, then the logo inside it, one module in.
    for y in pad_x..pad_x + pad_side {
        for x in pad_x..pad_x + pad_side {
            img.put_pixel(x, y, Rgba([255, 255, 255, 255]));
        }
    }
    let inner = pad_side.saturating_sub(2 * l.module).max(1);
    let scaled = image::imageops::resize(logo, inner, inner, image::imageops::FilterType::Triangle);
    let at = i64::from(pad_x + l.module);
    image::imageops::overlay(img, &scaled, at, at);
}

/// How an SVG shows the location's logo.
#[derive(Debug, Clone, Copy)]
pub enum SvgLogo<'a> {
    /// The PNG itself, as a data URI: a standalone image.
    Embedded(&'a [u8]),
    /// A `<symbol>` of this id defined elsewhere in the page: a sheet of a hundred
    /// stickers carries the logo once.
    Symbol(&'a str),
}

/// The sticker SVG: one path of dark modules on white, sized in modules (the viewer scales
/// it; vectors stay sharp), with the logo in the middle if there is one.
pub fn svg(url: &str, logo: Option<SvgLogo<'_>>) -> Result<String, QrError> {
    let code = encode(url, logo.is_some())?;
    let modules = code.width() as u32;
    let total = modules + 2 * QUIET_ZONE_MODULES;
    let colors = code.to_colors();
    let mut path = String::with_capacity(colors.len() * 4);
    for y in 0..modules {
        let row = &colors[(y * modules) as usize..((y + 1) * modules) as usize];
        let mut x = 0;
        while x < modules {
            if row[x as usize] == Color::Dark {
                let start = x;
                while x < modules && row[x as usize] == Color::Dark {
                    x += 1;
                }
                let (px, py) = (start + QUIET_ZONE_MODULES, y + QUIET_ZONE_MODULES);
                path.push_str(&format!("M{px} {py}h{}v1h-{}z", x - start, x - start));
            } else {
                x += 1;
            }
        }
    }
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {total}" shape-rendering="crispEdges"><rect width="{total}" height="{total}" fill="#fff"/><path fill="#000" d="{path}"/>"##
    );
    if let Some(logo) = logo {
        let (start, size) = logo_box(modules);
        let pad = start + QUIET_ZONE_MODULES;
        let (at, inner) = (pad + 1, size - 2);
        svg.push_str(&format!(
            r##"<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="#fff"/>"##
        ));
        match logo {
            SvgLogo::Embedded(png) => svg.push_str(&format!(
                r##"<image x="{at}" y="{at}" width="{inner}" height="{inner}" href="{}"/>"##,
                png_data_uri(png)
            )),
            SvgLogo::Symbol(id) => svg.push_str(&format!(
                r##"<use href="#{id}" x="{at}" y="{at}" width="{inner}" height="{inner}"/>"##
            )),
        }
    }
    svg.push_str("</svg>");
    Ok(svg)
}

pub fn png_data_uri(png: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

#[cfg(test)]
mod tests;
