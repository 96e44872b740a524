//! A kube error → [`Error`]: from the Status `code`, `reason` and `details` and from which call
//! failed ([`ApiCall`]): a 404 of a PATCH of `ephemeralcontainers` is a server without the
//! feature, of a GET a missing pod. Never from message text.

use kube::core::Status;

use super::{Error, Refused, Scope};

/// The API call that failed: it decides what a 403 or a 404 means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCall {
    GetPod,
    ListPods,
    /// GET of a workload (`deployments.apps`, `jobs.batch`, ...).
    GetWorkload {
        resource: &'static str,
    },
    PatchEphemeralContainers,
    WatchPod,
    Exec,
    CreatePod,
    DeletePod,
    GetNode,
    ListNodes,
}

impl ApiCall {
    /// The RBAC verb and resource this call needs.
    pub(crate) fn permission(&self) -> (&'static str, &'static str) {
        match self {
            ApiCall::GetPod => ("get", "pods"),
            ApiCall::ListPods => ("list", "pods"),
            ApiCall::GetWorkload { resource } => ("get", resource),
            ApiCall::PatchEphemeralContainers => ("patch", "pods/ephemeralcontainers"),
            ApiCall::WatchPod => ("watch", "pods"),
            ApiCall::Exec => ("create", "pods/exec"),
            ApiCall::CreatePod => ("create", "pods"),
            ApiCall::DeletePod => ("delete", "pods"),
            ApiCall::GetNode => ("get", "nodes"),
            ApiCall::ListNodes => ("list", "nodes"),
        }
    }
}

/// The Status inside a kube error, if the server answered with one.
pub(crate) fn api_status(err: &kube::Error) -> Option<&Status> {
    match err {
        kube::Error::Api(s) => Some(s),
        _ => None,
    }
}

