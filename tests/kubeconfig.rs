//! Kubeconfigs run through the built binary without a cluster.
//!
//! Malformed ones, and flags that name no entry: each is refused before any request with
//! `error: kubeconfig: ...` saying what is wrong, a `hint:` line and exit code 1, and no
//! credential from the file is echoed.

use std::path::PathBuf;
use std::process::Command;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-distroless_debug");

const SECRET: &str = "SECRET-MATERIAL-4711";

fn user_ok() -> String {
    format!("users:\n- name: u\n  user: {{token: {SECRET}}}\n")
}

fn cluster_ok() -> &'static str {
    "clusters:\n- name: a\n  cluster: {server: \"https://127.0.0.1:1\"}\n"
}

fn context(cluster: &str) -> String {
    format!("contexts:\n- name: c\n  context: {{cluster: {cluster}, user: u}}\n")
}

fn run_with(name: &str, kubeconfig: &str, flags: &[&str]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("dd-kubeconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, kubeconfig).unwrap();
    let out = Command::new(PLUGIN)
        .args(["--kubeconfig"])
        .arg(&path)
        .args(flags)
        .args(["--request-timeout", "2s", "pod/x", "--", "true"])
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), all)
}

fn refused(name: &str, kubeconfig: &str, wants: &[&str]) {
    refused_with(name, kubeconfig, &[], wants);
}

fn refused_with(name: &str, kubeconfig: &str, flags: &[&str], wants: &[&str]) {
    let (code, out) = run_with(name, kubeconfig, flags);
    assert_eq!(code, Some(1), "{name}: {out}");
    assert!(out.starts_with("error: kubeconfig: "), "{name}: {out}");
    assert!(out.contains("\nhint: "), "{name}: {out}");
    for want in wants {
        assert!(out.contains(want), "{name}: wanted {want:?} in {out}");
    }
    assert!(!out.contains(SECRET), "{name} echoes a credential: {out}");
    assert_eq!(out.lines().count(), 2, "{name}: one error, one hint: {out}");
}

#[test]
fn bad_yaml() {
    refused(
        "bad-yaml",
        &format!("apiVersion: v1\nkind: Config\nclusters: [\n{}", user_ok()),
        &["bad-yaml"],
    );
}

#[test]
fn missing_current_context() {
    refused(
        "no-current-context",
        &format!("{}{}{}", cluster_ok(), user_ok(), context("a")),
        &[
            "current context",
            "contexts: c",
            "hint: pick one with --context",
        ],
    );
}

/// Two contexts, two clusters and two users, listed in reverse order of their names.
fn entries() -> String {
    format!(
        "clusters:\n\
         - {{name: b, cluster: {{server: \"https://127.0.0.1:1\"}}}}\n\
         - {{name: a, cluster: {{server: \"https://127.0.0.1:1\"}}}}\n\
         users:\n\
         - {{name: v, user: {{token: {SECRET}}}}}\n\
         - {{name: u, user: {{token: {SECRET}}}}}\n\
         contexts:\n\
         - {{name: prod, context: {{cluster: a, user: u}}}}\n\
         - {{name: dev, context: {{cluster: b, user: v}}}}\n\
         current-context: prod\n"
    )
}

#[test]
fn a_context_cluster_or_user_that_is_not_there_is_named_with_those_that_are() {
    refused_with(
        "no-such-context",
        &entries(),
        &["--context", "nosuch"],
        &[
            "error: kubeconfig: no context \"nosuch\" in the kubeconfig; contexts: dev, prod\n",
            "hint: pick one with --context NAME",
        ],
    );
    refused_with(
        "no-such-cluster",
        &entries(),
        &["--cluster", "nosuch"],
        &[
            "error: kubeconfig: no cluster \"nosuch\" in the kubeconfig; clusters: a, b\n",
            "hint: pick one with --cluster NAME",
        ],
    );
    refused_with(
        "no-such-user",
        &entries(),
        &["--context", "dev", "--user", "nosuch"],
        &[
            "error: kubeconfig: no user \"nosuch\" in the kubeconfig; users: u, v\n",
            "hint: pick one with --user NAME",
        ],
    );
    // The last --context counts, as with kubectl.
    refused_with(
        "no-such-context-last",
        &entries(),
        &["--context", "dev", "--context", "gone"],
        &["no context \"gone\" in the kubeconfig; contexts: dev, prod\n"],
    );
    refused(
        "current-context-gone",
        &entries().replace("current-context: prod", "current-context: gone"),
        &[
            "current-context \"gone\" names no context in the kubeconfig; contexts: dev, prod\n",
            "hint: pick one with --context NAME",
        ],
    );
}

#[test]
fn context_naming_a_missing_cluster() {
    refused(
        "missing-cluster",
        &format!(
            "{}{}{}current-context: c\n",
            cluster_ok(),
            user_ok(),
            context("nope")
        ),
        &[
            "context \"c\" names cluster \"nope\", which is not in the kubeconfig; clusters: a\n",
            "hint: pick one with --cluster NAME",
        ],
    );
}

#[test]
fn unreadable_certificate_file() {
    refused(
        "unreadable-cert",
        &format!(
            "{}users:\n- name: u\n  user: {{client-certificate: /nonexistent/{SECRET}.crt, client-key: /nonexistent/k.key}}\n{}current-context: c\n",
            cluster_ok(),
            context("a")
        )
        .replace(&format!("/nonexistent/{SECRET}.crt"), "/nonexistent/cert.crt"),
        &["/nonexistent/cert.crt"],
    );
}

#[test]
fn bad_base64() {
    refused(
        "bad-base64-key",
        &format!(
            "{}users:\n- name: u\n  user: {{client-certificate-data: \"@@@\", client-key-data: \"{SECRET}@@@\"}}\n{}current-context: c\n",
            cluster_ok(),
            context("a")
        ),
        &["base64"],
    );
    refused(
        "bad-base64-ca",
        &format!(
            "clusters:\n- name: a\n  cluster: {{server: \"https://127.0.0.1:1\", certificate-authority-data: \"{SECRET}!!\"}}\n{}{}current-context: c\n",
            user_ok(),
            context("a")
        ),
        &["base64"],
    );
}

#[test]
fn missing_file() {
    let (code, out) = {
        let out = Command::new(PLUGIN)
            .args([
                "--kubeconfig",
                "/nonexistent/kubeconfig",
                "pod/x",
                "--",
                "true",
            ])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("error: kubeconfig: /nonexistent/kubeconfig"),
        "{out}"
    );
    assert!(out.contains("\nhint: "), "{out}");
}
