//! What customers and their phones reach without signing in.

pub mod qr;
