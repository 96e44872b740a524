//! No credential in any output, at the highest verbosity (`-v 9`), with the three kinds of
//! kubeconfig users: a bearer token (a ServiceAccount token from `kubectl create token`), a
//! client certificate (embedded as data, and as files), and an exec credential plugin (a
//! script that prints an ExecCredential). Each runs a command that works and one that fails;
//! stdout and stderr are searched for the token, the certificate and key (base64 as in the
//! kubeconfig, and every base64 line of their PEM), the PEM headers and `Bearer`.

use std::path::{Path, PathBuf};

use crate::harness::{Namespace, cluster, plugin_env_with, run_plugin, text};

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn kubeconfig(server: &str, ca: &Path, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: dd\n  cluster:\n    server: {server}\n    certificate-authority: {}\nusers:\n- name: u\n  user:\n{user}contexts:\n- name: c\n  context: {{cluster: dd, user: u}}\ncurrent-context: c\n",
        ca.display()
    )
}

/// The strings that must never be printed.
fn secrets(token: &str, exec_token: &str, cert_pem: &str, key_pem: &str) -> Vec<String> {
    let mut s = vec![
        token.to_owned(),
        exec_token.to_owned(),
        b64(cert_pem.as_bytes()),
        b64(key_pem.as_bytes()),
        "PRIVATE KEY".to_owned(),
        "BEGIN CERTIFICATE".to_owned(),
        "Bearer".to_owned(),
    ];
    for pem in [cert_pem, key_pem] {
        s.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                .map(str::to_owned),
        );
    }
    // Parts of a token are secret too: its signature (the JWT's last part).
    for t in [token, exec_token] {
        if let Some(sig) = t.rsplit('.').next().filter(|s| s.len() >= 16) {
            s.push(sig.to_owned());
        }
    }
    s
}

#[test]
fn no_credential_reaches_the_output_at_the_highest_verbosity() {
    let ns = Namespace::new("secrets", None);
    ns.target_pod("app");
    let c = cluster();
    c.kubectl_ok(
        &["-n", &ns.name, "create", "serviceaccount", "debugger"],
        None,
    );
    c.apply(&format!(
        r"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: debug, namespace: {ns}}}
rules:
- {{apiGroups: [''], resources: [pods], verbs: [get, list, watch]}}
- {{apiGroups: [''], resources: [pods/ephemeralcontainers], verbs: [patch]}}
- {{apiGroups: [''], resources: [pods/attach, pods/exec], verbs: [get, create]}}
- {{apiGroups: [''], resources: [pods/log], verbs: [get]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: debug, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: debug}}
subjects:
- {{kind: ServiceAccount, name: debugger, namespace: {ns}}}
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}}
",
        ns = ns.name
    ));
    let token = c
        .kubectl_ok(&["-n", &ns.name, "create", "token", "debugger"], None)
        .trim()
        .to_owned();
    let exec_token = c
        .kubectl_ok(&["-n", &ns.name, "create", "token", "debugger"], None)
        .trim()
        .to_owned();
    assert!(token.len() > 100 && exec_token.len() > 100 && token != exec_token);

    let pki = c.dir.join("pki");
    let ca = pki.join("ca.crt");
    let cert_file = pki.join("user-alice.crt");
    let key_file = pki.join("user-alice.key");
    let cert_pem = std::fs::read_to_string(&cert_file).expect("alice's certificate");
    let key_pem = std::fs::read_to_string(&key_file).expect("alice's key");
    let server = c
        .kubectl_ok(
            &[
                "config",
                "view",
                "--minify",
                "-o",
                "jsonpath={.clusters[0].cluster.server}",
            ],
            None,
        )
        .trim()
        .to_owned();

    let dir = std::env::temp_dir().join(format!("dd-secrets-{}", ns.name));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plugin = dir.join("credential-plugin.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nprintf '%s' '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{exec_token}\"}}}}'\n"
        ),
    )
    .expect("write the plugin");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&plugin)
        .status()
        .expect("chmod");

    let configs: Vec<(&str, String)> = vec![
        ("token", format!("    token: {token}\n")),
        (
            "client certificate data",
            format!(
                "    client-certificate-data: {}\n    client-key-data: {}\n",
                b64(cert_pem.as_bytes()),
                b64(key_pem.as_bytes())
            ),
        ),
        (
            "client certificate files",
            format!(
                "    client-certificate: {}\n    client-key: {}\n",
                cert_file.display(),
                key_file.display()
            ),
        ),
        (
            "exec plugin",
            format!(
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
                plugin.display()
            ),
        ),
    ];
    let forbidden = secrets(&token, &exec_token, &cert_pem, &key_pem);
    for (kind, user) in configs {
        let path: PathBuf = dir.join(format!("{}.kubeconfig", kind.replace(' ', "-")));
        std::fs::write(&path, kubeconfig(&server, &ca, &user)).expect("write kubeconfig");
        let env = plugin_env_with(&path);
        for (args, code) in [
            (
                vec!["-v", "9", "-n", &ns.name, "pod/app", "--", "id", "-u"],
                0,
            ),
            (
                vec!["-v", "9", "-n", &ns.name, "pod/missing", "--", "true"],
                1,
            ),
            (vec!["-v", "9", "-n", &ns.name, "list"], 0),
        ] {
            let out = run_plugin(&args, &env);
            let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert_eq!(
                out.status.code(),
                Some(code),
                "{kind} {args:?}: {}",
                text(&out.stderr)
            );
            assert!(
                all.contains("TRACE") || all.contains("DEBUG"),
                "{kind}: -v 9 logs: {all}"
            );
            for secret in &forbidden {
                assert!(
                    !all.contains(secret.as_str()),
                    "{kind} {args:?}: the output contains credential material {:?}…",
                    &secret[..secret.len().min(12)]
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
