//! The one write: a strategic-merge PATCH on `pods/NAME/ephemeralcontainers` that appends the
//! debug container (strategic merge appends by name; a JSON merge patch would replace the list).
//!
//! On a 403 it finds out *why* with structured data only (see `pss` for the reasoning): a
//! `SelfSubjectAccessReview` tells RBAC from admission, the namespace's
//! `pod-security.kubernetes.io/enforce` label gives the level, and our own container is checked
//! against it. Those two extra requests happen only on failure.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{EphemeralContainer, Namespace, Pod, PodSecurityContext};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

use crate::client::{Cluster, timed};
use crate::error::{ApiCall, Error, api_status, classify};
use crate::profile::Profile;
use crate::pss::{ENFORCE_LABEL, Level, violations};

/// The strategic-merge patch body that appends `container`.
pub fn patch_body(container: &EphemeralContainer) -> serde_json::Value {
    serde_json::json!({ "spec": { "ephemeralContainers": [container] } })
}

/// Adds the container; returns the pod as the server stored it (its resourceVersion is where
/// the watch starts).
pub async fn add_debug_container(
    cluster: &Cluster,
    pod: &str,
    container: &EphemeralContainer,
) -> Result<Pod, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let body = patch_body(container);
    let result = timed(
        cluster.request_timeout,
        api.patch_ephemeral_containers(pod, &PatchParams::default(), &Patch::Strategic(&body)),
    )
    .await?;
    result.map_err(|e| classify(e, ApiCall::PatchEphemeralContainers, pod, &cluster.scope()))
}

/// Whether a failed PATCH was a 403 (worth [`explain_forbidden`]).
pub fn is_forbidden(err: &kube::Error) -> bool {
    api_status(err).is_some_and(|s| s.code == 403)
}

/// What the cluster told us about a 403 on the PATCH.
#[derive(Debug, Clone, Default)]
pub struct RefusalFacts {
    /// `Some(true)`: RBAC allows the PATCH (so admission refused); `None`: could not ask.
    pub rbac_allows: Option<bool>,
    /// The namespace's enforced Pod Security level, if readable.
    pub level: Option<Level>,
    /// The server's message, shown (never parsed) when nothing structured explains it.
    pub message: String,
}

/// Turns the facts into the error to show. `container_for(profile)` builds our debug container
/// with another profile, to find one that passes. Pure.
pub fn explain_forbidden(
    facts: &RefusalFacts,
    profile: Profile,
    namespace: &str,
    pod_sc: Option<&PodSecurityContext>,
    container_for: &dyn Fn(Profile) -> EphemeralContainer,
    rbac_error: Error,
) -> Error {
    if facts.rbac_allows == Some(false) {
        return rbac_error;
    }
    let ours = container_for(profile);
    if let Some(level) = facts.level {
        let rules = violations(level, &ours, pod_sc);
        if !rules.is_empty() {
            let suggestion = [
                Profile::General,
                Profile::Netadmin,
                Profile::Sysadmin,
                Profile::Baseline,
                Profile::Restricted,
            ]
            .into_iter()
            .filter(|p| *p != profile)
            .find(|p| violations(level, &container_for(*p), pod_sc).is_empty());
            return Error::PodSecurity {
                namespace: namespace.to_owned(),
                level,
                profile,
                rules,
                suggestion,
            };
        }
    }
    if facts.rbac_allows.is_none() && facts.level.is_none() {
        // Could not tell RBAC from admission: say both.
        let mut possible = violations(Level::Baseline, &ours, pod_sc);
        if possible.is_empty() {
            possible = violations(Level::Restricted, &ours, pod_sc);
        }
        if possible.is_empty() {
            return rbac_error;
        }
        return Error::AdmissionRefused {
            message: format!("{} (or RBAC: {rbac_error})", facts.message),
            possible_rules: possible,
        };
    }
    Error::AdmissionRefused {
        message: facts.message.clone(),
        possible_rules: Vec::new(),
    }
}

/// Whether RBAC lets us `verb` the pod's `subresource` (a SelfSubjectAccessReview, allowed
/// to every authenticated user by default). `None`: the server could not be asked.
pub async fn access_allowed(
    cluster: &Cluster,
    verb: &str,
    subresource: &str,
    pod: &str,
) -> Option<bool> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(cluster.namespace.clone()),
                verb: Some(verb.to_owned()),
                resource: Some("pods".to_owned()),
                subresource: Some(subresource.to_owned()),
                name: Some(pod.to_owned()),
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

