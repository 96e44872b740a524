//! Admission on the real API server: a ValidatingAdmissionPolicy and a validating webhook that
//! refuse ephemeral containers (as a resource-limits policy does), and mutating webhooks that
//! drop or rewrite the debug container. The user sees which policy or webhook refused it and
//! what to ask for, or that what was stored is not what was asked, at once and without a wait.
//!
//! The webhooks are served by a small HTTPS server in this file, on 127.0.0.1 and a free port,
//! with a certificate the cluster's CA signs. Every policy, binding and webhook matches only the
//! UPDATE of `pods/ephemeralcontainers` in the test's own namespace (a label only it has), so
//! the tests that run at the same time are never affected; the webhooks fail open
//! (`failurePolicy: Ignore`), so a dead test server blocks nothing; the cluster-scoped objects
//! have names unique to the run and are deleted when the test ends, even on a panic (one left
//! by a killed run matches only its namespace, which is gone, and fails open).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::{Namespace, cluster, plugin_env, run_plugin, text};

/// The label that puts a namespace in the scope of one test's admission objects.
const SCOPE_LABEL: &str = "e2e.distroless-debug/admission";

/// A name unique to this run and test.
fn unique(what: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    format!(
        "e2e-{what}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A cluster-scoped object of a test, deleted when it goes out of scope.
struct ClusterObject {
    kind: &'static str,
    name: String,
}

impl ClusterObject {
    fn apply(kind: &'static str, name: &str, yaml: &str) -> Self {
        let object = ClusterObject {
            kind,
            name: name.to_owned(),
        };
        cluster().apply(yaml);
        object
    }
}

impl Drop for ClusterObject {
    fn drop(&mut self) {
        let _ = cluster().kubectl(
            &[
                "delete",
                self.kind,
                &self.name,
                "--ignore-not-found",
                "--wait=false",
            ],
            None,
        );
    }
}

/// A namespace with the target pod `app`, labelled so that only this test's admission objects
/// apply to it; returns it and the label's value.
fn scoped_namespace(prefix: &str) -> (Namespace, String) {
    scoped_namespace_with(prefix, "")
}

/// [`scoped_namespace`], with `before_pod` (YAML for the namespace) applied before the pod.
fn scoped_namespace_with(prefix: &str, before_pod: &str) -> (Namespace, String) {
    let ns = Namespace::new(prefix, None);
    if !before_pod.is_empty() {
        cluster().apply(&before_pod.replace("NAMESPACE", &ns.name));
    }
    let value = ns.name.clone();
    cluster().kubectl_ok(
        &[
            "label",
            "namespace",
            &ns.name,
            &format!("{SCOPE_LABEL}={value}"),
        ],
        None,
    );
    ns.target_pod("app");
    (ns, value)
}

/// The rules every admission object here uses: the UPDATE of the ephemeral containers of pods,
/// in the namespaces labelled `value`.
fn webhook_scope(value: &str) -> String {
    format!(
        r#"  namespaceSelector:
    matchLabels: {{"{SCOPE_LABEL}": "{value}"}}
  rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    operations: ["UPDATE"]
    resources: ["pods/ephemeralcontainers"]
    scope: Namespaced
  sideEffects: None
  admissionReviewVersions: ["v1"]
  failurePolicy: Ignore
  timeoutSeconds: 10
"#
    )
}

/// A server-side dry run of adding an ephemeral container to `app` (what kubectl shows): the
/// signal that an admission object took effect.
fn dry_run_add(ns: &str) -> std::process::Output {
    let patch = json!({"spec": {"ephemeralContainers": [{
        "name": "debugger-dryrun", "image": cluster().toolbox_image, "command": ["sleep", "1"],
        "targetContainerName": "app"
    }]}});
    cluster().kubectl(
        &[
            "-n",
            ns,
            "patch",
            "pod",
            "app",
            "--subresource=ephemeralcontainers",
            "--type=strategic",
            "--dry-run=server",
            "-o",
            "json",
            "-p",
            &patch.to_string(),
        ],
        None,
    )
}

/// Waits until the API server applies a newly registered admission object: `took_effect` is
/// asked about a dry run until it says yes (registrations reach the API server's admission
/// within seconds, through its informers).
fn wait_until_effective(ns: &str, what: &str, took_effect: impl Fn(&std::process::Output) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = dry_run_add(ns);
        if took_effect(&out) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not take effect within 60s; the last dry run said:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The ephemeral containers of pod `app`, by name.
fn ephemeral_names(ns: &str) -> Vec<String> {
    cluster().pod_json(ns, "app")["spec"]["ephemeralContainers"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The plugin's `-- echo admitted` in `app` of `ns`, without a terminal.
fn debug(ns: &str) -> (Option<i32>, String, String) {
    let out = run_plugin(
        &[
            "-n",
            ns,
            "pod/app",
            "--timeout",
            "5m",
            "--",
            "echo",
            "admitted",
        ],
        &plugin_env(),
    );
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn error_and_hint(stderr: &str) -> (String, String) {
    let error = stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| panic!("an error line; stderr:\n{stderr}"))
        .to_owned();
    let at = stderr
        .find("hint: ")
        .unwrap_or_else(|| panic!("a hint; stderr:\n{stderr}"));
    (error, stderr[at + "hint: ".len()..].to_owned())
}

/// The hint of a refused debug container: why, what to ask the platform team for, the way out.
fn assert_refusal_hint(hint: &str, stderr: &str) {
    for part in [
        "Ephemeral containers cannot carry resources",
        "Ask the platform team for an exception for ephemeral containers (the pods/ephemeralcontainers subresource)",
        "DISTROLESS_DEBUG_VERSION",
        "--copy",
    ] {
        assert!(
            hint.contains(part),
            "hint names {part:?}; stderr:\n{stderr}"
        );
    }
}

#[test]
fn a_validating_admission_policy_refusal_names_the_policy_and_what_to_ask_for() {
    // Default limits for every container of a new pod, as a namespace under a resource-limits
    // policy has: the target gets them, and so would a copy of it.
    let (ns, scope) = scoped_namespace_with(
        "vap",
        r"apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
  namespace: NAMESPACE
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 128Mi}
    defaultRequest: {cpu: 10m, memory: 16Mi}
",
    );
    let policy = unique("require-limits");
    let c = cluster();
    let _policy = ClusterObject::apply(
        "validatingadmissionpolicies",
        &policy,
        &format!(
            r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: {policy}
spec:
  failurePolicy: Fail
  matchConstraints:
    namespaceSelector:
      matchLabels: {{"{SCOPE_LABEL}": "{scope}"}}
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["UPDATE"]
      resources: ["pods/ephemeralcontainers"]
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  variables:
  - name: limited
    expression: "[object.spec.containers, has(object.spec.initContainers) ? object.spec.initContainers : [], has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : []].all(l, l.all(c, has(c.resources) && has(c.resources.limits)))"
  validations:
  - expression: "variables.limited"
    message: "every container must set resources.limits"
"#
        ),
    );
    let _binding = ClusterObject::apply(
        "validatingadmissionpolicybindings",
        &policy,
        &format!(
            r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: {policy}
spec:
  policyName: {policy}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {{"{SCOPE_LABEL}": "{scope}"}}
"#
        ),
    );
    wait_until_effective(&ns.name, "the policy", |out| {
        !out.status.success() && text(&out.stderr).contains(&policy)
    });

    let (code, stdout, stderr) = debug(&ns.name);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert_eq!(stdout, "");
    let (error, hint) = error_and_hint(&stderr);
    assert_eq!(
        error,
        format!(
            "the API server refused the debug container (its admission, a policy or webhook, or its validation): pods \"app\" is forbidden: ValidatingAdmissionPolicy '{policy}' with binding '{policy}' denied request: every container must set resources.limits"
        ),
        "stderr:\n{stderr}"
    );
    assert_refusal_hint(&hint, &stderr);
    assert!(!stderr.contains("Added debug container"), "{stderr}");
    assert!(ephemeral_names(&ns.name).is_empty());

    // The way out the hint names: a copy of the pod, whose containers get the namespace's
    // default limits, passes the same policy.
    let out = run_plugin(
        &[
            "-n", &ns.name, "pod/app", "--copy", "--", "echo", "admitted",
        ],
        &plugin_env(),
    );
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "admitted\n"),
        "stderr:\n{}",
        text(&out.stderr)
    );

    // The same policy answering 403 Forbidden (its validation's reason): RBAC allows the PATCH
    // and Pod Security enforces nothing here, so it is admission for sure.
    c.kubectl_ok(
        &[
            "patch",
            "validatingadmissionpolicy",
            &policy,
            "--type=json",
            "-p",
            r#"[{"op": "add", "path": "/spec/validations/0/reason", "value": "Forbidden"}]"#,
        ],
        None,
    );
    wait_until_effective(&ns.name, "the policy's reason", |_| {
        forbidden_code(&ns.name)
    });
    let (code, _, stderr) = debug(&ns.name);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    let (error, hint) = error_and_hint(&stderr);
    assert_eq!(
        error,
        format!(
            "admission refused the debug container: pods \"app\" is forbidden: ValidatingAdmissionPolicy '{policy}' with binding '{policy}' denied request: every container must set resources.limits"
        ),
        "stderr:\n{stderr}"
    );
    assert_refusal_hint(&hint, &stderr);
    assert!(ephemeral_names(&ns.name).is_empty());
}

/// Whether a dry run is now refused with HTTP 403 (kubectl -v=6 prints the response's code).
fn forbidden_code(ns: &str) -> bool {
    let patch = json!({"spec": {"ephemeralContainers": [{
        "name": "debugger-dryrun", "image": cluster().toolbox_image, "targetContainerName": "app"
    }]}});
    let out = cluster().kubectl(
        &[
            "-n",
            ns,
            "patch",
            "pod",
            "app",
            "--subresource=ephemeralcontainers",
            "--type=strategic",
            "--dry-run=server",
            "-v=6",
            "-p",
            &patch.to_string(),
        ],
        None,
    );
    text(&out.stderr).contains("403 Forbidden")
}

// --- the webhook server ----------------------------------------------------------------------

/// What a webhook answers to an AdmissionReview request: the `response` object without `uid`.
type Decide = dyn Fn(&Value) -> Value + Send + Sync;

/// An HTTPS server on 127.0.0.1 answering AdmissionReviews with `decide`, until dropped.
struct WebhookServer {
    port: u16,
    ca_bundle: String,
    reviews: Arc<Mutex<u32>>,
}

impl WebhookServer {
    fn start(decide: Box<Decide>) -> Self {
        let (chain, key) = serving_certificate();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the serving certificate");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("address").port();
        let reviews = Arc::new(Mutex::new(0));
        let decide: Arc<Decide> = Arc::from(decide);
        let counted = Arc::clone(&reviews);
        // The listener lives as long as the process: a test that ends leaves a port that
        // answers nothing it is asked about (its registration is deleted).
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let config = Arc::clone(&config);
                let decide = Arc::clone(&decide);
                let counted = Arc::clone(&counted);
                std::thread::spawn(move || {
                    let _ = serve(stream, config, &*decide, &counted);
                });
            }
        });
        let ca = std::fs::read(cluster().dir.join("pki/ca.crt")).expect("the cluster's CA");
        WebhookServer {
            port,
            ca_bundle: base64::engine::general_purpose::STANDARD.encode(ca),
            reviews,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}/{path}", self.port)
    }

    fn reviews(&self) -> u32 {
        *self.reviews.lock().expect("count")
    }
}

