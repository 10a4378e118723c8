//! Customer photos: whatever a phone sends (JPEG, PNG, WebP) becomes a JPEG of at most
//! 1600 px on the long side plus a thumbnail. Re-encoding from pixels drops EXIF, GPS
//! included. Decoding is bounded in pixels and memory, so a decompression bomb is refused
//! before it is expanded. Photos are named by content hash and kept in the photo store
//! (`db::queries::photos`; the worker may move them on to an object store).

use std::io::Cursor;

use chrono::NaiveDateTime;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

use crate::db::queries::photos;
use crate::db::DbConnection;

pub const DEFAULT_MAX_BYTES: usize = 8 * 1024 * 1024;
/// A 48-megapixel phone photo is 8000 x 6000.
pub const MAX_SIDE: u32 = 10_000;
/// More than any phone's usual photo (48 MP, and the 50 MP of some): a 10,000 x 10,000
/// PNG of 389 KB would otherwise expand to 400 MB before anything could refuse it.
pub const MAX_PIXELS: u64 = 50_000_000;
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
pub const LONG_SIDE: u32 = 1_600;
pub const THUMB_SIDE: u32 = 320;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("too large")]
    TooLarge,
    #[error("not an image")]
    NotAnImage,
    #[error("too many pixels")]
    TooManyPixels,
    #[error("damaged")]
    Damaged,
    /// Too many photos being read at once: the customer is asked to send again.
    #[error("busy")]
    Busy,
}

impl PhotoError {
    /// The catalog key of the message for the customer.
    pub fn message_key(self) -> &'static str {
        match self {
            PhotoError::TooLarge => "error.photo_too_large",
            PhotoError::NotAnImage => "error.photo_not_image",
            PhotoError::TooManyPixels => "error.photo_too_many_pixels",
            PhotoError::Damaged => "error.photo_damaged",
            PhotoError::Busy => "error.photo_busy",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    pub jpeg: Vec<u8>,
    pub thumb: Vec<u8>,
    /// Hex SHA-256 of `jpeg`: the file name, and how the form refers to an accepted photo.
    pub hash: String,
}

fn reader(upload: &[u8], max_bytes: usize) -> Result<ImageReader<Cursor<&[u8]>>, PhotoError> {
    if upload.len() > max_bytes {
        return Err(PhotoError::TooLarge);
    }
    let reader = ImageReader::new(Cursor::new(upload))
        .with_guessed_format()
        .map_err(|_| PhotoError::NotAnImage)?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
    ) {
        return Err(PhotoError::NotAnImage);
    }
    Ok(reader)
}

/// The photo's pixel count, from its header alone (nothing is decoded): what a phone does
/// not produce is refused here, before any memory is spent on it.
pub fn pixels(upload: &[u8], max_bytes: usize) -> Result<u64, PhotoError> {
    let (w, h) = reader(upload, max_bytes)?
        .into_dimensions()
        .map_err(|_| PhotoError::Damaged)?;
    let pixels = u64::from(w) * u64::from(h);
    if w > MAX_SIDE || h > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels);
    }
    Ok(pixels)
}

pub fn process(upload: &[u8], max_bytes: usize) -> Result<ProcessedPhoto, PhotoError> {
    pixels(upload, max_bytes)?;
    let reader = reader(upload, max_bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let limited = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => PhotoError::TooManyPixels,
        _ => PhotoError::Damaged,
    };
    let mut reader = reader;
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(limited)?;
    // Phones store portrait photos sideways with an orientation tag; EXIF is about to be
    // dropped, so turn the pixels now.
    let orientation = decoder.orientation().map_err(limited)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(limited)?;
    img.apply_orientation(orientation);

    // Area averaging in integers (`thumbnail`), not a float filter over the whole photo:
    // the same quality for a downscale, a fraction of the memory and time. The small
    // picture is made from the stored one, not from the original again.
    let stored = if img.width() > LONG_SIDE || img.height() > LONG_SIDE {
        img.thumbnail(LONG_SIDE, LONG_SIDE)
    } else {
        img
    };
    let jpeg = encode_jpeg(&stored, 82)?;
    let thumb = encode_jpeg(&stored.thumbnail(THUMB_SIDE, THUMB_SIDE), 75)?;
    let hash = hex::encode(Sha256::digest(&jpeg));
    Ok(ProcessedPhoto { jpeg, thumb, hash })
}

fn encode_jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::new();
    let rgb = img.to_rgb8();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&rgb)
        .map_err(|_| PhotoError::Damaged)?;
    Ok(out)
}

/// Where a photo lives, relative to the data dir.
pub fn relative_paths(hash: &str) -> (String, String) {
    let dir = format!("photos/{}", hash.get(..2).unwrap_or("00"));
    (
        format!("{dir}/{hash}.jpg"),
        format!("{dir}/{hash}.thumb.jpg"),
    )
}

/// True for the shape of a hash this module made: nothing else may name a file.
pub fn is_photo_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Stores the photo and its thumbnail in the photo store's table, in one transaction of
/// the caller's, and returns their paths. Storing the same photo again changes nothing but
/// the time it counts its grace from.
pub fn store(
    c: &mut DbConnection,
    photo: &ProcessedPhoto,
    now: NaiveDateTime,
) -> diesel::QueryResult<(String, String)> {
    let (main, thumb) = relative_paths(&photo.hash);
    photos::put(c, &main, &photo.jpeg, false, now)?;
    photos::put(c, &thumb, &photo.thumb, false, now)?;
    Ok((main, thumb))
}

/// True when a photo of this hash (both of its pictures) is stored: what a corrected post
/// may refer to instead of sending the photo again.
pub fn stored_exists(c: &mut DbConnection, hash: &str) -> diesel::QueryResult<bool> {
    if !is_photo_hash(hash) {
        return Ok(false);
    }
    let (main, thumb) = relative_paths(hash);
    photos::all_present(c, &[&main, &thumb])
}

/// True for a path this module names (`photos/ab/<hash>.jpg` or `.thumb.jpg`): nothing else
/// may name a file under the data dir.
pub fn is_photo_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("photos/") else {
        return false;
    };
    let Some((shard, name)) = rest.split_once('/') else {
        return false;
    };
    let hash = name
        .strip_suffix(".thumb.jpg")
        .or_else(|| name.strip_suffix(".jpg"))
        .unwrap_or_default();
    is_photo_hash(hash) && hash.get(..2) == Some(shard)
}

#[cfg(test)]
mod tests;
