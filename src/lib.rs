//! `kubectl distroless-debug`: a debug shell next to a distroless container.
//!
//! The flow, one module per step:
//!
//! 1. [`cli`] parses flags (clap only); [`options`] validates them into [`options::Options`].
//! 2. [`client`] builds a `kube::Client` from kubeconfig as kubectl does.
//! 3. [`resolve`] GETs the pod (or a ready pod of a workload) while [`audit`] asks who we are;
//!    [`target`] decides the target container and refuses pods and containers that are not
//!    running.
//! 4. [`reuse`] looks for a live debug container of ours with the same spec; if there is one,
//!    go to 6 with exec.
//! 5. [`spec`] builds the ephemeral container ([`profile`], `--custom`, non-root UID, the
//!    entry script `entry.sh`, audit and TTL); [`inject`] adds it with one strategic-merge
//!    PATCH and, on a 403, tells RBAC from Pod Security ([`pss`]); [`wait`] watches the pod
//!    until the container runs, failing fast on image errors.
//! 6. [`session`] execs the command or shell in a kept container, or attaches the terminal to
//!    a session-bound one, and returns the exit code.
//!
//! Many pods ([`fanout`]) run steps 3-6 concurrently per pod; [`list`] reads step 5's records.
//! Every decision is a pure function over `&Pod` and options; API calls are thin edges.
//! Errors are typed in [`error`] and printed once by [`output`].

pub mod audit;
pub mod cli;
pub mod client;
pub mod completion;
pub mod error;
pub mod fanout;
pub mod inject;
pub mod list;
pub mod options;
pub mod output;
pub mod profile;
pub mod pss;
pub mod resolve;
pub mod reuse;
pub mod selector;
pub mod session;
pub mod spec;
pub mod target;
pub mod wait;

use k8s_openapi::api::core::v1::{EphemeralContainer, Pod};

use crate::client::Cluster;
use crate::error::Error;
use crate::options::Options;
use crate::output::Printer;
use crate::spec::{Audit, Custom};
use crate::wait::Started;

