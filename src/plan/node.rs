//! Node debugging: the pod of ours on a node, as a pure function of the node's name and the
//! options (`node/NAME`).
//!
//! As `kubectl debug node/NAME`: the pod runs on that node (`nodeName`, so no scheduler and no
//! taint keeps it away; it tolerates every taint too, for the kubelet's own admission), in the
//! host's PID, network and IPC namespaces, with the host's root filesystem at `/host`, and the
//! `sysadmin` profile by default (privileged). Unlike kubectl's, it ends by itself:
//! `activeDeadlineSeconds` = `--ttl`, the keep-alive's own clock, and deletion when the session
//! ends; it carries our mark and audit record ([`crate::plan::ours`]) and no service account
//! token (a privileged pod on a node needs no API credentials of its own).

use k8s_openapi::api::core::v1::{
    EphemeralContainer, HostPathVolumeSource, Pod, PodSpec, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::cli::options::DebugContainer;
use crate::error::Error;
use crate::plan::audit::Audit;
use crate::plan::container::{as_container, env_var, record_env};
use crate::plan::custom::{Custom, merge};
use crate::plan::env::KEEPALIVE_ENV;
use crate::plan::ours::{Made, Marks, annotations, labels};
use crate::plan::scripts::{keep_alive_script, kubelet_literal};

/// Where the host's root filesystem is mounted in the node pod.
pub(crate) const HOST_ROOT: &str = "/host";

/// The volume of the host's root.
const HOST_VOLUME: &str = "host-root";

/// Set on the node pod's toolbox: the root the session script gives as `TARGET_ROOT`.
pub(crate) const ROOT_ENV: &str = "DISTROLESS_DEBUG_ROOT";

/// Set on the node pod's toolbox: the node's name (the session's banner says it).
pub(crate) const NODE_ENV: &str = "DISTROLESS_DEBUG_NODE";

/// Everything the node pod is made of.
pub(crate) struct Input<'a> {
    pub(crate) node: &'a str,
    /// The pod's name.
    pub(crate) name: &'a str,
    /// The toolbox container's name.
    pub(crate) container_name: &'a str,
    pub(crate) container: &'a DebugContainer,
    pub(crate) custom: Option<&'a Custom>,
    pub(crate) audit: &'a Audit,
    /// The pod stays after the session (`--keep`): its toolbox is kept alive to its TTL.
    pub(crate) keep: bool,
}

/// The toolbox container of a node pod: the keep-alive, the host's root mounted, the
/// profile's security context, then `--custom` on top. Pure.
fn toolbox(input: &Input<'_>) -> Result<EphemeralContainer, Error> {
    let dc = input.container;
    let mut env: Vec<_> = dc.env.iter().map(|(k, v)| env_var(k, v)).collect();
    env.extend(record_env(
        &format!("node/{}", input.node),
        dc.profile,
        input.audit,
    ));
    env.push(env_var(NODE_ENV, input.node));
    env.push(env_var(ROOT_ENV, HOST_ROOT));
    if input.keep {
        env.push(env_var(KEEPALIVE_ENV, "1"));
    }
    let mut c = EphemeralContainer {
        name: input.container_name.to_owned(),
        image: Some(dc.image.clone()),
        image_pull_policy: dc.pull_policy.map(|p| p.name().to_owned()),
        command: Some(vec!["sh".to_owned(), "-c".to_owned()]),
        args: Some(vec![
            kubelet_literal(keep_alive_script()),
            "distroless-debug".to_owned(),
        ]),
        env: Some(env),
        volume_mounts: Some(vec![VolumeMount {
            name: HOST_VOLUME.to_owned(),
            mount_path: HOST_ROOT.to_owned(),
            ..VolumeMount::default()
        }]),
        security_context: dc.profile.security_context(),
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        ..EphemeralContainer::default()
    };
    if let Some(custom) = input.custom {
        let mut v = serde_json::to_value(&c).map_err(|e| Error::Internal(e.to_string()))?;
        merge(&mut v, &Value::Object(custom.0.clone()));
        c = serde_json::from_value(v).map_err(|e| Error::Custom {
            path: String::new(),
            reason: format!("merged container is invalid: {e}"),
        })?;
    }
    Ok(c)
}

/// The node pod. Pure.
pub(crate) fn build(input: &Input<'_>) -> Result<Pod, Error> {
    let c = toolbox(input)?;
    let marks = Marks {
        container: input.container_name,
        image: &input.container.image,
        profile: input.container.profile.name(),
        copy_of: None,
        target: None,
        node: Some(input.node),
        keep: input.keep,
    };
    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(input.name.to_owned()),
            labels: Some(labels(Made::Node, None)),
            annotations: Some(annotations(input.audit, &marks)),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: Some(input.node.to_owned()),
            host_pid: Some(true),
            host_network: Some(true),
            host_ipc: Some(true),
            restart_policy: Some("Never".to_owned()),
            active_deadline_seconds: Some(
                i64::try_from(input.audit.ttl.as_secs().max(1)).unwrap_or(i64::MAX),
            ),
            termination_grace_period_seconds: Some(5),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            tolerations: Some(vec![Toleration {
                operator: Some("Exists".to_owned()),
                ..Toleration::default()
            }]),
            volumes: Some(vec![Volume {
                name: HOST_VOLUME.to_owned(),
                host_path: Some(HostPathVolumeSource {
                    path: "/".to_owned(),
                    type_: None,
                }),
                ..Volume::default()
            }]),
            containers: vec![as_container(&c)?],
            ..PodSpec::default()
        }),
        status: None,
    })
}

