//! Fake-apiserver tests: the REST half of a session against `tower_test::mock`, asserting each
//! request (method, path, query, content type, body) and mapping refusals to errors, hints and
//! exit codes. Every test is bounded by a timeout, so a missing request fails instead of hanging.

#![allow(clippy::large_futures, clippy::needless_pass_by_value)]

use std::future::Future;
use std::time::Duration;

use clap::Parser;
use distroless_debug::{
    Cli, Cluster, Environment, Error, Options, Printer, Run, TargetRef, collect, prepare,
};
use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

type ApiHandle = Handle<Request<Body>, Response<Body>>;

fn cluster() -> (Cluster, ApiHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let cluster = Cluster {
        client: kube::Client::new(service, "default"),
        namespace: "default".into(),
        context: Some("test".into()),
        user: Some("alice".into()),
        // Credentials that do not name the user: the SelfSubjectReview is asked.
        identity: None,
        request_timeout: None,
    };
    (cluster, handle)
}

fn options(args: &[&str]) -> Options {
    let mut argv = vec!["kubectl-distroless_debug"];
    argv.extend_from_slice(args);
    Options::from_cli(
        Cli::try_parse_from(argv).unwrap(),
        &Environment {
            image: None,
            stdin_is_terminal: false,
            stdout_is_terminal: false,
        },
    )
    .unwrap()
}

/// The TARGET of a single-pod run.
fn target(options: &Options) -> &TargetRef {
    match &options.run {
        Run::One(t) => t,
        other => panic!("not one pod: {other:?}"),
    }
}

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("test timed out: a request was missing or the code hung")
}

fn pod(extra_status: Value) -> Value {
    let mut p = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "api", "namespace": "default", "resourceVersion": "100"},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{
                "name": "app", "image": "app:1", "imageID": "", "ready": true,
                "restartCount": 0, "state": {"running": {}}
            }]
        }
    });
    if let (Some(s), Value::Object(extra)) = (p["status"].as_object_mut(), extra_status) {
        s.extend(extra);
    }
    p
}

fn ephemeral_status(name: &str, state: Value) -> Value {
    json!({"ephemeralContainerStatuses": [{
        "name": name, "image": "t", "imageID": "", "ready": false, "restartCount": 0, "state": state
    }]})
}

fn respond(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn status(code: u16, reason: &str, name: Option<&str>) -> Value {
    let mut s = json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": "a message that is never parsed", "reason": reason, "code": code
    });
    if let Some(n) = name {
        s["details"] = json!({"name": n, "kind": "pods"});
    }
    s
}

async fn body_json(req: Request<Body>) -> Value {
    let bytes = req.into_body().collect_bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The user name the fake SelfSubjectReview reports.
const REVIEWED_USER: &str = "alice@example.com";

/// The status of an API server that does not stream initial events (WatchList off, or older
/// than 1.27): it refuses the parameters.
fn no_initial_events() -> Response<Body> {
    let mut s = status(422, "Invalid", None);
    s["message"] = json!(
        "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
    );
    respond(422, &s)
}

/// Whether `req` is the watch that reads pod `api` with its initial state.
fn is_initial_watch(req: &Request<Body>) -> bool {
    let query = req.uri().query().unwrap_or_default();
    let initial = query.contains("sendInitialEvents=true");
    if initial {
        assert_eq!(req.uri().path(), "/api/v1/namespaces/default/pods");
        assert!(query.contains("watch=true"), "{query}");
        assert!(
            query.contains("resourceVersionMatch=NotOlderThan"),
            "{query}"
        );
        assert!(query.contains("allowWatchBookmarks=true"), "{query}");
        assert!(
            query.contains("fieldSelector=metadata.name%3Dapi"),
            "{query}"
        );
    }
    initial
}

/// Answers a SelfSubjectReview if `req` is one; returns the request back otherwise.
fn answer_review(req: Request<Body>, send: Pending) -> Option<(Request<Body>, Pending)> {
    if req.method() != Method::POST {
        return Some((req, send));
    }
    assert_eq!(
        req.uri().path(),
        "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    );
    send.send_response(respond(
        201,
        &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                "metadata": {}, "status": {"userInfo": {"username": REVIEWED_USER}}}),
    ));
    None
}

/// Whether `req` is the check that the user may exec into pod `api`: an exec into a container
/// no pod can have, which the API server authorizes before it looks for the container.
fn is_exec_check(req: &Request<Body>) -> bool {
    let check = req.uri().path() == "/api/v1/namespaces/default/pods/api/exec";
    if check {
        assert_eq!(req.method(), Method::GET);
        let query = req.uri().query().unwrap_or_default();
        assert!(
            query.contains("container=distroless-debug.permission-check"),
            "{query}"
        );
        assert!(req.headers().contains_key("sec-websocket-key"));
    }
    check
}

