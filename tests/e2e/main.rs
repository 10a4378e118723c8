//! The end-to-end tests: one binary, a module per area (each used to be its own binary,
//! and each linked the whole server: 26 links per change and gigabytes of disk).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod alerts;
mod browser;
mod cases;
mod changes;
mod customer_data;
mod dashboard;
mod digest;
mod exports;
mod form;
mod http;
mod integrations;
mod kiosk_api;
mod kiosk_e2e;
mod kiosk_handoff;
mod manage;
mod metrics;
mod migrations;
mod photo_store;
mod previews;
mod print;
mod properties;
mod pseudo;
mod recovery;
mod resilience;
mod rest_api;
mod retention;
mod search;
mod security;
mod setup;
mod stickers;
mod storage;
mod surveys;
mod webhooks;
