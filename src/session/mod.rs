//! The session: exec into the debug container, wire the terminal, return the exit code.
//!
//! - [`tty`]: raw mode only through a guard, restored on every path (panic hook included);
//! - [`stdin`]: a dedicated thread reads stdin (not `tokio::io::stdin`, which can hang runtime
//!   shutdown on a blocked read);
//! - [`resize`]: the first size sent is (w+1, h+1), then the real one, kubectl's trick to make
//!   the remote shell redraw; SIGWINCH sends the new size;
//! - [`signals`]: SIGTERM/SIGHUP/SIGINT end the run (the caller selects on them and drops the
//!   session, which drops the raw-mode guard), SIGWINCH resizes (Ctrl-C and no
//!   resize following where there are no Unix signals);
//! - [`streams`]: every stream served by its own task, stdin closed at EOF or held, output
//!   drained within a bound after the status;
//! - [`exec`]: the session and its lease, the exit code from the exec Status;
//! - [`cp`]: `cp` through exec, with [`local`] files or an [`archive`] on stdio.

pub(crate) mod archive;
pub(crate) mod cp;
pub(crate) mod exec;
pub(crate) mod local;
pub(crate) mod resize;
pub(crate) mod signals;
pub(crate) mod stdin;
pub(crate) mod streams;
#[cfg(feature = "test-hooks")]
pub(crate) mod test_hooks;
pub(crate) mod tty;

pub use exec::{Plan, run};
pub use streams::{Io, StdinSource};
