//! Who the credentials say the user is, for the audit record, without asking the API server:
//! the impersonated user, the common name of a client certificate, or the service account of a
//! service-account token. Otherwise the caller asks (a SelfSubjectReview, `api::reviews`).

/// What the credentials of a kubeconfig user say about the user name, read by
/// [`crate::connect::connect`]. Never logged: `token` is a bearer token.
#[derive(Default)]
pub(crate) struct Credentials<'a> {
    /// `--as`, or `as` in the kubeconfig.
    pub(crate) impersonate: Option<&'a str>,
    /// The client certificate, PEM.
    pub(crate) client_certificate: Option<&'a [u8]>,
    pub(crate) token: Option<&'a str>,
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
pub(crate) fn local_identity(c: &Credentials<'_>) -> Option<String> {
    if let Some(user) = c.impersonate.filter(|u| !u.is_empty()) {
        return Some(user.to_owned());
    }
    if let Some(pem) = c.client_certificate {
        return certificate_common_name(pem);
    }
    c.token.and_then(service_account_user)
}

/// The subject CN of the first certificate in `pem`.
pub(crate) fn certificate_common_name(pem: &[u8]) -> Option<String> {
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
pub(crate) fn service_account_user(token: &str) -> Option<String> {
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

/// The user name these credentials authenticate as, if they say it (see
/// [`local_identity`]). Files that cannot be read say nothing here: kube reports
/// them when it uses them.
pub(crate) fn identity_of(auth: &kube::config::AuthInfo) -> Option<String> {
    use base64::Engine as _;
    use secrecy::ExposeSecret as _;
    let certificate = match (&auth.client_certificate_data, &auth.client_certificate) {
        (Some(data), _) => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .ok(),
        (None, Some(path)) => std::fs::read(path).ok(),
        (None, None) => None,
    };
    let token = match (&auth.token, &auth.token_file) {
        (Some(t), _) => Some(t.expose_secret().to_owned()),
        (None, Some(path)) => std::fs::read_to_string(path).ok(),
        (None, None) => None,
    };
    crate::connect::identity::local_identity(&crate::connect::identity::Credentials {
        impersonate: auth.impersonate.as_deref(),
        client_certificate: certificate.as_deref(),
        token: token.as_deref().map(str::trim),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
