//! What the API server stored, compared with the debug container the PATCH asked for. Mutating
//! admission (a webhook, a MutatingAdmissionPolicy) may change or drop it, and the PATCH's
//! answer is the pod after admission: a container that is not there never starts, so there is
//! nothing to wait for. Pure.
//!
//! Only the fields the plugin set are compared, so the defaults the API server fills in
//! (`terminationMessagePath`, `imagePullPolicy` when none was asked for) never count. A change
//! is judged by what it does to the session:
//! - the container missing: [`Error::ContainerDropped`];
//! - `command`, `args` (the keep-alive script), `targetContainerName` (whose processes the
//!   session sees) or one of the plugin's own variables (`DISTROLESS_DEBUG_*`, `TARGET_ROOT`:
//!   reuse, the keep-alive and the audit record read them) changed or removed:
//!   [`Error::ContainerRewritten`] naming the fields;
//! - anything else the plugin set (the image, as a registry mirror rewrites it; the security
//!   context; `--env` values; stdin, TTY, the pull policy, the termination message policy): a
//!   warning on stderr (shown with -q too), and the session goes on with what was stored.

use k8s_openapi::api::core::v1::{EnvVar, EphemeralContainer, Pod};
use kube::ResourceExt;
use serde_json::Value;

use crate::error::Error;

/// The container as stored, and what to tell the user about fields admission changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    pub(crate) container: EphemeralContainer,
    pub(crate) notices: Vec<String>,
}

/// Compares `asked` with its namesake among `stored`'s ephemeral containers. Pure.
pub(crate) fn check(asked: &EphemeralContainer, stored: &Pod) -> Result<Stored, Error> {
    let pod = stored.name_any();
    let Some(got) = stored
        .spec
        .as_ref()
        .and_then(|s| s.ephemeral_containers.as_ref())
        .and_then(|list| list.iter().find(|c| c.name == asked.name))
    else {
        return Err(Error::ContainerDropped {
            pod,
            container: asked.name.clone(),
        });
    };

    let mut broken = Vec::new();
    if got.command != asked.command {
        broken.push("command".to_owned());
    }
    if got.args != asked.args {
        broken.push("args".to_owned());
    }
    if got.target_container_name != asked.target_container_name {
        broken.push("targetContainerName".to_owned());
    }
    let mut env_changed = Vec::new();
    for var in asked.env.iter().flatten() {
        let same = got
            .env
            .iter()
            .flatten()
            .find(|e| e.name == var.name)
            .is_some_and(|e| same_var(e, var));
        if !same {
            if is_ours(&var.name) {
                broken.push(format!("env {}", var.name));
            } else {
                env_changed.push(var.name.clone());
            }
        }
    }
    if !broken.is_empty() {
        return Err(Error::ContainerRewritten {
            pod,
            container: asked.name.clone(),
            fields: broken,
        });
    }

    let name = &asked.name;
    let mut notices = Vec::new();
    if asked.image.is_some() && got.image != asked.image {
        notices.push(format!(
            "admission changed the image of debug container {name} to {} (asked for {}), as a registry mirror does; going on with it",
            got.image.as_deref().unwrap_or("none"),
            asked.image.as_deref().unwrap_or_default()
        ));
    }
    let keys = changed_keys(
        &to_value(asked.security_context.as_ref()),
        &to_value(got.security_context.as_ref()),
    );
    if !keys.is_empty() {
        notices.push(format!(
            "admission changed the securityContext of debug container {name} ({}); going on with it: the session runs as stored, and may not see the target's files or processes as asked",
            keys.join(", ")
        ));
    }
    if !env_changed.is_empty() {
        notices.push(format!(
            "admission changed or removed --env {} of debug container {name}; going on with what was stored",
            env_changed.join(", ")
        ));
    }
    let mut others = Vec::new();
    let asked_flag = |v: Option<bool>| v.unwrap_or(false);
    if asked_flag(got.stdin) != asked_flag(asked.stdin) {
        others.push("stdin");
    }
    if asked_flag(got.stdin_once) != asked_flag(asked.stdin_once) {
        others.push("stdinOnce");
    }
    if asked_flag(got.tty) != asked_flag(asked.tty) {
        others.push("tty");
    }
    if asked.image_pull_policy.is_some() && got.image_pull_policy != asked.image_pull_policy {
        others.push("imagePullPolicy");
    }
    if asked.termination_message_policy.is_some()
        && got.termination_message_policy != asked.termination_message_policy
    {
        others.push("terminationMessagePolicy");
    }
    if asked.working_dir.is_some() && got.working_dir != asked.working_dir {
        others.push("workingDir");
    }
    if asked.volume_mounts.is_some() && got.volume_mounts != asked.volume_mounts {
        others.push("volumeMounts");
    }
    if !others.is_empty() {
        notices.push(format!(
            "admission changed {} of debug container {name}; going on with what was stored",
            others.join(", ")
        ));
    }
    Ok(Stored {
        container: got.clone(),
        notices,
    })
}

