//! Whose user: what the target runs as (the runtime's report, the spec, or a probe container's
//! answer), and whether the debug container runs as non-root. Pure.
//!
//! Reading `/proc/PID/root` of another process needs the same UID *and* GID, or CAP_SYS_PTRACE,
//! which a non-root container does not have (kubernetes#105846).

use k8s_openapi::api::core::v1::{EphemeralContainer, Pod};

use crate::plan::env::PROBE_ENV;

/// UID used for a must-run-as-non-root pod when the target's UID is unknown.
pub(crate) const FALLBACK_UID: i64 = 65532;

/// A UID and a GID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub(crate) uid: i64,
    pub(crate) gid: i64,
}

impl std::fmt::Display for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UID {}, GID {}", self.uid, self.gid)
    }
}

/// What a probe container ([`crate::plan::container::probe_container`]) read of the target's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probed {
    /// No probe has run (or none is needed).
    NotYet,
    Found(Ids),
    /// The probe could not tell; why.
    Failed(String),
}

/// The target container's runtime ID (`containerd://ID` without its scheme) when the pod shares
/// one PID namespace: the target's main process is then not PID 1, and the session script finds
/// it by this ID in `/proc/PID/cgroup`. `None` otherwise. Pure.
pub(crate) fn target_runtime_id(pod: &Pod, target: &str) -> Option<String> {
    let shared = pod
        .spec
        .as_ref()
        .and_then(|s| s.share_process_namespace)
        .unwrap_or(false);
    if !shared {
        return None;
    }
    let id = pod
        .status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == target)?
        .container_id
        .as_deref()?;
    Some(id.rsplit_once("://").map_or(id, |(_, id)| id).to_owned())
}

/// What the target runs as, when the API says it: the runtime's report
/// (`status.containerStatuses[].user`, containerd 2.0+; KEP-3619), else `runAsUser` and
/// `runAsGroup` of the container or the pod. A UID without a GID is not enough: the GID then
/// comes from the image, which the API never sees. The `&str` says where it came from. Pure.
pub(crate) fn target_ids(pod: &Pod, target: &str) -> Option<(Ids, &'static str)> {
    let reported = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|all| all.iter().find(|c| c.name == target))
        .and_then(|c| c.user.as_ref())
        .and_then(|u| u.linux.as_ref());
    if let Some(linux) = reported {
        return Some((
            Ids {
                uid: linux.uid,
                gid: linux.gid,
            },
            "as the container runtime reports",
        ));
    }
    let spec = pod.spec.as_ref()?;
    let pod_sc = spec.security_context.as_ref();
    let own = spec
        .containers
        .iter()
        .find(|c| c.name == target)
        .and_then(|c| c.security_context.as_ref());
    let uid = own
        .and_then(|s| s.run_as_user)
        .or_else(|| pod_sc.and_then(|s| s.run_as_user))?;
    let gid = own
        .and_then(|s| s.run_as_group)
        .or_else(|| pod_sc.and_then(|s| s.run_as_group))?;
    Some((Ids { uid, gid }, "from the pod spec"))
}

/// What a probe container of ours said about the user of `target`, if one ran (the most recent
/// that ended): its termination message `UID GID`, or why it could not tell. A probe that is
/// still running or was never added is [`Probed::NotYet`]. Pure.
pub(crate) fn probe_outcome(pod: &Pod, target: &str) -> Probed {
    let Some(spec) = pod.spec.as_ref() else {
        return Probed::NotYet;
    };
    let probes: Vec<&str> = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .filter(|c| {
            c.target_container_name.as_deref() == Some(target)
                && c.env.iter().flatten().any(|e| e.name == PROBE_ENV)
        })
        .map(|c| c.name.as_str())
        .collect();
    let ended = pod
        .status
        .as_ref()
        .and_then(|s| s.ephemeral_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter(|s| probes.contains(&s.name.as_str()))
        .filter_map(|s| Some((s.name.as_str(), s.state.as_ref()?.terminated.as_ref()?)))
        .collect::<Vec<_>>();
    let mut outcome = Probed::NotYet;
    for (name, t) in ended {
        let message = t.message.as_deref().unwrap_or_default().trim();
        let mut parts = message.split_whitespace().map(str::parse::<i64>);
        match (t.exit_code, parts.next(), parts.next(), parts.next()) {
            (0, Some(Ok(uid)), Some(Ok(gid)), None) => return Probed::Found(Ids { uid, gid }),
            (code, ..) => {
                outcome = Probed::Failed(if message.is_empty() {
                    format!("the probe container {name} ended with exit code {code}")
                } else {
                    format!("the probe container {name} ended with exit code {code}: {message}")
                });
            }
        }
    }
    outcome
}

/// A user for a debug container tried before its real one is known (a dry run): the pod's
/// non-zero `runAsUser`, else [`FALLBACK_UID`], as UID and GID. Pure.
pub(crate) fn provisional_ids(pod: &Pod) -> Ids {
    let uid = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|s| s.run_as_user)
        .filter(|u| *u != 0)
        .unwrap_or(FALLBACK_UID);
    Ids { uid, gid: uid }
}

/// Whether the debug container will run as a non-root user: it must (`runAsNonRoot` on it or
/// on the pod), or the pod gives it a non-zero `runAsUser`.
pub(crate) fn runs_as_non_root(c: &EphemeralContainer, pod: &Pod) -> bool {
    let own = c.security_context.as_ref();
    let pod_sc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let must = match own.and_then(|s| s.run_as_non_root) {
        Some(v) => v,
        None => pod_sc.and_then(|s| s.run_as_non_root) == Some(true),
    };
    must || pod_sc.and_then(|s| s.run_as_user).is_some_and(|u| u != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::target::fixtures::pod;
    use k8s_openapi::api::core::v1::ContainerStatus;

    #[test]
    fn the_target_is_found_by_its_runtime_id_only_when_the_pod_shares_its_pids() {
        let mut p = pod("api").container("app").build();
        p.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
            name: "app".into(),
            container_id: Some("containerd://c0ffee".into()),
            ..ContainerStatus::default()
        }]);
        assert_eq!(target_runtime_id(&p, "app"), None);
        p.spec.as_mut().unwrap().share_process_namespace = Some(true);
        assert_eq!(target_runtime_id(&p, "app").as_deref(), Some("c0ffee"));
        assert_eq!(target_runtime_id(&p, "side"), None);
    }
}
