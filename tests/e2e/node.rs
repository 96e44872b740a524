//! Node debugging (`node/NAME`, `--nodes -l`) on the real cluster: the host's processes, files
//! and root, nothing left after the session, a killed plugin's pod ended by Kubernetes at its
//! TTL and collected by `list --gc`, and the refusals of Pod Security and RBAC with their fix.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::copy::{bind_plugin_role, none_left, ours};
use crate::faults::wait_until;
use crate::harness::{Namespace, PLUGIN, Pty, cluster, env_as, plugin_env, run_plugin, text};
use crate::terminal::Plugin;

const START: Duration = Duration::from_secs(120);
const STEP: Duration = Duration::from_secs(30);

/// The cluster's one node.
fn node() -> String {
    cluster()
        .kubectl_ok(
            &["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"],
            None,
        )
        .trim()
        .to_owned()
}

#[test]
fn a_node_shell_sees_the_host_and_leaves_nothing() {
    let ns = Namespace::new("node-shell", None);
    let node = node();
    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, &format!("node/{node}")],
        &plugin_env(),
        (30, 160),
    );
    pty.expect(&format!("target node \"{node}\""), START);
    pty.send_line("echo READY-$((40+2))");
    pty.expect("READY-42", STEP);
    // The host's processes: the kubelet among them.
    pty.send_line("ps -e -o args | grep -q '[k]ubelet' && echo KUBELET-$((1+1))");
    pty.expect("KUBELET-2", STEP);
    // The host's root at /host, the shell's working directory.
    pty.send_line("echo ROOT-$TARGET_ROOT-$(pwd)");
    pty.expect("ROOT-/host-/host", STEP);
    pty.send_line("grep -c '^PRETTY_NAME=' /host/etc/os-release | sed 's/^/OS-/'");
    pty.expect("OS-1", STEP);
    // The pod is ours and bounded.
    let pods = ours(&ns.name);
    assert_eq!(pods.len(), 1, "{pods:?}");
    let pod = cluster().pod_json(&ns.name, &pods[0]);
    assert_eq!(pod["spec"]["activeDeadlineSeconds"], 3600);
    assert_eq!(pod["spec"]["hostPID"], true);
    assert_eq!(
        pod["metadata"]["annotations"]["distroless-debug/node"],
        node.as_str()
    );
    pty.send_line("exit");
    let exit = pty.wait(STEP);
    assert_eq!(exit.code, 0, "{}", exit.screen);
    assert!(
        exit.screen.contains(&format!("Deleted pod {}", pods[0])),
        "{}",
        exit.screen
    );
    none_left(&ns.name);
}

#[test]
fn a_node_command_reads_the_host_exactly() {
    let ns = Namespace::new("node-cmd", None);
    let node = node();
    // The test cluster's node is this machine: its os-release is ours.
    let host = std::fs::read_to_string("/etc/os-release").expect("/etc/os-release");
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            &format!("node/{node}"),
            "--",
            "cat",
            "/host/etc/os-release",
        ],
        &plugin_env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), host);
    // --chroot: the host's own programs, its root as /.
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            &format!("node/{node}"),
            "--chroot",
            "--",
            "sh",
            "-c",
            "cat /etc/os-release; exit 4",
        ],
        &plugin_env(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), host);
    // Many nodes by label: a COMMAND each, -o json names the node.
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "--nodes",
            "-l",
            &format!("kubernetes.io/hostname={node}"),
            "-o",
            "json",
            "--",
            "sh",
            "-c",
            "test -d /host/etc && echo yes",
        ],
        &plugin_env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["items"][0]["node"], node.as_str());
    assert_eq!(doc["items"][0]["stdout"], "yes\n");
    assert_eq!(doc["summary"]["exitCode"], 0);
    none_left(&ns.name);
}

#[test]
fn a_killed_plugin_leaves_pods_that_end_at_their_ttl_and_gc_deletes_them() {
    let ns = Namespace::new("node-kill", None);
    let node = node();
    ns.target_pod("app");
    let mut sessions = Vec::new();
    for target in [format!("node/{node}"), "pod/app".to_owned()] {
        let mut args = vec!["-n", ns.name.as_str(), target.as_str(), "--ttl", "25s"];
        if target == "pod/app" {
            args.push("--copy");
        }
        let mut pty = Pty::spawn(Path::new(PLUGIN), &args, &plugin_env(), (24, 160));
        pty.expect("distroless-debug: target", START);
        pty.send_line("echo READY-$((40+2))");
        pty.expect("READY-42", STEP);
        let plugin = Plugin::of(&pty);
        plugin.signal("KILL");
        sessions.push(pty);
    }
    let pods = ours(&ns.name);
    assert_eq!(pods.len(), 2, "the plugin could not delete them: {pods:?}");
    // The copy's held container does not end with the toolbox: Kubernetes ends the pod at its
    // deadline. Both end within their TTL (and the kubelet's next look at them).
    wait_until("both pods to end", Duration::from_secs(90), || {
        pods.iter().all(|p| {
            let phase = cluster().pod_json(&ns.name, p)["status"]["phase"].clone();
            phase == "Failed" || phase == "Succeeded"
        })
    });
    let copy = pods
        .iter()
        .find(|p| p.starts_with("app-copy-"))
        .expect("the copy");
    let status = &cluster().pod_json(&ns.name, copy)["status"];
    assert_eq!(status["reason"], "DeadlineExceeded", "{status}");
    // list shows them, --gc deletes them and says so.
    let out = run_plugin(&["-n", &ns.name, "list"], &plugin_env());
    let table = text(&out.stdout);
    assert!(
        table.contains(" copy ") && table.contains(" node "),
        "{table}"
    );
    let out = run_plugin(&["-n", &ns.name, "list", "--gc"], &plugin_env());
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        said.contains(&format!(
            "deleted pod {}/{copy} (copy): its time to live passed",
            ns.name
        )),
        "{said}"
    );
    assert!(
        said.lines().count() == 2 && said.contains("(node)"),
        "{said}"
    );
    none_left(&ns.name);
    let out = run_plugin(&["-n", &ns.name, "list", "--gc"], &plugin_env());
    assert!(
        text(&out.stderr).contains("Nothing to clean up."),
        "{}",
        text(&out.stderr)
    );
    drop(sessions);
}

#[test]
fn node_refusals_name_the_namespace_level_and_the_permission() {
    let node = node();
    let target = format!("node/{node}");
    let ns = Namespace::new("node-psa", Some("baseline"));
    let out = run_plugin(&["-n", &ns.name, &target, "--", "true"], &plugin_env());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: Pod Security level \"baseline\" in namespace \"{}\" refused the node debug pod: host namespaces (hostNetwork=true, hostPID=true, hostIPC=true); hostPath volumes (host-root); container debugger-",
            ns.name
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("only the \"privileged\" level allows: run it in a namespace that enforces \"privileged\" with -n NAMESPACE"),
        "{stderr}"
    );
    assert!(ours(&ns.name).is_empty());

    let ns = Namespace::new("node-rbac", None);
    bind_plugin_role(&ns.name, "bob", &["delete"]);
    let out = run_plugin(&["-n", &ns.name, &target, "--", "true"], &env_as("bob"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: forbidden: cannot create pods in namespace \"{}\"",
            ns.name
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("you need 'create' and 'delete' on 'pods'"),
        "{stderr}"
    );
    // With both (and no right to read nodes), it works.
    bind_plugin_role(&ns.name, "bob", &["create", "delete"]);
    let out = run_plugin(
        &["-n", &ns.name, &target, "--", "test", "-d", "/host/etc"],
        &env_as("bob"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    none_left(&ns.name);
}
