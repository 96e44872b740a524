//! Images the node must pull, from the test cluster's registries on loopback (tests/cluster/up.sh:
//! one open, one behind htpasswd auth, TLS with the cluster's CA): the progress of a first pull
//! of a big toolbox, a private image without and with the pod's imagePullSecrets, and
//! `--image-pull-policy Always`.
//!
//! Each test uses images no other test pulls, and removes them from the node first where it
//! needs a pull to happen (e2e tests run four at a time).

use std::path::Path;
use std::time::Duration;

use crate::harness::{
    Namespace, PLUGIN, Pty, cluster, env_or_fail, plugin_env, run_plugin, target_pod_yaml, text,
};

/// A pull of the big toolbox takes seconds, more with four tests at once on two cores.
const PULL: Duration = Duration::from_secs(240);

/// Removes `image` from the node with its content (the big toolbox or a private image, whose
/// image IDs no other test image shares), so that the next container of it pulls it.
fn remove_from_node(image: &str) {
    crate::support::remove_image(
        &env_or_fail("DD_CRICTL"),
        &env_or_fail("DD_CONTAINERD_SOCK"),
        image,
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Deletes a pod and waits until it is gone: its containers have stopped.
fn delete_pod(ns: &Namespace, pod: &str) {
    cluster().kubectl_ok(
        &[
            "-n",
            &ns.name,
            "delete",
            "pod",
            pod,
            "--grace-period=1",
            "--wait=true",
            "--timeout=120s",
        ],
        None,
    );
}

/// The target pod, with `imagePullSecrets` when `secret` is given.
fn target_pod_with_secret(ns: &Namespace, name: &str, secret: Option<&str>) {
    let c = cluster();
    let mut yaml = target_pod_yaml(&ns.name, name, &c.target_image, "");
    if let Some(secret) = secret {
        yaml = yaml.replacen(
            "spec:\n",
            &format!("spec:\n  imagePullSecrets:\n  - name: {secret}\n"),
            1,
        );
    }
    c.apply(&yaml);
    c.wait_ready(&ns.name, name);
}

/// A docker-registry secret with the credentials of the registry behind auth.
fn registry_secret(ns: &Namespace, name: &str) {
    cluster().kubectl_ok(
        &[
            "-n",
            &ns.name,
            "create",
            "secret",
            "docker-registry",
            name,
            &format!("--docker-server={}", env_or_fail("DD_REGISTRY_AUTH")),
            &format!("--docker-username={}", env_or_fail("DD_REGISTRY_USER")),
            &format!("--docker-password={}", env_or_fail("DD_REGISTRY_PASSWORD")),
        ],
        None,
    );
}

#[test]
fn a_first_pull_shows_its_progress_on_a_terminal_and_nothing_more_on_a_pipe() {
    let ns = Namespace::new("pull-big", None);
    // A pod for each run: a command's debug container is kept running, and a running
    // container keeps the image's layers on the node (the next pull would fetch none of them).
    // Its pod is deleted before the next run.
    let c = cluster();
    for pod in ["first", "piped", "quiet"] {
        c.apply(&target_pod_yaml(&ns.name, pod, &c.target_image, ""));
    }
    for pod in ["first", "piped", "quiet"] {
        c.wait_ready(&ns.name, pod);
    }
    let big = env_or_fail("DD_REGISTRY_BIG_IMAGE");

    // On a terminal: the kubelet's Pulling event, then a line counting the time drawn over
    // itself, then its Pulled event (with the size), then the command's output.
    remove_from_node(&big);
    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &[
            "-n",
            &ns.name,
            "pod/first",
            "--new",
            "--image",
            &big,
            "--",
            "sh",
            "-c",
            "echo PULLED-$((6*7))",
        ],
        &plugin_env(),
        (30, 200),
    );
    pty.expect(&format!("Pulling image \"{big}\""), PULL);
    pty.expect("\rWaiting for debugger-", Duration::from_secs(5));
    pty.expect(
        &format!(": the kubelet is pulling {big} ("),
        Duration::from_secs(5),
    );
    pty.expect("Successfully pulled image", PULL);
    pty.expect("PULLED-42", PULL);
    let exit = pty.wait(Duration::from_secs(60));
    assert_eq!(exit.code, 0, "screen:\n{}", exit.screen);
    assert!(
        exit.screen.contains("Image size: "),
        "the kubelet's Pulled event says the size:\n{}",
        exit.screen
    );

    // On a pipe: the command's output alone on stdout; on stderr the kubelet's events as
    // status lines, and no progress line (no carriage return, no escape sequence).
    delete_pod(&ns, "first");
    remove_from_node(&big);
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/piped",
            "--new",
            "--image",
            &big,
            "--",
            "sh",
            "-c",
            "echo PULLED-$((6*7))",
        ],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(text(&out.stdout), "PULLED-42\n", "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("Pulling image \"{big}\"")),
        "the pull is said:\n{stderr}"
    );
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b') && !stderr.contains("so far"),
        "no progress line on a pipe:\n{stderr:?}"
    );

    // -q: nothing at all on stderr.
    delete_pod(&ns, "piped");
    remove_from_node(&big);
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/quiet",
            "--new",
            "-q",
            "--image",
            &big,
            "--",
            "sh",
            "-c",
            "echo PULLED-$((6*7))",
        ],
        &plugin_env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "PULLED-42\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn a_private_image_needs_the_pods_pull_secret_and_the_error_says_how() {
    let ns = Namespace::new("pull-private", None);
    target_pod_with_secret(&ns, "app", None);
    let image = env_or_fail("DD_PRIVATE_UNPULLED_IMAGE");
    let registry = env_or_fail("DD_REGISTRY_AUTH");
    // No test pulls it with credentials: this is for runs by hand.
    remove_from_node(&image);

    // The pod has no imagePullSecrets: the registry refuses the pull, the wait ends with the
    // kubelet's reason and message, and the hint names the registry and the ways out.
    let out = run_plugin(
        &["-n", &ns.name, "pod/app", "--image", &image, "--", "true"],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains("cannot start: ErrImagePull: ")
            || stderr.contains("cannot start: ImagePullBackOff: "),
        "the kubelet's reason:\n{stderr}"
    );
    assert!(stderr.contains(&image), "the image:\n{stderr}");
    for said in [
        format!("hint: check the image name and tag, and that the node can reach registry {registry}. If it wants credentials: an ephemeral container pulls only with its pod's imagePullSecrets, this pod has none, and they cannot be added to a running pod. Ways out:"),
        "  --image IMAGE (or KUBECTL_DISTROLESS_DEBUG_IMAGE): a public image, or one the node can pull".to_owned(),
        "  --copy, once the secret is on the pod's service account (kubectl patch serviceaccount default -p '{\"imagePullSecrets\":[{\"name\":\"SECRET\"}]}'): a new pod that names no imagePullSecrets gets its service account's".to_owned(),
        "  the secret in the workload's pod template (spec.template.spec.imagePullSecrets), then debug one of its new pods".to_owned(),
    ] {
        assert!(stderr.contains(&said), "says {said:?}:\n{stderr}");
    }
}

