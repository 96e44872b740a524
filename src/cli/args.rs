//! The command line, clap only: names follow kubectl's global flags and `kubectl debug`.
//! Validation and defaults live in `options`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::cli::parse::{parse_duration, parse_env, validate_image};
use crate::cli::selector::parse_selector;
use crate::cli::target::validate_dns_label;
use crate::model::{Output, Profile, PullPolicy};

const EXAMPLES: &str = "\
Examples:
  # Open a shell next to the only (or default) container of pod api-7f9c
  kubectl distroless-debug api-7f9c

  # Debug container 'app' of a pod; the toolbox sees its processes and files
  kubectl distroless-debug pod/api-7f9c/app

  # Pick a running, ready pod of a deployment and list its listening sockets
  kubectl distroless-debug deploy/api -- ss -tlnp

  # Read a config file of the target container (its root is $TARGET_ROOT)
  kubectl distroless-debug pod/api-7f9c -- sh -c 'cat $TARGET_ROOT/etc/app/config.yaml'

  # Capture packets with the capabilities it needs
  kubectl distroless-debug pod/api-7f9c --profile netadmin -- tcpdump -c 10 -i any

  # Pipe input to a command in the debug container
  echo hi | kubectl distroless-debug pod/api-7f9c -i -- cat

  # The same command in every pod of a deployment, results as JSON lines
  kubectl distroless-debug deploy/api --all-pods -o jsonl -- cat /proc/1/status

  # Every pod labelled app=api, 32 at a time, recording why
  kubectl distroless-debug -l app=api --max-parallel 32 --reason INC-123 -- ss -tlnp

  # A pod that crashes at start: a shell in a copy of it, the application held, not run
  kubectl distroless-debug pod/api-7f9c --copy

  # The same for a pod stuck in an init container, without its init containers
  kubectl distroless-debug deploy/api --copy --skip-init -- sh -c 'ls $TARGET_ROOT/etc/app'

  # A shell on a node: the host's processes and network, its root at /host
  kubectl distroless-debug node/worker-1

  # The debug containers, copies and node pods of a namespace: who, why, state, time left
  kubectl distroless-debug list -n shop

  # Delete the copies and node pods whose time to live passed or whose session ended
  kubectl distroless-debug list --gc -A

  # Copy the config the target really loaded, and a heap dump, out of a distroless container
  kubectl distroless-debug cp pod/api-7f9c:/etc/app/config.yaml ./config.yaml
  kubectl distroless-debug cp deploy/api:/tmp/heap.hprof .

  # Copy a directory into a writable volume of the target; a tar archive out to stdout
  kubectl distroless-debug cp ./fixtures pod/api-7f9c/app:/data/
  kubectl distroless-debug cp pod/api-7f9c:/var/log/app - | tar -t

  # Completion for kubectl-distroless_debug called directly (through kubectl: see README)
  source <(kubectl-distroless_debug completion bash)

Environment:
  KUBECTL_DISTROLESS_DEBUG_IMAGE   default toolbox image (--image wins)
  KUBECONFIG                       kubeconfig files, ':'-separated (--kubeconfig wins)
  HTTPS_PROXY, NO_PROXY            proxy for the API server, as kubectl
  NO_COLOR                         no colour in messages

Exit status:
  0 success; the remote command's code when it ran (128+N for signal N); 1 plugin or
  cluster error; 2 usage error; 130 interrupted. Many pods (or nodes): 0 if the command
  exited 0 in every one, else the code of the first (by namespace and name) that did not,
  counting one where it could not run as 1. cp: 0 when every file arrived with a matching
  SHA-256, 1 for anything else (a missing path, a read-only file system, a mismatch), 2 usage.";

/// Debug a running container, distroless or not, through an ephemeral container.
///
/// Adds a toolbox container to a running pod that shares the target container's process
/// namespace, waits for it, and opens a shell in it (or runs COMMAND). The target's files are
/// under $TARGET_ROOT, the shell's working directory. With --copy, a copy of a pod that does
/// not run, its target held; with node/NAME, a pod on a node: both deleted when the session
/// ends.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl distroless-debug",
    bin_name = "kubectl distroless-debug",
    version,
    override_usage = "kubectl distroless-debug [TARGET...] [flags] [-- COMMAND [ARG...]]\n       \
                      kubectl distroless-debug node/NAME... [flags] [-- COMMAND [ARG...]]\n       \
                      kubectl distroless-debug list [TARGET | -l SELECTOR | -A] [--gc] [-o json]\n       \
                      kubectl distroless-debug cp TARGET:/PATH LOCAL|- [flags]\n       \
                      kubectl distroless-debug cp LOCAL|- TARGET:/PATH [flags]\n       \
                      kubectl distroless-debug completion bash|zsh|fish|powershell",
    after_help = EXAMPLES,
    max_term_width = 100,
    // kubectl (pflag) takes the last value of a repeated flag: `-n a -n b` is namespace b,
    // `--context x --context y` is context y. clap's default is a usage error. Flags that
    // collect (`--env`, `--as-group`, TARGETs) are `Append` and keep appending.
    args_override_self = true
)]
#[allow(clippy::struct_excessive_bools)] // flags are bools
pub struct Cli {
    /// The pods to debug: NAME, pod/NAME, pod/NAME/CONTAINER, or
    /// deploy|sts|ds|rs|job/NAME (a running, ready pod of it; every running pod with
    /// --all-pods), or the nodes: node/NAME. Several TARGETs run COMMAND in each. A first
    /// TARGET of `list` lists the debug containers instead; `cp SRC DEST` copies files out of
    /// or into the target (one side TARGET:/PATH, the other a local path or - for a tar archive
    /// on stdout or stdin); `completion SHELL` prints a completion script (pods named list, cp
    /// or completion are pod/list, pod/cp, pod/completion).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Command and arguments to run in the debug container instead of a shell.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,

