//! The one write: a strategic-merge PATCH on `pods/NAME/ephemeralcontainers` that appends the
//! debug container (strategic merge appends by name; a JSON merge patch would replace the list).
//!
//! On a 403 it finds out *why* with structured data only (see `pss` for the reasoning): a
//! `SelfSubjectAccessReview` tells RBAC from admission, the namespace's
//! `pod-security.kubernetes.io/enforce` label gives the level, and our own container is checked
//! against it. Those two extra requests happen only on failure.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, ResourceRule, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::{EphemeralContainer, Namespace, Pod, PodSecurityContext};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

use crate::connect::{Cluster, timed};
use crate::error::{ApiCall, Error, NamedOnly, api_status, classify};
use crate::plan::profile::Profile;
use crate::plan::pss::{ENFORCE_LABEL, Level, violations};

/// The strategic-merge patch body that appends `container`.
pub fn patch_body(container: &EphemeralContainer) -> serde_json::Value {
    serde_json::json!({ "spec": { "ephemeralContainers": [container] } })
}

/// Whether a write is made or only tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Persist,
    /// A server-side dry run: admission (Pod Security, policies, webhooks) and validation run,
    /// nothing is stored.
    DryRun,
}

/// Adds the container (or tries to, with [`Write::DryRun`]); returns the pod as the server
/// stored it (its resourceVersion is where the watch starts).
pub async fn add_debug_container(
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

/// What the cluster told us about a 403 on the PATCH.
#[derive(Debug, Clone, Default)]
pub struct RefusalFacts {
    /// `Some(true)`: RBAC allows the PATCH (so admission refused); `None`: could not ask.
    pub rbac_allows: Option<bool>,
    /// RBAC denies it for this pod but grants it for others, by name.
    pub named_only: Option<NamedOnly>,
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
    container_for: &dyn Fn(Profile) -> Result<EphemeralContainer, Error>,
    rbac_error: Error,
) -> Error {
    if facts.rbac_allows == Some(false) {
        return match (rbac_error, &facts.named_only) {
            (
                Error::Forbidden {
                    verb,
                    resource,
                    scope,
                    ..
                },
                Some(only),
            ) => Error::Forbidden {
                verb,
                resource,
                scope,
                only: Some(Box::new(only.clone())),
            },
            (e, _) => e,
        };
    }
    let ours = match container_for(profile) {
        Ok(c) => c,
        Err(e) => return e,
    };
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
            .find(|p| container_for(*p).is_ok_and(|c| violations(level, &c, pod_sc).is_empty()));
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

/// Whether RBAC lets us `verb` the `subresource` of pod `pod` (of any pod with `None`): a
/// SelfSubjectAccessReview, allowed to every authenticated user by default. `None`: the server
/// could not be asked.
pub async fn access_allowed(
    cluster: &Cluster,
    verb: &str,
    subresource: &str,
    pod: Option<&str>,
) -> Option<bool> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(cluster.namespace.clone()),
                verb: Some(verb.to_owned()),
                resource: Some("pods".to_owned()),
                subresource: Some(subresource.to_owned()),
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
pub async fn check_exec(cluster: &Cluster, pod: &str) -> Result<(), Error> {
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
        if access_allowed(cluster, verb, sub, Some(pod)).await == Some(false) {
            return Error::Forbidden {
                verb,
                resource,
                scope: scope.clone(),
                only: named_only(cluster, verb, sub, pod).await.map(Box::new),
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

/// The resource names that `rules` grant `verb` on `resource` (core group) for. Pure.
pub fn names_granted(rules: &[ResourceRule], verb: &str, resource: &str) -> Vec<String> {
    let any = |list: &[String], want: &str| list.iter().any(|x| x == want || x == "*");
    let mut names: Vec<String> = rules
        .iter()
        .filter(|r| {
            any(&r.verbs, verb)
                && r.api_groups.as_deref().is_some_and(|g| any(g, ""))
                && r.resources
                    .as_deref()
                    .is_some_and(|res| any(res, resource) || res.iter().any(|x| x == "pods/*"))
        })
        .flat_map(|r| r.resource_names.iter().flatten().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Gathers [`RefusalFacts`] after a 403 on the PATCH: a SelfSubjectAccessReview and the
/// namespace's labels, each best effort.
pub async fn refusal_facts(cluster: &Cluster, pod: &str, message: String) -> RefusalFacts {
    let rbac_allows = access_allowed(cluster, "patch", "ephemeralcontainers", Some(pod)).await;
    let named_only = if rbac_allows == Some(false) {
        named_only(cluster, "patch", "ephemeralcontainers", pod).await
    } else {
        None
    };
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
        named_only,
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

    #[allow(clippy::unnecessary_wraps)]
    fn buildable(p: Profile) -> Result<EphemeralContainer, Error> {
        Ok(container(p))
    }

    fn rbac() -> Error {
        Error::Forbidden {
            verb: "patch",
            resource: "pods/ephemeralcontainers",
            scope: Scope::default(),
            only: None,
        }
    }

    #[allow(clippy::needless_pass_by_value)]
    fn explain(facts: RefusalFacts, p: Profile) -> Error {
        explain_forbidden(&facts, p, "prod", None, &buildable, rbac())
    }

    #[test]
    fn a_build_that_fails_is_the_error_and_never_a_suggestion() {
        let facts = RefusalFacts {
            rbac_allows: Some(true),
            level: Some(Level::Baseline),
            ..RefusalFacts::default()
        };
        let fails = |_| Err(Error::Internal("no".into()));
        let e = explain_forbidden(&facts, Profile::General, "prod", None, &fails, rbac());
        assert!(matches!(e, Error::Internal(_)));
        // Only the profile asked for builds: no alternative is suggested.
        let only_general = |p| {
            if p == Profile::General {
                Ok(container(p))
            } else {
                Err(Error::Internal("no".into()))
            }
        };
        let e = explain_forbidden(
            &facts,
            Profile::General,
            "prod",
            None,
            &only_general,
            rbac(),
        );
        assert!(
            matches!(
                e,
                Error::PodSecurity {
                    suggestion: None,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn a_pod_denied_by_name_only_is_named() {
        let only = NamedOnly {
            pod: "api".into(),
            allowed: vec!["web".into()],
        };
        let e = explain(
            RefusalFacts {
                rbac_allows: Some(false),
                named_only: Some(only.clone()),
                ..RefusalFacts::default()
            },
            Profile::General,
        );
        assert!(
            matches!(e, Error::Forbidden { only: Some(ref o), .. } if **o == only),
            "{e:?}"
        );
    }

    #[test]
    fn names_granted_reads_resource_names_of_matching_rules_only() {
        let rule = |verbs: &[&str], groups: &[&str], res: &[&str], names: &[&str]| ResourceRule {
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            api_groups: Some(groups.iter().map(|s| (*s).to_owned()).collect()),
            resources: Some(res.iter().map(|s| (*s).to_owned()).collect()),
            resource_names: (!names.is_empty())
                .then(|| names.iter().map(|s| (*s).to_owned()).collect()),
        };
        let rules = [
            rule(
                &["patch"],
                &[""],
                &["pods/ephemeralcontainers"],
                &["web", "db"],
            ),
            rule(&["*"], &[""], &["pods/*"], &["cache"]),
            rule(
                &["get"],
                &[""],
                &["pods/ephemeralcontainers"],
                &["not-patch"],
            ),
            rule(
                &["patch"],
                &["apps"],
                &["pods/ephemeralcontainers"],
                &["other-group"],
            ),
            rule(&["patch"], &[""], &["pods"], &["no-subresource"]),
            rule(&["patch"], &[""], &["pods/ephemeralcontainers"], &[]),
        ];
        assert_eq!(
            names_granted(&rules, "patch", "pods/ephemeralcontainers"),
            ["cache", "db", "web"]
        );
        assert!(names_granted(&rules, "create", "pods/exec").contains(&"cache".to_owned()));
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
                ..RefusalFacts::default()
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
                ..RefusalFacts::default()
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
                ..RefusalFacts::default()
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
                ..RefusalFacts::default()
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
