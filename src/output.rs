//! The one printer: status and errors to stderr, data to stdout.
//!
//! Nothing else in the crate prints (clippy's `print_stdout`/`print_stderr` lints enforce it);
//! the interactive session writes the remote stream's raw bytes through the async handles in
//! `session`, which is data, not messages. `-q` silences status lines but never warnings or
//! errors. Colour only when stderr is a terminal and `NO_COLOR` is unset
//! (<https://no-color.org>).

use std::io::{IsTerminal, Write};

use crate::error::Error;

/// Where messages go and how they look.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    quiet: bool,
    color: bool,
}

impl Printer {
    /// A printer for this process: colour decided from the environment.
    pub fn new(quiet: bool) -> Self {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Printer { quiet, color }
    }

    /// A printer with explicit settings (tests, or before flags are parsed).
    pub fn with(quiet: bool, color: bool) -> Self {
        Printer { quiet, color }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A progress or status line (suppressed by `-q`). In raw mode the caller must not use it.
    pub fn status(&self, msg: &str) {
        if !self.quiet {
            self.line(&format!("{msg}\n"));
        }
    }

    /// A warning: always shown.
    pub fn warn(&self, msg: &str) {
        let tag = self.paint("warning:", "1;33");
        self.line(&format!("{tag} {msg}\n"));
    }

    /// The error, its source chain, and its hint.
    pub fn error(&self, err: &Error) {
        self.line(&self.render_error(err));
    }

    /// `error: ...` / `  caused by: ...` / `hint: ...` lines, as printed.
    pub fn render_error(&self, err: &Error) -> String {
        let mut out = format!("{} {err}\n", self.paint("error:", "1;31"));
        let mut source = std::error::Error::source(err);
        let mut last = err.to_string();
        while let Some(s) = source {
            let text = s.to_string();
            // thiserror messages often embed their source already: don't repeat it.
            if !last.contains(&text) {
                out.push_str(&format!("  caused by: {text}\n"));
            }
            last = text;
            source = s.source();
        }
        if let Some(hint) = err.hint() {
            out.push_str(&format!("{} {hint}\n", self.paint("hint:", "1;36")));
        }
        out
    }

    /// Data for stdout (what a script captures).
    pub fn data(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (`| head`) is not worth an error of its own.
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }

    /// Data for stderr (a remote command's own stderr).
    pub fn data_stderr(&self, bytes: &[u8]) {
        self.line_bytes(bytes);
    }

    /// A failure in one of many pods: `PREFIX error: MESSAGE`, and the first line of the hint.
    pub fn pod_failure(&self, prefix: &str, message: &str, hint: Option<&str>) {
        let mut text = format!("{prefix} {} {message}\n", self.paint("error:", "1;31"));
        if let Some(h) = hint.and_then(|h| h.lines().next()) {
            text.push_str(&format!("{prefix} {} {h}\n", self.paint("hint:", "1;36")));
        }
        self.line(&text);
    }

    fn line_bytes(&self, bytes: &[u8]) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(bytes).and_then(|()| err.flush());
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_then_hint_without_color() {
        let p = Printer::with(false, false);
        let text = p.render_error(&Error::Usage("bad flag".into()));
        assert_eq!(
            text,
            "error: bad flag\nhint: see 'kubectl distroless-debug --help'\n"
        );
    }

    #[test]
    fn source_chain_is_printed_once() {
        let p = Printer::with(false, false);
        let err = Error::Io {
            context: "reading --custom",
            source: std::io::Error::other("disk on fire"),
        };
        let text = p.render_error(&err);
        assert_eq!(text, "error: reading --custom: disk on fire\n");
    }

    #[test]
    fn color_wraps_tags_only() {
        let p = Printer::with(true, true);
        let text = p.render_error(&Error::Usage("x".into()));
        assert!(text.starts_with("\x1b[1;31merror:\x1b[0m x\n"));
        assert!(p.is_quiet());
    }
}
