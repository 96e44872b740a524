//! Every session runs through exec into the debug container: streams connected before the
//! process starts (nothing written early is lost), stdout and stderr apart, nothing written to
//! the container's log, and the exit code in the exec's final Status: `Success`, or `Failure`
//! with reason `NonZeroExitCode` and a cause of type `ExitCode` whose message is the number
//! (128+N when a signal ended the process). It needs `get` and `create` on `pods/exec`.
//!
//! The session must end when this client is gone, however it goes (exit, SIGKILL, a lost
//! connection). Container runtimes before containerd 2 leave an exec'd process running when its
//! stream breaks, but they do close its stdin if it has no TTY. So a session whose stdin is the
//! user's (a shell, `-i`, `-t`) gets a second exec beside it, the lease, with a stdin of its
//! own that only this process holds; a command without input holds its own stdin open instead
//! (see `sh/session.sh`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::AttachParams;
use tokio::io::AsyncWrite;

use super::streams::{self, Io, StdinUse};
use crate::api;
use crate::connect::Cluster;
use crate::error::Error;
use crate::output::Printer;
use crate::plan::scripts::{ExecMode, exec_command};

/// What to run where.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub pod: &'a str,
    pub container: &'a str,
    /// The command; empty for a shell.
    pub command: &'a [String],
    pub tty: bool,
    /// Forward our stdin (a shell, `-i`).
    pub stdin: bool,
    /// See [`crate::plan::user::target_runtime_id`].
    pub target_runtime_id: Option<&'a str>,
    /// See [`crate::plan::names::session_id`].
    pub session_id: &'a str,
    /// The container ends with this session (it was added for it and is not kept): the lease
    /// ends it too.
    pub ends_container: bool,
}

impl Plan<'_> {
    /// How the session script runs this plan: a command without input holds its own lease.
    pub(crate) fn mode(&self) -> ExecMode {
        if self.command.is_empty() || self.stdin || self.tty {
            ExecMode::Session
        } else {
            ExecMode::Command
        }
    }

    fn argv(&self, mode: ExecMode) -> Vec<String> {
        exec_command(mode, self.session_id, self.target_runtime_id, self.command)
    }
}

/// The exit code an exec Status reports. Pure.
pub(crate) fn exit_code_of(status: Option<&Status>) -> Result<i32, String> {
    let Some(s) = status else {
        return Err("the connection ended without an exit status".to_owned());
    };
    if s.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    if s.reason.as_deref() == Some("NonZeroExitCode")
        && let Some(code) = s
            .details
            .iter()
            .flat_map(|d| d.causes.iter().flatten())
            .find(|c| c.reason.as_deref() == Some("ExitCode"))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.trim().parse::<i32>().ok())
    {
        return Ok(code);
    }
    Err(match (&s.message, &s.reason) {
        (Some(m), _) if !m.is_empty() => m.clone(),
        (_, Some(r)) => format!("exec failed ({r})"),
        _ => "exec failed".to_owned(),
    })
}

