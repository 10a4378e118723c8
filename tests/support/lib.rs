//! The harness every end-to-end test uses, by job:
//! - `database`: a database of its own per test, on SQLite or PostgreSQL;
//! - `app`: the real app on port 0, signed-in clients, staff and stores;
//! - `forms`: what a browser posts (a complaint, a CSRF token) and the outbox it leads to;
//! - `browser`: headless Chromium, printing, screenshots and WebDriver;
//! - `fixtures`: made-up rows and images, QR decoding;
//! - `smtp`, `processes`: a real SMTP server, and Mend's binaries as processes;
//! - `webhooks`: a real webhook receiver that checks signatures its own way;
//! - `s3`: a real S3-compatible server (s3s-fs) for the photo store;
//! - `skips`: what could not run here, summed up in one line at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod api;
pub mod app;
pub mod browser;
pub mod database;
pub mod fixtures;
pub mod forms;
pub mod processes;
pub mod s3;
pub mod skips;
pub mod smtp;
pub mod webhooks;

pub use api::{api_token, post_json};
pub use app::{cookies_of, raw_client, seed_demo, spawn_demo, TestApp};
pub use browser::{browser_tools, Browser, BrowserTools, BROWSER_ENV};
pub use database::{TestDb, POSTGRES_ENV};
pub use fixtures::{decode_qr_codes, plain_case, png_bomb};
pub use forms::{csrf_in, input_value, Post};
