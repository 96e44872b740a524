//! The pods this tool creates (copies of pods, node pods): how they are marked, read back for
//! `list`, and judged done for `list --gc`. Pure.
//!
//! A pod can carry labels and annotations, which ephemeral containers cannot: the label
//! [`MODE_LABEL`] marks ours (and is what `list` and `--gc` select by), and the audit record
//! (who, when, why, time to live, tool version) is in annotations under [`PREFIX`], as well as
//! in the toolbox container's environment like every container of ours.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crate::plan::audit::Audit;
use crate::plan::progress::Role;
pub(crate) use crate::plan::records::Made;
use crate::plan::records::{Record, State};

/// Prefix of our labels and annotations.
pub(crate) const PREFIX: &str = "distroless-debug/";

/// The label that marks a pod of ours; its value is what the pod is ([`Made`]).
pub(crate) const MODE_LABEL: &str = "distroless-debug/mode";

/// The label selector of our pods.
pub(crate) fn selector() -> String {
    MODE_LABEL.to_owned()
}

/// What the annotations of a new pod of ours record besides the audit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Marks<'a> {
    /// The toolbox container.
    pub(crate) container: &'a str,
    pub(crate) image: &'a str,
    pub(crate) profile: &'a str,
    /// The copied pod (copies).
    pub(crate) copy_of: Option<&'a str>,
    /// The held container (copies).
    pub(crate) target: Option<&'a str>,
    /// The node (node pods).
    pub(crate) node: Option<&'a str>,
    /// `--keep`: the pod is left after the session.
    pub(crate) keep: bool,
}

fn key(k: &str) -> String {
    format!("{PREFIX}{k}")
}

/// The annotations of a new pod of ours: the audit record and [`Marks`]. Values as written (no
/// kubelet expansion applies to annotations). Pure.
pub(crate) fn annotations(audit: &Audit, marks: &Marks<'_>) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            a.insert(key(k), v.to_owned());
        }
    };
    put("by", audit.by.as_deref());
    put("at", Some(&audit.at));
    put("reason", audit.reason.as_deref());
    put("ttl", Some(&audit.ttl.as_secs().max(1).to_string()));
    put("version", Some(env!("CARGO_PKG_VERSION")));
    put("container", Some(marks.container));
    put("image", Some(marks.image));
    put("profile", Some(marks.profile));
    put("copy-of", marks.copy_of);
    put("target", marks.target);
    put("node", marks.node);
    put("keep", marks.keep.then_some("true"));
    a
}

/// The labels of a new pod of ours: `kept` (the copied pod's, with `--keep-labels`) and
/// [`MODE_LABEL`]. Pure.
pub(crate) fn labels(
    made: Made,
    kept: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut l = kept.cloned().unwrap_or_default();
    l.insert(MODE_LABEL.to_owned(), made.name().to_owned());
    l
}

/// What this pod of ours is, if it is one.
pub(crate) fn made(pod: &Pod) -> Option<Made> {
    pod.labels().get(MODE_LABEL).and_then(|m| Made::parse(m))
}

fn annotation(pod: &Pod, k: &str) -> Option<String> {
    pod.annotations().get(&key(k)).cloned()
}

/// A pod of ours as a `list` record: its toolbox container, with the pod's audit record.
/// `None` for other pods. Pure.
pub(crate) fn record(pod: &Pod) -> Option<Record> {
    let made = made(pod)?;
    let container = annotation(pod, "container").unwrap_or_default();
    let status = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|all| all.iter().find(|c| c.name == container));
    let st = status.and_then(|s| s.state.as_ref());
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    let state = match st {
        _ if pod.metadata.deletion_timestamp.is_some() => State::Deleting,
        Some(s) if s.running.is_some() => State::Running,
        Some(s) if s.terminated.is_some() => State::Terminated {
            exit_code: s.terminated.as_ref().map_or(0, |t| t.exit_code),
        },
        Some(s) => State::Waiting(
            s.waiting
                .as_ref()
                .and_then(|w| w.reason.clone())
                .unwrap_or_else(|| phase.to_owned()),
        ),
        None => State::Waiting(phase.to_owned()),
    };
    Some(Record {
        name: container,
        image: annotation(pod, "image").unwrap_or_default(),
        target: match made {
            Made::Copy => annotation(pod, "target"),
            Made::Node => annotation(pod, "node").map(|n| format!("node/{n}")),
        },
        profile: annotation(pod, "profile"),
        version: annotation(pod, "version"),
        by: annotation(pod, "by"),
        at: annotation(pod, "at"),
        reason: annotation(pod, "reason"),
        ttl_seconds: annotation(pod, "ttl").and_then(|v| v.parse().ok()),
        keep_alive: annotation(pod, "keep").as_deref() == Some("true"),
        probe: false,
        spec: None,
        state,
        // The pod's deadline counts from its start.
        started_at: pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0.to_string()),
        made: Some(made),
        copy_of: annotation(pod, "copy-of"),
    })
}

