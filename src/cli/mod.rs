//! The command line: clap's definition, and the options it is validated into.

pub(crate) mod args;
pub(crate) mod complete;
pub(crate) mod cp;
pub(crate) mod options;
pub(crate) mod parse;
pub(crate) mod selector;
pub(crate) mod target;

pub use args::Cli;
