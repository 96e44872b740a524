//! Every API call, thin.

pub mod pods;
pub mod reviews;
