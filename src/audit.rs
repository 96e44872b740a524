//! Who is debugging, for the audit record on the container: the authenticated user name from
//! a SelfSubjectReview (`authentication.k8s.io/v1`, allowed to every authenticated user by
//! default), else the kubeconfig user (or `--as`). Asked concurrently with the first pod
//! request so it adds no latency; any failure falls back silently.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::Api;
use kube::api::PostParams;

use crate::client::Cluster;
use crate::spec::Audit;

/// A SelfSubjectReview that takes longer than this is not waited for.
const BOUND: Duration = Duration::from_secs(5);

/// The user name the API server sees, if it tells.
pub async fn who_am_i(cluster: &Cluster) -> Option<String> {
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

/// The audit record: `reviewed` (from [`who_am_i`]) wins over the kubeconfig user. Pure.
pub fn record(
    reviewed: Option<String>,
    kubeconfig_user: Option<&str>,
    reason: Option<&str>,
    ttl: Duration,
    now: k8s_openapi::jiff::Timestamp,
) -> Audit {
    Audit {
        by: reviewed.or_else(|| kubeconfig_user.map(str::to_owned)),
        at: now
            .round(k8s_openapi::jiff::Unit::Second)
            .unwrap_or(now)
            .to_string(),
        reason: reason.map(str::to_owned),
        ttl_seconds: Some(ttl.as_secs().max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviewed_identity_wins_and_time_is_whole_seconds() {
        let now: k8s_openapi::jiff::Timestamp = "2026-01-02T03:04:05.4Z".parse().unwrap();
        let a = record(
            Some("alice".into()),
            Some("admin-entry"),
            Some("INC-7"),
            Duration::from_secs(600),
            now,
        );
        assert_eq!(a.by.as_deref(), Some("alice"));
        assert_eq!(a.at, "2026-01-02T03:04:05Z");
        assert_eq!(a.reason.as_deref(), Some("INC-7"));
        assert_eq!(a.ttl_seconds, Some(600));
        let a = record(None, Some("admin-entry"), None, Duration::from_secs(5), now);
        assert_eq!(a.by.as_deref(), Some("admin-entry"));
        assert_eq!(a.reason, None);
    }
}
