pub mod cli;
pub mod error;
pub mod output;
pub mod profile;
pub mod pss;
