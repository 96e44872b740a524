//! What to debug: target references, the target container, and which pod of a workload.
//!
//! All pure. The API edges that fetch the pod, the workload and its pods are in `api::pods`,
//! called by `run::resolve`. Most of this file is its table tests.
//! Refusals happen here, before anything is written to the cluster: an ephemeral container can
//! never be removed, so we only add one to a pod and container that can actually host it.

use k8s_openapi::api::core::v1::{ContainerState, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crate::cli::target::TargetRef;
use crate::error::Error;

/// Annotation kubectl uses to name a pod's default container.
pub(crate) const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// Whether a pod read after a session is gone: not found (`None`), or being deleted. Pure.
pub(crate) fn is_gone(pod: Option<&Pod>) -> bool {
    pod.is_none_or(|p| p.metadata.deletion_timestamp.is_some())
}

/// Refuses a pod that cannot host an ephemeral container: being deleted, or not `Running`.
pub(crate) fn check_pod_running(pod: &Pod) -> Result<(), Error> {
    let name = pod.name_any();
    if pod.metadata.deletion_timestamp.is_some() {
        return Err(Error::PodNotRunning {
            pod: name,
            state: "being deleted".to_owned(),
        });
    }
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown");
    if phase != "Running" {
        return Err(Error::PodNotRunning {
            pod: name,
            state: phase.to_owned(),
        });
    }
    Ok(())
}

/// The target container: `requested` (from `--target` or the `/CONTAINER` suffix), else the
/// default-container annotation, else the only container.
pub(crate) fn choose_container(pod: &Pod, requested: Option<&str>) -> Result<String, Error> {
    let pod_name = pod.name_any();
    let names: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    if let Some(want) = requested {
        if names.iter().any(|n| n == want) {
            return Ok(want.to_owned());
        }
        return Err(Error::ContainerNotFound {
            pod: pod_name,
            container: want.to_owned(),
            available: names,
        });
    }
    if let Some(annotated) = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DEFAULT_CONTAINER_ANNOTATION))
        && names.iter().any(|n| n == annotated)
    {
        return Ok(annotated.clone());
    }
    match names.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(Error::AmbiguousContainer {
            pod: pod_name,
            containers: names,
        }),
    }
}

/// How long a target must have run since it last failed before a debug container is added to
/// it. A crash-looping container runs for a moment between back-offs, and the status can say
/// `running` then: the debug container would share a process namespace that ends with the
/// target a moment later, and the ephemeral container would stay in the pod for nothing.
pub(crate) const STEADY_AFTER_FAILURE_SECONDS: i64 = 10;

/// Refuses a target container that is not running (the debug container would share the
/// process namespace of nothing), or that runs again for only a moment after it failed (a
/// crash loop between two back-offs; see [`STEADY_AFTER_FAILURE_SECONDS`]). `now` is the
/// client's clock. Pure.
pub(crate) fn check_container_running(
    pod: &Pod,
    container: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let status = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|all| all.iter().find(|c| c.name == container));
    let state = status.and_then(|s| s.state.as_ref());
    let Some(running) = state.and_then(|s| s.running.as_ref()) else {
        return Err(Error::ContainerNotRunning {
            pod: pod.name_any(),
            container: container.to_owned(),
            state: describe_state(state),
        });
    };
    let failed = status
        .and_then(|s| s.last_state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .filter(|t| t.exit_code != 0);
    let up_for = running
        .started_at
        .as_ref()
        .map(|t| now.as_second() - t.0.as_second());
    match (failed, up_for) {
        (Some(last), Some(up)) if up < STEADY_AFTER_FAILURE_SECONDS => {
            Err(Error::ContainerRestarting {
                pod: pod.name_any(),
                container: container.to_owned(),
                up_for: up.max(0),
                exit_code: last.exit_code,
                restarts: status.map_or(0, |s| s.restart_count),
            })
        }
        _ => Ok(()),
    }
}

/// A short human description of a container state.
pub(crate) fn describe_state(state: Option<&ContainerState>) -> String {
    let Some(state) = state else {
        return "without status".to_owned();
    };
    if let Some(w) = &state.waiting {
        return format!("waiting ({})", w.reason.as_deref().unwrap_or("no reason"));
    }
    if let Some(t) = &state.terminated {
        return format!(
            "terminated ({}, exit code {})",
            t.reason.as_deref().unwrap_or("no reason"),
            t.exit_code
        );
    }
    if state.running.is_some() {
        return "running".to_owned();
    }
    "in an unknown state".to_owned()
}

