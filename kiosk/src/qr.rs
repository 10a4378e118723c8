//! QR codes for the screen, drawn here as SVG so the sticker code shows without network.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG QR code of `text` that scales to its box (quiet zone included).
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .quiet_zone(true)
            .min_dimensions(256, 256)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_becomes_an_svg_and_nonsense_length_does_not_panic() {
        let svg = super::svg("https://mend.example/t/ABCDEFGHJK").unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        assert!(super::svg(&"x".repeat(10_000)).is_none());
    }
}