#[test]
fn a_private_image_is_pulled_with_the_pods_pull_secret() {
    let ns = Namespace::new("pull-secret", None);
    registry_secret(&ns, "regcred");
    target_pod_with_secret(&ns, "app", Some("regcred"));
    // Made before its service account has the secret: it names none.
    target_pod_with_secret(&ns, "plain", None);
    let image = env_or_fail("DD_PRIVATE_TOOLBOX_IMAGE");
    remove_from_node(&image);

    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, "pod/app", "--image", &image],
        &plugin_env(),
        (30, 160),
    );
    pty.expect(&format!("Pulling image \"{image}\""), PULL);
    pty.expect("Successfully pulled image", PULL);
    pty.expect("distroless-debug", PULL);
    pty.send_line("echo READY-$((40+2))");
    pty.expect("READY-42", Duration::from_secs(20));
    pty.send_line("exit 5");
    let exit = pty.wait(Duration::from_secs(20));
    assert_eq!(exit.code, 5, "screen:\n{}", exit.screen);

    // The way out through --copy that the hint of a pod without imagePullSecrets gives: the
    // secret on the service account, and the copy (a new pod, naming no imagePullSecrets of
    // its own) pulls with it.
    cluster().kubectl_ok(
        &[
            "-n",
            &ns.name,
            "patch",
            "serviceaccount",
            "default",
            "-p",
            r#"{"imagePullSecrets":[{"name":"regcred"}]}"#,
        ],
        None,
    );
    remove_from_node(&image);
    let repo = repository(&image);
    let before = pulls_by_the_user(&repo);
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/plain",
            "--copy",
            "--image",
            &image,
            "--",
            "sh",
            "-c",
            "echo COPIED-$((6*7))",
        ],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(text(&out.stdout), "COPIED-42\n", "stderr:\n{stderr}");
    assert!(
        pulls_by_the_user(&repo) > before,
        "the copy pulled {image} with the credentials:\n{stderr}"
    );
}

