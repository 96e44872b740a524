//! Waiting for the debug container: one watch on the pod (field selector on its name, from the
//! resourceVersion the PATCH returned, so no extra list), never polling, bounded by
//! `--timeout`, raced by a watch on the kubelet's events for the container, which say it started
//! up to a second before the status does, and say at once when the image or the start failed
//! (the status may say so many seconds later). Progress (the waiting reason, once per change)
//! goes to stderr unless `-q`.
//!
//! Fail fast: image and container-creation errors end the wait at once with the kubelet's
//! message (kubernetes#108135: `kubectl debug` waits forever on ErrImagePull).

use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use kube::Api;
use kube::api::{WatchEvent, WatchParams};

use crate::connect::{Cluster, timed};
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

/// Where the kubelet's events for a container can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsFrom {
    /// The container was added by the PATCH that returned the pod the wait starts from: its
    /// events can only come after that resourceVersion.
    Patch,
    /// The container was added earlier (a kept one still starting): the events that exist
    /// count too.
    Existing,
}

/// Watches until the container runs or ends. `watch` is the pod's watch, its latest object the
/// PATCH response ([`EventsFrom::Patch`]) or the pod read (a kept container still starting); it
/// may be open already ([`read_and_watch`]).
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
pub async fn until_started(
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
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let mut last: Option<String> = None;
    let work = async {
        let status = watch.until(|p| step(p, &pod_name, name, image, printer, &mut last));
        tokio::select! {
            biased;
            r = status => r,
            event = container_events(cluster, pod, name, events_from, printer) => match event {
                ContainerEvent::Started => {
                    tracing::debug!(container = name, "the kubelet's Started event came first");
                    Ok(Started::Running)
                }
                ContainerEvent::Failed { reason, message } => Err(Error::ContainerStart {
                    container: name.to_owned(),
                    reason,
                    message,
                    image: image.to_owned(),
                }),
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r.map(|started| (started, watch)),
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

/// The field selector for the kubelet's events about ephemeral container `name` in the pod
/// with `uid`. Pure.
pub fn container_events_selector(uid: &str, name: &str) -> String {
    format!("involvedObject.uid={uid},involvedObject.fieldPath=spec.ephemeralContainers{{{name}}}")
}

/// What the kubelet's events said about a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEvent {
    /// The runtime started it: exec works, though the pod status may say so up to a second later.
    Started,
    /// Pulling its image or starting it failed; `reason` as the pod status would say it where
    /// the events tell (`ErrImagePull`, `ErrImageNeverPull`, `InspectFailed`), else `Failed`.
    Failed { reason: String, message: String },
}

/// What the kubelet's events of one container have said so far: the kubelet reports a failed
/// pull and a failed start with the same reason, `Failed`, so which one it is comes from the
/// events before it (a pull was under way: `Pulling` without `Pulled`). Classified by event
/// reasons only, never by message text.
#[derive(Debug, Clone, Default)]
pub struct EventsSeen {
    pulling: bool,
}

impl EventsSeen {
    /// Folds in `event` if it is about ephemeral container `name` of the pod with `uid`
    /// (checked again on our side, whatever the server's field selector did); returns what it
    /// settles, and the progress text to show for it, if any. Pure.
    pub fn fold(
        &mut self,
        event: &Event,
        uid: &str,
        name: &str,
    ) -> (Option<ContainerEvent>, Option<String>) {
        let o = &event.involved_object;
        let ours = o.uid.as_deref() == Some(uid)
            && o.field_path.as_deref()
                == Some(format!("spec.ephemeralContainers{{{name}}}").as_str());
        if !ours {
            return (None, None);
        }
        let message = event.message.clone().unwrap_or_default();
        match event.reason.as_deref() {
            Some("Started") => (Some(ContainerEvent::Started), None),
            Some("Pulling") => {
                self.pulling = true;
                (None, Some(message))
            }
            Some("Pulled") => {
                // Said only after a pull: "already present on machine" is no progress.
                let pulled = std::mem::take(&mut self.pulling);
                (None, pulled.then_some(message))
            }
            Some("Failed") => {
                let reason = if self.pulling {
                    "ErrImagePull"
                } else {
                    "Failed"
                };
                (
                    Some(ContainerEvent::Failed {
                        reason: reason.to_owned(),
                        message,
                    }),
                    None,
                )
            }
            Some(reason @ ("ErrImageNeverPull" | "InspectFailed")) => (
                Some(ContainerEvent::Failed {
                    reason: reason.to_owned(),
                    message,
                }),
                None,
            ),
            _ => (None, None),
        }
    }
}

/// Resolves when the kubelet's events say ephemeral container `name` started or failed,
/// showing pull progress on the way. One watch on events, narrowed by a field selector to that
/// container: from the PATCH's resourceVersion ([`EventsFrom::Patch`]), else with the events
/// that exist first. Never resolves when events cannot be watched (any error, e.g. no `watch
/// events` permission) or say nothing decisive: the pod status then decides. Nothing here fails
/// the session by itself.
pub async fn container_events(
    cluster: &Cluster,
    pod: &Pod,
    name: &str,
    from: EventsFrom,
    printer: &Printer,
) -> ContainerEvent {
    let (Some(uid), Some(rv)) = (
        pod.metadata.uid.as_deref(),
        pod.metadata.resource_version.as_deref(),
    ) else {
        return std::future::pending().await;
    };
    let rv = match from {
        EventsFrom::Patch => rv,
        EventsFrom::Existing => "",
    };
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = WatchParams::default()
        .fields(&container_events_selector(uid, name))
        .timeout(290);
    let mut seen = EventsSeen::default();
    match timed(cluster.request_timeout, api.watch(&params, rv)).await {
        Ok(Ok(stream)) => {
            let mut stream = stream.boxed();
            loop {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Added(e) | WatchEvent::Modified(e))) => {
                        let (settled, progress) = seen.fold(&e, uid, name);
                        if let Some(text) = progress {
                            printer.status(&format!("Waiting for {name}: {text}"));
                        }
                        if let Some(settled) = settled {
                            return settled;
                        }
                    }
                    Ok(Some(WatchEvent::Error(e))) => {
                        tracing::debug!(code = e.code, reason = %e.reason, "event watch ended; waiting for the pod status");
                        break;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "event watch failed; waiting for the pod status");
                        break;
                    }
                }
            }
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "cannot watch events; waiting for the pod status");
        }
        Err(e) => tracing::debug!(error = %e, "cannot watch events; waiting for the pod status"),
    }
    std::future::pending().await
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

