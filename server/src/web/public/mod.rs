//! What customers and their phones reach without signing in.

pub mod changes;
pub mod form;
pub mod form_post;
pub mod qr;
pub mod status;
pub mod survey;
