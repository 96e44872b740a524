//! Why the PATCH was refused, from structured facts only (see `pss` for the reasoning): RBAC
//! (a SelfSubjectAccessReview, and the pods a Role names), the namespace's enforced Pod
//! Security level and our own container checked against it, or another admission controller.
//! Pure; the facts are gathered by `api::reviews`.

use k8s_openapi::api::authorization::v1::ResourceRule;
use k8s_openapi::api::core::v1::{EphemeralContainer, PodSecurityContext};

use crate::error::{Error, NamedOnly, Refused};
use crate::model::Level;
use crate::model::Profile;
use crate::plan::pss::{pod_violations, violations};

/// What the cluster told us about a 403 on the PATCH.
#[derive(Debug, Clone, Default)]
pub(crate) struct RefusalFacts {
    /// `Some(true)`: RBAC allows the PATCH (so admission refused); `None`: could not ask.
    pub(crate) rbac_allows: Option<bool>,
    /// RBAC denies it for this pod but grants it for others, by name.
    pub(crate) named_only: Option<NamedOnly>,
    /// The namespace's enforced Pod Security level, if readable.
    pub(crate) level: Option<Level>,
    /// The server's message, shown (never parsed) when nothing structured explains it.
    pub(crate) message: String,
}

/// The API server's message of a refused write, verbatim (it names the policy or webhook that
/// refused it), else the error's own text. Pure.
pub(crate) fn server_message(err: &Error) -> String {
    match err {
        Error::Forbidden { message, .. } if !message.is_empty() => message.clone(),
        e => e.to_string(),
    }
}

/// Turns the facts into the error to show. `container_for(profile)` builds our debug container
/// with another profile, to find one that passes. Pure.
pub(crate) fn explain_forbidden(
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
                    message,
                    ..
                },
                Some(only),
            ) => Error::Forbidden {
                verb,
                resource,
                scope,
                only: Some(Box::new(only.clone())),
                message,
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
            refused: Refused::DebugContainer,
            or_validation: false,
        };
    }
    Error::AdmissionRefused {
        message: facts.message.clone(),
        possible_rules: Vec::new(),
        refused: Refused::DebugContainer,
        or_validation: false,
    }
}

