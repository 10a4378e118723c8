//! What the kiosk knows about its store and its server link at run time: the store's
//! name, language and sticker URL (kept in the outbox file, so a restart without network
//! still shows the right screen), the server's clock offset, and whether the token was
//! refused.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::RwLock;

use crate::outbox::Outbox;
use crate::server_api::StoreInfo;

const STORE_SETTING: &str = "store";

#[derive(Default)]
pub struct Store {
    info: RwLock<StoreInfo>,
    clock_offset_ms: AtomicI64,
    /// True once a heartbeat told the server's time since this start.
    clock_known: AtomicBool,
    refused: AtomicBool,
    last_synced_ms: AtomicI64,
    /// Why the last heartbeat failed; None once one succeeds.
    heartbeat_error: RwLock<Option<String>>,
}

impl Store {
    pub fn set_heartbeat_error(&self, error: Option<String>) {
        if let Ok(mut e) = self.heartbeat_error.write() {
            *e = error;
        }
    }

    pub fn heartbeat_error(&self) -> Option<String> {
        self.heartbeat_error.read().ok().and_then(|e| e.clone())
    }

    /// What the outbox file remembers from the last heartbeat.
    pub fn remembered(outbox: &Outbox) -> Store {
        let info = outbox
            .setting(STORE_SETTING)
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        Store {
            info: RwLock::new(info),
            ..Store::default()
        }
    }

    pub fn info(&self) -> StoreInfo {
        self.info.read().map(|i| i.clone()).unwrap_or_default()
    }

    /// A heartbeat's answer: kept in memory, and on disk when it changed.
    pub fn learned(&self, info: StoreInfo, clock_offset_ms: i64, outbox: &Outbox) {
        self.clock_offset_ms
            .store(clock_offset_ms, Ordering::Relaxed);
        self.clock_known.store(true, Ordering::Relaxed);
        self.refused.store(false, Ordering::Relaxed);
        if self.info() == info {
            return;
        }
        if let Ok(json) = serde_json::to_string(&info) {
            if let Err(e) = outbox.set_setting(STORE_SETTING, &json) {
                tracing::warn!(error = %e, "remembering the store's details");
            }
        }
        if let Ok(mut current) = self.info.write() {
            *current = info;
        }
    }

    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms.load(Ordering::Relaxed)
    }

    pub fn clock_known(&self) -> bool {
        self.clock_known.load(Ordering::Relaxed)
    }

    pub fn set_refused(&self, refused: bool) {
        self.refused.store(refused, Ordering::Relaxed);
    }

    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }

    pub fn mark_synced(&self) {
        self.refused.store(false, Ordering::Relaxed);
        self.last_synced_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// When taps last reached the server (Unix ms), if ever since start.
    pub fn last_synced_ms(&self) -> Option<i64> {
        Some(self.last_synced_ms.load(Ordering::Relaxed)).filter(|ms| *ms > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_remembered_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite");
        let info = StoreInfo {
            location_name: "Gangnam".into(),
            language: "ko".into(),
            sticker_url: Some("https://mend.example/t/ABCDEFGHJK".into()),
            changes: vec![std::collections::BTreeMap::from([(
                "en".to_owned(),
                "We now check the restrooms every 30 minutes".to_owned(),
            )])],
        };
        {
            let outbox = Outbox::open(&path).unwrap();
            let store = Store::remembered(&outbox);
            assert_eq!(store.info(), StoreInfo::default());
            assert!(!store.clock_known());
            store.learned(info.clone(), 1500, &outbox);
            assert_eq!(store.clock_offset_ms(), 1500);
            assert!(store.clock_known());
        }
        let outbox = Outbox::open(&path).unwrap();
        assert_eq!(Store::remembered(&outbox).info(), info);
    }
}
