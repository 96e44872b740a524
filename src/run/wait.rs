//! Waiting for the debug container: one watch on the pod (field selector on its name, from the
//! resourceVersion the PATCH returned, so no extra list), never polling, bounded by
//! `--timeout`, raced by a watch on the kubelet's events for the container, which say it started
//! up to a second before the status does, and say at once when the image or the start failed
//! (the status may say so many seconds later). Progress (the waiting reason, once per change)
//! goes to stderr unless `-q`.
//!
//! Fail fast: image and container-creation errors end the wait at once with the kubelet's
//! message (kubernetes#108135: `kubectl debug` waits forever on ErrImagePull).

use kube::ResourceExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

use crate::api::events::{EventsFrom, container_events};
use crate::api::watch::PodWatch;
use crate::connect::Cluster;
use crate::error::Error;
use crate::output::Printer;
use crate::plan::progress::{
    ContainerEvent, Progress, Started, describe_waiting, pod_pull, progress, pull_line,
};

/// Watches until the container runs or ends. `watch` is the pod's watch, its latest object the
/// PATCH response ([`EventsFrom::Patch`]) or the pod read (a kept container still starting); it
/// may be open already ([`crate::api::watch::read_and_watch`]).
///
/// Two sources race, both watches opened at once:
/// - the pod's status, which is authoritative (Running, Terminated, the kubelet's failure
///   reasons) but reaches the API only at the kubelet's next PLEG relist, up to a second after
///   the container started, and for some failures many seconds later;
/// - the kubelet's events for this container ([`container_events`]): `Started` as soon as the
///   runtime started it, `Failed` as soon as a pull or a start failed. Events can be missing
///   (not permitted to watch, dropped by the kubelet's per-pod event rate limit): then the status
///   decides.
///
/// Returns the pod watch too, still open.
pub(crate) async fn until_started(
    cluster: &Cluster,
    mut watch: PodWatch,
    name: &str,
    image: &str,
    timeout: Duration,
    events_from: EventsFrom,
    printer: &Printer,
) -> Result<(Started, PodWatch), Error> {
    let pod = watch.latest().clone();
    let pod = &pod;
    let pod_name = pod.name_any();
    let mut last: Option<String> = None;
    // While the kubelet pulls (its `Pulling` event, until `Pulled`), a line on a terminal
    // counts the time, drawn over itself every second (nothing on a pipe or with -q): since
    // when, and whether it is drawn (then erased before any other line).
    let pull_since: Mutex<Option<Instant>> = Mutex::new(None);
    let drawn = AtomicBool::new(false);
    let show = |text: &str| {
        if drawn.swap(false, Ordering::Relaxed) {
            printer.progress_done();
        }
        printer.status(&format!("Waiting for {name}: {text}"));
    };
    let draw = |since: Instant| {
        printer.progress(&pull_line(name, image, since.elapsed()));
        drawn.store(true, Ordering::Relaxed);
    };
    let on_event = |text: &str, pulling: bool| {
        let since = {
            let mut since = pull_since.lock().unwrap_or_else(PoisonError::into_inner);
            if !pulling {
                *since = None;
            } else if since.is_none() {
                *since = Some(Instant::now());
            }
            *since
        };
        show(text);
        // At once below the kubelet's line, then every second.
        if let Some(since) = since {
            draw(since);
        }
    };
    let ticker = async {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            let since = *pull_since.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(since) = since {
                draw(since);
            }
        }
    };
    let work = async {
        let status = watch.until(|p| match step(p, &pod_name, name, image) {
            Step::Done(r) => Some(r),
            Step::Waiting(text) => {
                if last.as_deref() != Some(text.as_str()) {
                    show(&text);
                    last = Some(text);
                }
                None
            }
        });
        tokio::select! {
            biased;
            r = status => r,
            () = ticker => unreachable!("the ticker never ends"),
            event = container_events(cluster, pod, name, events_from, &on_event) => match event {
                ContainerEvent::Started => {
                    tracing::debug!(container = name, "the kubelet's Started event came first");
                    Ok(Started::Running)
                }
                ContainerEvent::Failed { reason, message } => Err(Error::ContainerStart {
                    container: name.to_owned(),
                    reason,
                    message,
                    image: image.to_owned(),
                    pull: Box::new(pod_pull(pod)),
                }),
            }
        }
    };
    let outcome = tokio::time::timeout(timeout, work).await;
    if drawn.load(Ordering::Relaxed) {
        printer.progress_done();
    }
    match outcome {
        Ok(r) => r.map(|started| (started, watch)),
        Err(_) => Err(Error::Timeout {
            what: format!("debug container {name:?} to start"),
            after: timeout,
            last,
        }),
    }
}

/// What one observation of the pod means for the wait.
#[derive(Debug)]
enum Step {
    /// The wait is over: the container runs or ended, or it cannot start.
    Done(Result<Started, Error>),
    /// Still waiting, for this reason (shown when it changes).
    Waiting(String),
}

/// One observation of the pod, judged. Pure.
fn step(observed: &Pod, pod_name: &str, name: &str, image: &str) -> Step {
    match progress(observed, name) {
        Progress::Running => Step::Done(Ok(Started::Running)),
        Progress::Terminated { exit_code, .. } => Step::Done(Ok(Started::Terminated { exit_code })),
        Progress::Failed { reason, message } => Step::Done(Err(Error::ContainerStart {
            container: name.to_owned(),
            reason,
            message,
            image: image.to_owned(),
            pull: Box::new(pod_pull(observed)),
        })),
        Progress::PodEnded { phase } => Step::Done(Err(Error::PodNotRunning {
            pod: pod_name.to_owned(),
            state: phase,
        })),
        Progress::Waiting { reason, message } => {
            Step::Waiting(describe_waiting(reason.as_deref(), message.as_deref()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateWaiting, ContainerStatus};

    use crate::plan::target::fixtures::pod;

    fn waiting(reason: &str, message: &str) -> Pod {
        let mut p = pod("api").container("app").ephemeral("debugger-x").build();
        p.status.as_mut().unwrap().ephemeral_container_statuses = Some(vec![ContainerStatus {
            name: "debugger-x".into(),
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.into()),
                    message: Some(message.into()),
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }]);
        p
    }

    #[test]
    fn step_maps_failures_to_errors_and_waiting_to_its_reason() {
        let p = waiting("ImagePullBackOff", "Back-off pulling image \"nope:1\"");
        let Step::Done(Err(err)) = step(&p, "api", "debugger-x", "nope:1") else {
            panic!("a failure")
        };
        assert_eq!(
            err.to_string(),
            "debug container \"debugger-x\" cannot start: ImagePullBackOff: Back-off pulling image \"nope:1\""
        );
        assert!(err.hint().unwrap().contains("--image"));
        let p = waiting("ContainerCreating", "");
        let Step::Waiting(text) = step(&p, "api", "debugger-x", "i") else {
            panic!("waiting")
        };
        assert_eq!(text, "ContainerCreating");
    }
}
