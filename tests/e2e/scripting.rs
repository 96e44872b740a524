//! Scripted use (issue 4): exact output and exit codes without a terminal, stdin piping, reuse
//! of a kept container, the TTL enforced inside the container with the client killed, the
//! audit record in the pod spec, `list`, and one command over many pods with one forbidden and
//! one deleted mid-run.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{
    Namespace, PLUGIN, cluster, env_as, plugin_env, run_plugin, target_pod_yaml, text,
};

/// Runs the plugin with `input` on stdin.
fn run_with_stdin(args: &[&str], env: &[(String, String)], input: &[u8]) -> Output {
    let mut cmd = Command::new(PLUGIN);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the plugin runs");
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("the plugin ends")
}

fn ephemeral(ns: &str, pod: &str) -> Vec<Value> {
    cluster().pod_json(ns, pod)["spec"]["ephemeralContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn env_of(container: &Value, key: &str) -> Option<String> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == key)
        .and_then(|e| e["value"].as_str())
        .map(str::to_owned)
}

/// The state object of ephemeral container `name`, if reported.
fn state_of(ns: &str, pod: &str, name: &str) -> Option<Value> {
    cluster().pod_json(ns, pod)["status"]["ephemeralContainerStatuses"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
        .map(|s| s["state"].clone())
}

/// Polls `check` every 200 ms until it holds; fails after `limit` (a bound on waiting, not a
/// timing assertion).
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn command_output_is_exact_and_exit_codes_pass_through() {
    let ns = Namespace::new("exact", None);
    ns.target_pod("app");
    let env = plugin_env();

    // A fresh container, a command that ends in well under a millisecond, stdout and stderr
    // apart, the exit code passed through; -q leaves stderr to the command alone.
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "-q",
            "--",
            "sh",
            "-c",
            "printf out; printf err >&2; exit 7",
        ],
        &env,
    );
    assert_eq!(text(&out.stdout), "out");
    assert_eq!(text(&out.stderr), "err");
    assert_eq!(out.status.code(), Some(7));

    // The target's file through $TARGET_ROOT, byte for byte, without a banner.
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "-q",
            "--",
            "sh",
            "-c",
            "grep secret \"$TARGET_ROOT/etc/target/config.yaml\"",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("secret-config-ok"));

    // A signal: 128+N.
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "-q",
            "--",
            "sh",
            "-c",
            "kill -9 $$",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));

    // The quickest command into a brand-new container: nothing lost.
    let out = run_plugin(
        &[
            "-n", &ns.name, "pod/app", "--new", "-q", "--", "printf", "fast",
        ],
        &env,
    );
    assert_eq!(text(&out.stdout), "fast");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A command that cannot be found: the shell's 127, its message on stderr.
    let out = run_plugin(
        &["-n", &ns.name, "pod/app", "-q", "--", "no-such-tool"],
        &env,
    );
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stdout).is_empty());
}

#[test]
fn stdin_is_piped_with_i() {
    let ns = Namespace::new("stdin", None);
    ns.target_pod("app");
    let out = run_with_stdin(
        &["-n", &ns.name, "pod/app", "-i", "-q", "--", "cat"],
        &plugin_env(),
        b"hi\n",
    );
    assert_eq!(text(&out.stdout), "hi\n", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
    // Bytes that are not text, and more than a buffer's worth.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let out = run_with_stdin(
        &["-n", &ns.name, "pod/app", "-i", "-q", "--", "wc", "-c"],
        &plugin_env(),
        &big,
    );
    assert_eq!(text(&out.stdout).trim(), "200000");
}

#[test]
fn second_command_reuses_the_container_and_new_adds_one() {
    let ns = Namespace::new("reuse", None);
    ns.target_pod("app");
    let env = plugin_env();
    let first = run_plugin(&["-n", &ns.name, "pod/app", "--", "true"], &env);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let added = ephemeral(&ns.name, "app");
    assert_eq!(added.len(), 1);
    let name = added[0]["name"].as_str().unwrap().to_owned();
    assert_eq!(
        env_of(&added[0], "DISTROLESS_DEBUG_KEEPALIVE").as_deref(),
        Some("1")
    );

    let second = run_plugin(&["-n", &ns.name, "pod/app", "--", "hostname"], &env);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert_eq!(text(&second.stdout), "app\n");
    assert!(
        text(&second.stderr).contains(&format!("Reusing debug container {name}")),
        "says which container was used:\n{}",
        text(&second.stderr)
    );
    assert_eq!(
        ephemeral(&ns.name, "app").len(),
        1,
        "no container was added"
    );

    // Another profile is another container; --new forces one.
    let third = run_plugin(&["-n", &ns.name, "pod/app", "--new", "--", "true"], &env);
    assert_eq!(third.status.code(), Some(0));
    assert_eq!(ephemeral(&ns.name, "app").len(), 2);
}