    /// Target container (defaults to the container suffix, the
    /// kubectl.kubernetes.io/default-container annotation, or the only container).
    #[arg(
        long = "target",
        value_name = "CONTAINER",
        value_parser = dns_label,
        help_heading = "Debug container"
    )]
    pub target_container: Option<String>,

    /// Name of the debug container (default: a generated debugger-xxxxx).
    #[arg(
        short = 'c',
        long = "container",
        value_name = "NAME",
        value_parser = dns_label,
        help_heading = "Debug container"
    )]
    pub container: Option<String>,

    /// Toolbox image for the debug container.
    #[arg(long, value_name = "IMAGE", value_parser = image, help_heading = "Debug container")]
    pub image: Option<String>,

    /// Image pull policy of the debug container.
    #[arg(
        long,
        value_name = "POLICY",
        value_enum,
        help_heading = "Debug container"
    )]
    pub image_pull_policy: Option<PullPolicy>,

    /// Security profile, as kubectl debug's [default: general; sysadmin for nodes].
    #[arg(
        long,
        value_name = "PROFILE",
        value_enum,
        help_heading = "Debug container"
    )]
    pub profile: Option<Profile>,

    /// JSON or YAML file with a partial container spec applied on top of the generated one.
    #[arg(long, value_name = "FILE", help_heading = "Debug container")]
    pub custom: Option<PathBuf>,

    /// Environment variable for the debug container (repeatable).
    #[arg(long, value_name = "KEY=VALUE", action = ArgAction::Append, value_parser = parse_env, help_heading = "Debug container")]
    pub env: Vec<(String, String)>,

    /// Always add a new debug container instead of reusing a live one made by this tool.
    #[arg(long = "new", help_heading = "Debug container")]
    pub new: bool,

    /// Keep the container of an interactive shell for reuse (it ends at --ttl, not with the
    /// shell). Containers made for a COMMAND are always kept. With --copy or a node: leave the
    /// pod after the session (it still ends at --ttl).
    #[arg(long = "keep", help_heading = "Debug container")]
    pub keep: bool,

    /// The debug container ends by itself after this long, e.g. 30m, 4h (enforced inside it; a
    /// copy or node pod also gets it as activeDeadlineSeconds, enforced by Kubernetes).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1h",
        value_parser = ttl,
        help_heading = "Debug container"
    )]
    pub ttl: Duration,

    /// Why you are debugging (an incident, a ticket); recorded on the debug container.
    #[arg(long, value_name = "TEXT", help_heading = "Debug container")]
    pub reason: Option<String>,

    /// Debug a copy of the pod: for a pod or container that does not run (a crash loop, an
    /// exit at start, a stuck init container). The copy holds the target container without
    /// running its command, with the toolbox beside it; it is deleted when the session ends.
    #[arg(long = "copy", help_heading = "Copy and node")]
    pub copy: bool,

    /// With --copy: schedule the copy on the node of the pod.
    #[arg(long = "same-node", help_heading = "Copy and node")]
    pub same_node: bool,

    /// With --copy: keep the pod's labels on the copy (Services and controllers may then
    /// select it).
    #[arg(long = "keep-labels", help_heading = "Copy and node")]
    pub keep_labels: bool,

    /// With --copy: leave out the pod's init containers (for one that never finishes).
    #[arg(long = "skip-init", help_heading = "Copy and node")]
    pub skip_init: bool,

    /// With --copy: the image of a container of the copy, as kubectl debug (repeatable;
    /// *=IMAGE for every container).
    #[arg(long = "set-image", value_name = "CONTAINER=IMAGE", action = ArgAction::Append, value_parser = set_image, help_heading = "Copy and node")]
    pub set_image: Vec<(String, String)>,

    /// -l selects nodes, not pods: debug each matching node.
    #[arg(long = "nodes", help_heading = "Copy and node")]
    pub nodes: bool,

    /// Node debugging: run the shell or COMMAND in the host's root (chroot /host), with the
    /// host's own programs.
    #[arg(long = "chroot", help_heading = "Copy and node")]
    pub chroot: bool,

    /// With list: delete the copies and node pods made by this tool whose time to live passed
    /// or whose session ended, and say which.
    #[arg(long = "gc", help_heading = "Copy and node")]
    pub gc: bool,

    /// Run COMMAND in every running pod that matches this label selector.
    #[arg(
        short = 'l',
        long = "selector",
        value_name = "SELECTOR",
        value_parser = selector,
        help_heading = "Many pods"
    )]
    pub selector: Option<String>,

    /// With a workload TARGET: every running pod of it, not one.
    #[arg(long = "all-pods", help_heading = "Many pods")]
    pub all_pods: bool,

    /// How many pods to work on at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 16,
        value_parser = clap::value_parser!(u16).range(1..),
        help_heading = "Many pods"
    )]
    pub max_parallel: u16,

    /// Output format.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT",
        value_enum,
        default_value_t,
        help_heading = "Many pods"
    )]
    pub output: Output,

    /// With list: the debug containers of every namespace.
    #[arg(short = 'A', long = "all-namespaces", help_heading = "Many pods")]
    pub all_namespaces: bool,

    /// Keep stdin open and send input to the debug container (implied for a shell).
    #[arg(short = 'i', long = "stdin", help_heading = "Session")]
    pub stdin: bool,

    /// Allocate a TTY (implied for a shell when stdin and stdout are terminals).
    #[arg(short = 't', long = "tty", help_heading = "Session")]
    pub tty: bool,

    /// Only print errors and warnings, no progress.
    #[arg(short = 'q', long = "quiet", help_heading = "Session")]
    pub quiet: bool,

    /// How long to wait for the debug container to start, e.g. 90s, 2m.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "2m",
        value_parser = timeout,
        help_heading = "Session"
    )]
    pub timeout: Duration,

    /// Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "PATH", help_heading = "Kubernetes")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME", help_heading = "Kubernetes")]
    pub context: Option<String>,

    /// The kubeconfig cluster to use.
    #[arg(long, value_name = "NAME", help_heading = "Kubernetes")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use.
    #[arg(long, value_name = "NAME", help_heading = "Kubernetes")]
    pub user: Option<String>,

    /// Namespace of the target (default: the context's namespace).
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        help_heading = "Kubernetes"
    )]
    pub namespace: Option<String>,

    /// Username to impersonate for the operation.
    #[arg(long = "as", value_name = "USER", help_heading = "Kubernetes")]
    pub as_user: Option<String>,

    /// Group to impersonate (repeatable).
    #[arg(long = "as-group", value_name = "GROUP", action = ArgAction::Append, help_heading = "Kubernetes")]
    pub as_group: Vec<String>,

    /// Timeout of a single API request, e.g. 10s; 0 means no timeout.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "0",
        value_parser = parse_duration,
        help_heading = "Kubernetes"
    )]
    pub request_timeout: Duration,

    /// Log level for -v N: 0 none, 2 info, 4 debug, 6+ trace (to stderr; never secrets).
    #[arg(
        short = 'v',
        long = "v",
        value_name = "N",
        default_value_t = 0,
        help_heading = "Kubernetes"
    )]
    pub verbosity: u8,
}

