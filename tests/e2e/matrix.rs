//! The debug shell in the pods and toolbox images users have: every target shape (T1-T7) ×
//! every toolbox layout (B1-B7, tests/images/README.md), on the real cluster, through a real
//! PTY as a person types, with defaults (T7 aside: a restricted namespace needs
//! `--profile restricted`).
//!
//! In each cell: a fresh interactive session (the debug container ends with it), a command
//! (`-- CMD`, which leaves a kept container), an interactive session that reuses that kept
//! container, and a script piped to a shell in it. The interactive sessions type one line of
//! checks; each check that holds prints `R:NAME:42` (the `42` is computed, so the echo of the
//! typed line never counts). What each cell shows is compared with docs/compatibility.md, which
//! is written from this run with `DD_UPDATE_COMPAT=1` (never by hand); a cell that loses a check
//! fails, and so does one that gains one until the table says so.
//!
//! Cost: one pod per target, the first cell of a target alone (it may add the probe container
//! of a target whose user the API does not report), the other six in parallel.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Namespace, PLUGIN, Pty, cluster, plugin_env, text};

/// The checks typed into each interactive session, in order: name, and a shell test that
/// succeeds when the check holds. They run in the toolbox's own shell, with the toolbox's
/// programs, as a user would type them.
const CHECKS: &[(&str, &str)] = &[
    // The target's processes.
    ("ps", "ps -e -o pid,args | grep -q '[/]target'"),
    // Its config file by its in-image path, relative to the working directory (the target's
    // root), and through $TARGET_ROOT.
    (
        "cwd-file",
        "grep -q secret-config-ok etc/target/config.yaml",
    ),
    (
        "root-file",
        "grep -q secret-config-ok \"$TARGET_ROOT/etc/target/config.yaml\"",
    ),
    // Its environment.
    ("env", "target_env | grep -q '^TARGET_GREETING=hello$'"),
    // Its listening sockets.
    (
        "sockets",
        "{ ss -tln 2>/dev/null || netstat -tln; } | grep -q ':9090 '",
    ),
    // Its localhost-only port, with the toolbox's nc.
    (
        "localhost",
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 127.0.0.1 9090 | grep -q secret-localhost-ok",
    ),
    // Tracing it, for a second (what strace said goes on the screen when it did not attach).
    // Not with `timeout`: busybox's leaves its watchdog behind as an orphan of the target's PID 1
    // (see assert_untouched).
    (
        "strace",
        "o=$({ strace -p \"$TARGET_PID\" -e trace=none -o /dev/null & sleep 1; kill $!; wait $!; } 2>&1); case $o in *attached*) ;; *) echo \"strace: $o\" | head -3; false ;; esac",
    ),
    // pidof, ip: the programs named, doing what they do (pidof must not signal anything).
    ("pidof", "[ \"$(pidof target)\" = \"$TARGET_PID\" ]"),
    ("ip", "ip addr | grep -q 'inet '"),
    // TARGET_PID is the target's main process, whatever the pod shares.
    ("pid", "[ \"$(cat /proc/$TARGET_PID/comm)\" = target ]"),
];

/// The line typed into a session: each check, then a marker that all ran.
fn check_line() -> String {
    let mut line = String::new();
    for (name, test) in CHECKS {
        line.push_str(&format!("{{ {test}; }} && echo R:{name}:$((6*7)); "));
    }
    line.push_str("echo R:done:$((6*7))");
    line
}

/// The checks a session's screen shows as holding.
fn passed(screen: &str) -> BTreeSet<&'static str> {
    CHECKS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| screen.contains(&format!("R:{name}:42")))
        .collect()
}

/// A target shape.
struct Target {
    id: &'static str,
    what: &'static str,
    /// The Pod Security level its namespace enforces.
    level: Option<&'static str>,
    /// Extra plugin flags (only T7's profile).
    flags: &'static [&'static str],
    yaml: fn(ns: &str) -> String,
}

const APP: &str = "    env:\n    - {name: APP_ENV, value: e2e}\n";

fn pod(ns: &str, spec: &str, containers: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  namespace: {ns}\n  annotations: {{kubectl.kubernetes.io/default-container: app}}\nspec:\n  terminationGracePeriodSeconds: 1\n  automountServiceAccountToken: false\n{spec}  containers:\n{containers}"
    )
}

