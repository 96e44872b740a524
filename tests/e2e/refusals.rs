//! Refusals a person must understand at once: a bad image, a missing permission, Pod Security.

use std::path::Path;
use std::time::Duration;

use crate::harness::{Namespace, PLUGIN, Pty, cluster, env_as, plugin_env, run_plugin, text};

#[test]
fn missing_image_fails_fast_with_the_kubelets_reason() {
    let ns = Namespace::new("pull", None);
    ns.target_pod("app");
    let c = cluster();
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "--image",
            &c.missing_image,
            "--",
            "true",
        ],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains("ErrImagePull") || stderr.contains("ImagePullBackOff"),
        "names the kubelet's reason:\n{stderr}"
    );
    assert!(
        stderr.contains(&c.missing_image),
        "names the image:\n{stderr}"
    );
    assert!(stderr.contains("hint:"), "says what to do:\n{stderr}");
}

/// Grants a test user everything the plugin needs but `patch` on `pods/ephemeralcontainers`.
fn bind_without_ephemeral_patch(ns: &str, user: &str) {
    cluster().apply(&format!(
        r"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: no-ephemeral, namespace: {ns}}}
rules:
- apiGroups: ['']
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: ['']
  resources: [pods/attach, pods/exec]
  verbs: [get, create]
- apiGroups: ['']
  resources: [pods/log]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: no-ephemeral, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: no-ephemeral}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}
"
    ));
}

#[test]
fn missing_permission_names_verb_and_resource() {
    let ns = Namespace::new("rbac", None);
    ns.target_pod("app");
    bind_without_ephemeral_patch(&ns.name, "alice");
    let c = cluster();
    let env = env_as("alice");

    let out = run_plugin(&["-n", &ns.name, "pod/app", "--", "true"], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(
        stderr.contains("patch") && stderr.contains("pods/ephemeralcontainers"),
        "names the verb and the resource:\n{stderr}"
    );
    assert!(stderr.contains(&ns.name), "names the namespace:\n{stderr}");

    // Nothing was added to the pod.
    let pod = c.pod_json(&ns.name, "app");
    assert!(
        pod["spec"]["ephemeralContainers"].is_null(),
        "no container added"
    );
}

#[test]
fn restricted_namespace_explains_and_accepts_the_restricted_profile() {
    let ns = Namespace::new("restricted", Some("restricted"));
    ns.target_pod("app");
    let c = cluster();

    let out = run_plugin(&["-n", &ns.name, "pod/app", "--", "true"], &plugin_env());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains("restricted"),
        "names the Pod Security level:\n{stderr}"
    );
    assert!(
        stderr.contains("--profile restricted") || stderr.contains("--profile=restricted"),
        "names the profile that passes:\n{stderr}"
    );
    assert!(
        c.pod_json(&ns.name, "app")["spec"]["ephemeralContainers"].is_null(),
        "the refused container was not added"
    );

    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, "pod/app", "--profile", "restricted"],
        &plugin_env(),
        (24, 80),
    );
    pty.expect("distroless-debug", Duration::from_secs(90));
    pty.send_line("echo UID-$(id -u)");
    pty.expect("UID-65532", Duration::from_secs(20));
    pty.send_line("exit 0");
    let exit = pty.wait(Duration::from_secs(20));
    assert_eq!(exit.code, 0, "screen:\n{}", exit.screen);
    assert_eq!(exit.stty_before, exit.stty_after);
}

#[test]
fn pending_pod_and_ambiguous_container_are_refused_before_any_change() {
    let ns = Namespace::new("notrunning", None);
    let c = cluster();
    // A pod no node can take stays Pending.
    let pending = crate::harness::target_pod_yaml(&ns.name, "pending", &c.target_image, "")
        .replace("spec:\n", "spec:\n  nodeSelector: {nowhere: \"true\"}\n");
    c.apply(&pending);
    let out = run_plugin(
        &["-n", &ns.name, "pod/pending", "--", "true"],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("Pending"), "says the phase:\n{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(c.pod_json(&ns.name, "pending")["spec"]["ephemeralContainers"].is_null());

    // Two containers, no annotation: a list to choose from.
    let mut two = crate::harness::target_pod_yaml(&ns.name, "two", &c.target_image, "");
    two.push_str(&format!(
        "  - name: sidecar\n    image: {}\n    imagePullPolicy: Never\n    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities: {{drop: [ALL]}}\n",
        c.pause_image
    ));
    c.apply(&two);
    c.wait_ready(&ns.name, "two");
    let out = run_plugin(&["-n", &ns.name, "pod/two", "--", "true"], &plugin_env());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains("app") && stderr.contains("sidecar") && stderr.contains("--target"),
        "lists the containers and the flag:\n{stderr}"
    );
    assert!(c.pod_json(&ns.name, "two")["spec"]["ephemeralContainers"].is_null());

    // A missing pod names the namespace.
    let out = run_plugin(&["-n", &ns.name, "pod/nope", "--", "true"], &plugin_env());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains("not found") && stderr.contains(&ns.name),
        "{stderr}"
    );
}
