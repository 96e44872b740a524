//! Kubeconfigs run through the built binary without a cluster.
//!
//! Malformed ones, and flags that name no entry: each is refused before any request with
//! `error: kubeconfig: ...` saying what is wrong, a `hint:` line and exit code 1, and no
//! credential from the file is echoed.
//!
//! Exec credential plugins (unix: the plugins are `sh` scripts): against a fake API server on
//! loopback that answers every request 404, the plugin runs exactly once per invocation, its
//! stderr reaches ours, stdin only when interactive, and its failures are clear errors that
//! never echo what it printed on stdout.

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

#[cfg(unix)]
mod exec_plugin {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::{Command, Output, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use std::path::{Path, PathBuf};

    use super::{PLUGIN, SECRET};

    const TOKEN: &str = "exec-token-0815";
    const V1: &str = "client.authentication.k8s.io/v1";

    /// One request the fake API server received.
    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        authorization: Option<String>,
    }

    /// An API server over plain HTTP on loopback that records every request and answers it
    /// 404 with a Status: a run reaches the server with its credentials and ends "not found".
    struct FakeApi {
        url: String,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl FakeApi {
        fn start() -> FakeApi {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = Arc::clone(&seen);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { break };
                    let log = Arc::clone(&log);
                    std::thread::spawn(move || answer(stream, &log));
                }
            });
            FakeApi { url, seen }
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    fn answer(stream: TcpStream, log: &Mutex<Vec<Seen>>) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let (mut authorization, mut length) = (None, 0);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                break;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "authorization" => authorization = Some(value.trim().to_owned()),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        log.lock().unwrap().push(Seen {
            path,
            authorization,
        });
        let status = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"not here"}"#;
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{status}",
            status.len()
        );
    }

    /// A directory of its own for one test: the plugin, its records, the kubeconfig. Removed
    /// when dropped.
    struct Workdir(PathBuf);

    impl std::ops::Deref for Workdir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Workdir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn workdir(name: &str) -> Workdir {
        let dir = std::env::temp_dir().join(format!("dd-exec-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Workdir(dir)
    }

    /// A credential plugin: a `sh` script that appends a line to `count` on every run, keeps
    /// its arguments, `KUBERNETES_EXEC_INFO` and a variable from the kubeconfig, records any
    /// line it can read from stdin, says something on stderr, then runs `tail`.
    fn plugin(dir: &Path, tail: &str) -> PathBuf {
        let path = dir.join("credential-plugin");
        let script = format!(
            "#!/bin/sh\n\
             d=$(dirname \"$0\")\n\
             echo \"run $*\" >>\"$d/count\"\n\
             printf '%s' \"$KUBERNETES_EXEC_INFO\" >\"$d/exec-info\"\n\
             printf '%s' \"$FROM_KUBECONFIG\" >\"$d/env\"\n\
             if read -r line; then echo \"$line\" >>\"$d/stdin\"; fi\n\
             echo 'plugin says hello on stderr' >&2\n\
             {tail}\n"
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// `sh` that prints `text` and a newline, as it is (dash's `echo` expands `\n`).
    fn print(text: &str) -> String {
        format!("printf '%s\\n' '{text}'")
    }

    fn prints_token() -> String {
        print(&format!(
            r#"{{"apiVersion":"{V1}","kind":"ExecCredential","status":{{"token":"{TOKEN}"}}}}"#
        ))
    }

    fn kubeconfig(dir: &Path, server: &str, plugin: &Path, mode: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\n\
                 clusters:\n- name: a\n  cluster:\n    server: {server}\n    extensions:\n\
                 \x20   - name: client.authentication.k8s.io/exec\n      extension: {{audience: test}}\n\
                 users:\n- name: u\n  user:\n    exec:\n      apiVersion: {V1}\n\
                 \x20     command: {}\n      args: [--cluster-id, a]\n\
                 \x20     env: [{{name: FROM_KUBECONFIG, value: set}}]\n\
                 \x20     interactiveMode: {mode}\n      provideClusterInfo: true\n\
                 contexts:\n- name: c\n  context: {{cluster: a, user: u}}\n\
                 current-context: c\n",
                plugin.display()
            ),
        )
        .unwrap();
        path
    }

    fn command(kubeconfig: &Path) -> Command {
        command_with(kubeconfig, &[])
    }

    fn command_with(kubeconfig: &Path, flags: &[&str]) -> Command {
        let mut cmd = Command::new(PLUGIN);
        cmd.arg("--kubeconfig")
            .arg(kubeconfig)
            .args(flags)
            .args(["--request-timeout", "10s", "pod/x", "--", "true"])
            .env_remove("KUBECONFIG")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs the plugin binary with `input` on a pipe as its stdin.
    fn run_piped(kubeconfig: &Path, input: &str) -> Output {
        let mut child = command(kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn read(dir: &Path, file: &str) -> Option<String> {
        std::fs::read_to_string(dir.join(file)).ok()
    }

    fn all(out: &Output) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    #[test]
    fn the_plugin_runs_once_and_its_token_reaches_the_server() {
        let dir = workdir("once");
        let api = FakeApi::start();
        let config = kubeconfig(
            &dir,
            &api.url,
            &plugin(&dir, &prints_token()),
            "IfAvailable",
        );
        // With trace logs: they must not show the token either.
        let out = command_with(&config, &["-v", "9"]).output().unwrap();
        let text = all(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("pod \"x\" not found"), "{text}");
        assert_eq!(
            read(&dir, "count").as_deref(),
            Some("run --cluster-id a\n"),
            "the plugin must run exactly once"
        );
        assert_eq!(read(&dir, "env").as_deref(), Some("set"));
        let seen = api.seen();
        assert!(!seen.is_empty());
        let bearer = format!("Bearer {TOKEN}");
        for s in &seen {
            assert_eq!(s.authorization.as_deref(), Some(bearer.as_str()), "{s:?}");
        }
        // A token does not name the user: the audit identity is asked for.
        assert!(
            seen.iter().any(|s| s
                .path
                .starts_with("/apis/authentication.k8s.io/v1/selfsubjectreviews")),
            "{seen:?}"
        );
        assert!(
            text.contains("running the exec credential plugin")
                && text.contains("the exec credential plugin returned credentials"),
            "{text}"
        );
        assert!(!text.contains(TOKEN), "the token was printed: {text}");
        // As client-go sends it: not interactive (stdin is not a terminal), the cluster.
        let info: serde_json::Value =
            serde_json::from_str(&read(&dir, "exec-info").unwrap()).unwrap();
        assert_eq!(
            info,
            serde_json::json!({
                "kind": "ExecCredential",
                "apiVersion": V1,
                "spec": {
                    "interactive": false,
                    "cluster": {"server": api.url, "config": {"audience": "test"}}
                }
            })
        );
    }

    #[test]
    fn the_plugins_stderr_is_ours_and_stdin_only_when_interactive() {
        for mode in ["Never", "IfAvailable"] {
            let dir = workdir(&format!("stderr-{mode}"));
            let api = FakeApi::start();
            let config = kubeconfig(&dir, &api.url, &plugin(&dir, &prints_token()), mode);
            let out = run_piped(&config, "typed-for-the-session\n");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{mode}: {stderr}");
            assert!(
                stderr.contains("plugin says hello on stderr\n"),
                "{mode}: the plugin's stderr is lost: {stderr}"
            );
            // Never, or IfAvailable without a terminal: the plugin gets no stdin.
            assert_eq!(read(&dir, "stdin"), None, "{mode}");
            assert_eq!(read(&dir, "count").map(|c| c.lines().count()), Some(1));
        }
    }

    #[test]
    fn a_failing_plugin_is_a_clear_error_without_its_output() {
        let dir = workdir("fails");
        let api = FakeApi::start();
        let path = plugin(
            &dir,
            &format!(
                "{}\necho 'login failed: no session' >&2\nexit 3",
                print(&format!(
                    r#"{{"apiVersion":"{V1}","status":{{"token":"{SECRET}"}}}}"#
                ))
            ),
        );
        let out = command(&kubeconfig(&dir, &api.url, &path, "Never"))
            .output()
            .unwrap();
        let text = all(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(out.stdout.is_empty(), "{text}");
        assert!(text.contains("login failed: no session\n"), "{text}");
        assert!(
            text.contains(&format!(
                "error: exec credential plugin {:?} of user \"u\": failed with exit code 3\nhint: ",
                path.display().to_string()
            )),
            "{text}"
        );
        assert!(
            !text.contains(SECRET),
            "the plugin's stdout was echoed: {text}"
        );
        assert!(api.seen().is_empty(), "no request without credentials");
        assert_eq!(read(&dir, "count").map(|c| c.lines().count()), Some(1));

        // Exit 0 with something that is not an ExecCredential.
        let dir = workdir("garbage");
        let path = plugin(&dir, &print(&format!("{SECRET} is not {{ JSON")));
        let out = command(&kubeconfig(&dir, &api.url, &path, "Never"))
            .output()
            .unwrap();
        let text = all(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("not an ExecCredential"), "{text}");
        assert!(text.contains("\nhint: "), "{text}");
        assert!(
            !text.contains(SECRET),
            "the plugin's stdout was echoed: {text}"
        );
        assert!(api.seen().is_empty());
    }

    #[test]
    fn interactive_always_needs_a_terminal_as_with_kubectl() {
        let dir = workdir("always");
        let api = FakeApi::start();
        let config = kubeconfig(&dir, &api.url, &plugin(&dir, &prints_token()), "Always");
        let out = command(&config).stdin(Stdio::null()).output().unwrap();
        let text = all(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.contains(": cannot run interactively (interactiveMode: Always): standard input is not a terminal\nhint: "),
            "{text}"
        );
        assert_eq!(read(&dir, "count"), None, "the plugin must not run");
        assert!(api.seen().is_empty());
    }

    /// A throwaway self-signed certificate, subject `O=dev, CN=carol`, and its key (EC P-256,
    /// made for these tests with `openssl req -x509`; used nowhere else).
    const CERT: &str = "-----BEGIN CERTIFICATE-----\\nMIIBkzCCATmgAwIBAgIUN9FoGQb4tg6yHeWvdGNXG9cViXIwCgYIKoZIzj0EAwIw\\nHjEMMAoGA1UECgwDZGV2MQ4wDAYDVQQDDAVjYXJvbDAgFw0yNjExMzAyMDUxMjNa\\nGA8yMTI2MTEwNjIwNTEyM1owHjEMMAoGA1UECgwDZGV2MQ4wDAYDVQQDDAVjYXJv\\nbDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEhVN9hW7O/2VQZ86X+jJ0GHQ5Ma\\n3A2vdTbgnve+vmR5Gsrj6KfFA1bBrkR2+qWhjzoclI0n/9AfgDiSkhCvEkmjUzBR\\nMB0GA1UdDgQWBBSyE6F+BP/CJG24em8fgmh3eF/yLTAfBgNVHSMEGDAWgBSyE6F+\\nBP/CJG24em8fgmh3eF/yLTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gA\\nMEUCIBfXHBSmA85z7zfoVNIDN0Oj7PsgWJi0G36emHld8SZWAiEAwnfp8iUh3CNO\\nqCGreObuNNmWOW+6oSyNTIGXxqHrCmw=\\n-----END CERTIFICATE-----\\n";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgg80sgOst6qPFre01\\nrZi2iUa0dndsjUY9sl/5KYx8KLmhRANCAARIVTfYVuzv9lUGfOl/oydBh0OTGtwN\\nr3U24J73vr5keRrK4+inxQNWwa5EdvqloY86HJSNJ//QH4A4kpIQrxJJ\\n-----END PRIVATE KEY-----\\n";

    #[test]
    fn a_plugin_certificate_names_the_user_without_asking() {
        let dir = workdir("certificate");
        let api = FakeApi::start();
        let tail = print(&format!(
            r#"{{"apiVersion":"{V1}","kind":"ExecCredential","status":{{"clientCertificateData":"{CERT}","clientKeyData":"{KEY}"}}}}"#
        ));
        let config = kubeconfig(&dir, &api.url, &plugin(&dir, &tail), "Never");
        let out = command(&config).output().unwrap();
        let text = all(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("pod \"x\" not found"), "{text}");
        assert_eq!(read(&dir, "count").map(|c| c.lines().count()), Some(1));
        let seen = api.seen();
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|s| s.authorization.is_none()), "{seen:?}");
        // The certificate's CN is the user: no SelfSubjectReview.
        assert!(
            !seen.iter().any(|s| s.path.contains("selfsubjectreviews")),
            "{seen:?}"
        );
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }

    /// The reason for all this: a plugin that prompts (`interactiveMode: Always`, an OTP) asks
    /// once, on the terminal, and gets what the user typed.
    #[test]
    fn an_interactive_plugin_asks_once_on_the_terminal() {
        use portable_pty::{CommandBuilder, PtySize, native_pty_system};

        let dir = workdir("prompt");
        let api = FakeApi::start();
        let tail = format!(
            "printf 'one-time code: ' >&2\nread -r otp\necho \"otp=$otp\" >>\"$d/otp\"\n{}",
            prints_token()
        );
        // The script reads a line before the prompt: give it its own plugin without that.
        let path = dir.join("credential-plugin");
        let script = format!(
            "#!/bin/sh\nd=$(dirname \"$0\")\necho run >>\"$d/count\"\n\
             printf '%s' \"$KUBERNETES_EXEC_INFO\" >\"$d/exec-info\"\n{tail}\n"
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = kubeconfig(&dir, &api.url, &path, "Always");

        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(PLUGIN);
        cmd.arg("--kubeconfig");
        cmd.arg(&config);
        cmd.args(["--request-timeout", "10s", "pod/x", "--", "true"]);
        cmd.env("NO_COLOR", "1");
        cmd.env_remove("KUBECONFIG");
        cmd.cwd(&*dir);
        let mut child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let mut writer = pair.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let shown = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !shown().contains("one-time code: ") {
            assert!(Instant::now() < deadline, "no prompt: {}", shown());
            std::thread::sleep(Duration::from_millis(20));
        }
        writer.write_all(b"424242\r").unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the plugin asked again or the run hung: {}", shown());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.exit_code(), 1, "{}", shown());
        assert_eq!(shown().matches("one-time code: ").count(), 1, "{}", shown());
        assert_eq!(read(&dir, "count").as_deref(), Some("run\n"));
        assert_eq!(read(&dir, "otp").as_deref(), Some("otp=424242\n"));
        let info: serde_json::Value =
            serde_json::from_str(&read(&dir, "exec-info").unwrap()).unwrap();
        assert_eq!(info["spec"]["interactive"], true);
        let bearer = format!("Bearer {TOKEN}");
        let seen = api.seen();
        assert!(!seen.is_empty());
        assert!(
            seen.iter()
                .all(|s| s.authorization.as_deref() == Some(bearer.as_str())),
            "{seen:?}"
        );
    }
}
