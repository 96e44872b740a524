//! What the plugin keeps of a pod it reads: what its decisions read, nothing more. A run over
//! many pods holds them all, and every debug container added to a pod stays in its spec for
//! good, so a pod debugged often is large. Pure.

use k8s_openapi::api::core::v1::Pod;

/// Drops what the plugin never reads from a pod it keeps: `managedFields` (an entry per field
/// manager listing every field it set, so it grows with each debug container as the spec does)
/// and kubectl's last-applied configuration (a copy of the spec). Pure. A run over many pods
/// holds them all, and debug containers are never removed from a pod.
pub(crate) fn slim(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    if let Some(a) = pod.metadata.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

pub(crate) fn slimmed(pod: &Pod) -> Pod {
    let mut p = pod.clone();
    crate::plan::slim::slim(&mut p);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::target::fixtures::pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    #[test]
    fn slim_drops_what_is_never_read_and_keeps_the_default_container() {
        let mut p = pod("api")
            .container("app")
            .annotation("kubectl.kubernetes.io/default-container", "app")
            .annotation("kubectl.kubernetes.io/last-applied-configuration", "{...}")
            .build();
        p.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
        slim(&mut p);
        assert_eq!(p.metadata.managed_fields, None);
        let annotations = p.metadata.annotations.unwrap();
        assert_eq!(annotations.len(), 1);
        assert_eq!(
            annotations["kubectl.kubernetes.io/default-container"],
            "app"
        );
    }
}
