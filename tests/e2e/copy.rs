//! Debug by copy (`--copy`) on the real cluster: a distroless target that exits at start, a
//! command's output and exit code, a workload's pod, a stuck init container, and the refusals
//! of Pod Security and RBAC, each with its fix. The original pod is never touched, and no copy
//! is left once the plugin is done.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::faults::wait_until;
use crate::harness::{Namespace, PLUGIN, Pty, cluster, env_as, plugin_env, run_plugin, text};

const START: Duration = Duration::from_secs(120);
const STEP: Duration = Duration::from_secs(30);

/// The pods of ours in `ns` (copies and node pods), by name.
pub fn ours(ns: &str) -> Vec<String> {
    let out = cluster().kubectl_ok(
        &[
            "-n",
            ns,
            "get",
            "pods",
            "-l",
            "distroless-debug/mode",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
        None,
    );
    out.split_whitespace().map(str::to_owned).collect()
}

/// Waits until no pod of ours is left in `ns` (deleted, not only being deleted).
pub fn none_left(ns: &str) {
    wait_until(
        "every pod of ours to be gone",
        Duration::from_secs(60),
        || ours(ns).is_empty(),
    );
}

/// A pod of the root target image (most real images run as root) that exits 1 at start: its
/// config file does not exist. It mounts a Secret, so that a copy shows the mounted secret.
fn crashing_pod(ns: &str, name: &str) {
    let image = std::env::var("DD_TARGET_ROOT_IMAGE")
        .expect("DD_TARGET_ROOT_IMAGE (tests/images/images.env)");
    cluster().apply(&format!(
        r"apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: {ns}}}
stringData: {{token: s3cr3t-e2e}}
---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {image}
    imagePullPolicy: Never
    command: [/target]
    env:
    - {{name: TARGET_CONFIG, value: /etc/target/missing.yaml}}
    volumeMounts:
    - {{name: creds, mountPath: /etc/creds, readOnly: true}}
  volumes:
  - name: creds
    secret: {{secretName: creds}}
"
    ));
}

/// Waits until the pod's container has exited at least once.
fn wait_crashed(ns: &str, name: &str) {
    wait_until("the target to exit", START, || {
        let pod = cluster().pod_json(ns, name);
        let s = &pod["status"]["containerStatuses"][0];
        s["restartCount"].as_i64().unwrap_or(0) > 0 || s["state"]["terminated"].is_object()
    });
}

/// What must not change in the original pod: its identity, spec and debug containers.
fn fingerprint(ns: &str, name: &str) -> (Value, Value, Value) {
    let pod = cluster().pod_json(ns, name);
    (
        pod["metadata"]["uid"].clone(),
        pod["spec"]["containers"].clone(),
        pod["spec"]["ephemeralContainers"].clone(),
    )
}

/// Waits until the kubelet holds the crashing container back after it failed at least once.
/// Between back-offs it runs for a moment (seen on Kubernetes 1.37 in CI): the plugin must
/// refuse it then too (it ran for less than 10 s since it failed), and the test's fingerprint
/// of the original pod proves nothing was added to it whichever state the plugin saw.
fn wait_backing_off(ns: &str, name: &str) {
    wait_until("the target's crash-loop back-off", START, || {
        let pod = cluster().pod_json(ns, name);
        let s = &pod["status"]["containerStatuses"][0];
        s["restartCount"].as_i64().unwrap_or(0) >= 1
            && s["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
}

#[test]
fn a_target_that_exits_at_start_is_debugged_in_a_copy_and_nothing_is_left() {
    let ns = Namespace::new("copy-crash", None);
    crashing_pod(&ns.name, "crash");
    wait_backing_off(&ns.name, "crash");
    let before = fingerprint(&ns.name, "crash");

    // Without --copy: refused, and the hint says to use it.
    let out = run_plugin(&["-n", &ns.name, "pod/crash", "--", "true"], &plugin_env());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("hint:") && text(&out.stderr).contains("--copy"),
        "{}",
        text(&out.stderr)
    );

    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, "pod/crash", "--copy", "--reason", "INC-77"],
        &plugin_env(),
        (30, 160),
    );
    let created = pty.expect("a copy of pod crash", START);
    let copy = created
        .split("Created pod ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .expect("the copy's name")
        .to_owned();
    assert!(copy.starts_with("crash-copy-"), "{copy}");
    pty.expect("held:", START);
    pty.expect("/target", STEP);
    pty.send_line("echo READY-$((40+2))");
    pty.expect("READY-42", STEP);

    // The copy is recorded: who, why, of what; and its deadline is set.
    let pod = cluster().pod_json(&ns.name, &copy);
    assert_eq!(
        pod["metadata"]["annotations"]["distroless-debug/reason"],
        "INC-77"
    );
    assert_eq!(
        pod["metadata"]["annotations"]["distroless-debug/copy-of"],
        "crash"
    );
    assert!(pod["metadata"]["annotations"]["distroless-debug/by"].is_string());
    assert_eq!(pod["spec"]["activeDeadlineSeconds"], 3600);
    assert!(pod["metadata"]["ownerReferences"].is_null());
    assert_eq!(
        pod["metadata"]["labels"],
        serde_json::json!({"distroless-debug/mode": "copy"})
    );

    // The held container's files, mounted secret and environment, as the application sees them.
    pty.send_line("grep -c '^name: distroless-target' etc/target/config.yaml | sed 's/^/CONFIG-/'");
    pty.expect("CONFIG-1", STEP);
    pty.send_line("echo TOKEN-$(cat etc/creds/token)");
    pty.expect("TOKEN-s3cr3t-e2e", STEP);
    pty.send_line("target_env | grep TARGET_CONFIG | sed 's/^/ENV-/'");
    pty.expect("ENV-TARGET_CONFIG=/etc/target/missing.yaml", STEP);
    // Nothing of the application runs: the held container's process is the holder.
    pty.send_line("echo COMM-$(cat /proc/$TARGET_PID/comm)");
    pty.expect("COMM-hold", STEP);

    // The entrypoint, run by hand in the held container's root and environment, says why.
    pty.send_line("target_run; echo RC-$?");
    pty.expect(
        "target: read config: open /etc/target/missing.yaml: no such file or directory",
        STEP,
    );
    pty.expect("RC-1", STEP);
    // A spec without a command (the image's entrypoint): target_run says how to name it.
    pty.send_line("TARGET_COMMAND= target_run; echo RC-$?");
    pty.expect("TARGET_COMMAND=PROGRAM target_run", STEP);
    pty.expect("RC-2", STEP);
    // And under strace, the failing open.
    pty.send_line(
        "n=$(target_run strace -f -e trace=openat 2>&1 | grep -c 'missing.yaml.*ENOENT'); [ \"$n\" -gt 0 ] && echo TRACED-$((1+1))",
    );
    pty.expect("TRACED-2", STEP);

    pty.send_line("exit");
    let exit = pty.wait(STEP);
    assert_eq!(exit.code, 0, "{}", exit.screen);
    assert!(
        exit.screen.contains(&format!("Deleted pod {copy}")),
        "{}",
        exit.screen
    );
    none_left(&ns.name);
    assert_eq!(
        fingerprint(&ns.name, "crash"),
        before,
        "the original pod is untouched"
    );
}

#[test]
fn a_command_in_a_copy_gives_its_output_and_exit_code() {
    let ns = Namespace::new("copy-cmd", None);
    // A non-root, read-only target, as every other test's: the copy's toolbox runs as its user.
    ns.target_pod("app");
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "--copy",
            "--",
            "sh",
            "-c",
            "id -u; head -1 \"$TARGET_ROOT/etc/target/config.yaml\"; echo to-stderr >&2; exit 7",
        ],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "65532\n# Configuration of the distroless test target, shipped in the image at /etc/target/config.yaml.\n"
    );
    assert!(stderr.contains("to-stderr"), "{stderr}");
    assert!(stderr.contains("Deleted pod app-copy-"), "{stderr}");
    none_left(&ns.name);

    // -o json: the copy is named in the result.
    let out = run_plugin(
        &[
            "-n", &ns.name, "pod/app", "--copy", "-o", "json", "--", "echo", "hi",
        ],
        &plugin_env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let item = &doc["items"][0];
    assert_eq!(item["pod"], "app");
    assert_eq!(item["stdout"], "hi\n");
    assert!(
        item["copy"].as_str().unwrap().starts_with("app-copy-"),
        "{doc}"
    );
    none_left(&ns.name);
}

#[test]
fn a_copy_of_a_crashing_deployment_picks_its_pod() {
    let ns = Namespace::new("copy-deploy", None);
    let image = std::env::var("DD_TARGET_ROOT_IMAGE").expect("DD_TARGET_ROOT_IMAGE");
    cluster().apply(&format!(
        r"apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: {image}
        imagePullPolicy: Never
        command: [/target]
        args: [--flag-it-does-not-know]
        env:
        - {{name: TARGET_CONFIG, value: /etc/target/missing.yaml}}
",
        ns = ns.name
    ));
    wait_until("a pod of the deployment", START, || {
        !cluster()
            .kubectl_ok(
                &["-n", &ns.name, "get", "pods", "-l", "app=api", "-o", "name"],
                None,
            )
            .trim()
            .is_empty()
    });
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "deploy/api",
            "--copy",
            "--",
            "sh",
            "-c",
            "echo \"$TARGET_COMMAND|$TARGET_ARGS\"",
        ],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout), "/target|--flag-it-does-not-know\n");
    assert!(stderr.contains("Using pod api-"), "{stderr}");
    none_left(&ns.name);
}

