//! The HTTP client stack for a direct connection to the API server: kube's own, with
//! TCP_NODELAY on the socket.

use kube::{Client, Config};

/// The client for a direct connection to the API server: kube's own middleware stack (base
/// URI, retries of 429/503/504, authentication, impersonation headers, request tracing at
/// `-v 4`) over kube's rustls connector, with one difference: `TCP_NODELAY` on the socket.
///
/// kube 5 leaves Nagle's algorithm on (kube-rs/kube#2056). Every connection after the first
/// resumes its TLS session, the client's last handshake message is small, and the request
/// written right after it waits for the server's delayed ACK: about 40 ms for each watch,
/// exec on a new connection. Through a proxy kube's own builder is used unchanged.
pub(crate) fn direct_client(config: Config) -> Result<Client, kube::Error> {
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
