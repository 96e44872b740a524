//! RBAC, one permission at a time, on the real cluster: for each permission the plugin uses, a
//! user bound to a Role with every other one runs the plugin. Where the permission is needed,
//! the error names it (verb + resource) with exit code 1; where the plugin can do without it,
//! it does (and the test shows what still works).
//!
//! `create selfsubjectreviews` cannot be taken from a user without changing the cluster-wide
//! `system:basic-user` binding that other tests rely on; instead the cluster admin impersonates
//! a user in `system:unauthenticated` (impersonation then leaves out `system:authenticated`),
//! which has no such right, and gets the namespace's Role by user name.

use std::time::{Duration, Instant};

use crate::harness::{Namespace, cluster, env_as, plugin_env, plugin_env_with, run_plugin, text};

/// Every rule the plugin's Role grants for a session in one pod (docs/rbac.yaml, without the
/// workload rules), as (resource, verb). Neither `pods/attach` nor `pods/log` is among them:
/// every session runs through exec.
const RULES: [(&str, &str); 7] = [
    ("pods", "get"),
    ("pods", "list"),
    ("pods", "watch"),
    ("pods/ephemeralcontainers", "patch"),
    ("pods/exec", "get"),
    ("pods/exec", "create"),
    ("events", "watch"),
];

/// Binds `user` in `ns` to a Role with every rule the plugin needs.
pub fn bind_all(ns: &str, user: &str) {
    bind_without(ns, user, &[]);
}

/// Binds `user` in `ns` to a Role with every rule but `missing`.
fn bind_all_but(ns: &str, user: &str, missing: Option<(&str, &str)>) {
    bind_without(ns, user, missing.as_slice());
}

