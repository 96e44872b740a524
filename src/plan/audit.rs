//! Who is debugging, for the audit record on the container. When the credentials name the
//! user the API server will see, that name, with no request: the impersonated user (`--as`,
//! or `as` in the kubeconfig), the common name of a client certificate, or the service
//! account of a service-account token ([`local_identity`]). Otherwise the authenticated user
//! name from a SelfSubjectReview (`authentication.k8s.io/v1`, allowed to every authenticated
//! user by default), asked concurrently with the first pod request so it adds no latency;
//! else the kubeconfig user entry's name. Any failure falls back silently.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::Api;
use kube::api::PostParams;

use crate::connect::Cluster;
use crate::plan::container::Audit;

/// A SelfSubjectReview that takes longer than this is not waited for.
const BOUND: Duration = Duration::from_secs(5);

/// The user name the API server sees: known from the credentials, or asked for.
pub async fn who_am_i(cluster: &Cluster) -> Option<String> {
    if let Some(known) = &cluster.identity {
        return Some(known.clone());
    }
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

/// What the credentials of a kubeconfig user say about the user name, read by
/// [`crate::connect::connect`]. Never logged: `token` is a bearer token.
#[derive(Default)]
pub struct Credentials<'a> {
    /// `--as`, or `as` in the kubeconfig.
    pub impersonate: Option<&'a str>,
    /// The client certificate, PEM.
    pub client_certificate: Option<&'a [u8]>,
    pub token: Option<&'a str>,
}

/// The user name the API server will authenticate these credentials as, when the credentials
/// alone say it. Pure.
/// - Impersonation: the impersonated user.
/// - A client certificate: its subject's common name (the API server's x509 authenticator
///   takes the user name from the CN, and tries certificates before tokens).
/// - A service-account token (a JWT with the `kubernetes.io` claim, or the legacy issuer
///   `kubernetes/serviceaccount`): `system:serviceaccount:NAMESPACE:NAME`, its subject. The
///   token is only decoded, not verified: the record is the client's word either way, and
///   the API server's audit log holds the verified identity.
///
/// Other tokens (OIDC, webhook) map to user names by server configuration: `None`.
pub fn local_identity(c: &Credentials<'_>) -> Option<String> {
    if let Some(user) = c.impersonate.filter(|u| !u.is_empty()) {
        return Some(user.to_owned());
    }
    if let Some(pem) = c.client_certificate {
        return certificate_common_name(pem);
    }
    c.token.and_then(service_account_user)
}

/// The subject CN of the first certificate in `pem`.
fn certificate_common_name(pem: &[u8]) -> Option<String> {
    use x509_cert::der::Decode;
    let block = pem::parse_many(pem)
        .ok()?
        .into_iter()
        .find(|b| b.tag() == "CERTIFICATE")?;
    let cert = x509_cert::Certificate::from_der(block.contents()).ok()?;
    let cn = cert.tbs_certificate().subject().common_name().ok()??;
    Some(cn.value().into_owned()).filter(|n| !n.is_empty())
}

/// The user name of a service-account token, from its claims.
fn service_account_user(token: &str) -> Option<String> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let sub = claims.get("sub")?.as_str()?;
    let service_account = claims.get("kubernetes.io").is_some()
        || claims.get("iss").and_then(|i| i.as_str()) == Some("kubernetes/serviceaccount");
    (service_account && sub.starts_with("system:serviceaccount:") && sub.split(':').count() == 4)
        .then(|| sub.to_owned())
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
        ttl,
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
        assert_eq!(a.ttl, Duration::from_secs(600));
        let a = record(None, Some("admin-entry"), None, Duration::from_secs(5), now);
        assert_eq!(a.by.as_deref(), Some("admin-entry"));
        assert_eq!(a.reason, None);
    }

    /// A self-signed certificate with subject `CN=alice, O=dev` (`openssl req -x509 -subj
    /// /O=dev/CN=alice`, EC P-256; its key was not kept).
    const ALICE_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUC9SZKOLmHMIGiw6hN0y7LMZMQyswCgYIKoZIzj0EAwIw
HjEMMAoGA1UECgwDZGV2MQ4wDAYDVQQDDAVhbGljZTAeFw0yNjExMjcwODI2MzZa
Fw0zNjExMjQwODI2MzZaMB4xDDAKBgNVBAoMA2RldjEOMAwGA1UEAwwFYWxpY2Uw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATX70X51glbg8fnpU2K1kKNvLAQNZv3
nJ0Fbe/11KcfNN/sjK9oZTpiMhRVrcWhUbkVb3tyjCnFSFJ+EcJ4/kBwo1MwUTAd
BgNVHQ4EFgQUe5fQCidSQTzo9rlmzsLGbUVzJIUwHwYDVR0jBBgwFoAUe5fQCidS
QTzo9rlmzsLGbUVzJIUwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEAk4UEMKGMeztz5whl3fa+UJcM/iTkx+94V7rUZrQSNm8CIQDpmlaeou3rlGMP
6I2A0S0wBBRyrsqUu9R7xsnEd1JcvA==
-----END CERTIFICATE-----
";

    fn jwt(claims: &serde_json::Value) -> String {
        use base64::Engine as _;
        let e = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            e(br#"{"alg":"RS256"}"#),
            e(claims.to_string().as_bytes()),
            e(b"signature")
        )
    }

    #[test]
    fn impersonation_wins_then_the_certificate_then_a_service_account_token() {
        let sa = jwt(&serde_json::json!({
            "iss": "https://kubernetes.default.svc",
            "sub": "system:serviceaccount:ops:diag",
            "kubernetes.io": {"namespace": "ops", "serviceaccount": {"name": "diag"}}
        }));
        let all = Credentials {
            impersonate: Some("bob"),
            client_certificate: Some(ALICE_PEM.as_bytes()),
            token: Some(&sa),
        };
        assert_eq!(local_identity(&all).as_deref(), Some("bob"));
        let cert = Credentials {
            impersonate: None,
            ..all
        };
        assert_eq!(local_identity(&cert).as_deref(), Some("alice"));
        let token = Credentials {
            client_certificate: None,
            ..cert
        };
        assert_eq!(
            local_identity(&token).as_deref(),
            Some("system:serviceaccount:ops:diag")
        );
        assert_eq!(local_identity(&Credentials::default()), None);
    }

    #[test]
    fn tokens_that_are_not_service_accounts_are_asked_about() {
        let legacy = jwt(&serde_json::json!({
            "iss": "kubernetes/serviceaccount",
            "sub": "system:serviceaccount:default:old"
        }));
        let oidc = jwt(&serde_json::json!({
            "iss": "https://issuer.example", "sub": "system:serviceaccount:a:b", "email": "x@y"
        }));
        let malformed_sub = jwt(&serde_json::json!({
            "kubernetes.io": {}, "sub": "system:serviceaccount:only-two"
        }));
        let user = |t: &str| {
            local_identity(&Credentials {
                token: Some(t),
                ..Credentials::default()
            })
        };
        assert_eq!(
            user(&legacy).as_deref(),
            Some("system:serviceaccount:default:old")
        );
        assert_eq!(user(&oidc), None);
        assert_eq!(user(&malformed_sub), None);
        assert_eq!(user("an-opaque-static-token"), None);
        assert_eq!(user("a.b.c"), None);
    }
}
