//! `--copy`: debug a copy of a pod that does not run. Read the pod (any state), check that the
//! user may exec and delete, build the copy ([`crate::plan::copy`]), create it, wait until its
//! toolbox and held container run, open the session in the toolbox (the target's files through
//! `/proc/PID/root` as in any session), delete the copy when the session ends.
//!
//! Requests for a shell: GET the pod (with, at the same time, the exec permission check on it,
//! a SelfSubjectAccessReview for `delete pods`, and the SelfSubjectReview when the credentials
//! do not name the user), POST the copy, WATCH it from the resourceVersion the POST returned,
//! exec the session and its lease, DELETE the copy.

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::cli::options::Options;
use crate::cli::target::TargetRef;
use crate::connect::Cluster;
use crate::error::Error;
use crate::output::Printer;
use crate::plan::audit::Audit;
use crate::plan::custom::Custom;
use crate::run::ours::Leftovers;
use crate::run::prepare::Prepared;

/// A copy of one pod and a session in it (many pods: a COMMAND in a copy of each, by
/// [`crate::run::fanout`]).
pub(crate) async fn run(
    cluster: &Cluster,
    options: &Options,
    target: &TargetRef,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<u8, Error> {
    let leftovers = Leftovers::default();
    let prepared = tokio::select! {
        r = prepare(cluster, options, target, custom, &leftovers, printer) => r,
        e = crate::session::signals::termination() => Err(crate::run::before_session(e)),
    };
    let result = match prepared {
        Ok(prepared) => tokio::select! {
            r = crate::run::one::session_for(cluster, options, &prepared, printer) => r,
            e = crate::session::signals::termination() => Err(e),
        },
        Err(e) => Err(e),
    };
    if options.keep {
        leftovers.keep(printer, options.ttl);
    } else {
        leftovers.delete_all(cluster, printer).await;
    }
    result
}

/// Reads the pod TARGET names (any state), then [`prepare_in`].
async fn prepare(
    cluster: &Cluster,
    options: &Options,
    target: &TargetRef,
    custom: Option<&Custom>,
    leftovers: &Leftovers,
    printer: &Printer,
) -> Result<Prepared, Error> {
    let pod_checks = async {
        if target.kind == crate::cli::target::Kind::Pod {
            Some(crate::api::reviews::check_exec(cluster, &target.name).await)
        } else {
            None
        }
    };
    let (read, reviewed, checked) = tokio::join!(
        crate::run::resolve::resolve_one(cluster, target, true, printer),
        crate::api::reviews::who_am_i(cluster),
        pod_checks,
    );
    let (pod, _) = read?;
    let audit = crate::plan::audit::record(
        reviewed,
        cluster.user.as_deref(),
        options.reason.as_deref(),
        options.ttl,
        k8s_openapi::jiff::Timestamp::now(),
    );
    Box::pin(prepare_in(
        cluster,
        &pod,
        options.container_for(target).as_deref(),
        options,
        custom,
        &audit,
        checked,
        leftovers,
        printer,
    ))
    .await
}

/// Everything before the session in a copy of `pod`: choose the target, check that this user
/// may exec (`exec_checked`, if made already) and delete pods, build and create the copy, wait
/// until it runs. The copy is among `leftovers` from its creation on.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn prepare_in(
    cluster: &Cluster,
    pod: &Pod,
    requested_target: Option<&str>,
    options: &Options,
    custom: Option<&Custom>,
    audit: &Audit,
    exec_checked: Option<Result<(), Error>>,
    leftovers: &Leftovers,
    printer: &Printer,
) -> Result<Prepared, Error> {
    let pod_name = pod.name_any();
    let target = crate::plan::target::choose_container(pod, requested_target)?;
    let exec_check = async {
        match exec_checked {
            Some(checked) => checked,
            None => crate::api::reviews::check_exec(cluster, &pod_name).await,
        }
    };
    let (exec, delete) = tokio::join!(exec_check, crate::run::ours::check_delete(cluster));
    exec?;
    delete?;

    let mut random = |n| rand::random_range(0..n);
    let copy_name = crate::plan::names::pod_name(&pod_name, "copy", &mut random);
    let toolbox_name =
        crate::plan::names::container_name(pod, options.container.name.as_deref(), &mut random)?;
    let profile = options.container.profile;
    let copy_for = |profile| -> Result<Pod, Error> {
        let (toolbox, _) = crate::plan::copy::toolbox(
            pod,
            &target,
            &toolbox_name,
            options,
            profile,
            custom,
            audit,
        )?;
        crate::plan::copy::build(&crate::plan::copy::Input {
            pod,
            target: &target,
            name: &copy_name,
            toolbox,
            options: &options.copy,
            image: &options.container.image,
            pull_policy: options
                .container
                .pull_policy
                .map(crate::model::PullPolicy::name),
            profile: profile.name(),
            audit,
            keep: options.keep,
        })
    };
    let (_, notes) =
        crate::plan::copy::toolbox(pod, &target, &toolbox_name, options, profile, custom, audit)?;
    for n in &notes {
        printer.status(n);
    }
    let copy = copy_for(profile)?;
    let ours = [toolbox_name.as_str(), crate::plan::copy::HOLDER_INIT];
    let stored = crate::run::ours::create(
        cluster,
        &copy,
        crate::plan::refusal::Created::Copy {
            of: &pod_name,
            ours: &ours,
        },
        profile,
        &copy_for,
        leftovers,
    )
    .await?;
    let after = if options.keep {
        "left after the session (--keep)"
    } else {
        "deleted when the session ends"
    };
    printer.status(&format!(
        "Created pod {copy_name}, a copy of pod {pod_name} with container {target} held (its command replaced, nothing of it runs) and debug container {toolbox_name} ({}, profile {profile}); {after}, and ended by Kubernetes after {} at the latest",
        options.container.image,
        crate::error::fmt_duration(options.ttl)
    ));
    let running = crate::run::ours::until_running(
        cluster,
        &stored,
        &toolbox_name,
        Some(&target),
        options.timeout,
        printer,
    )
    .await?;
    Ok(Prepared {
        pod: copy_name,
        container: toolbox_name,
        target_runtime_id: crate::plan::user::target_runtime_id(&running, &target),
        target,
        reused: false,
        ends_with_session: !options.keep,
    })
}
