//! Pure decisions over `&Pod` and options: no I/O, no async.

pub mod audit;
pub mod container;
pub mod custom;
pub mod env;
pub mod names;
pub mod profile;
pub mod progress;
pub mod pss;
pub mod records;
pub mod refusal;
pub mod scripts;
pub mod slim;
pub mod target;
pub mod user;
