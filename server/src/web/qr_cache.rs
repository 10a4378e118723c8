//! Rendered sticker images kept in memory, bounded by their total size in bytes.

use actix_web::web::Bytes;
use quick_cache::sync::Cache;
use quick_cache::Weighter;

#[derive(Clone)]
struct ByteWeighter;

impl Weighter<String, Bytes> for ByteWeighter {
    fn weight(&self, key: &String, value: &Bytes) -> u64 {
        (key.len() + value.len()) as u64
    }
}

pub struct QrCache(Cache<String, Bytes, ByteWeighter>);

impl QrCache {
    /// `bytes`: the most memory the cached images may take together.
    pub fn new(bytes: u64) -> Self {
        QrCache(Cache::with_weighter(1_000, bytes, ByteWeighter))
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        self.0.get(key)
    }

    pub fn insert(&self, key: String, value: Bytes) {
        self.0.insert(key, value);
    }
}
