//! Names for completion: metadata-only LISTs and one GET, each a single request. Failures are
//! `None`: completion shows nothing rather than an error.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Api;
use kube::api::ListParams;

use crate::cli::target::Kind;
use crate::connect::Cluster;

/// Names of the objects of the cluster's namespace that are not being deleted (metadata only).
async fn list_names<K>(cluster: &Cluster, params: &ListParams) -> Option<Vec<String>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
    K::DynamicType: Default,
{
    let list = Api::<K>::namespaced(cluster.client.clone(), &cluster.namespace)
        .list_metadata(params)
        .await
        .ok()?;
    Some(
        list.items
            .into_iter()
            .filter(|m| m.metadata.deletion_timestamp.is_none())
            .filter_map(|m| m.metadata.name)
            .collect(),
    )
}

/// The names of a kind in the namespace; for pods only the running ones (only they can be
/// debugged).
pub(crate) async fn names(cluster: &Cluster, kind: Kind) -> Option<Vec<String>> {
    let all = ListParams::default();
    match kind {
        Kind::Pod => {
            let running = ListParams::default().fields("status.phase=Running");
            list_names::<Pod>(cluster, &running).await
        }
        Kind::Deployment => list_names::<Deployment>(cluster, &all).await,
        Kind::StatefulSet => list_names::<StatefulSet>(cluster, &all).await,
        Kind::DaemonSet => list_names::<DaemonSet>(cluster, &all).await,
        Kind::ReplicaSet => list_names::<ReplicaSet>(cluster, &all).await,
        Kind::Job => list_names::<Job>(cluster, &all).await,
        Kind::Node => nodes(cluster).await,
    }
}

/// Every node's name (metadata only).
async fn nodes(cluster: &Cluster) -> Option<Vec<String>> {
    let list = Api::<Node>::all(cluster.client.clone())
        .list_metadata(&ListParams::default())
        .await
        .ok()?;
    Some(
        list.items
            .into_iter()
            .filter_map(|m| m.metadata.name)
            .collect(),
    )
}

/// Every namespace's name (metadata only).
pub(crate) async fn namespaces(cluster: &Cluster) -> Option<Vec<String>> {
    let list = Api::<Namespace>::all(cluster.client.clone())
        .list_metadata(&ListParams::default())
        .await
        .ok()?;
    Some(
        list.items
            .into_iter()
            .filter_map(|m| m.metadata.name)
            .collect(),
    )
}

/// The container names of a pod of the namespace.
pub(crate) async fn containers(cluster: &Cluster, pod: &str) -> Option<Vec<String>> {
    let p = Api::<Pod>::namespaced(cluster.client.clone(), &cluster.namespace)
        .get(pod)
        .await
        .ok()?;
    Some(
        p.spec
            .map(|s| s.containers.into_iter().map(|c| c.name).collect())
            .unwrap_or_default(),
    )
}
