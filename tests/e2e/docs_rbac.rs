//! docs/rbac.yaml as published: a user bound to exactly it can debug; one without it is told
//! which permission is missing.

use std::path::Path;
use std::time::Duration;

use crate::harness::{Namespace, PLUGIN, Pty, cluster, env_as, run_plugin, text};

/// The file users are told to apply, read at build time so the test follows it.
const RBAC_YAML: &str = include_str!("../../docs/rbac.yaml");

/// The subject line of the RoleBinding in docs/rbac.yaml.
const PLACEHOLDER: &str = "  name: debugger\n";

/// docs/rbac.yaml with `user` as the subject, applied in `ns` the way the file says
/// (`kubectl apply -n NAMESPACE`).
fn apply_docs_rbac(ns: &str, user: &str) {
    assert_eq!(
        RBAC_YAML.matches(PLACEHOLDER).count(),
        1,
        "docs/rbac.yaml names the placeholder subject `debugger` once"
    );
    let yaml = RBAC_YAML.replace(PLACEHOLDER, &format!("  name: {user}\n"));
    cluster().kubectl_ok(&["-n", ns, "apply", "-f", "-"], Some(&yaml));
}

/// `kubectl auth can-i VERB RESOURCE[/SUBRESOURCE] --as USER -n NS`, as the cluster admin.
fn can_i(ns: &str, user: &str, verb: &str, resource: &str) -> bool {
    let (resource, sub) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(format!("--subresource={s}"))),
        None => (resource, None),
    };
    let mut args = vec!["-n", ns, "auth", "can-i", verb, resource, "--as", user];
    args.extend(sub.as_deref());
    cluster().kubectl(&args, None).status.success()
}

#[test]
fn docs_rbac_is_enough_to_debug_and_no_more() {
    let ns = Namespace::new("docs-rbac", None);
    ns.target_pod("app");
    apply_docs_rbac(&ns.name, "bob");

    // The Role grants the session's permissions and nothing that changes a pod otherwise.
    for (verb, resource) in [
        ("patch", "pods/ephemeralcontainers"),
        ("get", "pods/exec"),
        ("create", "pods/exec"),
        ("get", "deployments.apps"),
        ("get", "jobs.batch"),
    ] {
        assert!(
            can_i(&ns.name, "bob", verb, resource),
            "bob may {verb} {resource}"
        );
    }
    for (verb, resource) in [
        ("patch", "pods"),
        ("delete", "pods"),
        ("create", "pods"),
        ("get", "secrets"),
        // Every session runs through exec: neither attach nor the container log is needed.
        ("create", "pods/attach"),
        ("get", "pods/attach"),
        ("get", "pods/log"),
    ] {
        assert!(
            !can_i(&ns.name, "bob", verb, resource),
            "bob may not {verb} {resource}"
        );
    }

    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, "pod/app"],
        &env_as("bob"),
        (24, 80),
    );
    pty.expect("distroless-debug", Duration::from_secs(90));
    pty.send_line("echo READY-$((40+2))");
    pty.expect("READY-42", Duration::from_secs(20));
    pty.send_line("exit 4");
    let exit = pty.wait(Duration::from_secs(30));
    assert_eq!(
        exit.code, 4,
        "bob's session returns the shell's exit code; screen:\n{}",
        exit.screen
    );
    assert_eq!(exit.stty_before, exit.stty_after, "terminal restored");

    // A command runs through exec: its output and exit code come back.
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "--",
            "sh",
            "-c",
            "echo OUT-$((6*7)); exit 3",
        ],
        &env_as("bob"),
    );
    assert_eq!(out.status.code(), Some(3), "stderr:\n{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("OUT-42"),
        "stdout:\n{}",
        text(&out.stdout)
    );

    let pod = cluster().pod_json(&ns.name, "app");
    let by = pod["spec"]["ephemeralContainers"][0]["env"]
        .as_array()
        .expect("the debug container's env")
        .iter()
        .find(|e| e["name"] == "DISTROLESS_DEBUG_BY")
        .map(|e| e["value"].clone());
    assert_eq!(
        by,
        Some(serde_json::json!("bob")),
        "the pod spec records who debugged it"
    );
}

#[test]
fn without_the_binding_the_hint_names_the_permission() {
    let ns = Namespace::new("docs-norbac", None);
    ns.target_pod("app");
    apply_docs_rbac(&ns.name, "bob");

    let out = run_plugin(&["-n", &ns.name, "pod/app", "--", "true"], &env_as("carol"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains("hint: you need 'get' on 'pods'"),
        "the hint names the verb and the resource:\n{stderr}"
    );
    assert!(
        stderr.contains("pods/ephemeralcontainers") && stderr.contains("kind: Role"),
        "the hint carries the minimal Role:\n{stderr}"
    );
    assert!(
        cluster().pod_json(&ns.name, "app")["spec"]["ephemeralContainers"].is_null(),
        "nothing was added to the pod"
    );
}
