//! A session's exec half against a local server speaking `v5.channel.k8s.io`: stdout and stderr
//! kept apart, the exit code from the exec Status, stdin forwarded and closed at EOF or held
//! open as a command's lease, the lease exec beside a session that takes the user's stdin, and
//! the resize redraw trick. Bounded by timeouts.

#![allow(clippy::large_futures, clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use distroless_debug::{Cluster, Io, Plan, Printer, StdinSource, run_session as run};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// What the fake kubelet does for the session's exec.
#[derive(Clone)]
struct Script {
    /// Frames to send once ready.
    send: Vec<Vec<u8>>,
    /// Ready once the client closed stdin (v5 close frame).
    wait_stdin_eof: bool,
    /// Ready once this many stdin bytes arrived.
    wait_stdin_bytes: usize,
    /// Ready once this many resize frames arrived.
    wait_resizes: usize,
    /// Ready once the session's lease is open (it opens beside the running session).
    wait_lease: bool,
}

#[derive(Default)]
struct Seen {
    session_query: String,
    lease_query: String,
    stdin: Vec<u8>,
    stdin_closed: bool,
    resizes: Vec<Value>,
    /// The lease's connection ended (the client closed it).
    lease_ended: bool,
    lease_stdin: Vec<u8>,
}

async fn start(script: Script) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (s, script) = (s.clone(), script.clone());
            tokio::spawn(async move { websocket(stream, s, script).await });
        }
    });
    (format!("http://{addr}"), seen)
}

async fn websocket(stream: TcpStream, seen: Arc<Mutex<Seen>>, script: Script) {
    let query = Arc::new(Mutex::new(String::new()));
    let q = query.clone();
    let callback = move |req: &Request, mut resp: Response| {
        *q.lock().unwrap() = format!(
            "{}?{}",
            req.uri().path(),
            req.uri().query().unwrap_or_default()
        );
        let offered = req
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(offered.contains("v5.channel.k8s.io"), "{offered}");
        resp.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "v5.channel.k8s.io".parse().unwrap(),
        );
        Ok(resp)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(stream, callback)
        .await
        .unwrap();
    let query = query.lock().unwrap().clone();
    if query.contains("command=distroless-debug-lease") {
        seen.lock().unwrap().lease_query = query;
        // The lease: read until the client goes.
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(bin) = msg
                && bin.first() == Some(&0)
            {
                seen.lock()
                    .unwrap()
                    .lease_stdin
                    .extend_from_slice(&bin[1..]);
            }
        }
        seen.lock().unwrap().lease_ended = true;
        return;
    }
    seen.lock().unwrap().session_query = query;
    let ready = |seen: &Seen| {
        (!script.wait_lease || !seen.lease_query.is_empty())
            && (!script.wait_stdin_eof || seen.stdin_closed)
            && seen.stdin.len() >= script.wait_stdin_bytes
            && seen.resizes.len() >= script.wait_resizes
    };
    while !ready(&seen.lock().unwrap()) {
        let next = tokio::time::timeout(Duration::from_millis(20), ws.next()).await;
        let Ok(next) = next else {
            continue; // nothing yet: look at the other conditions again
        };
        let Some(Ok(msg)) = next else {
            break;
        };
        let Message::Binary(bin) = msg else { continue };
        let mut seen = seen.lock().unwrap();
        match bin.first() {
            Some(0) => seen.stdin.extend_from_slice(&bin[1..]),
            Some(4) => seen
                .resizes
                .push(serde_json::from_slice(&bin[1..]).unwrap()),
            Some(255) if bin.get(1) == Some(&0) => seen.stdin_closed = true,
            _ => {}
        }
    }
    for frame in script.send {
        ws.send(Message::binary(frame)).await.unwrap();
    }
    let _ = ws.close(None).await;
}

fn frame(channel: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![channel];
    v.extend_from_slice(data);
    v
}

fn success() -> Vec<u8> {
    frame(3, br#"{"metadata":{},"status":"Success"}"#)
}

fn exit_status(code: i32) -> Vec<u8> {
    let status = json!({"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": "command terminated with non-zero exit code",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}});
    frame(3, &serde_json::to_vec(&status).unwrap())
}

fn cluster(url: &str) -> Cluster {
    let config = kube::Config::new(url.parse().unwrap());
    Cluster {
        client: kube::Client::try_from(config).unwrap(),
        namespace: "default".into(),
        context: None,
        user: None,
        identity: None,
        request_timeout: Some(Duration::from_secs(5)),
    }
}

/// An `AsyncWrite` that collects into a shared buffer.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl tokio::io::AsyncWrite for Sink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("test timed out")
}

fn io(
    out: &Sink,
    err: &Sink,
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    size: Option<(u16, u16)>,
) -> Io<Sink, Sink> {
    Io {
        stdout: out.clone(),
        stderr: err.clone(),
        stdin: StdinSource::Channel(rx),
        size,
        follow_resize: false,
    }
}

