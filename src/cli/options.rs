//! `Cli` → validated [`Options`]: each flag's value is typed by its own parser at the clap
//! boundary (`args`); here, defaults and the interplay of flags, and [`Run`], what the run does.
//!
//! Pure: the environment (terminals, `KUBECTL_DISTROLESS_DEBUG_IMAGE`) comes in as an
//! [`Environment`] value so every rule is tested from flag strings. Anything wrong here is a
//! usage error (exit code 2), as clap's own. More than half of the file is its tests.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::args::Cli;
use crate::cli::cp::{Cp, Direction, Local, parse_cp};
use crate::cli::parse::validate_image;
use crate::cli::target::{Kind, TargetRef, parse_target};
use crate::error::Error;
use crate::model::{Output, Profile, PullPolicy};

/// Default toolbox image: multi-arch (amd64, arm64), pinned. It carries a shell, busybox,
/// strace, tcpdump, ss and curl. Override with `--image` or [`IMAGE_ENV`].
pub const DEFAULT_IMAGE: &str = "docker.io/nicolaka/netshoot:v0.13";

/// Environment variable that overrides [`DEFAULT_IMAGE`].
pub const IMAGE_ENV: &str = "KUBECTL_DISTROLESS_DEBUG_IMAGE";

/// What the process inherited, read once in `main`.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Value of [`IMAGE_ENV`].
    pub image: Option<String>,
    pub stdin_is_terminal: bool,
    pub stdout_is_terminal: bool,
}

/// How to reach the cluster (kubectl's global flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub namespace: Option<String>,
    pub impersonate: Option<String>,
    pub impersonate_groups: Vec<String>,
    /// `None` means no per-request timeout (`--request-timeout 0`).
    pub request_timeout: Option<Duration>,
}

/// What the debug container looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugContainer {
    /// `-c/--container`; generated when `None`.
    pub name: Option<String>,
    pub image: String,
    pub pull_policy: Option<PullPolicy>,
    pub profile: Profile,
    pub custom: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

/// What runs in it and how the terminal is wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Empty: an interactive shell.
    pub command: Vec<String>,
    /// Attach stdin (`-i`; implied for a shell).
    pub stdin: bool,
    /// Allocate a TTY and put the local terminal in raw mode.
    pub tty: bool,
}

impl Session {
    pub(crate) fn is_shell(&self) -> bool {
        self.command.is_empty()
    }
}

/// What the run does: one enum, decided once from TARGETs, `-l`, `--all-pods`, `-o`, `list`,
/// `--gc`, `--copy`, `node/NAME` and `--nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// A session or a command in one pod.
    One(TargetRef),
    /// A command in many pods.
    Many(Pods),
    /// `list`: the debug containers of some pods, and the copies and node pods of ours.
    List(Pods),
    /// `cp`: files out of or into one pod's target container.
    Cp(Cp),
    /// `list --gc`: delete the copies and node pods of ours that are done.
    Gc(Pods),
    /// `--copy`: a session in a copy of one pod, or (`many`) a COMMAND in copies of many.
    Copy { pods: Pods, many: bool },
    /// Node debugging: a session on one node, or (`many`) a COMMAND on many.
    Node { nodes: Nodes, many: bool },
}

/// Which nodes: named by TARGETs (`node/NAME`), or selected by label (`--nodes -l`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nodes {
    Named(Vec<String>),
    Selector(String),
}

/// `--copy` and the flags that shape the copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// `--same-node`: the copy on the pod's node.
    pub same_node: bool,
    /// `--keep-labels`: the pod's labels stay on the copy.
    pub keep_labels: bool,
    /// `--skip-init`: no init containers in the copy (native sidecars stay).
    pub skip_init: bool,
    /// `--set-image CONTAINER=IMAGE`, in order (`*` for every container).
    pub set_image: Vec<(String, String)>,
}

/// Which pods: named TARGETs (each a pod, or a workload's pods), a label selector, or every pod
/// of the namespace (or of every namespace, with `-A`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pods {
    Targets {
        targets: Vec<TargetRef>,
        /// `--all-pods`: every pod of a workload TARGET, not one.
        all_pods: bool,
    },
    Selector {
        selector: String,
        all_namespaces: bool,
    },
    All {
        all_namespaces: bool,
    },
}

impl Pods {
    /// Whether these pods span every namespace (`-A`).
    pub(crate) fn all_namespaces(&self) -> bool {
        matches!(
            self,
            Pods::All {
                all_namespaces: true
            } | Pods::Selector {
                all_namespaces: true,
                ..
            }
        )
    }
}