/// What to do about a container of a pod of ours that cannot start, from its role and the
/// kubelet's reason. Pure.
pub(crate) fn start_fix(role: Role, container: &str, reason: &str) -> String {
    let image = matches!(
        reason,
        "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull"
    );
    match role {
        Role::Holder | Role::Toolbox if image => {
            "check the toolbox image and that the node can pull it; choose another with --image or KUBECTL_DISTROLESS_DEBUG_IMAGE".to_owned()
        }
        Role::Holder => {
            "the holder could not be written: debug by copy needs a toolbox with sh, printf, uname and chmod (--image), on an x86_64 node".to_owned()
        }
        Role::Toolbox => "check the toolbox image (--image: it needs sh, sleep, grep and tr) and the --custom fields".to_owned(),
        Role::Held | Role::Pods if image => format!(
            "the copy keeps the pod's images: --set-image {container}=IMAGE replaces this one in the copy"
        ),
        Role::Held | Role::Pods if reason == "CreateContainerConfigError" => {
            "the pod's own spec names something that is missing (a Secret, a ConfigMap, a key in one): the message says which; the pod itself fails for the same reason".to_owned()
        }
        Role::Held => format!(
            "the holder could not run in container {container} (its image, its security context): the message says why"
        ),
        Role::Pods => format!(
            "container {container} of the copied pod failed as it does in the pod: --skip-init leaves the init containers out of the copy"
        ),
    }
}

