//! Customer photos are decoded on threads of their own, never on the blocking pool that
//! database reads share, and within one budget of pixels for every decode at once: a
//! rush of large photos waits its turn (briefly) or is asked to send again, and cannot
//! take the server's memory or delay other pages. A photo's size is read from its header
//! first, so one that no phone produces costs no memory at all.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::db::{Db, DbError};
use crate::domain::case::photo::{self, PhotoError};

/// Megapixels being decoded at once, all photos together. Measured (bench/hardening.sh):
/// a decode holds about 8 bytes a pixel at its peak (the pixels, a turned copy for a
/// portrait, the encoder's buffers), so 48 MP (one 48 MP photo, or four of 12 MP) keeps
/// the server under some 400 MB however many photos arrive at once.
pub const BUDGET_MEGAPIXELS: u32 = 48;
/// How long a photo waits for room before the customer is asked to send again.
pub const WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PhotoDecoder {
    budget: Arc<Semaphore>,
    megapixels: u32,
    wait: Duration,
    max_bytes: usize,
    db: Db,
}

impl PhotoDecoder {
    pub fn new(db: Db, max_bytes: usize) -> PhotoDecoder {
        PhotoDecoder::with_budget(db, max_bytes, BUDGET_MEGAPIXELS, WAIT)
    }

    pub fn with_budget(db: Db, max_bytes: usize, megapixels: u32, wait: Duration) -> PhotoDecoder {
        PhotoDecoder {
            budget: Arc::new(Semaphore::new(megapixels as usize)),
            megapixels,
            wait,
            max_bytes,
            db,
        }
    }

    /// Turns an upload into a stored photo (committed before this returns) and returns its
    /// hash; `Err` is the customer's problem (or `Busy`), a `DbError` from storing it ours.
    pub async fn process_and_store(
        &self,
        upload: bytes::Bytes,
        now: chrono::NaiveDateTime,
    ) -> Result<Result<String, PhotoError>, DbError> {
        let pixels = match photo::pixels(&upload, self.max_bytes) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let share = u32::try_from(pixels.div_ceil(1_000_000))
            .unwrap_or(u32::MAX)
            .clamp(1, self.megapixels);
        let permit =
            match tokio::time::timeout(self.wait, self.budget.clone().acquire_many_owned(share))
                .await
            {
                Ok(Ok(permit)) => permit,
                _ => return Ok(Err(PhotoError::Busy)),
            };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (max, db) = (self.max_bytes, self.db.clone());
        let stopped = || DbError::Stopped("the photo thread");
        std::thread::Builder::new()
            .name("photo".into())
            .spawn(move || {
                let out = match photo::process(&upload, max) {
                    Ok(p) => {
                        // The pixels' memory goes back before the database is waited for.
                        drop(permit);
                        db.write(|c| -> Result<_, DbError> { Ok(photo::store(c, &p, now)?) })
                            .map(|_| Ok(p.hash))
                    }
                    Err(e) => Ok(Err(e)),
                };
                let _ = tx.send(out);
            })
            .map_err(|_| stopped())?;
        rx.await.unwrap_or_else(|_| Err(stopped()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> bytes::Bytes {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 120, 40]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner().into()
    }

    fn db(dir: &tempfile::TempDir) -> Db {
        let url = format!("sqlite://{}", dir.path().join("mend.db").display());
        let db = Db::open(&crate::config::DatabaseUrl::parse(&url).unwrap()).unwrap();
        db.migrate().unwrap();
        db
    }

    fn now() -> chrono::NaiveDateTime {
        chrono::Utc::now().naive_utc()
    }

    #[tokio::test]
    async fn a_photo_waits_for_room_in_the_budget_and_is_refused_politely_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let decoder = PhotoDecoder::with_budget(
            db(&dir),
            photo::DEFAULT_MAX_BYTES,
            2,
            Duration::from_millis(50),
        );
        // Everything taken by photos being decoded: the next one cannot start.
        let held = decoder.budget.clone().acquire_many_owned(2).await.unwrap();
        assert_eq!(
            decoder.process_and_store(png(64, 64), now()).await.unwrap(),
            Err(PhotoError::Busy)
        );
        drop(held);
        let hash = decoder
            .process_and_store(png(64, 64), now())
            .await
            .unwrap()
            .unwrap();
        assert!(decoder.db.read(|c| photo::stored_exists(c, &hash)).unwrap());
        // Its share is back: all of the budget is free again.
        assert_eq!(decoder.budget.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_bomb_is_refused_from_its_header_without_taking_any_budget() {
        let dir = tempfile::tempdir().unwrap();
        let decoder = PhotoDecoder::with_budget(
            db(&dir),
            photo::DEFAULT_MAX_BYTES,
            1,
            Duration::from_millis(50),
        );
        // Nothing free: had it tried to decode, it would say Busy.
        let _held = decoder.budget.clone().acquire_many_owned(1).await.unwrap();
        let mut bomb = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bomb, 10_000, 10_000);
            encoder.set_color(png::ColorType::Grayscale);
            let mut writer = encoder.write_header().unwrap();
            let mut stream = writer.stream_writer().unwrap();
            std::io::Write::write_all(&mut stream, &[0u8; 10_000]).unwrap();
            let _ = stream.finish();
        }
        assert_eq!(
            decoder.process_and_store(bomb.into(), now()).await.unwrap(),
            Err(PhotoError::TooManyPixels)
        );
    }
}