/// Reads and checks `--custom` (before any API call: a bad file is a usage error).
pub fn load_custom(options: &Options) -> Result<Option<Custom>, Error> {
    let Some(path) = &options.container.custom else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Custom {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    Custom::parse(&text)
        .map(Some)
        .map_err(|reason| Error::Custom {
            path: shown,
            reason,
        })
}

/// A debug container ready for the session: fresh and started (or already ended), or reused.
#[derive(Debug)]
pub struct Prepared {
    pub pod: String,
    pub container: String,
    /// The target container.
    pub target: String,
    pub started: Started,
    /// What the container's main process is: the session, or a keep-alive (then the command
    /// or shell runs through exec).
    pub mode: spec::Mode,
    /// An existing container was chosen instead of adding one.
    pub reused: bool,
    /// The pod watch that saw a fresh container start, still open: the session's exit code
    /// comes from it without another request.
    pub watch: Option<wait::PodWatch>,
}

impl Prepared {
    /// A running kept container, reused through exec.
    fn reused(pod: String, container: String, target: String) -> Self {
        Prepared {
            pod,
            container,
            target,
            started: Started::Running,
            mode: spec::Mode::KeepAlive,
            reused: true,
            watch: None,
        }
    }
}

/// Whether a new container keeps itself alive for reuse: always for a COMMAND (it runs through
/// exec), for a shell only with `--keep` (a shell's container otherwise ends with it). Pure.
pub fn mode_for(options: &Options) -> spec::Mode {
    if options.session.is_shell() && !options.keep {
        spec::Mode::Session
    } else {
        spec::Mode::KeepAlive
    }
}

/// Runs one session, or a command in many pods, or `list`; returns the exit code.
///
/// From here on a panic restores the terminal and ends the process (exit code 101), and
/// SIGTERM, SIGHUP and SIGINT end a single-pod run at any step with 128+N: the work in flight is
/// dropped (which drops the raw-mode guard) and the error printed in cooked mode.
pub async fn run(options: Options, printer: &Printer) -> Result<u8, Error> {
    session::tty::install_panic_hook();
    for w in &options.warnings {
        printer.warn(w);
    }
    if options.action == options::Action::List {
        let cluster = client::connect(&options.connection).await?;
        return list::run(&cluster, &options, printer).await;
    }
    let custom = load_custom(&options)?;
    let cluster = client::connect(&options.connection).await?;
    if options.many() {
        return fanout::run(&cluster, &options, custom.as_ref(), printer).await;
    }
    let prepared = tokio::select! {
        r = prepare(&cluster, &options, custom.as_ref(), printer) => r?,
        e = session::signals::termination() => return Err(before_session(e)),
    };
    tokio::select! {
        r = session_for(&cluster, &options, prepared, printer) => r,
        e = session::signals::termination() => Err(e),
    }
}

/// A signal before the session: Ctrl-C is "interrupted" (130), others keep their name.
fn before_session(e: Error) -> Error {
    match e {
        Error::Signal { number: 2, .. } => Error::Interrupted,
        e => e,
    }
}

/// The session for a prepared debug container: exec into a kept one, or attach to a
/// session-bound one (or show its log if it already ended).
async fn session_for(
    cluster: &Cluster,
    options: &Options,
    prepared: Prepared,
    printer: &Printer,
) -> Result<u8, Error> {
    if prepared.mode == spec::Mode::KeepAlive {
        let plan = session::ExecPlan {
            pod: &prepared.pod,
            container: &prepared.container,
            command: spec::exec_command(&options.session.command),
            tty: options.session.tty,
            stdin: options.session.stdin,
        };
        let io = session::Io {
            stdout: tokio::io::stdout(),
            stderr: tokio::io::stderr(),
            stdin: session::StdinSource::Process,
            size: if plan.tty {
                session::resize::current()
            } else {
                None
            },
            follow_resize: plan.tty,
        };
        let code = session::exec_with(cluster, &plan, io).await?;
        return Ok(session::exit_code_from(code));
    }
    let plan = session::Plan {
        pod: &prepared.pod,
        container: &prepared.container,
        tty: options.session.tty,
        forward_stdin: options.session.stdin,
        stdin_handshake: !options.session.tty,
    };
    match prepared.started {
        Started::Terminated { exit_code } => {
            session::ended_before_attach(cluster, &plan, exit_code, printer).await
        }
        Started::Running => session::run(cluster, &plan, printer, prepared.watch).await,
    }
}

/// The target pod as read, and the watch that read it if it is still open.
pub struct PodRead<'a> {
    pub pod: &'a Pod,
    pub watch: Option<wait::PodWatch>,
}

