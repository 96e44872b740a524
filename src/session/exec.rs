//! Exec into a kept debug container: the mechanism for every command and for reused shells.
//!
//! Unlike attach, exec connects the streams before the process starts (nothing written early is
//! lost, no handshake needed), keeps stdout and stderr apart, and reports the exit code in its
//! final Status: `Success`, or `Failure` with reason `NonZeroExitCode` and a cause of type
//! `ExitCode` whose message is the number (128+N when a signal ended the process). It needs
//! only `create` on `pods/exec`.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use tokio::io::AsyncWrite;

use super::attach::Io;
use super::streams::{self, StdinPlan};
use crate::client::{Cluster, timed};
use crate::error::{ApiCall, Error, classify};

/// What to run where.
#[derive(Debug, Clone)]
pub struct ExecPlan<'a> {
    pub pod: &'a str,
    pub container: &'a str,
    /// The full argv (see `spec::exec_command`).
    pub command: Vec<String>,
    pub tty: bool,
    /// Forward stdin (`-i`, or a shell).
    pub stdin: bool,
}

/// The exit code an exec Status reports. Pure.
pub fn exit_code_of(status: Option<&Status>) -> Result<i32, String> {
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

/// Runs the plan with `io`; returns the process's exit code. A TTY session puts this process's
/// terminal in raw mode for its duration.
pub async fn exec_with<O, E>(
    cluster: &Cluster,
    plan: &ExecPlan<'_>,
    io: Io<O, E>,
) -> Result<i32, Error>
where
    O: AsyncWrite + Unpin + Send + 'static,
    E: AsyncWrite + Unpin + Send + 'static,
{
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = streams::params(plan.container, plan.stdin, plan.tty);
    let mut process = match timed(
        cluster.request_timeout,
        api.exec(plan.pod, plan.command.clone(), &params),
    )
    .await?
    {
        Ok(p) => p,
        Err(e) => {
            let err = classify(e, ApiCall::Exec, plan.pod, &cluster.scope());
            return Err(crate::inject::name_denied_verb(cluster, err, plan.pod).await);
        }
    };

    let guard = streams::raw_mode(plan.tty)?;
    let stdin_plan = StdinPlan {
        first: None,
        forward: true,
    };
    let status = streams::pump(&mut process, io, stdin_plan).await;
    drop(guard);
    tracing::debug!(?status, "exec ended");
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
}
