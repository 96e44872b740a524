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

/// Removes `image` from the node through the kubelet's runtime API (crictl at `crictl`, the
/// runtime at `containerd_sock`), so that the next container of it pulls it and downloads every
/// layer: first the stopped containers made of it (their snapshots keep its layers, and the
/// runtime fetches no layer whose snapshot exists), then the image with every name of its ID
/// (`crictl rmi`). Only for an image whose ID no other test image shares. A container that has
/// just ended may still be stopping: it is waited for (a running one keeps the layers it uses).
pub fn remove_image(crictl: &str, containerd_sock: &str, image: &str) -> Result<(), String> {
    let endpoint = format!("unix://{containerd_sock}");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crictl)
            .args([
                "--runtime-endpoint",
                &endpoint,
                "--image-endpoint",
                &endpoint,
            ])
            .args(args)
            .output()
            .map_err(|e| format!("{crictl}: {e} (tests/cluster/build.sh builds it)"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "crictl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ending = run(&["ps", "-q", "--image", image, "--state", "unknown"])?;
        if ending.trim().is_empty() || std::time::Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // The kubelet removes the containers of deleted pods too: one listed here can be gone
    // before `crictl rm` reaches it (NotFound). What counts is that none is left.
    loop {
        let exited = run(&["ps", "-a", "-q", "--image", image, "--state", "exited"])?;
        let exited: Vec<&str> = exited.split_whitespace().collect();
        if exited.is_empty() {
            break;
        }
        let mut args = vec!["rm"];
        args.extend(exited);
        let removed = run(&args);
        if std::time::Instant::now() >= deadline {
            removed?;
            return Err(format!(
                "stopped containers of {image} are still on the node"
            ));
        }
    }
    // `inspecti` fails for an image the runtime does not have.
    if run(&["inspecti", image]).is_ok() {
        run(&["rmi", image])?;
    }
    if run(&["inspecti", image]).is_ok() {
        return Err(format!("{image} is still on the node"));
    }
    Ok(())
}
