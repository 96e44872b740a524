//! Faults between the plugin and the API server, made by a TCP proxy of our own (the shared
//! cluster is never touched): an unreachable server, a server that accepts and never answers,
//! a watch dropped while waiting, the server gone mid-wait; and a fan-out over 100 pods with
//! pods deleted and a permission revoked mid-run, with its peak memory.

use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::harness::{Namespace, PLUGIN, cluster, env_as, plugin_env_with};

/// What the proxy does with bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Accept connections but forward nothing, either way, on new and existing connections:
    /// a server that accepts and never answers.
    Hold,
}

/// A TCP proxy in front of the API server, on 127.0.0.1, run by this test process. TLS goes
/// through it untouched (the server certificate has 127.0.0.1 in its SANs), so the plugin
/// verifies the real server. It can hold traffic, cut every connection, or die.
pub struct Proxy {
    mode: watch::Sender<Mode>,
    /// Bumped to cut every connection open at that moment.
    cuts: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
    kubeconfig: PathBuf,
}

impl Proxy {
    pub fn start(mode: Mode) -> Proxy {
        let upstream = api_server_addr();
        let (mode_tx, _) = watch::channel(mode);
        let (cuts_tx, _) = watch::channel(0u64);
        let (shutdown_tx, _) = watch::channel(false);
        let accepted = Arc::new(AtomicUsize::new(0));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("proxy address");
        let (m, c, s, a) = (
            mode_tx.subscribe(),
            cuts_tx.subscribe(),
            shutdown_tx.subscribe(),
            Arc::clone(&accepted),
        );
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                serve(listener, upstream, m, c, s, a).await;
            });
            // Dropping the runtime drops every connection task: all sockets close.
        });
        let kubeconfig = kubeconfig_via(addr);
        Proxy {
            mode: mode_tx,
            cuts: cuts_tx,
            shutdown: shutdown_tx,
            accepted,
            thread: Some(thread),
            kubeconfig,
        }
    }

    /// Plugin environment that goes through this proxy.
    pub fn env(&self) -> Vec<(String, String)> {
        plugin_env_with(&self.kubeconfig)
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Closes every connection open now; later ones go on as the mode says.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The API server as good as killed: every connection closed, and the port closed too.
    pub fn kill(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(t) = self.thread.take() {
            t.join().expect("the proxy thread ends");
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

async fn serve(
    listener: TcpListener,
    upstream: SocketAddr,
    mode: watch::Receiver<Mode>,
    cuts: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
    accepted: Arc<AtomicUsize>,
) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            conn = listener.accept() => {
                let Ok((client, _)) = conn else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(connection(client, upstream, mode.clone(), cuts.clone()));
            }
        }
    }
}

async fn connection(
    client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    mut cuts: watch::Receiver<u64>,
) {
    let generation = *cuts.borrow_and_update();
    let work = async {
        // Held from the start: accept and never answer (not even connecting upstream).
        let _ = mode.wait_for(|m| *m == Mode::Pass).await;
        let Ok(server) = TcpStream::connect(upstream).await else {
            return;
        };
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        tokio::join!(pump(cr, sw, mode.clone()), pump(sr, cw, mode.clone()));
    };
    tokio::select! {
        () = work => {}
        _ = cuts.wait_for(|g| *g != generation) => {}
    }
}