/// A label selector in the string form the list API takes.
pub(crate) fn selector_string(sel: &LabelSelector) -> Result<String, String> {
    let mut parts = Vec::new();
    for (k, v) in sel.match_labels.iter().flatten() {
        parts.push(format!("{k}={v}"));
    }
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => return Err(format!("unsupported selector operator {other:?}")),
        });
    }
    if parts.is_empty() {
        // An empty selector would match every pod in the namespace: never what was meant.
        return Err("the workload has an empty selector".to_owned());
    }
    Ok(parts.join(","))
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Running and not being deleted. Pure.
pub(crate) fn is_running(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// Chooses a running, ready pod of a workload: the oldest one (then by name), so repeated runs
/// land in the same pod while it lives.
pub(crate) fn choose_pod<'a>(pods: &'a [Pod], workload: &TargetRef) -> Result<&'a Pod, Error> {
    let mut candidates: Vec<&Pod> = pods
        .iter()
        .filter(|p| is_running(p) && is_ready(p))
        .collect();
    candidates.sort_by(|a, b| {
        let ka = (&a.metadata.creation_timestamp, &a.metadata.name);
        let kb = (&b.metadata.creation_timestamp, &b.metadata.name);
        ka.partial_cmp(&kb).unwrap_or(std::cmp::Ordering::Equal)
    });
    if let Some(p) = candidates.first() {
        return Ok(p);
    }
    let summary = if pods.is_empty() {
        "no pods match its selector".to_owned()
    } else {
        let running = pods.iter().filter(|p| is_running(p)).count();
        format!("{} pods, {running} running, none ready", pods.len())
    };
    Err(Error::NoReadyPod {
        workload: workload.to_string(),
        summary,
    })
}

