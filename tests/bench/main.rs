//! Benchmark: `kubectl distroless-debug` against `kubectl debug` (the kubectl built from the
//! cluster's own Kubernetes version) on the local real cluster, side by side.
//!
//! Every comparison interleaves the two tools (A B, then B A, …) on pods of the same shape, and
//! reports the median with its spread (min–max under ten samples, p10–p90 from ten on) and the
//! ratio ours ÷ kubectl from the same run. Times inside the cluster come from its own logs: the
//! apiserver's audit log (when our PATCH and attach/exec requests arrived, and how many requests
//! a session made) and containerd's log (when the runtime had started the debug container).
//!
//! No arguments: a smoke run (2 runs each, N = 1 and 3) that `cargo test --features e2e` runs;
//! it fails only when a tool fails to work, never on a timing. `--full`: the real run
//! (tests/bench/run.sh --full), which also writes the markdown table. See docs/benchmarks.md.
//!
//! Options: --full, --runs N, --sizes 1,10,50, --mem-pods 50,1000, --cp-mib 1024,
//! --rows 1,2,3,4,5,6,7,8,9,10,11,12, --out FILE. Row 10 at 1,000 pods needs a node that takes them: start the cluster with
//! `DD_MAX_PODS=1100` (tests/cluster/up.sh).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines
)]

mod cluster;
mod pty;
mod stats;
#[path = "../support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use cluster::{
    Cluster, Request, audit_requests, container_started_ns, log_offset, log_since, unix_ns,
};
use pty::{Pty, find};
use stats::{Summary, count, mb, mib, mib_per_s, ratio, secs};

/// The plugin under test: `DD_BENCH_PLUGIN` (for example the static release binary), else the
/// one cargo built with this benchmark (release with `cargo test --release`).
fn plugin() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        std::env::var("DD_BENCH_PLUGIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kubectl-distroless_debug").to_owned())
    })
}

/// One line of the file `cat` sends through the terminal: 63 characters and a newline.
const LINE: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+";

const PROMPT_TIMEOUT: Duration = Duration::from_secs(90);
const STEP: Duration = Duration::from_secs(30);

struct Opts {
    full: bool,
    runs: usize,
    sizes: Vec<usize>,
    /// Runs for the largest fan-out (a sequential kubectl loop over 50 pods takes a minute).
    big_runs: usize,
    tty_bytes: usize,
    keys: usize,
    version_runs: usize,
    count_runs: usize,
    rows: Vec<u32>,
    /// Pod counts of row 10 (peak memory over many pods through kept containers).
    mem_pods: Vec<usize>,
    /// MiB of the file row 11 copies out of a pod.
    cp_mib: usize,
    out: Option<PathBuf>,
}

impl Opts {
    fn parse() -> Opts {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let full = args.iter().any(|a| a == "--full");
        let mut o = if full {
            Opts {
                full,
                runs: 9,
                sizes: vec![1, 10, 50],
                big_runs: 5,
                tty_bytes: 4 << 20,
                keys: 100,
                version_runs: 30,
                count_runs: 3,
                rows: (1..=12).collect(),
                mem_pods: vec![50],
                cp_mib: 1024,
                out: Some("target/bench-results.md".into()),
            }
        } else {
            Opts {
                full,
                runs: 2,
                sizes: vec![1, 3],
                big_runs: 2,
                tty_bytes: 1 << 20,
                keys: 20,
                version_runs: 5,
                count_runs: 1,
                rows: (1..=12).collect(),
                mem_pods: vec![3],
                cp_mib: 16,
                out: None,
            }
        };
        let list = |s: &str| {
            s.split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect::<Vec<_>>()
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--full" => {}
                "--runs" => {
                    if let Some(n) = it.next().and_then(|v| v.parse().ok()) {
                        o.runs = n;
                        o.big_runs = o.big_runs.min(n);
                    }
                }
                "--sizes" => o.sizes = it.next().map(|v| list(v)).unwrap_or_default(),
                "--mem-pods" => o.mem_pods = it.next().map(|v| list(v)).unwrap_or_default(),
                "--cp-mib" => {
                    if let Some(n) = it.next().and_then(|v| v.parse().ok()) {
                        o.cp_mib = n;
                    }
                }
                "--rows" => {
                    o.rows = it
                        .next()
                        .map(|v| list(v).into_iter().map(|x: usize| x as u32).collect())
                        .unwrap_or_default();
                }
                "--out" => o.out = it.next().map(PathBuf::from),
                // What cargo's test runner may pass (a filter, --nocapture): not ours.
                other => eprintln!("bench: ignoring argument {other:?}"),
            }
        }
        o
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Ours,
    Kubectl,
}

/// A A/B order per run: ours first in even runs, kubectl first in odd ones.
fn order(k: usize) -> [Tool; 2] {
    if k.is_multiple_of(2) {
        [Tool::Ours, Tool::Kubectl]
    } else {
        [Tool::Kubectl, Tool::Ours]
    }
}

/// What the plugin can do today, read from its --help (features land while this is written).
struct Features {
    /// `--new` exists: a live debug container is reused unless asked for a fresh one.
    reuse: bool,
    /// `-l/--selector` exists: one invocation over many pods.
    fanout: bool,
}

struct Ran {
    wall: Duration,
    out: Output,
    rss_kib: Option<f64>,
}

/// A measured interactive session.
#[derive(Default)]
struct Session {
    to_prompt: Duration,
    launch_ns: i128,
    prompt_ns: i128,
    tput: Option<f64>,
    echo: Vec<Duration>,
    rss_kib: Option<f64>,
}

/// When things happened in the cluster during one fresh session (nanoseconds since the epoch).
#[derive(Clone, Copy)]
struct Floor {
    launch: i128,
    patch: i128,
    started: i128,
    stream: Option<i128>,
    prompt: i128,
}

/// A line of the table.
struct Row {
    id: String,
    what: String,
    ours: String,
    theirs: String,
    ratio: String,
    goal: String,
    verdict: String,
}

struct Bench {
    c: Cluster,
    o: Opts,
    f: Features,
    ns: String,
    time_bin: Option<PathBuf>,
    tmp: PathBuf,
    seq: usize,
    rows: Vec<Row>,
    notes: Vec<String>,
    passed: usize,
    failed: usize,
    errors: Vec<String>,
}

