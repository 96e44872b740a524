//! `&Pod` + options → the `EphemeralContainer` to add, and the exec commands of its sessions.
//! Pure, so every field is unit-tested.
//!
//! Every debug container runs the small keep-alive script (`sh/keepalive.sh`) as its main
//! process, and every shell and command comes into it through exec (`sh/session.sh`): exec
//! streams are never written to the container's log (which anyone with `pods/log` could read),
//! the exit code comes with the exec's status, and nothing the kubelet rewrites stands between
//! the script and the shell. A container either ends with its session ([`Mode::Session`]) or is
//! kept for reuse until its time to live ([`Mode::KeepAlive`]).
//!
//! The kubelet expands `$(NAME)` and turns `$$` into `$` in a container's command, args and env
//! values: every string the plugin puts there goes through [`kubelet_literal`], so that it
//! reaches the container exactly as written. Exec commands are not expanded.
//!
//! Order of construction: base (name, image, command, env) → profile's `securityContext` →
//! `--custom` merged on top (it may not change name, image, command or args) → the user: a
//! debug container that runs as non-root gets exactly the target's UID and GID
//! ([`crate::plan::user::Ids`]), since reading `/proc/PID/root` of another process needs the same UID *and*
//! GID, or CAP_SYS_PTRACE, which a non-root container does not have (kubernetes#105846).
//!
//! One cohesive thing, the spec of a debug container; more than half of the file is its tests.

use k8s_openapi::api::core::v1::{EnvVar, EphemeralContainer, Pod, SecurityContext};
use serde_json::Value;

use crate::cli::options::DebugContainer;
use crate::error::Error;
use crate::plan::audit::Audit;
use crate::plan::custom::{Custom, merge};
use crate::plan::env::{AUDIT_ENV, KEEPALIVE_ENV, PROBE_ENV, SPEC_ENV};
use crate::plan::scripts::{keep_alive_script, kubelet_literal, probe_script};
use crate::plan::user::{FALLBACK_UID, Probed, runs_as_non_root, target_ids, target_runtime_id};

/// Whether the container ends with its session or is kept for reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The container ends as soon as no session runs in it (an interactive shell without
    /// `--keep`).
    Session,
    /// The container stays until its time to live, for later sessions and commands to reuse.
    KeepAlive,
}

/// Everything needed to build the container.
pub struct Input<'a> {
    pub pod: &'a Pod,
    pub target_container: &'a str,
    pub name: &'a str,
    pub container: &'a DebugContainer,
    pub custom: Option<&'a Custom>,
    pub audit: &'a Audit,
    pub mode: Mode,
    /// What a probe container read of the target's user.
    pub probed: Probed,
}

/// The container to add, what to tell the user about it, and whether the target's user must be
/// probed first.
#[derive(Debug, Clone)]
pub struct Built {
    pub container: EphemeralContainer,
    /// Notes for stderr: the user decision and what it costs.
    pub notes: Vec<String>,
    /// The container must run as the target's UID and GID, which neither the pod spec nor the
    /// runtime reports: add a [`probe_container`], then build again with [`Input::probed`].
    pub needs_probe: bool,
    /// [`spec_hash`] of the container, as stored in its environment.
    pub spec: String,
}

/// The short-lived container that reads the target's UID and GID from `/proc/PID/status` (any
/// process in the PID namespace may) into its termination message, then ends: added at most
/// once per pod and target, when a non-root debug container needs that user and nothing else
/// reports it. It satisfies the `restricted` Pod Security level, runs as the pod's UID (or
/// [`FALLBACK_UID`]) and carries the audit record like every container of ours. Pure.
pub(crate) fn probe_container(input: &Input<'_>) -> EphemeralContainer {
    let pod_uid = input
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|s| s.run_as_user)
        .filter(|u| *u != 0);
    let mut sc = crate::plan::profile::restricted();
    if pod_uid.is_none() {
        sc.run_as_user = Some(FALLBACK_UID);
    }
    let mut env = vec![env_var(PROBE_ENV, "1")];
    env.extend(common_env(input));
    let runtime_id = target_runtime_id(input.pod, input.target_container).unwrap_or_default();
    EphemeralContainer {
        name: input.name.to_owned(),
        image: Some(input.container.image.clone()),
        image_pull_policy: input.container.pull_policy.map(|p| p.name().to_owned()),
        command: Some(vec!["sh".to_owned(), "-c".to_owned()]),
        args: Some(vec![
            kubelet_literal(probe_script()),
            "distroless-debug-probe".to_owned(),
            runtime_id,
        ]),
        target_container_name: Some(input.target_container.to_owned()),
        env: Some(env),
        security_context: Some(sc),
        termination_message_policy: Some("File".to_owned()),
        ..EphemeralContainer::default()
    }
}

