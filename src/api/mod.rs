//! Every API call, thin.

pub(crate) mod events;
pub(crate) mod exec;
pub(crate) mod names;
pub(crate) mod nodes;
pub(crate) mod patch;
pub(crate) mod pods;
pub(crate) mod reviews;
pub(crate) mod watch;