fn app(image: &str, security: &str) -> String {
    format!("  - name: app\n    image: {image}\n    imagePullPolicy: Never\n{APP}{security}")
}

const TARGETS: &[Target] = &[
    Target {
        id: "T1",
        what: "root, writable root filesystem",
        level: None,
        flags: &[],
        yaml: |ns| pod(ns, "", &app(&root_image(), "")),
    },
    Target {
        id: "T2",
        what: "root, read-only root filesystem",
        level: None,
        flags: &[],
        yaml: |ns| {
            pod(
                ns,
                "",
                &app(
                    &root_image(),
                    "    securityContext: {readOnlyRootFilesystem: true}\n",
                ),
            )
        },
    },
    Target {
        id: "T3",
        what: "non-root, user and group from the image (runAsNonRoot, runAsUser, no runAsGroup)",
        level: None,
        flags: &[],
        yaml: |ns| {
            pod(
                ns,
                "  securityContext: {runAsNonRoot: true, runAsUser: 65532}\n",
                &app(&cluster().target_image, ""),
            )
        },
    },
    Target {
        id: "T4",
        what: "non-root with runAsUser and runAsGroup",
        level: None,
        flags: &[],
        yaml: |ns| {
            pod(
                ns,
                "  securityContext: {runAsNonRoot: true, runAsUser: 1001, runAsGroup: 2002}\n",
                &app(&cluster().target_image, ""),
            )
        },
    },
    Target {
        id: "T5",
        what: "an arbitrary UID with group 0 (the OpenShift convention)",
        level: None,
        flags: &[],
        yaml: |ns| {
            pod(
                ns,
                "  securityContext: {runAsNonRoot: true, runAsUser: 1000680000}\n",
                &app(&root_image(), ""),
            )
        },
    },
    Target {
        id: "T6",
        what: "shareProcessNamespace, a sidecar started first",
        level: None,
        flags: &[],
        yaml: |ns| {
            pod(
                ns,
                "  shareProcessNamespace: true\n",
                &format!(
                    "  - name: side\n    image: {}\n    imagePullPolicy: Never\n    command: [sleep, '3600']\n{}",
                    cluster().toolbox_image,
                    app(&root_image(), "")
                ),
            )
        },
    },
    Target {
        id: "T7",
        what: "restricted Pod Security level, --profile restricted, group from the image",
        level: Some("restricted"),
        flags: &["--profile", "restricted"],
        yaml: |ns| {
            pod(
                ns,
                "  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}\n",
                &app(
                    &cluster().target_image,
                    "    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n",
                ),
            )
        },
    },
];

fn root_image() -> String {
    std::env::var("DD_TARGET_ROOT_IMAGE")
        .expect("DD_TARGET_ROOT_IMAGE is not set: start the tests with tests/run.sh")
}

/// The toolboxes, as `DD_TOOLBOXES` lists them (`B1=REF B2=REF ...`).
pub fn toolboxes() -> Vec<(String, String)> {
    let all = std::env::var("DD_TOOLBOXES")
        .expect("DD_TOOLBOXES is not set: start the tests with tests/run.sh");
    let list: Vec<(String, String)> = all
        .split_whitespace()
        .filter_map(|t| t.split_once('='))
        .map(|(id, image)| (id.to_owned(), image.to_owned()))
        .collect();
    assert_eq!(list.len(), 7, "seven toolbox layouts: {all}");
    list
}

const START: Duration = Duration::from_secs(120);
const STEP: Duration = Duration::from_secs(60);

/// What one session showed.
struct Seen {
    checks: BTreeSet<&'static str>,
    screen: String,
}

/// An interactive session in a PTY: waits for the shell, types the checks, exits with 7. The
/// checks run under `tracing`: a process can have one tracer at a time, so the cells of a
/// target, which run in parallel, take turns.
fn interactive(ns: &str, image: &str, flags: &[&str], reuse: bool, tracing: &Mutex<()>) -> Seen {
    let mut args = vec!["-n", ns, "pod/t", "--image", image];
    args.extend_from_slice(flags);
    let mut pty = Pty::spawn(Path::new(PLUGIN), &args, &plugin_env(), (40, 200));
    pty.expect("distroless-debug: target container \"app\"", START);
    {
        let _turn = tracing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pty.send_line(&check_line());
        pty.expect("R:done:42", STEP);
    }
    pty.send_line("exit 7");
    let exit = pty.wait(STEP);
    assert_eq!(
        exit.code, 7,
        "the shell's exit code; screen:\n{}",
        exit.screen
    );
    assert_eq!(
        exit.screen.contains("Reusing debug container"),
        reuse,
        "reused: {reuse}; screen:\n{}",
        exit.screen
    );
    Seen {
        checks: passed(&exit.screen),
        screen: exit.screen,
    }
}

