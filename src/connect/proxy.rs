//! Which proxy reaches the API server, as kubectl decides it: the cluster's `proxy-url`, else
//! `HTTPS_PROXY`/`HTTP_PROXY` by the cluster URL's scheme, unless `NO_PROXY` matches the
//! *cluster* host (kube 5.0.0 matches it against the proxy's URL). Pure, but for reading the
//! environment once.

use std::net::IpAddr;

/// Proxy-related environment, read once.
#[derive(Debug, Default, Clone)]
#[expect(
    clippy::struct_field_names,
    reason = "named after HTTPS_PROXY, HTTP_PROXY and NO_PROXY"
)]
pub(crate) struct ProxyEnv {
    pub(crate) https_proxy: Option<String>,
    pub(crate) http_proxy: Option<String>,
    pub(crate) no_proxy: Option<String>,
}

impl ProxyEnv {
    pub(crate) fn from_process() -> ProxyEnv {
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
pub(crate) fn choose_proxy(
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
pub(crate) fn no_proxy_matches(no_proxy: &str, host: &str, port: u16) -> bool {
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

pub(crate) fn split_host_port(entry: &str) -> (&str, Option<u16>) {
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

pub(crate) fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
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

/// A URL for the logs: any `user:password@` in it replaced by `***@`, since proxies and
/// servers may carry credentials there.
pub(crate) fn redact_userinfo(url: &http::Uri) -> String {
    let text = url.to_string();
    match url.authority() {
        Some(authority) if authority.as_str().contains('@') => {
            let host = authority.as_str().rsplit_once('@').map_or("", |(_, h)| h);
            text.replacen(authority.as_str(), &format!("***@{host}"), 1)
        }
        _ => text,
    }
}
