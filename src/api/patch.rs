//! The one write: a strategic-merge PATCH on `pods/NAME/ephemeralcontainers` that appends the
//! debug container (strategic merge appends by name; a JSON merge patch would replace the
//! list), or a server-side dry run of it.

use k8s_openapi::api::core::v1::{EphemeralContainer, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::connect::{Cluster, timed};
use crate::error::{ApiCall, Error, classify};

/// The strategic-merge patch body that appends `container`.
pub(crate) fn patch_body(container: &EphemeralContainer) -> serde_json::Value {
    serde_json::json!({ "spec": { "ephemeralContainers": [container] } })
}

/// Whether a write is made or only tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    Persist,
    /// A server-side dry run: admission (Pod Security, policies, webhooks) and validation run,
    /// nothing is stored.
    DryRun,
}

/// Adds the container (or tries to, with [`Write::DryRun`]); returns the pod as the server
/// stored it (its resourceVersion is where the watch starts).
pub(crate) async fn add_debug_container(
    cluster: &Cluster,
    pod: &str,
    container: &EphemeralContainer,
    write: Write,
) -> Result<Pod, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let body = patch_body(container);
    let params = PatchParams {
        dry_run: write == Write::DryRun,
        ..PatchParams::default()
    };
    let result = timed(
        cluster.request_timeout,
        api.patch_ephemeral_containers(pod, &params, &Patch::Strategic(&body)),
    )
    .await?;
    result.map_err(|e| classify(e, ApiCall::PatchEphemeralContainers, pod, &cluster.scope()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_appends_through_the_ephemeral_list() {
        let container = EphemeralContainer {
            name: "d".into(),
            ..EphemeralContainer::default()
        };
        let body = patch_body(&container);
        assert_eq!(
            body,
            serde_json::json!({"spec": {"ephemeralContainers": [{"name": "d"}]}})
        );
    }
}
