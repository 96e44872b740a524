//! Typed errors, their `hint:` lines and the process exit code.
//!
//! API failures are classified from the Status `code`, `reason` and `details` and from *which
//! call* failed ([`ApiCall`]), never from message text: messages change between releases and
//! languages, the structure does not. Every error a user can fix carries a hint naming the flag,
//! the permission (verb + resource, with a minimal Role) or the Pod Security rule involved.
//!
//! Exit codes (also in the README): `0` success, the remote command's own code when it ran,
//! `1` a plugin or cluster error, `2` a usage error, `130` interrupted by Ctrl-C before the
//! session started, `128+N` when the plugin itself got signal N (SIGTERM, SIGHUP).
//!
//! This module is the one [`Error`] enum, each variant with its message, its reason name and
//! its hint side by side, so a new error is written in one place; [`classify()`] maps API
//! failures to it and [`kubeconfig`] holds the kubeconfig and credential plugin details.

use std::time::Duration;

use crate::model::{Level, PodPull, Profile};

mod classify;
mod cp;
mod kubeconfig;
mod pull;

pub(crate) use classify::{ApiCall, api_status, classify};
pub use cp::{CpError, InPod};
pub use kubeconfig::{ExecFailure, KubeconfigEntry, NamedBy};
use kubeconfig::{fmt_available, fmt_missing, fmt_plugin};

/// Exit code for a plugin or cluster error.
pub(crate) const EXIT_FAILURE: u8 = 1;

/// Exit code for a usage error (bad flags, bad target syntax, bad `--custom` file).
pub(crate) const EXIT_USAGE: u8 = 2;

/// Exit code after Ctrl-C while resolving, injecting or waiting (128 + SIGINT).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Where a request went, for messages ("in namespace X, context Y").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub(crate) namespace: String,
    pub(crate) context: Option<String>,
}

impl Scope {
    fn describe(&self) -> String {
        match &self.context {
            Some(c) => format!("namespace {:?} (context {c:?})", self.namespace),
            None => format!("namespace {:?}", self.namespace),
        }
    }
}

/// A permission that a Role grants for some pods only (`resourceNames`), not for `pod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedOnly {
    pub(crate) pod: String,
    /// The pods it is granted for.
    pub(crate) allowed: Vec<String>,
}

/// What admission refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The PATCH that adds an ephemeral debug container.
    DebugContainer,
    /// The creation of a pod of ours (a copy, a node pod).
    Pod,
}

impl Refused {
    fn lead(self, or_validation: bool) -> &'static str {
        match (self, or_validation) {
            (Refused::DebugContainer, false) => "admission refused the debug container",
            (Refused::DebugContainer, true) => {
                "the API server refused the debug container (its admission, a policy or webhook, or its validation)"
            }
            (Refused::Pod, false) => "admission refused the pod",
            (Refused::Pod, true) => {
                "the API server refused the pod (its admission, a policy or webhook, or its validation)"
            }
        }
    }
}

