//! Security profiles, identical in name and effect to `kubectl debug --profile` for the
//! ephemeral-container case (kubectl `pkg/cmd/debug/profiles.go`).
//!
//! A profile only ever sets the debug container's `securityContext`; pod-level settings
//! (`runAsUser`, `runAsNonRoot`, `seccompProfile`) still apply to it. Capabilities added here do
//! nothing for a non-root UID, which is why the non-root handling in `spec` says so on stderr.

use k8s_openapi::api::core::v1::{Capabilities, SeccompProfile, SecurityContext};

use crate::model::Profile;

impl Profile {
    /// The debug container's `securityContext` for this profile, exactly as kubectl sets it on
    /// an ephemeral container that starts without one.
    pub(crate) fn security_context(self) -> Option<SecurityContext> {
        match self {
            Profile::Baseline => None,
            Profile::General => Some(add_capabilities(&["SYS_PTRACE"])),
            Profile::Netadmin => Some(add_capabilities(&["NET_ADMIN", "NET_RAW"])),
            Profile::Sysadmin => Some(SecurityContext {
                privileged: Some(true),
                ..SecurityContext::default()
            }),
            Profile::Restricted => Some(restricted()),
        }
    }
}

/// The `restricted` profile's context: what the `restricted` Pod Security level asks of a
/// container. Pure.
pub(crate) fn restricted() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            add: None,
        }),
        allow_privilege_escalation: Some(false),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            localhost_profile: None,
        }),
        ..SecurityContext::default()
    }
}

fn add_capabilities(caps: &[&str]) -> SecurityContext {
    SecurityContext {
        capabilities: Some(Capabilities {
            add: Some(caps.iter().map(|c| (*c).to_owned()).collect()),
            drop: None,
        }),
        ..SecurityContext::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn sc(p: Profile) -> Value {
        serde_json::to_value(p.security_context()).unwrap()
    }

    #[test]
    fn general_adds_sys_ptrace_only() {
        assert_eq!(
            sc(Profile::General),
            json!({"capabilities": {"add": ["SYS_PTRACE"]}})
        );
    }

    #[test]
    fn baseline_sets_nothing() {
        assert_eq!(sc(Profile::Baseline), Value::Null);
    }

    #[test]
    fn restricted_matches_kubectl() {
        assert_eq!(
            sc(Profile::Restricted),
            json!({
                "runAsNonRoot": true,
                "capabilities": {"drop": ["ALL"]},
                "allowPrivilegeEscalation": false,
                "seccompProfile": {"type": "RuntimeDefault"}
            })
        );
    }

    #[test]
    fn netadmin_adds_net_admin_and_net_raw() {
        assert_eq!(
            sc(Profile::Netadmin),
            json!({"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}})
        );
    }

    #[test]
    fn sysadmin_is_privileged() {
        assert_eq!(sc(Profile::Sysadmin), json!({"privileged": true}));
    }

    #[test]
    fn names_are_the_flag_values_and_default_is_general() {
        use clap::ValueEnum;
        for &p in <Profile as clap::ValueEnum>::value_variants() {
            assert_eq!(Profile::from_str(p.name(), false).unwrap(), p);
        }
        assert_eq!(Profile::default(), Profile::General);
    }
}