/// `image`'s repository: between the registry and the tag.
fn repository(image: &str) -> String {
    image
        .split_once('/')
        .and_then(|(_, rest)| rest.rsplit_once(':'))
        .map(|(repo, _)| repo.to_owned())
        .expect("a repository in the image reference")
}

/// Requests for `repo`'s manifests that the registry behind auth answered for its user.
fn pulls_by_the_user(repo: &str) -> usize {
    let log = cluster().dir.join("logs/registry-auth.log");
    let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let user = format!("auth.user.name={} ", env_or_fail("DD_REGISTRY_USER"));
    let uri = format!("http.request.uri=/v2/{repo}/manifests/");
    log.lines()
        .filter(|l| {
            l.contains("msg=\"response completed\"") && l.contains(&user) && l.contains(&uri)
        })
        .count()
}

/// GET and HEAD requests for `repo`'s manifests in the open registry's access log.
fn manifest_requests(repo: &str) -> usize {
    let log = cluster().dir.join("logs/registry.log");
    let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    log.lines()
        .filter(|l| {
            (l.contains("\"GET /v2/") || l.contains("\"HEAD /v2/"))
                && l.contains(&format!("/v2/{repo}/manifests/"))
        })
        .count()
}

#[test]
fn image_pull_policy_always_pulls_from_the_registry_every_time() {
    let ns = Namespace::new("pull-always", None);
    ns.target_pod("app");
    let image = env_or_fail("DD_REGISTRY_TOOLBOX_IMAGE");
    let repo = repository(&image);

    // Twice, each with a container of its own (--new: a command's container is kept for
    // reuse): the second time the image is on the node, and Always pulls it still.
    for round in 1..=2 {
        let before = manifest_requests(&repo);
        let out = run_plugin(
            &[
                "-n",
                &ns.name,
                "pod/app",
                "--new",
                "--image",
                &image,
                "--image-pull-policy",
                "Always",
                "--",
                "sh",
                "-c",
                "echo ALWAYS-$((6*7))",
            ],
            &plugin_env(),
        );
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}, stderr:\n{stderr}"
        );
        assert_eq!(text(&out.stdout), "ALWAYS-42\n", "round {round}");
        assert!(
            manifest_requests(&repo) > before,
            "round {round}: the node asked the registry for {image}"
        );
    }
    let pod = cluster().pod_json(&ns.name, "app");
    let policies: Vec<&str> = pod["spec"]["ephemeralContainers"]
        .as_array()
        .expect("ephemeral containers")
        .iter()
        .map(|c| c["imagePullPolicy"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(policies, ["Always", "Always"]);
}
