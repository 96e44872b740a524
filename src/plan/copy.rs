//! Debug by copy: the copy of a pod that does not run, as a pure function of the pod and the
//! options (`--copy`).
//!
//! An ephemeral container needs a running target to share its processes with. A pod that
//! crashes at start, exits, or waits for an init container has none, so the plugin creates a
//! copy of it in which the target container is *held*: the same image, environment, volumes,
//! secrets, user and security context, but its command replaced by the holder
//! ([`crate::plan::holder`]), so its filesystem stays there to read without the application
//! running. The copy shares one process namespace (`shareProcessNamespace`), and our toolbox
//! runs beside the held container as a regular container, where the sessions exec as usual;
//! the original entrypoint is given to them as `TARGET_COMMAND` and `TARGET_ARGS`.
//!
//! What changes from the pod, and why:
//! - labels dropped (`--keep-labels` keeps them), so that no Service or controller takes the
//!   copy; annotations dropped; no owner references (no controller owns or deletes it); our
//!   mark and audit record added ([`crate::plan::ours`]);
//! - `restartPolicy: Never`, probes removed (nothing answers them), the held container's
//!   lifecycle hooks removed (they talk to the application, which does not run);
//! - `activeDeadlineSeconds` = `--ttl`: the kubelet ends the copy at its deadline, whether or
//!   not the plugin is still there;
//! - scheduled anew (`--same-node` keeps the pod's node); the scheduling gates, the priority
//!   value and the overhead are left to admission to set again;
//! - init containers kept (`--skip-init` drops them, native sidecars stay); ours, which writes
//!   the holder, comes first;
//! - `--set-image CONTAINER=IMAGE` as `kubectl debug --copy-to --set-image`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, Pod, PodSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use crate::cli::options::{CopyOptions, Options};
use crate::error::Error;
use crate::model::Profile;
use crate::plan::audit::Audit;
use crate::plan::container::{Mode, env_var};
use crate::plan::custom::Custom;
pub(crate) use crate::plan::holder::HOLDER_INIT;
use crate::plan::holder::{HOLDER_DIR, HOLDER_PATH, HOLDER_VOLUME, install_script};
use crate::plan::ours::{Made, Marks, annotations, labels};
use crate::plan::scripts::kubelet_literal;
use crate::plan::target::DEFAULT_CONTAINER_ANNOTATION;
use crate::plan::user::{FALLBACK_UID, Probed};

/// The toolbox's variables that say the target is held, and how it would start: its command
/// and arguments from the pod spec, as shell words.
pub(crate) const COMMAND_ENV: &str = "TARGET_COMMAND";
pub(crate) const ARGS_ENV: &str = "TARGET_ARGS";
/// Set on a copy's toolbox: the name of the pod it copies.
pub(crate) const COPY_OF_ENV: &str = "DISTROLESS_DEBUG_COPY_OF";

/// Everything the copy is made of.
pub(crate) struct Input<'a> {
    /// The pod to copy.
    pub(crate) pod: &'a Pod,
    /// The target container, held in the copy.
    pub(crate) target: &'a str,
    /// The copy's name.
    pub(crate) name: &'a str,
    /// Our toolbox container, built as for an ephemeral container
    /// ([`crate::plan::container::build`], [`crate::plan::container::as_container`]).
    pub(crate) toolbox: Container,
    pub(crate) options: &'a CopyOptions,
    /// The toolbox image and its pull policy, for the holder's init container too.
    pub(crate) image: &'a str,
    pub(crate) pull_policy: Option<&'a str>,
    pub(crate) profile: &'a str,
    pub(crate) audit: &'a Audit,
    /// `--keep`: the copy stays after the session (recorded).
    pub(crate) keep: bool,
}

