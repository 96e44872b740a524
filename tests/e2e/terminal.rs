//! Terminal safety: every way an interactive session can end, in a real PTY, comparing
//! `stty -g` before and after. Each case also checks the message, the documented exit code,
//! and that the plugin process (and anything it started) is gone.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::faults::{Mode, Proxy, children_of, wait_until};
use crate::harness::{Namespace, PLUGIN, Pty, PtyExit, cluster, plugin_env};

const START: Duration = Duration::from_secs(90);
const STEP: Duration = Duration::from_secs(30);
/// Bound for the end of the plugin after the event that ends it.
const END: Duration = Duration::from_secs(60);

/// The plugin's process, the child of the PTY's `sh -c`, and what it started.
pub struct Plugin {
    pub pid: u32,
    descendants: Vec<u32>,
}

impl Plugin {
    pub fn of(pty: &Pty) -> Plugin {
        let deadline = Instant::now() + STEP;
        // The wrapper runs `stty -g` first: look for the child that runs the plugin's binary.
        let plugin = std::fs::canonicalize(PLUGIN).expect("the plugin binary");
        let pid = loop {
            let found = children_of(pty.pid()).into_iter().find(|p| {
                std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|exe| exe == plugin)
            });
            if let Some(pid) = found {
                break pid;
            }
            assert!(Instant::now() < deadline, "no plugin process under the PTY");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut descendants = Vec::new();
        let mut queue = vec![pid];
        while let Some(p) = queue.pop() {
            let kids = children_of(p);
            descendants.extend(&kids);
            queue.extend(kids);
        }
        Plugin { pid, descendants }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {}", self.pid);
    }

    pub fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }
}

fn spawn(ns: &Namespace, env: &[(String, String)]) -> Pty {
    Pty::spawn(
        Path::new(PLUGIN),
        &["-n", &ns.name, "pod/app"],
        env,
        (24, 80),
    )
}

/// Waits for the remote shell: a command whose output differs from its echo.
fn wait_for_shell(pty: &mut Pty) {
    pty.expect("distroless-debug", START);
    pty.send_line("echo READY-$((40+2))");
    pty.expect("READY-42", STEP);
}

/// A session in a fresh namespace with a target pod, at the remote prompt.
fn session(prefix: &str, env: &[(String, String)]) -> (Namespace, Pty, Plugin) {
    let ns = Namespace::new(prefix, None);
    ns.target_pod("app");
    let mut pty = spawn(&ns, env);
    wait_for_shell(&mut pty);
    let plugin = Plugin::of(&pty);
    (ns, pty, plugin)
}

/// The terminal as found, the exit code, a message, and nothing left running.
fn assert_clean(exit: &PtyExit, plugin: &Plugin, code: u32, message: &str) {
    assert!(!exit.stty_before.is_empty(), "stty -g was recorded");
    assert_eq!(
        exit.stty_before, exit.stty_after,
        "the terminal is restored as it was; screen:\n{}",
        exit.screen
    );
    assert_eq!(exit.code, code, "exit code; screen:\n{}", exit.screen);
    assert!(
        exit.screen.contains(message),
        "the message {message:?} is shown; screen:\n{}",
        exit.screen
    );
    assert!(!Plugin::alive(plugin.pid), "the plugin process is gone");
    for p in &plugin.descendants {
        assert!(
            !Plugin::alive(*p),
            "process {p} started by the plugin is gone"
        );
    }
}

#[test]
fn remote_exit() {
    let (_ns, mut pty, plugin) = session("tty-exit", &plugin_env());
    pty.send_line("exit 7");
    let exit = pty.wait(END);
    assert_eq!(exit.code, 7);
    // Nothing but the shell's own output: the exit code speaks.
    assert!(!exit.screen.contains("error:"), "screen:\n{}", exit.screen);
    assert_clean(&exit, &plugin, 7, "exit 7");
}