/// Resolve, then reuse or inject and wait: everything before the session. For a pod: one watch
/// that starts with the pod's state (else a GET), with a concurrent SelfSubjectReview for the
/// audit record when the credentials do not name the user; then either nothing more (reuse)
/// or PATCH and the waits, on that same watch.
pub async fn prepare(
    cluster: &Cluster,
    options: &Options,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<Prepared, Error> {
    let (read, reviewed) = tokio::join!(
        resolve::resolve_pod_watched(cluster, &options.target, printer),
        audit::who_am_i(cluster)
    );
    let (pod, watch) = read?;
    let audit = audit::record(
        reviewed,
        cluster.user.as_deref(),
        options.reason.as_deref(),
        options.ttl,
        k8s_openapi::jiff::Timestamp::now(),
    );
    Box::pin(prepare_in(
        cluster,
        PodRead { pod: &pod, watch },
        options.target_container.as_deref(),
        options,
        custom,
        &audit,
        printer,
    ))
    .await
}

/// [`prepare`] for a pod already read.
pub async fn prepare_in(
    cluster: &Cluster,
    read: PodRead<'_>,
    requested_target: Option<&str>,
    options: &Options,
    custom: Option<&Custom>,
    audit: &Audit,
    printer: &Printer,
) -> Result<Prepared, Error> {
    let PodRead { pod, watch: opened } = read;
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    target::check_pod_running(pod)?;
    let target_container = target::choose_container(pod, requested_target)?;
    target::check_container_running(pod, &target_container)?;

    let build = |profile, mode, name: &str| {
        let mut dc = options.container.clone();
        dc.profile = profile;
        spec::build(&spec::Input {
            pod,
            target_container: &target_container,
            name,
            container: &dc,
            session: &options.session,
            custom,
            audit,
            mode,
        })
    };

    if !options.new {
        let (wanted, _) = build(options.container.profile, spec::Mode::KeepAlive, "-")?;
        let now = k8s_openapi::jiff::Timestamp::now();
        let requested = options.container.name.as_deref();
        if let Some(name) = reuse::find_reusable(pod, &wanted, requested, now) {
            printer.status(&format!(
                "Reusing debug container {name} in pod {pod_name} (--new for a fresh one)"
            ));
            return Ok(Prepared::reused(pod_name, name, target_container));
        }
        if let Some(name) = reuse::find_starting(pod, &wanted, requested, now) {
            printer.status(&format!(
                "Reusing debug container {name} in pod {pod_name}, which is starting (--new for a fresh one)"
            ));
            let image = &options.container.image;
            let watch = opened.unwrap_or_else(|| wait::PodWatch::new(cluster, pod));
            let (started, _) = wait::until_started(
                cluster,
                watch,
                &name,
                image,
                options.timeout,
                false,
                printer,
            )
            .await?;
            if let Started::Terminated { exit_code } = started {
                return Err(keep_alive_ended(name, exit_code, image));
            }
            return Ok(Prepared::reused(pod_name, name, target_container));
        }
    }

    let mode = mode_for(options);
    let name = spec::container_name(pod, options.container.name.as_deref(), |n| {
        rand::random_range(0..n)
    })?;
    let (container, notes) = build(options.container.profile, mode, &name)?;
    for n in &notes {
        printer.status(n);
    }

    let stored = match inject::add_debug_container(cluster, &pod_name, &container).await {
        Ok(p) => p,
        Err(err @ Error::Forbidden { .. }) => {
            let container_for = |p| build(p, mode, &name).map(|(c, _)| c).unwrap_or_default();
            return Err(explain_patch_refusal(cluster, pod, options, err, &container_for).await);
        }
        Err(e) => return Err(e),
    };
    let kept = match mode {
        spec::Mode::KeepAlive => {
            format!(", kept for reuse for {}", error::fmt_duration(options.ttl))
        }
        spec::Mode::Session => String::new(),
    };
    printer.status(&format!(
        "Added debug container {name} ({}, profile {}) to pod {pod_name}, targeting container {target_container}{kept}",
        options.container.image, options.container.profile
    ));
    let watch = match opened {
        Some(mut w) => {
            w.observe(&stored);
            w
        }
        None => wait::PodWatch::new(cluster, &stored),
    };
    let (started, watch) = wait::until_started(
        cluster,
        watch,
        &name,
        &options.container.image,
        options.timeout,
        true,
        printer,
    )
    .await?;
    if let (spec::Mode::KeepAlive, Started::Terminated { exit_code }) = (mode, &started) {
        return Err(keep_alive_ended(name, *exit_code, &options.container.image));
    }
    Ok(Prepared {
        pod: pod_name,
        container: name,
        target: target_container,
        started,
        mode,
        reused: false,
        // Only an attached session reads its exit code from the pod; exec reports it.
        watch: (mode == spec::Mode::Session).then_some(watch),
    })
}

/// The keep-alive process only sleeps: ending at once means the toolbox cannot run it.
fn keep_alive_ended(container: String, exit_code: i32, image: &str) -> Error {
    Error::ContainerStart {
        container,
        reason: "Exited".to_owned(),
        message: format!("the keep-alive process ended at once with exit code {exit_code}"),
        image: image.to_owned(),
    }
}

async fn explain_patch_refusal(
    cluster: &Cluster,
    pod: &Pod,
    options: &Options,
    rbac_error: Error,
    container_for: &dyn Fn(profile::Profile) -> EphemeralContainer,
) -> Error {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let facts = inject::refusal_facts(cluster, &pod_name, rbac_error.to_string()).await;
    inject::explain_forbidden(
        &facts,
        options.container.profile,
        &cluster.namespace,
        pod.spec.as_ref().and_then(|s| s.security_context.as_ref()),
        container_for,
        rbac_error,
    )
}