/// The variables every container of ours carries: the target, profile, version, and the audit
/// record. Values as the kubelet must see them ([`kubelet_literal`]).
fn common_env(input: &Input<'_>) -> Vec<EnvVar> {
    record_env(input.target_container, input.container.profile, input.audit)
}

/// [`common_env`] from its parts: `target` is the target container (`node/NAME` for a node).
pub(crate) fn record_env(
    target: &str,
    profile: crate::model::Profile,
    audit: &Audit,
) -> Vec<EnvVar> {
    let mut env = vec![
        env_var("DISTROLESS_DEBUG_TARGET", target),
        env_var("DISTROLESS_DEBUG_PROFILE", profile.name()),
        env_var("DISTROLESS_DEBUG_VERSION", env!("CARGO_PKG_VERSION")),
        env_var("DISTROLESS_DEBUG_AT", &audit.at),
    ];
    if let Some(by) = &audit.by {
        env.push(env_var("DISTROLESS_DEBUG_BY", by));
    }
    if let Some(reason) = &audit.reason {
        env.push(env_var("DISTROLESS_DEBUG_REASON", reason));
    }
    env.push(env_var(
        "DISTROLESS_DEBUG_TTL",
        &audit.ttl.as_secs().max(1).to_string(),
    ));
    env
}

/// The debug container, notes for stderr, and whether the target's user must be probed.
pub fn build(input: &Input<'_>) -> Result<Built, Error> {
    let dc = input.container;
    let mut env: Vec<EnvVar> = dc.env.iter().map(|(k, v)| env_var(k, v)).collect();
    env.extend(common_env(input));
    if input.mode == Mode::KeepAlive {
        env.push(env_var(KEEPALIVE_ENV, "1"));
    }
    let mut c = EphemeralContainer {
        name: input.name.to_owned(),
        image: Some(dc.image.clone()),
        image_pull_policy: dc.pull_policy.map(|p| p.name().to_owned()),
        command: Some(vec!["sh".to_owned(), "-c".to_owned()]),
        args: Some(vec![
            kubelet_literal(keep_alive_script()),
            "distroless-debug".to_owned(),
        ]),
        target_container_name: Some(input.target_container.to_owned()),
        env: Some(env),
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

    let mut notes = Vec::new();
    let needs_probe = apply_user(&mut c, input, &mut notes);
    let hash = spec_hash(&c)?;
    c.env
        .get_or_insert_with(Vec::new)
        .push(env_var(SPEC_ENV, &hash));
    Ok(Built {
        spec: hash,
        container: c,
        notes,
        needs_probe,
    })
}

/// What reuse compares: a hash of everything the request shaped (image, target, command,
/// environment, security context, `--custom` fields), without the name, the audit variables
/// and the hash itself. Server-side defaults never enter it: it is computed before the PATCH
/// and stored with the container. Pure.
pub(crate) fn spec_hash(c: &EphemeralContainer) -> Result<String, Error> {
    let mut c = c.clone();
    c.name = String::new();
    if let Some(env) = c.env.as_mut() {
        env.retain(|e| e.name != SPEC_ENV && !AUDIT_ENV.contains(&e.name.as_str()));
    }
    let bytes = serde_json::to_vec(&c).map_err(|e| Error::Internal(e.to_string()))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    Ok(digest.as_ref()[..16]
        .iter()
        .fold(String::with_capacity(32), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        }))
}

