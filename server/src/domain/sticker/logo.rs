//! A location's sticker logo: whatever PNG or JPEG a manager uploads becomes a small PNG,
//! or a clear refusal. Decoding is bounded in bytes, in pixels and in memory, so a
//! decompression bomb is refused before it is expanded.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits, RgbaImage};
use sha2::{Digest, Sha256};

/// Largest upload accepted.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Largest decoded image accepted, per side.
pub const MAX_SIDE: u32 = 4096;
/// Decoder memory budget: a 4096 x 4096 RGBA image is 64 MiB.
const MAX_ALLOC: u64 = 80 * 1024 * 1024;
/// Stored size: a logo covers under a quarter of a sticker; this is plenty at 4096 px.
pub const STORED_SIDE: u32 = 256;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LogoError {
    #[error("The file is larger than 2 MB. Please upload a smaller PNG or JPEG.")]
    TooLarge,
    #[error("The file is empty. Please choose a PNG or JPEG image.")]
    Empty,
    #[error("This is not a PNG or JPEG image.")]
    NotAnImage,
    #[error("The image is larger than 4096 x 4096 pixels. Please upload a smaller one.")]
    TooManyPixels,
    #[error("The image could not be read; it may be damaged.")]
    Damaged,
}

impl LogoError {
    /// The reason as a catalog key, for the page in the reader's language.
    pub fn key(&self) -> &'static str {
        match self {
            LogoError::TooLarge => "logo_error.too_large",
            LogoError::Empty => "logo_error.empty",
            LogoError::NotAnImage => "logo_error.not_image",
            LogoError::TooManyPixels => "logo_error.too_many_pixels",
            LogoError::Damaged => "logo_error.damaged",
        }
    }
}

/// A logo ready to store: a PNG of at most 256 x 256 pixels and its fingerprint.
#[derive(Debug, Clone)]
pub struct NormalizedLogo {
    pub png: Vec<u8>,
    pub etag: String,
}

pub fn normalize(upload: &[u8]) -> Result<NormalizedLogo, LogoError> {
    if upload.is_empty() {
        return Err(LogoError::Empty);
    }
    if upload.len() > MAX_BYTES {
        return Err(LogoError::TooLarge);
    }
    let mut reader = ImageReader::new(Cursor::new(upload))
        .with_guessed_format()
        .map_err(|_| LogoError::NotAnImage)?;
    if !matches!(reader.format(), Some(ImageFormat::Png | ImageFormat::Jpeg)) {
        return Err(LogoError::NotAnImage);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => LogoError::TooManyPixels,
        _ => LogoError::Damaged,
    })?;
    let small = decoded.thumbnail(STORED_SIDE, STORED_SIDE).to_rgba8();
    let square = pad_to_square(&small);
    let mut png = Vec::new();
    square
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|_| LogoError::Damaged)?;
    let etag = hex::encode(&Sha256::digest(&png)[..8]);
    Ok(NormalizedLogo { png, etag })
}

/// Logos are placed in a square; a wide one is centred on white rather than stretched.
fn pad_to_square(img: &RgbaImage) -> RgbaImage {
    let side = img.width().max(img.height());
    let mut out = RgbaImage::from_pixel(side, side, image::Rgba([255, 255, 255, 255]));
    let x = i64::from((side - img.width()) / 2);
    let y = i64::from((side - img.height()) / 2);
    image::imageops::overlay(&mut out, img, x, y);
    out
}

/// Decodes a stored logo for compositing.
pub fn decode_stored(png: &[u8]) -> Option<RgbaImage> {
    image::load_from_memory_with_format(png, ImageFormat::Png)
        .ok()
        .map(|i| i.to_rgba8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(img: &image::DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    #[test]
    fn png_and_jpeg_become_a_small_square_png() {
        let wide = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            1000,
            400,
            image::Rgb([10, 20, 200]),
        ));
        for format in [ImageFormat::Png, ImageFormat::Jpeg] {
            let logo = normalize(&encode(&wide, format)).unwrap();
            let stored = decode_stored(&logo.png).unwrap();
            assert_eq!(stored.dimensions(), (STORED_SIDE, STORED_SIDE));
            assert_eq!(logo.etag.len(), 16);
        }
    }

    #[test]
    fn what_is_not_a_png_or_jpeg_is_refused() {
        assert_eq!(normalize(b"").unwrap_err(), LogoError::Empty);
        assert_eq!(
            normalize(b"hello, I am text").unwrap_err(),
            LogoError::NotAnImage
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(normalize(gif).unwrap_err(), LogoError::NotAnImage);
        assert_eq!(
            normalize(&vec![0u8; MAX_BYTES + 1]).unwrap_err(),
            LogoError::TooLarge
        );
        let mut truncated = encode(&image::DynamicImage::new_rgb8(64, 64), ImageFormat::Png);
        truncated.truncate(truncated.len() / 2);
        assert_eq!(normalize(&truncated).unwrap_err(), LogoError::Damaged);
    }

    /// A small, valid PNG that decodes to more pixels than allowed is refused before it
    /// is expanded.
    #[test]
    fn a_decompression_bomb_is_refused() {
        let bomb = bomb_png(5_000);
        assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
        assert_eq!(normalize(&bomb).unwrap_err(), LogoError::TooManyPixels);
    }

    /// side x side black grey-scale pixels: deflate shrinks them about a thousand times.
    fn bomb_png(side: u32) -> Vec<u8> {
        use std::io::Write;
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, side, side);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            let mut stream = writer.stream_writer().unwrap();
            let row = vec![0u8; side as usize];
            for _ in 0..side {
                stream.write_all(&row).unwrap();
            }
            stream.finish().unwrap();
        }
        out
    }
}
