//! Value types every layer shares: what a profile or a Pod Security level is called and
//! how it is written. Their behaviour lives with the layer that uses it (`plan::profile`,
//! `plan::pss`); this module imports nothing of the crate.

use std::fmt;
use std::str::FromStr;

/// One of kubectl's debugging profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Profile {
    /// Adds `SYS_PTRACE` (kubectl's default; lets `strace -p` and `/proc/PID/root` work as root).
    #[default]
    General,
    /// Sets nothing.
    Baseline,
    /// Non-root, all capabilities dropped, no privilege escalation, seccomp `RuntimeDefault`.
    Restricted,
    /// Adds `NET_ADMIN` and `NET_RAW` (packet capture, iptables).
    Netadmin,
    /// Privileged.
    Sysadmin,
}

impl Profile {
    /// The name used on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Profile::General => "general",
            Profile::Baseline => "baseline",
            Profile::Restricted => "restricted",
            Profile::Netadmin => "netadmin",
            Profile::Sysadmin => "sysadmin",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Pod Security Standards level, as in the `pod-security.kubernetes.io/enforce` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Level {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(()),
        }
    }
}

/// `-o/--output`: how results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// Text for people (lines prefixed `[pod/NAME/CONTAINER]` for many pods).
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per pod, per line.
    Jsonl,
}

/// `--image-pull-policy`, written as Kubernetes writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PullPolicy {
    #[value(name = "Always")]
    Always,
    #[value(name = "IfNotPresent")]
    IfNotPresent,
    #[value(name = "Never")]
    Never,
}

impl PullPolicy {
    /// The value of a container's `imagePullPolicy`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// What a pod gives the kubelet to pull an image with: the names of its `imagePullSecrets`
/// (an ephemeral container pulls with these only) and its service account (whose
/// `imagePullSecrets` a new pod naming none of its own gets at admission).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodPull {
    pub secrets: Vec<String>,
    pub service_account: Option<String>,
}
