//! Interactive sessions into the distroless target.

use std::path::Path;
use std::time::Duration;

use crate::harness::{Namespace, PLUGIN, Pty, cluster, plugin_env, target_pod_yaml};

const START: Duration = Duration::from_secs(90);
const STEP: Duration = Duration::from_secs(20);

/// Waits for the shell: types a command whose output differs from its echo.
fn wait_for_shell(pty: &mut Pty) {
    pty.expect("distroless-debug", START);
    pty.send_line("echo READY-$((40+2))");
    pty.expect("READY-42", STEP);
}

#[test]
fn interactive_session_reaches_the_target() {
    let ns = Namespace::new("session", None);
    ns.target_pod("app");

    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, "pod/app"],
        &plugin_env(),
        (30, 100),
    );
    wait_for_shell(&mut pty);

    // The target's process is visible: the process namespace is shared.
    pty.send_line("ps -o pid,user,args | grep -c '[/]target' | sed 's/^/PROCS-/'");
    pty.expect("PROCS-1", STEP);

    // A file of the target's image, through $TARGET_ROOT.
    pty.send_line("cat \"$TARGET_ROOT/etc/target/config.yaml\" | grep secret");
    pty.expect("secret-config-ok", STEP);

    // The target's localhost-only port answers from the toolbox: the network is shared.
    pty.send_line("wget -qO- http://127.0.0.1:9090/; echo");
    pty.expect("secret-localhost-ok", STEP);

    // The terminal size reaches the remote, at start and on resize.
    pty.send_line("echo SIZE-$(stty size | tr ' ' x)");
    pty.expect("SIZE-30x100", STEP);
    pty.resize(40, 120);
    std::thread::sleep(Duration::from_millis(500));
    pty.send_line("echo SIZE-$(stty size | tr ' ' x)");
    pty.expect("SIZE-40x120", STEP);

    pty.send_line("exit 3");
    let exit = pty.wait(STEP);
    assert_eq!(
        exit.code, 3,
        "the shell's exit code passes through; screen:\n{}",
        exit.screen
    );
    assert!(!exit.stty_before.is_empty(), "stty -g was recorded");
    assert_eq!(
        exit.stty_before, exit.stty_after,
        "the terminal is restored as it was"
    );
}

#[test]
fn default_container_annotation_picks_the_target() {
    let ns = Namespace::new("annotation", None);
    let c = cluster();
    // Two containers; the annotation names the second, which is not the first listed and runs
    // another image (the pause binary), told apart by its environment.
    let mut yaml = target_pod_yaml(
        &ns.name,
        "two",
        &c.target_image,
        "  annotations:\n    kubectl.kubernetes.io/default-container: main\n",
    );
    yaml.push_str(&format!(
        "  - name: main\n    image: {}\n    imagePullPolicy: Never\n    env:\n    - {{name: APP_ENV, value: annotated}}\n    securityContext:\n      readOnlyRootFilesystem: true\n      allowPrivilegeEscalation: false\n      capabilities: {{drop: [ALL]}}\n",
        c.pause_image
    ));
    c.apply(&yaml);
    c.wait_ready(&ns.name, "two");

    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, "two"],
        &plugin_env(),
        (24, 80),
    );
    wait_for_shell(&mut pty);
    pty.send_line("tr '\\0' '\\n' < /proc/1/environ | grep APP_ENV");
    pty.expect("APP_ENV=annotated", STEP);
    pty.send_line("exit");
    let exit = pty.wait(STEP);
    assert_eq!(exit.code, 0, "screen:\n{}", exit.screen);
}

#[test]
fn workload_target_picks_a_ready_pod() {
    let ns = Namespace::new("deploy", None);
    ns.deployment("api", 1);

    let mut pty = Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, "deploy/api"],
        &plugin_env(),
        (24, 80),
    );
    let before = pty.expect("api-", START);
    assert!(before.contains("api-"), "says which pod it chose");
    wait_for_shell(&mut pty);
    pty.send_line("wget -qO- http://127.0.0.1:9090/; echo");
    pty.expect("secret-localhost-ok", STEP);
    pty.send_line("exit 0");
    let exit = pty.wait(STEP);
    assert_eq!(exit.code, 0, "screen:\n{}", exit.screen);
}

#[test]
fn kubectl_discovers_the_plugin() {
    let ns = Namespace::new("discovery", None);
    ns.target_pod("app");
    let c = cluster();
    let bin_dir = Path::new(PLUGIN).parent().expect("binary directory");
    let path = format!(
        "{}:{}:{}",
        bin_dir.display(),
        c.bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut env = plugin_env();
    env.push(("PATH".into(), path.clone()));

    let list = std::process::Command::new(c.kubectl_path())
        .args(["plugin", "list"])
        .env("PATH", &path)
        .output()
        .expect("kubectl plugin list");
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("kubectl-distroless_debug"),
        "kubectl plugin list:\n{listed}"
    );

    let mut pty = Pty::spawn(
        &c.kubectl_path(),
        &["distroless-debug", "-n", &ns.name, "pod/app"],
        &env,
        (24, 80),
    );
    wait_for_shell(&mut pty);
    pty.send_line("exit 5");
    let exit = pty.wait(STEP);
    assert_eq!(
        exit.code, 5,
        "kubectl passes the exit code on; screen:\n{}",
        exit.screen
    );
    assert_eq!(exit.stty_before, exit.stty_after);
}