/// Binds `user` in `ns` to a Role with every rule but those `missing`.
fn bind_without(ns: &str, user: &str, missing: &[(&str, &str)]) {
    let mut yaml = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: all-but-one, namespace: {ns}}}\nrules:\n"
    );
    for rule in RULES {
        if !missing.contains(&rule) {
            yaml.push_str(&format!(
                "- {{apiGroups: [''], resources: ['{}'], verbs: ['{}']}}\n",
                rule.0, rule.1
            ));
        }
    }
    yaml.push_str(&format!(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: all-but-one-{user}, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: all-but-one}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}\n"
    ));
    cluster().apply(&yaml);
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(ns: &str, args: &[&str], env: &[(String, String)]) -> Run {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    let out = run_plugin(&all, env);
    Run {
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

impl Run {
    fn show(&self) -> String {
        format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn refused_naming(&self, verb: &str, resource: &str, ns: &str) {
        assert_eq!(self.code, Some(1), "{}", self.show());
        let hint = format!("hint: you need '{verb}' on '{resource}' in namespace \"{ns}\"");
        assert!(
            self.stderr.contains(&hint),
            "wanted {hint:?}; {}",
            self.show()
        );
    }

    fn worked(&self) {
        assert_eq!(self.code, Some(0), "{}", self.show());
        assert_eq!(self.stdout.trim(), "65532", "{}", self.show());
    }
}

fn ephemeral_count(ns: &str) -> usize {
    cluster().pod_json(ns, "app")["spec"]["ephemeralContainers"]
        .as_array()
        .map_or(0, Vec::len)
}

/// Waits until the pod's only debug container runs.
fn wait_debug_container_running(ns: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pod = cluster().pod_json(ns, "app");
        if !pod["status"]["ephemeralContainerStatuses"][0]["state"]["running"].is_null() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "debug container never ran: {pod}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One namespace with the target pod and alice bound to all rules but `missing`.
fn setup(prefix: &str, missing: Option<(&str, &str)>) -> Namespace {
    let ns = Namespace::new(prefix, None);
    ns.target_pod("app");
    bind_all_but(&ns.name, "alice", missing);
    ns
}

const ID: [&str; 4] = ["pod/app", "--", "id", "-u"];

#[test]
fn without_get_pods_the_pod_is_read_through_its_watch() {
    // The API server streams the pod's state at the start of the watch the wait needs anyway
    // (sendInitialEvents); `get` is the fallback for servers that do not.
    let ns = setup("rbac-get", Some(("pods", "get")));
    run(&ns.name, &ID, &env_as("alice")).worked();
}

#[test]
fn without_get_and_watch_pods_nothing_happens_and_the_hint_names_get() {
    let ns = Namespace::new("rbac-getw", None);
    ns.target_pod("app");
    bind_without(&ns.name, "alice", &[("pods", "get"), ("pods", "watch")]);
    run(&ns.name, &ID, &env_as("alice")).refused_naming("get", "pods", &ns.name);
    assert_eq!(ephemeral_count(&ns.name), 0);
}

#[test]
fn without_list_pods_a_selector_is_refused_but_a_named_pod_works() {
    let ns = setup("rbac-list", Some(("pods", "list")));
    let env = env_as("alice");
    run(&ns.name, &["-l", "app=app", "--", "id", "-u"], &env)
        .refused_naming("list", "pods", &ns.name);
    run(&ns.name, &ID, &env).worked();
}

#[test]
fn without_watch_the_wait_fails_naming_it_and_a_later_run_reuses_the_container() {
    let ns = setup("rbac-watch", Some(("pods", "watch")));
    let env = env_as("alice");
    run(&ns.name, &ID, &env).refused_naming("watch", "pods", &ns.name);
    // The container was added before the wait (the PATCH is allowed); it keeps itself alive,
    // and the next run finds it with a GET and execs into it: no watch needed.
    assert_eq!(ephemeral_count(&ns.name), 1);
    wait_debug_container_running(&ns.name);
    let again = run(&ns.name, &ID, &env);
    again.worked();
    assert!(
        again.stderr.contains("Reusing debug container"),
        "{}",
        again.show()
    );
    assert_eq!(ephemeral_count(&ns.name), 1);
}

#[test]
fn without_patch_on_ephemeralcontainers_nothing_is_added() {
    let ns = setup("rbac-patch", Some(("pods/ephemeralcontainers", "patch")));
    run(&ns.name, &ID, &env_as("alice")).refused_naming(
        "patch",
        "pods/ephemeralcontainers",
        &ns.name,
    );
    assert_eq!(ephemeral_count(&ns.name), 0);
}

/// A shell without a terminal (stdin closed): it gets EOF and ends with 0.
const SHELL: [&str; 1] = ["pod/app"];

#[test]
fn a_shell_and_a_command_need_neither_attach_nor_pods_log() {
    let ns = setup("rbac-noattach", None);
    let env = env_as("alice");
    let shell = run(&ns.name, &SHELL, &env);
    assert_eq!(shell.code, Some(0), "{}", shell.show());
    run(&ns.name, &ID, &env).worked();
}

/// Without exec nothing can run: refused, naming the verb, before anything is added to the pod
/// (ephemeral containers can never be removed).
fn refused_before_any_write(prefix: &str, missing: (&str, &str)) {
    let ns = setup(prefix, Some(missing));
    let env = env_as("alice");
    for args in [&ID[..], &SHELL[..], &["pod/app", "--keep"][..]] {
        let r = run(&ns.name, args, &env);
        // Up to Kubernetes 1.34 the websocket upgrade is authorized as `get` only; 1.35+ also
        // checks `create`: without `create` the run then works there, and must otherwise be
        // refused naming it.
        if missing.1 == "create" && r.code == Some(0) {
            continue;
        }
        r.refused_naming(missing.1, "pods/exec", &ns.name);
        assert_eq!(
            ephemeral_count(&ns.name),
            0,
            "nothing added for a session that cannot run ({args:?})"
        );
    }
}

#[test]
fn without_get_on_exec_nothing_is_added_and_the_verb_is_named() {
    refused_before_any_write("rbac-exec-get", ("pods/exec", "get"));
}

#[test]
fn without_create_on_exec_nothing_is_added_where_the_server_checks_it() {
    refused_before_any_write("rbac-exec-create", ("pods/exec", "create"));
}

/// A Role that grants a permission for another pod only (resourceNames): the refusal says it is
/// this pod, not the permission in general.
#[test]
fn a_pod_left_out_of_resource_names_is_named() {
    let ns = Namespace::new("rbac-names", None);
    ns.target_pod("app");
    // Everything but the PATCH for any pod; the PATCH for pod "other" only.
    bind_without(&ns.name, "alice", &[("pods/ephemeralcontainers", "patch")]);
    cluster().apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: other-only, namespace: {ns}}}\nrules:\n- {{apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['patch'], resourceNames: ['other']}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: other-only, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: other-only}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}}\n",
        ns = ns.name
    ));
    let r = run(&ns.name, &ID, &env_as("alice"));
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert!(
        r.stderr.contains(&format!(
            "error: forbidden: cannot patch pods/ephemeralcontainers of pod \"app\" in namespace \"{}\"",
            ns.name
        )),
        "{}",
        r.show()
    );
    assert!(
        r.stderr.contains(
            "may 'patch' 'pods/ephemeralcontainers' only of pod other (a Role lists them in resourceNames), not of pod \"app\""
        ),
        "{}",
        r.show()
    );
    assert_eq!(ephemeral_count(&ns.name), 0);
}