#[test]
fn a_stuck_init_container_times_out_with_the_fix_and_skip_init_debugs_the_pod() {
    let ns = Namespace::new("copy-init", None);
    let c = cluster();
    let mut yaml = crate::harness::target_pod_yaml(&ns.name, "stuck", &c.target_image, "");
    yaml = yaml.replace(
        "  containers:\n",
        &format!(
            "  initContainers:\n  - name: wait-db\n    image: {}\n    imagePullPolicy: Never\n    command: [sleep, '3600']\n  containers:\n",
            c.toolbox_image
        ),
    );
    c.apply(&yaml);
    wait_until("the init container to run", START, || {
        c.pod_json(&ns.name, "stuck")["status"]["initContainerStatuses"][0]["state"]["running"]
            .is_object()
    });

    // The copy waits for the same init container: the error names it and the flag.
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/stuck",
            "--copy",
            "--timeout",
            "20s",
            "--",
            "true",
        ],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("init container \"wait-db\" has not finished"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint:") && stderr.contains("--skip-init"),
        "{stderr}"
    );
    none_left(&ns.name);

    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/stuck",
            "--copy",
            "--skip-init",
            "--",
            "sh",
            "-c",
            "cat /proc/$TARGET_PID/comm; grep -c secret-config-ok \"$TARGET_ROOT/etc/target/config.yaml\"",
        ],
        &plugin_env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hold\n1\n");
    none_left(&ns.name);
}