/// One cell: the four sessions; returns what the fresh and the reused interactive ones showed.
fn cell(target: &Target, ns: &str, image: &str, tracing: &Mutex<()>) -> (Seen, Seen) {
    let fresh = interactive(ns, image, target.flags, false, tracing);
    let env = plugin_env();
    let mut args = vec!["-n", ns, "pod/t", "--image", image];
    args.extend_from_slice(target.flags);
    // A command: its output and exit code, exactly.
    let mut command = args.clone();
    command.extend_from_slice(&[
        "--",
        "sh",
        "-c",
        "grep '^secret' \"$TARGET_ROOT/etc/target/config.yaml\"; exit 3",
    ]);
    let out = crate::harness::run_plugin(&command, &env);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "secret: secret-config-ok\n");
    // A shell in the container that command left, then a script piped to one.
    let reused = interactive(ns, image, target.flags, true, tracing);
    let mut cmd = std::process::Command::new(PLUGIN);
    cmd.args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the plugin runs");
    std::io::Write::write_all(
        child.stdin.as_mut().expect("stdin"),
        b"cat \"$TARGET_ROOT/etc/target/config.yaml\" | grep -c secret-config-ok\nexit 4\n",
    )
    .expect("write the script");
    drop(child.stdin.take());
    let piped = child.wait_with_output().expect("the plugin ends");
    assert_eq!(piped.status.code(), Some(4), "{}", text(&piped.stderr));
    assert_eq!(text(&piped.stdout), "1\n");
    assert!(text(&piped.stderr).contains("Reusing debug container"));
    (fresh, reused)
}

/// The target is untouched: its containers never restarted and still run, and no process of
/// ours is left in its process table (no zombie under its PID 1, nothing of ours running), as a
/// last command sees it.
fn assert_untouched(target: &Target, ns: &str) {
    let pod = cluster().pod_json(ns, "t");
    for c in pod["status"]["containerStatuses"]
        .as_array()
        .expect("statuses")
    {
        assert_eq!(c["restartCount"], 0, "{c}");
        assert!(c["state"]["running"].is_object(), "{c}");
    }
    let mut args = vec!["-n", ns, "pod/t"];
    args.extend_from_slice(target.flags);
    args.extend_from_slice(&["--", "ps", "-e", "-o", "stat,args"]);
    let out = crate::harness::run_plugin(&args, &plugin_env());
    let ps = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A left shell or tool of a session (not this command's own session script).
    let ours = ps
        .lines()
        .filter_map(|l| l.trim_start().split_once(char::is_whitespace))
        .map(|(_, args)| args.trim_start())
        .filter(|args| {
            ["sh -i", "timeout", "strace"]
                .iter()
                .any(|p| args.starts_with(p))
        })
        .count();
    assert_eq!(ours, 0, "a session's process is left:\n{ps}");
    assert!(
        !ps.lines().any(|l| l.trim_start().starts_with('Z')),
        "a zombie in the target's process table:\n{ps}"
    );
}

/// How a cell reads in the table: `all`, or the checks it misses.
fn describe(seen: &BTreeSet<&'static str>) -> String {
    let missing: Vec<&str> = CHECKS
        .iter()
        .map(|(name, _)| *name)
        .filter(|n| !seen.contains(n))
        .collect();
    if missing.is_empty() {
        "all".to_owned()
    } else {
        format!("all but {}", missing.join(", "))
    }
}

const TABLE: &str = "docs/compatibility.md";

/// Compares the row of `target` with the table in docs/compatibility.md, or writes it there
/// with `DD_UPDATE_COMPAT=1`.
fn check_row(target: &Target, cells: &[(String, String)]) {
    static DOC: Mutex<()> = Mutex::new(());
    let _one_at_a_time = DOC
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TABLE);
    let doc = std::fs::read_to_string(&path).expect("docs/compatibility.md");
    let mut row = format!("| {} | {} |", target.id, target.what);
    for (_, c) in cells {
        row.push_str(&format!(" {c} |"));
    }
    let prefix = format!("| {} |", target.id);
    let current = doc.lines().find(|l| l.starts_with(&prefix));
    if std::env::var_os("DD_UPDATE_COMPAT").is_some() {
        let updated = match current {
            Some(old) => doc.replace(old, &row),
            None => panic!("{TABLE} has no row for {}", target.id),
        };
        std::fs::write(&path, updated).expect("write docs/compatibility.md");
        return;
    }
    assert_eq!(
        current,
        Some(row.as_str()),
        "{TABLE} does not say what this run shows for {} (rerun with DD_UPDATE_COMPAT=1 and review the diff)",
        target.id
    );
}

