//! Waiting for the debug container: one watch on the pod (field selector on its name, from the
//! resourceVersion the PATCH returned, so no extra list), never polling, bounded by
//! `--timeout`. Progress (the waiting reason, once per change) goes to stderr unless `-q`.
//!
//! Fail fast: image and container-creation errors end the wait at once with the kubelet's
//! message (kubernetes#108135: `kubectl debug` waits forever on ErrImagePull).

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::Api;
use kube::api::{WatchEvent, WatchParams};

use crate::client::{Cluster, timed};
use crate::error::{ApiCall, Error, classify};
use crate::output::Printer;

/// Waiting reasons that will not resolve by themselves.
pub const FATAL_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Where the debug container stands, from one pod object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Not started yet; the waiting reason and message if any.
    Waiting {
        reason: Option<String>,
        message: Option<String>,
    },
    Running,
    /// Already ended (a quick command, or a crash).
    Terminated {
        exit_code: i32,
        reason: Option<String>,
    },
    /// A reason from [`FATAL_REASONS`].
    Failed {
        reason: String,
        message: String,
    },
    /// The pod itself stopped running.
    PodEnded {
        phase: String,
    },
}

/// The status of ephemeral container `name` in `pod`, if reported yet.
pub fn ephemeral_status<'a>(pod: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.ephemeral_container_statuses.as_ref())
        .and_then(|all| all.iter().find(|c| c.name == name))
}

/// Classifies one observation. Pure.
pub fn progress(pod: &Pod, name: &str) -> Progress {
    let state = ephemeral_status(pod, name).and_then(|s| s.state.as_ref());
    if let Some(state) = state {
        if state.running.is_some() {
            return Progress::Running;
        }
        if let Some(t) = &state.terminated {
            return Progress::Terminated {
                exit_code: t.exit_code,
                reason: t.reason.clone(),
            };
        }
        if let Some(w) = &state.waiting {
            let reason = w.reason.clone().unwrap_or_default();
            if FATAL_REASONS.contains(&reason.as_str()) {
                return Progress::Failed {
                    reason,
                    message: w.message.clone().unwrap_or_default(),
                };
            }
            return Progress::Waiting {
                reason: w.reason.clone(),
                message: w.message.clone(),
            };
        }
    }
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some(phase @ ("Succeeded" | "Failed")) => Progress::PodEnded {
            phase: phase.to_owned(),
        },
        _ => Progress::Waiting {
            reason: None,
            message: None,
        },
    }
}

/// A one-line progress text for a waiting state, e.g. `Pulling image ...` or `ContainerCreating`.
pub fn describe_waiting(reason: Option<&str>, message: Option<&str>) -> String {
    match (reason, message) {
        (Some(r), Some(m)) if !m.is_empty() => format!("{r}: {m}"),
        (Some(r), _) => r.to_owned(),
        (None, _) => "waiting for the kubelet".to_owned(),
    }
}

/// How the wait ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    Running,
    Terminated { exit_code: i32 },
}

/// Watches until the container runs or ends. `pod` is the PATCH response.
pub async fn until_started(
    cluster: &Cluster,
    pod: &Pod,
    name: &str,
    image: &str,
    timeout: Duration,
    printer: &Printer,
) -> Result<Started, Error> {
    let mut last: Option<String> = None;
    let work = watch_loop(cluster, pod, name, image, printer, &mut last);
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            what: format!("debug container {name:?} to start"),
            after: timeout,
            last,
        }),
    }
}

/// Outcome of one observation inside the loop.
fn step(
    observed: &Pod,
    pod_name: &str,
    name: &str,
    image: &str,
    printer: &Printer,
    last: &mut Option<String>,
) -> Option<Result<Started, Error>> {
    match progress(observed, name) {
        Progress::Running => Some(Ok(Started::Running)),
        Progress::Terminated { exit_code, .. } => Some(Ok(Started::Terminated { exit_code })),
        Progress::Failed { reason, message } => Some(Err(Error::ContainerStart {
            container: name.to_owned(),
            reason,
            message,
            image: image.to_owned(),
        })),
        Progress::PodEnded { phase } => Some(Err(Error::PodNotRunning {
            pod: pod_name.to_owned(),
            state: phase,
        })),
        Progress::Waiting { reason, message } => {
            let text = describe_waiting(reason.as_deref(), message.as_deref());
            if last.as_deref() != Some(text.as_str()) {
                printer.status(&format!("Waiting for {name}: {text}"));
                *last = Some(text);
            }
            None
        }
    }
}

async fn watch_loop(
    cluster: &Cluster,
    pod: &Pod,
    name: &str,
    image: &str,
    printer: &Printer,
    last: &mut Option<String>,
) -> Result<Started, Error> {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    watch_pod(cluster, pod, |p| {
        step(p, &pod_name, name, image, printer, last)
    })
    .await
}

