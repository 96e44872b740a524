//! The attach half of a session against a local server speaking `v5.channel.k8s.io`: stdout
//! and stderr kept apart, the stdin handshake byte and EOF, the resize redraw trick, and the
//! exit code read from the container's terminated state afterwards. Bounded by timeouts.

#![allow(clippy::large_futures, clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use distroless_debug::client::Cluster;
use distroless_debug::output::Printer;
use distroless_debug::session::{Io, Plan, StdinSource, run_with};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// What the fake kubelet does once a client attached.
#[derive(Clone)]
struct Script {
    /// Frames to send after the client's stdin closed (or right away for a TTY).
    send: Vec<Vec<u8>>,
    /// Wait for stdin EOF (v5 close frame) before sending.
    wait_stdin_eof: bool,
    /// Wait until this many resize frames arrived before sending.
    wait_resizes: usize,
    /// Exit code reported in the pod status afterwards.
    exit_code: i32,
}

#[derive(Default)]
struct Seen {
    attach_query: String,
    stdin: Vec<u8>,
    stdin_closed: bool,
    resizes: Vec<Value>,
    gets: usize,
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
            tokio::spawn(async move { handle(stream, s, script).await });
        }
    });
    (format!("http://{addr}"), seen)
}

async fn handle(mut stream: TcpStream, seen: Arc<Mutex<Seen>>, script: Script) {
    let mut buf = vec![0u8; 8192];
    let head = loop {
        let n = stream.peek(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if text.contains("\r\n\r\n") || n == buf.len() {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    if head.to_ascii_lowercase().contains("upgrade: websocket") {
        websocket(stream, seen, script).await;
    } else {
        // A plain GET of the pod, after the session, for the exit code.
        let end = head.find("\r\n\r\n").unwrap() + 4;
        let mut discard = vec![0u8; end];
        stream.read_exact(&mut discard).await.unwrap();
        assert!(
            head.starts_with("GET /api/v1/namespaces/default/pods/api "),
            "{head}"
        );
        seen.lock().unwrap().gets += 1;
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api", "namespace": "default", "resourceVersion": "200"},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"phase": "Running", "ephemeralContainerStatuses": [{
                "name": "debugger-x", "image": "t", "imageID": "", "ready": false,
                "restartCount": 0,
                "state": {"terminated": {"exitCode": script.exit_code, "reason": "Error"}}
            }]}
        });
        let body = serde_json::to_vec(&pod).unwrap();
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend(body);
        stream.write_all(&resp).await.unwrap();
        let _ = stream.shutdown().await;
    }
}

async fn websocket(stream: TcpStream, seen: Arc<Mutex<Seen>>, script: Script) {
    let s = seen.clone();
    let callback = move |req: &Request, mut resp: Response| {
        s.lock().unwrap().attach_query = format!(
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
    let ready = |seen: &Seen| {
        (!script.wait_stdin_eof || seen.stdin_closed) && seen.resizes.len() >= script.wait_resizes
    };
    while !ready(&seen.lock().unwrap()) {
        let Some(Ok(msg)) = ws.next().await else {
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

#[tokio::test]
async fn command_mode_keeps_streams_apart_and_returns_the_exit_code() {
    let (url, seen) = start(Script {
        send: vec![frame(1, b"out\n"), frame(2, b"err\n"), success()],
        wait_stdin_eof: true,
        wait_resizes: 0,
        exit_code: 7,
    })
    .await;
    let c = cluster(&url);
    let (out, err) = (Sink::default(), Sink::default());
    let (_tx, rx) = tokio::sync::mpsc::channel(1);
    let plan = Plan {
        pod: "api",
        container: "debugger-x",
        tty: false,
        forward_stdin: false,
        stdin_handshake: true,
    };
    let io = Io {
        stdout: out.clone(),
        stderr: err.clone(),
        stdin: StdinSource::Channel(rx),
        size: None,
        follow_resize: false,
    };
    let code = bounded(run_with(&c, &plan, &Printer::with(true, false), io, None))
        .await
        .unwrap();
    assert_eq!(
        code, 7,
        "the exit code comes from the container's terminated state"
    );
    assert_eq!(out.text(), "out\n");
    assert_eq!(err.text(), "err\n");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.stdin, [0x06], "exactly the handshake byte, then EOF");
    assert!(seen.stdin_closed);
    assert_eq!(seen.gets, 1);
    let q = &seen.attach_query;
    assert!(
        q.starts_with("/api/v1/namespaces/default/pods/api/attach?"),
        "{q}"
    );
    for part in [
        "container=debugger-x",
        "stdin=true",
        "stdout=true",
        "stderr=true",
    ] {
        assert!(q.contains(part), "{q} lacks {part}");
    }
    assert!(!q.contains("tty=true"), "{q}");
}

#[tokio::test]
async fn piped_stdin_follows_the_handshake_and_ends_with_eof() {
    let (url, seen) = start(Script {
        send: vec![frame(1, b"hi\n"), success()],
        wait_stdin_eof: true,
        wait_resizes: 0,
        exit_code: 0,
    })
    .await;
    let c = cluster(&url);
    let out = Sink::default();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(b"hi\n".to_vec()).await.unwrap();
    drop(tx); // EOF, as `echo hi |` gives
    let plan = Plan {
        pod: "api",
        container: "debugger-x",
        tty: false,
        forward_stdin: true,
        stdin_handshake: true,
    };
    let io = Io {
        stdout: out.clone(),
        stderr: Sink::default(),
        stdin: StdinSource::Channel(rx),
        size: None,
        follow_resize: false,
    };
    let code = bounded(run_with(&c, &plan, &Printer::with(true, false), io, None))
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(out.text(), "hi\n");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.stdin, b"\x06hi\n");
    assert!(
        seen.stdin_closed,
        "stdin EOF reached the server (shutdown, not drop)"
    );
}

#[tokio::test]
async fn tty_session_sends_the_redraw_resize_pair_and_keystrokes() {
    let (url, seen) = start(Script {
        send: vec![frame(1, b"[debug app] / # "), success()],
        wait_stdin_eof: false,
        wait_resizes: 2,
        exit_code: 3,
    })
    .await;
    let c = cluster(&url);
    let out = Sink::default();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(b"exit 3\r".to_vec()).await.unwrap();
    let plan = Plan {
        pod: "api",
        container: "debugger-x",
        tty: true,
        forward_stdin: true,
        stdin_handshake: false,
    };
    let io = Io {
        stdout: out.clone(),
        stderr: Sink::default(),
        stdin: StdinSource::Channel(rx),
        size: Some((80, 24)),
        follow_resize: false,
    };
    let code = bounded(run_with(&c, &plan, &Printer::with(true, false), io, None))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(code, 3);
    assert_eq!(out.text(), "[debug app] / # ");
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.resizes,
        [
            json!({"Width": 81, "Height": 25}),
            json!({"Width": 80, "Height": 24})
        ]
    );
    assert!(seen.attach_query.contains("tty=true"));
    assert!(
        !seen.attach_query.contains("stderr=true"),
        "no stderr with a TTY"
    );
}
