//! Stdin on a dedicated OS thread, forwarded through a channel.
//!
//! `tokio::io::stdin()` runs blocking reads on the runtime's blocking pool, and a read blocked
//! on a terminal keeps the runtime from shutting down. A plain thread that we never join does
//! not: when the session ends the process exits and the thread goes with it.

use std::io::Read;

use tokio::sync::mpsc;

/// Starts the reader thread. The receiver yields chunks; it closes at EOF or on a read error.
pub(crate) fn spawn_reader() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>(16);
    let spawned = std::thread::Builder::new()
        .name("stdin".to_owned())
        .spawn(move || read_into(std::io::stdin().lock(), &tx));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the stdin thread; stdin is closed");
    }
    rx
}

/// Copies `input` into `tx` until EOF, an error, or the receiver going away.
pub(crate) fn read_into(mut input: impl Read, tx: &mpsc::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match input.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if tx.blocking_send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::debug!(error = %e, "stdin read failed");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_until_eof() {
        let (tx, mut rx) = mpsc::channel(4);
        let t = std::thread::spawn(move || read_into(&b"hello"[..], &tx));
        t.join().unwrap();
        let mut got = Vec::new();
        while let Ok(chunk) = rx.try_recv() {
            got.extend(chunk);
        }
        assert_eq!(got, b"hello");
        assert!(rx.try_recv().is_err());
    }
}
