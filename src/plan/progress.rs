//! Where a debug container stands, from a pod object and the kubelet's events: pure
//! classification for the wait (`run::wait`), and for a pod of ours (`run::ours`: its
//! progress, the role of a container that fails, the init container a copy is stuck on). Most of this file is its table tests, one per
//! kubelet state and event reason.

use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use kube::api::WatchEvent;

use crate::model::PodPull;
use crate::plan::holder::HOLDER_INIT;

/// Waiting reasons that will not resolve by themselves.
pub(crate) const FATAL_REASONS: &[&str] = &[
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
pub(crate) enum Progress {
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
pub(crate) fn ephemeral_status<'a>(pod: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.ephemeral_container_statuses.as_ref())
        .and_then(|all| all.iter().find(|c| c.name == name))
}

/// What the kubelet pulls an ephemeral container's image of `pod` with: the pod's
/// `imagePullSecrets` and service account. Pure.
pub(crate) fn pod_pull(pod: &Pod) -> PodPull {
    let spec = pod.spec.as_ref();
    PodPull {
        secrets: spec
            .and_then(|s| s.image_pull_secrets.as_ref())
            .into_iter()
            .flatten()
            .map(|r| r.name.clone())
            .filter(|n| !n.is_empty())
            .collect(),
        service_account: spec
            .and_then(|s| s.service_account_name.clone())
            .filter(|n| !n.is_empty()),
    }
}

/// Classifies one observation. Pure.
pub(crate) fn progress(pod: &Pod, name: &str) -> Progress {
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

/// Where a pod of ours (a copy, a node pod) stands on its way to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PodProgress {
    /// Not there yet: what it waits for, as a progress line.
    Waiting(String),
    /// The toolbox runs, and so does the held container of a copy.
    Running,
    /// A container cannot start, or ended: its name, whether it is an init container, the
    /// reason and the kubelet's (or the container's) message.
    Failed {
        container: String,
        init: bool,
        reason: String,
        message: String,
    },
    /// The pod ended, or is being deleted.
    Ended { state: String },
}

/// How a container's state stands in the way. Pure.
fn blocked(
    state: Option<&k8s_openapi::api::core::v1::ContainerState>,
) -> Option<(bool, String, String)> {
    let state = state?;
    if let Some(w) = &state.waiting {
        let reason = w.reason.clone().unwrap_or_default();
        return Some((
            FATAL_REASONS.contains(&reason.as_str()),
            reason,
            w.message.clone().unwrap_or_default(),
        ));
    }
    state.terminated.as_ref().map(|t| {
        (
            true,
            t.reason.clone().unwrap_or_else(|| "Exited".to_owned()),
            match t.message.as_deref().map(str::trim) {
                Some(m) if !m.is_empty() => format!("{m} (exit code {})", t.exit_code),
                _ => format!("exit code {}", t.exit_code),
            },
        )
    })
}

/// Classifies one observation of a pod of ours: its init containers first (one that failed,
/// or the one it waits for), then the `toolbox` and the `held` container (a copy's target):
/// both must run. Pure.
pub(crate) fn pod_progress(pod: &Pod, toolbox: &str, held: Option<&str>) -> PodProgress {
    if pod.metadata.deletion_timestamp.is_some() {
        return PodProgress::Ended {
            state: "being deleted".to_owned(),
        };
    }
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let sidecar = |name: &str| {
        spec.and_then(|s| s.init_containers.as_ref())
            .and_then(|all| all.iter().find(|c| c.name == name))
            .is_some_and(|c| c.restart_policy.as_deref() == Some("Always"))
    };
    let mut waiting_for: Option<String> = None;
    for s in status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
    {
        let state = s.state.as_ref();
        let done = state
            .and_then(|st| st.terminated.as_ref())
            .is_some_and(|t| t.exit_code == 0);
        let running = state.is_some_and(|st| st.running.is_some());
        if done || (running && sidecar(&s.name)) {
            continue;
        }
        match blocked(state) {
            Some((true, reason, message)) => {
                return PodProgress::Failed {
                    container: s.name.clone(),
                    init: true,
                    reason,
                    message,
                };
            }
            Some((false, reason, _)) if waiting_for.is_none() => {
                waiting_for = Some(format!("init container {}: {reason}", s.name));
            }
            _ if waiting_for.is_none() => {
                waiting_for = Some(format!("init container {} running", s.name));
            }
            _ => {}
        }
    }
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let main = |name: &str| {
        status
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|all| all.iter().find(|c| c.name == name))
            .and_then(|c| c.state.as_ref())
    };
    let mut all_run = waiting_for.is_none();
    for name in std::iter::once(toolbox).chain(held) {
        let state = main(name);
        if state.is_some_and(|s| s.running.is_some()) {
            continue;
        }
        all_run = false;
        match blocked(state) {
            Some((true, reason, message)) => {
                return PodProgress::Failed {
                    container: name.to_owned(),
                    init: false,
                    reason,
                    message,
                };
            }
            Some((false, reason, message)) if waiting_for.is_none() => {
                waiting_for = Some(describe_waiting(Some(&reason), Some(&message)));
            }
            _ => {}
        }
    }
    if all_run {
        return PodProgress::Running;
    }
    if matches!(phase, "Failed" | "Succeeded") {
        let reason = status.and_then(|s| s.reason.as_deref());
        let message = status.and_then(|s| s.message.as_deref());
        return PodProgress::Ended {
            state: match (reason, message) {
                (Some(r), Some(m)) => format!("{phase} ({r}: {m})"),
                (Some(r), None) => format!("{phase} ({r})"),
                _ => phase.to_owned(),
            },
        };
    }
    if let Some(w) = waiting_for {
        return PodProgress::Waiting(w);
    }
    let unscheduled = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|all| all.iter().find(|c| c.type_ == "PodScheduled"))
        .filter(|c| c.status == "False");
    if let Some(c) = unscheduled {
        return PodProgress::Waiting(describe_waiting(
            c.reason.as_deref().or(Some("Unschedulable")),
            c.message.as_deref(),
        ));
    }
    PodProgress::Waiting(if status.and_then(|s| s.start_time.as_ref()).is_some() {
        "ContainerCreating".to_owned()
    } else {
        "Pending".to_owned()
    })
}

