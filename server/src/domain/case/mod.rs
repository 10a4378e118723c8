//! A complaint's life as a case: taken in (intake, the form's render stamp, the photo,
//! the reference), worked by staff (workflow), and found again (search).

pub mod actions;
pub mod complaint;
pub mod intake;
pub mod photo;
pub mod reference;
pub mod render_stamp;
pub mod search;
pub mod workflow;
