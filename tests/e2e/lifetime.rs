//! Nothing left running, nothing stored, and who did what kept true, on the real cluster: a
//! session ends within seconds once its client is gone (SIGKILL, SIGTERM, Ctrl-C of a fan-out),
//! at its TTL when the client only stops answering, leaves no process of ours in the target's
//! process table, writes nothing of what it shows to the container's log; the audit record
//! reaches the container exactly as written and a kept container is reused only by its user,
//! for its reason and its request.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::faults::wait_until;
use crate::harness::{Namespace, PLUGIN, Pty, cluster, env_as, plugin_env, run_plugin, text};
use crate::terminal::Plugin;

const START: Duration = Duration::from_secs(90);
const STEP: Duration = Duration::from_secs(30);

/// The debug containers of pod `app` in `ns`: (name, state object), in spec order.
fn containers(ns: &str) -> Vec<(String, Value)> {
    let pod = cluster().pod_json(ns, "app");
    let statuses = pod["status"]["ephemeralContainerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    pod["spec"]["ephemeralContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_owned();
            let state = statuses
                .iter()
                .find(|s| s["name"] == name.as_str())
                .map_or(Value::Null, |s| s["state"].clone());
            (name, state)
        })
        .collect()
}

fn terminated(ns: &str, name: &str) -> bool {
    containers(ns)
        .iter()
        .any(|(n, s)| n == name && s["terminated"].is_object())
}

/// An interactive session at the prompt of a fresh container; returns it, the plugin process
/// and the debug container's name.
fn shell(ns: &Namespace, extra: &[&str]) -> (Pty, Plugin, String) {
    let mut args = vec!["-n", ns.name.as_str(), "pod/app"];
    args.extend_from_slice(extra);
    let mut pty = Pty::spawn(Path::new(PLUGIN), &args, &plugin_env(), (24, 120));
    let added = pty.expect("to pod app", START);
    let name = added
        .split("Added debug container ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the added container's name")
        .to_owned();
    pty.expect("distroless-debug: target container", START);
    pty.send_line("echo READY-$((40+2))");
    pty.expect("READY-42", STEP);
    let plugin = Plugin::of(&pty);
    (pty, plugin, name)
}

/// No process of ours is left in the target's process table: no zombie and no leftover, as a
/// new debug command sees it.
fn assert_nothing_left(ns: &str, leftover: &str) {
    let out = run_plugin(
        &["-n", ns, "pod/app", "--", "ps", "-e", "-o", "stat,args"],
        &plugin_env(),
    );
    let ps = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for line in ps.lines() {
        assert!(!line.trim_start().starts_with('Z'), "a zombie:\n{ps}");
        assert!(!line.contains(leftover), "{leftover} still runs:\n{ps}");
    }
}

fn gone_after_kill(signal: &str) {
    let ns = Namespace::new(&format!("life-{}", signal.to_lowercase()), None);
    ns.target_pod("app");
    let (mut pty, plugin, name) = shell(&ns, &[]);
    pty.send_line("sleep 4001");
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    plugin.signal(signal);
    wait_until(
        "the session's container to end",
        Duration::from_secs(20),
        || terminated(&ns.name, &name),
    );
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "ended {took:?} after the client"
    );
    assert_nothing_left(&ns.name, "sleep 4001");
}

#[test]
fn a_sigkilled_client_ends_its_session_and_container_within_seconds() {
    gone_after_kill("KILL");
}

#[test]
fn a_sigtermed_client_ends_its_session_and_container_within_seconds() {
    gone_after_kill("TERM");
}

/// A client that stops answering but whose connection stays open (here SIGSTOP; a laptop
/// closed looks the same until the API server drops the connection) cannot end the session:
/// the time to live does, inside the container, and the client may be killed afterwards.
#[test]
fn a_session_whose_client_stops_answering_ends_at_its_ttl() {
    let ns = Namespace::new("life-ttl", None);
    ns.target_pod("app");
    let (mut pty, plugin, name) = shell(&ns, &["--ttl", "15s"]);
    pty.send_line("sleep 4002");
    std::thread::sleep(Duration::from_millis(500));
    plugin.signal("STOP");
    wait_until(
        "the TTL to end the container",
        Duration::from_secs(45),
        || terminated(&ns.name, &name),
    );
    plugin.signal("KILL");
    let logs = cluster().kubectl_ok(&["-n", &ns.name, "logs", "app", "-c", &name], None);
    assert!(
        logs.contains("time to live of 15s reached; ending the debug container"),
        "{logs}"
    );
    assert_nothing_left(&ns.name, "sleep 4002");
}

