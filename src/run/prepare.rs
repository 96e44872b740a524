//! Everything before a session in one pod: read the pod, choose the target, reuse a kept
//! container or check the exec permission, probe the target's user if needed, PATCH and wait.

use k8s_openapi::api::core::v1::{EphemeralContainer, Pod};
use kube::ResourceExt;

use crate::api::events::EventsFrom;
use crate::api::watch::PodWatch;
use crate::cli::options::Options;
use crate::cli::target::TargetRef;
use crate::connect::Cluster;
use crate::error::Error;
use crate::output::Printer;
use crate::plan::audit::Audit;
use crate::plan::custom::Custom;
use crate::plan::progress::{Progress, Started};
use crate::plan::user::Probed;

/// A debug container ready for the session: fresh and started, or reused.
#[derive(Debug)]
pub struct Prepared {
    pub pod: String,
    pub container: String,
    /// The target container.
    pub target: String,
    /// See [`crate::plan::user::target_runtime_id`].
    pub target_runtime_id: Option<String>,
    /// An existing container was chosen instead of adding one.
    pub reused: bool,
    /// The container was added for this session and ends with it ([`crate::plan::container::Mode::Session`]).
    pub ends_with_session: bool,
}

/// Whether a new container is kept for reuse: always for a COMMAND and for `cp`, for a shell
/// only with `--keep` (a shell's container otherwise ends with it). Pure.
pub(crate) fn mode_for(options: &Options) -> crate::plan::container::Mode {
    let cp = matches!(options.run, crate::cli::options::Run::Cp(_));
    if options.session.is_shell() && !options.keep && !cp {
        crate::plan::container::Mode::Session
    } else {
        crate::plan::container::Mode::KeepAlive
    }
}

/// The target pod as read, and the watch that read it if it is still open.
pub(crate) struct PodRead<'a> {
    pub(crate) pod: &'a Pod,
    pub(crate) watch: Option<crate::api::watch::PodWatch>,
}