/// The holder's init script and `target_run` run in every toolbox layout we claim
/// (tests/images/README.md): one copy of a crashing pod per toolbox, all at once, each entering
/// the held container's root and running its entrypoint by hand.
#[test]
fn every_toolbox_layout_holds_the_target_and_runs_its_entrypoint() {
    let ns = Namespace::new("copy-layouts", None);
    crashing_pod(&ns.name, "crash");
    wait_crashed(&ns.name, "crash");
    let ns_name = ns.name.clone();
    let boxes = crate::matrix::toolboxes();
    let ids: Vec<String> = boxes.iter().map(|(id, _)| id.clone()).collect();
    let sessions: Vec<_> = boxes
        .into_iter()
        .map(|(id, image)| {
            let ns = ns_name.clone();
            std::thread::spawn(move || {
                let mut pty = Pty::spawn(
                    Path::new(PLUGIN),
                    &["-n", &ns, "pod/crash", "--copy", "--image", &image],
                    &plugin_env(),
                    (30, 160),
                );
                pty.expect("held:", Duration::from_secs(240));
                pty.send_line("echo COMM-$(cat /proc/$TARGET_PID/comm)");
                pty.expect("COMM-hold", STEP);
                pty.send_line("target_run; echo RC-$?");
                pty.expect(
                    "open /etc/target/missing.yaml: no such file or directory",
                    STEP,
                );
                pty.expect("RC-1", STEP);
                pty.send_line("exit");
                let exit = pty.wait(STEP);
                assert_eq!(exit.code, 0, "{id}: {}", exit.screen);
                assert!(
                    exit.screen.contains("Deleted pod crash-copy-"),
                    "{id}: {}",
                    exit.screen
                );
                id
            })
        })
        .collect();
    let mut done = Vec::new();
    for s in sessions {
        done.push(s.join().expect("a toolbox's session"));
    }
    assert_eq!(done, ids);
    none_left(&ns.name);
}

