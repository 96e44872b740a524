pub mod cli;
pub mod error;
pub mod options;
pub mod output;
pub mod profile;
pub mod pss;
pub mod spec;
pub mod target;
