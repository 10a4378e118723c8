//! Domain logic: plain functions on data, no HTTP.

pub mod access;
pub mod codes;
pub mod demo;
pub mod language;
pub mod logo;
pub mod password;
pub mod qr;
pub mod role;
pub mod sticker_sheet;
