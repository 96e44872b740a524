//! Raw mode behind a guard. The terminal goes back to cooked mode when the guard drops (normal
//! end, error, early return) and from a panic hook installed with it; signals are turned into
//! ordinary returns by the session so the guard drops then too.

use std::io::IsTerminal;
use std::sync::Once;

/// Whether both stdin and stdout are terminals (raw mode makes sense only then).
pub fn stdio_is_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Puts the terminal in raw mode until dropped.
pub struct RawModeGuard {
    active: bool,
}

impl RawModeGuard {
    /// Raw mode if stdin and stdout are terminals; otherwise an inert guard.
    pub fn new() -> std::io::Result<RawModeGuard> {
        if !stdio_is_terminal() {
            return Ok(RawModeGuard { active: false });
        }
        install_panic_hook();
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawModeGuard { active: true })
    }

    pub fn is_active(&self) -> bool {
        self.active
    }
}

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        if self.active {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Restores the terminal before the panic message prints (kdash's approach).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::terminal::disable_raw_mode();
            previous(info);
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
            assert!(!g.is_active());
        }
    }
}