type PodEvents = BoxStream<'static, Result<WatchEvent<Pod>, kube::Error>>;

/// One pod, watched from a resourceVersion on: the latest object seen and the open watch. It
/// is kept between waits, so the wait for the exit code after a session goes on reading the
/// watch the start used, with no new request (unless the server ended it meanwhile: then it
/// is opened again from the last resourceVersion seen, so no change is missed).
///
/// [`PodWatch::until`] is cancel-safe: dropped at any await, the watch keeps its place.
pub struct PodWatch {
    api: Api<Pod>,
    scope: crate::error::Scope,
    request_timeout: Option<Duration>,
    pod_name: String,
    /// Boxed: a `Pod` is kilobytes, and the watch moves through futures.
    latest: Box<Pod>,
    rv: String,
    stream: Option<PodEvents>,
    /// Drops in a row without an event in between.
    dropped: u32,
    /// Events since the watch was last opened.
    events: u32,
}

impl std::fmt::Debug for PodWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodWatch")
            .field("pod", &self.pod_name)
            .field("resource_version", &self.rv)
            .field("open", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

impl PodWatch {
    /// A watch of `pod` from its resourceVersion; opened at the first [`PodWatch::until`].
    pub fn new(cluster: &Cluster, pod: &Pod) -> Self {
        Self {
            api: Api::namespaced(cluster.client.clone(), &cluster.namespace),
            scope: cluster.scope(),
            request_timeout: cluster.request_timeout,
            pod_name: pod.metadata.name.clone().unwrap_or_default(),
            latest: Box::new(slimmed(pod)),
            rv: pod.metadata.resource_version.clone().unwrap_or_default(),
            stream: None,
            dropped: 0,
            events: 0,
        }
    }

    /// The latest pod object seen.
    pub fn latest(&self) -> &Pod {
        &self.latest
    }

    /// Takes `pod` (a write's response, newer than what the watch has shown) as the latest
    /// object. An open watch goes on from where it is (it will show the write too); one not
    /// opened yet starts after the write.
    pub fn observe(&mut self, pod: &Pod) {
        *self.latest = slimmed(pod);
        if self.stream.is_none()
            && let Some(rv) = &pod.metadata.resource_version
        {
            self.rv.clone_from(rv);
        }
    }

    fn classify(&self, e: kube::Error) -> Error {
        classify(e, ApiCall::WatchPod, &self.pod_name, &self.scope)
    }

    /// Calls `check` on the latest object seen, then on every change, until it returns a
    /// result. A deleted pod ends the watch with an error; an expired resourceVersion (410)
    /// re-reads the pod and goes on. A watch that ends or drops (connection reset, API server
    /// restarting) is opened again from the last resourceVersion seen; after
    /// [`RESUME_ATTEMPTS`] failures in a row without an event in between the error is
    /// returned. Callers bound the whole wait.
    pub async fn until<R>(
        &mut self,
        mut check: impl FnMut(&Pod) -> Option<Result<R, Error>>,
    ) -> Result<R, Error> {
        if let Some(done) = check(&self.latest) {
            return done;
        }
        loop {
            let Some(stream) = self.stream.as_mut() else {
                let params = WatchParams::default()
                    .fields(&format!("metadata.name={}", self.pod_name))
                    .timeout(290);
                let opened = timed(self.request_timeout, self.api.watch(&params, &self.rv))
                    .await
                    .and_then(|r| r.map_err(|e| self.classify(e)));
                match opened {
                    Ok(s) => {
                        self.stream = Some(s.boxed());
                        self.events = 0;
                    }
                    Err(e) if resumable(&e) && self.dropped < RESUME_ATTEMPTS => {
                        self.dropped += 1;
                        tracing::debug!(error = %e, rv = %self.rv, attempt = self.dropped, "watch dropped; resuming from the last resourceVersion");
                        tokio::time::sleep(resume_delay(self.dropped)).await;
                    }
                    Err(e) => return Err(e),
                }
                continue;
            };
            let event = match stream.try_next().await {
                Ok(Some(event)) => event,
                Ok(None) => {
                    self.stream = None;
                    tracing::debug!(rv = %self.rv, "watch ended; resuming from the last resourceVersion");
                    if self.events == 0 {
                        // Ended without a single event: don't spin on a broken connection.
                        tokio::time::sleep(resume_delay(self.dropped.max(1))).await;
                    }
                    continue;
                }
                Err(e) => {
                    self.stream = None;
                    let err = self.classify(e);
                    if !resumable(&err) || self.dropped >= RESUME_ATTEMPTS {
                        return Err(err);
                    }
                    self.dropped += 1;
                    tracing::debug!(error = %err, rv = %self.rv, attempt = self.dropped, "watch dropped; resuming from the last resourceVersion");
                    if self.events == 0 {
                        tokio::time::sleep(resume_delay(self.dropped)).await;
                    }
                    continue;
                }
            };
            self.events += 1;
            self.dropped = 0;
            match event {
                WatchEvent::Added(mut p) | WatchEvent::Modified(mut p) => {
                    if let Some(v) = &p.metadata.resource_version {
                        self.rv.clone_from(v);
                    }
                    crate::api::pods::slim(&mut p);
                    *self.latest = p;
                    if let Some(done) = check(&self.latest) {
                        return done;
                    }
                }
                WatchEvent::Deleted(_) => {
                    return Err(Error::PodDeleted {
                        pod: self.pod_name.clone(),
                    });
                }
                WatchEvent::Bookmark(b) => self.rv = b.metadata.resource_version,
                WatchEvent::Error(e) if e.code == 410 => {
                    // Our resourceVersion expired: read the pod again and go on from there.
                    self.stream = None;
                    let fresh = timed(self.request_timeout, self.api.get(&self.pod_name))
                        .await?
                        .map_err(|e| classify(e, ApiCall::GetPod, &self.pod_name, &self.scope))?;
                    self.rv = fresh.metadata.resource_version.clone().unwrap_or_default();
                    *self.latest = slimmed(&fresh);
                    if let Some(done) = check(&self.latest) {
                        return done;
                    }
                }
                WatchEvent::Error(e) => return Err(self.classify(kube::Error::Api(e))),
            }
        }
    }
}

/// The annotation of the bookmark that ends the initial events of a `sendInitialEvents` watch.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// How long the initial events of a pod may take before the plugin reads the pod with a GET
/// instead: only a server that takes `sendInitialEvents` without sending the closing bookmark
/// would make it wait this long.
const INITIAL_EVENTS_BOUND: Duration = Duration::from_secs(5);

/// What the first events of a `sendInitialEvents` watch said about the pod. Pure.
#[derive(Debug, Clone, PartialEq)]
pub enum Initial {
    /// Not told yet.
    Pending,
    /// The initial events ended: the pod (if it exists) and where the watch stands.
    Done {
        found: bool,
        resource_version: String,
    },
    /// The server does not stream initial events here: read the pod otherwise.
    Unsupported,
}

/// One event of a `sendInitialEvents` watch before the initial events end: the pod is kept in
/// `found`. Pure.
pub fn initial_event(event: WatchEvent<Pod>, found: &mut Option<Pod>) -> Initial {
    match event {
        WatchEvent::Added(mut p) | WatchEvent::Modified(mut p) => {
            crate::api::pods::slim(&mut p);
            *found = Some(p);
            Initial::Pending
        }
        WatchEvent::Deleted(_) => {
            *found = None;
            Initial::Pending
        }
        WatchEvent::Bookmark(b) => {
            if b.metadata
                .annotations
                .get(INITIAL_EVENTS_END)
                .map(String::as_str)
                == Some("true")
            {
                Initial::Done {
                    found: found.is_some(),
                    resource_version: b.metadata.resource_version,
                }
            } else {
                Initial::Pending
            }
        }
        WatchEvent::Error(_) => Initial::Unsupported,
    }
}

/// Reads pod `name` with one watch that starts with the pod's current state
/// (`sendInitialEvents=true`: Kubernetes 1.27+ with the WatchList feature, on by default in
/// 1.32 and from 1.34), and keeps that watch open for the wait: one request instead of a GET
/// and a watch. `Ok(None)` when the server does not offer it (WatchList off, older servers,
/// which refuse the parameters with 400 or 422) or the watch is not permitted: the caller
/// GETs the pod then. A pod that does not exist is [`Error::PodNotFound`].
pub async fn read_and_watch(
    cluster: &Cluster,
    name: &str,
) -> Result<Option<(Pod, PodWatch)>, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = WatchParams::streaming_lists()
        .fields(&format!("metadata.name={name}"))
        .timeout(290);
    let stream = match timed(cluster.request_timeout, api.watch(&params, "")).await? {
        Ok(s) => s,
        Err(e) => {
            let status = match &e {
                kube::Error::Api(s) => Some(s.code),
                _ => None,
            };
            return match status {
                Some(400 | 403 | 405 | 422) => {
                    tracing::debug!(error = %e, "no watch with initial events; reading the pod");
                    Ok(None)
                }
                _ => Err(classify(e, ApiCall::WatchPod, name, &cluster.scope())),
            };
        }
    };
    let mut stream = stream.boxed();
    let mut found = None;
    let read = async {
        loop {
            match stream.try_next().await {
                Ok(Some(event)) => match initial_event(event, &mut found) {
                    Initial::Pending => {}
                    other => return Ok(other),
                },
                Ok(None) => return Ok(Initial::Unsupported),
                Err(e) => return Err(classify(e, ApiCall::WatchPod, name, &cluster.scope())),
            }
        }
    };
    let outcome = match tokio::time::timeout(INITIAL_EVENTS_BOUND, read).await {
        Ok(r) => r?,
        Err(_) => Initial::Unsupported,
    };
    match (outcome, found) {
        (
            Initial::Done {
                found: true,
                resource_version,
            },
            Some(pod),
        ) => {
            let mut watch = PodWatch::new(cluster, &pod);
            watch.rv = resource_version;
            watch.stream = Some(stream);
            Ok(Some((pod, watch)))
        }
        (Initial::Done { .. }, _) => Err(Error::PodNotFound {
            name: name.to_owned(),
            scope: cluster.scope(),
        }),
        _ => {
            tracing::debug!("the watch sent no initial events; reading the pod");
            Ok(None)
        }
    }
}