/// A variable the plugin writes for itself: the keep-alive, reuse and the audit read them.
fn is_ours(name: &str) -> bool {
    name.starts_with(crate::cli::parse::RESERVED_ENV_PREFIX) || name == "TARGET_ROOT"
}

/// The same value (a `valueFrom` the server defaulted, e.g. a fieldRef's apiVersion, is not
/// compared: the plugin writes plain values).
fn same_var(got: &EnvVar, asked: &EnvVar) -> bool {
    if asked.value_from.is_some() {
        return got.value_from.is_some() && got.value.is_none();
    }
    got.value.as_deref().unwrap_or_default() == asked.value.as_deref().unwrap_or_default()
        && got.value_from.is_none()
}

fn to_value<T: serde::Serialize>(v: Option<&T>) -> Value {
    v.and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or(Value::Null)
}

fn present<'a>(m: &'a serde_json::Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k).filter(|v| !v.is_null())
}

/// The top-level keys of two JSON objects whose values differ (added, removed or changed),
/// sorted; `null` counts as no key.
fn changed_keys(asked: &Value, got: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let a = asked.as_object().unwrap_or(&empty);
    let g = got.as_object().unwrap_or(&empty);
    let mut keys: Vec<String> = a
        .keys()
        .chain(g.keys())
        .filter(|k| present(a, k) != present(g, k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Capabilities, PodSpec, SecurityContext};

    fn var(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: Some(value.into()),
            value_from: None,
        }
    }

    /// A container as the plugin builds one.
    fn asked() -> EphemeralContainer {
        EphemeralContainer {
            name: "debugger-abcde".into(),
            image: Some("toolbox:1".into()),
            command: Some(vec!["sh".into(), "-c".into()]),
            args: Some(vec!["keep-alive script".into(), "distroless-debug".into()]),
            target_container_name: Some("app".into()),
            env: Some(vec![
                var("APP_DEBUG", "1"),
                var("DISTROLESS_DEBUG_VERSION", "0.1.0"),
                var("DISTROLESS_DEBUG_TTL", "3600"),
            ]),
            security_context: Some(SecurityContext {
                run_as_user: Some(65532),
                capabilities: Some(Capabilities {
                    add: Some(vec!["SYS_PTRACE".into()]),
                    drop: None,
                }),
                ..SecurityContext::default()
            }),
            termination_message_policy: Some("FallbackToLogsOnError".into()),
            ..EphemeralContainer::default()
        }
    }

    fn pod_with(containers: Vec<EphemeralContainer>) -> Pod {
        Pod {
            metadata: kube::api::ObjectMeta {
                name: Some("api".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                ephemeral_containers: Some(containers),
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }

    /// The container as the API server stores it when nothing rewrites it: its defaults
    /// filled in.
    fn defaulted(c: &EphemeralContainer) -> EphemeralContainer {
        EphemeralContainer {
            termination_message_path: Some("/dev/termination-log".into()),
            image_pull_policy: Some("IfNotPresent".into()),
            ..c.clone()
        }
    }

    fn stored_as(change: impl FnOnce(&mut EphemeralContainer)) -> Result<Stored, Error> {
        let mut got = defaulted(&asked());
        change(&mut got);
        check(&asked(), &pod_with(vec![got]))
    }

    fn rewritten_fields(r: Result<Stored, Error>) -> Vec<String> {
        match r {
            Err(Error::ContainerRewritten { fields, .. }) => fields,
            other => panic!("expected ContainerRewritten, got {other:?}"),
        }
    }

    #[test]
    fn the_servers_defaults_do_not_count() {
        let s = stored_as(|_| {}).unwrap();
        assert!(s.notices.is_empty(), "{:?}", s.notices);
        assert_eq!(s.container, defaulted(&asked()));
    }

    #[test]
    fn other_containers_and_added_variables_do_not_count() {
        let other = EphemeralContainer {
            name: "debugger-older".into(),
            image: Some("elsewhere/toolbox:2".into()),
            ..EphemeralContainer::default()
        };
        let mut got = defaulted(&asked());
        got.env
            .as_mut()
            .unwrap()
            .push(var("HTTP_PROXY", "proxy:3128"));
        let s = check(&asked(), &pod_with(vec![other, got])).unwrap();
        assert!(s.notices.is_empty(), "{:?}", s.notices);
    }

    #[test]
    fn a_dropped_container_is_an_error_naming_pod_and_container() {
        let other = EphemeralContainer {
            name: "debugger-older".into(),
            ..EphemeralContainer::default()
        };
        for pod in [pod_with(vec![other]), pod_with(vec![]), {
            let mut p = pod_with(vec![]);
            p.spec = None;
            p
        }] {
            let e = check(&asked(), &pod).unwrap_err();
            assert!(
                matches!(&e, Error::ContainerDropped { pod, container } if pod == "api" && container == "debugger-abcde"),
                "{e:?}"
            );
            assert_eq!(
                e.to_string(),
                "the API server stored pod \"api\" without debug container \"debugger-abcde\": mutating admission (a webhook or policy) removed it from the request, so it will never start"
            );
            let hint = e.hint().unwrap();
            assert!(hint.contains("pods/ephemeralcontainers"), "{hint}");
            assert!(hint.contains("--copy"), "{hint}");
            assert_eq!(e.exit_code(), 1);
        }
    }

    #[test]
    fn command_args_and_target_rewritten_are_errors_naming_the_fields() {
        assert_eq!(
            rewritten_fields(stored_as(|c| c.command = Some(vec!["sleep".into()]))),
            ["command"]
        );
        assert_eq!(rewritten_fields(stored_as(|c| c.args = None)), ["args"]);
        assert_eq!(
            rewritten_fields(stored_as(|c| {
                c.command = Some(vec!["/bin/wrapper".into()]);
                c.args = Some(vec!["--".into()]);
                c.target_container_name = None;
            })),
            ["command", "args", "targetContainerName"]
        );
        assert_eq!(
            rewritten_fields(stored_as(
                |c| c.target_container_name = Some("sidecar".into())
            )),
            ["targetContainerName"]
        );
        let e = stored_as(|c| c.command = Some(vec!["sleep".into()])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mutating admission (a webhook or policy) changed debug container \"debugger-abcde\" of pod \"api\" before it was stored (command): no session is opened in what the plugin did not ask for (the container stays in the pod as stored)"
        );
        assert!(e.hint().unwrap().contains("mutatingwebhookconfigurations"));
    }

    #[test]
    fn the_plugins_own_variables_changed_or_removed_are_errors() {
        assert_eq!(
            rewritten_fields(stored_as(|c| {
                c.env
                    .as_mut()
                    .unwrap()
                    .retain(|e| e.name != "DISTROLESS_DEBUG_TTL");
            })),
            ["env DISTROLESS_DEBUG_TTL"]
        );
        assert_eq!(
            rewritten_fields(stored_as(|c| {
                c.env.as_mut().unwrap()[1].value = Some("9.9.9".into());
            })),
            ["env DISTROLESS_DEBUG_VERSION"]
        );
        // A value turned into a reference is a change too.
        assert_eq!(
            rewritten_fields(stored_as(|c| {
                let e = &mut c.env.as_mut().unwrap()[2];
                e.value = None;
                e.value_from = Some(k8s_openapi::api::core::v1::EnvVarSource::default());
            })),
            ["env DISTROLESS_DEBUG_TTL"]
        );
    }

    #[test]
    fn a_rewritten_image_is_a_notice_and_the_stored_container_goes_on() {
        let s = stored_as(|c| c.image = Some("mirror.local/toolbox:1".into())).unwrap();
        assert_eq!(
            s.notices,
            [
                "admission changed the image of debug container debugger-abcde to mirror.local/toolbox:1 (asked for toolbox:1), as a registry mirror does; going on with it"
            ]
        );
        assert_eq!(s.container.image.as_deref(), Some("mirror.local/toolbox:1"));
    }

    #[test]
    fn a_changed_security_context_is_a_notice_naming_its_keys() {
        let s = stored_as(|c| {
            let sc = c.security_context.as_mut().unwrap();
            sc.run_as_user = Some(1000);
            sc.capabilities = None;
            sc.read_only_root_filesystem = Some(true);
        })
        .unwrap();
        assert_eq!(
            s.notices,
            [
                "admission changed the securityContext of debug container debugger-abcde (capabilities, readOnlyRootFilesystem, runAsUser); going on with it: the session runs as stored, and may not see the target's files or processes as asked"
            ]
        );
        // Added where the plugin set none.
        let mut asked = asked();
        asked.security_context = None;
        let mut got = defaulted(&asked);
        got.security_context = Some(SecurityContext {
            run_as_non_root: Some(true),
            ..SecurityContext::default()
        });
        let s = check(&asked, &pod_with(vec![got])).unwrap();
        assert!(s.notices[0].contains("(runAsNonRoot)"), "{:?}", s.notices);
    }

    #[test]
    fn user_variables_and_other_fields_are_notices() {
        let s = stored_as(|c| {
            c.env.as_mut().unwrap()[0].value = Some("0".into());
            c.tty = Some(true);
            c.stdin = Some(true);
            c.termination_message_policy = Some("File".into());
        })
        .unwrap();
        assert_eq!(
            s.notices,
            [
                "admission changed or removed --env APP_DEBUG of debug container debugger-abcde; going on with what was stored",
                "admission changed stdin, tty, terminationMessagePolicy of debug container debugger-abcde; going on with what was stored"
            ]
        );
        // A pull policy the plugin did not set is the server's default, whatever it is.
        let s = stored_as(|c| c.image_pull_policy = Some("Always".into())).unwrap();
        assert!(s.notices.is_empty(), "{:?}", s.notices);
        // One it set counts.
        let mut asked = asked();
        asked.image_pull_policy = Some("Never".into());
        let mut got = defaulted(&asked);
        got.image_pull_policy = Some("Always".into());
        let s = check(&asked, &pod_with(vec![got])).unwrap();
        assert!(s.notices[0].contains("imagePullPolicy"), "{:?}", s.notices);
    }

    #[test]
    fn false_and_unset_flags_are_the_same() {
        let s = stored_as(|c| {
            c.stdin = Some(false);
            c.tty = Some(false);
        })
        .unwrap();
        assert!(s.notices.is_empty(), "{:?}", s.notices);
    }
}
