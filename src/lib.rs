//! `kubectl distroless-debug`: a debug shell next to a distroless container.
//!
//! The flow, one module per step:
//!
//! 1. [`cli`] parses flags (clap only); [`options`] validates them into [`options::Options`].
//! 2. [`client`] builds a `kube::Client` from kubeconfig as kubectl does.
//! 3. [`resolve`] GETs the pod (or a ready pod of a workload); [`target`] decides the target
//!    container and refuses pods and containers that are not running.
//! 4. [`spec`] builds the ephemeral container ([`profile`], `--custom`, non-root UID, the
//!    entry script `entry.sh`); [`inject`] adds it with one strategic-merge PATCH and, on a
//!    403, tells RBAC from Pod Security ([`pss`]).
//! 5. [`wait`] watches the pod until the container runs, failing fast on image errors.
//! 6. [`session`] attaches the terminal and returns the container's exit code.
//!
//! Every decision is a pure function over `&Pod` and options; API calls are thin edges.
//! Errors are typed in [`error`] and printed once by [`output`].

pub mod cli;
pub mod client;
pub mod error;
pub mod inject;
pub mod options;
pub mod output;
pub mod profile;
pub mod pss;
pub mod resolve;
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

/// A debug container that has started (or already ended), ready for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub pod: String,
    pub container: String,
    pub started: Started,
}

/// Runs one debug session; returns the exit code for the process.
pub async fn run(options: Options, printer: &Printer) -> Result<u8, Error> {
    for w in &options.warnings {
        printer.warn(w);
    }
    let custom = load_custom(&options)?;
    let cluster = client::connect(&options.connection).await?;
    let prepared = tokio::select! {
        r = prepare(&cluster, &options, custom.as_ref(), printer) => r?,
        _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted),
    };
    let plan = session::Plan {
        pod: &prepared.pod,
        container: &prepared.container,
        tty: options.session.tty,
        forward_stdin: options.session.stdin,
        stdin_handshake: !options.session.tty,
    };
    match prepared.started {
        Started::Terminated { exit_code } => {
            session::ended_before_attach(&cluster, &plan, exit_code, printer).await
        }
        Started::Running => session::run(&cluster, &plan, printer).await,
    }
}

/// Resolve, inject and wait: everything before the session (GET, PATCH, WATCH for a pod).
pub async fn prepare(
    cluster: &Cluster,
    options: &Options,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<Prepared, Error> {
    let pod = resolve::resolve_pod(cluster, &options.target, printer).await?;
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    target::check_pod_running(&pod)?;
    let target_container = target::choose_container(&pod, options.target_container.as_deref())?;
    target::check_container_running(&pod, &target_container)?;

    let name = spec::container_name(&pod, options.container.name.as_deref(), |n| {
        rand::random_range(0..n)
    })?;
    let audit = Audit {
        by: cluster.user.clone(),
        at: k8s_openapi::jiff::Timestamp::now()
            .round(k8s_openapi::jiff::Unit::Second)
            .unwrap_or_else(|_| k8s_openapi::jiff::Timestamp::now())
            .to_string(),
        reason: None,
        ttl_seconds: None,
    };
    let build = |profile| {
        let mut dc = options.container.clone();
        dc.profile = profile;
        spec::build(&spec::Input {
            pod: &pod,
            target_container: &target_container,
            name: &name,
            container: &dc,
            session: &options.session,
            custom,
            audit: &audit,
        })
    };
    let (container, notes) = build(options.container.profile)?;
    for n in &notes {
        printer.status(n);
    }

    let stored = match inject::add_debug_container(cluster, &pod_name, &container).await {
        Ok(p) => p,
        Err(err @ Error::Forbidden { .. }) => {
            return Err(explain_patch_refusal(cluster, &pod, options, err, &build).await);
        }
        Err(e) => return Err(e),
    };
    printer.status(&format!(
        "Added debug container {name} ({}, profile {}) to pod {pod_name}, targeting container {target_container}",
        options.container.image, options.container.profile
    ));
    let started = wait::until_started(
        cluster,
        &stored,
        &name,
        &options.container.image,
        options.timeout,
        printer,
    )
    .await?;
    Ok(Prepared {
        pod: pod_name,
        container: name,
        started,
    })
}

async fn explain_patch_refusal(
    cluster: &Cluster,
    pod: &Pod,
    options: &Options,
    rbac_error: Error,
    build: &dyn Fn(profile::Profile) -> Result<(EphemeralContainer, Vec<String>), Error>,
) -> Error {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let facts = inject::refusal_facts(cluster, &pod_name, rbac_error.to_string()).await;
    let container_for = |p| build(p).map(|(c, _)| c).unwrap_or_default();
    inject::explain_forbidden(
        &facts,
        options.container.profile,
        &cluster.namespace,
        pod.spec.as_ref().and_then(|s| s.security_context.as_ref()),
        &container_for,
        rbac_error,
    )
}
