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
//! ([`Identity`]), since reading `/proc/PID/root` of another process needs the same UID *and*
//! GID, or CAP_SYS_PTRACE, which a non-root container does not have (kubernetes#105846).

use k8s_openapi::api::core::v1::{EnvVar, EphemeralContainer, Pod, SecurityContext};
use serde_json::Value;

use crate::cli::options::DebugContainer;
use crate::error::Error;

/// Script sources (see docs/entry-script.md).
mod sources {
    pub const COMMON: &str = include_str!("sh/common.sh");
    pub const TARGET: &str = include_str!("sh/target.sh");
    pub const KEEPALIVE: &str = include_str!("sh/keepalive.sh");
    pub const SESSION: &str = include_str!("sh/session.sh");
    pub const PROBE: &str = include_str!("sh/probe.sh");
}

/// `main` with the functions of `libs` before its code, without comment and blank lines (every
/// debug container stays in the pod spec for the pod's life, and every exec carries its script
/// in its URL): the first line of `main`, its title, stays. Pure.
pub fn compose(main: &str, libs: &[&str]) -> String {
    let mut lines = main.lines();
    let mut out = String::with_capacity(main.len());
    if let Some(title) = lines.next() {
        out.push_str(title);
        out.push('\n');
    }
    for part in libs.iter().flat_map(|l| l.lines()).chain(lines) {
        let code = part.trim_start();
        if code.is_empty() || code.starts_with('#') {
            continue;
        }
        out.push_str(part);
        out.push('\n');
    }
    out
}

/// The main process of every debug container, as it goes into the spec (before
/// [`kubelet_literal`]).
pub fn keep_alive_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| compose(sources::KEEPALIVE, &[sources::COMMON]));
    &SCRIPT
}

/// The script every session runs through exec.
pub fn session_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| compose(sources::SESSION, &[sources::COMMON, sources::TARGET]));
    &SCRIPT
}

/// The script of the probe container ([`probe_container`]).
pub fn probe_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| compose(sources::PROBE, &[sources::TARGET]));
    &SCRIPT
}

/// `s` as the kubelet must see it to pass it on unchanged: every `$` doubled, since the kubelet
/// expands `$(NAME)` to the value of variable NAME and `$$` to `$` in command, args and env
/// values. Pure.
pub fn kubelet_literal(s: &str) -> String {
    s.replace('$', "$$")
}

/// UID used for a must-run-as-non-root pod when the target's UID is unknown.
pub const FALLBACK_UID: i64 = 65532;

/// Prefix of generated debug container names.
pub const NAME_PREFIX: &str = "debugger-";

/// Letters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The audit record and lifetime written into the container's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Who started it (kubeconfig user or impersonated user), if known.
    pub by: Option<String>,
    /// When, RFC 3339.
    pub at: String,
    pub reason: Option<String>,
    /// How long the container lives at most (`--ttl`).
    pub ttl: std::time::Duration,
}

/// A partial container spec from `--custom`, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom(serde_json::Map<String, Value>);

/// Fields `--custom` may not set.
const CUSTOM_REFUSED: &[&str] = &["name", "image", "command", "args", "targetContainerName"];

impl Custom {
    /// Parses JSON or YAML text (JSON is YAML, but its errors read better as JSON).
    pub fn parse(text: &str) -> Result<Custom, String> {
        let value: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?
        } else {
            serde_saphyr::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?
        };
        let Value::Object(map) = value else {
            return Err("expected an object (a partial container spec)".to_owned());
        };
        if let Some(bad) = CUSTOM_REFUSED.iter().find(|k| map.contains_key(**k)) {
            return Err(format!(
                "may not set {bad:?} (use --image, -c/--container or -- COMMAND instead)"
            ));
        }
        // The audit record and the plugin's own settings are the plugin's to write.
        let reserved = map
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("name").and_then(Value::as_str))
            .find(|n| {
                n.starts_with(crate::cli::options::RESERVED_ENV_PREFIX) || *n == "TARGET_ROOT"
            });
        if let Some(name) = reserved {
            return Err(format!(
                "may not set env {name:?}: distroless-debug sets it itself"
            ));
        }
        // Unknown fields would be dropped silently by the typed struct: refuse them.
        let probe: EphemeralContainer = serde_json::from_value(Value::Object(
            map.clone()
                .into_iter()
                .chain([("name".to_owned(), Value::String("x".into()))])
                .collect(),
        ))
        .map_err(|e| format!("not a valid container spec: {e}"))?;
        let known = serde_json::to_value(&probe).unwrap_or(Value::Null);
        for key in map.keys() {
            let kept = known.get(key).is_some() || map.get(key) == Some(&Value::Null);
            if !kept {
                return Err(format!("unknown or empty container field {key:?}"));
            }
        }
        Ok(Custom(map))
    }
}

