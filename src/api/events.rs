//! The kubelet's events for one ephemeral container, watched: it started, its pull or start
//! failed, and the pull's progress.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::{WatchEvent, WatchParams};

use crate::connect::{Cluster, timed};
use crate::plan::progress::{ContainerEvent, EventsSeen, container_events_selector};

/// Where the kubelet's events for a container can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventsFrom {
    /// The container was added by the PATCH that returned the pod the wait starts from: its
    /// events can only come after that resourceVersion.
    Patch,
    /// The container was added earlier (a kept one still starting): the events that exist
    /// count too.
    Existing,
}

/// Resolves when the kubelet's events say ephemeral container `name` started or failed,
/// passing the pull's progress to `progress` on the way (the event's text, and whether a pull
/// is under way after it). One watch on events, narrowed by a field selector to that
/// container: from the PATCH's resourceVersion ([`EventsFrom::Patch`]), else with the events
/// that exist first. Never resolves when events cannot be watched (any error, e.g. no `watch
/// events` permission) or say nothing decisive: the pod status then decides. Nothing here fails
/// the session by itself.
pub(crate) async fn container_events(
    cluster: &Cluster,
    pod: &Pod,
    name: &str,
    from: EventsFrom,
    progress: &dyn Fn(&str, bool),
) -> ContainerEvent {
    let (Some(uid), Some(rv)) = (
        pod.metadata.uid.as_deref(),
        pod.metadata.resource_version.as_deref(),
    ) else {
        return std::future::pending().await;
    };
    let rv = match from {
        EventsFrom::Patch => rv,
        EventsFrom::Existing => "",
    };
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = WatchParams::default()
        .fields(&container_events_selector(uid, name))
        .timeout(290);
    let mut seen = EventsSeen::default();
    match timed(cluster.request_timeout, api.watch(&params, rv)).await {
        Ok(Ok(stream)) => {
            let mut stream = stream.boxed();
            loop {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Added(e) | WatchEvent::Modified(e))) => {
                        let (settled, text) = seen.fold(&e, uid, name);
                        if let Some(text) = text {
                            progress(&text, seen.pulling());
                        }
                        if let Some(settled) = settled {
                            return settled;
                        }
                    }
                    Ok(Some(WatchEvent::Error(e))) => {
                        tracing::debug!(code = e.code, reason = %e.reason, "event watch ended; waiting for the pod status");
                        break;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "event watch failed; waiting for the pod status");
                        break;
                    }
                }
            }
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "cannot watch events; waiting for the pod status");
        }
        Err(e) => tracing::debug!(error = %e, "cannot watch events; waiting for the pod status"),
    }
    std::future::pending().await
}