/// `words` as one string that `sh` splits back into them: each word as it is when it holds
/// only characters that need no quoting, else in single quotes. Pure.
pub(crate) fn shell_words(words: &[String]) -> String {
    let safe = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c))
    };
    words
        .iter()
        .map(|w| {
            if safe(w) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The init container that writes the holder: the toolbox image, running as UID and GID 65532
/// with everything dropped, so that it passes every Pod Security level. Pure.
fn holder_init(image: &str, pull_policy: Option<&str>) -> Container {
    let mut sc = crate::plan::profile::restricted();
    sc.run_as_user = Some(FALLBACK_UID);
    sc.run_as_group = Some(FALLBACK_UID);
    Container {
        name: HOLDER_INIT.to_owned(),
        image: Some(image.to_owned()),
        image_pull_policy: pull_policy.map(str::to_owned),
        command: Some(vec![
            "sh".to_owned(),
            "-c".to_owned(),
            kubelet_literal(&install_script()),
        ]),
        volume_mounts: Some(vec![VolumeMount {
            name: HOLDER_VOLUME.to_owned(),
            mount_path: HOLDER_DIR.to_owned(),
            ..VolumeMount::default()
        }]),
        security_context: Some(sc),
        termination_message_policy: Some("File".to_owned()),
        ..Container::default()
    }
}

/// Whether an init container is a native sidecar (`restartPolicy: Always`): it runs beside
/// the containers, so `--skip-init` keeps it.
fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn without_probes(c: &mut Container) {
    c.liveness_probe = None;
    c.readiness_probe = None;
    c.startup_probe = None;
}

/// The toolbox of the copy, built as an ephemeral container would be (profile, `--custom`, the
/// target's user) and made a regular container. Pure. The copy's target is not running yet, so a
/// user that must be probed falls back to the fixed non-root user, and says so.
pub(crate) fn toolbox(
    pod: &Pod,
    target: &str,
    name: &str,
    options: &Options,
    profile: Profile,
    custom: Option<&Custom>,
    audit: &Audit,
) -> Result<(k8s_openapi::api::core::v1::Container, Vec<String>), Error> {
    let mut dc = options.container.clone();
    dc.profile = profile;
    let mode = if options.keep {
        Mode::KeepAlive
    } else {
        Mode::Session
    };
    let input = |probed| crate::plan::container::Input {
        pod,
        target_container: target,
        name,
        container: &dc,
        custom,
        audit,
        mode,
        probed,
    };
    let mut built =
        crate::plan::container::build(&input(crate::plan::user::probe_outcome(pod, target)))?;
    if built.needs_probe {
        built = crate::plan::container::build(&input(Probed::Failed(
            "neither the pod spec nor the runtime says it, and the copy's target runs no process of the image to read it from".to_owned(),
        )))?;
    }
    Ok((
        crate::plan::container::as_container(&built.container)?,
        built.notes,
    ))
}

/// The copy. Errors: `--set-image` naming no container of the pod, `--same-node` for a pod no
/// node runs, a name of ours already used in the pod. Pure.
pub(crate) fn build(input: &Input<'_>) -> Result<Pod, Error> {
    let pod = input.pod;
    let pod_name = pod.name_any();
    let original = pod.spec.clone().unwrap_or_default();
    let mut spec = PodSpec {
        ephemeral_containers: None,
        restart_policy: Some("Never".to_owned()),
        share_process_namespace: Some(true),
        active_deadline_seconds: Some(
            i64::try_from(input.audit.ttl.as_secs().max(1)).unwrap_or(i64::MAX),
        ),
        node_name: None,
        scheduling_gates: None,
        priority: None,
        overhead: None,
        ..original.clone()
    };
    if input.options.same_node {
        let Some(node) = original.node_name.clone() else {
            return Err(Error::Usage(format!(
                "--same-node: pod {pod_name:?} is not on a node yet; drop --same-node"
            )));
        };
        spec.node_name = Some(node);
    }

    // Our names must be free in the pod.
    let taken = crate::plan::names::all_container_names(pod);
    for ours in [HOLDER_INIT, input.toolbox.name.as_str()] {
        if taken.iter().any(|t| t == ours) {
            return Err(Error::NameTaken {
                pod: pod_name,
                name: ours.to_owned(),
            });
        }
    }
    if original
        .volumes
        .iter()
        .flatten()
        .any(|v| v.name == HOLDER_VOLUME)
    {
        return Err(Error::NameTaken {
            pod: pod_name,
            name: HOLDER_VOLUME.to_owned(),
        });
    }

    // --set-image: every name must be a container of the pod (or `*`).
    for (container, _) in &input.options.set_image {
        if container != "*" && !taken.iter().any(|t| t == container) {
            return Err(Error::ContainerNotFound {
                pod: pod_name,
                container: container.clone(),
                available: taken,
            });
        }
    }
    let image_for = |name: &str| {
        input
            .options
            .set_image
            .iter()
            .rev()
            .find(|(c, _)| c == name || c == "*")
            .map(|(_, i)| i.clone())
    };

    let mut held = None;
    for c in &mut spec.containers {
        without_probes(c);
        if let Some(image) = image_for(&c.name) {
            c.image = Some(image);
        }
        if c.name == input.target {
            held = Some((c.command.clone(), c.args.clone()));
            c.command = Some(vec![HOLDER_PATH.to_owned()]);
            c.args = None;
            c.lifecycle = None;
            let mounts = c.volume_mounts.get_or_insert_with(Vec::new);
            if mounts.iter().any(|m| m.mount_path == HOLDER_DIR) {
                return Err(Error::NameTaken {
                    pod: pod_name,
                    name: HOLDER_DIR.to_owned(),
                });
            }
            mounts.push(VolumeMount {
                name: HOLDER_VOLUME.to_owned(),
                mount_path: HOLDER_DIR.to_owned(),
                read_only: Some(true),
                ..VolumeMount::default()
            });
        }
    }
    let Some((command, args)) = held else {
        return Err(Error::ContainerNotFound {
            pod: pod_name,
            container: input.target.to_owned(),
            available: original.containers.iter().map(|c| c.name.clone()).collect(),
        });
    };

    let mut inits = vec![holder_init(input.image, input.pull_policy)];
    for c in original.init_containers.iter().flatten() {
        if input.options.skip_init && !is_sidecar(c) {
            continue;
        }
        let mut c = c.clone();
        without_probes(&mut c);
        if let Some(image) = image_for(&c.name) {
            c.image = Some(image);
        }
        inits.push(c);
    }
    spec.init_containers = Some(inits);

    let mut toolbox = input.toolbox.clone();
    let env = toolbox.env.get_or_insert_with(Vec::new);
    env.push(env_var(COPY_OF_ENV, &pod_name));
    env.push(env_var(
        COMMAND_ENV,
        &shell_words(&command.unwrap_or_default()),
    ));
    env.push(env_var(ARGS_ENV, &shell_words(&args.unwrap_or_default())));
    spec.containers.push(toolbox);

    spec.volumes.get_or_insert_with(Vec::new).push(Volume {
        name: HOLDER_VOLUME.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    });

    let marks = Marks {
        container: &input.toolbox.name,
        image: input.image,
        profile: input.profile,
        copy_of: Some(&pod_name),
        target: Some(input.target),
        node: None,
        keep: input.keep,
    };
    let mut notes = annotations(input.audit, &marks);
    // `kubectl exec` and `kubectl logs` on the copy land in the toolbox.
    notes.insert(
        DEFAULT_CONTAINER_ANNOTATION.to_owned(),
        input.toolbox.name.clone(),
    );
    let kept: Option<&BTreeMap<String, String>> = if input.options.keep_labels {
        pod.metadata.labels.as_ref()
    } else {
        None
    };
    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(input.name.to_owned()),
            namespace: pod.metadata.namespace.clone(),
            labels: Some(labels(Made::Copy, kept)),
            annotations: Some(notes),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::target::fixtures::pod;
    use k8s_openapi::api::core::v1::{ExecAction, Lifecycle, LifecycleHandler, Probe};
    use serde_json::{Value, json};
    use std::time::Duration;

    fn audit() -> Audit {
        Audit {
            by: Some("alice".into()),
            at: "2026-01-02T03:04:05Z".into(),
            reason: Some("INC-9".into()),
            ttl: Duration::from_secs(1800),
        }
    }

    fn toolbox() -> Container {
        Container {
            name: "debugger-abcde".into(),
            image: Some("toolbox:1".into()),
            ..Container::default()
        }
    }

    #[allow(clippy::unnecessary_wraps)]
    fn probe() -> Option<Probe> {
        Some(Probe {
            exec: Some(ExecAction {
                command: Some(vec!["true".into()]),
            }),
            ..Probe::default()
        })
    }

    /// A pod as the API server returns it: scheduled, owned by a ReplicaSet, labelled, with a
    /// command, probes, a hook, an init container and a native sidecar.
    fn source() -> Pod {
        let mut p = pod("api-7f9c")
            .container("app")
            .container("side")
            .annotation("team", "payments")
            .build();
        p.metadata.labels = Some(BTreeMap::from([("app".into(), "api".into())]));
        p.metadata.owner_references = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                kind: "ReplicaSet".into(),
                name: "api-7f".into(),
                ..Default::default()
            },
        ]);
        p.metadata.uid = Some("u-1".into());
        let spec = p.spec.as_mut().unwrap();
        spec.node_name = Some("worker-1".into());
        spec.priority = Some(1000);
        spec.restart_policy = Some("Always".into());
        let app = &mut spec.containers[0];
        app.command = Some(vec!["/app".into()]);
        app.args = Some(vec!["--config".into(), "/etc/app/my config.yaml".into()]);
        app.liveness_probe = probe();
        app.readiness_probe = probe();
        app.lifecycle = Some(Lifecycle {
            pre_stop: Some(LifecycleHandler::default()),
            ..Lifecycle::default()
        });
        app.volume_mounts = Some(vec![VolumeMount {
            name: "secret".into(),
            mount_path: "/etc/app".into(),
            ..VolumeMount::default()
        }]);
        spec.containers[1].startup_probe = probe();
        spec.init_containers = Some(vec![
            Container {
                name: "migrate".into(),
                image: Some("app:1".into()),
                ..Container::default()
            },
            Container {
                name: "proxy".into(),
                image: Some("proxy:1".into()),
                restart_policy: Some("Always".into()),
                readiness_probe: probe(),
                ..Container::default()
            },
        ]);
        p
    }

    fn copy_with(options: &CopyOptions, keep: bool) -> Result<Value, Error> {
        let p = source();
        let a = audit();
        build(&Input {
            pod: &p,
            target: "app",
            name: "api-7f9c-copy-bbbbb",
            toolbox: toolbox(),
            options,
            image: "toolbox:1",
            pull_policy: Some("IfNotPresent"),
            profile: "general",
            audit: &a,
            keep,
        })
        .map(|p| serde_json::to_value(p).unwrap())
    }

    fn names(list: &Value) -> Vec<&str> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect()
    }

    fn env(c: &Value, name: &str) -> Option<String> {
        c["env"]
            .as_array()?
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap().replace("$$", "$"))
    }

    #[test]
    fn the_default_copy() {
        let c = copy_with(&CopyOptions::default(), false).unwrap();
        let meta = &c["metadata"];
        assert_eq!(meta["name"], "api-7f9c-copy-bbbbb");
        assert_eq!(meta["namespace"], "default");
        assert_eq!(meta["labels"], json!({"distroless-debug/mode": "copy"}));
        assert_eq!(meta["annotations"]["distroless-debug/copy-of"], "api-7f9c");
        assert_eq!(meta["annotations"]["distroless-debug/by"], "alice");
        assert_eq!(meta["annotations"]["distroless-debug/reason"], "INC-9");
        assert_eq!(meta["annotations"]["distroless-debug/ttl"], "1800");
        assert_eq!(meta["annotations"]["distroless-debug/target"], "app");
        assert_eq!(
            meta["annotations"]["kubectl.kubernetes.io/default-container"],
            "debugger-abcde"
        );
        assert!(meta["annotations"].get("team").is_none());
        assert!(meta["annotations"].get("distroless-debug/keep").is_none());
        for gone in ["ownerReferences", "uid", "resourceVersion"] {
            assert!(meta.get(gone).is_none(), "{gone}");
        }
        let spec = &c["spec"];
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(spec["shareProcessNamespace"], true);
        assert_eq!(spec["activeDeadlineSeconds"], 1800);
        assert!(spec.get("nodeName").is_none(), "scheduled anew");
        assert!(spec.get("priority").is_none());
        assert!(c.get("status").is_none());

        // The held container: same image, env, mounts; the holder as its command.
        assert_eq!(
            names(&spec["containers"]),
            ["app", "side", "debugger-abcde"]
        );
        let app = &spec["containers"][0];
        assert_eq!(app["image"], "app:1");
        assert_eq!(app["command"], json!([HOLDER_PATH]));
        assert!(app.get("args").is_none());
        for gone in ["livenessProbe", "readinessProbe", "lifecycle"] {
            assert!(app.get(gone).is_none(), "{gone}");
        }
        assert_eq!(
            app["volumeMounts"],
            json!([{"name": "secret", "mountPath": "/etc/app"},
                   {"name": HOLDER_VOLUME, "mountPath": HOLDER_DIR, "readOnly": true}])
        );
        assert!(spec["containers"][1].get("startupProbe").is_none());
        // The toolbox knows the entrypoint, as shell words.
        let tb = &spec["containers"][2];
        assert_eq!(env(tb, COMMAND_ENV).as_deref(), Some("/app"));
        assert_eq!(
            env(tb, ARGS_ENV).as_deref(),
            Some("--config '/etc/app/my config.yaml'")
        );
        assert_eq!(env(tb, COPY_OF_ENV).as_deref(), Some("api-7f9c"));

        // Init containers: ours first, then the pod's, probes removed.
        assert_eq!(
            names(&spec["initContainers"]),
            [HOLDER_INIT, "migrate", "proxy"]
        );
        let holder = &spec["initContainers"][0];
        assert_eq!(holder["image"], "toolbox:1");
        assert_eq!(holder["imagePullPolicy"], "IfNotPresent");
        assert_eq!(holder["securityContext"]["runAsUser"], 65532);
        assert_eq!(holder["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(
            holder["securityContext"]["capabilities"]["drop"],
            json!(["ALL"])
        );
        assert!(spec["initContainers"][2].get("readinessProbe").is_none());
        // The holder's script reaches the container as written.
        assert_eq!(
            holder["command"][2].as_str().unwrap().replace("$$", "$"),
            install_script()
        );
        assert_eq!(
            spec["volumes"],
            json!([{"name": HOLDER_VOLUME, "emptyDir": {}}])
        );
        // The holder passes the restricted level on its own.
        let as_ephemeral: k8s_openapi::api::core::v1::EphemeralContainer =
            serde_json::from_value(holder.clone()).unwrap();
        assert!(
            crate::plan::pss::violations(crate::model::Level::Restricted, &as_ephemeral, None)
                .is_empty()
        );
    }

    #[test]
    fn flags_shape_the_copy() {
        let o = CopyOptions {
            same_node: true,
            keep_labels: true,
            skip_init: true,
            set_image: vec![
                ("*".into(), "debug:2".into()),
                ("side".into(), "side:9".into()),
            ],
        };
        let c = copy_with(&o, true).unwrap();
        let spec = &c["spec"];
        assert_eq!(spec["nodeName"], "worker-1");
        assert_eq!(
            c["metadata"]["labels"],
            json!({"app": "api", "distroless-debug/mode": "copy"})
        );
        assert_eq!(
            c["metadata"]["annotations"]["distroless-debug/keep"],
            "true"
        );
        // The native sidecar stays; the init container goes.
        assert_eq!(names(&spec["initContainers"]), [HOLDER_INIT, "proxy"]);
        // The last matching --set-image wins; ours keep the toolbox image.
        assert_eq!(spec["containers"][0]["image"], "debug:2");
        assert_eq!(spec["containers"][1]["image"], "side:9");
        assert_eq!(spec["containers"][2]["image"], "toolbox:1");
        assert_eq!(spec["initContainers"][0]["image"], "toolbox:1");
        assert_eq!(spec["initContainers"][1]["image"], "debug:2");
    }

    #[test]
    fn refusals() {
        let o = CopyOptions {
            set_image: vec![("nope".into(), "x:1".into())],
            ..CopyOptions::default()
        };
        let e = copy_with(&o, false).unwrap_err();
        assert!(
            e.to_string().contains("container \"nope\" not found"),
            "{e}"
        );
        // Not scheduled: no node to copy onto.
        let mut p = source();
        p.spec.as_mut().unwrap().node_name = None;
        let a = audit();
        let same = CopyOptions {
            same_node: true,
            ..CopyOptions::default()
        };
        let input =
            |p: &'_ Pod, target: &'static str, o: &'static CopyOptions| -> Result<Pod, Error> {
                build(&Input {
                    pod: p,
                    target,
                    name: "c",
                    toolbox: toolbox(),
                    options: o,
                    image: "toolbox:1",
                    pull_policy: None,
                    profile: "general",
                    audit: &a,
                    keep: false,
                })
            };
        let same: &'static CopyOptions = Box::leak(Box::new(same));
        let plain: &'static CopyOptions = Box::leak(Box::new(CopyOptions::default()));
        assert!(
            input(&p, "app", same)
                .unwrap_err()
                .to_string()
                .contains("--same-node")
        );
        assert!(matches!(
            input(&p, "nope", plain).unwrap_err(),
            Error::ContainerNotFound { .. }
        ));
        // Our init container's name taken.
        let taken = crate::plan::target::fixtures::PodBuilder(source())
            .init_container(HOLDER_INIT)
            .build();
        assert!(matches!(
            input(&taken, "app", plain).unwrap_err(),
            Error::NameTaken { .. }
        ));
    }

    #[test]
    fn the_toolbox_takes_the_targets_user_or_falls_back_without_a_probe() {
        use clap::Parser;
        let cli =
            crate::cli::args::Cli::try_parse_from(["kubectl-distroless_debug", "pod/a", "--copy"])
                .unwrap();
        let env = crate::cli::options::Environment {
            image: None,
            stdin_is_terminal: true,
            stdout_is_terminal: true,
        };
        let options = Options::from_cli(cli, &env).unwrap();
        let mut p = source();
        p.spec.as_mut().unwrap().security_context =
            Some(k8s_openapi::api::core::v1::PodSecurityContext {
                run_as_non_root: Some(true),
                ..Default::default()
            });
        let a = audit();
        let build = |p: &Pod| {
            super::toolbox(
                p,
                "app",
                "debugger-abcde",
                &options,
                Profile::General,
                None,
                &a,
            )
        };
        // Non-root and no user in the spec: no process of the image runs to probe.
        let (c, notes) = build(&p).unwrap();
        assert_eq!(
            c.security_context.and_then(|s| s.run_as_user),
            Some(FALLBACK_UID)
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("runs no process of the image")),
            "{notes:?}"
        );
        // The user in the spec: that user.
        p.spec.as_mut().unwrap().containers[0].security_context =
            Some(k8s_openapi::api::core::v1::SecurityContext {
                run_as_user: Some(1000),
                run_as_group: Some(3000),
                ..Default::default()
            });
        let (c, _) = build(&p).unwrap();
        let sc = c.security_context.unwrap();
        assert_eq!((sc.run_as_user, sc.run_as_group), (Some(1000), Some(3000)));
        assert_eq!(c.name, "debugger-abcde");
    }

    #[test]
    fn shell_words_split_back() {
        let words: Vec<String> = ["/app", "--name=x", "a b", "it's", "", "$(HOME)"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let joined = shell_words(&words);
        assert_eq!(joined, "/app --name=x 'a b' 'it'\\''s' '' '$(HOME)'");
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("for w in {joined}; do printf '<%s>' \"$w\"; done"),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "</app><--name=x><a b><it's><><$(HOME)>"
        );
    }
}
