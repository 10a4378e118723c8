//! Domain logic: plain functions on data, no HTTP.

pub mod access;
pub mod codes;
pub mod complaint;
pub mod demo;
pub mod intake;
pub mod language;
pub mod logo;
pub mod password;
pub mod photo;
pub mod qr;
pub mod reference;
pub mod render_stamp;
pub mod role;
pub mod sticker_sheet;
