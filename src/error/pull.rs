//! What to say when the kubelet cannot pull the debug container's image: the registry, from
//! the image reference we were given (our own input), and what an ephemeral container can pull
//! with, from the pod (its `imagePullSecrets`, its service account). Whether the registry
//! wanted credentials only the kubelet's message says: it is shown as it is, never parsed.

use crate::model::PodPull;

/// The registry host of an image reference, as the container runtime reads it: the first
/// path component when it looks like a host (has a `.` or a `:`, or is `localhost`), else
/// Docker Hub. Pure.
pub(crate) fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// The hint of an `ErrImagePull` or `ImagePullBackOff` of the debug container. Pure.
pub(crate) fn pull_failed_hint(image: &str, pull: &PodPull) -> String {
    let registry = registry_of(image);
    let mut h = format!(
        "check the image name and tag, and that the node can reach registry {registry}. If it \
         wants credentials: an ephemeral container pulls only with its pod's imagePullSecrets"
    );
    if pull.secrets.is_empty() {
        h.push_str(", this pod has none");
    } else {
        h.push_str(&format!(" (this pod's: {})", pull.secrets.join(", ")));
    }
    h.push_str(
        ", and they cannot be added to a running pod. Ways out:\n  \
         --image IMAGE (or KUBECTL_DISTROLESS_DEBUG_IMAGE): a public image, or one the node can pull",
    );
    if pull.secrets.is_empty() {
        let sa = pull.service_account.as_deref().unwrap_or("default");
        h.push_str(&format!(
            "\n  --copy, once the secret is on the pod's service account (kubectl patch \
             serviceaccount {sa} -p '{{\"imagePullSecrets\":[{{\"name\":\"SECRET\"}}]}}'): a new \
             pod that names no imagePullSecrets gets its service account's"
        ));
    }
    h.push_str(
        "\n  the secret in the workload's pod template (spec.template.spec.imagePullSecrets), \
         then debug one of its new pods",
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_the_first_component_when_it_is_a_host() {
        for (image, registry) in [
            ("busybox", "docker.io"),
            ("busybox:1.36", "docker.io"),
            ("nicolaka/netshoot:v0.13", "docker.io"),
            ("docker.io/nicolaka/netshoot:v0.13", "docker.io"),
            ("ghcr.io/org/tools@sha256:abcd", "ghcr.io"),
            (
                "127.0.0.1:15001/distroless-debug/toolbox:1",
                "127.0.0.1:15001",
            ),
            ("localhost/distroless-debug/toolbox:1", "localhost"),
            ("registry:5000/tools", "registry:5000"),
            ("library/busybox", "docker.io"),
        ] {
            assert_eq!(registry_of(image), registry, "{image}");
        }
    }

    #[test]
    fn a_pod_without_secrets_is_offered_its_service_account_and_the_copy() {
        let pull = PodPull {
            secrets: vec![],
            service_account: Some("api".into()),
        };
        let h = pull_failed_hint("127.0.0.1:15001/team/tools:1", &pull);
        assert_eq!(
            h,
            "check the image name and tag, and that the node can reach registry 127.0.0.1:15001. \
             If it wants credentials: an ephemeral container pulls only with its pod's \
             imagePullSecrets, this pod has none, and they cannot be added to a running pod. \
             Ways out:\n  \
             --image IMAGE (or KUBECTL_DISTROLESS_DEBUG_IMAGE): a public image, or one the node can pull\n  \
             --copy, once the secret is on the pod's service account (kubectl patch serviceaccount \
             api -p '{\"imagePullSecrets\":[{\"name\":\"SECRET\"}]}'): a new pod that names no \
             imagePullSecrets gets its service account's\n  \
             the secret in the workload's pod template (spec.template.spec.imagePullSecrets), then \
             debug one of its new pods"
        );
        let h = pull_failed_hint("tools:1", &PodPull::default());
        assert!(h.contains("registry docker.io."), "{h}");
        assert!(h.contains("serviceaccount default "), "{h}");
    }

    #[test]
    fn a_pod_with_secrets_names_them_and_no_copy_since_it_keeps_them() {
        let pull = PodPull {
            secrets: vec!["regcred".into(), "other".into()],
            service_account: Some("default".into()),
        };
        let h = pull_failed_hint("ghcr.io/org/tools:1", &pull);
        assert!(
            h.contains("imagePullSecrets (this pod's: regcred, other), and they cannot"),
            "{h}"
        );
        assert!(!h.contains("--copy"), "{h}");
        assert!(h.contains("--image IMAGE"), "{h}");
        assert!(h.contains("spec.template.spec.imagePullSecrets"), "{h}");
    }
}
