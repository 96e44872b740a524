//! Terminal size for the remote TTY: the first two sizes sent are (w+1, h+1) then (w, h), which
//! makes the remote shell redraw its prompt (kubectl does the same); then one per size change (SIGWINCH).
//! The sender must stay alive for the whole session, or kube stops forwarding sizes.

use futures::SinkExt;
use futures::channel::mpsc::Sender;
use kube::api::TerminalSize;

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

/// Sends the initial sizes for `size`, then (if `follow`) one per SIGWINCH, until the session
/// drops the task. The sender stays alive as long as the task.
pub(crate) async fn follow(mut tx: Sender<TerminalSize>, size: Option<(u16, u16)>, follow: bool) {
    let Some((cols, rows)) = size else {
        std::future::pending::<()>().await;
        return;
    };
    for size in initial_sizes(cols, rows) {
        if !send(&mut tx, size).await {
            return;
        }
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

    #[test]
    fn redraw_trick() {
        assert_eq!(initial_sizes(80, 24), [(81, 25), (80, 24)]);
        assert_eq!(initial_sizes(u16::MAX, 1), [(u16::MAX, 2), (u16::MAX, 1)]);
    }
}