/// How many times in a row a dropped watch (or one that cannot be opened) is opened again
/// before the wait gives up.
const RESUME_ATTEMPTS: u32 = 4;

/// Whether a watch that failed this way may be opened again: the connection broke (reset,
/// refused while the API server restarts, a read error mid-stream, a request timeout), as
/// opposed to an answer from the server (403, 404, ...), which would only repeat.
fn resumable(err: &Error) -> bool {
    match err {
        Error::Connect(_) | Error::RequestTimeout { .. } => true,
        Error::Api { source, .. } => matches!(
            source,
            kube::Error::ReadEvents(_) | kube::Error::HyperError(_) | kube::Error::Service(_)
        ),
        _ => false,
    }
}

/// The pause before resume attempt `n` (1-based): 250 ms, 500 ms, 1 s, 2 s.
fn resume_delay(n: u32) -> Duration {
    Duration::from_millis(250 << n.saturating_sub(1).min(3))
}

/// Watches one pod from `pod`'s resourceVersion, calling `check` on the first object and on
/// every change until it returns a result. A deleted pod ends the watch with an error; an
/// expired resourceVersion (410) re-reads the pod and goes on. A watch that ends or drops
/// (connection reset, API server restarting) is opened again from the last resourceVersion
/// seen, so no change is missed; after [`RESUME_ATTEMPTS`] failures in a row without an event
/// in between the error is returned. Callers bound the whole wait.
pub async fn watch_pod<R>(
    cluster: &Cluster,
    pod: &Pod,
    mut check: impl FnMut(&Pod) -> Option<Result<R, Error>>,
) -> Result<R, Error> {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    if let Some(done) = check(pod) {
        return done;
    }
    let mut rv = pod.metadata.resource_version.clone().unwrap_or_default();
    let params = WatchParams::default()
        .fields(&format!("metadata.name={pod_name}"))
        .timeout(290);
    let scope = cluster.scope();
    // Drops in a row without an event in between.
    let mut dropped = 0u32;
    loop {
        let opened = timed(cluster.request_timeout, api.watch(&params, &rv))
            .await
            .and_then(|r| r.map_err(|e| classify(e, ApiCall::WatchPod, &pod_name, &scope)));
        let stream = match opened {
            Ok(s) => s,
            Err(e) if resumable(&e) && dropped < RESUME_ATTEMPTS => {
                dropped += 1;
                tracing::debug!(error = %e, %rv, attempt = dropped, "watch dropped; resuming from the last resourceVersion");
                tokio::time::sleep(resume_delay(dropped)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut stream = stream.boxed();
        let mut events = 0u32;
        loop {
            let event = match stream.try_next().await {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) => {
                    let err = classify(e, ApiCall::WatchPod, &pod_name, &scope);
                    if !resumable(&err) || dropped >= RESUME_ATTEMPTS {
                        return Err(err);
                    }
                    dropped += 1;
                    tracing::debug!(error = %err, %rv, attempt = dropped, "watch dropped; resuming from the last resourceVersion");
                    break;
                }
            };
            events += 1;
            dropped = 0;
            match event {
                WatchEvent::Added(p) | WatchEvent::Modified(p) => {
                    if let Some(v) = &p.metadata.resource_version {
                        rv.clone_from(v);
                    }
                    if let Some(done) = check(&p) {
                        return done;
                    }
                }
                WatchEvent::Deleted(_) => return Err(Error::PodDeleted { pod: pod_name }),
                WatchEvent::Bookmark(b) => rv = b.metadata.resource_version,
                WatchEvent::Error(e) if e.code == 410 => {
                    // Our resourceVersion expired: read the pod again and go on from there.
                    let fresh = crate::resolve::get_pod(cluster, &pod_name).await?;
                    if let Some(done) = check(&fresh) {
                        return done;
                    }
                    rv = fresh.metadata.resource_version.unwrap_or_default();
                    break;
                }
                WatchEvent::Error(e) => {
                    return Err(classify(
                        kube::Error::Api(e),
                        ApiCall::WatchPod,
                        &pod_name,
                        &scope,
                    ));
                }
            }
        }
        if events == 0 {
            // Ended (or dropped) without a single event: don't spin on a broken connection.
            tokio::time::sleep(resume_delay(dropped.max(1))).await;
        }
        tracing::debug!(%rv, "watch ended; resuming from the last resourceVersion");
    }
}

/// After a session: the container's exit code from its terminated state, waiting at most
/// `bound` (the first read included) for the kubelet to report it. A pod that is gone or being
/// deleted is [`Error::PodDeleted`]: the session ended because the pod went away.
pub async fn exit_code(
    cluster: &Cluster,
    pod_name: &str,
    name: &str,
    bound: Duration,
) -> Result<i32, Error> {
    let deleted = || Error::PodDeleted {
        pod: pod_name.to_owned(),
    };
    let work = async {
        let pod = match crate::resolve::get_pod(cluster, pod_name).await {
            Err(Error::PodNotFound { .. }) => return Err(deleted()),
            r => r?,
        };
        watch_pod(cluster, &pod, |p| {
            if p.metadata.deletion_timestamp.is_some() {
                return Some(Err(deleted()));
            }
            match progress(p, name) {
                Progress::Terminated { exit_code, .. } => Some(Ok(exit_code)),
                Progress::PodEnded { phase } => Some(Err(Error::ExitCodeUnknown {
                    container: name.to_owned(),
                    reason: format!("the pod is {phase}"),
                })),
                _ => None,
            }
        })
        .await
    };
    match tokio::time::timeout(bound, work).await {
        Ok(r) => r,
        Err(_) => Err(Error::ExitCodeUnknown {
            container: name.to_owned(),
            reason: format!(
                "it is still running after {} (was the connection lost?)",
                crate::error::fmt_duration(bound)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    };

    use crate::target::fixtures::pod;

    fn with_state(state: ContainerState) -> Pod {
        let mut p = pod("api").container("app").ephemeral("debugger-x").build();
        p.status.as_mut().unwrap().ephemeral_container_statuses = Some(vec![ContainerStatus {
            name: "debugger-x".into(),
            state: Some(state),
            ..ContainerStatus::default()
        }]);
        p
    }

    fn waiting(reason: &str, message: &str) -> Pod {
        with_state(ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                message: Some(message.into()),
            }),
            ..ContainerState::default()
        })
    }

    #[test]
    fn no_status_yet_is_waiting() {
        let p = pod("api").container("app").build();
        assert_eq!(
            progress(&p, "debugger-x"),
            Progress::Waiting {
                reason: None,
                message: None
            }
        );
    }

    #[test]
    fn every_fatal_reason_fails_fast_with_the_kubelet_message() {
        for reason in FATAL_REASONS {
            let p = waiting(reason, "the kubelet says why");
            assert_eq!(
                progress(&p, "debugger-x"),
                Progress::Failed {
                    reason: (*reason).to_owned(),
                    message: "the kubelet says why".into()
                }
            );
        }
    }

    #[test]
    fn transient_reasons_keep_waiting() {
        for reason in ["ContainerCreating", "PodInitializing"] {
            assert!(matches!(
                progress(&waiting(reason, ""), "debugger-x"),
                Progress::Waiting { .. }
            ));
        }
        assert_eq!(
            describe_waiting(Some("ContainerCreating"), Some("")),
            "ContainerCreating"
        );
        assert_eq!(
            describe_waiting(Some("Pulling"), Some("image \"x\"")),
            "Pulling: image \"x\""
        );
    }

    #[test]
    fn running_and_terminated() {
        let p = with_state(ContainerState {
            running: Some(ContainerStateRunning::default()),
            ..ContainerState::default()
        });
        assert_eq!(progress(&p, "debugger-x"), Progress::Running);
        let p = with_state(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 3,
                reason: Some("Error".into()),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        });
        assert_eq!(
            progress(&p, "debugger-x"),
            Progress::Terminated {
                exit_code: 3,
                reason: Some("Error".into())
            }
        );
    }

    #[test]
    fn broken_connections_resume_and_answers_do_not() {
        let io = || kube::Error::ReadEvents(std::io::Error::other("connection reset"));
        let api = |source| Error::Api {
            call: ApiCall::WatchPod,
            source,
        };
        assert!(resumable(&api(io())));
        assert!(resumable(&Error::RequestTimeout {
            after: Duration::from_secs(1)
        }));
        assert!(!resumable(&Error::PodDeleted { pod: "api".into() }));
        assert!(!resumable(&Error::Unauthorized));
        assert!(!resumable(&api(
            kube::Error::LinesCodecMaxLineLengthExceeded
        )));
        let delays: Vec<u128> = (1..=5).map(|n| resume_delay(n).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 2000]);
    }

    #[test]
    fn pod_that_ended_stops_the_wait() {
        let p = pod("api").container("app").phase("Failed").build();
        assert_eq!(
            progress(&p, "debugger-x"),
            Progress::PodEnded {
                phase: "Failed".into()
            }
        );
    }

    #[test]
    fn step_maps_failures_to_errors_and_prints_changes_once() {
        let printer = Printer::with(true, false);
        let mut last = None;
        let p = waiting("ImagePullBackOff", "Back-off pulling image \"nope:1\"");
        let r = step(&p, "api", "debugger-x", "nope:1", &printer, &mut last).unwrap();
        let err = r.unwrap_err();
        assert_eq!(
            err.to_string(),
            "debug container \"debugger-x\" cannot start: ImagePullBackOff: Back-off pulling image \"nope:1\""
        );
        assert!(err.hint().unwrap().contains("--image"));
        let p = waiting("ContainerCreating", "");
        assert!(step(&p, "api", "debugger-x", "i", &printer, &mut last).is_none());
        assert_eq!(last.as_deref(), Some("ContainerCreating"));
    }
}