/// One connection: HTTP/1.1 requests, each a POST of an AdmissionReview.
fn serve(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    decide: &Decide,
    counted: &Mutex<u32>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if tls.read(&mut byte)? == 0 {
                return Ok(());
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        tls.read_exact(&mut body)?;
        let review: Value = serde_json::from_slice(&body).map_err(std::io::Error::other)?;
        let mut response = decide(&review["request"]);
        response["uid"] = review["request"]["uid"].clone();
        *counted.lock().expect("count") += 1;
        let answer = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response
        })
        .to_string();
        write!(
            tls,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        )?;
        tls.flush()?;
    }
}

/// A key and a certificate for 127.0.0.1, signed by the cluster's CA with openssl.
fn serving_certificate() -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let dir = std::env::temp_dir().join(unique("webhook-cert"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pki = cluster().dir.join("pki");
    let file = |name: &str| dir.join(name).display().to_string();
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write the extensions");
    let serial = format!("0x{:x}{:08x}", std::process::id(), rand_serial());
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &file("key.pem"),
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        &file("key.pem"),
        "-subj",
        "/CN=distroless-debug-e2e-webhook",
        "-out",
        &file("csr.pem"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &file("csr.pem"),
        "-CA",
        &pki.join("ca.crt").display().to_string(),
        "-CAkey",
        &pki.join("ca.key").display().to_string(),
        "-set_serial",
        &serial,
        "-days",
        "1",
        "-extfile",
        &file("ext"),
        "-out",
        &file("cert.pem"),
    ]);
    let der = |path: &Path| {
        pem::parse(std::fs::read(path).expect("read a PEM file"))
            .expect("PEM")
            .into_contents()
    };
    let cert = der(&dir.join("cert.pem"));
    let key = der(&dir.join("key.pem"));
    let _ = std::fs::remove_dir_all(&dir);
    (
        vec![rustls::pki_types::CertificateDer::from(cert)],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
    )
}