fn main() -> std::process::ExitCode {
    let o = Opts::parse();
    let c = match Cluster::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench: {e}");
            println!("0 passed, 1 failed");
            return std::process::ExitCode::FAILURE;
        }
    };
    let help = Command::new(plugin())
        .arg("--help")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let f = Features {
        reuse: help.contains("--new"),
        fanout: help.contains("--selector") || help.contains("-l,"),
    };
    let tmp = std::env::temp_dir().join(format!("dd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let time_bin = Path::new("/usr/bin/time")
        .exists()
        .then(|| PathBuf::from("/usr/bin/time"));
    let mut b = Bench {
        ns: format!("dd-bench-{}", std::process::id()),
        c,
        o,
        f,
        time_bin,
        tmp,
        seq: 0,
        rows: Vec::new(),
        notes: Vec::new(),
        passed: 0,
        failed: 0,
        errors: Vec::new(),
    };
    let started = Instant::now();
    let load_before = loadavg();
    eprintln!(
        "bench: {} mode, plugin {}, reuse {}, fan-out {}",
        if b.o.full { "full" } else { "smoke" },
        plugin(),
        if b.f.reuse { "yes" } else { "not yet" },
        if b.f.fanout { "yes" } else { "not yet" }
    );
    let setup = b.setup();
    match setup {
        Ok(d) => {
            eprintln!("bench: pods ready in {}", secs(d.as_secs_f64()));
            b.run_rows();
        }
        Err(e) => {
            b.failed += 1;
            b.errors.push(format!("setup: {e}"));
        }
    }
    b.c.delete_namespace(&b.ns);
    let _ = std::fs::remove_dir_all(&b.tmp);
    let report = b.report(&load_before, started.elapsed());
    println!("{report}");
    if let Some(out) = &b.o.out {
        if let Some(dir) = out.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match std::fs::write(out, &report) {
            Ok(()) => eprintln!("bench: table written to {}", out.display()),
            Err(e) => eprintln!("bench: cannot write {}: {e}", out.display()),
        }
    }
    for e in &b.errors {
        eprintln!("bench: FAILED: {e}");
    }
    println!("{} passed, {} failed", b.passed, b.failed);
    if b.failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn pool(tool: Tool, k: usize) -> String {
    match tool {
        Tool::Ours => format!("pool-o-{k}"),
        Tool::Kubectl => format!("pool-k-{k}"),
    }
}

fn fan(i: usize) -> String {
    format!("fan-{i:02}")
}

impl Bench {
    fn setup(&mut self) -> Result<Duration, String> {
        let mut pods: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for k in 0..self.o.runs {
            for t in [Tool::Ours, Tool::Kubectl] {
                pods.push((pool(t, k), vec![("role".into(), "pool".into())]));
            }
        }
        for t in ["o", "k"] {
            pods.push((format!("count-{t}"), vec![("role".into(), "count".into())]));
        }
        if self.o.rows.contains(&4) {
            let max = self.o.sizes.iter().copied().max().unwrap_or(0);
            for i in 0..max {
                let mut labels = vec![("app".to_owned(), "bench".to_owned())];
                for s in &self.o.sizes {
                    if i < *s {
                        labels.push((format!("n{s}"), "y".into()));
                    }
                }
                pods.push((fan(i), labels));
            }
        }
        eprintln!(
            "bench: creating {} pods in namespace {}",
            pods.len(),
            self.ns
        );
        self.c.create_pods(&self.ns, &pods)
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("KUBECONFIG".into(), self.c.kubeconfig.display().to_string()),
            (
                "KUBECTL_DISTROLESS_DEBUG_IMAGE".into(),
                self.c.toolbox_image.clone(),
            ),
            ("NO_COLOR".into(), "1".into()),
        ]
    }

    /// The plugin's command line; `fresh` asks for a new container where reuse exists.
    fn ours(&self, targets: &[&str], fresh: bool, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = vec![plugin().into(), "-n".into(), self.ns.clone()];
        v.extend(targets.iter().map(|s| (*s).to_owned()));
        v.extend([
            "--image".into(),
            self.c.toolbox_image.clone(),
            "--image-pull-policy".into(),
            "IfNotPresent".into(),
        ]);
        if fresh && self.f.reuse {
            v.push("--new".into());
        }
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    }

    /// `kubectl debug` with the same image, profile and target as ours.
    fn kubectl_debug(&self, pod: &str, flags: &[&str], cmd: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = vec![
            self.c.kubectl.display().to_string(),
            "--kubeconfig".into(),
            self.c.kubeconfig.display().to_string(),
            "debug".into(),
            "-n".into(),
            self.ns.clone(),
            format!("pod/{pod}"),
            "--target=app".into(),
            format!("--image={}", self.c.toolbox_image),
            "--image-pull-policy=IfNotPresent".into(),
            "--profile=general".into(),
        ];
        v.extend(flags.iter().map(|s| (*s).to_owned()));
        v.push("--".into());
        v.extend(cmd.iter().map(|s| (*s).to_owned()));
        v
    }

    fn rss_file(&mut self) -> PathBuf {
        self.seq += 1;
        self.tmp.join(format!("rss-{}", self.seq))
    }

    /// `argv` under `/usr/bin/time -f %M` when it exists (peak RSS in KiB).
    fn wrap(&self, argv: Vec<String>, rss: &Path) -> Vec<String> {
        match &self.time_bin {
            Some(t) => {
                let mut v = vec![
                    t.display().to_string(),
                    "-f".into(),
                    "%M".into(),
                    "-o".into(),
                    rss.display().to_string(),
                ];
                v.extend(argv);
                v
            }
            None => argv,
        }
    }

    /// Runs a command without a terminal, stdin empty, and times it.
    fn run(&mut self, argv: Vec<String>) -> Result<Ran, String> {
        let rss = self.rss_file();
        let argv = self.wrap(argv, &rss);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let t0 = Instant::now();
        let out = cmd.output().map_err(|e| format!("run {}: {e}", argv[0]))?;
        let wall = t0.elapsed();
        Ok(Ran {
            wall,
            out,
            rss_kib: read_rss(&rss),
        })
    }

    /// An interactive session in a PTY: launch → prompt, then (with `io`) TTY throughput and
    /// keystroke echo, then `exit`.
    fn session(&mut self, argv: Vec<String>, io: bool) -> Result<Session, String> {
        let rss = self.rss_file();
        let argv = self.wrap(argv, &rss);
        let launch = SystemTime::now();
        let t0 = Instant::now();
        let mut p = Pty::spawn(&argv, &self.env(), 30, 120)?;
        let at = p.expect_prompt(PROMPT_TIMEOUT)?;
        let mut s = Session {
            to_prompt: at - t0,
            launch_ns: unix_ns(launch),
            prompt_ns: unix_ns(launch) + i128::try_from((at - t0).as_nanos()).unwrap_or(0),
            ..Session::default()
        };
        p.send(b"echo BENCH-$((40+2))\r")?;
        p.expect("BENCH-42", STEP)?;
        if io {
            s.tput = Some(self.throughput(&mut p)?);
            s.echo = echo_latency(&mut p, self.o.keys)?;
        }
        p.send(b"\x15exit\r")?;
        let code = p.wait_exit(STEP)?;
        if code != 0 {
            return Err(format!(
                "exited with {code}; the terminal showed: {:?}",
                p.tail(400)
            ));
        }
        s.rss_kib = read_rss(&rss);
        Ok(s)
    }

    /// `cat` of a file of `tty_bytes` through the terminal; MiB/s, content verified.
    fn throughput(&self, p: &mut Pty) -> Result<f64, String> {
        let n = self.o.tty_bytes;
        p.send(
            format!("yes {LINE} | head -c {n} > /tmp/dd-bench-tty; echo MADE-$((2+3))\r")
                .as_bytes(),
        )?;
        p.expect("MADE-5", STEP)?;
        p.settle(Duration::from_millis(100));
        let start = p.cursor;
        let t0 = Instant::now();
        p.send(b"cat /tmp/dd-bench-tty; echo END-$((1+1))\r")?;
        let t1 = p.expect("END-2", Duration::from_secs(300))?;
        let seen = p.bytes(start, p.cursor - "END-2".len());
        let from = find(&seen, LINE.as_bytes()).ok_or("the file's content did not appear")?;
        let got: Vec<u8> = seen[from..]
            .iter()
            .copied()
            .filter(|&b| b != b'\r')
            .collect();
        let want = expected_file(n);
        if got != want {
            return Err(format!(
                "TTY output differs from the file: {} bytes received, {} expected (fnv {:016x} vs {:016x})",
                got.len(),
                want.len(),
                fnv(&got),
                fnv(&want)
            ));
        }
        p.send(b"rm -f /tmp/dd-bench-tty\r")?;
        p.settle(Duration::from_millis(100));
        Ok(n as f64 / f64::from(1 << 20) / (t1 - t0).as_secs_f64())
    }

    /// The debug containers a tool added to the pod, and when the cluster saw each step of it.
    fn floor(
        &self,
        pod: &str,
        before: &[String],
        audit_off: u64,
        ctrd_off: u64,
        s: &Session,
    ) -> Result<Floor, String> {
        let after = self.c.ephemeral_containers(&self.ns, pod);
        let new: Vec<&String> = after.iter().filter(|n| !before.contains(n)).collect();
        let [name] = new.as_slice() else {
            return Err(format!(
                "expected one new debug container in {pod}, found {new:?}"
            ));
        };
        // The audit log is written as requests complete; give it a moment.
        std::thread::sleep(Duration::from_millis(300));
        let reqs = audit_requests(
            &log_since(&self.c.audit_log, audit_off),
            &format!("/namespaces/{}/pods/{pod}/", self.ns),
        );
        let patch = reqs
            .iter()
            .find(|r| {
                r.verb == "patch"
                    && r.subresource == "ephemeralcontainers"
                    && r.received_ns >= s.launch_ns - 1_000_000
            })
            .ok_or("no PATCH of ephemeralcontainers in the audit log")?
            .received_ns;
        let stream = reqs
            .iter()
            .find(|r| {
                (r.subresource == "attach" || r.subresource == "exec") && r.received_ns >= patch
            })
            .map(|r| r.received_ns);
        let started = container_started_ns(&log_since(&self.c.containerd_log, ctrd_off), name)
            .ok_or_else(|| format!("containerd's log does not show {name} starting"))?;
        Ok(Floor {
            launch: s.launch_ns,
            patch,
            started,
            stream,
            prompt: s.prompt_ns,
        })
    }

    fn run_rows(&mut self) {
        if self.o.rows.contains(&1) {
            self.row_fresh();
        }
        if self.o.rows.contains(&2) {
            self.row_command(
                "2a",
                "one command `-- true`, launch → exit",
                &["true"],
                None,
            );
            let n = 1 << 20;
            let cmd = format!("yes {LINE} | head -c {n}");
            self.row_command(
                "2b",
                "one command printing 1 MiB (content verified), launch → exit",
                &["sh", "-c", &cmd],
                Some(&expected_file(n)),
            );
        }
        if self.o.rows.contains(&3) {
            self.row_reuse();
        }
        if self.o.rows.contains(&4) {
            let sizes = self.o.sizes.clone();
            for s in sizes {
                self.row_fanout(s);
            }
        }
        if self.o.rows.contains(&6) {
            self.row_requests();
        }
        if self.o.rows.contains(&7) {
            self.row_footprint();
        }
        if self.o.rows.contains(&8) {
            self.row_large_toolbox();
        }
        if self.o.rows.contains(&9) {
            self.row_fail_fast();
        }
        if self.o.rows.contains(&11) {
            self.row_cp();
        }
        if self.o.rows.contains(&12) {
            self.row_pull();
        }
        if self.o.rows.contains(&10) {
            for n in self.o.mem_pods.clone() {
                self.row_memory(n);
            }
        }
    }

    /// Row 11: `cp` of one file of `--cp-mib` MiB out of a distroless pod, against `kubectl cp`
    /// from a debug container that has `tar` (busybox's), through `/proc/1/root`: the workaround
    /// `cp` replaces, which works here because the debug container inherits the pod's user. Both
    /// tools find their container there (ours kept by an unmeasured first copy, kubectl's added
    /// once by `kubectl debug`); every copy's SHA-256 is compared with the pod's. Wall time and
    /// peak RSS, interleaved.
    fn row_cp(&mut self) {
        const POD: &str = "cp-src";
        const DEBUGGER: &str = "dd-bench-tar";
        let mib = self.o.cp_mib;
        let mut errs = Vec::new();
        let mut t: [Vec<f64>; 2] = [vec![], vec![]];
        let mut rss: [Vec<f64>; 2] = [vec![], vec![]];
        let yaml = format!(
            r"apiVersion: v1
kind: Pod
metadata: {{name: {POD}, namespace: {ns}}}
spec:
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  securityContext: {{runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532}}
  initContainers:
  - name: seed
    image: {toolbox}
    imagePullPolicy: Never
    command: [sh, -c, 'head -c {bytes} /dev/urandom >/data/big && sha256sum /data/big >/data/big.sha256']
    volumeMounts: [{{name: data, mountPath: /data}}]
  containers:
  - name: app
    image: {target}
    imagePullPolicy: Never
    securityContext: {{readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}}
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes: [{{name: data, emptyDir: {{}}}}]
",
            ns = self.ns,
            toolbox = self.c.toolbox_image,
            target = self.c.target_image,
            bytes = mib << 20,
        );
        let ready = self
            .c
            .kubectl_ok(&["apply", "-f", "-"], Some(&yaml))
            .and_then(|_| {
                self.c.kubectl_ok(
                    &[
                        "-n",
                        &self.ns,
                        "wait",
                        &format!("pod/{POD}"),
                        "--for=condition=Ready",
                        "--timeout=300s",
                    ],
                    None,
                )
            });
        // kubectl's debug container, added once and left running for its copies.
        let debugger = ready.and_then(|_| {
            let argv = self.kubectl_debug(
                POD,
                &[&format!("--container={DEBUGGER}")],
                &["sleep", "3600"],
            );
            let r = self.run(argv)?;
            if !r.out.status.success() {
                return Err(format!(
                    "kubectl debug: {}",
                    String::from_utf8_lossy(&r.out.stderr).trim()
                ));
            }
            // Without -i, kubectl debug returns once the container is added: wait for it.
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let state = self.c.kubectl(
                    &[
                        "-n",
                        &self.ns,
                        "get",
                        &format!("pod/{POD}"),
                        "-o",
                        &format!("jsonpath={{.status.ephemeralContainerStatuses[?(@.name==\"{DEBUGGER}\")].state.running}}"),
                    ],
                    None,
                );
                if !String::from_utf8_lossy(&state.stdout).trim().is_empty() {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(format!("{DEBUGGER} did not start within 120 s"));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        // The pod's checksum, read through our kept container, which this first copy adds.
        let want = debugger.and_then(|()| {
            let argv = self.ours(
                &[&format!("pod/{POD}")],
                false,
                &["-q", "--", "sh", "-c", "cat $TARGET_ROOT/data/big.sha256"],
            );
            let r = self.run(argv)?;
            let out = String::from_utf8_lossy(&r.out.stdout).into_owned();
            match out.split_whitespace().next() {
                Some(h) if r.out.status.success() && h.len() == 64 => Ok(h.to_owned()),
                _ => Err(format!(
                    "the pod's checksum: {out:?} {}",
                    String::from_utf8_lossy(&r.out.stderr).trim()
                )),
            }
        });
        match want {
            Err(e) => errs.push(e),
            Ok(want) => {
                let runs = self.o.runs.min(5);
                for k in 0..runs {
                    for tool in order(k) {
                        let local = self.tmp.join(format!("cp-{k}-{tool:?}"));
                        let argv = match tool {
                            Tool::Ours => self.ours(
                                &["cp", &format!("pod/{POD}:/data/big")],
                                false,
                                &["-q", &local.display().to_string()],
                            ),
                            Tool::Kubectl => vec![
                                self.c.kubectl.display().to_string(),
                                "--kubeconfig".into(),
                                self.c.kubeconfig.display().to_string(),
                                "cp".into(),
                                "-n".into(),
                                self.ns.clone(),
                                "-c".into(),
                                DEBUGGER.into(),
                                format!("{POD}:/proc/1/root/data/big"),
                                local.display().to_string(),
                            ],
                        };
                        let i = usize::from(tool == Tool::Kubectl);
                        match self.run(argv) {
                            Ok(r) if r.out.status.success() => {
                                let got = sha256_file(&local);
                                if got.as_deref() == Some(want.as_str()) {
                                    t[i].push(r.wall.as_secs_f64());
                                    rss[i].extend(r.rss_kib);
                                } else {
                                    errs.push(format!("{tool:?}: the copy's SHA-256 {got:?} is not the pod's {want}"));
                                }
                            }
                            Ok(r) => errs.push(format!(
                                "{tool:?}: exit {:?}: {}",
                                r.out.status.code(),
                                String::from_utf8_lossy(&r.out.stderr).trim()
                            )),
                            Err(e) => errs.push(e),
                        }
                        let _ = std::fs::remove_file(&local);
                    }
                }
            }
        }
        let _ = self.c.kubectl(
            &["-n", &self.ns, "delete", "pod", POD, "--wait=false"],
            None,
        );
        let ok = self.tally("11", &errs);
        let (a, b) = (Summary::of(&t[0]), Summary::of(&t[1]));
        let size = if mib >= 1024 && mib.is_multiple_of(1024) {
            format!("{} GiB", mib / 1024)
        } else {
            format!("{mib} MiB")
        };
        self.rows.push(Row {
            id: "11".into(),
            what: format!("`cp` of a {size} file out of the pod ÷ `kubectl cp` from a debug container with `tar`, wall time"),
            ours: if ok { show(a, secs) } else { "failed".into() },
            theirs: show(b, secs),
            ratio: rat(a, b),
            goal: String::new(),
            verdict: String::new(),
        });
        let (ra, rb) = (Summary::of(&rss[0]), Summary::of(&rss[1]));
        self.rows.push(Row {
            id: "11m".into(),
            what: format!("peak RSS of those copies of {size}"),
            ours: show(ra, mb),
            theirs: show(rb, mb),
            ratio: rat(ra, rb),
            goal: String::new(),
            verdict: String::new(),
        });
    }

    /// Row 10: the plugin's peak RSS running `-- true` over N pods through their kept
    /// containers (a runbook's second step), ours only: `kubectl debug` is one pod per process.
    /// The pods live in a namespace of their own, made and deleted here. Goals (product brief):
    /// ≤ 25 MB at 50 pods, ≤ 30 MB at 1,000.
    fn row_memory(&mut self, n: usize) {
        let id = format!("10·{n}");
        let what = format!("peak RSS, `-- true` over N = {n} pods through kept containers");
        let goal_mb = if n >= 1000 { 30.0 } else { 25.0 };
        let ns = format!("{}-mem{n}", self.ns);
        let mut errs = Vec::new();
        let mut rss = Vec::new();
        let pods: Vec<(String, Vec<(String, String)>)> = (0..n)
            .map(|i| {
                (
                    format!("mem-{i:04}"),
                    vec![("mem".to_owned(), "y".to_owned())],
                )
            })
            .collect();
        match self.c.create_pods(&ns, &pods) {
            Ok(d) => eprintln!("bench: 10 N={n}: pods ready in {}", secs(d.as_secs_f64())),
            Err(e) => errs.push(format!(
                "{n} pods: {e} (a single node takes DD_MAX_PODS pods, 250 by default)"
            )),
        }
        let runs = if n >= 500 { 1 } else { self.o.runs.min(3) };
        if errs.is_empty() {
            // The first pass adds the kept containers; the measured passes reuse them.
            for pass in 0..=runs {
                let mut argv: Vec<String> = vec![plugin().into(), "-n".into(), ns.clone()];
                argv.extend(
                    ["-l", "mem=y", "--image", &self.c.toolbox_image]
                        .iter()
                        .map(|s| (*s).to_owned()),
                );
                argv.extend(["-q", "-o", "jsonl", "--", "true"].map(str::to_owned));
                match self.run(argv) {
                    Ok(r) => {
                        let lines = r
                            .out
                            .stdout
                            .split(|b| *b == b'\n')
                            .filter(|l| !l.is_empty());
                        let results = lines.count();
                        if r.out.status.success() && results == n {
                            eprintln!(
                                "bench: 10 N={n} pass {pass}: {}, {}",
                                secs(r.wall.as_secs_f64()),
                                r.rss_kib.map_or("no RSS".into(), mb)
                            );
                            if pass > 0 {
                                rss.extend(r.rss_kib);
                            }
                        } else {
                            errs.push(format!(
                                "-- true over {n} pods: exit {:?}, {results} results; stderr: {}",
                                r.out.status.code(),
                                String::from_utf8_lossy(&r.out.stderr).trim()
                            ));
                            break;
                        }
                    }
                    Err(e) => {
                        errs.push(e);
                        break;
                    }
                }
            }
        }
        self.c.delete_namespace(&ns);
        let ok = self.tally(&id, &errs);
        let a = Summary::of(&rss);
        self.rows.push(Row {
            id,
            what,
            ours: if ok { show(a, mb) } else { "failed".into() },
            theirs: "–".into(),
            ratio: "–".into(),
            goal: format!("≤ {goal_mb} MB"),
            verdict: if self.time_bin.is_none() || a.is_none() {
                String::new()
            } else {
                verdict(a.is_some_and(|s| s.hi * 1024.0 <= goal_mb * 1e6))
            },
        });
    }

    /// Row 8: a fresh interactive session with a toolbox of more than 1,000 programs against
    /// one with a few hundred (busybox's applets), ours only, interleaved in the same pods.
    fn row_large_toolbox(&mut self) {
        let mut t: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut errs = Vec::new();
        let images = [
            self.c.large_toolbox_image.clone(),
            self.c.toolbox_image.clone(),
        ];
        for k in 0..self.o.runs {
            let pod = pool(Tool::Ours, k);
            for i in if k % 2 == 0 { [0, 1] } else { [1, 0] } {
                let mut argv = self.ours(&[&format!("pod/{pod}")], true, &[]);
                let at = argv.iter().position(|a| a == "--image").unwrap_or(0) + 1;
                argv[at].clone_from(&images[i]);
                match self.session(argv, false) {
                    Ok(s) => t[i].push(s.to_prompt),
                    Err(e) => errs.push(format!("toolbox {} in {pod}: {e}", images[i])),
                }
            }
        }
        let ok = self.tally("8", &errs);
        let (a, b) = (
            Summary::of(&t[0].iter().map(Duration::as_secs_f64).collect::<Vec<_>>()),
            Summary::of(&t[1].iter().map(Duration::as_secs_f64).collect::<Vec<_>>()),
        );
        let met = ok && matches!((a, b), (Some(a), Some(b)) if a.median <= 1.2 * b.median);
        self.rows.push(Row {
            id: "8".into(),
            what: "fresh session, launch → prompt: a toolbox of 1,000+ programs (ours) ÷ a small one (ours)".into(),
            ours: show(a, secs),
            theirs: show(b, secs),
            ratio: rat(a, b),
            goal: "≤ 1.2×".into(),
            verdict: verdict(met),
        });
    }

    /// Row 12: a fresh interactive session whose toolbox the node must pull first: the big
    /// toolbox (the small one plus a layer of 300 MB of incompressible data) from the test
    /// registry on loopback; ours against `kubectl debug -it` with the same image, interleaved.
    /// Each run has a pod of its own, deleted after it, and the image is removed from the node
    /// between runs (a container of the image, even stopped, keeps its layers: the next pull
    /// would download nothing). A run counts only if the kubelet's `Pulled` event says it
    /// pulled the image ("Successfully pulled"), not that it found it present.
    fn row_pull(&mut self) {
        let mut t: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut errs = Vec::new();
        let image = self.c.big_image.clone();
        for k in 0..self.o.runs {
            for tool in order(k) {
                if let Err(e) = self.pull_run(tool, k, &image, &mut t) {
                    errs.push(format!("{tool:?} run {k}: {e}"));
                }
            }
        }
        let ok = self.tally("12", &errs);
        self.push_time_row(
            "12",
            "fresh interactive session whose toolbox (300 MB more) the node pulls first from a registry on loopback, launch → prompt in a PTY",
            &t,
            ok,
            |_| (String::new(), String::new()),
        );
    }

    /// One run of row 12: a new pod, the image off the node, the session, the check that the
    /// kubelet really pulled, the pod deleted.
    fn pull_run(
        &mut self,
        tool: Tool,
        k: usize,
        image: &str,
        t: &mut [Vec<Duration>; 2],
    ) -> Result<(), String> {
        let pod = match tool {
            Tool::Ours => format!("pull-o-{k}"),
            Tool::Kubectl => format!("pull-k-{k}"),
        };
        self.c.create_pods(
            &self.ns,
            &[(pod.clone(), vec![("role".into(), "pull".into())])],
        )?;
        self.c.remove_image(image)?;
        let mut argv = match tool {
            Tool::Ours => self.ours(&[&format!("pod/{pod}")], true, &[]),
            Tool::Kubectl => self.kubectl_debug(&pod, &["-it"], &["sh"]),
        };
        for (i, a) in argv.clone().iter().enumerate() {
            if a.starts_with("--image=") {
                argv[i] = format!("--image={image}");
            } else if a == "--image" {
                image.clone_into(&mut argv[i + 1]);
            }
        }
        let session = self.session(argv, false);
        // The kubelet's word on the pull, read before the pod goes (events can lag a moment).
        let mut pulled = Vec::new();
        for _ in 0..25 {
            pulled = self.c.pulled_events(&self.ns, &pod, image)?;
            if !pulled.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.c.kubectl_ok(
            &[
                "-n",
                &self.ns,
                "delete",
                "pod",
                &pod,
                "--grace-period=1",
                "--wait=true",
                "--timeout=120s",
            ],
            None,
        )?;
        let s = session?;
        match pulled.as_slice() {
            [one] if one.starts_with("Successfully pulled") => {}
            other => {
                return Err(format!(
                    "the kubelet did not pull {image} for it: {other:?}"
                ));
            }
        }
        eprintln!(
            "bench: 12 fresh session with a pull {tool:?} run {k}: {} ({})",
            secs(s.to_prompt.as_secs_f64()),
            pulled[0]
        );
        t[tool as usize].push(s.to_prompt);
        Ok(())
    }

    /// Row 9: an image that cannot be pulled: the plugin's error, measured from the kubelet's
    /// first failure event (its `Failed`, as the API server received it, from the audit log) to
    /// the plugin's exit. `kubectl debug` waits on such a container without end
    /// (kubernetes#108135), so there is no ratio.
    fn row_fail_fast(&mut self) {
        let mut after: Vec<f64> = Vec::new();
        let mut errs = Vec::new();
        for k in 0..self.o.runs {
            let pod = pool(Tool::Ours, k);
            let mut argv = self.ours(&[&format!("pod/{pod}")], true, &["--", "true"]);
            let at = argv.iter().position(|a| a == "--image").unwrap_or(0) + 1;
            argv[at].clone_from(&self.c.missing_image);
            let before = self.c.ephemeral_containers(&self.ns, &pod);
            let off = log_offset(&self.c.audit_log);
            let ran = match self.run(argv) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(e);
                    continue;
                }
            };
            let ended = unix_ns(SystemTime::now());
            if ran.out.status.code() != Some(1) {
                errs.push(format!(
                    "exit {:?}, expected 1: {}",
                    ran.out.status.code(),
                    String::from_utf8_lossy(&ran.out.stderr)
                ));
                continue;
            }
            let new: Vec<String> = self
                .c
                .ephemeral_containers(&self.ns, &pod)
                .into_iter()
                .filter(|n| !before.contains(n))
                .collect();
            let [name] = new.as_slice() else {
                errs.push(format!("expected one new container, found {new:?}"));
                continue;
            };
            match self.first_failure_event_ns(&pod, name, off) {
                Some(failed) => {
                    // The plugin ended before `ended` was read: an upper bound, by microseconds.
                    after.push((ended - failed) as f64 / 1e9);
                }
                None => errs.push(format!("no Failed event of {name} in the audit log")),
            }
        }
        let ok = self.tally("9", &errs);
        let a = Summary::of(&after);
        self.rows.push(Row {
            id: "9".into(),
            what: "image that cannot be pulled: kubelet's first Failed event → plugin exits with the kubelet's message".into(),
            ours: show(a, secs),
            theirs: "waits forever".into(),
            ratio: String::new(),
            goal: "≤ 1 s".into(),
            verdict: verdict(ok && a.is_some_and(|s| s.median <= 1.0)),
        });
    }

    /// When the API server received the kubelet's first `Failed` event for container `name`:
    /// the event's name from the cluster, its creation from the audit log since `off`.
    fn first_failure_event_ns(&self, pod: &str, name: &str, off: u64) -> Option<i128> {
        let out = self.c.kubectl(
            &[
                "-n",
                &self.ns,
                "get",
                "events",
                "--field-selector",
                &format!(
                    "involvedObject.name={pod},involvedObject.fieldPath=spec.ephemeralContainers{{{name}}},reason=Failed"
                ),
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
            None,
        );
        let names = String::from_utf8_lossy(&out.stdout).to_string();
        let reqs = audit_requests(
            &log_since(&self.c.audit_log, off),
            &format!("/namespaces/{}/events", self.ns),
        );
        reqs.iter()
            .filter(|r| r.verb == "create" && names.split_whitespace().any(|n| n == r.name))
            .map(|r| r.received_ns)
            .min()
    }

    fn tally(&mut self, id: &str, errs: &[String]) -> bool {
        if errs.is_empty() {
            self.passed += 1;
            true
        } else {
            self.failed += 1;
            for e in errs {
                self.errors.push(format!("row {id}: {e}"));
            }
            false
        }
    }

    /// Rows 1 and 5: a fresh interactive session, launch → prompt; the kubelet floor; throughput
    /// and keystroke echo in the same sessions.
    fn row_fresh(&mut self) {
        let mut t: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut floors: [Vec<Floor>; 2] = [vec![], vec![]];
        let mut tput: [Vec<f64>; 2] = [vec![], vec![]];
        let mut echo: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut rss: [Vec<f64>; 2] = [vec![], vec![]];
        let mut errs = Vec::new();
        for k in 0..self.o.runs {
            for tool in order(k) {
                let pod = pool(tool, k);
                let argv = match tool {
                    Tool::Ours => self.ours(&[&format!("pod/{pod}")], true, &[]),
                    Tool::Kubectl => self.kubectl_debug(&pod, &["-it"], &["sh"]),
                };
                let before = self.c.ephemeral_containers(&self.ns, &pod);
                let (a, b) = (
                    log_offset(&self.c.audit_log),
                    log_offset(&self.c.containerd_log),
                );
                let i = tool as usize;
                match self.session(argv, self.o.rows.contains(&5)) {
                    Ok(s) => {
                        eprintln!(
                            "bench: 1 fresh session {tool:?} run {k}: {}",
                            secs(s.to_prompt.as_secs_f64())
                        );
                        match self.floor(&pod, &before, a, b, &s) {
                            Ok(f) => floors[i].push(f),
                            Err(e) => self
                                .notes
                                .push(format!("kubelet floor, {tool:?} run {k}: {e}")),
                        }
                        t[i].push(s.to_prompt);
                        tput[i].extend(s.tput);
                        echo[i].extend(s.echo);
                        rss[i].extend(s.rss_kib);
                    }
                    Err(e) => errs.push(format!("{tool:?} fresh session in {pod}: {e}")),
                }
            }
        }
        let ok = self.tally("1", &errs);
        self.push_time_row(
            "1",
            "fresh interactive session, launch → prompt in a PTY",
            &t,
            ok,
            |r| ("≤ 0.25×".into(), verdict(r <= 0.25)),
        );
        // The floor: PATCH received by the apiserver → container started by containerd.
        let fl = |fs: &Vec<Floor>| {
            fs.iter()
                .map(|f| (f.started - f.patch) as f64 / 1e9)
                .collect::<Vec<_>>()
        };
        let over = |fs: &Vec<Floor>| {
            fs.iter()
                .map(|f| (f.prompt - f.launch - (f.started - f.patch)) as f64 / 1e9)
                .collect::<Vec<_>>()
        };
        if !floors[0].is_empty() && !floors[1].is_empty() {
            let (f0, f1) = (Summary::of(&fl(&floors[0])), Summary::of(&fl(&floors[1])));
            self.rows.push(Row {
                id: "1f".into(),
                what: "kubelet floor: PATCH received → container started (containerd)".into(),
                ours: show(f0, secs),
                theirs: show(f1, secs),
                ratio: rat(f0, f1),
                goal: String::new(),
                verdict: String::new(),
            });
            let (o0, o1) = (
                Summary::of(&over(&floors[0])),
                Summary::of(&over(&floors[1])),
            );
            let met = o0.is_some_and(|s| s.median <= 0.030);
            self.rows.push(Row {
                id: "1o".into(),
                what: "overhead above the floor (time to prompt − floor)".into(),
                ours: show(o0, secs),
                theirs: show(o1, secs),
                ratio: rat(o0, o1),
                goal: "≤ 30 ms".into(),
                verdict: verdict(met),
            });
            for (i, name) in ["distroless-debug", "kubectl debug"].iter().enumerate() {
                let part = |g: &dyn Fn(&Floor) -> Option<i128>| {
                    let v: Vec<f64> = floors[i]
                        .iter()
                        .filter_map(g)
                        .map(|x| x as f64 / 1e9)
                        .collect();
                    show(Summary::of(&v), secs)
                };
                self.notes.push(format!(
                    "Fresh session, where the time goes ({name}, medians): launch → PATCH received {}; PATCH → container started {}; started → attach/exec request {}; attach/exec request → prompt {}.",
                    part(&|f| Some(f.patch - f.launch)),
                    part(&|f| Some(f.started - f.patch)),
                    part(&|f| f.stream.map(|s| s - f.started)),
                    part(&|f| f.stream.map(|s| f.prompt - s)),
                ));
            }
        }
        if self.o.rows.contains(&5) && ok {
            let (a, b) = (Summary::of(&tput[0]), Summary::of(&tput[1]));
            self.rows.push(Row {
                id: "5".into(),
                what: format!(
                    "TTY throughput, `cat` of {} (verified), fresh session",
                    mib((self.o.tty_bytes / 1024) as f64)
                ),
                ours: show(a, mib_per_s),
                theirs: show(b, mib_per_s),
                ratio: rat(a, b),
                goal: "≥ kubectl attach".into(),
                verdict: verdict(matches!((a, b), (Some(a), Some(b)) if a.median >= b.median)),
            });
            self.passed += 1;
            self.push_echo("5e", "keystroke echo latency, fresh session", &echo);
        }
        self.rss_row("7r", "peak RSS, fresh interactive session", &rss);
    }

    fn push_echo(&mut self, id: &str, what: &str, echo: &[Vec<Duration>; 2]) {
        let pq = |v: &Vec<Duration>| {
            let mut s: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
            s.sort_by(f64::total_cmp);
            if s.is_empty() {
                return ("–".to_owned(), 0.0);
            }
            let p50 = stats::percentile(&s, 0.5);
            (
                format!(
                    "p50 {}, p99 {} (n={})",
                    secs(p50),
                    secs(stats::percentile(&s, 0.99)),
                    s.len()
                ),
                p50,
            )
        };
        let ((a, a50), (b, b50)) = (pq(&echo[0]), pq(&echo[1]));
        self.rows.push(Row {
            id: id.into(),
            what: what.into(),
            ours: a,
            theirs: b,
            ratio: ratio(a50, b50),
            goal: String::new(),
            verdict: String::new(),
        });
        self.passed += 1;
    }

    fn rss_row(&mut self, id: &str, what: &str, rss: &[Vec<f64>; 2]) {
        if !self.o.rows.contains(&7)
            || self.time_bin.is_none()
            || rss[0].is_empty()
            || rss[1].is_empty()
        {
            return;
        }
        let (a, b) = (Summary::of(&rss[0]), Summary::of(&rss[1]));
        self.rows.push(Row {
            id: id.into(),
            what: what.into(),
            ours: show(a, mb),
            theirs: show(b, mb),
            ratio: rat(a, b),
            goal: "≤ 25 MB".into(),
            verdict: verdict(a.is_some_and(|s| s.hi * 1024.0 <= 25e6)),
        });
    }

    fn push_time_row(
        &mut self,
        id: &str,
        what: &str,
        t: &[Vec<Duration>; 2],
        ok: bool,
        goal: impl Fn(f64) -> (String, String),
    ) {
        let (a, b) = (Summary::of_durations(&t[0]), Summary::of_durations(&t[1]));
        let (g, v) = match (a, b) {
            (Some(a), Some(b)) => goal(a.median / b.median),
            _ => (String::new(), String::new()),
        };
        self.rows.push(Row {
            id: id.into(),
            what: what.into(),
            ours: if ok || a.is_some() {
                show(a, secs)
            } else {
                "failed".into()
            },
            theirs: show(b, secs),
            ratio: rat(a, b),
            goal: g,
            verdict: v,
        });
    }

    /// Row 2: one non-interactive command, launch → exit, stdout checked.
    fn row_command(&mut self, id: &'static str, what: &str, cmd: &[&str], want: Option<&[u8]>) {
        let mut t: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut rss: [Vec<f64>; 2] = [vec![], vec![]];
        let mut errs = Vec::new();
        for k in 0..self.o.runs {
            for tool in order(k) {
                let pod = pool(tool, k);
                let argv = match tool {
                    Tool::Ours => {
                        let mut extra = vec!["-q", "--"];
                        extra.extend(cmd);
                        self.ours(&[&format!("pod/{pod}")], true, &extra)
                    }
                    Tool::Kubectl => self.kubectl_debug(&pod, &["-q", "-i"], cmd),
                };
                match self.run(argv) {
                    Ok(r) => {
                        let good = r.out.status.success() && want.is_none_or(|w| r.out.stdout == w);
                        if good {
                            t[tool as usize].push(r.wall);
                            rss[tool as usize].extend(r.rss_kib);
                        } else {
                            errs.push(format!(
                                "{tool:?} in {pod}: exit {:?}, {} bytes of stdout{}; stderr: {}",
                                r.out.status.code(),
                                r.out.stdout.len(),
                                want.map(|w| format!(" ({} expected)", w.len()))
                                    .unwrap_or_default(),
                                String::from_utf8_lossy(&r.out.stderr).trim()
                            ));
                        }
                    }
                    Err(e) => errs.push(format!("{tool:?}: {e}")),
                }
            }
        }
        let ok = self.tally(id, &errs);
        self.push_time_row(id, what, &t, ok, |_| (String::new(), String::new()));
        if want.is_some() {
            self.rss_row("7c", "peak RSS, one command printing 1 MiB", &rss);
        }
    }

    /// Row 3: a second session into a pod that already has a live debug container of ours
    /// (left by row 2) or kubectl's; ours should exec into it.
    fn row_reuse(&mut self) {
        let what = "second interactive session into the same pod, launch → prompt";
        if !self.f.reuse {
            self.rows.push(Row {
                id: "3".into(),
                what: what.into(),
                ours: "not available yet".into(),
                theirs: String::new(),
                ratio: String::new(),
                goal: "≥ 10× faster".into(),
                verdict: "not available yet".into(),
            });
            return;
        }
        let mut t: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut tput: [Vec<f64>; 2] = [vec![], vec![]];
        let mut echo: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut errs = Vec::new();
        let mut tc: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut cerrs = Vec::new();
        let mut added = 0;
        for k in 0..self.o.runs {
            for tool in order(k) {
                let pod = pool(tool, k);
                if tool == Tool::Ours
                    && self
                        .c
                        .running_ephemeral_containers(&self.ns, &pod)
                        .is_empty()
                {
                    // Row 2 did not run (row 1's shells end with their containers): make the
                    // first session now, a command, which keeps its container (not timed).
                    let argv = self.ours(&[&format!("pod/{pod}")], true, &["-q", "--", "true"]);
                    let _ = self.run(argv);
                }
                let before = self.c.ephemeral_containers(&self.ns, &pod);
                let argv = match tool {
                    Tool::Ours => self.ours(&[&format!("pod/{pod}")], false, &[]),
                    Tool::Kubectl => self.kubectl_debug(&pod, &["-it"], &["sh"]),
                };
                match self.session(argv, self.o.rows.contains(&5)) {
                    Ok(s) => {
                        eprintln!(
                            "bench: 3 second session {tool:?} run {k}: {}",
                            secs(s.to_prompt.as_secs_f64())
                        );
                        if tool == Tool::Ours
                            && self.c.ephemeral_containers(&self.ns, &pod).len() > before.len()
                        {
                            added += 1;
                        }
                        t[tool as usize].push(s.to_prompt);
                        tput[tool as usize].extend(s.tput);
                        echo[tool as usize].extend(s.echo);
                    }
                    Err(e) => errs.push(format!("{tool:?} second session in {pod}: {e}")),
                }
                // And a command into the same pod: ours execs, kubectl debug adds a container.
                let argv = match tool {
                    Tool::Ours => self.ours(&[&format!("pod/{pod}")], false, &["-q", "--", "true"]),
                    Tool::Kubectl => self.kubectl_debug(&pod, &["-q", "-i"], &["true"]),
                };
                match self.run(argv) {
                    Ok(r) if r.out.status.success() => tc[tool as usize].push(r.wall),
                    Ok(r) => cerrs.push(format!(
                        "{tool:?} second command in {pod}: exit {:?}; stderr: {}",
                        r.out.status.code(),
                        String::from_utf8_lossy(&r.out.stderr).trim()
                    )),
                    Err(e) => cerrs.push(e),
                }
            }
        }
        let ok = self.tally("3", &errs);
        self.push_time_row("3", what, &t, ok, |r| {
            ("≥ 10× faster".into(), verdict(r <= 0.1))
        });
        let cok = self.tally("3c", &cerrs);
        self.push_time_row(
            "3c",
            "second command `-- true` into the same pod, launch → exit",
            &tc,
            cok,
            |r| ("≥ 10× faster".into(), verdict(r <= 0.1)),
        );
        if added > 0 {
            self.notes.push(format!(
                "Row 3: in {added} of {} runs ours added a container instead of reusing one.",
                self.o.runs
            ));
        } else {
            self.notes.push("Row 3: ours reused the live debug container (exec) in every run; kubectl debug added a new container each time.".into());
        }
        if self.o.rows.contains(&5) && ok {
            let (a, b) = (Summary::of(&tput[0]), Summary::of(&tput[1]));
            self.rows.push(Row {
                id: "5r".into(),
                what: format!(
                    "TTY throughput, `cat` of {} (verified), second session (ours: exec)",
                    mib((self.o.tty_bytes / 1024) as f64)
                ),
                ours: show(a, mib_per_s),
                theirs: show(b, mib_per_s),
                ratio: rat(a, b),
                goal: "≥ kubectl attach".into(),
                verdict: verdict(matches!((a, b), (Some(a), Some(b)) if a.median >= b.median)),
            });
            self.passed += 1;
            self.push_echo(
                "5s",
                "keystroke echo latency, second session (ours: exec)",
                &echo,
            );
        }
    }

    /// Row 4: one command over N pods: ours in one invocation with a selector, kubectl debug in
    /// a sequential loop. Every pod's hostname must come back.
    fn row_fanout(&mut self, n: usize) {
        let id = format!("4·{n}");
        let what = format!(
            "one command over N = {n} pods (`-l`), launch → exit; kubectl: sequential loop"
        );
        if !self.f.fanout {
            self.rows.push(Row {
                id: id.clone(),
                what,
                ours: "not available yet".into(),
                theirs: String::new(),
                ratio: String::new(),
                goal: if n >= 50 {
                    "≥ 10× faster".into()
                } else {
                    String::new()
                },
                verdict: "not available yet".into(),
            });
            return;
        }
        let runs = if n >= 50 {
            self.o.big_runs
        } else {
            self.o.runs
        };
        let pods: Vec<String> = (0..n).map(fan).collect();
        let mut t: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut rss: [Vec<f64>; 2] = [vec![], vec![]];
        let mut errs = Vec::new();
        let mut reused: Vec<Duration> = Vec::new();
        let max = self.o.sizes.iter().copied().max().unwrap_or(0);
        for k in 0..runs {
            for tool in order(k) {
                match tool {
                    Tool::Ours => {
                        // Fresh (--new), then, for the largest N, again reusing what the
                        // fresh run left (a runbook's second step).
                        let sel = format!("app=bench,n{n}=y");
                        let passes: &[bool] = if n == max && self.f.reuse {
                            &[true, false]
                        } else {
                            &[true]
                        };
                        for &fresh in passes {
                            let argv = self.ours(&["-l", &sel], fresh, &["-q", "--", "hostname"]);
                            match self.run(argv) {
                                Ok(r) => {
                                    let out = String::from_utf8_lossy(&r.out.stdout);
                                    let missing: Vec<&String> =
                                        pods.iter().filter(|p| !out.contains(p.as_str())).collect();
                                    if r.out.status.success() && missing.is_empty() {
                                        eprintln!(
                                            "bench: 4 N={n} ours{} run {k}: {}",
                                            if fresh { "" } else { " reused" },
                                            secs(r.wall.as_secs_f64())
                                        );
                                        if fresh {
                                            t[0].push(r.wall);
                                            rss[0].extend(r.rss_kib);
                                        } else {
                                            reused.push(r.wall);
                                        }
                                    } else {
                                        errs.push(format!(
                                            "ours over {n} pods: exit {:?}, missing {missing:?}; stderr: {}",
                                            r.out.status.code(),
                                            String::from_utf8_lossy(&r.out.stderr).trim()
                                        ));
                                    }
                                }
                                Err(e) => errs.push(e),
                            }
                        }
                    }
                    Tool::Kubectl => {
                        let t0 = Instant::now();
                        let mut ok = true;
                        let mut peak: f64 = 0.0;
                        for p in &pods {
                            let argv = self.kubectl_debug(p, &["-q", "-i"], &["hostname"]);
                            match self.run(argv) {
                                Ok(r)
                                    if r.out.status.success()
                                        && String::from_utf8_lossy(&r.out.stdout)
                                            .contains(p.as_str()) =>
                                {
                                    peak = peak.max(r.rss_kib.unwrap_or(0.0));
                                }
                                Ok(r) => {
                                    ok = false;
                                    errs.push(format!(
                                        "kubectl debug {p}: exit {:?}; stderr: {}",
                                        r.out.status.code(),
                                        String::from_utf8_lossy(&r.out.stderr).trim()
                                    ));
                                }
                                Err(e) => {
                                    ok = false;
                                    errs.push(e);
                                }
                            }
                        }
                        if ok {
                            eprintln!(
                                "bench: 4 N={n} kubectl loop run {k}: {}",
                                secs(t0.elapsed().as_secs_f64())
                            );
                            t[1].push(t0.elapsed());
                            if peak > 0.0 {
                                rss[1].push(peak);
                            }
                        }
                    }
                }
            }
        }
        let ok = self.tally(&id, &errs);
        let big = n >= 50;
        self.push_time_row(&id, &what, &t, ok, |r| {
            if big {
                ("≥ 10× faster".into(), verdict(r <= 0.1))
            } else {
                (String::new(), String::new())
            }
        });
        if !reused.is_empty() {
            let reused = [reused, t[1].clone()];
            self.push_time_row(
                &format!("4·{n}r"),
                &format!("the same over N = {n} pods again, ours reusing its containers (exec)"),
                &reused,
                ok,
                |r| {
                    if big {
                        ("≥ 10× faster".into(), verdict(r <= 0.1))
                    } else {
                        (String::new(), String::new())
                    }
                },
            );
        }
        if n == max {
            self.rss_row(
                "7f",
                &format!("peak RSS, one command over N = {n} pods (kubectl: one debug)"),
                &rss,
            );
        }
    }

    /// Row 6: API requests of one fresh interactive session, from the audit log. Each session
    /// impersonates a user of its own (with system:masters), so other clients' requests do not
    /// count.
    fn row_requests(&mut self) {
        let mut n: [Vec<f64>; 2] = [vec![], vec![]];
        let mut lists: [String; 2] = [String::new(), String::new()];
        let mut errs = Vec::new();
        for k in 0..self.o.count_runs {
            for tool in order(k) {
                let user = format!(
                    "dd-bench-{}-{}-{k}",
                    std::process::id(),
                    if tool == Tool::Ours { "o" } else { "k" }
                );
                let who = ["--as", user.as_str(), "--as-group", "system:masters"];
                let argv = match tool {
                    Tool::Ours => self.ours(&["pod/count-o"], true, &who),
                    Tool::Kubectl => {
                        let mut v = vec!["-it"];
                        v.extend(who);
                        self.kubectl_debug("count-k", &v, &["sh"])
                    }
                };
                let off = log_offset(&self.c.audit_log);
                match self.session(argv, false) {
                    Ok(_) => {
                        std::thread::sleep(Duration::from_millis(500));
                        let reqs: Vec<Request> =
                            audit_requests(&log_since(&self.c.audit_log, off), &user)
                                .into_iter()
                                .filter(|r| r.impersonated == user)
                                .collect();
                        n[tool as usize].push(reqs.len() as f64);
                        lists[tool as usize] =
                            reqs.iter().map(describe).collect::<Vec<_>>().join(", ");
                    }
                    Err(e) => errs.push(format!("{tool:?} session for counting: {e}")),
                }
            }
        }
        let ok = self.tally("6", &errs);
        let (a, b) = (Summary::of(&n[0]), Summary::of(&n[1]));
        self.rows.push(Row {
            id: "6".into(),
            what: "API requests per fresh interactive session (audit log)".into(),
            ours: if ok || a.is_some() {
                show(a, count)
            } else {
                "failed".into()
            },
            theirs: show(b, count),
            ratio: rat(a, b),
            goal: "≤ 4".into(),
            verdict: verdict(a.is_some_and(|s| s.median <= 4.0)),
        });
        self.notes.push(format!(
            "Requests of a fresh session, distroless-debug: {}.",
            lists[0]
        ));
        self.notes.push(format!(
            "Requests of a fresh session, kubectl debug -it (discovery cache warm): {}.",
            lists[1]
        ));
    }

    /// Row 7: binary size and `--version` start time (peak RSS rows come from rows 1, 2, 4).
    fn row_footprint(&mut self) {
        let size = |p: &Path| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64);
        let (a, b) = (size(Path::new(plugin())), size(&self.c.kubectl));
        self.rows.push(Row {
            id: "7b".into(),
            what: "binary size (this build; kubectl: the cluster's)".into(),
            ours: format!("{:.1} MB", a / 1e6),
            theirs: format!("{:.1} MB", b / 1e6),
            ratio: ratio(a, b),
            goal: "≤ 12 MB".into(),
            verdict: verdict(a > 0.0 && a <= 12e6),
        });
        self.passed += 1;
        let mut t: [Vec<Duration>; 2] = [vec![], vec![]];
        let mut errs = Vec::new();
        for k in 0..self.o.version_runs {
            for tool in order(k) {
                let mut cmd = match tool {
                    Tool::Ours => {
                        let mut c = Command::new(plugin());
                        c.arg("--version");
                        c
                    }
                    Tool::Kubectl => {
                        let mut c = Command::new(&self.c.kubectl);
                        c.args(["version", "--client"]);
                        c
                    }
                };
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                let t0 = Instant::now();
                match cmd.status() {
                    Ok(s) if s.success() => t[tool as usize].push(t0.elapsed()),
                    Ok(s) => errs.push(format!("{tool:?} --version: {s}")),
                    Err(e) => errs.push(format!("{tool:?} --version: {e}")),
                }
            }
        }
        let ok = self.tally("7v", &errs);
        self.push_time_row(
            "7v",
            "`--version` start time (kubectl: `version --client`)",
            &t,
            ok,
            |_| (String::new(), String::new()),
        );
        if let Some(r) = self.rows.last_mut() {
            r.goal = "≤ 5 ms".into();
            let s = Summary::of_durations(&t[0]);
            r.verdict = verdict(s.is_some_and(|s| s.median <= 0.005));
        }
    }

    fn report(&self, load_before: &str, took: Duration) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "## distroless-debug vs kubectl debug ({} run)\n",
            if self.o.full { "full" } else { "smoke" }
        );
        let _ = writeln!(
            s,
            "Median with spread (min–max under 10 samples, p10–p90 from 10), ratio = ours ÷ kubectl's median from the same run; runs interleaved A B / B A. {} runs per comparison{}.\n",
            self.o.runs,
            if self.o.sizes.iter().any(|&n| n >= 50) {
                format!(", {} for N ≥ 50", self.o.big_runs)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "| # | Measurement | distroless-debug | kubectl | ours ÷ kubectl | Goal | Goal met |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        // Table order: by comparison number, in the order measured within one.
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| r.id.chars().next());
        for r in rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.id, r.what, r.ours, r.theirs, r.ratio, r.goal, r.verdict
            );
        }
        let _ = writeln!(s);
        for n in &self.notes {
            let _ = writeln!(s, "- {n}");
        }
        let _ = writeln!(s, "\nMachine: {}", machine(&self.c));
        let _ = writeln!(
            s,
            "Load average (1, 5, 15 min) before: {load_before}; after: {}. Took {}.",
            loadavg(),
            secs(took.as_secs_f64())
        );
        s
    }
}