#[test]
fn ttl_ends_the_container_after_the_client_was_killed() {
    let ns = Namespace::new("ttl", None);
    ns.target_pod("app");
    let mut cmd = Command::new(PLUGIN);
    cmd.args([
        "-n", &ns.name, "pod/app", "--ttl", "5s", "--", "sleep", "600",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    for (k, v) in plugin_env() {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the plugin runs");
    let mut name = String::new();
    wait_until(
        "the debug container to run",
        Duration::from_secs(60),
        || {
            let list = ephemeral(&ns.name, "app");
            let Some(c) = list.first() else { return false };
            name = c["name"].as_str().unwrap_or_default().to_owned();
            state_of(&ns.name, "app", &name).is_some_and(|s| s["running"].is_object())
        },
    );
    // The client vanishes without a word.
    child.kill().expect("kill -9 the plugin");
    let _ = child.wait();
    wait_until(
        "the TTL to end the container",
        Duration::from_secs(90),
        || state_of(&ns.name, "app", &name).is_some_and(|s| s["terminated"].is_object()),
    );
    let c = &ephemeral(&ns.name, "app")[0];
    assert_eq!(env_of(c, "DISTROLESS_DEBUG_TTL").as_deref(), Some("5"));
}

/// A Role with what commands need through exec, and no pods/attach.
fn bind_exec_only(ns: &str, user: &str, patchable: Option<&[String]>) {
    let names = patchable.map_or_else(String::new, |names| {
        format!("\n  resourceNames: [{}]", names.join(", "))
    });
    cluster().apply(&format!(
        r"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: exec-only, namespace: {ns}}}
rules:
- apiGroups: ['']
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: ['']
  resources: [pods/exec]
  verbs: [get, create]
- apiGroups: ['']
  resources: [pods/ephemeralcontainers]
  verbs: [patch]{names}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: exec-only, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: exec-only}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}
"
    ));
}

#[test]
fn audit_record_is_in_the_pod_spec_and_list_shows_it() {
    let ns = Namespace::new("audit", None);
    // A pod named like the subcommand stays reachable as pod/list.
    ns.target_pod("list");
    bind_exec_only(&ns.name, "bob", None);
    let env = env_as("bob");

    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/list",
            "--reason",
            "INC-42 checking sockets",
            "--",
            "hostname",
        ],
        &env,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "runs without pods/attach:\n{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "list\n");

    let c = &ephemeral(&ns.name, "list")[0];
    assert_eq!(env_of(c, "DISTROLESS_DEBUG_BY").as_deref(), Some("bob"));
    assert_eq!(
        env_of(c, "DISTROLESS_DEBUG_REASON").as_deref(),
        Some("INC-42 checking sockets")
    );
    assert_eq!(env_of(c, "DISTROLESS_DEBUG_TTL").as_deref(), Some("3600"));
    assert!(env_of(c, "DISTROLESS_DEBUG_VERSION").is_some());
    let at = env_of(c, "DISTROLESS_DEBUG_AT").expect("a start time");
    assert!(at.ends_with('Z') && at.contains('T'), "RFC 3339: {at}");

    // list, as a table and as JSON.
    let name = c["name"].as_str().unwrap();
    let table = run_plugin(&["-n", &ns.name, "list"], &plugin_env());
    assert_eq!(table.status.code(), Some(0));
    let table = text(&table.stdout);
    let row = table
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("a row for {name}:\n{table}"));
    for cell in ["list", "general", "keep-alive", "Running", "bob", "INC-42"] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    let json = run_plugin(
        &["-n", &ns.name, "list", "pod/list", "-o", "json"],
        &plugin_env(),
    );
    let doc: Value = serde_json::from_slice(&json.stdout).expect("list -o json");
    let item = &doc["items"][0];
    assert_eq!(item["name"], name);
    assert_eq!(item["by"], "bob");
    assert_eq!(item["reason"], "INC-42 checking sockets");
    assert!(item["ttlLeftSeconds"].as_u64().is_some_and(|s| s <= 3600));
}

