//! What happened in each of many pods, and how it is reported: text lines prefixed like
//! `kubectl logs --prefix`, `-o jsonl` one object per pod, `-o json` one document; the exit
//! code of the run. Pure, but for the output sink.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWrite;

use crate::error::{EXIT_FAILURE, Error, fmt_duration};
use crate::model::Output;
use crate::output::Printer;

/// What happened in one pod.
#[derive(Debug, Clone, Default)]
pub(crate) struct PodOutcome {
    pub(crate) namespace: String,
    pub(crate) pod: String,
    /// The target container.
    pub(crate) container: Option<String>,
    pub(crate) debug_container: Option<String>,
    pub(crate) reused: Option<bool>,
    pub(crate) exit_code: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    /// When work on this pod started, RFC 3339.
    pub(crate) started_at: String,
    pub(crate) prepare_ms: u64,
    pub(crate) exec_ms: u64,
    pub(crate) total_ms: u64,
    pub(crate) error: Option<Failure>,
    /// Node debugging: the node (`pod` is then the pod of ours on it, once made).
    pub(crate) node: Option<String>,
    /// `--copy`: the copy the command ran in (`pod` is the copied pod).
    pub(crate) copy: Option<String>,
}

/// A per-pod failure, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    pub(crate) exit_code: u8,
}

impl Failure {
    pub(crate) fn from_error(e: &Error) -> Failure {
        Failure {
            reason: e.kind(),
            message: e.to_string(),
            hint: e.hint(),
            exit_code: e.exit_code(),
        }
    }
}

impl PodOutcome {
    pub(crate) fn succeeded(&self) -> bool {
        self.error.is_none() && self.exit_code == Some(0)
    }

    /// What this pod contributes to the exit code: 0, the command's code, or the error's.
    pub(crate) fn code(&self) -> u8 {
        match (&self.error, self.exit_code) {
            (Some(f), _) => f.exit_code,
            (None, Some(c)) => crate::session::exec::exit_code_from(c),
            (None, None) => EXIT_FAILURE,
        }
    }
}

/// The exit code for many pods: 0 if the command ran and exited 0 in every pod; otherwise the
/// code of the first pod, by namespace then name, that did not succeed — the command's own
/// exit code, or the plugin's error code (1) where it could not run. With one pod this is the
/// single-pod rule. Pure.
pub(crate) fn exit_code(outcomes: &[PodOutcome]) -> u8 {
    let mut sorted: Vec<&PodOutcome> = outcomes.iter().collect();
    sorted.sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
    sorted
        .iter()
        .find(|o| !o.succeeded())
        .map_or(0, |o| o.code())
}

/// The `[pod/NAME/CONTAINER]` prefix of text output.
pub(crate) fn prefix(pod: &str, container: Option<&str>) -> String {
    match container {
        Some(c) => format!("[pod/{pod}/{c}]"),
        None => format!("[pod/{pod}]"),
    }
}

/// Standard base64 (RFC 4648, padded), for output that is not UTF-8.
pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn bytes_field(obj: &mut serde_json::Map<String, Value>, key: &str, bytes: &[u8]) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        obj.insert(key.to_owned(), Value::String(s.to_owned()));
    } else {
        obj.insert(key.to_owned(), Value::Null);
        obj.insert(format!("{key}Base64"), Value::String(base64(bytes)));
    }
}

/// One pod's JSON object (see docs/scripting.md for the schema). Pure.
pub(crate) fn to_json(o: &PodOutcome) -> Value {
    let mut v = json!({
        "pod": o.pod,
        "namespace": o.namespace,
        "container": o.container,
        "debugContainer": o.debug_container,
        "reused": o.reused,
        "exitCode": o.exit_code,
        "startedAt": o.started_at,
        "timings": {"prepareMs": o.prepare_ms, "execMs": o.exec_ms, "totalMs": o.total_ms},
        "error": o.error.as_ref().map(|f| json!({
            "reason": f.reason, "message": f.message, "hint": f.hint
        })),
    });
    if let Value::Object(map) = &mut v {
        if let Some(node) = &o.node {
            map.insert("node".to_owned(), json!(node));
        }
        if let Some(copy) = &o.copy {
            map.insert("copy".to_owned(), json!(copy));
        }
        bytes_field(map, "stdout", &o.stdout);
        bytes_field(map, "stderr", &o.stderr);
    }
    v
}