/// Everything that can go wrong, typed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("--custom {path}: {reason}")]
    Custom { path: String, reason: String },

    #[error("kubeconfig: {0}")]
    Kubeconfig(String),

    /// `--context`, `--cluster` or `--user` (or the current context, or a context's cluster)
    /// names an entry the kubeconfig does not have. `available`: the names it has, sorted.
    #[error("kubeconfig: {}", fmt_missing(*entry, name, named_by, available))]
    NoSuchEntry {
        entry: KubeconfigEntry,
        name: String,
        named_by: NamedBy,
        available: Vec<String>,
    },

    /// Neither `--context` nor `current-context`. `available`: the contexts, sorted.
    #[error(
        "kubeconfig: no current context is set and no --context given; {}",
        fmt_available(KubeconfigEntry::Context, available)
    )]
    NoCurrentContext { available: Vec<String> },

    /// The exec credential plugin of kubeconfig user `user` gave no credentials.
    #[error("exec credential plugin {} of user {user:?}: {failure}", fmt_plugin(command.as_deref()))]
    ExecCredential {
        user: String,
        command: Option<String>,
        #[source]
        failure: ExecFailure,
        /// The exec section's `installHint`.
        install_hint: Option<String>,
    },

    #[error("pod {name:?} not found in {}", scope.describe())]
    PodNotFound { name: String, scope: Scope },

    #[error("{kind} {name:?} not found in {}", scope.describe())]
    WorkloadNotFound {
        kind: String,
        name: String,
        scope: Scope,
    },

    #[error("{workload} has no running and ready pod ({summary})")]
    NoReadyPod { workload: String, summary: String },

    #[error("pod {pod:?} is {state}; only a running pod can be debugged")]
    PodNotRunning { pod: String, state: String },

    #[error("container {container:?} not found in pod {pod:?}; containers: {}", available.join(", "))]
    ContainerNotFound {
        pod: String,
        container: String,
        available: Vec<String>,
    },

    #[error("pod {pod:?} has {} containers; choose one: {}", containers.len(), containers.join(", "))]
    AmbiguousContainer {
        pod: String,
        containers: Vec<String>,
    },

    #[error("target container {container:?} in pod {pod:?} is {state}, not running")]
    ContainerNotRunning {
        pod: String,
        container: String,
        state: String,
    },

    #[error("target container {container:?} in pod {pod:?} restarted {restarts} time{} and has run for {up_for}s since it exited with code {exit_code}: a debug container would end with it", if *restarts == 1 { "" } else { "s" })]
    ContainerRestarting {
        pod: String,
        container: String,
        up_for: i64,
        exit_code: i32,
        restarts: i32,
    },

    #[error("a container named {name:?} already exists in pod {pod:?}")]
    NameTaken { pod: String, name: String },

    #[error("this cluster does not support ephemeral containers (404 on pods/ephemeralcontainers)")]
    EphemeralUnsupported,

    #[error("forbidden: cannot {verb} {resource}{} in {}", only.as_ref().map(|o| format!(" of pod {:?}", o.pod)).unwrap_or_default(), scope.describe())]
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        scope: Scope,
        /// Denied for this pod only: a Role allows it for other pods, by name.
        only: Option<Box<NamedOnly>>,
        /// The API server's message, verbatim: shown when admission, not RBAC, turns out to
        /// be the cause. Empty when an access review found the refusal.
        message: String,
    },

    #[error(
        "Pod Security level \"{level}\" in namespace {namespace:?} refused the debug container (profile {profile}): {}",
        rules.join("; ")
    )]
    PodSecurity {
        namespace: String,
        level: Level,
        profile: Profile,
        rules: Vec<String>,
        suggestion: Option<Profile>,
    },

    /// Refused by admission (a ValidatingAdmissionPolicy, a webhook, another admission
    /// controller), not RBAC, not a Pod Security rule the plugin can name. `message`: the API
    /// server's, verbatim (it names the policy or webhook).
    #[error("{}: {message}", refused.lead(*or_validation))]
    AdmissionRefused {
        message: String,
        /// Rules of the baseline/restricted levels our container would violate, when RBAC was
        /// not the cause but the enforced level could not be read.
        possible_rules: Vec<String>,
        refused: Refused,
        /// The Status cannot tell admission from validation (a 422 without field causes, a
        /// 400): both are named.
        or_validation: bool,
    },

    /// Mutating admission stored the pod without the debug container it was asked to add.
    #[error(
        "the API server stored pod {pod:?} without debug container {container:?}: mutating admission (a webhook or policy) removed it from the request, so it will never start"
    )]
    ContainerDropped { pod: String, container: String },

    /// Mutating admission changed fields of the debug container that its session needs.
    #[error(
        "mutating admission (a webhook or policy) changed debug container {container:?} of pod {pod:?} before it was stored ({}): no session is opened in what the plugin did not ask for (the container stays in the pod as stored)",
        fields.join(", ")
    )]
    ContainerRewritten {
        pod: String,
        container: String,
        /// The fields changed, as in the container spec (`command`, `env DISTROLESS_DEBUG_TTL`).
        fields: Vec<String>,
    },

    #[error(
        "the API server rejected the request as invalid: {message}{}",
        fmt_causes(causes)
    )]
    Invalid {
        message: String,
        causes: Vec<String>,
    },

    #[error("the API server rejected the credentials (401 Unauthorized)")]
    Unauthorized,

    #[error("debug container {container:?} cannot start: {reason}: {message}")]
    ContainerStart {
        container: String,
        reason: String,
        message: String,
        image: String,
        /// What the pod pulls with (an ephemeral container has nothing of its own).
        pull: Box<PodPull>,
    },

    #[error("pod {pod:?} was deleted")]
    PodDeleted { pod: String },

    #[error("timed out after {} waiting for {what}{}", fmt_duration(*after), last.as_ref().map(|l| format!(" (last state: {l})")).unwrap_or_default())]
    Timeout {
        what: String,
        after: Duration,
        last: Option<String>,
    },

    #[error("request timed out after {}", fmt_duration(*after))]
    RequestTimeout { after: Duration },

    #[error("cannot reach the API server: {0}")]
    Connect(#[source] kube::Error),

    #[error("interrupted")]
    Interrupted,

    #[error("terminated by signal {name}")]
    Signal { name: &'static str, number: u8 },

    #[error(
        "lost the connection to the API server during the session with {container:?}: {reason}"
    )]
    SessionLost { container: String, reason: String },

    #[error("{call:?} failed: {source}")]
    Api {
        call: ApiCall,
        #[source]
        source: kube::Error,
    },

    #[error("internal error: {0}")]
    Internal(String),

    #[error("exec in {container:?} of pod {pod:?} failed: {message}")]
    Exec {
        pod: String,
        container: String,
        message: String,
    },

    #[error("no running pod matches {what}")]
    NoPods { what: String },

    #[error("node {name:?} not found")]
    NodeNotFound { name: String },

    #[error("no node matches -l {selector}")]
    NoNodes { selector: String },

    /// A container of a pod of ours (a copy, a node pod) cannot start, or ended before the
    /// session. `fix`: what to do about it, decided where the reason is known.
    #[error("{} {container:?} of pod {pod:?} cannot start: {reason}: {message}", if *init { "init container" } else { "container" })]
    PodStart {
        pod: String,
        container: String,
        init: bool,
        reason: String,
        message: String,
        fix: String,
    },

    #[error("timed out after {} waiting for the copy {pod:?}: init container {container:?} has not finished", fmt_duration(*after))]
    InitStuck {
        pod: String,
        container: String,
        after: Duration,
    },

    #[error("pod {pod:?} ended before the session: {state}")]
    PodEnded { pod: String, state: String },

    /// Pod Security refused a pod of ours. `fix`: the flag or namespace that passes.
    #[error(
        "Pod Security level \"{level}\" in namespace {namespace:?} refused {what}: {}",
        rules.join("; ")
    )]
    PodRefused {
        namespace: String,
        level: Level,
        what: String,
        rules: Vec<String>,
        fix: String,
    },

    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// `cp`: what stopped the copy ([`cp`]).
    #[error(transparent)]
    Cp(#[from] CpError),
}

