//! Helpers shared by the end-to-end tests (tests/e2e) and the benchmark (tests/bench), both of
//! which drive kubectl and the plugin on the local cluster. Included by path in each.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};

/// Runs `kubectl --kubeconfig KUBECONFIG ARGS...`, with `stdin` written to it if given.
pub fn kubectl(kubectl: &Path, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(kubectl);
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("kubectl runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin piped")
            .write_all(input.as_bytes())
            .expect("write kubectl stdin");
    }
    child.wait_with_output().expect("kubectl ends")
}

/// What a PTY has shown so far, and a condition variable signalled on every read.
pub type Screen = Arc<(Mutex<Vec<u8>>, Condvar)>;

/// Copies everything `reader` (a PTY master) yields into a new [`Screen`], on a thread of its
/// own, until EOF or an error.
pub fn record_screen(mut reader: Box<dyn Read + Send>) -> Screen {
    let screen: Screen = Arc::new((Mutex::new(Vec::with_capacity(1 << 16)), Condvar::new()));
    let sink = Arc::clone(&screen);
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let (lock, cv) = &*sink;
                    lock.lock()
                        .expect("screen lock")
                        .extend_from_slice(&buf[..n]);
                    cv.notify_all();
                }
            }
        }
    });
    screen
}