/// The API server's answer to the exec check of a user who may exec: no such container.
fn exec_allowed() -> Response<Body> {
    respond(400, &status(400, "BadRequest", None))
}

/// Answers the exec check if `req` is it (allowed); returns the request back otherwise.
fn answer_check(req: Request<Body>, send: Pending) -> Option<(Request<Body>, Pending)> {
    if is_exec_check(&req) {
        send.send_response(exec_allowed());
        return None;
    }
    Some((req, send))
}

/// The pod read on a server without initial events: the watch with `sendInitialEvents` is
/// refused, so a GET of pod `api` follows; the concurrent exec check and SelfSubjectReview come
/// in any order. Answers the GET with `answer`.
async fn expect_get_pod(handle: &mut ApiHandle, answer: Response<Body>) {
    let mut answer = Some(answer);
    let (mut reviewed, mut checked, mut watched) = (false, false, false);
    while !(reviewed && checked && watched && answer.is_none()) {
        let (req, send) = handle.next_request().await.expect(
            "the initial watch, the GET of the pod, the exec check and the SelfSubjectReview",
        );
        let Some((req, send)) = answer_review(req, send) else {
            reviewed = true;
            continue;
        };
        let Some((req, send)) = answer_check(req, send) else {
            checked = true;
            continue;
        };
        if is_initial_watch(&req) {
            send.send_response(no_initial_events());
            watched = true;
            continue;
        }
        assert!(watched, "the GET comes after the refused watch");
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().path(), "/api/v1/namespaces/default/pods/api");
        send.send_response(answer.take().expect("one GET"));
    }
}

/// The pod read with one watch that starts with its state (Kubernetes 1.34): answers it with
/// `events` (and the concurrent exec check and SelfSubjectReview).
async fn expect_initial_watch(handle: &mut ApiHandle, events: &[Value]) {
    let (mut reviewed, mut checked, mut watched) = (false, false, false);
    while !(reviewed && checked && watched) {
        let (req, send) = handle
            .next_request()
            .await
            .expect("the initial watch, the exec check and the SelfSubjectReview");
        let Some((req, send)) = answer_review(req, send) else {
            reviewed = true;
            continue;
        };
        let Some((req, send)) = answer_check(req, send) else {
            checked = true;
            continue;
        };
        assert!(is_initial_watch(&req), "{}", req.uri());
        send.send_response(watch_body(events));
        watched = true;
    }
}