/// Counts for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Counts {
    pub(crate) pods: usize,
    pub(crate) succeeded: usize,
    pub(crate) non_zero: usize,
    pub(crate) failed: usize,
}

pub(crate) fn counts(outcomes: &[PodOutcome]) -> Counts {
    let mut c = Counts {
        pods: outcomes.len(),
        ..Counts::default()
    };
    for o in outcomes {
        if o.error.is_some() || o.exit_code.is_none() {
            c.failed += 1;
        } else if o.exit_code == Some(0) {
            c.succeeded += 1;
        } else {
            c.non_zero += 1;
        }
    }
    c
}

/// The `-o json` document. Pure.
pub(crate) fn document(outcomes: &[PodOutcome], elapsed: Duration) -> Value {
    let mut sorted: Vec<&PodOutcome> = outcomes.iter().collect();
    sorted.sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
    let c = counts(outcomes);
    json!({
        "apiVersion": "distroless-debug/v1",
        "kind": "Results",
        "items": sorted.iter().map(|o| to_json(o)).collect::<Vec<_>>(),
        "summary": {
            "pods": c.pods,
            "succeeded": c.succeeded,
            "nonZero": c.non_zero,
            "failed": c.failed,
            "exitCode": exit_code(outcomes),
            "durationMs": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        },
    })
}

/// The summary line for stderr. Pure.
pub(crate) fn summary(outcomes: &[PodOutcome], elapsed: Duration) -> String {
    let c = counts(outcomes);
    let what = if outcomes.iter().any(|o| o.node.is_some()) {
        "node"
    } else {
        "pod"
    };
    format!(
        "{} {what}{}: {} succeeded, {} exited non-zero, {} failed ({})",
        c.pods,
        if c.pods == 1 { "" } else { "s" },
        c.succeeded,
        c.non_zero,
        c.failed,
        fmt_duration(elapsed)
    )
}

/// Where one pod's output goes: captured (JSON), or written line by line with a prefix.
pub(crate) struct Sink {
    pub(crate) printer: Printer,
    pub(crate) prefix: Option<String>,
    pub(crate) to_stderr: bool,
    pub(crate) captured: Arc<Mutex<Vec<u8>>>,
    pub(crate) pending: Vec<u8>,
}

impl Sink {
    fn emit(&mut self, line: &[u8]) {
        let Some(prefix) = &self.prefix else { return };
        let mut out = Vec::with_capacity(prefix.len() + line.len() + 2);
        out.extend_from_slice(prefix.as_bytes());
        out.push(b' ');
        out.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            out.push(b'\n');
        }
        if self.to_stderr {
            self.printer.data_stderr(&out);
        } else {
            self.printer.data(&out);
        }
    }
}

impl AsyncWrite for Sink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.prefix.is_none() {
            if let Ok(mut c) = self.captured.lock() {
                c.extend_from_slice(buf);
            }
            return Poll::Ready(Ok(buf.len()));
        }
        self.pending.extend_from_slice(buf);
        while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            self.emit(&line);
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest);
        }
    }
}

