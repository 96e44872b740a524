//! The part of the Pod Security Standards that a debug container can trip, as a pure check.
//!
//! Why: a Pod Security Admission refusal arrives as a plain `403 Forbidden` Status whose only
//! structured fields (`details.name`, `details.kind`) are identical to an RBAC refusal; the
//! rule names live only in the message text, which we never parse. So after a `403` on the
//! `ephemeralcontainers` PATCH we (1) ask the server whether RBAC allows the call
//! (`SelfSubjectAccessReview`), and if it does, (2) evaluate our own container here against the
//! namespace's enforced level to name the rule and the profile that would pass.
//! See <https://kubernetes.io/docs/concepts/security/pod-security-standards/>.

use k8s_openapi::api::core::v1::{Container, EphemeralContainer, Pod, PodSecurityContext};

use crate::model::Level;

/// Namespace label that holds the enforced level.
pub(crate) const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// Capabilities the baseline level lets a container add.
const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn strip_cap(c: &str) -> &str {
    c.strip_prefix("CAP_").unwrap_or(c)
}

/// The rules of `level` that `container` (in a pod with `pod_sc`) violates, named as the
/// Pod Security Standards name them. Empty means the container passes.
pub(crate) fn violations(
    level: Level,
    container: &EphemeralContainer,
    pod_sc: Option<&PodSecurityContext>,
) -> Vec<String> {
    let mut out = Vec::new();
    if level == Level::Privileged {
        return out;
    }
    let sc = container.security_context.as_ref();
    if sc.and_then(|s| s.privileged) == Some(true) {
        out.push("privileged (securityContext.privileged=true)".to_owned());
    }
    let added: Vec<&str> = sc
        .and_then(|s| s.capabilities.as_ref())
        .and_then(|c| c.add.as_ref())
        .map(|a| a.iter().map(|c| strip_cap(c)).collect())
        .unwrap_or_default();
    let not_baseline: Vec<&str> = added
        .iter()
        .copied()
        .filter(|c| !BASELINE_CAPS.contains(c))
        .collect();
    if !not_baseline.is_empty() {
        out.push(format!("capabilities (adds {})", not_baseline.join(", ")));
    }
    let container_seccomp = sc
        .and_then(|s| s.seccomp_profile.as_ref())
        .map(|p| p.type_.as_str());
    let pod_seccomp = pod_sc
        .and_then(|s| s.seccomp_profile.as_ref())
        .map(|p| p.type_.as_str());
    if container_seccomp == Some("Unconfined") {
        out.push("seccompProfile (Unconfined)".to_owned());
    }
    if level == Level::Baseline {
        return out;
    }

    if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
        out.push("allowPrivilegeEscalation != false".to_owned());
    }
    let drops_all = sc
        .and_then(|s| s.capabilities.as_ref())
        .and_then(|c| c.drop.as_ref())
        .is_some_and(|d| d.iter().any(|c| strip_cap(c) == "ALL"));
    if !drops_all {
        out.push("capabilities (must drop ALL)".to_owned());
    }
    let restricted_extra: Vec<&str> = added
        .iter()
        .copied()
        .filter(|c| *c != "NET_BIND_SERVICE" && BASELINE_CAPS.contains(c))
        .collect();
    if !restricted_extra.is_empty() {
        out.push(format!(
            "capabilities (may add only NET_BIND_SERVICE, adds {})",
            restricted_extra.join(", ")
        ));
    }
    let non_root = match sc.and_then(|s| s.run_as_non_root) {
        Some(v) => v,
        None => pod_sc.and_then(|s| s.run_as_non_root) == Some(true),
    };
    if !non_root {
        out.push("runAsNonRoot != true".to_owned());
    }
    let uid = sc
        .and_then(|s| s.run_as_user)
        .or_else(|| pod_sc.and_then(|s| s.run_as_user));
    if uid == Some(0) {
        out.push("runAsUser=0".to_owned());
    }
    let seccomp = container_seccomp.or(pod_seccomp);
    if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
        out.push("seccompProfile (must be RuntimeDefault or Localhost)".to_owned());
    }
    out
}

/// A regular container as the container checks above take it (the fields they read are the
/// same). Pure.
pub(crate) fn as_ephemeral(c: &Container) -> EphemeralContainer {
    EphemeralContainer {
        name: c.name.clone(),
        security_context: c.security_context.clone(),
        ..EphemeralContainer::default()
    }
}