fn slimmed(pod: &Pod) -> Pod {
    let mut p = pod.clone();
    crate::api::pods::slim(&mut p);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    };

    use crate::plan::target::fixtures::pod;

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

    #[test]
    fn the_kubelets_events_settle_the_wait_for_this_container_only() {
        use k8s_openapi::api::core::v1::ObjectReference;
        assert_eq!(
            container_events_selector("u-1", "debugger-x"),
            "involvedObject.uid=u-1,involvedObject.fieldPath=spec.ephemeralContainers{debugger-x}"
        );
        let event = |uid: &str, path: &str, reason: &str, message: &str| Event {
            involved_object: ObjectReference {
                uid: Some(uid.into()),
                field_path: Some(path.into()),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            ..Event::default()
        };
        let ours = "spec.ephemeralContainers{debugger-x}";
        let fold = |seen: &mut EventsSeen, e: &Event| seen.fold(e, "u-1", "debugger-x");
        let mut seen = EventsSeen::default();
        assert_eq!(
            fold(&mut seen, &event("u-1", ours, "Started", "")),
            (Some(ContainerEvent::Started), None)
        );
        // Another pod, another container, another list: not ours.
        for (uid, path) in [
            ("u-2", ours),
            ("u-1", "spec.ephemeralContainers{debugger-y}"),
            ("u-1", "spec.containers{debugger-x}"),
        ] {
            assert_eq!(
                fold(&mut seen, &event(uid, path, "Started", "")),
                (None, None)
            );
        }
        // A failed pull: `Failed` after `Pulling`, with the kubelet's message.
        let mut seen = EventsSeen::default();
        assert_eq!(
            fold(
                &mut seen,
                &event("u-1", ours, "Pulling", "Pulling image \"nope:1\"")
            ),
            (None, Some("Pulling image \"nope:1\"".into()))
        );
        assert_eq!(
            fold(
                &mut seen,
                &event(
                    "u-1",
                    ours,
                    "Failed",
                    "Failed to pull image \"nope:1\": not found"
                )
            ),
            (
                Some(ContainerEvent::Failed {
                    reason: "ErrImagePull".into(),
                    message: "Failed to pull image \"nope:1\": not found".into()
                }),
                None
            )
        );
        // A failed start: `Failed` with no pull under way; "already present" is no progress.
        let mut seen = EventsSeen::default();
        assert_eq!(
            fold(
                &mut seen,
                &event("u-1", ours, "Pulled", "already present on machine")
            ),
            (None, None)
        );
        assert_eq!(
            fold(&mut seen, &event("u-1", ours, "Created", "")),
            (None, None)
        );
        assert!(matches!(
            fold(&mut seen, &event("u-1", ours, "Failed", "Error: runAsNonRoot")),
            (Some(ContainerEvent::Failed { ref reason, .. }), None) if reason == "Failed"
        ));
        for reason in ["ErrImageNeverPull", "InspectFailed"] {
            assert!(matches!(
                fold(&mut EventsSeen::default(), &event("u-1", ours, reason, "m")),
                (Some(ContainerEvent::Failed { reason: ref r, .. }), None) if r == reason
            ));
        }
    }

    #[test]
    fn initial_events_end_at_the_annotated_bookmark() {
        use kube::core::watch::{Bookmark, BookmarkMeta};
        let bookmark = |rv: &str, end: bool| {
            let mut annotations = std::collections::BTreeMap::new();
            if end {
                annotations.insert(INITIAL_EVENTS_END.to_owned(), "true".to_owned());
            }
            WatchEvent::Bookmark(Bookmark {
                types: kube::core::TypeMeta::default(),
                metadata: BookmarkMeta {
                    resource_version: rv.to_owned(),
                    annotations,
                },
            })
        };
        let mut found = None;
        let p = pod("api").container("app").build();
        assert_eq!(
            initial_event(WatchEvent::Added(p), &mut found),
            Initial::Pending
        );
        assert!(found.is_some());
        assert_eq!(
            initial_event(bookmark("7", false), &mut found),
            Initial::Pending
        );
        assert_eq!(
            initial_event(bookmark("9", true), &mut found),
            Initial::Done {
                found: true,
                resource_version: "9".into()
            }
        );
        let mut none = None;
        assert_eq!(
            initial_event(bookmark("9", true), &mut none),
            Initial::Done {
                found: false,
                resource_version: "9".into()
            }
        );
        let gone = kube::core::Status::failure("too old", "Expired").with_code(410);
        assert_eq!(
            initial_event(WatchEvent::Error(gone.boxed()), &mut none),
            Initial::Unsupported
        );
    }
}
