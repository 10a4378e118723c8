//! What Mend keeps about customers and for how long: a customer's own data (view,
//! erase) and each store's retention.

pub mod customer_data;
pub mod retention;