/// Why a pod of ours is done and may be deleted (`list --gc`), or `None` while it may still
/// serve a session. Done: it ended (its deadline or its containers), its toolbox container
/// ended (the session it was made for is over), its deadline passed (a node that stopped
/// reporting), or it never started within its time to live (unschedulable). A pod being
/// deleted is left alone. Pure.
pub(crate) fn done(pod: &Pod, now: Timestamp) -> Option<String> {
    made(pod)?;
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let reason = status.and_then(|s| s.reason.as_deref());
    if phase == "Failed" && reason == Some("DeadlineExceeded") {
        return Some("its time to live passed (activeDeadlineSeconds)".to_owned());
    }
    if matches!(phase, "Failed" | "Succeeded") {
        return Some(format!("it ended ({phase})"));
    }
    let container = annotation(pod, "container").unwrap_or_default();
    let ended = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|all| all.iter().find(|c| c.name == container))
        .and_then(|c| c.state.as_ref())
        .is_some_and(|s| s.terminated.is_some());
    if ended {
        return Some("its session ended (the toolbox container exited)".to_owned());
    }
    let ttl = pod
        .spec
        .as_ref()
        .and_then(|s| s.active_deadline_seconds)
        .and_then(|d| u64::try_from(d).ok())
        .or_else(|| annotation(pod, "ttl").and_then(|v| v.parse().ok()))?;
    let since = |t: &Timestamp| u64::try_from(now.duration_since(*t).as_secs()).unwrap_or(0);
    if let Some(started) = status.and_then(|s| s.start_time.as_ref()) {
        if since(&started.0) > ttl {
            return Some("its time to live passed".to_owned());
        }
    } else if let Some(created) = pod.metadata.creation_timestamp.as_ref()
        && since(&created.0) > ttl
    {
        return Some(format!(
            "it never started within its time to live ({})",
            crate::error::fmt_duration(Duration::from_secs(ttl))
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::target::fixtures::pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn audit() -> Audit {
        Audit {
            by: Some("alice".into()),
            at: "2026-01-02T03:00:00Z".into(),
            reason: Some("INC-1".into()),
            ttl: Duration::from_secs(600),
        }
    }

    fn ours(made: Made) -> Pod {
        let marks = Marks {
            container: "debugger-x",
            image: "toolbox:1",
            profile: "general",
            copy_of: (made == Made::Copy).then_some("api"),
            target: (made == Made::Copy).then_some("app"),
            node: (made == Made::Node).then_some("n1"),
            keep: false,
        };
        let mut p = pod("api-copy")
            .container("app")
            .container("debugger-x")
            .build();
        p.metadata.labels = Some(labels(made, None));
        p.metadata.annotations = Some(annotations(&audit(), &marks));
        p.spec.as_mut().unwrap().active_deadline_seconds = Some(600);
        p
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn marks_and_the_record_read_back() {
        let p = ours(Made::Copy);
        assert_eq!(made(&p), Some(Made::Copy));
        let a = p.metadata.annotations.as_ref().unwrap();
        assert_eq!(a["distroless-debug/by"], "alice");
        assert_eq!(a["distroless-debug/ttl"], "600");
        assert_eq!(a["distroless-debug/copy-of"], "api");
        assert!(!a.contains_key("distroless-debug/node"));
        assert!(!a.contains_key("distroless-debug/keep"));
        let r = record(&p).unwrap();
        assert_eq!(r.name, "debugger-x");
        assert_eq!(r.target.as_deref(), Some("app"));
        assert_eq!(r.reason.as_deref(), Some("INC-1"));
        assert_eq!(r.state, State::Running);
        assert_eq!(r.made, Some(Made::Copy));
        assert_eq!(r.copy_of.as_deref(), Some("api"));
        let deleting = crate::plan::target::fixtures::PodBuilder(p.clone())
            .deleting()
            .build();
        assert_eq!(record(&deleting).unwrap().state, State::Deleting);
        let r = record(&ours(Made::Node)).unwrap();
        assert_eq!(r.target.as_deref(), Some("node/n1"));
        assert_eq!(record(&pod("other").container("app").build()), None);
        // Kept labels stay, ours is added.
        let kept = BTreeMap::from([("app".to_owned(), "api".to_owned())]);
        let l = labels(Made::Copy, Some(&kept));
        assert_eq!(l["app"], "api");
        assert_eq!(l[MODE_LABEL], "copy");
    }

    #[test]
    fn done_when_ended_expired_or_never_started() {
        let now = at("2026-01-02T03:05:00Z");
        let started = |p: &mut Pod, t: &str| {
            p.status.as_mut().unwrap().start_time = Some(Time(at(t)));
        };
        // Live: its toolbox runs, time left.
        let mut p = ours(Made::Copy);
        started(&mut p, "2026-01-02T03:00:00Z");
        assert_eq!(done(&p, now), None);
        // Not ours.
        assert_eq!(done(&pod("x").container("app").build(), now), None);
        // Its deadline passed, as the kubelet reports it.
        let mut d = p.clone();
        d.status.as_mut().unwrap().phase = Some("Failed".into());
        d.status.as_mut().unwrap().reason = Some("DeadlineExceeded".into());
        assert!(done(&d, now).unwrap().contains("time to live passed"));
        // Succeeded.
        let mut s = p.clone();
        s.status.as_mut().unwrap().phase = Some("Succeeded".into());
        assert_eq!(done(&s, now).as_deref(), Some("it ended (Succeeded)"));
        // The session ended: the toolbox exited, the held container still runs.
        let mut e = ours(Made::Copy);
        e = crate::plan::target::fixtures::PodBuilder(e)
            .terminated("debugger-x", 0)
            .build();
        assert!(done(&e, now).unwrap().contains("session ended"));
        // The deadline passed without the kubelet saying so.
        let mut late = p.clone();
        started(&mut late, "2026-01-02T02:50:00Z");
        assert_eq!(done(&late, now).as_deref(), Some("its time to live passed"));
        // Never started (unschedulable) for longer than its time to live.
        let mut pending = ours(Made::Node);
        pending.status.as_mut().unwrap().phase = Some("Pending".into());
        pending.status.as_mut().unwrap().container_statuses = None;
        pending.metadata.creation_timestamp = Some(Time(at("2026-01-02T02:50:00Z")));
        assert!(done(&pending, now).unwrap().contains("never started"));
        pending.metadata.creation_timestamp = Some(Time(at("2026-01-02T03:04:00Z")));
        assert_eq!(done(&pending, now), None);
        // Being deleted: left alone.
        let gone = crate::plan::target::fixtures::PodBuilder(d)
            .deleting()
            .build();
        assert_eq!(done(&gone, now), None);
    }
}
