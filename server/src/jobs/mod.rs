//! Work done beside the requests.

pub mod scans;