/// What a session shows never goes to the container's log (readable with pods/log): not in a
/// fresh container, not in a kept one.
#[test]
fn what_a_session_shows_is_not_in_the_container_log() {
    let ns = Namespace::new("life-log", None);
    ns.target_pod("app");
    let (mut pty, _plugin, fresh) = shell(&ns, &[]);
    pty.send_line("cat etc/target/config.yaml; echo TYPED-$((1+1))");
    pty.expect("TYPED-2", STEP);
    pty.send_line("exit");
    let exit = pty.wait(STEP);
    assert_eq!(exit.code, 0, "{}", exit.screen);
    assert!(exit.screen.contains("secret-config-ok"), "{}", exit.screen);
    let command = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "--",
            "sh",
            "-c",
            "cat \"$TARGET_ROOT/etc/target/config.yaml\"",
        ],
        &plugin_env(),
    );
    assert!(text(&command.stdout).contains("secret-config-ok"));
    let kept = containers(&ns.name)
        .last()
        .map(|(n, _)| n.clone())
        .expect("the kept container");
    for name in [fresh, kept] {
        let logs = cluster().kubectl_ok(&["-n", &ns.name, "logs", "app", "-c", &name], None);
        assert!(
            !logs.contains("secret-config-ok") && !logs.contains("TYPED"),
            "{name}'s log holds the session:\n{logs}"
        );
    }
}