/// The bookmark that ends the initial events.
fn initial_events_end(rv: &str) -> Value {
    json!({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
        "metadata": {"resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}}}})
}

/// Asserts the PATCH on ephemeralcontainers; returns the container it adds.
async fn expect_patch(
    handle: &mut ApiHandle,
    answer: impl FnOnce(&Value) -> Response<Body>,
) -> Value {
    let (req, send) = handle
        .next_request()
        .await
        .expect("PATCH ephemeralcontainers");
    assert_eq!(req.method(), Method::PATCH);
    assert_eq!(
        req.uri().path(),
        "/api/v1/namespaces/default/pods/api/ephemeralcontainers"
    );
    assert_eq!(
        req.headers().get("content-type").unwrap(),
        "application/strategic-merge-patch+json"
    );
    let body = body_json(req).await;
    let list = body["spec"]["ephemeralContainers"].as_array().unwrap();
    assert_eq!(list.len(), 1, "the patch adds exactly one container");
    let container = list[0].clone();
    send.send_response(answer(&container));
    container
}

fn pod_with(container: &Value, status_extra: Value) -> Value {
    let mut p = pod(status_extra);
    p["metadata"]["resourceVersion"] = json!("101");
    p["spec"]["ephemeralContainers"] = json!([container]);
    p
}

#[tokio::test]
async fn session_request_sequence_get_patch_watch() {
    let (cluster, mut handle) = cluster();
    let opts = options(&[
        "pod/api", "--ttl", "10m", "--reason", "INC-9", "--", "ss", "-tlnp",
    ]);
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        let container = expect_patch(&mut handle, |c| respond(200, &pod_with(c, json!({})))).await;
        let name = container["name"].as_str().unwrap().to_owned();
        assert!(name.starts_with("debugger-") && name.len() == "debugger-".len() + 5);
        assert_eq!(container["targetContainerName"], "app");
        assert_eq!(container["image"], distroless_debug::DEFAULT_IMAGE);
        assert_eq!(container["command"], json!(["sh", "-c"]));
        // A command runs through exec in a kept container: its main process is the
        // keep-alive, with no stdin or TTY of its own.
        assert_eq!(container["args"].as_array().unwrap().len(), 2);
        assert!(container.get("stdin").is_none() && container.get("tty").is_none());
        let env = container["env"].as_array().unwrap();
        for (k, v) in [
            ("DISTROLESS_DEBUG_KEEPALIVE", "1"),
            ("DISTROLESS_DEBUG_BY", REVIEWED_USER),
            ("DISTROLESS_DEBUG_REASON", "INC-9"),
            ("DISTROLESS_DEBUG_TTL", "600"),
        ] {
            assert!(
                env.contains(&json!({"name": k, "value": v})),
                "{k}: {env:?}"
            );
        }
        assert_eq!(
            container["securityContext"],
            json!({"capabilities": {"add": ["SYS_PTRACE"]}})
        );

        let (req, send) = handle.next_request().await.expect("WATCH");
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().path(), "/api/v1/namespaces/default/pods");
        let query = req.uri().query().unwrap().to_owned();
        assert!(query.contains("watch=true"), "{query}");
        assert!(
            query.contains("fieldSelector=metadata.name%3Dapi"),
            "{query}"
        );
        assert!(
            query.contains("resourceVersion=101"),
            "watch starts from the PATCH response: {query}"
        );
        let waiting = pod_with(
            &container,
            ephemeral_status(&name, json!({"waiting": {"reason": "ContainerCreating"}})),
        );
        let running = pod_with(&container, ephemeral_status(&name, json!({"running": {}})));
        let mut events = Vec::new();
        // The same state twice is shown once.
        for p in [waiting.clone(), waiting, running] {
            events.extend(serde_json::to_vec(&json!({"type": "MODIFIED", "object": p})).unwrap());
            events.push(b'\n');
        }
        send.send_response(
            Response::builder()
                .status(200)
                .body(Body::from(events))
                .unwrap(),
        );
        (name, container, handle)
    };
    let (printer, seen) = Printer::capture(false);
    let client = prepare(&cluster, &opts, target(&opts), None, &printer);
    let (prepared, (name, container, mut handle)) =
        bounded(async { tokio::join!(client, server) }).await;
    let prepared = prepared.unwrap();
    // Progress on the printer's stderr, once per change; nothing on its stdout.
    let waits: Vec<String> = seen
        .stderr()
        .lines()
        .filter(|l| l.starts_with("Waiting for"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        waits,
        [
            format!("Waiting for {name}: waiting for the kubelet"),
            format!("Waiting for {name}: ContainerCreating")
        ]
    );
    assert_eq!(seen.stdout(), "");
    assert_eq!(
        (
            prepared.pod.as_str(),
            prepared.container.as_str(),
            prepared.target.as_str()
        ),
        ("api", name.as_str(), "app")
    );
    assert!(!prepared.reused);

    // The next run of the same user for the same reason finds that container running: the
    // read only (with the exec check beside it), no PATCH, no WATCH. Another TTL does not
    // matter as long as the container would not outlive it; --new would add a container.
    let opts = options(&["pod/api", "--reason", "INC-9", "--", "id"]);
    let running = pod_with(
        &container,
        ephemeral_status(
            &name,
            json!({"running": {"startedAt": k8s_openapi::jiff::Timestamp::now().to_string()}}),
        ),
    );
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &running)).await;
        handle
    };
    let client = prepare(&cluster, &opts, target(&opts), None, &printer);
    let (prepared, _handle) = bounded(async { tokio::join!(client, server) }).await;
    let prepared = prepared.unwrap();
    assert!(prepared.reused);
    assert_eq!(prepared.container, name);
}

/// A watch response body: one JSON event per line.
fn watch_body(events: &[Value]) -> Response<Body> {
    let mut body = Vec::new();
    for e in events {
        body.extend(serde_json::to_vec(e).unwrap());
        body.push(b'\n');
    }
    Response::builder()
        .status(200)
        .body(Body::from(body))
        .unwrap()
}

type Pending = tower_test::mock::SendResponse<Response<Body>>;