/// `--target` and `-c/--container`: a container name is a DNS label.
fn dns_label(s: &str) -> Result<String, String> {
    validate_dns_label(s).map(|()| s.to_owned())
}

/// `--image`: a reference the kubelet can parse. The API server does not check it, and a
/// container added with a bad one can never be removed: refused here, before any write.
fn image(s: &str) -> Result<String, String> {
    validate_image(s).map(|()| s.to_owned())
}

/// `--set-image`: `CONTAINER=IMAGE` (or `*=IMAGE`), the image checked as `--image` is.
fn set_image(s: &str) -> Result<(String, String), String> {
    let Some((container, image)) = s.split_once('=') else {
        return Err("expected CONTAINER=IMAGE".to_owned());
    };
    if container != "*" {
        validate_dns_label(container)?;
    }
    validate_image(image)?;
    Ok((container.to_owned(), image.to_owned()))
}

/// `--ttl`: at least a second; every debug container ends by itself.
fn ttl(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(1) {
        return Err("at least 1s: every debug container ends by itself".to_owned());
    }
    Ok(d)
}

/// `--timeout`: greater than zero.
fn timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(d)
}

/// `-l/--selector`: a label selector as kubectl takes it.
fn selector(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Ok(String::new());
    }
    parse_selector(s).map(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