/// Ctrl-C in a fan-out: the commands it started stop within seconds.
#[test]
fn ctrl_c_in_a_fanout_stops_what_it_started() {
    let ns = Namespace::new("life-fan", None);
    for p in ["a", "b", "c"] {
        cluster().apply(
            &crate::harness::target_pod_yaml(&ns.name, p, &cluster().target_image, "")
                .replace(&format!("labels: {{app: {p}}}"), "labels: {app: fan}"),
        );
    }
    for p in ["a", "b", "c"] {
        cluster().wait_ready(&ns.name, p);
    }
    let mut cmd = Command::new(PLUGIN);
    cmd.args(["-n", &ns.name, "-l", "app=fan", "--", "sleep", "4003"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in plugin_env() {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("the plugin runs");
    let sleeping = || {
        Command::new("pgrep")
            .args(["-f", "^sleep 4003$"])
            .output()
            .map_or(0, |o| text(&o.stdout).lines().count())
    };
    wait_until("the three commands to run", START, || sleeping() == 3);
    let t0 = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("the plugin ends");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    wait_until("the commands to stop", Duration::from_secs(15), || {
        sleeping() == 0
    });
    assert!(t0.elapsed() < Duration::from_secs(15));
}

/// Every string the plugin writes where the kubelet expands `$(NAME)` and `$$` reaches the
/// container as written: the audit record (here `--reason`) and the keep-alive script (its
/// `$$` works: the container is kept alive and found again).
#[test]
fn the_reason_and_the_script_reach_the_container_as_written() {
    let ns = Namespace::new("life-dollar", None);
    ns.target_pod("app");
    let reason = "INC-1 $$ $(HOME) $x";
    let run = |args: &[&str]| {
        let mut all = vec!["-n", ns.name.as_str(), "pod/app", "--reason", reason];
        all.extend_from_slice(args);
        run_plugin(&all, &plugin_env())
    };
    let out = run(&["--", "sh", "-c", "printf '%s' \"$DISTROLESS_DEBUG_REASON\""]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), reason);
    let again = run(&["--", "true"]);
    assert!(
        text(&again.stderr).contains("Reusing debug container"),
        "{}",
        text(&again.stderr)
    );
    let list = run_plugin(
        &["-n", &ns.name, "list", "pod/app", "-o", "json"],
        &plugin_env(),
    );
    let doc: Value = serde_json::from_slice(&list.stdout).expect("list -o json");
    assert_eq!(doc["items"][0]["reason"], reason);
}

/// Who ran what, and why, stays true: a kept container is reused only by the user who added it,
/// for its reason; another user gets one of their own and is told why.
#[test]
fn a_kept_container_is_reused_only_by_its_user_for_its_reason() {
    let ns = Namespace::new("life-users", None);
    ns.target_pod("app");
    for user in ["alice", "bob"] {
        crate::rbac::bind_all(&ns.name, user);
    }
    let run = |user: &str, reason: &str| {
        run_plugin(
            &[
                "-n", &ns.name, "pod/app", "--reason", reason, "--", "id", "-u",
            ],
            &env_as(user),
        )
    };
    let first = run("alice", "INC-1");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let again = run("alice", "INC-1");
    assert!(text(&again.stderr).contains("Reusing debug container"));
    let bob = run("bob", "INC-1");
    let stderr = text(&bob.stderr);
    assert_eq!(bob.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "it was added by alice, and a kept container is reused only by the user who added it"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("Added debug container"), "{stderr}");
    let other_reason = run("alice", "INC-2");
    assert!(
        text(&other_reason.stderr).contains("reused only for its own reason"),
        "{}",
        text(&other_reason.stderr)
    );
    let list = run_plugin(
        &["-n", &ns.name, "list", "pod/app", "-o", "json"],
        &plugin_env(),
    );
    let doc: Value = serde_json::from_slice(&list.stdout).expect("list -o json");
    let records: Vec<(String, String)> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["by"].as_str().unwrap().to_owned(),
                i["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(records.len(), 3, "{records:?}");
    for want in [("alice", "INC-1"), ("bob", "INC-1"), ("alice", "INC-2")] {
        assert!(
            records.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {records:?}"
        );
    }
}

/// A reused container matches everything asked for, `--custom` included, and `-c NAME` reuses
/// only a container of ours that matches, refusing a name in use otherwise with the reason.
#[test]
fn reuse_matches_the_whole_request_and_names_are_kept_apart() {
    let ns = Namespace::new("life-custom", None);
    ns.target_pod("app");
    let run = |args: &[&str]| {
        let mut all = vec!["-n", ns.name.as_str(), "pod/app"];
        all.extend_from_slice(args);
        run_plugin(&all, &plugin_env())
    };
    assert_eq!(run(&["--", "true"]).status.code(), Some(0));
    // A field the server refuses for ephemeral containers: refused every time, whatever the
    // pod holds.
    let ports = std::env::temp_dir().join(format!("{}-ports.yaml", ns.name));
    std::fs::write(&ports, "ports:\n- containerPort: 8081\n").unwrap();
    for _ in 0..2 {
        let r = run(&["--custom", ports.to_str().unwrap(), "--", "true"]);
        assert_eq!(r.status.code(), Some(1), "{}", text(&r.stderr));
        assert!(
            text(&r.stderr).contains("rejected the request as invalid"),
            "{}",
            text(&r.stderr)
        );
    }
    let workdir = std::env::temp_dir().join(format!("{}-workdir.yaml", ns.name));
    std::fs::write(&workdir, "workingDir: /tmp\n").unwrap();
    let first = run(&["--custom", workdir.to_str().unwrap(), "--", "pwd"]);
    assert_eq!(text(&first.stdout), "/tmp\n", "{}", text(&first.stderr));
    assert!(text(&first.stderr).contains("Added debug container"));
    let second = run(&["--custom", workdir.to_str().unwrap(), "--", "pwd"]);
    assert!(text(&second.stderr).contains("Reusing debug container"));
    let _ = std::fs::remove_file(&ports);
    let _ = std::fs::remove_file(&workdir);

    // -c NAME: added, then reused; by another user or of another request, refused with why.
    let named = run(&["-c", "mytools", "--", "true"]);
    assert!(text(&named.stderr).contains("Added debug container mytools"));
    let named = run(&["-c", "mytools", "--", "true"]);
    assert!(text(&named.stderr).contains("Reusing debug container mytools"));
    let other = run(&["-c", "mytools", "--profile", "netadmin", "--", "true"]);
    assert_eq!(other.status.code(), Some(1));
    let stderr = text(&other.stderr);
    assert!(
        stderr.contains("a container named \"mytools\" already exists in pod \"app\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("not reusing mytools: it was made for another request"),
        "{stderr}"
    );
    let app = run(&["-c", "app", "--", "true"]);
    assert_eq!(app.status.code(), Some(1));
    assert!(text(&app.stderr).contains("a container named \"app\" already exists"));
}
