//! A `kube::Client` built from kubeconfig the way kubectl builds its own.
//!
//! - `--kubeconfig` alone, else every existing file in `KUBECONFIG` merged (missing files are
//!   skipped, as kubectl does), else `~/.kube/config`;
//! - `--context`, `--cluster`, `--user`, `-n`, `--as`, `--as-group`;
//! - `--request-timeout` bounds each plain request, connecting and the TLS handshake included
//!   (see [`timed`]); it is not a socket read timeout, which would cut idle watches and
//!   interactive sessions;
//! - proxies: the cluster's `proxy-url`, else `HTTPS_PROXY`/`HTTP_PROXY` by the cluster URL's
//!   scheme, unless `NO_PROXY` matches the *cluster* host. kube 5.0.0 matches `NO_PROXY`
//!   against the proxy URL, so we decide ourselves and set `Config::proxy_url`;
//! - TLS is verified unless the kubeconfig says `insecure-skip-tls-verify`;
//! - a `--context`, `--cluster` or `--user` that names no entry is reported with the names
//!   that exist, before kube reads the entries ([`select`]);
//! - an exec credential plugin runs once, here, as kubectl runs it ([`credentials::resolve`]), before the
//!   terminal goes raw, so its prompts and stderr reach the user; kube gets its result as
//!   static credentials and never runs the plugin itself.
//!
//! More than half of the file is its tests.

use std::future::Future;
use std::time::Duration;

use kube::config::KubeConfigOptions;
use kube::{Client, Config};

use crate::cli::options::Connection;
use crate::error::{Error, Scope};
use identity::identity_of;
use kubeconfig::{load_kubeconfig, select};
use proxy::{ProxyEnv, choose_proxy, redact_userinfo};
use transport::direct_client;

mod credentials;
pub(crate) mod identity;
pub(crate) mod kubeconfig;
pub(crate) mod proxy;
mod transport;

/// A ready client and where it points.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
    pub context: Option<String>,
    /// Who we act as, for the audit record: the impersonated user, else the kubeconfig user
    /// entry's name.
    pub user: Option<String>,
    /// The user name the API server will see, when the credentials say it
    /// ([`identity::local_identity`]); `None`: ask (a SelfSubjectReview).
    pub identity: Option<String>,
    pub request_timeout: Option<Duration>,
}

impl Cluster {
    pub(crate) fn scope(&self) -> Scope {
        Scope {
            namespace: self.namespace.clone(),
            context: self.context.clone(),
        }
    }
}

/// Runs one request bounded by `--request-timeout`.
pub(crate) async fn timed<T>(
    limit: Option<Duration>,
    fut: impl Future<Output = Result<T, kube::Error>>,
) -> Result<Result<T, kube::Error>, Error> {
    match limit {
        None => Ok(fut.await),
        Some(after) => tokio::time::timeout(after, fut)
            .await
            .map_err(|_| Error::RequestTimeout { after }),
    }
}