/// The rules of `level` that a whole pod of ours (a copy, a node pod) violates: the host
/// namespaces and `hostPath` volumes of the pod (baseline), then each container's and init
/// container's own, as `container NAME: RULE`. Empty means the pod passes. Pure.
pub(crate) fn pod_violations(level: Level, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    if level == Level::Privileged {
        return out;
    }
    let Some(spec) = pod.spec.as_ref() else {
        return out;
    };
    let host: Vec<&str> = [
        (spec.host_network, "hostNetwork=true"),
        (spec.host_pid, "hostPID=true"),
        (spec.host_ipc, "hostIPC=true"),
    ]
    .into_iter()
    .filter(|(on, _)| *on == Some(true))
    .map(|(_, name)| name)
    .collect();
    if !host.is_empty() {
        out.push(format!("host namespaces ({})", host.join(", ")));
    }
    let host_paths: Vec<&str> = spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.host_path.is_some())
        .map(|v| v.name.as_str())
        .collect();
    if !host_paths.is_empty() {
        out.push(format!("hostPath volumes ({})", host_paths.join(", ")));
    }
    let pod_sc = spec.security_context.as_ref();
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        for rule in violations(level, &as_ephemeral(c), pod_sc) {
            out.push(format!("container {}: {rule}", c.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Profile;

    #[test]
    fn a_whole_pod_names_its_pod_rules_then_each_container() {
        let c = |name: &str, p: Profile| Container {
            name: name.into(),
            security_context: p.security_context(),
            ..Container::default()
        };
        let pod = Pod {
            spec: Some(k8s_openapi::api::core::v1::PodSpec {
                host_pid: Some(true),
                containers: vec![
                    c("app", Profile::Baseline),
                    c("debugger-x", Profile::General),
                ],
                init_containers: Some(vec![c("init", Profile::Restricted)]),
                ..Default::default()
            }),
            ..Pod::default()
        };
        assert_eq!(
            pod_violations(Level::Baseline, &pod),
            [
                "host namespaces (hostPID=true)",
                "container debugger-x: capabilities (adds SYS_PTRACE)"
            ]
        );
        assert!(pod_violations(Level::Privileged, &pod).is_empty());
    }

    fn container(p: Profile) -> EphemeralContainer {
        EphemeralContainer {
            name: "d".into(),
            security_context: p.security_context(),
            ..EphemeralContainer::default()
        }
    }

    #[test]
    fn privileged_level_allows_everything() {
        for &p in <Profile as clap::ValueEnum>::value_variants() {
            assert!(violations(Level::Privileged, &container(p), None).is_empty());
        }
    }

    #[test]
    fn baseline_level_per_profile() {
        let v = |p| violations(Level::Baseline, &container(p), None);
        assert_eq!(v(Profile::General), ["capabilities (adds SYS_PTRACE)"]);
        assert_eq!(
            v(Profile::Netadmin),
            ["capabilities (adds NET_ADMIN, NET_RAW)"]
        );
        assert_eq!(
            v(Profile::Sysadmin),
            ["privileged (securityContext.privileged=true)"]
        );
        assert!(v(Profile::Baseline).is_empty());
        assert!(v(Profile::Restricted).is_empty());
    }

    #[test]
    fn restricted_level_passes_only_restricted() {
        let v = |p| violations(Level::Restricted, &container(p), None);
        assert!(v(Profile::Restricted).is_empty());
        let base = v(Profile::Baseline);
        assert!(base.contains(&"allowPrivilegeEscalation != false".to_owned()));
        assert!(base.contains(&"runAsNonRoot != true".to_owned()));
        assert!(base.iter().any(|r| r.starts_with("seccompProfile")));
        assert!(base.iter().any(|r| r.contains("drop ALL")));
    }

    #[test]
    fn pod_level_settings_count_for_restricted() {
        let mut c = container(Profile::Restricted);
        if let Some(sc) = c.security_context.as_mut() {
            sc.run_as_non_root = None;
            sc.seccomp_profile = None;
        }
        assert_eq!(violations(Level::Restricted, &c, None).len(), 2);
        let pod_sc = PodSecurityContext {
            run_as_non_root: Some(true),
            seccomp_profile: Some(k8s_openapi::api::core::v1::SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..PodSecurityContext::default()
        };
        assert!(violations(Level::Restricted, &c, Some(&pod_sc)).is_empty());
        let root = PodSecurityContext {
            run_as_user: Some(0),
            ..pod_sc
        };
        assert_eq!(
            violations(Level::Restricted, &c, Some(&root)),
            ["runAsUser=0"]
        );
    }

    #[test]
    fn levels_parse() {
        assert_eq!("restricted".parse::<Level>(), Ok(Level::Restricted));
        assert!("latest".parse::<Level>().is_err());
    }
}