fn fmt_causes(causes: &[String]) -> String {
    if causes.is_empty() {
        String::new()
    } else {
        format!(" ({})", causes.join("; "))
    }
}

/// `90s` → `1m30s`, `2m` → `2m`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

impl Error {
    /// A stable, machine-readable name of the error (the `reason` of `-o json` errors).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Error::Usage { .. } => "Usage",
            Error::Custom { .. } => "Custom",
            Error::Kubeconfig { .. }
            | Error::NoSuchEntry { .. }
            | Error::NoCurrentContext { .. } => "Kubeconfig",
            Error::ExecCredential { .. } => "ExecCredential",
            Error::PodNotFound { .. } => "PodNotFound",
            Error::WorkloadNotFound { .. } => "WorkloadNotFound",
            Error::NoReadyPod { .. } => "NoReadyPod",
            Error::PodNotRunning { .. } => "PodNotRunning",
            Error::ContainerNotFound { .. } => "ContainerNotFound",
            Error::AmbiguousContainer { .. } => "AmbiguousContainer",
            Error::ContainerNotRunning { .. } => "ContainerNotRunning",
            Error::ContainerRestarting { .. } => "ContainerRestarting",
            Error::NameTaken { .. } => "NameTaken",
            Error::EphemeralUnsupported => "EphemeralUnsupported",
            Error::Forbidden { .. } => "Forbidden",
            Error::PodSecurity { .. } => "PodSecurity",
            Error::AdmissionRefused { .. } => "AdmissionRefused",
            Error::ContainerDropped { .. } => "ContainerDropped",
            Error::ContainerRewritten { .. } => "ContainerRewritten",
            Error::Invalid { .. } => "Invalid",
            Error::Unauthorized => "Unauthorized",
            Error::ContainerStart { .. } => "ContainerStart",
            Error::PodDeleted { .. } => "PodDeleted",
            Error::Timeout { .. } => "Timeout",
            Error::RequestTimeout { .. } => "RequestTimeout",
            Error::Connect { .. } => "Connect",
            Error::Interrupted => "Interrupted",
            Error::Signal { .. } => "Signal",
            Error::SessionLost { .. } => "SessionLost",
            Error::Api { .. } => "Api",
            Error::Internal(_) => "Internal",
            Error::Exec { .. } => "Exec",
            Error::NoPods { .. } => "NoPods",
            Error::Io { .. } => "Io",
            Error::Cp(_) => "Cp",
            Error::NodeNotFound { .. } => "NodeNotFound",
            Error::NoNodes { .. } => "NoNodes",
            Error::PodStart { .. } => "PodStart",
            Error::InitStuck { .. } => "InitStuck",
            Error::PodEnded { .. } => "PodEnded",
            Error::PodRefused { .. } => "PodRefused",
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Custom { .. } => EXIT_USAGE,
            Error::Interrupted => EXIT_INTERRUPTED,
            Error::Signal { number, .. } => 128 + number,
            _ => EXIT_FAILURE,
        }
    }

    /// What the user can do about it, if anything. May span several lines.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Usage(_) => "see 'kubectl distroless-debug --help'".to_owned(),
            Error::PodNotFound { scope, .. } | Error::WorkloadNotFound { scope, .. } => {
                let mut h = "check the name, or pick the namespace with -n/--namespace".to_owned();
                if scope.context.is_none() {
                    h.push_str(" and the cluster with --context");
                }
                h
            }
            Error::NoReadyPod { .. } => {
                "wait for a pod to become ready, or name one with pod/NAME".to_owned()
            }
            Error::PodNotRunning { .. } => {
                "ephemeral containers start only in running pods: debug a copy of it with --copy (and --skip-init when an init container never finishes)".to_owned()
            }
            Error::NodeNotFound { .. } => {
                "check the name ('kubectl get nodes' lists them) and the cluster with --context".to_owned()
            }
            Error::NoNodes { .. } => {
                "check the selector against the nodes' labels ('kubectl get nodes --show-labels')".to_owned()
            }
            Error::PodStart { fix, .. } | Error::PodRefused { fix, .. } => fix.clone(),
            Error::InitStuck { .. } => {
                "leave the init containers out of the copy with --skip-init (native sidecars stay), or raise --timeout".to_owned()
            }
            Error::PodEnded { .. } => {
                "'kubectl describe pod' says why; --ttl gives a pod of ours more time".to_owned()
            }
            Error::Forbidden {
                verb,
                resource: "nodes",
                ..
            } => format!(
                "'{verb}' on 'nodes' is a cluster-wide permission (a ClusterRole): name the nodes instead (node/NAME), or ask for it"
            ),
            Error::Forbidden {
                verb: verb @ ("create" | "delete"),
                resource: "pods",
                scope,
                only: None,
                ..
            } => format!(
                "--copy and node debugging create a pod and delete it when the session ends: you need 'create' and 'delete' on 'pods' in namespace {:?} ('{verb}' is missing); add this rule to the plugin's Role:\n  - apiGroups: [\"\"]\n    resources: [\"pods\"]\n    verbs: [\"create\", \"delete\"]",
                scope.namespace
            ),
            Error::ContainerNotFound { .. } | Error::AmbiguousContainer { .. } => {
                "choose the target container with --target NAME or TARGET pod/NAME/CONTAINER".to_owned()
            }
            Error::ContainerNotRunning { .. } => {
                "the debug container shares the target's process namespace only while it runs: debug a copy of the pod with --copy, its target held without running, or pick another container with --target".to_owned()
            }
            Error::ContainerRestarting { .. } => {
                "if it stays up, run the command again in a few seconds; if it keeps crashing, debug a copy of the pod with --copy, its target held without running".to_owned()
            }
            Error::NameTaken { .. } => {
                "ephemeral containers can never be removed: choose another -c/--container name, or omit it for a generated one".to_owned()
            }
            Error::EphemeralUnsupported => {
                "ephemeral containers are GA since Kubernetes 1.25; on older clusters enable the EphemeralContainers feature gate".to_owned()
            }
            Error::Forbidden {
                verb,
                resource,
                scope,
                only: Some(only),
                ..
            } => format!(
                "in namespace {:?} you may '{verb}' '{resource}' only of pod{} {} (a Role lists them in resourceNames), not of pod {:?}: ask for it to be added",
                scope.namespace,
                if only.allowed.len() == 1 { "" } else { "s" },
                only.allowed.join(", "),
                only.pod
            ),
            Error::Forbidden {
                verb,
                resource,
                scope,
                only: None,
                ..
            } => format!(
                "you need '{verb}' on '{resource}' in namespace {:?}; a minimal Role for this plugin (bind it with a RoleBinding):\n{}",
                scope.namespace,
                minimal_role(&scope.namespace)
            ),
            Error::PodSecurity {
                level, suggestion, ..
            } => match suggestion {
                Some(p) => format!(
                    "the namespace enforces Pod Security level \"{level}\"; --profile {p} passes it"
                ),
                None => format!(
                    "the namespace enforces Pod Security level \"{level}\" and no profile passes it with this --custom/--image; adjust --custom"
                ),
            },
            Error::AdmissionRefused {
                possible_rules,
                refused,
                or_validation,
                ..
            } => {
                if possible_rules.is_empty() {
                    admission_hint(*refused, *or_validation)
                } else {
                    format!(
                        "if Pod Security refused it, the container breaks: {}; try --profile restricted (passes every level) or --profile baseline",
                        possible_rules.join("; ")
                    )
                }
            }
            Error::ContainerDropped { .. } | Error::ContainerRewritten { .. } => format!(
                "a mutating admission webhook or policy of the cluster rewrites ephemeral containers ('kubectl get mutatingwebhookconfigurations' lists the webhooks): ask the platform team to leave the pods/ephemeralcontainers subresource out of it, or at least this plugin's debug containers ({OURS}); or debug a copy of the pod with --copy (a new pod, not an ephemeral container)"
            ),
            Error::Invalid { .. } => {
                "check --image, --env and the fields of --custom (ephemeral containers may not set ports, probes, resources, lifecycle or subPath mounts)".to_owned()
            }
            Error::Unauthorized => {
                "your credentials expired or are wrong: log in again, or check the user with --user/--context".to_owned()
            }
            Error::ContainerStart {
                reason,
                image,
                pull,
                ..
            } => match reason.as_str() {
                "ErrImagePull" | "ImagePullBackOff" => pull::pull_failed_hint(image, pull),
                "InvalidImageName" | "ErrImageNeverPull" => {
                    "check the image name and tag and that the node can pull it (the pod's imagePullSecrets apply); choose another with --image or KUBECTL_DISTROLESS_DEBUG_IMAGE".to_owned()
                }
                "CreateContainerConfigError" => {
                    "often a runAsNonRoot pod with an image that runs as root: set a UID with --custom '{\"securityContext\":{\"runAsUser\":65532}}' or use --profile restricted".to_owned()
                }
                _ => "check the image's entrypoint and the --custom fields; if the target container stopped or is restarting, debug a copy of the pod with --copy".to_owned(),
            },
            Error::Timeout { .. } => {
                "raise --timeout, or look at 'kubectl describe pod' for what the kubelet is doing".to_owned()
            }
            Error::RequestTimeout { .. } | Error::Connect(_) => {
                "check the cluster URL and network (--context, --kubeconfig, HTTPS_PROXY/NO_PROXY) or raise --request-timeout".to_owned()
            }
            Error::SessionLost { .. } => {
                "check the network and the API server; the session ended with the connection, and a debug container made for it ends within seconds (a kept one at its --ttl; 'kubectl distroless-debug list' shows them)".to_owned()
            }
            Error::Kubeconfig(_) => {
                "pass --kubeconfig FILE, set KUBECONFIG, or check the file with 'kubectl config view'".to_owned()
            }
            Error::NoSuchEntry {
                entry,
                named_by: NamedBy::Context(context),
                ..
            } => format!(
                "pick one with {} NAME, or fix the context: 'kubectl config set-context {context} --{}=NAME'",
                entry.flag(),
                entry.noun()
            ),
            Error::NoSuchEntry {
                entry: KubeconfigEntry::Context,
                named_by: NamedBy::CurrentContext,
                ..
            }
            | Error::NoCurrentContext { .. } => {
                "pick one with --context NAME, or make it the current one with 'kubectl config use-context NAME'".to_owned()
            }
            Error::NoSuchEntry { entry, .. } => format!(
                "pick one with {} NAME ('kubectl config get-{}' lists them), or another kubeconfig with --kubeconfig",
                entry.flag(),
                entry.plural()
            ),
            Error::ExecCredential {
                failure: ExecFailure::NotFound,
                install_hint: Some(hint),
                ..
            } if !hint.is_empty() => hint.clone(),
            Error::ExecCredential { failure, user, .. } => match failure {
                ExecFailure::NotFound => {
                    "install the plugin, or fix the command of the user's exec section (a name on PATH, or a path relative to the kubeconfig file)".to_owned()
                }
                ExecFailure::NotATerminal => {
                    "the plugin wants to ask for input: run this from a terminal, or log in with the plugin first".to_owned()
                }
                ExecFailure::Start(_) | ExecFailure::Exit(_) | ExecFailure::Signal(_) => {
                    "the plugin's own message, if it printed one, is above; run it by hand to see why ('kubectl config view --minify' shows its command)".to_owned()
                }
                f if f.in_kubeconfig() => format!(
                    "fix the exec section of user {user:?} in the kubeconfig ('kubectl config view --minify'); kubectl refuses it too"
                ),
                _ => {
                    "the plugin must print an ExecCredential with a token, or a client certificate and key, in the apiVersion the user's exec section names: update the plugin or that apiVersion".to_owned()
                }
            },
            Error::Cp(e) => return e.hint(),
            Error::Custom { .. } => {
                "--custom takes a JSON or YAML partial container spec, e.g. {\"securityContext\":{\"runAsUser\":1000}}".to_owned()
            }
            _ => return None,
        })
    }
}

