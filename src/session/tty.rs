//! Raw mode behind a guard. The terminal goes back to cooked mode when the guard drops (normal
//! end, error, early return) and from a panic hook installed with it; signals are turned into
//! ordinary returns by the session so the guard drops then too.

use std::io::{IsTerminal, Write};
use std::sync::Once;

/// Whether both stdin and stdout are terminals (raw mode makes sense only then).
pub(crate) fn stdio_is_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Puts the terminal in raw mode until dropped.
pub(crate) struct RawModeGuard {
    active: bool,
}

impl RawModeGuard {
    /// Raw mode if stdin and stdout are terminals; otherwise an inert guard.
    pub(crate) fn new() -> std::io::Result<RawModeGuard> {
        if !stdio_is_terminal() {
            return Ok(RawModeGuard { active: false });
        }
        install_restore_hook();
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawModeGuard { active: true })
    }
}

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        if self.active {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Restores the terminal before the panic message prints, and nothing more (for library users
/// and tests; the program installs [`install_panic_hook`] too).
fn install_restore_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::terminal::disable_raw_mode();
            previous(info);
        }));
    });
}

/// Exit code after a panic, whatever the build's panic strategy (Rust's own code for it).
pub(crate) const EXIT_PANIC: i32 = 101;

/// Makes a panic, on any thread, end the process with [`EXIT_PANIC`] after restoring the
/// terminal: cooked mode first (kdash's approach), then the panic message, then a line saying
/// what happened. Ending the process matters for panics in spawned tasks: the runtime would
/// catch them and the session would go on with the terminal already out of raw mode. Idempotent.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A no-op when raw mode was never enabled.
            let _ = crossterm::terminal::disable_raw_mode();
            previous(info);
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "error: internal error (the panic above); the terminal was restored\n\
                 hint: this is a bug in the plugin: please report it with the message above"
            );
            let _ = err.flush();
            std::process::exit(EXIT_PANIC);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inert_without_a_terminal() {
        // Test runners capture stdout: no terminal, so the guard must not touch anything.
        if !stdio_is_terminal() {
            let g = RawModeGuard::new().unwrap();
            assert!(!g.active);
        }
    }
}
