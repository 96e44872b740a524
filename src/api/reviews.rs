//! What the API server says about the user: who they are (a SelfSubjectReview), whether RBAC
//! allows a verb (SelfSubjectAccessReview), which pods a Role names (SelfSubjectRulesReview),
//! whether they may exec into a pod (an exec into no container), and the facts behind a refused
//! PATCH (`plan::refusal` explains them). Every review but the first two happens only after a
//! refusal.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::PostParams;

use crate::connect::{Cluster, timed};
use crate::error::{ApiCall, Error, NamedOnly, api_status, classify};
use crate::plan::pss::ENFORCE_LABEL;
use crate::plan::refusal::{RefusalFacts, names_granted};

/// Whether RBAC lets us `verb` the `subresource` of pod `pod` (of any pod with `None`): a
/// SelfSubjectAccessReview, allowed to every authenticated user by default. `None`: the server
/// could not be asked.
pub(crate) async fn access_allowed(
    cluster: &Cluster,
    verb: &str,
    subresource: Option<&str>,
    pod: Option<&str>,
) -> Option<bool> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(cluster.namespace.clone()),
                verb: Some(verb.to_owned()),
                resource: Some("pods".to_owned()),
                subresource: subresource.map(str::to_owned),
                name: pod.map(str::to_owned),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let ssar: Api<SelfSubjectAccessReview> = Api::all(cluster.client.clone());
    match timed(
        cluster.request_timeout,
        ssar.create(&PostParams::default(), &review),
    )
    .await
    {
        Ok(Ok(r)) => r.status.map(|s| s.allowed),
        _ => None,
    }
}

/// A container name no pod can have (names are DNS labels): an exec into it is refused before
/// anything runs.
const NO_CONTAINER: &str = "distroless-debug.permission-check";

/// Whether this user may exec into `pod`, asked the way the session will ask, before anything
/// is added to the pod: an exec into a container the pod cannot have. The API server authorizes
/// the request (RBAC, `get` and, from 1.35, `create` on `pods/exec`, and admission of the
/// CONNECT) before it looks for the container, so a 400 (no such container) means the session
/// may run, and a 403 that it may not: then the denied verb is named ([`name_denied_verb`]).
/// Nothing runs in the pod either way. Any other answer is left to the session to meet.
pub(crate) async fn check_exec(cluster: &Cluster, pod: &str) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = kube::api::AttachParams {
        container: Some(NO_CONTAINER.to_owned()),
        stdin: false,
        stdout: true,
        stderr: false,
        tty: false,
        ..kube::api::AttachParams::default()
    };
    let answer = timed(cluster.request_timeout, api.exec(pod, ["true"], &params)).await?;
    let err = match answer {
        Ok(process) => {
            // A server that let it through: nothing was there to run; close it.
            process.abort();
            return Ok(());
        }
        Err(e) => e,
    };
    match api_status(&err).map(|s| s.code) {
        Some(401 | 403) => {
            let err = classify(err, ApiCall::Exec, pod, &cluster.scope());
            Err(name_denied_verb(cluster, err, pod).await)
        }
        Some(404) => Err(classify(err, ApiCall::GetPod, pod, &cluster.scope())),
        other => {
            tracing::debug!(code = ?other, error = %err, "exec permission check answered");
            Ok(())
        }
    }
}

/// After a 403 on an exec, which of its two checks failed: API servers up to 1.34 authorize the
/// websocket upgrade as `get`, 1.35+ also as `create`. The 403 says neither, so ask (only on
/// this failure path) and name the verb RBAC denies, and whether it is denied for this pod
/// only; if the server cannot be asked, the error stays as it was.
pub(crate) async fn name_denied_verb(cluster: &Cluster, err: Error, pod: &str) -> Error {
    let Error::Forbidden {
        resource,
        scope,
        message,
        ..
    } = &err
    else {
        return err;
    };
    let Some(sub) = resource.strip_prefix("pods/") else {
        return err;
    };
    for verb in ["get", "create"] {
        if access_allowed(cluster, verb, Some(sub), Some(pod)).await == Some(false) {
            return Error::Forbidden {
                verb,
                resource,
                scope: scope.clone(),
                only: named_only(cluster, verb, sub, pod).await.map(Box::new),
                message: message.clone(),
            };
        }
    }
    err
}