#[test]
fn ctrl_c_reaches_the_remote_shell() {
    let (_ns, mut pty, plugin) = session("tty-ctrlc", &plugin_env());
    // The marker comes from the foreground job itself, so Ctrl-C cannot arrive before it is
    // in the foreground: after `echo …; sleep 100` it could reach the shell between the two
    // (seen under load), and ash then went on to run `sleep`.
    pty.send_line("sh -c 'echo SLEEP-$((1+1)); exec sleep 100'");
    pty.expect("SLEEP-2", STEP);
    pty.send("\x03");
    // The remote shell is back at its prompt, and the session goes on.
    pty.send_line("echo AFTER-$((2+3))");
    pty.expect("AFTER-5", STEP);
    assert!(Plugin::alive(plugin.pid), "Ctrl-C did not end the plugin");
    pty.send_line("exit 0");
    let exit = pty.wait(END);
    assert_clean(&exit, &plugin, 0, "AFTER-5");
}

fn signal_to_the_plugin(name: &str, code: u32) {
    let (_ns, pty, plugin) = session(&format!("tty-{}", name.to_lowercase()), &plugin_env());
    plugin.signal(name);
    let exit = pty.wait(END);
    assert_clean(
        &exit,
        &plugin,
        code,
        &format!("error: terminated by signal SIG{name}"),
    );
}

#[test]
fn sigterm_to_the_plugin() {
    signal_to_the_plugin("TERM", 143);
}

#[test]
fn sighup_to_the_plugin() {
    signal_to_the_plugin("HUP", 129);
}

#[test]
fn sigint_to_the_plugin() {
    signal_to_the_plugin("INT", 130);
}

#[test]
fn sighup_while_connecting() {
    // A server that accepts and never answers: the plugin waits on its first request.
    let proxy = Proxy::start(Mode::Hold);
    let ns = Namespace::new("tty-hup-wait", None);
    let pty = spawn(&ns, &proxy.env());
    let plugin = Plugin::of(&pty);
    wait_until("the plugin to connect", STEP, || proxy.accepted() >= 1);
    plugin.signal("HUP");
    let exit = pty.wait(END);
    assert_clean(&exit, &plugin, 129, "error: terminated by signal SIGHUP");
}

fn panic_after_raw_mode(variant: &str) {
    // The binary is shared with any other cargo build in this target directory; one without
    // the e2e feature has no trigger, and the session would simply run.
    let binary = std::fs::read(PLUGIN).expect("the plugin binary");
    let needle = b"DISTROLESS_DEBUG_TEST_PANIC";
    assert!(
        binary.windows(needle.len()).any(|w| w == needle),
        "{PLUGIN} was built without the test-hooks feature (rebuilt by another cargo command?)"
    );
    let ns = Namespace::new(&format!("tty-panic-{variant}"), None);
    ns.target_pod("app");
    let mut env = plugin_env();
    env.push(("DISTROLESS_DEBUG_TEST_PANIC".into(), variant.into()));
    let pty = spawn(&ns, &env);
    let plugin = Plugin::of(&pty);
    let exit = pty.wait(START);
    assert_clean(&exit, &plugin, 101, "test hook: panic");
    assert!(
        exit.screen
            .contains("error: internal error (the panic above); the terminal was restored"),
        "screen:\n{}",
        exit.screen
    );
}

#[test]
fn panic_in_the_session() {
    panic_after_raw_mode("session");
}

#[test]
fn panic_in_a_task() {
    panic_after_raw_mode("task");
}

#[test]
fn api_server_killed_mid_session() {
    let mut proxy = Proxy::start(Mode::Pass);
    let (_ns, pty, plugin) = session("tty-apigone", &proxy.env());
    proxy.kill();
    let exit = pty.wait(END);
    assert_clean(
        &exit,
        &plugin,
        1,
        "error: lost the connection to the API server during the session",
    );
}

#[test]
fn pod_deleted_mid_session() {
    let (ns, pty, plugin) = session("tty-poddel", &plugin_env());
    cluster().kubectl_ok(
        &["-n", &ns.name, "delete", "pod", "app", "--wait=false"],
        None,
    );
    let exit = pty.wait(END);
    assert_clean(&exit, &plugin, 1, "error: pod \"app\" was deleted");
}

#[test]
fn debug_container_process_killed() {
    let (_ns, mut pty, plugin) = session("tty-kill9", &plugin_env());
    pty.send_line("kill -9 $$");
    let exit = pty.wait(END);
    assert_clean(
        &exit,
        &plugin,
        137,
        "ended with exit code 137 (128+9: killed by SIGKILL)",
    );
}