/// Validated options for one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub run: Run,
    pub connection: Connection,
    /// `--new`: never reuse.
    pub new: bool,
    /// `--keep`: an interactive shell's container is kept for reuse.
    pub keep: bool,
    /// `--ttl`.
    pub ttl: Duration,
    /// `--reason`.
    pub reason: Option<String>,
    pub max_parallel: usize,
    pub output: Output,
    /// `--target`.
    pub target_container: Option<String>,
    pub container: DebugContainer,
    pub session: Session,
    /// `--copy`'s flags (all default without `--copy`).
    pub copy: CopyOptions,
    /// `--chroot`: a node session runs in the host's root.
    pub chroot: bool,
    pub timeout: Duration,
    pub verbosity: u8,
    /// Warnings to print once the printer exists (e.g. `-t` without a terminal).
    pub warnings: Vec<String>,
}

impl Options {
    /// The target container for `target`: its `/CONTAINER` suffix, else `--target`.
    pub(crate) fn container_for(&self, target: &TargetRef) -> Option<String> {
        target
            .container
            .clone()
            .or_else(|| self.target_container.clone())
    }

    /// Validates the parsed flags: what each flag's own parser cannot see, their interplay.
    pub fn from_cli(cli: Cli, env: &Environment) -> Result<Options, Error> {
        if cli.targets.first().map(String::as_str) == Some("cp") {
            let cp = parse_cp(&cli.targets[1..]).map_err(Error::Usage)?;
            return Self::for_cp(cli, env, cp);
        }
        let usage = Error::Usage;
        let mut raw_targets = cli.targets.clone();
        let list = raw_targets.first().map(String::as_str) == Some("list");
        if list {
            raw_targets.remove(0);
        }
        let targets = raw_targets
            .iter()
            .map(|t| parse_target(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(usage)?;
        let selector = cli.selector.clone().filter(|s| !s.trim().is_empty());
        let node_names: Vec<String> = targets
            .iter()
            .filter(|t| t.kind == Kind::Node)
            .map(|t| t.name.clone())
            .collect();
        check_modes(&cli, list, &targets, node_names.len(), selector.is_some())?;
        if selector.is_some() && !targets.is_empty() {
            return Err(usage(
                "-l/--selector and TARGET are exclusive: name pods, or select them".to_owned(),
            ));
        }
        if list {
            if targets.len() > 1 {
                return Err(usage("list takes at most one TARGET".to_owned()));
            }
            if !cli.command.is_empty() || cli.stdin || cli.tty {
                return Err(usage("list takes no COMMAND, -i or -t".to_owned()));
            }
            if cli.all_namespaces && !targets.is_empty() {
                return Err(usage(
                    "list: -A/--all-namespaces takes no TARGET (combine it with -l instead)"
                        .to_owned(),
                ));
            }
        } else {
            if targets.is_empty() && selector.is_none() {
                return Err(usage(
                    "a TARGET is required: NAME, pod/NAME, pod/NAME/CONTAINER or deploy|sts|ds|rs|job/NAME (or -l SELECTOR)".to_owned(),
                ));
            }
            if cli.all_namespaces {
                return Err(usage("-A/--all-namespaces is for list only".to_owned()));
            }
        }
        if cli.all_pods
            && !targets
                .iter()
                .any(|t| !matches!(t.kind, Kind::Pod | Kind::Node))
        {
            return Err(usage(
                "--all-pods needs a workload TARGET (deploy|sts|ds|rs|job/NAME)".to_owned(),
            ));
        }
        let reason = cli.reason.clone().filter(|r| !r.trim().is_empty());
        // Checked here rather than by the flag's parser, which would echo the whole text.
        if reason.as_ref().is_some_and(|r| r.len() > 1024) {
            return Err(usage(
                "--reason is longer than 1024 bytes (it is stored in the pod spec)".to_owned(),
            ));
        }
        if let (Some(flag), Some(suffix)) = (
            &cli.target_container,
            targets.first().and_then(|t| t.container.as_ref()),
        ) && flag != suffix
        {
            return Err(usage(format!(
                "--target {flag:?} contradicts the container {suffix:?} in the target"
            )));
        }

        let image = Self::image(&cli, env)?;

        let nodes = match (&selector, cli.nodes) {
            (Some(selector), true) => Some(Nodes::Selector(selector.clone())),
            _ => (!node_names.is_empty()).then(|| Nodes::Named(node_names.clone())),
        };
        let pods = match (selector, targets.is_empty()) {
            (Some(selector), _) => Pods::Selector {
                selector,
                all_namespaces: cli.all_namespaces,
            },
            (None, true) => Pods::All {
                all_namespaces: cli.all_namespaces,
            },
            (None, false) => Pods::Targets {
                targets: targets.clone(),
                all_pods: cli.all_pods,
            },
        };
        let text = cli.output == Output::Text;
        let run = if list {
            // `list` shows every pod of a workload.
            let pods = match pods {
                Pods::Targets { targets, .. } => Pods::Targets {
                    targets,
                    all_pods: true,
                },
                pods => pods,
            };
            if cli.gc {
                Run::Gc(pods)
            } else {
                Run::List(pods)
            }
        } else if let Some(nodes) = nodes {
            let many = !(text && matches!(&nodes, Nodes::Named(n) if n.len() == 1));
            Run::Node { nodes, many }
        } else if cli.copy {
            let many = !(text
                && matches!(&pods, Pods::Targets { targets, all_pods: false } if targets.len() == 1));
            Run::Copy { pods, many }
        } else {
            match pods {
                Pods::Targets {
                    mut targets,
                    all_pods: false,
                } if targets.len() == 1 && text => Run::One(targets.remove(0)),
                pods => Run::Many(pods),
            }
        };

        let mut warnings = Vec::new();
        let many = matches!(
            run,
            Run::Many(_) | Run::Copy { many: true, .. } | Run::Node { many: true, .. }
        );
        if many {
            if cli.command.is_empty() {
                return Err(usage(
                    "several pods, -l, --all-pods and -o json/jsonl run a COMMAND: add -- COMMAND [ARG...]".to_owned(),
                ));
            }
            if cli.tty {
                return Err(usage(
                    "-t/--tty is for one pod; several pods take no terminal".to_owned(),
                ));
            }
        }
        let session = if cli.command.is_empty() {
            // A shell always reads stdin; it gets a TTY when we have a terminal to give it.
            let terminal = env.stdin_is_terminal && env.stdout_is_terminal;
            if cli.tty && !terminal {
                warnings.push(
                    "unable to use a TTY: stdin or stdout is not a terminal; running the shell without one".to_owned(),
                );
            }
            Session {
                command: Vec::new(),
                stdin: true,
                tty: terminal,
            }
        } else {
            if cli.tty && !cli.stdin {
                return Err(usage(
                    "-i/--stdin is required for containers with -t/--tty=true".to_owned(),
                ));
            }
            let mut tty = cli.tty;
            if tty && !env.stdin_is_terminal {
                warnings.push("unable to use a TTY: input is not a terminal".to_owned());
                tty = false;
            }
            Session {
                command: cli.command.clone(),
                stdin: cli.stdin,
                tty,
            }
        };

        Ok(Self::with(cli, run, image, session, warnings))
    }

    /// `cp`: one pod, a kept container, no session flags.
    fn for_cp(cli: Cli, env: &Environment, cp: Cp) -> Result<Options, Error> {
        let usage = |m: &str| Error::Usage(m.to_owned());
        if !cli.command.is_empty() || cli.stdin || cli.tty {
            return Err(usage(
                "cp takes no COMMAND, -i or -t (a local path of - is stdin or stdout)",
            ));
        }
        if cli.selector.as_ref().is_some_and(|s| !s.trim().is_empty())
            || cli.all_pods
            || cli.all_namespaces
            || cli.output != Output::Text
        {
            return Err(usage(
                "cp copies with one pod: -l, --all-pods, -A and -o are for commands and list",
            ));
        }
        if cli.copy
            || cli.nodes
            || cli.chroot
            || cli.gc
            || cli.same_node
            || cli.keep_labels
            || cli.skip_init
            || !cli.set_image.is_empty()
        {
            return Err(usage(
                "cp takes no --copy, --nodes, --chroot, --gc or copy flags: it copies with the target container itself",
            ));
        }
        if cp.target.kind == Kind::Node {
            return Err(usage(
                "cp copies with a pod's container; a node has none (debug it with node/NAME)",
            ));
        }
        if let (Some(flag), Some(suffix)) = (&cli.target_container, &cp.target.container)
            && flag != suffix
        {
            return Err(Error::Usage(format!(
                "--target {flag:?} contradicts the container {suffix:?} in the target"
            )));
        }
        match (cp.local.clone(), cp.direction) {
            (Local::Stdio, Direction::Get) if env.stdout_is_terminal => {
                return Err(usage(
                    "cp to - writes a tar archive to stdout, which is a terminal: redirect it (> out.tar, | tar -x) or name a local path",
                ));
            }
            (Local::Stdio, Direction::Put) if env.stdin_is_terminal => {
                return Err(usage(
                    "cp from - reads a tar archive from stdin, which is a terminal: pipe one in (tar -c DIR | ...) or name a local path",
                ));
            }
            _ => {}
        }
        if cli.reason.as_ref().is_some_and(|r| r.len() > 1024) {
            return Err(usage(
                "--reason is longer than 1024 bytes (it is stored in the pod spec)",
            ));
        }
        let image = Self::image(&cli, env)?;
        let session = Session {
            command: Vec::new(),
            stdin: false,
            tty: false,
        };
        Ok(Self::with(cli, Run::Cp(cp), image, session, Vec::new()))
    }

    /// The toolbox image: `--image`, else the environment's, else the default; checked.
    fn image(cli: &Cli, env: &Environment) -> Result<String, Error> {
        let image = match (&cli.image, env.image.as_deref().map(str::trim)) {
            (Some(i), _) => i.clone(),
            (None, Some(i)) if !i.is_empty() => i.to_owned(),
            _ => DEFAULT_IMAGE.to_owned(),
        };
        // The flag's own parser checked --image; the environment's value is checked here: a
        // container added with a bad reference can never be removed.
        validate_image(&image)
            .map_err(|e| Error::Usage(format!("invalid image {image:?}: {e}")))?;
        Ok(image)
    }

    fn with(cli: Cli, run: Run, image: String, session: Session, warnings: Vec<String>) -> Options {
        let reason = cli.reason.clone().filter(|r| !r.trim().is_empty());
        let node_mode = matches!(run, Run::Node { .. });
        Options {
            run,
            new: cli.new,
            keep: cli.keep,
            ttl: cli.ttl,
            reason,
            max_parallel: usize::from(cli.max_parallel),
            output: cli.output,
            connection: Connection {
                kubeconfig: cli.kubeconfig,
                context: cli.context,
                cluster: cli.cluster,
                user: cli.user,
                namespace: cli.namespace,
                impersonate: cli.as_user,
                impersonate_groups: cli.as_group,
                request_timeout: (!cli.request_timeout.is_zero()).then_some(cli.request_timeout),
            },
            target_container: cli.target_container,
            container: DebugContainer {
                name: cli.container,
                image,
                pull_policy: cli.image_pull_policy,
                // kubectl's defaults: general, and sysadmin for a node.
                profile: cli.profile.unwrap_or(if node_mode {
                    Profile::Sysadmin
                } else {
                    Profile::General
                }),
                custom: cli.custom,
                env: cli.env,
            },
            session,
            copy: CopyOptions {
                same_node: cli.same_node,
                keep_labels: cli.keep_labels,
                skip_init: cli.skip_init,
                set_image: cli.set_image,
            },
            chroot: cli.chroot,
            timeout: cli.timeout,
            verbosity: cli.verbosity,
            warnings,
        }
    }
}

/// The flags of the modes (`--copy`, nodes, `list --gc`) against each other and the TARGETs:
/// each flag only where it means something. `nodes`: how many TARGETs are nodes.
fn check_modes(
    cli: &Cli,
    list: bool,
    targets: &[TargetRef],
    nodes: usize,
    selector: bool,
) -> Result<(), Error> {
    let usage = |m: &str| Err(Error::Usage(m.to_owned()));
    if cli.gc && !list {
        return usage("--gc is for list: 'kubectl distroless-debug list --gc'");
    }
    if cli.gc && !targets.is_empty() {
        return usage(
            "list --gc takes no TARGET: it looks at every pod of ours in the namespace (-l narrows it, -A widens it)",
        );
    }
    if list {
        if nodes > 0 {
            return usage(
                "list takes a pod or workload TARGET; without one it shows the node pods of the namespace",
            );
        }
        if cli.copy || cli.nodes || cli.chroot {
            return usage("list takes no --copy, --nodes or --chroot");
        }
    }
    if nodes > 0 && nodes < targets.len() {
        return usage("node and pod TARGETs cannot be mixed: debug nodes or pods");
    }
    if cli.nodes && !selector {
        return usage("--nodes selects nodes by label: add -l SELECTOR (or name them: node/NAME)");
    }
    let node_mode = nodes > 0 || cli.nodes;
    if node_mode && cli.copy {
        return usage("--copy copies pods; a node is debugged with a pod of its own (drop --copy)");
    }
    if node_mode && cli.target_container.is_some() {
        return usage("--target names a container of a pod; a node has none");
    }
    if cli.chroot && !node_mode {
        return usage("--chroot is for node debugging (node/NAME or --nodes)");
    }
    for (set, flag) in [
        (cli.same_node, "--same-node"),
        (cli.keep_labels, "--keep-labels"),
        (cli.skip_init, "--skip-init"),
        (!cli.set_image.is_empty(), "--set-image"),
    ] {
        if set && !cli.copy {
            return Err(Error::Usage(format!("{flag} is for --copy")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn env(tty: bool) -> Environment {
        Environment {
            image: None,
            stdin_is_terminal: tty,
            stdout_is_terminal: tty,
        }
    }

    fn opts(args: &[&str], e: &Environment) -> Result<Options, Error> {
        let mut argv = vec!["kubectl-distroless_debug"];
        argv.extend_from_slice(args);
        // A flag's own parser fails in clap (exit code 2, as a usage error).
        let cli = Cli::try_parse_from(argv).map_err(|e| {
            assert_eq!(e.exit_code(), 2, "{e}");
            Error::Usage(e.to_string())
        })?;
        Options::from_cli(cli, e)
    }

    #[test]
    fn defaults_for_a_shell_on_a_terminal() {
        let o = opts(&["pod/api"], &env(true)).unwrap();
        assert_eq!(o.container.image, DEFAULT_IMAGE);
        assert_eq!(o.container.profile, Profile::General);
        assert_eq!(o.timeout, Duration::from_secs(120));
        assert_eq!(o.connection.request_timeout, None);
        assert_eq!(
            o.session,
            Session {
                command: vec![],
                stdin: true,
                tty: true
            }
        );
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn shell_without_terminal_reads_stdin_without_tty() {
        let o = opts(&["pod/api", "-t"], &env(false)).unwrap();
        assert!(o.session.stdin && !o.session.tty);
        assert_eq!(o.warnings.len(), 1);
    }

    #[test]
    fn command_mode_follows_i_and_t() {
        let o = opts(&["pod/api", "--", "ss", "-tlnp"], &env(true)).unwrap();
        assert_eq!(o.session.command, ["ss", "-tlnp"]);
        assert!(!o.session.stdin && !o.session.tty);
        let o = opts(&["pod/api", "-it", "--", "top"], &env(true)).unwrap();
        assert!(o.session.stdin && o.session.tty);
        let o = opts(&["pod/api", "-it", "--", "top"], &env(false)).unwrap();
        assert!(o.session.stdin && !o.session.tty);
        assert_eq!(o.warnings, ["unable to use a TTY: input is not a terminal"]);
        let err = opts(&["pod/api", "-t", "--", "top"], &env(true)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("-i/--stdin is required"));
    }

    #[test]
    fn image_precedence_flag_then_env_then_default() {
        let mut e = env(true);
        e.image = Some("busybox:1.37".into());
        assert_eq!(opts(&["api"], &e).unwrap().container.image, "busybox:1.37");
        assert_eq!(
            opts(&["api", "--image", "alpine:3"], &e)
                .unwrap()
                .container
                .image,
            "alpine:3"
        );
        e.image = Some("  ".into());
        assert_eq!(opts(&["api"], &e).unwrap().container.image, DEFAULT_IMAGE);
        assert!(opts(&["api", "--image", "a b"], &e).is_err());
    }

    #[test]
    fn target_container_from_flag_or_suffix_but_not_both_different() {
        let e = env(true);
        let container = |args: &[&str]| {
            let o = opts(args, &e).unwrap();
            let Run::One(target) = &o.run else {
                panic!("{:?}", o.run)
            };
            o.container_for(target)
        };
        assert_eq!(container(&["pod/api/app"]).as_deref(), Some("app"));
        assert_eq!(
            container(&["pod/api", "--target", "app"]).as_deref(),
            Some("app")
        );
        assert_eq!(container(&["pod/api"]), None);
        assert!(opts(&["pod/api/app", "--target", "app"], &e).is_ok());
        let err = opts(&["pod/api/app", "--target", "side"], &e).unwrap_err();
        assert!(err.to_string().contains("contradicts"));
    }

    #[test]
    fn usage_errors_exit_2() {
        let e = env(true);
        for args in [
            &[][..],
            &["svc/x"][..],
            &["api", "--profile", "legacy"][..],
            &["api", "--image-pull-policy", "Sometimes"][..],
            &["api", "--env", "NOVALUE"][..],
            &["api", "--env", "DISTROLESS_DEBUG_BY=me"][..],
            &["api", "--timeout", "soon"][..],
            &["api", "--timeout", "0"][..],
            &["api", "-c", "Bad_Name"][..],
            &["api", "--request-timeout", "5x"][..],
            &["-l", "app in (a", "--", "id"][..],
            &["-l", "app:api", "--", "id"][..],
        ] {
            let err = opts(args, &e).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        }
    }

    #[test]
    fn connection_flags_are_kept() {
        let o = opts(
            &[
                "api",
                "--context",
                "prod",
                "-n",
                "shop",
                "--as",
                "alice",
                "--as-group",
                "a",
                "--as-group",
                "b",
                "--request-timeout",
                "5s",
                "--kubeconfig",
                "/k",
                "-v",
                "6",
            ],
            &env(true),
        )
        .unwrap();
        assert_eq!(o.connection.context.as_deref(), Some("prod"));
        assert_eq!(o.connection.namespace.as_deref(), Some("shop"));
        assert_eq!(o.connection.impersonate.as_deref(), Some("alice"));
        assert_eq!(o.connection.impersonate_groups, ["a", "b"]);
        assert_eq!(o.connection.request_timeout, Some(Duration::from_secs(5)));
        assert_eq!(o.verbosity, 6);
    }

    #[test]
    fn repeated_flags_take_the_last_value_as_kubectl() {
        let o = opts(
            &[
                "pod/api",
                "-n",
                "shop",
                "--namespace=shop",
                "--context",
                "staging",
                "--context",
                "prod",
                "--cluster=a",
                "--cluster",
                "b",
                "--user",
                "u1",
                "--user=u2",
                "--kubeconfig",
                "/first",
                "--kubeconfig",
                "/second",
                "--as",
                "alice",
                "--as",
                "bob",
                "--request-timeout",
                "1s",
                "--request-timeout",
                "3s",
                "--image",
                "busybox:1.37",
                "--image",
                "alpine:3",
                "--image-pull-policy",
                "Always",
                "--image-pull-policy",
                "Never",
                "--profile",
                "netadmin",
                "--profile=baseline",
                "-c",
                "one",
                "-c",
                "two",
                "--target",
                "side",
                "--target",
                "app",
                "--timeout",
                "1m",
                "--timeout",
                "90s",
                "--ttl",
                "5m",
                "--ttl",
                "2h",
                "--reason",
                "first",
                "--reason",
                "INC-9",
                "-v",
                "2",
                "-v",
                "6",
                "-i",
                "--stdin",
                "-q",
                "-q",
                "--new",
                "--new",
                "--",
                "id",
            ],
            &env(true),
        )
        .unwrap();
        let c = &o.connection;
        assert_eq!(c.namespace.as_deref(), Some("shop"));
        assert_eq!(c.context.as_deref(), Some("prod"));
        assert_eq!(c.cluster.as_deref(), Some("b"));
        assert_eq!(c.user.as_deref(), Some("u2"));
        assert_eq!(
            c.kubeconfig.as_deref(),
            Some(std::path::Path::new("/second"))
        );
        assert_eq!(c.impersonate.as_deref(), Some("bob"));
        assert_eq!(c.request_timeout, Some(Duration::from_secs(3)));
        assert_eq!(o.container.image, "alpine:3");
        assert_eq!(o.container.pull_policy, Some(PullPolicy::Never));
        assert_eq!(o.container.profile, Profile::Baseline);
        assert_eq!(o.container.name.as_deref(), Some("two"));
        assert_eq!(o.target_container.as_deref(), Some("app"));
        assert_eq!(o.timeout, Duration::from_secs(90));
        assert_eq!(o.ttl, Duration::from_secs(7200));
        assert_eq!(o.reason.as_deref(), Some("INC-9"));
        assert_eq!(o.verbosity, 6);
        assert!(o.session.stdin && o.new);

        let o = opts(
            &[
                "-l",
                "app=web",
                "-l",
                "app=api",
                "-o",
                "json",
                "-o",
                "jsonl",
                "--max-parallel",
                "2",
                "--max-parallel",
                "8",
                "--",
                "id",
            ],
            &env(false),
        )
        .unwrap();
        assert_eq!(
            o.run,
            Run::Many(Pods::Selector {
                selector: "app=api".into(),
                all_namespaces: false
            })
        );
        assert_eq!(o.output, Output::Jsonl);
        assert_eq!(o.max_parallel, 8);

        // Every value is checked, as kubectl's flags are: a bad one is an error even when
        // another value follows.
        let err = opts(
            &["api", "--profile", "legacy", "--profile", "general"],
            &env(true),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn repeatable_flags_append() {
        let o = opts(
            &[
                "pod/a",
                "pod/b",
                "--env",
                "A=1",
                "--env=B=2",
                "--env",
                "C=3",
                "--as-group",
                "dev",
                "--as-group=ops",
                "--as-group",
                "audit",
                "--",
                "id",
            ],
            &env(false),
        )
        .unwrap();
        assert_eq!(
            o.container.env,
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "2".to_owned()),
                ("C".to_owned(), "3".to_owned())
            ]
        );
        assert_eq!(o.connection.impersonate_groups, ["dev", "ops", "audit"]);
        let Run::Many(Pods::Targets { targets, .. }) = &o.run else {
            panic!("{:?}", o.run)
        };
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn what_the_run_does() {
        let e = env(false);
        let target = |s: &str| parse_target(s).unwrap();
        let run = |args: &[&str]| opts(args, &e).unwrap().run;
        let targets = |t: &[&str], all_pods| Pods::Targets {
            targets: t.iter().map(|s| target(s)).collect(),
            all_pods,
        };
        assert_eq!(run(&["pod/a", "--", "id"]), Run::One(target("pod/a")));
        assert_eq!(run(&["deploy/api"]), Run::One(target("deploy/api")));
        assert_eq!(
            run(&["pod/a", "pod/b", "--", "true"]),
            Run::Many(targets(&["pod/a", "pod/b"], false))
        );
        // -o json is for scripts: the report of one pod.
        assert_eq!(
            run(&["pod/a", "-o", "json", "--", "id"]),
            Run::Many(targets(&["pod/a"], false))
        );
        assert_eq!(
            run(&["deploy/api", "--all-pods", "--", "id"]),
            Run::Many(targets(&["deploy/api"], true))
        );
        // A blank selector selects nothing: the TARGET decides.
        assert_eq!(run(&["pod/a", "-l", " "]), Run::One(target("pod/a")));

        // list, and a pod named list.
        assert_eq!(
            run(&["list"]),
            Run::List(Pods::All {
                all_namespaces: false
            })
        );
        assert_eq!(
            run(&["list", "-A"]),
            Run::List(Pods::All {
                all_namespaces: true
            })
        );
        // list shows every pod of a workload.
        assert_eq!(
            run(&["list", "deploy/api", "-o", "json"]),
            Run::List(targets(&["deploy/api"], true))
        );
        assert_eq!(
            run(&["list", "-l", "app=api", "-A"]),
            Run::List(Pods::Selector {
                selector: "app=api".into(),
                all_namespaces: true
            })
        );
        assert_eq!(run(&["pod/list", "--", "id"]), Run::One(target("pod/list")));
    }

    #[test]
    fn cp_is_one_pod_and_a_kept_container() {
        let e = env(false);
        let o = opts(
            &[
                "cp",
                "deploy/api/app:/etc/a.yaml",
                "./a.yaml",
                "--reason",
                "INC-2",
            ],
            &e,
        )
        .unwrap();
        let Run::Cp(c) = &o.run else {
            panic!("{:?}", o.run)
        };
        assert_eq!(c.target.to_string(), "deployment/api");
        assert_eq!(c.remote, "/etc/a.yaml");
        assert_eq!(c.direction, Direction::Get);
        assert_eq!(o.reason.as_deref(), Some("INC-2"));
        assert!(!o.session.stdin && !o.session.tty);
        // A pod named cp.
        assert_eq!(
            run_of(&["pod/cp", "--", "id"]),
            Run::One(parse_target("pod/cp").unwrap())
        );
        // stdout and stdin as tar, unless they are terminals.
        let mut t = env(false);
        assert!(opts(&["cp", "api:/x", "-"], &t).is_ok());
        t.stdout_is_terminal = true;
        assert!(opts(&["cp", "api:/x", "-"], &t).is_err());
        assert!(opts(&["cp", "-", "api:/x"], &t).is_ok());
        t.stdin_is_terminal = true;
        let err = opts(&["cp", "-", "api:/x"], &t).unwrap_err();
        assert!(err.to_string().contains("terminal"), "{err}");
    }

    fn run_of(args: &[&str]) -> Run {
        opts(args, &env(false)).unwrap().run
    }

    #[test]
    fn cp_usage_errors() {
        let e = env(false);
        for (args, want) in [
            (&["cp"][..], "a source and a destination"),
            (&["cp", "api:/x"][..], "a source and a destination"),
            (
                &["cp", "api:/x", "./y", "./z"][..],
                "a source and a destination",
            ),
            (&["cp", "api:/x", "web:/y"][..], "not between two pods"),
            (&["cp", "./x", "./y"][..], "one side in a pod"),
            (&["cp", "api:x", "./y"][..], "must be absolute"),
            (&["cp", "svc/api:/x", "./y"][..], "unsupported kind \"svc\""),
            (&["cp", "api:/x", "./y", "-i"][..], "no COMMAND, -i or -t"),
            (&["cp", "api:/x", "./y", "--", "ls"][..], "no COMMAND"),
            (&["cp", "api:/x", "./y", "-l", "a=b"][..], "one pod"),
            (&["cp", "api:/x", "./y", "-o", "json"][..], "one pod"),
            (
                &["cp", "pod/api/app:/x", "./y", "--target", "side"][..],
                "contradicts",
            ),
            (&["cp", "api:/x", "./y", "--ttl", "0"][..], "--ttl"),
        ] {
            let err = opts(args, &e).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn defaults_and_flags_of_many_pods() {
        let e = env(false);
        let o = opts(&["pod/a", "pod/b", "--", "true"], &e).unwrap();
        assert_eq!(o.max_parallel, 16);
        assert_eq!(o.ttl, Duration::from_secs(3600));
        assert_eq!(o.output, Output::Text);
        let o = opts(&["-l", "app=api", "-o", "jsonl", "--", "true"], &e).unwrap();
        assert_eq!(o.output, Output::Jsonl);
        let o = opts(
            &[
                "pod/a", "-o", "json", "--ttl", "5s", "--reason", "INC-1", "--", "id",
            ],
            &e,
        )
        .unwrap();
        assert_eq!(o.ttl, Duration::from_secs(5));
        assert_eq!(o.reason.as_deref(), Some("INC-1"));
        assert_eq!(
            opts(&["pod/a", "--reason", " ", "--", "id"], &e)
                .unwrap()
                .reason,
            None
        );
    }

    #[test]
    fn many_pods_usage_errors() {
        let e = env(true);
        for (args, want) in [
            (&["pod/a", "pod/b"][..], "COMMAND"),
            (&["-l", "app=x"][..], "COMMAND"),
            (&["pod/a", "-o", "json"][..], "COMMAND"),
            (&["pod/a", "pod/b", "-it", "--", "top"][..], "-t/--tty"),
            (&["pod/a", "-l", "app=x", "--", "id"][..], "exclusive"),
            (&["pod/a", "--all-pods", "--", "id"][..], "--all-pods"),
            (
                &["pod/a", "--max-parallel", "0", "--", "id"][..],
                "--max-parallel",
            ),
            (&["pod/a", "--ttl", "0", "--", "id"][..], "--ttl"),
            (&["pod/a", "-o", "yaml", "--", "id"][..], "--output"),
            (&["pod/a", "-A", "--", "id"][..], "list only"),
            (&["list", "a", "b"][..], "at most one"),
            (&["list", "a", "--", "id"][..], "no COMMAND"),
            (&["list", "a", "-A"][..], "takes no TARGET"),
        ] {
            let err = opts(args, &e).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(want), "{args:?}: {err}");
        }
    }
    #[test]
    fn copy_node_and_gc_runs_and_their_flags() {
        let e = env(false);
        let run = |args: &[&str]| opts(args, &e).unwrap().run;
        let target = |s: &str| parse_target(s).unwrap();
        let one = |t: &str| Pods::Targets {
            targets: vec![target(t)],
            all_pods: false,
        };
        assert_eq!(
            run(&["pod/a", "--copy"]),
            Run::Copy {
                pods: one("pod/a"),
                many: false
            }
        );
        assert_eq!(
            run(&["deploy/api", "--copy", "-o", "json", "--", "id"]),
            Run::Copy {
                pods: one("deploy/api"),
                many: true
            }
        );
        assert_eq!(
            run(&["node/n1"]),
            Run::Node {
                nodes: Nodes::Named(vec!["n1".into()]),
                many: false
            }
        );
        assert_eq!(
            run(&["node/n1", "node/n2", "--", "uptime"]),
            Run::Node {
                nodes: Nodes::Named(vec!["n1".into(), "n2".into()]),
                many: true
            }
        );
        assert_eq!(
            run(&["--nodes", "-l", "pool=a", "--", "uptime"]),
            Run::Node {
                nodes: Nodes::Selector("pool=a".into()),
                many: true
            }
        );
        assert_eq!(
            run(&["list", "--gc", "-A"]),
            Run::Gc(Pods::All {
                all_namespaces: true
            })
        );
        // Profiles: kubectl's defaults, general, and sysadmin for nodes; a flag wins.
        let profile = |args: &[&str]| opts(args, &e).unwrap().container.profile;
        assert_eq!(profile(&["pod/a", "--copy"]), Profile::General);
        assert_eq!(profile(&["node/n1"]), Profile::Sysadmin);
        assert_eq!(
            profile(&["node/n1", "--profile", "baseline"]),
            Profile::Baseline
        );
        let o = opts(
            &[
                "pod/a",
                "--copy",
                "--same-node",
                "--keep-labels",
                "--skip-init",
                "--set-image",
                "app=debug:1",
                "--set-image=*=busybox:1",
            ],
            &e,
        )
        .unwrap();
        assert_eq!(
            o.copy,
            CopyOptions {
                same_node: true,
                keep_labels: true,
                skip_init: true,
                set_image: vec![
                    ("app".into(), "debug:1".into()),
                    ("*".into(), "busybox:1".into())
                ],
            }
        );
        assert!(opts(&["node/n1", "--chroot"], &e).unwrap().chroot);
    }

    #[test]
    fn copy_node_and_gc_usage_errors() {
        let e = env(true);
        for (args, want) in [
            (&["pod/a", "--skip-init"][..], "--skip-init is for --copy"),
            (&["pod/a", "--same-node"][..], "--same-node is for --copy"),
            (
                &["pod/a", "--keep-labels"][..],
                "--keep-labels is for --copy",
            ),
            (
                &["pod/a", "--set-image", "a=b:1"][..],
                "--set-image is for --copy",
            ),
            (&["pod/a", "--set-image", "nothing"][..], "CONTAINER=IMAGE"),
            (
                &["pod/a", "--copy", "--set-image", "a=b c"][..],
                "--set-image",
            ),
            (&["pod/a", "--chroot"][..], "--chroot is for node debugging"),
            (&["pod/a", "--gc"][..], "--gc is for list"),
            (&["list", "pod/a", "--gc"][..], "takes no TARGET"),
            (
                &["list", "node/n1"][..],
                "list takes a pod or workload TARGET",
            ),
            (&["list", "--copy"][..], "list takes no --copy"),
            (&["node/n1", "pod/a", "--", "id"][..], "cannot be mixed"),
            (&["node/n1", "--copy"][..], "drop --copy"),
            (&["node/n1", "--target", "app"][..], "a node has none"),
            (&["--nodes", "--", "id"][..], "add -l SELECTOR"),
            (&["--nodes", "-l", "a=b"][..], "COMMAND"),
            (&["pod/a", "pod/b", "--copy"][..], "COMMAND"),
            (&["node/n1", "--all-pods", "--", "id"][..], "--all-pods"),
            (
                &["cp", "pod/a:/x", "./y", "--copy"][..],
                "cp takes no --copy",
            ),
            (
                &["cp", "./y", "pod/a:/x", "--skip-init"][..],
                "cp takes no --copy",
            ),
            (&["cp", "node/n1:/x", "./y"][..], "a node has none"),
        ] {
            let err = opts(args, &e).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(want), "{args:?}: {err}");
        }
    }
}
