//! Who is debugging, for the audit record on the container. When the credentials name the
//! user the API server will see, that name, with no request: the impersonated user (`--as`,
//! or `as` in the kubeconfig), the common name of a client certificate, or the service
//! account of a service-account token ([`crate::connect::identity::local_identity`]). Otherwise the authenticated user
//! name from a SelfSubjectReview (`authentication.k8s.io/v1`, allowed to every authenticated
//! user by default), asked concurrently with the first pod request so it adds no latency;
//! else the kubeconfig user entry's name. Any failure falls back silently.

use std::time::Duration;

/// The audit record: `reviewed` (from [`crate::api::reviews::who_am_i`]) wins over the kubeconfig user. Pure.
pub(crate) fn record(
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
        ttl,
    }
}

/// The audit record and lifetime written into the container's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Who started it (kubeconfig user or impersonated user), if known.
    pub by: Option<String>,
    /// When, RFC 3339.
    pub at: String,
    pub reason: Option<String>,
    /// How long the container lives at most (`--ttl`).
    pub ttl: std::time::Duration,
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
        assert_eq!(a.ttl, Duration::from_secs(600));
        let a = record(None, Some("admin-entry"), None, Duration::from_secs(5), now);
        assert_eq!(a.by.as_deref(), Some("admin-entry"));
        assert_eq!(a.reason, None);
    }
}
