//! Test-only faults, compiled in only with the `test-hooks` cargo feature (enabled by `e2e`
//! for the end-to-end build); a default or release build contains none of this, not even the
//! variable's name (tests/cli.rs checks the binary).
//!
//! `DISTROLESS_DEBUG_TEST_PANIC=session` panics in the session right after raw mode is on;
//! `=task` panics in a spawned task at the same point. Both prove the panic hook: terminal
//! restored, message, exit code 101.

/// The variable that arms the panic.
pub(crate) const PANIC_ENV: &str = "DISTROLESS_DEBUG_TEST_PANIC";

/// Called by the session once the terminal is raw.
pub(crate) fn after_raw_mode() {
    match std::env::var(PANIC_ENV).as_deref() {
        Ok("session") => panic!("test hook: panic in the session after raw mode"),
        Ok("task") => {
            tokio::spawn(async { panic!("test hook: panic in a task after raw mode") });
        }
        _ => {}
    }
}
