//! Node debugging (`node/NAME`, `--nodes -l`): a pod of ours on the node with the host's
//! namespaces and root ([`crate::plan::node`]), a session in it, the pod deleted when the
//! session ends. Many nodes run a COMMAND on each through [`crate::run::fanout`].
//!
//! Requests for a shell: GET the node (metadata; with, at the same time, the exec permission
//! check, a SelfSubjectAccessReview for `delete pods`, and the SelfSubjectReview when the
//! credentials do not name the user), POST the pod, WATCH it, exec the session and its lease,
//! DELETE the pod.

use k8s_openapi::api::core::v1::Pod;

use crate::cli::options::Options;
use crate::connect::Cluster;
use crate::error::Error;
use crate::model::Profile;
use crate::output::Printer;
use crate::plan::audit::Audit;
use crate::plan::custom::Custom;
use crate::run::ours::Leftovers;
use crate::run::prepare::Prepared;

/// `options` as a node session runs them: with `--chroot`, the command (or shell) in the host's
/// root.
pub(crate) fn session_options(options: &Options) -> Options {
    let mut o = options.clone();
    if options.chroot {
        o.session.command = crate::plan::node::chrooted(&options.session.command);
    }
    o
}

/// A session on one node (many nodes: a COMMAND on each, by [`crate::run::fanout`]), with
/// `options` as [`session_options`] made them.
pub(crate) async fn run(
    cluster: &Cluster,
    options: &Options,
    node: &str,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<u8, Error> {
    let leftovers = Leftovers::default();
    let prepare = async {
        let (reviewed, checked) = tokio::join!(
            crate::api::reviews::who_am_i(cluster),
            crate::api::nodes::check_node(cluster, node)
        );
        checked?;
        let audit = crate::plan::audit::record(
            reviewed,
            cluster.user.as_deref(),
            options.reason.as_deref(),
            options.ttl,
            k8s_openapi::jiff::Timestamp::now(),
        );
        prepare_on(cluster, node, options, custom, &audit, &leftovers, printer).await
    };
    let prepared = tokio::select! {
        r = prepare => r,
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

/// Everything before the session on `node`: check that this user may exec and delete pods,
/// build and create the node pod, wait until its toolbox runs. The pod is among `leftovers`
/// from its creation on.
pub(crate) async fn prepare_on(
    cluster: &Cluster,
    node: &str,
    options: &Options,
    custom: Option<&Custom>,
    audit: &Audit,
    leftovers: &Leftovers,
    printer: &Printer,
) -> Result<Prepared, Error> {
    let mut random = |n| rand::random_range(0..n);
    let pod_name = crate::plan::names::pod_name(node, "debug", &mut random);
    let container = crate::plan::names::container_name(
        &Pod::default(),
        options.container.name.as_deref(),
        &mut random,
    )?;
    // The exec permission, asked of the pod about to be created: allowed is a 404 (no such
    // pod yet), as the API server authorizes before it looks.
    let exec_check = async {
        match crate::api::reviews::check_exec(cluster, &pod_name).await {
            Err(Error::PodNotFound { .. }) => Ok(()),
            other => other,
        }
    };
    let (exec, delete) = tokio::join!(exec_check, crate::run::ours::check_delete(cluster));
    exec?;
    delete?;
    let pod_for = |profile: Profile| {
        let mut dc = options.container.clone();
        dc.profile = profile;
        let mut pod = crate::plan::node::build(&crate::plan::node::Input {
            node,
            name: &pod_name,
            container_name: &container,
            container: &dc,
            custom,
            audit,
            keep: options.keep,
        })?;
        pod.metadata.namespace = Some(cluster.namespace.clone());
        Ok(pod)
    };
    let profile = options.container.profile;
    let pod = pod_for(profile)?;
    let stored = crate::run::ours::create(
        cluster,
        &pod,
        crate::plan::refusal::Created::Node { privileged: &[] },
        profile,
        &pod_for,
        leftovers,
    )
    .await?;
    let after = if options.keep {
        "left after the session (--keep)"
    } else {
        "deleted when the session ends"
    };
    printer.status(&format!(
        "Created pod {pod_name} on node {node} ({}, profile {profile}; the host's processes, network and IPC, its root at {}); {after}, and ended by Kubernetes after {} at the latest",
        options.container.image,
        crate::plan::node::HOST_ROOT,
        crate::error::fmt_duration(options.ttl)
    ));
    crate::run::ours::until_running(cluster, &stored, &container, None, options.timeout, printer)
        .await?;
    Ok(Prepared {
        pod: pod_name,
        container,
        target: format!("node/{node}"),
        target_runtime_id: None,
        reused: false,
        ends_with_session: !options.keep,
    })
}
