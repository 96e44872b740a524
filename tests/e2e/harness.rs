//! What the end-to-end tests stand on: the local cluster started by `tests/run.sh`, fixtures
//! applied with the cluster's own kubectl, and the built plugin driven through a real PTY.
//!
//! A test never skips: without the cluster it fails and says how to start it.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// The built plugin, as cargo built it for this test run.
pub const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-distroless_debug");

/// The local cluster: where its kubeconfigs and binaries are.
pub struct Cluster {
    pub kubeconfig: PathBuf,
    pub dir: PathBuf,
    pub bin: PathBuf,
    pub toolbox_image: String,
    pub target_image: String,
    pub missing_image: String,
    pub pause_image: String,
}

pub fn env_or_fail(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the end-to-end tests run against the local cluster; \
             start them with tests/run.sh"
        )
    })
}

pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let c = Cluster {
            kubeconfig: env_or_fail("DD_KUBECONFIG").into(),
            dir: env_or_fail("DD_CLUSTER_DIR").into(),
            bin: env_or_fail("K8S_BIN").into(),
            toolbox_image: env_or_fail("DD_TOOLBOX_IMAGE"),
            target_image: env_or_fail("DD_TARGET_IMAGE"),
            missing_image: env_or_fail("DD_MISSING_IMAGE"),
            pause_image: env_or_fail("DD_PAUSE_IMAGE"),
        };
        let ready = c.kubectl(&["get", "--raw", "/readyz"], None);
        assert!(
            ready.status.success(),
            "the local cluster does not answer: {}",
            String::from_utf8_lossy(&ready.stderr)
        );
        c
    })
}

impl Cluster {
    pub fn kubectl_path(&self) -> PathBuf {
        self.bin.join("kubectl")
    }

    /// The kubeconfig of a test user without rights of its own (alice, bob, carol).
    pub fn user_kubeconfig(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{user}.kubeconfig"))
    }

    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        crate::support::kubectl(&self.kubectl_path(), &self.kubeconfig, args, stdin)
    }

    /// Runs kubectl and fails the test if it fails; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn apply(&self, yaml: &str) {
        self.kubectl_ok(&["apply", "-f", "-"], Some(yaml));
    }

    /// Waits until a pod is Running with every container ready.
    pub fn wait_ready(&self, ns: &str, pod: &str) {
        self.kubectl_ok(
            &[
                "-n",
                ns,
                "wait",
                &format!("pod/{pod}"),
                "--for=condition=Ready",
                "--timeout=120s",
            ],
            None,
        );
    }

    pub fn pod_json(&self, ns: &str, pod: &str) -> serde_json::Value {
        let out = self.kubectl_ok(&["-n", ns, "get", "pod", pod, "-o", "json"], None);
        serde_json::from_str(&out).expect("pod JSON")
    }
}

/// A namespace of one test, deleted when the test ends.
pub struct Namespace {
    pub name: String,
}

impl Namespace {
    /// `pod_security`: the Pod Security level the namespace enforces (None: the cluster default,
    /// privileged).
    pub fn new(prefix: &str, pod_security: Option<&str>) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "e2e-{prefix}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");
        if let Some(level) = pod_security {
            let _ = write!(
                yaml,
                "  labels:\n    pod-security.kubernetes.io/enforce: {level}\n    \
                 pod-security.kubernetes.io/enforce-version: latest\n"
            );
        }
        cluster().apply(&yaml);
        // Pods need the namespace's default service account, made by the controller-manager.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cluster()
            .kubectl(&["-n", &name, "get", "serviceaccount", "default"], None)
            .status
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "no default service account in {name}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Namespace { name }
    }

    /// The distroless target: UID 65532, runAsNonRoot, read-only root filesystem, restricted-
    /// compliant, so it runs in every Pod Security level.
    pub fn target_pod(&self, name: &str) {
        cluster().apply(&target_pod_yaml(
            &self.name,
            name,
            &cluster().target_image,
            "",
        ));
        cluster().wait_ready(&self.name, name);
    }

    /// A Deployment of `replicas` [`target_pod_yaml`] pods labelled `app: NAME`, rolled out.
    pub fn deployment(&self, name: &str, replicas: u32) {
        let c = cluster();
        let pod = target_pod_yaml(&self.name, name, &c.target_image, "");
        // The pod template is the pod's spec, indented under the template.
        let mut spec = String::new();
        for line in pod.lines().skip_while(|l| !l.starts_with("spec:")) {
            spec.push_str("    ");
            spec.push_str(line);
            spec.push('\n');
        }
        c.apply(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\n\
             spec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: {name}}}\n  \
             template:\n    metadata:\n      labels: {{app: {name}}}\n{spec}",
            ns = self.name
        ));
        c.kubectl_ok(
            &[
                "-n",
                &self.name,
                "rollout",
                "status",
                &format!("deploy/{name}"),
                "--timeout=120s",
            ],
            None,
        );
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = cluster().kubectl(&["delete", "namespace", &self.name, "--wait=false"], None);
    }
}

