//! Mend collection server: complaint forms behind QR stickers, staff alerts, case work,
//! surveys and exports. Layers: `config` → `db` → `domain` → `jobs` → `web`; `startup` wires
//! them (checked by `architecture_tests`).

// Catalogs are compiled in; a missing key falls back to English (and a test fails).
rust_i18n::i18n!("../locales", fallback = "en");

#[cfg(test)]
mod architecture_tests;

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
