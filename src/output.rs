//! The one printer: status, warnings and errors to its stderr, data to its stdout.
//!
//! Its streams are the process's (`Printer::new`) or any writers (`Printer::to`, and
//! `Printer::capture` for tests), as kubectl's IOStreams: every message of a run goes through
//! the printer it was given, and clippy's `print_stdout`/`print_stderr` lints keep `print!`
//! out of the crate. Three writers stand outside it, each for a reason: the interactive
//! session's remote bytes (raw terminal data, written by `session` to the handles
//! [`Printer::session_streams`] gives), the panic hook (which must work whatever state the run is
//! in), and the `tracing` logs of `-v` (stderr, set up by `main`).
//!
//! `-q` silences status lines but never warnings or errors. Colour only when stderr is a
//! terminal and `NO_COLOR` is unset (<https://no-color.org>).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::Error;

/// A writer the printer shares with its copies (the pods of a fan-out print through one).
type Stream = Arc<Mutex<dyn Write + Send>>;

/// Where messages go and how they look. Cheap to clone: copies share the streams.
#[derive(Clone)]
#[allow(clippy::struct_excessive_bools)] // four independent switches
pub struct Printer {
    quiet: bool,
    color: bool,
    out: Stream,
    err: Stream,
    /// The process's own streams: the session writes its bytes there directly.
    process: bool,
    /// Progress lines are drawn: stderr is a terminal, and not `-q`.
    progress: bool,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("quiet", &self.quiet)
            .field("color", &self.color)
            .field("process", &self.process)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

/// What a [`Printer::capture`] printer wrote.
#[derive(Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(PoisonError::into_inner)).into()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(PoisonError::into_inner)).into()
    }
}