/// A Role with the plugin's rules for a session (docs/rbac.yaml) plus `extra` verbs on pods.
pub fn bind_plugin_role(ns: &str, user: &str, extra: &[&str]) {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(
            "- {{apiGroups: [''], resources: [pods], verbs: [{}]}}\n",
            extra.join(", ")
        )
    };
    cluster().apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: dd-{user}, namespace: {ns}}}\nrules:\n\
         - {{apiGroups: [''], resources: [pods], verbs: [get, list, watch]}}\n\
         - {{apiGroups: [''], resources: [pods/ephemeralcontainers], verbs: [patch]}}\n\
         - {{apiGroups: [''], resources: [pods/exec], verbs: [get, create]}}\n\
         - {{apiGroups: [''], resources: [events], verbs: [watch]}}\n{extra}\
         ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: dd-{user}, namespace: {ns}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: dd-{user}}}\n\
         subjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}\n"
    ));
}

#[test]
fn copy_refusals_name_the_pod_security_rule_and_the_permission() {
    // Pod Security: the default profile's SYS_PTRACE breaks "restricted"; its hint passes.
    let ns = Namespace::new("copy-psa", Some("restricted"));
    ns.target_pod("app");
    let out = run_plugin(
        &["-n", &ns.name, "pod/app", "--copy", "--", "id", "-u"],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: Pod Security level \"restricted\" in namespace \"{}\" refused the copy of pod \"app\": container debugger-",
            ns.name
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("capabilities (adds SYS_PTRACE)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: the namespace enforces Pod Security level \"restricted\"; --profile restricted passes it"),
        "{stderr}"
    );
    assert!(ours(&ns.name).is_empty());
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "--copy",
            "--profile",
            "restricted",
            "--",
            "id",
            "-u",
        ],
        &plugin_env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "65532\n");
    none_left(&ns.name);

    // RBAC: the plugin's Role alone may not delete (checked first) or create pods.
    let ns = Namespace::new("copy-rbac", None);
    ns.target_pod("app");
    bind_plugin_role(&ns.name, "alice", &[]);
    let out = run_plugin(
        &["-n", &ns.name, "pod/app", "--copy", "--", "id", "-u"],
        &env_as("alice"),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: forbidden: cannot delete pods in namespace \"{}\"",
            ns.name
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("you need 'create' and 'delete' on 'pods'"),
        "{stderr}"
    );
    bind_plugin_role(&ns.name, "alice", &["delete"]);
    let out = run_plugin(
        &["-n", &ns.name, "pod/app", "--copy", "--", "id", "-u"],
        &env_as("alice"),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: forbidden: cannot create pods in namespace \"{}\"",
            ns.name
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("verbs: [\"create\", \"delete\"]"),
        "{stderr}"
    );
    assert!(ours(&ns.name).is_empty());
    bind_plugin_role(&ns.name, "alice", &["create", "delete"]);
    let out = run_plugin(
        &["-n", &ns.name, "pod/app", "--copy", "--", "id", "-u"],
        &env_as("alice"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "65532\n");
    none_left(&ns.name);
}
