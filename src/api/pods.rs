//! API edges that find the pod: for a pod one watch that starts with its state (else one
//! GET), or GET workload + LIST its pods.
//! The decisions are the pure functions of `target`.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Api;
use kube::api::ListParams;

use crate::cli::target::Kind;
use crate::cli::target::TargetRef;
use crate::connect::{Cluster, timed};
use crate::error::{ApiCall, Error, classify};
use crate::plan::target::selector_string;

/// GET one pod.
pub(crate) async fn get_pod(cluster: &Cluster, name: &str) -> Result<Pod, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let mut pod = timed(cluster.request_timeout, api.get(name))
        .await?
        .map_err(|e| classify(e, ApiCall::GetPod, name, &cluster.scope()))?;
    crate::plan::slim::slim(&mut pod);
    Ok(pod)
}

/// Creates a pod of ours in the namespace; returns it as stored (its resourceVersion is where
/// the watch starts).
pub(crate) async fn create_pod(cluster: &Cluster, pod: &Pod) -> Result<Pod, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let name = pod.metadata.name.clone().unwrap_or_default();
    timed(
        cluster.request_timeout,
        api.create(&kube::api::PostParams::default(), pod),
    )
    .await?
    .map_err(|e| classify(e, ApiCall::CreatePod, &name, &cluster.scope()))
}

/// Deletes a pod of ours in `namespace` (the cluster's with `None`), without waiting for it to
/// be gone; a pod already gone is no error.
pub(crate) async fn delete_pod(
    cluster: &Cluster,
    namespace: Option<&str>,
    name: &str,
) -> Result<(), Error> {
    let ns = namespace.unwrap_or(&cluster.namespace);
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let mut scope = cluster.scope();
    ns.clone_into(&mut scope.namespace);
    match timed(
        cluster.request_timeout,
        api.delete(name, &kube::api::DeleteParams::default()),
    )
    .await?
    {
        Ok(_) => Ok(()),
        Err(e) => match classify(e, ApiCall::DeletePod, name, &scope) {
            Error::PodNotFound { .. } => Ok(()),
            e => Err(e),
        },
    }
}

/// The label selector of a workload TARGET, as the list API takes it.
pub(crate) async fn workload_selector_string(
    cluster: &Cluster,
    target: &TargetRef,
) -> Result<String, Error> {
    let selector = workload_selector(cluster, target).await?;
    selector_string(&selector).map_err(|e| Error::NoReadyPod {
        workload: target.to_string(),
        summary: e,
    })
}

/// Pods per LIST page: a run over many pods holds one page at a time, whatever their number.
const LIST_PAGE: u32 = 100;

/// LIST pods, page by page: those of the namespace, or of every namespace, that match
/// `selector` (every pod without one). Each pod is slimmed and handed to `keep` as its page
/// arrives, so what stays in memory is what `keep` returns.
pub(crate) async fn list_pods<T>(
    cluster: &Cluster,
    selector: Option<&str>,
    all_namespaces: bool,
    mut keep: impl FnMut(Pod) -> T,
) -> Result<Vec<T>, Error> {
    let api: Api<Pod> = if all_namespaces {
        Api::all(cluster.client.clone())
    } else {
        Api::namespaced(cluster.client.clone(), &cluster.namespace)
    };
    let mut params = ListParams::default().limit(LIST_PAGE);
    if let Some(s) = selector {
        params = params.labels(s);
    }
    let mut out = Vec::new();
    loop {
        let page = timed(cluster.request_timeout, api.list(&params))
            .await?
            .map_err(|e| classify(e, ApiCall::ListPods, "", &cluster.scope()))?;
        let next = page.metadata.continue_.filter(|c| !c.is_empty());
        out.extend(page.items.into_iter().map(|mut p| {
            crate::plan::slim::slim(&mut p);
            keep(p)
        }));
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

/// The label selector of a workload TARGET: one GET of the workload.
async fn workload_selector(cluster: &Cluster, target: &TargetRef) -> Result<LabelSelector, Error> {
    let c = cluster.client.clone();
    let ns = cluster.namespace.as_str();
    let name = target.name.as_str();
    let call = ApiCall::GetWorkload {
        resource: target.kind.resource(),
    };
    let fail = |e| classify(e, call.clone(), "", &cluster.scope());
    let t = cluster.request_timeout;
    let selector = match target.kind {
        Kind::Pod | Kind::Node => None,
        Kind::Deployment => timed(t, Api::<Deployment>::namespaced(c, ns).get(name))
            .await?
            .map_err(fail)?
            .spec
            .map(|s| s.selector),
        Kind::StatefulSet => timed(t, Api::<StatefulSet>::namespaced(c, ns).get(name))
            .await?
            .map_err(fail)?
            .spec
            .map(|s| s.selector),
        Kind::DaemonSet => timed(t, Api::<DaemonSet>::namespaced(c, ns).get(name))
            .await?
            .map_err(fail)?
            .spec
            .map(|s| s.selector),
        Kind::ReplicaSet => timed(t, Api::<ReplicaSet>::namespaced(c, ns).get(name))
            .await?
            .map_err(fail)?
            .spec
            .map(|s| s.selector),
        Kind::Job => timed(t, Api::<Job>::namespaced(c, ns).get(name))
            .await?
            .map_err(fail)?
            .spec
            .and_then(|s| s.selector),
    };
    selector.ok_or_else(|| Error::NoReadyPod {
        workload: target.to_string(),
        summary: "it has no selector".to_owned(),
    })
}