/// A one-line progress text for a waiting state, e.g. `Pulling image ...` or `ContainerCreating`.
pub(crate) fn describe_waiting(reason: Option<&str>, message: Option<&str>) -> String {
    match (reason, message) {
        (Some(r), Some(m)) if !m.is_empty() => format!("{r}: {m}"),
        (Some(r), _) => r.to_owned(),
        (None, _) => "waiting for the kubelet".to_owned(),
    }
}

/// How the wait ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Started {
    Running,
    Terminated { exit_code: i32 },
}

/// The field selector for the kubelet's events about ephemeral container `name` in the pod
/// with `uid`. Pure.
pub(crate) fn container_events_selector(uid: &str, name: &str) -> String {
    format!("involvedObject.uid={uid},involvedObject.fieldPath=spec.ephemeralContainers{{{name}}}")
}

/// What the kubelet's events said about a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContainerEvent {
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
pub(crate) struct EventsSeen {
    pulling: bool,
}

impl EventsSeen {
    /// A pull is under way: the kubelet said `Pulling` and neither `Pulled` nor a failure yet.
    pub(crate) fn pulling(&self) -> bool {
        self.pulling
    }

    /// Folds in `event` if it is about ephemeral container `name` of the pod with `uid`
    /// (checked again on our side, whatever the server's field selector did); returns what it
    /// settles, and the progress text to show for it, if any. Pure.
    pub(crate) fn fold(
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

/// The progress line drawn over itself on a terminal while the kubelet pulls the image: the
/// kubelet reports no bytes until the pull is done (its `Pulled` event gives the size), so
/// the time it has taken so far. Pure.
pub(crate) fn pull_line(name: &str, image: &str, elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs();
    let took = if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    };
    format!("Waiting for {name}: the kubelet is pulling {image} ({took} so far)")
}

/// The annotation of the bookmark that ends the initial events of a `sendInitialEvents` watch.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// What the first events of a `sendInitialEvents` watch said about the pod. Pure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Initial {
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
pub(crate) fn initial_event(event: WatchEvent<Pod>, found: &mut Option<Pod>) -> Initial {
    match event {
        WatchEvent::Added(mut p) | WatchEvent::Modified(mut p) => {
            crate::plan::slim::slim(&mut p);
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

/// Which container of a pod of ours failed to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Our init container that writes the holder (copies).
    Holder,
    /// Our toolbox.
    Toolbox,
    /// The copy's target, held.
    Held,
    /// One of the copied pod's own containers or init containers.
    Pods,
}

/// The role of a container in a pod of ours, by name.
pub(crate) fn role(name: &str, toolbox: &str, held: Option<&str>) -> Role {
    if name == HOLDER_INIT {
        Role::Holder
    } else if name == toolbox {
        Role::Toolbox
    } else if Some(name) == held {
        Role::Held
    } else {
        Role::Pods
    }
}

/// The first of the copied pod's own init containers that has not finished, if any (not ours,
/// not a running native sidecar). Pure.
pub(crate) fn stuck_init(pod: &Pod) -> Option<String> {
    let sidecars: Vec<&str> = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    pod.status
        .as_ref()?
        .init_container_statuses
        .as_ref()?
        .iter()
        .find(|s| {
            s.name != HOLDER_INIT
                && !sidecars.contains(&s.name.as_str())
                && s.state
                    .as_ref()
                    .and_then(|st| st.terminated.as_ref())
                    .is_none_or(|t| t.exit_code != 0)
        })
        .map(|s| s.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
        ContainerStateWaiting,
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

    /// An event of the kubelet about the object `uid`, field `path`.
    fn event(uid: &str, path: &str, reason: &str, message: &str) -> Event {
        Event {
            involved_object: k8s_openapi::api::core::v1::ObjectReference {
                uid: Some(uid.into()),
                field_path: Some(path.into()),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            ..Event::default()
        }
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
    fn the_kubelets_events_settle_the_wait_for_this_container_only() {
        assert_eq!(
            container_events_selector("u-1", "debugger-x"),
            "involvedObject.uid=u-1,involvedObject.fieldPath=spec.ephemeralContainers{debugger-x}"
        );
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
    fn a_pull_is_under_way_from_pulling_to_pulled() {
        let ours = "spec.ephemeralContainers{debugger-x}";
        let mut seen = EventsSeen::default();
        assert!(!seen.pulling());
        seen.fold(
            &event("u-1", ours, "Pulling", "Pulling image \"t:1\""),
            "u-1",
            "debugger-x",
        );
        assert!(seen.pulling());
        // Another container's events change nothing.
        seen.fold(
            &event("u-1", "spec.containers{app}", "Pulled", "done"),
            "u-1",
            "debugger-x",
        );
        assert!(seen.pulling());
        seen.fold(
            &event("u-1", ours, "Pulled", "Successfully pulled"),
            "u-1",
            "debugger-x",
        );
        assert!(!seen.pulling());
    }

    #[test]
    fn the_pull_line_counts_seconds_then_minutes() {
        use std::time::Duration;
        assert_eq!(
            pull_line("debugger-x", "r:5000/t:1", Duration::from_millis(12_900)),
            "Waiting for debugger-x: the kubelet is pulling r:5000/t:1 (12s so far)"
        );
        assert_eq!(
            pull_line("d", "t:1", Duration::from_secs(125)),
            "Waiting for d: the kubelet is pulling t:1 (2m05s so far)"
        );
    }

    #[test]
    fn pod_pull_reads_the_pods_secrets_and_service_account() {
        use k8s_openapi::api::core::v1::LocalObjectReference;
        let mut p = pod("api").container("app").build();
        assert_eq!(pod_pull(&p), PodPull::default());
        let spec = p.spec.as_mut().unwrap();
        spec.image_pull_secrets = Some(vec![
            LocalObjectReference {
                name: "regcred".into(),
            },
            LocalObjectReference {
                name: String::new(),
            },
        ]);
        spec.service_account_name = Some("api".into());
        assert_eq!(
            pod_pull(&p),
            PodPull {
                secrets: vec!["regcred".into()],
                service_account: Some("api".into()),
            }
        );
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
    #[test]
    fn a_pod_of_ours_runs_when_its_toolbox_and_held_container_run() {
        use crate::plan::target::fixtures::pod;
        use k8s_openapi::api::core::v1::{
            ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
            ContainerStatus, PodCondition,
        };
        let state = |s: &str| match s {
            "running" => ContainerState {
                running: Some(ContainerStateRunning::default()),
                ..ContainerState::default()
            },
            "ok" => ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 0,
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            },
            "failed" => ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 1,
                    reason: Some("Error".into()),
                    message: Some("this node is aarch64".into()),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            },
            reason => ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.into()),
                    message: Some("m".into()),
                }),
                ..ContainerState::default()
            },
        };
        let with = |inits: &[(&str, &str)], mains: &[(&str, &str)]| {
            let mut p = pod("c").container("app").container("dbg").build();
            let st = p.status.as_mut().unwrap();
            st.phase = Some("Pending".into());
            st.init_container_statuses = Some(
                inits
                    .iter()
                    .map(|(n, s)| ContainerStatus {
                        name: (*n).into(),
                        state: Some(state(s)),
                        ..ContainerStatus::default()
                    })
                    .collect(),
            );
            st.container_statuses = Some(
                mains
                    .iter()
                    .map(|(n, s)| ContainerStatus {
                        name: (*n).into(),
                        state: Some(state(s)),
                        ..ContainerStatus::default()
                    })
                    .collect(),
            );
            p
        };
        let run = |p: &Pod| pod_progress(p, "dbg", Some("app"));
        assert_eq!(
            run(&with(
                &[("holder", "ok")],
                &[("app", "running"), ("dbg", "running")]
            )),
            PodProgress::Running
        );
        // A node pod has no held container.
        assert_eq!(
            pod_progress(&with(&[], &[("dbg", "running")]), "dbg", None),
            PodProgress::Running
        );
        assert_eq!(
            run(&with(&[("holder", "ok"), ("wait-db", "running")], &[])),
            PodProgress::Waiting("init container wait-db running".into())
        );
        assert_eq!(
            run(&with(&[("holder", "PodInitializing")], &[])),
            PodProgress::Waiting("init container holder: PodInitializing".into())
        );
        assert_eq!(
            run(&with(&[("holder", "failed")], &[])),
            PodProgress::Failed {
                container: "holder".into(),
                init: true,
                reason: "Error".into(),
                message: "this node is aarch64 (exit code 1)".into()
            }
        );
        assert_eq!(
            run(&with(
                &[("holder", "ok")],
                &[("app", "ErrImagePull"), ("dbg", "running")]
            )),
            PodProgress::Failed {
                container: "app".into(),
                init: false,
                reason: "ErrImagePull".into(),
                message: "m".into()
            }
        );
        // The holder ended: the held container is gone, say so.
        assert!(matches!(
            run(&with(&[("holder", "ok")], &[("app", "failed"), ("dbg", "running")])),
            PodProgress::Failed { ref container, init: false, .. } if container == "app"
        ));
        assert_eq!(
            run(&with(&[("holder", "ok")], &[("app", "ContainerCreating")])),
            PodProgress::Waiting("ContainerCreating: m".into())
        );
        // Unschedulable, then ended by its deadline.
        let mut p = with(&[], &[]);
        p.status.as_mut().unwrap().init_container_statuses = None;
        p.status.as_mut().unwrap().container_statuses = None;
        p.status.as_mut().unwrap().conditions = Some(vec![PodCondition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some("Unschedulable".into()),
            message: Some("0/1 nodes are available".into()),
            ..PodCondition::default()
        }]);
        assert_eq!(
            run(&p),
            PodProgress::Waiting("Unschedulable: 0/1 nodes are available".into())
        );
        p.status.as_mut().unwrap().phase = Some("Failed".into());
        p.status.as_mut().unwrap().reason = Some("DeadlineExceeded".into());
        assert_eq!(
            run(&p),
            PodProgress::Ended {
                state: "Failed (DeadlineExceeded)".into()
            }
        );
    }

    #[test]
    fn the_stuck_init_container_is_the_pods_own_unfinished_one() {
        let status = |name: &str, state: ContainerState| ContainerStatus {
            name: name.into(),
            state: Some(state),
            ..ContainerStatus::default()
        };
        let done = ContainerState {
            terminated: Some(ContainerStateTerminated::default()),
            ..ContainerState::default()
        };
        let running = ContainerState {
            running: Some(ContainerStateRunning::default()),
            ..ContainerState::default()
        };
        let mut p = pod("c").container("app").build();
        p.spec.as_mut().unwrap().init_containers = Some(vec![
            Container {
                name: "proxy".into(),
                restart_policy: Some("Always".into()),
                ..Container::default()
            },
            Container {
                name: "wait-db".into(),
                ..Container::default()
            },
        ]);
        p.status.as_mut().unwrap().init_container_statuses = Some(vec![
            status(HOLDER_INIT, done.clone()),
            status("proxy", running.clone()),
            status("wait-db", running),
        ]);
        assert_eq!(stuck_init(&p).as_deref(), Some("wait-db"));
        p.status
            .as_mut()
            .unwrap()
            .init_container_statuses
            .as_mut()
            .unwrap()[2] = status("wait-db", done);
        assert_eq!(stuck_init(&p), None);
        assert_eq!(
            role("distroless-debug-holder", "dbg", Some("app")),
            Role::Holder
        );
        assert_eq!(role("app", "dbg", Some("app")), Role::Held);
        assert_eq!(role("side", "dbg", Some("app")), Role::Pods);
    }
}