/// The exec command of a node session with `--chroot`: the command (a shell when empty) run by
/// `chroot` in the host's root, with the host's own programs. Pure.
pub(crate) fn chrooted(command: &[String]) -> Vec<String> {
    let mut argv = vec!["chroot".to_owned(), HOST_ROOT.to_owned()];
    if command.is_empty() {
        argv.extend(["/bin/sh".to_owned(), "-i".to_owned()]);
    } else {
        argv.extend(command.iter().cloned());
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Level, Profile};
    use serde_json::json;
    use std::time::Duration;

    fn dc(profile: Profile) -> DebugContainer {
        DebugContainer {
            name: None,
            image: "toolbox:1".into(),
            pull_policy: None,
            profile,
            custom: None,
            env: vec![("A".into(), "1".into())],
        }
    }

    fn audit() -> Audit {
        Audit {
            by: Some("alice".into()),
            at: "2026-01-02T03:04:05Z".into(),
            reason: None,
            ttl: Duration::from_secs(900),
        }
    }

    fn node_pod(profile: Profile, keep: bool, custom: Option<&Custom>) -> serde_json::Value {
        let d = dc(profile);
        let a = audit();
        serde_json::to_value(
            build(&Input {
                node: "worker-1",
                name: "worker-1-node-bbbbb",
                container_name: "debugger-ccccc",
                container: &d,
                custom,
                audit: &a,
                keep,
            })
            .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_node_pod() {
        let p = node_pod(Profile::Sysadmin, false, None);
        assert_eq!(
            p["metadata"]["labels"],
            json!({"distroless-debug/mode": "node"})
        );
        assert_eq!(
            p["metadata"]["annotations"]["distroless-debug/node"],
            "worker-1"
        );
        assert_eq!(p["metadata"]["annotations"]["distroless-debug/by"], "alice");
        assert!(
            p["metadata"].get("namespace").is_none(),
            "the session's namespace"
        );
        let spec = &p["spec"];
        assert_eq!(spec["nodeName"], "worker-1");
        for host in ["hostPID", "hostNetwork", "hostIPC"] {
            assert_eq!(spec[host], true, "{host}");
        }
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(spec["activeDeadlineSeconds"], 900);
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
        assert_eq!(
            spec["volumes"],
            json!([{"name": "host-root", "hostPath": {"path": "/"}}])
        );
        let c = &spec["containers"][0];
        assert_eq!(c["name"], "debugger-ccccc");
        assert_eq!(c["securityContext"], json!({"privileged": true}));
        assert_eq!(
            c["volumeMounts"],
            json!([{"name": "host-root", "mountPath": "/host"}])
        );
        assert!(c.get("targetContainerName").is_none());
        let env: Vec<(&str, &str)> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
            .collect();
        for want in [
            ("A", "1"),
            ("DISTROLESS_DEBUG_TARGET", "node/worker-1"),
            ("DISTROLESS_DEBUG_PROFILE", "sysadmin"),
            ("DISTROLESS_DEBUG_TTL", "900"),
            (NODE_ENV, "worker-1"),
            (ROOT_ENV, "/host"),
        ] {
            assert!(env.contains(&want), "{want:?} in {env:?}");
        }
        assert!(!env.iter().any(|(k, _)| *k == KEEPALIVE_ENV));
        let kept = node_pod(Profile::Sysadmin, true, None);
        assert_eq!(
            kept["metadata"]["annotations"]["distroless-debug/keep"],
            "true"
        );
        assert!(
            kept["spec"]["containers"][0]["env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == KEEPALIVE_ENV)
        );
    }

    #[test]
    fn profile_and_custom_apply_and_no_level_but_privileged_admits_it() {
        let custom = Custom::parse(r#"{"securityContext": {"runAsUser": 0}}"#).unwrap();
        let p = node_pod(Profile::Baseline, false, Some(&custom));
        assert_eq!(
            p["spec"]["containers"][0]["securityContext"],
            json!({"runAsUser": 0})
        );
        let pod: Pod = serde_json::from_value(p).unwrap();
        assert!(crate::plan::pss::pod_violations(Level::Privileged, &pod).is_empty());
        let baseline = crate::plan::pss::pod_violations(Level::Baseline, &pod);
        assert_eq!(
            baseline,
            [
                "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)",
                "hostPath volumes (host-root)"
            ]
        );
    }

    #[test]
    fn chroot_runs_the_command_or_a_shell_in_the_host() {
        assert_eq!(chrooted(&[]), ["chroot", "/host", "/bin/sh", "-i"]);
        assert_eq!(
            chrooted(&["cat".to_owned(), "/etc/os-release".to_owned()]),
            ["chroot", "/host", "cat", "/etc/os-release"]
        );
    }
}