fn describe(r: &Request) -> String {
    let path = r.uri.split('?').next().unwrap_or_default();
    let res = if r.resource.is_empty() {
        path.to_owned()
    } else if r.subresource.is_empty() {
        r.resource.clone()
    } else {
        format!("{}/{}", r.resource, r.subresource)
    };
    format!("{} {res}", r.verb)
}

fn machine(c: &Cluster) -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let server = c
        .kubectl_ok(&["version", "-o", "json"], None)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["serverVersion"]["gitVersion"].as_str().map(str::to_owned))
        .unwrap_or_default();
    format!(
        "Linux {}, {cpus} × {model}, Kubernetes {server} (kubectl {server} from the same source).",
        kernel.trim()
    )
}

/// The SHA-256 of a local file, as `sha256sum` prints it.
fn sha256_file(path: &Path) -> Option<String> {
    let out = Command::new("sha256sum").arg(path).output().ok()?;
    let out = String::from_utf8_lossy(&out.stdout);
    out.split_whitespace().next().map(str::to_owned)
}

fn read_rss(path: &Path) -> Option<f64> {
    let s = std::fs::read_to_string(path).ok()?;
    s.lines().rev().find_map(|l| l.trim().parse::<f64>().ok())
}

fn show(s: Option<Summary>, unit: fn(f64) -> String) -> String {
    s.map_or_else(|| "–".into(), |s| s.show(unit))
}