/// Classifies a failed API call. `pod` is the pod involved (for 404 messages).
pub(crate) fn classify(err: kube::Error, call: ApiCall, pod: &str, scope: &Scope) -> Error {
    if let kube::Error::UpgradeConnection(kube::client::UpgradeConnectionError::ProtocolSwitch(
        code,
    )) = &err
    {
        // A refused websocket upgrade carries only the HTTP status.
        return match code.as_u16() {
            403 => forbidden(&call, scope),
            401 => Error::Unauthorized,
            404 => Error::PodNotFound {
                name: pod.to_owned(),
                scope: scope.clone(),
            },
            _ => Error::Api { call, source: err },
        };
    }
    let Some(status) = api_status(&err) else {
        return match err {
            kube::Error::HyperError(_) | kube::Error::Service(_) => Error::Connect(err),
            _ => Error::Api { call, source: err },
        };
    };
    let details_name = status
        .details
        .as_ref()
        .map(|d| d.name.as_str())
        .unwrap_or_default();
    match (status.code, status.reason.as_str()) {
        (401, _) => Error::Unauthorized,
        (403, _) => {
            let mut e = forbidden(&call, scope);
            if let Error::Forbidden { message, .. } = &mut e {
                message.clone_from(&status.message);
            }
            e
        }
        (404, _) => match &call {
            ApiCall::PatchEphemeralContainers if details_name.is_empty() => {
                Error::EphemeralUnsupported
            }
            ApiCall::GetNode => Error::NodeNotFound {
                name: pod.to_owned(),
            },
            ApiCall::GetWorkload { resource } => Error::WorkloadNotFound {
                kind: (*resource).to_owned(),
                name: details_name.to_owned(),
                scope: scope.clone(),
            },
            _ => Error::PodNotFound {
                name: pod.to_owned(),
                scope: scope.clone(),
            },
        },
        (422 | 400, _) | (_, "Invalid") if refusing_write(&call, status) => {
            Error::AdmissionRefused {
                message: status.message.clone(),
                possible_rules: Vec::new(),
                refused: if call == ApiCall::CreatePod {
                    Refused::Pod
                } else {
                    Refused::DebugContainer
                },
                or_validation: true,
            }
        }
        (422, _) | (_, "Invalid") => Error::Invalid {
            message: status.message.clone(),
            causes: status
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .map(|c| {
                            if c.field.is_empty() {
                                c.message.clone()
                            } else {
                                format!("{}: {}", c.field, c.message)
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        _ => Error::Api { call, source: err },
    }
}

/// Whether a 400 or 422 on a write of ours is a refusal that names no field of the request:
/// a ValidatingAdmissionPolicy answers 422 `Invalid` with one cause that has a message only,
/// a webhook any code it likes (400 among them), while the validation of the container spec
/// names each field it refuses (`details.causes[].field`). Pure.
fn refusing_write(call: &ApiCall, status: &Status) -> bool {
    matches!(call, ApiCall::PatchEphemeralContainers | ApiCall::CreatePod)
        && !status
            .details
            .as_ref()
            .is_some_and(|d| d.causes.iter().any(|c| !c.field.is_empty()))
}

fn forbidden(call: &ApiCall, scope: &Scope) -> Error {
    let (verb, resource) = call.permission();
    Error::Forbidden {
        verb,
        resource,
        scope: scope.clone(),
        only: None,
        message: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EXIT_FAILURE, NamedOnly};
    use super::*;
    use kube::core::response::{StatusCause, StatusDetails};

    fn status(code: u16, reason: &str, name: &str) -> kube::Error {
        kube::Error::Api(Box::new(Status {
            code,
            reason: reason.into(),
            message: "text that must not matter".into(),
            details: (!name.is_empty()).then(|| details(name, vec![])),
            ..Status::default()
        }))
    }

    fn details(name: &str, causes: Vec<StatusCause>) -> StatusDetails {
        StatusDetails {
            name: name.into(),
            group: String::new(),
            kind: "pods".into(),
            uid: String::new(),
            causes,
            retry_after_seconds: 0,
        }
    }

    fn scope() -> Scope {
        Scope {
            namespace: "prod".into(),
            context: Some("kind".into()),
        }
    }

    #[test]
    fn unauthorized_whatever_the_call() {
        for call in [
            ApiCall::GetPod,
            ApiCall::PatchEphemeralContainers,
            ApiCall::Exec,
        ] {
            let e = classify(status(401, "Unauthorized", ""), call, "x", &scope());
            assert!(matches!(e, Error::Unauthorized), "{e:?}");
        }
    }

    #[test]
    fn not_found_depends_on_the_call() {
        let e = classify(
            status(404, "NotFound", "api"),
            ApiCall::GetPod,
            "api",
            &scope(),
        );
        assert!(matches!(e, Error::PodNotFound { ref name, .. } if name == "api"));
        assert_eq!(
            e.to_string(),
            "pod \"api\" not found in namespace \"prod\" (context \"kind\")"
        );
        // 404 without details.name on the subresource: the feature is off.
        let e = classify(
            status(404, "NotFound", ""),
            ApiCall::PatchEphemeralContainers,
            "api",
            &scope(),
        );
        assert!(matches!(e, Error::EphemeralUnsupported));
        // With details.name: the pod itself vanished.
        let e = classify(
            status(404, "NotFound", "api"),
            ApiCall::PatchEphemeralContainers,
            "api",
            &scope(),
        );
        assert!(matches!(e, Error::PodNotFound { .. }));
        let e = classify(
            status(404, "NotFound", "web"),
            ApiCall::GetWorkload {
                resource: "deployments.apps",
            },
            "",
            &scope(),
        );
        assert_eq!(
            e.to_string(),
            "deployments.apps \"web\" not found in namespace \"prod\" (context \"kind\")"
        );
    }

    #[test]
    fn forbidden_names_verb_resource_and_role() {
        let e = classify(
            status(403, "Forbidden", "api"),
            ApiCall::PatchEphemeralContainers,
            "api",
            &scope(),
        );
        assert_eq!(
            e.to_string(),
            "forbidden: cannot patch pods/ephemeralcontainers in namespace \"prod\" (context \"kind\")"
        );
        let hint = e.hint().unwrap();
        assert!(hint.contains("'patch' on 'pods/ephemeralcontainers'"));
        assert!(hint.contains("kind: Role"));
        assert!(hint.contains("namespace: prod"));
        assert_eq!(e.exit_code(), EXIT_FAILURE);
        let e = classify(
            status(403, "Forbidden", "api"),
            ApiCall::Exec,
            "api",
            &scope(),
        );
        assert!(e.to_string().contains("create pods/exec"));
        // Denied for this pod only (a Role with resourceNames): said so, without the generic Role.
        let Error::Forbidden {
            verb,
            resource,
            scope,
            ..
        } = e
        else {
            unreachable!()
        };
        let only = Error::Forbidden {
            verb,
            resource,
            scope,
            only: Some(Box::new(NamedOnly {
                pod: "api".into(),
                allowed: vec!["web".into(), "db".into()],
            })),
            message: String::new(),
        };
        assert_eq!(
            only.to_string(),
            "forbidden: cannot create pods/exec of pod \"api\" in namespace \"prod\" (context \"kind\")"
        );
        let hint = only.hint().unwrap();
        assert!(
            hint.contains(
                "only of pods web, db (a Role lists them in resourceNames), not of pod \"api\""
            ),
            "{hint}"
        );
        assert!(hint.contains("resourceNames") && !hint.contains("kind: Role"));
    }

    #[test]
    fn refused_websocket_upgrade_is_classified() {
        let err = kube::Error::UpgradeConnection(
            kube::client::UpgradeConnectionError::ProtocolSwitch(http::StatusCode::FORBIDDEN),
        );
        let e = classify(err, ApiCall::Exec, "api", &scope());
        assert!(matches!(
            e,
            Error::Forbidden {
                verb: "create",
                resource: "pods/exec",
                ..
            }
        ));
    }

    #[test]
    fn invalid_lists_structured_causes() {
        let err = kube::Error::Api(Box::new(Status {
            code: 422,
            reason: "Invalid".into(),
            message: "Pod \"api\" is invalid".into(),
            details: Some(details(
                "api",
                vec![StatusCause {
                    reason: "FieldValueForbidden".into(),
                    message: "Forbidden: cannot be set for an Ephemeral Container".into(),
                    field: "spec.ephemeralContainers[0].ports".into(),
                }],
            )),
            ..Status::default()
        }));
        let e = classify(err, ApiCall::PatchEphemeralContainers, "api", &scope());
        assert_eq!(
            e.to_string(),
            "the API server rejected the request as invalid: Pod \"api\" is invalid (spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container)"
        );
        assert!(e.hint().unwrap().contains("ports"));
    }

    fn admission_status(code: u16, reason: &str, causes: Vec<StatusCause>) -> kube::Error {
        kube::Error::Api(Box::new(Status {
            code,
            reason: reason.into(),
            message: "pods \"api\" is forbidden: ValidatingAdmissionPolicy 'limits' with binding 'limits' denied request: set limits".into(),
            details: Some(details("api", causes)),
            ..Status::default()
        }))
    }

    /// A ValidatingAdmissionPolicy's denial (its reason left unset): 422 Invalid with one cause
    /// that has a message and no field. Structure alone cannot tell it from a validation error
    /// without fields, so both are named; the server's message, which names the policy, is
    /// shown verbatim.
    #[test]
    fn a_refusal_without_field_causes_is_admission_or_validation() {
        let vap_cause = StatusCause {
            reason: String::new(),
            message: "ValidatingAdmissionPolicy 'limits' with binding 'limits' denied request: set limits".into(),
            field: String::new(),
        };
        for (code, reason, causes) in [
            (422, "Invalid", vec![vap_cause]),
            (422, "Invalid", vec![]),
            // A webhook may answer any code.
            (400, "BadRequest", vec![]),
            (400, "", vec![]),
        ] {
            let e = classify(
                admission_status(code, reason, causes),
                ApiCall::PatchEphemeralContainers,
                "api",
                &scope(),
            );
            assert!(
                matches!(
                    e,
                    Error::AdmissionRefused {
                        refused: Refused::DebugContainer,
                        or_validation: true,
                        ..
                    }
                ),
                "{code} {reason}: {e:?}"
            );
            assert_eq!(
                e.to_string(),
                "the API server refused the debug container (its admission, a policy or webhook, or its validation): pods \"api\" is forbidden: ValidatingAdmissionPolicy 'limits' with binding 'limits' denied request: set limits"
            );
            let hint = e.hint().unwrap();
            assert!(
                hint.contains("Ephemeral containers cannot carry resources"),
                "{hint}"
            );
            assert!(hint.contains("pods/ephemeralcontainers"), "{hint}");
            assert!(hint.contains("DISTROLESS_DEBUG_VERSION"), "{hint}");
            assert!(hint.contains("--copy"), "{hint}");
            assert_eq!(e.exit_code(), EXIT_FAILURE);
        }
        // The same for a pod of ours, with the pod's hint.
        let e = classify(
            admission_status(422, "Invalid", vec![]),
            ApiCall::CreatePod,
            "api",
            &scope(),
        );
        assert!(
            e.to_string()
                .starts_with("the API server refused the pod (its admission")
        );
        assert!(e.hint().unwrap().contains("distroless-debug/mode"));
        // A field cause is validation: the container spec.
        let field_cause = StatusCause {
            reason: "FieldValueForbidden".into(),
            message: "Forbidden: cannot be set for an Ephemeral Container".into(),
            field: "spec.ephemeralContainers[0].resources".into(),
        };
        let e = classify(
            admission_status(422, "Invalid", vec![field_cause]),
            ApiCall::PatchEphemeralContainers,
            "api",
            &scope(),
        );
        assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
        // A 400 of another call is not an admission refusal.
        let e = classify(
            admission_status(400, "BadRequest", vec![]),
            ApiCall::GetPod,
            "api",
            &scope(),
        );
        assert!(matches!(e, Error::Api { .. }), "{e:?}");
    }

    /// A 403 keeps the server's message: shown if admission, not RBAC, turns out to be the cause.
    #[test]
    fn forbidden_keeps_the_servers_message() {
        let e = classify(
            admission_status(403, "Forbidden", vec![]),
            ApiCall::PatchEphemeralContainers,
            "api",
            &scope(),
        );
        let Error::Forbidden { message, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(
            message.contains("ValidatingAdmissionPolicy 'limits'"),
            "{message}"
        );
        // The error itself says what RBAC would: the message is not parsed, nor shown here.
        assert_eq!(
            e.to_string(),
            "forbidden: cannot patch pods/ephemeralcontainers in namespace \"prod\" (context \"kind\")"
        );
    }
}