/// A shared buffer as a writer.
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Printer {
    /// A printer on this process's stdout and stderr: colour decided from the environment.
    pub fn new(quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let color = terminal && std::env::var_os("NO_COLOR").is_none();
        Printer {
            quiet,
            color,
            out: Arc::new(Mutex::new(std::io::stdout())),
            err: Arc::new(Mutex::new(std::io::stderr())),
            process: true,
            progress: terminal && !quiet,
        }
    }

    /// A printer on the given writers.
    pub(crate) fn to(
        out: impl Write + Send + 'static,
        err: impl Write + Send + 'static,
        quiet: bool,
        color: bool,
    ) -> Self {
        Printer {
            quiet,
            color,
            out: Arc::new(Mutex::new(out)),
            err: Arc::new(Mutex::new(err)),
            process: false,
            progress: false,
        }
    }

    /// A printer into memory, and what it wrote.
    pub fn capture(quiet: bool) -> (Self, Captured) {
        let captured = Captured::default();
        let printer = Printer::to(
            Buffer(captured.out.clone()),
            Buffer(captured.err.clone()),
            quiet,
            false,
        );
        (printer, captured)
    }

    /// The same streams, without status lines (warnings and errors still show).
    #[must_use]
    pub(crate) fn quieted(&self) -> Self {
        Printer {
            quiet: true,
            progress: false,
            ..self.clone()
        }
    }

    /// A copy that draws progress lines as on a terminal (tests).
    #[cfg(test)]
    pub(crate) fn with_progress(mut self) -> Self {
        self.progress = true;
        self
    }

    /// A progress line drawn over the previous one, on a terminal only (not with `-q`, not on
    /// a pipe or file): carriage return, the line, erase to its end.
    pub(crate) fn progress(&self, line: &str) {
        if self.progress {
            self.line(&format!("\r{line}\x1b[K"));
        }
    }

    /// Erases the progress line, so that what follows starts on a clean line.
    pub(crate) fn progress_done(&self) {
        if self.progress {
            self.line("\r\x1b[K");
        }
    }

    /// A writer of data to stdout (a tar archive), through the printer's stream.
    pub(crate) fn data_writer(&self) -> DataWriter {
        DataWriter(self.out.clone())
    }

    /// Where an interactive session writes the remote stdout and stderr: the process's
    /// handles for a process printer (raw bytes to the terminal, written as they come), else
    /// the printer's own streams.
    pub(crate) fn session_streams(&self) -> (SessionStream, SessionStream) {
        if self.process {
            (
                SessionStream::Stdout(tokio::io::stdout()),
                SessionStream::Stderr(tokio::io::stderr()),
            )
        } else {
            (
                SessionStream::Shared(self.out.clone()),
                SessionStream::Shared(self.err.clone()),
            )
        }
    }

    /// A progress or status line (suppressed by `-q`). In raw mode the caller must not use it.
    pub(crate) fn status(&self, msg: &str) {
        if !self.quiet {
            self.line(&format!("{msg}\n"));
        }
    }

    /// A warning: always shown.
    pub(crate) fn warn(&self, msg: &str) {
        let tag = self.paint("warning:", "1;33");
        self.line(&format!("{tag} {msg}\n"));
    }

    /// The error, its source chain, and its hint.
    pub fn error(&self, err: &Error) {
        self.line(&self.render_error(err));
    }

    /// `error: ...` / `  caused by: ...` / `hint: ...` lines, as printed.
    pub(crate) fn render_error(&self, err: &Error) -> String {
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
        // A closed stdout (`| head`) is not worth an error of its own.
        write_to(&self.out, bytes);
    }

    /// Data for stderr (a remote command's own stderr).
    pub(crate) fn data_stderr(&self, bytes: &[u8]) {
        self.line_bytes(bytes);
    }

    /// A failure in one of many pods: `PREFIX error: MESSAGE`, and the first line of the hint.
    pub(crate) fn pod_failure(&self, prefix: &str, message: &str, hint: Option<&str>) {
        let mut text = format!("{prefix} {} {message}\n", self.paint("error:", "1;31"));
        if let Some(h) = hint.and_then(|h| h.lines().next()) {
            text.push_str(&format!("{prefix} {} {h}\n", self.paint("hint:", "1;36")));
        }
        self.line(&text);
    }

    fn line_bytes(&self, bytes: &[u8]) {
        write_to(&self.err, bytes);
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn line(&self, text: &str) {
        write_to(&self.err, text.as_bytes());
    }
}

/// Data for stdout as a [`Write`]: each write goes through the printer's stream.
pub(crate) struct DataWriter(Stream);

impl Write for DataWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

fn write_to(stream: &Stream, bytes: &[u8]) {
    let mut w = stream.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = w.write_all(bytes).and_then(|()| w.flush());
}

/// An async writer for the session's remote output: the process's stdout or stderr, or a
/// printer's stream (written in place: the bytes are small and the writer is memory or a
/// file in that case).
pub enum SessionStream {
    Stdout(tokio::io::Stdout),
    Stderr(tokio::io::Stderr),
    Shared(Stream),
}

impl tokio::io::AsyncWrite for SessionStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            SessionStream::Stdout(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            SessionStream::Stderr(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            SessionStream::Shared(s) => std::task::Poll::Ready(
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .write_all(buf)
                    .map(|()| buf.len()),
            ),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            SessionStream::Stdout(s) => std::pin::Pin::new(s).poll_flush(cx),
            SessionStream::Stderr(s) => std::pin::Pin::new(s).poll_flush(cx),
            SessionStream::Shared(s) => {
                std::task::Poll::Ready(s.lock().unwrap_or_else(PoisonError::into_inner).flush())
            }
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            SessionStream::Stdout(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            SessionStream::Stderr(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            SessionStream::Shared(_) => std::task::Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_then_hint_without_color() {
        let p = Printer::to(std::io::sink(), std::io::sink(), false, false);
        let text = p.render_error(&Error::Usage("bad flag".into()));
        assert_eq!(
            text,
            "error: bad flag\nhint: see 'kubectl distroless-debug --help'\n"
        );
    }

    #[test]
    fn source_chain_is_printed_once() {
        let p = Printer::to(std::io::sink(), std::io::sink(), false, false);
        let err = Error::Io {
            context: "reading --custom",
            source: std::io::Error::other("disk on fire"),
        };
        let text = p.render_error(&err);
        assert_eq!(text, "error: reading --custom: disk on fire\n");
    }

    #[test]
    fn color_wraps_tags_only() {
        let p = Printer::to(std::io::sink(), std::io::sink(), true, true);
        let text = p.render_error(&Error::Usage("x".into()));
        assert!(text.starts_with("\x1b[1;31merror:\x1b[0m x\n"));
        assert!(p.quiet);
    }

    #[test]
    fn data_to_stdout_messages_to_stderr_and_quiet_keeps_warnings() {
        let (p, seen) = Printer::capture(false);
        p.data(b"result\n");
        p.status("Waiting");
        p.warn("careful");
        p.data_stderr(b"remote stderr\n");
        p.pod_failure("[pod/a]", "refused", Some("hint: one\ntwo"));
        p.error(&Error::Usage("bad".into()));
        assert_eq!(seen.stdout(), "result\n");
        assert_eq!(
            seen.stderr(),
            "Waiting\nwarning: careful\nremote stderr\n[pod/a] error: refused\n\
             [pod/a] hint: hint: one\nerror: bad\nhint: see 'kubectl distroless-debug --help'\n"
        );
        let mut w = p.data_writer();
        w.write_all(b"tar").unwrap();
        assert_eq!(seen.stdout(), "result\ntar");
        let q = p.quieted();
        q.status("hidden");
        q.warn("shown");
        assert!(
            seen.stderr().ends_with("help'\nwarning: shown\n"),
            "{}",
            seen.stderr()
        );
    }

    #[test]
    fn progress_lines_only_on_a_terminal() {
        let (p, seen) = Printer::capture(false);
        p.progress("not on a pipe");
        p.progress_done();
        assert_eq!(seen.stderr(), "");
        let t = p.clone().with_progress();
        t.progress("12 B");
        t.progress_done();
        assert_eq!(seen.stderr(), "\r12 B\x1b[K\r\x1b[K");
        t.quieted().progress("quiet");
        assert_eq!(seen.stderr(), "\r12 B\x1b[K\r\x1b[K");
    }
}