/// The pods of `list -o json`'s items that are in `ns`, sorted.
fn listed_pods(args: &[&str], ns: &str) -> Vec<String> {
    let out = run_plugin(args, &plugin_env());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        text(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("list -o json");
    let mut pods: Vec<String> = doc["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["namespace"] == ns)
        .map(|i| i["pod"].as_str().unwrap_or_default().to_owned())
        .collect();
    pods.sort();
    pods
}

#[test]
fn list_reads_every_pod_of_a_workload_a_selector_or_the_namespaces() {
    let ns = Namespace::new("listing", None);
    let n = ns.name.as_str();
    ns.deployment("web", 2);
    ns.target_pod("solo");
    // A debug container in both pods of the deployment (and none in solo).
    let out = run_plugin(
        &[
            "-n",
            n,
            "deploy/web",
            "--all-pods",
            "-o",
            "json",
            "--",
            "true",
        ],
        &plugin_env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let web: Vec<String> = {
        let doc: Value = serde_json::from_slice(&out.stdout).expect("-o json");
        let mut p: Vec<String> = doc["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|p| p["pod"].as_str().unwrap_or_default().to_owned())
            .collect();
        p.sort();
        p
    };
    assert_eq!(web.len(), 2, "{web:?}");

    // A workload TARGET lists every one of its pods, not the one a session would choose.
    assert_eq!(
        listed_pods(&["-n", n, "list", "deploy/web", "-o", "json"], n),
        web
    );
    assert_eq!(
        listed_pods(&["-n", n, "list", "-l", "app=web", "-o", "json"], n),
        web
    );
    assert_eq!(listed_pods(&["-n", n, "list", "-o", "json"], n), web);
    assert!(listed_pods(&["-n", n, "list", "pod/solo", "-o", "json"], n).is_empty());
    // -A: every namespace (this one among them), with a NAMESPACE column in the table.
    assert_eq!(listed_pods(&["list", "-A", "-o", "json"], n), web);
    let table = run_plugin(&["list", "-A", "-l", "app=web"], &plugin_env());
    assert_eq!(table.status.code(), Some(0), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    assert!(table.starts_with("NAMESPACE "), "{table}");
    for pod in &web {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(n) && l.contains(pod.as_str())),
            "{pod} in\n{table}"
        );
    }
    // A workload that does not exist is the error it is.
    let missing = run_plugin(&["-n", n, "list", "deploy/nope"], &plugin_env());
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("nope"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn one_command_over_21_pods_with_one_forbidden_and_one_deleted() {
    let ns = Namespace::new("fanout", None);
    let c = cluster();
    let names: Vec<String> = (0..21).map(|i| format!("p{i:02}")).collect();
    let mut yaml = String::new();
    for n in &names {
        yaml.push_str(
            &target_pod_yaml(&ns.name, n, &c.target_image, "")
                .replace(&format!("labels: {{app: {n}}}"), "labels: {app: fan}"),
        );
        yaml.push_str("---\n");
    }
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
            "--timeout=180s",
        ],
        None,
    );
    // carol may add debug containers to every pod but p13.
    let allowed: Vec<String> = names.iter().filter(|n| *n != "p13").cloned().collect();
    bind_exec_only(&ns.name, "carol", Some(&allowed));

    // p07's command waits until its pod is deleted under it.
    let mut cmd = Command::new(PLUGIN);
    cmd.args([
        "-n",
        &ns.name,
        "-l",
        "app=fan",
        "-o",
        "jsonl",
        "--",
        "sh",
        "-c",
        "if [ \"$(hostname)\" = p07 ]; then sleep 300; fi; echo ok-$(hostname); echo to-stderr >&2",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env_as("carol") {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("the plugin runs");
    wait_until(
        "p07's debug container to run",
        Duration::from_secs(120),
        || {
            let list = ephemeral(&ns.name, "p07");
            list.first()
                .and_then(|c| c["name"].as_str())
                .and_then(|n| state_of(&ns.name, "p07", n))
                .is_some_and(|s| s["running"].is_object())
        },
    );
    c.kubectl_ok(
        &["-n", &ns.name, "delete", "pod", "p07", "--wait=false"],
        None,
    );
    let out = child.wait_with_output().expect("the plugin ends");
    let stderr = text(&out.stderr);

    let results: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(results.len(), 21, "one object per pod:\n{stderr}");
    for r in &results {
        let pod = r["pod"].as_str().unwrap();
        match pod {
            "p13" => {
                assert_eq!(r["error"]["reason"], "Forbidden", "{r}");
                assert!(
                    r["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("pods/ephemeralcontainers"),
                    "{r}"
                );
            }
            "p07" => assert!(
                !r["error"].is_null() || r["exitCode"] != 0,
                "the deleted pod did not succeed: {r}"
            ),
            _ => {
                assert_eq!(r["exitCode"], 0, "{r}");
                assert_eq!(r["stdout"], format!("ok-{pod}\n"), "{r}");
                assert_eq!(r["stderr"], "to-stderr\n", "{r}");
                assert_eq!(r["container"], "app");
                assert_eq!(r["reused"], false);
                assert!(r["debugContainer"].as_str().is_some());
                assert!(r["timings"]["totalMs"].as_u64().is_some());
            }
        }
    }
    assert!(
        stderr.contains("21 pods: 19 succeeded"),
        "summary on stderr:\n{stderr}"
    );
    // The first pod by name that did not succeed is p07: a failure (1) or its signal code.
    assert_ne!(out.status.code(), Some(0));

    // Again, as carol: her kept containers are reused; p13 is still hers to be refused.
    let again = run_plugin(
        &[
            "-n", &ns.name, "-l", "app=fan", "-o", "json", "--", "hostname",
        ],
        &env_as("carol"),
    );
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    let doc: Value = serde_json::from_slice(&again.stdout).expect("-o json");
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["pod"], "p00", "sorted by name");
    for item in items {
        if item["pod"] == "p13" {
            assert_eq!(item["error"]["reason"], "Forbidden", "{item}");
        } else {
            assert_eq!(item["reused"], true, "{item}");
        }
    }
    assert_eq!(doc["summary"]["succeeded"], 19);

    // As the admin: carol's containers are hers (who ran what stays true), so the admin gets
    // containers of its own, in every pod.
    let admin = run_plugin(
        &[
            "-n", &ns.name, "-l", "app=fan", "-o", "json", "--", "hostname",
        ],
        &plugin_env(),
    );
    assert_eq!(admin.status.code(), Some(0), "{}", text(&admin.stderr));
    let doc: Value = serde_json::from_slice(&admin.stdout).expect("-o json");
    for item in doc["items"].as_array().unwrap() {
        assert_eq!(item["reused"], false, "{item}");
    }
    assert_eq!(doc["summary"]["succeeded"], 20);
    let prefixed = run_plugin(
        &["-n", &ns.name, "-l", "app=fan", "--", "hostname"],
        &plugin_env(),
    );
    let stdout = text(&prefixed.stdout);
    for n in names.iter().filter(|n| *n != "p07") {
        assert!(
            stdout.contains(&format!("[pod/{n}/app] {n}\n")),
            "{n}:\n{stdout}"
        );
    }
    assert_eq!(prefixed.status.code(), Some(0));
}

#[test]
fn interactive_shell_reuses_a_kept_container_through_exec() {
    use crate::harness::Pty;
    let ns = Namespace::new("shellreuse", None);
    ns.target_pod("app");
    let first = run_plugin(&["-n", &ns.name, "pod/app", "--", "true"], &plugin_env());
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));

    let mut pty = Pty::spawn(
        std::path::Path::new(PLUGIN),
        &["-n", &ns.name, "pod/app"],
        &plugin_env(),
        (30, 100),
    );
    pty.expect("Reusing debug container", Duration::from_secs(60));
    pty.expect("distroless-debug", Duration::from_secs(60));
    pty.send_line("echo READY-$((40+2))");
    pty.expect("READY-42", Duration::from_secs(20));
    pty.send_line("echo SIZE-$(stty size | tr ' ' x)");
    pty.expect("SIZE-30x100", Duration::from_secs(20));
    pty.send_line("grep -c secret \"$TARGET_ROOT/etc/target/config.yaml\" | sed 's/^/FILE-/'");
    pty.expect("FILE-", Duration::from_secs(20));
    pty.send_line("exit 3");
    let exit = pty.wait(Duration::from_secs(20));
    assert_eq!(
        exit.code, 3,
        "exit code through exec; screen:\n{}",
        exit.screen
    );
    assert_eq!(exit.stty_before, exit.stty_after);
    assert_eq!(
        ephemeral(&ns.name, "app").len(),
        1,
        "no container was added"
    );
}
