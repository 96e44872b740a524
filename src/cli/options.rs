//! `Cli` → validated [`Options`]: defaults, flag interplay, parsing of durations and `--env`.
//!
//! Pure: the environment (terminals, `KUBECTL_DISTROLESS_DEBUG_IMAGE`) comes in as an
//! [`Environment`] value so every rule is tested from flag strings. Anything wrong here is a
//! usage error (exit code 2).

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::args::Cli;
use crate::cli::parse::{parse_duration, parse_env, validate_image};
use crate::cli::target::Kind;
use crate::cli::target::TargetRef;
use crate::cli::target::parse_target;
use crate::cli::target::validate_dns_label;
use crate::error::Error;
use crate::model::Profile;

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
    pub pull_policy: Option<String>,
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
    pub fn is_shell(&self) -> bool {
        self.command.is_empty()
    }
}

/// What the run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A session or a command in one pod or many.
    Debug,
    /// `list`: show the debug containers.
    List,
}

/// `-o/--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
    Jsonl,
}

/// Default of `--ttl`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Validated options for one run.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // one per flag
pub struct Options {
    pub action: Action,
    pub connection: Connection,
    /// The first TARGET (for a single session); see [`Options::targets`] for all.
    pub target: TargetRef,
    /// Every TARGET (empty with `-l`, or for `list` without one).
    pub targets: Vec<TargetRef>,
    /// `-l/--selector`.
    pub selector: Option<String>,
    /// `--all-pods`: every running pod of a workload TARGET.
    pub all_pods: bool,
    /// `-A` (list only).
    pub all_namespaces: bool,
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
    /// `--target` or the `/CONTAINER` suffix of the first TARGET.
    pub target_container: Option<String>,
    pub container: DebugContainer,
    pub session: Session,
    pub quiet: bool,
    pub timeout: Duration,
    pub verbosity: u8,
    /// Warnings to print once the printer exists (e.g. `-t` without a terminal).
    pub warnings: Vec<String>,
}

impl Options {
    /// Whether the run goes through the many-pods path (several or selected pods, or
    /// structured output), as opposed to one session in one pod.
    pub fn many(&self) -> bool {
        self.targets.len() > 1
            || self.selector.is_some()
            || self.all_pods
            || self.output != Output::Text
    }

    /// The target container for `target`: its `/CONTAINER` suffix, else `--target`.
    pub fn container_for(&self, target: &TargetRef) -> Option<String> {
        target
            .container
            .clone()
            .or_else(|| self.target_container.clone())
    }