async fn pump(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if mode.wait_for(|m| *m == Mode::Pass).await.is_err() {
            break;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The API server's address, from the admin kubeconfig's `server:` line.
fn api_server_addr() -> SocketAddr {
    let config = std::fs::read_to_string(&cluster().kubeconfig).expect("admin kubeconfig");
    let server = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://"))
        .expect("a server: line in the admin kubeconfig");
    server
        .trim_end_matches('/')
        .parse()
        .expect("the server is an IP:port")
}

/// A copy of the admin kubeconfig whose server is `addr`.
pub fn kubeconfig_via(addr: SocketAddr) -> PathBuf {
    use std::sync::atomic::AtomicU32;
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let config = std::fs::read_to_string(&cluster().kubeconfig).expect("admin kubeconfig");
    let rewritten: String = config
        .lines()
        .map(|l| match l.find("server: https://") {
            Some(at) => format!("{}server: https://{addr}\n", &l[..at]),
            None => format!("{l}\n"),
        })
        .collect();
    let path = std::env::temp_dir().join(format!(
        "dd-e2e-proxy-{}-{}.kubeconfig",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, rewritten).expect("write the proxy kubeconfig");
    path
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("address");
    drop(l);
    addr
}

/// The plugin without a terminal, stdout and stderr piped, stderr read line by line on a
/// thread (so a test can act on a status line).
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<std::sync::Mutex<String>>,
}

impl Running {
    pub fn spawn(program: &str, args: &[&str], env: &[(String, String)]) -> Running {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the plugin runs");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = mpsc::channel();
        let all = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = Arc::clone(&all);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock()
                    .expect("stderr lock")
                    .push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        Running {
            child,
            lines,
            stderr: all,
        }
    }

    /// Waits for a stderr line containing `needle`.
    pub fn expect_stderr(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(e) => panic!(
                    "no stderr line with {needle:?} within {limit:?} ({e}); stderr:\n{}",
                    self.stderr()
                ),
            }
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Waits (bounded) for the end; returns the exit code, stdout and stderr.
    pub fn finish(mut self, limit: Duration) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for the plugin") {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "the plugin did not end within {limit:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
        }
        // The reader thread sees EOF once the process is gone.
        let drained = Instant::now() + Duration::from_secs(5);
        while self
            .lines
            .recv_timeout(drained.saturating_duration_since(Instant::now()))
            .is_ok()
        {}
        (status.code(), stdout, self.stderr())
    }
}

/// The ephemeral containers of a pod, as the admin sees them.
fn ephemeral(ns: &str, pod: &str) -> Vec<Value> {
    cluster().pod_json(ns, pod)["spec"]["ephemeralContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn running(ns: &str, pod: &str, name: &str) -> bool {
    cluster().pod_json(ns, pod)["status"]["ephemeralContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["name"] == name && s["state"]["running"].is_object())
}

pub fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Far more than any request here needs; a hang shows up as a failure, not a stuck suite.
const BOUND: Duration = Duration::from_secs(90);

#[test]
fn unreachable_api_server_fails_with_a_clear_error() {
    let kubeconfig = kubeconfig_via(closed_port());
    let env = plugin_env_with(&kubeconfig);
    let run = Running::spawn(
        PLUGIN,
        &[
            "-n",
            "default",
            "pod/anything",
            "--request-timeout",
            "5s",
            "--",
            "true",
        ],
        &env,
    );
    let (code, stdout, stderr) = run.finish(BOUND);
    let _ = std::fs::remove_file(&kubeconfig);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("error: cannot reach the API server"),
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("hint: check the cluster URL"),
        "stderr:\n{stderr}"
    );
}

#[test]
fn a_server_that_never_answers_fails_within_the_request_timeout() {
    let proxy = Proxy::start(Mode::Hold);
    let run = Running::spawn(
        PLUGIN,
        &[
            "-n",
            "default",
            "pod/anything",
            "--request-timeout",
            "3s",
            "--",
            "true",
        ],
        &proxy.env(),
    );
    let (code, stdout, stderr) = run.finish(BOUND);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("error: request timed out after 3s"),
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("--request-timeout"),
        "the hint names the flag:\n{stderr}"
    );
    assert!(
        proxy.accepted() >= 1,
        "the plugin did connect to the silent server"
    );
}

/// Starts `-- echo` through `proxy` and holds all traffic as soon as the debug container was
/// added, so the watch cannot see it start; returns once the admin sees it running.
fn start_and_hold_the_watch(ns: &Namespace, proxy: &Proxy) -> Running {
    let run = Running::spawn(
        PLUGIN,
        &[
            "-n",
            &ns.name,
            "pod/app",
            "-v",
            "4",
            "--",
            "echo",
            "resumed-ok",
        ],
        &proxy.env(),
    );
    run.expect_stderr("Added debug container", BOUND);
    proxy.set(Mode::Hold);
    let name = ephemeral(&ns.name, "app")[0]["name"]
        .as_str()
        .expect("a debug container")
        .to_owned();
    wait_until("the debug container to run", BOUND, || {
        running(&ns.name, "app", &name)
    });
    run
}

#[test]
fn a_dropped_watch_resumes_from_the_last_resource_version() {
    // Holding the traffic races with the watch's first events: when the watch saw the container
    // start before the hold, the run succeeds without a resume and proves nothing about it. Such
    // an attempt is repeated in a new namespace; the test fails if no attempt exercised a resume.
    const ATTEMPTS: usize = 3;
    for _ in 0..ATTEMPTS {
        // A fresh namespace each time, so earlier containers cannot be reused.
        let ns = Namespace::new("watchdrop", None);
        ns.target_pod("app");
        let proxy = Proxy::start(Mode::Pass);
        let run = start_and_hold_the_watch(&ns, &proxy);
        // The watch dies without having seen the container start; the server is back at once.
        proxy.cut();
        proxy.set(Mode::Pass);
        let (code, stdout, stderr) = run.finish(BOUND);
        assert_eq!(code, Some(0), "stderr:\n{stderr}");
        assert_eq!(stdout, "resumed-ok\n");
        assert_eq!(
            ephemeral(&ns.name, "app").len(),
            1,
            "one debug container: nothing was added twice"
        );
        if stderr.contains("resuming from the last resourceVersion") {
            return;
        }
        // This attempt's watch saw the container start before the hold: try again.
    }
    panic!("no attempt out of {ATTEMPTS} dropped the watch before it saw the container start");
}

#[test]
fn the_server_gone_while_waiting_fails_clearly() {
    let ns = Namespace::new("watchgone", None);
    ns.target_pod("app");
    let mut proxy = Proxy::start(Mode::Pass);
    let run = start_and_hold_the_watch(&ns, &proxy);
    proxy.kill();
    let (code, stdout, stderr) = run.finish(BOUND);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    assert!(stdout.is_empty(), "stdout: {stdout}");
    assert!(
        stderr.contains("error: cannot reach the API server"),
        "stderr:\n{stderr}"
    );
}

/// Peak resident memory of a finished `/usr/bin/time -f %M` run, in KiB.
fn max_rss_kib(file: &Path) -> u64 {
    let text = std::fs::read_to_string(file).expect("time's output");
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("maxrss_kib=")?.parse().ok())
        .unwrap_or_else(|| panic!("no maxrss_kib= line in:\n{text}"))
}

