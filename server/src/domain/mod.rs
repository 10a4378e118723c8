//! Domain logic: plain functions on data, no HTTP.

pub mod codes;
pub mod demo;
pub mod logo;
pub mod password;
pub mod qr;
pub mod role;