fn rand_serial() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default()
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
}

/// Registers `server` as a webhook of `kind` (validating or mutating) named `name`, for this
/// test's namespace.
fn register(kind: &'static str, name: &str, server: &WebhookServer, scope: &str) -> ClusterObject {
    let (resource, object_kind) = match kind {
        "validating" => (
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
        ),
        _ => (
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
        ),
    };
    ClusterObject::apply(
        resource,
        name,
        &format!(
            r"apiVersion: admissionregistration.k8s.io/v1
kind: {object_kind}
metadata:
  name: {name}
webhooks:
- name: {name}.e2e.distroless-debug.test
  clientConfig:
    url: {url}
    caBundle: {ca}
{scope}",
            url = server.url(kind),
            ca = server.ca_bundle,
            scope = webhook_scope(scope),
        ),
    )
}

/// The index of the ephemeral container a review's request adds (not in its old object).
fn added_index(request: &Value) -> Option<usize> {
    let names = |o: &Value| -> Vec<String> {
        o["spec"]["ephemeralContainers"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let old = names(&request["oldObject"]);
    names(&request["object"])
        .iter()
        .position(|n| !old.contains(n))
}

/// A mutating webhook's answer: `ops` as a JSONPatch.
fn json_patch(ops: &Value) -> Value {
    json!({
        "allowed": true,
        "patchType": "JSONPatch",
        "patch": base64::engine::general_purpose::STANDARD.encode(ops.to_string()),
    })
}

#[test]
fn a_validating_webhook_refusal_names_the_webhook_and_what_to_ask_for() {
    let (ns, scope) = scoped_namespace("vwh");
    let server = WebhookServer::start(Box::new(|_| {
        json!({"allowed": false, "status": {
            "code": 403,
            "message": "ephemeral containers are not allowed: containers must set resources.limits"
        }})
    }));
    let name = unique("deny-ephemeral");
    let _webhook = register("validating", &name, &server, &scope);
    wait_until_effective(&ns.name, "the webhook", |out| {
        !out.status.success() && text(&out.stderr).contains(&name)
    });

    let asked_before = server.reviews();
    let (code, stdout, stderr) = debug(&ns.name);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert_eq!(stdout, "");
    let (error, hint) = error_and_hint(&stderr);
    assert_eq!(
        error,
        format!(
            "admission refused the debug container: admission webhook \"{name}.e2e.distroless-debug.test\" denied the request: ephemeral containers are not allowed: containers must set resources.limits"
        ),
        "stderr:\n{stderr}"
    );
    assert_refusal_hint(&hint, &stderr);
    assert!(ephemeral_names(&ns.name).is_empty());
    assert!(server.reviews() > asked_before, "the webhook was asked");
}

#[test]
fn a_container_dropped_by_a_mutating_webhook_fails_at_once_without_a_wait() {
    let (ns, scope) = scoped_namespace("drop");
    let server = WebhookServer::start(Box::new(|request| match added_index(request) {
        Some(i) => json_patch(&json!([
            {"op": "remove", "path": format!("/spec/ephemeralContainers/{i}")}
        ])),
        None => json!({"allowed": true}),
    }));
    let name = unique("drop-ephemeral");
    let _webhook = register("mutating", &name, &server, &scope);
    wait_until_effective(&ns.name, "the webhook", |out| {
        out.status.success()
            && serde_json::from_slice::<Value>(&out.stdout)
                .is_ok_and(|p| p["spec"]["ephemeralContainers"].is_null())
    });

    let (code, stdout, stderr) = debug(&ns.name);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert_eq!(stdout, "");
    let (error, hint) = error_and_hint(&stderr);
    let Some((container, _)) = error
        .strip_prefix("the API server stored pod \"app\" without debug container \"")
        .and_then(|r| r.split_once('"'))
    else {
        panic!("names the pod and the container; stderr:\n{stderr}")
    };
    assert!(container.starts_with("debugger-"), "{stderr}");
    assert_eq!(
        error,
        format!(
            "the API server stored pod \"app\" without debug container \"{container}\": mutating admission (a webhook or policy) removed it from the request, so it will never start"
        )
    );
    assert!(hint.contains("mutatingwebhookconfigurations"), "{stderr}");
    assert!(hint.contains("pods/ephemeralcontainers"), "{stderr}");
    // Nothing was waited for: no container announced, no progress.
    assert!(!stderr.contains("Added debug container"), "{stderr}");
    assert!(!stderr.contains("Waiting"), "{stderr}");
    assert!(ephemeral_names(&ns.name).is_empty());
}

#[test]
fn a_command_rewritten_by_a_mutating_webhook_is_refused_naming_the_field() {
    let (ns, scope) = scoped_namespace("rewrite");
    let server = WebhookServer::start(Box::new(|request| match added_index(request) {
        Some(i) => json_patch(&json!([
            {"op": "replace", "path": format!("/spec/ephemeralContainers/{i}/command"),
             "value": ["sleep", "5"]}
        ])),
        None => json!({"allowed": true}),
    }));
    let name = unique("rewrite-ephemeral");
    let _webhook = register("mutating", &name, &server, &scope);
    wait_until_effective(&ns.name, "the webhook", |out| {
        out.status.success()
            && serde_json::from_slice::<Value>(&out.stdout).is_ok_and(|p| {
                p["spec"]["ephemeralContainers"][0]["command"] == json!(["sleep", "5"])
            })
    });

    let (code, stdout, stderr) = debug(&ns.name);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert_eq!(stdout, "");
    let (error, hint) = error_and_hint(&stderr);
    let names = ephemeral_names(&ns.name);
    assert_eq!(
        names.len(),
        1,
        "the rewritten container is stored: {names:?}"
    );
    assert_eq!(
        error,
        format!(
            "mutating admission (a webhook or policy) changed debug container \"{}\" of pod \"app\" before it was stored (command): no session is opened in what the plugin did not ask for (the container stays in the pod as stored)",
            names[0]
        ),
        "stderr:\n{stderr}"
    );
    assert!(hint.contains("mutatingwebhookconfigurations"), "{stderr}");
    assert!(!stderr.contains("Added debug container"), "{stderr}");
}

#[test]
fn an_image_rewritten_by_a_mutating_webhook_is_said_and_the_session_goes_on() {
    let (ns, scope) = scoped_namespace("mirror");
    // A registry mirror's rewrite: another reference the node has.
    let mirror = std::env::var("DD_TOOLBOX_MUSL_IMAGE").expect("DD_TOOLBOX_MUSL_IMAGE is set");
    let to = mirror.clone();
    let server = WebhookServer::start(Box::new(move |request| match added_index(request) {
        Some(i) => json_patch(&json!([
            {"op": "replace", "path": format!("/spec/ephemeralContainers/{i}/image"),
             "value": to}
        ])),
        None => json!({"allowed": true}),
    }));
    let name = unique("mirror-ephemeral");
    let _webhook = register("mutating", &name, &server, &scope);
    wait_until_effective(&ns.name, "the webhook", |out| {
        out.status.success()
            && serde_json::from_slice::<Value>(&out.stdout)
                .is_ok_and(|p| p["spec"]["ephemeralContainers"][0]["image"] == json!(mirror))
    });

    let (code, stdout, stderr) = debug(&ns.name);
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert_eq!(stdout, "admitted\n");
    let names = ephemeral_names(&ns.name);
    assert_eq!(names.len(), 1, "{names:?}");
    let notice = format!(
        "warning: admission changed the image of debug container {} to {mirror} (asked for {}), as a registry mirror does; going on with it",
        names[0],
        cluster().toolbox_image
    );
    assert!(
        stderr.lines().any(|l| l == notice),
        "{notice}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("Added debug container {} ({mirror},", names[0])),
        "{stderr}"
    );
}