/// The plugin under `/usr/bin/time` (GNU time, Debian's `time` package), as carol.
fn timed_fanout(ns: &str, selector: &str, rss_file: &Path) -> Running {
    let env = env_as("carol");
    let rss = rss_file.display().to_string();
    Running::spawn(
        "/usr/bin/time",
        &[
            "-f",
            "maxrss_kib=%M",
            "-o",
            &rss,
            PLUGIN,
            "-n",
            ns,
            "-l",
            selector,
            "-o",
            "jsonl",
            "--ttl",
            "10m",
            "--",
            "hostname",
        ],
        &env,
    )
}

/// carol's Role: what commands over many pods need, with or without `create pods/exec`.
fn carol_role(ns: &str, exec: bool) -> String {
    let exec_rule = if exec {
        "- apiGroups: ['']\n  resources: [pods/exec]\n  verbs: [get, create]\n"
    } else {
        ""
    };
    format!(
        r"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: fan, namespace: {ns}}}
rules:
- apiGroups: ['']
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: ['']
  resources: [pods/ephemeralcontainers]
  verbs: [patch]
{exec_rule}---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: fan, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: fan}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}}
"
    )
}

fn parse_jsonl(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// The direct children of `pid`, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

#[test]
fn fanout_over_100_pods_loses_no_result_and_memory_stays_bounded() {
    const PODS: usize = 100;
    let ns = Namespace::new("fan100", None);
    let c = cluster();
    let names: Vec<String> = (0..PODS).map(|i| format!("p{i:03}")).collect();
    let mut yaml = String::new();
    for (i, n) in names.iter().enumerate() {
        // p000..p009 also carry ten=yes: the 10-pod run for the memory comparison.
        let ten = if i < 10 { ", ten: 'yes'" } else { "" };
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {n}\n  namespace: {}\n  labels: {{app: fan{ten}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  automountServiceAccountToken: false\n  containers:\n  - name: app\n    image: {}\n    imagePullPolicy: Never\n---\n",
            ns.name, c.pause_image
        ));
    }
    let t0 = Instant::now();
    c.apply(&yaml);
    c.kubectl_ok(
        &[
            "-n",
            &ns.name,
            "wait",
            "pod",
            "-l",
            "app=fan",
            "--for=condition=Ready",
            "--timeout=600s",
        ],
        None,
    );
    let pods_ready = t0.elapsed();
    c.apply(&carol_role(&ns.name, true));

    // Ten pods, nothing disturbed: the baseline for memory.
    let rss10 = std::env::temp_dir().join(format!("dd-e2e-rss10-{}", std::process::id()));
    let t10 = Instant::now();
    let (code, stdout, stderr) =
        timed_fanout(&ns.name, "app=fan,ten=yes", &rss10).finish(Duration::from_secs(300));
    let took10 = t10.elapsed();
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert_eq!(parse_jsonl(&stdout).len(), 10);
    let kib10 = max_rss_kib(&rss10);

    // A hundred pods. After 30 results the plugin is stopped (SIGSTOP) so the faults land
    // before any later pod starts (at most --max-parallel, 16, are in flight): p090..p099 are
    // deleted at once, and carol loses `create pods/exec`. Then it goes on (SIGCONT).
    let rss100 = std::env::temp_dir().join(format!("dd-e2e-rss100-{}", std::process::id()));
    let t100 = Instant::now();
    let mut run = timed_fanout(&ns.name, "app=fan", &rss100);
    let stdout_pipe = run.child.stdout.take().expect("stdout piped");
    let (tx, results) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout_pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while lines.len() < 30 {
        match results.recv_timeout(Duration::from_secs(300)) {
            Ok(l) => lines.push(l),
            Err(e) => panic!("30 results did not come ({e}); stderr:\n{}", run.stderr()),
        }
    }
    // Results come in completion order: these pods, whatever their names, finished before the
    // faults.
    let before_faults: Vec<String> = lines
        .iter()
        .map(|l| {
            let r: Value = serde_json::from_str(l).expect("one JSON object per line");
            r["pod"].as_str().expect("a pod name").to_owned()
        })
        .collect();
    let plugin = children_of(run.child.id());
    assert_eq!(plugin.len(), 1, "time runs the plugin as its only child");
    let plugin = plugin[0].to_string();
    let signal = |sig: &str| {
        let s = Command::new("kill")
            .args([sig, &plugin])
            .status()
            .expect("kill runs");
        assert!(s.success(), "kill {sig} {plugin}");
    };
    signal("-STOP");
    let deleted: Vec<String> = names[90..].to_vec();
    let mut args = vec![
        "-n",
        ns.name.as_str(),
        "delete",
        "pod",
        "--grace-period=0",
        "--force",
    ];
    args.extend(deleted.iter().map(String::as_str));
    c.kubectl_ok(&args, None);
    c.apply(&carol_role(&ns.name, false));
    wait_until("carol to lose pods/exec", BOUND, || {
        !c.kubectl(
            &[
                "-n",
                &ns.name,
                "auth",
                "can-i",
                "create",
                "pods",
                "--subresource=exec",
                "--as",
                "carol",
            ],
            None,
        )
        .status
        .success()
    });
    signal("-CONT");
    let (code, rest, stderr) = run.finish(Duration::from_secs(600));
    let took100 = t100.elapsed();
    reader.join().expect("stdout reader");
    lines.extend(results.try_iter());
    lines.extend(rest.lines().map(str::to_owned));
    let kib100 = max_rss_kib(&rss100);

    let results: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(
        results.len(),
        PODS,
        "one object per pod, none lost:\n{stderr}"
    );
    let mut seen: Vec<&str> = results.iter().map(|r| r["pod"].as_str().unwrap()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        names.iter().map(String::as_str).collect::<Vec<_>>(),
        "each pod once"
    );
    let (mut ok, mut forbidden, mut gone) = (0, 0, 0);
    for r in &results {
        let pod = r["pod"].as_str().unwrap();
        let n: usize = pod[1..].parse().unwrap();
        let error = &r["error"];
        assert!(
            error.is_null() != r["exitCode"].is_null(),
            "a result or an error, exactly one: {r}"
        );
        if error.is_null() {
            assert_eq!(r["exitCode"], 0, "{r}");
            assert_eq!(r["stdout"], format!("{pod}\n"), "{r}");
            ok += 1;
        } else if error["reason"] == "Forbidden" {
            assert!(
                error["message"].as_str().unwrap().contains(" pods/exec "),
                "{r}"
            );
            assert!(error["hint"].as_str().unwrap().contains("pods/exec"), "{r}");
            forbidden += 1;
        } else {
            gone += 1;
        }
        if before_faults.iter().any(|b| b == pod) {
            assert!(error.is_null(), "reported before the faults: {r}");
        } else if (60..90).contains(&n) {
            // Not started when the permission went: refused, and told why.
            assert_eq!(error["reason"], "Forbidden", "{r}");
        } else if n >= 90 {
            // Both faults hold for these: the pod is gone and exec is no longer allowed. The
            // permission is checked first (before anything could be added), and the API server
            // authorizes a request before it looks for the pod.
            assert!(
                matches!(
                    error["reason"].as_str(),
                    Some("PodNotFound" | "PodDeleted" | "Forbidden")
                ),
                "deleted before it started: {r}"
            );
        }
    }
    assert_eq!(ok + forbidden + gone, PODS);
    assert_eq!(code, Some(1), "a failed pod makes the run fail:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "100 pods: {ok} succeeded, 0 exited non-zero, {} failed",
            forbidden + gone
        )),
        "summary:\n{stderr}"
    );

    // Memory: generous bound, and no growth in proportion to the pods (10x the pods).
    let report = format!(
        "pods ready in {pods_ready:?}; 10 pods: {took10:?}, peak RSS {kib10} KiB; 100 pods (faults): {took100:?}, peak RSS {kib100} KiB; ok {ok}, forbidden {forbidden}, gone {gone}"
    );
    std::fs::write(
        std::env::temp_dir().join("dd-e2e-fanout-figures.txt"),
        format!("{report}\n"),
    )
    .expect("write the figures");
    let _ = writeln!(std::io::stderr(), "{report}");
    assert!(kib100 < 100 * 1024, "peak RSS under 100 MiB: {report}");
    assert!(
        kib100 < 4 * kib10,
        "memory does not grow in proportion to the pods: {report}"
    );
    let _ = std::fs::remove_file(rss10);
    let _ = std::fs::remove_file(rss100);
}