/// The same container as a regular one, for a pod of ours (a copy, a node pod): every field an
/// ephemeral container has, but `targetContainerName`. Pure.
pub(crate) fn as_container(
    c: &EphemeralContainer,
) -> Result<k8s_openapi::api::core::v1::Container, Error> {
    let mut v = serde_json::to_value(c).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(o) = v.as_object_mut() {
        o.remove("targetContainerName");
    }
    serde_json::from_value(v).map_err(|e| Error::Internal(e.to_string()))
}

/// A variable whose value reaches the container as written ([`kubelet_literal`]).
pub(crate) fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(kubelet_literal(value)),
        value_from: None,
    }
}

/// Gives a debug container that runs as non-root exactly the target's UID and GID, and says so
/// (see the module docs). Returns true when that user is unknown and must be probed.
fn apply_user(c: &mut EphemeralContainer, input: &Input<'_>, notes: &mut Vec<String>) -> bool {
    if c.security_context
        .as_ref()
        .and_then(|s| s.run_as_user)
        .is_some()
    {
        // Set by --custom: the user's choice stands.
        return false;
    }
    if !runs_as_non_root(c, input.pod) {
        return false;
    }
    let known = target_ids(input.pod, input.target_container).or(match &input.probed {
        Probed::Found(ids) => Some((*ids, "as read from its process")),
        _ => None,
    });
    let Some((ids, source)) = known else {
        if let Probed::Failed(why) = &input.probed {
            let sc = c
                .security_context
                .get_or_insert_with(SecurityContext::default);
            sc.run_as_user = Some(FALLBACK_UID);
            notes.push(format!(
                "the target's user is unknown ({why}): the debug container runs as UID {FALLBACK_UID}, and can read the target's files only if the target runs as that user; set another with --custom '{{\"securityContext\":{{\"runAsUser\":UID,\"runAsGroup\":GID}}}}'"
            ));
            return false;
        }
        return true;
    };
    let sc = c
        .security_context
        .get_or_insert_with(SecurityContext::default);
    if ids.uid == 0 {
        sc.run_as_user = Some(FALLBACK_UID);
        sc.run_as_group = Some(FALLBACK_UID);
        notes.push(format!(
            "the target runs as root ({source}), and this debug container must run as non-root: it runs as UID {FALLBACK_UID}, GID {FALLBACK_UID}, and cannot read the target's files (a profile other than restricted, in a pod that allows root, can)"
        ));
        return false;
    }
    sc.run_as_user = Some(ids.uid);
    sc.run_as_group = Some(ids.gid);
    notes.push(format!(
        "the debug container runs as non-root, as the target does: {ids} ({source}), so that it can read the target's files"
    ));
    let adds = sc
        .capabilities
        .as_ref()
        .and_then(|caps| caps.add.as_ref())
        .is_some_and(|a| !a.is_empty());
    if adds || sc.privileged == Some(true) {
        notes.push(format!(
            "as non-root, the capabilities of profile {} do not apply (strace -p needs the same UID and GID, which it has)",
            input.container.profile
        ));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Profile;
    use crate::plan::scripts::{ExecMode, exec_command, session_script};
    use crate::plan::target::fixtures::pod;
    use crate::plan::user::{Ids, probe_outcome, provisional_ids};
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStatus, ContainerUser,
        LinuxContainerUser, PodSecurityContext,
    };
    use serde_json::json;
    use std::time::Duration;

    fn dc(profile: Profile) -> DebugContainer {
        DebugContainer {
            name: None,
            image: "toolbox:1".into(),
            pull_policy: None,
            profile,
            custom: None,
            env: vec![("FOO".into(), "bar".into())],
        }
    }

    fn audit() -> Audit {
        Audit {
            by: Some("alice".into()),
            at: "2026-01-02T03:04:05Z".into(),
            reason: None,
            ttl: Duration::from_secs(3600),
        }
    }

    fn input<'a>(p: &'a Pod, d: &'a DebugContainer, a: &'a Audit, mode: Mode) -> Input<'a> {
        Input {
            pod: p,
            target_container: "app",
            name: "debugger-abcde",
            container: d,
            custom: None,
            audit: a,
            mode,
            probed: Probed::NotYet,
        }
    }

    fn built(i: &Input<'_>) -> (Value, Vec<String>, bool) {
        let b = build(i).unwrap();
        (
            serde_json::to_value(b.container).unwrap(),
            b.notes,
            b.needs_probe,
        )
    }

    fn env_of(c: &Value, name: &str) -> Option<String> {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap().to_owned())
    }

    /// The kubelet's expansion of a command, arg or env value (`expansion.Expand` in
    /// kubernetes `third_party/forked/golang/expansion`): `$$` is `$`, `$(NAME)` the value of a
    /// defined variable (left as written otherwise), any other `$` stays.
    fn kubelet_expand(s: &str, vars: &[(&str, &str)]) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('$') {
                out.push('$');
                rest = r;
            } else if let Some(r) = after.strip_prefix('(')
                && let Some(end) = r.find(')')
            {
                match vars.iter().find(|(k, _)| *k == &r[..end]) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[i..=i + 2 + end]),
                }
                rest = &r[end + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn what_the_plugin_writes_reaches_the_container_as_written() {
        let vars = [("HOME", "/root"), ("DISTROLESS_DEBUG_TARGET", "app")];
        // The expansion itself, as the kubelet does it.
        assert_eq!(
            kubelet_expand("a $$ b $(HOME) $(NOPE) $x", &vars),
            "a $ b /root $(NOPE) $x"
        );
        let p = pod("api").container("app").build();
        let d = dc(Profile::General);
        let mut a = audit();
        a.reason = Some("INC-1 $$ $(HOME) $x".into());
        a.by = Some("o$(HOME)".into());
        let (c, _, _) = built(&input(&p, &d, &a, Mode::Session));
        // The keep-alive script: every `$$` (its PID) and `$(...)` survives.
        let script = c["args"][0].as_str().unwrap();
        assert!(keep_alive_script().contains("$$"));
        assert_eq!(kubelet_expand(script, &vars), keep_alive_script());
        assert_eq!(c["args"][1], "distroless-debug");
        assert_eq!(
            kubelet_expand(&env_of(&c, "DISTROLESS_DEBUG_REASON").unwrap(), &vars),
            "INC-1 $$ $(HOME) $x"
        );
        assert_eq!(
            kubelet_expand(&env_of(&c, "DISTROLESS_DEBUG_BY").unwrap(), &vars),
            "o$(HOME)"
        );
        // The probe's script too.
        let probe =
            serde_json::to_value(probe_container(&input(&p, &d, &a, Mode::Session))).unwrap();
        assert_eq!(
            kubelet_expand(probe["args"][0].as_str().unwrap(), &vars),
            probe_script()
        );
        // Exec commands are not expanded: the session script goes as it is.
        assert_eq!(
            exec_command(ExecMode::Session, "dd-x", None, &[])[2],
            session_script()
        );
    }

    #[test]
    fn every_container_runs_the_keep_alive_and_sessions_come_through_exec() {
        let p = pod("api").container("app").build();
        let d = dc(Profile::General);
        let a = audit();
        for mode in [Mode::Session, Mode::KeepAlive] {
            let (c, notes, probe) = built(&input(&p, &d, &a, mode));
            assert!(notes.is_empty() && !probe);
            assert_eq!(c["name"], "debugger-abcde");
            assert_eq!(c["image"], "toolbox:1");
            assert_eq!(c["targetContainerName"], "app");
            assert_eq!(c["command"], json!(["sh", "-c"]));
            assert_eq!(c["args"].as_array().unwrap().len(), 2);
            // No stdin and no TTY of its own: nothing it prints is a session's transcript.
            assert!(c.get("stdin").is_none() && c.get("tty").is_none());
            assert_eq!(
                c["securityContext"],
                json!({"capabilities": {"add": ["SYS_PTRACE"]}})
            );
            assert_eq!(env_of(&c, "FOO").as_deref(), Some("bar"));
            assert_eq!(
                env_of(&c, "DISTROLESS_DEBUG_TARGET").as_deref(),
                Some("app")
            );
            assert_eq!(
                env_of(&c, "DISTROLESS_DEBUG_PROFILE").as_deref(),
                Some("general")
            );
            assert_eq!(env_of(&c, "DISTROLESS_DEBUG_BY").as_deref(), Some("alice"));
            assert_eq!(env_of(&c, "DISTROLESS_DEBUG_TTL").as_deref(), Some("3600"));
            assert_eq!(
                env_of(&c, "DISTROLESS_DEBUG_VERSION").as_deref(),
                Some(env!("CARGO_PKG_VERSION"))
            );
            assert_eq!(env_of(&c, "DISTROLESS_DEBUG_REASON"), None);
            assert_eq!(env_of(&c, KEEPALIVE_ENV).is_some(), mode == Mode::KeepAlive);
            assert_eq!(env_of(&c, SPEC_ENV).unwrap().len(), 32);
        }
        let argv = exec_command(
            ExecMode::Command,
            "dd-abc",
            Some("c0ffee"),
            &["ss".into(), "-tlnp".into()],
        );
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert_eq!(
            argv[3..],
            ["distroless-debug-cmd", "dd-abc", "c0ffee", "ss", "-tlnp"]
        );
        let lease = |ends_container| {
            exec_command(
                ExecMode::Lease { ends_container },
                "dd-abc",
                None,
                &["ignored".into()],
            )
        };
        assert_eq!(lease(false)[3..], ["distroless-debug-lease", "dd-abc", ""]);
        assert_eq!(
            lease(true)[3..],
            ["distroless-debug-lease-all", "dd-abc", ""]
        );
    }

    fn non_root_pod(uid: Option<i64>, gid: Option<i64>) -> Pod {
        pod("api")
            .container("app")
            .pod_security(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: uid,
                run_as_group: gid,
                ..Default::default()
            })
            .build()
    }

    fn with_probe(mut p: Pod, message: &str, code: i32) -> Pod {
        let a = audit();
        let d = dc(Profile::General);
        let probe = probe_container(&Input {
            name: "debugger-probe",
            ..input(&p, &d, &a, Mode::Session)
        });
        p.spec.as_mut().unwrap().ephemeral_containers = Some(vec![probe]);
        p.status.as_mut().unwrap().ephemeral_container_statuses = Some(vec![ContainerStatus {
            name: "debugger-probe".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: code,
                    message: Some(message.into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]);
        p
    }

    #[test]
    fn a_non_root_target_with_its_group_from_the_image_is_probed_once() {
        // The distroless `nonroot` convention: runAsNonRoot and runAsUser, the group from the image.
        let p = non_root_pod(Some(65532), None);
        let d = dc(Profile::General);
        let a = audit();
        let (c, notes, needs) = built(&input(&p, &d, &a, Mode::Session));
        assert!(needs, "{c}");
        assert!(notes.is_empty());
        // The probe: restricted, as the pod's UID, the audit record, the termination message.
        let probe =
            serde_json::to_value(probe_container(&input(&p, &d, &a, Mode::Session))).unwrap();
        assert_eq!(probe["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            probe["securityContext"]["capabilities"],
            json!({"drop": ["ALL"]})
        );
        assert!(probe["securityContext"].get("runAsUser").is_none());
        assert_eq!(probe["terminationMessagePolicy"], "File");
        assert_eq!(env_of(&probe, PROBE_ENV).as_deref(), Some("1"));
        assert_eq!(
            env_of(&probe, "DISTROLESS_DEBUG_BY").as_deref(),
            Some("alice")
        );
        // Its answer, read back from the pod: once a probe ran, no other is needed.
        let probed = with_probe(p, "65532 65532", 0);
        let ids = Ids {
            uid: 65532,
            gid: 65532,
        };
        assert_eq!(probe_outcome(&probed, "app"), Probed::Found(ids));
        assert_eq!(probe_outcome(&probed, "side"), Probed::NotYet);
        assert_eq!(provisional_ids(&probed), ids);
        let mut i = input(&probed, &d, &a, Mode::Session);
        i.probed = Probed::Found(ids);
        let (c, notes, needs) = built(&i);
        assert!(!needs);
        assert_eq!(c["securityContext"]["runAsUser"], 65532);
        assert_eq!(c["securityContext"]["runAsGroup"], 65532);
        assert!(
            notes[0].contains("UID 65532, GID 65532 (as read from its process)"),
            "{notes:?}"
        );
        assert!(notes[1].contains("capabilities of profile general do not apply"));
        // A failed or garbled probe is an answer too: why it could not tell, and no new probe.
        for (msg, code, why) in [
            ("65532 65532", 1, "exit code 1: 65532 65532"),
            ("", 0, "exit code 0"),
            (
                "cannot read /proc/1/status",
                1,
                "exit code 1: cannot read /proc/1/status",
            ),
            ("65532", 0, "exit code 0: 65532"),
            ("1 2 3", 0, "exit code 0: 1 2 3"),
        ] {
            let outcome = probe_outcome(&with_probe(non_root_pod(Some(1), None), msg, code), "app");
            assert!(
                matches!(&outcome, Probed::Failed(w) if w.ends_with(why)),
                "{msg:?}: {outcome:?}"
            );
        }
    }

    #[test]
    fn the_runtime_report_or_the_spec_give_the_user_without_a_probe() {
        let d = dc(Profile::Baseline);
        let a = audit();
        // T4: runAsUser and runAsGroup in the spec.
        let p = non_root_pod(Some(1001), Some(2002));
        let (c, notes, needs) = built(&input(&p, &d, &a, Mode::Session));
        assert!(!needs);
        assert_eq!(
            c["securityContext"],
            json!({"runAsUser": 1001, "runAsGroup": 2002})
        );
        assert!(notes[0].contains("UID 1001, GID 2002 (from the pod spec)"));
        assert_eq!(notes.len(), 1, "baseline adds no capability: {notes:?}");
        // The container's own securityContext wins over the pod's.
        let p = pod("api")
            .container("app")
            .pod_security(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(5),
                run_as_group: Some(5),
                ..Default::default()
            })
            .container_security(
                "app",
                SecurityContext {
                    run_as_user: Some(7),
                    ..Default::default()
                },
            )
            .build();
        let (c, _, _) = built(&input(&p, &d, &a, Mode::Session));
        assert_eq!(
            c["securityContext"],
            json!({"runAsUser": 7, "runAsGroup": 5})
        );
        // containerd 2 reports what runs: that wins over the spec.
        let mut p = non_root_pod(Some(65532), None);
        p.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
            name: "app".into(),
            user: Some(ContainerUser {
                linux: Some(LinuxContainerUser {
                    uid: 65532,
                    gid: 65533,
                    supplemental_groups: None,
                }),
            }),
            ..ContainerStatus::default()
        }]);
        let (c, notes, needs) = built(&input(&p, &d, &a, Mode::Session));
        assert!(!needs);
        assert_eq!(
            c["securityContext"],
            json!({"runAsUser": 65532, "runAsGroup": 65533})
        );
        assert!(notes[0].contains("as the container runtime reports"));
        // T5: an arbitrary UID with group 0, pod-level, without runAsNonRoot: still non-root.
        let p = pod("api")
            .container("app")
            .pod_security(PodSecurityContext {
                run_as_user: Some(1_000_680_000),
                run_as_group: Some(0),
                ..Default::default()
            })
            .build();
        let (c, _, _) = built(&input(&p, &d, &a, Mode::Session));
        assert_eq!(
            c["securityContext"],
            json!({"runAsUser": 1_000_680_000, "runAsGroup": 0})
        );
    }

    #[test]
    fn root_targets_keep_a_root_toolbox_and_restricted_says_what_it_costs() {
        let a = audit();
        let p = pod("api").container("app").build();
        let d = dc(Profile::Sysadmin);
        let (c, notes, needs) = built(&input(&p, &d, &a, Mode::Session));
        assert_eq!(c["securityContext"], json!({"privileged": true}));
        assert!(notes.is_empty() && !needs);
        // restricted on a root target: the probe says root; a fixed non-root user, and why.
        let d = dc(Profile::Restricted);
        let (_, _, needs) = built(&input(&p, &d, &a, Mode::Session));
        assert!(needs);
        let mut i = input(&p, &d, &a, Mode::Session);
        i.probed = Probed::Found(Ids { uid: 0, gid: 0 });
        let (c, notes, _) = built(&i);
        assert_eq!(c["securityContext"]["runAsUser"], 65532);
        assert_eq!(c["securityContext"]["runAsNonRoot"], true);
        assert!(notes[0].contains("the target runs as root"), "{notes:?}");
        // A probe that failed: the fallback, and the reason.
        let mut i = input(&p, &d, &a, Mode::Session);
        i.probed = Probed::Failed("the probe container x ended with exit code 1".into());
        let (c, notes, needs) = built(&i);
        assert!(!needs);
        assert_eq!(c["securityContext"]["runAsUser"], 65532);
        assert!(notes[0].contains("exit code 1"), "{notes:?}");
    }

    #[test]
    fn custom_merges_on_top_and_its_uid_wins() {
        let p = non_root_pod(None, None);
        let custom = Custom::parse(
            "securityContext:\n  runAsUser: 1000\n  capabilities:\n    add: [NET_ADMIN]\nenv:\n- name: FOO\n  value: baz\n- name: NEW\n  value: x\nworkingDir: /tmp\n",
        )
        .unwrap();
        let d = dc(Profile::General);
        let a = audit();
        let mut i = input(&p, &d, &a, Mode::Session);
        i.custom = Some(&custom);
        let (c, notes, needs) = built(&i);
        assert!(!needs && notes.is_empty());
        assert_eq!(
            c["securityContext"],
            json!({"runAsUser": 1000, "capabilities": {"add": ["NET_ADMIN"]}})
        );
        assert_eq!(c["workingDir"], "/tmp");
        let env = c["env"].as_array().unwrap();
        assert!(env.contains(&json!({"name": "FOO", "value": "baz"})));
        assert!(env.contains(&json!({"name": "NEW", "value": "x"})));
        assert_eq!(env.iter().filter(|e| e["name"] == "FOO").count(), 1);
    }

    #[test]
    fn the_spec_hash_covers_the_request_and_nothing_else() {
        let p = pod("api").container("app").build();
        let d = dc(Profile::General);
        let a = audit();
        let hash = |i: &Input<'_>| env_of(&built(i).0, SPEC_ENV).unwrap();
        let base = hash(&input(&p, &d, &a, Mode::KeepAlive));
        // Name, time, user, reason and TTL are not in it.
        let mut other = audit();
        other.by = Some("bob".into());
        other.at = "2027-01-01T00:00:00Z".into();
        other.reason = Some("INC-2".into());
        other.ttl = Duration::from_secs(60);
        let mut i = input(&p, &d, &other, Mode::KeepAlive);
        i.name = "debugger-zzzzz";
        assert_eq!(hash(&i), base);
        // What shapes the container is.
        let ports = Custom::parse(r#"{"ports": [{"containerPort": 80}]}"#).unwrap();
        let mut i = input(&p, &d, &a, Mode::KeepAlive);
        i.custom = Some(&ports);
        assert_ne!(hash(&i), base);
        assert_ne!(
            hash(&input(&p, &dc(Profile::Netadmin), &a, Mode::KeepAlive)),
            base
        );
        assert_ne!(hash(&input(&p, &d, &a, Mode::Session)), base);
    }
}
