//! Signals that end a session, and terminal size changes, in one place so the rest of the
//! session is the same on every platform.
//!
//! On Unix, SIGTERM, SIGHUP and SIGINT end the session with exit code 128+N after the terminal
//! is restored (the session returns, so the raw-mode guard drops); SIGWINCH sends a new size.
//! Elsewhere only Ctrl-C is seen and sizes are sent at start only.

use crate::error::Error;

fn signal_error(name: &'static str, number: u8) -> Error {
    Error::Signal { name, number }
}

/// Resolves when this process is asked to stop: SIGTERM, SIGHUP or SIGINT (Ctrl-C while the
/// terminal is not raw; in raw mode Ctrl-C is a byte for the remote shell).
#[cfg(unix)]
pub(crate) async fn termination() -> Error {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return signal_error("SIGINT", 2);
    };
    tokio::select! {
        _ = term.recv() => signal_error("SIGTERM", 15),
        _ = hup.recv() => signal_error("SIGHUP", 1),
        _ = tokio::signal::ctrl_c() => signal_error("SIGINT", 2),
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub(crate) async fn termination() -> Error {
    let _ = tokio::signal::ctrl_c().await;
    signal_error("SIGINT", 2)
}

/// Terminal size changes: `next()` resolves at each one, and never where they cannot be seen.
pub(crate) struct WindowChanges {
    #[cfg(unix)]
    inner: Option<tokio::signal::unix::Signal>,
}

impl WindowChanges {
    pub(crate) fn new() -> WindowChanges {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            WindowChanges {
                inner: signal(SignalKind::window_change()).ok(),
            }
        }
        #[cfg(not(unix))]
        WindowChanges {}
    }

    /// Waits for the next change; `false` when no more can come.
    pub(crate) async fn next(&mut self) -> bool {
        #[cfg(unix)]
        if let Some(winch) = &mut self.inner {
            return winch.recv().await.is_some();
        }
        std::future::pending::<bool>().await
    }
}

impl Default for WindowChanges {
    fn default() -> Self {
        Self::new()
    }
}