/// A remote exit code as a process exit code: 0..=255 as is, anything else 1.
pub(crate) fn exit_code_from(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

/// What an exit code above 128 usually means: the process died of signal code-128. Pure.
pub(crate) fn signal_note(code: i32) -> Option<String> {
    let n = code.checked_sub(128).filter(|n| (1..=64).contains(n))?;
    let name = match n {
        1 => "SIGHUP".to_owned(),
        2 => "SIGINT".to_owned(),
        3 => "SIGQUIT".to_owned(),
        6 => "SIGABRT".to_owned(),
        9 => "SIGKILL".to_owned(),
        15 => "SIGTERM".to_owned(),
        _ => format!("signal {n}"),
    };
    Some(format!("128+{n}: killed by {name}"))
}

/// The lease's streams: stdin only.
fn lease_params(container: &str) -> AttachParams {
    AttachParams {
        container: Some(container.to_owned()),
        stdin: true,
        stdout: false,
        stderr: false,
        tty: false,
        ..AttachParams::default()
    }
}

/// The lease's exec while the session runs. Dropped (the session's future cancelled by a
/// signal), its task is aborted and its connection closed, which ends the lease in the container
/// as the client's end would.
struct LeaseGuard(Option<tokio::task::JoinHandle<Result<kube::api::AttachedProcess, Error>>>);

impl LeaseGuard {
    /// After the session: says if the lease never opened, then closes it.
    async fn close(mut self, plan: &Plan<'_>, printer: &Printer) {
        let Some(task) = self.0.take() else { return };
        if !task.is_finished() {
            task.abort();
            return;
        }
        match task.await {
            Ok(Ok(process)) => process.abort(),
            Ok(Err(e)) => printer.warn(&lease_lost(plan, &e)),
            Err(_) => {}
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// What it costs that a plan's lease could not be opened. Pure.
fn lease_lost(plan: &Plan<'_>, err: &dyn std::fmt::Display) -> String {
    let container = if plan.ends_container {
        format!(
            "; the debug container {} will then run until its --ttl, even after a normal exit",
            plan.container
        )
    } else {
        String::new()
    };
    format!(
        "the session's lease could not be opened ({err}): should this client vanish, the session runs on until the debug container's --ttl{container}"
    )
}

/// Runs the plan with `io`; returns the process's exit code. A TTY session puts this process's
/// terminal in raw mode for its duration. The lease (when the plan needs one) is opened at the
/// same time as the session, so it costs no time, and closed when the session ends.
pub async fn run<O, E>(
    cluster: &Cluster,
    plan: &Plan<'_>,
    io: Io<O, E>,
    printer: &Printer,
) -> Result<i32, Error>
where
    O: AsyncWrite + Unpin + Send + 'static,
    E: AsyncWrite + Unpin + Send + 'static,
{
    let mode = plan.mode();
    let params = streams::params(plan.container, plan.tty);
    let mut process = api::exec::exec(cluster, plan.pod, plan.argv(mode), &params).await?;
    // The lease opens once the session runs, beside it: the runtime starts one exec at a time
    // faster than two at once, and the session's prompt does not wait for its lease.
    let lease = (mode == ExecMode::Session).then(|| {
        let cluster = cluster.clone();
        let argv = plan.argv(ExecMode::Lease {
            ends_container: plan.ends_container,
        });
        let params = lease_params(plan.container);
        let pod = plan.pod.to_owned();
        tokio::spawn(async move { api::exec::exec(&cluster, &pod, argv, &params).await })
    });
    let lease = LeaseGuard(lease);

    let guard = streams::raw_mode(plan.tty)?;
    #[cfg(feature = "test-hooks")]
    super::test_hooks::after_raw_mode();
    let stdin_use = match mode {
        ExecMode::Command => StdinUse::Hold,
        _ => StdinUse::Forward,
    };
    let status = streams::pump(&mut process, io, stdin_use).await;
    drop(guard);
    lease.close(plan, printer).await;
    tracing::debug!(?status, "exec ended");
    if status.is_none() {
        return Err(Error::SessionLost {
            container: plan.container.to_owned(),
            reason: "the connection ended without an exit status".to_owned(),
        });
    }
    exit_code_of(status.as_ref()).map_err(|message| Error::Exec {
        pod: plan.pod.to_owned(),
        container: plan.container.to_owned(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};

    fn failure(reason: &str, causes: Vec<StatusCause>) -> Status {
        Status {
            status: Some("Failure".into()),
            message: Some("command terminated with non-zero exit code".into()),
            reason: Some(reason.into()),
            details: Some(StatusDetails {
                causes: Some(causes),
                ..StatusDetails::default()
            }),
            ..Status::default()
        }
    }

    fn cause(code: &str) -> StatusCause {
        StatusCause {
            reason: Some("ExitCode".into()),
            message: Some(code.into()),
            field: None,
        }
    }

    #[test]
    fn exit_codes_come_from_the_status_structure() {
        let ok = Status {
            status: Some("Success".into()),
            ..Status::default()
        };
        assert_eq!(exit_code_of(Some(&ok)), Ok(0));
        let seven = failure("NonZeroExitCode", vec![cause("7")]);
        assert_eq!(exit_code_of(Some(&seven)), Ok(7));
        let killed = failure("NonZeroExitCode", vec![cause("137")]);
        assert_eq!(exit_code_of(Some(&killed)), Ok(137));
        assert!(exit_code_of(Some(&failure("InternalError", vec![]))).is_err());
        assert!(exit_code_of(Some(&failure("NonZeroExitCode", vec![]))).is_err());
        assert!(exit_code_of(None).is_err());
    }

    #[test]
    fn sessions_with_the_users_stdin_get_a_lease_and_commands_hold_their_own() {
        let cmd = vec!["ss".to_owned(), "-tlnp".to_owned()];
        let plan = |command: &'static [String], stdin, tty| Plan {
            pod: "api",
            container: "debugger-x",
            command,
            tty,
            stdin,
            target_runtime_id: None,
            session_id: "dd-abc",
            ends_container: false,
        };
        let cmd: &'static [String] = Box::leak(cmd.into_boxed_slice());
        assert_eq!(plan(&[], true, true).mode(), ExecMode::Session);
        assert_eq!(plan(&[], true, false).mode(), ExecMode::Session);
        assert_eq!(plan(cmd, true, false).mode(), ExecMode::Session);
        assert_eq!(plan(cmd, true, true).mode(), ExecMode::Session);
        assert_eq!(plan(cmd, false, false).mode(), ExecMode::Command);
        let argv = plan(cmd, false, false).argv(ExecMode::Command);
        assert_eq!(
            argv[3..],
            ["distroless-debug-cmd", "dd-abc", "", "ss", "-tlnp"]
        );
        let lease = plan(cmd, true, false).argv(ExecMode::Lease {
            ends_container: false,
        });
        assert_eq!(lease[3..], ["distroless-debug-lease", "dd-abc", ""]);
    }

    #[test]
    fn codes_above_128_are_explained_as_signals() {
        assert_eq!(
            signal_note(137).as_deref(),
            Some("128+9: killed by SIGKILL")
        );
        assert_eq!(
            signal_note(143).as_deref(),
            Some("128+15: killed by SIGTERM")
        );
        assert_eq!(
            signal_note(138).as_deref(),
            Some("128+10: killed by signal 10")
        );
        assert_eq!(signal_note(0), None);
        assert_eq!(signal_note(128), None);
        assert_eq!(signal_note(200), None);
        assert_eq!(signal_note(-1), None);
    }

    #[test]
    fn exit_codes_map_to_a_byte() {
        assert_eq!(exit_code_from(0), 0);
        assert_eq!(exit_code_from(7), 7);
        assert_eq!(exit_code_from(137), 137);
        assert_eq!(exit_code_from(255), 255);
        assert_eq!(exit_code_from(256), 1);
        assert_eq!(exit_code_from(-1), 1);
    }
}
