//! `cp` (issue 16): files out of and into distroless containers, on the real cluster, with the
//! built binary, asserting what the user sees: the target's config out; 1 GiB out and back with
//! matching checksums, in flat memory (the peak RSS is printed for the record); a tree whose
//! links point outside the target's root, which must never reach the toolbox's files; a write
//! refused on a read-only root and accepted on a writable volume; non-root and root targets
//! and the owner of what is written; bad paths and missing files with their exit codes; every
//! toolbox layout of DD_TOOLBOXES; and nothing left running when the client is killed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::faults::wait_until;
use crate::harness::{Namespace, PLUGIN, cluster, plugin_env, run_plugin, text};

/// The target's own /etc/passwd (tests/images/target/etc/passwd): what a link to /etc/passwd
/// in the target must give; the toolboxes' have another root line.
const TARGET_PASSWD_ROOT: &str = "root:x:0:0:root:/root:/sbin/nologin\n";

/// A local directory of one test, removed at its end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dd-e2e-cp-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn s(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The seeded tree of the data volume: odd names, a mode and a time to keep, and links out of
/// the tree: absolute, climbing past the root, to a file only the toolbox has, to a directory.
const SEED: &str = r#"set -e
mkdir -p /data/tree/sub
printf 'hello\n' >/data/tree/a.txt
chmod 640 /data/tree/a.txt
touch -d '2021-02-03 04:05:06' /data/tree/a.txt
printf 'deep\n' >/data/tree/sub/d
printf 'x y\n' >'/data/tree/sp ace'
printf 'nl' >"/data/tree/new
line"
printf 'utf-8\n' >/data/tree/grüße
ln -s /etc/passwd /data/tree/abs
ln -s ../../../../../../../../../etc/passwd /data/tree/up
ln -s /bin/busybox /data/tree/toolbox-only
ln -s /etc/target /data/tree/dirlink
mkdir /data/incoming
"#;

/// A pod of the distroless target with a writable volume at /data seeded with [`SEED`] (plus
/// `extra_seed`): `security` is the pod's securityContext, `container` the target's.
fn pod_yaml(
    ns: &str,
    name: &str,
    image: &str,
    security: &str,
    container: &str,
    extra_seed: &str,
) -> String {
    let c = cluster();
    // A literal block: the script's lines (and the newline in a file name) stay as written.
    let seed: String = format!("{SEED}{extra_seed}")
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("      {l}\n")
            }
        })
        .collect();
    format!(
        r"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
spec:
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  securityContext: {security}
  initContainers:
  - name: seed
    image: {toolbox}
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - |
{seed}    volumeMounts: [{{name: data, mountPath: /data}}]
  containers:
  - name: app
    image: {image}
    imagePullPolicy: Never
    securityContext: {container}
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes: [{{name: data, emptyDir: {{}}}}]
",
        toolbox = c.toolbox_image,
    )
}

/// The distroless target as the harness runs it: UID 65532, runAsNonRoot, read-only root.
fn non_root_pod(ns: &Namespace, name: &str, extra_seed: &str) {
    let c = cluster();
    c.apply(&pod_yaml(
        &ns.name,
        name,
        &c.target_image,
        "{runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532}",
        "{readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}",
        extra_seed,
    ));
    c.wait_ready(&ns.name, name);
}

