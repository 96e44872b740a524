//! The scripts that run in the debug container (sh/*.sh, docs/entry-script.md), composed and
//! stripped of their comments, and the exec commands of sessions. Pure.
//!
//! The keep-alive goes into the container spec, where the kubelet expands `$(NAME)` and `$$`:
//! [`kubelet_literal`] doubles every `$` so that it reaches the container as written. Exec
//! commands are not expanded.

/// Script sources (see docs/entry-script.md).
mod sources {
    pub(crate) const COMMON: &str = include_str!("sh/common.sh");
    pub(crate) const TARGET: &str = include_str!("sh/target.sh");
    pub(crate) const KEEPALIVE: &str = include_str!("sh/keepalive.sh");
    pub(crate) const SESSION: &str = include_str!("sh/session.sh");
    pub(crate) const PROBE: &str = include_str!("sh/probe.sh");
    pub(crate) const IDS: &str = include_str!("sh/ids.sh");
    pub(crate) const LEASE: &str = include_str!("sh/lease.sh");
    pub(crate) const CP: &str = include_str!("sh/cp.sh");
}

/// `main` with the functions of `libs` before its code, without comment and blank lines (every
/// debug container stays in the pod spec for the pod's life, and every exec carries its script
/// in its URL): the first line of `main`, its title, stays. Pure.
pub(crate) fn compose(main: &str, libs: &[&str]) -> String {
    let mut lines = main.lines();
    let mut out = String::with_capacity(main.len());
    if let Some(title) = lines.next() {
        out.push_str(title);
        out.push('\n');
    }
    for part in libs.iter().flat_map(|l| l.lines()).chain(lines) {
        let code = part.trim_start();
        if code.is_empty() || code.starts_with('#') {
            continue;
        }
        out.push_str(part);
        out.push('\n');
    }
    out
}

/// The main process of every debug container, as it goes into the spec (before
/// [`kubelet_literal`]).
pub(crate) fn keep_alive_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| compose(sources::KEEPALIVE, &[sources::COMMON]));
    &SCRIPT
}

/// The script every session runs through exec.
pub(crate) fn session_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        compose(
            sources::SESSION,
            &[
                sources::COMMON,
                sources::TARGET,
                sources::IDS,
                sources::LEASE,
            ],
        )
    });
    &SCRIPT
}

/// The script `cp` runs through exec ([`cp_command`]).
pub(crate) fn cp_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        compose(
            sources::CP,
            &[
                sources::COMMON,
                sources::TARGET,
                sources::IDS,
                sources::LEASE,
            ],
        )
    });
    &SCRIPT
}

/// The script of the probe container ([`crate::plan::container::probe_container`]).
pub(crate) fn probe_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| compose(sources::PROBE, &[sources::TARGET]));
    &SCRIPT
}

/// `s` as the kubelet must see it to pass it on unchanged: every `$` doubled, since the kubelet
/// expands `$(NAME)` to the value of variable NAME and `$$` to `$` in command, args and env
/// values. Pure.
pub(crate) fn kubelet_literal(s: &str) -> String {
    s.replace('$', "$$")
}

/// How a session runs in the container (`$0` of the session script).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExecMode {
    /// A shell, or a command with the client's stdin (a [`ExecMode::Lease`] watches it).
    Session,
    /// A command without input: its stdin is its own lease.
    Command,
    /// Holds session `id` until the client is gone, then ends that session, and the container
    /// too when it ends with its session ([`crate::plan::container::Mode::Session`]).
    Lease { ends_container: bool },
}

impl ExecMode {
    fn argv0(self) -> &'static str {
        match self {
            ExecMode::Session => "distroless-debug",
            ExecMode::Command => "distroless-debug-cmd",
            ExecMode::Lease {
                ends_container: false,
            } => "distroless-debug-lease",
            ExecMode::Lease {
                ends_container: true,
            } => "distroless-debug-lease-all",
        }
    }
}

/// The exec argv of a session: the session script, its mode, the session's ID, the target
/// container's runtime ID when the pod shares one PID namespace, then `command` (none: a
/// shell). Exec commands reach the process as they are (no kubelet expansion). Pure.
pub(crate) fn exec_command(
    mode: ExecMode,
    session_id: &str,
    target_runtime_id: Option<&str>,
    command: &[String],
) -> Vec<String> {
    let mut argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        session_script().to_owned(),
        mode.argv0().to_owned(),
        session_id.to_owned(),
        target_runtime_id.unwrap_or_default().to_owned(),
    ];
    if !matches!(mode, ExecMode::Lease { .. }) {
        argv.extend(command.iter().cloned());
    }
    argv
}

/// What `cp` does in the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CpOp {
    /// Out of the target: its stream on stdout, stdin held as the lease.
    Get,
    /// Into the target: records on stdin.
    Put,
}

/// The exec argv of `cp`: the copy script, the run's ID, the target container's runtime ID (as
/// for sessions), the operation, the path in the target, and for a put the name the copy takes
/// in `path` when that is a directory (empty: write into `path` itself). Pure.
pub(crate) fn cp_command(
    op: CpOp,
    run_id: &str,
    target_runtime_id: Option<&str>,
    path: &str,
    name: &str,
) -> Vec<String> {
    let mut argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        cp_script().to_owned(),
        "distroless-debug-cp".to_owned(),
        run_id.to_owned(),
        target_runtime_id.unwrap_or_default().to_owned(),
    ];
    match op {
        CpOp::Get => argv.extend(["get".to_owned(), path.to_owned()]),
        CpOp::Put => argv.extend(["put".to_owned(), path.to_owned(), name.to_owned()]),
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::names::session_id;

    #[test]
    fn scripts_are_small_valid_and_without_comments() {
        for (script, limit) in [
            (keep_alive_script(), 1700),
            (session_script(), 4096),
            (probe_script(), 700),
            (cp_script(), 8192),
        ] {
            assert!(script.len() < limit, "{} bytes:\n{script}", script.len());
            assert!(script.starts_with("# distroless-debug"));
            assert_eq!(
                script
                    .lines()
                    .filter(|l| l.trim_start().starts_with('#'))
                    .count(),
                1,
                "{script}"
            );
            let check = std::process::Command::new("sh")
                .args(["-n", "-c", script])
                .status()
                .expect("sh");
            assert!(check.success(), "{script}");
        }
        assert_eq!(
            compose(
                "# title\n# more\n\nmain\n",
                &["# lib\nf() { :; }\n  # inner\n"]
            ),
            "# title\nf() { :; }\nmain\n"
        );
        let id = session_id(|_| 0);
        assert_eq!(id, "dd-bbbbbbbbbbbb");
    }

    #[test]
    fn copy_commands_name_the_operation_and_path() {
        let get = cp_command(CpOp::Get, "dd-x", None, "/etc/a b", "ignored");
        assert_eq!(
            get[3..],
            ["distroless-debug-cp", "dd-x", "", "get", "/etc/a b"]
        );
        let put = cp_command(CpOp::Put, "dd-x", Some("c0ffee"), "/tmp", "");
        assert_eq!(
            put[3..],
            ["distroless-debug-cp", "dd-x", "c0ffee", "put", "/tmp", ""]
        );
    }
}