#[test]
fn without_watch_on_events_a_session_waits_for_the_status() {
    // The kubelet's Started event only lets the session begin before the status says Running;
    // without it the status decides, and nothing is reported above -v 4.
    let ns = setup("rbac-events", Some(("events", "watch")));
    let r = run(&ns.name, &ID, &env_as("alice"));
    r.worked();
    assert!(
        !r.stderr.contains("events"),
        "silent by default:\n{}",
        r.show()
    );
    let mut verbose = vec!["-v", "4", "--new"];
    verbose.extend_from_slice(&ID);
    let r = run(&ns.name, &verbose, &env_as("alice"));
    r.worked();
    assert!(
        r.stderr
            .contains("cannot watch events; waiting for the pod status"),
        "{}",
        r.show()
    );
}

/// The recorded user of the debug container's audit env.
fn recorded_by(ns: &str, index: usize) -> Option<serde_json::Value> {
    let pod = cluster().pod_json(ns, "app");
    pod["spec"]["ephemeralContainers"][index]["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == "DISTROLESS_DEBUG_BY")
        .map(|e| e["value"].clone())
}

/// Credentials that name the user (here impersonation) need no SelfSubjectReview: the user is
/// recorded without that request, so also for a user who may not create one.
#[test]
fn impersonated_user_is_recorded_without_a_selfsubjectreview() {
    let ns = setup("rbac-ssr", None);
    let user = format!("ssr-{}", ns.name);
    bind_all_but(&ns.name, &user, None);
    let c = cluster();
    let can_i = c.kubectl(
        &[
            "auth",
            "can-i",
            "create",
            "selfsubjectreviews.authentication.k8s.io",
            "--as",
            &user,
            "--as-group",
            "system:unauthenticated",
        ],
        None,
    );
    assert!(
        !can_i.status.success(),
        "the impersonated user may not create selfsubjectreviews: {}",
        text(&can_i.stdout)
    );
    let args = [
        "-v",
        "4",
        "--as",
        &user,
        "--as-group",
        "system:unauthenticated",
        "pod/app",
        "--",
        "id",
        "-u",
    ];
    let r = run(&ns.name, &args, &plugin_env());
    r.worked();
    assert!(
        !r.stderr.contains("selfsubjectreviews"),
        "no SelfSubjectReview is sent:\n{}",
        r.show()
    );
    assert_eq!(
        recorded_by(&ns.name, 0),
        Some(serde_json::json!(user)),
        "the --as user is recorded"
    );
}

/// An exec credential plugin that returns a client certificate: the plugin runs once, before
/// the client is built, so the certificate names the user (its CN) as a kubeconfig
/// certificate does, with no SelfSubjectReview. (A plugin that returns a token that does not
/// name the user is asked about: tests/kubeconfig.rs.)
#[test]
fn exec_plugin_certificate_names_the_user() {
    let ns = setup("rbac-exec", None);
    bind_all_but(&ns.name, "bob", None);
    let c = cluster();
    let pem = |f: &str| std::fs::read_to_string(c.dir.join("pki").join(f)).expect("bob's PKI");
    let credential = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"clientCertificateData": pem("user-bob.crt"), "clientKeyData": pem("user-bob.key")}
    });
    let admin = std::fs::read_to_string(&c.kubeconfig).expect("admin kubeconfig");
    let server = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("server in the admin kubeconfig");
    let kubeconfig = format!(
        r#"apiVersion: v1
kind: Config
clusters: [{{name: local, cluster: {{server: "{server}", certificate-authority: "{ca}"}}}}]
users:
- name: bob-exec
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: sh
      args: ["-c", "printf '%s' \"$CREDENTIAL\""]
      env: [{{name: CREDENTIAL, value: {credential}}}]
      interactiveMode: Never
contexts: [{{name: c, context: {{cluster: local, user: bob-exec}}}}]
current-context: c
"#,
        ca = c.dir.join("pki/ca.crt").display(),
        credential = serde_json::to_string(&credential.to_string()).unwrap(),
    );
    let path = std::env::temp_dir().join(format!("{}-exec.kubeconfig", ns.name));
    std::fs::write(&path, kubeconfig).expect("write the kubeconfig");
    let env = plugin_env_with(&path);
    let r = run(&ns.name, &["-v", "4", "pod/app", "--", "id", "-u"], &env);
    let _ = std::fs::remove_file(&path);
    r.worked();
    assert!(
        !r.stderr.contains("selfsubjectreviews"),
        "the certificate names the user, no review:\n{}",
        r.show()
    );
    assert_eq!(
        recorded_by(&ns.name, 0),
        Some(serde_json::json!("bob")),
        "the certificate's user name is recorded"
    );
}
