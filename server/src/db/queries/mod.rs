//! Queries, one module per table group. Plain functions on a connection: callers choose
//! whether they run inside [`super::Db::read`] or a [`super::Db::write`] transaction.

pub mod cases;
pub mod escalations;
pub mod exports;
pub mod health;
pub mod insight;
pub mod kiosks;
pub mod locations;
pub mod operations;
pub mod outbox;
pub mod routing;
pub mod scans;
pub mod surveys;
pub mod touchpoints;
pub mod users;