/// The two watches a fresh container's wait opens at once, in either order: the pod's (from
/// `pod_rv`: the PATCH's resourceVersion, or where the initial watch stopped) and the
/// kubelet's events for container `name` (from the PATCH's). Returns their responders, pod watch
/// first.
async fn expect_watches(handle: &mut ApiHandle, name: &str, pod_rv: &str) -> (Pending, Pending) {
    let (mut pods, mut events) = (None, None);
    for _ in 0..2 {
        let (req, send) = handle.next_request().await.expect("two WATCHes");
        assert_eq!(req.method(), Method::GET);
        let query = req.uri().query().unwrap().to_owned();
        assert!(query.contains("watch=true"), "{query}");
        match req.uri().path() {
            "/api/v1/namespaces/default/pods" => {
                assert!(
                    query.contains(&format!("resourceVersion={pod_rv}")),
                    "the pod watch goes on from {pod_rv}: {query}"
                );
                assert!(
                    query.contains("fieldSelector=metadata.name%3Dapi"),
                    "{query}"
                );
                pods = Some(send);
            }
            "/api/v1/namespaces/default/events" => {
                let selector = format!(
                    "involvedObject.uid=uid-1,involvedObject.fieldPath=spec.ephemeralContainers{{{name}}}"
                );
                assert!(
                    query.contains("resourceVersion=101"),
                    "events since the PATCH: {query}"
                );
                let decoded = query
                    .replace("%3D", "=")
                    .replace("%2C", ",")
                    .replace("%7B", "{")
                    .replace("%7D", "}");
                assert!(
                    decoded.contains(&format!("fieldSelector={selector}")),
                    "{query}"
                );
                events = Some(send);
            }
            other => panic!("unexpected request {other}?{query}"),
        }
    }
    (pods.expect("pod watch"), events.expect("event watch"))
}

fn started_event(name: &str) -> Value {
    json!({"type": "ADDED", "object": {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "api.1", "namespace": "default", "resourceVersion": "102"},
        "involvedObject": {"kind": "Pod", "name": "api", "namespace": "default", "uid": "uid-1",
                           "fieldPath": format!("spec.ephemeralContainers{{{name}}}")},
        "reason": "Started", "type": "Normal", "source": {"component": "kubelet"}
    }})
}

/// A fresh container on a server without initial events, up to the two watches of its wait:
/// GET (pod with a uid), PATCH, then both watches from the PATCH's resourceVersion. Returns the
/// container added, its name, and the responders of the pod and event watches.
async fn read_patch_watch(handle: &mut ApiHandle) -> (Value, String, Pending, Pending) {
    let mut p = pod(json!({}));
    p["metadata"]["uid"] = json!("uid-1");
    expect_get_pod(handle, respond(200, &p)).await;
    let container = expect_patch(handle, |c| {
        let mut stored = pod_with(c, json!({}));
        stored["metadata"]["uid"] = json!("uid-1");
        respond(200, &stored)
    })
    .await;
    let name = container["name"].as_str().unwrap().to_owned();
    let (pods, events) = expect_watches(handle, &name, "101").await;
    (container, name, pods, events)
}

/// The kubelet's Started event ends the wait before the pod status says Running.
#[tokio::test]
async fn started_event_ends_the_wait_before_the_status() {
    let (cluster, mut handle) = cluster();
    let opts = options(&["pod/api"]);
    let server = async move {
        let (_, name, pods, events) = read_patch_watch(&mut handle).await;
        // Another container's event first: not ours, ignored.
        events.send_response(watch_body(&[
            started_event("debugger-other"),
            started_event(&name),
        ]));
        (name, pods, handle)
    };
    let printer = Printer::capture(true).0;
    let client = prepare(&cluster, &opts, target(&opts), None, &printer);
    let (prepared, (name, _pods, _handle)) = bounded(async { tokio::join!(client, server) }).await;
    let prepared = prepared.unwrap();
    assert_eq!(prepared.container, name);
    assert!(!prepared.reused);
}

/// Without permission to watch events the pod status decides, as before.
#[tokio::test]
async fn forbidden_event_watch_falls_back_to_the_status() {
    let (cluster, mut handle) = cluster();
    let opts = options(&["pod/api"]);
    let server = async move {
        let (container, name, pods, events) = read_patch_watch(&mut handle).await;
        events.send_response(respond(403, &status(403, "Forbidden", None)));
        let running = pod_with(&container, ephemeral_status(&name, json!({"running": {}})));
        pods.send_response(watch_body(&[
            json!({"type": "MODIFIED", "object": running}),
        ]));
        (name, handle)
    };
    let printer = Printer::capture(true).0;
    let client = prepare(&cluster, &opts, target(&opts), None, &printer);
    let (prepared, (name, _handle)) = bounded(async { tokio::join!(client, server) }).await;
    let prepared = prepared.unwrap();
    assert_eq!(prepared.container, name);
}

/// The recorded user (`DISTROLESS_DEBUG_BY`) of a PATCHed container.
fn recorded_by(container: &Value) -> Option<String> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == "DISTROLESS_DEBUG_BY")
        .and_then(|e| e["value"].as_str().map(str::to_owned))
}

