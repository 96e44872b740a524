//! Exec into a container: the websocket upgrade (`v5.channel.k8s.io`), its refusal classified and
//! the denied verb named.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{AttachParams, AttachedProcess};

use crate::api::reviews::name_denied_verb;
use crate::connect::{Cluster, timed};
use crate::error::{ApiCall, Error, classify};

/// Runs `argv` in the container `params` names, in `pod`; the process's streams as `params`
/// asks for them.
pub(crate) async fn exec(
    cluster: &Cluster,
    pod: &str,
    argv: Vec<String>,
    params: &AttachParams,
) -> Result<AttachedProcess, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    match timed(cluster.request_timeout, api.exec(pod, argv, params)).await? {
        Ok(process) => Ok(process),
        Err(e) => {
            let err = classify(e, ApiCall::Exec, pod, &cluster.scope());
            Err(name_denied_verb(cluster, err, pod).await)
        }
    }
}
