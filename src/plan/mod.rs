//! Pure decisions over `&Pod` and options: no I/O, no async.

pub mod audit;
pub mod container;
pub mod profile;
pub mod pss;
pub mod records;
pub mod target;
