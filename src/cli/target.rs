//! TARGET as typed: `NAME`, `pod/NAME`, `pod/NAME/CONTAINER`, `deploy|sts|ds|rs|job/NAME`,
//! `node/NAME`, and the name rules Kubernetes applies. Pure.

use std::fmt;

/// The kind of object a target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    /// A node: node debugging, a pod of ours on it.
    Node,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "po" | "pod" | "pods" => Kind::Pod,
            "deploy" | "deployment" | "deployments" => Kind::Deployment,
            "sts" | "statefulset" | "statefulsets" => Kind::StatefulSet,
            "ds" | "daemonset" | "daemonsets" => Kind::DaemonSet,
            "rs" | "replicaset" | "replicasets" => Kind::ReplicaSet,
            "job" | "jobs" => Kind::Job,
            "no" | "node" | "nodes" => Kind::Node,
            _ => return None,
        })
    }

    /// Resource name as RBAC and messages spell it (`deployments.apps`).
    pub(crate) fn resource(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Deployment => "deployments.apps",
            Kind::StatefulSet => "statefulsets.apps",
            Kind::DaemonSet => "daemonsets.apps",
            Kind::ReplicaSet => "replicasets.apps",
            Kind::Job => "jobs.batch",
            Kind::Node => "nodes",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Kind::Pod => "pod",
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::DaemonSet => "daemonset",
            Kind::ReplicaSet => "replicaset",
            Kind::Job => "job",
            Kind::Node => "node",
        }
    }
}

/// A parsed TARGET argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef {
    pub kind: Kind,
    pub name: String,
    /// The `/CONTAINER` suffix, if any.
    pub container: Option<String>,
}

impl fmt::Display for TargetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.short(), self.name)
    }
}

/// Parses `NAME`, `pod/NAME`, `pod/NAME/CONTAINER`, `deploy/NAME`, `sts/NAME`, `ds/NAME`,
/// `rs/NAME`, `job/NAME` (each with an optional `/CONTAINER`), and `node/NAME`.
pub fn parse_target(s: &str) -> Result<TargetRef, String> {
    let parts: Vec<&str> = s.split('/').collect();
    let (kind, name, container) = match parts.as_slice() {
        [name] => (Kind::Pod, *name, None),
        [kind, name] => (parse_kind(kind)?, *name, None),
        [kind, name, container] => (parse_kind(kind)?, *name, Some(*container)),
        _ => {
            return Err(format!(
                "invalid target {s:?}: expected NAME, pod/NAME, pod/NAME/CONTAINER or KIND/NAME"
            ));
        }
    };
    validate_object_name(name).map_err(|e| format!("invalid target {s:?}: name {e}"))?;
    if kind == Kind::Node && container.is_some() {
        return Err(format!(
            "invalid target {s:?}: a node has no containers (node/NAME)"
        ));
    }
    if let Some(c) = container {
        validate_dns_label(c).map_err(|e| format!("invalid target {s:?}: container {e}"))?;
    }
    Ok(TargetRef {
        kind,
        name: name.to_owned(),
        container: container.map(str::to_owned),
    })
}

fn parse_kind(kind: &str) -> Result<Kind, String> {
    Kind::parse(kind).ok_or_else(|| {
        format!(
            "unsupported kind {kind:?}: use pod, deploy, sts, ds, rs, job (or their long names) or node"
        )
    })
}

/// A DNS-1123 subdomain, as pod and workload names are.
pub(crate) fn validate_object_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".to_owned());
    }
    if name.len() > 253 {
        return Err(format!("{name:?} is longer than 253 characters"));
    }
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok_chars || !ends_ok(name.chars().next()) || !ends_ok(name.chars().last()) {
        return Err(format!(
            "{name:?} must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// A DNS-1123 label, as container names are.
pub(crate) fn validate_dns_label(name: &str) -> Result<(), String> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| alnum(c) || c == '-')
        && name.starts_with(alnum)
        && name.ends_with(alnum);
    if !valid {
        return Err(format!(
            "{name:?} must be at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_target_form() {
        let t = parse_target("api-7f9c").unwrap();
        assert_eq!(
            (t.kind, t.name.as_str(), t.container),
            (Kind::Pod, "api-7f9c", None)
        );
        let t = parse_target("pod/api").unwrap();
        assert_eq!(t.kind, Kind::Pod);
        let t = parse_target("pod/api/app").unwrap();
        assert_eq!(t.container.as_deref(), Some("app"));
        for (s, k) in [
            ("deploy/web", Kind::Deployment),
            ("deployment/web", Kind::Deployment),
            ("sts/db", Kind::StatefulSet),
            ("statefulset/db", Kind::StatefulSet),
            ("ds/agent", Kind::DaemonSet),
            ("daemonset/agent", Kind::DaemonSet),
            ("rs/web-1", Kind::ReplicaSet),
            ("replicaset/web-1", Kind::ReplicaSet),
            ("job/migrate", Kind::Job),
            ("Deploy/web", Kind::Deployment),
            ("node/worker-1", Kind::Node),
            ("no/worker-1", Kind::Node),
            ("nodes/worker-1", Kind::Node),
        ] {
            assert_eq!(parse_target(s).unwrap().kind, k, "{s}");
        }
        assert_eq!(
            parse_target("deploy/web").unwrap().to_string(),
            "deployment/web"
        );
    }

    #[test]
    fn rejects_bad_targets_with_the_reason() {
        assert!(parse_target("").unwrap_err().contains("name \"\"") || parse_target("").is_err());
        assert!(
            parse_target("svc/web")
                .unwrap_err()
                .contains("unsupported kind \"svc\"")
        );
        assert!(
            parse_target("pod/a/b/c")
                .unwrap_err()
                .contains("expected NAME")
        );
        assert!(parse_target("pod/API").unwrap_err().contains("lowercase"));
        assert!(parse_target("pod/api/").unwrap_err().contains("container"));
        assert!(parse_target("pod/-api").is_err());
        assert!(parse_target(&format!("pod/{}", "a".repeat(254))).is_err());
        assert!(parse_target("pod/api/a.b").unwrap_err().contains("63"));
        assert!(
            parse_target("node/n1/app")
                .unwrap_err()
                .contains("a node has no containers")
        );
    }
}
