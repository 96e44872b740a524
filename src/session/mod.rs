//! The session: attach to the debug container, wire the terminal, return the exit code.
//!
//! - [`tty`]: raw mode only through a guard, restored on every path (panic hook included);
//! - [`stdin`]: a dedicated thread reads stdin (not `tokio::io::stdin`, which can hang runtime
//!   shutdown on a blocked read);
//! - [`resize`]: the first size sent is (w+1, h+1), then the real one, kubectl's trick to make
//!   the remote shell redraw; SIGWINCH sends the new size;
//! - [`signals`]: SIGTERM/SIGHUP/SIGINT end the run (the caller selects on them and drops the
//!   session, which drops the raw-mode guard), SIGWINCH resizes (Ctrl-C and no
//!   resize following where there are no Unix signals);
//! - [`streams`]: what attach and exec share: every stream served by its own task, stdin
//!   closed at EOF, output drained within a bound after the status;
//! - [`exec`]: exec into a kept container (commands, reused shells): streams connected before
//!   the process starts, exit code from the exec Status;
//! - [`attach`]: kube's websocket attach, every stream read concurrently, driven by the status
//!   future, output drained with a bound after it; the exit code is read from the container's
//!   terminated state because attach always reports success.

pub mod attach;
pub mod exec;
pub mod resize;
pub mod signals;
pub mod stdin;
pub mod streams;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod tty;

pub use attach::{
    Io, Plan, StdinSource, ended_before_attach, exit_code_from, run, run_with, signal_note,
};
pub use exec::{ExecPlan, exec_with, exit_code_of};