fn cp(args: &[&str]) -> Output {
    let mut all = vec!["cp"];
    all.extend_from_slice(args);
    run_plugin(&all, &plugin_env())
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

fn failed(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

/// A command in the pod's kept debug container; its stdout.
fn in_pod(ns: &str, pod: &str, script: &str) -> String {
    let out = run_plugin(
        &["-n", ns, pod, "-q", "--", "sh", "-c", script],
        &plugin_env(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{script}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[cfg(unix)]
fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

fn mtime_of(p: &Path) -> u64 {
    std::fs::metadata(p)
        .expect("metadata")
        .modified()
        .expect("mtime")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

fn sha256_of(p: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    text(&out.stdout)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn cp_the_targets_config_out() {
    let ns = Namespace::new("cp-config", None);
    ns.target_pod("t");
    let dir = Scratch::new("config");
    let out = cp(&["-n", &ns.name, "pod/t:/etc/target/config.yaml", &dir.s("")]);
    let stderr = ok(&out);
    let local = dir.path("config.yaml");
    let got = std::fs::read_to_string(&local).expect("the copy");
    assert!(got.contains("secret: secret-config-ok"), "{got}");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains("Copied pod/t/app:/etc/target/config.yaml to ")
            && stderr.contains("1 file, ")
            && stderr.contains("SHA-256 checked"),
        "{stderr}"
    );
    // On a pipe: no progress line.
    assert!(!stderr.contains('\r'), "{stderr:?}");
    // The image's mode and time (tests/images/build.sh: 0644, the epoch).
    #[cfg(unix)]
    assert_eq!(mode_of(&local), 0o644);
    assert_eq!(mtime_of(&local), 0);

    // Again, to a name of its own: the kept container is reused.
    let out = cp(&[
        "-n",
        &ns.name,
        "pod/t:/etc/target/config.yaml",
        &dir.s("again.yaml"),
    ]);
    assert!(ok(&out).contains("Reusing debug container"));
    assert_eq!(
        std::fs::read_to_string(dir.path("again.yaml")).unwrap(),
        got
    );

    // `-` is a tar archive on stdout.
    let out = cp(&["-q", "-n", &ns.name, "pod/t:/etc/target", "-"]);
    assert_eq!(failed(&out, 0), "");
    let mut archive = tar::Archive::new(&out.stdout[..]);
    let mut names = Vec::new();
    for e in archive.entries().expect("a tar archive") {
        let mut e = e.expect("an entry");
        let name = text(&e.path_bytes());
        if name == "target/config.yaml" {
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            assert_eq!(body, got);
        }
        names.push(name);
    }
    assert_eq!(names, ["target", "target/config.yaml"]);
}

/// Peak RSS in MiB of `argv` run under GNU time (its figure kept in `dir`), its output and how
/// long it took.
fn measured(argv: &[&str], stdin: Option<&Path>, dir: &Scratch) -> (Output, f64, Duration) {
    let rss = dir.path("rss");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", "-o"])
        .arg(&rss)
        .arg(PLUGIN)
        .args(argv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match stdin {
        Some(p) => cmd.stdin(std::fs::File::open(p).expect("stdin file")),
        None => cmd.stdin(Stdio::null()),
    };
    for (k, v) in plugin_env() {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd
        .output()
        .expect("GNU time (tests/cluster/install-deps.sh installs it)");
    let took = started.elapsed();
    let kib: f64 = std::fs::read_to_string(&rss)
        .expect("GNU time's output")
        .trim()
        .parse()
        .expect("peak RSS in KiB");
    let _ = std::fs::remove_file(&rss);
    (out, kib / 1024.0, took)
}

/// Processes of a copy still running in the pod (the copy script's, by the name it runs
/// under): their /proc/PID/cmdline files, read in the pod's kept debug container. `ps` would
/// cut the long command line before the name; `c[p]` keeps the grep from finding itself.
fn copies_running(ns: &str, pod: &str) -> Vec<String> {
    in_pod(
        ns,
        pod,
        "grep -l 'distroless-debug-c[p]' /proc/[0-9]*/cmdline 2>/dev/null; true",
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// How long a copy may take to start or end in the pod after the client acts.
const BOUND: Duration = Duration::from_secs(60);

#[test]
#[allow(clippy::print_stderr)] // the figures, for the record (`--nocapture` shows them)
fn cp_one_gib_out_and_back_with_matching_checksums_in_flat_memory() {
    let ns = Namespace::new("cp-gib", None);
    non_root_pod(
        &ns,
        "t",
        "dd if=/dev/urandom of=/data/big bs=1048576 count=1024 2>/dev/null\nsha256sum /data/big >/data/big.sha256\n",
    );
    let dir = Scratch::new("gib");
    let in_pod_sha = in_pod(&ns.name, "pod/t", "cat $TARGET_ROOT/data/big.sha256");
    let in_pod_sha = in_pod_sha.split(' ').next().unwrap_or_default().to_owned();
    assert_eq!(in_pod_sha.len(), 64, "{in_pod_sha}");

    let local = dir.path("big");
    let (out, rss_out, took_out) = measured(
        &["cp", "-n", &ns.name, "pod/t:/data/big", &dir.s("big")],
        None,
        &dir,
    );
    let stderr = ok(&out);
    assert!(stderr.contains("1 file, 1.0 GiB"), "{stderr}");
    assert_eq!(std::fs::metadata(&local).unwrap().len(), 1 << 30);
    assert_eq!(sha256_of(&local), in_pod_sha, "out of the pod");

    let (out, rss_in, took_in) = measured(
        &[
            "cp",
            "-n",
            &ns.name,
            &dir.s("big"),
            "pod/t:/data/incoming/big.back",
        ],
        None,
        &dir,
    );
    let stderr = ok(&out);
    assert!(
        stderr.contains("to pod/t/app:/data/incoming/big.back"),
        "{stderr}"
    );
    let back = in_pod(
        &ns.name,
        "pod/t",
        "sha256sum $TARGET_ROOT/data/incoming/big.back",
    );
    assert_eq!(
        back.split(' ').next(),
        Some(in_pod_sha.as_str()),
        "back in the pod"
    );

    // Flat memory: the peak RSS of a 1 GiB copy stays far below its size (its buffers are a few
    // MiB; the rest is the binary and the client).
    for (way, rss) in [("out", rss_out), ("in", rss_in)] {
        assert!(rss < 64.0, "peak RSS copying 1 GiB {way}: {rss:.1} MiB");
    }
    let mibs = |d: Duration| 1024.0 / d.as_secs_f64();
    eprintln!(
        "cp 1 GiB: out {:.1} s ({:.0} MiB/s, peak RSS {rss_out:.1} MiB), in {:.1} s ({:.0} MiB/s, peak RSS {rss_in:.1} MiB), whole runs including the container's reuse",
        took_out.as_secs_f64(),
        mibs(took_out),
        took_in.as_secs_f64(),
        mibs(took_in)
    );

    // The client killed in the middle of a copy out: the copy ends in the pod (its stdin is its
    // lease), and leaves no process behind. The archive goes to a pipe nobody reads, so the
    // copy is held up, not finished, when the client is killed.
    let mut child = spawn_cp(
        &["-q", "-n", &ns.name, "pod/t:/data/big", "-"],
        Stdio::null(),
        Stdio::piped(),
    );
    wait_until("a copy under way in the pod", BOUND, || {
        !copies_running(&ns.name, "pod/t").is_empty()
    });
    child.kill().expect("kill -9");
    let _ = child.wait();
    wait_until("the copy ends in the pod", BOUND, || {
        copies_running(&ns.name, "pod/t").is_empty()
    });

    // The client killed in the middle of a copy in: the partial file is removed in the pod. The
    // archive on its stdin announces 1 GiB and stops after 1 MiB, so the copy cannot finish.
    let mut child = spawn_cp(
        &["-q", "-n", &ns.name, "-", "pod/t:/data/incoming/killed"],
        Stdio::piped(),
        Stdio::null(),
    );
    let mut stdin = child.stdin.take().expect("stdin");
    let mut header = tar::Header::new_ustar();
    header.set_path("f").unwrap();
    header.set_size(1 << 30);
    header.set_mode(0o644);
    header.set_cksum();
    stdin.write_all(header.as_bytes()).unwrap();
    stdin.write_all(&vec![7u8; 1 << 20]).unwrap();
    stdin.flush().unwrap();
    let listing = || in_pod(&ns.name, "pod/t", "ls -aR $TARGET_ROOT/data/incoming");
    wait_until("a copy in under way", BOUND, || {
        listing().contains(".distroless-debug-")
    });
    child.kill().expect("kill -9");
    let _ = child.wait();
    drop(stdin);
    wait_until("the partial file is removed", BOUND, || {
        !listing().contains(".distroless-debug-") && copies_running(&ns.name, "pod/t").is_empty()
    });
    assert!(
        !listing().contains("\nf\n"),
        "a partial file is never put in place"
    );
}

/// The plugin's `cp ARGS` with the given stdin and stdout, stderr dropped.
fn spawn_cp(args: &[&str], stdin: Stdio, stdout: Stdio) -> std::process::Child {
    let mut cmd = Command::new(PLUGIN);
    cmd.arg("cp")
        .args(args)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::null());
    for (k, v) in plugin_env() {
        cmd.env(k, v);
    }
    cmd.spawn().expect("the plugin runs")
}

#[test]
fn cp_a_tree_keeps_its_links_and_never_reaches_outside_the_target() {
    let ns = Namespace::new("cp-tree", None);
    non_root_pod(&ns, "t", "");
    let dir = Scratch::new("tree");
    let stderr = ok(&cp(&["-n", &ns.name, "pod/t:/data/tree", &dir.s("")]));
    assert!(stderr.contains("5 files"), "{stderr}");
    let tree = dir.path("tree");
    assert_eq!(
        std::fs::read_to_string(tree.join("a.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(tree.join("sub/d")).unwrap(),
        "deep\n"
    );
    assert_eq!(
        std::fs::read_to_string(tree.join("sp ace")).unwrap(),
        "x y\n"
    );
    assert_eq!(
        std::fs::read_to_string(tree.join("new\nline")).unwrap(),
        "nl"
    );
    assert_eq!(
        std::fs::read_to_string(tree.join("grüße")).unwrap(),
        "utf-8\n"
    );
    #[cfg(unix)]
    assert_eq!(mode_of(&tree.join("a.txt")), 0o640);
    // 2021-02-03 04:05:06 in the seed container's time zone (UTC).
    assert_eq!(mtime_of(&tree.join("a.txt")), 1_612_325_106);
    // Links below the path are copied as links, as written, and never read through.
    for (link, to) in [
        ("abs", "/etc/passwd"),
        ("up", "../../../../../../../../../etc/passwd"),
        ("toolbox-only", "/bin/busybox"),
        ("dirlink", "/etc/target"),
    ] {
        let p = tree.join(link);
        assert!(
            std::fs::symlink_metadata(&p)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{link}"
        );
        assert_eq!(std::fs::read_link(&p).unwrap(), Path::new(to), "{link}");
    }

    // A link as the path is followed within the target's root: / is the target's, .. stops at
    // it, and what only the toolbox has is not there.
    for link in ["abs", "up"] {
        let out = cp(&[
            "-q",
            "-n",
            &ns.name,
            &format!("pod/t:/data/tree/{link}"),
            &dir.s(link),
        ]);
        ok(&out);
        let got = std::fs::read_to_string(dir.path(link)).unwrap();
        assert!(got.starts_with(TARGET_PASSWD_ROOT), "{link} gave:\n{got}");
    }
    let out = cp(&[
        "-q",
        "-n",
        &ns.name,
        "pod/t:/data/tree/dirlink/config.yaml",
        &dir.s("c"),
    ]);
    ok(&out);
    assert!(
        std::fs::read_to_string(dir.path("c"))
            .unwrap()
            .contains("secret-config-ok")
    );
    let out = cp(&[
        "-n",
        &ns.name,
        "pod/t:/data/tree/toolbox-only",
        &dir.s("bb"),
    ]);
    let stderr = failed(&out, 1);
    assert!(
        stderr.contains(
            "error: no such file or directory in container \"app\" of pod \"t\": /bin/busybox"
        ),
        "{stderr}"
    );
    assert!(!dir.path("bb").exists());

    // Into the pod, nothing is written through a link: a directory of the copy that is a link
    // in the target is refused.
    std::fs::create_dir_all(dir.path("put/dirlink")).unwrap();
    std::fs::write(dir.path("put/dirlink/x"), "x").unwrap();
    let out = cp(&["-n", &ns.name, &dir.s("put/dirlink"), "pod/t:/data/tree/"]);
    let stderr = failed(&out, 1);
    assert!(
        stderr.contains("/data/tree/dirlink in container \"app\" of pod \"t\" is a symbolic link"),
        "{stderr}"
    );
}

#[test]
fn cp_into_a_read_only_root_is_refused_and_a_volume_takes_it() {
    let ns = Namespace::new("cp-ro", None);
    non_root_pod(&ns, "t", "");
    let dir = Scratch::new("ro");
    std::fs::write(dir.path("note.txt"), "from the laptop\n").unwrap();
    let out = cp(&["-n", &ns.name, &dir.s("note.txt"), "pod/t:/etc/"]);
    let stderr = failed(&out, 1);
    assert!(
        stderr.contains(
            "error: cannot write to /etc in container \"app\" of pod \"t\": it is on a read-only file system"
        ) && stderr.contains("hint: the writable mounts of container \"app\": /data;"),
        "{stderr}"
    );
    let out = cp(&["-n", &ns.name, &dir.s("note.txt"), "pod/t:/data/incoming/"]);
    let stderr = ok(&out);
    assert!(
        stderr.contains("to pod/t/app:/data/incoming/note.txt: 1 file, 16 B"),
        "{stderr}"
    );
    // The target's own user owns it (the debug container runs as that user here).
    let ls = in_pod(
        &ns.name,
        "pod/t",
        "cat $TARGET_ROOT/data/incoming/note.txt; stat -c '%u:%g %a' $TARGET_ROOT/data/incoming/note.txt",
    );
    assert_eq!(ls, "from the laptop\n65532:65532 644\n");
}

#[test]
fn cp_root_and_other_user_targets_own_what_is_written() {
    let ns = Namespace::new("cp-users", None);
    let c = cluster();
    let root_image = std::env::var("DD_TARGET_ROOT_IMAGE").expect("DD_TARGET_ROOT_IMAGE");
    // A root target with a writable root filesystem: the debug container is root too.
    c.apply(&pod_yaml(&ns.name, "root", &root_image, "{}", "{}", ""));
    // A target whose user only its container names: the debug container runs as root, and
    // gives what it writes to the target's user.
    c.apply(&pod_yaml(
        &ns.name,
        "other",
        &root_image,
        "{}",
        "{runAsUser: 1001, runAsGroup: 2002}",
        "",
    ));
    c.wait_ready(&ns.name, "root");
    c.wait_ready(&ns.name, "other");
    let dir = Scratch::new("users");
    std::fs::create_dir_all(dir.path("conf/d")).unwrap();
    std::fs::write(dir.path("conf/d/f"), "f\n").unwrap();
    ok(&cp(&["-q", "-n", &ns.name, &dir.s("conf"), "pod/root:/"]));
    assert_eq!(
        in_pod(
            &ns.name,
            "pod/root",
            "cd $TARGET_ROOT/conf && stat -c '%u:%g %n' . d d/f && cat d/f"
        ),
        "0:0 .\n0:0 d\n0:0 d/f\nf\n"
    );
    ok(&cp(&[
        "-q",
        "-n",
        &ns.name,
        &dir.s("conf"),
        "pod/other:/data/incoming",
    ]));
    assert_eq!(
        in_pod(
            &ns.name,
            "pod/other",
            "cd $TARGET_ROOT/data/incoming/conf && stat -c '%u:%g %n' . d d/f"
        ),
        "1001:2002 .\n1001:2002 d\n1001:2002 d/f\n"
    );
    // And out of both.
    ok(&cp(&[
        "-q",
        "-n",
        &ns.name,
        "pod/other:/data/incoming/conf/d/f",
        &dir.s("back"),
    ]));
    assert_eq!(std::fs::read_to_string(dir.path("back")).unwrap(), "f\n");
}

#[test]
fn cp_bad_paths_and_missing_files_say_so_with_their_exit_codes() {
    let ns = Namespace::new("cp-bad", None);
    ns.target_pod("t");
    let dir = Scratch::new("bad");
    let n = ns.name.as_str();
    for (args, code, want) in [
        (
            vec!["pod/t:/etc/nope.yaml".to_owned(), dir.s("")],
            1,
            "error: no such file or directory in container \"app\" of pod \"t\": /etc/nope.yaml\nhint: paths are absolute",
        ),
        (
            vec!["pod/t:/etc/target/config.yaml/x".to_owned(), dir.s("")],
            1,
            "error: not a directory in container \"app\" of pod \"t\": /etc/target/config.yaml",
        ),
        (
            vec!["pod/t:etc/target/config.yaml".to_owned(), dir.s("")],
            2,
            "the path in the pod must be absolute",
        ),
        (
            vec!["pod/nope:/etc/x".to_owned(), dir.s("")],
            1,
            "error: pod \"nope\" not found",
        ),
        (
            vec![dir.s("missing.txt"), "pod/t:/tmp/".to_owned()],
            1,
            "missing.txt: No such file or directory",
        ),
        (
            vec![
                "pod/t:/etc/target/config.yaml".to_owned(),
                dir.s("no/such/dir/x"),
            ],
            1,
            "no/such/dir",
        ),
        (
            vec![dir.s("a"), dir.s("b")],
            2,
            "cp needs one side in a pod",
        ),
    ] {
        let mut all = vec!["-n", n];
        all.extend(args.iter().map(String::as_str));
        let stderr = failed(&cp(&all), code);
        assert!(stderr.contains(want), "{args:?}:\n{stderr}");
    }
    // Nothing was left behind where the copy failed.
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

/// The toolboxes, as `DD_TOOLBOXES` lists them.
fn toolboxes() -> Vec<(String, String)> {
    std::env::var("DD_TOOLBOXES")
        .expect("DD_TOOLBOXES is not set: start the tests with tests/run.sh")
        .split_whitespace()
        .filter_map(|t| t.split_once('='))
        .map(|(id, image)| (id.to_owned(), image.to_owned()))
        .collect()
}

#[test]
fn cp_works_with_every_toolbox_layout() {
    let ns = Namespace::new("cp-toolboxes", None);
    non_root_pod(&ns, "t", "");
    let boxes = toolboxes();
    assert_eq!(boxes.len(), 7, "seven toolbox layouts");
    let dir = Scratch::new("toolboxes");
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path("payload"), &payload).unwrap();
    std::thread::scope(|s| {
        for (id, image) in &boxes {
            let (ns, dir, payload) = (&ns.name, &dir, &payload);
            s.spawn(move || {
                let run = |args: &[&str]| {
                    let mut all = vec!["cp", "-q", "-n", ns, "--image", image];
                    all.extend_from_slice(args);
                    run_plugin(&all, &plugin_env())
                };
                let out = run(&["pod/t:/data/tree", &dir.s(id)]);
                assert_eq!(out.status.code(), Some(0), "{id}: {}", text(&out.stderr));
                let tree = dir.path(id);
                assert_eq!(
                    std::fs::read_to_string(tree.join("new\nline")).unwrap(),
                    "nl",
                    "{id}"
                );
                // Names are counted in bytes by every shell, whatever its locale.
                assert_eq!(
                    std::fs::read_to_string(tree.join("grüße")).unwrap(),
                    "utf-8\n",
                    "{id}"
                );
                assert_eq!(
                    std::fs::read_link(tree.join("up")).unwrap(),
                    Path::new("../../../../../../../../../etc/passwd"),
                    "{id}"
                );
                let out = run(&["pod/t:/data/tree/up", &dir.s(&format!("{id}.passwd"))]);
                assert_eq!(out.status.code(), Some(0), "{id}: {}", text(&out.stderr));
                let got = std::fs::read_to_string(dir.path(&format!("{id}.passwd"))).unwrap();
                assert!(got.starts_with(TARGET_PASSWD_ROOT), "{id}: {got}");
                let remote = format!("pod/t:/data/incoming/{id}");
                let out = run(&[&dir.s("payload"), &remote]);
                assert_eq!(out.status.code(), Some(0), "{id}: {}", text(&out.stderr));
                let out = run(&[&remote, &dir.s(&format!("{id}.back"))]);
                assert_eq!(out.status.code(), Some(0), "{id}: {}", text(&out.stderr));
                assert_eq!(
                    &std::fs::read(dir.path(&format!("{id}.back"))).unwrap(),
                    payload,
                    "{id}"
                );
            });
        }
    });
}