/// What pod of ours was refused, for the message and its fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Created<'a> {
    /// A copy of pod `of`, whose own containers are all but `ours`.
    Copy { of: &'a str, ours: &'a [&'a str] },
    /// A node pod; `privileged`: namespaces known to enforce the `privileged` level (best
    /// effort, may be empty).
    Node { privileged: &'a [String] },
}

/// Turns the facts about a refused creation of a pod of ours into the error to show: RBAC
/// (`create pods`), the Pod Security rules the pod breaks with the flag or namespace that
/// passes, or another admission controller. `pod_for(profile)` builds the pod with another
/// profile. Pure.
pub(crate) fn explain_create_refusal(
    facts: &RefusalFacts,
    created: Created<'_>,
    profile: Profile,
    namespace: &str,
    pod_for: &dyn Fn(Profile) -> Result<k8s_openapi::api::core::v1::Pod, Error>,
    rbac_error: Error,
) -> Error {
    if facts.rbac_allows == Some(false) {
        return rbac_error;
    }
    let ours = match pod_for(profile) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let what = match created {
        Created::Copy { of, .. } => format!("the copy of pod {of:?}"),
        Created::Node { .. } => "the node debug pod".to_owned(),
    };
    let Some(level) = facts.level else {
        if facts.rbac_allows.is_none() {
            let possible = pod_violations(Level::Baseline, &ours);
            if !possible.is_empty() {
                return Error::AdmissionRefused {
                    message: format!("{} (or RBAC: {rbac_error})", facts.message),
                    possible_rules: possible,
                    refused: Refused::Pod,
                    or_validation: false,
                };
            }
            return rbac_error;
        }
        return Error::AdmissionRefused {
            message: facts.message.clone(),
            possible_rules: Vec::new(),
            refused: Refused::Pod,
            or_validation: false,
        };
    };
    let rules = pod_violations(level, &ours);
    if rules.is_empty() {
        return Error::AdmissionRefused {
            message: facts.message.clone(),
            possible_rules: Vec::new(),
            refused: Refused::Pod,
            or_validation: false,
        };
    }
    let fix = match created {
        Created::Node { privileged } => {
            let which = match privileged {
                [] => {
                    "a namespace labelled pod-security.kubernetes.io/enforce=privileged".to_owned()
                }
                names => format!("such as {}", names.join(", ")),
            };
            format!(
                "node debugging shares the host's namespaces and mounts its root, which only the \"privileged\" level allows: run it in a namespace that enforces \"privileged\" with -n NAMESPACE ({which}), not {namespace:?}"
            )
        }
        Created::Copy { ours: names, .. } => {
            let own: Vec<&String> = rules
                .iter()
                .filter(|r| {
                    !names
                        .iter()
                        .any(|n| r.starts_with(&format!("container {n}:")))
                })
                .collect();
            if own.is_empty() {
                let passing = [
                    Profile::General,
                    Profile::Netadmin,
                    Profile::Sysadmin,
                    Profile::Baseline,
                    Profile::Restricted,
                ]
                .into_iter()
                .filter(|p| *p != profile)
                .find(|p| pod_for(*p).is_ok_and(|pod| pod_violations(level, &pod).is_empty()));
                match passing {
                    Some(p) => format!(
                        "the namespace enforces Pod Security level \"{level}\"; --profile {p} passes it"
                    ),
                    None => format!(
                        "the namespace enforces Pod Security level \"{level}\" and no profile passes it with this --custom/--image; adjust --custom"
                    ),
                }
            } else {
                format!(
                    "the pod itself breaks level \"{level}\" now (it was admitted before the namespace's label changed, or is exempt), so no copy of it is admitted in namespace {namespace:?}"
                )
            }
        }
    };
    Error::PodRefused {
        namespace: namespace.to_owned(),
        level,
        what,
        rules,
        fix,
    }
}

/// The resource names that `rules` grant `verb` on `resource` (core group) for. Pure.
pub(crate) fn names_granted(rules: &[ResourceRule], verb: &str, resource: &str) -> Vec<String> {
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
            message: String::new(),
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
        // No Pod Security level at all (a namespace without the label): the same.
        let e = explain(
            RefusalFacts {
                rbac_allows: Some(true),
                message: "admission webhook \"deny.example.com\" denied the request: no".into(),
                ..RefusalFacts::default()
            },
            Profile::General,
        );
        assert_eq!(
            e.to_string(),
            "admission refused the debug container: admission webhook \"deny.example.com\" denied the request: no"
        );
        assert!(
            e.hint()
                .unwrap()
                .contains("Ephemeral containers cannot carry resources")
        );
    }

    #[test]
    fn the_servers_message_is_shown_when_there_is_one() {
        let with = |message: &str| Error::Forbidden {
            verb: "patch",
            resource: "pods/ephemeralcontainers",
            scope: Scope::default(),
            only: None,
            message: message.into(),
        };
        assert_eq!(
            server_message(&with("admission webhook \"w\" denied the request")),
            "admission webhook \"w\" denied the request"
        );
        assert_eq!(
            server_message(&with("")),
            "forbidden: cannot patch pods/ephemeralcontainers in namespace \"\""
        );
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
    #[test]
    fn a_refused_pod_of_ours_names_the_rules_and_the_fix() {
        use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
        let pod_with = |host: bool, app: Profile, ours: Profile| -> Pod {
            let c = |name: &str, p: Profile| Container {
                name: name.into(),
                security_context: p.security_context(),
                ..Container::default()
            };
            Pod {
                spec: Some(PodSpec {
                    host_pid: host.then_some(true),
                    containers: vec![c("app", app), c("debugger-x", ours)],
                    ..PodSpec::default()
                }),
                ..Pod::default()
            }
        };
        let create = || Error::Forbidden {
            verb: "create",
            resource: "pods",
            scope: Scope::default(),
            only: None,
            message: String::new(),
        };
        let facts = |level| RefusalFacts {
            rbac_allows: Some(true),
            level,
            message: "m".into(),
            ..RefusalFacts::default()
        };
        let copy = Created::Copy {
            of: "api",
            ours: &["debugger-x", "distroless-debug-holder"],
        };
        // Our toolbox breaks baseline: another profile passes.
        let e = explain_create_refusal(
            &facts(Some(Level::Baseline)),
            copy,
            Profile::General,
            "prod",
            &|p| Ok(pod_with(false, Profile::Baseline, p)),
            create(),
        );
        assert_eq!(
            e.to_string(),
            "Pod Security level \"baseline\" in namespace \"prod\" refused the copy of pod \"api\": container debugger-x: capabilities (adds SYS_PTRACE)"
        );
        assert!(
            e.hint().unwrap().contains("--profile baseline passes it"),
            "{:?}",
            e.hint()
        );
        // The pod's own container breaks it: no copy can pass.
        let e = explain_create_refusal(
            &facts(Some(Level::Baseline)),
            copy,
            Profile::Baseline,
            "prod",
            &|p| Ok(pod_with(false, Profile::Sysadmin, p)),
            create(),
        );
        assert!(
            e.hint().unwrap().contains("the pod itself breaks level"),
            "{:?}",
            e.hint()
        );
        // A node pod: the namespace must be privileged.
        let e = explain_create_refusal(
            &facts(Some(Level::Restricted)),
            Created::Node { privileged: &[] },
            Profile::Sysadmin,
            "default",
            &|p| Ok(pod_with(true, p, p)),
            create(),
        );
        assert!(
            e.to_string()
                .contains("refused the node debug pod: host namespaces (hostPID=true)")
        );
        assert!(e.hint().unwrap().contains("-n NAMESPACE"));
        // RBAC said no: the RBAC error, its hint naming create and delete on pods.
        let e = explain_create_refusal(
            &RefusalFacts {
                rbac_allows: Some(false),
                ..RefusalFacts::default()
            },
            Created::Node { privileged: &[] },
            Profile::Sysadmin,
            "default",
            &|p| Ok(pod_with(true, p, p)),
            create(),
        );
        assert!(matches!(e, Error::Forbidden { verb: "create", .. }));
        let hint = e.hint().unwrap();
        assert!(hint.contains("'create' and 'delete' on 'pods'"), "{hint}");
        assert!(hint.contains("verbs: [\"create\", \"delete\"]"), "{hint}");
        // Unknown level, and it passes: another admission controller.
        let e = explain_create_refusal(
            &facts(None),
            copy,
            Profile::Baseline,
            "prod",
            &|p| Ok(pod_with(false, p, p)),
            create(),
        );
        assert!(matches!(
            e,
            Error::AdmissionRefused {
                refused: Refused::Pod,
                or_validation: false,
                ..
            }
        ));
        assert!(
            e.to_string().starts_with("admission refused the pod: "),
            "{e}"
        );
        assert!(
            e.hint().unwrap().contains("label distroless-debug/mode"),
            "{e:?}"
        );
    }
}
