//! TARGETs, a selector or a namespace → pods: the one resolver of the single session, of many
//! pods and of `list`.
//!
//! A pod TARGET is the pod itself; a workload TARGET is its running, ready pod (the oldest), or
//! with `--all-pods` (and for `list`) every pod its selector matches; `-l` and `-A` are one
//! LIST, read page by page. A pod is read with the watch that then waits for its debug
//! container, where the server offers it: the single session's TARGET at once, each pod of
//! many at its turn ([`read_pod`]), so a run over many pods holds only their names.

use k8s_openapi::api::core::v1::Pod;

use crate::api::pods::{get_pod, list_pods, workload_selector_string};
use crate::api::watch::PodWatch;
use crate::cli::options::Pods;
use crate::cli::target::{Kind, TargetRef};
use crate::connect::Cluster;
use crate::error::Error;
use crate::output::Printer;
use crate::plan::target::choose_pod;

/// What one TARGET (or the selector, or the namespace) stands for.
pub(crate) struct Found<T> {
    /// The TARGET; `None` for `-l` or every pod.
    pub(crate) target: Option<TargetRef>,
    /// What the caller keeps of its pods, or why there are none. A LIST's pods are as listed,
    /// running or not.
    pub(crate) pods: Result<Vec<T>, Error>,
    /// The pods came from a LIST (a selector, or a workload's every pod), not a choice.
    pub(crate) listed: bool,
}

/// The pod `target` names: the pod (one GET), or the workload's chosen pod (GET the workload,
/// LIST its pods): a running, ready one, or with `copy` the one to copy, whatever its state.
pub(crate) async fn target_pod(
    cluster: &Cluster,
    target: &TargetRef,
    copy: bool,
) -> Result<Pod, Error> {
    if target.kind == Kind::Pod {
        return get_pod(cluster, &target.name).await;
    }
    let selector = workload_selector_string(cluster, target).await?;
    let pods = list_pods(cluster, Some(&selector), false, |p| p).await?;
    let chosen = if copy {
        crate::plan::target::choose_pod_to_copy(&pods, target)?
    } else {
        choose_pod(&pods, target)?
    };
    Ok(chosen.clone())
}

/// What `keep` keeps of the pods of `target`: [`target_pod`], or with `every` all of a
/// workload's pods (LISTed page by page).
async fn target_pods<T>(
    cluster: &Cluster,
    target: &TargetRef,
    every: bool,
    copy: bool,
    keep: impl FnMut(Pod) -> T,
) -> Result<Vec<T>, Error> {
    if every && target.kind != Kind::Pod {
        let selector = workload_selector_string(cluster, target).await?;
        return list_pods(cluster, Some(&selector), false, keep).await;
    }
    let mut keep = keep;
    Ok(vec![keep(target_pod(cluster, target, copy).await?)])
}

/// Every TARGET resolved at once (or the LIST of a selector or namespace), in order; of each
/// pod only what `keep` returns is held, so a run over many pods holds no whole pods. `copy`:
/// a workload's pod is the one to copy ([`target_pod`]).
pub(crate) async fn resolve<T>(
    cluster: &Cluster,
    pods: &Pods,
    copy: bool,
    keep: impl Fn(Pod) -> T + Copy,
) -> Vec<Found<T>> {
    match pods {
        Pods::Targets { targets, all_pods } => {
            futures::future::join_all(targets.iter().map(|t| async move {
                Found {
                    target: Some(t.clone()),
                    pods: target_pods(cluster, t, *all_pods, copy, keep).await,
                    listed: *all_pods && t.kind != Kind::Pod,
                }
            }))
            .await
        }
        Pods::Selector {
            selector,
            all_namespaces,
        } => vec![Found {
            target: None,
            pods: list_pods(cluster, Some(selector), *all_namespaces, keep).await,
            listed: true,
        }],
        Pods::All { all_namespaces } => vec![Found {
            target: None,
            pods: list_pods(cluster, None, *all_namespaces, keep).await,
            listed: true,
        }],
    }
}

/// A pod by name, read with one watch that starts with its state and stays open for the wait,
/// where the server offers it; else with a GET.
pub(crate) async fn read_pod(
    cluster: &Cluster,
    name: &str,
) -> Result<(Pod, Option<PodWatch>), Error> {
    if let Some((pod, watch)) = crate::api::watch::read_and_watch(cluster, name).await? {
        return Ok((pod, Some(watch)));
    }
    Ok((get_pod(cluster, name).await?, None))
}

/// The pod of a single session, and the watch that read it if it stays open for the wait
/// ([`crate::api::watch::read_and_watch`]); a workload's pod is named on stderr.
pub(crate) async fn resolve_one(
    cluster: &Cluster,
    target: &TargetRef,
    copy: bool,
    printer: &Printer,
) -> Result<(Pod, Option<PodWatch>), Error> {
    if target.kind == Kind::Pod {
        return read_pod(cluster, &target.name).await;
    }
    let pod = target_pod(cluster, target, copy).await?;
    printer.status(&format!(
        "Using pod {} of {target}",
        kube::ResourceExt::name_any(&pod)
    ));
    Ok((pod, None))
}