/// The initial events of pod `api`: the pod, then the closing bookmark.
fn pod_then_end() -> [Value; 2] {
    [
        json!({"type": "ADDED", "object": pod(json!({}))}),
        initial_events_end("100"),
    ]
}

/// The PATCH, answered 404 (ephemeral containers unsupported): the run ends there. Returns the
/// container it would have added.
async fn expect_refused_patch(handle: &mut ApiHandle) -> Value {
    expect_patch(handle, |_| respond(404, &status(404, "NotFound", None))).await
}

/// Credentials that name the user: no SelfSubjectReview; the pod is read with the initial
/// watch alone, and that watch, still open, carries the wait: no GET and no second pod watch.
#[tokio::test]
async fn known_identity_reads_the_pod_with_one_watch_and_no_review() {
    let (mut cluster, mut handle) = cluster();
    cluster.identity = Some("carol".into());
    let server = async move {
        for _ in 0..2 {
            let (req, send) = handle
                .next_request()
                .await
                .expect("the initial watch and the exec check");
            let Some((req, send)) = answer_check(req, send) else {
                continue;
            };
            assert!(is_initial_watch(&req), "no review: {}", req.uri());
            send.send_response(watch_body(&pod_then_end()));
        }
        let container = expect_refused_patch(&mut handle).await;
        assert_eq!(recorded_by(&container).as_deref(), Some("carol"));
    };
    unreachable_prepare(cluster, options(&["api", "--", "id"]), server).await;
}

/// The initial events end without the pod: not found, with no GET.
#[tokio::test]
async fn initial_watch_without_the_pod_is_not_found() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_initial_watch(&mut handle, &[initial_events_end("100")]).await;
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert!(matches!(err, Error::PodNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "pod \"api\" not found in namespace \"default\" (context \"test\")"
    );
}

/// A fresh interactive session on a server with initial events: the watch that read the pod
/// goes on after the PATCH (here the fake ends it, so it is opened again from the bookmark's
/// resourceVersion), next to the event watch from the PATCH's.
#[tokio::test]
async fn initial_watch_then_patch_then_the_same_watch() {
    let (cluster, mut handle) = cluster();
    let opts = options(&["pod/api"]);
    let server = async move {
        let mut p = pod(json!({}));
        p["metadata"]["uid"] = json!("uid-1");
        expect_initial_watch(
            &mut handle,
            &[
                json!({"type": "ADDED", "object": p}),
                initial_events_end("100"),
            ],
        )
        .await;
        let container = expect_patch(&mut handle, |c| {
            let mut stored = pod_with(c, json!({}));
            stored["metadata"]["uid"] = json!("uid-1");
            respond(200, &stored)
        })
        .await;
        let name = container["name"].as_str().unwrap().to_owned();
        let (pods, events) = expect_watches(&mut handle, &name, "100").await;
        let running = pod_with(&container, ephemeral_status(&name, json!({"running": {}})));
        pods.send_response(watch_body(&[
            json!({"type": "MODIFIED", "object": running}),
        ]));
        (name, events, handle)
    };
    let printer = Printer::capture(true).0;
    let client = prepare(&cluster, &opts, target(&opts), None, &printer);
    let (prepared, (name, _events, _handle)) =
        bounded(async { tokio::join!(client, server) }).await;
    let prepared = prepared.unwrap();
    assert_eq!(prepared.container, name);
}

/// A refused SelfSubjectReview falls back to the kubeconfig user entry, silently.
#[tokio::test]
async fn refused_selfsubjectreview_records_the_kubeconfig_user() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        for _ in 0..3 {
            let (req, send) = handle
                .next_request()
                .await
                .expect("initial watch, exec check and review");
            let Some((req, send)) = answer_check(req, send) else {
                continue;
            };
            if req.method() == Method::POST {
                send.send_response(respond(403, &status(403, "Forbidden", None)));
            } else {
                assert!(is_initial_watch(&req));
                send.send_response(watch_body(&pod_then_end()));
            }
        }
        let container = expect_refused_patch(&mut handle).await;
        assert_eq!(recorded_by(&container).as_deref(), Some("alice"));
    };
    unreachable_prepare(cluster, options(&["api", "--", "id"]), server).await;
}

/// Runs `prepare` against a server script and returns the error.
async fn unreachable_prepare(
    cluster: Cluster,
    opts: Options,
    server: impl Future<Output = ()>,
) -> Error {
    let printer = Printer::capture(true).0;
    let client = prepare(&cluster, &opts, target(&opts), None, &printer);
    let (r, ()) = bounded(async { tokio::join!(client, server) }).await;
    r.expect_err("expected an error")
}

