//! Made-up data for tests: rows, images, and reading QR codes back.

/// Every QR code found in an image, decoded.
pub fn decode_qr_codes(img: &image::GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, content)| content))
        .collect()
}

/// A decompression bomb: a PNG header claiming `side` x `side` grey pixels, followed by
/// `rows` rows of them. A few kilobytes on the wire; gigabytes if fully decoded.
pub fn png_bomb(side: u32, rows: u32) -> Vec<u8> {
    let mut bomb = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bomb, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; side as usize];
        for _ in 0..rows {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        let _ = stream.finish();
    }
    bomb
}

/// A new case, with nothing but what every case has: category "other", English, status
/// "new"; tests fill in the rest with struct update syntax.
pub fn plain_case(
    location_id: &str,
    touchpoint_id: &str,
    reference: &str,
    created_at: chrono::NaiveDateTime,
) -> mend_server::db::models::Case {
    mend_server::db::models::Case {
        id: mend_server::db::models::new_id(),
        reference: reference.into(),
        location_id: location_id.into(),
        touchpoint_id: touchpoint_id.into(),
        category: "other".into(),
        body: "x".into(),
        contact_email: None,
        contact_consent: false,
        language: "en".into(),
        status: mend_server::db::states::CaseStatus::New,
        created_at,
        acknowledged_at: None,
        resolved_at: None,
        status_token_hash: None,
        render_nonce: None,
        photo_path: None,
        photo_thumb_path: None,
        assignee_id: None,
        resolution: None,
        root_cause: None,
        compensation_type: None,
        compensation_minor: None,
        compensation_currency: None,
        merged_into: None,
        device_hash: None,
        severe: None,
        erased_at: None,
        flagged_at: None,
    }
}