/// A restricted-compliant pod of the target image; `extra` is appended to the pod's metadata
/// (for annotations).
pub fn target_pod_yaml(ns: &str, name: &str, image: &str, extra_metadata: &str) -> String {
    format!(
        r"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}}}
{extra_metadata}spec:
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile: {{type: RuntimeDefault}}
  containers:
  - name: app
    image: {image}
    imagePullPolicy: Never
    env:
    - {{name: APP_ENV, value: e2e}}
    ports:
    - {{containerPort: 8080}}
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {{drop: [ALL]}}
"
    )
}

/// [`plugin_env`] with `KUBECONFIG` pointing at `kubeconfig` instead of the admin's.
pub fn plugin_env_with(kubeconfig: &Path) -> Vec<(String, String)> {
    let mut env = plugin_env();
    env.retain(|(k, _)| k != "KUBECONFIG");
    env.push(("KUBECONFIG".into(), kubeconfig.display().to_string()));
    env
}

/// [`plugin_env`] as test user `user` (alice, bob or carol: client certificates without rights
/// of their own; tests bind Roles to them).
pub fn env_as(user: &str) -> Vec<(String, String)> {
    plugin_env_with(&cluster().user_kubeconfig(user))
}

/// Environment every plugin run gets: the cluster's kubeconfig and the locally built toolbox.
pub fn plugin_env() -> Vec<(String, String)> {
    let c = cluster();
    vec![
        ("KUBECONFIG".into(), c.kubeconfig.display().to_string()),
        (
            "KUBECTL_DISTROLESS_DEBUG_IMAGE".into(),
            c.toolbox_image.clone(),
        ),
        ("NO_COLOR".into(), "1".into()),
    ]
}

/// Runs the plugin without a terminal.
pub fn run_plugin(args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(PLUGIN);
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the plugin runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A program running in a real pseudo-terminal, read by a background thread.
///
/// The program runs under `sh -c`, which saves `stty -g` before and after it, so a test can
/// prove the terminal was left as it was found.
pub struct Pty {
    master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    screen: crate::support::Screen,
    /// Where in `screen` the next `expect` starts looking.
    cursor: usize,
    stty_dir: PathBuf,
}

pub struct PtyExit {
    pub code: u32,
    pub stty_before: String,
    pub stty_after: String,
    pub screen: String,
}

impl Pty {
    pub fn spawn(program: &Path, args: &[&str], env: &[(String, String)], size: (u16, u16)) -> Pty {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let stty_dir = std::env::temp_dir().join(format!(
            "dd-e2e-pty-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&stty_dir).expect("temp dir");
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: size.0,
                cols: size.1,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new("sh");
        cmd.arg("-c");
        cmd.arg(r#"d=$1; shift; stty -g >"$d/before"; "$@"; rc=$?; stty -g >"$d/after"; exit $rc"#);
        cmd.arg("sh");
        cmd.arg(&stty_dir);
        cmd.arg(program);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm");
        let child = pair.slave.spawn_command(cmd).expect("spawn in the pty");
        drop(pair.slave);
        let reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let screen = crate::support::record_screen(reader);
        Pty {
            master: pair.master,
            writer,
            child,
            screen,
            cursor: 0,
            stty_dir,
        }
    }

    /// The process id of the `sh -c` wrapper; the program runs as its child.
    pub fn pid(&self) -> u32 {
        self.child
            .process_id()
            .expect("the pty child has a process id")
    }

    /// Everything the terminal showed so far.
    pub fn screen(&self) -> String {
        text(&self.screen.0.lock().expect("screen lock"))
    }

    /// Waits until `needle` appears after what earlier expectations consumed; returns the text
    /// up to and including it. Fails the test with the whole screen after `timeout`.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.screen;
        let mut buf = lock.lock().expect("screen lock");
        loop {
            let hay = &buf[self.cursor.min(buf.len())..];
            if let Some(pos) = find(hay, needle.as_bytes()) {
                let end = self.cursor + pos + needle.len();
                let seen = text(&buf[self.cursor..end]);
                self.cursor = end;
                return seen;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out after {timeout:?} waiting for {needle:?}; the terminal showed:\n{}",
                text(&buf)
            );
            buf = cv.wait_timeout(buf, deadline - now).expect("screen lock").0;
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .expect("write to the pty");
        self.writer.flush().expect("flush the pty");
    }

    pub fn send_line(&mut self, line: &str) {
        self.send(&format!("{line}\r"));
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pty");
    }

    /// Waits for the program to end (bounded) and returns its exit code and the terminal
    /// settings saved before and after it.
    pub fn wait(mut self, timeout: Duration) -> PtyExit {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the pty child") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "the program did not end within {timeout:?}; the terminal showed:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Give the reader thread a moment to collect the last bytes.
        std::thread::sleep(Duration::from_millis(100));
        let read =
            |name: &str| std::fs::read_to_string(self.stty_dir.join(name)).unwrap_or_default();
        let exit = PtyExit {
            code: status.exit_code(),
            stty_before: read("before"),
            stty_after: read("after"),
            screen: self.screen(),
        };
        let _ = std::fs::remove_dir_all(&self.stty_dir);
        exit
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