#[tokio::test]
async fn forbidden_get_names_the_permission_and_role() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_get_pod(
            &mut handle,
            respond(403, &status(403, "Forbidden", Some("api"))),
        )
        .await;
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert_eq!(
        err.to_string(),
        "forbidden: cannot get pods in namespace \"default\" (context \"test\")"
    );
    assert!(err.hint().unwrap().contains("kind: Role"));
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn missing_pod_is_not_found_in_namespace_and_context() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_get_pod(
            &mut handle,
            respond(404, &status(404, "NotFound", Some("api"))),
        )
        .await;
    };
    let err = unreachable_prepare(cluster, options(&["pod/api"]), server).await;
    assert_eq!(
        err.to_string(),
        "pod \"api\" not found in namespace \"default\" (context \"test\")"
    );
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn patch_404_without_details_means_unsupported() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        expect_patch(&mut handle, |_| {
            respond(404, &status(404, "NotFound", None))
        })
        .await;
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert!(matches!(err, Error::EphemeralUnsupported), "{err:?}");
    assert!(err.hint().unwrap().contains("1.25"));
}

#[tokio::test]
async fn patch_422_lists_the_causes() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        expect_patch(&mut handle, |_| {
            let mut s = status(422, "Invalid", Some("api"));
            s["details"]["causes"] = json!([{
                "reason": "FieldValueInvalid",
                "message": "Invalid value: \"bad image\"",
                "field": "spec.ephemeralContainers[0].image"
            }]);
            respond(422, &s)
        })
        .await;
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("spec.ephemeralContainers[0].image: Invalid value")
    );
    assert_eq!(err.exit_code(), 1);
}

/// A 403 on the PATCH: the server is asked whether RBAC allows it, then for the namespace.
async fn expect_access_review(handle: &mut ApiHandle, allowed: bool) {
    let (req, send) = handle
        .next_request()
        .await
        .expect("SelfSubjectAccessReview");
    assert_eq!(req.method(), Method::POST);
    assert_eq!(
        req.uri().path(),
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    );
    let body = body_json(req).await;
    assert_eq!(
        body["spec"]["resourceAttributes"],
        json!({"namespace": "default", "verb": "patch", "resource": "pods",
               "subresource": "ephemeralcontainers", "name": "api"})
    );
    let mut answer = body.clone();
    answer["status"] = json!({"allowed": allowed});
    send.send_response(respond(201, &answer));
}

#[tokio::test]
async fn pod_security_refusal_names_level_rule_and_passing_profile() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        expect_patch(&mut handle, |_| {
            respond(403, &status(403, "Forbidden", Some("api")))
        })
        .await;
        expect_access_review(&mut handle, true).await;
        let (req, send) = handle.next_request().await.expect("GET namespace");
        assert_eq!(req.uri().path(), "/api/v1/namespaces/default");
        send.send_response(respond(
            200,
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": "default",
                "labels": {"pod-security.kubernetes.io/enforce": "baseline"}
            }}),
        ));
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert_eq!(
        err.to_string(),
        "Pod Security level \"baseline\" in namespace \"default\" refused the debug container (profile general): capabilities (adds SYS_PTRACE)"
    );
    assert_eq!(
        err.hint().unwrap(),
        "the namespace enforces Pod Security level \"baseline\"; --profile baseline passes it"
    );
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn rbac_refusal_of_the_patch_names_the_subresource() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        expect_patch(&mut handle, |_| {
            respond(403, &status(403, "Forbidden", Some("api")))
        })
        .await;
        expect_access_review(&mut handle, false).await;
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert_eq!(
        err.to_string(),
        "forbidden: cannot patch pods/ephemeralcontainers in namespace \"default\" (context \"test\")"
    );
    assert!(err.hint().unwrap().contains("pods/ephemeralcontainers"));
}

#[tokio::test]
async fn image_pull_failure_fails_fast_with_the_kubelet_message() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        let container = expect_patch(&mut handle, |c| respond(200, &pod_with(c, json!({})))).await;
        let name = container["name"].as_str().unwrap().to_owned();
        let (_req, send) = handle.next_request().await.expect("WATCH");
        let failing = pod_with(
            &container,
            ephemeral_status(
                &name,
                json!({"waiting": {"reason": "ErrImagePull", "message": "pull access denied for nope"}}),
            ),
        );
        let mut events =
            serde_json::to_vec(&json!({"type": "MODIFIED", "object": failing})).unwrap();
        events.push(b'\n');
        send.send_response(
            Response::builder()
                .status(200)
                .body(Body::from(events))
                .unwrap(),
        );
    };
    let err = unreachable_prepare(cluster, options(&["api", "--image", "nope:0"]), server).await;
    assert!(
        err.to_string()
            .ends_with("cannot start: ErrImagePull: pull access denied for nope"),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("--image"));
}

