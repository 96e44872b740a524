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
//! - an exec credential plugin runs once, here, as kubectl runs it ([`exec`]), before the
//!   terminal goes raw, so its prompts and stderr reach the user; kube gets its result as
//!   static credentials and never runs the plugin itself.

use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cli::options::Connection;
use crate::error::{Error, KubeconfigEntry, NamedBy, Scope};

mod credentials;
pub mod identity;

/// A ready client and where it points.
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
    pub context: Option<String>,
    /// Who we act as, for the audit record: the impersonated user, else the kubeconfig user
    /// entry's name.
    pub user: Option<String>,
    /// The user name the API server will see, when the credentials say it
    /// ([`crate::plan::audit::local_identity`]); `None`: ask (a SelfSubjectReview).
    pub identity: Option<String>,
    pub request_timeout: Option<Duration>,
}

impl Cluster {
    pub fn scope(&self) -> Scope {
        Scope {
            namespace: self.namespace.clone(),
            context: self.context.clone(),
        }
    }
}

/// Runs one request bounded by `--request-timeout`.
pub async fn timed<T>(
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

/// The directory that holds `.kube/config` by default: `HOME`; on Windows, where `HOME` is
/// usually not set, `USERPROFILE` then (kubectl falls back the same way).
pub fn home_dir() -> Option<PathBuf> {
    let home = std::env::var_os("HOME");
    #[cfg(windows)]
    let home = home.or_else(|| std::env::var_os("USERPROFILE"));
    home.map(PathBuf::from)
}

/// Kubeconfig files to read, kubectl's way.
pub fn kubeconfig_paths(
    flag: Option<&Path>,
    env: Option<&std::ffi::OsStr>,
    home: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(f) = flag {
        return vec![f.to_path_buf()];
    }
    if let Some(v) = env {
        let listed: Vec<PathBuf> = std::env::split_paths(v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !listed.is_empty() {
            return listed.into_iter().filter(|p| p.exists()).collect();
        }
    }
    home.map(|h| vec![h.join(".kube").join("config")])
        .unwrap_or_default()
}

fn load_kubeconfig(conn: &Connection) -> Result<Kubeconfig, Error> {
    let home = home_dir();
    let env = std::env::var_os("KUBECONFIG");
    let paths = kubeconfig_paths(conn.kubeconfig.as_deref(), env.as_deref(), home.as_deref());
    if paths.is_empty() {
        return Err(Error::Kubeconfig(
            "no kubeconfig found: no file listed in KUBECONFIG exists (or HOME is not set)"
                .to_owned(),
        ));
    }
    let mut merged: Option<Kubeconfig> = None;
    for p in &paths {
        let k = Kubeconfig::read_from(p)
            .map_err(|e| Error::Kubeconfig(format!("{}: {}", p.display(), first_line(&e))))?;
        merged = Some(match merged {
            None => k,
            Some(m) => m
                .merge(k)
                .map_err(|e| Error::Kubeconfig(format!("{}: {e}", p.display())))?,
        });
    }
    merged.ok_or_else(|| Error::Kubeconfig("no kubeconfig".to_owned()))
}

/// Proxy-related environment, read once.
#[derive(Debug, Default, Clone)]
pub struct ProxyEnv {
    pub https_proxy: Option<String>,
    pub http_proxy: Option<String>,
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    pub fn from_process() -> ProxyEnv {
        let get = |upper: &str, lower: &str| {
            std::env::var(upper)
                .ok()
                .or_else(|| std::env::var(lower).ok())
                .filter(|v| !v.trim().is_empty())
        };
        ProxyEnv {
            https_proxy: get("HTTPS_PROXY", "https_proxy"),
            http_proxy: get("HTTP_PROXY", "http_proxy"),
            no_proxy: get("NO_PROXY", "no_proxy"),
        }
    }
}

/// The proxy for `cluster_url`: the kubeconfig's `proxy-url` wins; else the environment
/// proxy for the URL's scheme, unless the host is loopback or matches `NO_PROXY` (Go's rules:
/// `*`, exact host, domain suffix with or without a leading dot, IP, CIDR, optional `:port`).
pub fn choose_proxy(
    kubeconfig_proxy: Option<&str>,
    env: &ProxyEnv,
    cluster_url: &http::Uri,
) -> Option<String> {
    if let Some(p) = kubeconfig_proxy.filter(|p| !p.is_empty()) {
        return Some(p.to_owned());
    }
    let https = cluster_url.scheme_str() != Some("http");
    let proxy = if https {
        env.https_proxy.clone()
    } else {
        env.http_proxy.clone()
    }?;
    let host = cluster_url
        .host()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = cluster_url
        .port_u16()
        .unwrap_or(if https { 443 } else { 80 });
    if host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    {
        return None;
    }
    if let Some(np) = &env.no_proxy
        && no_proxy_matches(np, host, port)
    {
        return None;
    }
    Some(proxy)
}

/// Whether `NO_PROXY` (comma-separated) excludes `host:port`.
pub fn no_proxy_matches(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host.to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            if let Some((net, bits)) = entry.split_once('/') {
                return match (host_ip, net.parse::<IpAddr>(), bits.parse::<u8>()) {
                    (Some(ip), Ok(net), Ok(bits)) => in_cidr(ip, net, bits),
                    _ => false,
                };
            }
            // Optional port: "host:port", "[v6]:port"; a bare IPv6 address has colons too.
            let (name, entry_port) = split_host_port(&entry);
            if let Some(p) = entry_port
                && p != port
            {
                return false;
            }
            if let (Some(ip), Ok(eip)) = (host_ip, name.parse::<IpAddr>()) {
                return ip == eip;
            }
            let bare = name.trim_start_matches('.');
            host == bare || host.ends_with(&format!(".{bare}"))
        })
}

