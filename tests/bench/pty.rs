//! A program in a real pseudo-terminal, read by a background thread that keeps every byte, so the
//! benchmark can time when something appeared (a prompt, an echoed key, an end marker).
//!
//! Errors are strings, not panics: a tool that fails to work is reported in the table and the
//! benchmark goes on with the next measurement.

use std::io::Write;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::support::Screen;

pub struct Pty {
    _master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    screen: Screen,
    /// Where the next wait starts looking.
    pub cursor: usize,
    exited: bool,
}

impl Pty {
    pub fn spawn(
        argv: &[String],
        env: &[(String, String)],
        rows: u16,
        cols: u16,
    ) -> Result<Pty, String> {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| format!("open a pty: {e}"))?;
        let mut cmd = CommandBuilder::new(&argv[0]);
        cmd.args(&argv[1..]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm");
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| format!("spawn {} in a pty: {e}", argv[0]))?;
        drop(pair.slave);
        let reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| format!("pty reader: {e}"))?;
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| format!("pty writer: {e}"))?;
        let screen = crate::support::record_screen(reader);
        Ok(Pty {
            _master: pair.master,
            writer,
            child,
            screen,
            cursor: 0,
            exited: false,
        })
    }

    pub fn len(&self) -> usize {
        self.screen.0.lock().expect("screen lock").len()
    }

    pub fn bytes(&self, from: usize, to: usize) -> Vec<u8> {
        let buf = self.screen.0.lock().expect("screen lock");
        buf[from.min(buf.len())..to.min(buf.len())].to_vec()
    }

    /// The last `n` bytes of the screen, for error messages.
    pub fn tail(&self, n: usize) -> String {
        let buf = self.screen.0.lock().expect("screen lock");
        String::from_utf8_lossy(&buf[buf.len().saturating_sub(n)..]).into_owned()
    }

    /// Waits until `found(screen[cursor..], scanned)` returns the end (relative to the cursor) of
    /// what it looked for; `scanned` is how much of that slice an earlier call already saw, so a
    /// search over megabytes stays linear. Moves the cursor there and returns when it was seen.
    pub fn wait_until<F>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut found: F,
    ) -> Result<Instant, String>
    where
        F: FnMut(&[u8], usize) -> Option<usize>,
    {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.screen;
        let mut buf = lock.lock().expect("screen lock");
        let mut scanned = 0;
        loop {
            let hay = &buf[self.cursor.min(buf.len())..];
            if let Some(end) = found(hay, scanned) {
                let at = Instant::now();
                self.cursor += end;
                return Ok(at);
            }
            scanned = hay.len();
            let now = Instant::now();
            if now >= deadline {
                let n = buf.len();
                let tail = String::from_utf8_lossy(&buf[n.saturating_sub(600)..]).into_owned();
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}; the terminal showed: {tail:?}"
                ));
            }
            buf = cv.wait_timeout(buf, deadline - now).expect("screen lock").0;
        }
    }

    /// Waits for `needle` after the cursor.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> Result<Instant, String> {
        let n = needle.as_bytes().to_vec();
        self.wait_until(&format!("{needle:?}"), timeout, move |hay, scanned| {
            let from = scanned.saturating_sub(n.len());
            find(&hay[from..], &n).map(|p| from + p + n.len())
        })
    }

    /// Waits for a shell prompt: the screen, escape sequences left out, ends with "$ " or "# ".
    pub fn expect_prompt(&mut self, timeout: Duration) -> Result<Instant, String> {
        self.wait_until("a shell prompt", timeout, |hay, _| {
            let tail = &hay[hay.len().saturating_sub(256)..];
            let plain = strip_escapes(tail);
            (plain.ends_with(b"$ ") || plain.ends_with(b"# ")).then_some(hay.len())
        })
    }

    /// Moves the cursor to the end of what was shown after `quiet` without new output.
    pub fn settle(&mut self, quiet: Duration) {
        let mut last = self.len();
        loop {
            std::thread::sleep(quiet);
            let now = self.len();
            if now == last {
                break;
            }
            last = now;
        }
        self.cursor = last;
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.writer
            .write_all(bytes)
            .and_then(|()| self.writer.flush())
            .map_err(|e| format!("write to the pty: {e}"))
    }

    /// Waits for the program to end; kills it after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<u32, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.exited = true;
                    return Ok(status.exit_code());
                }
                Ok(None) => {}
                Err(e) => return Err(format!("wait for the pty child: {e}")),
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(format!(
                    "did not end within {timeout:?}; the terminal showed: {:?}",
                    self.tail(400)
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn kill(&mut self) {
        if !self.exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.exited = true;
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The text without ANSI escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL`, and
/// two-byte `ESC x`).
pub fn strip_escapes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != 0x1b {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        match bytes.get(i) {
            Some(b'[') => {
                i += 1;
                while i < bytes.len() && !(0x40..=0x7e).contains(&bytes[i]) {
                    i += 1;
                }
                i += 1;
            }
            Some(b']') => {
                while i < bytes.len() && bytes[i] != 0x07 {
                    i += 1;
                }
                i += 1;
            }
            Some(_) => i += 1,
            None => {}
        }
    }
    out
}
