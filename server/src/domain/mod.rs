//! Domain logic: plain functions on data, no HTTP.

pub mod account;
pub mod alert;
pub mod case;
pub mod clock;
pub mod demo;
pub mod insight;
pub mod kiosk;
pub mod language;
pub mod mail;
pub mod privacy;
pub mod process_changes;
pub mod recovery;
pub mod setup;
pub mod signed_link;
pub mod sticker;
pub mod survey;
pub mod webhook;