/// How this plugin's debug containers can be told apart, for an exception in a policy.
const OURS: &str =
    "named debugger-* unless -c names them, with the env variable DISTROLESS_DEBUG_VERSION";

/// What to ask for when an admission policy or webhook refused a debug container or a pod.
/// `or_validation`: the Status could not tell admission from validation.
fn admission_hint(refused: Refused, or_validation: bool) -> String {
    let who = if or_validation {
        "the message says what refused it: an admission policy or webhook of the cluster (it names it), or the validation of the spec (it names a field)"
    } else {
        "an admission policy or webhook of the cluster refused it (the message names it)"
    };
    match refused {
        Refused::DebugContainer => format!(
            "{who}.\n\
Ephemeral containers cannot carry resources (requests or limits: the API refuses them there), so a policy that requires them never admits one.\n\
Ask the platform team for an exception for ephemeral containers (the pods/ephemeralcontainers subresource), or for this plugin's debug containers ({OURS});\n\
or debug a copy of the pod with --copy: a new pod, whose containers can carry resources (a LimitRange's defaults)"
        ),
        Refused::Pod => format!(
            "{who}: ask the platform team for an exception for this plugin's pods (label distroless-debug/mode)"
        ),
    }
}

/// The Role this plugin needs in `namespace`, as YAML.
pub(crate) fn minimal_role(namespace: &str) -> String {
    format!(
        "  apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata:
    name: distroless-debug
    namespace: {namespace}
  rules:
  - apiGroups: [\"\"]
    resources: [\"pods\"]
    verbs: [\"get\", \"list\", \"watch\"]
  - apiGroups: [\"\"]
    resources: [\"pods/ephemeralcontainers\"]
    verbs: [\"patch\"]
  - apiGroups: [\"\"]
    resources: [\"pods/exec\"]
    verbs: [\"get\", \"create\"]
  - apiGroups: [\"apps\", \"batch\"]
    resources: [\"deployments\", \"statefulsets\", \"daemonsets\", \"replicasets\", \"jobs\"]
    verbs: [\"get\"]"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(
            Error::Custom {
                path: "f".into(),
                reason: "r".into()
            }
            .exit_code(),
            2
        );
        assert_eq!(Error::Interrupted.exit_code(), 130);
        assert_eq!(
            Error::Signal {
                name: "SIGTERM",
                number: 15
            }
            .exit_code(),
            143
        );
        assert_eq!(Error::EphemeralUnsupported.exit_code(), 1);
        assert_eq!(Error::Unauthorized.exit_code(), 1);
    }

    #[test]
    fn pod_security_hint_names_level_and_profile() {
        let e = Error::PodSecurity {
            namespace: "prod".into(),
            level: Level::Baseline,
            profile: Profile::General,
            rules: vec!["capabilities (adds SYS_PTRACE)".into()],
            suggestion: Some(Profile::Baseline),
        };
        assert_eq!(
            e.to_string(),
            "Pod Security level \"baseline\" in namespace \"prod\" refused the debug container (profile general): capabilities (adds SYS_PTRACE)"
        );
        assert!(e.hint().unwrap().contains("--profile baseline passes it"));
    }

    #[test]
    fn durations_print_compactly() {
        assert_eq!(fmt_duration(Duration::from_secs(120)), "2m");
        assert_eq!(fmt_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
    }
}