/// A fresh name: `requested` if free, else `debugger-xxxxx` not used by any container of the
/// pod. `random` returns indexes into the alphabet (injected so tests are deterministic).
pub fn container_name(
    pod: &Pod,
    requested: Option<&str>,
    mut random: impl FnMut(usize) -> usize,
) -> Result<String, Error> {
    let taken = all_container_names(pod);
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    if let Some(name) = requested {
        if taken.iter().any(|t| t == name) {
            return Err(Error::NameTaken {
                pod: pod_name,
                name: name.to_owned(),
            });
        }
        return Ok(name.to_owned());
    }
    for _ in 0..32 {
        let suffix: String = (0..5)
            .map(|_| char::from(ALPHABET[random(ALPHABET.len()) % ALPHABET.len()]))
            .collect();
        let name = format!("{NAME_PREFIX}{suffix}");
        if !taken.contains(&name) {
            return Ok(name);
        }
    }
    Err(Error::NameTaken {
        pod: pod_name,
        name: format!("{NAME_PREFIX}*"),
    })
}

/// Names of containers, init containers and ephemeral containers: one namespace for names.
pub fn all_container_names(pod: &Pod) -> Vec<String> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .map(|c| c.name.clone())
        .chain(
            spec.init_containers
                .iter()
                .flatten()
                .map(|c| c.name.clone()),
        )
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.name.clone()),
        )
        .collect()
}

/// Environment variable that marks a container kept for reuse (see [`Mode::KeepAlive`]).
pub const KEEPALIVE_ENV: &str = "DISTROLESS_DEBUG_KEEPALIVE";

/// Environment variable that marks a probe container ([`probe_container`]).
pub const PROBE_ENV: &str = "DISTROLESS_DEBUG_PROBE";

/// Environment variable holding [`spec_hash`]: what reuse compares.
pub const SPEC_ENV: &str = "DISTROLESS_DEBUG_SPEC";

/// Variables that differ between two containers made for the same request: not in
/// [`spec_hash`]. Who and why are compared on their own (see `reuse`).
pub const AUDIT_ENV: &[&str] = &[
    "DISTROLESS_DEBUG_AT",
    "DISTROLESS_DEBUG_BY",
    "DISTROLESS_DEBUG_REASON",
    "DISTROLESS_DEBUG_TTL",
];

/// Whether the container ends with its session or is kept for reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The container ends as soon as no session runs in it (an interactive shell without
    /// `--keep`).
    Session,
    /// The container stays until its time to live, for later sessions and commands to reuse.
    KeepAlive,
}

/// A UID and a GID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub uid: i64,
    pub gid: i64,
}

impl std::fmt::Display for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UID {}, GID {}", self.uid, self.gid)
    }
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

/// What a probe container ([`probe_container`]) read of the target's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probed {
    /// No probe has run (or none is needed).
    NotYet,
    Found(Ids),
    /// The probe could not tell; why.
    Failed(String),
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
}

/// How a session runs in the container (`$0` of the session script).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecMode {
    /// A shell, or a command with the client's stdin (a [`ExecMode::Lease`] watches it).
    Session,
    /// A command without input: its stdin is its own lease.
    Command,
    /// Holds session `id` until the client is gone, then ends that session, and the container
    /// too when it ends with its session ([`Mode::Session`]).
    Lease { ends_container: bool },
}

impl ExecMode {
    fn argv0(self) -> &'static str {
        match self {
            ExecMode::Session => "distroless-debug",
            ExecMode::Command => "distroless-debug-cmd",
            ExecMode::Lease {
                ends_container: false,
            } => "distroless-debug-lease",
            ExecMode::Lease {
                ends_container: true,
            } => "distroless-debug-lease-all",
        }
    }
}

/// The exec argv of a session: the session script, its mode, the session's ID, the target
/// container's runtime ID when the pod shares one PID namespace, then `command` (none: a
/// shell). Exec commands reach the process as they are (no kubelet expansion). Pure.
pub fn exec_command(
    mode: ExecMode,
    session_id: &str,
    target_runtime_id: Option<&str>,
    command: &[String],
) -> Vec<String> {
    let mut argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        session_script().to_owned(),
        mode.argv0().to_owned(),
        session_id.to_owned(),
        target_runtime_id.unwrap_or_default().to_owned(),
    ];
    if !matches!(mode, ExecMode::Lease { .. }) {
        argv.extend(command.iter().cloned());
    }
    argv
}

