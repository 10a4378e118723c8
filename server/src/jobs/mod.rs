//! Work done beside the requests: the outbox worker (emails and escalations) and the scan
//! counter.

pub mod background;
pub mod intake;
pub mod mailer;
pub mod outbox;
pub mod photo_store;
pub mod photos;
pub mod scans;
pub mod webhooks;
