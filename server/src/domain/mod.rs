//! Domain logic: plain functions on data, no HTTP.

pub mod access;
pub mod accounts;
pub mod alert_settings;
pub mod alerts;
pub mod case_workflow;
pub mod clock;
pub mod codes;
pub mod complaint;
pub mod customer_mail;
pub mod demo;
pub mod email;
pub mod escalation;
pub mod intake;
pub mod language;
pub mod logo;
pub mod mail_render;
pub mod password;
pub mod photo;
pub mod qr;
pub mod reference;
pub mod render_stamp;
pub mod role;
pub mod routing;
pub mod signed_link;
pub mod sticker_sheet;