/// After a 403 on an attach or exec upgrade, which of its two checks failed: API servers up to
/// 1.34 authorize the websocket upgrade as `get`, 1.35+ also as `create`. The 403 says
/// neither, so ask (only on this failure path) and name the verb RBAC denies; if the server
/// cannot be asked, the error stays as it was.
pub async fn name_denied_verb(cluster: &Cluster, err: Error, pod: &str) -> Error {
    let Error::Forbidden {
        resource, scope, ..
    } = &err
    else {
        return err;
    };
    let Some(sub) = resource.strip_prefix("pods/") else {
        return err;
    };
    for verb in ["get", "create"] {
        if access_allowed(cluster, verb, sub, pod).await == Some(false) {
            return Error::Forbidden {
                verb,
                resource,
                scope: scope.clone(),
            };
        }
    }
    err
}

/// Gathers [`RefusalFacts`] after a 403 on the PATCH: a SelfSubjectAccessReview and the
/// namespace's labels, each best effort.
pub async fn refusal_facts(cluster: &Cluster, pod: &str, message: String) -> RefusalFacts {
    let rbac_allows = access_allowed(cluster, "patch", "ephemeralcontainers", pod).await;
    let level = if rbac_allows == Some(false) {
        None
    } else {
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
    };
    tracing::debug!(?rbac_allows, ?level, "403 on ephemeralcontainers");
    RefusalFacts {
        rbac_allows,
        level,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn container(p: Profile) -> EphemeralContainer {
        EphemeralContainer {
            name: "d".into(),
            security_context: p.security_context(),
            ..EphemeralContainer::default()
        }
    }

    fn rbac() -> Error {
        Error::Forbidden {
            verb: "patch",
            resource: "pods/ephemeralcontainers",
            scope: Scope::default(),
        }
    }

    #[allow(clippy::needless_pass_by_value)]
    fn explain(facts: RefusalFacts, p: Profile) -> Error {
        explain_forbidden(&facts, p, "prod", None, &container, rbac())
    }

    #[test]
    fn patch_appends_through_the_ephemeral_list() {
        let body = patch_body(&container(Profile::Baseline));
        assert_eq!(
            body,
            serde_json::json!({"spec": {"ephemeralContainers": [{"name": "d"}]}})
        );
    }

    #[test]
    fn rbac_denial_is_reported_as_rbac() {
        let e = explain(
            RefusalFacts {
                rbac_allows: Some(false),
                level: Some(Level::Baseline),
                message: String::new(),
            },
            Profile::General,
        );
        assert!(matches!(e, Error::Forbidden { .. }));
    }

    #[test]
    fn pod_security_baseline_suggests_baseline() {
        let e = explain(
            RefusalFacts {
                rbac_allows: Some(true),
                level: Some(Level::Baseline),
                message: "m".into(),
            },
            Profile::General,
        );
        let Error::PodSecurity {
            level,
            rules,
            suggestion,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*level, Level::Baseline);
        assert_eq!(rules, &["capabilities (adds SYS_PTRACE)"]);
        assert_eq!(*suggestion, Some(Profile::Baseline));
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn pod_security_restricted_suggests_restricted() {
        let e = explain(
            RefusalFacts {
                rbac_allows: Some(true),
                level: Some(Level::Restricted),
                message: "m".into(),
            },
            Profile::Netadmin,
        );
        assert!(matches!(
            e,
            Error::PodSecurity {
                suggestion: Some(Profile::Restricted),
                ..
            }
        ));
        assert!(e.hint().unwrap().contains("--profile restricted"));
    }

    #[test]
    fn passing_container_means_another_admission_controller() {
        let e = explain(
            RefusalFacts {
                rbac_allows: Some(true),
                level: Some(Level::Baseline),
                message: "denied by policy X".into(),
            },
            Profile::Baseline,
        );
        assert!(
            matches!(e, Error::AdmissionRefused { ref possible_rules, .. } if possible_rules.is_empty())
        );
        assert!(e.to_string().contains("denied by policy X"));
    }

    #[test]
    fn unknown_cause_names_both_possibilities() {
        let e = explain(RefusalFacts::default(), Profile::General);
        let Error::AdmissionRefused { possible_rules, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(possible_rules, &["capabilities (adds SYS_PTRACE)"]);
        // A restricted container cannot be a PSA refusal: RBAC it is.
        let e = explain(RefusalFacts::default(), Profile::Restricted);
        assert!(matches!(e, Error::Forbidden { .. }));
    }
}