/// Builds the client. No request is made here; an exec credential plugin runs here, once.
pub(crate) async fn connect(conn: &Connection) -> Result<Cluster, Error> {
    let kubeconfig = load_kubeconfig(conn)?;
    let selection = select(&kubeconfig, conn)?;
    let kubeconfig_proxy = selection.cluster.proxy_url.clone();
    let context_name = Some(selection.context.clone());
    let user_name = selection.user.clone();

    let options = KubeConfigOptions {
        context: Some(selection.context.clone()),
        cluster: conn.cluster.clone(),
        user: conn.user.clone(),
    };
    // kube only reads the entries here; no plugin runs yet.
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| Error::Kubeconfig(e.to_string()))?;
    config.proxy_url = choose_proxy(
        kubeconfig_proxy.as_deref(),
        &ProxyEnv::from_process(),
        &config.cluster_url,
    )
    .map(|p| {
        p.parse::<http::Uri>()
            .map_err(|e| Error::Kubeconfig(format!("invalid proxy URL: {e}")))
    })
    .transpose()?;
    if let Some(user) = &conn.impersonate {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !conn.impersonate_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(conn.impersonate_groups.clone());
    }
    // Last, once the rest of the configuration is known to be good: an interactive plugin
    // should not ask for a code that an invalid proxy URL then throws away.
    credentials::resolve(
        user_name.as_deref().unwrap_or_default(),
        &mut config.auth_info,
        &selection.cluster,
    )
    .await?;
    // kube's own connect timeout (30 s) stays: a shorter --request-timeout fires first, through
    // `timed`, as a RequestTimeout that names the flag; a longer one still fails a dead server
    // within 30 s per connection, as "cannot reach the API server".
    let namespace = conn
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    tracing::debug!(
        cluster = %redact_userinfo(&config.cluster_url),
        proxy = config.proxy_url.as_ref().map(redact_userinfo),
        context = context_name.as_deref(),
        namespace = %namespace,
        insecure = config.accept_invalid_certs,
        "client configuration"
    );
    let identity = identity_of(&config.auth_info);
    let client = if config.proxy_url.is_some() {
        Client::try_from(config)
    } else {
        direct_client(config)
    }
    .map_err(|e| Error::Kubeconfig(e.to_string()))?;
    Ok(Cluster {
        client,
        namespace,
        context: context_name,
        user: conn.impersonate.clone().or(user_name),
        identity,
        request_timeout: conn.request_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::kubeconfig::{Selection, kubeconfig_paths, select};
    use super::proxy::no_proxy_matches;
    use super::*;
    use kube::config::Kubeconfig;
    use std::path::{Path, PathBuf};

    #[test]
    fn credentials_in_urls_never_reach_the_logs() {
        assert_eq!(
            redact_userinfo(&uri("http://user:s3cret@proxy.example:3128")),
            "http://***@proxy.example:3128/"
        );
        assert_eq!(
            redact_userinfo(&uri("socks5://token@10.0.0.1:1080")),
            "socks5://***@10.0.0.1:1080/"
        );
        assert_eq!(
            redact_userinfo(&uri("https://127.0.0.1:6443")),
            "https://127.0.0.1:6443/"
        );
    }

    #[test]
    fn a_yaml_error_never_shows_the_file() {
        let dir = std::env::temp_dir().join(format!("dd-client-yaml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config");
        std::fs::write(
            &path,
            "clusters: [\nusers:\n- name: u\n  user: {token: s3cret}\n",
        )
        .unwrap();
        let conn = Connection {
            kubeconfig: Some(path),
            ..Connection::default()
        };
        let err = load_kubeconfig(&conn).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains("s3cret") && !err.contains('\n'), "{err}");
    }

    fn uri(s: &str) -> http::Uri {
        s.parse().unwrap()
    }

    fn env(no_proxy: Option<&str>) -> ProxyEnv {
        ProxyEnv {
            https_proxy: Some("http://proxy:3128".into()),
            http_proxy: Some("http://plain-proxy:3128".into()),
            no_proxy: no_proxy.map(Into::into),
        }
    }

    #[test]
    fn no_proxy_is_checked_against_the_cluster_not_the_proxy() {
        let cluster = uri("https://api.prod.example.com:6443");
        // kube 5.0.0 would compare "proxy" and keep the proxy; the cluster host matches.
        assert_eq!(
            choose_proxy(None, &env(Some(".example.com")), &cluster),
            None
        );
        assert_eq!(
            choose_proxy(None, &env(Some("example.com")), &cluster),
            None
        );
        assert_eq!(
            choose_proxy(None, &env(Some("proxy")), &cluster).as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(
            choose_proxy(None, &env(None), &uri("http://api:8080")).as_deref(),
            Some("http://plain-proxy:3128")
        );
    }

    #[test]
    fn kubeconfig_proxy_wins_and_loopback_is_direct() {
        let cluster = uri("https://10.0.0.1:6443");
        assert_eq!(
            choose_proxy(Some("socks5://jump:1080"), &env(Some("*")), &cluster).as_deref(),
            Some("socks5://jump:1080")
        );
        assert_eq!(
            choose_proxy(None, &env(None), &uri("https://127.0.0.1:6443")),
            None
        );
        assert_eq!(
            choose_proxy(None, &env(None), &uri("https://localhost:6443")),
            None
        );
        assert_eq!(
            choose_proxy(None, &env(None), &uri("https://[::1]:6443")),
            None
        );
        assert_eq!(choose_proxy(None, &ProxyEnv::default(), &cluster), None);
    }

    #[test]
    fn no_proxy_forms() {
        assert!(no_proxy_matches("*", "a.b", 443));
        assert!(no_proxy_matches("a.b", "a.b", 443));
        assert!(no_proxy_matches("b", "a.b", 443));
        assert!(!no_proxy_matches("b", "ab", 443));
        assert!(no_proxy_matches(" .b ,x", "a.b", 443));
        assert!(no_proxy_matches("A.B", "a.b", 443));
        assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3", 6443));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.1.2.3", 6443));
        assert!(no_proxy_matches("10.1.2.3", "10.1.2.3", 6443));
        assert!(no_proxy_matches("a.b:6443", "a.b", 6443));
        assert!(!no_proxy_matches("a.b:443", "a.b", 6443));
        assert!(no_proxy_matches("fd00::/8", "fd00::1", 443));
        assert!(no_proxy_matches("[fd00::1]:443", "fd00::1", 443));
        assert!(no_proxy_matches("fd00::1", "fd00::1", 443));
        assert!(!no_proxy_matches("", "a.b", 443));
    }

    #[test]
    fn kubeconfig_path_precedence() {
        let home = Path::new("/home/u");
        assert_eq!(
            kubeconfig_paths(Some(Path::new("/flag")), Some("/a".as_ref()), Some(home)),
            [PathBuf::from("/flag")]
        );
        assert_eq!(
            kubeconfig_paths(None, None, Some(home)),
            [PathBuf::from("/home/u/.kube/config")]
        );
        // Missing files in KUBECONFIG are skipped, as kubectl does.
        let dir = std::env::temp_dir();
        let real = dir.join("distroless-debug-kubeconfig-test");
        std::fs::write(&real, "").unwrap();
        let list = std::env::join_paths([real.clone(), dir.join("does-not-exist-dd")]).unwrap();
        assert_eq!(
            kubeconfig_paths(None, Some(&list), Some(home)),
            std::slice::from_ref(&real)
        );
        let _ = std::fs::remove_file(real);
        assert_eq!(
            kubeconfig_paths(None, Some("".as_ref()), Some(home)),
            [PathBuf::from("/home/u/.kube/config")]
        );
    }

    const ENTRIES: &str = "\
clusters:
- {name: b, cluster: {server: 'https://b:6443'}}
- {name: a, cluster: {server: 'https://a:6443', proxy-url: 'socks5://jump:1080'}}
users:
- {name: zed, user: {token: t}}
- {name: amy, user: {}}
contexts:
- {name: prod, context: {cluster: a, user: amy}}
- {name: dev, context: {cluster: b, user: ghost}}
- {name: broken, context: {cluster: nope, user: amy}}
current-context: prod
";

    fn pick(
        yaml: &str,
        context: Option<&str>,
        cluster: Option<&str>,
        user: Option<&str>,
    ) -> Result<Selection, Error> {
        let conn = Connection {
            context: context.map(Into::into),
            cluster: cluster.map(Into::into),
            user: user.map(Into::into),
            ..Connection::default()
        };
        select(&Kubeconfig::from_yaml(yaml).unwrap(), &conn)
    }

    #[test]
    fn select_finds_the_entries_kube_will_use() {
        let s = pick(ENTRIES, None, None, None).unwrap();
        assert_eq!(s.context, "prod");
        assert_eq!(s.cluster.proxy_url.as_deref(), Some("socks5://jump:1080"));
        assert_eq!(s.user.as_deref(), Some("amy"));
        // A context's user that names no entry means no credentials, as in kube and kubectl.
        let s = pick(ENTRIES, Some("dev"), None, None).unwrap();
        assert_eq!(s.cluster.server.as_deref(), Some("https://b:6443"));
        assert_eq!(s.user.as_deref(), Some("ghost"));
        let s = pick(ENTRIES, Some(""), Some("b"), Some("zed")).unwrap();
        assert_eq!(s.context, "prod");
        assert_eq!(s.cluster.server.as_deref(), Some("https://b:6443"));
        assert_eq!(s.user.as_deref(), Some("zed"));
    }

    #[test]
    fn names_that_are_not_there_are_reported_with_those_that_are() {
        let failed = |yaml: &str, c: Option<&str>, cl: Option<&str>, u: Option<&str>| {
            let e = pick(yaml, c, cl, u).unwrap_err();
            assert_eq!(e.kind(), "Kubeconfig");
            assert_eq!(e.exit_code(), 1);
            (e.to_string(), e.hint().unwrap())
        };
        let (msg, hint) = failed(ENTRIES, Some("nosuch"), None, None);
        assert_eq!(
            msg,
            "kubeconfig: no context \"nosuch\" in the kubeconfig; contexts: broken, dev, prod"
        );
        assert!(hint.starts_with("pick one with --context NAME"), "{hint}");
        let (msg, hint) = failed(ENTRIES, None, Some("nosuch"), None);
        assert_eq!(
            msg,
            "kubeconfig: no cluster \"nosuch\" in the kubeconfig; clusters: a, b"
        );
        assert!(hint.starts_with("pick one with --cluster NAME"), "{hint}");
        let (msg, hint) = failed(ENTRIES, None, None, Some("nosuch"));
        assert_eq!(
            msg,
            "kubeconfig: no user \"nosuch\" in the kubeconfig; users: amy, zed"
        );
        assert!(hint.starts_with("pick one with --user NAME"), "{hint}");
        let (msg, hint) = failed(ENTRIES, Some("broken"), None, None);
        assert_eq!(
            msg,
            "kubeconfig: context \"broken\" names cluster \"nope\", which is not in the kubeconfig; clusters: a, b"
        );
        assert!(
            hint.contains("--cluster NAME") && hint.contains("set-context broken --cluster=NAME"),
            "{hint}"
        );
        let (msg, hint) = failed(
            &ENTRIES.replace("current-context: prod", "current-context: gone"),
            None,
            None,
            None,
        );
        assert_eq!(
            msg,
            "kubeconfig: current-context \"gone\" names no context in the kubeconfig; contexts: broken, dev, prod"
        );
        assert!(
            hint.contains("--context NAME") && hint.contains("use-context"),
            "{hint}"
        );
        let (msg, _) = failed(
            &ENTRIES.replace("current-context: prod", ""),
            None,
            None,
            None,
        );
        assert_eq!(
            msg,
            "kubeconfig: no current context is set and no --context given; contexts: broken, dev, prod"
        );
        let (msg, hint) = failed("", Some("x"), None, None);
        assert_eq!(
            msg,
            "kubeconfig: no context \"x\" in the kubeconfig; it has no contexts"
        );
        assert!(hint.contains("--kubeconfig"), "{hint}");
    }

    #[tokio::test]
    async fn timed_bounds_a_request() {
        let r = timed(Some(Duration::from_millis(10)), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, kube::Error>(())
        })
        .await;
        assert!(matches!(r, Err(Error::RequestTimeout { .. })));
        let r = timed(None, async { Ok::<_, kube::Error>(1) }).await;
        assert!(matches!(r, Ok(Ok(1))));
    }
}