#[tokio::test]
async fn wait_is_bounded_by_timeout() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        expect_patch(&mut handle, |c| respond(200, &pod_with(c, json!({})))).await;
        // Accept the watch and never answer.
        let (_req, _send) = handle.next_request().await.expect("WATCH");
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    let cluster_ = cluster;
    let opts = options(&["api", "--timeout", "300ms"]);
    let printer = Printer::capture(true).0;
    let client = prepare(&cluster_, &opts, target(&opts), None, &printer);
    let started = std::time::Instant::now();
    let err = bounded(async {
        tokio::select! {
            r = client => r.expect_err("timeout"),
            () = server => panic!("server ended first"),
        }
    })
    .await;
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(err.hint().unwrap().contains("--timeout"));
}

#[tokio::test]
async fn pod_not_running_is_refused_before_any_write() {
    let (cluster, mut handle) = cluster();
    let server = async move {
        let mut p = pod(json!({}));
        p["status"]["phase"] = json!("Pending");
        expect_get_pod(&mut handle, respond(200, &p)).await;
        // No PATCH may follow: the handle is dropped here and a further request would fail.
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert_eq!(
        err.to_string(),
        "pod \"api\" is Pending; only a running pod can be debugged"
    );
}

/// A pod of ours as `list --gc` reads it: `phase`, `reason`, the toolbox's state, deleting.
fn ours(name: &str, phase: &str, reason: Option<&str>, toolbox: Value, deleting: bool) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "default", "resourceVersion": "7",
            "labels": {"distroless-debug/mode": "copy"},
            "annotations": {"distroless-debug/container": "debugger-x", "distroless-debug/ttl": "3600"},
            "creationTimestamp": "2026-01-02T03:00:00Z"
        },
        "spec": {"activeDeadlineSeconds": 3600, "containers": [
            {"name": "app", "image": "app:1"}, {"name": "debugger-x", "image": "t:1"}
        ]},
        "status": {"phase": phase, "startTime": "2099-01-01T00:00:00Z", "containerStatuses": [{
            "name": "debugger-x", "image": "t:1", "imageID": "", "ready": true,
            "restartCount": 0, "state": toolbox
        }]}
    });
    if let Some(r) = reason {
        p["status"]["reason"] = json!(r);
    }
    if deleting {
        p["metadata"]["deletionTimestamp"] = json!("2026-01-02T03:01:00Z");
    }
    p
}

/// `list --gc`: one LIST of our pods by their label, a DELETE of each one that is done, none of
/// one in use or already being deleted; what it deleted on stdout, what it left on stderr.
#[tokio::test]
async fn gc_lists_our_pods_and_deletes_only_those_that_are_done() {
    let (cluster, mut handle) = cluster();
    let o = options(&["list", "--gc"]);
    let (printer, captured) = Printer::capture(false);
    let run = tokio::spawn(async move { collect(&cluster, &o, &printer).await });
    bounded(async {
        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(
            req.uri().to_string(),
            "/api/v1/namespaces/default/pods?&labelSelector=distroless-debug%2Fmode&limit=100"
        );
        send.send_response(respond(
            200,
            &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
                ours("expired", "Failed", Some("DeadlineExceeded"), json!({"terminated": {"exitCode": 137}}), false),
                ours("ended", "Running", None, json!({"terminated": {"exitCode": 0}}), false),
                ours("live", "Running", None, json!({"running": {}}), false),
                ours("going", "Failed", Some("DeadlineExceeded"), json!({"terminated": {"exitCode": 137}}), true),
            ]}),
        ));
        let mut deleted = Vec::new();
        for _ in 0..2 {
            let (req, send) = handle.next_request().await.unwrap();
            assert_eq!(req.method(), Method::DELETE);
            deleted.push(req.uri().path().to_owned());
            send.send_response(respond(200, &ours("x", "Failed", None, json!({}), true)));
        }
        deleted.sort();
        assert_eq!(
            deleted,
            [
                "/api/v1/namespaces/default/pods/ended",
                "/api/v1/namespaces/default/pods/expired"
            ]
        );
    })
    .await;
    let code = bounded(run).await.unwrap().unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        captured.stdout(),
        "deleted pod default/ended (copy): its session ended (the toolbox container exited)\n\
         deleted pod default/expired (copy): its time to live passed (activeDeadlineSeconds)\n"
    );
    assert!(
        captured.stderr().contains("1 pod of ours still in use"),
        "{}",
        captured.stderr()
    );
}