fn split_host_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((h, after)) = rest.split_once(']') {
            return (h, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
        return (entry, None);
    }
    if entry.matches(':').count() == 1
        && let Some((h, p)) = entry.rsplit_once(':')
        && let Ok(p) = p.parse()
    {
        return (h, Some(p));
    }
    (entry, None)
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The kubeconfig entries a run uses.
#[derive(Debug, Clone)]
struct Selection {
    context: String,
    cluster: kube::config::Cluster,
    /// The user entry's name: `--user`, else the context's (which may name no entry: then
    /// there are no credentials, as with kubectl and kube).
    user: Option<String>,
}

/// Finds the context, cluster and user entries the way kube will when it builds the config,
/// so that a name that is not there is reported first, with the names that are. kube 5 says
/// only `failed to load current context: NAME`; kubectl `context was not found for specified
/// context: NAME`. Neither lists what exists.
///
/// As in kube and client-go: the context comes from `--context`, else `current-context`; the
/// cluster from `--cluster`, else the context's; the user from `--user`, else the context's.
/// A `--user` that names no entry is an error (client-go: `auth info "NAME" does not exist`);
/// a context's user that names none means no credentials, which both accept.
fn select(kubeconfig: &Kubeconfig, conn: &Connection) -> Result<Selection, Error> {
    let contexts = || {
        sorted_names(
            kubeconfig
                .contexts
                .iter()
                .filter(|c| c.context.is_some())
                .map(|c| &c.name),
        )
    };
    // An empty flag is an unset one, as with kubectl.
    let flag = conn.context.as_ref().filter(|c| !c.is_empty());
    let (context_name, named_by) = match (flag, &kubeconfig.current_context) {
        (Some(flag), _) => (flag.clone(), NamedBy::Flag),
        (None, Some(current)) if !current.is_empty() => (current.clone(), NamedBy::CurrentContext),
        (None, _) => {
            return Err(Error::NoCurrentContext {
                available: contexts(),
            });
        }
    };
    let Some(context) = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
    else {
        return Err(Error::NoSuchEntry {
            entry: KubeconfigEntry::Context,
            name: context_name,
            named_by,
            available: contexts(),
        });
    };
    let (cluster_name, named_by) = match &conn.cluster {
        Some(flag) => (flag.clone(), NamedBy::Flag),
        None => (
            context.cluster.clone(),
            NamedBy::Context(context_name.clone()),
        ),
    };
    let Some(cluster) = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
    else {
        return Err(Error::NoSuchEntry {
            entry: KubeconfigEntry::Cluster,
            name: cluster_name,
            named_by,
            available: sorted_names(
                kubeconfig
                    .clusters
                    .iter()
                    .filter(|c| c.cluster.is_some())
                    .map(|c| &c.name),
            ),
        });
    };
    // A user entry without a body is a user without credentials to kube and client-go alike.
    if let Some(user) = &conn.user
        && !kubeconfig.auth_infos.iter().any(|u| &u.name == user)
    {
        return Err(Error::NoSuchEntry {
            entry: KubeconfigEntry::User,
            name: user.clone(),
            named_by: NamedBy::Flag,
            available: sorted_names(kubeconfig.auth_infos.iter().map(|u| &u.name)),
        });
    }
    Ok(Selection {
        user: conn.user.clone().or_else(|| context.user.clone()),
        context: context_name,
        cluster: cluster.clone(),
    })
}

fn sorted_names<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut names: Vec<String> = names.cloned().collect();
    names.sort();
    names.dedup();
    names
}

/// Builds the client. No request is made here; an exec credential plugin runs here, once.
pub async fn connect(conn: &Connection) -> Result<Cluster, Error> {
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

/// The client for a direct connection to the API server: kube's own middleware stack (base
/// URI, retries of 429/503/504, authentication, impersonation headers, request tracing at
/// `-v 4`) over kube's rustls connector, with one difference: `TCP_NODELAY` on the socket.
///
/// kube 5 leaves Nagle's algorithm on (kube-rs/kube#2056). Every connection after the first
/// resumes its TLS session, the client's last handshake message is small, and the request
/// written right after it waits for the server's delayed ACK: about 40 ms for each watch,
/// exec on a new connection. Through a proxy kube's own builder is used unchanged.
fn direct_client(config: Config) -> Result<Client, kube::Error> {
    use hyper_util::client::legacy::connect::HttpConnector;
    use kube::client::ConfigExt as _;
    use tower::ServiceBuilder;

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let hyper: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let retry = config
        .default_retry
        .then(|| tower::retry::RetryLayer::new(kube::client::retry::RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        // Method and URL at -v 4, never headers (they carry the credentials).
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        .service(hyper);
    Ok(Client::new(service, config.default_namespace))
}

/// The user name these credentials authenticate as, if they say it (see
/// [`crate::plan::audit::local_identity`]). Files that cannot be read say nothing here: kube reports
/// them when it uses them.
fn identity_of(auth: &kube::config::AuthInfo) -> Option<String> {
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

/// The first line of an error. A YAML parse error goes on with a snippet of the file around
/// the mistake, which can hold a token or a key: it is never shown.
fn first_line(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    text.lines().next().unwrap_or_default().to_owned()
}

/// A URL for the logs: any `user:password@` in it replaced by `***@`, since proxies and
/// servers may carry credentials there.
pub fn redact_userinfo(url: &http::Uri) -> String {
    let text = url.to_string();
    match url.authority() {
        Some(authority) if authority.as_str().contains('@') => {
            let host = authority.as_str().rsplit_once('@').map_or("", |(_, h)| h);
            text.replacen(authority.as_str(), &format!("***@{host}"), 1)
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
