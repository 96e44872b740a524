//! The command line: clap's definition, and the options it is validated into.

pub mod args;
pub mod options;
pub mod parse;
pub mod selector;
pub mod target;

pub use args::Cli;
