//! Where a debug container stands, from a pod object and the kubelet's events: pure
//! classification for the wait (`run::wait`). Most of this file is its table tests, one per
//! kubelet state and event reason.

use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use kube::api::WatchEvent;

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