fn rat(a: Option<Summary>, b: Option<Summary>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => ratio(a.median, b.median),
        _ => "–".into(),
    }
}

fn verdict(met: bool) -> String {
    if met {
        "met".into()
    } else {
        "**missed**".into()
    }
}

/// `yes LINE | head -c n`, as the remote side makes it.
fn expected_file(n: usize) -> Vec<u8> {
    let line = format!("{LINE}\n");
    line.as_bytes().iter().copied().cycle().take(n).collect()
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Types one key at a time and times until the remote shell echoes it; the line is cleared
/// every 20 keys.
fn echo_latency(p: &mut Pty, keys: usize) -> Result<Vec<Duration>, String> {
    let mut out = Vec::with_capacity(keys);
    p.settle(Duration::from_millis(100));
    for i in 0..keys {
        if i > 0 && i % 20 == 0 {
            p.send(b"\x15")?;
            p.settle(Duration::from_millis(100));
        }
        let ch = [b'a' + u8::try_from(i % 20).unwrap_or(0)];
        let t0 = Instant::now();
        p.send(&ch)?;
        let seen = p.expect(
            std::str::from_utf8(&ch).unwrap_or("a"),
            Duration::from_secs(10),
        )?;
        out.push(seen - t0);
    }
    p.send(b"\x15")?;
    p.settle(Duration::from_millis(100));
    Ok(out)
}