/// What to show when one pod is done.
pub(crate) fn report(printer: &Printer, output: Output, o: &PodOutcome) {
    let pfx = match &o.node {
        Some(n) => format!("[node/{n}]"),
        None => prefix(&o.pod, o.container.as_deref()),
    };
    match output {
        Output::Jsonl => {
            let mut line = to_json(o).to_string();
            line.push('\n');
            printer.data(line.as_bytes());
        }
        Output::Json => {}
        Output::Text => {
            if let Some(f) = &o.error {
                printer.pod_failure(&pfx, &f.message, f.hint.as_deref());
            } else if let Some(code) = o.exit_code.filter(|c| *c != 0) {
                printer.pod_failure(&pfx, &format!("exit code {code}"), None);
            }
        }
    }
    if output != Output::Text && o.error.is_some() {
        // Structured output carries the error; stderr still says which pod failed.
        if let Some(f) = &o.error {
            printer.pod_failure(&pfx, &f.message, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(pod: &str, code: i32) -> PodOutcome {
        PodOutcome {
            namespace: "ns".into(),
            pod: pod.into(),
            container: Some("app".into()),
            exit_code: Some(code),
            ..PodOutcome::default()
        }
    }

    fn failed(pod: &str, e: &Error) -> PodOutcome {
        PodOutcome {
            namespace: "ns".into(),
            pod: pod.into(),
            error: Some(Failure::from_error(e)),
            ..PodOutcome::default()
        }
    }

    #[test]
    fn exit_code_rule() {
        assert_eq!(exit_code(&[ok("a", 0), ok("b", 0)]), 0);
        // The first non-success in name order, not in completion order.
        assert_eq!(exit_code(&[ok("c", 3), ok("b", 7), ok("a", 0)]), 7);
        let gone = failed("a", &Error::PodDeleted { pod: "a".into() });
        assert_eq!(exit_code(&[ok("b", 7), gone.clone()]), 1);
        assert_eq!(exit_code(&[ok("0", 0), gone, ok("b", 7)]), 1);
        assert_eq!(exit_code(&[ok("a", 300)]), 1);
        assert_eq!(exit_code(&[ok("a", 137)]), 137);
        assert_eq!(exit_code(&[]), 0);
    }

    #[test]
    fn json_object_schema() {
        let mut o = ok("api-1", 0);
        o.debug_container = Some("debugger-abcde".into());
        o.reused = Some(true);
        o.stdout = b"hi\n".to_vec();
        o.stderr = vec![0xff, 0x00];
        o.started_at = "2026-01-02T03:04:05Z".into();
        o.total_ms = 12;
        let v = to_json(&o);
        assert_eq!(v["pod"], "api-1");
        assert_eq!(v["namespace"], "ns");
        assert_eq!(v["container"], "app");
        assert_eq!(v["debugContainer"], "debugger-abcde");
        assert_eq!(v["reused"], true);
        assert_eq!(v["exitCode"], 0);
        assert_eq!(v["stdout"], "hi\n");
        assert_eq!(v["stderr"], Value::Null);
        assert_eq!(v["stderrBase64"], "/wA=");
        assert_eq!(v["timings"]["totalMs"], 12);
        assert_eq!(v["error"], Value::Null);
        let f = to_json(&failed(
            "b",
            &Error::Forbidden {
                verb: "patch",
                resource: "pods/ephemeralcontainers",
                scope: crate::error::Scope::default(),
                only: None,
                message: String::new(),
            },
        ));
        assert_eq!(f["error"]["reason"], "Forbidden");
        assert!(
            f["error"]["hint"]
                .as_str()
                .unwrap()
                .contains("pods/ephemeralcontainers")
        );
        assert_eq!(f["exitCode"], Value::Null);
    }

    #[test]
    fn document_sorts_and_summarises() {
        let d = document(
            &[ok("b", 2), ok("a", 0), failed("c", &Error::Interrupted)],
            Duration::from_millis(1500),
        );
        assert_eq!(d["items"][0]["pod"], "a");
        assert_eq!(d["items"][2]["pod"], "c");
        assert_eq!(
            d["summary"],
            json!({"pods": 3, "succeeded": 1, "nonZero": 1, "failed": 1, "exitCode": 2, "durationMs": 1500})
        );
        assert_eq!(
            summary(&[ok("a", 0)], Duration::from_secs(2)),
            "1 pod: 1 succeeded, 0 exited non-zero, 0 failed (2s)"
        );
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input), want);
        }
        assert_eq!(prefix("api", Some("app")), "[pod/api/app]");
    }
}
