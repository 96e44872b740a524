//! The details of kubeconfig and exec credential plugin errors: which entry is missing, what
//! named it, what exists instead, and how a plugin failed.

/// The kinds of kubeconfig entry that flags name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeconfigEntry {
    Context,
    Cluster,
    User,
}

impl KubeconfigEntry {
    pub(super) fn noun(self) -> &'static str {
        match self {
            KubeconfigEntry::Context => "context",
            KubeconfigEntry::Cluster => "cluster",
            KubeconfigEntry::User => "user",
        }
    }

    pub(super) fn plural(self) -> &'static str {
        match self {
            KubeconfigEntry::Context => "contexts",
            KubeconfigEntry::Cluster => "clusters",
            KubeconfigEntry::User => "users",
        }
    }

    /// The flag that picks one.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            KubeconfigEntry::Context => "--context",
            KubeconfigEntry::Cluster => "--cluster",
            KubeconfigEntry::User => "--user",
        }
    }
}

/// Where the name of a missing kubeconfig entry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedBy {
    /// `--context`, `--cluster` or `--user`.
    Flag,
    /// The kubeconfig's `current-context`.
    CurrentContext,
    /// The cluster of this context.
    Context(String),
}

/// "no context "x" in the kubeconfig; contexts: a, b", or as named by the current context or
/// a context.
pub(super) fn fmt_missing(
    entry: KubeconfigEntry,
    name: &str,
    named_by: &NamedBy,
    available: &[String],
) -> String {
    let what = match named_by {
        NamedBy::Flag => format!("no {} {name:?} in the kubeconfig", entry.noun()),
        NamedBy::CurrentContext => {
            format!("current-context {name:?} names no context in the kubeconfig")
        }
        NamedBy::Context(context) => format!(
            "context {context:?} names {} {name:?}, which is not in the kubeconfig",
            entry.noun()
        ),
    };
    format!("{what}; {}", fmt_available(entry, available))
}

pub(super) fn fmt_available(entry: KubeconfigEntry, available: &[String]) -> String {
    if available.is_empty() {
        format!("it has no {}", entry.plural())
    } else {
        format!("{}: {}", entry.plural(), available.join(", "))
    }
}

/// Why an exec credential plugin gave no credentials. Never holds what the plugin printed on
/// stdout: that is where the credential is.
#[derive(Debug, thiserror::Error)]
pub enum ExecFailure {
    #[error("command must be set")]
    MissingCommand,
    #[error("apiVersion must be set: client.authentication.k8s.io/v1 or v1beta1")]
    MissingApiVersion,
    #[error("unsupported apiVersion {0:?}: client.authentication.k8s.io/v1 or v1beta1")]
    UnsupportedApiVersion(String),
    #[error(
        "interactiveMode must be set (Never, IfAvailable or Always) for client.authentication.k8s.io/v1"
    )]
    MissingInteractiveMode,
    #[error("an env entry without a name")]
    EnvWithoutName,
    #[error("cannot be combined with an auth-provider in the same user entry")]
    WithAuthProvider,
    #[error("cannot run interactively (interactiveMode: Always): standard input is not a terminal")]
    NotATerminal,
    #[error("executable not found")]
    NotFound,
    #[error("cannot start: {0}")]
    Start(#[source] std::io::Error),
    #[error("failed with exit code {0}")]
    Exit(i32),
    #[error("was killed by signal {0}")]
    Signal(i32),
    #[error("printed nothing on stdout, where an ExecCredential was expected")]
    EmptyOutput,
    #[error("printed something that is not an ExecCredential on stdout (JSON or YAML)")]
    NotAnExecCredential,
    #[error("is configured for apiVersion {want}, but returned {}", got.as_deref().unwrap_or("another or none"))]
    WrongApiVersion { want: String, got: Option<String> },
    #[error("returned no status")]
    NoStatus,
    #[error("returned a malformed {0}")]
    Malformed(&'static str),
    #[error("returned neither a token nor a client certificate and key")]
    NoCredential,
    #[error("returned a client certificate or key, not both")]
    HalfPair,
    #[error("returned a client certificate or key that is not PEM")]
    NotPem,
}

impl ExecFailure {
    /// A mistake in the kubeconfig's exec section, which kubectl refuses too.
    pub(super) fn in_kubeconfig(&self) -> bool {
        matches!(
            self,
            ExecFailure::MissingCommand
                | ExecFailure::MissingApiVersion
                | ExecFailure::UnsupportedApiVersion(_)
                | ExecFailure::MissingInteractiveMode
                | ExecFailure::EnvWithoutName
                | ExecFailure::WithAuthProvider
        )
    }
}

pub(super) fn fmt_plugin(command: Option<&str>) -> String {
    command.map_or_else(|| "(no command)".to_owned(), |c| format!("{c:?}"))
}
