use super::*;
use std::io::Write;

fn encoded(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

/// A JPEG with an EXIF block that holds GPS coordinates, as phones write them.
pub(crate) fn jpeg_with_gps() -> Vec<u8> {
    let jpeg = encoded(&DynamicImage::new_rgb8(64, 48), ImageFormat::Jpeg);
    // TIFF, little-endian: IFD0 with one entry (GPSInfo -> GPS IFD), the GPS IFD with
    // GPSLatitudeRef = "N".
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(0x8825u16.to_le_bytes());
    tiff.extend(4u16.to_le_bytes());
    tiff.extend(1u32.to_le_bytes());
    tiff.extend(26u32.to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(2u16.to_le_bytes());
    tiff.extend(2u32.to_le_bytes());
    tiff.extend(b"N\0\0\0");
    tiff.extend(0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(&app1);
    out.extend(&jpeg[2..]);
    out
}

#[test]
fn photos_are_shrunk_to_1600_px_with_a_thumbnail() {
    let big = DynamicImage::new_rgb8(2000, 1500);
    for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
        let p = process(&encoded(&big, format), DEFAULT_MAX_BYTES).unwrap();
        let main = image::load_from_memory(&p.jpeg).unwrap();
        assert_eq!((main.width(), main.height()), (1600, 1200), "{format:?}");
        let thumb = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!(thumb.width().max(thumb.height()), THUMB_SIDE);
        assert!(is_photo_hash(&p.hash));
    }
}

#[test]
fn exif_and_gps_are_gone_after_processing() {
    let with_gps = jpeg_with_gps();
    assert!(
        with_gps.windows(6).any(|w| w == b"Exif\0\0"),
        "the input carries EXIF"
    );
    assert!(
        image::load_from_memory(&with_gps).is_ok(),
        "and is a valid JPEG"
    );
    let p = process(&with_gps, DEFAULT_MAX_BYTES).unwrap();
    assert!(!p.jpeg.windows(4).any(|w| w == b"Exif"));
    assert!(!p.thumb.windows(4).any(|w| w == b"Exif"));
}

#[test]
fn bad_uploads_are_refused_with_the_reason() {
    assert_eq!(
        process(b"hello", DEFAULT_MAX_BYTES).unwrap_err(),
        PhotoError::NotAnImage
    );
    let small = encoded(&DynamicImage::new_rgb8(10, 10), ImageFormat::Png);
    assert_eq!(process(&small, 10).unwrap_err(), PhotoError::TooLarge);
    let mut cut = encoded(&DynamicImage::new_rgb8(300, 300), ImageFormat::Png);
    cut.truncate(cut.len() / 2);
    assert_eq!(
        process(&cut, DEFAULT_MAX_BYTES).unwrap_err(),
        PhotoError::Damaged
    );
}

#[test]
fn a_decompression_bomb_is_refused_before_it_is_expanded() {
    // A PNG header that claims 20000 x 20000 pixels, followed by a small valid stream.
    let mut bomb = Vec::new();
    {
        let mut e = png::Encoder::new(&mut bomb, 20_000, 20_000);
        e.set_color(png::ColorType::Grayscale);
        let mut w = e.write_header().unwrap();
        let mut s = w.stream_writer().unwrap();
        // A few rows are enough: the limit is checked on the header, before any pixel.
        s.write_all(&vec![0u8; 20_000 * 4]).unwrap();
        drop(s);
    }
    assert_eq!(
        process(&bomb, DEFAULT_MAX_BYTES).unwrap_err(),
        PhotoError::TooManyPixels
    );
}

#[test]
fn storing_is_by_content_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mend.db").display());
    let db = crate::db::Db::open(&crate::config::DatabaseUrl::parse(&url).unwrap()).unwrap();
    db.migrate().unwrap();
    let p = process(
        &encoded(&DynamicImage::new_rgb8(50, 50), ImageFormat::Png),
        DEFAULT_MAX_BYTES,
    )
    .unwrap();
    let now = chrono::Utc::now().naive_utc();
    let write = || {
        db.write(|c| -> Result<_, crate::db::DbError> { Ok(store(c, &p, now)?) })
            .unwrap()
    };
    let (main, thumb) = write();
    assert_eq!(write(), (main.clone(), thumb.clone()));
    assert!(is_photo_path(&main) && is_photo_path(&thumb));
    assert_eq!(
        db.read(|c| crate::db::queries::photos::find(c, &main))
            .unwrap(),
        Some(crate::db::queries::photos::Found::Here(p.jpeg.clone()))
    );
    assert!(db.read(|c| stored_exists(c, &p.hash)).unwrap());
    assert!(!db.read(|c| stored_exists(c, "../../etc/passwd")).unwrap());
    assert!(!db.read(|c| stored_exists(c, &"0".repeat(64))).unwrap());
}

#[test]
fn only_our_own_photo_paths_are_photo_paths() {
    let hash = "ab".repeat(32);
    assert!(is_photo_path(&format!("photos/ab/{hash}.jpg")));
    assert!(is_photo_path(&format!("photos/ab/{hash}.thumb.jpg")));
    for bad in [
        format!("photos/cd/{hash}.jpg"),
        format!("photos/ab/../{hash}.jpg"),
        "mend.db".to_owned(),
        format!("photos/ab/{hash}.png"),
        format!("/photos/ab/{hash}.jpg"),
    ] {
        assert!(!is_photo_path(&bad), "{bad}");
    }
}
