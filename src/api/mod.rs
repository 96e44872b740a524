//! Every API call, thin.

pub mod events;
pub mod exec;
pub mod patch;
pub mod pods;
pub mod reviews;
pub mod watch;