    /// Validates the parsed flags.
    pub fn from_cli(cli: Cli, env: &Environment) -> Result<Options, Error> {
        let usage = Error::Usage;
        let mut raw_targets = cli.targets.clone();
        let action = if raw_targets.first().map(String::as_str) == Some("list") {
            raw_targets.remove(0);
            Action::List
        } else {
            Action::Debug
        };
        let targets = raw_targets
            .iter()
            .map(|t| parse_target(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(usage)?;
        let selector = cli.selector.clone().filter(|s| !s.trim().is_empty());
        if let Some(s) = &selector {
            crate::cli::selector::parse_selector(s)
                .map_err(|e| usage(format!("invalid -l/--selector {s:?}: {e}")))?;
        }
        if selector.is_some() && !targets.is_empty() {
            return Err(usage(
                "-l/--selector and TARGET are exclusive: name pods, or select them".to_owned(),
            ));
        }
        let output = match cli.output.as_str() {
            "text" | "" => Output::Text,
            "json" => Output::Json,
            "jsonl" => Output::Jsonl,
            o => {
                return Err(usage(format!(
                    "invalid -o/--output {o:?}: one of text, json, jsonl"
                )));
            }
        };
        match action {
            Action::List => {
                if targets.len() > 1 {
                    return Err(usage("list takes at most one TARGET".to_owned()));
                }
                if !cli.command.is_empty() || cli.stdin || cli.tty {
                    return Err(usage("list takes no COMMAND, -i or -t".to_owned()));
                }
                if cli.all_namespaces && (selector.is_some() || !targets.is_empty()) {
                    return Err(usage(
                        "list: -A/--all-namespaces takes no TARGET (combine it with -l instead)"
                            .to_owned(),
                    ));
                }
            }
            Action::Debug => {
                if targets.is_empty() && selector.is_none() {
                    return Err(usage(
                        "a TARGET is required: NAME, pod/NAME, pod/NAME/CONTAINER or deploy|sts|ds|rs|job/NAME (or -l SELECTOR)".to_owned(),
                    ));
                }
                if cli.all_namespaces {
                    return Err(usage("-A/--all-namespaces is for list only".to_owned()));
                }
            }
        }
        if cli.all_pods && !targets.iter().any(|t| t.kind != Kind::Pod) {
            return Err(usage(
                "--all-pods needs a workload TARGET (deploy|sts|ds|rs|job/NAME)".to_owned(),
            ));
        }
        if cli.max_parallel == 0 {
            return Err(usage("--max-parallel must be at least 1".to_owned()));
        }
        let ttl = parse_duration(&cli.ttl).map_err(|e| usage(format!("--ttl: {e}")))?;
        if ttl < Duration::from_secs(1) {
            return Err(usage(
                "--ttl must be at least 1s: every debug container ends by itself".to_owned(),
            ));
        }
        let reason = cli.reason.clone().filter(|r| !r.trim().is_empty());
        if reason.as_ref().is_some_and(|r| r.len() > 1024) {
            return Err(usage("--reason is longer than 1024 bytes".to_owned()));
        }
        let placeholder = TargetRef {
            kind: Kind::Pod,
            name: String::new(),
            container: None,
        };
        let target = targets.first().cloned().unwrap_or(placeholder);

        let target_container = match (&cli.target_container, &target.container) {
            (Some(flag), Some(suffix)) if flag != suffix => {
                return Err(usage(format!(
                    "--target {flag:?} contradicts the container {suffix:?} in the target"
                )));
            }
            (Some(c), _) | (None, Some(c)) => Some(c.clone()),
            (None, None) => None,
        };
        if let Some(c) = &cli.target_container {
            validate_dns_label(c).map_err(|e| usage(format!("--target: {e}")))?;
        }
        if let Some(name) = &cli.container {
            validate_dns_label(name).map_err(|e| usage(format!("-c/--container: {e}")))?;
        }

        let image = match (&cli.image, env.image.as_deref().map(str::trim)) {
            (Some(i), _) => i.clone(),
            (None, Some(i)) if !i.is_empty() => i.to_owned(),
            _ => DEFAULT_IMAGE.to_owned(),
        };
        // A bad reference would be added anyway (the API server does not check its syntax)
        // and fail in the kubelet: refuse it here, before a container that can never be
        // removed is written into the pod.
        validate_image(&image).map_err(|e| usage(format!("invalid image {image:?}: {e}")))?;
        let pull_policy = match cli.image_pull_policy.as_deref() {
            None | Some("") => None,
            Some(p @ ("Always" | "IfNotPresent" | "Never")) => Some(p.to_owned()),
            Some(p) => {
                return Err(usage(format!(
                    "invalid --image-pull-policy {p:?}: one of Always, IfNotPresent, Never"
                )));
            }
        };
        let profile: Profile = cli.profile.parse().map_err(usage)?;
        let env_vars = cli
            .env
            .iter()
            .map(|s| parse_env(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(usage)?;

        let mut warnings = Vec::new();
        let many =
            targets.len() > 1 || selector.is_some() || cli.all_pods || output != Output::Text;
        if action == Action::Debug && many {
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

        let timeout = parse_duration(&cli.timeout).map_err(|e| usage(format!("--timeout: {e}")))?;
        if timeout.is_zero() {
            return Err(usage("--timeout must be greater than zero".to_owned()));
        }
        let request_timeout = parse_duration(&cli.request_timeout)
            .map_err(|e| usage(format!("--request-timeout: {e}")))?;

        Ok(Options {
            action,
            target,
            targets,
            selector,
            all_pods: cli.all_pods,
            all_namespaces: cli.all_namespaces,
            new: cli.new,
            keep: cli.keep,
            ttl,
            reason,
            max_parallel: cli.max_parallel,
            output,
            connection: Connection {
                kubeconfig: cli.kubeconfig,
                context: cli.context,
                cluster: cli.cluster,
                user: cli.user,
                namespace: cli.namespace,
                impersonate: cli.as_user,
                impersonate_groups: cli.as_group,
                request_timeout: (!request_timeout.is_zero()).then_some(request_timeout),
            },
            target_container,
            container: DebugContainer {
                name: cli.container,
                image,
                pull_policy,
                profile,
                custom: cli.custom,
                env: env_vars,
            },
            session,
            quiet: cli.quiet,
            timeout,
            verbosity: cli.verbosity,
            warnings,
        })
    }
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
        Options::from_cli(Cli::try_parse_from(argv).unwrap(), e)
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
        assert_eq!(
            opts(&["pod/api/app"], &e)
                .unwrap()
                .target_container
                .as_deref(),
            Some("app")
        );
        assert_eq!(
            opts(&["pod/api", "--target", "app"], &e)
                .unwrap()
                .target_container
                .as_deref(),
            Some("app")
        );
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
                // Only the last value is checked: an invalid first one is replaced.
                "--profile",
                "legacy",
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
        assert_eq!(o.container.pull_policy.as_deref(), Some("Never"));
        assert_eq!(o.container.profile, Profile::Baseline);
        assert_eq!(o.container.name.as_deref(), Some("two"));
        assert_eq!(o.target_container.as_deref(), Some("app"));
        assert_eq!(o.timeout, Duration::from_secs(90));
        assert_eq!(o.ttl, Duration::from_secs(7200));
        assert_eq!(o.reason.as_deref(), Some("INC-9"));
        assert_eq!(o.verbosity, 6);
        assert!(o.session.stdin && o.quiet && o.new);

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
        assert_eq!(o.selector.as_deref(), Some("app=api"));
        assert_eq!(o.output, Output::Jsonl);
        assert_eq!(o.max_parallel, 8);
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
        let names: Vec<&str> = o.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn many_pods_list_and_new_flags() {
        let e = env(false);
        let o = opts(&["pod/a", "pod/b", "--", "true"], &e).unwrap();
        assert!(o.many());
        assert_eq!(o.targets.len(), 2);
        assert_eq!(o.max_parallel, 16);
        assert_eq!(o.ttl, DEFAULT_TTL);
        let o = opts(&["-l", "app=api", "-o", "jsonl", "--", "true"], &e).unwrap();
        assert!(o.many() && o.targets.is_empty());
        assert_eq!(o.output, Output::Jsonl);
        let o = opts(
            &[
                "pod/a", "-o", "json", "--ttl", "5s", "--reason", "INC-1", "--", "id",
            ],
            &e,
        )
        .unwrap();
        assert!(o.many());
        assert_eq!(o.ttl, Duration::from_secs(5));
        assert_eq!(o.reason.as_deref(), Some("INC-1"));
        let o = opts(&["pod/a", "--", "id"], &e).unwrap();
        assert!(!o.many());
        let o = opts(&["deploy/api", "--all-pods", "--", "id"], &e).unwrap();
        assert!(o.many() && o.all_pods);

        // list, and a pod named list.
        let o = opts(&["list"], &e).unwrap();
        assert_eq!(o.action, Action::List);
        assert!(o.targets.is_empty());
        let o = opts(&["list", "pod/x", "-o", "json"], &e).unwrap();
        assert_eq!(o.action, Action::List);
        assert_eq!(o.targets[0].name, "x");
        let o = opts(&["list", "-A"], &e).unwrap();
        assert!(o.all_namespaces);
        let o = opts(&["pod/list", "--", "id"], &e).unwrap();
        assert_eq!((o.action, o.target.name.as_str()), (Action::Debug, "list"));
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
            (&["pod/a", "-o", "yaml", "--", "id"][..], "-o/--output"),
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
}
