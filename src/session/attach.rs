//! Attach over kube's websocket (`v5.channel.k8s.io`) and turn the session into an exit code.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;
use tokio::io::AsyncWrite;

use super::resize;
use super::streams::{self, StdinPlan};
use crate::client::{Cluster, timed};
use crate::error::{ApiCall, Error, classify};
use crate::output::Printer;
use crate::wait::{PodWatch, Progress, progress};

/// The byte the client sends first when the entry script waits on stdin (ASCII ACK).
pub const HANDSHAKE_BYTE: u8 = 0x06;

/// How long to wait for the kubelet to report the exit code after the session.
const EXIT_CODE_WAIT: Duration = Duration::from_secs(15);

/// What to attach to and how.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub pod: &'a str,
    pub container: &'a str,
    pub tty: bool,
    /// Forward our stdin (shell, or `-i`).
    pub forward_stdin: bool,
    /// Send [`HANDSHAKE_BYTE`] first (non-TTY containers; see `entry.sh`).
    pub stdin_handshake: bool,
}

/// A container exit code as a process exit code: 0..=255 as is, anything else 1.
pub fn exit_code_from(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

/// Where the session's bytes come from and go to.
pub struct Io<O, E> {
    pub stdout: O,
    pub stderr: E,
    pub stdin: StdinSource,
    /// Terminal size (columns, rows) at start, for a TTY session.
    pub size: Option<(u16, u16)>,
    /// Follow SIGWINCH for later sizes.
    pub follow_resize: bool,
}

/// Where forwarded stdin comes from.
pub enum StdinSource {
    /// This process's stdin, read on a dedicated thread started after raw mode is on.
    Process,
    /// A channel (tests).
    Channel(tokio::sync::mpsc::Receiver<Vec<u8>>),
}

/// Runs the session on this process's terminal; returns the exit code of the debug container.
/// `watch` is the pod watch of the start, if any: the exit code comes from it.
pub async fn run(
    cluster: &Cluster,
    plan: &Plan<'_>,
    printer: &Printer,
    watch: Option<PodWatch>,
) -> Result<u8, Error> {
    let io = Io {
        stdout: tokio::io::stdout(),
        stderr: tokio::io::stderr(),
        stdin: StdinSource::Process,
        size: if plan.tty { resize::current() } else { None },
        follow_resize: plan.tty,
    };
    run_with(cluster, plan, printer, io, watch).await
}

/// [`run`] with explicit I/O.
pub async fn run_with<O, E>(
    cluster: &Cluster,
    plan: &Plan<'_>,
    printer: &Printer,
    io: Io<O, E>,
    mut watch: Option<PodWatch>,
) -> Result<u8, Error>
where
    O: AsyncWrite + Unpin + Send + 'static,
    E: AsyncWrite + Unpin + Send + 'static,
{
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = streams::params(plan.container, true, plan.tty);
    let attach = || {
        Box::pin(async {
            timed(cluster.request_timeout, api.attach(plan.pod, &params))
                .await?
                .map_err(|e| classify(e, ApiCall::Attach, plan.pod, &cluster.scope()))
        })
    };
    let mut process = match attach().await {
        Ok(p) => p,
        Err(err @ (Error::Forbidden { .. } | Error::Unauthorized)) => {
            return Err(crate::inject::name_denied_verb(cluster, err, plan.pod).await);
        }
        Err(err) => {
            // It may have ended between the wait and the attach: then its logs are the output.
            // Or the start was taken from the kubelet's Started event and the runtime does not
            // agree yet: then wait for the pod status to say Running, and attach once more.
            let now = match watch.as_mut() {
                Some(w) => Box::pin(settled(w, plan.container)).await?,
                None => progress(
                    &crate::resolve::get_pod(cluster, plan.pod).await?,
                    plan.container,
                ),
            };
            match now {
                Progress::Terminated { exit_code, .. } => {
                    return show_logs(cluster, plan, exit_code, printer).await;
                }
                Progress::Running if watch.is_some() => {
                    tracing::debug!(error = %err, "attach refused before the status said Running; attaching again");
                    match attach().await {
                        Ok(p) => p,
                        Err(err) => {
                            return Err(
                                crate::inject::name_denied_verb(cluster, err, plan.pod).await
                            );
                        }
                    }
                }
                _ => return Err(crate::inject::name_denied_verb(cluster, err, plan.pod).await),
            }
        }
    };

    let guard = streams::raw_mode(plan.tty)?;
    #[cfg(feature = "test-hooks")]
    super::test_hooks::after_raw_mode();

    // The session ends when the status arrives. Signals are handled by the caller, which drops
    // this future (and with it the raw-mode guard). After an abrupt disconnect the status
    // resolves to None: the connection was lost, not ended by the remote side.
    let stdin_plan = StdinPlan {
        first: plan.stdin_handshake.then_some(HANDSHAKE_BYTE),
        forward: plan.forward_stdin,
    };
    let status = streams::pump(&mut process, io, stdin_plan).await;
    tracing::debug!(?status, "attach ended");
    let lost = status.is_none();
    drop(guard);

    let code = match Box::pin(crate::wait::exit_code(
        cluster,
        plan.pod,
        plan.container,
        EXIT_CODE_WAIT,
        watch.as_mut(),
    ))
    .await
    {
        Ok(code) => code,
        Err(
            e @ (Error::Connect(_) | Error::RequestTimeout { .. } | Error::ExitCodeUnknown { .. }),
        ) if lost => {
            return Err(Error::SessionLost {
                container: plan.container.to_owned(),
                reason: e.to_string(),
            });
        }
        Err(e) => return Err(e),
    };
    if let Some(note) = signal_note(code) {
        printer.status(&format!(
            "{} ended with exit code {code} ({note})",
            plan.container
        ));
    }
    Ok(exit_code_from(code))
}

/// What an exit code above 128 usually means: the process died of signal code-128. Pure.
pub fn signal_note(code: i32) -> Option<String> {
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

/// The container ended before we could attach: its log is its output.
async fn show_logs(
    cluster: &Cluster,
    plan: &Plan<'_>,
    exit_code: i32,
    printer: &Printer,
) -> Result<u8, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = LogParams {
        container: Some(plan.container.to_owned()),
        ..LogParams::default()
    };
    let logs = match timed(cluster.request_timeout, api.logs(plan.pod, &params)).await? {
        Ok(logs) => logs,
        Err(e) => match classify(e, ApiCall::Logs, plan.pod, &cluster.scope()) {
            // Without `get` on `pods/log` the exit code is still known: report it, and say
            // what the output needs.
            Error::Forbidden {
                verb,
                resource,
                scope,
            } => {
                printer.warn(&format!(
                    "{} ended before the session could attach (exit code {exit_code}); its output cannot be shown: you need '{verb}' on '{resource}' in namespace {:?}",
                    plan.container, scope.namespace
                ));
                return Ok(exit_code_from(exit_code));
            }
            err => return Err(err),
        },
    };
    printer.status(&format!(
        "{} ended before the session could attach (exit code {exit_code}); its output:",
        plan.container
    ));
    printer.data(logs.as_bytes());
    Ok(exit_code_from(exit_code))
}

/// Where the container stands once the pod status has settled on it: running, ended, or
/// failed, read from the start's watch (at most [`EXIT_CODE_WAIT`]).
async fn settled(watch: &mut PodWatch, container: &str) -> Result<Progress, Error> {
    let work = watch.until(|p| match progress(p, container) {
        Progress::Waiting { .. } => None,
        other => Some(Ok(other)),
    });
    match tokio::time::timeout(EXIT_CODE_WAIT, work).await {
        Ok(r) => r,
        Err(_) => Ok(progress(watch.latest(), container)),
    }
}

/// For the caller when the wait saw the container already terminated.
pub async fn ended_before_attach(
    cluster: &Cluster,
    plan: &Plan<'_>,
    exit_code: i32,
    printer: &Printer,
) -> Result<u8, Error> {
    show_logs(cluster, plan, exit_code, printer).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
