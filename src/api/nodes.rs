//! The nodes of node debugging: one GET to check a named node, or one LIST of a selector's.

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;

use crate::connect::{Cluster, timed};
use crate::error::{ApiCall, Error, classify};

/// Checks that node `name` exists (one GET). A user who may not read nodes (a cluster-wide
/// permission) is not stopped: the node pod's wait then tells.
pub(crate) async fn check_node(cluster: &Cluster, name: &str) -> Result<(), Error> {
    let api: Api<Node> = Api::all(cluster.client.clone());
    match timed(cluster.request_timeout, api.get_metadata(name)).await? {
        Ok(_) => Ok(()),
        Err(e) => match classify(e, ApiCall::GetNode, name, &cluster.scope()) {
            Error::Forbidden { .. } => {
                tracing::debug!(node = name, "may not get nodes; going on");
                Ok(())
            }
            e => Err(e),
        },
    }
}

/// The names of the nodes that match `selector` (one LIST, metadata only), sorted.
pub(crate) async fn node_names(cluster: &Cluster, selector: &str) -> Result<Vec<String>, Error> {
    let api: Api<Node> = Api::all(cluster.client.clone());
    let list = timed(
        cluster.request_timeout,
        api.list_metadata(&ListParams::default().labels(selector)),
    )
    .await?
    .map_err(|e| classify(e, ApiCall::ListNodes, "", &cluster.scope()))?;
    let mut names: Vec<String> = list
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    Ok(names)
}
