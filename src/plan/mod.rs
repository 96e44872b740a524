//! Pure decisions over `&Pod` and options: no I/O, no async.

pub(crate) mod audit;
pub(crate) mod container;
pub(crate) mod copy;
pub(crate) mod cp;
pub(crate) mod custom;
pub(crate) mod env;
pub(crate) mod holder;
pub(crate) mod names;
pub(crate) mod node;
pub(crate) mod ours;
pub(crate) mod profile;
pub(crate) mod progress;
pub(crate) mod pss;
pub(crate) mod records;
pub(crate) mod refusal;
pub(crate) mod scripts;
pub(crate) mod slim;
pub(crate) mod stored;
pub(crate) mod target;
pub(crate) mod user;
