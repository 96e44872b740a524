//! Terminal size for the remote TTY: the first two sizes sent are (w+1, h+1) then (w, h), which
//! makes the remote shell redraw its prompt (kubectl does the same); once the remote process has
//! written its first output, the size once more; then one per size change (SIGWINCH).
//! The sender must stay alive for the whole session, or kube stops forwarding sizes.
//!
//! The size sent again: sizes sent while the runtime is still starting the exec'd process can be
//! dropped or applied out of order (seen once on containerd 1.6: the shell kept (w+1, h+1)); one
//! sent after the process wrote reaches a running process, after the others.

use std::sync::Arc;

use futures::SinkExt;
use futures::channel::mpsc::Sender;
use kube::api::TerminalSize;
use tokio::sync::Notify;

use super::signals::WindowChanges;

/// The sizes to send first, for a terminal of `cols` x `rows`.
pub(crate) fn initial_sizes(cols: u16, rows: u16) -> [(u16, u16); 2] {
    [
        (cols.saturating_add(1), rows.saturating_add(1)),
        (cols, rows),
    ]
}

/// The local terminal's size, if there is one.
pub(crate) fn current() -> Option<(u16, u16)> {
    crossterm::terminal::size()
        .ok()
        .filter(|(c, r)| *c > 0 && *r > 0)
}

async fn send(tx: &mut Sender<TerminalSize>, (width, height): (u16, u16)) -> bool {
    tx.send(TerminalSize { width, height }).await.is_ok()
}

/// Sends the initial sizes for `size`, the size again once `started` is notified (the remote
/// process wrote), then (if `follow`) one per SIGWINCH, until the session drops the task. The
/// sender stays alive as long as the task.
pub(crate) async fn follow(
    mut tx: Sender<TerminalSize>,
    size: Option<(u16, u16)>,
    follow: bool,
    started: Arc<Notify>,
) {
    let Some((cols, rows)) = size else {
        std::future::pending::<()>().await;
        return;
    };
    for size in initial_sizes(cols, rows) {
        if !send(&mut tx, size).await {
            return;
        }
    }
    started.notified().await;
    // The terminal may have changed size meanwhile (no SIGWINCH is watched yet).
    let now = if follow { current() } else { None };
    if !send(&mut tx, now.unwrap_or((cols, rows))).await {
        return;
    }
    if !follow {
        std::future::pending::<()>().await;
        return;
    }
    let mut changes = WindowChanges::new();
    while changes.next().await {
        if let Some(size) = current()
            && !send(&mut tx, size).await
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_size_is_sent_again_once_the_process_wrote() {
        use futures::StreamExt;
        let (tx, mut rx) = futures::channel::mpsc::channel::<TerminalSize>(8);
        let started = Arc::new(Notify::new());
        let task = tokio::spawn(follow(tx, Some((80, 24)), false, started.clone()));
        let size = |s: Option<TerminalSize>| s.map(|s| (s.width, s.height));
        assert_eq!(size(rx.next().await), Some((81, 25)));
        assert_eq!(size(rx.next().await), Some((80, 24)));
        // Nothing more until the process wrote.
        tokio::task::yield_now().await;
        assert!(rx.try_recv().is_err(), "a size before the first output");
        started.notify_one();
        assert_eq!(size(rx.next().await), Some((80, 24)));
        task.abort();
    }

    #[test]
    fn redraw_trick() {
        assert_eq!(initial_sizes(80, 24), [(81, 25), (80, 24)]);
        assert_eq!(initial_sizes(u16::MAX, 1), [(u16::MAX, 2), (u16::MAX, 1)]);
    }
}