/// Mutating admission dropped or rewrote the debug container: the PATCH's answer (the pod as
/// stored) says so, and the run ends there with the error: no watch of the pod or its events
/// is opened, nothing waits for a container that will never run as asked.
#[tokio::test]
async fn a_container_dropped_or_rewritten_by_admission_ends_the_run_before_any_wait() {
    type Mutation = fn(&Value) -> Value;
    let dropped: Mutation = |_| pod(json!({}));
    let rewritten: Mutation = |c| {
        let mut c = c.clone();
        c["command"] = json!(["sleep", "3600"]);
        pod_with(&c, json!({}))
    };
    for (mutation, want) in [
        (dropped, "ContainerDropped"),
        (rewritten, "ContainerRewritten"),
    ] {
        let (cluster, mut handle) = cluster();
        let opts = options(&["pod/api", "--", "id"]);
        let server = async {
            expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
            expect_patch(&mut handle, |c| respond(200, &mutation(c))).await
        };
        let printer = Printer::capture(false).0;
        let client = prepare(&cluster, &opts, target(&opts), None, &printer);
        let (result, container) = bounded(async { tokio::join!(client, server) }).await;
        let err = result.expect_err("mutated");
        let name = container["name"].as_str().unwrap();
        match (&err, want) {
            (Error::ContainerDropped { pod, container }, "ContainerDropped") => {
                assert_eq!((pod.as_str(), container.as_str()), ("api", name));
            }
            (Error::ContainerRewritten { fields, .. }, "ContainerRewritten") => {
                assert_eq!(fields, &["command"]);
            }
            _ => panic!("want {want}, got {err:?}"),
        }
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.hint()
                .unwrap()
                .contains("mutatingwebhookconfigurations")
        );
        // The client is gone and it asked for nothing more: no watch was started.
        drop(cluster);
        let next = bounded(handle.next_request()).await;
        assert!(
            next.is_none(),
            "{want}: no request after the PATCH, got {}",
            next.map(|(r, _)| r.uri().to_string()).unwrap_or_default()
        );
    }
}

/// A ValidatingAdmissionPolicy's denial as the API server sends it (422 Invalid, one cause
/// with a message and no field): the server's message, which names the policy, and what to ask
/// the platform team for. No access review: it is no 403.
#[tokio::test]
async fn a_policy_denial_shows_the_servers_message_and_what_to_ask_for() {
    let (cluster, mut handle) = cluster();
    let message = "pods \"api\" is forbidden: ValidatingAdmissionPolicy 'require-limits' with binding 'require-limits' denied request: every container must set resources.limits";
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        expect_patch(&mut handle, |_| {
            let mut s = status(422, "Invalid", Some("api"));
            s["message"] = json!(message);
            s["details"]["causes"] = json!([{"message": message}]);
            respond(422, &s)
        })
        .await;
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert_eq!(
        err.to_string(),
        format!(
            "the API server refused the debug container (its admission, a policy or webhook, or its validation): {message}"
        )
    );
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("Ephemeral containers cannot carry resources"),
        "{hint}"
    );
    assert!(hint.contains("--copy"), "{hint}");
    assert_eq!(err.exit_code(), 1);
}

/// A webhook's denial (403, no details): RBAC allows the PATCH and the namespace enforces no
/// Pod Security level, so admission refused it; the webhook's message is shown verbatim.
#[tokio::test]
async fn a_webhook_denial_with_rbac_allowing_names_the_webhook() {
    let (cluster, mut handle) = cluster();
    let message = "admission webhook \"deny.example.com\" denied the request: ephemeral containers are not allowed";
    let server = async move {
        expect_get_pod(&mut handle, respond(200, &pod(json!({})))).await;
        expect_patch(&mut handle, |_| {
            let mut s = status(403, "", None);
            s["message"] = json!(message);
            respond(403, &s)
        })
        .await;
        expect_access_review(&mut handle, true).await;
        let (req, send) = handle.next_request().await.expect("GET namespace");
        assert_eq!(req.uri().path(), "/api/v1/namespaces/default");
        send.send_response(respond(
            200,
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
        ));
    };
    let err = unreachable_prepare(cluster, options(&["api"]), server).await;
    assert_eq!(
        err.to_string(),
        format!("admission refused the debug container: {message}")
    );
    assert!(
        err.hint()
            .unwrap()
            .contains("Ask the platform team for an exception for ephemeral containers")
    );
}