fn run_target(id: &str) {
    let target = TARGETS.iter().find(|t| t.id == id).expect("a target");
    let ns = Namespace::new(&format!("matrix-{}", id.to_lowercase()), target.level);
    cluster().apply(&(target.yaml)(&ns.name));
    cluster().wait_ready(&ns.name, "t");
    let boxes = toolboxes();
    let tracing = Mutex::new(());
    // The first cell alone: it adds the probe container where one is needed, once.
    let mut results = vec![(
        boxes[0].0.clone(),
        cell(target, &ns.name, &boxes[0].1, &tracing),
    )];
    let rest: Vec<(String, (Seen, Seen))> = std::thread::scope(|s| {
        let handles: Vec<_> = boxes[1..]
            .iter()
            .map(|(b, image)| {
                let (ns, b, tracing) = (&ns.name, b.clone(), &tracing);
                s.spawn(move || (b, cell(target, ns, image, tracing)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a cell"))
            .collect()
    });
    results.extend(rest);
    assert_untouched(target, &ns.name);
    let pod = cluster().pod_json(&ns.name, "t");
    let probes = count_probes(&pod);
    assert!(probes <= 1, "at most one probe container per pod: {probes}");
    // A runtime that reports the target's user (containerd 2: containerStatuses[].user) makes
    // the probe needless; containerd 1.6 does not report it.
    let reported = !pod["status"]["containerStatuses"][0]["user"]["linux"].is_null();
    if reported {
        assert_eq!(
            probes, 0,
            "{id}: a probe although the runtime reports the user"
        );
    }
    if id == "T3" {
        // The GID is in neither the spec nor (on containerd 1.6) the status: one probe there,
        // none where the runtime reports it.
        let runtime = cluster().kubectl_ok(
            &[
                "get",
                "nodes",
                "-o",
                "jsonpath={.items[0].status.nodeInfo.containerRuntimeVersion}",
            ],
            None,
        );
        let major: u32 = runtime
            .trim()
            .strip_prefix("containerd://")
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("a containerd version: {runtime:?}"));
        assert_eq!(
            (reported, probes),
            if major >= 2 { (true, 0) } else { (false, 1) },
            "T3 on {}: (user reported, probes)",
            runtime.trim()
        );
    }
    let mut cells = Vec::new();
    for (b, (fresh, reused)) in &results {
        // A reused session shows what a fresh one shows.
        assert_eq!(
            fresh.checks, reused.checks,
            "{id} × {b}: fresh and reused sessions differ; fresh:\n{}\nreused:\n{}",
            fresh.screen, reused.screen
        );
        cells.push((b.clone(), describe(&fresh.checks)));
    }
    cells.sort();
    check_row(target, &cells);
}

fn count_probes(pod: &Value) -> usize {
    pod["spec"]["ephemeralContainers"]
        .as_array()
        .map_or(0, |all| {
            all.iter()
                .filter(|c| {
                    c["env"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|v| v["name"] == "DISTROLESS_DEBUG_PROBE"))
                })
                .count()
        })
}

#[test]
fn t1_root_writable() {
    run_target("T1");
}

#[test]
fn t2_root_read_only() {
    run_target("T2");
}

#[test]
fn t3_non_root_group_from_the_image() {
    run_target("T3");
}

#[test]
fn t4_non_root_user_and_group_in_the_spec() {
    run_target("T4");
}

#[test]
fn t5_arbitrary_uid_group_0() {
    run_target("T5");
}

#[test]
fn t6_shared_process_namespace() {
    run_target("T6");
}

#[test]
fn t7_restricted() {
    run_target("T7");
}