/// Chooses the pod of a workload to copy (`--copy`): any pod not being deleted, running or
/// not (a copy is for the pods that do not run), the newest first (then by name): in a rollout
/// that is the new template's, the one that fails. Pure.
pub(crate) fn choose_pod_to_copy<'a>(
    pods: &'a [Pod],
    workload: &TargetRef,
) -> Result<&'a Pod, Error> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .max_by(|a, b| {
            let ka = (&a.metadata.creation_timestamp, &b.metadata.name);
            let kb = (&b.metadata.creation_timestamp, &a.metadata.name);
            ka.partial_cmp(&kb).unwrap_or(std::cmp::Ordering::Equal)
        })
        .ok_or_else(|| Error::NoReadyPod {
            workload: workload.to_string(),
            summary: if pods.is_empty() {
                "no pods match its selector".to_owned()
            } else {
                "every pod is being deleted".to_owned()
            },
        })
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Pod builders shared by unit tests.
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
        ContainerStateWaiting, ContainerStatus, Pod, PodCondition, PodSecurityContext, PodSpec,
        PodStatus, SecurityContext,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::jiff::Timestamp;

    pub(crate) struct PodBuilder(pub Pod);

    pub(crate) fn pod(name: &str) -> PodBuilder {
        PodBuilder(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                resource_version: Some("100".into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec::default()),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                ..PodStatus::default()
            }),
        })
    }

    impl PodBuilder {
        pub(crate) fn container(mut self, name: &str) -> Self {
            self.spec().containers.push(Container {
                name: name.into(),
                image: Some("app:1".into()),
                ..Container::default()
            });
            self.status()
                .container_statuses
                .get_or_insert_with(Vec::new)
                .push(ContainerStatus {
                    name: name.into(),
                    ready: true,
                    state: Some(ContainerState {
                        running: Some(ContainerStateRunning::default()),
                        ..ContainerState::default()
                    }),
                    ..ContainerStatus::default()
                });
            self
        }
        pub(crate) fn init_container(mut self, name: &str) -> Self {
            self.spec()
                .init_containers
                .get_or_insert_with(Vec::new)
                .push(Container {
                    name: name.into(),
                    ..Container::default()
                });
            self
        }
        pub(crate) fn ephemeral(mut self, name: &str) -> Self {
            self.spec()
                .ephemeral_containers
                .get_or_insert_with(Vec::new)
                .push(k8s_openapi::api::core::v1::EphemeralContainer {
                    name: name.into(),
                    ..Default::default()
                });
            self
        }
        pub(crate) fn waiting(mut self, container: &str, reason: &str) -> Self {
            self.set_state(
                container,
                ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some(reason.into()),
                        message: None,
                    }),
                    ..ContainerState::default()
                },
            );
            self
        }
        /// Running since `started`, restarted `restarts` times, the last run ended with `code`.
        pub(crate) fn restarted(
            mut self,
            container: &str,
            started: Timestamp,
            code: i32,
            restarts: i32,
        ) -> Self {
            self.set_state(
                container,
                ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(Time(started)),
                    }),
                    ..ContainerState::default()
                },
            );
            let s = self
                .status()
                .container_statuses
                .as_mut()
                .and_then(|all| all.iter_mut().find(|s| s.name == container))
                .expect("the status just set");
            s.restart_count = restarts;
            s.last_state = Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: code,
                    reason: Some(if code == 0 { "Completed" } else { "Error" }.into()),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            });
            self
        }
        pub(crate) fn terminated(mut self, container: &str, code: i32) -> Self {
            self.set_state(
                container,
                ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: code,
                        reason: Some("Completed".into()),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                },
            );
            self
        }
        pub(crate) fn phase(mut self, phase: &str) -> Self {
            self.status().phase = Some(phase.into());
            self
        }
        pub(crate) fn deleting(mut self) -> Self {
            self.0.metadata.deletion_timestamp =
                Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
            self
        }
        pub(crate) fn ready(mut self, ready: bool) -> Self {
            self.status().conditions = Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..PodCondition::default()
            }]);
            self
        }
        pub(crate) fn created(mut self, secs: i64) -> Self {
            self.0.metadata.creation_timestamp = Some(Time(
                k8s_openapi::jiff::Timestamp::from_second(secs).unwrap(),
            ));
            self
        }
        pub(crate) fn annotation(mut self, k: &str, v: &str) -> Self {
            self.0
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(k.into(), v.into());
            self
        }
        pub(crate) fn pod_security(mut self, sc: PodSecurityContext) -> Self {
            self.spec().security_context = Some(sc);
            self
        }
        pub(crate) fn container_security(mut self, container: &str, sc: SecurityContext) -> Self {
            if let Some(c) = self
                .spec()
                .containers
                .iter_mut()
                .find(|c| c.name == container)
            {
                c.security_context = Some(sc);
            }
            self
        }
        pub(crate) fn build(self) -> Pod {
            self.0
        }

        fn spec(&mut self) -> &mut PodSpec {
            self.0.spec.get_or_insert_with(PodSpec::default)
        }
        fn status(&mut self) -> &mut PodStatus {
            self.0.status.get_or_insert_with(PodStatus::default)
        }
        fn set_state(&mut self, container: &str, state: ContainerState) {
            let statuses = self
                .status()
                .container_statuses
                .get_or_insert_with(Vec::new);
            if let Some(s) = statuses.iter_mut().find(|s| s.name == container) {
                s.state = Some(state);
            } else {
                statuses.push(ContainerStatus {
                    name: container.into(),
                    state: Some(state),
                    ..ContainerStatus::default()
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::pod;
    use super::*;
    use crate::cli::target::parse_target;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn the_pod_to_copy_is_the_newest_whatever_its_state() {
        let w = parse_target("deploy/api").unwrap();
        let pods = vec![
            pod("old").container("app").created(100).build(),
            pod("new-b").phase("Pending").created(200).build(),
            pod("new-a").phase("Failed").created(200).build(),
            pod("going").deleting().created(300).build(),
        ];
        assert_eq!(choose_pod_to_copy(&pods, &w).unwrap().name_any(), "new-a");
        assert!(
            choose_pod_to_copy(&pods[3..], &w)
                .unwrap_err()
                .to_string()
                .contains("being deleted")
        );
        assert!(choose_pod_to_copy(&[], &w).is_err());
    }

    #[test]
    fn container_choice_order() {
        let p = pod("p").container("app").container("sidecar").build();
        assert_eq!(choose_container(&p, Some("sidecar")).unwrap(), "sidecar");
        let err = choose_container(&p, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pod \"p\" has 2 containers; choose one: app, sidecar"
        );
        let err = choose_container(&p, Some("nope")).unwrap_err();
        assert!(err.to_string().contains("containers: app, sidecar"));
        let p = pod("p")
            .container("app")
            .container("sidecar")
            .annotation(DEFAULT_CONTAINER_ANNOTATION, "sidecar")
            .build();
        assert_eq!(choose_container(&p, None).unwrap(), "sidecar");
        // --target wins over the annotation.
        assert_eq!(choose_container(&p, Some("app")).unwrap(), "app");
        // An annotation naming a missing container is ignored.
        let p = pod("p")
            .container("app")
            .annotation(DEFAULT_CONTAINER_ANNOTATION, "gone")
            .build();
        assert_eq!(choose_container(&p, None).unwrap(), "app");
        // Init containers are never targets.
        let p = pod("p").container("app").init_container("init").build();
        assert_eq!(choose_container(&p, None).unwrap(), "app");
    }

    #[test]
    fn refuses_pods_that_cannot_host_a_debug_container() {
        assert!(check_pod_running(&pod("p").container("a").build()).is_ok());
        for (p, state) in [
            (pod("p").phase("Pending").build(), "Pending"),
            (pod("p").phase("Succeeded").build(), "Succeeded"),
            (pod("p").phase("Failed").build(), "Failed"),
            (pod("p").deleting().build(), "being deleted"),
        ] {
            let err = check_pod_running(&p).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("pod \"p\" is {state}; only a running pod can be debugged")
            );
        }
    }

    #[test]
    fn refuses_target_container_not_running() {
        let p = pod("p")
            .container("app")
            .waiting("app", "CrashLoopBackOff")
            .build();
        let now = Timestamp::from_second(1_000_000).unwrap();
        let err = check_container_running(&p, "app", now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "target container \"app\" in pod \"p\" is waiting (CrashLoopBackOff), not running"
        );
        let p = pod("p").container("app").terminated("app", 3).build();
        assert!(
            check_container_running(&p, "app", now)
                .unwrap_err()
                .to_string()
                .contains("exit code 3")
        );
        assert!(check_container_running(&pod("p").container("a").build(), "a", now).is_ok());
    }

    #[test]
    fn refuses_a_target_running_only_for_a_moment_after_it_failed() {
        let now = Timestamp::from_second(1_000_000).unwrap();
        let ago = |s: i64| Timestamp::from_second(1_000_000 - s).unwrap();
        // Between two back-offs of a crash loop: up for 2 s after exit code 1, third restart.
        let p = pod("p")
            .container("app")
            .restarted("app", ago(2), 1, 3)
            .build();
        let err = check_container_running(&p, "app", now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "target container \"app\" in pod \"p\" restarted 3 times and has run for 2s since it exited with code 1: a debug container would end with it"
        );
        assert_eq!(err.kind(), "ContainerRestarting");
        assert!(err.hint().unwrap().contains("--copy"));
        // One second short of steady, and steady.
        let edge = STEADY_AFTER_FAILURE_SECONDS;
        let p = pod("p")
            .container("app")
            .restarted("app", ago(edge - 1), 1, 1)
            .build();
        assert!(check_container_running(&p, "app", now).is_err());
        let p = pod("p")
            .container("app")
            .restarted("app", ago(edge), 1, 1)
            .build();
        assert!(check_container_running(&p, "app", now).is_ok());
        // A restart after a clean exit (code 0) is no failure: debugged at once.
        let p = pod("p")
            .container("app")
            .restarted("app", ago(1), 0, 1)
            .build();
        assert!(check_container_running(&p, "app", now).is_ok());
        // A client clock behind the node's: a start "in the future" counts as just now.
        let p = pod("p")
            .container("app")
            .restarted("app", ago(-30), 2, 1)
            .build();
        assert!(
            check_container_running(&p, "app", now)
                .unwrap_err()
                .to_string()
                .contains("has run for 0s")
        );
        // No start time reported: nothing to measure, not refused.
        let mut p = pod("p")
            .container("app")
            .restarted("app", ago(1), 1, 1)
            .build();
        p.status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap()[0]
            .state
            .as_mut()
            .unwrap()
            .running
            .as_mut()
            .unwrap()
            .started_at = None;
        assert!(check_container_running(&p, "app", now).is_ok());
    }

    #[test]
    fn selectors_render_like_kubectl() {
        let sel = LabelSelector {
            match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["a".into(), "b".into()]),
                },
                LabelSelectorRequirement {
                    key: "canary".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ]),
        };
        assert_eq!(
            selector_string(&sel).unwrap(),
            "app=web,tier in (a,b),!canary"
        );
        assert!(selector_string(&LabelSelector::default()).is_err());
    }

    #[test]
    fn chooses_the_oldest_running_ready_pod() {
        let w = parse_target("deploy/web").unwrap();
        let pods = vec![
            pod("web-c").container("a").ready(true).created(300).build(),
            pod("web-a")
                .container("a")
                .ready(false)
                .created(100)
                .build(),
            pod("web-b").container("a").ready(true).created(200).build(),
            pod("web-d")
                .container("a")
                .ready(true)
                .created(50)
                .deleting()
                .build(),
            pod("web-e")
                .container("a")
                .ready(true)
                .created(10)
                .phase("Pending")
                .build(),
        ];
        let chosen = choose_pod(&pods, &w).unwrap();
        assert_eq!(chosen.metadata.name.as_deref(), Some("web-b"));
        let err = choose_pod(&pods[1..2], &w).unwrap_err();
        assert_eq!(
            err.to_string(),
            "deployment/web has no running and ready pod (1 pods, 1 running, none ready)"
        );
        assert!(
            choose_pod(&[], &w)
                .unwrap_err()
                .to_string()
                .contains("no pods match")
        );
    }
}
