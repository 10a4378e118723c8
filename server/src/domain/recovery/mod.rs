//! The recovery conversation: the customer says what would make it right (`wish`), staff
//! grant ordinary remedies on their own within what their store allows (`limits`), a
//! manager approves the rest in one click (`approval`, with its emails in `mail`), the
//! case page suggests what worked before (`suggest`), and staff start messages from the
//! store's short texts in the customer's language (`replies`).

pub mod approval;
pub mod limits;
pub mod mail;
pub mod replies;
pub mod suggest;
pub mod wish;
