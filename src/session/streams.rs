//! Wiring a remote process's streams to ours and running it to its end.
//!
//! Every requested stream is served by its own task, because an unread stream blocks the whole
//! session (kube's buffers are bounded). The session ends when the status arrives; output still
//! in flight is drained within [`DRAIN`], since after an abrupt disconnect a reader can stay
//! pending forever.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{AttachParams, AttachedProcess};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::tty::RawModeGuard;
use super::{resize, stdin};
use crate::error::Error;

/// How long output may keep flowing after the status arrived.
pub(crate) const DRAIN: Duration = Duration::from_secs(2);

/// Where the session's bytes come from and go to.
pub struct Io<O, E> {
    pub stdout: O,
    pub stderr: E,
    pub stdin: StdinSource,
    /// Terminal size (columns, rows) at start, for a TTY session.
    pub size: Option<(u16, u16)>,
    /// Follow SIGWINCH for later sizes.
    pub follow_resize: bool,
}

/// Where forwarded stdin comes from.
pub enum StdinSource {
    /// This process's stdin, read on a dedicated thread started after raw mode is on.
    Process,
    /// A channel (tests, and input read once for many pods).
    Channel(tokio::sync::mpsc::Receiver<Vec<u8>>),
}

/// What the remote stdin carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdinUse {
    /// Our stdin, then EOF.
    Forward,
    /// Nothing, held open until the process ends: its end (this process gone, the connection
    /// lost) tells the session script that the client is gone.
    Hold,
}

/// The streams of an exec: stdin, stdout always, stderr apart unless a TTY merges it; 64 KiB
/// buffers (kube's 1 KiB default throttles throughput).
pub(crate) fn params(container: &str, tty: bool) -> AttachParams {
    AttachParams {
        container: Some(container.to_owned()),
        stdin: true,
        stdout: true,
        stderr: !tty,
        tty,
        max_stdin_buf_size: Some(64 * 1024),
        max_stdout_buf_size: Some(64 * 1024),
        max_stderr_buf_size: Some(64 * 1024),
    }
}

/// Raw mode for a TTY session, `None` otherwise; the terminal is restored when it drops.
pub(crate) fn raw_mode(tty: bool) -> Result<Option<RawModeGuard>, Error> {
    if !tty {
        return Ok(None);
    }
    RawModeGuard::new().map(Some).map_err(|source| Error::Io {
        context: "cannot put the terminal in raw mode",
        source,
    })
}

/// Runs `process` with `io` until its status arrives (None: the connection was lost), then
/// stops every stream task and the process's connection.
pub(crate) async fn pump<O, E>(
    process: &mut AttachedProcess,
    io: Io<O, E>,
    stdin_use: StdinUse,
) -> Option<Status>
where
    O: AsyncWrite + Unpin + Send + 'static,
    E: AsyncWrite + Unpin + Send + 'static,
{
    let (size, follow) = (io.size, io.follow_resize);
    // The size sender must stay alive for the whole session, or kube stops forwarding sizes.
    // Notified when the remote process first wrote: the terminal's size is sent once more.
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let resize_task = process
        .terminal_size()
        .map(|tx| tokio::spawn(resize::follow(tx, size, follow, started.clone())));
    let stdin_task = process
        .stdin()
        .map(|w| tokio::spawn(feed_stdin(w, io.stdin, stdin_use)));
    let out_task = process
        .stdout()
        .map(|r| tokio::spawn(copy(r, io.stdout, Some(started))));
    let err_task = process
        .stderr()
        .map(|r| tokio::spawn(copy(r, io.stderr, None)));

    let status = match process.take_status() {
        Some(s) => s.await,
        None => None,
    };
    let drain = async {
        if let Some(t) = out_task {
            let _ = t.await;
        }
        if let Some(t) = err_task {
            let _ = t.await;
        }
    };
    let _ = tokio::time::timeout(DRAIN, drain).await;
    for task in [stdin_task, resize_task].into_iter().flatten() {
        task.abort();
    }
    process.abort();
    status
}

/// Forwards our stdin until EOF, then closes the remote stdin (`shutdown()` sends the close;
/// dropping the writer would not); or holds it open without a byte.
async fn feed_stdin(mut w: impl AsyncWrite + Unpin, source: StdinSource, stdin_use: StdinUse) {
    if stdin_use == StdinUse::Forward {
        let mut rx = match source {
            StdinSource::Channel(rx) => rx,
            StdinSource::Process => stdin::spawn_reader(),
        };
        while let Some(chunk) = rx.recv().await {
            if w.write_all(&chunk).await.is_err() || w.flush().await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    }
    // Keep the writer (open, or finished) until the session ends.
    std::future::pending::<()>().await;
}

/// Copies one output stream until it ends or its destination fails; `started` is notified
/// when the first bytes arrived.
pub(crate) async fn copy(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut started: Option<std::sync::Arc<tokio::sync::Notify>>,
) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(s) = started.take() {
                    s.notify_one();
                }
                if to.write_all(&buf[..n]).await.is_err() || to.flush().await.is_err() {
                    break;
                }
            }
        }
    }
}
