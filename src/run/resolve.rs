//! TARGET → pod: the pod itself, read with the watch that then waits where the server offers
//! it, or a running, ready pod of a workload.

use k8s_openapi::api::core::v1::Pod;

use crate::api::pods::{get_pod, list_pods, workload_selector};
use crate::api::watch::PodWatch;
use crate::cli::target::{Kind, TargetRef};
use crate::connect::Cluster;
use crate::error::Error;
use crate::output::Printer;
use crate::plan::target::{choose_pod, selector_string};

/// [`resolve_pod`], but a pod target is read with one watch that starts with the pod's state
/// and stays open for the wait ([`crate::run::wait::read_and_watch`]), where the server offers it;
/// else with a GET.
pub async fn resolve_pod_watched(
    cluster: &Cluster,
    target: &TargetRef,
    printer: &Printer,
) -> Result<(Pod, Option<PodWatch>), Error> {
    if target.kind == Kind::Pod
        && let Some((pod, watch)) = crate::api::watch::read_and_watch(cluster, &target.name).await?
    {
        return Ok((pod, Some(watch)));
    }
    Ok((resolve_pod(cluster, target, printer).await?, None))
}

/// The pod a target names: the pod itself, or a running, ready pod of the workload (said on
/// stderr).
pub async fn resolve_pod(
    cluster: &Cluster,
    target: &TargetRef,
    printer: &Printer,
) -> Result<Pod, Error> {
    if target.kind == Kind::Pod {
        return get_pod(cluster, &target.name).await;
    }
    let selector = workload_selector(cluster, target).await?;
    let selector = selector_string(&selector).map_err(|e| Error::NoReadyPod {
        workload: target.to_string(),
        summary: e,
    })?;
    let pods = list_pods(cluster, &selector).await?;
    let pod = choose_pod(&pods, target)?.clone();
    printer.status(&format!(
        "Using pod {} of {target}",
        pod.metadata.name.as_deref().unwrap_or_default()
    ));
    Ok(pod)
}
