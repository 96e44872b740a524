//! Completion against the real cluster: `kubectl_complete-distroless_debug` run directly and
//! through kubectl's own plugin completion (`kubectl __complete distroless-debug …`, kubectl
//! ≥ 1.26), for live pod, workload, container and namespace names, kubeconfig contexts and
//! fixed values; fast and silent when the cluster cannot be reached or refuses.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Namespace, cluster, text};

/// The completion executable, as cargo built it for this test run.
const COMPLETE: &str = env!("CARGO_BIN_EXE_kubectl_complete-distroless_debug");

fn complete_with(kubeconfig: &Path, words: &[&str]) -> Output {
    Command::new(COMPLETE)
        .args(words)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null())
        .output()
        .expect("the completion executable runs")
}

/// Candidates (descriptions cut off) and the directive line, asserting the protocol: exit 0,
/// nothing on stderr, a last line `:N`.
fn candidates(out: &Output) -> (Vec<String>, String) {
    assert!(out.status.success(), "exit status {:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "stderr must stay empty: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let mut lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let directive = lines.pop().unwrap_or_default();
    assert!(
        directive.starts_with(':') && directive[1..].parse::<u32>().is_ok(),
        "no directive line in {stdout:?}"
    );
    let values = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect();
    (values, directive)
}

fn complete(words: &[&str]) -> (Vec<String>, String) {
    candidates(&complete_with(&cluster().kubeconfig, words))
}

fn deployment_yaml(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec:\n  replicas: 0\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    \
         metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      \
         - {{name: app, image: {image}}}\n",
        image = cluster().target_image
    )
}

#[test]
fn completes_live_names_directly_and_through_kubectl() {
    let ns = Namespace::new("complete", None);
    let n = ns.name.as_str();
    ns.target_pod("alpha");
    ns.target_pod("beta");
    cluster().apply(&deployment_yaml(n, "web"));

    // Pods of the namespace given by -n, with the subcommands and kind prefixes.
    let (pods, directive) = complete(&["-n", n, ""]);
    assert!(
        pods.contains(&"alpha".to_owned()) && pods.contains(&"beta".to_owned()),
        "{pods:?}"
    );
    assert!(pods.contains(&"list".to_owned()) && pods.contains(&"deploy/".to_owned()));
    assert_eq!(directive, ":4", "no file names for a TARGET");
    assert_eq!(complete(&["--namespace", n, "al"]).0, ["alpha"]);
    assert_eq!(complete(&[&format!("--namespace={n}"), "b"]).0, ["beta"]);
    assert_eq!(complete(&["-n", n, "list", "a"]).0, ["alpha"]);
    // Workloads, containers, and the container for --target.
    assert_eq!(complete(&["-n", n, "deploy/"]).0, ["deploy/web"]);
    assert_eq!(complete(&["-n", n, "pod/alpha/"]).0, ["pod/alpha/app"]);
    assert_eq!(complete(&["-n", n, "pod/beta", "--target", ""]).0, ["app"]);

    // Namespaces, contexts from kubeconfig, fixed values.
    let (namespaces, _) = complete(&["-n", ""]);
    assert!(
        namespaces.contains(&n.to_owned()) && namespaces.contains(&"default".to_owned()),
        "{namespaces:?}"
    );
    let contexts = cluster().kubectl_ok(&["config", "get-contexts", "-o", "name"], None);
    let contexts: Vec<String> = contexts.lines().map(str::to_owned).collect();
    assert!(!contexts.is_empty());
    assert_eq!(complete(&["--context", ""]).0, contexts);
    assert_eq!(
        complete(&["-n", n, "alpha", "--profile", ""]).0,
        ["baseline", "general", "netadmin", "restricted", "sysadmin"]
    );
    assert_eq!(complete(&["-o", "json"]).0, ["json", "jsonl"]);
    // --kubeconfig typed on the line wins over KUBECONFIG.
    let (pods, _) = candidates(&complete_with(
        Path::new("/nonexistent"),
        &[
            "--kubeconfig",
            &cluster().kubeconfig.display().to_string(),
            "-n",
            n,
            "",
        ],
    ));
    assert!(pods.contains(&"alpha".to_owned()), "{pods:?}");

    // Through kubectl itself: it finds kubectl-distroless_debug and its completion executable
    // on PATH and passes the words typed after the plugin's name.
    let bin_dir = Path::new(COMPLETE).parent().expect("a directory");
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        bin_dir.display(),
        cluster().bin.display()
    );
    let kubectl = |words: &[&str]| {
        let out = Command::new(cluster().kubectl_path())
            .arg("__complete")
            .args(words)
            .env("PATH", &path)
            .env("KUBECONFIG", &cluster().kubeconfig)
            .stdin(Stdio::null())
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl __complete: {}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        let mut lines: Vec<String> = stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect();
        let directive = lines.pop().unwrap_or_default();
        (lines, directive)
    };
    let (plugins, _) = kubectl(&["distroless-d"]);
    assert!(
        plugins.contains(&"distroless-debug".to_owned()),
        "{plugins:?}"
    );
    let (pods, directive) = kubectl(&["distroless-debug", "-n", n, ""]);
    assert!(
        pods.contains(&"alpha".to_owned()) && pods.contains(&"beta".to_owned()),
        "{pods:?}"
    );
    assert_eq!(directive, ":4");
    let (namespaces, _) = kubectl(&["distroless-debug", "-n", ""]);
    assert!(namespaces.contains(&n.to_owned()), "{namespaces:?}");
    let (profiles, _) = kubectl(&["distroless-debug", "--profile", "net"]);
    assert_eq!(profiles, ["netadmin"]);
}

#[test]
fn silent_and_fast_when_the_cluster_refuses_or_is_unreachable() {
    // A user without any rights: the LIST is forbidden, so no candidates and no message.
    let (pods, directive) = candidates(&complete_with(
        &cluster().user_kubeconfig("carol"),
        &["-n", "default", ""],
    ));
    assert_eq!(
        pods,
        [
            "completion",
            "cp",
            "list",
            "pod/",
            "deploy/",
            "sts/",
            "ds/",
            "rs/",
            "job/",
            "node/"
        ]
    );
    assert_eq!(directive, ":4");

    // An API server that never answers (a blackholed address): the lookup gives up in time.
    let dir = std::env::temp_dir().join(format!("dd-complete-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("blackhole.kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n\
         clusters: [{name: x, cluster: {server: 'https://10.255.255.1:6443'}}]\n\
         users: [{name: x, user: {token: t}}]\n\
         contexts: [{name: x, context: {cluster: x, user: x}}]\n",
    )
    .expect("write kubeconfig");
    let started = Instant::now();
    let (namespaces, directive) = candidates(&complete_with(&kubeconfig, &["-n", ""]));
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(namespaces.is_empty(), "{namespaces:?}");
    assert_eq!(directive, ":4");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}
