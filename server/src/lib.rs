//! Mend collection server: complaint forms behind QR stickers, staff alerts, case work,
//! surveys and exports. Layers: `config` → `db` → `domain` → `web`; `startup` wires them.

// Catalogs are compiled in; a missing key falls back to English (and a test fails).
rust_i18n::i18n!("../locales", fallback = "en");

pub mod admin_cli;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod jobs;
pub mod memory;
pub mod startup;
pub mod telemetry;
pub mod web;