/// A session ID: `dd-` and 12 letters and digits (the session script finds the session by it
/// with a plain grep pattern). `random` as in [`container_name`].
pub fn session_id(mut random: impl FnMut(usize) -> usize) -> String {
    let suffix: String = (0..12)
        .map(|_| char::from(ALPHABET[random(ALPHABET.len()) % ALPHABET.len()]))
        .collect();
    format!("dd-{suffix}")
}

/// The target container's runtime ID (`containerd://ID` without its scheme) when the pod shares
/// one PID namespace: the target's main process is then not PID 1, and the session script finds
/// it by this ID in `/proc/PID/cgroup`. `None` otherwise. Pure.
pub fn target_runtime_id(pod: &Pod, target: &str) -> Option<String> {
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
pub fn target_ids(pod: &Pod, target: &str) -> Option<(Ids, &'static str)> {
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
pub fn probe_outcome(pod: &Pod, target: &str) -> Probed {
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
pub fn provisional_ids(pod: &Pod) -> Ids {
    let uid = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|s| s.run_as_user)
        .filter(|u| *u != 0)
        .unwrap_or(FALLBACK_UID);
    Ids { uid, gid: uid }
}

/// The short-lived container that reads the target's UID and GID from `/proc/PID/status` (any
/// process in the PID namespace may) into its termination message, then ends: added at most
/// once per pod and target, when a non-root debug container needs that user and nothing else
/// reports it. It satisfies the `restricted` Pod Security level, runs as the pod's UID (or
/// [`FALLBACK_UID`]) and carries the audit record like every container of ours. Pure.
pub fn probe_container(input: &Input<'_>) -> EphemeralContainer {
    let pod_uid = input
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|s| s.run_as_user)
        .filter(|u| *u != 0);
    let mut sc = crate::plan::profile::Profile::Restricted
        .security_context()
        .unwrap_or_default();
    if pod_uid.is_none() {
        sc.run_as_user = Some(FALLBACK_UID);
    }
    let mut env = vec![env_var(PROBE_ENV, "1")];
    env.extend(common_env(input));
    let runtime_id = target_runtime_id(input.pod, input.target_container).unwrap_or_default();
    EphemeralContainer {
        name: input.name.to_owned(),
        image: Some(input.container.image.clone()),
        image_pull_policy: input.container.pull_policy.clone(),
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
    let audit = input.audit;
    let mut env = vec![
        env_var("DISTROLESS_DEBUG_TARGET", input.target_container),
        env_var("DISTROLESS_DEBUG_PROFILE", input.container.profile.name()),
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
        image_pull_policy: dc.pull_policy.clone(),
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
    let hash = spec_hash(&c);
    c.env
        .get_or_insert_with(Vec::new)
        .push(env_var(SPEC_ENV, &hash));
    Ok(Built {
        container: c,
        notes,
        needs_probe,
    })
}

/// What reuse compares: a hash of everything the request shaped (image, target, command,
/// environment, security context, `--custom` fields), without the name, the audit variables
/// and the hash itself. Server-side defaults never enter it: it is computed before the PATCH
/// and stored with the container. Pure.
pub fn spec_hash(c: &EphemeralContainer) -> String {
    let mut c = c.clone();
    c.name = String::new();
    if let Some(env) = c.env.as_mut() {
        env.retain(|e| e.name != SPEC_ENV && !AUDIT_ENV.contains(&e.name.as_str()));
    }
    let bytes = serde_json::to_vec(&c).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    digest.as_ref()[..16]
        .iter()
        .fold(String::with_capacity(32), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(kubelet_literal(value)),
        value_from: None,
    }
}

/// Whether the debug container will run as a non-root user: it must (`runAsNonRoot` on it or
/// on the pod), or the pod gives it a non-zero `runAsUser`.
fn runs_as_non_root(c: &EphemeralContainer, pod: &Pod) -> bool {
    let own = c.security_context.as_ref();
    let pod_sc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let must = match own.and_then(|s| s.run_as_non_root) {
        Some(v) => v,
        None => pod_sc.and_then(|s| s.run_as_non_root) == Some(true),
    };
    must || pod_sc.and_then(|s| s.run_as_user).is_some_and(|u| u != 0)
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

/// Merges `patch` into `base` like a strategic merge patch does for container fields: objects
/// merge key by key, `null` deletes, `env` merges by `name` and `volumeMounts` by `mountPath`,
/// other lists are replaced.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, pv) in p {
                if pv.is_null() {
                    b.remove(k);
                    continue;
                }
                let key = match k.as_str() {
                    "env" | "envFrom" => Some("name"),
                    "volumeMounts" => Some("mountPath"),
                    "volumeDevices" => Some("devicePath"),
                    _ => None,
                };
                match (b.get_mut(k), key, pv) {
                    (Some(Value::Array(bl)), Some(key), Value::Array(pl)) => {
                        for item in pl {
                            let id = item.get(key);
                            match bl.iter_mut().find(|x| id.is_some() && x.get(key) == id) {
                                Some(existing) => merge(existing, item),
                                None => bl.push(item.clone()),
                            }
                        }
                    }
                    (Some(bv @ Value::Object(_)), _, Value::Object(_)) => merge(bv, pv),
                    _ => {
                        b.insert(k.clone(), pv.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::profile::Profile;
    use crate::plan::target::fixtures::pod;
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

    #[test]
    fn scripts_are_small_valid_and_without_comments() {
        for (script, limit) in [
            (keep_alive_script(), 1700),
            (session_script(), 4096),
            (probe_script(), 700),
        ] {
            assert!(script.len() < limit, "{} bytes:\n{script}", script.len());
            assert!(script.starts_with("# distroless-debug"));
            assert_eq!(
                script
                    .lines()
                    .filter(|l| l.trim_start().starts_with('#'))
                    .count(),
                1,
                "{script}"
            );
            let check = std::process::Command::new("sh")
                .args(["-n", "-c", script])
                .status()
                .expect("sh");
            assert!(check.success(), "{script}");
        }
        assert_eq!(
            compose(
                "# title\n# more\n\nmain\n",
                &["# lib\nf() { :; }\n  # inner\n"]
            ),
            "# title\nf() { :; }\nmain\n"
        );
        let id = session_id(|_| 0);
        assert_eq!(id, "dd-bbbbbbbbbbbb");
    }

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

    #[test]
    fn names_are_unique_across_all_container_lists() {
        let p = pod("api")
            .container("app")
            .init_container("debugger-bbbbb")
            .ephemeral("debugger-ccccc")
            .build();
        // A generator that first yields taken names.
        let mut seq = [0usize, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2].into_iter();
        let name = container_name(&p, None, |_| seq.next().unwrap_or(3)).unwrap();
        assert_eq!(name, "debugger-ddddd");
        assert_eq!(container_name(&p, Some("mine"), |_| 0).unwrap(), "mine");
        let err = container_name(&p, Some("debugger-ccccc"), |_| 0).unwrap_err();
        assert!(matches!(err, Error::NameTaken { .. }));
        let err = container_name(&p, Some("app"), |_| 0).unwrap_err();
        assert!(err.to_string().contains("already exists"));
        // A generator stuck on a taken name gives up instead of looping forever.
        assert!(
            container_name(&p, None, |_| 0).is_err_and(|e| e.to_string().contains("debugger-*"))
        );
    }

    #[test]
    fn custom_refusals() {
        for (text, want) in [
            (r#"{"name": "x"}"#, "may not set \"name\""),
            ("image: busybox", "may not set \"image\""),
            ("command: [sh]", "may not set \"command\""),
            ("args: [x]", "may not set \"args\""),
            ("[1, 2]", "expected an object"),
            ("{not json", "invalid JSON"),
            ("securityContext: [", "invalid YAML"),
            ("colour: red", "unknown or empty container field \"colour\""),
            (
                "env: [{name: DISTROLESS_DEBUG_BY, value: someone}]",
                "may not set env \"DISTROLESS_DEBUG_BY\"",
            ),
            (
                "env: [{name: TARGET_ROOT, value: /}]",
                "may not set env \"TARGET_ROOT\"",
            ),
            (
                "securityContext: {runAsUser: abc}",
                "not a valid container spec",
            ),
        ] {
            let err = Custom::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn merge_semantics() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "volumeMounts": [{"mountPath": "/x", "name": "v"}]});
        merge(
            &mut base,
            &json!({"a": {"b": null, "d": 4}, "l": [3], "volumeMounts": [{"mountPath": "/x", "readOnly": true}, {"mountPath": "/y", "name": "w"}]}),
        );
        assert_eq!(
            base,
            json!({"a": {"c": 2, "d": 4}, "l": [3], "volumeMounts": [{"mountPath": "/x", "name": "v", "readOnly": true}, {"mountPath": "/y", "name": "w"}]})
        );
    }
}
