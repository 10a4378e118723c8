//! A business sets itself up: stores, their spots, people, bulk imports, and the log of
//! every administrative change. The web pages and the command line both call these
//! functions, so both check the same rules and record the same log entries.

pub mod audit;
pub mod categories;
pub mod fields;
pub mod first_run;
pub mod import;
pub mod people;
pub mod spots;
pub mod stores;

pub use audit::Actor;
pub use fields::{FieldError, Problem, SetupError};