/// Resolve, then reuse or inject and wait: everything before the session. For a pod: one watch
/// that starts with the pod's state (else a GET), with, at the same time, a SelfSubjectReview
/// for the audit record when the credentials do not name the user and the check that this user
/// may exec into the pod; then either nothing more (reuse) or PATCH and the waits, on that same
/// watch.
pub async fn prepare(
    cluster: &Cluster,
    options: &Options,
    target: &TargetRef,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<Prepared, Error> {
    // A pod named up front can be checked while it is read; a workload's pod only after.
    let early_check = async {
        if target.kind == crate::cli::target::Kind::Pod {
            Some(crate::api::reviews::check_exec(cluster, &target.name).await)
        } else {
            None
        }
    };
    let (read, reviewed, checked) = tokio::join!(
        crate::run::resolve::resolve_one(cluster, target, false, printer),
        crate::api::reviews::who_am_i(cluster),
        early_check
    );
    let (pod, watch) = read?;
    let audit = crate::plan::audit::record(
        reviewed,
        cluster.user.as_deref(),
        options.reason.as_deref(),
        options.ttl,
        k8s_openapi::jiff::Timestamp::now(),
    );
    Box::pin(prepare_in(
        cluster,
        PodRead { pod: &pod, watch },
        options.container_for(target).as_deref(),
        options,
        custom,
        &audit,
        checked,
        printer,
    ))
    .await
}

/// [`prepare`] for a pod already read. `exec_checked`: the outcome of [`crate::api::reviews::check_exec`] if
/// it was made already; otherwise it is made before any PATCH.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn prepare_in(
    cluster: &Cluster,
    read: PodRead<'_>,
    requested_target: Option<&str>,
    options: &Options,
    custom: Option<&Custom>,
    audit: &Audit,
    exec_checked: Option<Result<(), Error>>,
    printer: &Printer,
) -> Result<Prepared, Error> {
    let PodRead { pod, watch: opened } = read;
    let pod_name = pod.name_any();
    crate::plan::target::check_pod_running(pod)?;
    let target_container = crate::plan::target::choose_container(pod, requested_target)?;
    crate::plan::target::check_container_running(
        pod,
        &target_container,
        k8s_openapi::jiff::Timestamp::now(),
    )?;
    let runtime_id = crate::plan::user::target_runtime_id(pod, &target_container);
    let prepared = |container: String, reused, ends_with_session| Prepared {
        pod: pod_name.clone(),
        container,
        target: target_container.clone(),
        target_runtime_id: runtime_id.clone(),
        reused,
        ends_with_session,
    };

    let input = |name, mode, probed| crate::plan::container::Input {
        pod,
        target_container: &target_container,
        name,
        container: &options.container,
        custom,
        audit,
        mode,
        probed,
    };
    let mut probed = crate::plan::user::probe_outcome(pod, &target_container);

    let image = &options.container.image;
    if !options.new {
        let wanted = crate::plan::container::build(&input(
            "-",
            crate::plan::container::Mode::KeepAlive,
            probed.clone(),
        ))?;
        let request = crate::plan::records::Request {
            spec: &wanted.spec,
            by: audit.by.as_deref(),
            reason: audit.reason.as_deref(),
            ttl: options.ttl,
            name: options.container.name.as_deref(),
        };
        match crate::plan::records::find(pod, &request, k8s_openapi::jiff::Timestamp::now()) {
            crate::plan::records::Reuse::Running(name) => {
                printer.status(&format!(
                    "Reusing debug container {name} in pod {pod_name} (--new for a fresh one)"
                ));
                return Ok(prepared(name, true, false));
            }
            crate::plan::records::Reuse::Starting(name) => {
                printer.status(&format!(
                    "Reusing debug container {name} in pod {pod_name}, which is starting (--new for a fresh one)"
                ));
                let watch = opened.unwrap_or_else(|| PodWatch::new(cluster, pod));
                let (started, _) = crate::run::wait::until_started(
                    cluster,
                    watch,
                    &name,
                    image,
                    options.timeout,
                    EventsFrom::Existing,
                    printer,
                )
                .await?;
                if let Started::Terminated { exit_code } = started {
                    return Err(keep_alive_ended(name, exit_code, image));
                }
                return Ok(prepared(name, true, false));
            }
            crate::plan::records::Reuse::None { skipped } => {
                for note in skipped {
                    printer.status(&note);
                }
            }
        }
    }

    // Nothing may be added for a session that could not run.
    match exec_checked {
        Some(checked) => checked?,
        None => crate::api::reviews::check_exec(cluster, &pod_name).await?,
    }

    let mode = mode_for(options);
    let mut watch = opened.unwrap_or_else(|| PodWatch::new(cluster, pod));
    let mut random = |n| rand::random_range(0..n);
    // A PATCH, its refusal explained from structured data (RBAC, Pod Security, admission),
    // and what was stored compared with what was asked (mutating admission), before any wait.
    let add = async |container: &EphemeralContainer, write, probed: &Probed| {
        let stored = match crate::api::patch::add_debug_container(
            cluster, &pod_name, container, write,
        )
        .await
        {
            Err(err @ Error::Forbidden { .. }) => {
                let container_for = |profile| {
                    let mut dc = options.container.clone();
                    dc.profile = profile;
                    // The name does not matter to Pod Security.
                    let mut i = input("-", mode, probed.clone());
                    i.container = &dc;
                    crate::plan::container::build(&i).map(|b| b.container)
                };
                Err(explain_patch_refusal(cluster, pod, options, err, &container_for).await)
            }
            other => other,
        }?;
        let checked = crate::plan::stored::check(container, &stored)?;
        if write == crate::api::patch::Write::Persist {
            // Warnings, not status lines: what runs is not what was asked, -q or not.
            for n in &checked.notices {
                printer.warn(n);
            }
        }
        Ok::<_, Error>((stored, checked.container))
    };
    let probe_name;
    if crate::plan::container::build(&input("-", mode, probed.clone()))?.needs_probe {
        // The probe stays in the pod for good: first make sure the debug container itself
        // would be admitted, with a dry run and a provisional user.
        let provisional = Probed::Found(crate::plan::user::provisional_ids(pod));
        let trial = crate::plan::container::build(&input(
            options
                .container
                .name
                .as_deref()
                .unwrap_or("debugger-trial"),
            mode,
            provisional.clone(),
        ))?;
        add(
            &trial.container,
            crate::api::patch::Write::DryRun,
            &provisional,
        )
        .await?;
        probe_name = crate::plan::names::container_name(watch.latest(), None, &mut random)?;
        let probe_input = input(&probe_name, mode, Probed::NotYet);
        printer.status(&format!(
            "The target's user is neither in the pod spec nor reported by the runtime: reading it with a short-lived container {probe_name} (once per pod)"
        ));
        let probe = crate::plan::container::probe_container(&probe_input);
        let (stored, _) = add(&probe, crate::api::patch::Write::Persist, &Probed::NotYet).await?;
        watch.observe(&stored);
        probed = Box::pin(probe_target_user(
            &mut watch,
            &probe_name,
            &target_container,
            options,
        ))
        .await?;
    }

    let name = crate::plan::names::container_name(
        watch.latest(),
        options.container.name.as_deref(),
        &mut random,
    )?;
    let built = crate::plan::container::build(&input(&name, mode, probed.clone()))?;
    for n in &built.notes {
        printer.status(n);
    }
    let (stored, ours) = add(&built.container, crate::api::patch::Write::Persist, &probed).await?;
    // The image that runs: admission may have rewritten it (a registry mirror), said above.
    let image = ours.image.as_deref().unwrap_or(image.as_str());
    let kept = match mode {
        crate::plan::container::Mode::KeepAlive => {
            format!(
                ", kept for reuse for {}",
                crate::error::fmt_duration(options.ttl)
            )
        }
        crate::plan::container::Mode::Session => String::new(),
    };
    printer.status(&format!(
        "Added debug container {name} ({image}, profile {}) to pod {pod_name}, targeting container {target_container}{kept}",
        options.container.profile
    ));
    watch.observe(&stored);
    let (started, _) = crate::run::wait::until_started(
        cluster,
        watch,
        &name,
        image,
        options.timeout,
        EventsFrom::Patch,
        printer,
    )
    .await?;
    if let Started::Terminated { exit_code } = started {
        return Err(keep_alive_ended(name, exit_code, image));
    }
    Ok(prepared(
        name,
        false,
        mode == crate::plan::container::Mode::Session,
    ))
}