/// The pods a Role grants `verb` on `pods/SUBRESOURCE` for by name (`resourceNames`), if any,
/// from a SelfSubjectRulesReview (allowed to every authenticated user by default): an access
/// review without a name says no to such a grant, so it cannot tell. Asked only after a
/// refusal.
async fn named_only(cluster: &Cluster, verb: &str, sub: &str, pod: &str) -> Option<NamedOnly> {
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec {
            namespace: Some(cluster.namespace.clone()),
        },
        ..SelfSubjectRulesReview::default()
    };
    let api: Api<SelfSubjectRulesReview> = Api::all(cluster.client.clone());
    let answer = timed(
        cluster.request_timeout,
        api.create(&PostParams::default(), &review),
    )
    .await
    .ok()?
    .ok()?;
    let allowed = names_granted(&answer.status?.resource_rules, verb, &format!("pods/{sub}"));
    (!allowed.is_empty()).then(|| NamedOnly {
        pod: pod.to_owned(),
        allowed,
    })
}

/// Gathers [`RefusalFacts`] after a 403 on the PATCH: a SelfSubjectAccessReview and the
/// namespace's labels, each best effort.
pub(crate) async fn refusal_facts(cluster: &Cluster, pod: &str, message: String) -> RefusalFacts {
    let rbac_allows =
        access_allowed(cluster, "patch", Some("ephemeralcontainers"), Some(pod)).await;
    let named_only = if rbac_allows == Some(false) {
        named_only(cluster, "patch", "ephemeralcontainers", pod).await
    } else {
        None
    };
    let level = if rbac_allows == Some(false) {
        None
    } else {
        enforced_level(cluster).await
    };
    tracing::debug!(?rbac_allows, ?level, "403 on ephemeralcontainers");
    RefusalFacts {
        rbac_allows,
        named_only,
        level,
        message,
    }
}

/// The Pod Security level the namespace enforces, from its label (`get namespaces`, best
/// effort: `None` when it cannot be read or is not set).
async fn enforced_level(cluster: &Cluster) -> Option<crate::model::Level> {
    let ns: Api<Namespace> = Api::all(cluster.client.clone());
    match timed(cluster.request_timeout, ns.get(&cluster.namespace)).await {
        Ok(Ok(n)) => n
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(ENFORCE_LABEL))
            .and_then(|v| v.parse().ok()),
        _ => None,
    }
}

/// Up to five namespaces labelled to enforce the `privileged` Pod Security level, sorted (one
/// metadata LIST, best effort: `list namespaces` is cluster-wide, and an error is no names).
pub(crate) async fn privileged_namespaces(cluster: &Cluster) -> Vec<String> {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    let params = kube::api::ListParams::default().labels(&format!("{ENFORCE_LABEL}=privileged"));
    let Ok(Ok(list)) = timed(cluster.request_timeout, api.list_metadata(&params)).await else {
        return Vec::new();
    };
    let mut names: Vec<String> = list
        .items
        .into_iter()
        .filter(|n| n.metadata.deletion_timestamp.is_none())
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    names.truncate(5);
    names
}

/// Gathers [`RefusalFacts`] after a 403 on the creation of a pod of ours: whether RBAC allows
/// `create pods` (a SelfSubjectAccessReview), and if it does the namespace's enforced level;
/// each best effort.
pub(crate) async fn create_refusal_facts(cluster: &Cluster, message: String) -> RefusalFacts {
    let rbac_allows = access_allowed(cluster, "create", None, None).await;
    let level = if rbac_allows == Some(false) {
        None
    } else {
        enforced_level(cluster).await
    };
    tracing::debug!(?rbac_allows, ?level, "403 on creating a pod");
    RefusalFacts {
        rbac_allows,
        named_only: None,
        level,
        message,
    }
}

/// A SelfSubjectReview that takes longer than this is not waited for.
const BOUND: Duration = Duration::from_secs(5);

/// The user name the API server sees: known from the credentials, or asked for.
pub(crate) async fn who_am_i(cluster: &Cluster) -> Option<String> {
    if let Some(known) = &cluster.identity {
        return Some(known.clone());
    }
    let api: Api<SelfSubjectReview> = Api::all(cluster.client.clone());
    let review = SelfSubjectReview::default();
    let answer = tokio::time::timeout(BOUND, api.create(&PostParams::default(), &review))
        .await
        .ok()?;
    match answer {
        Ok(r) => r
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .filter(|u| !u.is_empty()),
        Err(e) => {
            tracing::debug!(error = %e, "SelfSubjectReview failed; using the kubeconfig user");
            None
        }
    }
}

#[cfg(test)]
mod tests {}
