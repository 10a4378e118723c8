//! Mend collection server: complaint forms behind QR stickers, staff alerts, case work,
//! surveys and exports. Layers: `config` → `db` → `domain` → `web`; `startup` wires them.

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod startup;
pub mod telemetry;
pub mod web;