/// Waits for the probe container `name` (added) to end: the target's UID and GID from its
/// termination message. A probe that cannot tell is [`Probed::Failed`] with its reason, and
/// the debug container falls back to a fixed non-root user, saying so.
async fn probe_target_user(
    watch: &mut crate::api::watch::PodWatch,
    name: &str,
    target: &str,
    options: &Options,
) -> Result<Probed, Error> {
    let pod_name = watch.latest().metadata.name.clone().unwrap_or_default();
    let image = &options.container.image;
    let ended = watch.until(|p| match crate::plan::progress::progress(p, name) {
        Progress::Terminated { .. } => Some(Ok(())),
        Progress::Failed { reason, message } => Some(Err(Error::ContainerStart {
            container: name.to_owned(),
            reason,
            message,
            image: image.clone(),
            pull: Box::new(crate::plan::progress::pod_pull(p)),
        })),
        Progress::PodEnded { phase } => Some(Err(Error::PodNotRunning {
            pod: pod_name.clone(),
            state: phase,
        })),
        _ => None,
    });
    match tokio::time::timeout(options.timeout, ended).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(Error::Timeout {
                what: format!("probe container {name:?} to end"),
                after: options.timeout,
                last: None,
            });
        }
    }
    Ok(
        match crate::plan::user::probe_outcome(watch.latest(), target) {
            Probed::NotYet => Probed::Failed(format!("the probe container {name} said nothing")),
            outcome => outcome,
        },
    )
}

/// The keep-alive process only sleeps: ending at once means the toolbox cannot run it.
fn keep_alive_ended(container: String, exit_code: i32, image: &str) -> Error {
    Error::ContainerStart {
        container,
        reason: "Exited".to_owned(),
        message: format!("the keep-alive process ended at once with exit code {exit_code}"),
        image: image.to_owned(),
        pull: Box::default(),
    }
}

async fn explain_patch_refusal(
    cluster: &Cluster,
    pod: &Pod,
    options: &Options,
    rbac_error: Error,
    container_for: &dyn Fn(crate::model::Profile) -> Result<EphemeralContainer, Error>,
) -> Error {
    let pod_name = pod.name_any();
    let facts = crate::api::reviews::refusal_facts(
        cluster,
        &pod_name,
        crate::plan::refusal::server_message(&rbac_error),
    )
    .await;
    crate::plan::refusal::explain_forbidden(
        &facts,
        options.container.profile,
        &cluster.namespace,
        pod.spec.as_ref().and_then(|s| s.security_context.as_ref()),
        container_for,
        rbac_error,
    )
}