/// Waits (bounded) until the fake saw the lease end.
async fn lease_ended(seen: &Arc<Mutex<Seen>>) -> bool {
    for _ in 0..100 {
        if seen.lock().unwrap().lease_ended {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_command_keeps_streams_apart_holds_its_stdin_and_returns_its_exit_code() {
    let (url, seen) = start(Script {
        send: vec![frame(1, b"out\n"), frame(2, b"err\n"), exit_status(7)],
        wait_stdin_eof: false,
        wait_stdin_bytes: 0,
        wait_resizes: 0,
        wait_lease: false,
    })
    .await;
    let c = cluster(&url);
    let (out, err) = (Sink::default(), Sink::default());
    let (_tx, rx) = tokio::sync::mpsc::channel(1);
    let command = ["ss".to_owned(), "-tlnp".to_owned()];
    let plan = Plan {
        pod: "api",
        container: "debugger-x",
        command: &command,
        tty: false,
        stdin: false,
        target_runtime_id: None,
        session_id: "dd-abc",
        ends_container: false,
    };
    let code = bounded(run(
        &c,
        &plan,
        io(&out, &err, rx, None),
        &Printer::capture(true).0,
    ))
    .await
    .unwrap();
    assert_eq!(code, 7, "the exit code comes from the exec Status");
    assert_eq!(out.text(), "out\n");
    assert_eq!(err.text(), "err\n");
    let seen = seen.lock().unwrap();
    assert!(
        seen.stdin.is_empty() && !seen.stdin_closed,
        "stdin held open, unwritten"
    );
    assert!(seen.lease_query.is_empty(), "a command is its own lease");
    let q = &seen.session_query;
    assert!(
        q.starts_with("/api/v1/namespaces/default/pods/api/exec?"),
        "{q}"
    );
    for part in [
        "container=debugger-x",
        "stdin=true",
        "stdout=true",
        "stderr=true",
        "command=distroless-debug-cmd",
        "command=dd-abc",
        "command=ss",
        "command=-tlnp",
    ] {
        assert!(q.contains(part), "{q} lacks {part}");
    }
    assert!(!q.contains("tty=true"), "{q}");
}

#[tokio::test]
async fn piped_stdin_ends_with_eof_and_a_lease_runs_beside_the_session() {
    let (url, seen) = start(Script {
        send: vec![frame(1, b"hi\n"), success()],
        wait_stdin_eof: true,
        wait_stdin_bytes: 0,
        wait_resizes: 0,
        wait_lease: true,
    })
    .await;
    let c = cluster(&url);
    let out = Sink::default();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(b"hi\n".to_vec()).await.unwrap();
    drop(tx); // EOF, as `echo hi |` gives
    let command = ["cat".to_owned()];
    let plan = Plan {
        pod: "api",
        container: "debugger-x",
        command: &command,
        tty: false,
        stdin: true,
        target_runtime_id: Some("c0ffee"),
        session_id: "dd-abc",
        ends_container: false,
    };
    let code = bounded(run(
        &c,
        &plan,
        io(&out, &Sink::default(), rx, None),
        &Printer::capture(true).0,
    ))
    .await
    .unwrap();
    assert_eq!(code, 0);
    assert_eq!(out.text(), "hi\n");
    assert!(
        lease_ended(&seen).await,
        "the lease is closed when the session ends"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.stdin, b"hi\n");
    assert!(
        seen.stdin_closed,
        "stdin EOF reached the server (shutdown, not drop)"
    );
    assert!(
        seen.session_query.contains("command=distroless-debug&"),
        "{}",
        seen.session_query
    );
    assert!(seen.session_query.contains("command=c0ffee"));
    let lease = &seen.lease_query;
    for part in [
        "stdin=true",
        "command=distroless-debug-lease",
        "command=dd-abc",
    ] {
        assert!(lease.contains(part), "{lease} lacks {part}");
    }
    assert!(
        !lease.contains("stdout=true") && !lease.contains("command=cat"),
        "{lease}"
    );
    assert!(
        seen.lease_stdin.is_empty(),
        "nothing is written to the lease"
    );
}

#[tokio::test]
async fn a_tty_session_sends_the_redraw_resize_pair_and_keystrokes() {
    let (url, seen) = start(Script {
        send: vec![frame(1, b"[debug app] # "), exit_status(3)],
        wait_stdin_eof: false,
        wait_stdin_bytes: 7,
        wait_resizes: 2,
        wait_lease: true,
    })
    .await;
    let c = cluster(&url);
    let out = Sink::default();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(b"exit 3\r".to_vec()).await.unwrap();
    let plan = Plan {
        pod: "api",
        container: "debugger-x",
        command: &[],
        tty: true,
        stdin: true,
        target_runtime_id: None,
        session_id: "dd-abc",
        ends_container: true,
    };
    let code = bounded(run(
        &c,
        &plan,
        io(&out, &Sink::default(), rx, Some((80, 24))),
        &Printer::capture(true).0,
    ))
    .await
    .unwrap();
    drop(tx);
    assert_eq!(code, 3);
    assert_eq!(out.text(), "[debug app] # ");
    assert!(lease_ended(&seen).await);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.stdin, b"exit 3\r");
    assert_eq!(
        seen.resizes,
        [
            json!({"Width": 81, "Height": 25}),
            json!({"Width": 80, "Height": 24})
        ]
    );
    assert!(seen.session_query.contains("tty=true"));
    assert!(
        !seen.session_query.contains("stderr=true"),
        "no stderr with a TTY"
    );
    assert!(
        seen.lease_query
            .contains("command=distroless-debug-lease-all")
    );
}
